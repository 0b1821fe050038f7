! eddylearn_dataset — the dataset_type of the eddylearn native client, in the shape of
! SmartRedis's dataset_type: tensors (real(4), real(8), integer(1/2/4/8), any rank, Fortran
! order: sent row-major with the Fortran dims) and metadata (scalars and strings). Every function
! returns a status (SRNoError on success); get_last_error() gives the message of the last error.
!
! Tensor arguments are assumed-rank (dimension(..)) and contiguous: one specific procedure per
! element type serves every rank (a non-contiguous section is copied in and out by the
! compiler). The C library gets the address (c_loc) and the shape, nothing compiler-specific.
module eddylearn_dataset
  use iso_c_binding
  use eddylearn_client_c
  implicit none
  private

  public :: dataset_type, check_dims
  public :: SRNoError, SRBadAllocError, SRDatabaseError, SRInternalError, SRRuntimeError, &
            SRParameterError, SRTimeoutError, SRKeyError, SRInvalidError, SRTypeError
  public :: get_last_error

  type :: dataset_type
    !> Handle of the C dataset (elc_dataset*); c_null_ptr before initialize.
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: initialize => ds_initialize
    procedure :: destroy => ds_destroy
    procedure :: release => ds_release
    procedure :: get_name => ds_get_name
    procedure :: nbytes => ds_nbytes
    procedure, private :: ds_add_meta_r8, ds_add_meta_r4, ds_add_meta_i4, ds_add_meta_i8
    generic :: add_meta_scalar => ds_add_meta_r8, ds_add_meta_r4, ds_add_meta_i4, ds_add_meta_i8
    procedure :: add_meta_string => ds_add_meta_string
    procedure, private :: ds_get_meta_r8, ds_get_meta_r4, ds_get_meta_i4, ds_get_meta_i8
    generic :: get_meta_scalars => ds_get_meta_r8, ds_get_meta_r4, ds_get_meta_i4, ds_get_meta_i8
    procedure :: get_meta_string_count => ds_get_meta_string_count
    procedure :: get_meta_string => ds_get_meta_string
    procedure, private :: ds_add_r8, ds_add_r4, ds_add_i1, ds_add_i2, ds_add_i4, ds_add_i8
    generic :: add_tensor => ds_add_r8, ds_add_r4, ds_add_i1, ds_add_i2, ds_add_i4, ds_add_i8
    procedure, private :: ds_unpack_r8, ds_unpack_r4, ds_unpack_i1, ds_unpack_i2, &
                          ds_unpack_i4, ds_unpack_i8
    generic :: unpack_dataset_tensor => ds_unpack_r8, ds_unpack_r4, ds_unpack_i1, &
                                        ds_unpack_i2, ds_unpack_i4, ds_unpack_i8
  end type

contains

  !> Create an empty dataset called name (any previous one held by self is destroyed).
  function ds_initialize(self, name) result(code)
    class(dataset_type), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer :: code
    call self%destroy()
    code = int(elc_dataset_create(self%ptr, c_str(name)))
  end function

  !> Free the C dataset (no-op when not initialised).
  subroutine ds_destroy(self)
    class(dataset_type), intent(inout) :: self
    if (c_associated(self%ptr)) call elc_dataset_destroy(self%ptr)
    self%ptr = c_null_ptr
  end subroutine

  !> Hand the C handle over (e.g. to the stager, which then owns it); self becomes empty.
  function ds_release(self) result(p)
    class(dataset_type), intent(inout) :: self
    type(c_ptr) :: p
    p = self%ptr
    self%ptr = c_null_ptr
  end function

  !> The dataset name ('' when not initialised).
  function ds_get_name(self) result(name)
    class(dataset_type), intent(in) :: self
    character(len=:), allocatable :: name
    name = ''
    if (c_associated(self%ptr)) name = f_str(elc_dataset_name(self%ptr))
  end function

  !> Bytes of tensor data held.
  function ds_nbytes(self) result(n)
    class(dataset_type), intent(in) :: self
    integer(c_int64_t) :: n
    n = 0
    if (c_associated(self%ptr)) n = int(elc_dataset_nbytes(self%ptr), c_int64_t)
  end function

  function ds_check(self) result(code)
    class(dataset_type), intent(in) :: self
    integer :: code
    code = SRNoError
    if (.not. c_associated(self%ptr)) code = set_error(SRParameterError, &
        'the dataset is not initialised (call dataset%initialize(name) first)')
  end function

  !> Check optional SmartRedis-style dims against the array shape.
  function check_dims(shp, dims) result(code)
    integer(c_size_t), dimension(:), intent(in) :: shp
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = SRNoError
    if (.not. present(dims)) return
    if (size(dims) /= size(shp)) then
      code = set_error(SRParameterError, 'dims has another rank than the array')
    else if (any(int(dims, c_size_t) /= shp)) then
      code = set_error(SRParameterError, 'dims does not match the shape of the array')
    end if
  end function

  !> Add (put) or unpack a tensor given by address, shape and dtype.
  function ds_tensor(self, put, name, data, shp, dtype, dims) result(code)
    class(dataset_type), intent(in) :: self
    logical, intent(in) :: put
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: data
    integer(c_size_t), dimension(:), intent(in) :: shp
    integer(c_int), intent(in) :: dtype
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_check(self)
    if (code == SRNoError) code = check_dims(shp, dims)
    if (code /= SRNoError) return
    if (put) then
      code = int(elc_dataset_add_tensor(self%ptr, c_str(name), data, shp, &
                 size(shp, kind=c_size_t), dtype, ELC_LAYOUT_FORTRAN))
    else
      code = int(elc_dataset_unpack_tensor(self%ptr, c_str(name), data, shp, &
                 size(shp, kind=c_size_t), dtype, ELC_LAYOUT_FORTRAN))
    end if
  end function

  ! one specific per element type; every rank goes through the same one
  function ds_add_r8(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_double), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_DOUBLE, dims)
  end function
  function ds_add_r4(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_float), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_FLOAT, dims)
  end function
  function ds_add_i1(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int8_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT8, dims)
  end function
  function ds_add_i2(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int16_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT16, dims)
  end function
  function ds_add_i4(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT32, dims)
  end function
  function ds_add_i8(self, name, data, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int64_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .true., name, c_loc(data), shape(data, c_size_t), ELC_INT64, dims)
  end function

  function ds_unpack_r8(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_double), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_DOUBLE, dims)
  end function
  function ds_unpack_r4(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_float), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_FLOAT, dims)
  end function
  function ds_unpack_i1(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int8_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT8, dims)
  end function
  function ds_unpack_i2(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int16_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT16, dims)
  end function
  function ds_unpack_i4(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT32, dims)
  end function
  function ds_unpack_i8(self, name, result, dims) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int64_t), dimension(..), contiguous, target, intent(inout) :: result
    integer, dimension(:), optional, intent(in) :: dims
    integer :: code
    code = ds_tensor(self, .false., name, c_loc(result), shape(result, c_size_t), ELC_INT64, dims)
  end function

  !> Append one value (at address value, of metadata type mtype) to a scalar field.
  function ds_add_meta(self, name, value, mtype) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: value
    integer(c_int), intent(in) :: mtype
    integer :: code
    code = ds_check(self)
    if (code == SRNoError) code = int(elc_dataset_add_meta_scalar(self%ptr, c_str(name), value, &
                                                                  mtype))
  end function

  function ds_add_meta_r8(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_double), target, intent(in) :: meta
    integer :: code
    code = ds_add_meta(self, name, c_loc(meta), ELC_META_DOUBLE)
  end function
  function ds_add_meta_r4(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_float), target, intent(in) :: meta
    integer :: code
    code = ds_add_meta(self, name, c_loc(meta), ELC_META_FLOAT)
  end function
  function ds_add_meta_i4(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), target, intent(in) :: meta
    integer :: code
    code = ds_add_meta(self, name, c_loc(meta), ELC_META_INT32)
  end function
  function ds_add_meta_i8(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int64_t), target, intent(in) :: meta
    integer :: code
    code = ds_add_meta(self, name, c_loc(meta), ELC_META_INT64)
  end function

  !> Borrow the values of a scalar field that must hold metadata type mtype.
  function ds_meta_values(self, name, mtype, values, n) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int), intent(in) :: mtype
    type(c_ptr), intent(out) :: values
    integer(c_size_t), intent(out) :: n
    integer :: code
    integer(c_int) :: t
    values = c_null_ptr
    n = 0
    code = ds_check(self)
    if (code /= SRNoError) return
    code = int(elc_dataset_get_meta_scalars(self%ptr, c_str(name), values, n, t))
    if (code == SRNoError .and. t /= mtype) &
      code = set_error(SRTypeError, 'The metadata field '//trim(name)//' holds another type')
  end function

  !> All values of the scalar field name (SRTypeError when the field has another type).
  function ds_get_meta_r8(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_double), dimension(:), allocatable, intent(out) :: meta
    integer :: code
    type(c_ptr) :: vp
    integer(c_size_t) :: n
    real(c_double), pointer :: p(:)
    code = ds_meta_values(self, name, ELC_META_DOUBLE, vp, n)
    if (code /= SRNoError) return
    call c_f_pointer(vp, p, [n])
    meta = p
  end function
  function ds_get_meta_r4(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(c_float), dimension(:), allocatable, intent(out) :: meta
    integer :: code
    type(c_ptr) :: vp
    integer(c_size_t) :: n
    real(c_float), pointer :: p(:)
    code = ds_meta_values(self, name, ELC_META_FLOAT, vp, n)
    if (code /= SRNoError) return
    call c_f_pointer(vp, p, [n])
    meta = p
  end function
  function ds_get_meta_i4(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), dimension(:), allocatable, intent(out) :: meta
    integer :: code
    type(c_ptr) :: vp
    integer(c_size_t) :: n
    integer(c_int32_t), pointer :: p(:)
    code = ds_meta_values(self, name, ELC_META_INT32, vp, n)
    if (code /= SRNoError) return
    call c_f_pointer(vp, p, [n])
    meta = p
  end function
  function ds_get_meta_i8(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(c_int64_t), dimension(:), allocatable, intent(out) :: meta
    integer :: code
    type(c_ptr) :: vp
    integer(c_size_t) :: n
    integer(c_int64_t), pointer :: p(:)
    code = ds_meta_values(self, name, ELC_META_INT64, vp, n)
    if (code /= SRNoError) return
    call c_f_pointer(vp, p, [n])
    meta = p
  end function

  !> Append a string to the string metadata field name.
  function ds_add_meta_string(self, name, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name, meta
    integer :: code
    code = ds_check(self)
    if (code /= SRNoError) return
    code = int(elc_dataset_add_meta_string(self%ptr, c_str(name), meta, int(len(meta), c_size_t)))
  end function

  !> Number of strings in the string field name.
  function ds_get_meta_string_count(self, name, count) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(out) :: count
    integer :: code
    integer(c_size_t) :: n
    count = 0
    code = ds_check(self)
    if (code /= SRNoError) return
    code = int(elc_dataset_get_meta_string_count(self%ptr, c_str(name), n))
    if (code == SRNoError) count = int(n)
  end function

  !> The index-th (1-based) string of field name, as an allocatable string.
  function ds_get_meta_string(self, name, index, meta) result(code)
    class(dataset_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: index
    character(len=:), allocatable, intent(out) :: meta
    integer :: code
    character(len=1) :: probe
    integer(c_int) :: n, m
    meta = ''
    code = ds_check(self)
    if (code /= SRNoError) return
    code = int(elc_f_get_meta_string(self%ptr, c_str(name), int(index - 1, c_int), probe, 0_c_int, n))
    if (code /= SRNoError) return
    deallocate(meta)
    allocate(character(len=n) :: meta)
    if (n > 0) code = int(elc_f_get_meta_string(self%ptr, c_str(name), int(index - 1, c_int), meta, &
                                                n, m))
  end function

end module eddylearn_dataset
