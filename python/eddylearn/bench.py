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


def bench_training(sets: int = 24, steps: int = 600, batch: int = 256,
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
        port = database.free_port() if hasattr(database, "free_port") else 26999
        proc = subprocess.Popen(database.server_command(port), cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            database.wait_ready("127.0.0.1", port, 60, proc)
            client = Client(False, f"127.0.0.1:{port}", logger_name="eddylearn-bench")
            for k, (f, l) in enumerate(data):
                ds = Dataset(f"sgs.{k}.0")
                ds.add_tensor("features", np.ascontiguousarray(f))
                ds.add_tensor("labels", np.ascontiguousarray(l))
                ds.add_meta_scalar("delta", np.float64(2 * 2 * np.pi / 32))
                client.put_dataset(ds)
                client.append_to_list("sgs_samples", ds)
            cfg = TrainerConfig(out=str(tmp / "t"), batch=batch, resume=False, val_every=10 ** 9,
                                publish_every=10 ** 9, steps_per_round=20)

            def timed(trainer, from_db: bool) -> float:
                t0 = time.perf_counter()
                if from_db:
                    while trainer.poll_data() == 0 or len(trainer.train) == 0:
                        pass
                trainer._fix_normalisation()
                while trainer.step < steps:
                    if from_db:
                        trainer.poll_data()
                        trainer.stop_requested()
                    trainer.train_round()
                return steps * batch / (time.perf_counter() - t0)

            results = {}
            for rep in range(2):      # alternate, keep the best of each
                db_tr = Trainer(cfg, client=client)
                rate_db = timed(db_tr, True)
                mem_tr = Trainer(cfg, client=client)
                for f, l in data:
                    mem_tr.train.add(f, l)
                rate_mem = timed(mem_tr, False)
                results.setdefault("db", []).append(rate_db)
                results.setdefault("memory", []).append(rate_mem)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
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
