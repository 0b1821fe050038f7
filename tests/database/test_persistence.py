"""Tensors, models and scripts survive SAVE and a restart bit-identically (RDB save/load)."""
from __future__ import annotations

import numpy as np
import pytest
from smartredis import Client

from _dbnets import SCRIPT, traced_mlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def snapshot(r, keys):
    """Every stored byte and attribute of the given keys, for comparison."""
    out = {}
    for k in keys:
        t = r.type(k)
        if t == b"AI_TENSOR":
            out[k] = r.execute_command("AI.TENSORGET", k, "META", "BLOB")
        elif t == b"AI__MODEL":
            out[k] = r.execute_command("AI.MODELGET", k, "META", "BLOB")
        elif t == b"AI_SCRIPT":
            out[k] = r.execute_command("AI.SCRIPTGET", k, "META", "SOURCE")
        else:
            out[k] = (t, r.dump(k))
    return out


def test_save_and_restart_keeps_everything(new_server):
    s = new_server().start()
    c = Client(address=s.address, cluster=False)
    r = s.redis()
    rng = np.random.default_rng(3)
    arrays = {
        "f32": rng.standard_normal((16, 8)).astype(np.float32),
        "f64": rng.standard_normal((3, 5, 7)),
        "i8": rng.integers(-128, 127, 100, dtype=np.int8),
        "u16": rng.integers(0, 65535, (10, 10), dtype=np.uint16),
        "i64": rng.integers(-2**62, 2**62, 9, dtype=np.int64),
        "big": rng.standard_normal(2_000_000),
    }
    for k, a in arrays.items():
        c.put_tensor(k, a)
    r.execute_command("AI.TENSORSET", "bool", "BOOL", 3, "VALUES", 1, 0, 1)
    r.execute_command("AI.TENSORSET", b"bin\x00key", "INT32", 1, "VALUES", 7)
    net, blob = traced_mlp()
    c.set_model("mlp", blob, "TORCH", "CPU", tag="v3", batch_size=8)
    r.execute_command("AI.MODELSTORE", "tf", "TF", "GPU:1", "INPUTS", 2, "a", "b", "OUTPUTS", 1, "c", "BLOB", b"tfgraph")
    c.set_script("scr", SCRIPT, "CPU")
    r.execute_command("AI.SCRIPTSTORE", "ep", "CPU", "TAG", "t", "ENTRY_POINTS", 1, "entry", "SOURCE", SCRIPT)
    r.hset("meta", "k", "v")
    keys = list(arrays) + ["bool", b"bin\x00key", "mlp", "tf", "scr", "ep", "meta"]
    before = snapshot(r, keys)
    usage = {k: r.memory_usage(k) for k in ("big", "mlp", "scr")}
    assert usage["big"] >= arrays["big"].nbytes and usage["mlp"] >= len(blob) and usage["scr"] >= len(SCRIPT)
    assert r.save() is True

    s.stop()
    s.start()
    r = s.redis()
    c = Client(address=s.address, cluster=False)
    assert r.dbsize() == len(keys)
    assert snapshot(r, keys) == before
    for k, a in arrays.items():
        b = c.get_tensor(k)
        assert b.dtype == a.dtype and b.tobytes() == a.tobytes()
    assert c.get_model("mlp") == blob
    # the reloaded model and script run, and have stats again
    x = rng.standard_normal((4, 6)).astype(np.float32)
    c.put_tensor("x", x)
    c.run_model("mlp", ["x"], ["y"])
    import torch
    with torch.no_grad():
        assert np.allclose(c.get_tensor("y"), net(torch.from_numpy(x)).numpy(), atol=1e-6)
    c.run_script("scr", "add_mul", ["x", "x"], ["s", "p"])
    assert np.allclose(c.get_tensor("p"), x * x)
    info = c.get_ai_info([s.address], "mlp")[0]
    assert info["tag"] == "v3" and int(info["calls"]) == 1
    # saving again gives the same file contents for the same data
    assert r.save() is True


def test_aof_rewrite_replays(new_server):
    s = new_server(extra=["--appendonly", "yes"]).start()
    r = s.redis()
    _, blob = traced_mlp()
    r.execute_command("AI.TENSORSET", "t", "DOUBLE", 2, "VALUES", 1.5, 2.5)
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "x", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", SCRIPT)
    r.execute_command("AI.SCRIPTSTORE", "e", "CPU", "ENTRY_POINTS", 1, "entry", "SOURCE", SCRIPT)
    before = snapshot(r, ["t", "m", "s", "e"])
    r.bgrewriteaof()
    import time
    for _ in range(200):
        if r.info("persistence")["aof_rewrite_in_progress"] == 0 and r.info("persistence")["aof_rewrite_scheduled"] == 0:
            break
        time.sleep(0.05)
    s.stop()
    s.start()
    assert snapshot(s.redis(), ["t", "m", "s", "e"]) == before
