! producer.f90 — an MPI simulation stand-in written in SmartRedis 0.6.1's Fortran API: every rank
! writes NSTEPS datasets field.<rank>.<step> (tensor u(8,4), real(8), with u(i,j) =
! 100*rank + step + 0.01*(i + 10*j); metadata step (int32), rank (int32), time (real(8)) and
! the string source = 'fortran') and appends each to the aggregation list 'fields'. Rank 0
! also puts the tensor 'config' = [nranks, nsteps] (int32).
!   mpirun -np 2 ./producer [NSTEPS]      (SSDB and SR_DB_TYPE say where the database is)
program producer
  use mpi
  use iso_c_binding, only: c_double, c_int32_t
  use smartredis_client, only: client_type
  use smartredis_dataset, only: dataset_type
  use smartredis_errors, only: print_last_error
  implicit none
  include 'enum_fortran.inc'

  type(client_type) :: client
  type(dataset_type) :: ds
  real(c_double) :: u(8, 4)
  integer :: rank, nranks, ierr, nsteps, step, i, j
  character(len=64) :: arg, name

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  nsteps = 3
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read(arg, *) nsteps
  end if

  call check(client%initialize('producer'))
  do step = 1, nsteps
    do j = 1, 4
      do i = 1, 8
        u(i, j) = 100*rank + step + 0.01_c_double*(i + 10*j)
      end do
    end do
    write(name, '(a,i0,a,i0)') 'field.', rank, '.', step
    call check(ds%initialize(trim(name)))
    call check(ds%add_tensor('u', u, shape(u)))
    call check(ds%add_meta_scalar('step', int(step, c_int32_t)))
    call check(ds%add_meta_scalar('rank', int(rank, c_int32_t)))
    call check(ds%add_meta_scalar('time', 0.1_c_double*step))
    call check(ds%add_meta_string('source', 'fortran'))
    call check(client%put_dataset(ds))
    call check(client%append_to_list('fields', ds))
  end do
  if (rank == 0) call check(client%put_tensor('config', [int(nranks, c_int32_t), &
                                              int(nsteps, c_int32_t)], [2]))
  call check(client%destructor())
  call MPI_Finalize(ierr)

contains

  subroutine check(code)
    integer, intent(in) :: code
    integer :: e
    if (code /= SRNoError) then
      call print_last_error()
      call MPI_Abort(MPI_COMM_WORLD, 1, e)
    end if
  end subroutine

end program producer
