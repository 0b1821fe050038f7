! The solver state (one clearly named type) and its life cycle: init from a namelist file,
! one low-storage RK3 step with a pressure projection per stage, diagnostics, checkpoints.
module el_solver
  use, intrinsic :: iso_c_binding, only: c_int, c_char, c_null_char
  use mpi_f08
  use el_types, only: rp, i8, msg_len
  use el_param, only: config_t, read_config
  use el_decomp, only: decomp_t, decomp_init
  use el_halo, only: update_halo, update_halo3
  use el_poisson, only: poisson_t, poisson_init, poisson_solve, poisson_free
  use el_ops, only: momentum_rhs, divergence, project, kinetic_energy_sum, enstrophy_sum, &
                    max_cfl_rate, max_abs_interior
  use el_les, only: les_model_t
  use el_les_factory, only: les_model_factory
  use el_initflow, only: init_flow
  use el_checkpoint, only: checkpoint_write, checkpoint_read
  use el_staging, only: staging_t, staging_init, staging_step, staging_fence, staging_finish, &
                        staging_counters
  implicit none
  private
  public :: solver_t, solver_init, solver_step, solver_run, solver_free, solver_diagnostics, &
            diag_t, solver_checkpoint, solver_done

  ! Wray's low-storage RK3: u <- u + dt*(gam*rhs + zet*rhs_old); stage time fraction alp = gam+zet
  real(rp), parameter :: gam(3) = [8.0_rp/15, 5.0_rp/12, 3.0_rp/4]
  real(rp), parameter :: zet(3) = [0.0_rp, -17.0_rp/60, -5.0_rp/12]

  type :: diag_t
    integer(i8) :: step = 0
    real(rp) :: time = 0, dt = 0, energy = 0, enstrophy = 0, eps_visc = 0, eps_sgs = 0
    real(rp) :: eps_dedt = 0, div_max = 0, cfl = 0, wall_step = 0
    real(rp) :: staged(8) = 0     ! staging counters (see el_staging%staging_counters)
  end type diag_t

  type :: solver_t
    type(config_t) :: cfg
    type(decomp_t) :: d
    type(poisson_t) :: ps
    class(les_model_t), allocatable :: les
    type(staging_t) :: staging
    real(rp), allocatable, dimension(:,:,:) :: u, v, w, p, du, dv, dw, duo, dvo, dwo, wrk
    real(rp) :: time = 0, dt = 0
    integer(i8) :: step = 0, steps_this_run = 0
    real(rp) :: wall_step = 0, wall_total = 0, energy_before = -1
    ! the first stage's CFL rate and local energy sum, taken while an SGS request is in flight
    real(rp) :: cfl_rate = 0, energy_local = 0
    integer :: diag_unit = -1
    logical :: initialised = .false.
  end type solver_t

  interface
    integer(c_int) function c_mkdir(path, mode) bind(C, name='mkdir')
      import :: c_int, c_char
      character(kind=c_char), intent(in) :: path(*)
      integer(c_int), value :: mode
    end function c_mkdir
  end interface

contains

  ! Read the input, decompose, plan the FFTs, build the SGS model, set the initial condition or
  ! read the restart file, open the diagnostics file. Collective; ierr is the same on all ranks.
  subroutine solver_init(s, path, comm, ierr, msg)
    type(solver_t),   intent(inout) :: s
    character(len=*), intent(in)    :: path
    type(MPI_Comm),   intent(in)    :: comm
    integer,          intent(out)   :: ierr
    character(len=msg_len), intent(out) :: msg
    integer :: nranks, ios, e
    integer(i8) :: rstep
    real(rp) :: rtime, rdt
    logical :: exists
    character(len=msg_len) :: iom
    s%time = 0; s%dt = 0; s%step = 0; s%steps_this_run = 0
    s%wall_step = 0; s%wall_total = 0; s%energy_before = -1
    call MPI_Comm_size(comm, nranks)
    call read_config(path, s%cfg, nranks, ierr, msg)
    if (ierr /= 0) return
    call decomp_init(s%d, comm, s%cfg%nx, s%cfg%ny, s%cfg%nz, s%cfg%lx, s%cfg%ly, s%cfg%lz)
    ! the fields first: a grid too large for memory is named by its array, not by FFTW's plan
    call allocate_fields(s, ierr, msg)
    call agree(ierr)
    if (ierr /= 0) then
      if (len_trim(msg) == 0) msg = 'another rank could not allocate its fields'
      return
    end if
    call poisson_init(s%ps, s%d, s%cfg%fft_planner == 'measure', ierr)
    call agree(ierr)
    if (ierr /= 0) then
      msg = 'FFTW could not plan the transforms for this grid and rank count'; return
    end if
    call les_model_factory(s%cfg%model, s%les, ierr, msg)
    if (ierr /= 0) return
    call s%les%init(s%d, s%cfg, ierr, msg)
    if (ierr /= 0) return
    if (len_trim(s%cfg%restart_file) > 0) then
      call checkpoint_read(trim(s%cfg%restart_file), s%d, rstep, rtime, rdt, &
                           s%u, s%v, s%w, s%p, ierr, msg)
      if (ierr /= 0) return
      s%step = rstep; s%time = rtime; s%dt = rdt
      call update_halo3(s%d, s%u, s%v, s%w)
      call update_halo(s%d, s%p)
    else
      call init_flow(s%cfg%initial, s%d, s%ps, s%cfg%lx, s%cfg%ly, s%cfg%lz, s%cfg%u0, &
                     s%cfg%k_peak, s%cfg%seed, s%u, s%v, s%w, s%p, ierr, msg)
      if (ierr /= 0) return
    end if
    call check_fixed_dt(s, ierr, msg)
    if (ierr /= 0) return
    ! output folder and diagnostics file (rank 0 writes)
    if (s%d%rank == 0) e = c_mkdir(trim(s%cfg%dir)//c_null_char, int(o'755', c_int))
    ierr = 0
    if (s%d%rank == 0) then
      inquire(file=trim(s%cfg%dir)//'/diagnostics.csv', exist=exists)
      if (exists .and. len_trim(s%cfg%restart_file) > 0) then
        open(newunit=s%diag_unit, file=trim(s%cfg%dir)//'/diagnostics.csv', status='old', &
             position='append', action='write', iostat=ios, iomsg=iom)
      else
        open(newunit=s%diag_unit, file=trim(s%cfg%dir)//'/diagnostics.csv', status='replace', &
             action='write', iostat=ios, iomsg=iom)
        if (ios == 0) write(s%diag_unit, '(a)') 'step,time,dt,energy,enstrophy,eps_visc,' // &
          'eps_sgs,eps_dedt,div_max,cfl,wall_step,staged_sent,staged_bytes,staged_retries,' // &
          'staged_dropped'
      end if
      if (ios /= 0) ierr = 1
    end if
    call agree(ierr)
    if (ierr /= 0) then
      msg = 'cannot write the diagnostics file in output folder '''//trim(s%cfg%dir)//''''
      return
    end if
    call staging_init(s%staging, s%d, s%cfg%staging, s%cfg%snapshot_every, s%cfg%fields, &
                      s%cfg%sgs_every, s%cfg%sgs_width, s%cfg%sgs_samples, s%cfg%queue_mb, &
                      s%cfg%policy, s%cfg%prefix, s%cfg%synchronous, s%cfg%handover, ierr, msg)
    if (ierr /= 0) return
    s%initialised = .true.
  contains
    subroutine agree(code)
      integer, intent(inout) :: code
      integer :: g
      call MPI_Allreduce(code, g, 1, MPI_INTEGER, MPI_MAX, comm)
      code = g
    end subroutine agree
  end subroutine solver_init

  ! The eleven field arrays (with ghost layers) of this rank; a failure names the array, its
  ! size and the system's reason instead of a bare allocation abort.
  subroutine allocate_fields(s, ierr, msg)
    type(solver_t), intent(inout) :: s
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    character(len=3), parameter :: names(11) = [character(len=3) :: 'u', 'v', 'w', 'p', 'du', &
                                                'dv', 'dw', 'duo', 'dvo', 'dwo', 'wrk']
    character(len=256) :: em
    integer :: k
    integer(i8) :: cells
    ! em keeps the runtime's text for a debugger; the message names the array and its size
    ierr = 0; msg = ''
    associate(n => s%d%n)
      cells = int(n(1) + 2, i8)*int(n(2) + 2, i8)*int(n(3) + 2, i8)
      do k = 1, size(names)
        em = ''
        select case (k)
        case (1); allocate(s%u(0:n(1)+1, 0:n(2)+1, 0:n(3)+1), stat=ierr, errmsg=em)
        case (2); allocate(s%v, mold=s%u, stat=ierr, errmsg=em)
        case (3); allocate(s%w, mold=s%u, stat=ierr, errmsg=em)
        case (4); allocate(s%p, mold=s%u, stat=ierr, errmsg=em)
        case (5); allocate(s%du, mold=s%u, stat=ierr, errmsg=em)
        case (6); allocate(s%dv, mold=s%u, stat=ierr, errmsg=em)
        case (7); allocate(s%dw, mold=s%u, stat=ierr, errmsg=em)
        case (8); allocate(s%duo, mold=s%u, stat=ierr, errmsg=em)
        case (9); allocate(s%dvo, mold=s%u, stat=ierr, errmsg=em)
        case (10); allocate(s%dwo, mold=s%u, stat=ierr, errmsg=em)
        case (11); allocate(s%wrk, mold=s%u, stat=ierr, errmsg=em)
        end select
        if (ierr /= 0) then
          write(msg, '(a,i0,a,i0,a,i0,a,f0.2,a,i0,a,i0,a)') 'cannot allocate field '// &
            trim(names(k))//' of ', n(1) + 2, ' x ', n(2) + 2, ' x ', n(3) + 2, ' doubles (', &
            real(cells, rp)*8/2.0_rp**30, ' GiB; ', size(names), &
            ' such arrays per rank): out of memory (stat ', ierr, ')'
          ierr = 5
          return
        end if
      end do
    end associate
    s%u = 0; s%v = 0; s%w = 0; s%p = 0; s%du = 0; s%dv = 0; s%dw = 0
    s%duo = 0; s%dvo = 0; s%dwo = 0; s%wrk = 0
  end subroutine allocate_fields

  ! A fixed dt is checked against the stability limits of the initial field. The CFL number
  ! dt * max(|u|/dx + |v|/dy + |w|/dz) bounds the advection eigenvalues from above, so RK3's
  ! sqrt(3) on it is sufficient, not necessary: past 1.7 (or the viscous limit of next_dt) a
  ! warning; past twice that (CFL 2 sqrt(3), or dt above RK3's real-axis bound 2.51 of the
  ! viscous eigenvalues) an error, or a warning with &time allow_unstable = .true.
  subroutine check_fixed_dt(s, ierr, msg)
    type(solver_t), intent(inout) :: s
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    real(rp) :: loc, rate, cfl, lap, dt_safe, dt_max
    ierr = 0; msg = ''
    if (.not. (s%cfg%dt > 0)) return
    loc = max_cfl_rate(s%d%n, s%d%dx, s%d%dy, s%d%dz, s%u, s%v, s%w)
    call MPI_Allreduce(loc, rate, 1, MPI_DOUBLE_PRECISION, MPI_MAX, s%d%comm)
    cfl = s%cfg%dt*rate
    lap = 4*s%cfg%nu*(1/s%d%dx**2 + 1/s%d%dy**2 + 1/s%d%dz**2)
    dt_safe = huge(1.0_rp); dt_max = huge(1.0_rp)
    if (rate > 0) then
      dt_safe = 1.7_rp/rate; dt_max = 2*sqrt(3.0_rp)/rate
    end if
    if (lap > 0) then
      dt_safe = min(dt_safe, 1.65_rp/lap); dt_max = min(dt_max, 2.51_rp/lap)
    end if
    if (s%cfg%dt <= dt_safe) return
    if (s%cfg%dt > dt_max) then
      write(msg, '(a,es10.3,a,f0.3,a,es10.3,a)') '&time: dt = ', s%cfg%dt, &
        ' is past the stability limit of the initial field (CFL number ', cfl, &
        ', largest stable dt ', dt_max, '); lower dt, use cfl instead, or set allow_unstable = .true.'
      if (.not. s%cfg%allow_unstable) then
        ierr = 1; return
      end if
    else
      write(msg, '(a,es10.3,a,f0.3,a,es10.3,a)') '&time: dt = ', s%cfg%dt, &
        ' may be unstable for the initial field (CFL number ', cfl, &
        '; dt up to ', dt_safe, ' is safe)'
    end if
    if (s%d%rank == 0) write(0, '(a)') 'eddylearn-solver: warning: '//trim(msg)
    msg = ''
  end subroutine check_fixed_dt

  logical function solver_done(s)
    type(solver_t), intent(in) :: s
    solver_done = s%time >= s%cfg%t_end*(1 - 1e-12_rp) .or. s%steps_this_run >= s%cfg%max_steps
  end function solver_done

  ! Right-hand side of the momentum equations at the current velocity (advection, diffusion,
  ! SGS stress divergence, linear forcing A*u). On the first stage of a step (first) also the
  ! CFL rate and the local kinetic energy of the velocity before the step.
  subroutine rhs(s, first)
    type(solver_t), intent(inout) :: s
    logical, intent(in) :: first
    ! the SGS model may start work (a database request) that overlaps everything up to its
    ! compute: the advection and diffusion terms and the first stage's reductions
    call s%les%prepare(s%d, s%u, s%v, s%w)
    call momentum_rhs(s%d%n, s%d%dx, s%d%dy, s%d%dz, s%cfg%nu, s%u, s%v, s%w, s%du, s%dv, s%dw)
    if (first) then
      if (s%cfg%dt <= 0) s%cfl_rate = max_cfl_rate(s%d%n, s%d%dx, s%d%dy, s%d%dz, s%u, s%v, s%w)
      s%energy_local = kinetic_energy_sum(s%d%n, s%u, s%v, s%w)
    end if
    call s%les%compute(s%d, s%u, s%v, s%w, s%du, s%dv, s%dw)
    if (s%cfg%forcing_a /= 0) then
      s%du = s%du + s%cfg%forcing_a*s%u
      s%dv = s%dv + s%cfg%forcing_a*s%v
      s%dw = s%dw + s%cfg%forcing_a*s%w
    end if
  end subroutine rhs

  ! Time step from the CFL number and the viscous limit (or the fixed dt), clipped to t_end;
  ! after the first stage's rhs (its CFL rate and the model's nut_max).
  real(rp) function next_dt(s) result(dt)
    type(solver_t), intent(inout) :: s
    real(rp) :: loc(2), glob(2), grate, gnut, dtv
    if (s%cfg%dt > 0) then
      dt = s%cfg%dt
    else
      loc = [s%cfl_rate, s%les%nut_max]
      call MPI_Allreduce(loc, glob, 2, MPI_DOUBLE_PRECISION, MPI_MAX, s%d%comm)
      grate = glob(1); gnut = glob(2)
      dt = huge(1.0_rp)
      if (grate > 0) dt = s%cfg%cfl/grate
      if (s%cfg%nu + gnut > 0) then
        dtv = 1.65_rp/(4*(s%cfg%nu + gnut)*(1/s%d%dx**2 + 1/s%d%dy**2 + 1/s%d%dz**2))
        dt = min(dt, dtv)
      end if
    end if
    if (s%time + dt > s%cfg%t_end) dt = max(s%cfg%t_end - s%time, 0.0_rp)
  end function next_dt

  ! One full RK3 step: three stages, each followed by a projection onto div u = 0.
  subroutine solver_step(s)
    type(solver_t), intent(inout) :: s
    integer :: st
    real(rp) :: t0, alp, dt, e
    t0 = MPI_Wtime()
    do st = 1, 3
      call rhs(s, st == 1)
      if (st == 1) then
        dt = next_dt(s)
        s%dt = dt
        ! the energy before the step, for -dE/dt, only when this step writes diagnostics
        s%energy_before = -1
        if (mod(s%step + 1, int(s%cfg%diag_every, i8)) == 0 .or. &
            s%time + dt >= s%cfg%t_end*(1 - 1e-12_rp) .or. &
            s%steps_this_run + 1 >= s%cfg%max_steps) then
          call MPI_Allreduce(s%energy_local, e, 1, MPI_DOUBLE_PRECISION, MPI_SUM, s%d%comm)
          s%energy_before = 0.5_rp*e/(real(s%d%nx, rp)*s%d%ny*s%d%nz)
        end if
      end if
      ! the first write to u, v, w (p follows in the projection) since the last snapshot: a
      ! deferred hand-over must have copied them out first (the rhs above only reads them)
      call staging_fence(s%staging)
      associate(n1 => s%d%n(1), n2 => s%d%n(2), n3 => s%d%n(3))
        s%u(1:n1,1:n2,1:n3) = s%u(1:n1,1:n2,1:n3) + dt*(gam(st)*s%du(1:n1,1:n2,1:n3) &
                                                      + zet(st)*s%duo(1:n1,1:n2,1:n3))
        s%v(1:n1,1:n2,1:n3) = s%v(1:n1,1:n2,1:n3) + dt*(gam(st)*s%dv(1:n1,1:n2,1:n3) &
                                                      + zet(st)*s%dvo(1:n1,1:n2,1:n3))
        s%w(1:n1,1:n2,1:n3) = s%w(1:n1,1:n2,1:n3) + dt*(gam(st)*s%dw(1:n1,1:n2,1:n3) &
                                                      + zet(st)*s%dwo(1:n1,1:n2,1:n3))
      end associate
      call swap(s%du, s%duo); call swap(s%dv, s%dvo); call swap(s%dw, s%dwo)
      call update_halo3(s%d, s%u, s%v, s%w)
      alp = gam(st) + zet(st)
      if (dt > 0) then
        call divergence(s%d%n, s%d%dx, s%d%dy, s%d%dz, 1/(alp*dt), s%u, s%v, s%w, s%wrk)
        call poisson_solve(s%ps, s%d, s%wrk, s%p)
        call update_halo(s%d, s%p)
        call project(s%d%n, s%d%dx, s%d%dy, s%d%dz, alp*dt, s%p, s%u, s%v, s%w)
        call update_halo3(s%d, s%u, s%v, s%w)
      end if
    end do
    s%time = s%time + dt
    s%step = s%step + 1
    s%steps_this_run = s%steps_this_run + 1
    s%wall_step = MPI_Wtime() - t0
    s%wall_total = s%wall_total + s%wall_step
  contains
    subroutine swap(a, b)
      real(rp), allocatable, intent(inout) :: a(:,:,:), b(:,:,:)
      real(rp), allocatable :: t(:,:,:)
      call move_alloc(a, t); call move_alloc(b, a); call move_alloc(t, b)
    end subroutine swap
  end subroutine solver_step

  ! Global diagnostics of the current state (collective).
  subroutine solver_diagnostics(s, dg)
    type(solver_t), intent(inout) :: s
    type(diag_t),   intent(out)   :: dg
    real(rp) :: loc(3), glob(3), lmax(2), gmax(2), ncell
    ncell = real(s%d%nx, rp)*s%d%ny*s%d%nz
    call divergence(s%d%n, s%d%dx, s%d%dy, s%d%dz, 1.0_rp, s%u, s%v, s%w, s%wrk)
    loc(1) = kinetic_energy_sum(s%d%n, s%u, s%v, s%w)
    loc(2) = enstrophy_sum(s%d%n, s%d%dx, s%d%dy, s%d%dz, s%u, s%v, s%w)
    loc(3) = s%les%eps_sgs
    lmax(1) = max_abs_interior(s%d%n, s%wrk)
    lmax(2) = max_cfl_rate(s%d%n, s%d%dx, s%d%dy, s%d%dz, s%u, s%v, s%w)
    call MPI_Allreduce(loc, glob, 3, MPI_DOUBLE_PRECISION, MPI_SUM, s%d%comm)
    call MPI_Allreduce(lmax, gmax, 2, MPI_DOUBLE_PRECISION, MPI_MAX, s%d%comm)
    dg%step = s%step; dg%time = s%time; dg%dt = s%dt
    dg%energy = 0.5_rp*glob(1)/ncell
    dg%enstrophy = 0.5_rp*glob(2)/ncell
    dg%eps_visc = s%cfg%nu*glob(2)/ncell
    dg%eps_sgs = glob(3)/ncell
    dg%div_max = gmax(1)
    dg%cfl = gmax(2)*s%dt
    dg%wall_step = s%wall_step
    dg%eps_dedt = 0
    if (s%energy_before >= 0 .and. s%dt > 0) dg%eps_dedt = (s%energy_before - dg%energy)/s%dt
    call staging_counters(s%staging, s%d, dg%staged)
  end subroutine solver_diagnostics

  ! Write one diagnostics line (rank 0) and, when verbose, a progress line.
  subroutine write_diagnostics(s, dg)
    type(solver_t), intent(in) :: s
    type(diag_t),   intent(in) :: dg
    if (s%d%rank /= 0) return
    write(s%diag_unit, '(i0,10(",",es24.16e3),4(",",i0))') dg%step, dg%time, dg%dt, &
      dg%energy, dg%enstrophy, dg%eps_visc, dg%eps_sgs, dg%eps_dedt, dg%div_max, dg%cfl, &
      dg%wall_step, nint(dg%staged(2), i8), nint(dg%staged(3), i8), nint(dg%staged(4), i8), &
      nint(dg%staged(5), i8)
    flush(s%diag_unit)
  end subroutine write_diagnostics

  ! Write checkpoint `name` in the output folder.
  subroutine solver_checkpoint(s, name, ierr, msg)
    type(solver_t),   intent(inout) :: s
    character(len=*), intent(in)    :: name
    integer,          intent(out)   :: ierr
    character(len=msg_len), intent(out) :: msg
    call checkpoint_write(trim(s%cfg%dir)//'/'//name, s%d, s%step, s%time, s%dt, &
                          s%u, s%v, s%w, s%p, ierr, msg)
  end subroutine solver_checkpoint

  ! Advance to t_end (or max_steps), writing diagnostics, progress and checkpoints.
  subroutine solver_run(s, ierr, msg)
    type(solver_t), intent(inout) :: s
    integer,        intent(out)   :: ierr
    character(len=msg_len), intent(out) :: msg
    type(diag_t) :: dg
    character(len=32) :: name
    integer(i8) :: progress_every
    real(rp) :: t_stage
    ierr = 0; msg = ''
    progress_every = max(1_i8, int(s%cfg%diag_every, i8)*max(1, 50/s%cfg%diag_every))
    call staging_step(s%staging, s%d, s%step, s%time, s%u, s%v, s%w, s%p, ierr, msg)
    if (ierr /= 0) then
      call release(); return
    end if
    call solver_diagnostics(s, dg)
    call write_diagnostics(s, dg)
    if (s%cfg%verbose .and. s%d%rank == 0) then
      write(*, '(a,i0,a,i0,a,i0,a,i0,a,a)') 'eddylearn-solver: grid ', s%d%nx, 'x', s%d%ny, &
        'x', s%d%nz, ' on ', s%d%nranks, ' rank(s), SGS model ', s%les%name()
      write(*, '(a)') '        step           time             dt         energy' // &
        '    dissipation        div_max      s/step'
    end if
    do while (.not. solver_done(s))
      call solver_step(s)
      if (s%les%err /= 0) then
        ierr = 4; msg = s%les%errmsg
        call release(); return
      end if
      t_stage = MPI_Wtime()
      call staging_step(s%staging, s%d, s%step, s%time, s%u, s%v, s%w, s%p, ierr, msg)
      if (ierr /= 0) then
      call release(); return
    end if
      ! the step's wall time includes handing the data over (what staging costs the solver)
      s%wall_step = s%wall_step + (MPI_Wtime() - t_stage)
      s%wall_total = s%wall_total + (MPI_Wtime() - t_stage)
      if (mod(s%step, int(s%cfg%diag_every, i8)) == 0 .or. solver_done(s)) then
        call solver_diagnostics(s, dg)
        call write_diagnostics(s, dg)
        if (.not. (dg%energy == dg%energy) .or. dg%energy > huge(1.0_rp)/4) then
          ierr = 3
          write(msg, '(a,i0,a,es12.4,a)') 'the solution blew up at step ', s%step, &
            ' (t = ', s%time, '); lower cfl or dt'
          call release(); return
        end if
        if (s%cfg%verbose .and. s%d%rank == 0 .and. &
            (mod(s%step, progress_every) == 0 .or. solver_done(s))) &
          write(*, '(i12,5es15.6,f12.5)') dg%step, dg%time, dg%dt, dg%energy, &
            dg%eps_visc + dg%eps_sgs, dg%div_max, dg%wall_step
      end if
      if (s%cfg%checkpoint_every > 0) then
        if (mod(s%step, int(s%cfg%checkpoint_every, i8)) == 0) then
          write(name, '(a,i8.8,a)') 'checkpoint_', s%step, '.bin'
          call solver_checkpoint(s, trim(name), ierr, msg)
          if (ierr /= 0) then
      call release(); return
    end if
        end if
      end if
    end do
    if (s%cfg%checkpoint_at_end) call solver_checkpoint(s, 'checkpoint.bin', ierr, msg)
    if (ierr /= 0) then
      call release(); return
    end if
    call staging_finish(s%staging, s%d, s%cfg%flush_timeout, s%cfg%verbose, s%cfg%dir, &
                        ierr, msg)
    if (ierr /= 0) then
      call release(); return
    end if
    call write_sgs_status()
    if (s%cfg%verbose .and. s%d%rank == 0) &
      write(*, '(a,i0,a,f10.3,a,es12.4)') 'eddylearn-solver: done, ', s%steps_this_run, &
        ' steps in ', s%wall_total, ' s; cell-steps/s per rank = ', &
        real(s%d%nx, rp)*s%d%ny*s%d%nz*s%steps_this_run/max(s%wall_total, 1e-30_rp)/s%d%nranks
  contains
    ! the SGS model's account of the run (learned: database use and fallbacks), if it has one
    subroutine write_sgs_status()
      character(len=:), allocatable :: line
      integer :: u, ios
      line = s%les%status()
      if (s%d%rank /= 0 .or. len(line) == 0) return
      open(newunit=u, file=trim(s%cfg%dir)//'/sgs_model.json', status='replace', &
           action='write', iostat=ios)
      if (ios == 0) then
        write(u, '(a)') line
        close(u)
      end if
      if (s%cfg%verbose) write(*, '(a)') 'eddylearn-solver: SGS '//line
    end subroutine write_sgs_status
    ! on an error (agreed by all ranks): send what is queued, briefly, and free the stager
    subroutine release()
      integer :: e
      character(len=msg_len) :: m
      call write_sgs_status()
      call staging_finish(s%staging, s%d, min(10.0_rp, s%cfg%flush_timeout), .false., &
                          s%cfg%dir, e, m)
    end subroutine release
  end subroutine solver_run

  subroutine solver_free(s)
    type(solver_t), intent(inout) :: s
    integer :: e
    character(len=msg_len) :: m
    call staging_finish(s%staging, s%d, s%cfg%flush_timeout, .false., s%cfg%dir, e, m)
    if (s%diag_unit /= -1) close(s%diag_unit)
    s%diag_unit = -1
    if (allocated(s%les)) then
      call s%les%free()
      deallocate(s%les)
    end if
    call poisson_free(s%ps)
    if (allocated(s%u)) deallocate(s%u, s%v, s%w, s%p, s%du, s%dv, s%dw, s%duo, s%dvo, s%dwo, s%wrk)
    s%initialised = .false.
  end subroutine solver_free
end module el_solver
