"""`eddylearn db start|status|stop`: one shard through SmartSim's Orchestrator, three shards as
a hand-made Redis Cluster; nothing is left running after stop."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from smartredis import Client

from eddylearn import database

from _dbresp import Resp
from servers import free_port


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder (dependency folder, state file, run folder)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield tmp_path / "cache"
    database.stop()  # whatever a failed test left behind


def _gone(pids):
    return all(not database._pid_alive(p) for p in pids)


def test_dep_folder_for_smartsim(cache):
    dep = database.prepare_dep_folder()
    server = dep / "bin" / "redis-server"
    assert server.is_file() and not server.is_symlink()
    assert server.stat().st_size == database.redis_server_path().resolve().stat().st_size
    assert (dep / "bin" / "redis-cli").is_file()
    assert (dep / "lib" / "redisai.so").resolve() == database.module_path()
    os.environ["SMARTSIM_DEP_INSTALL_PATH"] = str(dep)
    try:
        from smartsim._core.config.config import Config

        cfg = Config()
        assert cfg.database_exe == str(server.resolve())
        assert cfg.redisai == str(database.module_path())
    finally:
        del os.environ["SMARTSIM_DEP_INSTALL_PATH"]


def test_smartsim_orchestrator_start_status_stop(cache):
    port = free_port()
    st = database.start(port=port, shards=1, threads=2)
    assert st.kind == "smartsim" and st.addresses == [f"127.0.0.1:{port}"] and st.pids
    c = Client(address=st.addresses[0], cluster=False)
    c.put_tensor("x", np.arange(10.0))
    assert np.array_equal(c.get_tensor("x"), np.arange(10.0))
    s = database.status()
    assert s["running"] and s["shards"][0]["keys"] == 1 and s["shards"][0]["used_memory"] > 0
    conn = Resp(port)
    assert "ai_threads_per_queue:2" in conn.call("INFO", "ai_load_time_configs").decode()
    conn.close()
    with pytest.raises(database.DatabaseError, match="already running"):
        database.start(port=port)
    assert database.stop() is True
    assert _gone(st.pids) and database.port_free("127.0.0.1", port)
    assert database.status() == {"running": False}


def test_three_shard_cluster_start_status_stop(cache):
    port = free_port(3)
    st = database.start(port=port, shards=3, threads=1)
    assert st.kind == "cluster" and len(st.pids) == 3
    c = Client(address=st.addresses[0], cluster=True)
    for i in range(12):
        c.put_tensor(f"k{i}", np.full(4, i, np.int32))
    s = database.status()
    assert s["running"] and len(s["shards"]) == 3
    assert sum(sh["keys"] for sh in s["shards"]) == 12 and all(sh["keys"] > 0 for sh in s["shards"])
    assert database.stop() is True
    assert _gone(st.pids) and all(database.port_free("127.0.0.1", port + i) for i in range(3))


def test_refusals_and_cli_parser(cache):
    with pytest.raises(database.DatabaseError, match="three masters"):
        database.start(port=free_port(2), shards=2)
    assert database.stop() is False
    parser = argparse.ArgumentParser()
    database.register_cli(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["db", "start", "--port", "7000", "--shards", "3", "--threads", "2"])
    assert (args.action, args.port, args.shards, args.threads, args.interface) == ("start", 7000, 3, 2, "lo")
    assert args.func(parser.parse_args(["db", "status"])) == 1  # nothing running


def test_a_stop_signal_while_db_stop_runs_does_not_leave_the_database(cache):
    """`eddylearn db stop` on a server that hangs (here stopped with SIGSTOP) waits for it, then
    kills it. A SIGTERM meanwhile (a batch job's end) does not cut that short; the command says
    so and exits with the signal's status."""
    port = free_port()
    st = database.start(port=port, shards=1, threads=1)
    try:
        for pid in st.pids:
            os.kill(pid, signal.SIGSTOP)
        stopper = subprocess.Popen([str(Path(sys.executable).parent / "eddylearn"), "db", "stop",
                                    "--port", str(port)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(4)           # it has found the server not answering and waits for it
        assert stopper.poll() is None
        stopper.send_signal(signal.SIGTERM)
        out, err = stopper.communicate(timeout=120)
        assert stopper.returncode == 128 + signal.SIGTERM, out + err
        assert "SIGTERM received while stopping; the clean-up went on" in err
        assert "Traceback" not in err
        assert f"database at 127.0.0.1:{port} stopped" in out
        assert _gone(st.pids) and database.port_free("127.0.0.1", port)
    finally:
        for pid in st.pids:     # what a failed check leaves, by PID
            if database._pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
