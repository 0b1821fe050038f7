"""How the MPI solver is started: the one place that builds the launch command, for
`eddylearn solve`, `validate`, `bench` and the experiment.

The build records the MPI the solver was linked with (``eddylearn/_mpi.json``: family, its
launcher, the MPI libraries). The launcher is, in order of precedence:

1. the one asked for: ``--launcher`` or ``EDDYLEARN_LAUNCHER``, a kind (``openmpi``, ``mpich``,
   ``intel``, ``srun``) or an executable (``mpiexec.mpich``, ``/opt/mpi/bin/mpirun``), whose
   kind is read from its ``--version``;
2. ``srun`` inside a Slurm allocation (``SLURM_JOB_ID`` set and ``srun`` on PATH);
3. the launcher of the MPI the solver was built with.

Every command exports ``EDDYLEARN_NRANKS`` to the ranks; the solver refuses to run when its MPI
world is of another size (a launcher of another MPI starts N singletons).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ._paths import PACKAGE_DIR, solver_executable

KINDS = ("openmpi", "mpich", "intel", "srun")
#: the environment variable through which the solver learns the rank count it was launched for
NRANKS_VAR = "EDDYLEARN_NRANKS"
LAUNCHER_VAR = "EDDYLEARN_LAUNCHER"
FAMILY_NAMES = {"openmpi": "Open MPI", "mpich": "MPICH", "intel": "Intel MPI",
                "srun": "Slurm", "unknown": "an unidentified MPI"}
SOURCE_BUILD = ("build eddylearn from source against your MPI: pip install --no-binary eddylearn "
                "eddylearn (see docs/install.md)")


class LaunchError(RuntimeError):
    """No usable launcher, or the solver's MPI library is not there; the message says why."""


@functools.lru_cache(maxsize=1)
def build_record() -> dict:
    """What the build recorded about its MPI ({} for a build without a record)."""
    path = PACKAGE_DIR / "_mpi.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@functools.lru_cache(maxsize=None)
def identify(exe: str) -> str:
    """The kind of a launcher executable, from what its --version says."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        text = out.stdout + out.stderr
    except (OSError, subprocess.TimeoutExpired):
        text = ""
    if "Open MPI" in text or "OpenRTE" in text:
        return "openmpi"
    if "Intel(R) MPI" in text:
        return "intel"
    if text.lstrip().lower().startswith("slurm"):   # srun --version: "slurm 23.02.7"
        return "srun"
    # HYDRA (MPICH and its derivatives) and anything else: the standard `mpiexec -n N`
    return "mpich"


@dataclass(frozen=True)
class Launcher:
    kind: str   # openmpi | mpich | intel | srun
    exe: str    # full path

    def command(self, nranks: int) -> list[str]:
        """The launch prefix for nranks ranks, exporting the expected size to them."""
        n = str(nranks)
        if self.kind == "openmpi":
            cmd = [self.exe, "-np", n, "-x", f"{NRANKS_VAR}={n}"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-run-as-root")
            if nranks > (os.cpu_count() or 1):
                cmd.append("--oversubscribe")
            return cmd
        if self.kind == "srun":
            return [self.exe, "--ntasks", n, f"--export=ALL,{NRANKS_VAR}={n}"]
        return [self.exe, "-n", n, "-genv", NRANKS_VAR, n]


#: launcher names of each kind, most specific first (Debian installs MPIs side by side as
#: mpirun.openmpi, mpiexec.mpich)
_NAMES = {"openmpi": ("mpirun.openmpi", "mpirun", "mpiexec"),
          "mpich": ("mpiexec.mpich", "mpiexec.hydra", "mpiexec", "mpirun"),
          "intel": ("mpiexec.hydra", "mpiexec", "mpirun"),
          "srun": ("srun",)}


def _default_exe(kind: str) -> str | None:
    """The launcher executable of that kind: the build's own if it is of that kind, else the
    first on PATH that says it is."""
    rec = build_record()
    if kind == rec.get("family") and rec.get("launcher_path") and \
            os.access(rec["launcher_path"], os.X_OK):
        return rec["launcher_path"]
    names = _NAMES[kind]
    if kind == rec.get("family") and rec.get("launcher"):
        names = (rec["launcher"],) + names
    for name in dict.fromkeys(names):
        path = shutil.which(name)
        if path and (kind == "srun" or identify(path) == kind):
            return path
    return None


def resolve(choice: str | None = None) -> Launcher:
    """The launcher for choice (a kind or an executable), else EDDYLEARN_LAUNCHER, else srun
    in a Slurm allocation, else the one of the MPI the solver was built with."""
    choice = choice or os.environ.get(LAUNCHER_VAR) or None
    if choice:
        if choice in KINDS:
            exe = _default_exe(choice)
            if exe is None:
                raise LaunchError(f"launcher {choice!r}: none of {', '.join(_NAMES[choice])} on "
                                  f"PATH is {FAMILY_NAMES[choice]}'s")
            return Launcher(choice, exe)
        exe = shutil.which(choice)
        if exe is None:
            raise LaunchError(f"launcher {choice!r} is neither one of {', '.join(KINDS)} nor an "
                              f"executable on PATH")
        return Launcher(identify(exe), exe)
    if os.environ.get("SLURM_JOB_ID") and shutil.which("srun"):
        return Launcher("srun", shutil.which("srun"))
    rec = build_record()
    family = rec.get("family", "openmpi")
    kind = family if family in KINDS else "mpich"
    exe = _default_exe(kind)
    if exe is None and family == "unknown":
        exe = shutil.which("mpiexec")
    if exe is None:
        raise LaunchError(
            f"the solver was built with {FAMILY_NAMES.get(family, family)}, whose launcher "
            f"({rec.get('launcher') or 'mpirun/mpiexec'}) is not on PATH; load that MPI, name a "
            f"launcher with --launcher or {LAUNCHER_VAR}, or {SOURCE_BUILD}")
    found = identify(exe)
    if found != kind and family != "unknown":
        raise LaunchError(
            f"the solver was built with {FAMILY_NAMES[kind]} but {exe} belongs to "
            f"{FAMILY_NAMES[found]}; load the MPI the solver was built with, or {SOURCE_BUILD}")
    return Launcher(kind, exe)


def check_mpi_library() -> None:
    """Raise LaunchError when a library the solver was linked with, its MPI's above all, is
    missing here (a wheel on a machine without that MPI): one line, once per executable."""
    _check_libraries(str(solver_executable()))


@functools.lru_cache(maxsize=None)
def _check_libraries(exe: str) -> None:
    try:
        out = subprocess.run(["ldd", exe], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return  # no ldd: the launch itself will say
    missing = [ln.split()[0] for ln in out.splitlines() if "not found" in ln]
    mpi = [lib for lib in missing if lib.startswith(("libmpi", "libmpich"))]
    if mpi:
        family = FAMILY_NAMES.get(build_record().get("family", "unknown"), "its MPI")
        raise LaunchError(f"the solver needs {', '.join(mpi)} ({family}, the MPI it was built "
                          f"with), which is not found here; load that MPI or {SOURCE_BUILD}")
    if missing:
        raise LaunchError(f"the solver needs {', '.join(missing)}, which is not found here; "
                          f"reinstall eddylearn")


def command(nranks: int, launcher: str | None = None) -> list[str]:
    """The launch prefix for nranks ranks of the solver (see the module's docstring)."""
    if nranks < 1:
        raise ValueError(f"the rank count must be at least 1, got {nranks}")
    check_mpi_library()
    return resolve(launcher).command(nranks)
