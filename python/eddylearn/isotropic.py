"""Isotropic turbulence from a given energy spectrum: the initial field, spectra of solver
fields, their comparison with a reference table, and decaying runs with spectra at requested
times.

The box is [-pi, pi)^3 (wavenumbers are integers). A spectrum table holds two columns, k and
E(k) (whitespace or comma separated, '#' comments), with E the energy density per unit k:
the kinetic energy 1/2 <u_i u_i> is the integral of E over k. Shell s of a discrete field is
the set of wavevectors m with round(|m|) = s; its energy is the sum of 1/2 |u_m|^2 there, so
the shells add up to the solver's `energy` diagnostic exactly.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .consumers.fields import energy_spectrum
from .io import read_checkpoint, write_checkpoint

#: shell energies of a generated field match the table to this relative tolerance (they are
#: set exactly; the tolerance covers round-off in the transforms)
SHELL_TOLERANCE = 1e-10


def read_spectrum(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A (k, E(k)) table: two columns, k increasing and positive, E non-negative."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"spectrum table not found: {path}")
    body = [ln.split("#", 1)[0] for ln in path.read_text().splitlines()]
    sep = "," if any("," in ln for ln in body) else None
    try:
        data = np.loadtxt(path, comments="#", delimiter=sep, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a table of numbers ({exc})") from None
    if data.shape[1] != 2 or len(data) < 2:
        raise ValueError(f"{path}: expected two columns k, E(k) and at least two rows, got "
                         f"shape {data.shape}")
    k, e = data[:, 0], data[:, 1]
    if not (np.all(np.isfinite(data)) and np.all(k >= 0) and np.all(np.diff(k) > 0)):
        raise ValueError(f"{path}: k must be finite, non-negative and increasing")
    if np.any(e < 0):
        raise ValueError(f"{path}: E(k) must be non-negative")
    return k, e


def write_spectrum(path: str | Path, k: np.ndarray, e: np.ndarray, header: str = "") -> Path:
    path = Path(path)
    np.savetxt(path, np.column_stack([k, e]), header=header or "k E(k)", fmt="%.10e")
    return path


def shell_targets(k_tab: np.ndarray, e_tab: np.ndarray, kmax: int, length: float = 1.0,
                  velocity: float = 1.0) -> np.ndarray:
    """Energy of shells 0..kmax from the table: the integral of the linearly interpolated E
    over [s - 1/2, s + 1/2] (zero outside the table). length and velocity are the table's units
    in box units: k_box = k / length, E_box = E velocity^2 length."""
    if length <= 0 or velocity <= 0:
        raise ValueError("the spectrum's length and velocity units must be positive")
    kb, eb = np.asarray(k_tab) / length, np.asarray(e_tab) * velocity ** 2 * length
    out = np.zeros(kmax + 1)
    for s in range(1, kmax + 1):
        q = np.linspace(s - 0.5, s + 0.5, 65)
        vals = np.interp(q, kb, eb, left=0.0, right=0.0)
        out[s] = float(np.sum(0.5 * (vals[1:] + vals[:-1]) * np.diff(q)))
    return out


def _wavenumbers(n: int):
    m = np.fft.fftfreq(n, 1.0 / n)
    return np.sqrt(m[:, None, None] ** 2 + m[None, :, None] ** 2 + m[None, None, :] ** 2), m


def spectrum(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shell energies (k = 0 .. n/2) of the face velocities of an n^3 field; they sum to
    1/2 <u^2 + v^2 + w^2> over the shells inside the sphere k <= n/2."""
    n = u.shape[0]
    if u.shape != (n, n, n) or v.shape != u.shape or w.shape != u.shape:
        raise ValueError(f"spectra need a cubic grid, got {u.shape}, {v.shape}, {w.shape}")
    # the analyser's shell spectrum in a 2 pi box (dk = 1), cut at the grid's Nyquist shell
    k, e = energy_spectrum(u, v, w, (2 * math.pi,) * 3)
    kmax = n // 2
    return k[:kmax + 1], e[:kmax + 1]


def checkpoint_spectrum(path: str | Path) -> tuple[np.ndarray, np.ndarray, float]:
    """(k, E(k), time) of a solver checkpoint."""
    c = read_checkpoint(path)
    k, e = spectrum(c.u, c.v, c.w)
    return k, e, c.time


def field_from_spectrum(k_tab, e_tab, n: int, seed: int = 1, n_phases: int | None = None,
                        length: float = 1.0, velocity: float = 1.0):
    """A random-phase, solenoidal velocity on the faces of an n^3 MAC grid whose discrete shell
    energies (shells 1 .. n/2 - 1) equal the table's (shell_targets) to SHELL_TOLERANCE.

    The random numbers are drawn on an n_phases^3 grid (default n) and the modes of the n^3
    grid are taken from it: the same seed and n_phases give the same field on every grid, cut
    at its own wavenumber (an LES and a finer DNS of the same initial field). Each component's
    Fourier modes are placed at its face positions, projected to zero discrete (MAC)
    divergence and rescaled shell by shell. Returns (u, v, w, report) with the target and
    achieved shell energies in report."""
    n_phases = n_phases or n
    if n < 4 or n % 2 or n_phases < n or n_phases % 2:
        raise ValueError(f"grid n = {n} must be even and >= 4, and n_phases = {n_phases} even "
                         "and >= n")
    kc = n // 2 - 1
    targets = shell_targets(k_tab, e_tab, kc, length, velocity)
    rng = np.random.default_rng(seed)
    big = [rng.standard_normal((n_phases,) * 3) + 1j * rng.standard_normal((n_phases,) * 3)
           for _ in range(3)]
    mb = np.fft.fftfreq(n_phases, 1.0 / n_phases).astype(int)
    m = np.fft.fftfreq(n, 1.0 / n).astype(int)
    idx = np.ix_(*(np.mod(m, n_phases),) * 3)     # the n-grid's modes inside the big grid
    assert np.array_equal(mb[np.mod(m, n_phases)], m)
    a = np.stack([b[idx] for b in big])
    kmag, _ = _wavenumbers(n)
    shell = np.rint(kmag).astype(int)
    kv = np.stack(np.meshgrid(m, m, m, indexing="ij")).astype(float)
    # continuous solenoidal projection: k . a = 0
    k2 = np.where(kmag > 0, kmag ** 2, 1.0)
    a = a - kv * np.sum(kv * a, axis=0) / k2
    a[:, (shell > kc) | (shell == 0)] = 0
    a[:, np.abs(kv).max(axis=0) >= n // 2] = 0
    # each component at its faces: u at x = -pi + h (array index 0), y, z at cell centres
    h = 2 * math.pi / n
    offs = [np.array([-math.pi + h, -math.pi + h / 2, -math.pi + h / 2]),
            np.array([-math.pi + h / 2, -math.pi + h, -math.pi + h / 2]),
            np.array([-math.pi + h / 2, -math.pi + h / 2, -math.pi + h])]
    for c in range(3):
        a[c] *= np.exp(1j * np.tensordot(offs[c], kv, axes=1))
    vel = [np.real(np.fft.ifftn(a[c])) for c in range(3)]
    # discrete projection on the MAC grid, then shell rescaling (keeps it solenoidal)
    f = np.stack([np.fft.fftn(x) for x in vel])
    kap = np.stack([(1 - np.exp(-1j * kv[j] * h)) / h for j in range(3)])
    kk = np.sum(np.abs(kap) ** 2, axis=0)
    div = np.sum(kap * f, axis=0)
    f = f - np.conj(kap) * div / np.where(kk > 0, kk, 1.0)
    e_modes = 0.5 * np.sum(np.abs(f) ** 2, axis=0) / float(n) ** 6
    got = np.bincount(shell.ravel(), weights=e_modes.ravel(), minlength=shell.max() + 1)
    scale = np.zeros_like(got)
    for s in range(1, kc + 1):
        if got[s] > 0:
            scale[s] = math.sqrt(targets[s] / got[s])
        elif targets[s] > 0:
            raise ValueError(f"shell {s} has no modes to carry the table's energy")
    f = f * scale[shell]
    u, v, w = (np.real(np.fft.ifftn(f[c])) for c in range(3))
    _, achieved = spectrum(u, v, w)
    err = np.abs(achieved[1:kc + 1] - targets[1:]) / np.maximum(targets[1:], 1e-300)
    err = np.where(targets[1:] > 0, err, np.abs(achieved[1:kc + 1]))
    if err.max() > SHELL_TOLERANCE:
        raise RuntimeError(f"shell energies miss the table by {err.max():.2e} (> "
                           f"{SHELL_TOLERANCE})")
    report = {"n": n, "seed": seed, "n_phases": n_phases, "kmax": kc,
              "energy": float(0.5 * np.mean(u * u + v * v + w * w)),
              "table_energy_to_kmax": float(targets.sum()),
              "shell_target": targets.tolist(), "shell_achieved": achieved[:kc + 1].tolist(),
              "max_rel_shell_error": float(err.max())}
    return u, v, w, report


def write_initial_checkpoint(path: str | Path, u: np.ndarray, v: np.ndarray,
                             w: np.ndarray) -> Path:
    """A solver checkpoint at step 0, t = 0 (p = 0) of the given face velocities: the
    solver's restart_file (any rank count)."""
    return write_checkpoint(path, u, v, w)


def compare(les_k: np.ndarray, les_e: np.ndarray, ref_k: np.ndarray, ref_e: np.ndarray,
            kmax: float | None = None) -> dict:
    """An LES spectrum beside a reference table, cut at the LES's wavenumber (its largest
    complete shell, n/2 - 1, unless kmax is given): per shell k the LES energy, the reference
    (the table's shell integral, shell_targets, or the reference's own shell energy when it is
    a spectrum of shells 0, 1, 2, ...) and their ratio, and the relative L2 difference."""
    les_k, les_e = np.asarray(les_k, float), np.asarray(les_e, float)
    cut = int(kmax if kmax is not None else les_k.max() - 1)
    shells = np.arange(1, cut + 1)
    ref_k, ref_e = np.asarray(ref_k, float), np.asarray(ref_e, float)
    if np.array_equal(ref_k[:len(ref_k)], np.arange(len(ref_k))) and len(ref_k) > cut:
        ref = ref_e[shells]                   # a spectrum of shells: compare shell by shell
    else:
        ref = shell_targets(ref_k, ref_e, cut)[1:]
    les = np.interp(shells, les_k, les_e)
    ratio = np.where(ref > 0, les / np.where(ref > 0, ref, 1), np.nan)
    return {"k": shells.tolist(), "les": les.tolist(), "reference": ref.tolist(),
            "ratio": ratio.tolist(), "kmax": cut,
            "rel_l2": float(np.linalg.norm(les - ref) / np.linalg.norm(ref)),
            "rel_l2_log": float(np.sqrt(np.mean(np.log(np.maximum(les, 1e-300)
                                                       / np.maximum(ref, 1e-300)) ** 2)))}


def decaying_run(ic: str | Path, n: int, nranks: int, workdir: str | Path, times, nu: float,
                 sgs: dict | None = None, cfl: float = 0.5, env: dict | None = None,
                 stream: bool = False) -> dict:
    """Decay from the checkpoint `ic`, stopping at each of `times` (restarts continue
    bit-identically): diagnostics of the whole run and the spectrum at every requested time,
    written as spectrum_t<time>.txt in workdir. Returns {"diagnostics", "spectra"}."""
    from . import solver as _solver
    from .io import read_diagnostics, write_namelist

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    times = sorted(float(t) for t in times)
    if not times or times[0] <= 0:
        raise ValueError("the spectrum times must be positive")
    restart, diags, spectra = str(ic), [], {}
    for i, t in enumerate(times):
        seg = workdir / f"seg{i}"
        seg.mkdir(exist_ok=True)
        nml = write_namelist(seg / "input.nml", {
            "domain": {"nx": n, "ny": n, "nz": n},
            "physics": {"nu": nu},
            "time": {"t_end": t, "cfl": cfl},
            "sgs": sgs or {"model": "none"},
            "output": {"dir": str(seg), "diag_every": 1, "restart_file": restart,
                       "checkpoint_at_end": True, "verbose": stream},
        })
        _solver.run(nml, nranks, stream=stream, env=env)
        d = read_diagnostics(seg / "diagnostics.csv")
        diags.append(d if not diags else {k: v[1:] for k, v in d.items()})
        restart = str(seg / "checkpoint.bin")
        k, e, tt = checkpoint_spectrum(restart)
        write_spectrum(workdir / f"spectrum_t{t:g}.txt", k, e, header=f"k E(k) at t = {tt:.6g}")
        spectra[f"{t:g}"] = {"time": tt, "k": k.tolist(), "E": e.tolist()}
    diag = {k: np.concatenate([d[k] for d in diags]) for k in diags[0]}
    (workdir / "spectra.json").write_text(json.dumps(spectra) + "\n")
    return {"diagnostics": diag, "spectra": spectra}


#: the decaying isotropic case of `eddylearn validate iso-les`: the shipped model spectrum, its
#: viscosity, the spectrum times, the DNS-to-LES grid ratio and the seed of the phases
ISO_LES = {"nu": 7.31e-3, "times": (0.25, 0.5, 0.75, 1.0), "ratio": 4, "seed": 7}


def validate_iso_les(n: int = 32, nranks: int = 2, models=("none", "dynamic_smagorinsky"),
                     model: str | Path | None = None, spectrum_table: str | Path | None = None,
                     workdir: str | Path | None = None, times=None, cfl: float = 0.5,
                     stream: bool = False) -> dict:
    """Decaying isotropic turbulence from a spectrum table (default: the shipped model
    spectrum): an n^3 LES with each of `models` and a (ratio n)^3 DNS of the same initial field
    (the same random phases, each grid cut at its own wavenumber). At each spectrum time the
    LES spectrum is compared with the DNS's cut at the LES's wavenumber (compare) and the LES
    energy with the filtered DNS energy (the DNS's shells up to that wavenumber). The learned
    model (`learned` in models) runs the TorchScript file `model` in a private database. With
    a workdir the DNS is kept there and reused by a later run in it (other models, say)."""
    import tempfile

    from ._paths import reference_spectrum
    from ._sgs_models import MODEL_NAMES

    for m in models:
        if m not in MODEL_NAMES:
            raise ValueError(f"unknown SGS model {m!r} (known: {', '.join(MODEL_NAMES)})")
    if "learned" in models and (model is None or not Path(model).is_file()):
        raise FileNotFoundError(f"the learned model needs a model file (--model), got {model}")
    table = Path(spectrum_table) if spectrum_table else reference_spectrum()
    k_tab, e_tab = read_spectrum(table)
    times = tuple(times or ISO_LES["times"])
    nd = ISO_LES["ratio"] * n
    result: dict = {"case": "iso-les", "n": n, "dns_n": nd, "nranks": nranks,
                    "spectrum_table": str(table), "nu": ISO_LES["nu"], "times": list(times),
                    "seed": ISO_LES["seed"], "models": {}}
    with tempfile.TemporaryDirectory(prefix="eddylearn-iso-les-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        ics = {}
        for grid in (n, nd):
            u, v, w, rep = field_from_spectrum(k_tab, e_tab, grid, seed=ISO_LES["seed"],
                                               n_phases=nd)
            ics[grid] = write_initial_checkpoint(base / f"ic{grid}.bin", u, v, w)
            result[f"initial_{grid}"] = {k: rep[k] for k in ("energy", "table_energy_to_kmax",
                                                             "max_rel_shell_error", "kmax")}
        kept = base / "dns" / "spectra.json"
        if workdir and kept.is_file() and set(json.loads(kept.read_text())) == {
                f"{t:g}" for t in times}:     # the DNS of an earlier run in this workdir
            dns = {"spectra": json.loads(kept.read_text())}
        else:
            dns = decaying_run(ics[nd], nd, nranks, base / "dns", times, ISO_LES["nu"],
                               cfl=cfl, stream=stream)
        kc = n // 2 - 1
        filt = {t: float(np.sum(np.asarray(s["E"])[1:kc + 1])) for t, s in dns["spectra"].items()}
        result["dns"] = {"energy_filtered": filt,
                         "energy": {t: float(np.sum(s["E"])) for t, s in dns["spectra"].items()},
                         "spectra": dns["spectra"]}
        for name in models:
            env, db = None, None
            if name == "learned":
                env, db = _learned_database(model, n)
            try:
                les = decaying_run(ics[n], n, nranks, base / name, times, ISO_LES["nu"],
                                   sgs={"model": name}, cfl=cfl, env=env, stream=stream)
            finally:
                if db is not None:
                    db.close()
            d = les["diagnostics"]
            e_les = {t: float(np.sum(s["E"])) for t, s in les["spectra"].items()}
            spec = {t: compare(s["k"], s["E"], dns["spectra"][t]["k"], dns["spectra"][t]["E"],
                               kmax=kc) for t, s in les["spectra"].items()}
            ef = np.array([filt[t] for t in e_les])
            el = np.array(list(e_les.values()))
            result["models"][name] = {
                "energy": e_les,
                "rel_l2_energy_vs_filtered_dns": float(np.linalg.norm(el - ef)
                                                       / np.linalg.norm(ef)),
                "spectrum_rel_l2_log": {t: c["rel_l2_log"] for t, c in spec.items()},
                "spectrum_ratio_at_kc": {t: c["ratio"][-1] for t, c in spec.items()},
                "spectra": les["spectra"], "comparison": spec,
                "stable": bool(np.all(np.isfinite(d["energy"]))
                               and d["time"][-1] >= times[-1] * (1 - 1e-9)),
                "steps": int(d["step"][-1]),
            }
            acc = base / name / f"seg{len(times) - 1}" / "sgs_model.json"
            if acc.is_file():
                result["models"][name]["account"] = json.loads(acc.read_text())
    return result


def _learned_database(model: str | Path, n: int):
    """A private database holding the learned model as version 1: (solver env, server)."""
    from smartredis import Client

    from .database import LocalServer
    from .sgs_publish import publish_model

    db = LocalServer(threads=2)
    try:
        client = Client(address=db.address, cluster=False, logger_name="eddylearn-validate")
        publish_model(client, "sgs_model", Path(model).read_bytes(), 1, delta=2 * math.pi / n)
    except BaseException:
        db.close()
        raise
    return {"SSDB": db.address, "SR_DB_TYPE": "Standalone",
            "OMPI_MCA_mpi_yield_when_idle": "1"}, db
