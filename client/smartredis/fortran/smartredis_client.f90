! smartredis_client — client_type of SmartRedis's Fortran API on eddylearn's client: the same
! type-bound procedures, generic names and argument names as SmartRedis 0.6.1, bound to the
! SmartRedis C API (c_client.h). Every function returns an SRError code (SRNoError on success);
! smartredis_errors gives the message of a failure. Include 'enum_fortran.inc' for the codes.
!
! Tensor arguments are assumed-rank and contiguous: one specific per element type serves every
! rank (a non-contiguous section is copied in and out by the compiler). dims gives the
! dimensions (Fortran order); it may not describe more elements than the array holds.
module smartredis_client
  use iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use fortran_c_interop, only: enum_kind, C_MAX_STRING, c_string_array, to_c_strings, &
                               strings_ptr, lengths_ptr, fstring
  use eddylearn_client_c, only: set_error, c_strlen
  use smartredis_dataset, only: dataset_type, tensor_args
  use smartredis_configoptions, only: configoptions_type
  use smartredis_c, only: SimpleCreateClient, CreateClient, SmartRedisCClient, DeleteCClient, &
                          client_to_string, get_dataset_list_range_allocated, &
                          append_to_list_c => append_to_list, &
                          copy_dataset_c => copy_dataset, &
                          copy_list_c => copy_list, &
                          copy_tensor_c => copy_tensor, &
                          dataset_exists_c => dataset_exists, &
                          delete_dataset_c => delete_dataset, &
                          delete_list_c => delete_list, &
                          delete_model_c => delete_model, &
                          delete_model_multigpu_c => delete_model_multigpu, &
                          delete_script_c => delete_script, &
                          delete_script_multigpu_c => delete_script_multigpu, &
                          delete_tensor_c => delete_tensor, &
                          get_dataset_c => get_dataset, &
                          get_list_length_c => get_list_length, &
                          get_model_c => get_model, &
                          get_script_c => get_script, &
                          key_exists_c => key_exists, &
                          model_exists_c => model_exists, &
                          poll_dataset_c => poll_dataset, &
                          poll_key_c => poll_key, &
                          poll_list_length_c => poll_list_length, &
                          poll_list_length_gte_c => poll_list_length_gte, &
                          poll_list_length_lte_c => poll_list_length_lte, &
                          poll_model_c => poll_model, &
                          poll_tensor_c => poll_tensor, &
                          put_dataset_c => put_dataset, &
                          put_tensor_c => put_tensor, &
                          rename_dataset_c => rename_dataset, &
                          rename_list_c => rename_list, &
                          rename_tensor_c => rename_tensor, &
                          run_model_c => run_model, &
                          run_model_multigpu_c => run_model_multigpu, &
                          run_script_c => run_script, &
                          run_script_multigpu_c => run_script_multigpu, &
                          set_data_source_c => set_data_source, &
                          set_model_c => set_model, &
                          set_model_from_file_c => set_model_from_file, &
                          set_model_from_file_multigpu_c => set_model_from_file_multigpu, &
                          set_model_multigpu_c => set_model_multigpu, &
                          set_script_c => set_script, &
                          set_script_from_file_c => set_script_from_file, &
                          set_script_from_file_multigpu_c => set_script_from_file_multigpu, &
                          set_script_multigpu_c => set_script_multigpu, &
                          tensor_exists_c => tensor_exists, &
                          unpack_tensor_c => unpack_tensor, &
                          use_dataset_ensemble_prefix_c => use_dataset_ensemble_prefix, &
                          use_list_ensemble_prefix_c => use_list_ensemble_prefix, &
                          use_model_ensemble_prefix_c => use_model_ensemble_prefix, &
                          use_tensor_ensemble_prefix_c => use_tensor_ensemble_prefix
  implicit none
  private

  include 'enum_fortran.inc'

  public :: enum_kind

  type, public :: client_type
    private
    type(c_ptr) :: client_ptr = c_null_ptr
    logical :: is_initialized = .false.
  contains
    generic :: initialize => initialize_client_deprecated, initialize_client_simple, &
                             initialize_client_cfgopts
    generic :: put_tensor => put_tensor_i8, put_tensor_i16, put_tensor_i32, &
                             put_tensor_i64, put_tensor_float, put_tensor_double
    generic :: unpack_tensor => unpack_tensor_i8, unpack_tensor_i16, unpack_tensor_i32, &
                                unpack_tensor_i64, unpack_tensor_float, unpack_tensor_double
    procedure :: delete_tensor => cl_delete_tensor
    procedure :: delete_model => cl_delete_model
    procedure :: delete_script => cl_delete_script
    procedure :: delete_dataset => cl_delete_dataset
    procedure :: delete_list => cl_delete_list
    procedure :: set_data_source => cl_set_data_source
    procedure :: rename_tensor => cl_rename_tensor
    procedure :: copy_tensor => cl_copy_tensor
    procedure :: rename_dataset => cl_rename_dataset
    procedure :: copy_dataset => cl_copy_dataset
    procedure :: copy_list => cl_copy_list
    procedure :: rename_list => cl_rename_list
    procedure :: key_exists => cl_key_exists
    procedure :: model_exists => cl_model_exists
    procedure :: tensor_exists => cl_tensor_exists
    procedure :: dataset_exists => cl_dataset_exists
    procedure :: poll_key => cl_poll_key
    procedure :: poll_model => cl_poll_model
    procedure :: poll_tensor => cl_poll_tensor
    procedure :: poll_dataset => cl_poll_dataset
    procedure :: poll_list_length => cl_poll_list_length
    procedure :: poll_list_length_gte => cl_poll_list_length_gte
    procedure :: poll_list_length_lte => cl_poll_list_length_lte
    procedure :: use_tensor_ensemble_prefix => cl_use_tensor_ensemble_prefix
    procedure :: use_dataset_ensemble_prefix => cl_use_dataset_ensemble_prefix
    procedure :: use_model_ensemble_prefix => cl_use_model_ensemble_prefix
    procedure :: use_list_ensemble_prefix => cl_use_list_ensemble_prefix
    procedure :: set_model_from_file => cl_set_model_from_file
    procedure :: set_model_from_file_multigpu => cl_set_model_from_file_multigpu
    procedure :: set_model => cl_set_model
    procedure :: set_model_multigpu => cl_set_model_multigpu
    procedure :: get_model => cl_get_model
    procedure :: set_script_from_file => cl_set_script_from_file
    procedure :: set_script_from_file_multigpu => cl_set_script_from_file_multigpu
    procedure :: set_script => cl_set_script
    procedure :: set_script_multigpu => cl_set_script_multigpu
    procedure :: get_script => cl_get_script
    procedure :: run_script => cl_run_script
    procedure :: run_script_multigpu => cl_run_script_multigpu
    procedure :: run_model => cl_run_model
    procedure :: run_model_multigpu => cl_run_model_multigpu
    procedure :: delete_script_multigpu => cl_delete_script_multigpu
    procedure :: delete_model_multigpu => cl_delete_model_multigpu
    procedure :: put_dataset => cl_put_dataset
    procedure :: get_dataset => cl_get_dataset
    procedure :: append_to_list => cl_append_to_list
    procedure :: get_list_length => cl_get_list_length
    procedure :: get_datasets_from_list => cl_get_datasets_from_list
    procedure :: get_datasets_from_list_range => cl_get_datasets_from_list_range
    procedure :: to_string => cl_to_string
    procedure :: print_client => cl_print_client
    procedure :: isinitialized => cl_isinitialized
    procedure :: destructor => cl_destructor
    procedure :: get_c_pointer => cl_get_c_pointer
    procedure :: SR_error_parser => cl_SR_error_parser
    procedure, private :: initialize_client_deprecated, initialize_client_simple, &
                          initialize_client_cfgopts
    procedure, private :: put_tensor_i8, put_tensor_i16, put_tensor_i32
    procedure, private :: put_tensor_i64, put_tensor_float, put_tensor_double
    procedure, private :: unpack_tensor_i8, unpack_tensor_i16, unpack_tensor_i32
    procedure, private :: unpack_tensor_i64, unpack_tensor_float, unpack_tensor_double
  end type

contains

  !> Print what response_code means to standard error; .true. for an error.
  function cl_SR_error_parser(self, response_code) result(is_error)
    class(client_type), intent(in) :: self
    integer(kind=enum_kind), intent(in) :: response_code
    logical :: is_error
    character(len=64) :: what
    is_error = response_code /= SRNoError
    if (.not. self%is_initialized) then
      write(error_unit, '(a)') 'the SmartRedis client is not initialized'
      is_error = .true.
      return
    end if
    select case (response_code)
    case (SRNoError)
      return
    case (SRBadAllocError)
      what = 'memory allocation error'
    case (SRDatabaseError)
      what = 'database error'
    case (SRInternalError)
      what = 'internal error'
    case (SRRuntimeError)
      what = 'runtime error'
    case (SRParameterError)
      what = 'bad parameter'
    case (SRTimeoutError)
      what = 'timeout'
    case (SRKeyError)
      what = 'key error'
    case (SRTypeError)
      what = 'type mismatch'
    case default
      what = 'invalid or uninitialized response code'
    end select
    write(error_unit, '(a)') trim(what)
  end function

  !> The logger name as given, or 'default'.
  function logger(logger_name) result(s)
    character(len=*), optional, intent(in) :: logger_name
    character(len=:), allocatable :: s
    s = 'default'
    if (present(logger_name)) s = trim(logger_name)
  end function

  !> Connect as configured by the environment (SSDB, SR_DB_TYPE, ...).
  function initialize_client_simple(self, logger_name) result(code)
    class(client_type), intent(inout) :: self
    character(len=*), optional, intent(in) :: logger_name
    integer(kind=enum_kind) :: code
    character(len=:), allocatable :: ln
    ln = logger(logger_name)
    code = SimpleCreateClient(ln, len(ln, kind=c_size_t), self%client_ptr)
    self%is_initialized = code == SRNoError
  end function

  !> Connect as configured by cfgopts.
  function initialize_client_cfgopts(self, cfgopts, logger_name) result(code)
    class(client_type), intent(inout) :: self
    type(configoptions_type), intent(in) :: cfgopts
    character(len=*), optional, intent(in) :: logger_name
    integer(kind=enum_kind) :: code
    character(len=:), allocatable :: ln
    ln = logger(logger_name)
    code = CreateClient(cfgopts%get_c_pointer(), ln, len(ln, kind=c_size_t), self%client_ptr)
    self%is_initialized = code == SRNoError
  end function

  !> Connect with the cluster mode given (the address from SSDB); the older form.
  function initialize_client_deprecated(self, cluster, logger_name) result(code)
    class(client_type), intent(inout) :: self
    logical, intent(in) :: cluster
    character(len=*), optional, intent(in) :: logger_name
    integer(kind=enum_kind) :: code
    character(len=:), allocatable :: ln
    ln = logger(logger_name)
    code = SmartRedisCClient(logical(cluster, c_bool), ln, len(ln, kind=c_size_t), self%client_ptr)
    self%is_initialized = code == SRNoError
  end function

  logical function cl_isinitialized(self)
    class(client_type), intent(in) :: self
    cl_isinitialized = self%is_initialized
  end function

  !> Close the connections and free the client.
  function cl_destructor(self) result(code)
    class(client_type), intent(inout) :: self
    integer(kind=enum_kind) :: code
    code = DeleteCClient(self%client_ptr)
    self%client_ptr = c_null_ptr
    self%is_initialized = .false.
  end function

  type(c_ptr) function cl_get_c_pointer(self)
    class(client_type), intent(in) :: self
    cl_get_c_pointer = self%client_ptr
  end function

  function cl_tensor(self, put, name, data, n, dims, ttype) result(code)
    class(client_type), intent(in) :: self
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
      code = put_tensor_c(self%client_ptr, name, len_trim(name, kind=c_size_t), data, cdims, &
                          size(cdims, kind=c_size_t), ttype, c_fortran_contiguous)
    else
      code = unpack_tensor_c(self%client_ptr, name, len_trim(name, kind=c_size_t), data, cdims, &
                             size(cdims, kind=c_size_t), ttype, c_fortran_contiguous)
    end if
  end function

  function put_tensor_i8(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int8_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int8)
  end function
  function put_tensor_i16(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int16_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int16)
  end function
  function put_tensor_i32(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int32_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int32)
  end function
  function put_tensor_i64(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int64_t), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_int64)
  end function
  function put_tensor_float(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_float), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_flt)
  end function
  function put_tensor_double(self, name, data, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_double), dimension(..), contiguous, target, intent(in) :: data
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .true., name, c_loc(data), size(data, kind=c_size_t), dims, tensor_dbl)
  end function

  function unpack_tensor_i8(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int8_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int8)
  end function
  function unpack_tensor_i16(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int16_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int16)
  end function
  function unpack_tensor_i32(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int32_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int32)
  end function
  function unpack_tensor_i64(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=c_int64_t), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_int64)
  end function
  function unpack_tensor_float(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_float), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_flt)
  end function
  function unpack_tensor_double(self, name, result, dims) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    real(kind=c_double), dimension(..), contiguous, target, intent(out) :: result
    integer, dimension(:), intent(in) :: dims
    integer(kind=enum_kind) :: code
    code = cl_tensor(self, .false., name, c_loc(result), size(result, kind=c_size_t), dims, &
        tensor_dbl)
  end function

  function cl_delete_tensor(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind) :: code
    code = delete_tensor_c(self%client_ptr, name, len_trim(name, kind=c_size_t))
  end function
  function cl_delete_model(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind) :: code
    code = delete_model_c(self%client_ptr, name, len_trim(name, kind=c_size_t))
  end function
  function cl_delete_script(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind) :: code
    code = delete_script_c(self%client_ptr, name, len_trim(name, kind=c_size_t))
  end function
  function cl_delete_dataset(self, name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer(kind=enum_kind) :: code
    code = delete_dataset_c(self%client_ptr, name, len_trim(name, kind=c_size_t))
  end function
  function cl_delete_list(self, list_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer(kind=enum_kind) :: code
    code = delete_list_c(self%client_ptr, list_name, len_trim(list_name, kind=c_size_t))
  end function
  function cl_set_data_source(self, source_id) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: source_id
    integer(kind=enum_kind) :: code
    code = set_data_source_c(self%client_ptr, source_id, len_trim(source_id, kind=c_size_t))
  end function
  function cl_rename_tensor(self, old_name, new_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: old_name, new_name
    integer(kind=enum_kind) :: code
    code = rename_tensor_c(self%client_ptr, old_name, len_trim(old_name, kind=c_size_t), &
               new_name, len_trim(new_name, kind=c_size_t))
  end function
  function cl_copy_tensor(self, src_name, dest_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: src_name, dest_name
    integer(kind=enum_kind) :: code
    code = copy_tensor_c(self%client_ptr, src_name, len_trim(src_name, kind=c_size_t), &
               dest_name, len_trim(dest_name, kind=c_size_t))
  end function
  function cl_rename_dataset(self, name, new_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, new_name
    integer(kind=enum_kind) :: code
    code = rename_dataset_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
               new_name, len_trim(new_name, kind=c_size_t))
  end function
  function cl_copy_dataset(self, name, new_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, new_name
    integer(kind=enum_kind) :: code
    code = copy_dataset_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
               new_name, len_trim(new_name, kind=c_size_t))
  end function
  function cl_copy_list(self, src_name, dest_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: src_name, dest_name
    integer(kind=enum_kind) :: code
    code = copy_list_c(self%client_ptr, src_name, len_trim(src_name, kind=c_size_t), &
               dest_name, len_trim(dest_name, kind=c_size_t))
  end function
  function cl_rename_list(self, src_name, dest_name) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: src_name, dest_name
    integer(kind=enum_kind) :: code
    code = rename_list_c(self%client_ptr, src_name, len_trim(src_name, kind=c_size_t), &
               dest_name, len_trim(dest_name, kind=c_size_t))
  end function
  function cl_key_exists(self, key, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: key
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = key_exists_c(self%client_ptr, key, len_trim(key, kind=c_size_t), b)
    exists = b
  end function
  function cl_model_exists(self, model_name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: model_name
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = model_exists_c(self%client_ptr, model_name, len_trim(model_name, kind=c_size_t), b)
    exists = b
  end function
  function cl_tensor_exists(self, tensor_name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: tensor_name
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = tensor_exists_c(self%client_ptr, tensor_name, len_trim(tensor_name, kind=c_size_t), b)
    exists = b
  end function
  function cl_dataset_exists(self, dataset_name, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: dataset_name
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = dataset_exists_c(self%client_ptr, dataset_name, len_trim(dataset_name, kind=c_size_t), b)
    exists = b
  end function
  function cl_poll_key(self, key, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: key
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_key_c(self%client_ptr, key, len_trim(key, kind=c_size_t), &
        int(poll_frequency_ms, c_int), &
               int(num_tries, c_int), b)
    exists = b
  end function
  function cl_poll_model(self, model_name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: model_name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_model_c(self%client_ptr, model_name, len_trim(model_name, kind=c_size_t), &
        int(poll_frequency_ms, c_int), &
               int(num_tries, c_int), b)
    exists = b
  end function
  function cl_poll_tensor(self, tensor_name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: tensor_name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_tensor_c(self%client_ptr, tensor_name, len_trim(tensor_name, kind=c_size_t), &
        int(poll_frequency_ms, c_int), &
               int(num_tries, c_int), b)
    exists = b
  end function
  function cl_poll_dataset(self, dataset_name, poll_frequency_ms, num_tries, exists) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: dataset_name
    integer, intent(in) :: poll_frequency_ms, num_tries
    logical, intent(out) :: exists
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_dataset_c(self%client_ptr, dataset_name, len_trim(dataset_name, &
        kind=c_size_t), int(poll_frequency_ms, c_int), &
               int(num_tries, c_int), b)
    exists = b
  end function
  function cl_poll_list_length(self, list_name, list_length, poll_frequency_ms, num_tries, &
      poll_result) &
      result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(in) :: list_length, poll_frequency_ms, num_tries
    logical, intent(out) :: poll_result
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_list_length_c(self%client_ptr, list_name, len_trim(list_name, kind=c_size_t), &
               int(list_length, c_int), int(poll_frequency_ms, c_int), int(num_tries, c_int), b)
    poll_result = b
  end function
  function cl_poll_list_length_gte(self, list_name, list_length, poll_frequency_ms, num_tries, &
      poll_result) &
      result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(in) :: list_length, poll_frequency_ms, num_tries
    logical, intent(out) :: poll_result
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_list_length_gte_c(self%client_ptr, list_name, len_trim(list_name, kind=c_size_t), &
               int(list_length, c_int), int(poll_frequency_ms, c_int), int(num_tries, c_int), b)
    poll_result = b
  end function
  function cl_poll_list_length_lte(self, list_name, list_length, poll_frequency_ms, num_tries, &
      poll_result) &
      result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(in) :: list_length, poll_frequency_ms, num_tries
    logical, intent(out) :: poll_result
    integer(kind=enum_kind) :: code
    logical(c_bool) :: b
    b = .false.
    code = poll_list_length_lte_c(self%client_ptr, list_name, len_trim(list_name, kind=c_size_t), &
               int(list_length, c_int), int(poll_frequency_ms, c_int), int(num_tries, c_int), b)
    poll_result = b
  end function
  function cl_use_tensor_ensemble_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer(kind=enum_kind) :: code
    code = use_tensor_ensemble_prefix_c(self%client_ptr, logical(use_prefix, c_bool))
  end function
  function cl_use_dataset_ensemble_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer(kind=enum_kind) :: code
    code = use_dataset_ensemble_prefix_c(self%client_ptr, logical(use_prefix, c_bool))
  end function
  function cl_use_model_ensemble_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer(kind=enum_kind) :: code
    code = use_model_ensemble_prefix_c(self%client_ptr, logical(use_prefix, c_bool))
  end function
  function cl_use_list_ensemble_prefix(self, use_prefix) result(code)
    class(client_type), intent(in) :: self
    logical, intent(in) :: use_prefix
    integer(kind=enum_kind) :: code
    code = use_list_ensemble_prefix_c(self%client_ptr, logical(use_prefix, c_bool))
  end function

  !> Pack inputs and outputs (absent: none); SRParameterError when a name is too long.
  function pack_io(inputs, outputs, ins, outs) result(code)
    character(len=*), dimension(:), optional, intent(in) :: inputs, outputs
    type(c_string_array), target, intent(out) :: ins, outs
    integer(kind=enum_kind) :: code
    character(len=1) :: none(0)
    logical :: ok_in, ok_out
    code = SRNoError
    if (present(inputs)) then
      ok_in = to_c_strings(inputs, ins)
    else
      ok_in = to_c_strings(none, ins)
    end if
    if (present(outputs)) then
      ok_out = to_c_strings(outputs, outs)
    else
      ok_out = to_c_strings(none, outs)
    end if
    if (.not. (ok_in .and. ok_out)) code = set_error(SRParameterError, &
        'a tensor or node name is longer than C_MAX_STRING characters')
  end function

  integer function n_of(strings)
    character(len=*), dimension(:), optional, intent(in) :: strings
    n_of = 0
    if (present(strings)) n_of = size(strings)
  end function

  function cl_set_model_from_file(self, name, model_file, backend, device, batch_size, &
      min_batch_size, min_batch_timeout, tag, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, model_file, backend, device
    integer, optional, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), optional, intent(in) :: tag
    character(len=*), dimension(:), optional, intent(in) :: inputs, outputs
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    integer(c_int) :: bs, mbs, mbt
    character(len=:), allocatable :: t
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    call batch_args(batch_size, min_batch_size, min_batch_timeout, tag, bs, mbs, mbt, t)
    code = set_model_from_file_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
        model_file, len_trim(model_file, kind=c_size_t), backend, len_trim(backend, &
            kind=c_size_t), &
        device, len_trim(device, kind=c_size_t), bs, mbs, mbt, t, len(t, kind=c_size_t), &
        strings_ptr(ins), lengths_ptr(ins), int(n_of(inputs), c_size_t), &
        strings_ptr(outs), lengths_ptr(outs), int(n_of(outputs), c_size_t))
  end function

  function cl_set_model_from_file_multigpu(self, name, model_file, backend, first_gpu, num_gpus, &
      batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, model_file, backend
    integer, intent(in) :: first_gpu, num_gpus
    integer, optional, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), optional, intent(in) :: tag
    character(len=*), dimension(:), optional, intent(in) :: inputs, outputs
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    integer(c_int) :: bs, mbs, mbt
    character(len=:), allocatable :: t
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    call batch_args(batch_size, min_batch_size, min_batch_timeout, tag, bs, mbs, mbt, t)
    code = set_model_from_file_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
        model_file, len_trim(model_file, kind=c_size_t), backend, len_trim(backend, &
            kind=c_size_t), &
        int(first_gpu, c_int), int(num_gpus, c_int), bs, mbs, mbt, t, len(t, kind=c_size_t), &
        strings_ptr(ins), lengths_ptr(ins), int(n_of(inputs), c_size_t), &
        strings_ptr(outs), lengths_ptr(outs), int(n_of(outputs), c_size_t))
  end function

  !> Store a model from its bytes (all of model: its length is the model's size).
  function cl_set_model(self, name, model, backend, device, batch_size, min_batch_size, &
      min_batch_timeout, tag, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, model, backend, device
    integer, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), intent(in) :: tag
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    code = set_model_c(self%client_ptr, name, len_trim(name, kind=c_size_t), model, &
        len(model, kind=c_size_t), backend, len_trim(backend, kind=c_size_t), device, &
        len_trim(device, kind=c_size_t), int(batch_size, c_int), int(min_batch_size, c_int), &
        int(min_batch_timeout, c_int), tag, len_trim(tag, kind=c_size_t), &
        strings_ptr(ins), lengths_ptr(ins), size(inputs, kind=c_size_t), &
        strings_ptr(outs), lengths_ptr(outs), size(outputs, kind=c_size_t))
  end function

  function cl_set_model_multigpu(self, name, model, backend, first_gpu, num_gpus, batch_size, &
      min_batch_size, min_batch_timeout, tag, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, model, backend
    integer, intent(in) :: first_gpu, num_gpus, batch_size, min_batch_size, min_batch_timeout
    character(len=*), intent(in) :: tag
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    code = set_model_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), model, &
        len(model, kind=c_size_t), backend, len_trim(backend, kind=c_size_t), &
        int(first_gpu, c_int), int(num_gpus, c_int), int(batch_size, c_int), &
        int(min_batch_size, c_int), int(min_batch_timeout, c_int), tag, &
        len_trim(tag, kind=c_size_t), strings_ptr(ins), lengths_ptr(ins), &
        size(inputs, kind=c_size_t), strings_ptr(outs), lengths_ptr(outs), &
        size(outputs, kind=c_size_t))
  end function

  subroutine batch_args(batch_size, min_batch_size, min_batch_timeout, tag, bs, mbs, mbt, t)
    integer, optional, intent(in) :: batch_size, min_batch_size, min_batch_timeout
    character(len=*), optional, intent(in) :: tag
    integer(c_int), intent(out) :: bs, mbs, mbt
    character(len=:), allocatable, intent(out) :: t
    bs = 0; mbs = 0; mbt = 0
    if (present(batch_size)) bs = int(batch_size, c_int)
    if (present(min_batch_size)) mbs = int(min_batch_size, c_int)
    if (present(min_batch_timeout)) mbt = int(min_batch_timeout, c_int)
    t = ''
    if (present(tag)) t = trim(tag)
  end subroutine

  !> Copy a buffer of n bytes at p into out (blank padded); SRParameterError when it does not fit.
  function copy_out(p, n, out, what) result(code)
    type(c_ptr), intent(in) :: p
    integer(c_size_t), intent(in) :: n
    character(len=*), intent(out) :: out
    character(len=*), intent(in) :: what
    integer(kind=enum_kind) :: code
    character(len=24) :: a, b
    code = SRNoError
    out = ''
    if (n > len(out)) then
      write(a, '(i0)') n
      write(b, '(i0)') len(out)
      code = set_error(SRParameterError, 'the '//what//' has '//trim(a)// &
                       ' bytes, more than the '//trim(b)//' characters of the string given')
      return
    end if
    if (n > 0) out(1:n) = fstring(p, n)
  end function

  !> The stored model's bytes into model (blank padded).
  function cl_get_model(self, name, model) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    character(len=*), intent(out) :: model
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    model = ''
    code = get_model_c(self%client_ptr, name, len_trim(name, kind=c_size_t), n, p)
    if (code == SRNoError) code = copy_out(p, n, model, 'model')
  end function

  function cl_set_script_from_file(self, name, device, script_file) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, device, script_file
    integer(kind=enum_kind) :: code
    code = set_script_from_file_c(self%client_ptr, name, len_trim(name, kind=c_size_t), device, &
        len_trim(device, kind=c_size_t), script_file, len_trim(script_file, kind=c_size_t))
  end function

  function cl_set_script_from_file_multigpu(self, name, script_file, first_gpu, num_gpus) &
      result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, script_file
    integer, intent(in) :: first_gpu, num_gpus
    integer(kind=enum_kind) :: code
    code = set_script_from_file_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
        script_file, len_trim(script_file, kind=c_size_t), int(first_gpu, c_int), &
        int(num_gpus, c_int))
  end function

  function cl_set_script(self, name, device, script) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, device, script
    integer(kind=enum_kind) :: code
    code = set_script_c(self%client_ptr, name, len_trim(name, kind=c_size_t), device, &
        len_trim(device, kind=c_size_t), script, len_trim(script, kind=c_size_t))
  end function

  function cl_set_script_multigpu(self, name, script, first_gpu, num_gpus) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, script
    integer, intent(in) :: first_gpu, num_gpus
    integer(kind=enum_kind) :: code
    code = set_script_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), script, &
        len_trim(script, kind=c_size_t), int(first_gpu, c_int), int(num_gpus, c_int))
  end function

  !> The stored script's source into script (blank padded).
  function cl_get_script(self, name, script) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    character(len=*), intent(out) :: script
    integer(kind=enum_kind) :: code
    type(c_ptr) :: p
    integer(c_size_t) :: n
    script = ''
    code = get_script_c(self%client_ptr, name, len_trim(name, kind=c_size_t), p, n)
    if (code == SRNoError) code = copy_out(p, n, script, 'script')
  end function

  function cl_run_script(self, name, func, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, func
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    code = run_script_c(self%client_ptr, name, len_trim(name, kind=c_size_t), func, &
        len_trim(func, kind=c_size_t), strings_ptr(ins), lengths_ptr(ins), &
        size(inputs, kind=c_size_t), strings_ptr(outs), lengths_ptr(outs), &
        size(outputs, kind=c_size_t))
  end function

  function cl_run_script_multigpu(self, name, func, inputs, outputs, offset, first_gpu, &
      num_gpus) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name, func
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer, intent(in) :: offset, first_gpu, num_gpus
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    code = run_script_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), func, &
        len_trim(func, kind=c_size_t), strings_ptr(ins), lengths_ptr(ins), &
        size(inputs, kind=c_size_t), strings_ptr(outs), lengths_ptr(outs), &
        size(outputs, kind=c_size_t), int(offset, c_int), int(first_gpu, c_int), &
        int(num_gpus, c_int))
  end function

  function cl_run_model(self, name, inputs, outputs) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    code = run_model_c(self%client_ptr, name, len_trim(name, kind=c_size_t), strings_ptr(ins), &
        lengths_ptr(ins), size(inputs, kind=c_size_t), strings_ptr(outs), lengths_ptr(outs), &
        size(outputs, kind=c_size_t))
  end function

  function cl_run_model_multigpu(self, name, inputs, outputs, offset, first_gpu, num_gpus) &
      result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    character(len=*), dimension(:), intent(in) :: inputs, outputs
    integer, intent(in) :: offset, first_gpu, num_gpus
    integer(kind=enum_kind) :: code
    type(c_string_array), target :: ins, outs
    code = pack_io(inputs, outputs, ins, outs)
    if (code /= SRNoError) return
    code = run_model_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
        strings_ptr(ins), lengths_ptr(ins), size(inputs, kind=c_size_t), strings_ptr(outs), &
        lengths_ptr(outs), size(outputs, kind=c_size_t), int(offset, c_int), &
        int(first_gpu, c_int), int(num_gpus, c_int))
  end function

  function cl_delete_model_multigpu(self, name, first_gpu, num_gpus) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: first_gpu, num_gpus
    integer(kind=enum_kind) :: code
    code = delete_model_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
                                   int(first_gpu, c_int), int(num_gpus, c_int))
  end function

  function cl_delete_script_multigpu(self, name, first_gpu, num_gpus) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    integer, intent(in) :: first_gpu, num_gpus
    integer(kind=enum_kind) :: code
    code = delete_script_multigpu_c(self%client_ptr, name, len_trim(name, kind=c_size_t), &
                                    int(first_gpu, c_int), int(num_gpus, c_int))
  end function

  function cl_put_dataset(self, dataset) result(code)
    class(client_type), intent(in) :: self
    type(dataset_type), intent(in) :: dataset
    integer(kind=enum_kind) :: code
    code = put_dataset_c(self%client_ptr, dataset%dataset_ptr)
  end function

  function cl_get_dataset(self, name, dataset) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: name
    type(dataset_type), intent(out) :: dataset
    integer(kind=enum_kind) :: code
    code = get_dataset_c(self%client_ptr, name, len_trim(name, kind=c_size_t), dataset%dataset_ptr)
  end function

  function cl_append_to_list(self, list_name, dataset) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    type(dataset_type), intent(in) :: dataset
    integer(kind=enum_kind) :: code
    code = append_to_list_c(self%client_ptr, list_name, len_trim(list_name, kind=c_size_t), &
                            dataset%dataset_ptr)
  end function

  function cl_get_list_length(self, list_name, result_length) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(out) :: result_length
    integer(kind=enum_kind) :: code
    integer(c_int) :: n
    n = 0
    code = get_list_length_c(self%client_ptr, list_name, len_trim(list_name, kind=c_size_t), n)
    result_length = int(n)
  end function

  !> All datasets of the list, in list order.
  function cl_get_datasets_from_list(self, list_name, datasets, num_datasets) result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    type(dataset_type), dimension(:), allocatable, intent(out) :: datasets
    integer, intent(out) :: num_datasets
    integer(kind=enum_kind) :: code
    code = self%get_datasets_from_list_range(list_name, 0, -1, datasets)
    num_datasets = 0
    if (allocated(datasets)) num_datasets = size(datasets)
  end function

  !> The datasets from start_index to end_index (inclusive, 0-based; negative: from the end).
  function cl_get_datasets_from_list_range(self, list_name, start_index, end_index, datasets) &
      result(code)
    class(client_type), intent(in) :: self
    character(len=*), intent(in) :: list_name
    integer, intent(in) :: start_index, end_index
    type(dataset_type), dimension(:), allocatable, intent(out) :: datasets
    integer(kind=enum_kind) :: code
    integer :: n, first, last, i
    type(c_ptr), allocatable :: ptrs(:)
    code = self%get_list_length(list_name, n)
    if (code /= SRNoError) return
    first = start_index
    last = end_index
    if (first < 0) first = n + first
    if (last < 0) last = n + last
    first = max(first, 0)
    last = min(last, n - 1)
    if (last < first) then
      allocate(datasets(0))
      return
    end if
    allocate(ptrs(last - first + 1))
    ptrs = c_null_ptr
    code = get_dataset_list_range_allocated(self%client_ptr, list_name, &
        len_trim(list_name, kind=c_size_t), int(first, c_int), int(last, c_int), ptrs)
    if (code /= SRNoError) return
    allocate(datasets(size(ptrs)))
    do i = 1, size(ptrs)
      datasets(i)%dataset_ptr = ptrs(i)
    end do
  end function

  !> A text describing the client.
  function cl_to_string(self) result(s)
    class(client_type), intent(in) :: self
    character(len=:), allocatable :: s
    type(c_ptr) :: p
    p = client_to_string(self%client_ptr)
    s = ''
    if (c_associated(p)) s = fstring(p, c_strlen(p))
  end function

  subroutine cl_print_client(self, unit)
    class(client_type), intent(in) :: self
    integer, optional, intent(in) :: unit
    integer :: u
    u = error_unit
    if (present(unit)) u = unit
    write(u, '(a)') self%to_string()
  end subroutine

end module smartredis_client
