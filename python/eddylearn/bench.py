"""Benchmarks. Each figure is printed next to a baseline measured in the same run, with the
machine it ran on. Tests never time anything; these do."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import solver as _solver
from ._paths import stream_executable
from .io import read_diagnostics, write_namelist


def machine_info() -> dict:
    """CPU model, core count and OS of this machine."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "system": platform.platform(),
            "python": platform.python_version()}


def cpu_ticks() -> list[int] | None:
    """The machine's CPU time so far, in clock ticks, by kind (the "cpu" line of /proc/stat:
    user, nice, system, idle, iowait, irq, softirq, steal, ...); None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    return [int(x) for x in fields[1:]]


def steal_fraction(before: list[int] | None, after: list[int] | None) -> float | None:
    """Of the CPU time between two cpu_ticks() readings, the fraction the hypervisor gave to
    other guests ("steal"): on a virtual machine, the time a figure lost to its neighbours. A
    figure measured while it is more than a few per cent is slower, and noisier, than the
    machine is. None where the kernel does not count it."""
    if not before or not after or len(before) < 8 or len(after) < 8:
        return None
    # guest time is already counted in user time: only the first eight kinds
    total = sum(after[:8]) - sum(before[:8])
    return (after[7] - before[7]) / total if total > 0 else None


def stream_triad_gbs() -> float:
    """Memory bandwidth of one core, STREAM-triad style, in GB/s."""
    out = subprocess.run([str(stream_executable())], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("triad_gbs"):
            return float(line.split()[1])
    raise RuntimeError(f"unexpected output of the bandwidth probe: {out!r}")


def _solver_step_time(n: int, nranks: int, steps: int, workdir: Path) -> float:
    """Median wall time of one full RK3 step (projection included) of TGV at n^3."""
    run_dir = workdir / f"n{n}_r{nranks}"
    run_dir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n, "ny": n, "nz": n},
        "physics": {"nu": 1 / 1600, "initial": "tgv3d"},
        "time": {"t_end": 1e9, "max_steps": steps, "cfl": 0.5},
        "output": {"dir": str(run_dir), "diag_every": 1, "checkpoint_at_end": False,
                   "verbose": False},
    })
    _solver.run(nml, nranks, stream=False)
    wall = read_diagnostics(run_dir / "diagnostics.csv")["wall_step"][1:]
    return float(np.median(wall[min(3, len(wall) - 1):]))


def bench_solver(n: int = 64, steps: int = 40, repeats: int = 3,
                 json_path: str | Path | None = None, echo=print) -> dict:
    """Cell-steps per second per core at n^3 on 1 and 2 ranks, with STREAM triad bandwidth.

    The 1- and 2-rank runs alternate `repeats` times and the fastest median step time of each
    counts, so that a burst of other load on the machine does not decide the ratio."""
    info = machine_info()
    echo(f"machine: {info['cpu']}, {info['cores']} cores")
    triad = stream_triad_gbs()
    echo(f"STREAM triad (1 core): {triad:.2f} GB/s")
    with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
        t1s, t2s = [], []
        for _ in range(repeats):
            t1s.append(_solver_step_time(n, 1, steps, Path(tmp)))
            t2s.append(_solver_step_time(n, 2, steps, Path(tmp)))
        t1, t2 = min(t1s), min(t2s)
    cells = n ** 3
    per_core_1 = cells / t1
    per_core_2 = cells / t2 / 2
    speedup = t1 / t2
    echo(f"solver {n}^3, 1 rank : {t1 * 1e3:8.2f} ms/step, {per_core_1:.3e} cell-steps/s/core"
         f"  (target >= 3e6: ratio {per_core_1 / 3e6:.2f})")
    echo(f"solver {n}^3, 2 ranks: {t2 * 1e3:8.2f} ms/step, {per_core_2:.3e} cell-steps/s/core"
         f"  speedup {speedup:.2f}x vs 1 rank (target >= 1.8)")
    # bytes moved per cell-step if the step were purely bandwidth bound, for reading the figure
    bytes_per_cell_step = triad * 1e9 / per_core_1
    echo(f"STREAM triad bandwidth / rate = {bytes_per_cell_step:.0f} bytes per cell-step")
    result = {"benchmark": "solver", "n": n, "steps": steps, "repeats": repeats, "machine": info,
              "step_times_1_rank_s": t1s, "step_times_2_ranks_s": t2s,
              "stream_triad_gbs": triad,
              "step_time_1_rank_s": t1, "step_time_2_ranks_s": t2,
              "cell_steps_per_s_per_core": per_core_1,
              "cell_steps_per_s_per_core_2_ranks": per_core_2,
              "speedup_2_ranks": speedup,
              "bandwidth_bytes_per_cell_step": bytes_per_cell_step}
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
    return result


def bench_training(sets: int = 24, steps: int = 3000, batch: int = 256,
                   json_path: str | Path | None = None, echo=print) -> dict:
    """Trainer samples/s when its samples come from the database (read as they arrive, with
    the polling of the online loop) against the same training from in-memory tensors."""
    import time

    from smartredis import Client, Dataset

    from . import database
    from .consumers.trainer import Trainer, TrainerConfig
    from .solver import Solver

    info = machine_info()
    echo(f"machine: {info['cpu']}, {info['cores']} cores")
    with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
        tmp = Path(tmp)
        with Solver({"domain": {"nx": 32, "ny": 32, "nz": 32}, "time": {"t_end": 20.0}},
                    workdir=tmp / "solver") as s:
            s.advance(4.0)
            data = []
            for k in range(sets):
                s.step(4)
                data.append(s.sgs_samples(2))
        server = database.LocalServer()
        try:
            client = Client(False, server.address, logger_name="eddylearn-bench")
            for k, (f, l) in enumerate(data):
                ds = Dataset(f"sgs.{k}.0")
                ds.add_tensor("features", np.ascontiguousarray(f))
                ds.add_tensor("labels", np.ascontiguousarray(l))
                ds.add_meta_scalar("delta", np.float64(2 * 2 * np.pi / 32))
                client.put_dataset(ds)
                client.append_to_list("sgs_samples", ds)
            cfg = TrainerConfig(out=str(tmp / "t"), batch=batch, resume=False,
                                publish_every=10 ** 9)

            def timed(trainer, from_db: bool) -> float:
                """Optimizer steps per second: the online loop as the trainer runs it (reading
                the database, agreeing on stopping, reporting progress), or plain rounds over
                tensors already in memory."""
                t0 = time.perf_counter()
                if from_db:
                    deadline = time.perf_counter() + 600
                    while trainer.step < steps:
                        trained, _ = trainer.iteration()
                        if not trained and time.perf_counter() > deadline:
                            raise RuntimeError("the trainer found no samples in the database")
                else:
                    trainer._fix_normalisation()
                    while trainer.step < steps:
                        trainer.train_round()
                return trainer.step * batch / (time.perf_counter() - t0)

            results = {}
            for rep in range(2):      # alternate, keep the best of each
                db_tr = Trainer(cfg, client=client)
                rate_db = timed(db_tr, True)
                mem_tr = Trainer(cfg, client=client)
                for k, (f, l) in enumerate(data):     # the same training/validation split
                    (mem_tr.val if k % cfg.val_every == cfg.val_every - 1 else mem_tr.train).add(f, l)
                rate_mem = timed(mem_tr, False)
                results.setdefault("db", []).append(rate_db)
                results.setdefault("memory", []).append(rate_mem)
        finally:
            server.close()
    rate_db, rate_mem = max(results["db"]), max(results["memory"])
    ratio = rate_db / rate_mem
    echo(f"trainer from the database: {rate_db:10.0f} samples/s")
    echo(f"trainer from memory      : {rate_mem:10.0f} samples/s   ratio {ratio:.3f} "
         f"(target >= 0.9)")
    result = {"benchmark": "training", "machine": info, "sets": sets,
              "samples": int(sum(len(f) for f, _ in data)), "steps": steps, "batch": batch,
              "samples_per_s_db": rate_db, "samples_per_s_memory": rate_mem,
              "ratio_db_vs_memory": ratio, "runs_db": results["db"],
              "runs_memory": results["memory"]}
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _staging_run(n: int, steps: int, mode: str, env: dict, workdir: Path,
                 every: int = 1) -> float:
    """Total wall time of the steps (handing snapshots over included) of TGV n^3 on 2 ranks
    with a snapshot every `every` steps: mode none, async or sync."""
    run_dir = workdir / f"staging_{mode}_{every}"
    run_dir.mkdir(parents=True, exist_ok=True)
    staging = {"enabled": mode != "none", "snapshot_every": every, "synchronous": mode == "sync",
               "prefix": f"{mode}."}
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n, "ny": n, "nz": n},
        "time": {"t_end": 1e9, "max_steps": steps, "cfl": 0.5},
        "output": {"dir": str(run_dir), "diag_every": 1, "checkpoint_at_end": False,
                   "verbose": False},
        "staging": staging})
    cmd = _solver.mpirun_command(2) + [str(_solver.solver_executable()), str(nml)]
    subprocess.run(cmd, check=True, capture_output=True, env=_solver.child_env(env),
                   timeout=600)
    total = float(read_diagnostics(run_dir / "diagnostics.csv")["wall_step"][1:].sum())
    if mode != "none":   # what is still queued at the end is part of the cost
        total += json.loads((run_dir / "staging.json").read_text())["flush_s"]
    return total


def _pin_all_threads(pid: int, cpus: set[int]) -> None:
    """Restricts every thread of process `pid` (and the threads it starts later) to `cpus`."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # a thread that ended meanwhile
            pass


def _staging_run_free_core(n: int, steps: int, mode: str, every: int, env: dict, workdir: Path,
                           solver_cpu: int, free_cpu: int, warmup: int = 5,
                           handover: str = "deferred") -> dict:
    """One run of TGV n^3 on 1 rank pinned to `solver_cpu`, its stager's sending thread on
    `free_cpu` (where the database runs too); mode none or async, a snapshot (u v w p) every
    `every` steps, handed over `handover` (deferred or copy). Returns the wall time of the steps
    after the first `warmup` (what is left queued at the end included), the wall time of all
    steps, and the staging counters."""
    run_dir = workdir / f"free_core_{mode}_{every}_{handover}"
    run_dir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(run_dir / "input.nml", {
        "domain": {"nx": n, "ny": n, "nz": n},
        "time": {"t_end": 1e9, "max_steps": steps, "cfl": 0.5},
        "output": {"dir": str(run_dir), "diag_every": 1, "checkpoint_at_end": False, "verbose": False},
        "staging": {"enabled": mode != "none", "snapshot_every": every, "synchronous": False,
                    "handover": handover, "prefix": f"fc{every}{handover}."}})
    cmd = ["taskset", "-c", str(solver_cpu)] + _solver.mpirun_command(1) + \
        [str(_solver.solver_executable()), str(nml)]
    run_env = dict(env, EDDYLEARN_STAGER_CPUS=str(free_cpu), OMP_NUM_THREADS="1")
    subprocess.run(cmd, check=True, capture_output=True, env=_solver.child_env(run_env), timeout=900)
    wall = read_diagnostics(run_dir / "diagnostics.csv")["wall_step"][1:]
    out = {"wall_s": float(wall[warmup:].sum()), "all_steps_s": float(wall.sum())}
    if mode != "none":
        st = json.loads((run_dir / "staging.json").read_text())
        out.update(st)
        out["wall_s"] += st["flush_s"]
        out["all_steps_s"] += st["flush_s"]
    return out


def _median_spread(values) -> tuple[float, float, float]:
    """Median, lowest and highest of a list."""
    v = sorted(values)
    return float(np.median(v)), float(v[0]), float(v[-1])


#: The hand-overs the free-core configuration compares (the solver's default first).
HANDOVERS = ("deferred", "copy")


def bench_transport_free_core(server, raw, n: int = 64, steps: int = 100, repeats: int = 5,
                              echo=print) -> dict:
    """The configuration of a node with a core to spare: 1 solver rank at n^3 on one core, the
    database and the stager's sending thread on another; a snapshot (u v w p) every step and
    every 5 steps against none, with each hand-over (deferred: the sender copies the fields;
    copy: the solver thread does).

    The cases run in rounds, each round all of them in a rotated order: two runs without
    staging (their ratio is the noise floor: what the solver alone differs from itself), a
    snapshot every step and every 5 steps with each hand-over. Each overhead is the ratio to the
    first no-staging run of the same round; the median and the range over the rounds are
    reported, the noise floor beside them, and the two hand-overs against each other round by
    round. The target keys (`async_overhead_1rank`, `blocked_fraction_1rank`, ...) carry the
    default hand-over (deferred); `handovers` has both. Also: the solver thread's time in the
    hand-over per step (wall and CPU time; copying or registering, waiting for queue space —
    back-pressure — and waiting at the fence apart), its page faults, the bytes copied per
    snapshot and by whom, and the sustained staging rate beside redis-py SETs of the same bytes
    from the same (free) core."""
    import time

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        echo("free-core configuration skipped: this process may use only one core")
        return {"free_core_skipped": "fewer than 2 cores"}
    solver_cpu, free_cpu = cpus[0], cpus[1]
    _pin_all_threads(server.proc.pid, {free_cpu})
    env = {"SSDB": server.address, "SR_DB_TYPE": "Standalone", "SR_LOG_LEVEL": "QUIET",
           "SR_LOG_FILE": "/dev/null"}
    warmup = min(5, steps // 4)
    res = {"free_core_n": n, "free_core_steps": steps, "free_core_warmup_steps": warmup,
           "free_core_repeats": repeats, "free_core_cpus": [solver_cpu, free_cpu],
           "load_average_before": os.getloadavg()}
    cases = ["none", "none_again"] + [f"{h}_{e}" for h in HANDOVERS for e in (1, 5)]
    runs = {k: [] for k in cases}
    with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
        for r in range(repeats):
            for key in cases[r % len(cases):] + cases[:r % len(cases)]:
                if key.startswith("none"):
                    mode, every, handover = "none", 1, HANDOVERS[0]
                else:
                    handover, every = key.split("_")
                    mode, every = "async", int(every)
                runs[key].append(_staging_run_free_core(n, steps, mode, every, env, Path(tmp),
                                                        solver_cpu, free_cpu, warmup, handover))
                raw.flushall()
    res["load_average_after"] = os.getloadavg()

    def ratios(key, base="none"):
        return [a["wall_s"] / b["wall_s"] - 1 for a, b in zip(runs[key], runs[base])]

    def per_run(key, f):
        return _median_spread([f(r) for r in runs[key]])

    noise = _median_spread(ratios("none_again"))
    step_ms = per_run("none", lambda r: 1e3 * r["all_steps_s"] / steps)
    figures = {}
    for h in HANDOVERS:
        k1, k5 = f"{h}_1", f"{h}_5"
        a1 = runs[k1]
        blocks = [r["blocks_copied_by_sender"] + r["blocks_copied_by_fence"] for r in a1]
        figures[h] = {
            "overhead": _median_spread(ratios(k1)), "overhead_every5": _median_spread(ratios(k5)),
            "blocked": per_run(k1, lambda r: r["handover_s"] / r["all_steps_s"]),
            "blocked5": per_run(k5, lambda r: r["handover_s"] / r["all_steps_s"]),
            "blocked_ms": per_run(k1, lambda r: 1e3 * r["handover_s"] / steps),
            "copy_ms": per_run(k1, lambda r: 1e3 * r["handover_copy_s"] / r["submitted"]),
            "submit_ms": per_run(k1, lambda r: 1e3 * r["handover_submit_s"] / r["submitted"]),
            "fence_ms": per_run(k1, lambda r: 1e3 * r["handover_fence_s"] / r["submitted"]),
            "cpu_frac": per_run(k1, lambda r: r["handover_cpu_s"] / r["solver_thread_cpu_s"]),
            "faults": [r["handover_faults"] for r in a1],
            "faults5": [r["handover_faults"] for r in runs[k5]],
            # the share of the snapshot blocks the solver thread copied itself (copy: all)
            "solver_copied_share": [r["blocks_copied_by_fence"] / b if b else 1.0
                                    for r, b in zip(a1, blocks)],
            "high_water": max(r["queue_high_water_bytes"] for r in a1),
            "nsnap": [r["sent"] for r in a1],
            # the sender: a snapshot from submission to the database's reply (the queue never
            # held more than one snapshot when high_water is one snapshot: then this is the
            # sending itself, the deferred copy included)
            "send_ms": per_run(k1, lambda r: 1e3 * r["mean_latency_s"]),
            "stage_rate": per_run(k1, lambda r: r["bytes"] / r["all_steps_s"]),
        }
    d, c = figures[HANDOVERS[0]], figures[HANDOVERS[1]]
    # the hand-overs against each other in the same round (no-staging run not involved)
    paired1 = _median_spread(ratios(f"{HANDOVERS[0]}_1", f"{HANDOVERS[1]}_1"))
    paired5 = _median_spread(ratios(f"{HANDOVERS[0]}_5", f"{HANDOVERS[1]}_5"))
    a1 = runs[f"{HANDOVERS[0]}_1"]
    snap_bytes = a1[0]["bytes"] / max(a1[0]["sent"], 1)
    # redis-py SET of a snapshot's bytes from the free core: what one core can push to this server
    blob = np.zeros(int(snap_bytes) // 8).tobytes()
    old = os.sched_getaffinity(0)
    set_rates = []
    try:
        os.sched_setaffinity(0, {free_cpu})
        raw.set("bench_set", blob)
        count = max(10, min(100, int(1e9 // max(len(blob), 1))))
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(count):
                raw.set("bench_set", blob)
            set_rates.append(len(blob) * count / (time.perf_counter() - t0))
        raw.delete("bench_set")
    finally:
        os.sched_setaffinity(0, old)
    set_rate = float(np.median(set_rates))

    def summary(f):
        return {"async_overhead_1rank": f["overhead"][0],
                "async_overhead_1rank_range": f["overhead"][1:],
                "async_overhead_1rank_every5": f["overhead_every5"][0],
                "async_overhead_1rank_every5_range": f["overhead_every5"][1:],
                "blocked_s_per_step_1rank": f["blocked_ms"][0] / 1e3,
                "blocked_fraction_1rank": f["blocked"][0],
                "blocked_fraction_1rank_range": f["blocked"][1:],
                "blocked_fraction_1rank_every5": f["blocked5"][0],
                "blocked_cpu_fraction_1rank": f["cpu_frac"][0],
                "handover_copy_ms_per_snapshot": f["copy_ms"][0],
                "handover_submit_ms_per_snapshot": f["submit_ms"][0],
                "handover_fence_ms_per_snapshot": f["fence_ms"][0],
                "handover_page_faults": f["faults"], "handover_page_faults_every5": f["faults5"],
                "solver_copied_share": f["solver_copied_share"],
                # what the solver thread copied per snapshot (deferred: the blocks it copied at
                # a fence); the sender passes once over every snapshot either way (deferred:
                # copying and transposing at once; copy: transposing the solver's copy)
                "solver_copy_bytes_per_snapshot":
                    snap_bytes * float(np.median(f["solver_copied_share"])),
                "snapshots_1rank": f["nsnap"],
                "queue_high_water_bytes_1rank": f["high_water"],
                "sender_ms_per_snapshot": f["send_ms"][0],
                "staging_rate_Bps_1rank": f["stage_rate"][0],
                "sender_rate_Bps_1rank": snap_bytes / (f["send_ms"][0] / 1e3)}

    res.update({
        "free_core_runs": {k: [r["wall_s"] for r in v] for k, v in runs.items()},
        "free_core_staging": {k: runs[k] for k in cases if not k.startswith("none")},
        "noise_floor_1rank": noise[0], "noise_floor_1rank_range": noise[1:],
        "step_ms_1rank": step_ms[0],
        "handover_default": HANDOVERS[0],
        **summary(d),
        "handovers": {h: summary(f) for h, f in figures.items()},
        "deferred_vs_copy_wall_1rank": paired1[0], "deferred_vs_copy_wall_1rank_range": paired1[1:],
        "deferred_vs_copy_wall_1rank_every5": paired5[0],
        "deferred_vs_copy_wall_1rank_every5_range": paired5[1:],
        "snapshot_bytes_1rank": snap_bytes,
        # copied out of the fields once per snapshot: deferred, by the sender transposing as it
        # copies (one pass to the bytes sent; a block the fence copies is transposed later);
        # copy, by the solver thread, then transposed by the sender (two passes)
        "snapshot_copy_bytes": a1[0]["snapshot_copy_bytes"],
        "sender_copy_bytes_per_snapshot": a1[0]["snapshot_copy_bytes"],
        "redis_set_Bps_free_core": set_rate, "redis_set_Bps_free_core_runs": set_rates,
    })

    def pct(m):
        return f"{100 * m[0]:+.1f} % [{100 * m[1]:+.1f}, {100 * m[2]:+.1f}]"

    echo(f"free core: solver {n}^3 on 1 rank (core {solver_cpu}), database and sender on core "
         f"{free_cpu}; {repeats} rounds of {steps} steps (the first {warmup} not timed), cases "
         f"alternated; load average {res['load_average_before'][0]:.1f} before, "
         f"{res['load_average_after'][0]:.1f} after")
    echo(f"  no staging: {step_ms[0]:.1f} ms per step; noise floor (no staging against itself): "
         f"{pct(noise)}  — median [range] over the rounds")
    for h, f in figures.items():
        share = float(np.median(f["solver_copied_share"]))
        echo(f"  hand-over {h}{' (default)' if h == HANDOVERS[0] else ''}:")
        echo(f"    a snapshot every step : overhead {pct(f['overhead'])}   (target <= 10 %; "
             f"noise floor {100 * noise[0]:+.1f} %)")
        echo(f"    a snapshot every 5    : overhead {pct(f['overhead_every5'])}   (target <= 3 %)")
        echo(f"    solver thread blocked: {f['blocked_ms'][0]:.2f} ms per step, "
             f"{100 * f['blocked'][0]:.1f} % [{100 * f['blocked'][1]:.1f}, "
             f"{100 * f['blocked'][2]:.1f}] of the step (target <= 5 %); of its CPU time "
             f"{100 * f['cpu_frac'][0]:.1f} %; per snapshot: "
             f"{'registering' if h == 'deferred' else 'copying'} {f['copy_ms'][0]:.2f} ms, "
             f"at the fence {f['fence_ms'][0]:.2f} ms, waiting for queue space "
             f"{f['submit_ms'][0]:.3f} ms; the solver thread copied {100 * share:.0f} % of the "
             f"blocks; page faults {f['faults']}; queue high water "
             f"{f['high_water'] / 2**20:.1f} MiB")
        echo(f"    staging sustained {f['stage_rate'][0] / 1e6:.0f} MB/s; the sender takes "
             f"{f['send_ms'][0]:.1f} ms per snapshot")
    echo(f"  deferred against copy, same round: every step {pct(paired1)}, every 5 steps "
         f"{pct(paired5)} (wall time)")
    echo(f"  copied per snapshot: {snap_bytes / 2**20:.1f} MiB out of the fields; deferred: by the "
         f"sender, transposing as it copies (one pass); copy: by the solver thread, then "
         f"transposed by the sender (two); redis-py SET of the same bytes from core {free_cpu}: "
         f"{set_rate / 1e6:.0f} MB/s")
    return res


def bench_transport(sizes=(256 * 1024, 8 * 1024 * 1024), n: int = 64, steps: int = 60,
                    repeats: int = 3, json_path: str | Path | None = None, echo=print,
                    free_core_only: bool = False, free_core_steps: int = 100,
                    free_core_repeats: int = 5) -> dict:
    """Put throughput of the Fortran client against the SmartRedis Python client and a plain
    Redis SET of the same bytes on the same server; the solver's time at n^3 on 2 ranks with a
    snapshot staged every step, synchronously and asynchronously, against no staging."""
    import time

    import redis
    from smartredis import Client

    from . import database
    from .client_config import put_bench_executable

    info = machine_info()
    echo(f"machine: {info['cpu']}, {info['cores']} cores")
    server = database.LocalServer()
    env = {"SSDB": server.address, "SR_DB_TYPE": "Standalone", "SR_LOG_LEVEL": "QUIET",
           "SR_LOG_FILE": "/dev/null"}
    os.environ.update({k: v for k, v in env.items() if k.startswith("SR_LOG")})
    result = {"benchmark": "transport", "machine": info, "sizes": {}}
    try:
        sr = Client(False, server.address, logger_name="eddylearn-bench")
        raw = redis.Redis(host="127.0.0.1", port=server.port)
        for size in ([] if free_core_only else sizes):
            count = max(20, min(2000, int(1.5e9 // size)))
            data = np.arange(size // 8, dtype=np.float64)
            blob = data.tobytes()
            rates = {"fortran": [], "smartredis": [], "redis_set": []}
            for _ in range(repeats):
                out = subprocess.run([str(put_bench_executable()), str(size), str(count),
                                      "bench_f"], capture_output=True, text=True, check=True,
                                     env=_solver.child_env(env)).stdout
                rates["fortran"].append(float(out.split("MBps=")[1].split()[0]) * 1e6)
                t0 = time.perf_counter()
                for _ in range(count):
                    sr.put_tensor("bench_py", data)
                rates["smartredis"].append(size * count / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                for _ in range(count):
                    raw.set("bench_set", blob)
                rates["redis_set"].append(size * count / (time.perf_counter() - t0))
            best = {k: max(v) for k, v in rates.items()}
            entry = {"count": count, "bytes_per_s": best, "runs": rates,
                     "ratio_vs_smartredis": best["fortran"] / best["smartredis"],
                     "ratio_vs_redis_set": best["fortran"] / best["redis_set"]}
            result["sizes"][str(size)] = entry
            echo(f"put {size // 1024:6d} KiB: Fortran {best['fortran'] / 1e6:8.0f} MB/s, "
                 f"SmartRedis Python {best['smartredis'] / 1e6:8.0f} MB/s "
                 f"(ratio {entry['ratio_vs_smartredis']:.2f}, target >= 1.0), Redis SET "
                 f"{best['redis_set'] / 1e6:8.0f} MB/s (ratio {entry['ratio_vs_redis_set']:.2f},"
                 f" target >= 0.8)")
        with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
            for every in (() if free_core_only else (1, 10)):
                times = {"none": [], "async": [], "sync": []}
                for _ in range(repeats):
                    for mode in times:
                        times[mode].append(_staging_run(n, steps, mode, env, Path(tmp), every))
                        raw.flushall()
                best_t = {k: min(v) for k, v in times.items()}
                key = "" if every == 1 else f"_every_{every}"
                result.update({f"staging_wall_s{key}": best_t, f"staging_runs_s{key}": times,
                               f"async_overhead{key}": best_t["async"] / best_t["none"] - 1,
                               f"sync_overhead{key}": best_t["sync"] / best_t["none"] - 1})
                echo(f"solver {n}^3 on 2 ranks, {steps} steps, a snapshot (u v w p) every "
                     f"{every} step(s): none {best_t['none']:.3f} s, async "
                     f"{best_t['async']:.3f} s (overhead "
                     f"{100 * (best_t['async'] / best_t['none'] - 1):+.1f} %"
                     f"{', target <= 2 %' if every == 1 else ''}), sync {best_t['sync']:.3f} s "
                     f"(overhead {100 * (best_t['sync'] / best_t['none'] - 1):+.1f} %)")
        result.update({"staging_n": n, "staging_steps": steps,
                       "snapshot_bytes_per_rank": 4 * 8 * n * n * (n // 2)})
        # last: it pins the database's threads to one core
        result.update(bench_transport_free_core(server, raw, n=n, steps=free_core_steps,
                                                repeats=free_core_repeats, echo=echo))
    finally:
        server.close()
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _free_base_port(shards: int, start: int = 16400) -> int:
    """A port p with p .. p+shards-1 and their cluster bus ports (+10000) free on loopback."""
    from . import database
    for base in range(start, 40000, 97):
        wanted = [base + i for i in range(shards)]
        wanted += [p + 10000 for p in wanted] if shards > 1 else []
        if all(database.port_free("127.0.0.1", p) for p in wanted):
            return base
    raise RuntimeError("no free ports for the benchmark's database")


def bench_transport_shards(shards: int = 3, n: int = 64, steps: int = 40, repeats: int = 2,
                           json_path: str | Path | None = None, echo=print) -> dict:
    """The put throughput of the solver's staging (n^3 on 2 ranks, a snapshot u v w p every
    step, staged synchronously so the puts are on the step's clock) into a Redis Cluster of
    `shards` shards, next to the same into one shard measured in the same run: bytes sent
    over the time the stager's puts took (its staging.json), best of the repeats; the wall
    times with and without staging beside it. The shards run on this machine (loopback), as
    `eddylearn db start --shards N` starts them."""
    from . import database
    if shards < 3:
        raise ValueError(f"--shards must be 3 or more (the baseline is one shard), got {shards}")
    info = machine_info()
    echo(f"machine: {info['cpu']}, {info['cores']} cores")
    log_env = {"SR_LOG_LEVEL": "QUIET", "SR_LOG_FILE": "/dev/null"}
    staged = 4 * 8 * n ** 3 * steps                  # bytes: u v w p, every step, both ranks
    result = {"benchmark": "transport_shards", "machine": info, "n": n, "steps": steps,
              "bytes_staged": staged, "wall_s": {}, "bytes_per_s": {}}
    with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
        none = min(_staging_run(n, steps, "none", log_env, Path(tmp)) for _ in range(repeats))
        result["wall_s"]["none"] = none
        for count in (1, shards):
            port = _free_base_port(count)
            st = database.start(port=port, shards=count, run_dir=Path(tmp) / f"db{count}")
            try:
                env = {**log_env, "SSDB": ",".join(st.addresses),
                       "SR_DB_TYPE": "Clustered" if count > 1 else "Standalone"}
                times, rates = [], []
                for _ in range(repeats):
                    times.append(_staging_run(n, steps, "sync", env, Path(tmp) / f"s{count}"))
                    # the stager's own account: bytes over the time its puts took
                    sj = json.loads((Path(tmp) / f"s{count}" / "staging_sync_1" /
                                     "staging.json").read_text())
                    rates.append(sj["bytes"] / max(sj["sent"] * sj["mean_latency_s"], 1e-9))
                    for address in st.addresses:
                        host, p = address.rsplit(":", 1)
                        database._redis(host, int(p)).flushall()
            finally:
                database.stop_state(st)
            key = f"{count}_shard" + ("s" if count > 1 else "")
            result["wall_s"][key] = min(times)
            result["bytes_per_s"][key] = max(rates)
            result.setdefault("runs", {})[key] = {"wall_s": times, "bytes_per_s": rates}
    one, many = result["bytes_per_s"]["1_shard"], result["bytes_per_s"][f"{shards}_shards"]
    result["ratio"] = many / one
    echo(f"solver {n}^3 on 2 ranks, {steps} steps, a snapshot (u v w p, "
         f"{staged / steps / 2 / 1e6:.1f} MB per rank) staged synchronously every step: put "
         f"throughput 1 shard {one / 1e6:.0f} MB/s (baseline), {shards} shards "
         f"{many / 1e6:.0f} MB/s (ratio {result['ratio']:.2f}); wall time no staging "
         f"{none:.3f} s, 1 shard {result['wall_s']['1_shard']:.3f} s, {shards} shards "
         f"{result['wall_s'][f'{shards}_shards']:.3f} s")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
    return result
