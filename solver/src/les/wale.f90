! WALE (Nicoud & Ducros 1999): tau_ij = -2 nu_t S_ij with
!   nu_t = (c_wale Delta)^2 (Sd_ij Sd_ij)^(3/2) / ((S_ij S_ij)^(5/2) + (Sd_ij Sd_ij)^(5/4)),
!   Sd_ij = (g2_ij + g2_ji)/2 - delta_ij g2_kk/3,  g2 = G G  (G_ij = du_i/dx_j),
! which vanishes in pure shear (G G = 0) and, with S, in solid-body rotation.
module el_les_wale
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_param, only: config_t
  use el_les_stress, only: les_stress_t, stress_init
  implicit none
  private
  public :: les_wale_t

  type, extends(les_stress_t) :: les_wale_t
    real(rp) :: cw = 0.325_rp
  contains
    procedure :: init => wale_init
    procedure :: stress => wale_stress
    procedure :: name => wale_name
  end type les_wale_t

contains

  subroutine wale_init(this, d, cfg, ierr, msg)
    class(les_wale_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    call stress_init(this, d, cfg, ierr, msg)
    this%cw = cfg%c_wale
  end subroutine wale_init

  subroutine wale_stress(this, d, grad, tau)
    class(les_wale_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in), contiguous :: grad(:, :)
    real(rp), intent(out), contiguous :: tau(:, :)
    integer :: p, i, j
    real(rp) :: g(3, 3), g2(3, 3), sd(3, 3), s(3, 3), ss, sdsd, den, nut, c2, tr
    c2 = (this%cw*this%delta)**2
    do p = 1, size(grad, 1)
      g = transpose(reshape(grad(p, :), [3, 3]))     ! g(i, j) = du_i/dx_j
      g2 = matmul(g, g)
      tr = (g2(1, 1) + g2(2, 2) + g2(3, 3))/3
      do j = 1, 3
        do i = 1, 3
          sd(i, j) = 0.5_rp*(g2(i, j) + g2(j, i))
          s(i, j) = 0.5_rp*(g(i, j) + g(j, i))
        end do
        sd(j, j) = sd(j, j) - tr
      end do
      ss = sum(s*s); sdsd = sum(sd*sd)
      den = ss**2.5_rp + sdsd**1.25_rp
      nut = 0
      if (den > 0) nut = c2*sdsd**1.5_rp/den
      tau(p, 1) = -2*nut*s(1, 1); tau(p, 2) = -2*nut*s(2, 2); tau(p, 3) = -2*nut*s(3, 3)
      tau(p, 4) = -2*nut*s(1, 2); tau(p, 5) = -2*nut*s(1, 3); tau(p, 6) = -2*nut*s(2, 3)
    end do
  end subroutine wale_stress

  function wale_name(this) result(s)
    class(les_wale_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'wale'
  end function wale_name
end module el_les_wale
