! smartredis_logcontext — logcontext_type: a named context to log against (smartredis_logger).
module smartredis_logcontext
  use iso_c_binding
  use fortran_c_interop, only: enum_kind
  use smartredis_c, only: SmartRedisCLogContext
  implicit none
  private

  public :: enum_kind

  type, public :: logcontext_type
    type(c_ptr) :: logcontext_ptr = c_null_ptr
  contains
    procedure :: initialize => lc_initialize
    procedure :: get_c_pointer => lc_get_c_pointer
  end type

contains

  !> Create the context called context.
  function lc_initialize(self, context) result(code)
    class(logcontext_type), intent(inout) :: self
    character(len=*), intent(in) :: context
    integer(kind=enum_kind) :: code
    code = SmartRedisCLogContext(context, len_trim(context, kind=c_size_t), self%logcontext_ptr)
  end function

  type(c_ptr) function lc_get_c_pointer(self)
    class(logcontext_type), intent(in) :: self
    lc_get_c_pointer = self%logcontext_ptr
  end function

end module smartredis_logcontext
