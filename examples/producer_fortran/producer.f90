! Minimal Fortran producer: writes NSTEPS snapshot datasets (tensor u, metadata step/time/
! producer) and appends them to the aggregation list "snapshots" — the same keys and bytes as
! the C and Python producers, read by ../consumer_python/consumer.py.
!
! build: gfortran producer.f90 $(python -m eddylearn.client_config --fflags --libs) -o producer
! run:   SSDB=127.0.0.1:6379 SR_DB_TYPE=Standalone ./producer [NSTEPS]
program producer
  use iso_fortran_env, only: real64, int32, error_unit
  use eddylearn_client
  implicit none
  type(client_type) :: client
  type(dataset_type) :: ds
  real(real64) :: u(8, 4)
  character(len=32) :: arg, name
  integer :: nsteps, step, i, j

  nsteps = 3
  if (command_argument_count() > 0) then
    call get_command_argument(1, arg)
    read(arg, *) nsteps
  end if
  call ok(client%initialize())
  do step = 1, nsteps
    do j = 1, size(u, 2)
      do i = 1, size(u, 1)
        u(i, j) = sin(0.1_real64 * (i + 10 * j + step))
      end do
    end do
    write(name, '(a,i0,a)') 'snapshot.', step, '.0'
    call ok(ds%initialize(trim(name)))
    call ok(ds%add_tensor('u', u, shape(u)))      ! arrives in Python with shape (8, 4)
    call ok(ds%add_meta_scalar('step', int(step, int32)))
    call ok(ds%add_meta_scalar('time', 0.01_real64 * step))
    call ok(ds%add_meta_string('producer', 'fortran'))
    call ok(client%put_dataset(ds))
    call ok(client%append_to_list('snapshots', ds))
    call ds%destroy()
  end do
  call client%destroy()
  print '(a,i0,a)', 'fortran producer: ', nsteps, ' snapshots sent'

contains

  subroutine ok(code)
    integer, intent(in) :: code
    if (code /= SRNoError) then
      write(error_unit, '(a)') 'producer: '//get_last_error()
      stop 1
    end if
  end subroutine

end program producer
