"""Execution limits (docs/database.md, "Execution limits"): MODEL_EXECUTION_TIMEOUT abandons a run
and replaces its worker, a request's TIMEOUT counts from its arrival, outputs are bounded and a
failed allocation is an error reply."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import redis

from _dbnets import traced_mlp
from _untrusted import loop_in_forward

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HARDENED = ["--crash-memcheck-enabled", "no", "--maxmemory", "4gb"]


def start(new_server, *module_args, kill=False):
    return new_server(module_args=["THREADS_PER_QUEUE", "1", *module_args], extra=HARDENED,
                      kill=kill).start()


def run_mlp(r) -> bytes:
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "mx", "FLOAT", 2, 6, "BLOB", np.ones((2, 6), np.float32).tobytes())
    return r.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mx", "OUTPUTS", 1, "my")


def test_looping_model_is_abandoned_and_its_worker_replaced(new_server):
    # kill: the abandoned thread never returns, so the server is stopped with SIGKILL
    s = start(new_server, "MODEL_EXECUTION_TIMEOUT", "1000", kill=True)
    r = s.redis()
    r.execute_command("AI.MODELSTORE", "loop", "TORCH", "CPU", "BLOB", loop_in_forward())
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    assert r.execute_command("AI.MODELEXECUTE", "loop", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"TIMEDOUT"
    assert r.exists("y") == 0
    # the only worker was replaced: the next request runs
    assert run_mlp(r) == b"OK"
    info = r.info("ai")
    assert info["ai_abandoned_runs"] == 1 and info["ai_threads"] == {"CPU": 1}
    raw = r.execute_command("AI.INFO", "loop")
    assert dict(zip(raw[::2], raw[1::2]))[b"calls"] == 0  # a run that timed out is not counted


def test_abandoned_runs_are_capped(new_server):
    s = start(new_server, "MODEL_EXECUTION_TIMEOUT", "1000", "MAX_ABANDONED_RUNS", "1", kill=True)
    r = s.redis()
    r.execute_command("AI.MODELSTORE", "loop", "TORCH", "CPU", "BLOB", loop_in_forward())
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    for _ in range(2):
        assert r.execute_command("AI.MODELEXECUTE", "loop", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"TIMEDOUT"
    # two runs are stuck, one thread was allowed to replace them: none is left to serve
    with pytest.raises(redis.ResponseError, match="MAX_ABANDONED_RUNS"):
        run_mlp(r)
    assert r.info("ai")["ai_abandoned_runs"] == 2 and r.ping() is True


def test_queued_timeout_counts_from_arrival(new_server):
    # the run ahead holds the only worker until MODEL_EXECUTION_TIMEOUT abandons it (3 s)
    s = start(new_server, "MODEL_EXECUTION_TIMEOUT", "3000", kill=True)
    r = s.redis()
    r.execute_command("AI.MODELSTORE", "loop", "TORCH", "CPU", "BLOB", loop_in_forward())
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    r.execute_command("AI.TENSORSET", "mx", "FLOAT", 2, 6, "BLOB", np.ones((2, 6), np.float32).tobytes())
    busy_done = threading.Event()
    busy = {}

    def run_busy():
        busy["reply"] = s.redis(timeout=60).execute_command(
            "AI.MODELEXECUTE", "loop", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
        busy_done.set()

    t = threading.Thread(target=run_busy)
    t.start()
    time.sleep(0.3)  # let the run reach the worker
    reply = r.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "mx", "OUTPUTS", 1, "my", "TIMEOUT", 500)
    # TIMEDOUT while the run ahead of it still holds the only worker: counted from arrival,
    # not from when a worker took the request
    assert reply == b"TIMEDOUT" and not busy_done.is_set()
    t.join(60)
    assert busy["reply"] == b"TIMEDOUT" and r.exists("my", "y") == 0
    assert run_mlp(r) == b"OK"


SCRIPT = """
def repeat(x):
    return x.repeat(2048)

def huge(x):
    return torch.zeros([1099511627776]) + x

def big(x):
    return torch.zeros([33554432]) + x
"""


def test_output_limit_and_failed_allocation_are_errors(new_server):
    s = start(new_server, "MODEL_OUTPUT_LIMIT", "4096", "BACKEND_MEMORY_LIMIT", "64")
    r = s.redis()
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", SCRIPT)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, "VALUES", 1)
    r.execute_command("AI.TENSORSET", "half", "FLOAT", 1, "VALUES", 0.5)
    with pytest.raises(redis.ResponseError, match="8192 bytes, more than MODEL_OUTPUT_LIMIT"):
        r.execute_command("AI.SCRIPTEXECUTE", "s", "repeat", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    # 4 TiB: refused by the allocator at once, instead of reserved and filled page by page
    with pytest.raises(redis.ResponseError, match="refused: more than the physical memory"):
        r.execute_command("AI.SCRIPTEXECUTE", "s", "huge", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    with pytest.raises(redis.ResponseError, match="BACKEND_MEMORY_LIMIT"):  # 128 MiB > 64 MiB
        r.execute_command("AI.SCRIPTEXECUTE", "s", "big", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    assert r.exists("y") == 0
    r.execute_command("AI.TENSORSET", "small", "FLOAT", 1, "VALUES", 3)
    r.execute_command("AI.SCRIPTSET", "t", "CPU", "SOURCE", "def twice(x):\n    return x.repeat(512)\n")
    r.execute_command("AI.SCRIPTEXECUTE", "t", "twice", "INPUTS", 1, "small", "OUTPUTS", 1, "z")
    assert r.execute_command("AI.TENSORGET", "z", "VALUES") == [b"3"] * 512
    assert run_mlp(r) == b"OK"
