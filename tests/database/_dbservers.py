"""Real redis-server processes with the AI module, for the database tests: one server, or a
Redis Cluster made with redis-cli, on free loopback ports."""
from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path

import redis

from eddylearn import database


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(span: int = 1) -> int:
    """A port p such that p … p+span-1 and their cluster-bus ports (+10000) are free."""
    for _ in range(500):
        p = random.randint(20000, 30000)
        if all(_free(p + i) and _free(p + i + 10000) for i in range(span)):
            return p
    raise RuntimeError("no free port found")


class Server:
    """One redis-server with the module, in its own folder; stop() always ends it."""

    def __init__(self, workdir: Path, port: int | None = None, module_args=("THREADS_PER_QUEUE", "2"),
                 extra=()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.module_args = list(module_args)
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(database.redis_server_path()), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", "--appendonly", "no",
                "--loadmodule", str(database.module_path()), *self.module_args, *self.extra]

    def start(self, wait: bool = True) -> "Server":
        log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                                     env=database.server_env())
        log.close()
        if wait:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited ({self.proc.returncode}): {self.log()[-3000:]}")
                try:
                    if self.redis().ping():
                        return self
                except redis.exceptions.ConnectionError:
                    pass
                time.sleep(0.05)
            raise RuntimeError("redis-server did not answer")
        return self

    def redis(self, timeout: float = 30.0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, protocol=2)

    def log(self) -> str:
        try:
            return (self.workdir / "redis.log").read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None


class Cluster:
    def __init__(self, root: Path, n: int = 3):
        base = free_port(n)
        self.servers = [Server(root / f"shard{i}", port=base + i,
                               extra=["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{base + i}.conf"])
                        for i in range(n)]

    def start(self) -> "Cluster":
        for s in self.servers:
            s.start()
        cmd = [str(database.redis_cli_path()), "--cluster", "create", *[s.address for s in self.servers],
               "--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(cmd, input="yes\n", capture_output=True, text=True, timeout=60, check=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in s.redis().execute_command("CLUSTER", "INFO").decode() for s in self.servers):
                return self
            time.sleep(0.2)
        raise RuntimeError("cluster did not become ok")

    @property
    def address(self) -> str:
        return self.servers[0].address

    def stop(self) -> None:
        for s in self.servers:
            s.stop()
