"""Analyser: energy spectrum E(k) per snapshot, energy E(t) and dissipation eps(t), compared
live with the reference DNS when the case is the Taylor-Green vortex.

Per snapshot: E = 0.5 mean(u^2+v^2+w^2), the shell spectrum E(k) (spectra/spectrum_<step>.npz,
written at once), and eps_omega = nu * mean(|omega|^2) with the staggered vorticity (the
solver's eps_visc). Between successive snapshots: eps_dEdt = -(E2 - E1) / (t2 - t1) at the mid
time. With --tgv both are compared with the 512^3 spectral DNS (relative L2 misfit over the
times seen, reference interpolated linearly), and the comparison is logged as it goes.

Outputs in --out: spectra/*.npz, timeseries.json, dissipation.png, spectra.png, summary.json.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..snapshots import Snapshot
from . import base
from .fields import energy_spectrum, mean_vorticity_squared

log = logging.getLogger(__name__)


def relative_l2(values, ref_times, ref_values, times) -> float | None:
    """||values - ref(times)|| / ||ref(times)|| over the times inside the reference range."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    inside = (times >= ref_times[0]) & (times <= ref_times[-1])
    if not np.any(inside):
        return None
    ref = np.interp(times[inside], ref_times, ref_values)
    norm = np.linalg.norm(ref)
    return float(np.linalg.norm(values[inside] - ref) / norm) if norm > 0 else None


class Analyser(base.Consumer):
    name = "analyser"

    def __init__(self, out, prefix: str = "", *, nu: float = 1.0 / 1600, tgv: bool = False,
                 reference: str | Path | None = None, **kw):
        if not nu >= 0:
            raise ValueError(f"nu must be non-negative, got {nu}")
        super().__init__(out, prefix, **kw)
        self.nu = float(nu)
        self.reference = None
        if tgv or reference is not None:
            from ..io import read_reference
            from .._paths import reference_tgv
            path = Path(reference) if reference is not None else reference_tgv()
            if not path.is_file():
                raise ValueError(f"reference file not found: {path}")
            self.reference = read_reference(path)
        (self.out / "spectra").mkdir(exist_ok=True)
        self.steps: list[int] = []
        self.times: list[float] = []
        self.energy: list[float] = []
        self.eps_omega: list[float] = []
        self.spectra: list[tuple[np.ndarray, np.ndarray]] = []

    def process(self, s: Snapshot) -> None:
        u, v, w = s["u"], s["v"], s["w"]
        energy = s.kinetic_energy()
        eps = self.nu * mean_vorticity_squared(u, v, w, s.dx)
        k, spec = energy_spectrum(u, v, w, s.lengths)
        np.savez(self.out / "spectra" / f"spectrum_{s.step:08d}.npz", k=k, E=spec,
                 step=s.step, time=s.time, energy=energy)
        if self.times and s.time <= self.times[-1]:
            log.warning("analyser: step %d at t = %g is not after t = %g; eps from dE/dt skips it",
                        s.step, s.time, self.times[-1])
        self.steps.append(s.step)
        self.times.append(s.time)
        self.energy.append(energy)
        self.eps_omega.append(eps)
        self.spectra.append((k, spec))
        if self.reference is not None:
            ref = self.reference
            eref = float(np.interp(s.time, ref["time"], ref["dissipation"]))
            log.info("analyser: t = %.4g  E = %.6g  eps = %.5g  (DNS %.5g, %+.1f %%)", s.time,
                     energy, eps, eref, 100 * (eps - eref) / eref if eref else float("nan"))

    def dissipation_from_energy(self) -> tuple[np.ndarray, np.ndarray]:
        """(mid times, -dE/dt) between successive snapshots in time order."""
        t = np.asarray(self.times)
        e = np.asarray(self.energy)
        order = np.argsort(t, kind="stable")
        t, e = t[order], e[order]
        ok = np.diff(t) > 0
        return (0.5 * (t[1:] + t[:-1]))[ok], (-np.diff(e) / np.where(ok, np.diff(t), 1))[ok]

    def finish(self) -> dict:
        t_mid, eps_dedt = self.dissipation_from_energy()
        series = {"step": self.steps, "time": self.times, "energy": self.energy,
                  "eps_omega": self.eps_omega, "nu": self.nu,
                  "dEdt_time": t_mid.tolist(), "eps_dEdt": eps_dedt.tolist()}
        (self.out / "timeseries.json").write_text(json.dumps(series, indent=1))
        summary = {"nu": self.nu, "times": [min(self.times, default=None),
                                            max(self.times, default=None)]}
        if self.eps_omega:
            i = int(np.argmax(self.eps_omega))
            summary["peak_eps_omega"] = {"value": self.eps_omega[i], "time": self.times[i]}
        if self.reference is not None:
            ref = self.reference
            summary["reference"] = "tgv_re1600_spectral_512"
            summary["misfit_energy"] = relative_l2(self.energy, ref["time"], ref["energy"],
                                                   self.times)
            summary["misfit_eps_omega"] = relative_l2(self.eps_omega, ref["time"],
                                                      ref["dissipation"], self.times)
            summary["misfit_eps_dEdt"] = relative_l2(eps_dedt, ref["time"], ref["dissipation"],
                                                     t_mid)
            log.info("analyser: relative L2 misfit to the DNS: E %s, eps(omega) %s, eps(dE/dt) %s",
                     summary["misfit_energy"], summary["misfit_eps_omega"],
                     summary["misfit_eps_dEdt"])
        if self.times:
            self._plots(t_mid, eps_dedt)
        return summary

    def _plots(self, t_mid, eps_dedt) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        ref = self.reference
        if ref is not None:
            a1.plot(ref["time"], ref["energy"], "k-", lw=1, label="DNS 512³")
            a2.plot(ref["time"], ref["dissipation"], "k-", lw=1, label="DNS 512³")
        a1.plot(self.times, self.energy, "o-", ms=3, label="snapshots")
        a1.set_xlabel("t"); a1.set_ylabel("E"); a1.legend()
        a2.plot(self.times, self.eps_omega, "o-", ms=3, label=r"$\nu\langle|\omega|^2\rangle$")
        if len(t_mid):
            a2.plot(t_mid, eps_dedt, "s--", ms=3, label=r"$-dE/dt$")
        a2.set_xlabel("t"); a2.set_ylabel(r"$\varepsilon$"); a2.legend()
        fig.tight_layout()
        fig.savefig(self.out / "dissipation.png", dpi=100)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(5, 4))
        cmap = plt.get_cmap("viridis")
        nspec = len(self.spectra)
        for i, ((k, spec), t) in enumerate(zip(self.spectra, self.times)):
            ax.loglog(k[1:], np.maximum(spec[1:], 1e-300), color=cmap(i / max(1, nspec - 1)),
                      lw=1, label=f"t = {t:.3g}" if i in (0, nspec - 1) else None)
        top = max((float(np.max(spec)) for _, spec in self.spectra), default=1.0)
        if top > 0:
            ax.set_ylim(top * 1e-12, top * 3)   # round-off tails below 1e-12 are not shown
        ax.set_xlabel("k"); ax.set_ylabel("E(k)"); ax.legend()
        fig.tight_layout()
        fig.savefig(self.out / "spectra.png", dpi=100)
        plt.close(fig)


def _options(p) -> None:
    p.add_argument("--nu", type=float, default=1.0 / 1600,
                   help="kinematic viscosity for eps = nu <|omega|^2> (default: 1/1600)")
    p.add_argument("--tgv", action="store_true",
                   help="compare with the Taylor-Green Re=1600 reference DNS")
    p.add_argument("--reference", type=Path, default=None,
                   help="another reference file (.gdiag columns t, E, -dE/dt, enstrophy)")


def _build(args) -> Analyser:
    return Analyser(args.out, nu=args.nu, tgv=args.tgv, reference=args.reference,
                    **base.common_kwargs(args))


def run(out, prefix: str = "", **kw) -> dict:
    """Run the analyser until it is told to stop; returns its summary."""
    return Analyser(out, prefix, **kw).run()


def main(argv=None) -> int:
    return base.main_wrapper(_build, argv, name="analyser",
                             description=__doc__.split("\n\n")[0], add_options=_options)


if __name__ == "__main__":
    raise SystemExit(main())
