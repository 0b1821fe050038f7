"""`eddylearn bench inference`: the cost of running the learned SGS model in the database.

1. Per-call latency of one inference from Fortran (eddylearn-infer-bench: put the (rows, 9)
   features, AI.MODELEXECUTE, get the (rows, 6) stresses, the solver's round trip) for the LES
   block sizes, against the same TorchScript forward pass in-process in Python.
2. Time per LES step of the TGV with each SGS model (none, smagorinsky, learned every RK stage,
   learned every k steps), and step_time_ratio_learned_vs_smagorinsky; with the learned model
   the time rank 0 waited for the answer per stage beside the request's latency (the rest of
   the latency is overlapped with the solver's own work).
   Beside them, with the default network (no --model), the same network as trained
   (SGSNet scripted as it is: normalisation as separate passes, row-major layers; the LES sends
   it DOUBLE features) against its deployed form (DeployedSGS; the LES sends it FLOAT
   features): `deployed` in the JSON has both in-process forwards (on the same float64 rows)
   and both LES steps.
3. With --sizes: the same for the trainer's network with each of several hidden-layer sizes
   (the in-process forward of one rank's block and the LES step with the model every stage),
   run in the same rounds as the cases above: the cost column of the cost/accuracy table.

The model is the online trainer's network (SGSNet, hidden layers config.SGS_HIDDEN or --hidden)
with its initial weights, or a TorchScript file (--model): the weights do not change the cost.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from . import solver as _solver
from .bench import cpu_ticks, machine_info, steal_fraction
from .config import SGS_ACTIVATION, SGS_HIDDEN
from .io import read_diagnostics, write_namelist


def _model_bytes(model: str | Path | None, hidden: tuple[int, ...] = SGS_HIDDEN,
                 activation: str = SGS_ACTIVATION) -> bytes:
    if model is not None:
        return Path(model).read_bytes()
    import torch

    from .consumers.trainer import SGSNet, scripted_bytes
    torch.manual_seed(0)
    return scripted_bytes(SGSNet(tuple(hidden), activation=activation))


def _training_form_bytes(hidden: tuple[int, ...], activation: str = SGS_ACTIVATION) -> bytes:
    """The same network as _model_bytes (same seed), scripted in the form it is trained in."""
    import io

    import torch

    from .consumers.trainer import SGSNet
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(SGSNet(tuple(hidden), activation=activation)), buf)
    return buf.getvalue()


def _inprocess_latency(blob: bytes, rows: int, count: int) -> dict:
    """The same forward pass in this process (torch's default threads)."""
    import io

    import torch
    m = torch.jit.load(io.BytesIO(blob))
    x = torch.tensor(np.random.default_rng(0).random((rows, 9)) - 0.5)
    with torch.inference_mode():
        for _ in range(3):
            m(x)
        lat = []
        for _ in range(count):
            t0 = time.perf_counter()
            m(x)
            lat.append(time.perf_counter() - t0)
    lat.sort()
    return {"mean_s": float(np.mean(lat)), "min_s": lat[0], "p50_s": lat[(count - 1) // 2],
            "max_s": lat[-1], "torch_threads": torch.get_num_threads()}


def _fortran_latency(key: str, rows: int, count: int, env: dict,
                     mode: str = "pipelined", dtype: str = "DOUBLE") -> dict:
    from .client_config import prefix
    exe = prefix() / "bin" / "eddylearn-infer-bench"
    args = [key, str(rows), str(count), "6", mode] + (["1", dtype] if mode == "pipelined" else [])
    out = subprocess.run([str(exe), *args], capture_output=True,
                         text=True, env=_solver.child_env(env), timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"eddylearn-infer-bench failed: {out.stderr.strip()}")
    fields = dict(re.findall(r"(\w+)=\s*(\S+)", out.stdout))
    return {k: float(v) for k, v in fields.items() if k.endswith("_s")}


def _les_step_time(n: int, nranks: int, steps: int, sgs: dict, env: dict,
                   workdir: Path) -> tuple[float, dict]:
    """Mean wall time of one LES step (all three RK stages with their SGS work; the mean, not
    the median, so that steps with and without inference both count), and the learned model's
    account (sgs_model.json; empty for the others)."""
    run_dir = workdir / "_".join(f"{k}{v}" for k, v in sgs.items())
    run_dir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n, "ny": n, "nz": n},
        "time": {"t_end": 1e9, "max_steps": steps, "cfl": 0.5},
        "sgs": sgs,
        "output": {"dir": str(run_dir), "diag_every": 1, "checkpoint_at_end": False,
                   "verbose": False}})
    cmd = _solver.mpirun_command(nranks) + [str(_solver.solver_executable()), str(nml)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_solver.child_env(env),
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"LES run with {sgs} failed: {proc.stderr.strip()[-2000:]}")
    acc = {}
    if sgs.get("model") == "learned":
        acc = json.loads((run_dir / "sgs_model.json").read_text())
        if acc["stages_fallback"]:
            raise RuntimeError(f"the learned run fell back to Smagorinsky {acc['stages_fallback']}"
                               " times: the timing would not be of the database")
    return float(np.mean(read_diagnostics(run_dir / "diagnostics.csv")["wall_step"][2:])), acc


def paired_median(learned: list[float], reference: list[float]) -> float:
    """The median of the rounds' own ratios learned[i] / reference[i]: each round runs both
    cases within a minute, so this is less sensitive than the ratio of the best rounds to a
    machine whose speed drifts between rounds."""
    if len(learned) != len(reference) or not learned:
        raise ValueError(f"paired rounds needed, got {len(learned)} and {len(reference)}")
    return float(np.median([a / b for a, b in zip(learned, reference)]))


def _size_label(hidden: tuple[int, ...], activation: str = SGS_ACTIVATION) -> str:
    label = ",".join(map(str, hidden))
    return label if activation == SGS_ACTIVATION else f"{label}:{activation}"


def bench_inference(n: int = 32, nranks: int = 2, steps: int = 60, count: int = 50,
                    infer_every: int = 4, model: str | Path | None = None,
                    hidden: tuple[int, ...] = SGS_HIDDEN, threads: int = 2,
                    repeats: int = 3, sizes: tuple = (), activation: str = SGS_ACTIVATION,
                    json_path: str | Path | None = None, echo=print) -> dict:
    from smartredis import Client

    from .database import LocalServer
    from .sgs_publish import model_input_dtype, publish_model

    os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
    os.environ.setdefault("SR_LOG_FILE", "/dev/null")
    info = machine_info()
    echo(f"machine: {info['cpu']}, {info['cores']} cores; database worker threads {threads}")
    blob = _model_bytes(model, hidden, activation)
    # the features go as the solver sends them to this model (its metadata's input_dtype)
    dtype = model_input_dtype(blob)
    rows_list = sorted({n ** 3 // nranks, n ** 3, (2 * n) ** 3 // nranks})
    result: dict = {"benchmark": "inference", "machine": info, "n": n, "nranks": nranks,
                    "model": str(model) if model else (f"SGSNet{tuple(hidden)}, {activation}, "
                                                       "initial weights"),
                    "threads_per_queue": threads, "latency": {}}
    db = LocalServer(threads=threads)
    try:
        client = Client(address=db.address, cluster=False, logger_name="eddylearn-bench")
        publish_model(client, "sgs_model", blob, 1, delta=2 * math.pi / n)
        env = {"SSDB": db.address, "SR_DB_TYPE": "Standalone",
               "OMPI_MCA_mpi_yield_when_idle": "1"}
        for rows in rows_list:
            # alternated, best median of the repeats (the machine's noise is in the tails)
            forts, seqs, locs = [], [], []
            for _ in range(repeats):
                forts.append(_fortran_latency("sgs_model", rows, count, env, dtype=dtype))
                seqs.append(_fortran_latency("sgs_model", rows, count, env, "sequential"))
                locs.append(_inprocess_latency(blob, rows, count))
            fort = min(forts, key=lambda r: r["p50_s"])
            seq = min(seqs, key=lambda r: r["p50_s"])
            local = min(locs, key=lambda r: r["p50_s"])
            ratio = fort["p50_s"] / local["p50_s"]
            result["latency"][str(rows)] = {
                "input_dtype": dtype, "fortran_database": fort, "fortran_sequential": seq, "python_inprocess": local,
                "ratio_database_vs_inprocess": ratio,
                "ratio_sequential_vs_pipelined": seq["p50_s"] / fort["p50_s"]}
            echo(f"inference of {rows:7d} rows (median of {count}): Fortran via the database "
                 f"{1e3 * fort['p50_s']:7.2f} ms ({dtype} features; put/run/get as three calls "
                 f"{1e3 * seq['p50_s']:.2f} ms), in-process Python forward "
                 f"{1e3 * local['p50_s']:7.2f} ms -> ratio {ratio:.2f}")
        # the network sizes of the table, each under its own key (timeouts generous: a loaded
        # machine must not turn the measurement into Smagorinsky's)
        size_blobs = {}
        plain_blob = None
        if model is None:
            plain_blob = _training_form_bytes(hidden, activation)
            publish_model(client, "sgs_model.plain", plain_blob, 1, delta=2 * math.pi / n,
                          input_dtype="DOUBLE")
        for size in sizes:
            # a size is its hidden widths, or (widths, activation)
            h, act = size if isinstance(size[-1], str) else (tuple(size), activation)
            key = f"sgs_model.h{_size_label(h, act).replace(',', '_').replace(':', '_')}"
            size_blobs[key] = (h, act, _model_bytes(None, h, act))
            publish_model(client, key, size_blobs[key][2], 1, delta=2 * math.pi / n)
        with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
            cases = {"none": {"model": "none"}, "smagorinsky": {"model": "smagorinsky"},
                     "learned": {"model": "learned", "timeout_ms": 20000},
                     f"learned_every_{infer_every}": {"model": "learned",
                                                      "infer_every": infer_every,
                                                      "timeout_ms": 20000}}
            if plain_blob is not None:
                cases["learned_training_form"] = {"model": "learned",
                                                  "model_key": "sgs_model.plain",
                                                  "timeout_ms": 20000}
            cases.update({f"learned_{key}": {"model": "learned", "model_key": key,
                                             "timeout_ms": 20000} for key in size_blobs})
            times = {k: [] for k in cases}
            accounts = {k: [] for k in cases}
            ticks = cpu_ticks()
            for _ in range(repeats):
                for name, sgs in cases.items():
                    t, acc = _les_step_time(n, nranks, steps, sgs, env, Path(tmp))
                    times[name].append(t)
                    accounts[name].append(acc)
        # the CPU time the hypervisor gave to other guests during the LES runs
        result["host_steal_fraction"] = steal_fraction(ticks, cpu_ticks())
        best = {k: min(v) for k, v in times.items()}
        overlap = {}
        for name, accs in accounts.items():
            if accs[0]:
                acc = accs[int(np.argmin(times[name]))]
                overlap[name] = {"latency_mean_s": acc["latency_mean_s"],
                                 "wait_mean_s": acc["wait_mean_s"],
                                 # rank 0's requests made by the client's thread, not the
                                 # solver's (docs/client.md): the first, the metadata reads,
                                 # and the rest of any the socket did not take at once
                                 "requests": acc["stages_database"],
                                 "requests_handed_over": acc.get("requests_handed_over", 0),
                                 "overlapped_fraction": 1 - acc["wait_mean_s"]
                                 / max(acc["latency_mean_s"], 1e-12)}
        result["learned_wait_rank0"] = overlap
        if size_blobs:
            result["sizes"] = {}
            rows = n ** 3 // nranks
            for key, (h, act, sblob) in size_blobs.items():
                fwd = min((_inprocess_latency(sblob, rows, count) for _ in range(repeats)),
                          key=lambda r: r["p50_s"])
                t = best[f"learned_{key}"]
                result["sizes"][_size_label(h, act)] = {
                    "hidden": list(h), "activation": act, "forward_rows": rows,
                    "forward_p50_s": fwd["p50_s"],
                    "step_time_s": t, "step_time_ratio_vs_smagorinsky": t / best["smagorinsky"],
                    **overlap[f"learned_{key}"]}
        if plain_blob is not None:
            rows = n ** 3 // nranks
            fwd = {name: min((_inprocess_latency(b, rows, count) for _ in range(repeats)),
                             key=lambda r: r["p50_s"])["p50_s"]
                   for name, b in (("deployed", blob), ("training_form", plain_blob))}
            result["deployed"] = {
                "forward_rows": rows, "forward_p50_s_deployed": fwd["deployed"],
                "forward_p50_s_training_form": fwd["training_form"],
                "forward_speedup": fwd["training_form"] / fwd["deployed"],
                "step_time_ratio_training_form_vs_smagorinsky":
                    best["learned_training_form"] / best["smagorinsky"],
                "input_dtype": accounts["learned"][0].get("input_dtype"),
                "input_dtype_training_form":
                    accounts["learned_training_form"][0].get("input_dtype")}
        paired = paired_median(times["learned"], times["smagorinsky"])
        result.update({"steps": steps, "step_time_s": best, "step_time_runs_s": times,
                       "step_time_ratio_learned_vs_smagorinsky":
                           best["learned"] / best["smagorinsky"],
                       "step_time_ratio_paired_median": paired,
                       f"step_time_ratio_learned_every_{infer_every}_vs_smagorinsky":
                           best[f"learned_every_{infer_every}"] / best["smagorinsky"]})
        for name, t in best.items():
            wait = ""
            if name in overlap:
                o = overlap[name]
                wait = (f"; rank 0 waited {1e3 * o['wait_mean_s']:.2f} of "
                        f"{1e3 * o['latency_mean_s']:.2f} ms per request, "
                        f"{o['requests_handed_over']} of {o['requests']} through the client's thread")
            echo(f"LES {n}^3 on {nranks} ranks, {name:18s}: {1e3 * t:8.3f} ms per step "
                 f"({t / best['smagorinsky']:.2f}x smagorinsky{wait})")
        if "deployed" in result:
            d = result["deployed"]
            echo(f"the network as deployed ({d['input_dtype']} features) against its training "
                 f"form ({d['input_dtype_training_form']} features): in-process forward of "
                 f"{d['forward_rows']} rows {1e3 * d['forward_p50_s_deployed']:.2f} against "
                 f"{1e3 * d['forward_p50_s_training_form']:.2f} ms ({d['forward_speedup']:.2f}x "
                 f"faster); LES step {result['step_time_ratio_learned_vs_smagorinsky']:.2f}x "
                 f"against {d['step_time_ratio_training_form_vs_smagorinsky']:.2f}x smagorinsky")
        for label, r in result.get("sizes", {}).items():
            echo(f"hidden {label:13s}: in-process forward of {r['forward_rows']} rows "
                 f"{1e3 * r['forward_p50_s']:6.2f} ms; LES step, model every stage "
                 f"{1e3 * r['step_time_s']:6.2f} ms ({r['step_time_ratio_vs_smagorinsky']:.2f}x "
                 "smagorinsky)")
        echo(f"step_time_ratio_learned_vs_smagorinsky = "
             f"{result['step_time_ratio_learned_vs_smagorinsky']:.2f} (target <= 3; the median of "
             f"the {repeats} rounds' own ratios {paired:.2f}); every "
             f"{infer_every} steps: "
             f"{result[f'step_time_ratio_learned_every_{infer_every}_vs_smagorinsky']:.2f}")
        if result["host_steal_fraction"] is not None:
            echo(f"the host took {100 * result['host_steal_fraction']:.1f} % of the CPU time during "
                 "the LES runs (steal)")
    finally:
        db.close()
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
    return result
