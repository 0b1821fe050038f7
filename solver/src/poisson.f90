! Pressure Poisson solver for the periodic MAC grid: FFTW's MPI r2c transform of the z slabs
! (transposed output, distributed in y), division by the eigenvalues of the discrete
! 7-point Laplacian, inverse transform. The same transforms serve spectral filtering.
module el_poisson
  use, intrinsic :: iso_c_binding
  use mpi_f08
  use el_types, only: rp, pi
  use el_decomp, only: decomp_t
  implicit none
  private
  public :: poisson_t, poisson_init, poisson_solve, poisson_free, fft_forward, fft_backward
  include 'fftw3-mpi.f03'

  type :: poisson_t
    type(C_PTR) :: plan_f = C_NULL_PTR, plan_b = C_NULL_PTR, pr = C_NULL_PTR, pc = C_NULL_PTR
    real(C_DOUBLE), pointer :: r(:,:,:) => null()             ! (2*(nx/2+1), ny, nzl), padded
    complex(C_DOUBLE_COMPLEX), pointer :: c(:,:,:) => null()  ! (nx/2+1, nz, nyl), transposed
    integer :: nxh, nyl, jstart                                ! spectral local sizes
    real(rp), allocatable :: lamx(:), lamy(:), lamz(:)         ! Laplacian eigenvalues
    integer, allocatable :: kx(:), ky(:), kz(:)                ! signed integer wavenumbers
    real(rp) :: norm
  end type poisson_t

contains

  ! Allocate aligned buffers, plan the transforms and tabulate the eigenvalues.
  subroutine poisson_init(ps, d, measure, ierr)
    type(poisson_t), intent(out) :: ps
    type(decomp_t),  intent(in)  :: d
    logical,         intent(in)  :: measure
    integer,         intent(out) :: ierr
    integer(C_INTPTR_T) :: alloc_local, lnz, lzs, lny, lys, n0, n1, n2h
    integer(C_INT) :: flags
    integer :: i, j, k
    ierr = 0
    call fftw_mpi_init()
    ps%nxh = d%nx/2 + 1
    n0 = d%nz; n1 = d%ny; n2h = ps%nxh
    alloc_local = fftw_mpi_local_size_3d_transposed(n0, n1, n2h, d%comm%MPI_VAL, &
                                                    lnz, lzs, lny, lys)
    if (lnz /= d%n(3) .or. lzs /= d%kstart - 1) then
      ierr = 1; return
    end if
    ps%nyl = int(lny); ps%jstart = int(lys) + 1
    ps%pr = fftw_alloc_real(2*alloc_local)
    ps%pc = fftw_alloc_complex(alloc_local)
    call c_f_pointer(ps%pr, ps%r, [2*ps%nxh, d%ny, d%n(3)])
    call c_f_pointer(ps%pc, ps%c, [ps%nxh, d%nz, max(ps%nyl, 1)])
    flags = FFTW_ESTIMATE
    if (measure) flags = FFTW_MEASURE
    n2h = d%nx
    ps%plan_f = fftw_mpi_plan_dft_r2c_3d(n0, n1, n2h, ps%r, ps%c, d%comm%MPI_VAL, &
                                         ior(flags, FFTW_MPI_TRANSPOSED_OUT))
    ps%plan_b = fftw_mpi_plan_dft_c2r_3d(n0, n1, n2h, ps%c, ps%r, d%comm%MPI_VAL, &
                                         ior(flags, FFTW_MPI_TRANSPOSED_IN))
    if (.not. c_associated(ps%plan_f) .or. .not. c_associated(ps%plan_b)) then
      ierr = 2; return
    end if
    allocate(ps%lamx(ps%nxh), ps%lamy(max(ps%nyl, 1)), ps%lamz(d%nz))
    allocate(ps%kx(ps%nxh), ps%ky(max(ps%nyl, 1)), ps%kz(d%nz))
    do i = 1, ps%nxh
      ps%kx(i) = i - 1
      ps%lamx(i) = -(2 - 2*cos(2*pi*(i-1)/d%nx))/d%dx**2
    end do
    do j = 1, ps%nyl
      ps%ky(j) = wrap(ps%jstart + j - 2, d%ny)
      ps%lamy(j) = -(2 - 2*cos(2*pi*(ps%jstart + j - 2)/d%ny))/d%dy**2
    end do
    do k = 1, d%nz
      ps%kz(k) = wrap(k - 1, d%nz)
      ps%lamz(k) = -(2 - 2*cos(2*pi*(k-1)/d%nz))/d%dz**2
    end do
    ps%norm = 1.0_rp/(real(d%nx, rp)*d%ny*d%nz)
  contains
    pure integer function wrap(m, n)
      integer, intent(in) :: m, n
      wrap = m
      if (m > n/2) wrap = m - n
    end function wrap
  end subroutine poisson_init

  ! Forward transform of the interior of a(0:,0:,0:) into ps%c.
  subroutine fft_forward(ps, d, a)
    type(poisson_t), intent(inout) :: ps
    type(decomp_t),  intent(in)    :: d
    real(rp),        intent(in)    :: a(0:, 0:, 0:)
    integer :: k, j
    do k = 1, d%n(3)
      do j = 1, d%n(2)
        ps%r(1:d%nx, j, k) = a(1:d%nx, j, k)
      end do
    end do
    call fftw_mpi_execute_dft_r2c(ps%plan_f, ps%r, ps%c)
  end subroutine fft_forward

  ! Inverse transform of ps%c into the interior of a(0:,0:,0:), normalised.
  subroutine fft_backward(ps, d, a)
    type(poisson_t), intent(inout) :: ps
    type(decomp_t),  intent(in)    :: d
    real(rp),        intent(inout) :: a(0:, 0:, 0:)
    integer :: k, j
    call fftw_mpi_execute_dft_c2r(ps%plan_b, ps%c, ps%r)
    do k = 1, d%n(3)
      do j = 1, d%n(2)
        a(1:d%nx, j, k) = ps%r(1:d%nx, j, k)*ps%norm
      end do
    end do
  end subroutine fft_backward

  ! Solve L p = rhs (interiors) with the discrete Laplacian L; the mean of p is zero.
  subroutine poisson_solve(ps, d, rhs, p)
    type(poisson_t), intent(inout) :: ps
    type(decomp_t),  intent(in)    :: d
    real(rp),        intent(in)    :: rhs(0:, 0:, 0:)
    real(rp),        intent(inout) :: p(0:, 0:, 0:)
    integer :: i, j, k
    real(rp) :: lam
    call fft_forward(ps, d, rhs)
    do j = 1, ps%nyl
      do k = 1, d%nz
        do i = 1, ps%nxh
          lam = ps%lamx(i) + ps%lamy(j) + ps%lamz(k)
          if (lam /= 0) then
            ps%c(i, k, j) = ps%c(i, k, j)/lam
          else
            ps%c(i, k, j) = 0
          end if
        end do
      end do
    end do
    call fft_backward(ps, d, p)
  end subroutine poisson_solve

  subroutine poisson_free(ps)
    type(poisson_t), intent(inout) :: ps
    if (c_associated(ps%plan_f)) call fftw_destroy_plan(ps%plan_f)
    if (c_associated(ps%plan_b)) call fftw_destroy_plan(ps%plan_b)
    if (c_associated(ps%pr)) call fftw_free(ps%pr)
    if (c_associated(ps%pc)) call fftw_free(ps%pc)
    ps%plan_f = C_NULL_PTR; ps%plan_b = C_NULL_PTR; ps%pr = C_NULL_PTR; ps%pc = C_NULL_PTR
  end subroutine poisson_free
end module el_poisson
