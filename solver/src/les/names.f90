! The one list of SGS model names. The namelist check (el_param), the factory (el_les_factory)
! and the Python package (eddylearn._sgs_models, generated from this file at build time) all
! read it; a model is added by adding its name here and its case to the factory.
module el_les_names
  implicit none
  private
  public :: les_model_names, les_model_known, les_model_list

  character(len=*), parameter :: les_model_names(*) = [character(len=20) :: &
    'none', 'smagorinsky', 'dynamic_smagorinsky', 'wale', 'vreman', 'gradient', 'learned']

contains

  logical function les_model_known(name)
    character(len=*), intent(in) :: name
    les_model_known = any(les_model_names == trim(name))
  end function les_model_known

  ! 'none, smagorinsky, ...' for messages
  function les_model_list() result(s)
    character(len=:), allocatable :: s
    integer :: i
    s = trim(les_model_names(1))
    do i = 2, size(les_model_names)
      s = s//', '//trim(les_model_names(i))
    end do
  end function les_model_list
end module el_les_names
