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


def _counters(stdout: str) -> dict:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("requests="))
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split())}


def test_a_request_given_up_on_is_taken_off_the_connection_before_the_next(standalone_db, programs,
                                                                           tmp_path):
    """start writes the request itself and finish reads the answer on the caller's thread. A
    request that finish gave up on (its deadline passed while the server was paused) keeps its
    answer coming on that connection: the next start fails at once while it is still to come.
    Past twice its timeout it is not waited for: the connection is dropped and the next request
    makes a new one. Once the server answers again, a request gets the answer to its own
    inputs, not an old one."""
    import subprocess

    import redis

    standalone_db.flush()
    standalone_db.smartredis().set_model("infer_affine", _model_bytes(), "TORCH", "CPU")
    r = redis.Redis(port=standalone_db.servers[0].port)
    flag = tmp_path / "go"
    p = subprocess.Popen([str(programs["ctest"]), "infer_abandon", "infer_affine", str(flag), "1600"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=standalone_db.env())
    try:
        assert p.stdout.readline().strip() == "READY"
        r.execute_command("CLIENT", "PAUSE", 1600, "ALL")
        flag.write_text("go")
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0 and out.splitlines()[-1] == "OK", out
    assert "abandoned: 6 no answer from the database within 200 ms" in out, out
    assert "in flight: 6 the previous request to infer_affine is still in flight" in out, out
    # past twice the timeout the old answer is not waited for: a new connection (the thread)
    assert "past twice the timeout: 0" in out, out
    assert "on a new connection: 6 no answer from the database within 200 ms" in out, out
    # the first request connects and the one after the dropped connection reconnects (the
    # thread), and so does the last (the thread gave up on its connection too); the others
    # went from the caller
    assert _counters(out) == {"requests": 5, "answered": 2, "timeouts": 2, "busy": 1,
                              "handed_over": 3}, out


def test_a_request_larger_than_the_socket_takes_is_finished_by_the_thread(standalone_db, programs):
    """A request of 400000 rows (29 MB) is more than the socket takes without waiting: start
    writes what it can and the background thread writes the rest, so start still returns at
    once; the answers to it and to the small requests around it are exact."""
    standalone_db.flush()
    standalone_db.smartredis().set_model("infer_affine", _model_bytes(), "TORCH", "CPU")
    out = run(programs["ctest"], "infer_large", "infer_affine", 400000, env=standalone_db.env())
    assert out.stdout.splitlines()[-1] == "OK", out.stdout
    assert _counters(out.stdout) == {"requests": 3, "answered": 3, "timeouts": 0, "busy": 0,
                                     "handed_over": 2}, out.stdout


class _AffinePlusOne(torch.nn.Module):
    """_Affine's answer + 1: a second model whose answers differ from the first's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.arange(1, 7, dtype=x.dtype, device=x.device)
        return x[:, :6] * w + x[:, 8:9] + 1


@pytest.mark.parametrize("shard", [0, 2])
def test_each_request_of_a_handle_gets_its_own_models_answer_for_its_shape_and_type(db, programs, shard):
    """start encodes a request once and sends the next ones with the same model, shape and input
    type from that encoding with only the inputs new: one handle alternating between two models,
    two row counts and DOUBLE and FLOAT gets each request's own answer, on a standalone server
    and on each shard's copy of the models in a cluster, and every request after the first (which
    connects) goes from the caller without the thread."""
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(_AffinePlusOne()), buf)
    client = db.smartredis()
    client.set_model("switch_a", _model_bytes(), "TORCH", "CPU")
    client.set_model("switch_b", buf.getvalue(), "TORCH", "CPU")
    out = run(programs["ctest"], "infer_switch", "switch_a", "switch_b", shard, 37, env=db.env())
    assert out.stdout.splitlines()[-1] == "OK", out.stdout
    assert _counters(out.stdout) == {"requests": 7, "answered": 7, "timeouts": 0, "busy": 0,
                                     "handed_over": 1}, out.stdout
