! eddylearn-infer-bench — latency of one model inference from Fortran through the native client
! (for `eddylearn bench inference`): the round trip the solver's learned SGS model makes every
! RK stage (put the (ROWS, 9) features, run MODEL, get the (ROWS, 6) output; elc_infer).
! usage: eddylearn-infer-bench MODEL ROWS COUNT [NOUT [MODE [CLIENTS [DTYPE]]]]
! MODE pipelined (default): one round trip per call (elc_infer's one command), as the solver
! makes it;
! sequential: put_tensor, run_model, unpack_tensor of the SmartRedis-style Fortran client, three
! round trips (the baseline of what the pipelining saves).
! CLIENTS (pipelined only, default 1): that many connections, each with its own keys, act as as
! many solver ranks in step: a call starts one request on every connection, then waits for all
! of them (the ranks' requests of one RK stage; `eddylearn bench database`, batching).
! DTYPE (pipelined only): DOUBLE (default) or FLOAT, the type the features are sent in
! (elc_infer_set_input_dtype; the solver sends FLOAT when the model's metadata says so).
! After 3 warm-up calls, prints one line (times of one call, all its requests):
!   infer_bench rows=<R> count=<N> clients=<C> mean_s=<mean> min_s=<min> p50_s=<median> max_s=<max>
! Connection from SSDB / SR_DB_TYPE. Exit status 1 with a message on error.
program infer_bench
  use, intrinsic :: iso_c_binding
  use iso_fortran_env, only: int64, real64, error_unit, output_unit
  use eddylearn_client, only: client_type, SRNoError, get_last_error
  use eddylearn_infer, only: elc_infer_meta, elc_infer_create, elc_infer_start, &
                             elc_infer_finish, elc_infer_destroy, ELC_LAYOUT_FORTRAN, &
                             elc_infer_set_input_dtype, ELC_DOUBLE, ELC_FLOAT
  implicit none

  integer(c_int), parameter :: ELC_OK = 0

  type(c_ptr), allocatable :: f(:)
  type(elc_infer_meta) :: meta
  character(len=256) :: arg, model
  character(kind=c_char, len=:), allocatable, target :: cmodel
  real(c_double), allocatable, target :: x(:,:), y(:,:)
  real(real64), allocatable :: lat(:)
  integer(int64) :: rows, n, i, t0, t1, rate
  integer :: code, nout, clients, k
  integer(c_int) :: dtype
  logical :: sequential
  character(len=32) :: base
  type(client_type) :: client

  if (command_argument_count() < 3) then
    write(error_unit, '(a)') 'usage: eddylearn-infer-bench MODEL ROWS COUNT [NOUT [MODE [CLIENTS [DTYPE]]]]'
    call exit(2)
  end if
  call get_command_argument(1, model)
  call get_command_argument(2, arg)
  read(arg, *, iostat=code) rows
  if (code /= 0 .or. rows < 1) call fail('ROWS must be a positive integer, got '//trim(arg))
  call get_command_argument(3, arg)
  read(arg, *, iostat=code) n
  if (code /= 0 .or. n < 1) call fail('COUNT must be a positive integer, got '//trim(arg))
  nout = 6
  if (command_argument_count() >= 4) then
    call get_command_argument(4, arg)
    read(arg, *, iostat=code) nout
    if (code /= 0 .or. nout < 1) call fail('NOUT must be a positive integer, got '//trim(arg))
  end if
  sequential = .false.
  if (command_argument_count() >= 5) then
    call get_command_argument(5, arg)
    select case (trim(arg))
    case ('pipelined')
    case ('sequential')
      sequential = .true.
    case default
      call fail('MODE must be pipelined or sequential, got '//trim(arg))
    end select
  end if
  clients = 1
  if (command_argument_count() >= 6) then
    call get_command_argument(6, arg)
    read(arg, *, iostat=code) clients
    if (code /= 0 .or. clients < 1) call fail('CLIENTS must be a positive integer, got '//trim(arg))
    if (sequential .and. clients > 1) call fail('CLIENTS > 1 needs MODE pipelined')
  end if
  dtype = ELC_DOUBLE
  if (command_argument_count() >= 7) then
    call get_command_argument(7, arg)
    select case (trim(arg))
    case ('DOUBLE')
    case ('FLOAT')
      dtype = ELC_FLOAT
    case default
      call fail('DTYPE must be DOUBLE or FLOAT, got '//trim(arg))
    end select
    if (sequential .and. dtype /= ELC_DOUBLE) call fail('DTYPE FLOAT needs MODE pipelined')
  end if
  cmodel = trim(model)//c_null_char
  allocate(x(rows, 9), y(rows, nout), lat(n))
  call random_number(x)
  x = x - 0.5_real64
  if (sequential) then
    code = client%initialize()
    if (code /= SRNoError) call fail(get_last_error())
  else
    allocate(f(clients))
    do k = 1, clients
      base = 'infer_bench'
      if (clients > 1) write(base, '(a,i0)') 'infer_bench', k
      code = elc_infer_create(f(k), c_null_ptr, trim(base)//c_null_char, 0_c_int, 60000_c_int)
      if (code == ELC_OK) code = elc_infer_set_input_dtype(f(k), dtype)
      if (code /= ELC_OK) call fail(get_last_error())
    end do
  end if
  call system_clock(count_rate=rate)
  do i = 1, n + 3
    call system_clock(t0)
    if (sequential) then
      code = client%put_tensor('infer_bench.in', x, shape(x))
      if (code == SRNoError) code = client%run_model(trim(model), ['infer_bench.in '], &
                                                     ['infer_bench.out'])
      if (code == SRNoError) code = client%unpack_tensor('infer_bench.out', y, shape(y))
      if (code /= SRNoError) call fail(get_last_error())
    else
      do k = 1, clients
        code = elc_infer_start(f(k), c_loc(cmodel), c_null_ptr, c_loc(x), int(rows, c_size_t), &
                               9_c_size_t, ELC_LAYOUT_FORTRAN)
        if (code /= ELC_OK) call fail(get_last_error())
      end do
      do k = 1, clients
        code = elc_infer_finish(f(k), c_loc(y), int(rows, c_size_t), int(nout, c_size_t), &
                                ELC_LAYOUT_FORTRAN, meta)
        if (code /= ELC_OK) call fail(get_last_error())
      end do
    end if
    call system_clock(t1)
    if (i > 3) lat(i - 3) = real(t1 - t0, real64)/real(rate, real64)
  end do
  if (sequential) then
    call client%destroy()
  else
    do k = 1, clients
      call elc_infer_destroy(f(k))
    end do
  end if
  call sort(lat)
  write(output_unit, '(a,i0,a,i0,a,i0,4(a,es12.5))') 'infer_bench rows=', rows, ' count=', n, &
    ' clients=', clients, ' mean_s=', sum(lat)/n, ' min_s=', lat(1), ' p50_s=', lat((n + 1)/2), ' max_s=', lat(n)

contains

  subroutine sort(a)
    real(real64), intent(inout) :: a(:)
    integer :: p, q
    real(real64) :: t
    do p = 2, size(a)
      t = a(p)
      q = p - 1
      do while (q >= 1)
        if (a(q) <= t) exit
        a(q + 1) = a(q)
        q = q - 1
      end do
      a(q + 1) = t
    end do
  end subroutine

  subroutine fail(msg)
    character(len=*), intent(in) :: msg
    write(error_unit, '(a)') 'eddylearn-infer-bench: '//trim(msg)
    call exit(1)
  end subroutine
end program infer_bench
