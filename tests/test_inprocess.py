"""The f90wrap bindings: a serial solver driven from Python, fields as numpy arrays."""
import math

import numpy as np
import pytest

from eddylearn.solver import Solver, SolverError
from eddylearn.validate import tg2d_exact


def test_tgv_fields_and_steps(tmp_path):
    cfg = {"domain": {"nx": 16, "ny": 16, "nz": 16}, "time": {"t_end": 2.0}}
    with Solver(cfg, workdir=tmp_path) as s:
        assert s.shape == (16, 16, 16)
        u0 = s.field("u")
        h = 2 * math.pi / 16
        xf = -math.pi + np.arange(1, 17) * h
        xc = xf - h / 2
        expected = np.sin(xf)[:, None, None] * np.cos(xc)[None, :, None] * np.cos(xc)[None, None, :]
        np.testing.assert_allclose(u0, expected, atol=1e-14)
        assert s.diagnostics()["energy"] == pytest.approx(0.125, rel=1e-12)
        s.step(3)
        assert s.nstep == 3 and s.time > 0
        s.advance(1.0)
        assert s.time == pytest.approx(1.0, abs=1e-12)
        s.advance(5.0)                      # clipped to t_end
        assert s.time == pytest.approx(2.0, abs=1e-12)
        assert not np.array_equal(s.field("u"), u0)
        assert s.field("p").std() > 0


def test_set_field_and_diagnostics(tmp_path):
    cfg = {"domain": {"nx": 16, "ny": 16, "nz": 2}, "physics": {"initial": "tg2d", "nu": 0.05},
           "time": {"t_end": 1.0, "dt": 0.01}}
    with Solver(cfg, workdir=tmp_path) as s:
        s.set_field("u", 2 * s.field("u"))
        s.set_field("v", 2 * s.field("v"))
        assert s.diagnostics()["energy"] == pytest.approx(4 * 0.25, rel=1e-12)   # 2D TG: E = 1/4
        s.advance(1.0)
        ue, _ = tg2d_exact(16, 1.0, nz=2)
        np.testing.assert_allclose(s.field("u"), 2 * ue, atol=2e-2)
        s.checkpoint("mine.bin")
    assert (tmp_path / "out" / "mine.bin").stat().st_size > 0


def test_errors_are_raised_with_messages(tmp_path):
    with pytest.raises(SolverError, match="input file not found"):
        Solver(tmp_path / "missing.nml")
    with pytest.raises(SolverError, match="nu = .* must be non-negative"):
        Solver({"physics": {"nu": -1.0}}, workdir=tmp_path)
    with Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}}, workdir=tmp_path) as s:
        with pytest.raises(SolverError, match="unknown field 'q'"):
            s.field("q")
        with pytest.raises(SolverError, match="cannot set field 'p'"):
            s.set_field("p", np.zeros((8, 8, 8)))
        with pytest.raises(ValueError, match="does not match the grid"):
            s.set_field("u", np.zeros((8, 8, 4)))


def test_in_process_steps_make_the_checks_of_the_executable(tmp_path):
    """max_steps ends stepping, a blow-up raises, a fixed dt past the limit is refused."""
    with Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}, "time": {"max_steps": 3}},
                workdir=tmp_path / "a") as s:
        s.step(10)
        assert s.nstep == 3
        s.advance(5.0)
        assert s.nstep == 3
    with pytest.raises(SolverError, match="past the stability limit"):
        Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}, "time": {"dt": 50.0}},
               workdir=tmp_path / "b")
    with Solver({"domain": {"nx": 16, "ny": 16, "nz": 16}, "physics": {"nu": 0.0},
                 "time": {"dt": 5.0, "t_end": 500.0, "allow_unstable": True}},
                workdir=tmp_path / "c") as s:
        with pytest.raises(SolverError, match="the solution blew up at step"):
            s.step(100)


def test_a_second_live_solver_is_refused(tmp_path):
    first = Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}}, workdir=tmp_path / "a")
    try:
        with pytest.raises(SolverError, match="a Solver is already live in this process"):
            Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}}, workdir=tmp_path / "b")
        first.step(1)
        assert first.nstep == 1          # the first one was not replaced
    finally:
        first.close()
    with Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}}, workdir=tmp_path / "b") as second:
        second.step(2)
        assert second.nstep == 2
