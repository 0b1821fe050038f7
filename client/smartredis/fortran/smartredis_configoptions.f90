! smartredis_configoptions — configoptions_type: the options a client is built from
! (client%initialize(cfgopts)), read from the environment (SSDB, SR_DB_TYPE, ... with an
! optional suffix) and overridable one by one.
module smartredis_configoptions
  use iso_c_binding
  use fortran_c_interop, only: enum_kind, fstring
  use smartredis_c, only: create_configoptions_from_environment_c => &
                          create_configoptions_from_environment, &
                          get_integer_option_c => get_integer_option, &
                          get_string_option_c => get_string_option, &
                          is_configured_c => is_configured, &
                          override_integer_option_c => override_integer_option, &
                          override_string_option_c => override_string_option
  implicit none
  private

  include 'enum_fortran.inc'

  public :: enum_kind

  type, public :: configoptions_type
    type(c_ptr) :: configoptions_ptr = c_null_ptr
  contains
    procedure :: get_c_pointer => co_get_c_pointer
    procedure :: create_configoptions_from_environment => co_from_environment
    procedure :: get_integer_option => co_get_integer_option
    procedure :: get_string_option => co_get_string_option
    procedure, private :: co_is_configured
    procedure, private :: co_is_configured_c_bool
    !> result may be a default logical (SmartRedis's declaration) or logical(c_bool) (what
    !! SmartRedis's own test programs pass)
    generic :: is_configured => co_is_configured, co_is_configured_c_bool
    procedure :: override_integer_option => co_override_integer_option
    procedure :: override_string_option => co_override_string_option
  end type

contains

  type(c_ptr) function co_get_c_pointer(self)
    class(configoptions_type), intent(in) :: self
    co_get_c_pointer = self%configoptions_ptr
  end function

  !> Options from the environment; db_suffix: '' for SSDB, ..., else SSDB_<db_suffix>, ...
  function co_from_environment(self, db_suffix) result(code)
    class(configoptions_type), intent(inout) :: self
    character(len=*), intent(in) :: db_suffix
    integer(kind=enum_kind) :: code
    code = create_configoptions_from_environment_c(db_suffix, len_trim(db_suffix, kind=c_size_t), &
                                                   self%configoptions_ptr)
  end function

  function co_get_integer_option(self, option_name, result) result(code)
    class(configoptions_type), intent(in) :: self
    character(len=*), intent(in) :: option_name
    integer(kind=c_int64_t), intent(inout) :: result
    integer(kind=enum_kind) :: code
    code = get_integer_option_c(self%configoptions_ptr, option_name, &
                                len_trim(option_name, kind=c_size_t), result)
  end function

  function co_get_string_option(self, option_name, result) result(code)
    class(configoptions_type), intent(in) :: self
    character(len=*), intent(in) :: option_name
    character(len=:), allocatable, intent(out) :: result
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    code = get_string_option_c(self%configoptions_ptr, option_name, &
                               len_trim(option_name, kind=c_size_t), p, n)
    if (code == SRNoError) result = fstring(p, n)
  end function

  function co_is_configured(self, option_name, result) result(code)
    class(configoptions_type), intent(in) :: self
    character(len=*), intent(in) :: option_name
    logical, intent(inout) :: result
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = is_configured_c(self%configoptions_ptr, option_name, &
                           len_trim(option_name, kind=c_size_t), b)
    result = b
  end function

  function co_is_configured_c_bool(self, option_name, result) result(code)
    class(configoptions_type), intent(in) :: self
    character(len=*), intent(in) :: option_name
    logical(c_bool), intent(inout) :: result
    integer(kind=enum_kind) :: code
    result = .false.
    code = is_configured_c(self%configoptions_ptr, option_name, &
                           len_trim(option_name, kind=c_size_t), result)
  end function

  function co_override_integer_option(self, option_name, value) result(code)
    class(configoptions_type), intent(in) :: self
    character(len=*), intent(in) :: option_name
    integer(kind=c_int64_t), intent(in) :: value
    integer(kind=enum_kind) :: code
    code = override_integer_option_c(self%configoptions_ptr, option_name, &
                                     len_trim(option_name, kind=c_size_t), value)
  end function

  function co_override_string_option(self, option_name, value) result(code)
    class(configoptions_type), intent(in) :: self
    character(len=*), intent(in) :: option_name, value
    integer(kind=enum_kind) :: code
    code = override_string_option_c(self%configoptions_ptr, option_name, &
                                    len_trim(option_name, kind=c_size_t), value, &
                                    len_trim(value, kind=c_size_t))
  end function

end module smartredis_configoptions
