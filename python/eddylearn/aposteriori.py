"""A-posteriori stage of training a learned SGS model: after the a-priori fit, a few parameters
of a gate on the deployed model's output are chosen so that the LES run with the model (in the
database, as deployed) follows the energy history of the DNS that staged the training samples.

The gate scales the network's stress cell by cell, tau = max(0, theta0 + theta1 r) tau_NN, with
r a dimensionless local invariant of the filtered velocity gradient (GATE_INVARIANTS). It is
part of the TorchScript module the database runs (GatedSGS), so the LES sees nothing else than
a model. The search is a coarse grid over (theta0, theta1): each point a full LES, scored by the
relative L2 misfits of eps(t) = -dE/dt and E(t) against the training DNS's own diagnostics
(never against the reference DNS the validation scores with)."""
from __future__ import annotations

import io
import itertools
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .config import (A_POSTERIORI_FORMS, DEFAULT_GATE, DEFAULT_INVARIANT, DEFAULT_SCALES,
                     GATE_INVARIANTS)


class GatedSGS(nn.Module):
    """A scripted SGS model (n, 9) -> (n, 6) whose stresses are multiplied, row by row, by
    max(0, theta0 + theta1 r(x)), r the invariant `invariant` of the row's gradient
    x = du_a/dx_b (index 3 a + b). Computes the gate in single precision; keeps the inner
    model's input precision (computes_in)."""

    def __init__(self, inner: torch.jit.ScriptModule, theta0: float, theta1: float = 0.0,
                 invariant: str = DEFAULT_INVARIANT):
        super().__init__()
        check_gate(theta0, theta1, invariant)
        self.inner = inner
        self.register_buffer("theta", torch.tensor([float(theta0), float(theta1)]))
        self.invariant = GATE_INVARIANTS.index(invariant)
        self.computes_in = str(getattr(inner, "computes_in", "DOUBLE"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tau = self.inner(x)
        if bool(self.theta[1] == 0.0):     # a plain scale: no invariant to compute
            gate = torch.clamp(self.theta[0].expand(x.shape[0]), min=0.0)
        else:
            gate = torch.clamp(self.theta[0] + self.theta[1] * gate_invariant(x, self.invariant),
                               min=0.0)
        return tau * gate[:, None].to(tau.dtype)


def gate_invariant(x: torch.Tensor, invariant: int) -> torch.Tensor:
    """The invariant GATE_INVARIANTS[invariant] of each row's gradient (n, 9), in float32. Every
    invariant is scale-free, so each gradient is first divided by its magnitude sqrt(S:S + W:W)
    (in double precision): the powers of the WALE one then cannot overflow float32."""
    g = x.to(torch.float64).reshape(-1, 3, 3)
    mag = torch.sqrt((g * g).sum(dim=(1, 2)))     # |g|^2 = S:S + W:W
    g = (g / torch.where(mag > 0, mag, torch.ones_like(mag))[:, None, None]).to(torch.float32)
    s = 0.5 * (g + g.transpose(1, 2))
    w = 0.5 * (g - g.transpose(1, 2))
    ss = (s * s).sum(dim=(1, 2))
    ww = (w * w).sum(dim=(1, 2))
    tiny = 1e-30
    if invariant == 1:
        return ww / (ss + ww + tiny)
    if invariant == 2:
        om = torch.stack([g[:, 2, 1] - g[:, 1, 2], g[:, 0, 2] - g[:, 2, 0],
                          g[:, 1, 0] - g[:, 0, 1]], dim=1)
        sw = torch.bmm(s, om[:, :, None])[:, :, 0]
        return (om * sw).sum(dim=1) / ((om * om).sum(dim=1) * torch.sqrt(ss) + tiny)
    g2 = torch.bmm(g, g)
    tr = g2.diagonal(dim1=1, dim2=2).sum(dim=1)
    sd = 0.5 * (g2 + g2.transpose(1, 2))
    sd = sd - (tr / 3)[:, None, None] * torch.eye(3, dtype=g.dtype, device=g.device)[None]
    dd = (sd * sd).sum(dim=(1, 2))
    op = dd.pow(1.5) / (ss.pow(2.5) + dd.pow(1.25) + tiny)
    return op / torch.sqrt(ss + ww + tiny)


def check_gate(theta0: float, theta1: float, invariant: str) -> None:
    for name, val in (("theta0", theta0), ("theta1", theta1)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
            raise ValueError(f"the gate's {name} must be a finite number, got {val!r}")
    if invariant not in GATE_INVARIANTS:
        raise ValueError(f"unknown gate invariant {invariant!r} (known: "
                         f"{', '.join(GATE_INVARIANTS)})")


def gated_model_bytes(blob: bytes, theta0: float, theta1: float = 0.0,
                      invariant: str = DEFAULT_INVARIANT) -> bytes:
    """TorchScript bytes of the model `blob` (TorchScript bytes) behind the gate."""
    inner = torch.jit.load(io.BytesIO(blob), map_location="cpu")
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(GatedSGS(inner, theta0, theta1, invariant)), buf)
    return buf.getvalue()


def dns_history(diag: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The energy history of a DNS from its diagnostics, in the form tgv_metrics compares
    with: time, energy and -dE/dt, the latter from the energies of consecutive diagnostic rows
    placed at the middle of the interval (E(t) at the rows' times interpolated there)."""
    t, e = np.asarray(diag["time"], float), np.asarray(diag["energy"], float)
    if len(t) < 3 or np.any(np.diff(t) <= 0):
        raise ValueError("the DNS diagnostics need at least 3 rows at increasing times")
    tm = 0.5 * (t[1:] + t[:-1])
    return {"time": tm, "energy": np.interp(tm, t, e),
            "dissipation": -np.diff(e) / np.diff(t)}


def history_misfit(diag: dict[str, np.ndarray], history: dict[str, np.ndarray]) -> dict:
    """The search's objective: relative L2 misfits of eps(t) and E(t) of an LES run against a
    DNS history (dns_history) over the times both cover, and their sum."""
    from .validate import tgv_metrics
    m = tgv_metrics(diag, history)
    return {"rel_l2_dissipation": m["rel_l2_dissipation"], "rel_l2_energy": m["rel_l2_energy"],
            "objective": m["rel_l2_dissipation"] + m["rel_l2_energy"], "t_end": m["t_end"]}


def search_grid(form: str, theta0: tuple[float, ...] | None = None,
                theta1: tuple[float, ...] | None = None,
                invariant: str = DEFAULT_INVARIANT) -> list[tuple[float, float]]:
    """The (theta0, theta1) points of the search of `form` (A_POSTERIORI_FORMS) on the gate's
    invariant `invariant`; theta0 and theta1 are sequences of numbers (a single number is taken
    as a grid of one)."""
    if form not in A_POSTERIORI_FORMS:
        raise ValueError(f"unknown a-posteriori form {form!r} (known: "
                         f"{', '.join(A_POSTERIORI_FORMS)})")
    theta0, theta1 = _grid_axis(theta0, "theta0"), _grid_axis(theta1, "theta1")
    if form == "scale":
        if theta1:
            raise ValueError("the 'scale' form has no theta1 (use the 'gate' form)")
        t0 = tuple(theta0) if theta0 else DEFAULT_SCALES
        t1: tuple[float, ...] = (0.0,)
    else:
        t0 = tuple(theta0) if theta0 else DEFAULT_GATE[0]
        t1 = tuple(theta1) if theta1 else DEFAULT_GATE[1]
    points = list(itertools.product(t0, t1))
    for a, b in points:
        check_gate(a, b, invariant)
    if form == "scale" and any(a <= 0 for a, _ in points):
        raise ValueError(f"the output scales must be positive, got {', '.join(map(str, t0))}")
    return points


def _grid_axis(values, name: str) -> tuple | None:
    """One axis of the search's grid as a tuple: None stays None, a number is a grid of one."""
    if values is None:
        return None
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        return (values,)
    if isinstance(values, (str, bytes)):
        raise ValueError(f"the gate's {name} must be a number or a sequence of numbers, "
                         f"got {values!r}")
    try:
        return tuple(values)
    except TypeError:
        raise ValueError(f"the gate's {name} must be a number or a sequence of numbers, "
                         f"got {values!r}") from None


def _error_line(exc: BaseException) -> str:
    """What a failed point records: the exception's type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def _write_points(path: Path, points: list[dict]) -> None:
    """The records of the finished points, written whole (a temporary file, then renamed), so a
    crash leaves the previous complete file, never a cut one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(points, indent=1, default=float))
    os.replace(tmp, path)


def a_posteriori_search(run_les: Callable[[bytes, str], tuple[dict[str, np.ndarray],
                                                              dict[str, Any]]],
                        blob: bytes, history: dict[str, np.ndarray],
                        points: list[tuple[float, float]], invariant: str = DEFAULT_INVARIANT,
                        t_end: float | None = None, log=None,
                        record: Path | None = None) -> dict:
    """Run the LES once per (theta0, theta1) of points with the gated model and pick the point
    of the least objective (history_misfit). run_les(model bytes, label) runs the LES with the
    model in the database to t_end (default: the history's last time) and returns (diagnostics,
    database account); a run that stops before t_end, blows up or falls back to Smagorinsky in
    any stage is recorded but never chosen; so is a point whose run or misfit raises anything
    (its error: the exception's type and first line). With `record` (a JSON file), the records
    of the points finished so far are written there after each point. Returns the points with
    their misfits and the best one ("best": index)."""
    if t_end is None:
        t_end = float(history["time"][-1])
    out = []
    for k, (a, b) in enumerate(points):
        rec: dict = {"theta0": a, "theta1": b}
        gated = gated_model_bytes(blob, a, b, invariant)   # a bad gate is the caller's error
        try:
            diag, account = run_les(gated, f"p{k}")
            misfit = history_misfit(diag, history)
            stages = {"stages_database": int(account["stages_database"]),
                      "stages_fallback": int(account["stages_fallback"])}
        except Exception as exc:   # noqa: BLE001 - one bad point must not end the search
            rec.update(objective=math.inf, usable=False, error=_error_line(exc))
        else:
            rec.update(misfit)
            rec.update(stages)
            rec["usable"] = bool(np.all(np.isfinite(diag["energy"]))
                                 and rec["t_end"] >= t_end * (1 - 1e-9)
                                 and rec["stages_fallback"] == 0
                                 and rec["stages_database"] > 0)
            if not rec["usable"]:
                rec["objective"] = math.inf
        out.append(rec)
        if record is not None:
            _write_points(Path(record), out)
        if log:
            log.info("a-posteriori point %d/%d: theta = (%g, %g): objective %s", k + 1,
                     len(points), a, b, rec["objective"])
    usable = [k for k, r in enumerate(out) if r["usable"]]
    if not usable:
        raise RuntimeError("no point of the a-posteriori search ran to the end with every "
                           "stage answered by the database: " + "; ".join(
                               f"({r['theta0']}, {r['theta1']}): {r.get('error', 'unusable')}"
                               for r in out))
    best = min(usable, key=lambda k: out[k]["objective"])
    return {"invariant": invariant, "points": out, "best": best,
            "theta0": out[best]["theta0"], "theta1": out[best]["theta1"]}


def read_dns_history(dns_dir: Path) -> dict[str, np.ndarray]:
    """The training DNS's energy history from the diagnostics.csv it wrote in dns_dir."""
    from .io import read_diagnostics
    return dns_history(read_diagnostics(_dns_diagnostics(dns_dir)))


def _dns_diagnostics(dns_dir: Path) -> Path:
    path = Path(dns_dir) / "diagnostics.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"the a-posteriori stage needs the training DNS's diagnostics, {path}, which is "
            f"missing: run the DNS again in this workdir (remove the cached samples) or put "
            f"the diagnostics of the DNS that staged them there")
    return path


def _namelist_int(path: Path, group: str, key: str) -> int:
    """The integer `key` of the namelist group &`group` in the file at path (as write_namelist
    writes it, or by hand: case-insensitive, over several lines, comments after '!')."""
    text = re.sub(r"!.*", "", path.read_text(errors="replace"))
    m = re.search(rf"&{group}\b(.*?)/", text, re.IGNORECASE | re.DOTALL)
    v = m and re.search(rf"(?:^|[\s,]){key}\s*=\s*([+-]?\d+)\b", m.group(1), re.IGNORECASE)
    if not v:
        raise ValueError(f"cannot read &{group} {key} (an integer) from {path}")
    return int(v.group(1))


def training_dns_history(dns_dir: Path, dns_n: int, t_end: float) -> dict:
    """The energy history (dns_history) of the DNS in dns_dir, checked to be the one the
    training samples came from (its input.nml's &domain nx is dns_n: the folder is shared by
    every LES size and filter width, the samples are not) and to reach the LES's t_end (to
    within one diagnostics interval). Returns {"history", "path", "time_range"}: the times
    the search compares over."""
    from .io import read_diagnostics
    dns_dir = Path(dns_dir)
    path = _dns_diagnostics(dns_dir)
    nml_path = dns_dir / "input.nml"
    if not nml_path.is_file():
        raise FileNotFoundError(
            f"the a-posteriori stage cannot tell which DNS wrote {path}: its {nml_path} is "
            f"missing (the samples came from a {dns_n}^3 DNS)")
    nx = _namelist_int(nml_path, "domain", "nx")
    if nx != dns_n:
        raise ValueError(
            f"the DNS in {dns_dir} is {nx}^3 but the training samples came from a {dns_n}^3 "
            f"DNS: its diagnostics are not the history to follow; run the {dns_n}^3 DNS again "
            f"in this workdir (remove the cached samples) or use a workdir of its own")
    diag = read_diagnostics(path)
    history = dns_history(diag)
    t = np.asarray(diag["time"], float)
    if t[-1] + (t[-1] - t[-2]) < t_end * (1 - 1e-9):
        raise ValueError(
            f"the training DNS's history {path} ends at t = {t[-1]:g}, before the LES's "
            f"t_end = {t_end:g}: the a-posteriori stage would score the LES on part of its run "
            f"only; run the DNS to t_end again or ask for a shorter t_end")
    return {"history": history, "path": str(path),
            "time_range": [float(history["time"][0]), float(min(history["time"][-1], t_end))]}
