! Slab decomposition in z: each rank owns nz/nranks consecutive planes of the periodic box.
module el_decomp
  use mpi_f08
  use el_types, only: rp
  implicit none
  private
  public :: decomp_t, decomp_init

  type :: decomp_t
    type(MPI_Comm) :: comm            ! Cartesian (periodic, 1D in z) communicator
    integer :: rank = 0, nranks = 1
    integer :: nx, ny, nz             ! global grid
    integer :: n(3)                   ! local interior size (nx, ny, nzl)
    integer :: kstart                 ! global index of the first local z plane (1-based)
    integer :: down, up               ! neighbours in -z and +z
    real(rp) :: dx, dy, dz
  end type decomp_t

contains

  ! Build the z-slab decomposition of an nx*ny*nz box of size lx*ly*lz on communicator comm.
  subroutine decomp_init(d, comm, nx, ny, nz, lx, ly, lz)
    type(decomp_t), intent(out) :: d
    type(MPI_Comm), intent(in)  :: comm
    integer,        intent(in)  :: nx, ny, nz
    real(rp),       intent(in)  :: lx, ly, lz
    integer :: dims(1)
    logical :: periods(1)
    call MPI_Comm_size(comm, d%nranks)
    dims = d%nranks; periods = .true.
    call MPI_Cart_create(comm, 1, dims, periods, .false., d%comm)
    call MPI_Comm_rank(d%comm, d%rank)
    call MPI_Cart_shift(d%comm, 0, 1, d%down, d%up)
    d%nx = nx; d%ny = ny; d%nz = nz
    d%n = [nx, ny, nz/d%nranks]
    d%kstart = d%rank*d%n(3) + 1
    d%dx = lx/nx; d%dy = ly/ny; d%dz = lz/nz
  end subroutine decomp_init
end module el_decomp
