"""MODELSTORE, SCRIPTSET and SCRIPTSTORE load on a worker thread and reply from the main thread;
what they replicate reaches the AOF, and its replay (where a client cannot block) stores the
values to be built on first use."""
from __future__ import annotations

import numpy as np
import pytest

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
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob
    assert r.execute_command("AI.MODELGET", "m", "META")[5] == b"v1"
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y2")
    assert r.execute_command("AI.TENSORGET", "y2", "BLOB") == y
    r.execute_command("AI.SCRIPTEXECUTE", "s", "add_mul", "INPUTS", 2, "x", "x", "OUTPUTS", 2, "p", "q")
    assert np.array_equal(np.frombuffer(r.execute_command("AI.TENSORGET", "p", "BLOB"), np.float32),
                          2 * np.arange(6, dtype=np.float32))
