! Smagorinsky: tau_ij = -2 (cs Delta)^2 |S| S_ij, |S| = sqrt(2 S_ij S_ij), Delta = (dx dy dz)^(1/3).
module el_les_smagorinsky
  use el_types, only: rp
  use el_decomp, only: decomp_t
  use el_les_stress, only: les_stress_t
  implicit none
  private
  public :: les_smagorinsky_t, smagorinsky_stress

  type, extends(les_stress_t) :: les_smagorinsky_t
  contains
    procedure :: stress => smag_stress
    procedure :: name => smag_name
  end type les_smagorinsky_t

contains

  ! Smagorinsky stress of the gradients g (ncell, 9) with c2 = (cs Delta)^2.
  pure subroutine smagorinsky_stress(c2, g, tau)
    real(rp), intent(in) :: c2, g(:, :)
    real(rp), intent(out) :: tau(:, :)
    integer :: p
    real(rp) :: s11, s22, s33, s12, s13, s23, nut
    do p = 1, size(g, 1)
      s11 = g(p, 1); s22 = g(p, 5); s33 = g(p, 9)
      s12 = 0.5_rp*(g(p, 2) + g(p, 4))
      s13 = 0.5_rp*(g(p, 3) + g(p, 7))
      s23 = 0.5_rp*(g(p, 6) + g(p, 8))
      nut = c2*sqrt(2*(s11**2 + s22**2 + s33**2 + 2*(s12**2 + s13**2 + s23**2)))
      tau(p, 1) = -2*nut*s11; tau(p, 2) = -2*nut*s22; tau(p, 3) = -2*nut*s33
      tau(p, 4) = -2*nut*s12; tau(p, 5) = -2*nut*s13; tau(p, 6) = -2*nut*s23
    end do
  end subroutine smagorinsky_stress

  subroutine smag_stress(this, d, grad, tau)
    class(les_smagorinsky_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in), contiguous :: grad(:, :)
    real(rp), intent(out), contiguous :: tau(:, :)
    call smagorinsky_stress((this%cs*this%delta)**2, grad, tau)
  end subroutine smag_stress

  function smag_name(this) result(s)
    class(les_smagorinsky_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'smagorinsky'
  end function smag_name
end module el_les_smagorinsky
