! Training samples for subgrid-stress models from the resolved field. The block of each rank
! is box-filtered over cubes of m^3 cells (filter width Delta = m h, m = 2 or 4), giving
! coarse cell-centred values; per coarse cell:
!   labels   tau_ij = mean(uc_i uc_j) - mean(uc_i) mean(uc_j)   (11, 22, 33, 12, 13, 23)
!   features the filtered velocity gradient d(ubar_i)/dx_j by central differences on the
!            coarse grid (du/dx, du/dy, du/dz, dv/dx, ..., dw/dz), coarse halos exchanged in z
! where uc is the velocity interpolated to the fine cell centres.
module el_sgs_samples
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_halo, only: update_halo
  implicit none
  private
  public :: sgs_sample_count, sgs_samples, centre_gradients

contains

  ! Number of coarse cells of this rank for filter width m cells; ierr if m does not divide.
  subroutine sgs_sample_count(d, m, n, ierr, msg)
    type(decomp_t), intent(in) :: d
    integer, intent(in) :: m
    integer, intent(out) :: n, ierr
    character(len=msg_len), intent(out) :: msg
    ierr = 0; msg = ''; n = 0
    if (m < 1) then
      ierr = 1; msg = 'the SGS filter width must be at least one cell'; return
    end if
    if (mod(d%n(1), m) /= 0 .or. mod(d%n(2), m) /= 0 .or. mod(d%n(3), m) /= 0) then
      write(msg, '(a,i0,a,3(1x,i0))') 'the SGS filter width of ', m, &
        ' cells does not divide the local block', d%n
      ierr = 1; return
    end if
    n = (d%n(1)/m)*(d%n(2)/m)*(d%n(3)/m)
  end subroutine sgs_sample_count

  ! Features (n, 9) and labels (n, 6) of every coarse cell of this rank, in Fortran order of
  ! the coarse cells (x fastest). Velocities need valid ghost layers. Collective (halo).
  subroutine sgs_samples(d, m, u, v, w, features, labels, ierr, msg)
    type(decomp_t), intent(in) :: d
    integer, intent(in) :: m
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(out) :: features(:, :), labels(:, :)
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    type(decomp_t) :: dc
    real(rp), allocatable :: ub(:,:,:,:), uu(:,:,:,:)
    real(rp) :: c(3), inv
    integer :: n, nc(3), i, j, k, ic, jc, kc, q, p, a, b
    integer, parameter :: pa(6) = [1, 2, 3, 1, 1, 2], pb(6) = [1, 2, 3, 2, 3, 3]
    call sgs_sample_count(d, m, n, ierr, msg)
    if (ierr /= 0) return
    if (size(features, 1) /= n .or. size(features, 2) /= 9 .or. size(labels, 1) /= n &
        .or. size(labels, 2) /= 6) then
      write(msg, '(a,i0,a)') 'SGS sample arrays must be shaped (', n, ', 9) and (n, 6)'
      ierr = 1; return
    end if
    nc = d%n/m
    allocate(ub(0:nc(1)+1, 0:nc(2)+1, 0:nc(3)+1, 3), source=0.0_rp)
    allocate(uu(nc(1), nc(2), nc(3), 6), source=0.0_rp)
    do k = 1, d%n(3)
      kc = (k - 1)/m + 1
      do j = 1, d%n(2)
        jc = (j - 1)/m + 1
        do i = 1, d%n(1)
          ic = (i - 1)/m + 1
          c = [0.5_rp*(u(i,j,k) + u(i-1,j,k)), 0.5_rp*(v(i,j,k) + v(i,j-1,k)), &
               0.5_rp*(w(i,j,k) + w(i,j,k-1))]
          ub(ic, jc, kc, :) = ub(ic, jc, kc, :) + c
          do q = 1, 6
            uu(ic, jc, kc, q) = uu(ic, jc, kc, q) + c(pa(q))*c(pb(q))
          end do
        end do
      end do
    end do
    inv = 1.0_rp/real(m, rp)**3
    ub = ub*inv; uu = uu*inv
    ! coarse decomposition: same communicator and neighbours, m-times coarser cells
    dc = d
    dc%n = nc; dc%nx = d%nx/m; dc%ny = d%ny/m; dc%nz = d%nz/m
    dc%dx = d%dx*m; dc%dy = d%dy*m; dc%dz = d%dz*m
    do q = 1, 3
      call update_halo(dc, ub(:, :, :, q))
    end do
    p = 0
    do kc = 1, nc(3)
      do jc = 1, nc(2)
        do ic = 1, nc(1)
          p = p + 1
          do a = 1, 3
            features(p, 3*(a-1) + 1) = (ub(ic+1,jc,kc,a) - ub(ic-1,jc,kc,a))/(2*dc%dx)
            features(p, 3*(a-1) + 2) = (ub(ic,jc+1,kc,a) - ub(ic,jc-1,kc,a))/(2*dc%dy)
            features(p, 3*(a-1) + 3) = (ub(ic,jc,kc+1,a) - ub(ic,jc,kc-1,a))/(2*dc%dz)
          end do
          do q = 1, 6
            a = pa(q); b = pb(q)
            labels(p, q) = uu(ic, jc, kc, q) - ub(ic, jc, kc, a)*ub(ic, jc, kc, b)
          end do
        end do
      end do
    end do
  end subroutine sgs_samples

  ! The same features for a field that lives on the LES grid itself: velocity interpolated to
  ! the cell centres (work array uc, 0:n+1 per direction, 3 components), then central
  ! differences over two cells; grad(n, 9) for the n local cells. Ghosts of u, v, w must be
  ! valid. Collective (halo of uc).
  subroutine centre_gradients(d, u, v, w, uc, grad)
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(inout) :: uc(0:, 0:, 0:, :)
    real(rp), intent(out) :: grad(:, :)
    integer :: i, j, k, p, a
    do k = 1, d%n(3)
      do j = 1, d%n(2)
        do i = 1, d%n(1)
          uc(i,j,k,1) = 0.5_rp*(u(i,j,k) + u(i-1,j,k))
          uc(i,j,k,2) = 0.5_rp*(v(i,j,k) + v(i,j-1,k))
          uc(i,j,k,3) = 0.5_rp*(w(i,j,k) + w(i,j,k-1))
        end do
      end do
    end do
    do a = 1, 3
      call update_halo(d, uc(:, :, :, a))
    end do
    p = 0
    do k = 1, d%n(3)
      do j = 1, d%n(2)
        do i = 1, d%n(1)
          p = p + 1
          do a = 1, 3
            grad(p, 3*(a-1) + 1) = (uc(i+1,j,k,a) - uc(i-1,j,k,a))/(2*d%dx)
            grad(p, 3*(a-1) + 2) = (uc(i,j+1,k,a) - uc(i,j-1,k,a))/(2*d%dy)
            grad(p, 3*(a-1) + 3) = (uc(i,j,k+1,a) - uc(i,j,k-1,a))/(2*d%dz)
          end do
        end do
      end do
    end do
  end subroutine centre_gradients
end module el_sgs_samples
