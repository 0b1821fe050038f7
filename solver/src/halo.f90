! Halo update of a field with one ghost layer: periodic copies in x and y (local),
! then in z the three visible steps pack -> MPI_Sendrecv -> unpack with the neighbour slabs.
module el_halo
  use mpi_f08
  use el_types, only: rp
  use el_decomp, only: decomp_t
  implicit none
  private
  public :: update_halo, update_halo3, update_halo_n

contains

  ! Fill the ghost layers of a(0:nx+1, 0:ny+1, 0:nzl+1).
  subroutine update_halo(d, a)
    type(decomp_t), intent(in)    :: d
    real(rp),       intent(inout) :: a(0:, 0:, 0:)
    integer :: nx, ny, nz
    real(rp), allocatable :: sbuf(:,:), rbuf(:,:)
    nx = d%n(1); ny = d%n(2); nz = d%n(3)
    call periodic_xy(d, a)
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

  ! Fill the ghost layers of the three velocity components with one message per direction:
  ! local periodic copies in x and y, then pack the boundary planes of u, v, w together,
  ! MPI_Sendrecv with the z neighbours, unpack.
  subroutine update_halo3(d, u, v, w)
    type(decomp_t), intent(in)    :: d
    real(rp),       intent(inout) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: nz
    real(rp), allocatable :: sbuf(:,:,:), rbuf(:,:,:)
    if (d%nranks == 1) then
      call update_halo(d, u); call update_halo(d, v); call update_halo(d, w)
      return
    end if
    call periodic_xy(d, u); call periodic_xy(d, v); call periodic_xy(d, w)
    nz = d%n(3)
    allocate(sbuf(0:d%n(1)+1, 0:d%n(2)+1, 3), rbuf(0:d%n(1)+1, 0:d%n(2)+1, 3))
    sbuf(:, :, 1) = u(:, :, nz); sbuf(:, :, 2) = v(:, :, nz); sbuf(:, :, 3) = w(:, :, nz)
    call MPI_Sendrecv(sbuf, size(sbuf), MPI_DOUBLE_PRECISION, d%up, 3, &
                      rbuf, size(rbuf), MPI_DOUBLE_PRECISION, d%down, 3, d%comm, MPI_STATUS_IGNORE)
    u(:, :, 0) = rbuf(:, :, 1); v(:, :, 0) = rbuf(:, :, 2); w(:, :, 0) = rbuf(:, :, 3)
    sbuf(:, :, 1) = u(:, :, 1); sbuf(:, :, 2) = v(:, :, 1); sbuf(:, :, 3) = w(:, :, 1)
    call MPI_Sendrecv(sbuf, size(sbuf), MPI_DOUBLE_PRECISION, d%down, 4, &
                      rbuf, size(rbuf), MPI_DOUBLE_PRECISION, d%up, 4, d%comm, MPI_STATUS_IGNORE)
    u(:, :, nz+1) = rbuf(:, :, 1); v(:, :, nz+1) = rbuf(:, :, 2); w(:, :, nz+1) = rbuf(:, :, 3)
  end subroutine update_halo3

  ! Fill the ghost layers of the nc fields a(:,:,:,1:nc) with one message per direction.
  subroutine update_halo_n(d, a)
    type(decomp_t), intent(in)    :: d
    real(rp),       intent(inout) :: a(0:, 0:, 0:, :)
    integer :: nz, q, nc
    real(rp), allocatable :: sbuf(:,:,:), rbuf(:,:,:)
    nc = size(a, 4)
    do q = 1, nc
      call periodic_xy(d, a(:, :, :, q))
    end do
    nz = d%n(3)
    if (d%nranks == 1) then
      a(:, :, 0, :) = a(:, :, nz, :)
      a(:, :, nz+1, :) = a(:, :, 1, :)
      return
    end if
    allocate(sbuf(0:d%n(1)+1, 0:d%n(2)+1, nc), rbuf(0:d%n(1)+1, 0:d%n(2)+1, nc))
    sbuf = a(:, :, nz, :)
    call MPI_Sendrecv(sbuf, size(sbuf), MPI_DOUBLE_PRECISION, d%up, 5, &
                      rbuf, size(rbuf), MPI_DOUBLE_PRECISION, d%down, 5, d%comm, MPI_STATUS_IGNORE)
    a(:, :, 0, :) = rbuf
    sbuf = a(:, :, 1, :)
    call MPI_Sendrecv(sbuf, size(sbuf), MPI_DOUBLE_PRECISION, d%down, 6, &
                      rbuf, size(rbuf), MPI_DOUBLE_PRECISION, d%up, 6, d%comm, MPI_STATUS_IGNORE)
    a(:, :, nz+1, :) = rbuf
  end subroutine update_halo_n

  ! Periodic ghost copies in x and y of the local interior planes.
  subroutine periodic_xy(d, a)
    type(decomp_t), intent(in)    :: d
    real(rp),       intent(inout) :: a(0:, 0:, 0:)
    integer :: nx, ny, nz
    nx = d%n(1); ny = d%n(2); nz = d%n(3)
    a(0,    :, 1:nz) = a(nx, :, 1:nz)
    a(nx+1, :, 1:nz) = a(1,  :, 1:nz)
    a(:, 0,    1:nz) = a(:, ny, 1:nz)
    a(:, ny+1, 1:nz) = a(:, 1,  1:nz)
  end subroutine periodic_xy
end module el_halo
