"""Helpers for the native client tests, imported by conftest.py and the test modules (a module
name of its own: several conftest.py files exist under tests/). Real redis-server processes
with the AI module, test programs compiled against the installed client (python -m
eddylearn.client_config; EDDYLEARN_CLIENT_PREFIX overrides), the genuine SmartRedis client."""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
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


def ai_module() -> Path:
    env = os.environ.get("EDDYLEARN_AI_MODULE")
    if env:
        p = Path(env)
        if not p.is_file():
            raise RuntimeError(f"EDDYLEARN_AI_MODULE={env} does not name a file")
        return p
    from eddylearn import database  # the database engineer's lookup
    return database.module_path()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_ports(n: int) -> list[int]:
    """n ports p with p+10000 also free (the cluster bus port)."""
    out = []
    while len(out) < n:
        p = free_port()
        if p + 10000 > 65535 or p in out:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p + 10000))
        except OSError:
            continue
        out.append(p)
    return out


def _ping(port: int, path: str | None = None) -> bool:
    import redis
    try:
        r = redis.Redis(unix_socket_path=path) if path else redis.Redis(port=port, socket_timeout=1)
        return bool(r.ping())
    except Exception:
        return False


class Server:
    """One redis-server with the AI module, on 127.0.0.1:port (and a unix socket)."""

    def __init__(self, run_dir: Path, port: int, cluster: bool = False):
        self.dir = run_dir
        self.port = port
        self.cluster = cluster
        self.unix = str(run_dir / f"redis-{port}.sock")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
               "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no",
               "--dir", str(self.dir), "--unixsocket", self.unix, "--unixsocketperm", "700",
               "--loadmodule", str(ai_module())]
        if self.cluster:
            for f in self.dir.glob(f"nodes-{self.port}.conf"):
                f.unlink()
            cmd += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{self.port}.conf"]
        log = open(self.dir / f"redis-{self.port}.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited: "
                                   f"{(self.dir / f'redis-{self.port}.log').read_text()[-2000:]}")
            if _ping(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


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
