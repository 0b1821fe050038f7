"""Shared fixtures: run the installed solver under a real mpirun in a temporary folder."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from eddylearn import solver
from eddylearn._paths import solver_executable
from eddylearn.io import read_checkpoint, read_diagnostics, write_namelist


class SolverRun:
    """Write a namelist into a folder, run the solver there, read what it wrote."""

    def __init__(self, root: Path):
        self.root = root
        self.count = 0

    def __call__(self, groups: dict, nranks: int = 1, name: str | None = None,
                 check: bool = True, timeout: float = 300) -> "RunResult":
        self.count += 1
        run_dir = self.root / (name or f"run{self.count}")
        run_dir.mkdir(parents=True, exist_ok=True)
        groups = {g: dict(v) for g, v in groups.items()}
        groups.setdefault("output", {}).setdefault("dir", str(run_dir))
        groups["output"].setdefault("verbose", False)
        nml = write_namelist(run_dir / "input.nml", groups)
        cmd = solver.mpirun_command(nranks) + [str(solver_executable()), str(nml)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=run_dir, env=solver.child_env())
        if check and proc.returncode != 0:
            raise AssertionError(f"solver failed ({proc.returncode}):\n{proc.stderr}")
        return RunResult(run_dir, proc)


class RunResult:
    def __init__(self, run_dir: Path, proc: subprocess.CompletedProcess):
        self.dir = run_dir
        self.proc = proc

    def checkpoint(self, name: str = "checkpoint.bin"):
        return read_checkpoint(self.dir / name)

    def diagnostics(self):
        return read_diagnostics(self.dir / "diagnostics.csv")


@pytest.fixture
def run_solver(tmp_path) -> SolverRun:
    return SolverRun(tmp_path)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A private Slurm cluster of five emulated nodes (n1..n5, 4 CPUs each) with accounting,
    started once for the session and stopped at its end (tests/slurmcluster.py). Debian's
    Slurm, munge and MariaDB packages are installed on first use."""
    import os
    from slurmcluster import SlurmCluster, install_packages, missing_executables
    if os.geteuid() != 0:
        pytest.skip("the Slurm cluster needs root (network namespaces, daemons as root)")
    if missing_executables():
        install_packages()
    root = Path(f"/tmp/eddylearn-slurm-{os.getpid()}")   # short: socket paths are limited
    import shutil
    try:
        with SlurmCluster(root, nodes=5, cpus=4) as cluster:
            yield cluster
    finally:
        shutil.rmtree(root, ignore_errors=True)
