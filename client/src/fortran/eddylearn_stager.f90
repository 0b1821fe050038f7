! eddylearn_stager — asynchronous snapshot staging from Fortran (wraps elc_stager_*, declared in
! eddylearn_client_c; stager_stats_type is its elc_stager_stats).
! A stager owns a background thread with its own database connection. submit() hands a
! dataset_type over (the stager owns and frees it; the Fortran object becomes empty) and
! returns at once unless the queue is full and the policy is ELC_POLICY_BLOCK.
module eddylearn_stager
  use iso_c_binding
  use eddylearn_client_c, stager_stats_type => elc_stager_stats
  use eddylearn_dataset
  implicit none
  private

  public :: stager_type, stager_stats_type, ELC_POLICY_BLOCK, ELC_POLICY_DROP_OLDEST
  public :: SRNoError, SRTimeoutError, SRDatabaseError, SRParameterError, get_last_error

  type :: stager_type
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: initialize => sg_initialize
    procedure :: submit => sg_submit
    procedure :: flush => sg_flush
    procedure :: get_stats => sg_get_stats
    procedure :: background_error => sg_background_error
    procedure :: destroy => sg_destroy
  end type

contains

  !> Start the stager: connect (SSDB, SR_DB_TYPE, ... as the client; retried for
  !> SR_CONN_TIMEOUT, then SRDatabaseError "cannot connect to the database at ... after N s")
  !> and start the sending thread. max_queue_bytes: bound of queued tensor bytes (0: none).
  !> policy: ELC_POLICY_BLOCK (default) or ELC_POLICY_DROP_OLDEST.
  function sg_initialize(self, max_queue_bytes, policy, suffix) result(code)
    class(stager_type), intent(inout) :: self
    integer(c_int64_t), intent(in) :: max_queue_bytes
    integer, optional, intent(in) :: policy
    character(len=*), optional, intent(in) :: suffix
    integer :: code
    integer(c_int) :: pol
    character(kind=c_char, len=:), allocatable, target :: sfx
    if (c_associated(self%ptr)) code = sg_destroy(self)
    pol = ELC_POLICY_BLOCK
    if (present(policy)) pol = int(policy, c_int)
    if (present(suffix)) then
      sfx = c_str(suffix)
      code = int(elc_stager_create(self%ptr, int(max(0_c_int64_t, max_queue_bytes), c_size_t), pol, &
                 c_null_ptr, c_loc(sfx)))
    else
      code = int(elc_stager_create(self%ptr, int(max(0_c_int64_t, max_queue_bytes), c_size_t), pol, &
                 c_null_ptr, c_null_ptr))
    end if
  end function

  !> Queue a dataset for sending (and RPUSH onto list_name when given and non-blank). The
  !> stager takes the dataset over in every case: dataset is empty afterwards.
  function sg_submit(self, dataset, list_name) result(code)
    class(stager_type), intent(inout) :: self
    type(dataset_type), intent(inout) :: dataset
    character(len=*), optional, intent(in) :: list_name
    integer :: code
    type(c_ptr) :: p
    if (.not. c_associated(self%ptr)) then
      call dataset%destroy()
      code = set_error(SRParameterError, 'the stager is not initialised')
      return
    end if
    if (.not. c_associated(dataset%ptr)) then
      code = set_error(SRParameterError, 'the dataset is not initialised')
      return
    end if
    p = dataset%release()
    if (present(list_name)) then
      code = int(elc_stager_submit(self%ptr, p, c_str(list_name)))
    else
      code = int(elc_stager_submit(self%ptr, p, c_null_char))
    end if
  end function

  !> Wait until everything queued is sent; timeout_s < 0 (default): no limit.
  function sg_flush(self, timeout_s) result(code)
    class(stager_type), intent(inout) :: self
    real(c_double), optional, intent(in) :: timeout_s
    integer :: code
    real(c_double) :: t
    t = -1.0_c_double
    if (present(timeout_s)) t = timeout_s
    code = SRNoError
    if (c_associated(self%ptr)) code = int(elc_stager_flush(self%ptr, t))
  end function

  function sg_get_stats(self, stats) result(code)
    class(stager_type), intent(in) :: self
    type(stager_stats_type), intent(out) :: stats
    integer :: code
    code = SRNoError
    if (c_associated(self%ptr)) code = int(elc_stager_stats_get(self%ptr, stats))
  end function

  !> Last error met by the background thread ('' when none).
  function sg_background_error(self) result(msg)
    class(stager_type), intent(in) :: self
    character(len=:), allocatable :: msg
    character(kind=c_char) :: probe(1)
    integer(c_size_t) :: n
    msg = ''
    if (.not. c_associated(self%ptr)) return
    n = elc_stager_last_error(self%ptr, probe, 0_c_size_t)
    deallocate(msg)
    allocate(character(len=int(n)) :: msg)
    if (n > 0) call elc_f_stager_last_error(self%ptr, msg, int(n, c_int))
  end function

  !> Flush everything, stop the thread and free the stager.
  function sg_destroy(self) result(code)
    class(stager_type), intent(inout) :: self
    integer :: code
    code = SRNoError
    if (c_associated(self%ptr)) code = int(elc_stager_destroy(self%ptr))
    self%ptr = c_null_ptr
  end function

end module eddylearn_stager
