"""Properties of the discretisation: projection, energy conservation, rank independence,
bit-identical restart, SGS models, initial conditions and forcing."""
import math

import numpy as np
import pytest

from eddylearn.solver import Solver

def mac_divergence(u: np.ndarray, v: np.ndarray, w: np.ndarray, h: tuple[float, ...]):
    """Cell-centred divergence of periodic MAC face velocities (numpy reference)."""
    return ((u - np.roll(u, 1, axis=0)) / h[0] + (v - np.roll(v, 1, axis=1)) / h[1]
            + (w - np.roll(w, 1, axis=2)) / h[2])


ISO16 = {"domain": {"nx": 16, "ny": 16, "nz": 16},
         "physics": {"nu": 0.01, "initial": "isotropic", "u0": 1.0, "k_peak": 3.0, "seed": 7}}


def test_divergence_after_projection_is_roundoff(run_solver):
    """Max |div u| * h / max|u| after steps of a random isotropic field: below 1e-12."""
    res = run_solver({**ISO16, "time": {"t_end": 10.0, "max_steps": 5}}, nranks=2)
    c = res.checkpoint()
    h = 2 * math.pi / 16
    div = mac_divergence(c.u, c.v, c.w, (h, h, h))
    umax = max(np.abs(c.u).max(), np.abs(c.v).max(), np.abs(c.w).max())
    assert umax > 0.5
    assert np.abs(div).max() * h / umax < 1e-12
    diag = res.diagnostics()
    assert np.all(diag["div_max"] * h < 1e-12)


def test_unprojected_field_would_not_be_solenoidal(tmp_path):
    """Control for the test above: a random field is far from solenoidal before projection."""
    rng = np.random.default_rng(0)
    u, v, w = rng.standard_normal((3, 16, 16, 16))
    h = 2 * math.pi / 16
    assert np.abs(mac_divergence(u, v, w, (h, h, h))).max() * h > 0.1


def _inviscid_energy_loss_per_step(tmp_path, dt: float, t_end: float) -> float:
    cfg = {"domain": {"nx": 16, "ny": 16, "nz": 16},
           "physics": {"nu": 0.0, "initial": "isotropic", "u0": 1.0, "k_peak": 3.0, "seed": 3},
           "time": {"t_end": t_end, "dt": dt}}
    with Solver(cfg, workdir=tmp_path) as s:
        e0 = s.diagnostics()["energy"]
        nsteps = round(t_end / dt)
        s.step(nsteps)
        assert s.nstep == nsteps
        e1 = s.diagnostics()["energy"]
    return (e0 - e1) / nsteps / e0


def test_inviscid_energy_loss_shrinks_as_rk3_error(tmp_path):
    """nu = 0: the energy lost per step falls like dt^4 (RK3), i.e. the semi-discretisation
    conserves energy; a scheme error would not vanish with dt."""
    losses = [_inviscid_energy_loss_per_step(tmp_path / f"dt{i}", dt, 0.8)
              for i, dt in enumerate((0.1, 0.05, 0.025))]
    assert all(loss > 0 for loss in losses)          # RK3 is slightly dissipative
    orders = [math.log2(losses[i] / losses[i + 1]) for i in range(2)]
    assert all(3.5 < p < 4.5 for p in orders), (losses, orders)
    assert losses[-1] < 1e-5                          # per step, relative, at CFL ~ 0.2


def test_one_and_two_ranks_agree_to_roundoff(run_solver):
    """The same run on 1 and 2 ranks: fields agree to 1e-12 of the velocity scale."""
    groups = {**ISO16, "time": {"t_end": 10.0, "max_steps": 10}, "sgs": {"model": "smagorinsky"}}
    c1 = run_solver(groups, nranks=1).checkpoint()
    c2 = run_solver(groups, nranks=2).checkpoint()
    assert c1.step == c2.step == 10
    assert c1.time == pytest.approx(c2.time, rel=1e-13)
    for a, b in ((c1.u, c2.u), (c1.v, c2.v), (c1.w, c2.w)):
        assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
    assert not np.array_equal(c1.u, run_solver(ISO16 | {"time": {"max_steps": 9}}).checkpoint().u)


@pytest.mark.parametrize("model", ["none", "smagorinsky"])
def test_restart_is_bit_identical(run_solver, model):
    """20 steps straight vs 10 steps, checkpoint, restart, 10 steps: identical bytes."""
    groups = {**ISO16, "time": {"t_end": 10.0, "max_steps": 20}, "sgs": {"model": model},
              "output": {"checkpoint_every": 10}}
    straight = run_solver(groups, nranks=2, name="straight")
    restart = {**groups, "time": {"t_end": 10.0, "max_steps": 10},
               "output": {"restart_file": str(straight.dir / "checkpoint_00000010.bin")}}
    resumed = run_solver(restart, nranks=2, name="resumed")
    a = (straight.dir / "checkpoint.bin").read_bytes()
    b = (resumed.dir / "checkpoint.bin").read_bytes()
    assert len(a) == len(b) == 48 + 8 + 4 * 8 * 16 ** 3
    assert a == b
    assert resumed.checkpoint().step == 20
    # the resumed run's diagnostics continue from step 10
    assert resumed.diagnostics()["step"][0] == 10


def test_restart_on_another_rank_count(run_solver):
    """A checkpoint written by 2 ranks restarts on 1 rank (agreement to round-off)."""
    groups = {**ISO16, "time": {"t_end": 10.0, "max_steps": 12},
              "output": {"checkpoint_every": 6}}
    two = run_solver(groups, nranks=2, name="two")
    one = run_solver({**groups, "time": {"t_end": 10.0, "max_steps": 6},
                      "output": {"restart_file": str(two.dir / "checkpoint_00000006.bin")}},
                     nranks=1, name="one")
    a, b = two.checkpoint(), one.checkpoint()
    assert np.abs(a.u - b.u).max() <= 1e-12 * np.abs(a.u).max()


def test_smagorinsky_adds_positive_sgs_dissipation(run_solver):
    """Smagorinsky (Cs = 0.17): eps_sgs > 0 and energy decays faster than with no model."""
    base = {**ISO16, "time": {"t_end": 0.5}}
    none = run_solver({**base, "sgs": {"model": "none"}}).diagnostics()
    smag = run_solver({**base, "sgs": {"model": "smagorinsky", "cs": 0.17}}).diagnostics()
    assert np.all(none["eps_sgs"] == 0)
    assert np.all(smag["eps_sgs"][1:] > 0)
    assert smag["energy"][-1] < none["energy"][-1]
    # the energy budget closes: -dE/dt over a step = mean of eps_visc + eps_sgs at its ends
    total = smag["eps_visc"] + smag["eps_sgs"]
    assert np.allclose(smag["eps_dedt"][2:], 0.5 * (total[1:-1] + total[2:]), rtol=0.01)


def test_isotropic_initial_condition(tmp_path):
    """Random-phase isotropic field: E = 3/2 u0^2, solenoidal, spectrum peaks near k_peak."""
    cfg = {"domain": {"nx": 32, "ny": 32, "nz": 32},
           "physics": {"initial": "isotropic", "u0": 0.7, "k_peak": 4.0, "seed": 11},
           "time": {"t_end": 1.0}}
    with Solver(cfg, workdir=tmp_path) as s:
        d = s.diagnostics()
        u = s.field("u")
    assert d["energy"] == pytest.approx(1.5 * 0.7 ** 2, rel=1e-12)
    assert d["div_max"] * (2 * math.pi / 32) < 1e-12
    uh = np.fft.fftn(u)
    k = np.fft.fftfreq(32, 1 / 32)
    kmag = np.sqrt(k[:, None, None] ** 2 + k[None, :, None] ** 2 + k[None, None, :] ** 2)
    shells = np.bincount(np.rint(kmag).astype(int).ravel(), weights=np.abs(uh.ravel()) ** 2)
    assert 3 <= int(np.argmax(shells[1:16])) + 1 <= 5


def test_linear_forcing_injects_energy(run_solver):
    """Linear forcing f = A u: dE/dt = 2 A E - eps, so A > 0 keeps more energy than A = 0."""
    base = {**ISO16, "time": {"t_end": 0.5}}
    free = run_solver(base).diagnostics()
    forced = run_solver({**base, "physics": {**ISO16["physics"], "forcing_a": 0.5}}).diagnostics()
    assert forced["energy"][-1] > free["energy"][-1] * 1.3
    assert forced["energy"][-1] > forced["energy"][0]
