! consumer.f90 — reads what a producer wrote, in SmartRedis 0.6.1's Fortran API: waits until the
! aggregation list 'fields' holds at least N datasets, fetches them all, checks each field
! against the producer's formula (u(i,j) = 100*rank + step + 0.01*(i + 10*j)) and puts the
! tensor 'summary' = [datasets read, sum of all u] (real(8)). Prints "consumer: N datasets".
!   ./consumer N      (SSDB and SR_DB_TYPE say where the database is)
program consumer
  use iso_c_binding, only: c_double, c_int32_t
  use smartredis_client, only: client_type
  use smartredis_dataset, only: dataset_type
  use smartredis_errors, only: print_last_error
  implicit none
  include 'enum_fortran.inc'

  type(client_type) :: client
  type(dataset_type), allocatable :: fields(:)
  real(c_double) :: u(8, 4), total
  integer(c_int32_t), dimension(:), pointer :: step, rank
  integer :: n, got, k, i, j
  logical :: ready
  character(len=64) :: arg

  n = 1
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read(arg, *) n
  end if
  call check(client%initialize('consumer'))
  call check(client%poll_list_length_gte('fields', n, 100, 600, ready))
  if (.not. ready) then
    write(*, '(a,i0,a)') 'consumer: fewer than ', n, ' datasets after 60 s'
    stop 1
  end if
  call check(client%get_datasets_from_list('fields', fields, got))
  total = 0
  do k = 1, got
    call check(fields(k)%unpack_dataset_tensor('u', u, shape(u)))
    call check(fields(k)%get_meta_scalars('step', step))
    call check(fields(k)%get_meta_scalars('rank', rank))
    do j = 1, 4
      do i = 1, 8
        if (abs(u(i, j) - (100*rank(1) + step(1) + 0.01_c_double*(i + 10*j))) > 1e-12_c_double) then
          write(*, '(a,i0,a,i0,a)') 'consumer: wrong value in the field of rank ', rank(1), &
                                    ', step ', step(1), ''
          stop 1
        end if
      end do
    end do
    total = total + sum(u)
  end do
  call check(client%put_tensor('summary', [real(got, c_double), total], [2]))
  write(*, '(a,i0,a)') 'consumer: ', got, ' datasets'
  call check(client%destructor())

contains

  subroutine check(code)
    integer, intent(in) :: code
    if (code /= SRNoError) then
      call print_last_error()
      stop 1
    end if
  end subroutine

end program consumer
