"""Isotropic turbulence from a spectrum table: the initial field (shell energies, solenoidal
on the MAC grid, the same phases on every grid), the solver starting from it, decaying runs
with spectra at requested times (2 MPI ranks), and the comparison with a reference."""
import math

import numpy as np
import pytest

from eddylearn import cli, isotropic
from eddylearn._paths import reference_spectrum
from eddylearn.io import read_diagnostics
from eddylearn.solver import Solver


@pytest.fixture(scope="module")
def table():
    return isotropic.read_spectrum(reference_spectrum())


def mac_divergence(u, v, w, h):
    return ((u - np.roll(u, 1, 0)) + (v - np.roll(v, 1, 1)) + (w - np.roll(w, 1, 2))) / h


def test_field_matches_the_table_shell_by_shell(table):
    k, e = table
    u, v, w, rep = isotropic.field_from_spectrum(k, e, 32, seed=3)
    target = isotropic.shell_targets(k, e, 15)
    _, got = isotropic.spectrum(u, v, w)
    assert np.all(target[1:] > 0)
    assert np.allclose(got[1:16], target[1:], rtol=isotropic.SHELL_TOLERANCE, atol=0)
    assert got[0] == pytest.approx(0, abs=1e-30) and got[16] == pytest.approx(0, abs=1e-30)
    energy = 0.5 * np.mean(u * u + v * v + w * w)
    assert energy == pytest.approx(target.sum(), rel=1e-12) == rep["energy"]
    assert np.abs(mac_divergence(u, v, w, 2 * math.pi / 32)).max() < 1e-12 * np.abs(u).max()
    # another seed: another field, the same spectrum
    u2, *_ = isotropic.field_from_spectrum(k, e, 32, seed=4)
    assert abs(np.corrcoef(u.ravel(), u2.ravel())[0, 1]) < 0.2


def test_rescaling_in_length_and_velocity(table):
    """velocity U multiplies the energy by U^2; length L moves the spectrum to k / L."""
    k, e = table
    base = isotropic.shell_targets(k, e, 15)
    assert isotropic.shell_targets(k, e, 15, velocity=2.0) == pytest.approx(4 * base)
    longer = isotropic.shell_targets(k, e, 15, length=2.0)
    assert np.argmax(longer) < np.argmax(base)
    u, v, w, rep = isotropic.field_from_spectrum(k, e, 16, seed=1, velocity=0.5)
    assert rep["energy"] == pytest.approx(0.25 * isotropic.shell_targets(k, e, 7).sum(),
                                          rel=1e-12)
    with pytest.raises(ValueError, match="must be positive"):
        isotropic.shell_targets(k, e, 7, length=0)


def test_same_phases_on_a_coarse_and_a_fine_grid(table):
    """With the same seed and n_phases the 16^3 field is the 64^3 field's low modes (up to
    each grid's discrete projection)."""
    k, e = table
    fine = isotropic.field_from_spectrum(k, e, 64, seed=9, n_phases=64)[0]
    coarse = isotropic.field_from_spectrum(k, e, 16, seed=9, n_phases=64)[0]
    other = isotropic.field_from_spectrum(k, e, 16, seed=10, n_phases=64)[0]
    m = np.fft.fftfreq(16, 1 / 16).astype(int)
    idx = np.ix_(m % 64, m % 64, m % 64)
    low = np.abs(np.fft.fftn(fine)[idx]) / 64 ** 3
    same = np.abs(np.fft.fftn(coarse)) / 16 ** 3
    diff = np.abs(np.fft.fftn(other)) / 16 ** 3
    kmag = np.sqrt(m[:, None, None] ** 2 + m[None, :, None] ** 2 + m[None, None, :] ** 2)
    inner = (np.rint(kmag) >= 1) & (np.rint(kmag) <= 7)
    assert np.corrcoef(low[inner], same[inner])[0, 1] > 0.99
    assert np.corrcoef(low[inner], diff[inner])[0, 1] < 0.5


def test_solver_starts_from_the_field(table, tmp_path):
    k, e = table
    u, v, w, rep = isotropic.field_from_spectrum(k, e, 16, seed=2)
    ic = isotropic.write_initial_checkpoint(tmp_path / "ic.bin", u, v, w)
    cfg = {"domain": {"nx": 16, "ny": 16, "nz": 16}, "physics": {"nu": 0.01},
           "time": {"t_end": 1.0}, "output": {"restart_file": str(ic)}}
    with Solver(cfg, workdir=tmp_path) as s:
        assert s.diagnostics()["energy"] == pytest.approx(rep["energy"], rel=1e-12)
        assert np.array_equal(s.field("v"), v)
        s.step(3)
        assert s.diagnostics()["energy"] < rep["energy"]


def test_decaying_run_writes_spectra_at_requested_times(table, tmp_path):
    """Two ranks, stops at each requested time (restarts continue the run): the spectra at
    exactly those times hold the solver's energy, and the energy decays."""
    k, e = table
    u, v, w, _ = isotropic.field_from_spectrum(k, e, 16, seed=2)
    ic = isotropic.write_initial_checkpoint(tmp_path / "ic.bin", u, v, w)
    out = isotropic.decaying_run(ic, 16, 2, tmp_path / "run", (0.05, 0.1), nu=0.01,
                                 sgs={"model": "dynamic_smagorinsky"})
    d = out["diagnostics"]
    assert np.all(np.diff(d["time"]) > 0) and np.all(np.diff(d["energy"]) < 0)
    for t in ("0.05", "0.1"):
        spec = out["spectra"][t]
        assert spec["time"] == pytest.approx(float(t), abs=1e-12)
        i = int(np.argmin(np.abs(d["time"] - float(t))))
        # the shells inside the sphere k <= n/2 hold all but the corner modes' energy
        assert 0.999 * d["energy"][i] < sum(spec["E"]) <= d["energy"][i] * (1 + 1e-12)
        assert (tmp_path / "run" / f"spectrum_t{t}.txt").is_file()
    # the second segment restarted from the first one's end
    seg1 = read_diagnostics(tmp_path / "run" / "seg1" / "diagnostics.csv")
    assert seg1["time"][0] == pytest.approx(0.05, abs=1e-12)


def test_compare_cuts_at_the_les_wavenumber(table, tmp_path):
    k, e = table
    les_k = np.arange(17.0)
    les_e = np.concatenate([[0], isotropic.shell_targets(k, e, 15)[1:] * 0.9, [1e-3]])
    c = isotropic.compare(les_k, les_e, k, e)
    assert c["kmax"] == 15 and c["k"] == list(range(1, 16))
    assert np.allclose(c["ratio"], 0.9) and c["rel_l2"] == pytest.approx(0.1)
    # a reference given as a shell spectrum (0, 1, 2, ...) is compared shell by shell
    ref_e = np.linspace(1, 2, 40)
    c2 = isotropic.compare(les_k, np.interp(les_k, np.arange(40.0), ref_e), np.arange(40.0),
                           ref_e)
    assert c2["rel_l2"] == pytest.approx(0, abs=1e-14)


def test_cli_init_of_compare(tmp_path, capsys):
    ic, spec = tmp_path / "ic.bin", tmp_path / "s.txt"
    assert cli.main(["spectrum", "init", str(reference_spectrum()), "--n", "16", "--seed", "5",
                     "--out", str(ic)]) == 0
    assert cli.main(["spectrum", "of", str(ic), "--out", str(spec)]) == 0
    assert cli.main(["spectrum", "compare", str(spec), str(reference_spectrum()),
                     "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "cut at k = 7: relative L2 0.0000" in out


@pytest.mark.parametrize("text, message", [
    ("1 2 3\n4 5 6\n", "expected two columns"),
    ("1 2\n0.5 3\n", "increasing"),
    ("1 2\n2 -1\n", "non-negative"),
    ("a b\n", "not a table of numbers"),
])
def test_bad_tables_are_named(tmp_path, text, message):
    p = tmp_path / "t.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=message):
        isotropic.read_spectrum(p)
    assert cli.main(["spectrum", "init", str(p), "--n", "8", "--out", str(tmp_path / "x")]) == 2


@pytest.mark.slow
def test_iso_les_against_dns(tmp_path):
    """validate iso-les at 16^3 against a 64^3 DNS of the same field: every model stable, the
    dynamic model's spectrum closer to the DNS at the cut than no model's."""
    res = isotropic.validate_iso_les(16, 2, models=("none", "dynamic_smagorinsky"),
                                     workdir=tmp_path, times=(0.25, 0.5))
    m = res["models"]
    assert all(x["stable"] for x in m.values())
    assert m["dynamic_smagorinsky"]["spectrum_rel_l2_log"]["0.5"] \
        < m["none"]["spectrum_rel_l2_log"]["0.5"]
