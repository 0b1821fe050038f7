! Kinds used throughout the solver: rp is the working real kind, i8 the kind of global counters.
module el_types
  use, intrinsic :: iso_fortran_env, only: real64, int64, int32
  implicit none
  private
  integer, parameter, public :: rp = real64
  integer, parameter, public :: i8 = int64
  integer, parameter, public :: i4 = int32
  real(rp), parameter, public :: pi = acos(-1.0_rp)
  integer, parameter, public :: msg_len = 512
end module el_types
