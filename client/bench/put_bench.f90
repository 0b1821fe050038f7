! eddylearn-put-bench — put throughput of the Fortran client (for `eddylearn bench transport`).
! usage: eddylearn-put-bench BYTES COUNT [KEY]
! Puts COUNT real(8) rank-1 tensors of BYTES bytes (rounded down to 8) under KEY (default
! put_bench, overwritten each time) after 2 warm-up puts, and prints one line:
!   put_bench bytes=<B> count=<N> seconds=<T> MBps=<MB/s, 1 MB = 1e6 bytes>
! Connection from SSDB / SR_DB_TYPE as for every client. Exit status 1 with a message on error.
program put_bench
  use iso_fortran_env, only: int64, real64, error_unit, output_unit
  use eddylearn_client
  implicit none
  type(client_type) :: client
  real(real64), allocatable :: a(:)
  character(len=256) :: arg, key
  integer(int64) :: nbytes, n, i, t0, t1, rate
  integer :: code
  real(real64) :: secs

  if (command_argument_count() < 2) then
    write(error_unit, '(a)') 'usage: eddylearn-put-bench BYTES COUNT [KEY]'
    call exit_with(2)
  end if
  call get_command_argument(1, arg)
  read(arg, *, iostat=code) nbytes
  if (code /= 0 .or. nbytes < 8) call fail('BYTES must be an integer >= 8, got '//trim(arg))
  call get_command_argument(2, arg)
  read(arg, *, iostat=code) n
  if (code /= 0 .or. n < 1) call fail('COUNT must be a positive integer, got '//trim(arg))
  key = 'put_bench'
  if (command_argument_count() >= 3) call get_command_argument(3, key)

  allocate(a(nbytes / 8))
  do i = 1, size(a, kind=int64)
    a(i) = real(i, real64)
  end do
  code = client%initialize()
  if (code /= SRNoError) call fail(get_last_error())
  do i = 1, 2
    code = client%put_tensor(trim(key), a, shape(a))
    if (code /= SRNoError) call fail(get_last_error())
  end do
  call system_clock(t0, rate)
  do i = 1, n
    code = client%put_tensor(trim(key), a, shape(a))
    if (code /= SRNoError) call fail(get_last_error())
  end do
  call system_clock(t1)
  secs = real(t1 - t0, real64) / real(rate, real64)
  if (secs <= 0) secs = 1.0e-9_real64
  write(output_unit, '(a,i0,a,i0,a,es12.5,a,f0.2)') 'put_bench bytes=', 8 * size(a, kind=int64), &
      ' count=', n, ' seconds=', secs, ' MBps=', real(8 * size(a, kind=int64) * n, real64) / secs / 1.0e6_real64
  code = client%delete_tensor(trim(key))
  call client%destroy()

contains

  subroutine fail(msg)
    character(len=*), intent(in) :: msg
    write(error_unit, '(a)') 'eddylearn-put-bench: '//msg
    call exit_with(1)
  end subroutine

  subroutine exit_with(status)
    integer, intent(in) :: status
    stop status  ! the main program may stop; the library never does
  end subroutine

end program put_bench
