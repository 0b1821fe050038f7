"""Outputs of AI.MODELEXECUTE and of a DAG's PERSIST reach a replica: the module propagates
them as AI.TENSORSET while the server has a replica or keeps a replication backlog for one
(and to the AOF when it is on: test_store_worker), and skips building that copy when nothing
would receive it. A replica that attaches later gets the outputs in its full resync."""
from __future__ import annotations

import time

import numpy as np
import pytest

from _dbnets import traced_mlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _wait_replica(master, replica, timeout=30.0):
    """Until the replica has finished its sync with master (a liveness bound, not a timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = replica.redis().info("replication")
        if info.get("master_link_status") == "up" and master.redis().info("replication")["connected_slaves"] == 1:
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not sync: {replica.log()[-2000:]}")


def _run(r, out, x="x"):
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, x, "OUTPUTS", 1, out)
    return r.execute_command("AI.TENSORGET", out, "BLOB")


def test_outputs_reach_a_replica_before_during_and_after_its_link(new_server):
    master = new_server().start()
    r = master.redis()
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 6, "BLOB", np.arange(12, dtype=np.float32).tobytes())
    # no replica, no AOF, no backlog yet: the output is stored all the same
    assert r.info("replication")["repl_backlog_active"] == 0
    y_before = _run(r, "y_before")
    assert len(y_before) > 0

    replica = new_server().start()
    replica.redis().execute_command("REPLICAOF", "127.0.0.1", master.port)
    _wait_replica(master, replica)
    rr = replica.redis()
    # what was there before the link came with the full resync
    assert rr.execute_command("AI.TENSORGET", "y_before", "BLOB") == y_before
    # a run while linked is propagated, and so is a DAG's persisted output
    y_linked = _run(r, "y_linked")
    r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "x", "PERSIST", 1, "y_dag", "|>",
                      "AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y_dag")
    assert r.execute_command("WAIT", 1, 10000) == 1
    assert rr.execute_command("AI.TENSORGET", "y_linked", "BLOB") == y_linked
    assert rr.execute_command("AI.TENSORGET", "y_dag", "BLOB") == y_linked

    # the replica goes away: the backlog stays (for a partial resync), so runs meanwhile are
    # still propagated; this replica keeps nothing on disk and comes back with a full resync
    replica.stop()
    assert r.info("replication")["repl_backlog_active"] == 1
    # an input of 4096 rows: the output (96 KiB) is far larger than the commands that make it,
    # so the backlog grows by at least its bytes only if the output itself is propagated
    r.execute_command("AI.TENSORSET", "x_away", "FLOAT", 4096, 6, "BLOB",
                      np.random.default_rng(2).standard_normal((4096, 6), np.float32).tobytes())
    offset = r.info("replication")["master_repl_offset"]
    y_away = _run(r, "y_away", "x_away")
    assert len(y_away) == 4096 * 6 * 4
    assert r.info("replication")["master_repl_offset"] - offset >= len(y_away)
    replica.start()
    replica.redis().execute_command("REPLICAOF", "127.0.0.1", master.port)
    _wait_replica(master, replica)
    assert r.execute_command("WAIT", 1, 10000) == 1
    assert replica.redis().execute_command("AI.TENSORGET", "y_away", "BLOB") == y_away
