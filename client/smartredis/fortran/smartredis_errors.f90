! smartredis_errors — the last error of the calling thread, as in SmartRedis's Fortran API:
! get_last_error() (the message), get_last_error_location() (where it was raised) and
! print_last_error([unit]) (both, to unit or standard error).
module smartredis_errors
  use iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use smartredis_c, only: SRGetLastError, SRGetLastErrorLocation
  use eddylearn_client_c, only: c_strlen
  use fortran_c_interop, only: fstring
  implicit none
  private

  public :: get_last_error, get_last_error_location, print_last_error

contains

  !> Message of the last error raised in this thread ('' when none).
  function get_last_error() result(msg)
    character(len=:), allocatable :: msg
    type(c_ptr) :: p
    p = SRGetLastError()
    msg = ''
    if (c_associated(p)) msg = fstring(p, c_strlen(p))
  end function

  !> Where the last error was raised ('' when none).
  function get_last_error_location() result(loc)
    character(len=:), allocatable :: loc
    type(c_ptr) :: p
    p = SRGetLastErrorLocation()
    loc = ''
    if (c_associated(p)) loc = fstring(p, c_strlen(p))
  end function

  !> Write the last error and its location to unit (default: standard error).
  subroutine print_last_error(unit)
    integer, optional, intent(in) :: unit
    integer :: u
    u = error_unit
    if (present(unit)) u = unit
    write(u, '(a)') get_last_error()
    write(u, '(a)') get_last_error_location()
  end subroutine

end module smartredis_errors
