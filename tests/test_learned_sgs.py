"""The learned SGS model run in the database from the solver (2 MPI ranks, a real redis-server
with the AI module, models stored with the genuine SmartRedis client)."""
import json
import math
import os
import subprocess
import time

import numpy as np
import pytest
import torch
from smartredis import Client

from eddylearn import solver
from eddylearn._paths import solver_executable
from eddylearn.io import read_checkpoint, read_diagnostics, write_namelist
from eddylearn.sgs_publish import SmagorinskyStress, publish_model, scripted
from servers import Cluster, Server

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")

N = 16
DELTA = 2 * math.pi / N
LES = {"domain": {"nx": N, "ny": N, "nz": N}, "time": {"t_end": 100.0, "max_steps": 20},
       "output": {"diag_every": 1}}


@pytest.fixture
def db(tmp_path):
    server = Server(tmp_path / "db").start()
    yield server
    server.stop()


def les_cmd(tmp_path, name, sgs, steps=20, nranks=2):
    run_dir = tmp_path / name
    run_dir.mkdir(parents=True, exist_ok=True)
    groups = {**LES, "time": {"t_end": 1e9, "max_steps": steps}, "sgs": sgs,
              "output": {"diag_every": 1, "dir": str(run_dir), "verbose": True}}
    nml = write_namelist(run_dir / "input.nml", groups)
    return run_dir, solver.mpirun_command(nranks) + [str(solver_executable()), str(nml)]


def run_les(tmp_path, name, sgs, env, steps=20, nranks=2, check=True):
    run_dir, cmd = les_cmd(tmp_path, name, sgs, steps, nranks)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=run_dir,
                          env=solver.child_env(env))
    if check:
        assert proc.returncode == 0, proc.stderr
    return run_dir, proc


def account(run_dir):
    return json.loads((run_dir / "sgs_model.json").read_text())


def log_every_command(server) -> None:
    """From now on the server's SLOWLOG keeps every command it runs (the last 10000)."""
    r = server.redis()
    r.config_set("slowlog-log-slower-than", 0)
    r.config_set("slowlog-max-len", 10000)
    r.execute_command("SLOWLOG", "RESET")


def inference_requests(server) -> list[list[bytes]]:
    """The arguments (as Redis's SLOWLOG keeps them) of the AI.DAGEXECUTE_RO commands (the
    solver's inference requests) the server ran since log_every_command."""
    entries = server.redis().execute_command("SLOWLOG", "GET", 10000)
    return [e[3] for e in entries if e[3] and e[3][0].upper() == b"AI.DAGEXECUTE_RO"]


def tensorset_of(request: list[bytes]) -> list[bytes]:
    """The AI.TENSORSET op of an inference request: its name, dtype and shape."""
    i = request.index(b"AI.TENSORSET")
    return request[i + 1:i + 5]


def assert_same_fields(a, b, tol=1e-12):
    for f in "uvw":
        x, y = getattr(a, f), getattr(b, f)
        assert np.max(np.abs(x - y)) <= tol * np.max(np.abs(x)), f


def test_learned_with_a_smagorinsky_model_matches_smagorinsky_to_round_off(tmp_path, db):
    """A TorchScript model that returns the Smagorinsky stress of its inputs, run in the
    database every RK stage, gives the Smagorinsky LES to round-off; so does the same model
    fed normalised features ("applied by the caller" metadata)."""
    smag_dir, _ = run_les(tmp_path, "smag", {"model": "smagorinsky"}, db.env())
    ref = read_checkpoint(smag_dir / "checkpoint.bin")
    c = Client(False, db.address)
    publish_model(c, "sgs_model", scripted(SmagorinskyStress(0.17, DELTA)), 1, delta=DELTA)
    log_every_command(db)
    run_dir, proc = run_les(tmp_path, "learned", {"model": "learned"}, db.env())
    assert_same_fields(read_checkpoint(run_dir / "checkpoint.bin"), ref)
    acc = account(run_dir)
    assert acc["stages_database"] == acc["stages"] == 60 and acc["stages_fallback"] == 0
    # rank 0's requests went from the solver's thread, except the first (which connects) and
    # those that read the metadata too (docs/client.md)
    assert 1 <= acc["requests_handed_over"] <= 6, acc
    assert acc["key"] == "sgs_model.v1" and acc["last_version"] == 1
    assert "learned SGS model version 1 ('sgs_model.v1')" in proc.stdout
    # each request of each rank is one DAG, as the docs say: its input and output are the DAG's
    # own, not stored in the keyspace
    requests = inference_requests(db)
    assert len(requests) == 2 * 60
    for rank in (0, 1):
        mine = [q for q in requests if tensorset_of(q)[0] == f"sgs_model.rank{rank}.in".encode()]
        assert len(mine) == 60
        assert all(tensorset_of(q)[2:] == [str(N * N * N // 2).encode(), b"9"] for q in mine)
        assert all(b"sgs_model.v1" in q and f"sgs_model.rank{rank}.out".encode() in q for q in mine)
    assert not c.tensor_exists("sgs_model.rank0.in") and not c.tensor_exists("sgs_model.rank1.out")
    diag = read_diagnostics(run_dir / "diagnostics.csv")
    assert np.all(diag["eps_sgs"][1:] > 0)

    norm = (np.linspace(-0.3, 0.2, 9), np.linspace(0.5, 2.0, 9),
            np.linspace(-1e-3, 1e-3, 6), np.linspace(1e-2, 3e-2, 6))
    publish_model(c, "sgs_model", scripted(SmagorinskyStress(0.17, DELTA, norm)), 2,
                  delta=DELTA, normalisation=norm)
    run_dir, proc = run_les(tmp_path, "learned_norm", {"model": "learned"}, db.env())
    assert_same_fields(read_checkpoint(run_dir / "checkpoint.bin"), ref)
    assert account(run_dir)["key"] == "sgs_model.v2"


def test_a_single_precision_model_gets_single_precision_inputs_and_the_same_answers(tmp_path, db):
    """The trainer's deployed network computes in float32 and says so (metadata input_dtype
    FLOAT): the solver then sends its features as FLOAT, half the bytes, and the LES is bit for
    bit the one with the same model fed DOUBLE features."""
    from eddylearn.consumers.trainer import SGSNet, scripted_bytes
    torch.manual_seed(4)
    net = SGSNet((8,))
    net.set_normalisation(np.zeros(9), np.full(9, 2.0), np.zeros(6), np.full(6, 1e-3))
    blob = scripted_bytes(net)
    c = Client(False, db.address)
    publish_model(c, "sgs_model", blob, 1, delta=DELTA)
    meta = c.get_dataset("sgs_model.meta")
    assert meta.get_meta_strings("input_dtype") == ["FLOAT"]
    log_every_command(db)
    run_dir, _ = run_les(tmp_path, "float", {"model": "learned"}, db.env())
    acc = account(run_dir)
    assert acc["input_dtype"] == "FLOAT" and acc["stages_database"] == 60
    assert {tensorset_of(q)[1] for q in inference_requests(db)} == {b"FLOAT"}
    single = read_checkpoint(run_dir / "checkpoint.bin")

    publish_model(c, "sgs_model", blob, 2, delta=DELTA, input_dtype="DOUBLE")
    log_every_command(db)
    run_dir, _ = run_les(tmp_path, "double", {"model": "learned"}, db.env())
    acc = account(run_dir)
    assert acc["input_dtype"] == "DOUBLE" and acc["key"] == "sgs_model.v2"
    assert {tensorset_of(q)[1] for q in inference_requests(db)} == {b"DOUBLE"}
    double = read_checkpoint(run_dir / "checkpoint.bin")
    for f in "uvw":
        assert np.array_equal(getattr(single, f), getattr(double, f)), f
    assert not np.array_equal(single.u, read_checkpoint(
        run_les(tmp_path, "none", {"model": "none"}, db.env())[0] / "checkpoint.bin").u)
    with pytest.raises(ValueError, match="input_dtype must be 'FLOAT' or 'DOUBLE', got 'HALF'"):
        publish_model(c, "sgs_model", blob, 3, delta=DELTA, input_dtype="HALF")


def test_learned_falls_back_to_smagorinsky_without_a_model_and_says_so_once(tmp_path, db):
    """No model stored yet: every stage uses Smagorinsky (the same field, bit for bit), the
    stages are counted, and the warning comes once."""
    smag_dir, _ = run_les(tmp_path, "smag", {"model": "smagorinsky"}, db.env())
    run_dir, proc = run_les(tmp_path, "learned", {"model": "learned"}, db.env())
    assert np.array_equal(read_checkpoint(run_dir / "checkpoint.bin").u,
                          read_checkpoint(smag_dir / "checkpoint.bin").u)
    acc = account(run_dir)
    assert acc["stages_fallback"] == acc["missing_model"] == 60 and acc["stages_database"] == 0
    assert proc.stderr.count("warning") == 1
    assert "sgs_model' unavailable (the model sgs_model is not stored" in proc.stderr


def test_database_stopped_mid_run_falls_back_and_the_run_completes(tmp_path, db):
    """The database is killed while the LES runs: the stages after use Smagorinsky, the run
    ends normally, and the account shows both kinds of stages."""
    c = Client(False, db.address)
    publish_model(c, "sgs_model", scripted(SmagorinskyStress(0.17, DELTA)), 1, delta=DELTA)
    run_dir, cmd = les_cmd(tmp_path, "learned", {"model": "learned", "timeout_ms": 500,
                                                 "retry_every": 5}, steps=2000)
    proc = subprocess.Popen(cmd, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=solver.child_env(db.env()))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            diag = run_dir / "diagnostics.csv"
            if diag.exists() and len(diag.read_text().splitlines()) > 30:
                break
            time.sleep(0.05)
        db.stop()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    acc = account(run_dir)
    diag = read_diagnostics(run_dir / "diagnostics.csv")
    assert acc["stages"] == 3 * diag["step"][-1]
    assert acc["stages_database"] >= 60 and acc["stages_fallback"] > 0
    assert acc["unreachable"] + acc["timeouts"] > 0
    assert err.count("warning") == 1 and "using Smagorinsky" in err
    assert np.all(np.isfinite(diag["energy"])) and diag["step"][-1] == 2000


def test_a_model_with_the_wrong_outputs_stops_the_run_with_a_clear_error(tmp_path, db):
    c = Client(False, db.address)
    c.set_model("five", scripted(SmagorinskyStress(0.17, DELTA, n_out=5)), "TORCH", "CPU")
    run_dir, proc = run_les(tmp_path, "five", {"model": "learned", "model_key": "five"},
                            db.env(), check=False)
    assert proc.returncode == 2
    assert "learned SGS model 'five'" in proc.stderr
    assert "returned a tensor of shape (2048, 5); expected (2048, 6)" in proc.stderr

    class Two(torch.nn.Module):
        def forward(self, x):
            return x[:, :6], x[:, :3]

    c.set_model("two", scripted(Two()), "TORCH", "CPU")
    run_dir, proc = run_les(tmp_path, "two", {"model": "learned", "model_key": "two"},
                            db.env(), check=False)
    assert proc.returncode == 2
    assert "Model did not generate the expected number of outputs" in proc.stderr

    class Broken(torch.nn.Module):
        def forward(self, x):
            return x @ torch.ones(7, 6, dtype=x.dtype)

    c.set_model("broken", scripted(Broken()), "TORCH", "CPU")
    run_dir, proc = run_les(tmp_path, "broken", {"model": "learned", "model_key": "broken"},
                            db.env(), check=False)
    assert proc.returncode == 2 and "running the model broken failed" in proc.stderr
    assert not (run_dir / "checkpoint.bin").exists()


def test_in_process_solver_raises_the_learned_models_error(tmp_path, db, monkeypatch):
    """The in-process Solver with the learned model: a model that fails in the database makes
    step() raise SolverError naming the model and the failure (it does not go on without an
    SGS term); a model key never stored falls back to Smagorinsky, as the executable does.
    The solver's client reads SSDB from this process's environment."""
    for k, v in db.env().items():
        monkeypatch.setenv(k, v)

    class Broken(torch.nn.Module):
        def forward(self, x):
            return x @ torch.ones(7, 6, dtype=x.dtype)

    Client(False, db.address).set_model("broken", scripted(Broken()), "TORCH", "CPU")
    groups = {**LES, "sgs": {"model": "learned", "model_key": "broken"}}
    with solver.Solver(groups, workdir=tmp_path / "broken") as s:
        with pytest.raises(solver.SolverError, match="learned SGS model 'broken'.*running the "
                                                     "model broken failed"):
            s.step(1)
    groups = {**LES, "sgs": {"model": "learned", "model_key": "absent"}}
    with solver.Solver(groups, workdir=tmp_path / "absent") as s:
        s.step(2)
        assert s.nstep == 2 and s.diagnostics()["eps_sgs"] > 0    # Smagorinsky's term


def test_a_new_version_is_picked_up_during_the_run(tmp_path, db):
    """The trainer stores version 2 while the LES runs: the solver switches at its next look at
    the metadata and says so. Version 2 wants normalised inputs and returns normalised outputs
    (the same Smagorinsky stress underneath), so the run equals the Smagorinsky run to round-off
    only if every stage, the one of the switch included, is converted with the constants of
    the version that produced it."""
    steps = 1500
    smag_dir, _ = run_les(tmp_path, "smag", {"model": "smagorinsky"}, db.env(), steps=steps)
    c = Client(False, db.address)
    publish_model(c, "sgs_model", scripted(SmagorinskyStress(0.17, DELTA)), 1, delta=DELTA)
    norm = (np.linspace(-0.3, 0.2, 9), np.linspace(0.5, 2.0, 9),
            np.linspace(-1e-3, 1e-3, 6), np.linspace(1e-2, 3e-2, 6))
    v2 = scripted(SmagorinskyStress(0.17, DELTA, norm))     # ready before the run starts
    run_dir, cmd = les_cmd(tmp_path, "learned", {"model": "learned", "version_every": 5},
                           steps=steps)
    proc = subprocess.Popen(cmd, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=solver.child_env(db.env()))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            diag = run_dir / "diagnostics.csv"
            if diag.exists() and len(diag.read_text().splitlines()) > 20:
                break
            time.sleep(0.05)
        publish_model(c, "sgs_model", v2, 2, delta=DELTA, normalisation=norm)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "learned SGS model version 1 ('sgs_model.v1')" in out
    assert "learned SGS model version 2 ('sgs_model.v2')" in out
    acc = account(run_dir)
    assert acc["last_version"] == 2 and acc["versions_used"] == 2
    assert acc["stages_fallback"] == 0
    # the energy of every step (the flow has decayed by the end: compare against E(0) = 0.125)
    e_learned = read_diagnostics(run_dir / "diagnostics.csv")["energy"]
    e_smag = read_diagnostics(smag_dir / "diagnostics.csv")["energy"]
    assert len(e_learned) == len(e_smag) == steps + 1
    assert np.max(np.abs(e_learned - e_smag)) <= 1e-12 * e_smag[0]


def test_learned_in_a_cluster_keeps_each_rank_on_its_shard(tmp_path):
    """Three shards: each rank's requests carry the hash tag of shard (rank mod 3), go to that
    shard alone, and the run matches Smagorinsky as on one server."""
    cluster = Cluster(tmp_path / "cluster", 3).start()
    try:
        env = cluster.env()
        smag_dir, _ = run_les(tmp_path, "smag", {"model": "smagorinsky"}, env)
        c = Client(True, cluster.address)
        publish_model(c, "sgs_model", scripted(SmagorinskyStress(0.17, DELTA)), 1, delta=DELTA)
        for s in cluster.servers:
            log_every_command(s)
        run_dir, _ = run_les(tmp_path, "learned", {"model": "learned"}, env)
        assert_same_fields(read_checkpoint(run_dir / "checkpoint.bin"),
                           read_checkpoint(smag_dir / "checkpoint.bin"))
        assert account(run_dir)["stages_fallback"] == 0
        # the shards that ran each rank's requests, and the names those requests used
        owners, names = {}, set()
        for i, s in enumerate(cluster.servers):
            for q in inference_requests(s):
                name = tensorset_of(q)[0].decode()
                names.add(name)
                owners.setdefault(name.rsplit("sgs_model.", 1)[1], set()).add(i)
        assert set(owners) == {"rank0.in", "rank1.in"}, owners
        assert all(n.startswith("{") for n in names), names
        assert len(owners["rank0.in"]) == 1 and len(owners["rank1.in"]) == 1
        assert owners["rank0.in"] != owners["rank1.in"]
    finally:
        cluster.stop()


@pytest.mark.parametrize("sgs, message", [
    ({"model": "learned", "model_key": "a b"}, "model_key must be a non-empty key"),
    ({"model": "learned", "timeout_ms": 0}, "timeout_ms must be >= 1"),
    ({"model": "learned", "version_every": 0}, "version_every and retry_every must be >= 1"),
    ({"model": "magic"}, "unknown SGS model 'magic' (known: none, smagorinsky, "
                         "dynamic_smagorinsky, wale, vreman, gradient, learned)"),
])
def test_bad_learned_settings_are_named(tmp_path, sgs, message):
    run_dir, proc = run_les(tmp_path, "bad", sgs, {}, check=False)
    assert proc.returncode == 2 and message in proc.stderr


def test_learned_without_a_database_address_is_a_clear_error(tmp_path):
    run_dir, cmd = les_cmd(tmp_path, "nossdb", {"model": "learned"})
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=run_dir,
                          env={k: v for k, v in solver.child_env().items() if k != "SSDB"})
    assert proc.returncode == 2
    assert "SSDB must be set" in proc.stderr
