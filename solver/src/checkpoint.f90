! Checkpoints: one file per snapshot holding a small header and u, v, w, p as global arrays in
! Fortran order (float64, little endian as written by the machine), written collectively with
! MPI-IO. The z slabs are contiguous in that layout, so each rank writes one block per field.
! Layout: 8-byte magic 'ELCHK001', int64 nx, ny, nz, step, real64 time, dt_last, then 4 fields.
module el_checkpoint
  use mpi_f08
  use el_types, only: rp, i8, msg_len
  use el_decomp, only: decomp_t
  implicit none
  private
  public :: checkpoint_write, checkpoint_read
  character(len=8), parameter :: magic = 'ELCHK001'
  integer(MPI_OFFSET_KIND), parameter :: header_bytes = 8 + 4*8 + 2*8

contains

  subroutine checkpoint_write(path, d, step, time, dt, u, v, w, p, ierr, msg)
    character(len=*), intent(in) :: path
    type(decomp_t),   intent(in) :: d
    integer(i8),      intent(in) :: step
    real(rp),         intent(in) :: time, dt
    real(rp),         intent(in) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:), p(0:, 0:, 0:)
    integer,          intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    type(MPI_File) :: fh
    integer(MPI_OFFSET_KIND) :: off
    integer(i8) :: hdr_i(4)
    real(rp) :: hdr_r(2)
    integer :: e
    ierr = 0; msg = ''
    call MPI_File_open(d%comm, path, ior(MPI_MODE_WRONLY, MPI_MODE_CREATE), MPI_INFO_NULL, &
                       fh, ierr)
    if (ierr /= MPI_SUCCESS) then
      msg = 'cannot open checkpoint file for writing: '//trim(path); ierr = 1; return
    end if
    e = 0
    call MPI_File_set_size(fh, 0_MPI_OFFSET_KIND, ierr); e = max(e, ierr)
    if (d%rank == 0) then
      hdr_i = [int(d%nx, i8), int(d%ny, i8), int(d%nz, i8), step]
      hdr_r = [time, dt]
      call MPI_File_write_at(fh, 0_MPI_OFFSET_KIND, magic, 8, MPI_CHARACTER, MPI_STATUS_IGNORE, ierr)
      e = max(e, ierr)
      call MPI_File_write_at(fh, 8_MPI_OFFSET_KIND, hdr_i, 4, MPI_INTEGER8, MPI_STATUS_IGNORE, ierr)
      e = max(e, ierr)
      call MPI_File_write_at(fh, 40_MPI_OFFSET_KIND, hdr_r, 2, MPI_DOUBLE_PRECISION, &
                             MPI_STATUS_IGNORE, ierr)
      e = max(e, ierr)
    end if
    off = header_bytes
    call put(u); call put(v); call put(w); call put(p)
    call MPI_File_close(fh, ierr); e = max(e, ierr)
    call MPI_Allreduce(e, ierr, 1, MPI_INTEGER, MPI_MAX, d%comm)
    if (ierr /= MPI_SUCCESS) then
      msg = 'error while writing checkpoint '//trim(path)//' (disk full or no permission?)'
      ierr = 1
    end if
  contains
    subroutine put(a)
      real(rp), intent(in) :: a(0:, 0:, 0:)
      real(rp), allocatable :: buf(:,:,:)
      integer(MPI_OFFSET_KIND) :: mine
      buf = a(1:d%n(1), 1:d%n(2), 1:d%n(3))
      mine = off + int(d%kstart - 1, MPI_OFFSET_KIND)*d%nx*d%ny*8
      call MPI_File_write_at_all(fh, mine, buf, size(buf), MPI_DOUBLE_PRECISION, &
                                 MPI_STATUS_IGNORE, ierr)
      e = max(e, ierr)
      off = off + int(d%nx, MPI_OFFSET_KIND)*d%ny*d%nz*8
    end subroutine put
  end subroutine checkpoint_write

  ! Read a checkpoint written by checkpoint_write (any rank count) into the interiors.
  subroutine checkpoint_read(path, d, step, time, dt, u, v, w, p, ierr, msg)
    character(len=*), intent(in) :: path
    type(decomp_t),   intent(in) :: d
    integer(i8),      intent(out) :: step
    real(rp),         intent(out) :: time, dt
    real(rp),         intent(inout) :: u(0:, 0:, 0:), v(0:, 0:, 0:), w(0:, 0:, 0:), p(0:, 0:, 0:)
    integer,          intent(out) :: ierr
    character(len=msg_len), intent(out) :: msg
    type(MPI_File) :: fh
    integer(MPI_OFFSET_KIND) :: off, fsize, expect
    character(len=8) :: m
    integer(i8) :: hdr_i(4)
    real(rp) :: hdr_r(2)
    logical :: exists
    integer :: e
    ierr = 0; msg = ''; step = 0; time = 0; dt = 0
    inquire(file=path, exist=exists)
    if (.not. exists) then
      ierr = 1; msg = 'restart file not found: '//trim(path); return
    end if
    call MPI_File_open(d%comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, fh, ierr)
    if (ierr /= MPI_SUCCESS) then
      ierr = 1; msg = 'cannot open restart file '//trim(path); return
    end if
    call MPI_File_get_size(fh, fsize, ierr)
    if (fsize < header_bytes) then
      call MPI_File_close(fh, ierr)
      ierr = 1; msg = 'restart file '//trim(path)//' is too short to be a checkpoint'; return
    end if
    call MPI_File_read_at_all(fh, 0_MPI_OFFSET_KIND, m, 8, MPI_CHARACTER, MPI_STATUS_IGNORE, ierr)
    call MPI_File_read_at_all(fh, 8_MPI_OFFSET_KIND, hdr_i, 4, MPI_INTEGER8, MPI_STATUS_IGNORE, ierr)
    call MPI_File_read_at_all(fh, 40_MPI_OFFSET_KIND, hdr_r, 2, MPI_DOUBLE_PRECISION, &
                              MPI_STATUS_IGNORE, ierr)
    if (m /= magic) then
      call MPI_File_close(fh, ierr)
      ierr = 1; msg = 'restart file '//trim(path)//' is not an eddylearn checkpoint'; return
    end if
    if (any(hdr_i(1:3) /= [int(d%nx, i8), int(d%ny, i8), int(d%nz, i8)])) then
      call MPI_File_close(fh, ierr)
      write(msg, '(a,3(i0,1x),a,3(i0,1x))') 'restart file '//trim(path)//' has grid ', &
        hdr_i(1:3), 'but the input asks for ', d%nx, d%ny, d%nz
      ierr = 1; return
    end if
    expect = header_bytes + 4*int(d%nx, MPI_OFFSET_KIND)*d%ny*d%nz*8
    if (fsize /= expect) then
      call MPI_File_close(fh, ierr)
      ierr = 1; msg = 'restart file '//trim(path)//' is truncated or corrupt (wrong size)'; return
    end if
    step = hdr_i(4); time = hdr_r(1); dt = hdr_r(2)
    off = header_bytes
    e = 0
    call get(u); call get(v); call get(w); call get(p)
    call MPI_File_close(fh, ierr); e = max(e, ierr)
    call MPI_Allreduce(e, ierr, 1, MPI_INTEGER, MPI_MAX, d%comm)
    if (ierr /= MPI_SUCCESS) then
      msg = 'error while reading restart file '//trim(path); ierr = 1
    end if
  contains
    subroutine get(a)
      real(rp), intent(inout) :: a(0:, 0:, 0:)
      real(rp), allocatable :: buf(:,:,:)
      integer(MPI_OFFSET_KIND) :: mine
      allocate(buf(d%n(1), d%n(2), d%n(3)))
      mine = off + int(d%kstart - 1, MPI_OFFSET_KIND)*d%nx*d%ny*8
      call MPI_File_read_at_all(fh, mine, buf, size(buf), MPI_DOUBLE_PRECISION, &
                                MPI_STATUS_IGNORE, ierr)
      e = max(e, ierr)
      a(1:d%n(1), 1:d%n(2), 1:d%n(3)) = buf
      off = off + int(d%nx, MPI_OFFSET_KIND)*d%ny*d%nz*8
    end subroutine get
  end subroutine checkpoint_read
end module el_checkpoint
