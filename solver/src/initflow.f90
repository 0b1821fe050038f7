! Initial conditions: 3D Taylor-Green vortex, 2D Taylor-Green decay, and a random-phase
! divergence-free isotropic field with spectrum E(k) ~ k^4 exp(-2 (k/k_peak)^2).
module el_initflow
  use mpi_f08
  use el_types, only: rp, pi, msg_len
  use el_decomp, only: decomp_t
  use el_halo, only: update_halo
  use el_poisson, only: poisson_t, fft_forward, fft_backward, poisson_solve
  use el_ops, only: divergence, project, kinetic_energy_sum
  implicit none
  private
  public :: init_flow

contains

  ! Fill u, v, w (interior and ghosts) with the initial condition `kind`; p is set to zero.
  subroutine init_flow(kind, d, ps, lx, ly, lz, u0, k_peak, seed, u, v, w, p, ierr, msg)
    character(len=*), intent(in) :: kind
    type(decomp_t),   intent(in) :: d
    type(poisson_t),  intent(inout) :: ps
    real(rp),         intent(in) :: lx, ly, lz, u0, k_peak
    integer,          intent(in) :: seed
    real(rp),         intent(inout) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:), p(0:, 0:, 0:)
    integer,          intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    integer :: i, j, k
    real(rp) :: xf, xc, yf, yc, zf, zc, ax, ay, az
    ierr = 0; msg = ''
    p = 0
    ax = 2*pi/lx; ay = 2*pi/ly; az = 2*pi/lz
    select case (trim(kind))
    case ('tgv3d', 'tg2d')
      do k = 1, d%n(3)
        zc = -lz/2 + (d%kstart + k - 1.5_rp)*d%dz
        zf = zc + d%dz/2
        do j = 1, d%n(2)
          yc = -ly/2 + (j - 0.5_rp)*d%dy
          yf = yc + d%dy/2
          do i = 1, d%n(1)
            xc = -lx/2 + (i - 0.5_rp)*d%dx
            xf = xc + d%dx/2
            if (kind == 'tgv3d') then
              u(i,j,k) =  u0*sin(ax*xf)*cos(ay*yc)*cos(az*zc)
              v(i,j,k) = -u0*cos(ax*xc)*sin(ay*yf)*cos(az*zc)
            else
              u(i,j,k) =  u0*sin(ax*xf)*cos(ay*yc)
              v(i,j,k) = -u0*cos(ax*xc)*sin(ay*yf)
            end if
            w(i,j,k) = 0
          end do
        end do
      end do
    case ('isotropic')
      call random_component(1, u); call random_component(2, v); call random_component(3, w)
      call make_solenoidal()
      call rescale()
    case default
      ierr = 1; msg = 'unknown initial condition '//trim(kind); return
    end select
    call update_halo(d, u); call update_halo(d, v); call update_halo(d, w)
  contains
    ! White noise of the whole box (drawn identically on every rank, so the field does not
    ! depend on the decomposition), then every Fourier mode set to amplitude sqrt(E(k)/(4 pi k^2))
    ! with its random phase kept.
    subroutine random_component(comp, a)
      integer, intent(in) :: comp
      real(rp), intent(inout) :: a(0:, 0:, 0:)
      integer :: nseed, kk, jj, ii, kg
      integer, allocatable :: s(:)
      real(rp), allocatable :: plane(:,:)
      real(rp) :: kmag, amp, mag
      call random_seed(size=nseed)
      allocate(s(nseed))
      do ii = 1, nseed
        s(ii) = seed*7919 + comp*104729 + ii*15485863
      end do
      call random_seed(put=s)
      allocate(plane(d%nx, d%ny))
      do kg = 1, d%nz
        call random_number(plane)
        if (kg >= d%kstart .and. kg < d%kstart + d%n(3)) &
          a(1:d%nx, 1:d%ny, kg - d%kstart + 1) = plane - 0.5_rp
      end do
      call fft_forward(ps, d, a)
      do jj = 1, ps%nyl
        do kk = 1, d%nz
          do ii = 1, ps%nxh
            kmag = sqrt(real(ps%kx(ii)**2 + ps%ky(jj)**2 + ps%kz(kk)**2, rp))
            mag = abs(ps%c(ii, kk, jj))
            if (kmag == 0 .or. mag == 0) then
              ps%c(ii, kk, jj) = 0
            else
              amp = sqrt(kmag**4*exp(-2*(kmag/k_peak)**2)/(4*pi*kmag**2))
              ps%c(ii, kk, jj) = ps%c(ii, kk, jj)/mag*amp
            end if
          end do
        end do
      end do
      call fft_backward(ps, d, a)
    end subroutine random_component

    ! Remove the discrete-gradient part so that the MAC divergence vanishes.
    subroutine make_solenoidal()
      real(rp), allocatable :: div(:,:,:)
      allocate(div, mold=p)
      call update_halo(d, u); call update_halo(d, v); call update_halo(d, w)
      call divergence(d%n, d%dx, d%dy, d%dz, 1.0_rp, u, v, w, div)
      call poisson_solve(ps, d, div, p)
      call update_halo(d, p)
      call project(d%n, d%dx, d%dy, d%dz, 1.0_rp, p, u, v, w)
      p = 0
    end subroutine make_solenoidal

    ! Scale to the requested rms velocity u0 (E = 3/2 u0^2).
    subroutine rescale()
      real(rp) :: s, e
      s = kinetic_energy_sum(d%n, u, v, w)
      call MPI_Allreduce(s, e, 1, MPI_DOUBLE_PRECISION, MPI_SUM, d%comm)
      e = 0.5_rp*e/(real(d%nx, rp)*d%ny*d%nz)
      if (e > 0) then
        u = u*u0/sqrt(2*e/3); v = v*u0/sqrt(2*e/3); w = w*u0/sqrt(2*e/3)
      end if
    end subroutine rescale
  end subroutine init_flow

end module el_initflow
