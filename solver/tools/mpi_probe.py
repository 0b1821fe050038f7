"""Find the MPI Fortran wrapper the build uses and what it means; print it for meson.

The wrapper is $MPIFC, else the Fortran wrapper next to $MPICC, else the first of mpifort,
mpif90 on PATH. Output: one `key<TAB>value` line per fact (family, wrapper, compiler, launcher)
and one `compile<TAB>arg` / `link<TAB>arg` line per flag. Exit 1 with a message on failure.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

HOW_TO_GET = ("install an MPI with its Fortran wrapper, or name yours with MPIFC=...: "
              "Debian/Ubuntu: apt install libopenmpi-dev openmpi-bin (or libmpich-dev mpich); "
              "RHEL: dnf install openmpi-devel (or mpich-devel) and module load mpi; "
              "Spack: spack install openmpi (or mpich) && spack load openmpi; "
              "conda-forge: conda install -c conda-forge openmpi-mpifort (or mpich-mpifort); "
              "on a cluster: module load <your MPI>")


def fail(msg: str) -> None:
    print(f"MPI: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd: list[str]) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def wrapper() -> tuple[str, str]:
    """(the wrapper as named, its full path)."""
    named = os.environ.get("MPIFC")
    source = "MPIFC"
    if not named and os.environ.get("MPICC"):
        cc = os.environ["MPICC"]
        head, base = os.path.split(cc)
        named = os.path.join(head, base.replace("mpicc", "mpifort", 1))
        source = f"MPICC={cc}, its Fortran wrapper"
    if named:
        path = shutil.which(named)
        if path is None:
            fail(f"{source} names {named}, which is not an executable on PATH")
        return named, path
    for name in ("mpifort", "mpif90"):
        path = shutil.which(name)
        if path:
            return name, path
    fail("no MPI Fortran wrapper (mpifort, mpif90) on PATH and MPIFC is not set; " + HOW_TO_GET)
    raise AssertionError


def flags(path: str) -> tuple[str, list[str], list[str]]:
    """(underlying compiler, include/define args, library args): the wrapper's own report,
    without its optimisation and language flags, which are the build's business."""
    compiler, cargs, largs = raw_flags(path)
    return compiler, [a for a in cargs if a.startswith(("-I", "-D"))], \
        [a for a in largs if a.startswith(("-L", "-l", "-Wl,", "-pthread"))]


def raw_flags(path: str) -> tuple[str, list[str], list[str]]:
    ompi_c = run([path, "--showme:compile"])
    ompi_l = run([path, "--showme:link"])
    ompi_cc = run([path, "--showme:command"])
    if ompi_c is not None and ompi_l is not None and ompi_cc:
        return shlex.split(ompi_cc)[0], shlex.split(ompi_c), \
            [a for a in shlex.split(ompi_l) if not a.startswith("-I")]
    for comp, link in (("-compile_info", "-link_info"), ("-show-compile-info", "-show-link-info")):
        c, lk = run([path, comp]), run([path, link])
        if c and lk:
            cw, lw = shlex.split(c), shlex.split(lk)
            # the first word is the compiler; compile_info also lists the link flags
            return cw[0], [a for a in cw[1:] if a.startswith(("-I", "-D", "-f", "-pthread"))], \
                [a for a in lw[1:] if not a.startswith(("-I", "-D", "-c"))]
    show = run([path, "-show"])
    if show:
        w = shlex.split(show)
        return w[0], [a for a in w[1:] if a.startswith(("-I", "-D"))], \
            [a for a in w[1:] if a.startswith(("-L", "-l", "-Wl", "-pthread"))]
    # a compiler that brings MPI itself (Cray's ftn): no flags; the build then checks that
    # mpi_f08 compiles and links with it as the Fortran compiler (FC=ftn MPIFC=ftn)
    print(f"MPI: {path} reports no flags (tried --showme, -compile_info, -show); taking it for "
          "a compiler with MPI built in", file=sys.stderr)
    return os.path.basename(path), [], []


def launcher(named: str, path: str) -> tuple[str, str, str]:
    """(family, launcher name, launcher path): the launcher installed next to the wrapper, with
    the same suffix (mpifort.mpich -> mpiexec.mpich), identified by its --version."""
    base = os.path.basename(named)
    suffix = base[base.index("."):] if "." in base else ""
    dirs = [os.path.dirname(os.path.abspath(named)) if os.sep in named else None,
            os.path.dirname(path), os.path.dirname(os.path.realpath(path))]
    for d in dict.fromkeys(x for x in dirs if x):
        for stem in ("mpiexec", "mpirun"):
            exe = os.path.join(d, stem + suffix)
            if os.access(exe, os.X_OK):
                version = run([exe, "--version"]) or ""
                if "Open MPI" in version or "OpenRTE" in version:
                    family = "openmpi"
                    other = os.path.join(d, "mpirun" + suffix)
                    if os.access(other, os.X_OK):
                        exe = other
                elif "Intel(R) MPI" in version:
                    family = "intel"
                elif "HYDRA" in version or "MPICH" in version:
                    family = "mpich"
                else:
                    family = "unknown"
                return family, os.path.basename(exe), exe
    return "unknown", "mpiexec", ""


def main() -> None:
    named, path = wrapper()
    compiler, cargs, largs = flags(path)
    family, lname, lpath = launcher(named, path)
    print(f"family\t{family}")
    print(f"wrapper\t{path}")
    print(f"compiler\t{os.path.basename(compiler)}")
    print(f"launcher\t{lname}")
    print(f"launcher_path\t{lpath}")
    for a in cargs:
        print(f"compile\t{a}")
    for a in largs:
        print(f"link\t{a}")


if __name__ == "__main__":
    main()
