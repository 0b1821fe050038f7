! Discrete operators of the staggered (MAC) grid. u(i,j,k) sits on the +x face of cell (i,j,k),
! v on the +y face, w on the +z face, p at the centre. Arrays carry one ghost layer (0:n+1).
module el_ops
  use el_types, only: rp
  implicit none
  private
  public :: momentum_rhs, divergence, project, kinetic_energy_sum, enstrophy_sum, &
            max_cfl_rate, max_abs_interior

contains

  ! Advection in divergence form (energy-conserving on the MAC grid when div u = 0) and
  ! viscous diffusion nu*lap(u): du,dv,dw = -conv + nu*lap for the interior points.
  subroutine momentum_rhs(n, dx, dy, dz, nu, u, v, w, du, dv, dw)
    integer,  intent(in)  :: n(3)
    real(rp), intent(in)  :: dx, dy, dz, nu
    real(rp), intent(in)  :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(out) :: du(0:, 0:, 0:), dv(0:, 0:, 0:), dw(0:, 0:, 0:)
    integer :: i, j, k
    real(rp) :: dxi, dyi, dzi, qx, qy, qz
    real(rp) :: uuip, uuim, uvjp, uvjm, uwkp, uwkm
    real(rp) :: vuip, vuim, vvjp, vvjm, vwkp, vwkm
    real(rp) :: wuip, wuim, wvjp, wvjm, wwkp, wwkm
    dxi = 1/dx; dyi = 1/dy; dzi = 1/dz
    qx = nu*dxi**2; qy = nu*dyi**2; qz = nu*dzi**2
    do k = 1, n(3)
      do j = 1, n(2)
        do i = 1, n(1)
          ! x-momentum at (i+1/2, j, k)
          uuip = 0.25_rp*(u(i+1,j,k) + u(i,j,k))**2
          uuim = 0.25_rp*(u(i-1,j,k) + u(i,j,k))**2
          uvjp = 0.25_rp*(u(i,j+1,k) + u(i,j,k))*(v(i+1,j,k) + v(i,j,k))
          uvjm = 0.25_rp*(u(i,j-1,k) + u(i,j,k))*(v(i+1,j-1,k) + v(i,j-1,k))
          uwkp = 0.25_rp*(u(i,j,k+1) + u(i,j,k))*(w(i+1,j,k) + w(i,j,k))
          uwkm = 0.25_rp*(u(i,j,k-1) + u(i,j,k))*(w(i+1,j,k-1) + w(i,j,k-1))
          du(i,j,k) = -dxi*(uuip - uuim) - dyi*(uvjp - uvjm) - dzi*(uwkp - uwkm) &
                      + qx*(u(i+1,j,k) - 2*u(i,j,k) + u(i-1,j,k)) &
                      + qy*(u(i,j+1,k) - 2*u(i,j,k) + u(i,j-1,k)) &
                      + qz*(u(i,j,k+1) - 2*u(i,j,k) + u(i,j,k-1))
          ! y-momentum at (i, j+1/2, k)
          vuip = 0.25_rp*(v(i+1,j,k) + v(i,j,k))*(u(i,j+1,k) + u(i,j,k))
          vuim = 0.25_rp*(v(i-1,j,k) + v(i,j,k))*(u(i-1,j+1,k) + u(i-1,j,k))
          vvjp = 0.25_rp*(v(i,j+1,k) + v(i,j,k))**2
          vvjm = 0.25_rp*(v(i,j-1,k) + v(i,j,k))**2
          vwkp = 0.25_rp*(v(i,j,k+1) + v(i,j,k))*(w(i,j+1,k) + w(i,j,k))
          vwkm = 0.25_rp*(v(i,j,k-1) + v(i,j,k))*(w(i,j+1,k-1) + w(i,j,k-1))
          dv(i,j,k) = -dxi*(vuip - vuim) - dyi*(vvjp - vvjm) - dzi*(vwkp - vwkm) &
                      + qx*(v(i+1,j,k) - 2*v(i,j,k) + v(i-1,j,k)) &
                      + qy*(v(i,j+1,k) - 2*v(i,j,k) + v(i,j-1,k)) &
                      + qz*(v(i,j,k+1) - 2*v(i,j,k) + v(i,j,k-1))
          ! z-momentum at (i, j, k+1/2)
          wuip = 0.25_rp*(w(i+1,j,k) + w(i,j,k))*(u(i,j,k+1) + u(i,j,k))
          wuim = 0.25_rp*(w(i-1,j,k) + w(i,j,k))*(u(i-1,j,k+1) + u(i-1,j,k))
          wvjp = 0.25_rp*(w(i,j+1,k) + w(i,j,k))*(v(i,j,k+1) + v(i,j,k))
          wvjm = 0.25_rp*(w(i,j-1,k) + w(i,j,k))*(v(i,j-1,k+1) + v(i,j-1,k))
          wwkp = 0.25_rp*(w(i,j,k+1) + w(i,j,k))**2
          wwkm = 0.25_rp*(w(i,j,k-1) + w(i,j,k))**2
          dw(i,j,k) = -dxi*(wuip - wuim) - dyi*(wvjp - wvjm) - dzi*(wwkp - wwkm) &
                      + qx*(w(i+1,j,k) - 2*w(i,j,k) + w(i-1,j,k)) &
                      + qy*(w(i,j+1,k) - 2*w(i,j,k) + w(i,j-1,k)) &
                      + qz*(w(i,j,k+1) - 2*w(i,j,k) + w(i,j,k-1))
        end do
      end do
    end do
  end subroutine momentum_rhs

  ! Cell-centred divergence of the face velocities, scaled by factor.
  subroutine divergence(n, dx, dy, dz, factor, u, v, w, div)
    integer,  intent(in)  :: n(3)
    real(rp), intent(in)  :: dx, dy, dz, factor
    real(rp), intent(in)  :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(out) :: div(0:, 0:, 0:)
    integer :: i, j, k
    do k = 1, n(3)
      do j = 1, n(2)
        do i = 1, n(1)
          div(i,j,k) = factor*((u(i,j,k) - u(i-1,j,k))/dx + (v(i,j,k) - v(i,j-1,k))/dy &
                               + (w(i,j,k) - w(i,j,k-1))/dz)
        end do
      end do
    end do
  end subroutine divergence

  ! Velocity correction u -= c*grad(phi) on the faces (phi needs its +1 ghost layers).
  subroutine project(n, dx, dy, dz, c, phi, u, v, w)
    integer,  intent(in)    :: n(3)
    real(rp), intent(in)    :: dx, dy, dz, c
    real(rp), intent(in)    :: phi(0:, 0:, 0:)
    real(rp), intent(inout) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: i, j, k
    real(rp) :: cx, cy, cz
    cx = c/dx; cy = c/dy; cz = c/dz
    do k = 1, n(3)
      do j = 1, n(2)
        do i = 1, n(1)
          u(i,j,k) = u(i,j,k) - cx*(phi(i+1,j,k) - phi(i,j,k))
          v(i,j,k) = v(i,j,k) - cy*(phi(i,j+1,k) - phi(i,j,k))
          w(i,j,k) = w(i,j,k) - cz*(phi(i,j,k+1) - phi(i,j,k))
        end do
      end do
    end do
  end subroutine project

  ! Local sum of u^2+v^2+w^2 over the interior faces (the discrete kinetic energy is half its mean).
  real(rp) function kinetic_energy_sum(n, u, v, w) result(s)
    integer,  intent(in) :: n(3)
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: k
    s = 0
    do k = 1, n(3)
      s = s + sum(u(1:n(1), 1:n(2), k)**2) + sum(v(1:n(1), 1:n(2), k)**2) &
            + sum(w(1:n(1), 1:n(2), k)**2)
    end do
  end function kinetic_energy_sum

  ! Local sum of |omega|^2 over the cell edges (vorticity components live on the edges).
  ! On the periodic MAC grid nu*mean(|omega|^2) equals the discrete viscous dissipation.
  real(rp) function enstrophy_sum(n, dx, dy, dz, u, v, w) result(s)
    integer,  intent(in) :: n(3)
    real(rp), intent(in) :: dx, dy, dz
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: i, j, k
    real(rp) :: ox, oy, oz
    s = 0
    do k = 1, n(3)
      do j = 1, n(2)
        do i = 1, n(1)
          ox = (w(i,j+1,k) - w(i,j,k))/dy - (v(i,j,k+1) - v(i,j,k))/dz
          oy = (u(i,j,k+1) - u(i,j,k))/dz - (w(i+1,j,k) - w(i,j,k))/dx
          oz = (v(i+1,j,k) - v(i,j,k))/dx - (u(i,j+1,k) - u(i,j,k))/dy
          s = s + ox*ox + oy*oy + oz*oz
        end do
      end do
    end do
  end function enstrophy_sum

  ! Local maximum of |u|/dx + |v|/dy + |w|/dz (the convective CFL rate, 1/time).
  real(rp) function max_cfl_rate(n, dx, dy, dz, u, v, w) result(r)
    integer,  intent(in) :: n(3)
    real(rp), intent(in) :: dx, dy, dz
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    integer :: i, j, k
    r = 0
    do k = 1, n(3)
      do j = 1, n(2)
        do i = 1, n(1)
          r = max(r, abs(u(i,j,k))/dx + abs(v(i,j,k))/dy + abs(w(i,j,k))/dz)
        end do
      end do
    end do
  end function max_cfl_rate

  real(rp) function max_abs_interior(n, a) result(r)
    integer,  intent(in) :: n(3)
    real(rp), intent(in) :: a(0:, 0:, 0:)
    r = maxval(abs(a(1:n(1), 1:n(2), 1:n(3))))
  end function max_abs_interior
end module el_ops
