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
