! fortran_c_interop — kinds and string helpers shared by the smartredis_* modules: enum_kind (the
! integer kind of SmartRedis's enums and status codes), C_MAX_STRING, Fortran strings from C
! buffers, and arrays of Fortran strings handed to C as (pointers, lengths, count).
module fortran_c_interop
  use iso_c_binding
  implicit none
  private

  !> Kind of the status codes and enumerations (a C enum is a C int).
  integer, parameter, public :: enum_kind = c_int
  !> Longest name accepted in a string array (the limit of SmartRedis's Fortran API).
  integer, parameter, public :: C_MAX_STRING = 255

  !> The strings of a Fortran character array, trailing blanks removed, packed one after the
  !> other; ptrs(i) points at the i-th string (c_null_ptr when empty) and lens(i) is its length.
  type, public :: c_string_array
    character(kind=c_char), allocatable :: buf(:)
    type(c_ptr), allocatable :: ptrs(:)
    integer(c_size_t), allocatable :: lens(:)
  end type

  public :: to_c_strings, strings_ptr, lengths_ptr, fstring

contains

  !> Pack strings into a (a variable with the target attribute). Returns .false. when a name is
  !> longer than C_MAX_STRING.
  function to_c_strings(strings, a) result(ok)
    character(len=*), dimension(:), intent(in) :: strings
    type(c_string_array), target, intent(out) :: a
    logical :: ok
    integer :: i, k, n, off
    n = size(strings)
    allocate(a%ptrs(max(n, 1)), a%lens(max(n, 1)))
    a%ptrs = c_null_ptr
    a%lens = 0
    ok = .true.
    do i = 1, n
      a%lens(i) = len_trim(strings(i), kind=c_size_t)
      if (a%lens(i) > C_MAX_STRING) ok = .false.
    end do
    allocate(a%buf(max(1_c_size_t, sum(a%lens))))
    off = 0
    do i = 1, n
      do k = 1, int(a%lens(i))
        a%buf(off + k) = strings(i)(k:k)
      end do
      if (a%lens(i) > 0) a%ptrs(i) = c_loc(a%buf(off + 1))
      off = off + int(a%lens(i))
    end do
  end function

  type(c_ptr) function strings_ptr(a)
    type(c_string_array), target, intent(in) :: a
    strings_ptr = c_loc(a%ptrs)
  end function

  type(c_ptr) function lengths_ptr(a)
    type(c_string_array), target, intent(in) :: a
    lengths_ptr = c_loc(a%lens)
  end function

  !> A Fortran copy of n characters at p ('' for a null pointer).
  function fstring(p, n) result(s)
    type(c_ptr), intent(in) :: p
    integer(c_size_t), intent(in) :: n
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: v(:)
    integer(c_size_t) :: i
    if (.not. c_associated(p) .or. n <= 0) then
      s = ''
      return
    end if
    call c_f_pointer(p, v, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
      s(i:i) = v(i)
    end do
  end function

end module fortran_c_interop
