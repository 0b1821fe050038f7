!> Fortran interface of the native client's inference calls (elc_infer_*, eddylearn_client.h):
!> one model run per call with a deadline, made by a background thread (docs/client.md).
!> Handles are type(c_ptr); names are NUL-terminated (c_str); statuses are the SmartRedis
!> SRError values; get_last_error() gives the message of a failed call. The interfaces are
!> declared once, in eddylearn_client_c; this module gathers the inference part of them.
module eddylearn_infer
  use, intrinsic :: iso_c_binding
  use eddylearn_client_c, only: ELC_LAYOUT_C, ELC_LAYOUT_FORTRAN, c_str, get_last_error, &
                                ELC_INFER_MAX_NORM, elc_infer_meta, elc_infer_stats, &
                                elc_infer_create, elc_infer_start, elc_infer_finish, &
                                elc_infer_stats_get, elc_infer_destroy, &
                                elc_infer_set_input_dtype, ELC_DOUBLE, ELC_FLOAT
  implicit none
  private

  public :: ELC_LAYOUT_C, ELC_LAYOUT_FORTRAN, c_str, get_last_error
  public :: ELC_INFER_MAX_NORM, elc_infer_meta, elc_infer_stats
  public :: elc_infer_create, elc_infer_start, elc_infer_finish, elc_infer_stats_get, &
            elc_infer_destroy, elc_infer_set_input_dtype, ELC_DOUBLE, ELC_FLOAT
end module eddylearn_infer
