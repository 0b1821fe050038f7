"""Analyser: spectrum, energy and dissipation from the streamed snapshots of the real solver."""
from __future__ import annotations

import json

import numpy as np
import pytest

from eddylearn import snapshots as sn
from eddylearn.consumers import analyser, fields

from _consumer_data import publish

NU = 1.0 / 1600


def test_spectrum_integrates_to_the_energy(solver_snapshots):
    """Parseval: sum(E(k)) dk == 0.5 mean(u^2+v^2+w^2) to 1e-12 (relative)."""
    for s in (solver_snapshots[0], solver_snapshots[-1]):
        k, spec = fields.energy_spectrum(*(s.fields[f] for f in "uvw"), (2 * np.pi,) * 3)
        dk = k[1] - k[0]
        assert dk == pytest.approx(1.0)
        assert np.sum(spec) * dk == pytest.approx(s.diag["energy"], rel=1e-12)
    # the initial TGV has all its energy in the shell |k| = sqrt(3) -> 2
    k, spec = fields.energy_spectrum(*(solver_snapshots[0].fields[f] for f in "uvw"),
                                     (2 * np.pi,) * 3)
    assert spec[2] / spec.sum() > 0.99


def test_staggered_vorticity_matches_the_solver_and_the_exact_field(solver_snapshots):
    """nu mean|omega|^2 == solver eps_visc (1e-10 rel); at t=0 the centred |omega| matches the
    analytic TGV vorticity within 2 % (2nd order, h = 2 pi / 32)."""
    for s in solver_snapshots:
        w2 = fields.mean_vorticity_squared(*(s.fields[f] for f in "uvw"), s.dx)
        assert NU * w2 == pytest.approx(s.diag["eps_visc"], rel=1e-10)
    s = solver_snapshots[0]
    h = s.dx[0]
    xc = -np.pi + (np.arange(32) + 0.5) * h
    x, y, z = np.meshgrid(xc, xc, xc, indexing="ij")
    ox = -np.cos(x) * np.sin(y) * np.sin(z)
    oy = -np.sin(x) * np.cos(y) * np.sin(z)
    oz = 2 * np.sin(x) * np.sin(y) * np.cos(z)
    exact = np.sqrt(ox ** 2 + oy ** 2 + oz ** 2)
    got = fields.vorticity_magnitude(*(s.fields[f] for f in "uvw"), s.dx)
    assert np.max(np.abs(got - exact)) / np.max(exact) < 0.02


def test_analyser_dissipation_against_the_solver(client, r, solver_snapshots, tmp_path):
    """eps_omega == solver eps_visc (1e-10); -dE/dt between snapshots within 3 % of the mean
    eps_visc of the two ends; TGV misfits to the DNS finite and below 0.2 at t <= 1.25."""
    publish(client, solver_snapshots, nranks=2)
    summary = analyser.run(tmp_path, nu=NU, tgv=True, client=client, raw=r,
                           max_snapshots=len(solver_snapshots), poll_interval=0.05)
    assert summary["stop_reason"] == "max snapshots"
    assert summary["snapshots"] == len(solver_snapshots)
    ts = json.loads((tmp_path / "timeseries.json").read_text())
    assert ts["step"] == [s.step for s in solver_snapshots]
    for e, eps, s in zip(ts["energy"], ts["eps_omega"], solver_snapshots):
        assert e == pytest.approx(s.diag["energy"], rel=1e-12)
        assert eps == pytest.approx(s.diag["eps_visc"], rel=1e-10)
    ref = [0.5 * (a.diag["eps_visc"] + b.diag["eps_visc"])
           for a, b in zip(solver_snapshots[:-1], solver_snapshots[1:])]
    assert len(ts["eps_dEdt"]) == len(ref)
    np.testing.assert_allclose(ts["eps_dEdt"], ref, rtol=0.03)
    for key in ("misfit_energy", "misfit_eps_omega", "misfit_eps_dEdt"):
        assert 0 <= summary[key] < 0.2, key
    assert summary["misfit_energy"] < 0.01
    spec = np.load(tmp_path / "spectra" / f"spectrum_{solver_snapshots[3].step:08d}.npz")
    assert np.sum(spec["E"]) * (spec["k"][1] - spec["k"][0]) == pytest.approx(
        solver_snapshots[3].diag["energy"], rel=1e-12)
    for png in ("dissipation.png", "spectra.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "summary.json").read_text())["reader"]["steps"] == 6


def test_analyser_stops_on_the_stop_tensor_after_reading_what_is_listed(client, r,
                                                                     solver_snapshots, tmp_path):
    publish(client, solver_snapshots[:3])
    sn.request_stop(client)
    summary = analyser.run(tmp_path, client=client, raw=r, poll_interval=0.05)
    assert summary["stop_reason"] == "stop request" and summary["snapshots"] == 3
    assert "misfit_energy" not in summary  # not a TGV comparison


def test_analyser_bad_arguments(client, r, tmp_path):
    with pytest.raises(ValueError, match="nu"):
        analyser.Analyser(tmp_path, nu=-1.0, client=client, raw=r)
    with pytest.raises(ValueError, match="reference file not found"):
        analyser.Analyser(tmp_path, reference=tmp_path / "missing.gdiag", client=client, raw=r)
    with pytest.raises(ValueError, match="poll_interval"):
        analyser.Analyser(tmp_path, poll_interval=0, client=client, raw=r)


def test_idle_timeout_ends_an_empty_run_with_outputs(client, r, tmp_path):
    summary = analyser.run(tmp_path, client=client, raw=r, idle_timeout=0.3, poll_interval=0.05)
    assert summary["stop_reason"] == "idle timeout" and summary["snapshots"] == 0
    assert json.loads((tmp_path / "timeseries.json").read_text())["step"] == []
