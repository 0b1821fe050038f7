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
