"""The a-posteriori stage of training a learned SGS model (eddylearn.aposteriori): the gated
model in the database, the search's objective and choice on a small LES, and its bad settings."""
import io
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from smartredis import Client

from eddylearn import aposteriori as ap
from eddylearn import solver
from eddylearn._paths import solver_executable
from eddylearn.io import read_checkpoint, read_diagnostics, write_namelist
from eddylearn.sgs_publish import SmagorinskyStress, publish_model, scripted
from servers import Server

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")

N = 16
DELTA = 2 * math.pi / N


@pytest.fixture
def db(tmp_path):
    server = Server(tmp_path / "db").start()
    yield server
    server.stop()


def run_les(tmp_path, name, sgs, env, steps=12):
    """A 16^3 TGV LES on 2 ranks for `steps` steps; its diagnostics (every step)."""
    run_dir = tmp_path / name
    run_dir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": N, "ny": N, "nz": N}, "physics": {"nu": 1 / 1600, "initial": "tgv3d"},
        "time": {"t_end": 1e9, "max_steps": steps, "dt": 0.05}, "sgs": sgs,
        "output": {"diag_every": 1, "dir": str(run_dir)}})
    proc = subprocess.run(solver.mpirun_command(2) + [str(solver_executable()), str(nml)],
                          capture_output=True, text=True, timeout=300, cwd=run_dir,
                          env=solver.child_env(env))
    if proc.returncode:
        raise solver.SolverError(proc.stderr or proc.stdout)
    return run_dir


def numpy_invariants(x: np.ndarray) -> dict[str, np.ndarray]:
    """The gate's invariants written out in float64 from their definitions."""
    out = {"wale": [], "rotation": [], "stretching": []}
    for row in x:
        g = row.reshape(3, 3)
        s, w = (g + g.T) / 2, (g - g.T) / 2
        ss, ww = np.sum(s * s), np.sum(w * w)
        g2 = g @ g
        sd = (g2 + g2.T) / 2 - np.trace(g2) / 3 * np.eye(3)
        dd = np.sum(sd * sd)
        out["wale"].append(dd ** 1.5 / (ss ** 2.5 + dd ** 1.25) / np.sqrt(ss + ww))
        out["rotation"].append(ww / (ss + ww))
        om = np.array([g[2, 1] - g[1, 2], g[0, 2] - g[2, 0], g[1, 0] - g[0, 1]])
        out["stretching"].append(om @ s @ om / (om @ om * np.sqrt(ss))
                                  if om @ om * ss > 0 else 0.0)
    return {k: np.array(v) for k, v in out.items()}


def test_invariants_of_pure_shear_strain_rotation_and_a_stretched_vortex():
    x = np.zeros((4, 9))
    x[0, 1] = 2.0                       # du/dy: pure shear
    x[1, 0], x[1, 4] = 1.0, -1.0        # plane strain
    x[2, 1], x[2, 3] = -1.0, 1.0        # rotation about z
    x[3, [0, 4, 8]] = -0.5, -0.5, 1.0   # a vortex along z stretched axisymmetrically
    x[3, 1], x[3, 3] = -1.0, 1.0
    t = torch.tensor(x)
    inv = {k: ap.gate_invariant(t, i).numpy() for i, k in enumerate(ap.GATE_INVARIANTS)}
    assert inv["wale"][0] == 0.0 and inv["wale"][1] > 0 and inv["wale"][2] > 0
    np.testing.assert_allclose(inv["rotation"][:3], [0.5, 0.0, 1.0], atol=1e-7)
    assert inv["stretching"][0] == 0.0
    np.testing.assert_allclose(inv["stretching"][3], math.sqrt(2 / 3), rtol=1e-6)
    np.testing.assert_allclose(inv["wale"], numpy_invariants(x)["wale"], rtol=1e-5)
    x[3, [0, 4, 8]] *= -1               # compressed instead: the opposite sign
    assert ap.gate_invariant(torch.tensor(x[3:]), 2).item() == pytest.approx(-math.sqrt(2 / 3))


@pytest.mark.parametrize("invariant", ap.GATE_INVARIANTS)
def test_the_gated_model_in_the_database_gives_the_gated_stress(db, invariant):
    """The gate is part of the TorchScript module: run by the database's AI module on random
    gradients it returns the inner model's stress times max(0, theta0 + theta1 r), r computed
    here independently, clipped to zero where theta0 + theta1 r < 0."""
    inner = scripted(SmagorinskyStress(0.17, DELTA))
    theta0, theta1 = -0.2, 3.0
    blob = ap.gated_model_bytes(inner, theta0, theta1, invariant)
    c = Client(False, db.address)
    publish_model(c, "sgs_model", blob, 1, delta=DELTA)
    x = np.random.default_rng(3).normal(size=(500, 9))
    c.put_tensor("x", x)
    c.run_model("sgs_model.v1", inputs=["x"], outputs=["y"])
    y = c.get_tensor("y")
    tau = torch.jit.load(io.BytesIO(inner))(torch.tensor(x)).numpy()
    gate = np.maximum(0.0, theta0 + theta1 * numpy_invariants(x)[invariant])
    assert np.any(gate == 0) and np.any(gate > 0.5)       # both sides of the clip are tested
    np.testing.assert_allclose(y, tau * gate[:, None], rtol=2e-5, atol=1e-7 * np.abs(tau).max())


def test_a_scaled_smagorinsky_model_in_the_les_is_smagorinsky_with_the_scaled_constant(tmp_path,
                                                                                        db):
    """theta0 = 1/4 on the Smagorinsky stress of C_s = 0.17, run by the LES in the database every
    RK stage, is the solver's Smagorinsky model with C_s = 0.085 to round-off."""
    ref = read_checkpoint(run_les(tmp_path, "smag", {"model": "smagorinsky", "cs": 0.085},
                                  db.env()) / "checkpoint.bin")
    c = Client(False, db.address)
    publish_model(c, "sgs_model", ap.gated_model_bytes(scripted(SmagorinskyStress(0.17, DELTA)),
                                                       0.25), 1, delta=DELTA)
    got = read_checkpoint(run_les(tmp_path, "gated", {"model": "learned"}, db.env())
                          / "checkpoint.bin")
    for f in "uvw":
        a, b = getattr(got, f), getattr(ref, f)
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b)), f


def test_the_search_finds_the_scale_of_the_history_it_is_given(tmp_path, db):
    """The training history here is a Smagorinsky LES with C_s = 0.17 (a stand-in for the DNS:
    the objective only reads E(t)); the search over scales of the C_s = 0.34 stress, each point
    a real LES through the database, has the least objective at theta0 = 1/4, where the gated
    model is that very LES (objective at round-off), and records every point's misfits."""
    hist = ap.dns_history(read_diagnostics(
        run_les(tmp_path, "hist", {"model": "smagorinsky", "cs": 0.17}, db.env())
        / "diagnostics.csv"))
    c = Client(False, db.address)
    version = [1]

    def les(blob, label):
        publish_model(c, "sgs_model", blob, version[0], delta=DELTA)
        version[0] += 1
        run_dir = run_les(tmp_path, label, {"model": "learned"}, db.env())
        import json
        return (read_diagnostics(run_dir / "diagnostics.csv"),
                json.loads((run_dir / "sgs_model.json").read_text()))

    res = ap.a_posteriori_search(les, scripted(SmagorinskyStress(0.34, DELTA)), hist,
                                 ap.search_grid("scale", (1.0, 0.25, 0.0625)))
    assert res["best"] == 1 and res["theta0"] == 0.25 and res["theta1"] == 0.0
    objs = [p["objective"] for p in res["points"]]
    assert objs[1] < 1e-9 < min(objs[0], objs[2])
    assert all(p["usable"] and p["stages_fallback"] == 0 and p["stages_database"] == 36
               for p in res["points"])


def test_dns_history_is_the_energy_and_its_loss_rate():
    t = np.array([0.0, 1.0, 3.0])
    e = np.array([1.0, 0.8, 0.4])
    h = ap.dns_history({"time": t, "energy": e})
    np.testing.assert_allclose(h["time"], [0.5, 2.0])
    np.testing.assert_allclose(h["dissipation"], [0.2, 0.2])
    np.testing.assert_allclose(h["energy"], [0.9, 0.6])
    with pytest.raises(ValueError, match="at least 3 rows at increasing times"):
        ap.dns_history({"time": t[:2], "energy": e[:2]})


@pytest.mark.parametrize("call, message", [
    (lambda: ap.search_grid("bend"), "unknown a-posteriori form 'bend' (known: scale, gate)"),
    (lambda: ap.search_grid("scale", (1.0,), (2.0,)), "the 'scale' form has no theta1"),
    (lambda: ap.search_grid("scale", (0.0, 1.0)), "the output scales must be positive"),
    (lambda: ap.search_grid("gate", (math.nan,)), "theta0 must be a finite number"),
    (lambda: ap.gated_model_bytes(scripted(SmagorinskyStress(0.17, DELTA)), 1.0, 0.0, "q"),
     "unknown gate invariant 'q' (known: wale, rotation, stretching)"),
    (lambda: ap.read_dns_history("/nonexistent-dns"), "needs the training DNS's diagnostics"),
])
def test_bad_a_posteriori_settings_are_named(call, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        call()


@pytest.mark.parametrize("args, message", [
    (["--a-posteriori", "scale", "--theta0", "1,x"],
     "--theta0 must be finite numbers separated by commas, got '1,x'"),
    (["--theta0", "1"], "--theta0 and --theta1 are the grid of --a-posteriori"),
    (["--a-posteriori", "gate", "--model", "m.pt"], "give no --model"),
    (["--a-posteriori", "gate", "--models", "none"], "needs the learned model"),
    (["--a-posteriori", "gate", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
])
def test_bad_a_posteriori_options_of_the_command_are_named(tmp_path, args, message):
    (tmp_path / "m.pt").write_bytes(scripted(SmagorinskyStress(0.17, DELTA)))
    proc = subprocess.run([sys.executable, "-m", "eddylearn", "validate", "tgv-les", "--n", "16",
                           "--np", "2", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_cached_samples_without_the_dns_history_are_refused_before_training(tmp_path):
    """A workdir with the samples but not the DNS's diagnostics: the a-posteriori stage has
    nothing to follow, and says so at once (no training, no LES)."""
    from eddylearn import validate
    np.savez(tmp_path / "dns32_w2_samples.npz", features=np.zeros((8, 9)),
             labels=np.zeros((8, 6)), times=np.zeros(8))
    with pytest.raises(FileNotFoundError, match="needs the training DNS's diagnostics"):
        validate.validate_tgv_les(16, 2, workdir=tmp_path, models=("learned",), dns_width=2,
                                  a_posteriori={"form": "scale"})
    assert not (tmp_path / "sgs_model.pt").exists()
    with pytest.raises(ValueError, match="unknown a-posteriori setting 'thetas'"):
        validate.validate_tgv_les(16, 2, models=("learned",), a_posteriori={"thetas": (1,)})
