! srftest.f90 — exercises SmartRedis 0.6.1's Fortran API (smartredis_client, smartredis_dataset,
! smartredis_configoptions, smartredis_logger, smartredis_logcontext, smartredis_errors and
! enum_fortran.inc) against a real database; test_client_smartredis_fortran.py compares what it
! writes and reads with the genuine SmartRedis Python client. Written in SmartRedis's API only.
!
!   srftest write TAG       tensors of every type (double: ranks 1-5 and a strided section), a
!                           dataset with every metadata type, a list of 3 datasets, a script
!   srftest read TAG DIR    what the Python client wrote: tensors, a dataset, a list (whole and
!                           ranges), a model (run, get_model) and a script (get_script, run)
!   srftest ops TAG         copy/rename/delete of tensors, datasets and lists, exists, polls,
!                           list length polls, error codes and messages
!   srftest prefix TAG      ensemble prefixes (SSKEYIN/SSKEYOUT) and set_data_source
!   srftest config SFX TAG  ConfigOptions from the environment with suffix SFX; a client from it
!   srftest log             log_data/log_warning/log_error against every kind of context
!   srftest multigpu TAG DIR  the multi-GPU model and script calls
! Value of the element with 0-based column-major index k: k*0.5-3 (reals), k-5 (integers).
! Prints OK on success; on failure the reason, and exit status 1.
program srftest
  use iso_c_binding, only: c_int8_t, c_int16_t, c_int32_t, c_int64_t, c_float, c_double, c_bool
  use iso_fortran_env, only: output_unit
  use smartredis_client, only: client_type
  use smartredis_dataset, only: dataset_type
  use smartredis_configoptions, only: configoptions_type
  use smartredis_logcontext, only: logcontext_type
  use smartredis_logger, only: log_data, log_warning, log_error
  use smartredis_errors, only: get_last_error, get_last_error_location, print_last_error
  implicit none
  include 'enum_fortran.inc'

  character(len=256) :: mode, arg2, arg3
  type(client_type) :: client

  call get_command_argument(1, mode)
  call get_command_argument(2, arg2)
  call get_command_argument(3, arg3)
  select case (trim(mode))
  case ('write')
    call do_write(trim(arg2))
  case ('read')
    call do_read(trim(arg2), trim(arg3))
  case ('ops')
    call do_ops(trim(arg2))
  case ('prefix')
    call do_prefix(trim(arg2))
  case ('config')
    call do_config(trim(arg2), trim(arg3))
  case ('log')
    call do_log()
  case ('multigpu')
    call do_multigpu(trim(arg2), trim(arg3))
  case default
    write(*, '(a)') 'usage: srftest write|read|ops|prefix|config|log|multigpu ...'
    stop 2
  end select
  write(*, '(a)') 'OK'

contains

  subroutine check(c, what)
    integer, intent(in) :: c
    character(len=*), intent(in) :: what
    if (c /= SRNoError) then
      write(*, '(a,i0)') 'FAIL '//what//': code ', c
      call print_last_error(output_unit)
      stop 1
    end if
  end subroutine

  subroutine expect(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (.not. cond) then
      write(*, '(a)') 'FAIL '//what
      stop 1
    end if
  end subroutine

  !> Connect with the cluster mode of SR_DB_TYPE, in the form given.
  subroutine connect(form)
    character(len=*), intent(in) :: form
    character(len=32) :: kind
    call get_environment_variable('SR_DB_TYPE', kind)
    if (form == 'cluster') then
      call check(client%initialize(trim(kind) == 'Clustered', 'srftest'), 'initialize(cluster)')
    else if (form == 'bare') then
      call check(client%initialize(), 'initialize()')
    else
      call check(client%initialize('srftest'), 'initialize(logger_name)')
    end if
    call expect(client%isinitialized(), 'isinitialized')
  end subroutine

  pure real(c_double) function rv(k)
    integer, intent(in) :: k
    rv = k*0.5_c_double - 3.0_c_double
  end function

  pure integer function iv(k)
    integer, intent(in) :: k
    iv = k - 5
  end function

  subroutine do_write(tag)
    character(len=*), intent(in) :: tag
    real(c_double), allocatable :: d1(:), d2(:,:), d3(:,:,:), d4(:,:,:,:), d5(:,:,:,:,:)
    real(c_float) :: f2(3,5)
    integer(c_int8_t) :: i1(3,5)
    integer(c_int16_t) :: i2(3,5)
    integer(c_int32_t) :: i4(3,5), k7(7)
    integer(c_int64_t) :: i8(3,5), v(1)
    type(dataset_type) :: ds, item
    character(len=:), allocatable :: script
    character(len=64) :: name
    integer :: k, i
    call connect('cluster')
    allocate(d1(7), d2(3,5), d3(2,3,4), d4(2,3,1,5), d5(2,2,3,1,2))
    d1 = [(rv(k), k = 0, 6)]
    d2 = reshape([(rv(k), k = 0, 14)], [3, 5])
    d3 = reshape([(rv(k), k = 0, 23)], [2, 3, 4])
    d4 = reshape([(rv(k), k = 0, 29)], [2, 3, 1, 5])
    d5 = reshape([(rv(k), k = 0, 23)], [2, 2, 3, 1, 2])
    f2 = real(d2, c_float)
    i1 = int(reshape([(iv(k), k = 0, 14)], [3, 5]), c_int8_t)
    i2 = int(i1, c_int16_t)
    i4 = int(i1, c_int32_t)
    i8 = int(i1, c_int64_t)
    call check(client%put_tensor(tag//'.double_1', d1, shape(d1)), 'put double_1')
    call check(client%put_tensor(tag//'.double_2', d2, shape(d2)), 'put double_2')
    call check(client%put_tensor(tag//'.double_3', d3, shape(d3)), 'put double_3')
    call check(client%put_tensor(tag//'.double_4', d4, shape(d4)), 'put double_4')
    call check(client%put_tensor(tag//'.double_5', d5, shape(d5)), 'put double_5')
    call check(client%put_tensor(tag//'.float_2', f2, shape(f2)), 'put float_2')
    call check(client%put_tensor(tag//'.int8_2', i1, shape(i1)), 'put int8_2')
    call check(client%put_tensor(tag//'.int16_2', i2, shape(i2)), 'put int16_2')
    call check(client%put_tensor(tag//'.int32_2', i4, shape(i4)), 'put int32_2')
    call check(client%put_tensor(tag//'.int64_2', i8, shape(i8)), 'put int64_2')
    ! a strided section: rows 1 and 3 of d2
    call check(client%put_tensor(tag//'.section', d2(1:3:2, :), [2, 5]), 'put section')
    ! dims describing more elements than the array holds
    call expect(client%put_tensor(tag//'.bad', d1, [8]) == SRParameterError, 'dims too large')
    call expect(len(get_last_error()) > 0, 'a message for the bad dims')

    call check(ds%initialize(tag//'.ds'), 'dataset initialize')
    call check(ds%add_tensor('u', d2, shape(d2)), 'add_tensor u')
    k7 = [(int(iv(k), c_int32_t), k = 0, 6)]
    call check(ds%add_tensor('k', k7, shape(k7)), 'add_tensor k')
    call check(ds%add_meta_scalar('md', 1.5_c_double), 'meta md')
    call check(ds%add_meta_scalar('md', 2.5_c_double), 'meta md 2')
    call check(ds%add_meta_scalar('mf', 0.25_c_float), 'meta mf')
    call check(ds%add_meta_scalar('mi', 7_c_int32_t), 'meta mi')
    call check(ds%add_meta_scalar('ml', 2_c_int64_t**40), 'meta ml')
    call check(ds%add_meta_string('ms', 'hello'), 'meta ms')
    call check(ds%add_meta_string('ms', 'world'), 'meta ms 2')
    call check(client%put_dataset(ds), 'put_dataset')

    do i = 0, 2
      write(name, '(a,a,i0)') tag, '.item', i
      call check(item%initialize(trim(name)), 'item initialize')
      v(1) = 10_c_int64_t*i
      call check(item%add_tensor('v', v, [1]), 'item add_tensor')
      call check(item%add_meta_scalar('i', int(i, c_int32_t)), 'item meta')
      call check(client%put_dataset(item), 'item put_dataset')
      call check(client%append_to_list(tag//'.list', item), 'append_to_list')
    end do

    script = 'def double(x):' // new_line('a') // '    return x * 2' // new_line('a')
    call check(client%set_script(tag//'.script', 'CPU', script), 'set_script')
    call check(client%destructor(), 'destructor')
  end subroutine

  subroutine do_read(tag, dir)
    character(len=*), intent(in) :: tag, dir
    real(c_double) :: d2(3,5), u(3,5), out(2,3)
    real(c_float) :: f2(3,5), x(2,3), y(2,3)
    integer(c_int8_t) :: i1(3,5)
    integer(c_int16_t) :: i2(3,5)
    integer(c_int32_t) :: i4(3,5)
    integer(c_int64_t) :: i8(3,5), v(1)
    real(c_double), dimension(:), pointer :: md
    integer(c_int32_t), dimension(:), pointer :: mi
    integer(c_int64_t), dimension(:), pointer :: ml
    real(c_float), dimension(:), pointer :: mf
    type(dataset_type) :: ds
    type(dataset_type), allocatable :: items(:)
    integer :: k, n, dims(4), ndims, t, i
    character(len=:), allocatable :: filebytes
    character(len=4096) :: model, script
    call connect('bare')
    call check(client%unpack_tensor(tag//'.py_double', d2, shape(d2)), 'unpack double')
    call check(client%unpack_tensor(tag//'.py_float', f2, shape(f2)), 'unpack float')
    call check(client%unpack_tensor(tag//'.py_int8', i1, shape(i1)), 'unpack int8')
    call check(client%unpack_tensor(tag//'.py_int16', i2, shape(i2)), 'unpack int16')
    call check(client%unpack_tensor(tag//'.py_int32', i4, shape(i4)), 'unpack int32')
    call check(client%unpack_tensor(tag//'.py_int64', i8, shape(i8)), 'unpack int64')
    do k = 0, 14
      call expect(d2(mod(k, 3) + 1, k/3 + 1) == rv(k), 'double value')
      call expect(f2(mod(k, 3) + 1, k/3 + 1) == real(rv(k), c_float), 'float value')
      call expect(i1(mod(k, 3) + 1, k/3 + 1) == iv(k), 'int8 value')
      call expect(i2(mod(k, 3) + 1, k/3 + 1) == iv(k), 'int16 value')
      call expect(i4(mod(k, 3) + 1, k/3 + 1) == iv(k), 'int32 value')
      call expect(i8(mod(k, 3) + 1, k/3 + 1) == iv(k), 'int64 value')
    end do
    ! a strided section as the destination: every other column of a wider array
    block
      real(c_double) :: wide(3,10)
      wide = -1
      call check(client%unpack_tensor(tag//'.py_double', wide(:, 1:10:2), [3, 5]), &
                 'unpack into a section')
      call expect(all(wide(:, 1:10:2) == d2) .and. all(wide(:, 2:10:2) == -1), 'section values')
    end block

    call check(client%get_dataset(tag//'.pyds', ds), 'get_dataset')
    call check(ds%unpack_dataset_tensor('u', u, shape(u)), 'unpack_dataset_tensor')
    call expect(all(u == d2), 'dataset tensor values')
    call check(ds%get_tensor_type('u', t), 'get_tensor_type')
    call expect(t == tensor_dbl, 'tensor type')
    ndims = size(dims)
    call check(ds%get_tensor_dims('u', dims, ndims), 'get_tensor_dims')
    call expect(ndims == 2 .and. all(dims(1:2) == [3, 5]), 'tensor dims')
    call check(ds%get_meta_scalars('md', md), 'meta md')
    call expect(size(md) == 2 .and. md(1) == 1.5_c_double .and. md(2) == 2.5_c_double, 'md')
    call check(ds%get_meta_scalars('mi', mi), 'meta mi')
    call expect(size(mi) == 1 .and. mi(1) == 7, 'mi')
    call check(ds%get_meta_scalars('ml', ml), 'meta ml')
    call expect(size(ml) == 1 .and. ml(1) == 2_c_int64_t**40, 'ml')
    call check(ds%get_meta_scalars('mf', mf), 'meta mf')
    call expect(size(mf) == 1 .and. mf(1) == 0.25_c_float, 'mf')
    call check(ds%get_metadata_field_type('ms', t), 'field type ms')
    call expect(t == meta_string, 'ms is a string field')
    call check(ds%get_metadata_field_type('mi', t), 'field type mi')
    call expect(t == meta_int32, 'mi is an int32 field')
    call expect(ds%get_meta_scalars('mi', md) == SRTypeError, 'md read as int32 field')
    call expect(index(ds%to_string(), tag//'.pyds') > 0, 'to_string names the dataset')

    call check(client%get_datasets_from_list(tag//'.pylist', items, n), 'get_datasets_from_list')
    call expect(n == 4 .and. size(items) == 4, 'list of 4')
    do i = 1, 4
      call check(items(i)%unpack_dataset_tensor('v', v, [1]), 'list item v')
      call expect(v(1) == 100*(i - 1), 'list item value')
    end do
    call check(client%get_datasets_from_list_range(tag//'.pylist', 1, 2, items), 'range 1..2')
    call expect(size(items) == 2, 'range of 2')
    call check(items(1)%unpack_dataset_tensor('v', v, [1]), 'range item')
    call expect(v(1) == 100, 'range first value')
    call check(client%get_datasets_from_list_range(tag//'.pylist', -2, -1, items), 'range -2..-1')
    call expect(size(items) == 2, 'negative range of 2')
    call check(items(2)%unpack_dataset_tensor('v', v, [1]), 'negative range item')
    call expect(v(1) == 300, 'negative range last value')

    ! the model the Python client stored: y = 2x + 1
    x = reshape([(real(k, c_float), k = 1, 6)], [2, 3])
    call check(client%put_tensor(tag//'.x', x, shape(x)), 'put x')
    call check(client%run_model(tag//'.model', [tag//'.x'], [tag//'.y']), 'run_model')
    call check(client%unpack_tensor(tag//'.y', y, shape(y)), 'unpack y')
    call expect(all(y == 2*x + 1), 'model output')
    filebytes = read_file(dir//'/model.pt')
    call check(client%get_model(tag//'.model', model), 'get_model')
    call expect(model(1:len(filebytes)) == filebytes .and. &
                model(len(filebytes)+1:) == '', 'get_model returns the stored bytes')
    call check(client%set_model_from_file(tag//'.fmodel', dir//'/model.pt', 'TORCH', 'CPU'), &
               'set_model_from_file')
    call check(client%set_model(tag//'.bmodel', filebytes, 'TORCH', 'CPU', 0, 0, 0, 'tagged', &
                                [character(len=1) ::], [character(len=1) ::]), 'set_model')
    block
      character(len=8) :: small
      logical :: found
      call expect(client%get_model(tag//'.model', small) == SRParameterError, 'model too long')
      call check(client%model_exists(tag//'.fmodel', found), 'model_exists')
      call expect(found, 'fmodel exists')
      call check(client%poll_model(tag//'.bmodel', 10, 10, found), 'poll_model')
      call expect(found, 'bmodel found by poll')
      call check(client%set_model_from_file(tag//'.gone', dir//'/model.pt', 'TORCH', 'CPU'), &
                 'set_model_from_file gone')
      call check(client%delete_model(tag//'.gone'), 'delete_model')
      call check(client%model_exists(tag//'.gone', found), 'model_exists gone')
      call expect(.not. found, 'deleted model')
      call check(client%set_script_from_file(tag//'.fscript', 'CPU', dir//'/script.txt'), &
                 'set_script_from_file')
      call check(client%set_script(tag//'.sgone', 'CPU', 'def f(x):'//new_line('a')// &
                                   '    return x'//new_line('a')), 'set_script sgone')
      call check(client%delete_script(tag//'.sgone'), 'delete_script')
      call expect(client%get_script(tag//'.sgone', script) /= SRNoError, 'deleted script')
      ndims = 1
      call expect(ds%get_tensor_dims('u', dims, ndims) == SRBadAllocError .and. ndims == 2, &
                  'get_tensor_dims with room for 1 dimension')
    end block

    filebytes = read_file(dir//'/script.txt')
    call check(client%get_script(tag//'.pyscript', script), 'get_script')
    call expect(script == filebytes, 'get_script returns the stored source')
    out = 0
    call check(client%put_tensor(tag//'.sx', d2(1:2, 1:3), [2, 3]), 'put sx')
    call check(client%run_script(tag//'.pyscript', 'triple', [tag//'.sx'], [tag//'.sy']), &
               'run_script')
    call check(client%unpack_tensor(tag//'.sy', out, shape(out)), 'unpack sy')
    call expect(all(out == 3*d2(1:2, 1:3)), 'script output')
    call check(client%destructor(), 'destructor')
  end subroutine

  function read_file(path) result(s)
    character(len=*), intent(in) :: path
    character(len=:), allocatable :: s
    integer :: u, n
    open(newunit=u, file=path, access='stream', form='unformatted', action='read')
    inquire(unit=u, size=n)
    allocate(character(len=n) :: s)
    read(u) s
    close(u)
  end function

  subroutine do_ops(tag)
    character(len=*), intent(in) :: tag
    real(c_double) :: a(4), b(4)
    real(c_float) :: wrong(4)
    type(dataset_type) :: ds, got
    logical :: found
    integer :: n, i
    character(len=64) :: name
    call connect('cluster')
    a = [1, 2, 3, 4]
    call check(client%put_tensor(tag//'.t', a, shape(a)), 'put t')
    call check(client%tensor_exists(tag//'.t', found), 'tensor_exists')
    call expect(found, 't exists')
    call check(client%key_exists(tag//'.t', found), 'key_exists')
    call expect(found, 'key t exists')
    call check(client%copy_tensor(tag//'.t', tag//'.t2'), 'copy_tensor')
    call check(client%rename_tensor(tag//'.t2', tag//'.t3'), 'rename_tensor')
    call check(client%tensor_exists(tag//'.t2', found), 'tensor_exists t2')
    call expect(.not. found, 't2 renamed away')
    call check(client%unpack_tensor(tag//'.t3', b, shape(b)), 'unpack t3')
    call expect(all(b == a), 'copied values')
    call check(client%copy_tensor(tag//'.t', tag//'.gone'), 'copy for delete')
    call check(client%delete_tensor(tag//'.gone'), 'delete_tensor')
    call check(client%poll_tensor(tag//'.gone', 10, 3, found), 'poll_tensor missing')
    call expect(.not. found, 'deleted tensor not found by poll')
    call check(client%poll_key(tag//'.t', 10, 3, found), 'poll_key')
    call expect(found, 'poll_key finds t')

    ! errors: a missing tensor, a wrong type, a missing dataset
    i = client%unpack_tensor(tag//'.missing', b, shape(b))
    call expect(i /= SRNoError, 'unpacking a missing tensor fails')
    call expect(index(get_last_error(), tag//'.missing') > 0, 'the message names the key')
    call expect(len(get_last_error_location()) > 0, 'an error location')
    i = client%unpack_tensor(tag//'.t', wrong, shape(wrong))
    call expect(i /= SRNoError, 'unpacking as another type fails')
    write(*, '(a,i0)') 'wrong type code ', i
    i = client%get_dataset(tag//'.nods', got)
    call expect(i /= SRNoError, 'get_dataset of a missing dataset fails')
    write(*, '(a,i0)') 'missing dataset code ', i

    call check(ds%initialize(tag//'.d'), 'ds initialize')
    call check(ds%add_tensor('a', a, shape(a)), 'ds add_tensor')
    call check(ds%add_meta_string('note', 'copied'), 'ds meta')
    call check(client%put_dataset(ds), 'put_dataset')
    call check(client%dataset_exists(tag//'.d', found), 'dataset_exists')
    call expect(found, 'd exists')
    call check(client%copy_dataset(tag//'.d', tag//'.d2'), 'copy_dataset')
    call check(client%rename_dataset(tag//'.d2', tag//'.d3'), 'rename_dataset')
    call check(client%poll_dataset(tag//'.d3', 10, 10, found), 'poll_dataset')
    call expect(found, 'd3 found by poll')
    call check(client%dataset_exists(tag//'.d2', found), 'dataset_exists d2')
    call expect(.not. found, 'd2 renamed away')
    call check(client%copy_dataset(tag//'.d', tag//'.dgone'), 'copy for delete')
    call check(client%delete_dataset(tag//'.dgone'), 'delete_dataset')
    call check(client%dataset_exists(tag//'.dgone', found), 'dataset_exists dgone')
    call expect(.not. found, 'deleted dataset')

    do i = 1, 3
      write(name, '(a,a,i0)') tag, '.li', i
      call check(ds%initialize(trim(name)), 'li initialize')
      call check(ds%add_meta_scalar('i', int(i, c_int32_t)), 'li meta')
      call check(client%put_dataset(ds), 'li put')
      call check(client%append_to_list(tag//'.l', ds), 'li append')
    end do
    call check(client%copy_list(tag//'.l', tag//'.l2'), 'copy_list')
    call check(client%rename_list(tag//'.l2', tag//'.l3'), 'rename_list')
    call check(client%get_list_length(tag//'.l3', n), 'get_list_length')
    call expect(n == 3, 'renamed copy has 3')
    call check(client%get_list_length(tag//'.l2', n), 'get_list_length l2')
    call expect(n == 0, 'l2 renamed away')
    call check(client%poll_list_length(tag//'.l', 3, 10, 3, found), 'poll_list_length')
    call expect(found, 'length 3')
    call check(client%poll_list_length_gte(tag//'.l', 2, 10, 3, found), 'poll gte')
    call expect(found, 'length >= 2')
    call check(client%poll_list_length_lte(tag//'.l', 2, 10, 3, found), 'poll lte')
    call expect(.not. found, 'length not <= 2')
    call check(client%poll_list_length(tag//'.l', 5, 10, 3, found), 'poll_list_length 5')
    call expect(.not. found, 'length not 5')
    call check(client%copy_list(tag//'.l', tag//'.lgone'), 'copy for delete')
    call check(client%delete_list(tag//'.lgone'), 'delete_list')
    call check(client%get_list_length(tag//'.lgone', n), 'length of deleted list')
    call expect(n == 0, 'deleted list is empty')
    call expect(client%SR_error_parser(SRKeyError), 'SR_error_parser: an error')
    call expect(.not. client%SR_error_parser(SRNoError), 'SR_error_parser: no error')
    call expect(len(client%to_string()) > 0, 'client to_string')
    call check(client%destructor(), 'destructor')
    call expect(.not. client%isinitialized(), 'not initialized after destructor')
  end subroutine

  subroutine do_prefix(tag)
    character(len=*), intent(in) :: tag
    real(c_double) :: a(3), b(3)
    type(dataset_type) :: ds, got
    logical :: found
    integer :: n
    call connect('simple')
    a = [5, 6, 7]
    call check(client%use_tensor_ensemble_prefix(.true.), 'use_tensor_ensemble_prefix')
    call check(client%use_dataset_ensemble_prefix(.true.), 'use_dataset_ensemble_prefix')
    call check(client%use_list_ensemble_prefix(.true.), 'use_list_ensemble_prefix')
    call check(client%use_model_ensemble_prefix(.false.), 'use_model_ensemble_prefix')
    call check(client%put_tensor(tag//'.pt', a, shape(a)), 'put pt')
    call check(ds%initialize(tag//'.pds'), 'pds initialize')
    call check(ds%add_tensor('a', a, shape(a)), 'pds add')
    call check(client%put_dataset(ds), 'put pds')
    call check(client%append_to_list(tag//'.pl', ds), 'append pl')
    ! reading back: the first SSKEYIN prefix, then the data source chosen
    call check(client%set_data_source('producer'), 'set_data_source')
    call check(client%tensor_exists(tag//'.pt', found), 'exists with prefix')
    call expect(found, 'pt under the producer prefix')
    call check(client%unpack_tensor(tag//'.pt', b, shape(b)), 'unpack with prefix')
    call expect(all(b == a), 'prefixed values')
    call check(client%get_dataset(tag//'.pds', got), 'get prefixed dataset')
    call check(client%get_list_length(tag//'.pl', n), 'prefixed list length')
    call expect(n == 1, 'prefixed list of 1')
    call check(client%use_tensor_ensemble_prefix(.false.), 'prefix off')
    call check(client%tensor_exists('producer.'//tag//'.pt', found), 'exists by full key')
    call expect(found, 'full key without prefixing')
    call check(client%destructor(), 'destructor')
  end subroutine

  subroutine do_config(sfx, tag)
    character(len=*), intent(in) :: sfx, tag
    type(configoptions_type) :: cfg
    integer(c_int64_t) :: i
    character(len=:), allocatable :: s
    logical :: found
    logical(c_bool) :: found_c    ! the kind SmartRedis's own test programs pass
    real(c_double) :: a(2)
    character(len=256) :: addr
    call check(cfg%create_configoptions_from_environment(sfx), 'from environment')
    call check(cfg%is_configured('SSDB', found), 'is_configured SSDB')
    call expect(found, 'SSDB_'//sfx//' is configured')
    found_c = .false.
    call check(cfg%is_configured('SSDB', found_c), 'is_configured SSDB (c_bool)')
    call expect(logical(found_c), 'SSDB_'//sfx//' is configured (c_bool)')
    found_c = .true.
    call check(cfg%is_configured('EL_NOT_SET', found_c), 'is_configured EL_NOT_SET (c_bool)')
    call expect(logical(.not. found_c), 'EL_NOT_SET is not configured (c_bool)')
    call get_environment_variable('SSDB_'//sfx, addr)
    call check(cfg%get_string_option('SSDB', s), 'get_string_option SSDB')
    call expect(s == trim(addr), 'SSDB value')
    call check(cfg%get_integer_option('EL_TEST_INT', i), 'get_integer_option')
    call expect(i == 42, 'EL_TEST_INT value')
    call check(cfg%override_integer_option('EL_TEST_INT', 7_c_int64_t), 'override integer')
    call check(cfg%get_integer_option('EL_TEST_INT', i), 'get overridden integer')
    call expect(i == 7, 'overridden integer')
    call check(cfg%override_string_option('EL_TEST_STR', 'abc'), 'override string')
    call check(cfg%get_string_option('EL_TEST_STR', s), 'get overridden string')
    call expect(s == 'abc', 'overridden string')
    call check(cfg%is_configured('EL_NOT_SET', found), 'is_configured EL_NOT_SET')
    call expect(.not. found, 'EL_NOT_SET is not configured')
    call expect(cfg%get_integer_option('EL_NOT_SET', i) /= SRNoError, 'missing integer option')
    call check(client%initialize(cfg, 'cfgclient'), 'initialize(cfgopts)')
    a = [3.5, 4.5]
    call check(client%put_tensor(tag//'.cfg', a, shape(a)), 'put via cfg client')
    call check(client%destructor(), 'destructor')
  end subroutine

  subroutine do_log()
    type(dataset_type) :: ds
    type(logcontext_type) :: lc
    call connect('simple')
    call check(ds%initialize('logds'), 'dataset initialize')
    call check(lc%initialize('ctx_one'), 'logcontext initialize')
    call log_data(client, LLInfo, 'client info line')
    call log_data(client, LLDebug, 'client debug line')
    call log_warning(ds, LLInfo, 'dataset warning line')
    call log_error(lc, LLInfo, 'logcontext error line')
    call log_data('strctx', LLInfo, 'string context line')
    call log_warning('strctx', LLDeveloper, 'developer line')
    call check(client%destructor(), 'destructor')
  end subroutine

  subroutine do_multigpu(tag, dir)
    character(len=*), intent(in) :: tag, dir
    character(len=:), allocatable :: model
    character(len=32) :: none(0)
    real(c_float) :: x(1,4)
    integer :: c
    call connect('simple')
    model = read_file(dir//'/model.pt')
    call expect(client%set_model_multigpu(tag//'.mgm', model, 'TORCH', 0, 0, 0, 0, 0, '', none, &
                none) == SRParameterError, 'num_gpus 0 refused')
    call expect(client%set_model_multigpu(tag//'.mgm', model, 'TORCH', -1, 1, 0, 0, 0, '', none, &
                none) == SRParameterError, 'first_gpu -1 refused')
    c = client%set_model_multigpu(tag//'.mgm', model, 'TORCH', 0, 2, 0, 0, 0, '', none, none)
    write(*, '(a,i0)') 'set_model_multigpu ', c
    c = client%set_model_from_file_multigpu(tag//'.mgf', dir//'/model.pt', 'TORCH', 0, 2)
    write(*, '(a,i0)') 'set_model_from_file_multigpu ', c
    c = client%set_script_multigpu(tag//'.mgs', 'def double(x):'//new_line('a')// &
                                   '    return x * 2'//new_line('a'), 0, 2)
    write(*, '(a,i0)') 'set_script_multigpu ', c
    c = client%set_script_from_file_multigpu(tag//'.mgsf', dir//'/script.txt', 0, 2)
    write(*, '(a,i0)') 'set_script_from_file_multigpu ', c
    x = reshape([1, 2, 3, 4], [1, 4])
    call check(client%put_tensor(tag//'.in', x, shape(x)), 'put in')
    c = client%run_model_multigpu(tag//'.mgm', [tag//'.in'], [tag//'.out'], 3, 0, 2)
    write(*, '(a,i0)') 'run_model_multigpu ', c
    c = client%run_script_multigpu(tag//'.mgs', 'double', [tag//'.in'], [tag//'.out2'], 3, 0, 2)
    write(*, '(a,i0)') 'run_script_multigpu ', c
    c = client%delete_model_multigpu(tag//'.mgm', 0, 2)
    write(*, '(a,i0)') 'delete_model_multigpu ', c
    c = client%delete_script_multigpu(tag//'.mgs', 0, 2)
    write(*, '(a,i0)') 'delete_script_multigpu ', c
    call check(client%destructor(), 'destructor')
  end subroutine

end program srftest
