"""`eddylearn db` on a shared machine: one database per address, records checked against the
processes they name, ports in use refused, data kept across stop and start when asked."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from smartredis import Client

from eddylearn import database

from servers import Server, free_port


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder (state records, run folders)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield tmp_path / "cache"
    database.stop(all=True)  # whatever a failed test left behind


def _gone(pids):
    return all(not database._pid_alive(p) for p in pids)


def db_cli(*args, cache):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "eddylearn", "db", *args], capture_output=True,
                          text=True, timeout=180, env=env)


def test_two_databases_on_two_ports_stop_one_the_other_lives(cache):
    p1, p2 = free_port(), free_port()
    a = database.start(port=p1)
    b = database.start(port=p2)
    assert {s.ports[0] for s in database.recorded()} == {p1, p2}
    Client(address=a.addresses[0], cluster=False).put_tensor("a", np.arange(3.0))
    Client(address=b.addresses[0], cluster=False).put_tensor("b", np.arange(4.0))
    # status of one port shows that port only; without a port and with two recorded: refused
    out = db_cli("status", "--port", str(p2), cache=cache)
    assert out.returncode == 0 and f"127.0.0.1:{p2}  up" in out.stdout and str(p1) not in out.stdout
    with pytest.raises(database.DatabaseError, match="name one with --port"):
        database.stop()
    # a port where nothing was started by eddylearn: nothing stopped
    out = db_cli("stop", "--port", str(free_port()), cache=cache)
    assert out.returncode == 1 and "nothing stopped" in out.stdout
    assert all(database.still_ours(r) for r in a.procs + b.procs)
    out = db_cli("stop", "--port", str(p1), cache=cache)
    assert out.returncode == 0 and "stopped" in out.stdout, out.stdout + out.stderr
    assert _gone(a.pids) and database.port_free("127.0.0.1", p1)
    assert all(database.still_ours(r) for r in b.procs)
    c = Client(address=b.addresses[0], cluster=False)
    assert np.array_equal(c.get_tensor("b"), np.arange(4.0))
    assert database.status(p2)["running"] and database.status(p1) == {"running": False}
    out = db_cli("status", "--all", cache=cache)
    assert out.returncode == 0 and str(p2) in out.stdout and str(p1) not in out.stdout
    assert database.stop(all=True) is True
    assert _gone(b.pids) and database.recorded() == []


def test_a_recycled_pid_is_not_signalled(cache, tmp_path):
    """The record names a server that has ended; its PID now belongs to another program (here
    `sleep`, given the recorded PID by rewriting the record): stop leaves that program alone."""
    port = free_port(3)
    st = database.start(port=port, shards=3)
    for rec in st.procs:   # the servers end without eddylearn knowing
        subprocess.run(["kill", "-9", str(rec["pid"])], check=True)
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        f = database.state_file(st.host, port)
        data = json.loads(f.read_text())
        for rec in data["procs"]:
            rec["pid"] = stranger.pid   # same PID, another program
        data["pids"] = [stranger.pid] * len(data["pids"])
        f.write_text(json.dumps(data))
        assert not database.still_ours(data["procs"][0])
        assert database.stop(port) is False          # nothing of it was running
        assert stranger.poll() is None               # the other program lives
        assert not f.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_a_taken_port_is_refused_and_the_other_server_untouched(cache, tmp_path):
    other = Server(tmp_path / "other").start()      # a Redis that eddylearn did not start
    try:
        other.redis().set("mine", "kept")
        with pytest.raises(database.DatabaseError, match="already in use by another program"):
            database.start(port=other.port)
        out = db_cli("start", "--port", str(other.port), cache=cache)
        assert out.returncode == 2 and "already in use" in out.stdout
        assert database.recorded() == []
        # stop and status on that port do not touch it
        assert database.stop(other.port) is False
        out = db_cli("stop", "--port", str(other.port), cache=cache)
        assert out.returncode == 1
        # a record whose port another server answers now: that server is left alone
        st = database.DbState(kind="smartsim", host="127.0.0.1", ports=[other.port],
                              pids=[other.proc.pid], node=database.node_name(),
                              procs=[{"pid": other.proc.pid, "create_time": 1.0,
                                      "cmdline": ["redis-server"]}])
        database._save_state(st)
        assert database.status(other.port)["running"] is False
        assert database.stop(other.port) is False
        assert other.alive() and other.redis().get("mine") == b"kept"
    finally:
        other.stop()


def _put(address: str, cluster: bool, n: int) -> None:
    c = Client(address=address, cluster=cluster)
    for i in range(n):
        c.put_tensor(f"t{i}", np.full(8, i, np.float32))


def _check(address: str, cluster: bool, n: int) -> None:
    c = Client(address=address, cluster=cluster)
    for i in range(n):
        assert np.array_equal(c.get_tensor(f"t{i}"), np.full(8, i, np.float32)), i


@pytest.mark.parametrize("persist", ["rdb", "aof"])
def test_one_shard_keeps_its_data_across_stop_and_start(cache, persist):
    port = free_port()
    st = database.start(port=port, persist=persist)
    _put(st.addresses[0], False, 20)
    assert database.stop(port) is True and _gone(st.pids)
    st = database.start(port=port, persist=persist)
    _check(st.addresses[0], False, 20)
    assert database.status(port)["shards"][0]["keys"] == 20
    assert database.stop(port) is True
    # without persistence the next start is empty
    st = database.start(port=port, persist="none")
    assert database.status(port)["shards"][0]["keys"] == 0
    database.stop(port)


def test_three_shard_cluster_keeps_its_data_across_stop_and_start(cache):
    port = free_port(4)
    st = database.start(port=port, shards=3, persist="rdb")
    _put(st.addresses[0], True, 30)
    assert database.stop(port) is True and _gone(st.pids)
    st = database.start(port=port, shards=3, persist="rdb")
    _check(st.addresses[0], True, 30)
    s = database.status(port)
    assert sum(sh["keys"] for sh in s["shards"]) == 30 and all(sh["keys"] > 0 for sh in s["shards"])
    assert database.stop(port) is True
    # a different shard count on the kept data is refused, not wiped
    with pytest.raises(database.DatabaseError, match="holds the data of a cluster"):
        database.start(port=port, shards=4, persist="rdb")


def test_persist_option_is_checked(cache):
    with pytest.raises(database.DatabaseError, match="persistence must be one of"):
        database.start(port=free_port(), persist="sometimes")
