! The learned SGS model, run in the database (el_les_factory makes it by name).
!
! Each RK stage every rank sends its centre velocity gradients (ncell, 9) to the database, runs
! the model stored under model_key on them and reads back the stresses (ncell, 6) (el_les
! describes how the stress enters the momentum equations). The request is one command (a DAG of
! put, run and get) made by a background thread of the native client (elc_infer): it starts
! before the advection and diffusion terms are computed and is collected after them, so the
! database works while the solver does. Its tensor names are per rank
! (<model_key>.rank<r>.in/.out) and, in cluster mode, tagged to the rank's shard.
!
! Failures: when the database does not answer within timeout_ms, cannot be reached, or has no
! model yet, the stage uses Smagorinsky instead (all ranks together), the event is counted and a
! warning printed once; after a timeout or a lost connection the database is left alone for
! retry_every steps. A model that fails to run or returns the wrong shape is an error that stops
! the run with the database's message.
!
! Versions: every version_every steps rank 0 also reads the dataset <model_key>.meta (field
! version; normalisation with tensors f_mean f_std l_mean l_std when it says "applied by the
! caller") and broadcasts it; from the next stage all ranks run <model_key>.v<version> (the key
! the trainer stores each version under; <model_key> itself when there is no metadata). Each
! change of version is printed with the step it takes effect.
module el_les_learned
  use, intrinsic :: iso_c_binding
  use mpi_f08
  use el_types, only: rp, i8, msg_len
  use el_decomp, only: decomp_t
  use el_param, only: config_t
  use el_les, only: les_stress_t, smagorinsky_stress, stress_init, stress_prepare, stress_free
  use eddylearn_client_c, only: ELC_OK, ELC_ERR_DATABASE, ELC_ERR_TIMEOUT, ELC_ERR_KEY
  use eddylearn_infer, only: elc_infer_meta, elc_infer_stats, elc_infer_create, elc_infer_start, &
                             elc_infer_finish, elc_infer_stats_get, elc_infer_destroy, &
                             elc_infer_set_input_dtype, ELC_FLOAT, ELC_DOUBLE, &
                             ELC_INFER_MAX_NORM, ELC_LAYOUT_FORTRAN, c_str, get_last_error
  implicit none
  private
  public :: les_learned_t

  integer, parameter :: max_norm = ELC_INFER_MAX_NORM
  ! the metadata broadcast from rank 0: answered, version, normalisation, n_in, n_out, the four
  ! normalisation vectors, inputs in single precision
  integer, parameter :: nbuf = 6 + 4*max_norm

  type, extends(les_stress_t) :: les_learned_t
    type(c_ptr) :: inf = c_null_ptr
    type(MPI_Comm) :: comm
    integer :: rank = 0
    character(len=128) :: base = ''                   ! model_key as configured
    character(len=:), allocatable :: key             ! the key run now (versioned or base)
    character(kind=c_char), pointer :: ckey(:) => null(), cmeta(:) => null()
    integer(i8) :: version = -1                       ! version in use (-1: unversioned)
    integer :: version_every = 10, retry_every = 10, infer_every = 0
    logical :: reuse = .false.                        ! this stage reuses the held stress
    real(rp), allocatable :: held(:,:)                ! the stress of the last inference stage
    integer :: stage = 0                              ! RK stages so far (3 per step)
    integer :: skip_until = 0                         ! stage before which the database is left alone
    logical :: started = .false., meta_asked = .false.
    integer :: meta_due = 1                           ! first stage at which the metadata is due
    logical :: meta_known = .false.                   ! a metadata read has been answered
    integer :: pre_kind = 0                           ! why prepare fell back (client status)
    integer :: local_code = 0                         ! outcome of this stage's request on this rank
    character(len=msg_len) :: local_msg = ''
    ! normalisation applied by the solver ("applied by the caller" in the metadata)
    logical :: normalise = .false.
    logical :: float_inputs = .false.                 ! inputs sent in single precision
    real(rp) :: f_mean(9) = 0, f_std(9) = 1, l_mean(6) = 0, l_std(6) = 1
    real(rp), pointer, contiguous :: feat(:,:) => null()   ! normalised features (if the solver normalises)
    integer(i8) :: req_version = -1                   ! version of the key this stage ran
    ! counters (stages, same on every rank)
    integer(i8) :: n_db = 0, n_fallback = 0, n_timeout = 0, n_unreachable = 0, n_missing = 0
    integer(i8) :: n_versions = 0, n_reused = 0
    ! time this rank waited for the answers it collected (the part of the latency not overlapped)
    real(rp) :: wait_sum = 0
    integer(i8) :: n_wait = 0
    logical :: warned = .false.
  contains
    procedure :: init => learned_init
    procedure :: prepare => learned_prepare
    procedure :: stress => learned_stress
    procedure :: free => learned_free
    procedure :: name => learned_name
    procedure :: status => learned_status
  end type les_learned_t

  ! outcomes of one stage (agreed with MPI_MAX across ranks)
  integer, parameter :: ok_db = 0, fell_back = 1, fatal = 2

contains

  subroutine learned_init(this, d, cfg, ierr, msg)
    class(les_learned_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    character(len=160) :: rkey
    integer :: g
    call stress_init(this, d, cfg, ierr, msg)
    if (ierr /= 0) return
    this%comm = d%comm
    this%rank = d%rank
    this%base = cfg%model_key
    this%version_every = cfg%version_every
    this%retry_every = cfg%retry_every
    this%infer_every = cfg%infer_every
    allocate(this%held(this%ncell, 6), source=0.0_rp)
    call set_key(this, trim(cfg%model_key), -1_i8)
    call set_cstr(this%cmeta, trim(cfg%model_key)//'.meta')
    allocate(this%feat(this%ncell, 9))
    this%feat = 0
    write(rkey, '(a,i0)') trim(cfg%model_key)//'.rank', d%rank
    ierr = elc_infer_create(this%inf, c_null_ptr, c_str(rkey), int(d%rank, c_int), &
                            int(cfg%timeout_ms, c_int))
    if (ierr /= 0) msg = 'learned SGS model: '//get_last_error()
    call MPI_Allreduce(ierr, g, 1, MPI_INTEGER, MPI_MAX, d%comm)
    if (g /= 0 .and. ierr == 0) then
      ierr = g; msg = '&sgs: learned model: the inference client failed on another rank'
    end if
    ierr = g
    if (ierr /= 0) return
    ! the version and normalisation before the first stage (if the database answers now)
    call sync_meta(this, g)
    if (this%err /= 0) then
      ierr = this%err; msg = this%errmsg
    end if
  end subroutine learned_init

  ! Rank 0 reads <model_key>.meta (a round trip bounded by timeout_ms) and broadcasts it; on
  ! an answer the version and normalisation are taken and meta_known is set. kind: the client
  ! status of a failed read (0 when answered), the same on all ranks.
  subroutine sync_meta(this, kind)
    class(les_learned_t), intent(inout) :: this
    integer, intent(out) :: kind
    type(elc_infer_meta) :: meta
    real(rp) :: mbuf(nbuf)
    integer :: st
    mbuf = 0
    if (this%rank == 0) then
      st = elc_infer_start(this%inf, c_null_ptr, c_loc(this%cmeta), c_null_ptr, 0_c_size_t, &
                           0_c_size_t, ELC_LAYOUT_FORTRAN)
      if (st == ELC_OK) st = elc_infer_finish(this%inf, c_null_ptr, 0_c_size_t, 0_c_size_t, &
                                              ELC_LAYOUT_FORTRAN, meta)
      if (st == ELC_OK) then
        call pack_meta(meta, mbuf)
      else
        mbuf(1) = -real(st, rp)
        this%local_msg = get_last_error()
      end if
    end if
    call MPI_Bcast(mbuf, size(mbuf), MPI_DOUBLE_PRECISION, 0, this%comm)
    kind = 0
    if (mbuf(1) > 0) then
      call use_meta(this, mbuf)
      this%meta_known = .true.
    else
      kind = nint(-mbuf(1))
    end if
  end subroutine sync_meta

  subroutine set_key(this, key, version)
    class(les_learned_t), intent(inout) :: this
    character(len=*), intent(in) :: key
    integer(i8), intent(in) :: version
    this%key = key
    call set_cstr(this%ckey, key)
    this%version = version
  end subroutine set_key

  ! Gradients, then hand the request over (it runs while the solver computes the other terms).
  subroutine learned_prepare(this, d, u, v, w)
    class(les_learned_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: q, st
    type(c_ptr) :: meta
    call stress_prepare(this, d, u, v, w)
    this%stage = this%stage + 1
    this%started = .false.
    this%local_code = ok_db
    this%local_msg = ''
    this%req_version = this%version
    this%pre_kind = 0
    ! with infer_every = k the model runs at the first stage of every k-th step only
    this%reuse = .false.
    this%meta_asked = .false.
    if (this%infer_every > 0 .and. this%stage > 1) then
      this%reuse = mod(this%stage - 1, 3) /= 0 .or. mod((this%stage - 1)/3, this%infer_every) /= 0
    end if
    if (this%reuse) return
    if (this%stage < this%skip_until) return
    if (.not. this%meta_known) then
      ! no answer about the version yet: the model is not run before there is one (a model
      ! that wants normalised inputs must not get raw ones)
      call sync_meta(this, this%pre_kind)
      if (this%err /= 0) return
      if (.not. this%meta_known) then
        this%local_code = fell_back
        return
      end if
    end if
    ! rank 0 reads the metadata on the first stage and then every version_every steps
    ! due every version_every steps, asked at the first stage that runs the model after that
    this%meta_asked = this%stage >= this%meta_due
    if (this%meta_asked) this%meta_due = this%stage + 3*this%version_every
    meta = c_null_ptr
    if (this%meta_asked .and. this%rank == 0) meta = c_loc(this%cmeta)
    ! the client converts the features into the request itself (FLOAT or DOUBLE, row-major):
    ! the gradients go as they are unless the solver normalises them
    if (this%normalise) then
      do q = 1, 9
        this%feat(:, q) = (this%grad(:, q) - this%f_mean(q))/this%f_std(q)
      end do
      st = start_request(this, meta, this%feat)
    else
      st = start_request(this, meta, this%grad)
    end if
    if (st == ELC_OK) then
      this%started = .true.
    else
      call classify(this, st)      ! e.g. the last (abandoned) request still in flight
      this%pre_kind = st
    end if
  end subroutine learned_prepare

  ! Hand the request over with the features x (ncell, 9), read by the client before it returns.
  integer function start_request(this, meta, x) result(st)
    class(les_learned_t), intent(inout) :: this
    type(c_ptr), intent(in) :: meta
    real(rp), intent(in), target, contiguous :: x(:, :)
    st = elc_infer_start(this%inf, c_loc(this%ckey), meta, c_loc(x), &
                         int(size(x, 1), c_size_t), int(size(x, 2), c_size_t), ELC_LAYOUT_FORTRAN)
  end function start_request

  ! Wait for the answer and write it into y (ncell, 6), converted from the request's precision.
  integer function finish_request(inf, y, meta) result(st)
    type(c_ptr), intent(in) :: inf
    real(rp), intent(inout), target, contiguous :: y(:, :)
    type(elc_infer_meta), intent(out) :: meta
    st = elc_infer_finish(inf, c_loc(y), int(size(y, 1), c_size_t), int(size(y, 2), c_size_t), &
                          ELC_LAYOUT_FORTRAN, meta)
  end function finish_request

  ! Sort a failed request into fallback (timeouts, no connection, no model) or fatal.
  subroutine classify(this, st)
    class(les_learned_t), intent(inout) :: this
    integer, intent(in) :: st
    this%local_msg = get_last_error()
    select case (st)
    case (ELC_ERR_TIMEOUT, ELC_ERR_DATABASE, ELC_ERR_KEY)
      this%local_code = fell_back
    case default
      this%local_code = fatal
    end select
  end subroutine classify

  ! Collect the answer; agree across ranks whether the stage uses it, Smagorinsky, or stops.
  subroutine learned_stress(this, d, grad, tau)
    class(les_learned_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in), contiguous :: grad(:, :)
    real(rp), intent(out), contiguous :: tau(:, :)
    type(elc_infer_meta), target :: meta
    integer :: st, code(2), gcode(2), q, root, kind_local
    logical :: served
    real(rp) :: t0
    real(rp) :: mbuf(nbuf)
    character(len=msg_len) :: m
    character(len=:), allocatable :: used_key
    used_key = this%key               ! the key this stage's request ran (a switch comes later)
    kind_local = 0
    meta%found = 0
    served = .false.
    if (this%reuse) then          ! the same decision on every rank: no communication
      tau = this%held
      this%n_reused = this%n_reused + 1
      return
    end if
    if (this%started) then
      t0 = MPI_Wtime()
      st = finish_request(this%inf, tau, meta)     ! the answer straight into tau
      this%wait_sum = this%wait_sum + (MPI_Wtime() - t0)
      this%n_wait = this%n_wait + 1
      ! the request reached the database (the metadata read, if asked, is then valid)
      served = st /= ELC_ERR_TIMEOUT .and. st /= ELC_ERR_DATABASE
      if (st /= ELC_OK) then
        call classify(this, st)
        kind_local = st
      end if
    else if (this%stage < this%skip_until) then
      this%local_code = fell_back
    else if (this%local_code == fell_back) then
      kind_local = this%pre_kind
    end if
    if (this%err /= 0) then       ! unusable metadata (same on all ranks)
      tau = 0
      return
    end if
    ! worst outcome on any rank, and the kind of failure for the counters
    code = [this%local_code, kind_local]
    call MPI_Allreduce(code, gcode, 2, MPI_INTEGER, MPI_MAX, this%comm)
    if (gcode(1) == fatal) then
      root = -1
      if (this%local_code == fatal) root = this%rank
      call MPI_Allreduce(MPI_IN_PLACE, root, 1, MPI_INTEGER, MPI_MAX, this%comm)
      m = this%local_msg
      call MPI_Bcast(m, msg_len, MPI_CHARACTER, root, this%comm)
      this%err = 1
      this%errmsg = 'learned SGS model '''//used_key//''': '//trim(m)
      tau = 0
      return
    end if
    ! the answer, with the normalisation of the version that produced it
    if (gcode(1) == ok_db) then
      this%n_db = this%n_db + 1
      if (this%normalise) then
        do q = 1, 6
          tau(:, q) = tau(:, q)*this%l_std(q) + this%l_mean(q)
        end do
      end if
      if (this%infer_every > 0) this%held = tau
    end if
    ! the metadata rank 0 read (if it asked and got an answer) decides the version of the next
    ! stages (the same condition on every rank: the broadcast is collective)
    if (this%meta_asked .and. this%stage >= this%skip_until) then
      mbuf = 0
      if (this%rank == 0 .and. served) call pack_meta(meta, mbuf)
      call MPI_Bcast(mbuf, size(mbuf), MPI_DOUBLE_PRECISION, 0, this%comm)
      if (mbuf(1) > 0) call use_meta(this, mbuf)
    end if
    if (gcode(1) == ok_db) return
    ! fall back to Smagorinsky for this stage
    this%n_fallback = this%n_fallback + 1
    if (this%stage >= this%skip_until) then
      if (.not. this%warned .and. this%rank == 0) then
        m = this%local_msg
        if (len_trim(m) == 0) m = 'another rank could not use the database'
        write(0, '(a,i0,a)') 'eddylearn-solver: warning: step ', (this%stage - 1)/3 + 1, &
          ': learned SGS model '''//used_key//''' unavailable ('//trim(m)// &
          '); using Smagorinsky until it answers (counted; warned once)'
        flush(0)
      end if
      this%warned = .true.
      select case (gcode(2))
      case (ELC_ERR_KEY)
        this%n_missing = this%n_missing + 1
        ! the versioned key this stage ran is gone (and no newer one was announced): go back
        ! to the base key until the next look at the metadata
        if (this%req_version >= 0 .and. this%version == this%req_version) then
          call set_key(this, trim(this%base), -1_i8)
          ! what the base key holds is unknown until the next metadata read: double features
          ! are right for any model
          this%float_inputs = .false.
          st = elc_infer_set_input_dtype(this%inf, ELC_DOUBLE)     ! cannot fail for DOUBLE
        end if
      case (ELC_ERR_TIMEOUT)
        this%n_timeout = this%n_timeout + 1
        this%skip_until = this%stage + 3*this%retry_every
      case default
        this%n_unreachable = this%n_unreachable + 1
        this%skip_until = this%stage + 3*this%retry_every
      end select
    end if
    call smagorinsky_stress((this%cs*this%delta)**2, grad, tau)
    if (this%infer_every > 0) this%held = tau
  end subroutine learned_stress

  subroutine pack_meta(meta, mbuf)
    type(elc_infer_meta), intent(in) :: meta
    real(rp), intent(out) :: mbuf(:)
    mbuf = 0
    if (meta%found == 0) then
      mbuf(1) = 2          ! answered: no metadata
      return
    end if
    mbuf(1) = 1
    mbuf(2) = real(meta%version, rp)
    mbuf(3) = real(meta%caller_normalises, rp)
    mbuf(4) = real(meta%n_in, rp); mbuf(5) = real(meta%n_out, rp)
    mbuf(6:5+max_norm) = meta%f_mean
    mbuf(6+max_norm:5+2*max_norm) = meta%f_std
    mbuf(6+2*max_norm:5+3*max_norm) = meta%l_mean
    mbuf(6+3*max_norm:5+4*max_norm) = meta%l_std
    mbuf(nbuf) = real(meta%float_inputs, rp)
  end subroutine pack_meta

  ! Switch to the version (and normalisation) the metadata names, from the next stage on.
  subroutine use_meta(this, mbuf)
    class(les_learned_t), intent(inout) :: this
    real(rp), intent(in) :: mbuf(:)
    integer(i8) :: v
    character(len=32) :: vs
    logical :: norm
    if (nint(mbuf(1)) == 2) then
      v = -1
    else
      v = nint(mbuf(2), i8)
    end if
    norm = nint(mbuf(1)) == 1 .and. nint(mbuf(3)) == 1
    if (nint(mbuf(1)) == 1 .and. nint(mbuf(3)) == -1 .or. &
        (norm .and. (nint(mbuf(4)) /= 9 .or. nint(mbuf(5)) /= 6))) then
      this%err = 1
      this%errmsg = 'learned SGS model: '//trim(this%base)//'.meta announces normalisation ' // &
        'applied by the caller but lacks f_mean, f_std (9) and l_mean, l_std (6)'
      return
    end if
    if (norm) then
      this%f_mean = mbuf(6:14); this%f_std = mbuf(6+max_norm:14+max_norm)
      this%l_mean = mbuf(6+2*max_norm:11+2*max_norm); this%l_std = mbuf(6+3*max_norm:11+3*max_norm)
      if (any(this%f_std == 0) .or. any(this%l_std == 0)) then
        this%err = 1
        this%errmsg = 'learned SGS model: '//trim(this%base)//'.meta has a zero in f_std or l_std'
        return
      end if
    end if
    this%normalise = norm
    ! a model that computes in single precision gets its inputs in single precision (half the
    ! bytes each way); the arrays here stay double
    this%float_inputs = nint(mbuf(1)) == 1 .and. nint(mbuf(nbuf)) == 1
    if (elc_infer_set_input_dtype(this%inf, merge(ELC_FLOAT, ELC_DOUBLE, this%float_inputs)) &
        /= ELC_OK) then
      this%err = 1
      this%errmsg = 'learned SGS model: '//get_last_error()
      return
    end if
    if (v == this%version .and. (v >= 0 .or. this%n_versions > 0)) return
    this%n_versions = this%n_versions + 1
    if (v >= 0) then
      write(vs, '(i0)') v
      call set_key(this, trim(this%base)//'.v'//trim(vs), v)
    else
      call set_key(this, trim(this%base), -1_i8)
    end if
    if (this%rank == 0) then
      if (v >= 0) then
        write(*, '(a,i0,a,i0,a)') 'eddylearn-solver: step ', this%stage/3 + 1, &
          ': learned SGS model version ', v, ' ('''//this%key//''')'
      else
        write(*, '(a,i0,a)') 'eddylearn-solver: step ', this%stage/3 + 1, &
          ': learned SGS model '''//this%key//''' (no '//trim(this%base)//'.meta: unversioned)'
      end if
      flush(6)
    end if
  end subroutine use_meta

  ! The run's account as one JSON object (written to sgs_model.json by rank 0).
  function learned_status(this) result(s)
    class(les_learned_t), intent(in) :: this
    character(len=:), allocatable :: s
    type(elc_infer_stats) :: st
    character(len=1024) :: line
    integer :: e
    st%mean_latency_s = 0; st%max_latency_s = 0; st%handed_over = 0
    if (c_associated(this%inf)) e = elc_infer_stats_get(this%inf, st)
    write(line, '(a,11(a,i0),3(a,es12.5),a)') '{"model": "learned", "key": "'//this%key//'"', &
      ', "last_version": ', this%version, ', "versions_used": ', this%n_versions, &
      ', "stages": ', this%n_db + this%n_fallback + this%n_reused, ', "stages_database": ', this%n_db, &
      ', "stages_fallback": ', this%n_fallback, ', "timeouts": ', this%n_timeout, &
      ', "unreachable": ', this%n_unreachable, ', "missing_model": ', this%n_missing, &
      ', "infer_every": ', this%infer_every, ', "stages_reused": ', this%n_reused, &
      ', "requests_handed_over": ', st%handed_over, &
      ', "latency_mean_s": ', st%mean_latency_s, ', "latency_max_s": ', st%max_latency_s, &
      ', "wait_mean_s": ', this%wait_sum/max(this%n_wait, 1_i8), &
      ', "input_dtype": "'//merge('FLOAT ', 'DOUBLE', this%float_inputs)
    s = trim(line)//'"}'
  end function learned_status

  subroutine learned_free(this)
    class(les_learned_t), intent(inout) :: this
    if (c_associated(this%inf)) call elc_infer_destroy(this%inf)
    this%inf = c_null_ptr
    if (associated(this%feat)) deallocate(this%feat)
    if (allocated(this%held)) deallocate(this%held)
    if (associated(this%ckey)) deallocate(this%ckey)
    if (associated(this%cmeta)) deallocate(this%cmeta)
    this%feat => null(); this%ckey => null(); this%cmeta => null()
    call stress_free(this)
  end subroutine learned_free

  function learned_name(this) result(s)
    class(les_learned_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'learned'
  end function learned_name

  subroutine set_cstr(p, s)
    character(kind=c_char), pointer :: p(:)
    character(len=*), intent(in) :: s
    integer :: i
    if (associated(p)) deallocate(p)
    allocate(p(len(s) + 1))
    do i = 1, len(s)
      p(i) = s(i:i)
    end do
    p(len(s) + 1) = c_null_char
  end subroutine set_cstr

end module el_les_learned
