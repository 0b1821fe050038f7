"""Real redis-server processes with eddylearn's AI module on free loopback ports, for tests.
A server lives in its own folder; stop() always ends it (fixtures call it in teardown)."""
from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path

from eddylearn import database


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(span: int = 1) -> int:
    """A port p such that p ... p+span-1 and their cluster-bus ports (+10000) are free."""
    for _ in range(500):
        p = random.randint(20000, 30000)
        if all(_free(p + i) and _free(p + i + 10000) for i in range(span)):
            return p
    raise RuntimeError("no free port found")


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    """One redis-server with the module. persist=True keeps an RDB file in the folder, so
    that restart() brings back what was stored (SHUTDOWN SAVE, then a new process)."""

    def __init__(self, workdir: Path, port: int | None = None, persist: bool = False,
                 module_args=("THREADS_PER_QUEUE", "2"), extra=()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.persist = persist
        self.module_args = list(module_args)
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        save = ["--dbfilename", "dump.rdb"] if self.persist else ["--save", ""]
        return [str(database.redis_server_path()), "--port", str(self.port), "--bind",
                "127.0.0.1", "--dir", str(self.workdir), *save, "--appendonly", "no",
                "--loadmodule", str(database.module_path()), *self.module_args, *self.extra]

    def start(self, timeout: float = 60) -> "Server":
        with open(self.workdir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}): "
                                   f"{(self.workdir / 'redis.log').read_text()[-3000:]}")
            if _ping(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def stop(self, save: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if save:
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "save"],
                           capture_output=True, timeout=30)
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self, pause: float = 0.0) -> None:
        self.stop(save=self.persist)
        time.sleep(pause)
        self.start()

    def env(self) -> dict[str, str]:
        """Variables that point a SmartRedis-style client at this server."""
        return {"SSDB": self.address, "SR_DB_TYPE": "Standalone"}
