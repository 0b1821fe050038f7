! The factory of SGS models: one case per name of el_les_names (the list the namelist check and
! the Python package read).
module el_les_factory
  use el_types, only: msg_len
  use el_les_names, only: les_model_list
  use el_les_model, only: les_model_t
  use el_les_none, only: les_none_t
  use el_les_smagorinsky, only: les_smagorinsky_t
  use el_les_dynamic_smagorinsky, only: les_dynamic_smagorinsky_t
  use el_les_wale, only: les_wale_t
  use el_les_vreman, only: les_vreman_t
  use el_les_gradient, only: les_gradient_t
  use el_les_learned, only: les_learned_t
  implicit none
  private
  public :: les_model_factory

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
    case ('dynamic_smagorinsky')
      allocate(les_dynamic_smagorinsky_t :: model)
    case ('wale')
      allocate(les_wale_t :: model)
    case ('vreman')
      allocate(les_vreman_t :: model)
    case ('gradient')
      allocate(les_gradient_t :: model)
    case ('learned')
      allocate(les_learned_t :: model)
    case default
      ierr = 1
      msg = '&sgs: unknown SGS model '''//trim(name)//''' (known: '//les_model_list()//')'
    end select
  end subroutine les_model_factory
end module el_les_factory
