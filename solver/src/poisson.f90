! Pressure Poisson solver for the periodic MAC grid: a distributed r2c transform of the z slabs
! (serial FFTW in x and y on each plane, an all-to-all transpose to y slabs, FFTW in z), division
! by the eigenvalues of the discrete 7-point Laplacian, inverse transform. The same transforms
! serve spectral filtering. Only FFTW's serial library is used, so the solver builds against any
! MPI whatever MPI an installed FFTW-MPI library was built for.
module el_poisson
  use, intrinsic :: iso_c_binding
  use mpi_f08
  use el_types, only: rp, pi
  use el_decomp, only: decomp_t
  implicit none
  private
  public :: poisson_t, poisson_init, poisson_solve, poisson_free, fft_forward, fft_backward
  include 'fftw3.f03'

  type :: poisson_t
    type(C_PTR) :: plan_xy_f = C_NULL_PTR, plan_xy_b = C_NULL_PTR   ! 2D r2c/c2r per z plane
    type(C_PTR) :: plan_z_f = C_NULL_PTR, plan_z_b = C_NULL_PTR     ! 1D along z, in place
    type(C_PTR) :: plan_3_f = C_NULL_PTR, plan_3_b = C_NULL_PTR     ! one rank: 3D r -> c
    type(C_PTR) :: pr = C_NULL_PTR, pw = C_NULL_PTR, pc = C_NULL_PTR
    real(C_DOUBLE), pointer :: r(:,:,:) => null()             ! (nx, ny, nzl) physical
    complex(C_DOUBLE_COMPLEX), pointer :: w(:,:,:) => null()  ! (nx/2+1, ny, nzl) z slabs
    complex(C_DOUBLE_COMPLEX), pointer :: c(:,:,:) => null()  ! (nx/2+1, nz, nyl), transposed
    complex(C_DOUBLE_COMPLEX), allocatable :: sbuf(:), rbuf(:)   ! transpose buffers
    integer, allocatable :: ycount(:), ystart(:)               ! y slab of each rank (0-based)
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
    integer(C_INT) :: flags
    integer :: i, j, k, q, nzl, nyl
    type(fftw_iodim) :: zdim(1), zmany(2), xyz(3)
    ierr = 0
    ps%nxh = d%nx/2 + 1
    nzl = d%n(3)
    ! y slabs of the transposed spectrum: the first mod(ny, nranks) ranks take one plane more
    allocate(ps%ycount(0:d%nranks-1), ps%ystart(0:d%nranks-1))
    do q = 0, d%nranks - 1
      ps%ycount(q) = d%ny/d%nranks
      if (q < mod(d%ny, d%nranks)) ps%ycount(q) = ps%ycount(q) + 1
      ps%ystart(q) = q*(d%ny/d%nranks) + min(q, mod(d%ny, d%nranks))
    end do
    ps%nyl = ps%ycount(d%rank); ps%jstart = ps%ystart(d%rank) + 1
    nyl = max(ps%nyl, 1)
    ps%pr = fftw_alloc_real(int(d%nx, C_SIZE_T)*d%ny*max(nzl, 1))
    ps%pw = fftw_alloc_complex(int(ps%nxh, C_SIZE_T)*d%ny*max(nzl, 1))
    ps%pc = fftw_alloc_complex(int(ps%nxh, C_SIZE_T)*d%nz*nyl)
    if (.not. (c_associated(ps%pr) .and. c_associated(ps%pw) .and. c_associated(ps%pc))) then
      ierr = 1; return
    end if
    call c_f_pointer(ps%pr, ps%r, [d%nx, d%ny, max(nzl, 1)])
    call c_f_pointer(ps%pw, ps%w, [ps%nxh, d%ny, max(nzl, 1)])
    call c_f_pointer(ps%pc, ps%c, [ps%nxh, d%nz, nyl])
    allocate(ps%sbuf(ps%nxh*d%ny*max(nzl, 1)), ps%rbuf(ps%nxh*nyl*d%nz))
    flags = FFTW_ESTIMATE
    if (measure) flags = FFTW_MEASURE
    if (d%nranks == 1) then
      ! one rank: one 3D transform writing the transposed layout directly (no copies)
      xyz(1) = fftw_iodim(d%nz, d%nx*d%ny, ps%nxh)
      xyz(2) = fftw_iodim(d%ny, d%nx, ps%nxh*d%nz)
      xyz(3) = fftw_iodim(d%nx, 1, 1)
      ps%plan_3_f = fftw_plan_guru_dft_r2c(3, xyz, 0, zmany, ps%r, ps%c, flags)
      xyz(1) = fftw_iodim(d%nz, ps%nxh, d%nx*d%ny)
      xyz(2) = fftw_iodim(d%ny, ps%nxh*d%nz, d%nx)
      xyz(3) = fftw_iodim(d%nx, 1, 1)
      ps%plan_3_b = fftw_plan_guru_dft_c2r(3, xyz, 0, zmany, ps%c, ps%r, flags)
      if (.not. c_associated(ps%plan_3_f) .or. .not. c_associated(ps%plan_3_b)) then
        ierr = 2; return
      end if
    end if
    ! (x, y) planes: FFTW's dimensions are in C order, slowest first
    ps%plan_xy_f = fftw_plan_many_dft_r2c(2, [d%ny, d%nx], nzl, ps%r, [d%ny, d%nx], 1, &
                                          d%nx*d%ny, ps%w, [d%ny, ps%nxh], 1, ps%nxh*d%ny, flags)
    ps%plan_xy_b = fftw_plan_many_dft_c2r(2, [d%ny, d%nx], nzl, ps%w, [d%ny, ps%nxh], 1, &
                                          ps%nxh*d%ny, ps%r, [d%ny, d%nx], 1, d%nx*d%ny, flags)
    ! z lines of the transposed spectrum, one per (kx, local ky)
    zdim(1) = fftw_iodim(d%nz, ps%nxh, ps%nxh)
    zmany(1) = fftw_iodim(ps%nxh, 1, 1)
    zmany(2) = fftw_iodim(ps%nyl, ps%nxh*d%nz, ps%nxh*d%nz)
    if (ps%nyl > 0) then
      ps%plan_z_f = fftw_plan_guru_dft(1, zdim, 2, zmany, ps%c, ps%c, FFTW_FORWARD, flags)
      ps%plan_z_b = fftw_plan_guru_dft(1, zdim, 2, zmany, ps%c, ps%c, FFTW_BACKWARD, flags)
    end if
    if (.not. c_associated(ps%plan_xy_f) .or. .not. c_associated(ps%plan_xy_b) .or. &
        (ps%nyl > 0 .and. (.not. c_associated(ps%plan_z_f) .or. &
                           .not. c_associated(ps%plan_z_b)))) then
      ierr = 2; return
    end if
    allocate(ps%lamx(ps%nxh), ps%lamy(nyl), ps%lamz(d%nz))
    allocate(ps%kx(ps%nxh), ps%ky(nyl), ps%kz(d%nz))
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

  ! z slabs w(:, :, nzl) -> y slabs c(:, nz, nyl): rank q receives the planes ystart(q)+1..
  ! of every rank's slab.
  subroutine transpose_zy(ps, d)
    type(poisson_t), intent(inout) :: ps
    type(decomp_t),  intent(in)    :: d
    integer :: q, j, k, m, nzl
    integer :: scount(0:d%nranks-1), sdisp(0:d%nranks-1), rcount(0:d%nranks-1), &
               rdisp(0:d%nranks-1)
    nzl = d%n(3)
    m = 0
    do q = 0, d%nranks - 1
      sdisp(q) = m
      do k = 1, nzl
        do j = ps%ystart(q) + 1, ps%ystart(q) + ps%ycount(q)
          ps%sbuf(m+1:m+ps%nxh) = ps%w(:, j, k)
          m = m + ps%nxh
        end do
      end do
      scount(q) = m - sdisp(q)
      rcount(q) = ps%nxh*ps%nyl*nzl
      rdisp(q) = q*rcount(q)
    end do
    call MPI_Alltoallv(ps%sbuf, scount, sdisp, MPI_DOUBLE_COMPLEX, ps%rbuf, rcount, rdisp, &
                       MPI_DOUBLE_COMPLEX, d%comm)
    m = 0
    do q = 0, d%nranks - 1
      do k = q*nzl + 1, (q + 1)*nzl
        do j = 1, ps%nyl
          ps%c(:, k, j) = ps%rbuf(m+1:m+ps%nxh)
          m = m + ps%nxh
        end do
      end do
    end do
  end subroutine transpose_zy

  ! The inverse of transpose_zy: y slabs c -> z slabs w.
  subroutine transpose_yz(ps, d)
    type(poisson_t), intent(inout) :: ps
    type(decomp_t),  intent(in)    :: d
    integer :: q, j, k, m, nzl
    integer :: scount(0:d%nranks-1), sdisp(0:d%nranks-1), rcount(0:d%nranks-1), &
               rdisp(0:d%nranks-1)
    nzl = d%n(3)
    m = 0
    do q = 0, d%nranks - 1
      do k = q*nzl + 1, (q + 1)*nzl
        do j = 1, ps%nyl
          ps%rbuf(m+1:m+ps%nxh) = ps%c(:, k, j)
          m = m + ps%nxh
        end do
      end do
      scount(q) = ps%nxh*ps%nyl*nzl
      sdisp(q) = q*scount(q)
    end do
    m = 0
    do q = 0, d%nranks - 1
      rdisp(q) = m
      rcount(q) = ps%nxh*ps%ycount(q)*nzl
      m = m + rcount(q)
    end do
    call MPI_Alltoallv(ps%rbuf, scount, sdisp, MPI_DOUBLE_COMPLEX, ps%sbuf, rcount, rdisp, &
                       MPI_DOUBLE_COMPLEX, d%comm)
    m = 0
    do q = 0, d%nranks - 1
      do k = 1, nzl
        do j = ps%ystart(q) + 1, ps%ystart(q) + ps%ycount(q)
          ps%w(:, j, k) = ps%sbuf(m+1:m+ps%nxh)
          m = m + ps%nxh
        end do
      end do
    end do
  end subroutine transpose_yz

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
    if (c_associated(ps%plan_3_f)) then
      call fftw_execute_dft_r2c(ps%plan_3_f, ps%r, ps%c)
      return
    end if
    call fftw_execute_dft_r2c(ps%plan_xy_f, ps%r, ps%w)
    call transpose_zy(ps, d)
    if (ps%nyl > 0) call fftw_execute_dft(ps%plan_z_f, ps%c, ps%c)
  end subroutine fft_forward

  ! Inverse transform of ps%c into the interior of a(0:,0:,0:), normalised.
  subroutine fft_backward(ps, d, a)
    type(poisson_t), intent(inout) :: ps
    type(decomp_t),  intent(in)    :: d
    real(rp),        intent(inout) :: a(0:, 0:, 0:)
    integer :: k, j
    if (c_associated(ps%plan_3_b)) then
      call fftw_execute_dft_c2r(ps%plan_3_b, ps%c, ps%r)   ! (overwrites ps%c)
    else
      if (ps%nyl > 0) call fftw_execute_dft(ps%plan_z_b, ps%c, ps%c)
      call transpose_yz(ps, d)
      call fftw_execute_dft_c2r(ps%plan_xy_b, ps%w, ps%r)
    end if
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
    if (c_associated(ps%plan_xy_f)) call fftw_destroy_plan(ps%plan_xy_f)
    if (c_associated(ps%plan_xy_b)) call fftw_destroy_plan(ps%plan_xy_b)
    if (c_associated(ps%plan_z_f)) call fftw_destroy_plan(ps%plan_z_f)
    if (c_associated(ps%plan_z_b)) call fftw_destroy_plan(ps%plan_z_b)
    if (c_associated(ps%plan_3_f)) call fftw_destroy_plan(ps%plan_3_f)
    if (c_associated(ps%plan_3_b)) call fftw_destroy_plan(ps%plan_3_b)
    if (c_associated(ps%pr)) call fftw_free(ps%pr)
    if (c_associated(ps%pw)) call fftw_free(ps%pw)
    if (c_associated(ps%pc)) call fftw_free(ps%pc)
    ps%plan_xy_f = C_NULL_PTR; ps%plan_xy_b = C_NULL_PTR
    ps%plan_z_f = C_NULL_PTR; ps%plan_z_b = C_NULL_PTR
    ps%plan_3_f = C_NULL_PTR; ps%plan_3_b = C_NULL_PTR
    ps%pr = C_NULL_PTR; ps%pw = C_NULL_PTR; ps%pc = C_NULL_PTR
  end subroutine poisson_free
end module el_poisson
