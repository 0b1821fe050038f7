"""Run the solver: under its MPI launcher as a separate program, or serially in this process.

The in-process :class:`Solver` uses the f90wrap bindings of the solver's Fortran kernels
(module ``el_api``); it is meant for tests and notebooks. Production runs use :func:`run`.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path
from typing import Mapping

import numpy as np

from . import launch
from ._paths import solver_executable
from .io import write_namelist

log = logging.getLogger(__name__)


class SolverError(RuntimeError):
    """The solver refused its input or failed; the message is the solver's own."""


def mpirun_command(nranks: int, launcher: str | None = None) -> list[str]:
    """The launch prefix for nranks solver ranks (eddylearn.launch chooses the launcher)."""
    return launch.command(nranks, launcher)


# variables of a running MPI job (Open MPI, MPICH's Hydra and PMI, a Slurm job step)
_LAUNCH_PREFIXES = ("PMIX_", "ORTE_", "OMPI_COMM_WORLD", "OMPI_MCA_ess", "OMPI_MCA_orte_",
                    "OMPI_MCA_pmix", "OMPI_APP_CTX", "OMPI_FIRST_RANKS", "OMPI_UNIVERSE",
                    "PMI_", "HYDI_", "HYDRA_", "MPI_LOCALNRANKS", "MPI_LOCALRANKID",
                    launch.NRANKS_VAR)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child mpirun: this process's environment without the variables of an
    MPI job it belongs to (an in-process solver or a launch by mpirun), which would make the
    child join that job instead of starting its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCH_PREFIXES)}
    env.update(extra or {})
    return env


def run(config: str | Path, nranks: int = 1, *, cwd: str | Path | None = None,
        stream: bool = True, timeout: float | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the solver executable on `config` (a namelist file) with nranks MPI ranks.

    With stream=True the solver's progress lines go to this process's stdout as they come.
    env: variables added to the solver's environment (for example SSDB for a learned model).
    Raises SolverError with the solver's message when it exits non-zero.
    """
    config = Path(config)
    if not config.is_file():
        raise SolverError(f"input file not found: {config}")
    cmd = mpirun_command(nranks) + [str(solver_executable()), str(config.resolve())]
    log.info("running %s", " ".join(cmd))
    # mpirun leads its own process group: a stop of this process (Ctrl-C, SIGTERM, SIGHUP,
    # an error) ends mpirun and its ranks together, never leaving ranks behind
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**child_env(), **(env or {})}, start_new_session=True)
    out_lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out_lines.append(line)
            if stream:
                sys.stdout.write(line)
                sys.stdout.flush()
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_solver(proc)
        raise SolverError(f"solver did not finish within {timeout} s") from None
    except BaseException:
        _end_solver(proc)
        raise
    result = subprocess.CompletedProcess(cmd, proc.returncode, "".join(out_lines), err)
    if proc.returncode != 0:
        msgs = [ln.split("error:", 1)[1].strip() for ln in err.splitlines()
                if "eddylearn-solver: error:" in ln]
        detail = msgs[0] if msgs else (err.strip().splitlines() or ["(no message)"])[-1]
        raise SolverError(f"solver failed (exit {proc.returncode}): {detail}")
    return result


def _end_solver(proc: subprocess.Popen) -> None:
    """Ends mpirun and its ranks (SIGTERM to the tree, SIGKILL after 5 s) and collects them;
    a stop signal that comes meanwhile does not cut it short (stopping.shield)."""
    from .stopping import end_tree, shield

    with shield():
        end_tree(proc.pid, grace=5.0)
        try:
            proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass


class Solver:
    """A serial solver in this process, driven step by step (f90wrap bindings).

    >>> s = Solver({"domain": {"nx": 16, "ny": 16, "nz": 16}, "time": {"t_end": 1.0}})
    >>> s.step(10); u = s.field("u"); s.diagnostics()["energy"]

    Only one instance can be live per process (the Fortran side holds one state): a second
    is refused until the first is closed. step() and advance() make the executable's checks
    (max_steps, a failed SGS model, a solution that blew up) and raise SolverError.
    """

    _live = None    # weak reference to the live instance

    def __init__(self, config: str | Path | Mapping[str, Mapping[str, object]],
                 workdir: str | Path | None = None):
        from . import elsolver  # the compiled extension
        if Solver._live is not None and Solver._live() is not None:
            raise SolverError("a Solver is already live in this process (the Fortran side holds "
                              "one state); close() it, or leave its with-block, first")
        self._api = elsolver.El_Api
        self._tmp = None
        if isinstance(config, Mapping):
            if workdir is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="eddylearn-solver-")
                workdir = self._tmp.name
            Path(workdir).mkdir(parents=True, exist_ok=True)
            groups = {g: dict(v) for g, v in config.items()}
            groups.setdefault("output", {}).setdefault("dir", str(Path(workdir) / "out"))
            groups["output"].setdefault("verbose", False)
            config = write_namelist(Path(workdir) / "input.nml", groups)
        try:
            self._check(self._api.el_init(str(config)))
            nx, ny, nz, ierr = self._api.el_grid()
            self._check(ierr)
        except BaseException:
            self._api.el_finalize()
            if self._tmp is not None:
                self._tmp.cleanup()
            raise
        self.shape = (int(nx), int(ny), int(nz))
        Solver._live = weakref.ref(self)

    def _check(self, ierr: int) -> None:
        if ierr != 0:
            msg = self._api.el_last_error()
            if isinstance(msg, bytes):
                msg = msg.decode(errors="replace")
            raise SolverError(msg.strip())

    def step(self, nsteps: int = 1) -> None:
        """Take nsteps RK3 steps (stops early at t_end)."""
        self._check(self._api.el_step(int(nsteps)))

    def advance(self, t: float) -> None:
        """Advance to time t (at most t_end)."""
        self._check(self._api.el_advance(float(t)))

    @property
    def time(self) -> float:
        return float(self._state()[1])

    @property
    def nstep(self) -> int:
        return int(self._state()[0])

    def _state(self):
        step, time, dt, ierr = self._api.el_state()
        self._check(ierr)
        return step, time, dt

    def field(self, name: str) -> np.ndarray:
        """A copy of field u, v, w or p as an (nx, ny, nz) Fortran-ordered array."""
        a = np.zeros(self.shape, dtype=np.float64, order="F")
        self._check(self._api.el_get_field(name, a))
        return a

    def set_field(self, name: str, values: np.ndarray) -> None:
        """Overwrite velocity component u, v or w."""
        a = np.asfortranarray(values, dtype=np.float64)
        if a.shape != self.shape:
            raise ValueError(f"array shape {a.shape} does not match the grid {self.shape}")
        self._check(self._api.el_set_field(name, a))

    def diagnostics(self) -> dict[str, float]:
        """Energy, enstrophy, viscous and SGS dissipation, max divergence and CFL now."""
        *vals, ierr = self._api.el_diagnostics()
        self._check(ierr)
        keys = ("energy", "enstrophy", "eps_visc", "eps_sgs", "div_max", "cfl")
        return {k: float(v) for k, v in zip(keys, vals)}

    def sgs_samples(self, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """SGS training samples of the current field, box filter over width^3 cells.

        Returns features (n, 9), the filtered velocity gradient d(ubar_i)/dx_j by central
        differences on the coarse grid, and labels (n, 6), tau_11, tau_22, tau_33, tau_12,
        tau_13, tau_23, one row per coarse cell (x fastest)."""
        n, ierr = self._api.el_sgs_count(int(width))
        self._check(ierr)
        features = np.zeros((n, 9), dtype=np.float64, order="F")
        labels = np.zeros((n, 6), dtype=np.float64, order="F")
        self._check(self._api.el_sgs_samples(int(width), features, labels))
        return features, labels

    def sgs_stress(self) -> tuple[np.ndarray, float]:
        """The SGS model's stress of the current field at the cell centres and its dissipation.

        Returns tau (nx*ny*nz, 6), tau_11, tau_22, tau_33, tau_12, tau_13, tau_23 per cell with
        x fastest (after the model's backscatter clipping), and the sum over cells of
        -tau_ij S_ij. The model is evaluated once, as in an RK stage; the field is unchanged."""
        tau = np.zeros((int(np.prod(self.shape)), 6), dtype=np.float64, order="F")
        eps, ierr = self._api.el_sgs_stress(tau)
        self._check(ierr)
        return tau, float(eps)

    def checkpoint(self, name: str) -> None:
        """Write checkpoint `name` into the run's output folder."""
        self._check(self._api.el_checkpoint(name))

    def close(self) -> None:
        if Solver._live is None or Solver._live() is not self:
            return      # closed already
        Solver._live = None
        self._api.el_finalize()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __del__(self) -> None:     # an instance dropped without close() frees the state
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __enter__(self) -> "Solver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
