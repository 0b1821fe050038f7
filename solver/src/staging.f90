! Asynchronous staging of snapshots and SGS training samples to the database. Each rank hands
! its datasets to a stager of the native client (a bounded queue and a background thread that
! sends with pipelining, reconnects and resends) and goes on computing. With the deferred
! hand-over (&staging handover = 'deferred', the default) a snapshot's fields are not even
! copied by the solver thread: their blocks are registered with the stager, whose thread copies
! them out of u, v, w, p; staging_fence, called before the solver next writes those arrays (or
! frees them), waits for that copy (or makes it, if the thread has not reached it). The fence's
! time counts as hand-over time.
!   snapshot: dataset <prefix>snapshot.<step>.<rank>, tensors u v w [p] (local block, Fortran
!             order and dims), metadata step time rank nranks n(3) offset(3) dx(3); list
!             <prefix>snapshots
!   samples:  dataset <prefix>sgs.<step>.<rank>, tensors features (n,9) labels (n,6), metadata
!             as above plus width (cells) and delta; list <prefix>sgs_samples
module el_staging
  use, intrinsic :: iso_c_binding
  use mpi_f08
  use el_types, only: rp, i8, msg_len
  use el_decomp, only: decomp_t
  use el_sgs_samples, only: sgs_sample_count, sgs_samples
  use eddylearn_client_c, only: ELC_OK, ELC_DOUBLE, ELC_LAYOUT_FORTRAN, ELC_META_DOUBLE, &
                                ELC_META_INT32, ELC_META_INT64, ELC_POLICY_BLOCK, &
                                ELC_POLICY_DROP_OLDEST, elc_stager_stats, elc_dataset_create, &
                                elc_dataset_destroy, elc_dataset_add_tensor, &
                                elc_dataset_add_meta_scalar, elc_stager_create, &
                                elc_stager_submit, elc_stager_flush, elc_stager_stats_get, &
                                elc_stager_fence, &
                                elc_stager_destroy, elc_stager_last_error, elc_last_error_copy, &
                                elc_buffers_reserve, elc_thread_minor_faults, elc_thread_cpu_seconds
  use el_staging_handover, only: handover_add_field
  implicit none
  private
  public :: staging_t, staging_init, staging_step, staging_fence, staging_finish, &
            staging_counters

  type :: staging_t
    logical :: enabled = .false.
    integer :: snapshot_every = 0, sgs_every = 0, sgs_width = 4, sgs_samples = 0
    logical :: pressure = .true.
    logical :: synchronous = .false.     ! flush after every submission (a baseline)
    logical :: deferred = .true.         ! the stager's thread copies the snapshot's fields
    logical :: fence_due = .false.       ! a deferred snapshot may still read u, v, w, p
    character(len=128) :: prefix = ''
    type(c_ptr) :: stager = c_null_ptr
    integer(i8) :: errors = 0            ! submissions refused (already counted as lost)
    real(rp) :: handover_s = 0           ! time the solver thread spent in staging_step and
                                         ! staging_fence
    real(rp) :: copy_s = 0               ! ... of which copying snapshot fields into datasets
                                         !     (deferred: registering them)
    real(rp) :: submit_s = 0             ! ... of which submitting (waits for queue space)
    real(rp) :: fence_s = 0              ! ... of which waiting (or copying) at the fence
    integer(i8) :: faults = 0            ! page faults of the solver thread in staging_step
    real(rp) :: handover_cpu_s = 0       ! CPU time of the solver thread in staging_step
    real(rp) :: cpu_start = 0            ! CPU time of the solver thread when staging started
    real(rp) :: snapshot_copy_bytes = 0  ! bytes copied out of the fields per snapshot (by the
                                         ! solver thread, or deferred: by the stager's thread
                                         ! or the fence)
  end type staging_t

contains

  ! Create this rank's stager (collective; ierr agrees on all ranks). Fails with a clear
  ! message when the database cannot be reached within SR_CONN_TIMEOUT.
  subroutine staging_init(st, d, enabled, snapshot_every, fields, sgs_every, sgs_width, &
                          sgs_nsamples, queue_mb, policy, prefix, synchronous, handover, ierr, &
                          msg)
    type(staging_t), intent(out) :: st
    type(decomp_t), intent(in) :: d
    logical, intent(in) :: enabled
    integer, intent(in) :: snapshot_every, sgs_every, sgs_width, sgs_nsamples
    character(len=*), intent(in) :: fields, policy, prefix, handover
    real(rp), intent(in) :: queue_mb
    logical, intent(in) :: synchronous
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    integer(c_int) :: rc, pol
    integer :: n, gerr
    ierr = 0; msg = ''
    st%enabled = enabled .and. (snapshot_every > 0 .or. sgs_every > 0)
    if (.not. st%enabled) return
    st%snapshot_every = snapshot_every; st%sgs_every = sgs_every
    st%sgs_width = sgs_width; st%sgs_samples = sgs_nsamples
    st%pressure = trim(fields) == 'uvwp'
    st%prefix = prefix
    st%synchronous = synchronous
    st%deferred = trim(handover) /= 'copy'
    if (sgs_every > 0) then
      call sgs_sample_count(d, sgs_width, n, ierr, msg)
      if (ierr /= 0) msg = '&staging: '//msg
    end if
    if (ierr == 0) then
      pol = ELC_POLICY_BLOCK
      if (trim(policy) == 'drop_oldest') pol = ELC_POLICY_DROP_OLDEST
      rc = elc_stager_create(st%stager, int(queue_mb*1048576.0_rp, c_size_t), pol, &
                             c_null_ptr, c_null_ptr)
      if (rc /= ELC_OK) then
        ierr = 1
        msg = 'staging: '//trim(last_error())
      end if
    end if
    ! the snapshot buffers, their pages written now rather than in the first hand-overs
    if (ierr == 0 .and. snapshot_every > 0) &
      rc = elc_buffers_reserve(int(8*product(int(d%n, c_size_t)), c_size_t), &
                               int(merge(5, 4, st%pressure), c_size_t))
    st%cpu_start = elc_thread_cpu_seconds()
    call MPI_Allreduce(ierr, gerr, 1, MPI_INTEGER, MPI_MAX, d%comm)
    if (gerr /= 0 .and. ierr == 0) msg = 'staging could not start on another rank'
    ierr = gerr
  end subroutine staging_init

  ! After a step: submit a snapshot and/or SGS samples when the step is due. Deferred, the
  ! snapshot keeps reading u, v, w, p (the solver's own arrays: contiguous, not copies) until
  ! staging_fence.
  subroutine staging_step(st, d, step, time, u, v, w, p, ierr, msg)
    type(staging_t), intent(inout) :: st
    type(decomp_t), intent(in) :: d
    integer(i8), intent(in) :: step
    real(rp), intent(in) :: time
    real(rp), intent(in), contiguous :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:), &
                                        p(0:, 0:, 0:)
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    integer :: gerr
    real(rp) :: t_enter, c_enter
    integer(i8) :: f_enter
    ierr = 0; msg = ''
    if (.not. st%enabled) return
    t_enter = MPI_Wtime()
    f_enter = elc_thread_minor_faults()
    c_enter = elc_thread_cpu_seconds()
    if (due(st%snapshot_every)) call snapshot()
    if (ierr == 0 .and. due(st%sgs_every)) call samples()
    if (ierr /= 0) write(0, '(a,i0,a)') 'eddylearn-solver: rank ', d%rank, ': '//trim(msg)
    if (due(st%snapshot_every) .or. due(st%sgs_every)) then
      ! every rank submits on the same steps: agree on failure so that no rank waits alone
      call MPI_Allreduce(ierr, gerr, 1, MPI_INTEGER, MPI_MAX, d%comm)
      if (gerr /= 0 .and. ierr == 0) msg = 'staging failed on another rank'
      ierr = gerr
    end if
    st%handover_s = st%handover_s + (MPI_Wtime() - t_enter)
    st%faults = st%faults + (elc_thread_minor_faults() - f_enter)
    st%handover_cpu_s = st%handover_cpu_s + (elc_thread_cpu_seconds() - c_enter)
  contains
    logical function due(every)
      integer, intent(in) :: every
      due = .false.
      if (every > 0) due = mod(step, int(every, i8)) == 0
    end function due

    subroutine snapshot()
      type(c_ptr) :: ds
      real(rp) :: t0
      ds = new_dataset('snapshot', step, d%rank)
      t0 = MPI_Wtime()
      call add_field(ds, 'u', u)
      call add_field(ds, 'v', v)
      call add_field(ds, 'w', w)
      if (st%pressure) call add_field(ds, 'p', p)
      st%copy_s = st%copy_s + (MPI_Wtime() - t0)
      st%snapshot_copy_bytes = real(merge(4, 3, st%pressure), rp) * 8 * product(real(d%n, rp))
      call add_common_meta(ds)
      call submit(ds, 'snapshots')
      ! deferred: the stager may read the fields until staging_fence (also after a failed
      ! submission, which has freed the dataset: then the fence has nothing to wait for)
      st%fence_due = st%deferred
    end subroutine snapshot

    ! one copy of a field's interior into the dataset, or its registration (el_staging_handover)
    subroutine add_field(ds, name, a)
      type(c_ptr), intent(in) :: ds
      character(len=*), intent(in) :: name
      real(rp), intent(in), contiguous :: a(0:, 0:, 0:)
      integer(c_int) :: rc
      if (ierr /= 0) return
      call handover_add_field(ds, name, a, d%n, st%deferred, rc)
      if (rc /= ELC_OK) then
        ierr = 1; msg = 'staging: '//trim(last_error())
      end if
    end subroutine add_field

    subroutine samples()
      type(c_ptr) :: ds
      real(rp), allocatable, target :: f(:,:), l(:,:), fs(:,:), ls(:,:)
      integer :: n, k, j
      integer(c_int) :: rc
      integer(c_int32_t), target :: width
      real(c_double), target :: delta
      call sgs_sample_count(d, st%sgs_width, n, ierr, msg)
      if (ierr /= 0) return
      allocate(f(n, 9), l(n, 6))
      call sgs_samples(d, st%sgs_width, u, v, w, f, l, ierr, msg)
      if (ierr /= 0) return
      if (st%sgs_samples > 0 .and. st%sgs_samples < n) then
        ! an even subsample with a step-dependent start, so successive sets differ
        allocate(fs(st%sgs_samples, 9), ls(st%sgs_samples, 6))
        do k = 1, st%sgs_samples
          j = 1 + int(mod(mod(step*7919_i8 + d%rank*104729_i8, int(n, i8)) + &
                          (int(k - 1, i8)*n)/st%sgs_samples, int(n, i8)))
          fs(k, :) = f(j, :); ls(k, :) = l(j, :)
        end do
        call move_alloc(fs, f); call move_alloc(ls, l)
      end if
      ds = new_dataset('sgs', step, d%rank)
      rc = elc_dataset_add_tensor(ds, cstr('features'), c_loc(f), int(shape(f), c_size_t), &
                                  2_c_size_t, ELC_DOUBLE, ELC_LAYOUT_FORTRAN)
      if (rc == ELC_OK) rc = elc_dataset_add_tensor(ds, cstr('labels'), c_loc(l), &
                                  int(shape(l), c_size_t), 2_c_size_t, ELC_DOUBLE, &
                                  ELC_LAYOUT_FORTRAN)
      width = st%sgs_width
      delta = st%sgs_width*(d%dx*d%dy*d%dz)**(1.0_rp/3)
      if (rc == ELC_OK) rc = elc_dataset_add_meta_scalar(ds, cstr('width'), c_loc(width), &
                                                         ELC_META_INT32)
      if (rc == ELC_OK) rc = elc_dataset_add_meta_scalar(ds, cstr('delta'), c_loc(delta), &
                                                         ELC_META_DOUBLE)
      if (rc /= ELC_OK) then
        ierr = 1; msg = 'staging: '//trim(last_error())
      end if
      call add_common_meta(ds)
      call submit(ds, 'sgs_samples')
    end subroutine samples

    subroutine add_common_meta(ds)
      type(c_ptr), intent(in) :: ds
      integer(c_int64_t), target :: i64(3)
      integer(c_int32_t), target :: i32(2)
      real(c_double), target :: r(3), t
      integer :: k
      integer(c_int) :: rc
      i64(1) = step; t = time; i32 = [d%rank, d%nranks]
      rc = elc_dataset_add_meta_scalar(ds, cstr('step'), c_loc(i64(1)), ELC_META_INT64)
      rc = ior(rc, elc_dataset_add_meta_scalar(ds, cstr('time'), c_loc(t), ELC_META_DOUBLE))
      rc = ior(rc, elc_dataset_add_meta_scalar(ds, cstr('rank'), c_loc(i32(1)), ELC_META_INT32))
      rc = ior(rc, elc_dataset_add_meta_scalar(ds, cstr('nranks'), c_loc(i32(2)), ELC_META_INT32))
      i64 = [int(d%nx, c_int64_t), int(d%ny, c_int64_t), int(d%nz, c_int64_t)]
      do k = 1, 3
        rc = ior(rc, elc_dataset_add_meta_scalar(ds, cstr('n'), c_loc(i64(k)), ELC_META_INT64))
      end do
      i64 = [0_c_int64_t, 0_c_int64_t, int(d%kstart - 1, c_int64_t)]
      do k = 1, 3
        rc = ior(rc, elc_dataset_add_meta_scalar(ds, cstr('offset'), c_loc(i64(k)), &
                                                  ELC_META_INT64))
      end do
      r = [d%dx, d%dy, d%dz]
      do k = 1, 3
        rc = ior(rc, elc_dataset_add_meta_scalar(ds, cstr('dx'), c_loc(r(k)), ELC_META_DOUBLE))
      end do
      if (rc /= ELC_OK .and. ierr == 0) then
        ierr = 1; msg = 'staging: '//trim(last_error())
      end if
    end subroutine add_common_meta

    type(c_ptr) function new_dataset(kind, step_, rank) result(ds)
      character(len=*), intent(in) :: kind
      integer(i8), intent(in) :: step_
      integer, intent(in) :: rank
      character(len=256) :: name
      integer(c_int) :: rc
      write(name, '(a,a,".",i0,".",i0)') trim(st%prefix), kind, step_, rank
      rc = elc_dataset_create(ds, cstr(trim(name)))
      if (rc /= ELC_OK .and. ierr == 0) then
        ierr = 1; msg = 'staging: '//trim(last_error())
      end if
    end function new_dataset

    ! hand over (the stager owns ds from here on, also on error)
    subroutine submit(ds, list)
      type(c_ptr), intent(in) :: ds
      character(len=*), intent(in) :: list
      integer(c_int) :: rc
      real(rp) :: t0
      if (ierr /= 0) then
        call elc_dataset_destroy(ds); return
      end if
      t0 = MPI_Wtime()
      rc = elc_stager_submit(st%stager, ds, cstr(trim(st%prefix)//list))
      st%submit_s = st%submit_s + (MPI_Wtime() - t0)
      if (rc == ELC_OK .and. st%synchronous) rc = elc_stager_flush(st%stager, -1.0_c_double)
      if (rc /= ELC_OK) then
        st%errors = st%errors + 1
        ierr = 1; msg = 'staging: '//trim(last_error())
      end if
    end subroutine submit
  end subroutine staging_step

  ! Before the solver writes u, v, w or p, or frees them: return once the last snapshot's
  ! deferred blocks are copied out of them (the fence copies those the stager's thread has not
  ! reached). Nothing to do after a copied hand-over or when no snapshot is pending. The time
  ! (and CPU time, page faults) counts as hand-over time: the solver thread is blocked here.
  subroutine staging_fence(st)
    type(staging_t), intent(inout) :: st
    real(rp) :: t0, c0, dt
    integer(i8) :: f0
    integer(c_int) :: rc
    if (.not. st%fence_due) return
    t0 = MPI_Wtime()
    f0 = elc_thread_minor_faults()
    c0 = elc_thread_cpu_seconds()
    rc = elc_stager_fence(st%stager)
    dt = MPI_Wtime() - t0
    st%fence_s = st%fence_s + dt
    st%handover_s = st%handover_s + dt
    st%faults = st%faults + (elc_thread_minor_faults() - f0)
    st%handover_cpu_s = st%handover_cpu_s + (elc_thread_cpu_seconds() - c0)
    st%fence_due = .false.
  end subroutine staging_fence

  ! Global counters (summed over ranks; latency: mean of means, max of maxima).
  subroutine staging_counters(st, d, c)
    type(staging_t), intent(in) :: st
    type(decomp_t), intent(in) :: d
    real(rp), intent(out) :: c(8)   ! submitted sent bytes retries dropped failed mean_lat max_lat
    type(elc_stager_stats) :: s
    real(rp) :: loc(7), glob(7), lmax, gmax
    integer(c_int) :: rc
    c = 0
    if (.not. st%enabled) return
    rc = elc_stager_stats_get(st%stager, s)
    loc = real([s%submitted, s%sent, s%bytes, s%retries, s%dropped, s%failed, 0_c_int64_t], rp)
    loc(7) = s%mean_latency_s
    lmax = s%max_latency_s
    call MPI_Allreduce(loc, glob, 7, MPI_DOUBLE_PRECISION, MPI_SUM, d%comm)
    call MPI_Allreduce(lmax, gmax, 1, MPI_DOUBLE_PRECISION, MPI_MAX, d%comm)
    c(1:6) = glob(1:6); c(7) = glob(7)/d%nranks; c(8) = gmax
  end subroutine staging_counters

  ! Flush everything queued (at most timeout seconds); rank 0 prints the final counters and
  ! writes them to <dir>/staging.json; free the stager.
  subroutine staging_finish(st, d, timeout, verbose, dir, ierr, msg)
    type(staging_t), intent(inout) :: st
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: timeout
    logical, intent(in) :: verbose
    character(len=*), intent(in) :: dir
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    real(rp) :: c(8)
    integer(c_int) :: rc
    integer :: gerr, unit, ios, i
    real(rp) :: t0, t_flush, t_handover, parts(7), copied(2)
    type(elc_stager_stats) :: s
    character(kind=c_char) :: buf(msg_len)
    integer(c_size_t) :: n
    ierr = 0; msg = ''
    if (.not. st%enabled) return
    ! the fields are free afterwards, whatever the flush does
    call staging_fence(st)
    t0 = MPI_Wtime()
    rc = elc_stager_flush(st%stager, real(timeout, c_double))
    t_flush = MPI_Wtime() - t0
    call MPI_Allreduce(MPI_IN_PLACE, t_flush, 1, MPI_DOUBLE_PRECISION, MPI_MAX, d%comm)
    if (rc /= ELC_OK) then
      ierr = 1; msg = 'staging: flushing the queue: '//trim(last_error())
    end if
    call staging_counters(st, d, c)
    call MPI_Allreduce(st%handover_s, t_handover, 1, MPI_DOUBLE_PRECISION, MPI_MAX, d%comm)
    rc = elc_stager_stats_get(st%stager, s)
    parts = [st%copy_s, st%submit_s, real(st%faults, rp), real(s%high_water_bytes, rp), &
             st%handover_cpu_s, elc_thread_cpu_seconds() - st%cpu_start, st%fence_s]
    call MPI_Allreduce(MPI_IN_PLACE, parts, 7, MPI_DOUBLE_PRECISION, MPI_MAX, d%comm)
    copied = real([s%copied_by_sender, s%copied_by_fence], rp)
    call MPI_Allreduce(MPI_IN_PLACE, copied, 2, MPI_DOUBLE_PRECISION, MPI_SUM, d%comm)
    if (c(6) > 0) then
      buf = ' '
      n = elc_stager_last_error(st%stager, buf, int(msg_len, c_size_t))
      if (n > 0) write(0, '(a,i0,a,*(a))') 'eddylearn-solver: staging on rank ', d%rank, ': ', &
        (buf(i), i = 1, min(int(n), msg_len - 1))
    end if
    if (verbose .and. d%rank == 0) then
      write(*, '(a,i0,a,i0,a,f0.1,a,i0,a,i0,a,i0,a,es10.3,a,es10.3,a)') &
        'eddylearn-solver: staging: ', nint(c(2)), ' of ', nint(c(1)), ' datasets sent (', &
        c(3)/1048576, ' MiB), ', nint(c(4)), ' retries, ', nint(c(5)), ' dropped, ', &
        nint(c(6)), ' failed; send latency mean ', c(7), ' s, max ', c(8), ' s'
    end if
    if (d%rank == 0) then
      open(newunit=unit, file=trim(dir)//'/staging.json', status='replace', action='write', &
           iostat=ios)
      if (ios == 0) then
        write(unit, '(a,6(a,i0),3(a,es12.5),a)') '{', '"submitted": ', nint(c(1), i8), &
          ', "sent": ', nint(c(2), i8), ', "bytes": ', nint(c(3), i8), ', "retries": ', &
          nint(c(4), i8), ', "dropped": ', nint(c(5), i8), ', "failed": ', nint(c(6), i8), &
          ', "mean_latency_s": ', c(7), ', "max_latency_s": ', c(8), ', "flush_s": ', &
          t_flush, ','
        write(unit, '(a,es12.5,a,i0,a)') ' "handover_s": ', t_handover, &
          ', "snapshot_copy_bytes": ', nint(st%snapshot_copy_bytes, i8), ','
        write(unit, '(2(a,es12.5),2(a,i0),a)') ' "handover_copy_s": ', parts(1), &
          ', "handover_submit_s": ', parts(2), ', "handover_faults": ', nint(parts(3), i8), &
          ', "queue_high_water_bytes": ', nint(parts(4), i8), ','
        write(unit, '(2(a,es12.5),a)') ' "handover_cpu_s": ', parts(5), &
          ', "solver_thread_cpu_s": ', parts(6), ','
        write(unit, '(a,a,a,es12.5,2(a,i0),a)') ' "handover": "', &
          trim(merge('deferred', 'copy    ', st%deferred)), '", "handover_fence_s": ', &
          parts(7), ', "blocks_copied_by_sender": ', nint(copied(1), i8), &
          ', "blocks_copied_by_fence": ', nint(copied(2), i8), '}'
        close(unit)
      end if
    end if
    rc = elc_stager_destroy(st%stager)
    st%stager = c_null_ptr
    st%enabled = .false.
    call MPI_Allreduce(ierr, gerr, 1, MPI_INTEGER, MPI_MAX, d%comm)
    if (gerr /= 0 .and. ierr == 0) msg = 'staging: flushing failed on another rank'
    ierr = gerr
  end subroutine staging_finish

  function cstr(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s)+1) :: c
    c = trim(s)//c_null_char
  end function cstr

  function last_error() result(m)
    character(len=msg_len) :: m
    character(kind=c_char) :: buf(msg_len)
    integer(c_size_t) :: n
    integer :: i
    buf = ' '
    n = elc_last_error_copy(buf, int(msg_len, c_size_t))
    m = ''
    do i = 1, min(int(n), msg_len - 1)
      if (buf(i) == c_null_char) exit
      m(i:i) = buf(i)
    end do
  end function last_error
end module el_staging
