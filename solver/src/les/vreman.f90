! Vreman (2004): tau_ij = -2 nu_t S_ij with nu_t = c_vreman sqrt(B / (a_ij a_ij)),
!   a_ij = du_j/dx_i,  b_ij = Delta^2 a_mi a_mj,
!   B = b11 b22 - b12^2 + b11 b33 - b13^2 + b22 b33 - b23^2,
! which vanishes wherever the gradient has rank one (a velocity varying in one direction only:
! shear layers, laminar channel-like flows).
module el_les_vreman
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_param, only: config_t
  use el_les_stress, only: les_stress_t, stress_init
  implicit none
  private
  public :: les_vreman_t

  type, extends(les_stress_t) :: les_vreman_t
    real(rp) :: cv = 0.07_rp
  contains
    procedure :: init => vreman_init
    procedure :: stress => vreman_stress
    procedure :: name => vreman_name
  end type les_vreman_t

contains

  subroutine vreman_init(this, d, cfg, ierr, msg)
    class(les_vreman_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    call stress_init(this, d, cfg, ierr, msg)
    this%cv = cfg%c_vreman
  end subroutine vreman_init

  subroutine vreman_stress(this, d, grad, tau)
    class(les_vreman_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in), contiguous :: grad(:, :)
    real(rp), intent(out), contiguous :: tau(:, :)
    integer :: p
    real(rp) :: g(3, 3), b(3, 3), bb, aa, nut, d2
    d2 = this%delta**2
    do p = 1, size(grad, 1)
      g = transpose(reshape(grad(p, :), [3, 3]))     ! g(i, j) = du_i/dx_j = a_ji
      b = d2*matmul(g, transpose(g))                  ! b_ij = Delta^2 sum_m g_im g_jm
      bb = b(1, 1)*b(2, 2) - b(1, 2)**2 + b(1, 1)*b(3, 3) - b(1, 3)**2 &
         + b(2, 2)*b(3, 3) - b(2, 3)**2
      aa = sum(g*g)
      nut = 0
      if (aa > 0 .and. bb > 0) nut = this%cv*sqrt(bb/aa)
      tau(p, 1) = -2*nut*g(1, 1); tau(p, 2) = -2*nut*g(2, 2); tau(p, 3) = -2*nut*g(3, 3)
      tau(p, 4) = -nut*(g(1, 2) + g(2, 1)); tau(p, 5) = -nut*(g(1, 3) + g(3, 1))
      tau(p, 6) = -nut*(g(2, 3) + g(3, 2))
    end do
  end subroutine vreman_stress

  function vreman_name(this) result(s)
    class(les_vreman_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'vreman'
  end function vreman_name
end module el_les_vreman
