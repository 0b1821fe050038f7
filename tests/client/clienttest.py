"""Helpers for the native client tests, imported by conftest.py and the test modules (a module
name of its own: several conftest.py files exist under tests/). Real redis-server processes
with the AI module, test programs compiled against the installed client (python -m
eddylearn.client_config; EDDYLEARN_CLIENT_PREFIX overrides), the genuine SmartRedis client."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))     # the shared tests/servers.py
import servers  # noqa: E402
PROGRAMS = HERE / "programs"
REPO = HERE.parent.parent


def _client_config():
    try:
        from eddylearn import client_config  # installed package
        return client_config
    except ImportError:  # a package built before the client existed: use the source file
        spec = importlib.util.spec_from_file_location(
            "client_config", REPO / "python" / "eddylearn" / "client_config.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod


def free_port() -> int:
    return servers.free_port()


def free_cluster_ports(n: int) -> list[int]:
    """n consecutive ports whose cluster-bus ports (+10000) are free."""
    base = servers.free_port(n)
    return [base + i for i in range(n)]


class Server(servers.Server):
    """One redis-server with the AI module on 127.0.0.1:port and a unix socket (self.unix);
    stop() kills it outright, as a database that vanishes."""

    def __init__(self, run_dir: Path, port: int, cluster: bool = False):
        super().__init__(run_dir, port, cluster=cluster, unix=True, kill=True)


class Db:
    """What a test needs to talk to one database deployment."""

    def __init__(self, kind: str, servers: list[Server]):
        self.kind = kind
        self.servers = servers

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.servers[0].port}"

    def env(self, **extra) -> dict:
        e = dict(os.environ)
        for k in list(e):
            if k.startswith(("SSDB", "SSKEYIN", "SSKEYOUT", "SR_")):
                del e[k]
        e.update(SSDB=self.address, SR_DB_TYPE="Clustered" if self.kind == "cluster" else "Standalone",
                 SR_LOG_LEVEL="quiet")
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def smartredis(self):
        from smartredis import Client
        os.environ.setdefault("SR_LOG_LEVEL", "quiet")
        return Client(self.kind == "cluster", self.address)

    def flush(self) -> None:
        import redis
        for s in self.servers:
            redis.Redis(port=s.port).flushall()


def _compile(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"compilation failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")


def run(exe: Path, *args, env: dict, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=timeout)
    if check and (r.returncode != 0 or "OK" not in r.stdout.splitlines()):
        raise AssertionError(f"{exe.name} {' '.join(map(str, args))} failed ({r.returncode}):\n"
                             f"{r.stdout}\n{r.stderr}")
    return r
