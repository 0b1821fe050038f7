"""The eddylearn command line: one entry point, one subcommand per task.

  eddylearn run CONFIG [--out DIR]            an online-learning experiment through SmartSim
  eddylearn solve CONFIG [--np N]             the solver alone, under its MPI launcher
  eddylearn validate CASE ... [--json FILE]   validation against exact or reference data
  eddylearn bench WHAT ... [--json FILE]      benchmarks, each figure next to its baseline
  eddylearn db start|stop|status ...          a database per address, outside an experiment
  eddylearn spectrum init|of|compare ...      isotropic turbulence from a spectrum; spectra
  eddylearn smartsim setup|check              SmartSim set up to launch eddylearn's database
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
from pathlib import Path

from . import __version__
from ._sgs_models import MODEL_NAMES
from .config import (A_POSTERIORI_FORMS, DEFAULT_GATE, DEFAULT_INVARIANT, DEFAULT_SCALES,
                     GATE_INVARIANTS, SGS_ACTIVATION, SGS_ACTIVATIONS, SGS_HIDDEN)

log = logging.getLogger("eddylearn")

#: acceptance targets of the validation cases (docs/validation.md)
TG2D_ORDER = (1.9, 2.1)


def _hidden_widths(text: str, option: str) -> tuple[int, ...]:
    """Hidden layer widths from "32,32"; a clear error for anything else."""
    try:
        widths = tuple(int(x) for x in text.split(","))
    except ValueError:
        widths = ()
    if not widths or any(h < 1 for h in widths):
        raise ValueError(f"{option} must be positive integers separated by commas, got {text!r}")
    return widths


def _network_size(text: str, option: str,
                  default: str = SGS_ACTIVATION) -> tuple[tuple[int, ...], str]:
    """A network of the cost table from "32,32" or "32,32:relu": hidden widths and activation
    (without one, `default`); a clear error for anything else."""
    widths, colon, activation = text.partition(":")
    if colon and not activation:
        raise ValueError(f"{option}: no activation after ':' in {text!r}")
    if not widths:
        raise ValueError(f"{option}: no hidden widths before ':' in {text!r}")
    activation = activation or default
    if activation not in SGS_ACTIVATIONS:
        raise ValueError(f"{option}: unknown activation {activation!r} in {text!r} (known: "
                         f"{', '.join(SGS_ACTIVATIONS)})")
    return _hidden_widths(widths, option), activation


def _commas(values) -> str:
    """Numbers as the command line takes them: "0.5,1,1.5,2"."""
    return ",".join(f"{x:g}" for x in values)


def _float_list(text: str, option: str) -> tuple[float, ...]:
    """Numbers from "0.5,1,2"; a clear error for anything else."""
    try:
        vals = tuple(float(x) for x in text.split(","))
    except ValueError:
        vals = ()
    if not vals or not all(math.isfinite(x) for x in vals):
        raise ValueError(f"{option} must be finite numbers separated by commas, got {text!r}")
    return vals


def tgv_targets(n: int) -> tuple[float, float]:
    """(relative peak-dissipation tolerance, peak-time tolerance) a 2nd-order code can claim."""
    return (0.10, 0.7) if n >= 64 else (0.35, 2.0)


def _cmd_solve(args) -> int:
    from .solver import run
    run(args.config, args.np, stream=not args.quiet)
    return 0


def _cmd_validate(args) -> int:
    from . import validate as v
    if args.case == "tg2d":
        ns = tuple(int(x) for x in (args.n or "16,32,64").split(","))
        res = v.validate_tg2d(ns, args.np, workdir=args.workdir, stream=args.verbose)
        lo, hi = TG2D_ORDER
        res["target_order"] = [lo, hi]
        res["passed"] = bool(lo <= res["order"] <= hi)
        for n, e in zip(res["ns"], res["errors"]):
            print(f"  n = {n:4d}   relative L2 velocity error {e:.4e}")
        print(f"tg2d on {args.np} rank(s): order {res['order']:.3f} "
              f"(target {lo}..{hi}) -> {'PASS' if res['passed'] else 'FAIL'}")
    elif args.case == "tgv-les":
        return _validate_tgv_les(args, v)
    elif args.case == "iso-les":
        return _validate_iso_les(args)
    else:
        n = int(args.n or 32)
        args.sgs = "none" if args.sgs == "default" else args.sgs
        if args.sgs == "learned":
            raise SystemExit("eddylearn validate tgv: the learned model needs a database; use "
                             "eddylearn validate tgv-les")
        plot = args.plot or (Path(args.json).with_suffix(".png") if args.json else None)
        extra = {"dynamic_average": args.dynamic_average} if args.dynamic_average else None
        res = v.validate_tgv(n, args.np, workdir=args.workdir, cfl=args.cfl, sgs=args.sgs,
                             plot=plot, stream=args.verbose, sgs_extra=extra)
        tol_peak, tol_time = tgv_targets(n)
        res["target_peak_rel"], res["target_peak_time"] = tol_peak, tol_time
        res["passed"] = bool(abs(res["peak_dissipation_error"]) <= tol_peak
                             and abs(res["peak_time_error"]) <= tol_time)
        print(f"tgv {n}^3 on {args.np} rank(s), sgs={args.sgs}:")
        print(f"  peak dissipation {res['peak_dissipation']:.5e} at t = {res['peak_time']:.3f}"
              f"   reference {res['ref_peak_dissipation']:.5e} at t = {res['ref_peak_time']:.2f}")
        print(f"  peak error {100 * res['peak_dissipation_error']:+.1f} % (target ±"
              f"{100 * tol_peak:.0f} %), time error {res['peak_time_error']:+.2f} "
              f"(target ±{tol_time})")
        print(f"  relative L2 misfit of eps(t) {res['rel_l2_dissipation']:.4f}, "
              f"of E(t) {res['rel_l2_energy']:.4f}; E(10) = {res['E10']:.5f}")
        if plot:
            print(f"  plot: {plot}")
        print("  -> " + ("PASS" if res["passed"] else "FAIL"))
    v.write_json(res, args.json)
    return 0 if res["passed"] else 1


def _validate_tgv_les(args, v) -> int:
    n = int(args.n or 32)
    models = tuple(m.strip() for m in args.models.split(",")) if args.models else None
    sgs = args.sgs if args.sgs != "default" else ("learned" if not models or "learned" in models
                                                  else models[0])
    plot = args.plot or (Path(args.json).with_suffix(".png") if args.json else None)
    opts = {"infer_every": args.infer_every} if args.infer_every else None
    train = {"dissipation_weight": args.dissipation_weight} if args.dissipation_weight else {}
    if args.train_features:
        train["feature_form"] = args.train_features
    if args.hidden:
        train["hidden"] = _hidden_widths(args.hidden, "--hidden")
    if args.activation:
        train["activation"] = args.activation
    if args.model and (args.hidden or args.activation):
        raise ValueError("--model and --hidden/--activation exclude each other (a model file "
                         "has its network)")
    if args.seed is not None:
        if args.seed < 0:
            raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
        train["seed"] = args.seed
    post = None
    if args.gate_invariant is not None and args.a_posteriori != "gate":
        raise ValueError("--gate-invariant is the invariant of --a-posteriori gate: "
                         + ("the 'scale' form has none" if args.a_posteriori
                            else "give --a-posteriori gate too"))
    if args.a_posteriori:
        post = {"form": args.a_posteriori}
        if args.gate_invariant:
            post["invariant"] = args.gate_invariant
        for key in ("theta0", "theta1"):
            if getattr(args, key):
                post[key] = _float_list(getattr(args, key), "--" + key)
    elif args.theta0 or args.theta1:
        raise ValueError("--theta0 and --theta1 are the grid of --a-posteriori: give it too")
    res = v.validate_tgv_les(n, args.np, sgs=sgs, model=args.model, workdir=args.workdir,
                             cfl=args.cfl, plot=plot, stream=args.verbose,
                             learned_options=opts, models=models, train_options=train or None,
                             dns_width=args.dns_width, a_posteriori=post)
    print(f"tgv-les {n}^3 LES on {args.np} rank(s), a posteriori against the 512^3 DNS"
          + (f" (model: {res['model_source']})" if "model_source" in res else ""))
    filt = "filtered_dns" in res
    print(f"  {'SGS model':20s} {'L2 eps(t)':>10s} {'L2 E(t)':>9s} {'peak eps':>11s} "
          f"{'peak t':>7s} {'s/step':>9s}  stable" + ("  L2 eps vs filtered DNS" if filt else ""))
    for name, m in res["models"].items():
        print(f"  {name:20s} {m['rel_l2_dissipation']:10.4f} {m['rel_l2_energy']:9.4f} "
              f"{m['peak_dissipation']:11.4e} {m['peak_time']:7.2f} "
              f"{m['wall_s'] / max(m['steps'], 1):9.2e}  {str(m['stable']):6s}"
              + (f"  {m['rel_l2_dissipation_vs_filtered_dns']:.4f}" if filt else ""))
    if "best_baseline" in res:
        print(f"  best baseline on eps(t): {res['best_baseline']}; on E(t): "
              f"{res['best_baseline_energy']}")
    if "learned" not in res["models"]:
        res["passed"] = all(m["stable"] for m in res["models"].values())
        print("  all models stable to t = 20 -> " + ("PASS" if res["passed"] else "FAIL"))
        v.write_json(res, args.json)
        return 0 if res["passed"] else 1
    if "a_posteriori" in res:
        post = res["a_posteriori"]
        form = (post["form"] if post["form"] == "scale"
                else f"gate, invariant {post['invariant']}")
        print(f"  a-posteriori stage ({form}), against the training DNS's history: "
              f"theta0 theta1  L2 eps(t)  L2 E(t)")
        for k, p in enumerate(post["points"]):
            figs = (f"{p['rel_l2_dissipation']:9.4f} {p['rel_l2_energy']:8.4f}"
                    if "rel_l2_dissipation" in p else "   " + p.get("error", "unusable"))
            print(f"    {p['theta0']:8g} {p['theta1']:6g} {figs}"
                  + ("  <- deployed" if k == post["best"] else "")
                  + ("" if p["usable"] else "  (not usable)"))
    acc = res["models"]["learned"]["database"]
    print(f"  learned: {acc['stages_database']} stages answered by the database, "
          f"{acc['stages_fallback']} Smagorinsky fallbacks, {acc['stages_reused']} reused")
    if "target_met" in res:
        res["passed"] = res["target_met"]
        print(f"  learned margin over the best baseline: eps(t) "
              f"{100 * res['learned_margin_eps']:+.1f} %, E(t) "
              f"{100 * res['learned_margin_energy']:+.1f} %")
        print(f"  target: learned misfit of eps(t) at least {100 * res['target_margin']:.0f} % "
              "below the best baseline's, of E(t) the lowest, stable to t = 20, every stage from the "
              "database -> " + ("PASS" if res["passed"] else "FAIL"))
    else:
        res["passed"] = bool(res["models"]["learned"]["stable"] and acc["stages_fallback"] == 0)
        print("  learned stable, every stage from the database -> "
              + ("PASS" if res["passed"] else "FAIL"))
    if plot:
        print(f"  plot: {plot}")
    v.write_json(res, args.json)
    return 0 if res["passed"] else 1


def _validate_iso_les(args) -> int:
    from . import isotropic
    from .validate import write_json
    n = int(args.n or 32)
    models = (tuple(m.strip() for m in args.models.split(",")) if args.models
              else tuple(m for m in MODEL_NAMES if m != "learned")
              + (("learned",) if args.model else ()))
    res = isotropic.validate_iso_les(n, args.np, models=models, model=args.model,
                                     spectrum_table=args.spectrum, workdir=args.workdir,
                                     cfl=args.cfl, stream=args.verbose)
    times = [f"{t:g}" for t in res["times"]]
    print(f"iso-les: decaying isotropic turbulence from {res['spectrum_table']}, {n}^3 LES "
          f"against a {res['dns_n']}^3 DNS of the same initial field, {args.np} rank(s)")
    print("  energy: " + "  ".join(f"t={t}: DNS {res['dns']['energy'][t]:.4f} filtered "
                                   f"{res['dns']['energy_filtered'][t]:.4f}" for t in times))
    print(f"  {'SGS model':20s} {'L2 E vs filtered DNS':>21s}  "
          + " ".join(f"{'spec t=' + t:>11s}" for t in times) + "  stable")
    for name, m in res["models"].items():
        print(f"  {name:20s} {m['rel_l2_energy_vs_filtered_dns']:21.4f}  "
              + " ".join(f"{m['spectrum_rel_l2_log'][t]:11.4f}" for t in times)
              + f"  {m['stable']}")
    print("  (spec: rms of log(E_LES / E_DNS) over shells 1 .. n/2 - 1)")
    res["passed"] = all(m["stable"] for m in res["models"].values())
    print("  every model stable -> " + ("PASS" if res["passed"] else "FAIL"))
    write_json(res, args.json)
    return 0 if res["passed"] else 1


def _cmd_spectrum(args) -> int:
    from . import isotropic
    from .validate import write_json
    if args.action == "init":
        k, e = isotropic.read_spectrum(args.table)
        u, v, w, rep = isotropic.field_from_spectrum(k, e, args.n, seed=args.seed,
                                                     n_phases=args.n_phases,
                                                     length=args.length, velocity=args.velocity)
        isotropic.write_initial_checkpoint(args.out, u, v, w)
        print(f"{args.out}: {args.n}^3 field, energy {rep['energy']:.6g} (table up to k = "
              f"{rep['kmax']}: {rep['table_energy_to_kmax']:.6g}), largest shell error "
              f"{rep['max_rel_shell_error']:.1e} (tolerance {isotropic.SHELL_TOLERANCE:g})")
        print("  use it as &output restart_file; the viscosity and the rest are the namelist's")
        return 0
    if args.action == "of":
        k, e, t = isotropic.checkpoint_spectrum(args.checkpoint)
        isotropic.write_spectrum(args.out, k, e, header=f"k E(k) at t = {t:.6g}")
        print(f"{args.out}: spectrum at t = {t:.6g}, energy {e.sum():.6g}")
        return 0
    lk, le = isotropic.read_spectrum(args.les)
    rk, re_ = isotropic.read_spectrum(args.reference)
    c = isotropic.compare(lk, le, rk, re_, kmax=args.kmax)
    print(f"{'k':>4s} {'E LES':>12s} {'E reference':>12s} {'ratio':>8s}")
    for k, a, b, r in zip(c["k"], c["les"], c["reference"], c["ratio"]):
        print(f"{k:4d} {a:12.4e} {b:12.4e} {r:8.3f}")
    print(f"cut at k = {c['kmax']}: relative L2 {c['rel_l2']:.4f}, rms log ratio "
          f"{c['rel_l2_log']:.4f}")
    if args.json:
        write_json(c, args.json)
    return 0


def _cmd_run(args) -> int:
    from . import config
    from .experiment import run_experiment
    cfg = config.load(args.config)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write-test").touch()
        (out / ".write-test").unlink()
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot create or write the folder "
                         f"({exc.strerror or exc})") from None
    report = run_experiment(cfg, out, progress=not args.quiet)
    print(f"experiment {report['outcome']}; report: {out / 'report.json'}")
    ap = report.get("apriori")
    if ap:
        for model in ap:
            corr = ap[model]["tau_corr"]
            print(f"  a priori, {model:12s}: tau corr "
                  + " ".join(f"{v:+.2f}" for v in corr.values())
                  + f"   SGS dissipation corr {ap[model]['sgs_dissipation_corr']:+.3f}")
    if report["outcome"].startswith("interrupted"):
        from .stopping import exit_status
        return exit_status()    # (a signal during the clean-up: main() gives its status)
    return 0 if report["outcome"].startswith("completed") else 1


def _cmd_bench_solver(args) -> int:
    from .bench import bench_solver
    bench_solver(n=args.n, steps=args.steps, repeats=args.repeats, json_path=args.json)
    return 0


def _cmd_bench_transport(args) -> int:
    if args.shards:
        from .bench import bench_transport_shards
        bench_transport_shards(shards=args.shards, n=args.n, steps=args.steps,
                               repeats=args.repeats, json_path=args.json)
        return 0
    from .bench import bench_transport
    bench_transport(n=args.n, steps=args.steps, repeats=args.repeats, json_path=args.json,
                    free_core_only=args.free_core_only, free_core_steps=args.free_core_steps,
                    free_core_repeats=args.free_core_repeats)
    return 0


def _cmd_bench_training(args) -> int:
    from .bench import bench_training
    bench_training(steps=args.steps, json_path=args.json)
    return 0


def _cmd_bench_inference(args) -> int:
    from .bench_inference import bench_inference
    if args.model and not Path(args.model).is_file():
        raise FileNotFoundError(f"model file not found: {args.model}")
    if args.model and args.hidden:
        raise ValueError("--model and --hidden exclude each other (a model file has its size)")
    if args.model and args.activation:
        raise ValueError("--model and --activation exclude each other (a model file has its "
                         "activation)")
    hidden = _hidden_widths(args.hidden, "--hidden") if args.hidden else SGS_HIDDEN
    bench_inference(n=args.n, nranks=args.np, steps=args.steps, count=args.count,
                    infer_every=args.infer_every, model=args.model, hidden=hidden,
                    activation=args.activation or SGS_ACTIVATION,
                    sizes=tuple(_network_size(x, "--sizes", args.activation or SGS_ACTIVATION)
                                for x in args.sizes.split()),
                    repeats=args.repeats, json_path=args.json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="eddylearn",
        description="Online learning for turbulence: an MPI finite-volume solver, an "
                    "in-memory database, and learning consumers.")
    p.add_argument("--version", action="version", version=f"eddylearn {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser("run", help="an online-learning experiment through SmartSim",
                       description="Start the database, the solver and the consumers "
                                   "(trainers, analyser, compressor, visualiser) as one SmartSim "
                                   "experiment, show progress, stop everything at the end or on "
                                   "Ctrl-C, and write OUT/report.json with plots and logs. "
                                   "Without CONFIG the embedded default runs (TGV Re=1600 at "
                                   "64^3 on 2 ranks, one 2-rank trainer, the analyser).")
    r.add_argument("config", nargs="?", help="experiment configuration (TOML); "
                                             "see docs/experiment.md")
    r.add_argument("--out", default="out", help="output folder (default: out)")
    r.add_argument("-q", "--quiet", action="store_true", help="no live progress table")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("solve", help="run the solver alone under its MPI launcher",
                       description="Run the solver on a namelist file (groups &domain, "
                                   "&physics, &time, &sgs, &output; see docs/solver.md).")
    s.add_argument("config", help="namelist input file")
    s.add_argument("--np", type=int, default=1, help="number of MPI ranks (default 1)")
    s.add_argument("-q", "--quiet", action="store_true", help="do not show progress")
    s.set_defaults(func=_cmd_solve)

    v = sub.add_parser("validate", help="validation cases against exact or reference data",
                       description="tg2d: 2D Taylor-Green decay, order of accuracy on grids "
                                   "--n (default 16,32,64). tgv: 3D Taylor-Green vortex at "
                                   "Re=1600 to t=20 on an N^3 grid against the 512^3 "
                                   "spectral DNS. tgv-les: the same as an N^3 LES with every "
                                   "SGS model (--models to choose), the learned one run in the "
                                   "database (--model FILE, or one trained on samples staged "
                                   "by a (WN)^3 DNS, W = --dns-width). iso-les: decaying isotropic "
                                   "turbulence from a spectrum, every SGS model as an N^3 "
                                   "LES against a (4N)^3 DNS of the same initial field. "
                                   "Exits 1 when a target is missed.")
    v.add_argument("case", choices=["tg2d", "tgv", "tgv-les", "iso-les"])
    v.add_argument("--n", help="grid: N for tgv (default 32); comma list for tg2d")
    v.add_argument("--np", type=int, default=1, help="number of MPI ranks (default 1)")
    v.add_argument("--cfl", type=float, default=0.5, help="CFL number for tgv (default 0.5)")
    v.add_argument("--sgs", default="default", choices=["default", *MODEL_NAMES],
                   help="SGS model: for tgv (default none), or whose figures tgv-les puts at "
                        "the top of its JSON (default learned; every model runs)")
    v.add_argument("--model", help="tgv-les: TorchScript file of the learned model (default: "
                                   "train one); iso-les: the learned model to run beside the "
                                   "baselines")
    v.add_argument("--spectrum", help="iso-les: (k, E(k)) table of the initial field (default: "
                                      "the shipped model spectrum)")
    v.add_argument("--models", help="tgv-les: comma list of the SGS models to run (default: "
                                    "all: " + ", ".join(MODEL_NAMES) + ")")
    v.add_argument("--dynamic-average", choices=["box", "local"],
                   help="tgv: the dynamic Smagorinsky coefficient's average (default box)")
    v.add_argument("--dissipation-weight", type=float, default=0.0,
                   help="tgv-les: weight of the SGS-dissipation error in the training loss "
                        "(default 0: stresses only)")
    v.add_argument("--train-features", choices=["les", "exact"],
                   help="tgv-les: train on the exact filtered gradients (exact, the default) or on "
                        "the gradients the LES's stencil computes from the filtered DNS (les)")
    v.add_argument("--hidden", help="tgv-les: hidden layer widths of the network it trains, comma "
                                    "separated (default " + ",".join(map(str, SGS_HIDDEN)) + ")")
    v.add_argument("--activation", choices=SGS_ACTIVATIONS,
                   help=f"tgv-les: activation of the hidden layers of the network it trains "
                        f"(default {SGS_ACTIVATION})")
    v.add_argument("--dns-width", type=int, default=4,
                   help="tgv-les: box-filter width in DNS cells of the samples the model is "
                        "trained on; the DNS is (W N)^3 (default 4; 2 for a 64^3 LES on a 128^3 "
                        "DNS)")
    v.add_argument("--seed", type=int,
                   help="tgv-les: seed of the network's initial weights and sample order "
                        "(default 0)")
    v.add_argument("--a-posteriori", choices=A_POSTERIORI_FORMS,
                   help="tgv-les: after training, gate the model's stress by theta0 (scale) or "
                        "max(0, theta0 + theta1 r) (gate; r a local invariant) with the grid "
                        "point whose LES follows the training DNS's E(t) and -dE/dt best "
                        "(docs/validation.md)")
    v.add_argument("--theta0", help="tgv-les --a-posteriori: comma list of theta0 values "
                                    f"(default {_commas(DEFAULT_SCALES)} for scale, "
                                    f"{_commas(DEFAULT_GATE[0])} for gate)")
    v.add_argument("--theta1", help="tgv-les --a-posteriori gate: comma list of theta1 values "
                                    f"(default {_commas(DEFAULT_GATE[1])})")
    v.add_argument("--gate-invariant", choices=GATE_INVARIANTS,
                   help=f"tgv-les --a-posteriori gate: the invariant r (default "
                        f"{DEFAULT_INVARIANT}; stretching: the vortex-stretching rate "
                        "w.S.w / (|w|^2 |S|))")
    v.add_argument("--infer-every", type=int, default=0,
                   help="tgv-les: run the learned model every k steps (default 0: every RK "
                        "stage)")
    v.add_argument("--json", help="write the result as JSON to this file")
    v.add_argument("--plot", help="PNG of eps(t), E(t) against the reference (tgv; default: "
                                  "next to --json)")
    v.add_argument("--workdir", help="keep the runs in this folder (default: a temporary one)")
    v.set_defaults(func=_cmd_validate)

    sp = sub.add_parser("spectrum", help="isotropic turbulence from a spectrum table; spectra",
                        description="init: a random-phase solenoidal field on the N^3 grid "
                                    "whose shell energies match a (k, E(k)) table, written as a "
                                    "checkpoint for &output restart_file. of: the spectrum of a "
                                    "checkpoint. compare: an LES spectrum beside a reference "
                                    "table, cut at the LES's wavenumber (docs/validation.md).")
    spsub = sp.add_subparsers(dest="action", metavar="ACTION", required=True)
    si = spsub.add_parser("init", help="initial field from a (k, E(k)) table")
    si.add_argument("table", help="two columns k, E(k)")
    si.add_argument("--n", type=int, required=True, help="grid N^3")
    si.add_argument("--seed", type=int, default=1, help="random phases (default 1)")
    si.add_argument("--n-phases", type=int, help="draw the phases on this grid (>= N; the same "
                                                 "value gives the same field on every grid)")
    si.add_argument("--length", type=float, default=1.0,
                    help="the table's length unit in box units (k / length, E * length)")
    si.add_argument("--velocity", type=float, default=1.0,
                    help="the table's velocity unit in box units (E * velocity^2)")
    si.add_argument("--out", required=True, help="checkpoint file to write")
    so = spsub.add_parser("of", help="the spectrum of a checkpoint")
    so.add_argument("checkpoint")
    so.add_argument("--out", required=True, help="table k, E(k) to write")
    sc = spsub.add_parser("compare", help="an LES spectrum beside a reference, cut at the "
                                          "LES's wavenumber")
    sc.add_argument("les", help="the LES spectrum (eddylearn spectrum of, or a run's "
                                "spectrum_t<time>.txt)")
    sc.add_argument("reference", help="reference table k, E(k) (a spectrum of shells, or any "
                                      "table, integrated over the shells)")
    sc.add_argument("--kmax", type=int, help="cut here (default: the LES's n/2 - 1)")
    sc.add_argument("--json", help="write the comparison as JSON")
    sp.set_defaults(func=_cmd_spectrum)

    b = sub.add_parser("bench", help="benchmarks, each against a baseline of the same run")
    bsub = b.add_subparsers(dest="what", metavar="WHAT", required=True)
    bs = bsub.add_parser("solver", help="cell-steps/s per core on 1 and 2 ranks, with STREAM "
                                        "triad bandwidth")
    bs.add_argument("--n", type=int, default=64, help="grid N^3 (default 64)")
    bs.add_argument("--steps", type=int, default=40, help="steps per run (default 40)")
    bs.add_argument("--repeats", type=int, default=3,
                    help="alternating 1-/2-rank repetitions, fastest counts (default 3)")
    bs.add_argument("--json", help="write the figures as JSON to this file")
    bs.set_defaults(func=_cmd_bench_solver)
    bt = bsub.add_parser("transport", help="put throughput of the Fortran client vs SmartRedis "
                                           "and Redis SET; solver time with staging")
    bt.add_argument("--n", type=int, default=64, help="solver grid for the staging figure")
    bt.add_argument("--steps", type=int, default=60, help="solver steps per staging run")
    bt.add_argument("--repeats", type=int, default=3, help="repetitions, best counts")
    bt.add_argument("--json", help="write the figures as JSON to this file")
    bt.add_argument("--free-core-only", action="store_true",
                    help="only the free-core configuration (1 solver rank; database and sender "
                         "on another core)")
    bt.add_argument("--free-core-steps", type=int, default=100,
                    help="solver steps per run of the free-core configuration")
    bt.add_argument("--free-core-repeats", type=int, default=5,
                    help="rounds of the free-core configuration (its cases alternate in each)")
    bt.add_argument("--shards", type=int, default=0,
                    help="instead: the solver's staging into a Redis Cluster of this many "
                         "shards (3 or more) next to one shard")
    bt.set_defaults(func=_cmd_bench_transport)
    bl = bsub.add_parser("training", help="trainer samples/s from the database vs from memory")
    bl.add_argument("--steps", type=int, default=3000, help="optimizer steps per run")
    bl.add_argument("--json", help="write the figures as JSON to this file")
    bl.set_defaults(func=_cmd_bench_training)
    bi = bsub.add_parser("inference", help="learned SGS model: inference latency from Fortran "
                                           "vs in-process, LES step time per SGS model")
    bi.add_argument("--n", type=int, default=32, help="LES grid N^3 (default 32)")
    bi.add_argument("--np", type=int, default=2, help="LES ranks (default 2)")
    bi.add_argument("--steps", type=int, default=60, help="LES steps per run (default 60)")
    bi.add_argument("--count", type=int, default=50, help="inference calls per block size")
    bi.add_argument("--infer-every", type=int, default=4,
                    help="the extra learned case runs the model every k steps (default 4)")
    bi.add_argument("--model", help="TorchScript model file (default: the trainer's network)")
    bi.add_argument("--hidden", help="hidden layer widths of the trainer's network, comma "
                                     "separated (default " + ",".join(map(str, SGS_HIDDEN)) + ")")
    bi.add_argument("--activation", choices=SGS_ACTIVATIONS,
                    help=f"activation of the network's hidden layers (default {SGS_ACTIVATION})")
    bi.add_argument("--sizes", default="",
                    help="also time the network with each of these hidden sizes, separated by "
                         "spaces (for example \"16 32,32 64,64\"; \"32:relu\" names the "
                         "activation, without one --activation's): forward and LES step")
    bi.add_argument("--repeats", type=int, default=3, help="alternated rounds, best kept "
                                                           "(default 3)")
    bi.add_argument("--json", help="write the figures as JSON to this file")
    bi.set_defaults(func=_cmd_bench_inference)
    _register_optional(sub, bsub)
    for parser in [r, s, v, *bsub.choices.values()]:
        parser.add_argument("--launcher", help="MPI launcher of the solver: openmpi, mpich, "
                                               "intel, srun or an executable (default: "
                                               "$EDDYLEARN_LAUNCHER, srun in a Slurm "
                                               "allocation, else the launcher of the MPI "
                                               "eddylearn was built with)")
    return p


def _register_optional(sub, bsub) -> None:
    """Subcommands of components that may be absent from a build (the database module)."""
    try:
        from . import database
    except ImportError:
        return
    database.register_cli(sub)
    from . import smartsim_setup
    smartsim_setup.register_cli(sub)
    try:
        from . import bench_database
    except ImportError:
        return
    bench_database.register_bench(bsub)


#: the options whose value is a comma list of numbers that may start with a minus sign
_NUMBER_LIST_OPTIONS = ("--theta0", "--theta1")


def _join_number_lists(argv: list[str]) -> list[str]:
    """argv with "--theta1 -4,-8" written "--theta1=-4,-8": argparse takes a value that starts
    with '-' (and is not one plain number) for an option of its own."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in _NUMBER_LIST_OPTIONS:
            val = next(it, None)
            if val is not None and re.match(r"-[0-9.]", val):
                out.append(f"{arg}={val}")
                continue
            out.append(arg)
            if val is not None:
                out.append(val)
            continue
        out.append(arg)
        if arg == "--":
            out.extend(it)
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_join_number_lists(sys.argv[1:] if argv is None else argv))
    if getattr(args, "launcher", None):
        from .launch import LAUNCHER_VAR
        os.environ[LAUNCHER_VAR] = args.launcher
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from . import stopping
    from .solver import SolverError
    stopping.install()   # SIGTERM and SIGHUP stop like Ctrl-C: children ended, no traceback
    try:
        status = int(args.func(args) or 0)
    except (SolverError, ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"eddylearn: error: {exc}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt as exc:
        print(f"eddylearn: interrupted ({stopping.signal_name(exc)})", file=sys.stderr)
        return stopping.exit_status(exc)
    if stopping.requested() is not None and status != stopping.exit_status():
        # a stop signal during a clean-up that it did not cut short: a batch system still
        # sees the signal's exit status
        print(f"eddylearn: {stopping.signal_name()} received while stopping; the clean-up "
              "went on", file=sys.stderr)
        return stopping.exit_status()
    return status


if __name__ == "__main__":
    sys.exit(main())
