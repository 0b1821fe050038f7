"""Fixtures for the native client tests: real redis-server processes with the AI module (one
standalone server, a 3-shard cluster) and the test programs compiled against the installed
client. Helpers live in clienttest.py."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import sys
import pytest

from clienttest import PROGRAMS, Db, Server, _client_config, _compile, free_cluster_ports, free_port


@pytest.fixture(scope="session")
def client_prefix() -> Path:
    cc = _client_config()
    cc.check()
    return cc.prefix()


@pytest.fixture(scope="session")
def programs(tmp_path_factory, client_prefix) -> dict:
    cc = _client_config()
    out = tmp_path_factory.mktemp("client-programs")
    ftest, ctest = out / "ftest", out / "ctest"
    subprocess.run([sys.executable, str(PROGRAMS / "gen_ftest.py"), str(out)], check=True)
    _compile(["gfortran", "-O1", *cc.fflags(), str(out / "ftest.f90"), "-J", str(out),
              "-o", str(ftest), *cc.libs()])
    _compile(["gcc", "-std=c11", "-O1", *cc.cflags(), str(PROGRAMS / "ctest.c"), "-o", str(ctest),
              *cc.libs()])
    return {"ftest": ftest, "ctest": ctest}


@pytest.fixture(scope="session")
def standalone_db(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("redis-standalone"), free_port())
    s.start()
    yield Db("standalone", [s])
    s.stop()


@pytest.fixture(scope="session")
def cluster_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("redis-cluster")
    servers = [Server(root / f"shard{i}", p, cluster=True) for i, p in enumerate(free_cluster_ports(3))]
    try:
        for s in servers:
            s.start()
        cmd = [shutil.which("redis-cli") or "redis-cli", "--cluster", "create",
               *[f"127.0.0.1:{s.port}" for s in servers], "--cluster-replicas", "0", "--cluster-yes"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{r.stdout}\n{r.stderr}")
        import redis
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(redis.Redis(port=s.port).cluster("info").get("cluster_state") == "ok"
                   for s in servers):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("the cluster did not reach cluster_state:ok")
        yield Db("cluster", servers)
    finally:
        for s in servers:
            s.stop()


@pytest.fixture(params=["standalone", "cluster"])
def db(request) -> Db:
    d = request.getfixturevalue(f"{request.param}_db")
    d.flush()
    return d
