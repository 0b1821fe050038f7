"""Validation cases: 2D Taylor-Green decay (exact solution) and the 3D Taylor-Green vortex
at Re = 1600 against the 512^3 spectral DNS shipped in eddylearn/data."""
from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from . import solver as _solver
from ._paths import reference_tgv
from .config import SGS_ACTIVATION, SGS_HIDDEN
from .io import read_checkpoint, read_diagnostics, read_reference, write_namelist

log = logging.getLogger(__name__)

#: 2D Taylor-Green set-up: viscosity, end time and time step per grid spacing (fixed dt, so the
#: RK3 time error, O(dt^3), stays far below the O(dx^2) spatial error being measured).
TG2D_NU = 0.05
TG2D_T_END = 2.0
TG2D_DT_PER_DX = 0.1


def tg2d_exact(n: int, t: float, nu: float = TG2D_NU, nz: int = 2):
    """Exact u, v of the 2D Taylor-Green decay on the MAC faces of an n x n x nz grid."""
    h = 2 * math.pi / n
    xc = -math.pi + (np.arange(1, n + 1) - 0.5) * h
    xf = xc + h / 2
    decay = math.exp(-2 * nu * t)
    u = np.sin(xf)[:, None] * np.cos(xc)[None, :] * decay
    v = -np.cos(xc)[:, None] * np.sin(xf)[None, :] * decay
    return (np.repeat(u[:, :, None], nz, axis=2), np.repeat(v[:, :, None], nz, axis=2))


def validate_tg2d(ns=(16, 32, 64), nranks: int = 1, workdir: str | Path | None = None,
                  stream: bool = False) -> dict:
    """Order of accuracy of the velocity from 2D Taylor-Green decay on grids ns.

    Returns {"case", "ns", "errors" (relative L2 of u and v), "order" (fitted slope), ...}.
    """
    if len(ns) < 2:
        raise ValueError("tg2d needs at least two grids to fit an order")
    nz = max(2, nranks)
    results = []
    with tempfile.TemporaryDirectory(prefix="eddylearn-tg2d-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        for n in ns:
            if n % nranks:
                raise ValueError(f"grid n = {n} is not divisible by {nranks} ranks")
            run_dir = base / f"tg2d_{n}"
            run_dir.mkdir(parents=True, exist_ok=True)
            dt = TG2D_DT_PER_DX * 2 * math.pi / n
            nml = write_namelist(run_dir / "input.nml", {
                "domain": {"nx": n, "ny": n, "nz": nz},
                "physics": {"nu": TG2D_NU, "initial": "tg2d"},
                "time": {"t_end": TG2D_T_END, "dt": dt},
                "output": {"dir": str(run_dir), "diag_every": 10, "verbose": stream},
            })
            _solver.run(nml, nranks, stream=stream)
            chk = read_checkpoint(run_dir / "checkpoint.bin")
            ue, ve = tg2d_exact(n, chk.time, nz=nz)
            err = math.sqrt((np.sum((chk.u - ue) ** 2) + np.sum((chk.v - ve) ** 2))
                            / (np.sum(ue ** 2) + np.sum(ve ** 2)))
            results.append({"n": n, "time": chk.time, "error": err,
                            "w_max": float(np.abs(chk.w).max())})
            log.info("tg2d n=%d: relative L2 velocity error %.3e", n, err)
    logn = np.log([r["n"] for r in results])
    loge = np.log([r["error"] for r in results])
    slope = float(np.polyfit(logn, loge, 1)[0])
    return {"case": "tg2d", "nranks": nranks, "nu": TG2D_NU, "t_end": TG2D_T_END,
            "ns": [r["n"] for r in results], "errors": [r["error"] for r in results],
            "order": -slope, "runs": results}


def _central_dissipation(diag: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """-dE/dt per step, placed at the middle of each step."""
    t, dt, eps = diag["time"][1:], diag["dt"][1:], diag["eps_dedt"][1:]
    return t - dt / 2, eps


def tgv_metrics(diag: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict:
    """Compare a TGV run's E(t) and -dE/dt with the reference."""
    t_eps, eps = _central_dissipation(diag)
    i = int(np.argmax(eps))
    j = int(np.argmax(ref["dissipation"]))
    t_end = min(float(diag["time"][-1]), float(ref["time"][-1]))
    mask = ref["time"] <= t_end
    tr = ref["time"][mask]
    eps_i = np.interp(tr, t_eps, eps)
    e_i = np.interp(tr, diag["time"], diag["energy"])
    rel_eps = float(np.linalg.norm(eps_i - ref["dissipation"][mask])
                    / np.linalg.norm(ref["dissipation"][mask]))
    rel_e = float(np.linalg.norm(e_i - ref["energy"][mask]) / np.linalg.norm(ref["energy"][mask]))
    k = int(np.argmax(diag["eps_visc"] + diag["eps_sgs"]))
    return {
        "peak_dissipation": float(eps[i]), "peak_time": float(t_eps[i]),
        "ref_peak_dissipation": float(ref["dissipation"][j]),
        "ref_peak_time": float(ref["time"][j]),
        "peak_dissipation_error": float(eps[i] / ref["dissipation"][j] - 1),
        "peak_time_error": float(t_eps[i] - ref["time"][j]),
        "peak_dissipation_strain": float((diag["eps_visc"] + diag["eps_sgs"])[k]),
        "rel_l2_dissipation": rel_eps, "rel_l2_energy": rel_e,
        "E10": float(np.interp(10.0, diag["time"], diag["energy"])),
        "t_end": float(diag["time"][-1]), "steps": int(diag["step"][-1]),
    }


def plot_tgv(runs: dict[str, dict[str, np.ndarray]], ref: dict[str, np.ndarray],
             path: str | Path, title: str, extra_dissipation=None) -> Path:
    """eps(t) and E(t) of one or more runs against the reference, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(ref["time"], ref["dissipation"], "k-", lw=2, label="spectral DNS 512³")
    ax2.plot(ref["time"], ref["energy"], "k-", lw=2, label="spectral DNS 512³")
    if extra_dissipation is not None:
        t_x, eps_x, label_x = extra_dissipation
        ax1.plot(t_x, eps_x, "k:", marker="o", ms=3, lw=1.2, label=label_x)
    for label, diag in runs.items():
        t_eps, eps = _central_dissipation(diag)
        ax1.plot(t_eps, eps, "--", label=label)
        ax2.plot(diag["time"], diag["energy"], "--", label=label)
    ax1.set_xlabel("t"); ax1.set_ylabel("ε = −dE/dt"); ax1.set_title("dissipation rate")
    ax2.set_xlabel("t"); ax2.set_ylabel("E"); ax2.set_title("kinetic energy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3); ax.legend(fontsize=8); ax.set_xlim(0, 20)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def validate_tgv(n: int = 32, nranks: int = 2, workdir: str | Path | None = None,
                 t_end: float = 20.0, cfl: float = 0.5, sgs: str = "none",
                 plot: str | Path | None = None, stream: bool = False,
                 sgs_extra: dict | None = None) -> dict:
    """3D Taylor-Green vortex, Re = 1600, at n^3 against the 512^3 spectral DNS (sgs_extra:
    further &sgs keys, for example dynamic_average)."""
    ref = read_reference(reference_tgv())
    with tempfile.TemporaryDirectory(prefix="eddylearn-tgv-") as tmp:
        run_dir = Path(workdir) if workdir else Path(tmp)
        diag, _ = _run_tgv(n, nranks, sgs, run_dir, t_end, cfl, stream, sgs_extra=sgs_extra)
    result = {"case": "tgv", "n": n, "nranks": nranks, "sgs": sgs, "cfl": cfl,
              "sgs_extra": sgs_extra or {},
              **tgv_metrics(diag, ref)}
    if plot:
        result["plot"] = str(plot_tgv({f"eddylearn {n}³ ({sgs})": diag}, ref, plot,
                                      f"Taylor–Green vortex Re = 1600, {n}³"))
    return result


def write_json(result: dict, path: str | Path | None) -> None:
    if path:
        Path(path).write_text(json.dumps(result, indent=2) + "\n")


# ---- a posteriori LES with the learned SGS model -------------------------------------------

#: what validate tgv-les trains its model on when no --model is given: the DNS grid and
#: box-filter width (Delta = width * h_DNS = h_LES: 128^3 and 4 cells for a 32^3 LES), the steps
#: between staged sample sets, the optimiser (the online trainer's network and loss) and the
#: feature form: the exact filtered gradient, which scores best against the DNS's eps(t) (the
#: LES-stencil gradients follow the filtered DNS's budget more closely but drain the resolved
#: energy earlier; docs/validation.md, "What each change to the learned model did")
TGV_LES_TRAIN = {"n": 128, "width": 4, "every": 25, "steps": 6000, "batch": 1024, "lr": 1e-3,
                 "hidden": SGS_HIDDEN, "activation": SGS_ACTIVATION, "seed": 0, "features": "exact"}

#: the feature forms train_sgs_model knows: the exact filtered gradient the DNS stages, or the
#: gradient the LES's own stencil computes from the same filtered field (les_stencil_features)
TRAIN_FEATURES = ("exact", "les")


#: how many staged sample sets staged_tgv_sgs_samples reads back per request
SAMPLE_SETS_PER_READ = 4


def staged_tgv_sgs_samples(address: str, workdir: Path, n: int = TGV_LES_TRAIN["n"],
                           width: int = TGV_LES_TRAIN["width"],
                           every: int = TGV_LES_TRAIN["every"], nranks: int = 2,
                           stream: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Run the Re = 1600 TGV as an n^3 DNS on nranks ranks to t = 20, staging SGS samples
    (box filter over width^3 cells) every `every` steps to the database at address, and read
    them back in (step, rank) order: (features (N, 9), labels (N, 6), times (N,))."""
    from smartredis import Client

    workdir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(workdir / "input.nml", {
        "domain": {"nx": n, "ny": n, "nz": n},
        "physics": {"nu": 1 / 1600, "initial": "tgv3d"},
        "time": {"t_end": 20.0, "cfl": 0.5},
        "output": {"dir": str(workdir), "diag_every": 10, "checkpoint_at_end": False,
                   "verbose": stream},
        "staging": {"enabled": True, "sgs_every": every, "sgs_width": width,
                    "prefix": "dns."},
    })
    _solver.run(nml, nranks, stream=stream,
                env={"SSDB": address, "SR_DB_TYPE": "Standalone"})
    client = Client(address=address, cluster=False, logger_name="eddylearn-validate")
    sets = []
    # a few sets per request: the whole list of a 128^3 DNS box-filtered over 2 cells (98 sets
    # of 16 MB) in one reply outlasts the client's socket time-out
    total = client.get_list_length("dns.sgs_samples")
    for start in range(0, total, SAMPLE_SETS_PER_READ):
        for ds in client.get_dataset_list_range("dns.sgs_samples", start,
                                                start + SAMPLE_SETS_PER_READ - 1):
            step = int(np.array(ds.get_meta_scalars("step"))[0])
            rank = int(np.array(ds.get_meta_scalars("rank"))[0])
            time_ = float(np.array(ds.get_meta_scalars("time"))[0])
            sets.append((step, rank, time_,
                         np.asarray(ds.get_tensor("features"), dtype=np.float64),
                         np.asarray(ds.get_tensor("labels"), dtype=np.float64)))
    client.delete_list("dns.sgs_samples")
    if not sets:
        raise RuntimeError("the DNS staged no SGS samples")
    sets.sort(key=lambda x: (x[0], x[1]))   # the list's order depends on the ranks' timing
    return (np.concatenate([x[3] for x in sets]), np.concatenate([x[4] for x in sets]),
            np.concatenate([np.full(len(x[3]), x[2]) for x in sets]))


def les_stencil_features(features: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The staged filtered gradients as the LES computes them on its own grid.

    A DNS stages the exact gradient of the box-filtered field (the difference of face averages
    of the cube over Delta); an LES on the coarse grid computes the diagonal components the same
    way but the off-diagonal ones, du_a/dx_b, by central differences over two cells of its
    cell-centre velocity (the mean of the two a-faces), which damps the short waves. Per sample
    time the samples form the whole coarse field (the ranks' z-slabs in (step, rank) order, each
    in Fortran order), and each off-diagonal component is multiplied in Fourier space by the
    ratio of the two stencils' responses, sinc(k_b Delta) (k_a Delta / 2) / tan(k_a Delta / 2)
    (exact for the waves the coarse grid resolves; the box-filtered field's content beyond them
    is aliased as the grid sees it). Returns the (N, 9) gradients the LES would see."""
    out = np.array(features, dtype=np.float64, copy=True)
    for t in np.unique(times):
        m = times == t
        n = round(m.sum() ** (1 / 3))
        if n ** 3 != m.sum():
            raise ValueError(f"the samples at t = {t:g} are not a cubic coarse field "
                             f"({m.sum()} samples)")
        g = out[m].reshape(n, n, n, 9)                 # [z, y, x, component]
        kd = np.fft.fftfreq(n, 1 / n) * 2 * np.pi / n  # k Delta on the coarse grid
        axis_k = (kd[None, None, :], kd[None, :, None], kd[:, None, None])   # x, y, z
        for a in range(3):
            half = axis_k[a] / 2
            safe = np.where(half == 0, 1.0, half)
            along_a = np.where(half == 0, 1.0, safe * np.cos(safe) / np.sin(safe))
            for b in range(3):
                if a != b:
                    resp = np.sinc(axis_k[b] / np.pi) * along_a
                    g[..., 3 * a + b] = np.real(np.fft.ifftn(np.fft.fftn(g[..., 3 * a + b]) * resp))
        out[m] = g.reshape(-1, 9)
    return out


def filtered_dns_budget(features: np.ndarray, labels: np.ndarray, times: np.ndarray,
                        nu: float = 1 / 1600) -> dict:
    """What an LES with a perfect SGS model should dissipate, from filtered DNS samples: per
    sample time the filtered field's viscous dissipation 2 nu <S_ij S_ij> plus the SGS energy
    transfer <-tau_ij S_ij>, i.e. -dE/dt of the filtered energy (which exceeds the total
    energy's -dE/dt while energy moves into the subfilter scales)."""
    from . import sgs as sgs_scores
    out = {"time": [], "eps_resolved": [], "transfer": [], "dissipation": []}
    for t in np.unique(times):
        m = times == t
        s = sgs_scores.strain_rate(features[m])
        eps_f = float(2 * nu * np.mean(np.sum(s * s, axis=(1, 2))))
        pi = float(np.mean(sgs_scores.sgs_dissipation(labels[m], features[m])))
        for key, val in (("time", float(t)), ("eps_resolved", eps_f), ("transfer", pi),
                         ("dissipation", eps_f + pi)):
            out[key].append(val)
    return out


def train_sgs_model(path: str | Path, features: np.ndarray, labels: np.ndarray, delta: float,
                    steps: int = TGV_LES_TRAIN["steps"], seed: int = TGV_LES_TRAIN["seed"],
                    dissipation_weight: float = 0.0, times: np.ndarray | None = None,
                    feature_form: str = TGV_LES_TRAIN["features"],
                    hidden: tuple[int, ...] = TGV_LES_TRAIN["hidden"],
                    activation: str = TGV_LES_TRAIN["activation"]) -> dict:
    """Train the online trainer's SGS network (same network and normalisation) offline on
    the samples and save it as TorchScript at path. feature_form "les": the network learns from
    the gradients the LES's stencil computes from the filtered field (les_stencil_features,
    which needs the samples' times), what it will be given in the LES; "exact": from the staged
    exact filtered gradients. The loss is the mean squared error of the normalised stresses
    plus, with dissipation_weight > 0, that weight times the mean squared error over its
    variance of the energy the predicted stress drains through the strain of the features,
    against the filtered DNS's transfer Pi = -tau_ij S_ij of the exact filtered strain
    (sgs_dissipation_loss). Returns the a-priori scores of it and of the baselines on a
    held-out tenth of the samples (against the features it learned from)."""
    import torch

    from . import sgs as sgs_scores
    from .consumers.trainer import SGSNet, scripted_bytes

    if feature_form not in TRAIN_FEATURES:
        raise ValueError(f"unknown feature form {feature_form!r} (known: "
                         f"{', '.join(TRAIN_FEATURES)})")
    transfer = sgs_scores.sgs_dissipation(labels, features)
    if feature_form == "les":
        if times is None:
            raise ValueError("feature form 'les' needs the samples' times")
        features = les_stencil_features(features, times)
    f, lab = features, labels
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(f))
    nval = len(f) // 10
    val, tr = idx[:nval], idx[nval:]
    torch.manual_seed(seed)
    net = SGSNet(tuple(hidden), activation=activation)
    fm, fs = f[tr].mean(0), f[tr].std(0) + 1e-12
    lm, ls = lab[tr].mean(0), lab[tr].std(0) + 1e-12
    net.set_normalisation(fm, fs, lm, ls)
    x = torch.tensor((f[tr] - fm) / fs, dtype=torch.float32)
    y = torch.tensor((lab[tr] - lm) / ls, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=TGV_LES_TRAIN["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    diss = (sgs_dissipation_loss(f[tr], lab[tr], lm, ls, transfer=transfer[tr])
            if dissipation_weight > 0 else None)
    for k in range(steps):
        b = torch.randint(0, len(x), (TGV_LES_TRAIN["batch"],), generator=gen)
        pred = net.mlp(x[b])
        loss = torch.mean((pred - y[b]) ** 2)
        if diss is not None:
            loss = loss + dissipation_weight * diss(pred, b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if k % 2000 == 0:
            log.info("offline SGS training: step %d/%d, loss %.4f", k, steps, loss.item())
    with torch.no_grad():
        pred = net(torch.tensor(f[val], dtype=torch.float32)).double().numpy()
    Path(path).write_bytes(scripted_bytes(net))
    drain = sgs_scores.sgs_dissipation(pred, f[val])
    return {"samples": int(len(f)), "steps": steps, "delta": delta,
            "dissipation_weight": dissipation_weight, "feature_form": feature_form,
            "hidden": list(hidden), "activation": activation,
            # the mean energy the model drains through the LES's strain, over the true transfer
            "drain_over_transfer": float(np.mean(drain) / np.mean(transfer[val])),
            "drain_over_transfer_clipped": float(np.mean(np.maximum(drain, 0))
                                                 / np.mean(transfer[val])),
            "learned": sgs_scores.apriori_scores(pred, lab[val], f[val]),
            **sgs_scores.baseline_apriori(f[val], lab[val], delta)}


def sgs_dissipation_loss(features: np.ndarray, labels: np.ndarray, l_mean: np.ndarray,
                         l_std: np.ndarray, transfer: np.ndarray | None = None):
    """loss(pred, batch): the mean squared error of the SGS dissipation -tau_ij S_ij of the
    normalised predictions pred of the samples `batch` (indices), S the strain of features,
    against transfer (default: the labels' own -tau_ij S_ij), over the variance of transfer."""
    import torch

    from . import sgs as sgs_scores
    s = sgs_scores.strain_rate(features)
    s6 = np.stack([s[:, a, b] * (1 if a == b else 2) for a, b in sgs_scores.PAIRS], axis=1)
    pi = sgs_scores.sgs_dissipation(labels, features) if transfer is None else transfer
    s6_t = torch.tensor(s6, dtype=torch.float32)
    pi_t = torch.tensor(pi, dtype=torch.float32)
    lm_t = torch.tensor(l_mean, dtype=torch.float32)
    ls_t = torch.tensor(l_std, dtype=torch.float32)
    var = float(np.var(pi)) or 1.0

    def loss(pred, batch):
        tau = pred * ls_t + lm_t
        return torch.mean((-(tau * s6_t[batch]).sum(1) - pi_t[batch]) ** 2) / var
    return loss


def _run_tgv(n: int, nranks: int, sgs: str, run_dir: Path, t_end: float, cfl: float,
             stream: bool, env: dict | None = None, sgs_extra: dict | None = None):
    """The Re = 1600 TGV on n^3 with SGS model sgs in run_dir; (diagnostics, wall seconds)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n, "ny": n, "nz": n},
        "physics": {"nu": 1 / 1600, "initial": "tgv3d"},
        "time": {"t_end": t_end, "cfl": cfl},
        "sgs": {"model": sgs, **(sgs_extra or {})},
        "output": {"dir": str(run_dir), "diag_every": 1, "checkpoint_at_end": False,
                   "verbose": stream},
    })
    _solver.run(nml, nranks, stream=stream, env=env)
    diag = read_diagnostics(run_dir / "diagnostics.csv")
    wall = float(np.sum(diag["wall_step"][1:]))
    return diag, wall


#: the a-posteriori target: the learned model's misfit of eps(t) below the best baseline's by
#: at least this fraction (and its misfit of E(t) the lowest of all models)
TGV_LES_MARGIN = 0.20


def validate_tgv_les(n: int = 32, nranks: int = 2, sgs: str = "learned",
                     model: str | Path | None = None, workdir: str | Path | None = None,
                     t_end: float = 20.0, cfl: float = 0.5, plot: str | Path | None = None,
                     stream: bool = False, learned_options: dict | None = None,
                     models: tuple[str, ...] | None = None,
                     train_options: dict | None = None,
                     dns_width: int = TGV_LES_TRAIN["width"],
                     a_posteriori: dict | None = None) -> dict:
    """A posteriori test of SGS models: the Re = 1600 TGV as an n^3 LES with every SGS model of
    the solver (eddylearn._sgs_models.MODEL_NAMES, or those in `models`) against the 512^3
    spectral DNS. The learned model runs in the database (a private redis-server with the AI
    module); it is the TorchScript file `model` (for example a trainer's <name>.sgs_model.pt)
    or, without one, the trainer's network trained offline (train_sgs_model) on SGS samples
    that a (dns_width * n)^3 DNS stages to the same database with a box filter of dns_width
    cells (Delta = the LES grid spacing; 4 by default, 2 halves the DNS grid, which is what
    makes a 64^3 LES's samples affordable: a 128^3 DNS).

    learned_options: further &sgs keys of the learned run (for example clip_backscatter).
    train_options: further arguments of train_sgs_model (dissipation_weight, steps, seed,
    hidden).
    a_posteriori: the a-posteriori stage of training (eddylearn.aposteriori), {"form": "scale" or
    "gate", "theta0": values, "theta1": values, "invariant": name}: after the a-priori fit the
    LES runs with the gated model at each point of the grid, and the point whose LES follows the
    training DNS's own E(t) and -dE/dt best is deployed (for a model it trains, not a model
    file: the DNS's diagnostics, base/dns/diagnostics.csv, are the history it follows).
    With a workdir the staged samples are kept there and reused by a later run in it.
    Returns the metrics of `sgs` at the top level and of every model under "models" (named as
    in the namelist), the best baseline and the learned model's margin over it."""
    from ._sgs_models import MODEL_NAMES

    names = tuple(models) if models else MODEL_NAMES
    unknown = [m for m in (*names, sgs) if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown SGS model {unknown[0]!r} (known: {', '.join(MODEL_NAMES)})")
    if sgs not in names:
        raise ValueError(f"--sgs {sgs} is not among the models run ({', '.join(names)})")
    if model is not None and not Path(model).is_file():
        raise FileNotFoundError(f"model file not found: {model}")
    if isinstance(dns_width, bool) or not isinstance(dns_width, int) or dns_width < 2:
        raise ValueError(f"--dns-width (the DNS's box-filter width) must be an integer of at "
                         f"least 2 cells, got {dns_width!r}")
    if a_posteriori is not None:
        from .aposteriori import search_grid
        from .config import DEFAULT_INVARIANT
        if model is not None:
            raise ValueError("the a-posteriori stage tunes the model it trains: give no --model")
        if "learned" not in names:
            raise ValueError("the a-posteriori stage needs the learned model among the models run")
        unknown_keys = set(a_posteriori) - {"form", "theta0", "theta1", "invariant"}
        if unknown_keys:
            raise ValueError(f"unknown a-posteriori setting {sorted(unknown_keys)[0]!r}")
        a_posteriori = {"form": "scale", "invariant": DEFAULT_INVARIANT, **a_posteriori}
        a_posteriori["points"] = search_grid(a_posteriori["form"], a_posteriori.get("theta0"),
                                             a_posteriori.get("theta1"),
                                             a_posteriori["invariant"])
    ref = read_reference(reference_tgv())
    result: dict = {"case": "tgv-les", "n": n, "nranks": nranks, "sgs": sgs, "cfl": cfl}
    runs, metrics = {}, {}
    budget = None
    with tempfile.TemporaryDirectory(prefix="eddylearn-tgv-les-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name == "learned":
                continue
            diag, wall = _run_tgv(n, nranks, name, base / name, t_end, cfl, stream)
            runs[name] = diag
            metrics[name] = {**tgv_metrics(diag, ref), "wall_s": wall}
            account = base / name / "sgs_model.json"
            if account.is_file():
                metrics[name]["account"] = json.loads(account.read_text())
            log.info("tgv-les %s: rel L2 eps %.4f", name, metrics[name]["rel_l2_dissipation"])
        if "learned" in names:
            budget = _run_tgv_learned(n, nranks, model, base, t_end, cfl, stream,
                                      learned_options, ref, runs, metrics, result,
                                      workdir=workdir, train_options=train_options,
                                      dns_width=dns_width, a_posteriori=a_posteriori)
    if budget is not None:
        # a second reference: the filtered DNS's own energy budget at the sample times
        result["filtered_dns"] = budget
        tb, eb = np.array(budget["time"]), np.array(budget["dissipation"])
        for name, m in metrics.items():
            t_eps, eps = _central_dissipation(runs[name])
            m["rel_l2_dissipation_vs_filtered_dns"] = float(
                np.linalg.norm(np.interp(tb, t_eps, eps) - eb) / np.linalg.norm(eb))
    for name, m in metrics.items():
        m["stable"] = bool(m["t_end"] >= t_end * (1 - 1e-9)
                           and np.all(np.isfinite(runs[name]["energy"])))
    result.update(metrics[sgs])
    result["models"] = metrics
    baselines = [k for k in metrics if k != "learned"]
    if baselines:
        best = min(baselines, key=lambda k: metrics[k]["rel_l2_dissipation"])
        result["best_baseline"] = best
        result["best_baseline_energy"] = min(baselines,
                                             key=lambda k: metrics[k]["rel_l2_energy"])
    if "learned" in metrics:
        _learned_verdict(result, metrics, baselines)
    if plot:
        extra = None
        if budget is not None:
            extra = (budget["time"], budget["dissipation"],
                     f"filtered DNS {dns_width * n}³: ε_f + Π (what a perfect model gives)")
        result["plot"] = str(plot_tgv({f"{n}³ LES, {k}": runs[k] for k in runs}, ref, plot,
                                      f"Taylor–Green vortex Re = 1600: {n}³ LES a posteriori",
                                      extra_dissipation=extra))
    return result


def _learned_env(address: str) -> dict:
    """The environment of an LES whose learned model runs in the database at address; the
    solver ranks share the cores with the database: idle MPI ranks yield."""
    return {"SSDB": address, "SR_DB_TYPE": "Standalone", "OMPI_MCA_mpi_yield_when_idle": "1"}


def _run_tgv_learned(n, nranks, model, base, t_end, cfl, stream, learned_options, ref, runs,
                     metrics, result, workdir=None, train_options=None,
                     dns_width=TGV_LES_TRAIN["width"], a_posteriori=None):
    """The learned run of validate_tgv_les: a private database, the model (trained on staged
    DNS samples unless given, then, with a_posteriori, gated to follow the training DNS's energy
    history), the LES. Returns the filtered-DNS budget (None with a model file)."""
    from smartredis import Client

    from .database import LocalServer
    from .sgs_publish import publish_model

    budget = None
    db = LocalServer(threads=2)
    try:
        if model is None:
            model = base / "sgs_model.pt"
            t = {**TGV_LES_TRAIN, "n": dns_width * n, "width": dns_width}
            log.info("tgv-les: DNS %d^3 staging SGS samples (width %d) for the model",
                     t["n"], t["width"])
            cache = base / f"dns{t['n']}_w{t['width']}_samples.npz"
            if cache.is_file() and a_posteriori is not None:
                from .aposteriori import training_dns_history
                # missing, another DNS's or cut short: say so now, not after the training
                training_dns_history(base / "dns", t["n"], t_end)
            if cache.is_file():    # the samples an earlier run in this workdir staged
                with np.load(cache) as z:
                    f, lab, times = z["features"], z["labels"], z["times"]
                log.info("tgv-les: %d SGS samples from %s", len(f), cache)
            else:
                f, lab, times = staged_tgv_sgs_samples(db.address, base / "dns", n=t["n"],
                                                       width=t["width"], nranks=nranks,
                                                       stream=stream)
                if workdir:      # whole or not at all: a cut-short file is never reused
                    tmp = cache.with_name(cache.stem + ".tmp.npz")
                    np.savez(tmp, features=f, labels=lab, times=times)
                    os.replace(tmp, cache)
            budget = filtered_dns_budget(f, lab, times)
            result["training"] = {"dns_n": t["n"], "width": t["width"], **train_sgs_model(
                model, f, lab, delta=t["width"] * 2 * math.pi / t["n"], times=times,
                **(train_options or {}))}
            result["model_source"] = (f"trained offline on samples staged by a {t['n']}^3 "
                                      f"DNS (box filter of {t['width']} cells)")
        else:
            result["model_source"] = str(model)
        client = Client(address=db.address, cluster=False, logger_name="eddylearn-validate")
        version = 1
        if a_posteriori is not None:
            version = _a_posteriori_stage(client, db.address, n, nranks, Path(model), base,
                                          t_end, cfl, stream, learned_options, a_posteriori,
                                          result, dns_n=dns_width * n)
            result["model_source"] += (f", gated a posteriori: theta = "
                                       f"({result['a_posteriori']['theta0']:g}, "
                                       f"{result['a_posteriori']['theta1']:g})")
        publish_model(client, "sgs_model", Path(model).read_bytes(), version,
                      delta=2 * math.pi / n)
        env = _learned_env(db.address)
        diag, wall = _run_tgv(n, nranks, "learned", base / "learned", t_end, cfl, stream,
                              env=env, sgs_extra=learned_options)
    finally:
        db.close()
    runs["learned"] = diag
    account = json.loads((base / "learned" / "sgs_model.json").read_text())
    metrics["learned"] = {**tgv_metrics(diag, ref), "wall_s": wall, "database": account}
    if account["stages_fallback"] or not account["stages_database"]:
        # then the "learned" figures are partly or wholly Smagorinsky's: say so
        log.warning("tgv-les: the learned run used Smagorinsky in %d of %d stages (%s); its "
                    "figures are not the learned model's alone", account["stages_fallback"],
                    account["stages"], json.dumps(account))
    return budget


def _a_posteriori_stage(client, address, n, nranks, model: Path, base: Path, t_end, cfl, stream,
                        learned_options, a_posteriori: dict, result: dict, dns_n: int) -> int:
    """The a-posteriori stage of training: the LES with the gated model (through the database)
    at each point of the grid against the training DNS's own energy history (base/dns, a
    dns_n^3 DNS; each finished point is recorded in base/a_posteriori/points.json); the best
    gated model replaces `model` (the a-priori one is kept beside it as
    <stem>_apriori.pt). Returns the next model version to publish."""
    from .aposteriori import a_posteriori_search, gated_model_bytes, training_dns_history
    from .sgs_publish import publish_model

    dns = training_dns_history(base / "dns", dns_n, t_end)
    history = dns["history"]
    blob = model.read_bytes()
    model.with_name(model.stem + "_apriori.pt").write_bytes(blob)
    env = _learned_env(address)
    version = [1]

    def run_les(gated: bytes, label: str):
        publish_model(client, "sgs_model", gated, version[0], delta=2 * math.pi / n)
        version[0] += 1
        run_dir = base / "a_posteriori" / label
        diag, _ = _run_tgv(n, nranks, "learned", run_dir, t_end, cfl, stream, env=env,
                           sgs_extra=learned_options)
        return diag, json.loads((run_dir / "sgs_model.json").read_text())

    search = a_posteriori_search(run_les, blob, history, a_posteriori["points"],
                                 invariant=a_posteriori["invariant"], t_end=t_end, log=log,
                                 record=base / "a_posteriori" / "points.json")
    search["form"] = a_posteriori["form"]
    search["history_source"] = dns["path"]
    search["history_time_range"] = dns["time_range"]
    model.write_bytes(gated_model_bytes(blob, search["theta0"], search["theta1"],
                                        search["invariant"]))
    result["a_posteriori"] = search
    return version[0]


def _learned_verdict(result: dict, metrics: dict, baselines: list[str]) -> None:
    """The learned model against the baselines: the flags of the JSON."""
    learned = metrics["learned"]
    eps = learned["rel_l2_dissipation"]
    if "smagorinsky" in metrics:
        result["learned_beats_smagorinsky"] = bool(
            eps < metrics["smagorinsky"]["rel_l2_dissipation"])
        result["step_time_ratio_learned_vs_smagorinsky"] = float(
            learned["wall_s"] / learned["steps"]
            / (metrics["smagorinsky"]["wall_s"] / metrics["smagorinsky"]["steps"]))
    if "none" in metrics:
        result["learned_beats_none"] = bool(eps < metrics["none"]["rel_l2_dissipation"])
    result["learned_all_from_database"] = bool(
        learned["database"]["stages_fallback"] == 0 and learned["database"]["stages_database"] > 0)
    if baselines:
        best = metrics[result["best_baseline"]]["rel_l2_dissipation"]
        best_e = metrics[result["best_baseline_energy"]]["rel_l2_energy"]
        result["learned_margin_eps"] = float(1 - eps / best)
        result["learned_margin_energy"] = float(1 - learned["rel_l2_energy"] / best_e)
        result["target_margin"] = TGV_LES_MARGIN
        result["target_met"] = bool(
            result["learned_margin_eps"] >= TGV_LES_MARGIN and result["learned_margin_energy"] > 0
            and learned["stable"] and result["learned_all_from_database"])
