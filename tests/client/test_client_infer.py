"""elc_infer, the solver's inference round trip, from C: the answer reaches the caller's array in
its layout (C or Fortran) whether the features went as DOUBLE or as FLOAT (the answer then
comes back in that type), for row counts below, at and across the conversion's block of rows."""
from __future__ import annotations

import io

import pytest
import torch

from clienttest import run


class _Affine(torch.nn.Module):
    """y[:, j] = (j + 1) x[:, j] + x[:, 8] for j < 6, in the type of x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.arange(1, 7, dtype=x.dtype, device=x.device)
        return x[:, :6] * w + x[:, 8:9]


def _model_bytes() -> bytes:
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(_Affine()), buf)
    return buf.getvalue()


@pytest.mark.parametrize("rows", [1, 7, 256, 1000])
def test_infer_answers_land_in_the_callers_layout_for_double_and_float(standalone_db, programs, rows):
    standalone_db.flush()
    standalone_db.smartredis().set_model("infer_affine", _model_bytes(), "TORCH", "CPU")
    r = run(programs["ctest"], "infer", "infer_affine", rows, env=standalone_db.env())
    assert r.stdout.splitlines()[-1] == "OK", r.stdout


def test_infer_of_a_model_with_the_wrong_output_shape_is_an_error_naming_it(standalone_db, programs):
    standalone_db.flush()
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Identity()), buf)  # (n, 9) back, not (n, 6)
    standalone_db.smartredis().set_model("infer_identity", buf.getvalue(), "TORCH", "CPU")
    r = run(programs["ctest"], "infer", "infer_identity", 10, env=standalone_db.env(), check=False)
    assert r.returncode == 1
    assert "infer_identity" in r.stdout and "(10, 9)" in r.stdout and "(10, 6)" in r.stdout, r.stdout


def test_infer_is_answered_by_a_server_above_maxmemory(standalone_db, programs):
    """The request writes nothing to the keyspace (a read-only DAG): a server that refuses
    writes for want of memory still answers it, where a stored tensor would be refused."""
    import redis

    standalone_db.flush()
    standalone_db.smartredis().set_model("infer_affine", _model_bytes(), "TORCH", "CPU")
    r = redis.Redis(port=standalone_db.servers[0].port)
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", 1)
    try:
        with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
            r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
        out = run(programs["ctest"], "infer", "infer_affine", 7, env=standalone_db.env())
        assert out.stdout.splitlines()[-1] == "OK", out.stdout
    finally:
        r.config_set("maxmemory", 0)


def test_infer_refused_by_the_server_is_a_database_error_not_a_model_error(standalone_db, programs):
    """A server that refuses the command itself (here its ACL, NOPERM) is ELC_ERR_DATABASE, on
    which the solver falls back to Smagorinsky; a model's own failure would be ELC_ERR_RUNTIME,
    which stops the run."""
    import redis

    standalone_db.flush()
    standalone_db.smartredis().set_model("infer_affine", _model_bytes(), "TORCH", "CPU")
    r = redis.Redis(port=standalone_db.servers[0].port)
    r.execute_command("ACL", "SETUSER", "default", "-ai.dagexecute_ro")
    try:
        out = run(programs["ctest"], "infer", "infer_affine", 7, env=standalone_db.env(), check=False)
    finally:
        r.execute_command("ACL", "SETUSER", "default", "+ai.dagexecute_ro")
    assert out.returncode == 1
    assert "(code 2)" in out.stdout and "the database refused the request: NOPERM" in out.stdout, out.stdout
    out = run(programs["ctest"], "infer", "infer_affine", 7, env=standalone_db.env())
    assert out.stdout.splitlines()[-1] == "OK", out.stdout
