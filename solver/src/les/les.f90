! The SGS model interface in one `use`: the abstract model, the shared stress form, and the
! models the learned one builds on (no model, Smagorinsky as its fallback).
module el_les
  use el_les_model, only: les_model_t
  use el_les_stress, only: les_stress_t, stress_init, stress_prepare, stress_free
  use el_les_none, only: les_none_t
  use el_les_smagorinsky, only: les_smagorinsky_t, smagorinsky_stress
  implicit none
  private
  public :: les_model_t, les_none_t, les_stress_t, les_smagorinsky_t, smagorinsky_stress
  public :: stress_init, stress_prepare, stress_free
end module el_les
