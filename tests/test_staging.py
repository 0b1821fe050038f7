"""Asynchronous staging from the solver to a real database, read back with the genuine
SmartRedis Python client."""
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
from eddylearn.io import read_checkpoint, read_diagnostics, write_namelist
from eddylearn.solver import Solver
from servers import Server

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")


@pytest.fixture
def db(tmp_path):
    server = Server(tmp_path / "db", persist=True).start()
    yield server
    server.stop()


def run_staged(tmp_path, db, groups, nranks=2, env=None, check=True, timeout=300):
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    groups = {g: dict(v) for g, v in groups.items()}
    groups.setdefault("output", {}).update({"dir": str(run_dir), "verbose": True})
    nml = write_namelist(run_dir / "input.nml", groups)
    cmd = solver.mpirun_command(nranks) + [str(solver_executable()), str(nml)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=run_dir,
                          env=solver.child_env({**db.env(), **(env or {})}))
    if check:
        assert proc.returncode == 0, proc.stderr
    return run_dir, proc


def client(db) -> Client:
    return Client(False, db.address)


TGV16 = {"domain": {"nx": 16, "ny": 16, "nz": 16}, "time": {"t_end": 100.0, "max_steps": 20},
         "output": {"checkpoint_every": 5, "diag_every": 5}}


def test_every_snapshot_arrives_and_equals_the_solver_field(tmp_path, db):
    """TGV on 2 ranks, a snapshot every 5 steps: each one is in the database, in the list, and
    equal, value for value, to the checkpoint the solver wrote at the same step."""
    run_dir, proc = run_staged(tmp_path, db, {**TGV16, "staging": {
        "enabled": True, "snapshot_every": 5, "prefix": "t."}})
    assert "staging: 10 of 10 datasets sent" in proc.stdout
    c = client(db)
    assert c.get_list_length("t.snapshots") == 10          # steps 0, 5, 10, 15, 20 x 2 ranks
    entries = c.get_datasets_from_list("t.snapshots")
    steps = sorted({int(ds.get_meta_scalars("step")[0]) for ds in entries})
    assert steps == [0, 5, 10, 15, 20]
    for step in (5, 10, 15, 20):
        chk = read_checkpoint(run_dir / f"checkpoint_{step:08d}.bin")
        blocks = [c.get_dataset(f"t.snapshot.{step}.{r}") for r in range(2)]
        for name in ("u", "v", "w", "p"):
            field = np.concatenate([b.get_tensor(name) for b in blocks], axis=2)
            assert np.array_equal(field, getattr(chk, name)), (step, name)
        assert blocks[1].get_meta_scalars("offset").tolist() == [0, 0, 8]
        assert blocks[0].get_meta_scalars("n").tolist() == [16, 16, 16]
        assert blocks[0].get_meta_scalars("time")[0] == chk.time
        assert blocks[1].get_meta_scalars("nranks")[0] == 2
    final = json.loads((run_dir / "staging.json").read_text())   # counters after the flush
    assert final["sent"] == final["submitted"] == 10 and final["dropped"] == 0
    diag = read_diagnostics(run_dir / "diagnostics.csv")
    assert 0 < diag["staged_sent"][-1] <= 10                 # counted during the run too


def test_sgs_samples_on_two_ranks_equal_the_serial_computation(tmp_path, db):
    """The 2-rank SGS samples (coarse halos exchanged between ranks) equal the serial ones."""
    run_dir, _ = run_staged(tmp_path, db, {
        "domain": {"nx": 16, "ny": 16, "nz": 16}, "physics": {"initial": "isotropic", "nu": 0.01},
        "time": {"t_end": 100.0, "max_steps": 6},
        "staging": {"enabled": True, "sgs_every": 3, "sgs_width": 2}})
    c = client(db)
    assert c.get_list_length("sgs_samples") == 6            # steps 0, 3, 6 x 2 ranks
    parts = [c.get_dataset(f"sgs.6.{r}") for r in range(2)]
    f = np.concatenate([p.get_tensor("features") for p in parts])
    l = np.concatenate([p.get_tensor("labels") for p in parts])
    assert parts[0].get_meta_scalars("width")[0] == 2
    assert parts[0].get_meta_scalars("delta")[0] == pytest.approx(2 * 2 * np.pi / 16)
    cfg = {"domain": {"nx": 16, "ny": 16, "nz": 16},
           "output": {"restart_file": str(run_dir / "checkpoint.bin")}}
    with Solver(cfg, workdir=tmp_path / "serial") as s:
        fs, ls = s.sgs_samples(2)
    assert f.shape == (512, 9) and l.shape == (512, 6)
    assert np.array_equal(f, fs) and np.array_equal(l, ls)


def test_database_down_at_start_gives_a_clear_error(tmp_path, db):
    db.stop()
    t0 = time.monotonic()
    _, proc = run_staged(tmp_path, db, {**TGV16, "staging": {"enabled": True,
                                                             "snapshot_every": 5}},
                         env={"SR_CONN_TIMEOUT": "2", "SR_CONN_INTERVAL": "200"}, check=False)
    assert proc.returncode != 0
    assert "cannot connect to the database" in proc.stderr, proc.stderr
    assert time.monotonic() - t0 < 60


def _list_entries(db, name: str) -> list[str]:
    out = subprocess.run(["redis-cli", "-p", str(db.port), "lrange", name, "0", "-1"],
                         capture_output=True, text=True, timeout=60).stdout
    return [line for line in out.splitlines() if line]


def _llen(db, name: str) -> int:
    out = subprocess.run(["redis-cli", "-p", str(db.port), "llen", name], capture_output=True,
                         text=True, timeout=10).stdout.strip()
    return int(out) if out.isdigit() else -1


@pytest.mark.parametrize("policy", ["block", "drop_oldest"])
def test_database_restart_during_a_run(tmp_path, db, policy):
    """The database is stopped (with an RDB save) and restarted while the solver stages a
    snapshot every step. Blocking: every snapshot arrives. Drop-oldest with a small queue:
    the run goes on, and what is not in the database is exactly what was counted as dropped."""
    steps = 300
    groups = {"domain": {"nx": 32, "ny": 32, "nz": 32},
              "time": {"t_end": 100.0, "max_steps": steps},
              "output": {"diag_every": 10, "checkpoint_at_end": False},
              "staging": {"enabled": True, "snapshot_every": 1, "fields": "uvw",
                          "policy": policy, "queue_mb": 8.0 if policy == "block" else 2.0}}
    restarted = threading.Event()

    def bounce():
        deadline = time.monotonic() + 120
        while _llen(db, "snapshots") < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        db.restart(pause=1.5)
        restarted.set()

    t = threading.Thread(target=bounce)
    t.start()
    run_dir, proc = run_staged(tmp_path, db, groups, env={"SR_CMD_INTERVAL": "100"})
    t.join()
    assert restarted.is_set()
    diag = read_diagnostics(run_dir / "diagnostics.csv")
    assert diag["step"][-1] == steps
    final = json.loads((run_dir / "staging.json").read_text())   # counters after the flush
    entries = _list_entries(db, "snapshots")
    sent, dropped = final["sent"], final["dropped"]
    assert final["submitted"] == 2 * (steps + 1) == sent + dropped + final["failed"]
    assert final["failed"] == 0
    assert len(set(entries)) == sent                       # nothing lost
    assert len(entries) - sent <= final["retries"]         # a resend may repeat an entry
    assert final["retries"] > 0                            # the outage was seen and survived
    if policy == "block":
        assert dropped == 0
    else:
        assert dropped > 0
    assert "dropped" in proc.stdout
