"""Fixtures for the consumer tests: a real redis-server with eddylearn's AI module on a free
loopback port, the genuine SmartRedis client, and snapshot datasets in the solver's data
contract made from REAL fields of the in-process serial solver (32^3 Taylor-Green vortex),
split into fake rank blocks in z.

The module is found through eddylearn.database.module_path() ($EDDYLEARN_AI_MODULE overrides).
"""
from __future__ import annotations

import dataclasses
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# the tests import their helpers (_consumer_data) by name, under any pytest import mode
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")

#: times of the solver snapshots (TGV Re=1600, 32^3)
SNAP_TIMES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    for _ in range(500):
        p = random.randint(20000, 30000)
        if _free(p) and _free(p + 10000):
            return p
    raise RuntimeError("no free port found")


class Server:
    """One redis-server with the AI module in its own folder; stop() always ends it."""

    def __init__(self, workdir: Path, cluster: bool = False):
        from eddylearn import database

        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cmd = [str(database.redis_server_path()), "--port", str(self.port), "--bind", "127.0.0.1",
               "--dir", str(self.workdir), "--save", "", "--appendonly", "no",
               "--loadmodule", str(database.module_path())]
        if cluster:
            cmd += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}): "
                                   + (self.workdir / "redis.log").read_text()[-2000:])
            try:
                if self.redis().ping():
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer within 60 s")
            time.sleep(0.05)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def redis(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30, protocol=2)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("redis"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three redis-server shards with the module, joined by redis-cli --cluster create."""
    from eddylearn import database

    root = tmp_path_factory.mktemp("cluster")
    servers = []
    try:
        for i in range(3):
            servers.append(Server(root / f"shard{i}", cluster=True))
        subprocess.run([str(database.redis_cli_path()), "--cluster", "create",
                        *[s.address for s in servers], "--cluster-replicas", "0", "--cluster-yes"],
                       capture_output=True, text=True, timeout=60, check=True)
        deadline = time.monotonic() + 60
        while not all(b"cluster_state:ok" in s.redis().execute_command("CLUSTER", "INFO")
                      for s in servers):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become ok")
            time.sleep(0.2)
        yield servers
    finally:
        for s in servers:
            s.stop()


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
