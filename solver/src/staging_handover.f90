! The snapshot hand-over: each field's interior goes from the solver's array (with its halos)
! into the dataset in one copy (elc_dataset_add_block3), with no intermediate array; the
! stager's thread transposes it to row-major while it sends. Deferred (the default), the block
! is only registered (elc_dataset_add_block3_deferred) and the stager's thread makes that copy
! too; the solver then calls el_staging's fence before it next writes the field. The solver
! thread's time in the hand-over is accumulated for the staging counters.
module el_staging_handover
  use, intrinsic :: iso_c_binding
  use el_types, only: rp
  use eddylearn_client_c, only: ELC_DOUBLE, elc_dataset_add_block3, &
                                elc_dataset_add_block3_deferred
  implicit none
  private
  public :: handover_add_field

contains

  ! Add a(1:n(1), 1:n(2), 1:n(3)) of a field declared a(0:, 0:, 0:) to dataset ds as tensor
  ! `name` (Fortran layout, dims n): copied now, or registered when deferred (a must then stay
  ! unchanged until the stager's fence); rc is the client's status (0: done).
  subroutine handover_add_field(ds, name, a, n, deferred, rc)
    type(c_ptr), intent(in) :: ds
    character(len=*), intent(in) :: name
    real(rp), intent(in), target, contiguous :: a(0:, 0:, 0:)
    integer, intent(in) :: n(3)
    logical, intent(in) :: deferred
    integer(c_int), intent(out) :: rc
    integer(c_size_t), parameter :: lo(3) = [1_c_size_t, 1_c_size_t, 1_c_size_t]
    if (deferred) then
      rc = elc_dataset_add_block3_deferred(ds, trim(name)//c_null_char, c_loc(a), &
                                           int(shape(a), c_size_t), lo, int(n, c_size_t), &
                                           ELC_DOUBLE)
    else
      rc = elc_dataset_add_block3(ds, trim(name)//c_null_char, c_loc(a), &
                                  int(shape(a), c_size_t), lo, int(n, c_size_t), ELC_DOUBLE)
    end if
  end subroutine handover_add_field
end module el_staging_handover
