"""The snapshot hand-over (solver/src/staging_handover.f90, elc_dataset_add_block3): each field's
interior goes into the dataset in one copy, recycled buffers included, and arrives equal to the
solver's field; the solver thread's time in the hand-over and its bytes copied are reported.
Deferred (elc_dataset_add_block3_deferred, elc_stager_fence): the copy is made by the stager's
thread, or by the fence when that thread is busy, before the fields change."""
import ctypes
import json
import os
import subprocess
import threading
import time

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


@pytest.mark.parametrize("nranks,n,handover", [(1, (64, 64, 32), "deferred"),
                                               (2, (64, 64, 64), "deferred"),
                                               (2, (64, 64, 64), "copy")])
def test_large_blocks_arrive_equal_bit_for_bit(tmp_path, db, nranks, n, handover):
    """Blocks of 1 MiB a field (1 rank 64 x 64 x 32, 2 ranks 64 x 64 x 64): the hand-over takes
    its path for large blocks (streaming copy into buffers reserved before the first snapshot
    and recycled after each one), deferred (the default) or copied by the solver thread. A
    snapshot every step for 4 steps, the solver running on at once: the snapshots of the
    checkpointed steps equal the checkpoints bit for bit, every snapshot was sent, and
    staging.json splits the hand-over into copying (registering) and submitting, counts its
    page faults and says who copied the blocks (deferred: the sender or the fence, each block
    once; copy: neither)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n[0], "ny": n[1], "nz": n[2]}, "time": {"t_end": 100.0, "max_steps": 4},
        "output": {"dir": str(run_dir), "checkpoint_every": 2, "diag_every": 2},
        "staging": {"enabled": True, "snapshot_every": 1, "prefix": "big.",
                    **({"handover": handover} if handover != "deferred" else {})}})
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
    assert st["handover"] == handover
    assert 0 <= st["handover_fence_s"] <= st["handover_s"]
    copied = st["blocks_copied_by_sender"] + st["blocks_copied_by_fence"]
    assert copied == (4 * st["submitted"] if handover == "deferred" else 0)


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


def _pause_writes(db, seconds: float) -> None:
    import redis
    redis.Redis(port=db.port).execute_command("CLIENT", "PAUSE", int(seconds * 1000), "WRITE")


def _unpause(db) -> None:
    import redis
    redis.Redis(port=db.port).execute_command("CLIENT", "UNPAUSE")


@pytest.mark.parametrize("nranks,policy,queue_mb", [(1, "block", 256.0), (2, "block", 6.0),
                                                    (2, "drop_oldest", 6.0)])
def test_deferred_snapshots_stay_exact_while_the_sender_is_stuck(tmp_path, db, nranks, policy,
                                                                 queue_mb):
    """Writes paused on the database from before the start until two steps after step 1: each
    rank's sender is stuck on its first snapshot, so the fences before the next RK updates copy
    the later snapshots themselves (a snapshot every step, 1 MiB blocks). With a queue of one
    snapshot (6 MB against 4 MiB per rank) the solver then waits for queue space (block) or
    drops the oldest (drop_oldest). Every snapshot sent equals its step's checkpoint bit for
    bit; the queue bound held; every registered block was copied exactly once, some of them by
    the fence; block loses nothing, drop_oldest accounts for every snapshot and keeps the last."""
    n = (64, 64, 32 * nranks)
    steps = 6
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n[0], "ny": n[1], "nz": n[2]},
        "time": {"t_end": 100.0, "max_steps": steps},
        "output": {"dir": str(run_dir), "checkpoint_every": 1, "diag_every": 1},
        "staging": {"enabled": True, "snapshot_every": 1, "prefix": "stuck.",
                    "policy": policy, "queue_mb": queue_mb, "handover": "deferred"}})
    # the sender waits for the paused database instead of timing out and resending
    env = solver.child_env({**db.env(), "SR_SOCKET_TIMEOUT": "60000"})
    _pause_writes(db, 60)
    try:
        proc = subprocess.Popen(solver.mpirun_command(nranks) + [str(solver_executable()),
                                                                  str(nml)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=run_dir, env=env)
        diag = run_dir / "diagnostics.csv"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if diag.exists() and any(line.startswith("1,")
                                     for line in diag.read_text().splitlines()):
                break
            time.sleep(0.05)
        time.sleep(2.0)     # step 2's fence (and, with a queue of one, the wait) while paused
    finally:
        _unpause(db)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    st = json.loads((run_dir / "staging.json").read_text())
    snap = 4 * 8 * n[0] * n[1] * n[2] // nranks
    assert st["submitted"] == (steps + 1) * nranks
    assert st["failed"] == 0
    assert st["blocks_copied_by_sender"] + st["blocks_copied_by_fence"] == 4 * st["submitted"]
    assert st["blocks_copied_by_fence"] >= 4 * nranks        # at least step 1's, on each rank
    if queue_mb < 256:
        assert st["queue_high_water_bytes"] <= queue_mb * 2**20 < 2 * snap
    if policy == "block":
        assert st["sent"] == st["submitted"] and st["dropped"] == 0
    else:
        assert st["sent"] + st["dropped"] == st["submitted"] and st["dropped"] >= 1
    c = Client(False, db.address)
    arrived = 0
    for step in range(1, steps + 1):
        names = [f"stuck.snapshot.{step}.{r}" for r in range(nranks)]
        if not all(c.dataset_exists(name) for name in names):
            assert policy == "drop_oldest" and step < steps, step
            continue
        arrived += 1
        chk = read_checkpoint(run_dir / f"checkpoint_{step:08d}.bin")
        blocks = [c.get_dataset(name) for name in names]
        for name in ("u", "v", "w", "p"):
            whole = np.concatenate([b.get_tensor(name) for b in blocks], axis=2)
            assert whole.tobytes() == getattr(chk, name).tobytes(), (step, name)
    assert arrived >= (steps if policy == "block" else 1)


class _StagerStats(ctypes.Structure):
    _fields_ = [(k, ctypes.c_uint64) for k in (
        "submitted", "sent", "bytes", "retries", "dropped", "failed", "queued", "queued_bytes",
        "high_water_bytes", "high_water_items")] + [
        ("mean_latency_s", ctypes.c_double), ("max_latency_s", ctypes.c_double),
        ("copied_by_sender", ctypes.c_uint64), ("copied_by_fence", ctypes.c_uint64)]


def _stager_lib():
    lib = _client_lib()
    sz, vp = ctypes.c_size_t, ctypes.c_void_p
    lib.elc_dataset_add_block3_deferred.argtypes = [vp, ctypes.c_char_p, vp, sz * 3, sz * 3,
                                                    sz * 3, ctypes.c_int]
    lib.elc_stager_create.argtypes = [ctypes.POINTER(vp), sz, ctypes.c_int, ctypes.c_char_p,
                                      ctypes.c_char_p]
    lib.elc_stager_submit.argtypes = [vp, vp, ctypes.c_char_p]
    lib.elc_stager_fence.argtypes = [vp]
    lib.elc_stager_flush.argtypes = [vp, ctypes.c_double]
    lib.elc_stager_stats_get.argtypes = [vp, ctypes.POINTER(_StagerStats)]
    lib.elc_stager_destroy.argtypes = [vp]
    return lib


class _Snapshots:
    """Datasets of two deferred 1 MiB blocks (u, v: the interior of 66 x 66 x 34 arrays) handed
    to one stager; keeps each dataset's arrays and the values they had when registered."""

    def __init__(self, lib, db, queue_bytes: int, policy: int):
        self.lib, self.rng = lib, np.random.default_rng(11)
        self.stager = ctypes.c_void_p()
        rc = lib.elc_stager_create(ctypes.byref(self.stager), queue_bytes, policy,
                                   db.address.encode(), None)
        assert rc == 0, lib.elc_last_error()
        self.arrays, self.expected = {}, {}

    def submit(self, name: str) -> None:
        sz = ctypes.c_size_t
        ds = ctypes.c_void_p()
        assert self.lib.elc_dataset_create(ctypes.byref(ds), name.encode()) == 0
        self.arrays[name] = [np.asfortranarray(self.rng.standard_normal((66, 66, 34)))
                             for _ in range(2)]
        self.expected[name] = [a[1:65, 1:65, 1:33].copy() for a in self.arrays[name]]
        for f, a in zip("uv", self.arrays[name]):
            rc = self.lib.elc_dataset_add_block3_deferred(ds, f.encode(), a.ctypes.data,
                                                          (sz * 3)(66, 66, 34), (sz * 3)(1, 1, 1),
                                                          (sz * 3)(64, 64, 32), 1)
            assert rc == 0, self.lib.elc_last_error()
        assert self.lib.elc_stager_submit(self.stager, ds, b"") == 0, self.lib.elc_last_error()

    def stats(self) -> _StagerStats:
        s = _StagerStats()
        assert self.lib.elc_stager_stats_get(self.stager, ctypes.byref(s)) == 0
        return s

    def wait_taken(self) -> None:
        """Until the sender has taken every queued dataset (it copies their blocks first)."""
        deadline = time.monotonic() + 30
        while self.stats().queued and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.stats().queued == 0

    def overwrite(self) -> None:
        for arrays in self.arrays.values():
            for a in arrays:
                a[...] = -1.0

    def check_arrived(self, db, names) -> None:
        c = Client(False, db.address)
        for name in names:
            ds = c.get_dataset(name)
            for f, ref in zip("uv", self.expected[name]):
                got = ds.get_tensor(f)
                assert got.shape == ref.shape and got.tobytes() == ref.tobytes(), (name, f)

    def close(self) -> None:
        self.lib.elc_stager_destroy(self.stager)


def test_deferred_blocks_are_copied_by_the_sender_or_by_the_fence(db, monkeypatch):
    """elc_dataset_add_block3_deferred + elc_stager_fence against a real server: (1) an idle
    sender copies the blocks itself; (2) with writes paused the sender is stuck sending one
    dataset, so the fence copies the next one's blocks; (3) block policy, a queue of one
    dataset: a submission waits for space (the pause ends 0.5 s later) and the queued dataset's
    blocks are still copied before the fence returns; (4) drop_oldest, a queue of one: a dataset
    dropped before its copy is never copied, the fence copies the one that replaced it. The
    sender transposes as it copies: blocks of odd extents, offsets and float32 arrive exact. After
    each fence the arrays are overwritten; every dataset sent holds the values it had when it
    was registered, bit for bit, and the counters say who copied how many blocks."""
    monkeypatch.setenv("SR_DB_TYPE", "Standalone")
    monkeypatch.setenv("SR_SOCKET_TIMEOUT", "30000")
    lib = _stager_lib()
    one = 2 * 8 * 64 * 64 * 32                           # bytes of one dataset

    s = _Snapshots(lib, db, 0, 0)                         # (1), (2): no bound, block
    try:
        s.submit("idle")
        assert lib.elc_stager_flush(s.stager, 30.0) == 0, lib.elc_last_error()
        assert (s.stats().copied_by_sender, s.stats().copied_by_fence) == (2, 0)
        # the sender's copy transposes on the way: blocks of other shapes and types too
        sz = ctypes.c_size_t
        cases = [((65, 73, 34), (1, 2, 3), (63, 70, 30), np.float64, 1),
                 ((66, 66, 66), (1, 1, 1), (64, 64, 64), np.float32, 2),
                 ((10, 9, 8), (2, 1, 0), (5, 7, 8), np.float64, 1)]
        for k, (extent, lo, n, dt, code) in enumerate(cases):
            a = np.asfortranarray(s.rng.standard_normal(extent).astype(dt))
            ds = ctypes.c_void_p()
            assert lib.elc_dataset_create(ctypes.byref(ds), f"shape{k}".encode()) == 0
            assert lib.elc_dataset_add_block3_deferred(ds, b"f", a.ctypes.data,
                                                       (sz * 3)(*extent), (sz * 3)(*lo),
                                                       (sz * 3)(*n), code) == 0
            assert lib.elc_stager_submit(s.stager, ds, b"") == 0
            assert lib.elc_stager_flush(s.stager, 30.0) == 0, lib.elc_last_error()
            got = Client(False, db.address).get_dataset(f"shape{k}").get_tensor("f")
            block = a[lo[0]:lo[0] + n[0], lo[1]:lo[1] + n[1], lo[2]:lo[2] + n[2]]
            assert got.dtype == dt and np.array_equal(got, block), (extent, lo, n, dt)
        assert (s.stats().copied_by_sender, s.stats().copied_by_fence) == (5, 0)
        assert lib.elc_stager_fence(s.stager) == 0            # nothing pending: returns at once
        _pause_writes(db, 30)
        try:
            s.submit("first")
            s.wait_taken()                                     # now stuck on "first"'s reply
            s.submit("second")
            assert lib.elc_stager_fence(s.stager) == 0
            assert (s.stats().copied_by_sender, s.stats().copied_by_fence) == (7, 2)
            s.overwrite()
        finally:
            _unpause(db)
        assert lib.elc_stager_flush(s.stager, 30.0) == 0, lib.elc_last_error()
        s.check_arrived(db, ["idle", "first", "second"])
    finally:
        s.close()

    s = _Snapshots(lib, db, one, 0)                       # (3): a queue of one, block
    try:
        _pause_writes(db, 30)
        try:
            s.submit("b0")
            s.wait_taken()
            s.submit("b1")                                     # queued, its blocks not copied
            threading.Timer(0.5, _unpause, (db,)).start()
            s.submit("b2")                                     # waits for "b0" to be sent
            assert lib.elc_stager_fence(s.stager) == 0
            st = s.stats()
            assert st.copied_by_sender + st.copied_by_fence == 6 and st.high_water_bytes <= one
            s.overwrite()
        finally:
            _unpause(db)
        assert lib.elc_stager_flush(s.stager, 30.0) == 0, lib.elc_last_error()
        assert (s.stats().sent, s.stats().dropped) == (3, 0)
        s.check_arrived(db, ["b0", "b1", "b2"])
    finally:
        s.close()

    s = _Snapshots(lib, db, one, 1)                       # (4): a queue of one, drop_oldest
    try:
        _pause_writes(db, 30)
        try:
            s.submit("d0")
            s.wait_taken()
            s.submit("d1")
            s.submit("d2")                                     # drops "d1", never copied
            assert lib.elc_stager_fence(s.stager) == 0
            st = s.stats()
            assert (st.dropped, st.copied_by_sender, st.copied_by_fence) == (1, 2, 2)
            s.overwrite()
        finally:
            _unpause(db)
        assert lib.elc_stager_flush(s.stager, 30.0) == 0, lib.elc_last_error()
        assert (s.stats().sent, s.stats().dropped) == (2, 1)
        s.check_arrived(db, ["d0", "d2"])
        assert not Client(False, db.address).dataset_exists("d1")
    finally:
        s.close()
