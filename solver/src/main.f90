! eddylearn-solver INPUT.nml: run the solver described by a namelist file on MPI_COMM_WORLD.
! Errors are printed once (rank 0) and every rank exits with status 2; nothing hangs.
program eddylearn_solver
  use mpi_f08
  use el_types, only: msg_len
  use el_solver, only: solver_t, solver_init, solver_run, solver_free
  implicit none
  type(solver_t) :: s
  integer :: ierr, rank, nranks, nargs, expected, ios, vlen
  character(len=1024) :: path
  character(len=32) :: val
  character(len=msg_len) :: msg
  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks)
  ! The launcher exports the rank count it started (EDDYLEARN_NRANKS); a launcher of another MPI
  ! starts that many singletons instead, each with a world of one, which must not run.
  call get_environment_variable('EDDYLEARN_NRANKS', val, vlen, ios)
  if (ios == 0 .and. vlen > 0) then
    read(val, *, iostat=ios) expected
    if (ios == 0 .and. expected /= nranks) then
      if (rank == 0) write(0, '(a,i0,a,i0,a)') 'eddylearn-solver: error: launched for ', &
        expected, ' MPI ranks but this MPI world has ', nranks, ': the launcher does not ' // &
        'belong to the MPI this solver was built with (it started separate singletons); ' // &
        'use that MPI''s launcher (eddylearn --launcher, EDDYLEARN_LAUNCHER)'
      call MPI_Finalize()
      stop 2, quiet=.true.
    end if
  end if
  nargs = command_argument_count()
  if (nargs /= 1) then
    if (rank == 0) write(0, '(a)') 'usage: eddylearn-solver INPUT.nml'
    call MPI_Finalize()
    stop 2, quiet=.true.
  end if
  call get_command_argument(1, path)
  if (trim(path) == '-h' .or. trim(path) == '--help') then
    if (rank == 0) write(*, '(a)') 'usage: eddylearn-solver INPUT.nml  ' // &
      '(namelist groups &domain &physics &time &sgs &output; see docs/solver.md)'
    call MPI_Finalize()
    stop
  end if
  if (rank == 0) write(*, '(a,i0,a)') 'eddylearn-solver: ', nranks, ' MPI rank(s)'
  call solver_init(s, trim(path), MPI_COMM_WORLD, ierr, msg)
  if (ierr == 0) call solver_run(s, ierr, msg)
  if (ierr /= 0) then
    if (rank == 0) write(0, '(a)') 'eddylearn-solver: error: '//trim(msg)
    call MPI_Finalize()
    stop 2, quiet=.true.
  end if
  call solver_free(s)
  call MPI_Finalize()
end program eddylearn_solver
