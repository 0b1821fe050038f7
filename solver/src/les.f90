! Subgrid-scale models in the shape of an abstract les_model_t (init/compute/free) and a factory
! that picks the concrete model by name: 'none' or 'smagorinsky'.
module el_les
  use mpi_f08
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_halo, only: update_halo
  implicit none
  private
  public :: les_model_t, les_none_t, les_smagorinsky_t, les_model_factory

  type, abstract :: les_model_t
    real(rp) :: nut_max = 0     ! largest eddy viscosity of the last compute (time-step limit)
    real(rp) :: eps_sgs = 0     ! SGS dissipation of the last compute, summed over local cells
  contains
    procedure(les_init_if), deferred :: init
    procedure(les_compute_if), deferred :: compute
    procedure(les_free_if), deferred :: free
    procedure :: name => les_name
  end type les_model_t

  abstract interface
    subroutine les_init_if(this, d, cs, ierr, msg)
      import :: les_model_t, decomp_t, rp, msg_len
      class(les_model_t), intent(inout) :: this
      type(decomp_t), intent(in) :: d
      real(rp), intent(in) :: cs
      integer, intent(out) :: ierr
      character(len=msg_len), intent(out) :: msg
    end subroutine les_init_if
    ! Add the divergence of the modelled SGS stress, -d tau_ij/dx_j, to du, dv, dw.
    subroutine les_compute_if(this, d, u, v, w, du, dv, dw)
      import :: les_model_t, decomp_t, rp
      class(les_model_t), intent(inout) :: this
      type(decomp_t), intent(in) :: d
      real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
      real(rp), intent(inout) :: du(0:, 0:, 0:), dv(0:, 0:, 0:), dw(0:, 0:, 0:)
    end subroutine les_compute_if
    subroutine les_free_if(this)
      import :: les_model_t
      class(les_model_t), intent(inout) :: this
    end subroutine les_free_if
  end interface

  ! No model: DNS or implicit LES.
  type, extends(les_model_t) :: les_none_t
  contains
    procedure :: init => none_init
    procedure :: compute => none_compute
    procedure :: free => none_free
    procedure :: name => none_name
  end type les_none_t

  ! Smagorinsky: nu_t = (cs*Delta)^2 |S|, Delta = (dx dy dz)^(1/3), tau_ij = -2 nu_t S_ij.
  type, extends(les_model_t) :: les_smagorinsky_t
    real(rp) :: cs = 0.17_rp, delta = 0
    real(rp), allocatable :: nut(:,:,:)
  contains
    procedure :: init => smag_init
    procedure :: compute => smag_compute
    procedure :: free => smag_free
    procedure :: name => smag_name
  end type les_smagorinsky_t

contains

  ! Allocate the model called `name`; ierr /= 0 and msg name the problem for an unknown name.
  subroutine les_model_factory(name, model, ierr, msg)
    character(len=*), intent(in) :: name
    class(les_model_t), allocatable, intent(out) :: model
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    ierr = 0; msg = ''
    select case (trim(name))
    case ('none')
      allocate(les_none_t :: model)
    case ('smagorinsky')
      allocate(les_smagorinsky_t :: model)
    case default
      ierr = 1
      msg = '&sgs: unknown SGS model '''//trim(name)//''' (known: none, smagorinsky)'
    end select
  end subroutine les_model_factory

  function les_name(this) result(s)
    class(les_model_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'abstract'
  end function les_name

  subroutine none_init(this, d, cs, ierr, msg)
    class(les_none_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: cs
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    ierr = 0; msg = ''
    this%nut_max = 0; this%eps_sgs = 0
  end subroutine none_init

  subroutine none_compute(this, d, u, v, w, du, dv, dw)
    class(les_none_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(inout) :: du(0:, 0:, 0:), dv(0:, 0:, 0:), dw(0:, 0:, 0:)
  end subroutine none_compute

  subroutine none_free(this)
    class(les_none_t), intent(inout) :: this
  end subroutine none_free

  function none_name(this) result(s)
    class(les_none_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'none'
  end function none_name

  subroutine smag_init(this, d, cs, ierr, msg)
    class(les_smagorinsky_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: cs
    integer, intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    ierr = 0; msg = ''
    this%cs = cs
    this%delta = (d%dx*d%dy*d%dz)**(1.0_rp/3)
    allocate(this%nut(0:d%n(1)+1, 0:d%n(2)+1, 0:d%n(3)+1), source=0.0_rp)
  end subroutine smag_init

  subroutine smag_compute(this, d, u, v, w, du, dv, dw)
    class(les_smagorinsky_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
    real(rp), intent(inout) :: du(0:, 0:, 0:), dv(0:, 0:, 0:), dw(0:, 0:, 0:)
    integer :: i, j, k, nx, ny, nz
    real(rp) :: dxi, dyi, dzi, c2, s11, s22, s33, s12, s13, s23, ss, eps, nmax
    nx = d%n(1); ny = d%n(2); nz = d%n(3)
    dxi = 1/d%dx; dyi = 1/d%dy; dzi = 1/d%dz
    c2 = (this%cs*this%delta)**2
    eps = 0; nmax = 0
    ! eddy viscosity at the cell centres
    do k = 1, nz
      do j = 1, ny
        do i = 1, nx
          s11 = (u(i,j,k) - u(i-1,j,k))*dxi
          s22 = (v(i,j,k) - v(i,j-1,k))*dyi
          s33 = (w(i,j,k) - w(i,j,k-1))*dzi
          s12 = 0.25_rp*(sxy(i,j,k) + sxy(i-1,j,k) + sxy(i,j-1,k) + sxy(i-1,j-1,k))
          s13 = 0.25_rp*(sxz(i,j,k) + sxz(i-1,j,k) + sxz(i,j,k-1) + sxz(i-1,j,k-1))
          s23 = 0.25_rp*(syz(i,j,k) + syz(i,j-1,k) + syz(i,j,k-1) + syz(i,j-1,k-1))
          ss = 2*(s11**2 + s22**2 + s33**2 + 2*(s12**2 + s13**2 + s23**2))   ! |S|^2
          this%nut(i,j,k) = c2*sqrt(ss)
          nmax = max(nmax, this%nut(i,j,k))
        end do
      end do
    end do
    this%nut_max = nmax
    call update_halo(d, this%nut)
    ! divergence of 2 nu_t S_ij on the faces; edge viscosities are four-point averages.
    ! eps_sgs is the exact discrete energy drain of this term: diagonal strains at the centres,
    ! off-diagonal strains on the edges (each edge counted once, by the cell that owns it).
    do k = 1, nz
      do j = 1, ny
        do i = 1, nx
          eps = eps + 2*this%nut(i,j,k)*(((u(i,j,k) - u(i-1,j,k))*dxi)**2 &
                  + ((v(i,j,k) - v(i,j-1,k))*dyi)**2 + ((w(i,j,k) - w(i,j,k-1))*dzi)**2) &
                + 4*(nxy(i,j,k)*sxy(i,j,k)**2 + nxz(i,j,k)*sxz(i,j,k)**2 &
                     + nyz(i,j,k)*syz(i,j,k)**2)
          du(i,j,k) = du(i,j,k) &
            + 2*dxi*(this%nut(i+1,j,k)*(u(i+1,j,k) - u(i,j,k))*dxi &
                     - this%nut(i,j,k)*(u(i,j,k) - u(i-1,j,k))*dxi) &
            + 2*dyi*(nxy(i,j,k)*sxy(i,j,k) - nxy(i,j-1,k)*sxy(i,j-1,k)) &
            + 2*dzi*(nxz(i,j,k)*sxz(i,j,k) - nxz(i,j,k-1)*sxz(i,j,k-1))
          dv(i,j,k) = dv(i,j,k) &
            + 2*dxi*(nxy(i,j,k)*sxy(i,j,k) - nxy(i-1,j,k)*sxy(i-1,j,k)) &
            + 2*dyi*(this%nut(i,j+1,k)*(v(i,j+1,k) - v(i,j,k))*dyi &
                     - this%nut(i,j,k)*(v(i,j,k) - v(i,j-1,k))*dyi) &
            + 2*dzi*(nyz(i,j,k)*syz(i,j,k) - nyz(i,j,k-1)*syz(i,j,k-1))
          dw(i,j,k) = dw(i,j,k) &
            + 2*dxi*(nxz(i,j,k)*sxz(i,j,k) - nxz(i-1,j,k)*sxz(i-1,j,k)) &
            + 2*dyi*(nyz(i,j,k)*syz(i,j,k) - nyz(i,j-1,k)*syz(i,j-1,k)) &
            + 2*dzi*(this%nut(i,j,k+1)*(w(i,j,k+1) - w(i,j,k))*dzi &
                     - this%nut(i,j,k)*(w(i,j,k) - w(i,j,k-1))*dzi)
        end do
      end do
    end do
    this%eps_sgs = eps
  contains
    ! strain rates on the edges: xy-edge (i+1/2, j+1/2, k), xz-edge, yz-edge
    pure real(rp) function sxy(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      sxy = 0.5_rp*((u(i_,j_+1,k_) - u(i_,j_,k_))*dyi + (v(i_+1,j_,k_) - v(i_,j_,k_))*dxi)
    end function sxy
    pure real(rp) function sxz(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      sxz = 0.5_rp*((u(i_,j_,k_+1) - u(i_,j_,k_))*dzi + (w(i_+1,j_,k_) - w(i_,j_,k_))*dxi)
    end function sxz
    pure real(rp) function syz(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      syz = 0.5_rp*((v(i_,j_,k_+1) - v(i_,j_,k_))*dzi + (w(i_,j_+1,k_) - w(i_,j_,k_))*dyi)
    end function syz
    pure real(rp) function nxy(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      nxy = 0.25_rp*(this%nut(i_,j_,k_) + this%nut(i_+1,j_,k_) + this%nut(i_,j_+1,k_) &
                     + this%nut(i_+1,j_+1,k_))
    end function nxy
    pure real(rp) function nxz(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      nxz = 0.25_rp*(this%nut(i_,j_,k_) + this%nut(i_+1,j_,k_) + this%nut(i_,j_,k_+1) &
                     + this%nut(i_+1,j_,k_+1))
    end function nxz
    pure real(rp) function nyz(i_, j_, k_)
      integer, intent(in) :: i_, j_, k_
      nyz = 0.25_rp*(this%nut(i_,j_,k_) + this%nut(i_,j_+1,k_) + this%nut(i_,j_,k_+1) &
                     + this%nut(i_,j_+1,k_+1))
    end function nyz
  end subroutine smag_compute

  subroutine smag_free(this)
    class(les_smagorinsky_t), intent(inout) :: this
    if (allocated(this%nut)) deallocate(this%nut)
  end subroutine smag_free

  function smag_name(this) result(s)
    class(les_smagorinsky_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'smagorinsky'
  end function smag_name
end module el_les
