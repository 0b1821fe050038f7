"""Cluster specifics: the client follows MOVED after a slot changed owner (SmartRedis does not:
a resharded cluster must not break a run)."""
from __future__ import annotations

import subprocess
import time

import redis



def _owner(servers, slot):
    r = redis.Redis(port=servers[0].port)
    for first, last, *nodes in r.execute_command("CLUSTER SLOTS"):
        if first <= slot <= last:
            return int(nodes[0][1])
    raise AssertionError("slot not covered")


def _move_empty_slot(servers, slot, src_port, dst_port):
    ids = {s.port: redis.Redis(port=s.port).execute_command("CLUSTER MYID").decode() for s in servers}
    redis.Redis(port=dst_port).execute_command("CLUSTER SETSLOT", slot, "IMPORTING", ids[src_port])
    redis.Redis(port=src_port).execute_command("CLUSTER SETSLOT", slot, "MIGRATING", ids[dst_port])
    for p in (dst_port, src_port, *[s.port for s in servers if s.port not in (src_port, dst_port)]):
        redis.Redis(port=p).execute_command("CLUSTER SETSLOT", slot, "NODE", ids[dst_port])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _owner(servers, slot) != dst_port:
        time.sleep(0.1)


def test_follows_moved_after_resharding(cluster_db, programs, tmp_path):
    cluster_db.flush()
    servers = cluster_db.servers
    key = "moved_key_1"
    slot = redis.Redis(port=servers[0].port).execute_command("CLUSTER KEYSLOT", key)
    src = _owner(servers, slot)
    dst = next(s.port for s in servers if s.port != src)
    flag = tmp_path / "go"
    p = subprocess.Popen([str(programs["ctest"]), "moved", key, str(flag)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=cluster_db.env())
    try:
        assert p.stdout.readline().strip() == "READY"
        _move_empty_slot(servers, slot, src, dst)   # the client's slot map is now stale
        flag.write_text("go")
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0 and "OK" in out, out
        assert redis.Redis(port=dst).exists(key) == 1
    finally:
        if p.poll() is None:
            p.kill()
        redis.Redis(port=dst).delete(key)
        _move_empty_slot(servers, slot, dst, src)  # leave the cluster as it was
        assert _owner(servers, slot) == src
