! The stress form every SGS model but 'none' shares (les_stress_t).
!
! Every stress model (Smagorinsky, dynamic Smagorinsky, WALE, Vreman, gradient, learned) works the
! same way: the velocity gradient G at the cell centres (the filtered gradient with a one-cell
! filter, exactly what a learned model is trained on) -> the stress tau_ij at the cell centres ->
! its divergence on the faces, with the off-diagonal stresses averaged to the cell edges. By
! summation by parts the energy this removes is exactly
!     eps_sgs = - sum over cells of tau_ij S_ij,   S_ij = (G_ij + G_ji)/2 at the centres,
! because the four-edge average of the edge strain equals the centre strain. Models therefore
! differ only in how they map G to tau, which is what lets the learned path be checked against
! Smagorinsky to round-off.
module el_les_stress
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_halo, only: update_halo_n
  use el_param, only: config_t
  use el_sgs_samples, only: filtered_gradient
  use el_les_model, only: les_model_t
  implicit none
  private
  public :: les_stress_t
  public :: stress_init, stress_prepare, stress_free   ! for extensions of les_stress_t

  ! A model given as a stress at the cell centres from the centre velocity gradient.
  type, abstract, extends(les_model_t) :: les_stress_t
    real(rp) :: cs = 0.17_rp, delta = 0
    logical :: clip = .true.                    ! zero the stress where it would backscatter
    integer :: ncell = 0
    real(rp), allocatable :: grad(:,:)          ! (ncell, 9): G11 G12 G13 G21 ... G33
    real(rp), allocatable :: tau(:,:)           ! (ncell, 6): 11 22 33 12 13 23
    real(rp), allocatable :: tf(:,:,:,:)        ! (0:n+1, 0:n+1, 0:n+1, 6) with halos
    real(rp), allocatable :: ed(:,:,:,:)        ! (0:n, 0:n, 0:n, 3) off-diagonal edge stresses
  contains
    procedure :: init => stress_init
    procedure :: prepare => stress_prepare
    procedure :: compute => stress_compute
    procedure :: free => stress_free
    procedure(stress_if), deferred :: stress
  end type les_stress_t

  abstract interface
    ! tau (ncell, 6) from the centre gradient grad (ncell, 9); cells in Fortran order.
    subroutine stress_if(this, d, grad, tau)
      import :: les_stress_t, decomp_t, rp
      class(les_stress_t), intent(inout) :: this
      type(decomp_t), intent(in) :: d
      real(rp), intent(in), contiguous :: grad(:, :)
      real(rp), intent(out), contiguous :: tau(:, :)
    end subroutine stress_if
  end interface

contains

  subroutine stress_init(this, d, cfg, ierr, msg)
    class(les_stress_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    ierr = 0; msg = ''
    this%cs = cfg%cs
    this%clip = cfg%clip_backscatter
    this%delta = (d%dx*d%dy*d%dz)**(1.0_rp/3)
    this%ncell = d%n(1)*d%n(2)*d%n(3)
    allocate(this%grad(this%ncell, 9), this%tau(this%ncell, 6), source=0.0_rp)
    allocate(this%tf(0:d%n(1)+1, 0:d%n(2)+1, 0:d%n(3)+1, 6), source=0.0_rp)
    allocate(this%ed(0:d%n(1), 0:d%n(2), 0:d%n(3), 3), source=0.0_rp)
  end subroutine stress_init

  subroutine stress_prepare(this, d, u, v, w)
    class(les_stress_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    call filtered_gradient(d, 1, u, v, w, this%grad)
  end subroutine stress_prepare

  ! The stress of the model, clipped where it backscatters (if asked), its exact energy drain,
  ! the effective viscosity for the time step, and -d tau_ij/dx_j added to du, dv, dw.
  subroutine stress_compute(this, d, u, v, w, du, dv, dw)
    class(les_stress_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(inout) :: du(0:, 0:, 0:), dv(0:, 0:, 0:), dw(0:, 0:, 0:)
    integer :: i, j, k, p, q, nx, ny, nz
    real(rp) :: dxi, dyi, dzi, eps, nmax, ss_floor
    nx = d%n(1); ny = d%n(2); nz = d%n(3)
    ! the effective viscosity e/|S|^2 of the time-step limit is taken with |S|^2 at least 1 % of
    ! its block mean: a stress that does not vanish with the strain (a learned model's bias at a
    ! vortex centre) must not shrink the time step towards zero
    ss_floor = 0
    do p = 1, this%ncell
      ss_floor = ss_floor + this%grad(p, 1)**2 + this%grad(p, 5)**2 + this%grad(p, 9)**2 &
        + 0.5_rp*((this%grad(p, 2) + this%grad(p, 4))**2 + (this%grad(p, 3) + this%grad(p, 7))**2 &
                  + (this%grad(p, 6) + this%grad(p, 8))**2)
    end do
    ss_floor = 0.01_rp*2*ss_floor/max(this%ncell, 1)
    ! the stress last: a model that waits for it (the learned one) overlaps the lines above
    call this%stress(d, this%grad, this%tau)
    if (this%err /= 0) return
    dxi = 1/d%dx; dyi = 1/d%dy; dzi = 1/d%dz
    call drain(this%ncell, this%grad, this%tau, this%clip, ss_floor, eps, nmax)
    ! the stress into the haloed array, one contiguous line of cells at a time
    p = 0
    do k = 1, nz
      do j = 1, ny
        do q = 1, 6
          this%tf(1:nx, j, k, q) = this%tau(p+1:p+nx, q)
        end do
        p = p + nx
      end do
    end do
    this%eps_sgs = eps
    this%nut_max = nmax
    call update_halo_n(d, this%tf)
    ! off-diagonal stresses on the cell edges, four-centre averages: xy-edge (i+1/2, j+1/2, k)
    ! in ed(:,:,:,1), xz-edge (i+1/2, j, k+1/2) in 2, yz-edge (i, j+1/2, k+1/2) in 3
    associate(tf => this%tf, ed => this%ed)
      do k = 0, nz
        do j = 0, ny
          do i = 0, nx
            ed(i,j,k,1) = 0.25_rp*(tf(i,j,k,4) + tf(i+1,j,k,4) + tf(i,j+1,k,4) + tf(i+1,j+1,k,4))
            ed(i,j,k,2) = 0.25_rp*(tf(i,j,k,5) + tf(i+1,j,k,5) + tf(i,j,k+1,5) + tf(i+1,j,k+1,5))
            ed(i,j,k,3) = 0.25_rp*(tf(i,j,k,6) + tf(i,j+1,k,6) + tf(i,j,k+1,6) + tf(i,j+1,k+1,6))
          end do
        end do
      end do
      do k = 1, nz
        do j = 1, ny
          do i = 1, nx
            du(i,j,k) = du(i,j,k) - dxi*(tf(i+1,j,k,1) - tf(i,j,k,1)) &
              - dyi*(ed(i,j,k,1) - ed(i,j-1,k,1)) - dzi*(ed(i,j,k,2) - ed(i,j,k-1,2))
            dv(i,j,k) = dv(i,j,k) - dxi*(ed(i,j,k,1) - ed(i-1,j,k,1)) &
              - dyi*(tf(i,j+1,k,2) - tf(i,j,k,2)) - dzi*(ed(i,j,k,3) - ed(i,j,k-1,3))
            dw(i,j,k) = dw(i,j,k) - dxi*(ed(i,j,k,2) - ed(i-1,j,k,2)) &
              - dyi*(ed(i,j,k,3) - ed(i,j-1,k,3)) - dzi*(tf(i,j,k+1,3) - tf(i,j,k,3))
          end do
        end do
      end do
    end associate
  end subroutine stress_compute

  ! Per cell: the energy drain e = -tau_ij S_ij, the stress zeroed where e < 0 (if clip), the
  ! sum of e and the largest effective viscosity e/|S|^2 (|S|^2 at least ss_floor). Explicit
  ! shapes and selects instead of branches: a learned stress backscatters in many scattered
  ! cells, where a branch on its sign was mispredicted.
  subroutine drain(n, g, t, clip, ss_floor, eps, nmax)
    integer, intent(in) :: n
    real(rp), intent(in) :: g(n, 9), ss_floor
    real(rp), intent(inout) :: t(n, 6)
    logical, intent(in) :: clip
    real(rp), intent(out) :: eps, nmax
    integer :: p, q
    real(rp) :: s1, s2, s3, s4, s5, s6, e, ss, den
    logical :: cut
    eps = 0; nmax = 0
    do p = 1, n
      s1 = g(p, 1); s2 = g(p, 5); s3 = g(p, 9)
      s4 = 0.5_rp*(g(p, 2) + g(p, 4))
      s5 = 0.5_rp*(g(p, 3) + g(p, 7))
      s6 = 0.5_rp*(g(p, 6) + g(p, 8))
      e = -(t(p, 1)*s1 + t(p, 2)*s2 + t(p, 3)*s3 + 2*(t(p, 4)*s4 + t(p, 5)*s5 + t(p, 6)*s6))
      cut = clip .and. e < 0
      do q = 1, 6
        t(p, q) = merge(0.0_rp, t(p, q), cut)
      end do
      e = merge(0.0_rp, e, cut)
      eps = eps + e
      ss = 2*(s1**2 + s2**2 + s3**2 + 2*(s4**2 + s5**2 + s6**2))
      ! only where max(ss, ss_floor) > 0 (the quotient of the other cells is discarded)
      den = max(ss, ss_floor)
      nmax = max(nmax, merge(e/den, nmax, den > 0))
    end do
  end subroutine drain

  subroutine stress_free(this)
    class(les_stress_t), intent(inout) :: this
    if (allocated(this%grad)) deallocate(this%grad)
    if (allocated(this%tau)) deallocate(this%tau)
    if (allocated(this%tf)) deallocate(this%tf)
    if (allocated(this%ed)) deallocate(this%ed)
  end subroutine stress_free
end module el_les_stress
