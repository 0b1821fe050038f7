"""MODELSTORE, SCRIPTSET and SCRIPTSTORE load on a worker thread and reply from the main thread;
what they replicate reaches the AOF, and its replay (where a client cannot block) stores the
values to be built on first use. A large model's argument and a replaced model are released
off the main thread, and the server still exits cleanly after that."""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import redis
import torch

from _dbnets import SCRIPT, traced_mlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_stores_replay_from_the_aof(new_server):
    # no RDB (save ""): what comes back after the restart is replayed from the AOF's commands
    s = new_server(extra=["--appendonly", "yes", "--crash-memcheck-enabled", "no"]).start()
    r = s.redis()
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "v1", "BLOB", blob)
    r.execute_command("AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", 1, "add_mul", "SOURCE", SCRIPT)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 6, "VALUES", *range(6))
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    y = r.execute_command("AI.TENSORGET", "y", "BLOB")
    s.stop()
    assert not (s.workdir / "dump.rdb").exists()
    s.start()
    r = s.redis()
    # the run's output came back from the AOF too: this server has no RDB, replica or backlog,
    # so only the AOF's propagation of the output (AI.TENSORSET) can have kept it
    assert r.execute_command("AI.TENSORGET", "y", "BLOB") == y
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob
    assert r.execute_command("AI.MODELGET", "m", "META")[5] == b"v1"
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y2")
    assert r.execute_command("AI.TENSORGET", "y2", "BLOB") == y
    r.execute_command("AI.SCRIPTEXECUTE", "s", "add_mul", "INPUTS", 2, "x", "x", "OUTPUTS", 2, "p", "q")
    assert np.array_equal(np.frombuffer(r.execute_command("AI.TENSORGET", "p", "BLOB"), np.float32),
                          2 * np.arange(6, dtype=np.float32))


def large_linear(seed: int, mb: int = 64) -> tuple[torch.jit.ScriptModule, bytes]:
    """A bias-free Linear layer whose TorchScript archive is about `mb` MB."""
    n = int((mb * (1 << 20) / 4) ** 0.5)
    torch.manual_seed(seed)
    net = torch.jit.trace(torch.nn.Linear(n, n, bias=False).eval(), torch.randn(1, n))
    buf = io.BytesIO()
    torch.jit.save(net, buf)
    return net, buf.getvalue()


def store_while_pinging(server, key: str, blob: bytes) -> tuple[object, int]:
    """AI.MODELSTORE from one connection while another PINGs; the reply (or the error) and the
    number of PINGs answered after the whole store command was sent and before its reply (the
    time the model loads on the worker)."""
    out = {}

    def store():
        conn = redis.Connection(host="127.0.0.1", port=server.port, socket_timeout=600, protocol=2)
        conn.send_command("AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", blob)
        out["sent"] = time.monotonic()
        try:
            out["reply"] = conn.read_response()
        except redis.ResponseError as e:
            out["reply"] = e
        out["replied"] = time.monotonic()
        conn.disconnect()

    other = server.redis(timeout=60)
    t = threading.Thread(target=store)
    t.start()
    answered = []
    while t.is_alive():
        assert other.ping() is True
        answered.append(time.monotonic())
    t.join()
    return out["reply"], sum(1 for a in answered if out["sent"] < a < out["replied"])


def test_large_model_stored_over_itself_runs_and_server_exits(new_server):
    """A 64 MB model stored, stored again over itself and deleted: each store replies OK while
    PINGs are answered (liveness, not timing), the stored model is the one that runs, and the
    server still ends on SIGTERM with the released values handed to the release thread."""
    s = new_server().start()
    r = s.redis(timeout=600)
    x = torch.ones(1, 4096)
    for seed in (1, 2):
        net, blob = large_linear(seed)
        reply, pings = store_while_pinging(s, "big", blob)
        assert reply == b"OK"
        assert pings >= 1, "no PING was answered while the model was being stored"
        r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 4096, "BLOB", x.numpy().tobytes())
        r.execute_command("AI.MODELEXECUTE", "big", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
        y = np.frombuffer(r.execute_command("AI.TENSORGET", "y", "BLOB"), np.float32)
        assert np.allclose(y, net(x).detach().numpy().ravel(), rtol=1e-4, atol=1e-5)
        assert r.execute_command("AI.MODELGET", "big", "BLOB") == blob
    assert r.execute_command("AI.MODELDEL", "big") == b"OK"
    assert r.exists("big") == 0 and r.ping() is True
    s.proc.terminate()
    assert s.proc.wait(timeout=60) == 0


def test_large_blob_that_fails_to_load_is_an_error(r, server):
    """A 64 MB archive cut short (its zip directory missing) is refused with libtorch's error,
    nothing is stored, and the server goes on storing and serving."""
    _, blob = large_linear(3)
    reply, pings = store_while_pinging(server, "cut", blob[: len(blob) - 4096])
    assert isinstance(reply, redis.ResponseError) and "could not load the TorchScript model" in str(reply)
    assert pings >= 1
    assert r.exists("cut") == 0
    _, small = traced_mlp()
    assert r.execute_command("AI.MODELSTORE", "cut", "TORCH", "CPU", "BLOB", small) == b"OK"
    assert r.execute_command("AI.MODELGET", "cut", "BLOB") == small
