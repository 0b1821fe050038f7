! eddylearn_client — the client_type of the eddylearn native client, in the shape of SmartRedis's
! Fortran client_type (same method names, SmartRedis's keys, prefixes and byte formats). Every
! function returns a status (SRNoError on success); get_last_error() gives the message of the
! last error. Nothing here stops the program. Tensor arguments are assumed-rank and contiguous,
! as in eddylearn_dataset.
module eddylearn_client
  use iso_c_binding
  use eddylearn_client_c
  use eddylearn_dataset
  implicit none
  private

  public :: client_type, dataset_type, get_last_error
  public :: SRNoError, SRBadAllocError, SRDatabaseError, SRInternalError, SRRuntimeError, &
            SRParameterError, SRTimeoutError, SRKeyError, SRInvalidError, SRTypeError

  type :: client_type
    !> Handle of the C client (elc_client*); c_null_ptr before initialize.
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: initialize => cl_initialize
    procedure :: destroy => cl_destroy
    procedure :: isinitialized => cl_isinitialized
    procedure :: delete_tensor => cl_delete_tensor
    procedure :: tensor_exists => cl_tensor_exists
    procedure :: poll_tensor => cl_poll_tensor
    procedure :: key_exists => cl_key_exists
    procedure :: poll_key => cl_poll_key
    procedure :: put_dataset => cl_put_dataset
    procedure :: get_dataset => cl_get_dataset
    procedure :: delete_dataset => cl_delete_dataset
    procedure :: dataset_exists => cl_dataset_exists
    procedure :: poll_dataset => cl_poll_dataset
    procedure :: append_to_list => cl_append_to_list
    procedure :: get_list_length => cl_get_list_length
    procedure :: poll_list_length => cl_poll_list_length
    procedure :: delete_list => cl_delete_list
    procedure :: set_model => cl_set_model
    procedure :: set_model_from_file => cl_set_model_from_file
    procedure :: run_model => cl_run_model
    procedure :: delete_model => cl_delete_model
    procedure :: model_exists => cl_model_exists
    procedure :: poll_model => cl_poll_model
    procedure :: set_script => cl_set_script
    procedure :: set_script_from_file => cl_set_script_from_file
    procedure :: run_script => cl_run_script
    procedure :: delete_script => cl_delete_script
    procedure :: use_tensor_ensemble_prefix => cl_use_tensor_prefix
    procedure :: use_dataset_ensemble_prefix => cl_use_dataset_prefix
    procedure :: use_list_ensemble_prefix => cl_use_list_prefix
    procedure :: use_model_ensemble_prefix => cl_use_model_prefix
    procedure :: set_data_source => cl_set_data_source
    procedure, private :: cl_put_r8, cl_put_r4, cl_put_i1, cl_put_i2, cl_put_i4, cl_put_i8
    generic :: put_tensor => cl_put_r8, cl_put_r4, cl_put_i1, cl_put_i2, cl_put_i4, cl_put_i8
    procedure, private :: cl_unpack_r8, cl_unpack_r4, cl_unpack_i1, cl_unpack_i2, &
                          cl_unpack_i4, cl_unpack_i8
    generic :: unpack_tensor => cl_unpack_r8, cl_unpack_r4, cl_unpack_i1, cl_unpack_i2, &
                                cl_unpack_i4, cl_unpack_i8
  end type

contains

  !> Connect. cluster: .true./.false. overrides SR_DB_TYPE (default: SR_DB_TYPE, whose default
  !> is Clustered, as in SmartRedis). suffix: read SSDB_<suffix>, ... instead of SSDB, ...
  function cl_initialize(self, cluster, suffix) result(code)
    class(client_type), intent(inout) :: self
    logical, optional, intent(in) :: cluster
    character(len=*), optional, intent(in) :: suffix
    integer :: code
    integer(c_int) :: cl
    character(kind=c_char, len=:), allocatable, target :: sfx
    call self%destroy()
    cl = -1
    if (present(cluster)) cl = merge(1_c_int, 0_c_int, cluster)
    if (present(suffix)) then
      sfx = c_str(suffix)
      code = int(elc_client_create(self%ptr, cl, c_loc(sfx)))
    else
      code = int(elc_client_create(self%ptr, cl, c_null_ptr))
    end if
  end function

  !> Close the connections (no-op when not initialised).
  subroutine cl_destroy(self)
    class(client_type), intent(inout) :: self
    if (c_associated(self%ptr)) call elc_client_destroy(self%ptr)
    self%ptr = c_null_ptr
  end subroutine

  logical function cl_isinitialized(self)
    class(client_type), intent(in) :: self
    cl_isinitialized = c_associated(self%ptr)
  end function

  function cl_check(self) result(code)
    class(client_type), intent(in) :: self
    integer :: code
    code = SRNoError
    if (.not. c_associated(self%ptr)) code = set_error(SRParameterError, &
        'the client is not initialised (call client%initialize() first)')
  end function

  !> Put or unpack a tensor given by address, shape and dtype.
  function cl_tensor(self, put, name, data, shp, dtype, dims) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: put
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_size_t), dimension(:), intent(in) :: shp
    integer(c_int), intent(in) :: dtype
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = check_dims(shp, dims)
    if (code /= SRNoError) return
    if (put) then
      code = int(elc_put_tensor(self%ptr, c_str(name), data, shp, size(shp, kind=c_size_t), &
                                dtype, ELC_LAYOUT_FORTRAN))
    else
      code = int(elc_unpack_tensor(self%ptr, c_str(name), data, shp, size(shp, kind=c_size_t), &
                                   dtype, ELC_LAYOUT_FORTRAN))
    end if
  end function

  ! one specific per element type; every rank goes through the same one
  function cl_put_r8(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_double), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_DOUBLE, dims)
  end function
  function cl_put_r4(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_float), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_FLOAT, dims)
  end function
  function cl_put_i1(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int8_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT8, dims)
  end function
  function cl_put_i2(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int16_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT16, dims)
  end function
  function cl_put_i4(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT32, dims)
  end function
  function cl_put_i8(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int64_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT64, dims)
  end function

  function cl_unpack_r8(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_double), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_DOUBLE, dims)
  end function
  function cl_unpack_r4(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_float), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_FLOAT, dims)
  end function
  function cl_unpack_i1(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int8_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT8, dims)
  end function
  function cl_unpack_i2(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int16_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT16, dims)
  end function
  function cl_unpack_i4(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT32, dims)
  end function
  function cl_unpack_i8(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int64_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = cl_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT64, dims)
  end function

  function cl_delete_tensor(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_delete_tensor(self%ptr, c_str(name)))
  end function

  function cl_delete_dataset(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_delete_dataset(self%ptr, c_str(name)))
  end function

  function cl_delete_list(self, list_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_delete_list(self%ptr, c_str(list_name)))
  end function

  function cl_delete_model(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_delete_model(self%ptr, c_str(name)))
  end function

  function cl_delete_script(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_delete_script(self%ptr, c_str(name)))
  end function

  function cl_set_data_source(self, source_id) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: source_id
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_set_data_source(self%ptr, c_str(source_id)))
  end function

  function cl_tensor_exists(self, name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_tensor_exists(self%ptr, c_str(name), b))
    exists = b
  end function

  function cl_key_exists(self, name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_key_exists(self%ptr, c_str(name), b))
    exists = b
  end function

  function cl_dataset_exists(self, name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_dataset_exists(self%ptr, c_str(name), b))
    exists = b
  end function

  function cl_model_exists(self, name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_model_exists(self%ptr, c_str(name), b))
    exists = b
  end function

  function cl_poll_tensor(self, name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_poll_tensor(self%ptr, c_str(name), &
        int(poll_frequency_ms, c_int), int(num_tries, c_int), b))
    exists = b
  end function

  function cl_poll_key(self, name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_poll_key(self%ptr, c_str(name), &
        int(poll_frequency_ms, c_int), int(num_tries, c_int), b))
    exists = b
  end function

  function cl_poll_dataset(self, name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_poll_dataset(self%ptr, c_str(name), &
        int(poll_frequency_ms, c_int), int(num_tries, c_int), b))
    exists = b
  end function

  function cl_poll_model(self, name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_poll_model(self%ptr, c_str(name), &
        int(poll_frequency_ms, c_int), int(num_tries, c_int), b))
    exists = b
  end function

  function cl_use_tensor_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_use_tensor_ensemble_prefix(self%ptr, &
                                                                     logical(use_prefix, c_bool)))
  end function

  function cl_use_dataset_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_use_dataset_ensemble_prefix(self%ptr, &
                                                                      logical(use_prefix, c_bool)))
  end function

  function cl_use_list_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_use_list_ensemble_prefix(self%ptr, &
                                                                   logical(use_prefix, c_bool)))
  end function

  function cl_use_model_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer :: code
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_use_model_ensemble_prefix(self%ptr, &
                                                                    logical(use_prefix, c_bool)))
  end function

  !> Store the dataset (DEL, HMSET, AI.TENSORSETs, HSET .COMPLETE in one pipeline).
  function cl_put_dataset(self, dataset) result(code)
    class(client_type), intent(in) :: self
    type(dataset_type), intent(in) :: dataset
    integer :: code
    code = cl_check(self)
    if (code /= SRNoError) return
    if (.not. c_associated(dataset%ptr)) then
      code = set_error(SRParameterError, 'the dataset is not initialised')
      return
    end if
    code = int(elc_put_dataset(self%ptr, dataset%ptr))
  end function

  !> Fetch the dataset name into dataset (SRKeyError when it does not exist).
  function cl_get_dataset(self, name, dataset) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    type(dataset_type), intent(inout) :: dataset
    integer :: code
    type(c_ptr) :: p
    code = cl_check(self)
    if (code /= SRNoError) return
    p = c_null_ptr
    code = int(elc_get_dataset(self%ptr, c_str(name), p))
    if (code == SRNoError) then
      call dataset%destroy()
      dataset%ptr = p
    end if
  end function

  !> Append the dataset's key to the aggregation list.
  function cl_append_to_list(self, list_name, dataset) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    type(dataset_type), intent(in) :: dataset
    integer :: code
    code = cl_check(self)
    if (code /= SRNoError) return
    if (.not. c_associated(dataset%ptr)) then
      code = set_error(SRParameterError, 'the dataset is not initialised')
      return
    end if
    code = int(elc_append_to_list(self%ptr, c_str(list_name), dataset%ptr))
  end function

  function cl_get_list_length(self, list_name, result_length) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(out) :: result_length
    integer :: code
    integer(c_long_long) :: n
    n = 0
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_get_list_length(self%ptr, c_str(list_name), n))
    result_length = int(n)
  end function

  function cl_poll_list_length(self, list_name, list_length, poll_frequency_ms, num_tries, &
                               poll_result) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(in) :: list_length, poll_frequency_ms, num_tries
    logical, intent(out) :: poll_result
    integer :: code
    logical(c_bool) :: b
    b = .false.
    code = cl_check(self)
    if (code == SRNoError) code = int(elc_poll_list_length(self%ptr, c_str(list_name), &
        int(list_length, c_long_long), int(poll_frequency_ms, c_int), int(num_tries, c_int), b))
    poll_result = b
  end function

  subroutine batch_args(batch_size, min_batch_size, min_batch_timeout, bs, mbs, mbt)
    integer, optional, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    integer(c_int), intent(out) :: bs, mbs, mbt
    bs = 0; mbs = 0; mbt = 0
    if (present(batch_size)) bs = int(batch_size, c_int)
    if (present(min_batch_size)) mbs = int(min_batch_size, c_int)
    if (present(min_batch_timeout)) mbt = int(min_batch_timeout, c_int)
  end subroutine

  !> A NUL-terminated tag ('' when absent).
  function tag_str(tag) result(r)
    character(len=*), optional, intent(in) :: tag
    character(kind=c_char, len=:), allocatable :: r
    r = c_null_char
    if (present(tag)) r = c_str(tag)
  end function

  !> Store a model from its bytes (model: the serialised model as a character string).
  function cl_set_model(self, name, model, backend, device, batch_size, min_batch_size, &
                        min_batch_timeout, tag) result(code)
    class(client_type), intent(inout) :: self
    character(len=*), intent(in) :: name, model, backend, device
    integer, optional, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), optional, intent(in) :: tag
    integer :: code
    integer(c_int) :: bs, mbs, mbt
    code = cl_check(self)
    if (code /= SRNoError) return
    call batch_args(batch_size, min_batch_size, min_batch_timeout, bs, mbs, mbt)
    code = int(elc_set_model(self%ptr, c_str(name), model, int(len(model), c_size_t), &
               c_str(backend), c_str(device), bs, mbs, mbt, tag_str(tag)))
  end function

  !> Store a model read from a file (TF, TFLITE, TORCH or ONNX; device CPU or GPU[:n]).
  function cl_set_model_from_file(self, name, model_file, backend, device, batch_size, &
                                  min_batch_size, min_batch_timeout, tag) result(code)
    class(client_type), intent(inout) :: self
    character(len=*), intent(in) :: name, model_file, backend, device
    integer, optional, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), optional, intent(in) :: tag
    integer :: code
    integer(c_int) :: bs, mbs, mbt
    code = cl_check(self)
    if (code /= SRNoError) return
    call batch_args(batch_size, min_batch_size, min_batch_timeout, bs, mbs, mbt)
    code = int(elc_set_model_from_file(self%ptr, c_str(name), c_str(model_file), c_str(backend), &
               c_str(device), bs, mbs, mbt, tag_str(tag)))
  end function

  !> Run a stored model: inputs and outputs are tensor names (trailing blanks ignored).
  function cl_run_model(self, name, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer :: code
    code = cl_check(self)
    if (code /= SRNoError) return
    code = int(elc_f_run(self%ptr, c_str(name), c_null_char, inputs, int(len(inputs), c_int), &
               int(size(inputs), c_int), outputs, int(len(outputs), c_int), int(size(outputs), c_int)))
  end function

  !> Store a TorchScript script from its source text.
  function cl_set_script(self, name, device, script) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, device, script
    integer :: code
    code = cl_check(self)
    if (code /= SRNoError) return
    code = int(elc_set_script(self%ptr, c_str(name), c_str(device), script, &
                              int(len(script), c_size_t)))
  end function

  !> Store a TorchScript script read from a file.
  function cl_set_script_from_file(self, name, device, script_file) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, device, script_file
    integer :: code
    code = cl_check(self)
    if (code /= SRNoError) return
    code = int(elc_set_script_from_file(self%ptr, c_str(name), c_str(device), c_str(script_file)))
  end function

  !> Run function func of a stored script.
  function cl_run_script(self, name, func, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, func
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer :: code
    code = cl_check(self)
    if (code /= SRNoError) return
    code = int(elc_f_run(self%ptr, c_str(name), c_str(func), inputs, int(len(inputs), c_int), &
               int(size(inputs), c_int), outputs, int(len(outputs), c_int), int(size(outputs), c_int)))
  end function

end module eddylearn_client
