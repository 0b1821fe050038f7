! eddylearn_client_c — the one Fortran declaration of the C library (client/include/
! eddylearn_client.h): status constants, dtype and layout codes, the bind(c) mirrors of its
! structs and the bind(c) interface of every C function called from Fortran. Every other
! Fortran module (eddylearn_dataset, eddylearn_client, eddylearn_stager, eddylearn_infer, the
! smartredis_* modules, the solver's staging) uses these interfaces instead of declaring its own.
! Handles are type(c_ptr); names are NUL-terminated (c_str).
module eddylearn_client_c
  use iso_c_binding
  implicit none
  private

  ! status codes: the values of SmartRedis's SRError enum
  integer, parameter, public :: SRNoError = 0, SRBadAllocError = 1, SRDatabaseError = 2, &
       SRInternalError = 3, SRRuntimeError = 4, SRParameterError = 5, SRTimeoutError = 6, &
       SRKeyError = 7, SRInvalidError = 8, SRTypeError = 9
  integer(c_int), parameter, public :: ELC_OK = 0
  integer(c_int), parameter, public :: ELC_ERR_NOMEM = 1, ELC_ERR_DATABASE = 2, &
       ELC_ERR_INTERNAL = 3, ELC_ERR_RUNTIME = 4, ELC_ERR_PARAMETER = 5, ELC_ERR_TIMEOUT = 6, &
       ELC_ERR_KEY = 7, ELC_ERR_INVALID = 8, ELC_ERR_TYPE = 9

  integer(c_int), parameter, public :: ELC_DOUBLE = 1, ELC_FLOAT = 2, ELC_INT8 = 3, &
       ELC_INT16 = 4, ELC_INT32 = 5, ELC_INT64 = 6, ELC_UINT8 = 7, ELC_UINT16 = 8
  integer(c_int), parameter, public :: ELC_LAYOUT_C = 0, ELC_LAYOUT_FORTRAN = 1
  integer(c_int), parameter, public :: ELC_META_INVALID = 0, ELC_META_DOUBLE = 1, &
       ELC_META_FLOAT = 2, ELC_META_INT32 = 3, ELC_META_INT64 = 4, ELC_META_UINT32 = 5, &
       ELC_META_UINT64 = 6, ELC_META_STRING = 7
  integer(c_int), parameter, public :: ELC_POLICY_BLOCK = 0, ELC_POLICY_DROP_OLDEST = 1
  integer(c_int), parameter, public :: ELC_INFER_MAX_NORM = 64

  !> Counters of a stager (elc_stager_stats).
  type, bind(c), public :: elc_stager_stats
    integer(c_int64_t) :: submitted = 0, sent = 0, bytes = 0, retries = 0, dropped = 0, &
                          failed = 0, queued = 0, queued_bytes = 0, high_water_bytes = 0, &
                          high_water_items = 0
    real(c_double) :: mean_latency_s = 0, max_latency_s = 0
    integer(c_int64_t) :: copied_by_sender = 0, copied_by_fence = 0
  end type

  !> What the metadata dataset of a learned model said (elc_infer_meta).
  type, bind(c), public :: elc_infer_meta
    integer(c_int) :: found
    integer(c_int64_t) :: version
    integer(c_int) :: caller_normalises
    integer(c_size_t) :: n_in, n_out
    real(c_double) :: f_mean(ELC_INFER_MAX_NORM), f_std(ELC_INFER_MAX_NORM)
    real(c_double) :: l_mean(ELC_INFER_MAX_NORM), l_std(ELC_INFER_MAX_NORM)
    integer(c_int) :: float_inputs
  end type

  !> Counters of an inference handle (elc_infer_stats).
  type, bind(c), public :: elc_infer_stats
    integer(c_int64_t) :: requests, answered, timeouts, busy, unreachable, missing_model, failures
    real(c_double) :: mean_latency_s, max_latency_s
    integer(c_int64_t) :: handed_over
  end type

  public :: c_str, f_str, get_last_error, set_error

  ! errors and helpers
  public :: elc_last_error_copy, elc_f_last_error, elc_f_set_error, c_strlen
  ! client
  public :: elc_client_create, elc_client_destroy, elc_use_tensor_ensemble_prefix, &
            elc_use_dataset_ensemble_prefix, elc_use_list_ensemble_prefix, &
            elc_use_model_ensemble_prefix, elc_set_data_source
  ! tensors
  public :: elc_put_tensor, elc_unpack_tensor, elc_delete_tensor, elc_tensor_exists, &
            elc_poll_tensor, elc_key_exists, elc_poll_key
  ! datasets and lists in the database
  public :: elc_put_dataset, elc_get_dataset, elc_delete_dataset, elc_dataset_exists, &
            elc_poll_dataset, elc_append_to_list, elc_put_dataset_and_append, &
            elc_get_list_length, elc_poll_list_length, elc_delete_list
  ! models and scripts
  public :: elc_set_model, elc_set_model_from_file, elc_delete_model, elc_model_exists, &
            elc_poll_model, elc_set_script, elc_set_script_from_file, elc_delete_script, elc_f_run
  ! datasets in memory
  public :: elc_dataset_create, elc_dataset_destroy, elc_dataset_name, elc_dataset_nbytes, &
            elc_dataset_add_tensor, elc_dataset_add_block3, elc_dataset_add_block3_deferred, &
            elc_dataset_unpack_tensor, elc_dataset_get_tensor, &
            elc_dataset_add_meta_scalar, elc_dataset_add_meta_string, &
            elc_dataset_get_meta_scalars, elc_dataset_get_meta_string_count, &
            elc_dataset_get_meta_type, elc_f_get_meta_string
  ! stager
  public :: elc_buffers_reserve, elc_thread_minor_faults, elc_thread_cpu_seconds
  public :: elc_stager_create, elc_stager_submit, elc_stager_flush, elc_stager_fence, &
            elc_stager_stats_get, &
            elc_stager_last_error, elc_f_stager_last_error, elc_stager_destroy
  ! inference
  public :: elc_infer_create, elc_infer_start, elc_infer_finish, elc_infer_stats_get, &
            elc_infer_destroy, elc_infer_set_input_dtype

  interface
    ! --- errors and helpers ---
    integer(c_size_t) function elc_last_error_copy(buf, buflen) bind(c)
      import :: c_char, c_size_t
      character(kind=c_char), intent(out) :: buf(*)
      integer(c_size_t), value :: buflen
    end function
    subroutine elc_f_last_error(buf, buflen) bind(c)
      import :: c_char, c_int
      character(kind=c_char) :: buf(*)
      integer(c_int), value :: buflen
    end subroutine
    integer(c_int) function elc_f_set_error(code, msg) bind(c)
      import :: c_char, c_int
      integer(c_int), value :: code
      character(kind=c_char), intent(in) :: msg(*)
    end function
    integer(c_size_t) function c_strlen(s) bind(c, name='strlen')
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
    end function

    ! --- client ---
    integer(c_int) function elc_client_create(out, cluster, suffix) bind(c)
      import :: c_ptr, c_int
      type(c_ptr) :: out
      integer(c_int), value :: cluster
      type(c_ptr), value :: suffix
    end function
    subroutine elc_client_destroy(c) bind(c)
      import :: c_ptr
      type(c_ptr), value :: c
    end subroutine
    integer(c_int) function elc_use_tensor_ensemble_prefix(c, use) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c
      logical(c_bool), value :: use
    end function
    integer(c_int) function elc_use_dataset_ensemble_prefix(c, use) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c
      logical(c_bool), value :: use
    end function
    integer(c_int) function elc_use_list_ensemble_prefix(c, use) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c
      logical(c_bool), value :: use
    end function
    integer(c_int) function elc_use_model_ensemble_prefix(c, use) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c
      logical(c_bool), value :: use
    end function
    integer(c_int) function elc_set_data_source(c, source) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: source(*)
    end function

    ! --- tensors ---
    integer(c_int) function elc_put_tensor(c, name, data, dims, ndims, dtype, layout) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: c, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_size_t), value :: ndims
      integer(c_int), value :: dtype, layout
    end function
    integer(c_int) function elc_unpack_tensor(c, name, data, dims, ndims, dtype, layout) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: c, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_size_t), value :: ndims
      integer(c_int), value :: dtype, layout
    end function
    integer(c_int) function elc_delete_tensor(c, name) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
    end function
    integer(c_int) function elc_tensor_exists(c, name, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_poll_tensor(c, name, poll_ms, num_tries, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int), value :: poll_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_key_exists(c, key, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: key(*)
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_poll_key(c, key, poll_ms, num_tries, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: key(*)
      integer(c_int), value :: poll_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function

    ! --- datasets and lists in the database ---
    integer(c_int) function elc_put_dataset(c, ds) bind(c)
      import :: c_ptr, c_int
      type(c_ptr), value :: c, ds
    end function
    integer(c_int) function elc_get_dataset(c, name, out) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      type(c_ptr) :: out
    end function
    integer(c_int) function elc_delete_dataset(c, name) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
    end function
    integer(c_int) function elc_dataset_exists(c, name, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_poll_dataset(c, name, poll_ms, num_tries, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int), value :: poll_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_append_to_list(c, list, ds) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c, ds
      character(kind=c_char), intent(in) :: list(*)
    end function
    integer(c_int) function elc_put_dataset_and_append(c, ds, list) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c, ds
      character(kind=c_char), intent(in) :: list(*)
    end function
    integer(c_int) function elc_get_list_length(c, list, length) bind(c)
      import :: c_ptr, c_char, c_int, c_long_long
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: list(*)
      integer(c_long_long), intent(out) :: length
    end function
    integer(c_int) function elc_poll_list_length(c, list, length, poll_ms, num_tries, reached) &
        bind(c)
      import :: c_ptr, c_char, c_int, c_long_long, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: list(*)
      integer(c_long_long), value :: length
      integer(c_int), value :: poll_ms, num_tries
      logical(c_bool), intent(out) :: reached
    end function
    integer(c_int) function elc_delete_list(c, list) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: list(*)
    end function

    ! --- models and scripts ---
    integer(c_int) function elc_set_model(c, name, blob, blob_len, backend, device, batch_size, &
        min_batch_size, min_batch_timeout, tag) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*), blob(*), backend(*), device(*), tag(*)
      integer(c_size_t), value :: blob_len
      integer(c_int), value :: batch_size, min_batch_size, min_batch_timeout
    end function
    integer(c_int) function elc_set_model_from_file(c, name, path, backend, device, batch_size, &
        min_batch_size, min_batch_timeout, tag) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*), path(*), backend(*), device(*), tag(*)
      integer(c_int), value :: batch_size, min_batch_size, min_batch_timeout
    end function
    integer(c_int) function elc_delete_model(c, name) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
    end function
    integer(c_int) function elc_model_exists(c, name, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_poll_model(c, name, poll_ms, num_tries, exists) bind(c)
      import :: c_ptr, c_char, c_int, c_bool
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int), value :: poll_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function elc_set_script(c, name, device, source, source_len) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*), device(*), source(*)
      integer(c_size_t), value :: source_len
    end function
    integer(c_int) function elc_set_script_from_file(c, name, device, path) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*), device(*), path(*)
    end function
    integer(c_int) function elc_delete_script(c, name) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*)
    end function
    !> run_model (fn empty) or run_script with blank-padded Fortran string arrays
    integer(c_int) function elc_f_run(c, name, fn, in, inlen, nin, out, outlen, nout) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: c
      character(kind=c_char), intent(in) :: name(*), fn(*), in(*), out(*)
      integer(c_int), value :: inlen, nin, outlen, nout
    end function

    ! --- datasets in memory ---
    integer(c_int) function elc_dataset_create(out, name) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), intent(out) :: out
      character(kind=c_char), intent(in) :: name(*)
    end function
    subroutine elc_dataset_destroy(ds) bind(c)
      import :: c_ptr
      type(c_ptr), value :: ds
    end subroutine
    type(c_ptr) function elc_dataset_name(ds) bind(c)
      import :: c_ptr
      type(c_ptr), value :: ds
    end function
    integer(c_size_t) function elc_dataset_nbytes(ds) bind(c)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: ds
    end function
    integer(c_int) function elc_dataset_add_tensor(ds, name, data, dims, ndims, dtype, layout) &
        bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: ds, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_size_t), value :: ndims
      integer(c_int), value :: dtype, layout
    end function
    integer(c_int) function elc_dataset_add_block3(ds, name, base, extent, lo, n, dtype) bind(c)
      import :: c_int, c_ptr, c_char, c_size_t
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: name(*)
      type(c_ptr), value :: base
      integer(c_size_t), intent(in) :: extent(3), lo(3), n(3)
      integer(c_int), value :: dtype
    end function
    integer(c_int) function elc_dataset_add_block3_deferred(ds, name, base, extent, lo, n, &
        dtype) bind(c)
      import :: c_int, c_ptr, c_char, c_size_t
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: name(*)
      type(c_ptr), value :: base
      integer(c_size_t), intent(in) :: extent(3), lo(3), n(3)
      integer(c_int), value :: dtype
    end function
    integer(c_int) function elc_dataset_unpack_tensor(ds, name, data, dims, ndims, dtype, &
        layout) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: ds, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_size_t), value :: ndims
      integer(c_int), value :: dtype, layout
    end function
    !> borrow a tensor: *data (row-major) and *dims owned by the dataset
    integer(c_int) function elc_dataset_get_tensor(ds, name, data, dims, ndims, dtype) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: name(*)
      type(c_ptr), intent(out) :: data, dims
      integer(c_size_t), intent(out) :: ndims
      integer(c_int), intent(out) :: dtype
    end function
    integer(c_int) function elc_dataset_add_meta_scalar(ds, field, value, mtype) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: ds, value
      character(kind=c_char), intent(in) :: field(*)
      integer(c_int), value :: mtype
    end function
    integer(c_int) function elc_dataset_add_meta_string(ds, field, str, slen) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: field(*), str(*)
      integer(c_size_t), value :: slen
    end function
    integer(c_int) function elc_dataset_get_meta_scalars(ds, field, values, count, mtype) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: field(*)
      type(c_ptr), intent(out) :: values
      integer(c_size_t), intent(out) :: count
      integer(c_int), intent(out) :: mtype
    end function
    integer(c_int) function elc_dataset_get_meta_string_count(ds, field, count) bind(c)
      import :: c_ptr, c_char, c_int, c_size_t
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: field(*)
      integer(c_size_t), intent(out) :: count
    end function
    integer(c_int) function elc_dataset_get_meta_type(ds, field, mtype) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: field(*)
      integer(c_int), intent(out) :: mtype
    end function
    !> i-th (0-based) string of a string field, blank padded into buf; slen gets its length
    integer(c_int) function elc_f_get_meta_string(ds, field, i, buf, buflen, slen) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: ds
      character(kind=c_char), intent(in) :: field(*)
      integer(c_int), value :: i, buflen
      character(kind=c_char) :: buf(*)
      integer(c_int), intent(out) :: slen
    end function

    ! --- stager ---
    integer(c_int) function elc_stager_create(out, max_bytes, policy, address, suffix) bind(c)
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), intent(out) :: out
      integer(c_size_t), value :: max_bytes
      integer(c_int), value :: policy
      type(c_ptr), value :: address, suffix
    end function
    integer(c_int) function elc_stager_submit(s, ds, list) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: s, ds
      character(kind=c_char), intent(in) :: list(*)
    end function
    integer(c_int) function elc_stager_flush(s, timeout) bind(c)
      import :: c_ptr, c_int, c_double
      type(c_ptr), value :: s
      real(c_double), value :: timeout
    end function
    integer(c_int) function elc_stager_fence(s) bind(c)
      import :: c_ptr, c_int
      type(c_ptr), value :: s
    end function
    integer(c_int) function elc_buffers_reserve(nbytes, count) bind(c)
      import :: c_int, c_size_t
      integer(c_size_t), value :: nbytes, count
    end function
    real(c_double) function elc_thread_cpu_seconds() bind(c)
      import :: c_double
    end function
    integer(c_int64_t) function elc_thread_minor_faults() bind(c)
      import :: c_int64_t
    end function
    integer(c_int) function elc_stager_stats_get(s, stats) bind(c)
      import :: c_ptr, c_int, elc_stager_stats
      type(c_ptr), value :: s
      type(elc_stager_stats), intent(out) :: stats
    end function
    integer(c_size_t) function elc_stager_last_error(s, buf, buflen) bind(c)
      import :: c_ptr, c_char, c_size_t
      type(c_ptr), value :: s
      character(kind=c_char), intent(out) :: buf(*)
      integer(c_size_t), value :: buflen
    end function
    subroutine elc_f_stager_last_error(s, buf, buflen) bind(c)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: s
      character(kind=c_char) :: buf(*)
      integer(c_int), value :: buflen
    end subroutine
    integer(c_int) function elc_stager_destroy(s) bind(c)
      import :: c_ptr, c_int
      type(c_ptr), value :: s
    end function

    ! --- inference ---
    integer(c_int) function elc_infer_create(f, address, base, shard, timeout_ms) bind(c)
      import :: c_int, c_ptr, c_char
      type(c_ptr), intent(out) :: f
      type(c_ptr), value :: address
      character(kind=c_char), intent(in) :: base(*)
      integer(c_int), value :: shard, timeout_ms
    end function
    integer(c_int) function elc_infer_start(f, model, meta, input, n, nin, layout) bind(c)
      import :: c_int, c_ptr, c_size_t
      type(c_ptr), value :: f, model, meta, input
      integer(c_size_t), value :: n, nin
      integer(c_int), value :: layout
    end function
    integer(c_int) function elc_infer_finish(f, output, n, nout, layout, meta) bind(c)
      import :: c_int, c_ptr, c_size_t, elc_infer_meta
      type(c_ptr), value :: f, output
      integer(c_size_t), value :: n, nout
      integer(c_int), value :: layout
      type(elc_infer_meta), intent(out) :: meta
    end function
    integer(c_int) function elc_infer_stats_get(f, stats) bind(c)
      import :: c_int, c_ptr, elc_infer_stats
      type(c_ptr), value :: f
      type(elc_infer_stats), intent(out) :: stats
    end function
    integer(c_int) function elc_infer_set_input_dtype(f, dtype) bind(c)
      import :: c_int, c_ptr
      type(c_ptr), value :: f
      integer(c_int), value :: dtype
    end function
    subroutine elc_infer_destroy(f) bind(c)
      import :: c_ptr
      type(c_ptr), value :: f
    end subroutine
  end interface

contains

  !> A NUL-terminated copy of a Fortran string (trailing blanks removed).
  pure function c_str(s) result(r)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: r
    r = trim(s) // c_null_char
  end function

  !> A Fortran copy of n bytes at p (of a NUL-terminated string when n is absent).
  function f_str(p, n) result(s)
    type(c_ptr), intent(in) :: p
    integer(c_size_t), optional, intent(in) :: n
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: v(:)
    integer(c_size_t) :: k, i
    s = ''
    if (.not. c_associated(p)) return
    if (present(n)) then
      k = n
    else
      k = c_strlen(p)
    end if
    call c_f_pointer(p, v, [k])
    deallocate(s)
    allocate(character(len=k) :: s)
    do i = 1, k
      s(i:i) = v(i)
    end do
  end function

  !> The message of the last error raised by the library in this thread.
  function get_last_error() result(msg)
    character(len=:), allocatable :: msg
    character(kind=c_char) :: buf(1)
    integer(c_size_t) :: n
    n = elc_last_error_copy(buf, 0_c_size_t)
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
