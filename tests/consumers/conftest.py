"""Fixtures for the consumer tests: a real redis-server with eddylearn's AI module on a free
loopback port, the genuine SmartRedis client, and snapshot datasets in the solver's data
contract made from REAL fields of the in-process serial solver (32^3 Taylor-Green vortex),
split into fake rank blocks in z.

The module is found through eddylearn.database.module_path() ($EDDYLEARN_AI_MODULE overrides).
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# the tests import their helpers (_consumer_data, and the shared tests/servers.py) by name,
# under any pytest import mode
for _dir in (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent):
    if str(_dir) not in sys.path:
        sys.path.append(str(_dir))

from servers import Cluster, Server  # noqa: E402

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")

#: times of the solver snapshots (TGV Re=1600, 32^3)
SNAP_TIMES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("redis")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three redis-server shards with the module, joined by redis-cli --cluster create."""
    c = Cluster(tmp_path_factory.mktemp("cluster")).start()
    try:
        yield c.servers
    finally:
        c.stop()


@pytest.fixture
def db_env(server, monkeypatch):
    """The environment a SmartSim-launched consumer sees (standalone database)."""
    monkeypatch.setenv("SSDB", server.address)
    monkeypatch.setenv("SR_DB_TYPE", "Standalone")
    for var in ("SSKEYIN", "SSKEYOUT"):
        monkeypatch.delenv(var, raising=False)
    return {k: v for k, v in os.environ.items()}


@pytest.fixture
def r(server, db_env):
    """redis-py connection to the flushed shared server."""
    conn = server.redis()
    conn.flushall()
    yield conn
    assert server.alive(), "the server died during the test"
    conn.close()


@pytest.fixture
def client(r):
    """Genuine SmartRedis client (standalone) on the flushed shared server."""
    from smartredis import Client
    return Client(False, logger_name="tests-consumers")


@dataclasses.dataclass
class SolverSnapshot:
    step: int
    time: float
    fields: dict
    diag: dict
    dx: tuple
    n: tuple


@pytest.fixture(scope="session")
def solver_snapshots(tmp_path_factory) -> list[SolverSnapshot]:
    """Real solver fields of the 32^3 TGV (Re = 1600) at SNAP_TIMES, with its diagnostics."""
    from eddylearn.solver import Solver

    out = []
    work = tmp_path_factory.mktemp("solver")
    with Solver({"domain": {"nx": 32, "ny": 32, "nz": 32}, "time": {"t_end": 20.0}},
                workdir=work) as s:
        for t in SNAP_TIMES:
            if t > 0:
                s.advance(t)
            fields = {f: s.field(f) for f in ("u", "v", "w", "p")}
            h = 2 * np.pi / 32
            out.append(SolverSnapshot(s.nstep, s.time, fields, s.diagnostics(), (h, h, h),
                                      s.shape))
    return out


@pytest.fixture
def run_module(db_env):
    """Run `python -m eddylearn.consumers.<name> ...` as a child process with the database env."""
    procs = []

    def start(name: str, *args, env_extra=None, **kw) -> subprocess.Popen:
        env = dict(db_env)
        for k, v in (env_extra or {}).items():   # None removes a variable
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        p = subprocess.Popen([sys.executable, "-m", f"eddylearn.consumers.{name}",
                              *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
