! eddylearn_client_c — status constants, dtype codes and the bind(c) interfaces of the C
! library (client/include/eddylearn_client.h). Users normally use eddylearn_client,
! eddylearn_dataset and eddylearn_stager, which re-export the constants.
module eddylearn_client_c
  use iso_c_binding
  implicit none
  private

  ! status codes: the values of SmartRedis's SRError enum
  integer, parameter, public :: SRNoError = 0, SRBadAllocError = 1, SRDatabaseError = 2, &
       SRInternalError = 3, SRRuntimeError = 4, SRParameterError = 5, SRTimeoutError = 6, &
       SRKeyError = 7, SRInvalidError = 8, SRTypeError = 9

  integer(c_int), parameter, public :: ELC_DOUBLE = 1, ELC_FLOAT = 2, ELC_INT8 = 3, &
       ELC_INT16 = 4, ELC_INT32 = 5, ELC_INT64 = 6
  integer(c_int), parameter, public :: ELC_LAYOUT_C = 0, ELC_LAYOUT_FORTRAN = 1
  integer(c_int), parameter, public :: ELC_META_DOUBLE = 1, ELC_META_FLOAT = 2, &
       ELC_META_INT32 = 3, ELC_META_INT64 = 4, ELC_META_STRING = 7
  integer(c_int), parameter, public :: ELC_POLICY_BLOCK = 0, ELC_POLICY_DROP_OLDEST = 1

  public :: c_str, get_last_error, set_error

  interface
    subroutine elc_f_last_error(buf, buflen) bind(c, name='elc_f_last_error')
      import :: c_char, c_int
      character(kind=c_char), dimension(*) :: buf
      integer(c_int), value :: buflen
    end subroutine
    function elc_f_set_error(code, msg) bind(c, name='elc_f_set_error') result(r)
      import :: c_char, c_int
      integer(c_int), value :: code
      character(kind=c_char), dimension(*), intent(in) :: msg
      integer(c_int) :: r
    end function
    function elc_last_error_len(buf, buflen) bind(c, name='elc_last_error_copy') result(n)
      import :: c_char, c_size_t
      character(kind=c_char), dimension(*) :: buf
      integer(c_size_t), value :: buflen
      integer(c_size_t) :: n
    end function
  end interface

contains

  !> A NUL-terminated copy of a Fortran string (trailing blanks removed).
  pure function c_str(s) result(r)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: r
    r = trim(s) // c_null_char
  end function

  !> The message of the last error raised by the library in this thread.
  function get_last_error() result(msg)
    character(len=:), allocatable :: msg
    character(kind=c_char) :: buf(1)
    integer(c_size_t) :: n
    n = elc_last_error_len(buf, 0_c_size_t)
    allocate(character(len=int(n)) :: msg)
    if (n > 0) call elc_f_last_error(msg, int(n, c_int))
  end function

  !> Record an error detected on the Fortran side; returns code.
  function set_error(code, msg) result(r)
    integer, intent(in) :: code
    character(len=*), intent(in) :: msg
    integer :: r
    r = int(elc_f_set_error(int(code, c_int), c_str(msg)))
  end function

end module eddylearn_client_c
