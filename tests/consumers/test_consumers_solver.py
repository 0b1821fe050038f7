"""End to end: the MPI solver (2 ranks, asynchronous staging through the native client) streams
snapshots while an analyser runs as its own process; the data contract is checked against the
solver's own diagnostics and checkpoint."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from eddylearn import snapshots as sn
from eddylearn import solver
from eddylearn._paths import solver_executable
from eddylearn.io import read_checkpoint, read_diagnostics, write_namelist


def test_analyser_reads_the_staged_solver_while_it_runs(client, r, run_module, db_env, tmp_path):
    """TGV 32^3 on 2 ranks, a snapshot every 10 steps to step 40: the analyser (started first,
    stopped by the stop tensor) sees all 5; E and nu<|omega|^2> equal the solver's diagnostics
    (1e-12, 1e-10 rel); the assembled step-20 fields equal the solver's checkpoint exactly."""
    an = run_module("analyser", "--prefix", "e2e.", "--out", tmp_path / "an", "--tgv",
                    "--poll-interval", "0.1")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": 32, "ny": 32, "nz": 32}, "time": {"t_end": 100.0, "max_steps": 40},
        "output": {"dir": str(run_dir), "diag_every": 1, "checkpoint_every": 20,
                   "verbose": True},
        "staging": {"enabled": True, "snapshot_every": 10, "prefix": "e2e."}})
    proc = subprocess.run(solver.mpirun_command(2) + [str(solver_executable()), str(nml)],
                          capture_output=True, text=True, timeout=300, cwd=run_dir,
                          env=solver.child_env(db_env))
    assert proc.returncode == 0, proc.stderr
    assert "staging: 10 of 10 datasets sent" in proc.stdout, proc.stdout
    sn.request_stop(client, "e2e.")
    out, err = an.communicate(timeout=60)
    assert an.returncode == 0, err

    ts = json.loads((tmp_path / "an" / "timeseries.json").read_text())
    diag = read_diagnostics(run_dir / "diagnostics.csv")
    assert ts["step"] == [0, 10, 20, 30, 40]
    for step, e, eps in zip(ts["step"], ts["energy"], ts["eps_omega"]):
        i = int(np.flatnonzero(diag["step"] == step)[0])
        assert e == pytest.approx(diag["energy"][i], rel=1e-12)
        assert eps == pytest.approx(diag["eps_visc"][i], rel=1e-10)

    reader = sn.SnapshotReader(client, "e2e.", raw=r)
    snaps = {s.step: s for s in reader.poll()}
    ck = read_checkpoint(run_dir / "checkpoint_00000020.bin")
    s = snaps[20]
    assert s.nranks == 2 and s.n == (32, 32, 32) and s.time == pytest.approx(ck.time, rel=1e-14)
    for f in "uvwp":
        assert np.array_equal(s[f], getattr(ck, f)), f
