! No model: DNS or implicit LES.
module el_les_none
  use el_types, only: rp, msg_len
  use el_decomp, only: decomp_t
  use el_param, only: config_t
  use el_les_model, only: les_model_t
  implicit none
  private
  public :: les_none_t

  type, extends(les_model_t) :: les_none_t
  contains
    procedure :: init => none_init
    procedure :: compute => none_compute
    procedure :: free => none_free
    procedure :: name => none_name
  end type les_none_t

contains

  subroutine none_init(this, d, cfg, ierr, msg)
    class(les_none_t), intent(inout) :: this
    type(decomp_t), intent(in) :: d
    type(config_t), intent(in) :: cfg
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
end module el_les_none
