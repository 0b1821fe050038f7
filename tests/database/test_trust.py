"""The trust model (docs/database.md, "Trust model"): TorchScript that touches files is refused
when stored, also through RESTORE, unless the module is loaded with TRUST_TORCHSCRIPT yes;
deeply nested sources are refused before they reach the compiler."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import redis

from _dbnets import traced_mlp
from _untrusted import (ReadInForward, SaveInSubmodule, WriteOnLoad, loop_on_load, model_bytes,
                        nested_sources, read_script, write_script)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HARDENED = ["--crash-memcheck-enabled", "no", "--maxmemory", "4gb"]
HOSTNAME = "/etc/hostname"


def start(new_server, *module_args, kill=False):
    return new_server(module_args=["THREADS_PER_QUEUE", "1", *module_args], extra=HARDENED,
                      kill=kill).start()


def assert_serves(r):
    """The server still answers and runs a model."""
    _, blob = traced_mlp()
    assert r.ping() is True
    r.execute_command("AI.MODELSTORE", "ok_model", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "ok_x", "FLOAT", 2, 6, "BLOB", np.ones((2, 6), np.float32).tobytes())
    assert r.execute_command("AI.MODELEXECUTE", "ok_model", "INPUTS", 1, "ok_x", "OUTPUTS", 1, "ok_y") == b"OK"


def test_scripts_that_read_or_write_files_are_refused(new_server, tmp_path):
    s = start(new_server)
    r = s.redis()
    target = tmp_path / "written.bin"
    with pytest.raises(redis.ResponseError, match="aten::from_file.*TRUST_TORCHSCRIPT"):
        r.execute_command("AI.SCRIPTSET", "rd", "CPU", "SOURCE", read_script(HOSTNAME, 4))
    with pytest.raises(redis.ResponseError, match="aten::from_file"):
        r.execute_command("AI.SCRIPTSTORE", "wr", "CPU", "ENTRY_POINTS", 1, "write", "SOURCE",
                          write_script(str(target), 4))
    assert not target.exists()
    assert r.exists("rd", "wr") == 0
    assert_serves(r)


def test_models_that_touch_files_are_refused(new_server, tmp_path):
    s = start(new_server)
    r = s.redis()
    saved = tmp_path / "saved.pt"
    on_load = tmp_path / "on_load.bin"
    on_load.write_bytes(b"keep")
    cases = {
        "read": (model_bytes(ReadInForward(HOSTNAME, 4)), "aten::from_file"),
        "save": (model_bytes(SaveInSubmodule(str(saved))), "aten::save"),
        "load": (model_bytes(WriteOnLoad(str(on_load))), "aten::from_file"),
    }
    for key, (blob, op) in cases.items():
        with pytest.raises(redis.ResponseError, match=op):
            r.execute_command("AI.MODELSTORE", key, "TORCH", "CPU", "BLOB", blob)
    assert not saved.exists()
    assert on_load.read_bytes() == b"keep"  # __setstate__ did not write
    assert r.exists(*cases) == 0
    assert_serves(r)


def test_trusted_site_may_use_files(new_server, tmp_path):
    s = start(new_server, "TRUST_TORCHSCRIPT", "yes")
    r = s.redis()
    assert r.info("ai")["ai_trust_torchscript"] == "yes"
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(16)))
    r.execute_command("AI.SCRIPTSET", "rd", "CPU", "SOURCE", read_script(str(source), 4))
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 4, "VALUES", 1, 2, 3, 4)
    r.execute_command("AI.SCRIPTEXECUTE", "rd", "read", "INPUTS", 1, "x", "OUTPUTS", 1, "content")
    assert r.execute_command("AI.TENSORGET", "content", "BLOB") == bytes(range(16))
    target = tmp_path / "written.bin"
    r.execute_command("AI.SCRIPTSET", "wr", "CPU", "SOURCE", write_script(str(target), 4))
    r.execute_command("AI.SCRIPTEXECUTE", "wr", "write", "INPUTS", 1, "x", "OUTPUTS", 1, "w")
    assert target.read_bytes() == np.array([1, 2, 3, 4], np.float32).tobytes()
    on_load = tmp_path / "on_load.bin"
    on_load.write_bytes(b"keep")
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", model_bytes(WriteOnLoad(str(on_load))))
    assert on_load.read_bytes() == b"AAAA"


def test_restored_script_is_checked_on_first_use(new_server):
    """A script that arrives through RESTORE (or the RDB) is kept as source and checked, on a
    worker, when it first runs; refused there, it does not affect other keys."""
    trusted = start(new_server, "TRUST_TORCHSCRIPT", "yes")
    tr = trusted.redis()
    tr.execute_command("AI.SCRIPTSET", "rd", "CPU", "SOURCE", read_script(HOSTNAME, 1))
    payload = tr.dump("rd")
    untrusted = start(new_server)
    r = untrusted.redis()
    assert r.restore("rd", 0, payload) == b"OK"
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 4, "VALUES", 1, 2, 3, 4)
    for _ in range(2):  # the refusal is remembered
        with pytest.raises(redis.ResponseError, match="script could not be loaded.*aten::from_file"):
            r.execute_command("AI.SCRIPTEXECUTE", "rd", "read", "INPUTS", 1, "x", "OUTPUTS", 1, "out")
    # the value is still there, unchanged, for its owner to read or delete
    assert r.execute_command("AI.SCRIPTGET", "rd", "SOURCE").decode() == read_script(HOSTNAME, 1)
    assert r.exists("out") == 0
    assert_serves(r)


def test_model_with_file_access_in_setstate_is_refused_after_restore(new_server, tmp_path):
    trusted = start(new_server, "TRUST_TORCHSCRIPT", "yes")
    tr = trusted.redis()
    on_load = tmp_path / "on_load.bin"
    on_load.write_bytes(b"keep")
    tr.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", model_bytes(WriteOnLoad(str(on_load))))
    payload = tr.dump("m")
    on_load.write_bytes(b"keep")
    untrusted = start(new_server)
    r = untrusted.redis()
    assert r.restore("m", 0, payload) == b"OK"  # accepted as bytes, nothing ran
    assert on_load.read_bytes() == b"keep"
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    with pytest.raises(redis.ResponseError, match="model could not be loaded.*aten::from_file"):
        r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    assert on_load.read_bytes() == b"keep"
    assert_serves(r)


def test_nested_sources_are_refused(new_server):
    s = start(new_server)
    r = s.redis()
    for what, src in nested_sources().items():
        with pytest.raises(redis.ResponseError, match="nested deeper than") as e:
            r.execute_command("AI.SCRIPTSET", "deep", "CPU", "SOURCE", src)
        assert s.alive(), f"{what}: {e.value}"
    ok = "def f(x):\n    return " + "(" * 50 + "-x" + ")" * 50 + "\n"
    assert r.execute_command("AI.SCRIPTSET", "fine", "CPU", "SOURCE", ok) == b"OK"
    assert_serves(r)


def test_model_that_loops_while_loading_is_refused(new_server):
    s = start(new_server, "MODEL_LOAD_TIMEOUT", "1000", kill=True)
    r = s.redis()
    replies = {}

    def store():
        try:
            s.redis().execute_command("AI.MODELSTORE", "loop", "TORCH", "CPU", "BLOB", loop_on_load())
        except redis.ResponseError as e:
            replies["store"] = str(e)

    t = threading.Thread(target=store)
    t.start()
    pings = 0
    while t.is_alive() and pings < 10000:
        assert r.ping() is True  # the main thread keeps serving while the model loads
        pings += 1
        time.sleep(0.01)
    t.join(30)
    assert "MODEL_LOAD_TIMEOUT" in replies["store"]
    assert pings > 0 and r.exists("loop") == 0
    info = r.info("ai")
    assert info["ai_loads_timed_out_total"] == 1 and info["ai_loads_running"] == 1  # still looping
    assert_serves(r)


def test_model_that_loops_while_loading_does_not_block_a_restart(new_server):
    """Stored where nothing can be loaded on the spot (inside MULTI), then saved: the restart
    reads it as bytes, the other keys are there at once, and its first run is refused."""
    s = new_server(persist=True, kill=True, extra=HARDENED,
                   module_args=["THREADS_PER_QUEUE", "1", "MODEL_LOAD_TIMEOUT", "1000",
                                "MODEL_EXECUTION_TIMEOUT", "1000"]).start()
    r = s.redis()
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("AI.MODELSTORE", "loop", "TORCH", "CPU", "BLOB", loop_on_load())
    pipe.execute_command("AI.TENSORSET", "other", "FLOAT", 2, "VALUES", 1, 2)
    assert pipe.execute() == [b"OK", b"OK"]
    r.save()
    s.stop()
    s.start()
    r = s.redis()
    assert r.execute_command("AI.TENSORGET", "other", "VALUES") == [b"1", b"2"]
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    # the load runs on a worker and never returns: the run is abandoned, later runs are refused
    assert r.execute_command("AI.MODELEXECUTE", "loop", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"TIMEDOUT"
    with pytest.raises(redis.ResponseError, match="MODEL_LOAD_TIMEOUT"):
        r.execute_command("AI.MODELEXECUTE", "loop", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    assert r.exists("loop") == 1 and r.exists("y") == 0
    assert_serves(r)
