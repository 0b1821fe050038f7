! Training samples for subgrid-stress models from the resolved field. The block of each rank
! is box-filtered over cubes of m^3 cells (filter width Delta = m h, m = 2 or 4), giving one
! sample per coarse cell:
!   labels   tau_ij = mean(uc_i uc_j) - mean(uc_i) mean(uc_j)   (11, 22, 33, 12, 13, 23)
!   features the filtered velocity gradient, the cube mean of the fine-grid gradient at the
!            cell centres (du/dx, du/dy, du/dz, dv/dx, ..., dw/dz): by the divergence theorem
!            the difference of the velocity averaged over opposite faces of the cube, over Delta;
!            traceless to round-off for a solenoidal field
! where uc is the velocity interpolated to the fine cell centres. With m = 1 the features are
! the gradient an LES computes on its own grid, so a model trained on them applies there.
module el_sgs_samples
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  implicit none
  private
  public :: sgs_sample_count, sgs_samples, filtered_gradient

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

  ! Filtered velocity gradient (n, 9) of every coarse cell of this rank, coarse cells in
  ! Fortran order (x fastest). Velocities need valid ghost layers; purely local.
  subroutine filtered_gradient(d, m, u, v, w, grad)
    type(decomp_t), intent(in) :: d
    integer, intent(in) :: m
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(out) :: grad(:, :)
    real(rp) :: hx, hy, hz, inv
    integer :: i, j, k, p, nc(3)
    nc = d%n/m
    hx = 0.5_rp/d%dx; hy = 0.5_rp/d%dy; hz = 0.5_rp/d%dz
    if (m == 1) then
      call cell_gradient()
      return
    end if
    grad = 0
    do k = 1, d%n(3)
      do j = 1, d%n(2)
        do i = 1, d%n(1)
          p = (i - 1)/m + 1 + nc(1)*((j - 1)/m + nc(2)*((k - 1)/m))
          grad(p, 1) = grad(p, 1) + (u(i,j,k) - u(i-1,j,k))/d%dx
          grad(p, 2) = grad(p, 2) + hy*(cu(i,j+1,k) - cu(i,j-1,k))
          grad(p, 3) = grad(p, 3) + hz*(cu(i,j,k+1) - cu(i,j,k-1))
          grad(p, 4) = grad(p, 4) + hx*(cv(i+1,j,k) - cv(i-1,j,k))
          grad(p, 5) = grad(p, 5) + (v(i,j,k) - v(i,j-1,k))/d%dy
          grad(p, 6) = grad(p, 6) + hz*(cv(i,j,k+1) - cv(i,j,k-1))
          grad(p, 7) = grad(p, 7) + hx*(cw(i+1,j,k) - cw(i-1,j,k))
          grad(p, 8) = grad(p, 8) + hy*(cw(i,j+1,k) - cw(i,j-1,k))
          grad(p, 9) = grad(p, 9) + (w(i,j,k) - w(i,j,k-1))/d%dz
        end do
      end do
    end do
    inv = 1.0_rp/real(m, rp)**3
    grad = grad*inv
  contains
    ! m = 1 (what an LES computes every stage): each cell's own gradient, one pass
    subroutine cell_gradient()
      integer :: i_, j_, k_, q
      real(rp) :: dxi, dyi, dzi
      dxi = 1/d%dx; dyi = 1/d%dy; dzi = 1/d%dz
      q = 0
      do k_ = 1, d%n(3)
        do j_ = 1, d%n(2)
          do i_ = 1, d%n(1)
            q = q + 1
            grad(q, 1) = (u(i_,j_,k_) - u(i_-1,j_,k_))*dxi
            grad(q, 2) = 0.5_rp*hy*(u(i_,j_+1,k_) + u(i_-1,j_+1,k_) - u(i_,j_-1,k_) - u(i_-1,j_-1,k_))
            grad(q, 3) = 0.5_rp*hz*(u(i_,j_,k_+1) + u(i_-1,j_,k_+1) - u(i_,j_,k_-1) - u(i_-1,j_,k_-1))
            grad(q, 4) = 0.5_rp*hx*(v(i_+1,j_,k_) + v(i_+1,j_-1,k_) - v(i_-1,j_,k_) - v(i_-1,j_-1,k_))
            grad(q, 5) = (v(i_,j_,k_) - v(i_,j_-1,k_))*dyi
            grad(q, 6) = 0.5_rp*hz*(v(i_,j_,k_+1) + v(i_,j_-1,k_+1) - v(i_,j_,k_-1) - v(i_,j_-1,k_-1))
            grad(q, 7) = 0.5_rp*hx*(w(i_+1,j_,k_) + w(i_+1,j_,k_-1) - w(i_-1,j_,k_) - w(i_-1,j_,k_-1))
            grad(q, 8) = 0.5_rp*hy*(w(i_,j_+1,k_) + w(i_,j_+1,k_-1) - w(i_,j_-1,k_) - w(i_,j_-1,k_-1))
            grad(q, 9) = (w(i_,j_,k_) - w(i_,j_,k_-1))*dzi
          end do
        end do
      end do
    end subroutine cell_gradient
    ! velocity components interpolated to the centre of cell (i_, j_, k_)
    pure real(rp) function cu(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      cu = 0.5_rp*(u(i_,j_,k_) + u(i_-1,j_,k_))
    end function cu
    pure real(rp) function cv(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      cv = 0.5_rp*(v(i_,j_,k_) + v(i_,j_-1,k_))
    end function cv
    pure real(rp) function cw(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      cw = 0.5_rp*(w(i_,j_,k_) + w(i_,j_,k_-1))
    end function cw
  end subroutine filtered_gradient

  ! Features (n, 9) and labels (n, 6) of every coarse cell of this rank (Fortran order of the
  ! coarse cells). Velocities need valid ghost layers; purely local.
  subroutine sgs_samples(d, m, u, v, w, features, labels, ierr, msg)
    type(decomp_t), intent(in) :: d
    integer, intent(in) :: m
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(out) :: features(:, :), labels(:, :)
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    real(rp), allocatable :: ub(:,:)
    real(rp) :: c(3), inv
    integer :: n, nc(3), i, j, k, q, p
    integer, parameter :: pa(6) = [1, 2, 3, 1, 1, 2], pb(6) = [1, 2, 3, 2, 3, 3]
    call sgs_sample_count(d, m, n, ierr, msg)
    if (ierr /= 0) return
    if (size(features, 1) /= n .or. size(features, 2) /= 9 .or. size(labels, 1) /= n &
        .or. size(labels, 2) /= 6) then
      write(msg, '(a,i0,a)') 'SGS sample arrays must be shaped (', n, ', 9) and (n, 6)'
      ierr = 1; return
    end if
    call filtered_gradient(d, m, u, v, w, features)
    nc = d%n/m
    allocate(ub(n, 3), source=0.0_rp)
    labels = 0
    do k = 1, d%n(3)
      do j = 1, d%n(2)
        do i = 1, d%n(1)
          p = (i - 1)/m + 1 + nc(1)*((j - 1)/m + nc(2)*((k - 1)/m))
          c = [0.5_rp*(u(i,j,k) + u(i-1,j,k)), 0.5_rp*(v(i,j,k) + v(i,j-1,k)), &
               0.5_rp*(w(i,j,k) + w(i,j,k-1))]
          ub(p, :) = ub(p, :) + c
          do q = 1, 6
            labels(p, q) = labels(p, q) + c(pa(q))*c(pb(q))
          end do
        end do
      end do
    end do
    inv = 1.0_rp/real(m, rp)**3
    ub = ub*inv
    do q = 1, 6
      labels(:, q) = labels(:, q)*inv - ub(:, pa(q))*ub(:, pb(q))
    end do
  end subroutine sgs_samples
end module el_sgs_samples
