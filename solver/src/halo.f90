! Halo update of a field with one ghost layer: periodic copies in x and y (local),
! then in z the three visible steps pack -> MPI_Sendrecv -> unpack with the neighbour slabs.
module el_halo
  use mpi_f08
  use el_types, only: rp
  use el_decomp, only: decomp_t
  implicit none
  private
  public :: update_halo

contains

  ! Fill the ghost layers of a(0:nx+1, 0:ny+1, 0:nzl+1).
  subroutine update_halo(d, a)
    type(decomp_t), intent(in)    :: d
    real(rp),       intent(inout) :: a(0:, 0:, 0:)
    integer :: nx, ny, nz
    real(rp), allocatable :: sbuf(:,:), rbuf(:,:)
    nx = d%n(1); ny = d%n(2); nz = d%n(3)
    a(0,    :, 1:nz) = a(nx, :, 1:nz)
    a(nx+1, :, 1:nz) = a(1,  :, 1:nz)
    a(:, 0,    1:nz) = a(:, ny, 1:nz)
    a(:, ny+1, 1:nz) = a(:, 1,  1:nz)
    if (d%nranks == 1) then
      a(:, :, 0)    = a(:, :, nz)
      a(:, :, nz+1) = a(:, :, 1)
      return
    end if
    allocate(sbuf(0:nx+1, 0:ny+1), rbuf(0:nx+1, 0:ny+1))
    ! top interior plane goes up, lower ghost comes from below
    sbuf = a(:, :, nz)
    call MPI_Sendrecv(sbuf, size(sbuf), MPI_DOUBLE_PRECISION, d%up, 1, &
                      rbuf, size(rbuf), MPI_DOUBLE_PRECISION, d%down, 1, d%comm, MPI_STATUS_IGNORE)
    a(:, :, 0) = rbuf
    ! bottom interior plane goes down, upper ghost comes from above
    sbuf = a(:, :, 1)
    call MPI_Sendrecv(sbuf, size(sbuf), MPI_DOUBLE_PRECISION, d%down, 2, &
                      rbuf, size(rbuf), MPI_DOUBLE_PRECISION, d%up, 2, d%comm, MPI_STATUS_IGNORE)
    a(:, :, nz+1) = rbuf
  end subroutine update_halo
end module el_halo
