"""The snapshot hand-over (solver/src/staging_handover.f90, elc_dataset_add_block3): each field's
interior goes into the dataset in one copy, recycled buffers included, and arrives equal to the
solver's field; the solver thread's time in the hand-over and its bytes copied are reported."""
import json
import os
import subprocess

import numpy as np
import pytest
from smartredis import Client

from eddylearn import solver
from eddylearn._paths import solver_executable
from eddylearn.io import read_checkpoint, write_namelist
from servers import Server

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")


@pytest.fixture
def db(tmp_path):
    server = Server(tmp_path / "db").start()
    yield server
    server.stop()


def test_uneven_blocks_arrive_equal_and_the_handover_is_counted(tmp_path, db):
    """A 16 x 8 x 12 grid on 2 ranks (blocks 16 x 8 x 6, unequal extents catch a swapped index),
    a snapshot every 2 steps with the sender pinned by EDDYLEARN_STAGER_CPUS: every field equals
    the checkpoint value for value; staging.json reports the bytes the solver thread copied per
    snapshot (4 fields x 8 B x 16 x 8 x 6) and a positive hand-over time."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": 16, "ny": 8, "nz": 12}, "time": {"t_end": 100.0, "max_steps": 6},
        "output": {"dir": str(run_dir), "checkpoint_every": 2, "diag_every": 2},
        "staging": {"enabled": True, "snapshot_every": 2, "prefix": "h."}})
    cpu = str(min(os.sched_getaffinity(0)))
    proc = subprocess.run(solver.mpirun_command(2) + [str(solver_executable()), str(nml)],
                          capture_output=True, text=True, timeout=300, cwd=run_dir,
                          env=solver.child_env({**db.env(), "EDDYLEARN_STAGER_CPUS": cpu}))
    assert proc.returncode == 0, proc.stderr
    c = Client(False, db.address)
    for step in (2, 4, 6):
        chk = read_checkpoint(run_dir / f"checkpoint_{step:08d}.bin")
        blocks = [c.get_dataset(f"h.snapshot.{step}.{r}") for r in range(2)]
        for name in ("u", "v", "w", "p"):
            parts = [b.get_tensor(name) for b in blocks]
            assert parts[0].shape == (16, 8, 6)
            assert np.array_equal(np.concatenate(parts, axis=2), getattr(chk, name)), (step, name)
    st = json.loads((run_dir / "staging.json").read_text())
    assert st["sent"] == st["submitted"] == 8
    assert st["snapshot_copy_bytes"] == 4 * 8 * 16 * 8 * 6
    assert st["handover_s"] > 0


def test_a_bad_stager_cpu_list_is_ignored(tmp_path, db):
    """EDDYLEARN_STAGER_CPUS that names no usable core leaves the sender where it was."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": 8, "ny": 8, "nz": 8}, "time": {"t_end": 100.0, "max_steps": 2},
        "output": {"dir": str(run_dir)}, "staging": {"enabled": True, "snapshot_every": 1}})
    proc = subprocess.run(solver.mpirun_command(1) + [str(solver_executable()), str(nml)],
                          capture_output=True, text=True, timeout=300, cwd=run_dir,
                          env=solver.child_env({**db.env(), "EDDYLEARN_STAGER_CPUS": "x-1,"}))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run_dir / "staging.json").read_text())["sent"] == 3


@pytest.mark.parametrize("nranks,n", [(1, (64, 64, 32)), (2, (64, 64, 64))])
def test_large_blocks_arrive_equal_bit_for_bit(tmp_path, db, nranks, n):
    """Blocks of 1 MiB a field (1 rank 64 x 64 x 32, 2 ranks 64 x 64 x 64): the hand-over takes
    its path for large blocks (streaming copy into buffers reserved before the first snapshot
    and recycled after each one). A snapshot every step for 4 steps: the snapshots of the
    checkpointed steps equal the checkpoints bit for bit, every snapshot was sent, and
    staging.json splits the hand-over into copying and submitting and counts its page faults."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n[0], "ny": n[1], "nz": n[2]}, "time": {"t_end": 100.0, "max_steps": 4},
        "output": {"dir": str(run_dir), "checkpoint_every": 2, "diag_every": 2},
        "staging": {"enabled": True, "snapshot_every": 1, "prefix": "big."}})
    proc = subprocess.run(solver.mpirun_command(nranks) + [str(solver_executable()), str(nml)],
                          capture_output=True, text=True, timeout=300, cwd=run_dir,
                          env=solver.child_env(db.env()))
    assert proc.returncode == 0, proc.stderr
    c = Client(False, db.address)
    for step in (2, 4):
        chk = read_checkpoint(run_dir / f"checkpoint_{step:08d}.bin")
        blocks = [c.get_dataset(f"big.snapshot.{step}.{r}") for r in range(nranks)]
        for name in ("u", "v", "w", "p"):
            parts = [b.get_tensor(name) for b in blocks]
            assert parts[0].shape == (n[0], n[1], n[2] // nranks)
            whole = np.concatenate(parts, axis=2)
            ref = getattr(chk, name)
            assert whole.dtype == ref.dtype and whole.shape == ref.shape
            assert whole.tobytes() == ref.tobytes(), (step, name)
    st = json.loads((run_dir / "staging.json").read_text())
    assert st["sent"] == st["submitted"] == 5 * nranks
    assert st["snapshot_copy_bytes"] == 4 * 8 * n[0] * n[1] * n[2] // nranks
    assert 0 < st["handover_copy_s"] <= st["handover_s"]
    assert 0 <= st["handover_submit_s"] <= st["handover_s"]
    assert st["handover_faults"] >= 0
    assert st["queue_high_water_bytes"] >= st["snapshot_copy_bytes"]
    assert 0 < st["handover_cpu_s"] <= st["solver_thread_cpu_s"]


def _client_lib():
    import ctypes
    from eddylearn import client_config
    lib = ctypes.CDLL(str(client_config.library()))
    sz = ctypes.c_size_t
    lib.elc_dataset_create.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
    lib.elc_dataset_destroy.argtypes = [ctypes.c_void_p]
    lib.elc_dataset_add_block3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p,
                                           sz * 3, sz * 3, sz * 3, ctypes.c_int]
    lib.elc_dataset_get_tensor.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                           ctypes.POINTER(ctypes.c_void_p),
                                           ctypes.POINTER(ctypes.POINTER(sz)),
                                           ctypes.POINTER(sz), ctypes.POINTER(ctypes.c_int)]
    lib.elc_buffers_reserve.argtypes = [sz, sz]
    lib.elc_last_error.restype = ctypes.c_char_p
    return lib


def test_add_block3_copies_every_block_exactly():
    """elc_dataset_add_block3 on blocks of a Fortran array with halos, large (the streaming copy:
    rows of a multiple of 16 bytes, read from unaligned addresses) and not (rows of 504 bytes,
    single precision, small blocks), into fresh, reserved and recycled buffers: the dataset's
    tensor equals the block of the array element for element each time. Reserving more buffers
    than can be kept is an error that says so."""
    import ctypes
    lib = _client_lib()
    sz = ctypes.c_size_t
    rng = np.random.default_rng(7)
    cases = [((66, 66, 34), (1, 1, 1), (64, 64, 32), np.float64, 1),   # 1 MiB, rows of 512 B
             ((65, 73, 34), (1, 2, 3), (63, 70, 30), np.float64, 1),   # rows of 504 B
             ((66, 66, 66), (1, 1, 1), (64, 64, 64), np.float32, 2),   # rows of 256 B at +4 B
             ((10, 9, 8), (2, 1, 0), (5, 7, 8), np.float64, 1)]        # small
    assert lib.elc_buffers_reserve(8 * 64 * 64 * 32, 2) == 0
    assert lib.elc_buffers_reserve(8 * 64 * 64 * 32, 17) != 0
    assert b"at most 16" in lib.elc_last_error()
    for extent, lo, n, dt, code in cases:
        for rep in range(3):       # later rounds take the buffers the earlier ones gave back
            a = np.asfortranarray(rng.standard_normal(extent).astype(dt))
            ds = ctypes.c_void_p()
            assert lib.elc_dataset_create(ctypes.byref(ds), b"blk") == 0
            rc = lib.elc_dataset_add_block3(ds, b"f", a.ctypes.data, (sz * 3)(*extent),
                                            (sz * 3)(*lo), (sz * 3)(*n), code)
            assert rc == 0, lib.elc_last_error()
            data, dims, ndims, dtype = (ctypes.c_void_p(), ctypes.POINTER(sz)(), sz(),
                                        ctypes.c_int())
            assert lib.elc_dataset_get_tensor(ds, b"f", ctypes.byref(data), ctypes.byref(dims),
                                              ctypes.byref(ndims), ctypes.byref(dtype)) == 0
            assert [dims[k] for k in range(ndims.value)] == list(n)
            got = np.ctypeslib.as_array(ctypes.cast(data, ctypes.POINTER(
                ctypes.c_double if dt == np.float64 else ctypes.c_float)), shape=n)
            block = a[lo[0]:lo[0] + n[0], lo[1]:lo[1] + n[1], lo[2]:lo[2] + n[2]]
            assert np.array_equal(got, block), (extent, lo, n, dt, rep)
            lib.elc_dataset_destroy(ds)
