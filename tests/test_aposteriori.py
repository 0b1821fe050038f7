"""The a-posteriori stage of training a learned SGS model (eddylearn.aposteriori): the gated
model in the database, the search's objective and choice on a small LES, and its bad settings."""
import io
import json
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
    (["--gate-invariant", "wale"], "--gate-invariant is the invariant of --a-posteriori gate: "
                                   "give --a-posteriori gate too"),
    (["--a-posteriori", "scale", "--gate-invariant", "wale"], "the 'scale' form has none"),
    (["--a-posteriori", "gate", "--theta1", "-4,x"],
     "--theta1 must be finite numbers separated by commas, got '-4,x'"),
    (["--a-posteriori", "gate", "--theta1", "-4,-8", "--theta0", "-1", "--models", "none"],
     "needs the learned model"),       # negative lists without '=' are read as values
])
def test_bad_a_posteriori_options_of_the_command_are_named(tmp_path, args, message):
    (tmp_path / "m.pt").write_bytes(scripted(SmagorinskyStress(0.17, DELTA)))
    proc = subprocess.run([sys.executable, "-m", "eddylearn", "validate", "tgv-les", "--n", "16",
                           "--np", "2", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_negative_number_lists_are_option_values():
    from eddylearn import cli
    argv = ["validate", "tgv-les", "--a-posteriori", "gate", "--theta1", "-4,-8", "--theta0",
            "-.5,1", "--n", "16"]
    assert cli._join_number_lists(argv)[4:7] == ["--theta1=-4,-8", "--theta0=-.5,1", "--n"]
    args = cli.build_parser().parse_args(cli._join_number_lists(argv))
    assert (args.theta1, args.theta0, args.n) == ("-4,-8", "-.5,1", "16")
    assert cli._join_number_lists(["--theta1", "--n", "-- ", "--theta0"]) == \
        ["--theta1", "--n", "-- ", "--theta0"]


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


def _vortex(axis: int) -> np.ndarray:
    """The gradient of a vortex along `axis` stretched axisymmetrically (strain 1 along it)."""
    g = np.full((3, 3), 0.0)
    g[np.arange(3), np.arange(3)] = -0.5
    g[axis, axis] = 1.0
    a, b = (axis + 1) % 3, (axis + 2) % 3
    g[a, b], g[b, a] = -1.0, 1.0                # rotation about `axis`
    return g


def _stretching(g: np.ndarray) -> float:
    """w.S.w / (|w|^2 sqrt(S:S)) from its definition, w = curl u (w_i = eps_ijk du_k/dx_j)."""
    eps = np.zeros((3, 3, 3))
    for i, j, k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        eps[i, j, k], eps[i, k, j] = 1.0, -1.0
    w = np.einsum("ijk,kj->i", eps, g)          # g[k, j] = du_k/dx_j
    s = (g + g.T) / 2
    return float(w @ s @ w / (w @ w * np.sqrt(np.sum(s * s))))


def test_the_stretching_invariant_of_vortices_along_every_axis_and_under_rotation():
    """A stretched vortex along x, y or z has the rate sqrt(2/3), a compressed one -sqrt(2/3);
    a random trace-free gradient has the rate of its definition (the curl written with the
    Levi-Civita symbol), within +-sqrt(2/3), and the same rate after any rotation of the axes,
    g -> R g R^T."""
    rows = [_vortex(a) for a in range(3)] + [-_vortex(a) for a in range(3)]
    got = ap.gate_invariant(torch.tensor(np.array(rows).reshape(-1, 9)), 2).numpy()
    np.testing.assert_allclose(got, [math.sqrt(2 / 3)] * 3 + [-math.sqrt(2 / 3)] * 3, rtol=1e-6)
    rng = np.random.default_rng(7)
    g = rng.normal(size=(200, 3, 3))
    g -= np.trace(g, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)   # incompressible
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q * np.sign(np.diag(r))
    rot *= np.linalg.det(rot)                   # a proper rotation (det +1)
    turned = np.einsum("ij,njk,lk->nil", rot, g, rot)
    want = np.array([_stretching(x) for x in g])
    for x in (g, turned):
        got = ap.gate_invariant(torch.tensor(x.reshape(-1, 9)), 2).numpy()
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert np.all(np.abs(want) <= math.sqrt(2 / 3) + 1e-12) and np.ptp(want) > 0.5


def test_the_invariants_are_scale_free_even_where_float32_overflows():
    """Every invariant is the same for g and 1e15 g (whose WALE powers, |g|^7, are beyond single
    precision; the gate divides g by its magnitude first), and 0 gradients give a finite gate."""
    x = np.random.default_rng(5).normal(size=(100, 9))
    for i, name in enumerate(ap.GATE_INVARIANTS):
        a = ap.gate_invariant(torch.tensor(x), i).numpy()
        b = ap.gate_invariant(torch.tensor(1e15 * x), i).numpy()
        c = ap.gate_invariant(torch.tensor(x, dtype=torch.float32), i).numpy()
        assert np.all(np.isfinite(b)), name
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(a, numpy_invariants(x)[name], rtol=2e-5, atol=1e-6,
                                   err_msg=name)
        assert np.all(np.isfinite(ap.gate_invariant(torch.zeros(3, 9), i).numpy())), name


def test_the_gated_deployed_network_still_takes_single_precision_features():
    """The trainer's deployed network computes in FLOAT; the gate keeps saying so, so the LES
    sends it FLOAT features, and it answers those rows as the network does, times the gate."""
    from eddylearn.consumers.trainer import SGSNet, scripted_bytes
    from eddylearn.sgs_publish import model_input_dtype
    blob = scripted_bytes(SGSNet(hidden=(8,)))
    assert model_input_dtype(blob) == "FLOAT"
    for theta1 in (0.0, -4.0):
        gated = ap.gated_model_bytes(blob, 1.5, theta1)
        assert model_input_dtype(gated) == "FLOAT"
        x = torch.tensor(np.random.default_rng(2).normal(size=(20, 9)), dtype=torch.float32)
        inner = torch.jit.load(io.BytesIO(blob))(x)
        gate = np.maximum(0.0, 1.5 + theta1 * numpy_invariants(x.double().numpy())["stretching"])
        np.testing.assert_allclose(torch.jit.load(io.BytesIO(gated))(x).detach().numpy(),
                                   inner.detach().numpy() * gate[:, None], rtol=1e-5, atol=1e-6)


def _stub_diag(t: np.ndarray, rate: float) -> dict[str, np.ndarray]:
    """Diagnostics of an LES whose energy decays at `rate` (the columns tgv_metrics reads)."""
    e = 0.125 * np.exp(-rate * t)
    dt = np.diff(t, prepend=0.0)
    return {"step": np.arange(len(t)), "time": t, "dt": dt, "energy": e, "eps_visc": rate * e,
            "eps_sgs": 0 * e, "eps_dedt": np.r_[0.0, -np.diff(e) / dt[1:]]}


def _stub_history():
    t = np.linspace(0.0, 1.0, 11)
    return ap.dns_history({"time": t, "energy": 0.125 * np.exp(-0.3 * t)})


def test_a_bad_point_is_recorded_and_never_chosen_and_the_search_goes_on(tmp_path):
    """The LES stands in here (the choice only reads its diagnostics and account): the point
    whose run raises, the one stopped short, the one with a Smagorinsky fallback and the one
    whose diagnostics cannot be scored are recorded with why, and the worse of the two good
    ones is not chosen over the better; points.json holds every point as it finished."""
    hist = _stub_history()
    t = np.linspace(0.0, 1.0, 21)
    ok = {"stages_database": 60, "stages_fallback": 0}
    seen = []

    def les(blob, label):
        k = int(label[1:])
        seen.append(label)
        if k > 0:   # the file holds the points before this one, whole
            rec = json.loads((tmp_path / "a_posteriori" / "points.json").read_text())
            assert [p["theta0"] for p in rec] == [p[0] for p in points[:k]]
        if k == 0:
            raise RuntimeError("the database went away\nsecond line")
        rate = {1: 0.3, 2: 0.3, 3: 0.3, 4: 0.5, 5: 0.31}[k]
        tk = t[:10] if k == 2 else t
        diag = _stub_diag(tk, rate)
        if k == 1:
            return diag, {"stages_database": 50, "stages_fallback": 3}
        if k == 3:
            return {"time": tk}, ok           # no energy column: the misfit raises
        return diag, ok

    points = [(1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (4.0, 0.0), (5.0, 0.0), (6.0, 0.0)]
    res = ap.a_posteriori_search(les, scripted(SmagorinskyStress(0.17, DELTA)), hist, points,
                                 record=tmp_path / "a_posteriori" / "points.json")
    assert seen == [f"p{k}" for k in range(6)]
    recs = res["points"]
    assert recs[0]["error"] == "RuntimeError: the database went away"
    assert recs[3]["error"].startswith("KeyError")
    assert recs[1]["stages_fallback"] == 3 and recs[2]["t_end"] < 1.0
    assert [r["usable"] for r in recs] == [False, False, False, False, True, True]
    assert all(r["objective"] == math.inf for r in recs[:4])
    assert res["best"] == 5 and res["theta0"] == 6.0
    on_disk = json.loads((tmp_path / "a_posteriori" / "points.json").read_text())
    assert [p["theta0"] for p in on_disk] == [p[0] for p in points]
    assert on_disk[0]["error"] == recs[0]["error"] and on_disk[5]["usable"]
    assert not list((tmp_path / "a_posteriori").glob("*.tmp"))


def test_a_search_without_a_usable_point_names_every_point():
    def les(blob, label):
        if label == "p0":
            raise OSError("no space left")
        return _stub_diag(np.array([0.0, 0.1, 0.2]), 0.3), {"stages_database": 3,
                                                             "stages_fallback": 0}

    with pytest.raises(RuntimeError, match=r"\(1.0, 0.0\): OSError: no space left; "
                                           r"\(2.0, 0.0\): unusable"):
        ap.a_posteriori_search(les, scripted(SmagorinskyStress(0.17, DELTA)), _stub_history(),
                               [(1.0, 0.0), (2.0, 0.0)])


def _dns_folder(path, nx, t_last):
    path.mkdir(parents=True)
    write_namelist(path / "input.nml", {"domain": {"nx": nx, "ny": nx, "nz": nx}})
    t = np.arange(0.0, t_last + 1e-9, 0.25)
    lines = ["step,time,energy"] + [f"{k},{x},{0.125 - 0.01 * x}" for k, x in enumerate(t)]
    (path / "diagnostics.csv").write_text("\n".join(lines) + "\n")


def test_the_training_dns_history_must_be_the_samples_dns_and_reach_t_end(tmp_path):
    """The dns folder of a workdir is shared by every LES size and filter width: its history
    is followed only when its &domain nx is the DNS the samples came from, and only when it
    reaches the LES's t_end (within one diagnostics interval); the compared range is kept."""
    _dns_folder(tmp_path / "dns", 32, 2.0)
    got = ap.training_dns_history(tmp_path / "dns", 32, 2.2)
    assert got["path"] == str(tmp_path / "dns" / "diagnostics.csv")
    assert got["time_range"] == [0.125, 1.875]
    assert ap.training_dns_history(tmp_path / "dns", 32, 1.0)["time_range"] == [0.125, 1.0]
    with pytest.raises(ValueError, match=r"diagnostics.csv ends at t = 2, before the LES's "
                                         r"t_end = 2.5"):
        ap.training_dns_history(tmp_path / "dns", 32, 2.5)
    with pytest.raises(ValueError, match=r"the DNS in .*dns is 32\^3 but the training samples "
                                         r"came from a 64\^3 DNS"):
        ap.training_dns_history(tmp_path / "dns", 64, 1.0)
    (tmp_path / "dns" / "input.nml").unlink()
    with pytest.raises(FileNotFoundError, match="cannot tell which DNS wrote"):
        ap.training_dns_history(tmp_path / "dns", 32, 1.0)


def test_the_stage_refuses_another_dns_history_before_training(tmp_path):
    """Cached samples of a 32^3 DNS next to the diagnostics of a 64^3 one (the 32^3 LES's with
    width 2): the stage says so before training anything."""
    from eddylearn import validate
    np.savez(tmp_path / "dns32_w2_samples.npz", features=np.zeros((8, 9)),
             labels=np.zeros((8, 6)), times=np.zeros(8))
    _dns_folder(tmp_path / "dns", 64, 20.0)
    with pytest.raises(ValueError, match=r"is 64\^3 but the training samples came from a 32\^3"):
        validate.validate_tgv_les(16, 2, workdir=tmp_path, models=("learned",), dns_width=2,
                                  a_posteriori={"form": "scale"})
    assert not (tmp_path / "sgs_model.pt").exists()


def test_grids_check_their_own_invariant_and_take_a_single_number():
    assert ap.search_grid("scale", 2.0) == [(2.0, 0.0)]
    assert ap.search_grid("gate", 1.0, -4) == [(1.0, -4)]
    with pytest.raises(ValueError, match="unknown gate invariant 'q'"):
        ap.search_grid("gate", (1.0,), (-4.0,), "q")
    with pytest.raises(ValueError, match="theta0 must be a number or a sequence of numbers"):
        ap.search_grid("gate", "1,2")
