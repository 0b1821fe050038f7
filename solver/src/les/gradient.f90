! The gradient (Clark) model: tau_ij = c_gradient Delta^2 G_ik G_jk (G_ij = du_i/dx_j), the
! leading term of the Taylor expansion of a filter of width Delta (c_gradient = 1/12 for a box
! filter). It is not purely dissipative: with clip_backscatter (the default) the cells where it
! would feed energy back get no stress.
module el_les_gradient
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_param, only: config_t
  use el_les_stress, only: les_stress_t, stress_init
  implicit none
  private
  public :: les_gradient_t

  type, extends(les_stress_t) :: les_gradient_t
    real(rp) :: cg = 1.0_rp/12
  contains
    procedure :: init => gradient_init
    procedure :: stress => gradient_stress
    procedure :: name => gradient_name
  end type les_gradient_t

contains

  subroutine gradient_init(this, d, cfg, ierr, msg)
    class(les_gradient_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    call stress_init(this, d, cfg, ierr, msg)
    this%cg = cfg%c_gradient
  end subroutine gradient_init

  subroutine gradient_stress(this, d, grad, tau)
    class(les_gradient_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in), contiguous :: grad(:, :)
    real(rp), intent(out), contiguous :: tau(:, :)
    integer :: p
    real(rp) :: g(3, 3), gg(3, 3), c
    c = this%cg*this%delta**2
    do p = 1, size(grad, 1)
      g = transpose(reshape(grad(p, :), [3, 3]))
      gg = c*matmul(g, transpose(g))
      tau(p, 1) = gg(1, 1); tau(p, 2) = gg(2, 2); tau(p, 3) = gg(3, 3)
      tau(p, 4) = gg(1, 2); tau(p, 5) = gg(1, 3); tau(p, 6) = gg(2, 3)
    end do
  end subroutine gradient_stress

  function gradient_name(this) result(s)
    class(les_gradient_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'gradient'
  end function gradient_name
end module el_les_gradient
