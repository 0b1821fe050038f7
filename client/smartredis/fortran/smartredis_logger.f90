! smartredis_logger — log_data, log_warning and log_error of SmartRedis's Fortran API: write
! data to the log (SR_LOG_FILE, at or below SR_LOG_LEVEL) against a context, which is a
! client, a dataset, a logcontext or a plain string.
module smartredis_logger
  use iso_c_binding
  use fortran_c_interop, only: enum_kind
  use smartredis_client, only: client_type
  use smartredis_dataset, only: dataset_type
  use smartredis_logcontext, only: logcontext_type
  use smartredis_c, only: log_data_noexcept, log_warning_noexcept, log_error_noexcept, &
                          log_data_noexcept_string, log_warning_noexcept_string, &
                          log_error_noexcept_string
  implicit none
  private

  public :: enum_kind, log_data, log_warning, log_error

  interface log_data
    module procedure log_data_client, log_data_dataset, log_data_logcontext, log_data_string
  end interface

  interface log_warning
    module procedure log_warning_client, log_warning_dataset, log_warning_logcontext, log_warning_string
  end interface

  interface log_error
    module procedure log_error_client, log_error_dataset, log_error_logcontext, log_error_string
  end interface

contains

  subroutine log_data_client(context, level, data)
    type(client_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_data_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_data_dataset(context, level, data)
    type(dataset_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_data_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_data_logcontext(context, level, data)
    type(logcontext_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_data_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_data_string(context, level, data)
    character(len=*), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_data_noexcept_string(context, len_trim(context, kind=c_size_t), level, data, &
                                  len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_warning_client(context, level, data)
    type(client_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_warning_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_warning_dataset(context, level, data)
    type(dataset_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_warning_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_warning_logcontext(context, level, data)
    type(logcontext_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_warning_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_warning_string(context, level, data)
    character(len=*), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_warning_noexcept_string(context, len_trim(context, kind=c_size_t), level, data, &
                                  len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_error_client(context, level, data)
    type(client_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_error_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_error_dataset(context, level, data)
    type(dataset_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_error_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_error_logcontext(context, level, data)
    type(logcontext_type), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_error_noexcept(context%get_c_pointer(), level, data, len_trim(data, kind=c_size_t))
  end subroutine
  subroutine log_error_string(context, level, data)
    character(len=*), intent(in) :: context
    integer(kind=enum_kind), intent(in) :: level
    character(len=*), intent(in) :: data
    call log_error_noexcept_string(context, len_trim(context, kind=c_size_t), level, data, &
                                  len_trim(data, kind=c_size_t))
  end subroutine

end module smartredis_logger
