! smartredis_dataset — dataset_type of SmartRedis's Fortran API: tensors and metadata kept
! together and stored as one dataset (client%put_dataset). Same type-bound procedures, generic
! names and argument names as SmartRedis 0.6.1; every function returns an SRError code.
!
! Tensor arguments are assumed-rank and contiguous: one specific per element type serves every
! rank (a non-contiguous section is copied in and out by the compiler). dims gives the
! dimensions sent (Fortran order); it may not describe more elements than the array holds.
module smartredis_dataset
  use iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use fortran_c_interop, only: enum_kind, fstring
  use eddylearn_client_c, only: set_error, c_strlen
  use smartredis_c, only: CDataSet, add_tensor_c => add_tensor, &
                          unpack_dataset_tensor_c => unpack_dataset_tensor, &
                          add_meta_scalar_c => add_meta_scalar, &
                          add_meta_string_c => add_meta_string, &
                          get_meta_scalars_c => get_meta_scalars, &
                          get_tensor_type_c => get_tensor_type, &
                          get_tensor_dims_c => get_tensor_dims, &
                          get_metadata_field_type_c => get_metadata_field_type, &
                          dataset_to_string
  implicit none
  private

  include 'enum_fortran.inc'

  public :: enum_kind, tensor_args

  type, public :: dataset_type
    type(c_ptr) :: dataset_ptr = c_null_ptr
  contains
    procedure :: initialize => initialize_dataset
    procedure :: get_c_pointer
    procedure :: add_meta_string => ds_add_meta_string
    generic :: add_meta_scalar => add_meta_scalar_double, add_meta_scalar_float, &
        add_meta_scalar_i32, add_meta_scalar_i64
    generic :: get_meta_scalars => get_meta_scalars_double, get_meta_scalars_float, &
        get_meta_scalars_i32, get_meta_scalars_i64
    procedure :: get_metadata_field_type => ds_get_metadata_field_type
    generic :: add_tensor => add_tensor_i8, add_tensor_i16, add_tensor_i32, add_tensor_i64, &
        add_tensor_float, add_tensor_double
    generic :: unpack_dataset_tensor => unpack_dataset_tensor_i8, unpack_dataset_tensor_i16, &
        unpack_dataset_tensor_i32, &
                                        unpack_dataset_tensor_i64, &
                                            unpack_dataset_tensor_float, &
                                                unpack_dataset_tensor_double
    procedure :: get_tensor_type => ds_get_tensor_type
    procedure :: get_tensor_dims => ds_get_tensor_dims
    procedure :: to_string
    procedure :: print_dataset
    procedure, private :: add_tensor_i8, add_tensor_i16, add_tensor_i32, add_tensor_i64, &
        add_tensor_float, add_tensor_double
    procedure, private :: unpack_dataset_tensor_i8, unpack_dataset_tensor_i16, &
        unpack_dataset_tensor_i32
    procedure, private :: unpack_dataset_tensor_i64, unpack_dataset_tensor_float, &
        unpack_dataset_tensor_double
    procedure, private :: add_meta_scalar_double, add_meta_scalar_float, add_meta_scalar_i32, &
        add_meta_scalar_i64
    procedure, private :: get_meta_scalars_double, get_meta_scalars_float, &
        get_meta_scalars_i32, get_meta_scalars_i64
  end type

contains

  !> Create an empty dataset called name.
  function initialize_dataset(self, name) result(code)
    class(dataset_type), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind) :: code
    code = CDataSet(name, len_trim(name, kind=c_size_t), self%dataset_ptr)
  end function

  type(c_ptr) function get_c_pointer(self)
    class(dataset_type), intent(in) :: self
    get_c_pointer = self%dataset_ptr
  end function

  !> The dims to send: SRParameterError when they describe more elements than the array has.
  function tensor_args(n, dims, cdims) result(code)
    integer(c_size_t), intent(in) :: n
    integer, dimension(:), intent(in) :: dims
    integer(c_size_t), dimension(:), allocatable, intent(out) :: cdims
    integer(kind=enum_kind) :: code
    code = SRNoError
    cdims = int(dims, c_size_t)
    if (any(dims < 0)) then
      code = set_error(SRParameterError, 'dims has a negative dimension')
    else if (product(cdims) > n) then
      code = set_error(SRParameterError, 'dims describes more elements than the array holds')
    end if
  end function

  function ds_tensor(self, put, name, data, n, dims, ttype) result(code)
    class(dataset_type), intent(in) :: self
    logical, intent(in) :: put
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_size_t), intent(in) :: n
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind), intent(in) :: ttype
    integer(kind=enum_kind) :: code
    integer(c_size_t), allocatable :: cdims(:)
    code = tensor_args(n, dims, cdims)
    if (code /= SRNoError) return
    if (put) then
      code = add_tensor_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), data, cdims, &
                          size(cdims, kind=c_size_t), ttype, c_fortran_contiguous)
    else
      code = unpack_dataset_tensor_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), data, &
                                     cdims, size(cdims, kind=c_size_t), ttype, c_fortran_contiguous)
    end if
  end function

  function add_tensor_i8(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int8_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int8)
  end function
  function add_tensor_i16(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int16_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int16)
  end function
  function add_tensor_i32(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int32_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int32)
  end function
  function add_tensor_i64(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int64_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int64)
  end function
  function add_tensor_float(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_float), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_flt)
  end function
  function add_tensor_double(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_double), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_dbl)
  end function

  function unpack_dataset_tensor_i8(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int8_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int8)
  end function
  function unpack_dataset_tensor_i16(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int16_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int16)
  end function
  function unpack_dataset_tensor_i32(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int32_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int32)
  end function
  function unpack_dataset_tensor_i64(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int64_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int64)
  end function
  function unpack_dataset_tensor_float(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_float), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_flt)
  end function
  function unpack_dataset_tensor_double(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_double), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = ds_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_dbl)
  end function

  !> Append a string to the string field name.
  function ds_add_meta_string(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name, meta
    integer(kind=enum_kind) :: code
    code = add_meta_string_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), meta, &
                             len_trim(meta, kind=c_size_t))
  end function

  function add_meta_scalar_double(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_double), target, intent(in) :: meta
    integer(kind=enum_kind) :: code
    code = add_meta_scalar_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), &
        c_loc(meta), meta_dbl)
  end function
  function add_meta_scalar_float(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_float), target, intent(in) :: meta
    integer(kind=enum_kind) :: code
    code = add_meta_scalar_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), &
        c_loc(meta), meta_flt)
  end function
  function add_meta_scalar_i32(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int32_t), target, intent(in) :: meta
    integer(kind=enum_kind) :: code
    code = add_meta_scalar_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), &
        c_loc(meta), meta_int32)
  end function
  function add_meta_scalar_i64(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int64_t), target, intent(in) :: meta
    integer(kind=enum_kind) :: code
    code = add_meta_scalar_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), &
        c_loc(meta), meta_int64)
  end function

  !> The values of scalar field name, which must hold metadata type mtype.
  function ds_meta_values(self, name, mtype, p, n) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind), intent(in) :: mtype
    type(c_ptr), intent(out) :: p
    integer(c_size_t), intent(out) :: n
    integer(kind=enum_kind) :: code
    integer(c_int) :: t
    code = get_meta_scalars_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), n, t, p)
    if (code == SRNoError .and. t /= mtype) code = set_error(SRTypeError, &
        'the metadata field '//trim(name)//' holds another type than the array passed')
  end function

  function get_meta_scalars_double(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_double), dimension(:), pointer :: meta
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    code = ds_meta_values(self, name, meta_dbl, p, n)
    if (code == SRNoError) call c_f_pointer(p, meta, [n])
  end function
  function get_meta_scalars_float(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_float), dimension(:), pointer :: meta
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    code = ds_meta_values(self, name, meta_flt, p, n)
    if (code == SRNoError) call c_f_pointer(p, meta, [n])
  end function
  function get_meta_scalars_i32(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int32_t), dimension(:), pointer :: meta
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    code = ds_meta_values(self, name, meta_int32, p, n)
    if (code == SRNoError) call c_f_pointer(p, meta, [n])
  end function
  function get_meta_scalars_i64(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int64_t), dimension(:), pointer :: meta
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    code = ds_meta_values(self, name, meta_int64, p, n)
    if (code == SRNoError) call c_f_pointer(p, meta, [n])
  end function

  function ds_get_metadata_field_type(self, name, mdtype) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind), intent(out) :: mdtype
    integer(kind=enum_kind) :: code
    code = get_metadata_field_type_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), mdtype)
  end function

  function ds_get_tensor_type(self, name, ttype) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind), intent(out) :: ttype
    integer(kind=enum_kind) :: code
    code = get_tensor_type_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), ttype)
  end function

  !> The dims of tensor name into dims; dims_length gives how many dims can take (at most
  !> size(dims)) and receives the rank. Room for fewer dimensions than the rank: SRBadAllocError
  !> with the rank in dims_length.
  function ds_get_tensor_dims(self, name, dims, dims_length) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, dimension(:), target, intent(inout) :: dims
    integer, intent(inout) :: dims_length
    integer(kind=enum_kind) :: code
    integer(c_size_t), allocatable, target :: buf(:)
    integer(c_size_t) :: n
    if (dims_length < 0 .or. dims_length > size(dims)) then
      code = set_error(SRParameterError, 'dims_length must be between 0 and size(dims)')
      return
    end if
    allocate(buf(max(dims_length, 1)))
    n = dims_length
    code = get_tensor_dims_c(self%dataset_ptr, name, len_trim(name, kind=c_size_t), c_loc(buf), n)
    dims_length = int(n)
    if (code == SRNoError) dims(1:n) = int(buf(1:n))
  end function

  !> A text describing the dataset.
  function to_string(self)
    class(dataset_type), intent(in) :: self
    character(len=:), allocatable :: to_string
    type(c_ptr) :: p
    p = dataset_to_string(self%dataset_ptr)
    to_string = ''
    if (c_associated(p)) to_string = fstring(p, c_strlen(p))
  end function

  subroutine print_dataset(self, unit)
    class(dataset_type), intent(in) :: self
    integer, optional, intent(in) :: unit
    integer :: u
    u = error_unit
    if (present(unit)) u = unit
    write(u, '(a)') self%to_string()
  end subroutine

end module smartredis_dataset
