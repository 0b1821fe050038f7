"""The eddylearn command line, as a user runs it."""
import json
import subprocess
import sys

from eddylearn.io import read_diagnostics


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "eddylearn", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_solve_runs_and_shows_progress(tmp_path):
    (tmp_path / "in.nml").write_text("&domain nx=16, ny=16, nz=16 /\n&time t_end=1.0 /\n"
                                     f"&output dir='{tmp_path}/out' /\n")
    proc = cli("solve", str(tmp_path / "in.nml"), "--np", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "on 2 rank(s)" in proc.stdout and "done" in proc.stdout
    diag = read_diagnostics(tmp_path / "out" / "diagnostics.csv")
    assert abs(diag["time"][-1] - 1.0) < 1e-12


def test_solve_bad_input_exits_nonzero_with_message(tmp_path):
    (tmp_path / "in.nml").write_text("&domain nx=16, ny=16, nz=15 /\n")
    proc = cli("solve", str(tmp_path / "in.nml"), "--np", "2", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nz = 15 is not divisible by the 2 MPI ranks" in proc.stderr


def test_validate_tg2d_writes_json(tmp_path):
    out = tmp_path / "tg2d.json"
    proc = cli("validate", "tg2d", "--np", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert 1.9 <= res["order"] <= 2.1 and res["passed"] is True
    assert res["ns"] == [16, 32, 64] and len(res["errors"]) == 3
    assert "PASS" in proc.stdout


def test_help_answers(tmp_path):
    proc = cli("validate", "--help")
    assert proc.returncode == 0 and "tg2d" in proc.stdout and "tgv" in proc.stdout
    proc = cli("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
