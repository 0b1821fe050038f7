! The abstract SGS model: init / prepare / compute / free, its name and a one-line account.
! Every model of solver/src/les/ extends it (most through the shared stress form of
! el_les_stress); el_les_factory makes one by name.
module el_les_model
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_param, only: config_t
  implicit none
  private
  public :: les_model_t

  type, abstract :: les_model_t
    real(rp) :: nut_max = 0     ! largest (effective) eddy viscosity of the last compute
    real(rp) :: eps_sgs = 0     ! SGS dissipation of the last compute, summed over local cells
    integer :: err = 0          ! /= 0 after a compute that failed (same on all ranks)
    character(len=msg_len) :: errmsg = ''
  contains
    procedure(les_init_if), deferred :: init
    procedure(les_compute_if), deferred :: compute
    procedure(les_free_if), deferred :: free
    procedure :: prepare => les_prepare
    procedure :: name => les_name
    procedure :: status => les_status
  end type les_model_t

  abstract interface
    subroutine les_init_if(this, d, cfg, ierr, msg)
      import :: les_model_t, decomp_t, config_t, msg_len
      class(les_model_t), intent(inout) :: this
      type(decomp_t), intent(in) :: d
      type(config_t), intent(in) :: cfg
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

contains

  function les_name(this) result(s)
    class(les_model_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = 'abstract'
  end function les_name

  ! Work that can start before the rest of the right-hand side (default: none).
  subroutine les_prepare(this, d, u, v, w)
    class(les_model_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    real(rp), intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:)
  end subroutine les_prepare

  ! A one-line account of the run (rank 0 prints it at the end); empty by default.
  function les_status(this) result(s)
    class(les_model_t), intent(in) :: this
    character(len=:), allocatable :: s
    s = ''
  end function les_status
end module el_les_model
