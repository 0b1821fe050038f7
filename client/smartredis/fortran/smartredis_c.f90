! smartredis_c — the one Fortran declaration of the SmartRedis C API (client/smartredis/include:
! c_client.h, c_dataset.h, c_configoptions.h, c_logger.h, c_logcontext.h, srexception.h) that
! the smartredis_* modules call. Handles are type(c_ptr); names go with their length (no NUL).
! Each interface keeps the C function's name; the modules wrap them in SmartRedis's Fortran API.
module smartredis_c
  use iso_c_binding
  implicit none
  private

  public :: SRGetLastError, SRGetLastErrorLocation
  public :: SimpleCreateClient, CreateClient, SmartRedisCClient, DeleteCClient, client_to_string
  public :: put_tensor, unpack_tensor, rename_tensor, copy_tensor, delete_tensor
  public :: put_dataset, get_dataset, rename_dataset, copy_dataset, delete_dataset
  public :: set_model, set_model_multigpu, set_model_from_file, set_model_from_file_multigpu, &
            get_model, run_model, run_model_multigpu, delete_model, delete_model_multigpu
  public :: set_script, set_script_multigpu, set_script_from_file, &
            set_script_from_file_multigpu, get_script, run_script, run_script_multigpu, &
            delete_script, delete_script_multigpu
  public :: key_exists, tensor_exists, model_exists, dataset_exists, poll_key, poll_tensor, &
            poll_model, poll_dataset
  public :: set_data_source, use_tensor_ensemble_prefix, use_dataset_ensemble_prefix, &
            use_model_ensemble_prefix, use_list_ensemble_prefix
  public :: append_to_list, delete_list, copy_list, rename_list, get_list_length, &
            poll_list_length, poll_list_length_gte, poll_list_length_lte, &
            get_dataset_list_range_allocated
  public :: CDataSet, DeallocateDataSet, add_tensor, unpack_dataset_tensor, add_meta_scalar, &
            add_meta_string, get_meta_scalars, get_tensor_type, get_tensor_dims, &
            get_metadata_field_type, dataset_to_string
  public :: create_configoptions_from_environment, get_integer_option, get_string_option, &
            is_configured, override_integer_option, override_string_option, &
            DeallocateConfigOptions
  public :: log_data_noexcept, log_warning_noexcept, log_error_noexcept, &
            log_data_noexcept_string, log_warning_noexcept_string, log_error_noexcept_string
  public :: SmartRedisCLogContext, DeallocateLogContext

  interface
    ! --- errors ---
    type(c_ptr) function SRGetLastError() bind(c, name='SRGetLastError')
      import :: c_ptr
    end function
    type(c_ptr) function SRGetLastErrorLocation() bind(c, name='SRGetLastErrorLocation')
      import :: c_ptr
    end function

    ! --- client construction ---
    integer(c_int) function SimpleCreateClient(logger_name, logger_name_length, new_client) &
        bind(c, name='SimpleCreateClient')
      import :: c_char, c_size_t, c_ptr, c_int
      character(kind=c_char), intent(in) :: logger_name(*)
      integer(c_size_t), value :: logger_name_length
      type(c_ptr), intent(out) :: new_client
    end function
    integer(c_int) function CreateClient(config_options, logger_name, logger_name_length, &
        new_client) bind(c, name='CreateClient')
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: config_options
      character(kind=c_char), intent(in) :: logger_name(*)
      integer(c_size_t), value :: logger_name_length
      type(c_ptr), intent(out) :: new_client
    end function
    integer(c_int) function SmartRedisCClient(cluster, logger_name, logger_name_length, &
        new_client) bind(c, name='SmartRedisCClient')
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      logical(c_bool), value :: cluster
      character(kind=c_char), intent(in) :: logger_name(*)
      integer(c_size_t), value :: logger_name_length
      type(c_ptr), intent(out) :: new_client
    end function
    integer(c_int) function DeleteCClient(c_client) bind(c, name='DeleteCClient')
      import :: c_ptr, c_int
      type(c_ptr), intent(inout) :: c_client
    end function
    type(c_ptr) function client_to_string(c_client) bind(c)
      import :: c_ptr
      type(c_ptr), value :: c_client
    end function

    ! --- tensors ---
    integer(c_int) function put_tensor(c_client, name, name_length, data, dims, n_dims, &
        ttype, mem_layout) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length, n_dims
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_int), value :: ttype, mem_layout
    end function
    integer(c_int) function unpack_tensor(c_client, name, name_length, result, dims, n_dims, &
        ttype, mem_layout) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, result
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length, n_dims
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_int), value :: ttype, mem_layout
    end function
    integer(c_int) function rename_tensor(c_client, old_name, old_name_length, new_name, &
        new_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: old_name(*), new_name(*)
      integer(c_size_t), value :: old_name_length, new_name_length
    end function
    integer(c_int) function copy_tensor(c_client, src_name, src_name_length, dest_name, &
        dest_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: src_name(*), dest_name(*)
      integer(c_size_t), value :: src_name_length, dest_name_length
    end function
    integer(c_int) function delete_tensor(c_client, name, name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
    end function

    ! --- datasets in the database ---
    integer(c_int) function put_dataset(c_client, dataset) bind(c)
      import :: c_ptr, c_int
      type(c_ptr), value :: c_client, dataset
    end function
    integer(c_int) function get_dataset(c_client, name, name_length, dataset) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      type(c_ptr), intent(out) :: dataset
    end function
    integer(c_int) function rename_dataset(c_client, old_name, old_name_length, new_name, &
        new_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: old_name(*), new_name(*)
      integer(c_size_t), value :: old_name_length, new_name_length
    end function
    integer(c_int) function copy_dataset(c_client, src_name, src_name_length, dest_name, &
        dest_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: src_name(*), dest_name(*)
      integer(c_size_t), value :: src_name_length, dest_name_length
    end function
    integer(c_int) function delete_dataset(c_client, name, name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
    end function

    ! --- models ---
    integer(c_int) function set_model(c_client, name, name_length, model, model_length, &
        backend, backend_length, device, device_length, batch_size, min_batch_size, &
        min_batch_timeout, tag, tag_length, inputs, input_lengths, n_inputs, outputs, &
        output_lengths, n_outputs) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*), model(*), backend(*), device(*), tag(*)
      integer(c_size_t), value :: name_length, model_length, backend_length, device_length, &
                                  tag_length, n_inputs, n_outputs
      integer(c_int), value :: batch_size, min_batch_size, min_batch_timeout
    end function
    integer(c_int) function set_model_multigpu(c_client, name, name_length, model, &
        model_length, backend, backend_length, first_gpu, num_gpus, batch_size, min_batch_size, &
        min_batch_timeout, tag, tag_length, inputs, input_lengths, n_inputs, outputs, &
        output_lengths, n_outputs) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*), model(*), backend(*), tag(*)
      integer(c_size_t), value :: name_length, model_length, backend_length, tag_length, &
                                  n_inputs, n_outputs
      integer(c_int), value :: first_gpu, num_gpus, batch_size, min_batch_size, &
                               min_batch_timeout
    end function
    integer(c_int) function set_model_from_file(c_client, name, name_length, model_file, &
        model_file_length, backend, backend_length, device, device_length, batch_size, &
        min_batch_size, min_batch_timeout, tag, tag_length, inputs, input_lengths, n_inputs, &
        outputs, output_lengths, n_outputs) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*), model_file(*), backend(*), device(*), tag(*)
      integer(c_size_t), value :: name_length, model_file_length, backend_length, &
                                  device_length, tag_length, n_inputs, n_outputs
      integer(c_int), value :: batch_size, min_batch_size, min_batch_timeout
    end function
    integer(c_int) function set_model_from_file_multigpu(c_client, name, name_length, &
        model_file, model_file_length, backend, backend_length, first_gpu, num_gpus, &
        batch_size, min_batch_size, min_batch_timeout, tag, tag_length, inputs, input_lengths, &
        n_inputs, outputs, output_lengths, n_outputs) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*), model_file(*), backend(*), tag(*)
      integer(c_size_t), value :: name_length, model_file_length, backend_length, &
                                  tag_length, n_inputs, n_outputs
      integer(c_int), value :: first_gpu, num_gpus, batch_size, min_batch_size, &
                               min_batch_timeout
    end function
    integer(c_int) function get_model(c_client, name, name_length, model_length, model) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_size_t), intent(out) :: model_length
      type(c_ptr), intent(out) :: model
    end function
    integer(c_int) function run_model(c_client, name, name_length, inputs, input_lengths, &
        n_inputs, outputs, output_lengths, n_outputs) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length, n_inputs, n_outputs
    end function
    integer(c_int) function run_model_multigpu(c_client, name, name_length, inputs, &
        input_lengths, n_inputs, outputs, output_lengths, n_outputs, offset, first_gpu, &
        num_gpus) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length, n_inputs, n_outputs
      integer(c_int), value :: offset, first_gpu, num_gpus
    end function
    integer(c_int) function delete_model(c_client, name, name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
    end function
    integer(c_int) function delete_model_multigpu(c_client, name, name_length, first_gpu, &
        num_gpus) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: first_gpu, num_gpus
    end function

    ! --- scripts ---
    integer(c_int) function set_script(c_client, name, name_length, device, device_length, &
        script, script_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*), device(*), script(*)
      integer(c_size_t), value :: name_length, device_length, script_length
    end function
    integer(c_int) function set_script_multigpu(c_client, name, name_length, script, &
        script_length, first_gpu, num_gpus) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*), script(*)
      integer(c_size_t), value :: name_length, script_length
      integer(c_int), value :: first_gpu, num_gpus
    end function
    integer(c_int) function set_script_from_file(c_client, name, name_length, device, &
        device_length, script_file, script_file_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*), device(*), script_file(*)
      integer(c_size_t), value :: name_length, device_length, script_file_length
    end function
    integer(c_int) function set_script_from_file_multigpu(c_client, name, name_length, &
        script_file, script_file_length, first_gpu, num_gpus) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*), script_file(*)
      integer(c_size_t), value :: name_length, script_file_length
      integer(c_int), value :: first_gpu, num_gpus
    end function
    integer(c_int) function get_script(c_client, name, name_length, script, script_length) &
        bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      type(c_ptr), intent(out) :: script
      integer(c_size_t), intent(out) :: script_length
    end function
    integer(c_int) function run_script(c_client, name, name_length, func, func_length, &
        inputs, input_lengths, n_inputs, outputs, output_lengths, n_outputs) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*), func(*)
      integer(c_size_t), value :: name_length, func_length, n_inputs, n_outputs
    end function
    integer(c_int) function run_script_multigpu(c_client, name, name_length, func, &
        func_length, inputs, input_lengths, n_inputs, outputs, output_lengths, n_outputs, &
        offset, first_gpu, num_gpus) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, inputs, input_lengths, outputs, output_lengths
      character(kind=c_char), intent(in) :: name(*), func(*)
      integer(c_size_t), value :: name_length, func_length, n_inputs, n_outputs
      integer(c_int), value :: offset, first_gpu, num_gpus
    end function
    integer(c_int) function delete_script(c_client, name, name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
    end function
    integer(c_int) function delete_script_multigpu(c_client, name, name_length, first_gpu, &
        num_gpus) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: first_gpu, num_gpus
    end function

    ! --- existence and polling ---
    integer(c_int) function key_exists(c_client, key, key_length, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: key(*)
      integer(c_size_t), value :: key_length
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function tensor_exists(c_client, name, name_length, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function model_exists(c_client, name, name_length, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function dataset_exists(c_client, name, name_length, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function poll_key(c_client, key, key_length, poll_frequency_ms, num_tries, &
        exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: key(*)
      integer(c_size_t), value :: key_length
      integer(c_int), value :: poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function poll_tensor(c_client, name, name_length, poll_frequency_ms, &
        num_tries, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function poll_model(c_client, name, name_length, poll_frequency_ms, &
        num_tries, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function
    integer(c_int) function poll_dataset(c_client, name, name_length, poll_frequency_ms, &
        num_tries, exists) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: exists
    end function

    ! --- ensemble prefixes ---
    integer(c_int) function set_data_source(c_client, source_id, source_id_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: source_id(*)
      integer(c_size_t), value :: source_id_length
    end function
    integer(c_int) function use_tensor_ensemble_prefix(c_client, use_prefix) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      logical(c_bool), value :: use_prefix
    end function
    integer(c_int) function use_dataset_ensemble_prefix(c_client, use_prefix) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      logical(c_bool), value :: use_prefix
    end function
    integer(c_int) function use_model_ensemble_prefix(c_client, use_prefix) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      logical(c_bool), value :: use_prefix
    end function
    integer(c_int) function use_list_ensemble_prefix(c_client, use_prefix) bind(c)
      import :: c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      logical(c_bool), value :: use_prefix
    end function

    ! --- aggregation lists ---
    integer(c_int) function append_to_list(c_client, list_name, list_name_length, dataset) &
        bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client, dataset
      character(kind=c_char), intent(in) :: list_name(*)
      integer(c_size_t), value :: list_name_length
    end function
    integer(c_int) function delete_list(c_client, list_name, list_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: list_name(*)
      integer(c_size_t), value :: list_name_length
    end function
    integer(c_int) function copy_list(c_client, src_name, src_name_length, dest_name, &
        dest_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: src_name(*), dest_name(*)
      integer(c_size_t), value :: src_name_length, dest_name_length
    end function
    integer(c_int) function rename_list(c_client, src_name, src_name_length, dest_name, &
        dest_name_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: src_name(*), dest_name(*)
      integer(c_size_t), value :: src_name_length, dest_name_length
    end function
    integer(c_int) function get_list_length(c_client, list_name, list_name_length, &
        result_length) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: list_name(*)
      integer(c_size_t), value :: list_name_length
      integer(c_int), intent(out) :: result_length
    end function
    integer(c_int) function poll_list_length(c_client, name, name_length, list_length, &
        poll_frequency_ms, num_tries, poll_result) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: list_length, poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: poll_result
    end function
    integer(c_int) function poll_list_length_gte(c_client, name, name_length, list_length, &
        poll_frequency_ms, num_tries, poll_result) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: list_length, poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: poll_result
    end function
    integer(c_int) function poll_list_length_lte(c_client, name, name_length, list_length, &
        poll_frequency_ms, num_tries, poll_result) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: list_length, poll_frequency_ms, num_tries
      logical(c_bool), intent(out) :: poll_result
    end function
    integer(c_int) function get_dataset_list_range_allocated(c_client, list_name, &
        list_name_length, start_index, end_index, datasets) &
        bind(c, name='_get_dataset_list_range_allocated')
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_client
      character(kind=c_char), intent(in) :: list_name(*)
      integer(c_size_t), value :: list_name_length
      integer(c_int), value :: start_index, end_index
      type(c_ptr) :: datasets(*)
    end function

    ! --- datasets in memory ---
    integer(c_int) function CDataSet(name, name_length, new_dataset) bind(c, name='CDataSet')
      import :: c_char, c_size_t, c_ptr, c_int
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      type(c_ptr), intent(out) :: new_dataset
    end function
    integer(c_int) function DeallocateDataSet(dataset) bind(c, name='DeallocateDataSet')
      import :: c_ptr, c_int
      type(c_ptr), intent(inout) :: dataset
    end function
    integer(c_int) function add_tensor(dataset, name, name_length, data, dims, n_dims, ttype, &
        mem_layout) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length, n_dims
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_int), value :: ttype, mem_layout
    end function
    integer(c_int) function unpack_dataset_tensor(dataset, name, name_length, data, dims, &
        n_dims, ttype, mem_layout) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length, n_dims
      integer(c_size_t), intent(in) :: dims(*)
      integer(c_int), value :: ttype, mem_layout
    end function
    integer(c_int) function add_meta_scalar(dataset, name, name_length, data, mtype) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset, data
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), value :: mtype
    end function
    integer(c_int) function add_meta_string(dataset, name, name_length, data, data_length) &
        bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset
      character(kind=c_char), intent(in) :: name(*), data(*)
      integer(c_size_t), value :: name_length, data_length
    end function
    integer(c_int) function get_meta_scalars(dataset, name, name_length, length, mtype, &
        scalar_data) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_size_t), intent(out) :: length
      integer(c_int), intent(out) :: mtype
      type(c_ptr), intent(out) :: scalar_data
    end function
    integer(c_int) function get_tensor_type(dataset, name, name_length, ttype) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), intent(out) :: ttype
    end function
    !> dims points at a buffer of ndims entries; ndims receives the rank
    integer(c_int) function get_tensor_dims(dataset, name, name_length, dims, ndims) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      type(c_ptr), intent(in) :: dims
      integer(c_size_t), intent(inout) :: ndims
    end function
    integer(c_int) function get_metadata_field_type(dataset, name, name_length, mdtype) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: dataset
      character(kind=c_char), intent(in) :: name(*)
      integer(c_size_t), value :: name_length
      integer(c_int), intent(out) :: mdtype
    end function
    type(c_ptr) function dataset_to_string(dataset) bind(c)
      import :: c_ptr
      type(c_ptr), value :: dataset
    end function

    ! --- configuration options ---
    integer(c_int) function create_configoptions_from_environment(db_suffix, db_suffix_length, &
        new_configoptions) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      character(kind=c_char), intent(in) :: db_suffix(*)
      integer(c_size_t), value :: db_suffix_length
      type(c_ptr), intent(out) :: new_configoptions
    end function
    integer(c_int) function get_integer_option(c_cfgopts, option_name, option_name_len, &
        result) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_int64_t
      type(c_ptr), value :: c_cfgopts
      character(kind=c_char), intent(in) :: option_name(*)
      integer(c_size_t), value :: option_name_len
      integer(c_int64_t), intent(inout) :: result
    end function
    integer(c_int) function get_string_option(c_cfgopts, option_name, option_name_len, &
        result, result_len) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_cfgopts
      character(kind=c_char), intent(in) :: option_name(*)
      integer(c_size_t), value :: option_name_len
      type(c_ptr), intent(out) :: result
      integer(c_size_t), intent(out) :: result_len
    end function
    integer(c_int) function is_configured(c_cfgopts, option_name, option_name_len, cfg_result) &
        bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_bool
      type(c_ptr), value :: c_cfgopts
      character(kind=c_char), intent(in) :: option_name(*)
      integer(c_size_t), value :: option_name_len
      logical(c_bool), intent(out) :: cfg_result
    end function
    integer(c_int) function override_integer_option(c_cfgopts, option_name, option_name_len, &
        value) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int, c_int64_t
      type(c_ptr), value :: c_cfgopts
      character(kind=c_char), intent(in) :: option_name(*)
      integer(c_size_t), value :: option_name_len
      integer(c_int64_t), value :: value
    end function
    integer(c_int) function override_string_option(c_cfgopts, option_name, option_name_len, &
        value, value_len) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: c_cfgopts
      character(kind=c_char), intent(in) :: option_name(*), value(*)
      integer(c_size_t), value :: option_name_len, value_len
    end function
    integer(c_int) function DeallocateConfigOptions(c_cfgopts) &
        bind(c, name='DeallocateConfigOptions')
      import :: c_ptr, c_int
      type(c_ptr), intent(inout) :: c_cfgopts
    end function

    ! --- logging ---
    subroutine log_data_noexcept(context, level, data, data_len) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: context
      integer(c_int), value :: level
      character(kind=c_char), intent(in) :: data(*)
      integer(c_size_t), value :: data_len
    end subroutine
    subroutine log_warning_noexcept(context, level, data, data_len) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: context
      integer(c_int), value :: level
      character(kind=c_char), intent(in) :: data(*)
      integer(c_size_t), value :: data_len
    end subroutine
    subroutine log_error_noexcept(context, level, data, data_len) bind(c)
      import :: c_char, c_size_t, c_ptr, c_int
      type(c_ptr), value :: context
      integer(c_int), value :: level
      character(kind=c_char), intent(in) :: data(*)
      integer(c_size_t), value :: data_len
    end subroutine
    subroutine log_data_noexcept_string(context, context_len, level, data, data_len) bind(c)
      import :: c_char, c_size_t, c_int
      character(kind=c_char), intent(in) :: context(*), data(*)
      integer(c_size_t), value :: context_len, data_len
      integer(c_int), value :: level
    end subroutine
    subroutine log_warning_noexcept_string(context, context_len, level, data, data_len) bind(c)
      import :: c_char, c_size_t, c_int
      character(kind=c_char), intent(in) :: context(*), data(*)
      integer(c_size_t), value :: context_len, data_len
      integer(c_int), value :: level
    end subroutine
    subroutine log_error_noexcept_string(context, context_len, level, data, data_len) bind(c)
      import :: c_char, c_size_t, c_int
      character(kind=c_char), intent(in) :: context(*), data(*)
      integer(c_size_t), value :: context_len, data_len
      integer(c_int), value :: level
    end subroutine
    integer(c_int) function SmartRedisCLogContext(context, context_length, new_logcontext) &
        bind(c, name='SmartRedisCLogContext')
      import :: c_char, c_size_t, c_ptr, c_int
      character(kind=c_char), intent(in) :: context(*)
      integer(c_size_t), value :: context_length
      type(c_ptr), intent(out) :: new_logcontext
    end function
    integer(c_int) function DeallocateLogContext(logcontext) bind(c, name='DeallocateLogContext')
      import :: c_ptr, c_int
      type(c_ptr), intent(inout) :: logcontext
    end function
  end interface

end module smartredis_c
