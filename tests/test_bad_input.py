"""Wrong input stops the solver on every rank with a message naming the problem, exit 2."""
import subprocess

import pytest

from eddylearn import solver
from eddylearn._paths import solver_executable
from eddylearn.io import write_namelist

GOOD = {"domain": {"nx": 16, "ny": 16, "nz": 16}, "time": {"t_end": 0.1}}


def run_text(tmp_path, text: str, nranks: int = 2, path=None):
    nml = tmp_path / "input.nml"
    nml.write_text(text)
    cmd = solver.mpirun_command(nranks) + [str(solver_executable()), str(path or nml)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=solver.child_env())


@pytest.mark.parametrize("text, expected", [
    ("&domain nx=16, ny=16, nz=16, nq=3 /\n", "nq"),
    ("&domian nx=16 /\n", "unknown namelist group &domian"),
    ("&domain nx=16, ny=16, nz=15 /\n", "nz = 15 is not divisible by the 2 MPI ranks"),
    ("&domain nx=16, ny=15, nz=16 /\n", "ny = 15 is not divisible by the 2 MPI ranks"),
    ("&domain nx=15, ny=16, nz=16 /\n", "nx = 15 must be even"),
    ("&physics nu=-1e-3 /\n", "nu ="),
    ("&physics initial='vortex' /\n", "unknown initial condition initial = 'vortex'"),
    ("&sgs model='magic' /\n", "unknown SGS model 'magic'"),
    ("&time cfl=3.0 /\n", "cfl ="),
    ("&time dt=-0.1 /\n", "dt must be non-negative"),
    ("&time fft_planner='patient' /\n", "unknown fft_planner"),
    ("&output diag_every=0 /\n", "diag_every must be >= 1"),
    ("&staging handover='inline' /\n", "&staging: unknown handover 'inline' (known: deferred, copy)"),
    ("&output restart_file='nowhere.bin' /\n", "restart file not found: nowhere.bin"),
    ("&domain nx=16, ny=16, nz=16, nx='abc' /\n", "domain"),
    ("&domain nx=16 /\n&time t_end=1 /\n&domain ny=16 /\n",
     "namelist group &domain appears twice (lines 1 and 3)"),
    ("nx = 16\n", "line 1 is outside any namelist group"),
    ("! only a comment\n&domain nx=16, ny=16, nz=16 /\nstray text\n",
     "line 3 is outside any namelist group"),
    ("&domain nx=16, ny=16, nz=16 /\n&time dt=50.0 /\n",
     "dt =  5.000E+01 is past the stability limit of the initial field"),
])
def test_bad_namelist(tmp_path, text, expected):
    proc = run_text(tmp_path, text)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr
    assert proc.stderr.count("eddylearn-solver: error:") == 1   # printed once, not per rank


def test_missing_input_file(tmp_path):
    proc = run_text(tmp_path, "", path=tmp_path / "absent.nml")
    assert proc.returncode != 0
    assert "input file not found" in proc.stderr and "absent.nml" in proc.stderr


def test_no_argument(tmp_path):
    cmd = solver.mpirun_command(1) + [str(solver_executable())]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=solver.child_env())
    assert proc.returncode != 0 and "usage: eddylearn-solver INPUT.nml" in proc.stderr


def test_restart_file_of_another_grid(tmp_path, run_solver):
    first = run_solver({"domain": {"nx": 8, "ny": 8, "nz": 8}, "time": {"max_steps": 1}})
    proc = run_text(tmp_path, "&domain nx=16, ny=16, nz=16 /\n&output restart_file='"
                    + str(first.dir / "checkpoint.bin") + "' /\n")
    assert proc.returncode != 0
    assert "has grid 8 8 8" in proc.stderr and "16 16 16" in proc.stderr


def test_corrupt_restart_file(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a checkpoint at all, just some bytes" * 4)
    proc = run_text(tmp_path, f"&output restart_file='{bad}' /\n")
    assert proc.returncode != 0 and "is not an eddylearn checkpoint" in proc.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_text(tmp_path, f"&output dir='{blocker}/sub' /\n")
    assert proc.returncode != 0 and "cannot write the diagnostics file" in proc.stderr


def test_blow_up_is_reported(tmp_path):
    """A fixed dt past the stability limit, allowed with a warning, then blows up."""
    proc = run_text(tmp_path, "&domain nx=16, ny=16, nz=16 /\n&physics nu=0 /\n"
                    "&time dt=5.0, t_end=500, allow_unstable=.true. /\n")
    assert "warning: &time: dt =  5.000E+00 is past the stability limit" in proc.stderr
    assert proc.returncode != 0 and "blew up" in proc.stderr


def test_a_file_of_binary_data_is_refused(tmp_path):
    nml = tmp_path / "garbage.nml"
    nml.write_bytes(bytes(range(256)) * 8)
    proc = run_text(tmp_path, "", path=nml)
    assert proc.returncode == 2
    assert "not a namelist file: line 1 holds the control byte 0" in proc.stderr, proc.stderr


def test_a_stable_fixed_dt_runs_and_an_empty_file_means_defaults(tmp_path):
    proc = run_text(tmp_path, "&domain nx=16, ny=16, nz=16 /\n&time dt=0.1, max_steps=2 /\n")
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    proc = run_text(tmp_path, "\n! defaults\n&time max_steps=1 /\n")
    assert proc.returncode == 0, proc.stderr


def test_a_grid_too_large_names_the_array_and_its_size(tmp_path):
    proc = run_text(tmp_path, "&domain nx=4096, ny=4096, nz=4096 /\n", nranks=1)
    assert proc.returncode == 2
    assert ("cannot allocate field u of 4098 x 4098 x 4098 doubles (512.75 GiB; 11 such arrays "
            "per rank): out of memory") in proc.stderr, proc.stderr


def test_python_run_raises_solver_message(tmp_path):
    nml = tmp_path / "x.nml"
    nml.write_text("&physics nu=-2 /\n")
    with pytest.raises(solver.SolverError, match="nu = .* must be non-negative"):
        solver.run(nml, 2, stream=False)
    with pytest.raises(solver.SolverError, match="input file not found"):
        solver.run(tmp_path / "none.nml", 1)


def test_namelist_writer_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="unknown key 'nq' in &domain"):
        write_namelist(tmp_path / "a.nml", {"domain": {"nq": 1}})
    with pytest.raises(ValueError, match="unknown namelist group &mesh"):
        write_namelist(tmp_path / "a.nml", {"mesh": {}})
    with pytest.raises(ValueError, match="rank count must be at least 1"):
        solver.mpirun_command(0)
