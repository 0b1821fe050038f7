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
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

#: the local invariants the gate knows, each dimensionless and in [0, 1]:
#: "wale": the WALE operator over the gradient's magnitude,
#:   (Sd:Sd)^(3/2) / ((S:S)^(5/2) + (Sd:Sd)^(5/4)) / sqrt(S:S + W:W) (0 in pure shear);
#: "rotation": W:W / (S:S + W:W) (0 in pure strain, 1/2 in pure shear, 1 in pure rotation);
#: "stretching": the vortex-stretching rate over its scale, w.S.w / (|w|^2 sqrt(S:S)), w the
#:   vorticity (between -sqrt(2/3) and sqrt(2/3); 0 in pure shear and in two-dimensional flow)
GATE_INVARIANTS = ("wale", "rotation", "stretching")

#: the forms of the a-posteriori stage: one output scale theta0, or the gate theta0 + theta1 r
A_POSTERIORI_FORMS = ("scale", "gate")

#: the default grids of the search (the plain model is theta0 = 1, theta1 = 0). The gate's, on
#: the stretching invariant, drains where the stretching rate is below theta0 / |theta1|
#: (0.125-0.5), the cut-offs at which, on the TGV's training samples, the network's drain through
#: the LES's strain over what the DNS's energy loss asks of it varies least in time, at levels
#: theta0 of 1 and 2 (docs/validation.md, "What each change to the learned model did")
DEFAULT_SCALES = (0.5, 1.0, 1.5, 2.0)
DEFAULT_GATE = ((1.0, 2.0), (-4.0, -8.0))
DEFAULT_INVARIANT = "stretching"


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
        gate = torch.clamp(self.theta[0] + self.theta[1] * gate_invariant(x, self.invariant),
                           min=0.0)
        return tau * gate[:, None].to(tau.dtype)


def gate_invariant(x: torch.Tensor, invariant: int) -> torch.Tensor:
    """The invariant GATE_INVARIANTS[invariant] of each row's gradient (n, 9), in float32."""
    g = x.to(torch.float32).reshape(-1, 3, 3)
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
                theta1: tuple[float, ...] | None = None) -> list[tuple[float, float]]:
    """The (theta0, theta1) points of the search of `form` (A_POSTERIORI_FORMS)."""
    if form not in A_POSTERIORI_FORMS:
        raise ValueError(f"unknown a-posteriori form {form!r} (known: "
                         f"{', '.join(A_POSTERIORI_FORMS)})")
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
        check_gate(a, b, DEFAULT_INVARIANT)
    if form == "scale" and any(a <= 0 for a, _ in points):
        raise ValueError(f"the output scales must be positive, got {', '.join(map(str, t0))}")
    return points


def a_posteriori_search(run_les: Callable[[bytes, str], dict], blob: bytes,
                        history: dict[str, np.ndarray], points: list[tuple[float, float]],
                        invariant: str = DEFAULT_INVARIANT, t_end: float | None = None,
                        log=None) -> dict:
    """Run the LES once per (theta0, theta1) of points with the gated model and pick the point
    of the least objective (history_misfit). run_les(model bytes, label) runs the LES with the
    model in the database to t_end (default: the history's last time) and returns (diagnostics,
    database account); a run that stops before t_end, blows up or falls back to Smagorinsky in
    any stage is recorded but never chosen. Returns the points with their misfits and the best
    one ("best": index)."""
    if t_end is None:
        t_end = float(history["time"][-1])
    from .solver import SolverError
    out = []
    for k, (a, b) in enumerate(points):
        rec: dict = {"theta0": a, "theta1": b}
        try:
            diag, account = run_les(gated_model_bytes(blob, a, b, invariant), f"p{k}")
        except SolverError as exc:
            rec.update(objective=math.inf, usable=False, error=str(exc).splitlines()[0][:200])
        else:
            rec.update(history_misfit(diag, history))
            rec["stages_database"] = int(account["stages_database"])
            rec["stages_fallback"] = int(account["stages_fallback"])
            rec["usable"] = bool(np.all(np.isfinite(diag["energy"]))
                                 and rec["t_end"] >= t_end * (1 - 1e-9)
                                 and rec["stages_fallback"] == 0
                                 and rec["stages_database"] > 0)
            if not rec["usable"]:
                rec["objective"] = math.inf
        out.append(rec)
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
    path = Path(dns_dir) / "diagnostics.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"the a-posteriori stage needs the training DNS's diagnostics, {path}, which is "
            f"missing: run the DNS again in this workdir (remove the cached samples) or put "
            f"the diagnostics of the DNS that staged them there")
    return dns_history(read_diagnostics(path))
