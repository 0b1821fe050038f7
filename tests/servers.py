"""Real redis-server processes with eddylearn's AI module on free loopback ports, for every
test suite: one server (optionally persistent, clustered, with a unix socket) or a 3-shard
Redis Cluster made with redis-cli. stop() always ends the process; fixtures call it."""
from __future__ import annotations

import random
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

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


class Server:
    """One redis-server with the module, in its own folder.

    persist: keep an RDB file there, so restart() brings back what was stored (SHUTDOWN SAVE,
    then a new process); cluster: cluster mode (join with Cluster); unix: also listen on a unix
    socket (self.unix); kill: stop() ends the process with SIGKILL (a database that vanishes)
    instead of SIGTERM; credentials: (user, password) of a server configured (through extra) to
    require them; address_space: a virtual memory limit for the process (RLIMIT_AS; 0 = none;
    a server at rest uses about 0.6 GiB), so that an allocation outside Redis's accounting
    (libtorch) fails inside the server instead of exhausting the machine. The fuzz runs use
    one; other tests do not, because libtorch's model runs are several times slower under it;
    maxmemory: Redis's memory limit (every test server has one, so that a
    runaway test is refused instead of exhausting the machine). The crash report's memory test
    is off: a crash is reported at once instead of after minutes of memory checking."""

    def __init__(self, workdir: Path, port: int | None = None, *, persist: bool = False,
                 cluster: bool = False, unix: bool = False, kill: bool = False,
                 module_args=("THREADS_PER_QUEUE", "2"), extra=(), maxmemory: str = "2gb",
                 credentials: tuple[str | None, str] | None = None, address_space: int = 0):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.persist, self.cluster, self.kill = persist, cluster, kill
        self.unix = str(self.workdir / f"redis-{self.port}.sock") if unix else None
        self.module_args = list(module_args)
        self.extra = list(extra)
        self.maxmemory = maxmemory
        self.username, self.password = credentials or (None, None)
        self.address_space = address_space
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def logfile(self) -> Path:
        return self.workdir / f"redis-{self.port}.log"

    def command(self) -> list[str]:
        cmd = [str(database.redis_server_path()), "--port", str(self.port), "--bind", "127.0.0.1",
               "--dir", str(self.workdir), "--appendonly", "no", "--protected-mode", "no",
               "--crash-memcheck-enabled", "no", "--maxmemory", self.maxmemory]
        cmd += ["--dbfilename", "dump.rdb"] if self.persist else ["--save", ""]
        if self.unix:
            cmd += ["--unixsocket", self.unix, "--unixsocketperm", "700"]
        if self.cluster:
            cmd += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{self.port}.conf"]
        return cmd + ["--loadmodule", str(database.module_path()), *self.module_args, *self.extra]

    def start(self, wait: bool = True, timeout: float = 60.0) -> "Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.cluster:
            (self.workdir / f"nodes-{self.port}.conf").unlink(missing_ok=True)
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir, env=database.server_env(),
                                         start_new_session=True, preexec_fn=self._limits)
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}): "
                                   f"{self.log()[-3000:]}")
            try:
                if self._probe().ping():
                    return self
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError,
                    redis.exceptions.TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer")

    def _limits(self) -> None:
        if self.address_space:
            resource.setrlimit(resource.RLIMIT_AS, (self.address_space, self.address_space))

    def _probe(self) -> redis.Redis:
        """A connection without redis-py's retries (which spend ~4 s on a refused connection
        before the server listens, or after it has exited)."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, protocol=2,
                           retry=Retry(NoBackoff(), 0), username=self.username, password=self.password)

    def redis(self, timeout: float = 30.0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, protocol=2,
                           username=self.username, password=self.password)

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, save: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if save:
                subprocess.run([str(database.redis_cli_path()), "-p", str(self.port), "shutdown",
                                "save"], capture_output=True, timeout=60)
            elif self.kill:
                self.proc.send_signal(signal.SIGKILL)
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def restart(self, pause: float = 0.0) -> None:
        self.stop(save=self.persist)
        time.sleep(pause)
        self.start()

    def env(self) -> dict[str, str]:
        """Variables that point a SmartRedis-style client at this server."""
        return {"SSDB": self.address, "SR_DB_TYPE": "Standalone"}


class Cluster:
    """n shards joined by redis-cli --cluster create (no replicas)."""

    def __init__(self, root: Path, n: int = 3, **kw):
        base = free_port(n)
        self.servers = [Server(Path(root) / f"shard{i}", port=base + i, cluster=True, **kw)
                        for i in range(n)]

    def start(self) -> "Cluster":
        try:
            for s in self.servers:
                s.start()
            cmd = [str(database.redis_cli_path()), "--cluster", "create",
                   *[s.address for s in self.servers], "--cluster-replicas", "0", "--cluster-yes"]
            subprocess.run(cmd, input="yes\n", capture_output=True, text=True, timeout=60,
                           check=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(b"cluster_state:ok" in s.redis().execute_command("CLUSTER", "INFO")
                       for s in self.servers):
                    return self
                time.sleep(0.2)
            raise RuntimeError("the cluster did not become ok")
        except BaseException:
            self.stop()
            raise

    @property
    def address(self) -> str:
        return self.servers[0].address

    def env(self) -> dict[str, str]:
        return {"SSDB": ",".join(s.address for s in self.servers), "SR_DB_TYPE": "Clustered"}

    def stop(self) -> None:
        for s in self.servers:
            s.stop()
