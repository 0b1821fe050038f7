! STREAM-triad style memory bandwidth probe: a = b + s*c over arrays far larger than the caches.
! Prints the best of ntimes repetitions in GB/s (24 bytes moved per element, as STREAM counts).
program eddylearn_stream
  use, intrinsic :: iso_fortran_env, only: real64, int64
  implicit none
  integer(int64), parameter :: n = 40000000_int64
  integer, parameter :: ntimes = 10
  real(real64), allocatable :: a(:), b(:), c(:)
  real(real64) :: s, best, t
  integer(int64) :: i, c0, c1, rate
  integer :: r
  allocate(a(n), b(n), c(n))
  do i = 1, n
    a(i) = 1; b(i) = 2; c(i) = 0.5_real64
  end do
  s = 3
  best = huge(1.0_real64)
  do r = 1, ntimes
    call system_clock(c0, rate)
    do i = 1, n
      a(i) = b(i) + s*c(i)
    end do
    call system_clock(c1)
    t = real(c1 - c0, real64)/rate
    best = min(best, t)
    if (a(n/2) < 0) print *, 'impossible'
  end do
  write(*, '(a,f10.3)') 'triad_gbs ', 24.0_real64*n/best/1e9_real64
end program eddylearn_stream
