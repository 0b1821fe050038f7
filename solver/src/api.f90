! Serial in-process interface for Python (wrapped with f90wrap): plain scalars and arrays only.
! The one solver instance of the process lives in api_state; every routine returns ierr and
! the message of the last error is available from el_last_error.
module el_api
  use mpi_f08
  use el_types, only: rp, i8, msg_len
  use el_solver, only: solver_t, solver_init, solver_step, solver_free, solver_diagnostics, &
                       diag_t, solver_done, solver_checkpoint
  implicit none
  private
  public :: el_sgs_count, el_sgs_samples, el_sgs_stress
  public :: el_init, el_step, el_advance, el_grid, el_get_field, el_set_field, el_state, &
            el_diagnostics, el_checkpoint, el_finalize, el_last_error

  type :: api_state_t
    type(solver_t) :: solver
    character(len=msg_len) :: last_error = ''
    logical :: mpi_started_here = .false.
  end type api_state_t
  type(api_state_t), save :: api_state

contains

  ! Start a serial solver from namelist file `path` (MPI is initialised on first use).
  subroutine el_init(path, ierr)
    character(len=*), intent(in) :: path
    integer, intent(out) :: ierr
    logical :: started
    call MPI_Initialized(started)
    if (.not. started) then
      call MPI_Init()
      api_state%mpi_started_here = .true.
    end if
    call solver_free(api_state%solver)      ! also what a failed init left behind
    call solver_init(api_state%solver, path, MPI_COMM_SELF, ierr, api_state%last_error)
  end subroutine el_init

  ! The message of the last failed call.
  subroutine el_last_error(msg)
    character(len=512), intent(out) :: msg
    msg = api_state%last_error
  end subroutine el_last_error

  logical function ready(ierr)
    integer, intent(out) :: ierr
    ierr = 0; ready = api_state%solver%initialised
    if (.not. ready) then
      ierr = 1; api_state%last_error = 'the solver is not initialised (call el_init first)'
    end if
  end function ready

  ! Take nsteps time steps (fewer if t_end or max_steps is reached), with the checks of the
  ! executable: an SGS model that failed, and a solution that blew up (at diag_every steps).
  subroutine el_step(nsteps, ierr)
    integer, intent(in) :: nsteps
    integer, intent(out) :: ierr
    integer :: i
    if (.not. ready(ierr)) return
    do i = 1, nsteps
      if (solver_done(api_state%solver)) exit
      call checked_step(ierr)
      if (ierr /= 0) return
    end do
  end subroutine el_step

  ! Advance to time t (clipped to t_end; stops early at max_steps), with el_step's checks.
  subroutine el_advance(t, ierr)
    real(8), intent(in) :: t
    integer, intent(out) :: ierr
    real(rp) :: t_end
    if (.not. ready(ierr)) return
    t_end = api_state%solver%cfg%t_end
    api_state%solver%cfg%t_end = min(t, t_end)
    do while (.not. solver_done(api_state%solver))
      call checked_step(ierr)
      if (ierr /= 0) exit
    end do
    api_state%solver%cfg%t_end = t_end
  end subroutine el_advance

  subroutine checked_step(ierr)
    integer, intent(out) :: ierr
    type(diag_t) :: dg
    ierr = 0
    associate(s => api_state%solver)
      call solver_step(s)
      if (s%les%err /= 0) then
        ierr = 4; api_state%last_error = 'the SGS model failed: '//trim(s%les%errmsg)
        return
      end if
      if (mod(s%step, int(s%cfg%diag_every, i8)) == 0) then
        call solver_diagnostics(s, dg)
        if (.not. (dg%energy == dg%energy) .or. dg%energy > huge(1.0_rp)/4) then
          ierr = 3
          write(api_state%last_error, '(a,i0,a,es12.4,a)') 'the solution blew up at step ', &
            s%step, ' (t = ', s%time, '); lower cfl or dt'
        end if
      end if
    end associate
  end subroutine checked_step

  ! Global grid size.
  subroutine el_grid(nx, ny, nz, ierr)
    integer, intent(out) :: nx, ny, nz, ierr
    nx = 0; ny = 0; nz = 0
    if (.not. ready(ierr)) return
    nx = api_state%solver%d%nx; ny = api_state%solver%d%ny; nz = api_state%solver%d%nz
  end subroutine el_grid

  ! Current step count, time and last time step.
  subroutine el_state(step, time, dt, ierr)
    integer(8), intent(out) :: step
    real(8), intent(out) :: time, dt
    integer, intent(out) :: ierr
    step = 0; time = 0; dt = 0
    if (.not. ready(ierr)) return
    step = api_state%solver%step; time = api_state%solver%time; dt = api_state%solver%dt
  end subroutine el_state

  ! Copy field `name` (u, v, w or p) into a, shaped (nx, ny, nz).
  subroutine el_get_field(name, a, ierr)
    character(len=*), intent(in) :: name
    real(8), intent(inout) :: a(:,:,:)
    integer, intent(out) :: ierr
    if (.not. ready(ierr)) return
    if (.not. shape_ok(a)) then
      ierr = 1; return
    end if
    associate(s => api_state%solver, n => api_state%solver%d%n)
      select case (trim(name))
      case ('u'); a = s%u(1:n(1), 1:n(2), 1:n(3))
      case ('v'); a = s%v(1:n(1), 1:n(2), 1:n(3))
      case ('w'); a = s%w(1:n(1), 1:n(2), 1:n(3))
      case ('p'); a = s%p(1:n(1), 1:n(2), 1:n(3))
      case default
        ierr = 1; api_state%last_error = 'unknown field '''//trim(name)//''' (known: u, v, w, p)'
      end select
    end associate
  end subroutine el_get_field

  ! Overwrite field `name` (u, v or w) with a, shaped (nx, ny, nz); ghosts are refreshed.
  subroutine el_set_field(name, a, ierr)
    use el_halo, only: update_halo
    character(len=*), intent(in) :: name
    real(8), intent(in) :: a(:,:,:)
    integer, intent(out) :: ierr
    if (.not. ready(ierr)) return
    if (.not. shape_ok(a)) then
      ierr = 1; return
    end if
    associate(s => api_state%solver, n => api_state%solver%d%n)
      select case (trim(name))
      case ('u'); s%u(1:n(1), 1:n(2), 1:n(3)) = a; call update_halo(s%d, s%u)
      case ('v'); s%v(1:n(1), 1:n(2), 1:n(3)) = a; call update_halo(s%d, s%v)
      case ('w'); s%w(1:n(1), 1:n(2), 1:n(3)) = a; call update_halo(s%d, s%w)
      case default
        ierr = 1; api_state%last_error = 'cannot set field '''//trim(name)//''' (settable: u, v, w)'
      end select
    end associate
  end subroutine el_set_field

  logical function shape_ok(a)
    real(8), intent(in) :: a(:,:,:)
    shape_ok = all(shape(a) == api_state%solver%d%n)
    if (.not. shape_ok) write(api_state%last_error, '(a,3(1x,i0),a,3(1x,i0))') &
      'array shape', shape(a), ' does not match the grid', api_state%solver%d%n
  end function shape_ok

  ! Kinetic energy, enstrophy, viscous and SGS dissipation, maximum divergence, CFL number.
  subroutine el_diagnostics(energy, enstrophy, eps_visc, eps_sgs, div_max, cfl, ierr)
    real(8), intent(out) :: energy, enstrophy, eps_visc, eps_sgs, div_max, cfl
    integer, intent(out) :: ierr
    type(diag_t) :: dg
    energy = 0; enstrophy = 0; eps_visc = 0; eps_sgs = 0; div_max = 0; cfl = 0
    if (.not. ready(ierr)) return
    call solver_diagnostics(api_state%solver, dg)
    energy = dg%energy; enstrophy = dg%enstrophy; eps_visc = dg%eps_visc
    eps_sgs = dg%eps_sgs; div_max = dg%div_max; cfl = dg%cfl
  end subroutine el_diagnostics

  ! Write a checkpoint called `name` in the output folder.
  subroutine el_checkpoint(name, ierr)
    character(len=*), intent(in) :: name
    integer, intent(out) :: ierr
    if (.not. ready(ierr)) return
    call solver_checkpoint(api_state%solver, name, ierr, api_state%last_error)
  end subroutine el_checkpoint

  ! Number of SGS training samples (coarse cells) for a filter width of m cells.
  subroutine el_sgs_count(m, n, ierr)
    use el_sgs_samples, only: sgs_sample_count
    integer, intent(in) :: m
    integer, intent(out) :: n, ierr
    n = 0
    if (.not. ready(ierr)) return
    call sgs_sample_count(api_state%solver%d, m, n, ierr, api_state%last_error)
  end subroutine el_sgs_count

  ! SGS training samples of the current field: features (n, 9) filtered velocity gradients,
  ! labels (n, 6) the stresses tau_11, tau_22, tau_33, tau_12, tau_13, tau_23.
  subroutine el_sgs_samples(m, features, labels, ierr)
    use el_sgs_samples, only: sgs_samples
    integer, intent(in) :: m
    real(8), intent(inout) :: features(:,:), labels(:,:)
    integer, intent(out) :: ierr
    if (.not. ready(ierr)) return
    associate(s => api_state%solver)
      call sgs_samples(s%d, m, s%u, s%v, s%w, features, labels, ierr, api_state%last_error)
    end associate
  end subroutine el_sgs_samples

  ! The SGS model's stress of the current field at the cell centres, tau (nx*ny*nz, 6) with the
  ! cells in Fortran order (after the model's clipping), and its SGS dissipation (the sum over
  ! cells of -tau_ij S_ij): one prepare and compute of the model, its tendency discarded. A
  ! model without a stress (none) gives zeros.
  subroutine el_sgs_stress(tau, eps_sgs, ierr)
    use el_les_stress, only: les_stress_t
    real(8), intent(inout) :: tau(:,:)
    real(8), intent(out) :: eps_sgs
    integer, intent(out) :: ierr
    real(rp), allocatable :: du(:,:,:), dv(:,:,:), dw(:,:,:)
    eps_sgs = 0
    if (.not. ready(ierr)) return
    associate(s => api_state%solver, n => api_state%solver%d%n)
      if (size(tau, 1) /= product(n) .or. size(tau, 2) /= 6) then
        ierr = 1
        write(api_state%last_error, '(a,i0,a)') 'the stress array must be shaped (', &
          product(n), ', 6)'
        return
      end if
      tau = 0
      select type (m => s%les)
      class is (les_stress_t)
        allocate(du(0:n(1)+1, 0:n(2)+1, 0:n(3)+1), source=0.0_rp)
        allocate(dv, dw, mold=du)
        dv = 0; dw = 0
        call m%prepare(s%d, s%u, s%v, s%w)
        call m%compute(s%d, s%u, s%v, s%w, du, dv, dw)
        if (m%err /= 0) then
          ierr = 4; api_state%last_error = 'the SGS model failed: '//trim(m%errmsg)
          return
        end if
        tau = m%tau; eps_sgs = m%eps_sgs
      end select
    end associate
  end subroutine el_sgs_stress

  ! Release the solver (MPI stays initialised for the life of the process).
  subroutine el_finalize()
    if (api_state%solver%initialised) call solver_free(api_state%solver)
  end subroutine el_finalize
end module el_api
