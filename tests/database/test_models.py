"""Models and scripts: storage, execution on the worker queue, stats (docs/protocol.md §3.3, §4.2)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import redis
import torch
from smartredis.error import RedisReplyError

from _dbnets import SCRIPT, scripted_slow, scripted_two_out, traced_mlp  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_traced_model_matches_in_process(client):
    net, blob = traced_mlp()
    client.set_model("mlp", blob, "TORCH", "CPU", tag="v1")
    x = np.random.default_rng(0).standard_normal((1000, 6)).astype(np.float32)
    client.put_tensor("x", x)
    client.run_model("mlp", ["x"], ["y"])
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    y = client.get_tensor("y")
    assert y.shape == (1000, 6) and np.allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert client.get_model("mlp") == blob


def test_scripted_model_two_inputs_two_outputs(client):
    client.set_model("two", scripted_two_out(), "TORCH", "CPU")
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = np.full((2, 3), 2.0)
    client.put_tensor("a", a)
    client.put_tensor("b", b)
    client.run_model("two", ["a", "b"], ["s", "p"])
    assert np.array_equal(client.get_tensor("s"), a + b)
    assert np.array_equal(client.get_tensor("p"), a * b)


def test_model_meta_delete_and_exists(client, r):
    _, blob = traced_mlp()
    client.set_model("m", blob, "TORCH", "cpu", tag="t1", batch_size=4, min_batch_size=2, min_batch_timeout=5)
    meta = r.execute_command("AI.MODELGET", "m", "META")
    assert meta[:6] == [b"backend", b"TORCH", b"device", b"CPU", b"tag", b"t1"]
    assert meta[7] == 4 and meta[9] == 2 and meta[15] == 5
    assert r.type("m") == b"AI__MODEL" and r.memory_usage("m") >= len(blob)
    assert client.model_exists("m")
    client.delete_model("m")
    assert not client.model_exists("m")
    with pytest.raises(RedisReplyError):
        client.delete_model("m")


def test_model_chunks(client, r):
    _, blob = traced_mlp()
    client.set_model_chunk_size(1000)
    try:
        client.set_model("m", blob, "TORCH", "CPU")
        reply = r.execute_command("AI.MODELGET", "m", "BLOB")
        assert isinstance(reply, list) and len(reply) == len(blob) // 1000 + 1
        assert b"".join(reply) == blob
    finally:
        r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 511 * 1024 * 1024)
    assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 511 * 1024 * 1024


def test_scripts_set_get_run(client, r):
    client.set_script("s", SCRIPT, "CPU")
    assert client.get_script("s") == SCRIPT
    a = np.ones((2, 2), np.float32)
    b = np.full((2, 2), 3, np.float32)
    client.put_tensor("a", a)
    client.put_tensor("b", b)
    client.run_script("s", "add_mul", ["a", "b"], ["o1", "o2"])
    assert np.array_equal(client.get_tensor("o1"), a + b)
    assert np.array_equal(client.get_tensor("o2"), a * b)
    # a trailing List[Tensor] takes the remaining inputs; "$" marks them on the wire
    r.execute_command("AI.SCRIPTRUN", "s", "scale_all", "INPUTS", "$", "a", "b", "OUTPUTS", "c")
    assert np.array_equal(client.get_tensor("c"), np.concatenate([a, b]) * 2)


def test_set_function(client):
    def double_it(x):
        return x * 2

    client.set_function("f", double_it)
    client.put_tensor("x", np.arange(4, dtype=np.int64))
    client.run_script("f", "double_it", ["x"], ["y"])
    assert np.array_equal(client.get_tensor("y"), np.arange(4) * 2)


def test_scriptstore_and_scriptexecute(client, r):
    assert r.execute_command("AI.SCRIPTSTORE", "se", "CPU", "TAG", "v2", "ENTRY_POINTS", 1, "entry",
                             "SOURCE", SCRIPT) == b"OK"
    client.put_tensor("x", np.ones(3, np.float32))
    assert r.execute_command("AI.SCRIPTEXECUTE", "se", "entry", "KEYS", 2, "x", "x", "INPUTS", 1, "x",
                             "ARGS", 1, "1.5", "OUTPUTS", 1, "y", "TIMEOUT", 10000) == b"OK"
    assert np.allclose(client.get_tensor("y"), 1.5 + 2)
    meta = r.execute_command("AI.SCRIPTGET", "se", "META")
    assert meta == [b"device", b"CPU", b"tag", b"v2", b"Entry Points", [b"entry"]]
    with pytest.raises(redis.ResponseError, match="not a function"):
        r.execute_command("AI.SCRIPTSTORE", "bad", "CPU", "ENTRY_POINTS", 1, "nope", "SOURCE", SCRIPT)


def test_ai_info_counters_and_resetstat(client, r, server):
    _, blob = traced_mlp()
    client.set_model("m", blob, "TORCH", "CPU", tag="v7")
    client.put_tensor("x", np.zeros((5, 6), np.float32))
    for _ in range(3):
        client.run_model("m", ["x"], ["y"])
    info = client.get_ai_info([server.address], "m")[0]
    assert info["key"] == "m" and info["type"] == "MODEL" and info["backend"] == "TORCH"
    assert info["tag"] == "v7" and info["device"] == "CPU"
    assert int(info["calls"]) == 3 and int(info["samples"]) == 15 and int(info["errors"]) == 0
    assert int(info["duration"]) > 0
    client.put_tensor("bad", np.zeros((5, 3), np.float32))
    with pytest.raises(RedisReplyError):
        client.run_model("m", ["bad"], ["y"])
    raw = r.execute_command("AI.INFO", "m")
    assert dict(zip(raw[::2], raw[1::2]))[b"errors"] == 1
    assert r.execute_command("AI.INFO", "m", "RESETSTAT") == b"OK"
    raw = r.execute_command("AI.INFO", "m")
    assert dict(zip(raw[::2], raw[1::2]))[b"calls"] == 0
    client.set_script("s", SCRIPT, "CPU")
    raw = r.execute_command("AI.INFO", "s")
    assert dict(zip(raw[::2], raw[1::2]))[b"samples"] == -1
    client.delete_model("m")
    with pytest.raises(redis.ResponseError, match="cannot find run info"):
        r.execute_command("AI.INFO", "m")


def test_execution_does_not_block_the_main_thread(new_server):
    # a run of seconds to minutes (busy machine): above the default MODEL_EXECUTION_TIMEOUT
    server = new_server(module_args=["THREADS_PER_QUEUE", "2", "MODEL_EXECUTION_TIMEOUT", "600000"]).start()
    r = server.redis()
    r.execute_command("AI.MODELSTORE", "slow", "TORCH", "CPU", "BLOB", scripted_slow())
    x = np.eye(64, dtype=np.float32).tobytes()
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 64, 64, "BLOB", x)
    r.execute_command("AI.TENSORSET", "n", "INT64", 1, "VALUES", 200000)
    done = threading.Event()
    result = {}

    def run():
        result["reply"] = server.redis(timeout=600).execute_command(
            "AI.MODELEXECUTE", "slow", "INPUTS", 2, "x", "n", "OUTPUTS", 1, "y")
        done.set()

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)  # let the run reach the worker
    other = server.redis()
    assert other.ping() is True
    assert other.execute_command("AI.TENSORGET", "n", "VALUES") == [200000]
    assert not done.is_set(), "the model finished before PING was answered; make it slower"
    t.join(600)
    assert result["reply"] == b"OK"


def test_timeout_in_queue_replies_timedout(new_server):
    s = new_server(module_args=["THREADS_PER_QUEUE", "1", "MODEL_EXECUTION_TIMEOUT", "600000"]).start()
    r = s.redis()
    r.execute_command("AI.MODELSTORE", "slow", "TORCH", "CPU", "BLOB", scripted_slow())
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 64, 64, "BLOB", np.eye(64, dtype=np.float32).tobytes())
    r.execute_command("AI.TENSORSET", "n", "INT64", 1, "VALUES", 200000)
    r.execute_command("AI.TENSORSET", "n0", "INT64", 1, "VALUES", 1)
    busy = threading.Thread(target=lambda: s.redis(timeout=600).execute_command(
        "AI.MODELEXECUTE", "slow", "INPUTS", 2, "x", "n", "OUTPUTS", 1, "y"))
    busy.start()
    time.sleep(0.3)
    reply = r.execute_command("AI.MODELEXECUTE", "slow", "INPUTS", 2, "x", "n0", "OUTPUTS", 1, "y2", "TIMEOUT", 1)
    assert reply == b"TIMEDOUT"
    busy.join(600)
    assert r.exists("y2") == 0 and r.exists("y") == 1


def test_other_backends_store_but_do_not_run(client, r):
    r.execute_command("AI.MODELSTORE", "tf", "TF", "CPU", "INPUTS", 1, "a", "OUTPUTS", 1, "b", "BLOB", b"graph")
    r.execute_command("AI.MODELSTORE", "onnx", "ONNX", "CPU", "BLOB", b"\x08\x01")
    assert r.execute_command("AI.MODELGET", "onnx", "BLOB") == b"\x08\x01"
    meta = r.execute_command("AI.MODELGET", "tf", "META")
    assert meta[11] == [b"a"] and meta[13] == [b"b"]
    client.put_tensor("a", np.ones(2, np.float32))
    for key in ("tf", "onnx"):
        with pytest.raises(redis.ResponseError, match="not available"):
            r.execute_command("AI.MODELEXECUTE", key, "INPUTS", 1, "a", "OUTPUTS", 1, "b")


def test_gpu_without_cuda_is_a_clear_error(r):
    _, blob = traced_mlp()
    if torch.cuda.is_available():
        assert r.execute_command("AI.MODELSTORE", "g", "TORCH", "GPU:0", "BLOB", blob) == b"OK"
    else:
        with pytest.raises(redis.ResponseError, match="CUDA"):
            r.execute_command("AI.MODELSTORE", "g", "TORCH", "GPU", "BLOB", blob)
        with pytest.raises(redis.ResponseError, match="CUDA"):
            r.execute_command("AI.SCRIPTSET", "g", "GPU:1", "SOURCE", SCRIPT)


def test_execution_refused_in_multi(r):
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 6)
    p = r.pipeline(transaction=True)
    p.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    res = p.execute(raise_on_error=False)
    assert isinstance(res[0], redis.ResponseError) and "transaction" in str(res[0])
