! Dynamic Smagorinsky (Germano et al. 1991, Lilly 1992): tau_ij = -2 C Delta^2 |S| S_ij with the
! coefficient C = Cs^2 from the Germano identity at each RK stage,
!   L_ij = hat(u_i u_j) - hat(u_i) hat(u_j),
!   M_ij = 2 Delta^2 (hat(|S| S_ij) - 4 |hat S| hat S_ij),
!   C = <L_ij M_ij> / <M_ij M_ij>            (Lilly's least squares),
! u the velocity at the cell centres, S the centre strain of the shared stress form, and hat the
! test filter of width 2 Delta: weights (1/4, 1/2, 1/4) in each direction (the trapezoidal rule
! of a box of two cells), 27 cells. hat S is the strain of the test-filtered field (the filter
! commutes with the discrete gradient on the uniform periodic grid).
! <.> is selectable (&sgs dynamic_average):
!   'box'    the mean over the whole box (the homogeneous directions of a periodic box), C >= 0;
!   'local'  the test filter once more over numerator and denominator, then C clipped to
!            [0, c_local_max] cell by cell.
module el_les_dynamic_smagorinsky
  use mpi_f08
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_halo, only: update_halo_n
  use el_param, only: config_t
  use el_les_stress, only: les_stress_t, stress_init, stress_prepare, stress_free
  implicit none
  private
  public :: les_dynamic_smagorinsky_t, test_filter

  real(rp), parameter :: c_local_max = 0.25_rp        ! C = Cs^2 at most 0.25 (Cs <= 0.5) locally
  integer, parameter :: nq = 24                       ! u_i (3), u_i u_j (6), G (9), |S| S_ij (6)
  integer, parameter :: pa(6) = [1, 2, 3, 1, 1, 2], pb(6) = [1, 2, 3, 2, 3, 3]
  real(rp), parameter :: wq(6) = [1, 1, 1, 2, 2, 2]    ! weights of symmetric contractions

  type, extends(les_stress_t) :: les_dynamic_smagorinsky_t
    logical :: local = .false.
    real(rp), allocatable :: c(:)                     ! (ncell) coefficient C of each cell
    real(rp), allocatable :: q(:,:,:,:), qf(:,:,:,:)  ! work: fields with halos, filtered
    real(rp), allocatable :: r(:,:,:,:), rf(:,:,:,:)  ! work (local): L:M and M:M
    integer(8) :: stages = 0
    real(rp) :: c_sum = 0, c_last = 0                 ! box: sum over stages, last value
  contains
    procedure :: init => dyn_init
    procedure :: prepare => dyn_prepare
    procedure :: stress => dyn_stress
    procedure :: free => dyn_free
    procedure :: name => dyn_name
    procedure :: status => dyn_status
  end type les_dynamic_smagorinsky_t

contains

  subroutine dyn_init(this, d, cfg, ierr, msg)
    class(les_dynamic_smagorinsky_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    call stress_init(this, d, cfg, ierr, msg)
    if (ierr /= 0) return
    this%local = trim(cfg%dynamic_average) == 'local'
    allocate(this%c(this%ncell), source=0.0_rp)
    allocate(this%q(0:d%n(1)+1, 0:d%n(2)+1, 0:d%n(3)+1, nq), source=0.0_rp)
    allocate(this%qf(d%n(1), d%n(2), d%n(3), nq), source=0.0_rp)
    if (this%local) then
      allocate(this%r(0:d%n(1)+1, 0:d%n(2)+1, 0:d%n(3)+1, 2), source=0.0_rp)
      allocate(this%rf(d%n(1), d%n(2), d%n(3), 2), source=0.0_rp)
    end if
  end subroutine dyn_init

  ! The test filter (1/4, 1/2, 1/4)^3 of the fields a (with valid ghost layers) at the interior
  ! cells, out(1:nx, 1:ny, 1:nz, :), as three one-dimensional passes.
  subroutine test_filter(d, a, out)
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: a(0:, 0:, 0:, :)
    real(rp), intent(out) :: out(:, :, :, :)
    real(rp), allocatable :: tx(:,:,:), ty(:,:,:)
    integer :: nx, ny, nz, c, k, j
    nx = d%n(1); ny = d%n(2); nz = d%n(3)
    allocate(tx(1:nx, 0:ny+1, 0:nz+1), ty(1:nx, 1:ny, 0:nz+1))
    do c = 1, size(a, 4)
      do k = 0, nz + 1
        do j = 0, ny + 1
          tx(1:nx, j, k) = 0.25_rp*(a(0:nx-1, j, k, c) + a(2:nx+1, j, k, c)) &
                           + 0.5_rp*a(1:nx, j, k, c)
        end do
      end do
      do k = 0, nz + 1
        ty(:, 1:ny, k) = 0.25_rp*(tx(:, 0:ny-1, k) + tx(:, 2:ny+1, k)) + 0.5_rp*tx(:, 1:ny, k)
      end do
      out(:, :, :, c) = 0.25_rp*(ty(:, :, 0:nz-1) + ty(:, :, 2:nz+1)) + 0.5_rp*ty(:, :, 1:nz)
    end do
  end subroutine test_filter

  ! |S| = sqrt(2 S_ij S_ij) and S (6: 11 22 33 12 13 23) of the gradient g (9, row-major)
  pure subroutine strain(g, s, smag)
    real(rp), intent(in) :: g(9)
    real(rp), intent(out) :: s(6), smag
    s = [g(1), g(5), g(9), 0.5_rp*(g(2) + g(4)), 0.5_rp*(g(3) + g(7)), 0.5_rp*(g(6) + g(8))]
    smag = sqrt(2*sum(wq*s*s))
  end subroutine strain

  ! The centre gradient (shared stress form), then the coefficient of every cell.
  subroutine dyn_prepare(this, d, u, v, w)
    class(les_dynamic_smagorinsky_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: i, j, k, p
    real(rp) :: uc(3), s(6), smag, uh(3), sh(6), shmag, l(6), m(6), lm, mm, loc(2), glob(2), d2
    call stress_prepare(this, d, u, v, w)
    d2 = this%delta**2
    p = 0
    associate(q => this%q, g => this%grad)
      do k = 1, d%n(3)
        do j = 1, d%n(2)
          do i = 1, d%n(1)
            p = p + 1
            uc = [0.5_rp*(u(i,j,k) + u(i-1,j,k)), 0.5_rp*(v(i,j,k) + v(i,j-1,k)), &
                  0.5_rp*(w(i,j,k) + w(i,j,k-1))]
            q(i, j, k, 1:3) = uc
            q(i, j, k, 4:9) = uc(pa)*uc(pb)
            q(i, j, k, 10:18) = g(p, :)
            call strain(g(p, :), s, smag)
            q(i, j, k, 19:24) = smag*s
          end do
        end do
      end do
    end associate
    call update_halo_n(d, this%q)
    call test_filter(d, this%q, this%qf)
    loc = 0
    p = 0
    associate(qf => this%qf)
      do k = 1, d%n(3)
        do j = 1, d%n(2)
          do i = 1, d%n(1)
            p = p + 1
            uh = qf(i, j, k, 1:3)
            l = qf(i, j, k, 4:9) - uh(pa)*uh(pb)
            call strain(qf(i, j, k, 10:18), sh, shmag)
            m = 2*d2*(qf(i, j, k, 19:24) - 4*shmag*sh)
            lm = sum(wq*l*m); mm = sum(wq*m*m)
            if (this%local) then
              this%r(i, j, k, 1) = lm; this%r(i, j, k, 2) = mm
            else
              loc = loc + [lm, mm]
            end if
          end do
        end do
      end do
    end associate
    if (this%local) then
      call update_halo_n(d, this%r)
      call test_filter(d, this%r, this%rf)
      p = 0
      do k = 1, d%n(3)
        do j = 1, d%n(2)
          do i = 1, d%n(1)
            p = p + 1
            this%c(p) = 0
            if (this%rf(i, j, k, 2) > 0) &
              this%c(p) = min(max(this%rf(i, j, k, 1)/this%rf(i, j, k, 2), 0.0_rp), c_local_max)
          end do
        end do
      end do
      this%c_last = sum(this%c)/max(this%ncell, 1)
    else
      call MPI_Allreduce(loc, glob, 2, MPI_DOUBLE_PRECISION, MPI_SUM, d%comm)
      this%c_last = 0
      if (glob(2) > 0) this%c_last = max(glob(1)/glob(2), 0.0_rp)
      this%c = this%c_last
    end if
    this%stages = this%stages + 1
    this%c_sum = this%c_sum + this%c_last
  end subroutine dyn_prepare

  subroutine dyn_stress(this, d, grad, tau)
    class(les_dynamic_smagorinsky_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in), contiguous :: grad(:, :)
    real(rp), intent(out), contiguous :: tau(:, :)
    integer :: p
    real(rp) :: s(6), smag, d2
    d2 = this%delta**2
    do p = 1, size(grad, 1)
      call strain(grad(p, :), s, smag)
      tau(p, :) = -2*this%c(p)*d2*smag*s
    end do
  end subroutine dyn_stress

  subroutine dyn_free(this)
    class(les_dynamic_smagorinsky_t), intent(inout) :: this
    call stress_free(this)
    if (allocated(this%c)) deallocate(this%c)
    if (allocated(this%q)) deallocate(this%q)
    if (allocated(this%qf)) deallocate(this%qf)
    if (allocated(this%r)) deallocate(this%r)
    if (allocated(this%rf)) deallocate(this%rf)
  end subroutine dyn_free

  function dyn_name(this) result(s)
    class(les_dynamic_smagorinsky_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'dynamic_smagorinsky'
  end function dyn_name

  ! the mean coefficient over the stages (box: the global C; local: rank 0's block mean)
  function dyn_status(this) result(s)
    class(les_dynamic_smagorinsky_t), intent(in) :: this
    character(len=:), allocatable :: s
    character(len=256) :: line
    character(len=5) :: avg
    avg = 'box'
    if (this%local) avg = 'local'
    write(line, '(a,i0,2(a,es12.5),a)') '{"model": "dynamic_smagorinsky", "average": "'// &
      trim(avg)//'", "stages": ', this%stages, ', "c_mean": ', &
      this%c_sum/max(this%stages, 1_8), ', "c_last": ', this%c_last, '}'
    s = trim(line)
  end function dyn_status
end module el_les_dynamic_smagorinsky
