"""The experiment's report (report.json): outcome, timings, the solver's TGV comparison, the
trainers' a-priori results, the consumers' summaries."""
from __future__ import annotations

import json
from pathlib import Path

from ._paths import reference_tgv
from .config import CONSUMERS
from .io import read_diagnostics, read_reference
from .progress import _status


def _before_peak(m: dict) -> dict:
    """A run that ended before the reference's dissipation peak has no peak to compare: its
    peak errors (and E(10) past its end) are withheld and a note says why."""
    if m["t_end"] < m["ref_peak_time"]:
        m["ended_before_peak"] = True
        m["note"] = (f"the run ended at t = {m['t_end']:.2f}, before the reference's dissipation "
                     f"peak at t = {m['ref_peak_time']:.2f}: peak_dissipation and peak_time are "
                     f"those of the part that ran, not a peak; no peak errors are given")
        m["peak_dissipation_error"] = m["peak_time_error"] = None
    else:
        m["ended_before_peak"] = False
    if m["t_end"] < 10.0:
        m["E10"] = None
    return m


def build_report(cfg, out: Path, entities, exp, outcome: str, timings: dict,
                 removed: dict) -> dict:
    """report.json: outcome, timings, the solver's TGV comparison, trainer a-priori results,
    consumer summaries, retention counts."""
    report: dict = {"outcome": outcome, "timings": timings, "retention_removed": removed,
                    "status": {k: _status(exp, e).value for k, e in entities.items()}}
    diag_path = out / "solver" / "diagnostics.csv"
    if diag_path.exists():
        from .validate import plot_tgv, tgv_metrics
        diag = read_diagnostics(diag_path)
        last = {k: float(v[-1]) for k, v in diag.items() if k != "step"}
        report["solver"] = {"steps": int(diag["step"][-1]), **last}
        initial = str(cfg.solver.physics.get("initial", "tgv3d")).lower()
        if initial == "tgv3d" and len(diag["step"]) > 2:
            ref = read_reference(reference_tgv())
            report["solver"]["tgv"] = _before_peak(tgv_metrics(diag, ref))
            plot_tgv({"solver": diag}, ref, out / "dissipation.png",
                     "Taylor–Green vortex: solver during the experiment")
    les_diag = out / "les" / "diagnostics.csv"
    if cfg.les.enabled and les_diag.exists():
        from .validate import plot_tgv, tgv_metrics
        diag = read_diagnostics(les_diag)
        report["les"] = {"steps": int(diag["step"][-1]), "time": float(diag["time"][-1]),
                         "sgs": dict(cfg.les.sgs)}
        account = out / "les" / "sgs_model.json"
        if account.exists():
            report["les"]["database"] = json.loads(account.read_text())
        initial = str(cfg.les.physics.get("initial", "tgv3d")).lower()
        if initial == "tgv3d" and len(diag["step"]) > 2:
            ref = read_reference(reference_tgv())
            report["les"]["tgv"] = _before_peak(tgv_metrics(diag, ref))
            runs = {"LES": diag}
            if diag_path.exists():
                runs = {"solver": read_diagnostics(diag_path), "LES": diag}
            plot_tgv(runs, ref, out / "les_dissipation.png",
                     "Taylor–Green vortex: the LES with the learned model, during training")
    trainers = {}
    for t in cfg.trainer:
        path = out / "trainers" / t.name / f"{t.name}.json"
        if path.exists():
            res = json.loads(path.read_text())
            res.pop("history", None)
            trainers[t.name] = res
    report["trainers"] = trainers
    if len(trainers) == 1:
        only = next(iter(trainers.values()))
        if "apriori" in only:
            report["apriori"] = only["apriori"]
    elif trainers:
        report["trainer_comparison"] = {
            n: {"hidden": r.get("hidden"),
                "sgs_dissipation_corr": r.get("apriori", {}).get("learned", {}).get(
                    "sgs_dissipation_corr")} for n, r in trainers.items()}
        best = max(trainers.values(), key=lambda r: r.get("apriori", {}).get("learned", {})
                   .get("sgs_dissipation_corr", -1))
        if "apriori" in best:
            report["apriori"] = best["apriori"]
    for name in CONSUMERS:
        path = out / name / "summary.json"
        if path.exists():
            report[name] = json.loads(path.read_text())
    return report
