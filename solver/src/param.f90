! Run configuration: one namelist file, every group optional, every key with a documented default.
! read_config reads and validates it and returns an error code and a message that names the problem.
module el_param
  use el_types, only: rp, i8, pi, msg_len
  use el_les_names, only: les_model_known, les_model_list
  implicit none
  private
  public :: config_t, read_config, validate_config

  type :: config_t
    ! &domain: grid points and box lengths (periodic in all three directions)
    integer  :: nx = 32, ny = 32, nz = 32
    real(rp) :: lx = 2*pi, ly = 2*pi, lz = 2*pi
    ! &physics: kinematic viscosity, initial condition and its parameters, linear forcing
    real(rp) :: nu = 1.0_rp/1600
    character(len=32) :: initial = 'tgv3d'   ! tgv3d | tg2d | isotropic
    real(rp) :: u0 = 1.0_rp                  ! velocity scale (rms velocity for isotropic)
    real(rp) :: k_peak = 4.0_rp              ! spectrum peak wavenumber (isotropic)
    integer  :: seed = 12345                 ! random seed (isotropic)
    real(rp) :: forcing_a = 0.0_rp           ! linear forcing coefficient A in f = A u (0: off)
    ! &time: end time, step limit, CFL number or a fixed time step
    real(rp) :: t_end = 20.0_rp
    integer  :: max_steps = 1000000
    real(rp) :: cfl = 0.5_rp
    real(rp) :: dt = 0.0_rp                  ! > 0: fixed time step; 0: from cfl
    logical  :: allow_unstable = .false.     ! a fixed dt past the stability limit: warn only
    character(len=16) :: fft_planner = 'estimate'  ! estimate (bit-reproducible) | measure
    ! &sgs: subgrid-scale model by name and its constant
    character(len=32) :: model = 'none'      ! one of el_les_names' list
    real(rp) :: cs = 0.17_rp                 ! Smagorinsky constant (also the learned fallback)
    real(rp) :: c_wale = 0.325_rp            ! WALE constant C_w
    real(rp) :: c_vreman = 0.07_rp           ! Vreman constant c (about 2.5 cs^2)
    real(rp) :: c_gradient = 1.0_rp/12       ! gradient model: tau = c_gradient Delta^2 G G^T
    character(len=16) :: dynamic_average = 'box'  ! dynamic_smagorinsky: box | local
    logical  :: clip_backscatter = .true.    ! zero the stress in cells where it would backscatter
    character(len=128) :: model_key = 'sgs_model'  ! learned: the model's key in the database
    integer  :: timeout_ms = 2000            ! learned: deadline of one inference request
    integer  :: version_every = 10           ! learned: steps between looks at <model_key>.meta
    integer  :: retry_every = 10             ! learned: steps to wait after the database failed
    integer  :: infer_every = 0              ! learned: 0 every RK stage; k: first stage of every
                                             ! k-th step, the stress held in between
    ! &output: where and how often to write diagnostics, checkpoints and restart input
    character(len=256) :: dir = '.'
    integer  :: diag_every = 1
    integer  :: checkpoint_every = 0         ! 0: only at the end
    logical  :: checkpoint_at_end = .true.
    character(len=256) :: restart_file = ''  ! empty: start from the initial condition
    logical  :: verbose = .true.
    ! &staging: asynchronous sending of snapshots and SGS samples to the database
    logical  :: staging = .false.            ! 'enabled' in the namelist
    integer  :: snapshot_every = 0           ! steps between snapshots (0: none)
    character(len=8) :: fields = 'uvwp'      ! uvw | uvwp
    integer  :: sgs_every = 0                ! steps between SGS sample sets (0: none)
    integer  :: sgs_width = 4                ! box-filter width in cells
    integer  :: sgs_samples = 0              ! samples per rank and set (0: all coarse cells)
    real(rp) :: queue_mb = 256.0_rp          ! memory limit of the staging queue per rank
    character(len=16) :: policy = 'block'    ! block | drop_oldest when the queue is full
    character(len=128) :: prefix = ''        ! key prefix of datasets and lists
    real(rp) :: flush_timeout = 600.0_rp     ! seconds to wait for the queue at the end
    logical  :: synchronous = .false.        ! wait for each dataset to be sent (baseline)
    character(len=32) :: handover = 'deferred' ! deferred: the sender copies the snapshots out of
                                             ! the fields; copy: the solver thread does
  end type config_t

contains

  ! Read the namelist file `path` into cfg (missing groups keep their defaults), then validate.
  ! ierr /= 0 on failure, with msg naming the file, the group and the problem.
  subroutine read_config(path, cfg, nranks, ierr, msg)
    character(len=*), intent(in)  :: path
    type(config_t),   intent(out) :: cfg
    integer,          intent(in)  :: nranks
    integer,          intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    integer :: nx, ny, nz, seed, max_steps, diag_every, checkpoint_every
    real(rp) :: lx, ly, lz, nu, u0, k_peak, forcing_a, t_end, cfl, dt, cs
    real(rp) :: c_wale, c_vreman, c_gradient
    character(len=16) :: dynamic_average
    logical :: allow_unstable
    character(len=32) :: initial, model
    logical :: clip_backscatter
    character(len=128) :: model_key
    integer :: timeout_ms, version_every, retry_every, infer_every
    character(len=16) :: fft_planner
    character(len=256) :: dir, restart_file
    logical :: exists, checkpoint_at_end, verbose, enabled, synchronous
    integer :: snapshot_every, sgs_every, sgs_width, sgs_samples
    real(rp) :: queue_mb, flush_timeout
    character(len=8) :: fields
    character(len=16) :: policy
    character(len=32) :: handover
    character(len=128) :: prefix
    integer :: unit, ios
    character(len=msg_len) :: iom
    namelist /domain/ nx, ny, nz, lx, ly, lz
    namelist /physics/ nu, initial, u0, k_peak, seed, forcing_a
    namelist /time/ t_end, max_steps, cfl, dt, fft_planner, allow_unstable
    namelist /sgs/ model, cs, clip_backscatter, model_key, timeout_ms, version_every, &
                   retry_every, infer_every, c_wale, c_vreman, c_gradient, dynamic_average
    namelist /output/ dir, diag_every, checkpoint_every, checkpoint_at_end, restart_file, verbose
    namelist /staging/ enabled, snapshot_every, fields, sgs_every, sgs_width, sgs_samples, &
                       queue_mb, policy, prefix, flush_timeout, synchronous, handover

    ierr = 0; msg = ''
    inquire(file=path, exist=exists)
    if (.not. exists) then
      ierr = 1; msg = 'input file not found: '//trim(path); return
    end if
    nx = cfg%nx; ny = cfg%ny; nz = cfg%nz; lx = cfg%lx; ly = cfg%ly; lz = cfg%lz
    nu = cfg%nu; initial = cfg%initial; u0 = cfg%u0; k_peak = cfg%k_peak; seed = cfg%seed
    forcing_a = cfg%forcing_a
    t_end = cfg%t_end; max_steps = cfg%max_steps; cfl = cfg%cfl; dt = cfg%dt
    fft_planner = cfg%fft_planner; allow_unstable = cfg%allow_unstable
    model = cfg%model; cs = cfg%cs; clip_backscatter = cfg%clip_backscatter
    c_wale = cfg%c_wale; c_vreman = cfg%c_vreman; c_gradient = cfg%c_gradient
    dynamic_average = cfg%dynamic_average
    model_key = cfg%model_key; timeout_ms = cfg%timeout_ms; version_every = cfg%version_every
    retry_every = cfg%retry_every; infer_every = cfg%infer_every
    dir = cfg%dir; diag_every = cfg%diag_every; checkpoint_every = cfg%checkpoint_every
    checkpoint_at_end = cfg%checkpoint_at_end; restart_file = cfg%restart_file
    verbose = cfg%verbose
    enabled = cfg%staging; snapshot_every = cfg%snapshot_every; fields = cfg%fields
    sgs_every = cfg%sgs_every; sgs_width = cfg%sgs_width; sgs_samples = cfg%sgs_samples
    queue_mb = cfg%queue_mb; policy = cfg%policy; prefix = cfg%prefix
    flush_timeout = cfg%flush_timeout; synchronous = cfg%synchronous; handover = cfg%handover

    open(newunit=unit, file=path, status='old', action='read', iostat=ios, iomsg=iom)
    if (ios /= 0) then
      ierr = 1; msg = 'cannot open input file '//trim(path)//': '//trim(iom); return
    end if
    call check_groups(unit, ierr, msg)
    if (ierr /= 0) then
      msg = trim(path)//': '//msg; close(unit); return
    end if
    rewind(unit); read(unit, nml=domain, iostat=ios, iomsg=iom)
    if (bad(ios, 'domain')) return
    rewind(unit); read(unit, nml=physics, iostat=ios, iomsg=iom)
    if (bad(ios, 'physics')) return
    rewind(unit); read(unit, nml=time, iostat=ios, iomsg=iom)
    if (bad(ios, 'time')) return
    rewind(unit); read(unit, nml=sgs, iostat=ios, iomsg=iom)
    if (bad(ios, 'sgs')) return
    rewind(unit); read(unit, nml=output, iostat=ios, iomsg=iom)
    if (bad(ios, 'output')) return
    rewind(unit); read(unit, nml=staging, iostat=ios, iomsg=iom)
    if (bad(ios, 'staging')) return
    close(unit)

    cfg%nx = nx; cfg%ny = ny; cfg%nz = nz; cfg%lx = lx; cfg%ly = ly; cfg%lz = lz
    cfg%nu = nu; cfg%initial = initial; cfg%u0 = u0; cfg%k_peak = k_peak; cfg%seed = seed
    cfg%forcing_a = forcing_a
    cfg%t_end = t_end; cfg%max_steps = max_steps; cfg%cfl = cfl; cfg%dt = dt
    cfg%fft_planner = fft_planner; cfg%allow_unstable = allow_unstable
    cfg%model = model; cfg%cs = cs; cfg%clip_backscatter = clip_backscatter
    cfg%c_wale = c_wale; cfg%c_vreman = c_vreman; cfg%c_gradient = c_gradient
    cfg%dynamic_average = dynamic_average
    cfg%model_key = model_key; cfg%timeout_ms = timeout_ms; cfg%version_every = version_every
    cfg%retry_every = retry_every; cfg%infer_every = infer_every
    cfg%dir = dir; cfg%diag_every = diag_every; cfg%checkpoint_every = checkpoint_every
    cfg%checkpoint_at_end = checkpoint_at_end; cfg%restart_file = restart_file
    cfg%verbose = verbose
    cfg%staging = enabled; cfg%snapshot_every = snapshot_every; cfg%fields = fields
    cfg%sgs_every = sgs_every; cfg%sgs_width = sgs_width; cfg%sgs_samples = sgs_samples
    cfg%queue_mb = queue_mb; cfg%policy = policy; cfg%prefix = prefix
    cfg%flush_timeout = flush_timeout; cfg%synchronous = synchronous; cfg%handover = handover
    call validate_config(cfg, nranks, ierr, msg)
    if (ierr /= 0) msg = trim(path)//': '//msg
  contains
    logical function bad(ios_, group)
      integer, intent(in) :: ios_
      character(len=*), intent(in) :: group
      bad = .false.
      if (ios_ > 0) then
        ierr = 1; bad = .true.
        msg = trim(path)//': error in namelist group &'//group//': '//trim(iom)
        close(unit)
      end if
    end function bad
  end subroutine read_config

  ! Reject what would otherwise be read silently as defaults: a file that is not text, text
  ! outside any namelist group, a group the solver does not know (misspelt) or one that
  ! appears twice (only the first would be read).
  subroutine check_groups(unit, ierr, msg)
    integer, intent(in) :: unit
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    character(len=*), parameter :: known(6) = [character(len=8) :: 'domain', 'physics', &
                                               'time', 'sgs', 'output', 'staging']
    character(len=1024) :: line
    character(len=64) :: name
    integer :: ios, i, j, k, lineno, first(size(known)), ngroups, nonblank, c
    logical :: inside
    character :: quote
    ierr = 0; msg = ''
    first = 0; ngroups = 0; nonblank = 0; lineno = 0
    inside = .false.; quote = ' '
    rewind(unit)
    do
      read(unit, '(a)', iostat=ios) line
      if (ios /= 0) exit
      lineno = lineno + 1
      do i = 1, len_trim(line)
        c = iachar(line(i:i))
        if (c < 32 .and. c /= 9 .and. c /= 13) then
          ierr = 1
          write(msg, '(a,i0,a,i0,a)') 'not a namelist file: line ', lineno, &
            ' holds the control byte ', c, ' (binary data?)'
          return
        end if
      end do
      line = adjustl(line)
      if (len_trim(line) == 0 .or. line(1:1) == '!') cycle
      nonblank = nonblank + 1
      if (.not. inside .and. line(1:1) /= '&') then
        ierr = 1
        write(msg, '(a,i0,a)') 'line ', lineno, ' is outside any namelist group (groups '// &
          'start with &name and end with /): '//trim(line(1:60))
        return
      end if
      if (.not. inside) then
        j = len_trim(line)
        do i = 2, len_trim(line)
          if (line(i:i) == ' ' .or. line(i:i) == '/' .or. line(i:i) == ',') then
            j = i - 1; exit
          end if
        end do
        name = lower(line(2:j))
        if (trim(name) == 'end') cycle
        k = findloc(known, trim(name), dim=1)
        if (k == 0) then
          ierr = 1
          msg = 'unknown namelist group &'//trim(name)// &
                ' (known: &domain, &physics, &time, &sgs, &output, &staging)'
          return
        end if
        if (first(k) > 0) then
          ierr = 1
          write(msg, '(a,i0,a,i0,a)') 'namelist group &'//trim(name)//' appears twice (lines ', &
            first(k), ' and ', lineno, '); merge them into one'
          return
        end if
        first(k) = lineno; ngroups = ngroups + 1
        inside = .true.
        i = j + 1
      else
        i = 1
      end if
      ! the group ends at a '/' outside quotes and after any '!' comment is ignored
      do while (i <= len_trim(line))
        if (quote /= ' ') then
          if (line(i:i) == quote) quote = ' '
        else if (line(i:i) == '''' .or. line(i:i) == '"') then
          quote = line(i:i)
        else if (line(i:i) == '!') then
          exit
        else if (line(i:i) == '/') then
          inside = .false.
          exit
        end if
        i = i + 1
      end do
    end do
    if (nonblank > 0 .and. ngroups == 0) then
      ierr = 1; msg = 'no namelist group found (expected &domain, &physics, &time, ...)'
    end if
  end subroutine check_groups

  pure function lower(s) result(r)
    character(len=*), intent(in) :: s
    character(len=len(s)) :: r
    integer :: i
    r = s
    do i = 1, len(s)
      if (s(i:i) >= 'A' .and. s(i:i) <= 'Z') r(i:i) = achar(iachar(s(i:i)) + 32)
    end do
  end function lower

  ! Check values and their consistency with the number of ranks; msg names the offending key.
  subroutine validate_config(cfg, nranks, ierr, msg)
    type(config_t), intent(inout) :: cfg
    integer, intent(in) :: nranks
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    ierr = 1
    cfg%initial = lower(cfg%initial); cfg%model = lower(cfg%model)
    cfg%fft_planner = lower(cfg%fft_planner)
    if (cfg%nx < 2 .or. cfg%ny < 2 .or. cfg%nz < 1) then
      write(msg, '(a,3(i0,1x),a)') '&domain: grid nx ny nz = ', cfg%nx, cfg%ny, cfg%nz, &
        'is too small (nx, ny >= 2, nz >= 1)'; return
    end if
    if (mod(cfg%nx, 2) /= 0) then
      write(msg, '(a,i0,a)') '&domain: nx = ', cfg%nx, ' must be even'; return
    end if
    if (mod(cfg%nz, nranks) /= 0) then
      write(msg, '(a,i0,a,i0,a)') '&domain: nz = ', cfg%nz, ' is not divisible by the ', &
        nranks, ' MPI ranks (slab decomposition in z)'; return
    end if
    if (mod(cfg%ny, nranks) /= 0) then
      write(msg, '(a,i0,a,i0,a)') '&domain: ny = ', cfg%ny, ' is not divisible by the ', &
        nranks, ' MPI ranks (transposed FFT in y)'; return
    end if
    if (.not. (cfg%lx > 0 .and. cfg%ly > 0 .and. cfg%lz > 0)) then
      msg = '&domain: box lengths lx, ly, lz must be positive'; return
    end if
    if (.not. (cfg%nu >= 0)) then
      write(msg, '(a,es12.4,a)') '&physics: nu = ', cfg%nu, ' must be non-negative'; return
    end if
    select case (trim(cfg%initial))
    case ('tgv3d', 'tg2d', 'isotropic')
    case default
      msg = '&physics: unknown initial condition initial = '''//trim(cfg%initial)// &
            ''' (known: tgv3d, tg2d, isotropic)'; return
    end select
    if (.not. (cfg%u0 > 0)) then
      msg = '&physics: u0 must be positive'; return
    end if
    if (.not. (cfg%k_peak > 0)) then
      msg = '&physics: k_peak must be positive'; return
    end if
    if (.not. (cfg%t_end >= 0)) then
      msg = '&time: t_end must be non-negative'; return
    end if
    if (cfg%max_steps < 0) then
      msg = '&time: max_steps must be non-negative'; return
    end if
    if (.not. (cfg%dt >= 0)) then
      msg = '&time: dt must be non-negative (0 selects the CFL condition)'; return
    end if
    if (cfg%dt == 0 .and. .not. (cfg%cfl > 0 .and. cfg%cfl <= 1.7_rp)) then
      write(msg, '(a,es12.4,a)') '&time: cfl = ', cfg%cfl, &
        ' must be in (0, 1.7] (RK3 stability limit is sqrt(3))'; return
    end if
    select case (trim(cfg%fft_planner))
    case ('estimate', 'measure')
    case default
      msg = '&time: unknown fft_planner '''//trim(cfg%fft_planner)//''' (known: estimate, measure)'
      return
    end select
    if (.not. (cfg%cs >= 0)) then
      msg = '&sgs: cs must be non-negative'; return
    end if
    if (.not. les_model_known(cfg%model)) then
      msg = '&sgs: unknown SGS model '''//trim(cfg%model)//''' (known: '//les_model_list()//')'
      return
    end if
    if (.not. (cfg%c_wale >= 0 .and. cfg%c_vreman >= 0 .and. cfg%c_gradient >= 0)) then
      msg = '&sgs: c_wale, c_vreman and c_gradient must be non-negative'; return
    end if
    cfg%dynamic_average = lower(cfg%dynamic_average)
    select case (trim(cfg%dynamic_average))
    case ('box', 'local')
    case default
      msg = '&sgs: unknown dynamic_average '''//trim(cfg%dynamic_average)// &
            ''' (known: box, local)'
      return
    end select
    if (len_trim(cfg%model_key) == 0 .or. scan(trim(cfg%model_key), ' ') > 0) then
      msg = '&sgs: model_key must be a non-empty key without spaces'; return
    end if
    if (cfg%timeout_ms < 1) then
      msg = '&sgs: timeout_ms must be >= 1'; return
    end if
    if (cfg%version_every < 1 .or. cfg%retry_every < 1) then
      msg = '&sgs: version_every and retry_every must be >= 1 step'; return
    end if
    if (cfg%infer_every < 0) then
      msg = '&sgs: infer_every must be >= 0 (0: every RK stage)'; return
    end if
    if (cfg%diag_every < 1) then
      msg = '&output: diag_every must be >= 1'; return
    end if
    if (cfg%checkpoint_every < 0) then
      msg = '&output: checkpoint_every must be >= 0'; return
    end if
    cfg%fields = lower(cfg%fields); cfg%policy = lower(cfg%policy)
    cfg%handover = lower(cfg%handover)
    if (cfg%snapshot_every < 0 .or. cfg%sgs_every < 0 .or. cfg%sgs_samples < 0) then
      msg = '&staging: snapshot_every, sgs_every and sgs_samples must be >= 0'; return
    end if
    if (cfg%sgs_width < 1) then
      msg = '&staging: sgs_width must be at least 1 cell'; return
    end if
    if (.not. (cfg%queue_mb > 0) .or. .not. (cfg%flush_timeout >= 0)) then
      msg = '&staging: queue_mb must be positive and flush_timeout >= 0'; return
    end if
    select case (trim(cfg%fields))
    case ('uvw', 'uvwp')
    case default
      msg = '&staging: unknown fields '''//trim(cfg%fields)//''' (known: uvw, uvwp)'; return
    end select
    select case (trim(cfg%policy))
    case ('block', 'drop_oldest')
    case default
      msg = '&staging: unknown policy '''//trim(cfg%policy)//''' (known: block, drop_oldest)'
      return
    end select
    select case (trim(cfg%handover))
    case ('deferred', 'copy')
    case default
      msg = '&staging: unknown handover '''//trim(cfg%handover)//''' (known: deferred, copy)'
      return
    end select
    if (scan(trim(cfg%prefix), ' {}') > 0) then
      msg = '&staging: prefix must not contain spaces or braces'; return
    end if
    ierr = 0; msg = ''
  end subroutine validate_config
end module el_param
