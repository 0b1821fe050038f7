!> Fortran interface of the native client's inference calls (elc_infer_*, eddylearn_client.h):
!> one model run per call with a deadline, made by a background thread (docs/client.md).
!> Handles are type(c_ptr); names are NUL-terminated (c_str); statuses are the SmartRedis
!> SRError values; get_last_error() gives the message of a failed call.
module eddylearn_infer
  use, intrinsic :: iso_c_binding
  use eddylearn_client_c, only: ELC_LAYOUT_C, ELC_LAYOUT_FORTRAN, c_str, get_last_error
  implicit none
  private

  integer(c_int), parameter, public :: ELC_INFER_MAX_NORM = 64
  public :: ELC_LAYOUT_C, ELC_LAYOUT_FORTRAN, c_str, get_last_error

  !> What the metadata dataset said (elc_infer_meta)
  type, bind(c), public :: elc_infer_meta
    integer(c_int) :: found
    integer(c_int64_t) :: version
    integer(c_int) :: caller_normalises
    integer(c_size_t) :: n_in, n_out
    real(c_double) :: f_mean(ELC_INFER_MAX_NORM), f_std(ELC_INFER_MAX_NORM)
    real(c_double) :: l_mean(ELC_INFER_MAX_NORM), l_std(ELC_INFER_MAX_NORM)
  end type elc_infer_meta

  !> Counters of an inference handle (elc_infer_stats)
  type, bind(c), public :: elc_infer_stats
    integer(c_int64_t) :: requests, answered, timeouts, busy, unreachable, missing_model, failures
    real(c_double) :: mean_latency_s, max_latency_s
  end type elc_infer_stats

  public :: elc_infer_create, elc_infer_start, elc_infer_finish, elc_infer_stats_get, &
            elc_infer_destroy

  interface
    integer(c_int) function elc_infer_create(f, address, base, shard, timeout_ms) bind(c)
      import :: c_int, c_ptr, c_char
      type(c_ptr), intent(out) :: f
      type(c_ptr), value :: address
      character(kind=c_char), intent(in) :: base(*)
      integer(c_int), value :: shard, timeout_ms
    end function
    integer(c_int) function elc_infer_start(f, model, meta, input, n, nin, layout) bind(c)
      import :: c_int, c_ptr, c_size_t
      type(c_ptr), value :: f, model, meta, input
      integer(c_size_t), value :: n, nin
      integer(c_int), value :: layout
    end function
    integer(c_int) function elc_infer_finish(f, output, n, nout, layout, meta) bind(c)
      import :: c_int, c_ptr, c_size_t, elc_infer_meta
      type(c_ptr), value :: f, output
      integer(c_size_t), value :: n, nout
      integer(c_int), value :: layout
      type(elc_infer_meta), intent(out) :: meta
    end function
    integer(c_int) function elc_infer_stats_get(f, stats) bind(c)
      import :: c_int, c_ptr, elc_infer_stats
      type(c_ptr), value :: f
      type(elc_infer_stats), intent(out) :: stats
    end function
    subroutine elc_infer_destroy(f) bind(c)
      import :: c_ptr
      type(c_ptr), value :: f
    end subroutine
  end interface
end module eddylearn_infer
