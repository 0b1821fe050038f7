"""The eddylearn database: Debian's redis-server with eddylearn's RedisAI-compatible module.

One shard is launched through SmartSim's Orchestrator (local launcher); several shards form a
Redis Cluster on loopback ports that this module starts itself, because SmartSim's local
launcher refuses more than one shard. Any number of databases can run, one per address: a
record per address (a state folder per machine, a file per host and port) lets ``stop`` and
``status`` find what ``start`` started, and a recorded process is signalled only while its
start time and command line still match. Persistence is chosen per start (``none``, ``rdb``,
``aof``).

Functions: :func:`module_path`, :func:`redis_server_path`, :func:`prepare_dep_folder`,
:func:`start`, :func:`stop`, :func:`status`, :func:`recorded`, and :func:`register_cli` for the ``eddylearn db``
command.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MODULE_ENV = "EDDYLEARN_AI_MODULE"
DEFAULT_PORT = 6379
# Credentials of a database started with a password. SmartRedis 0.6.1 has no way to send one
# (its connections carry only host and port), so these are eddylearn's own names; the C and
# Fortran client, the consumers' redis-py connections and `eddylearn db` read them.
PASSWORD_ENV = "EDDYLEARN_DB_PASSWORD"
USER_ENV = "EDDYLEARN_DB_USER"
# What a client without a password may do on a database started with --anonymous-data: the
# data commands (tensors, models, scripts, keys, datasets) but no administration (SHUTDOWN,
# FLUSHALL, CONFIG, DEBUG, MODULE, ACL, KEYS, ... are Redis's @dangerous category) and no
# AI.CONFIG.
ANONYMOUS_DATA_RULES = "~* &* +@all -@dangerous -@admin -ai.config"


class DatabaseError(RuntimeError):
    """A database could not be started, found or stopped; the message says why."""


# ---------------------------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """The per-user folder for eddylearn's database files (XDG_CACHE_HOME honoured)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eddylearn"


def module_path() -> Path:
    """Path of the AI module: $EDDYLEARN_AI_MODULE, else the one installed with the package."""
    env = os.environ.get(MODULE_ENV)
    if env:
        p = Path(env).expanduser().resolve()
        if not p.is_file():
            raise DatabaseError(f"{MODULE_ENV}={env} does not name a file")
        return p
    p = Path(__file__).resolve().parent / "_database" / "redisai.so"
    if not p.is_file():
        raise DatabaseError(
            f"the database module is not installed ({p} is missing); build eddylearn with the "
            f"database enabled, or set {MODULE_ENV} to a built redisai.so"
        )
    return p


def redis_server_path() -> Path:
    """The redis-server program to run. Debian's /usr/bin/redis-server is a symlink to
    redis-check-rdb (Redis picks its mode from argv[0]); run through the symlink it is a server,
    which is how our own launches call it."""
    exe = shutil.which("redis-server")
    if not exe:
        raise DatabaseError("redis-server is not installed (Debian: apt-get install redis-server)")
    return Path(exe)


def redis_cli_path() -> Path:
    exe = shutil.which("redis-cli")
    if not exe:
        raise DatabaseError("redis-cli is not installed (Debian: apt-get install redis-tools)")
    return Path(exe)


def prepare_dep_folder(folder: Path | None = None) -> Path:
    """Prepares a dependency folder of SmartSim's layout (see smartsim_setup, which puts it
    where SmartSim looks):
    bin/redis-server is a real copy of the server binary (SmartSim resolves symlinks, and the
    Debian symlink would start redis-check-rdb), bin/redis-cli, and lib/redisai.so pointing at
    our module. Returns the folder."""
    folder = Path(folder) if folder else cache_dir() / "smartsim-deps"
    bindir, libdir = folder / "bin", folder / "lib"
    bindir.mkdir(parents=True, exist_ok=True)
    libdir.mkdir(parents=True, exist_ok=True)

    real_server = redis_server_path().resolve()
    dst = bindir / "redis-server"
    if dst.is_symlink() or not dst.is_file() or dst.stat().st_size != real_server.stat().st_size:
        tmp = bindir / ".redis-server.tmp"
        shutil.copy2(real_server, tmp)
        os.replace(tmp, dst)
    cli = bindir / "redis-cli"
    if not cli.exists():
        shutil.copy2(redis_cli_path().resolve(), cli)

    mod = module_path()
    link = libdir / "redisai.so"
    if link.is_symlink() or link.exists():
        if link.resolve() != mod:
            link.unlink()
    if not link.exists():
        link.symlink_to(mod)
    return folder


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------

#: what a database keeps across a stop and a start (docs/database.md, "Persistence")
PERSIST_MODES = ("none", "rdb", "aof")
#: RDB snapshot points: after 900 s with 1 change, 300 s with 10, 60 s with 10000
RDB_SAVE_POINTS = "900 1 300 10 60 10000"


@dataclass
class DbState:
    """What ``start`` launched at one address, so ``stop`` and ``status`` can find it. Each
    process is recorded with its start time and command line: a PID is signalled only while
    it still names that process."""

    kind: str  # "smartsim" or "cluster"
    host: str
    ports: list[int]
    pids: list[int] = field(default_factory=list)  # processes to end on stop
    run_dir: str = ""
    auth: bool = False  # started with a password (read from PASSWORD_ENV again by stop/status)
    user: str = ""      # ACL user of the password; "" = Redis's default user
    node: str = ""  # the machine that started it
    persist: str = "none"
    procs: list[dict] = field(default_factory=list)  # {pid, create_time, cmdline} per pid

    @property
    def addresses(self) -> list[str]:
        return [f"{self.host}:{p}" for p in self.ports]


def node_name() -> str:
    """This machine's name: state folders are kept per machine, since a home folder can be
    shared by the nodes of a cluster and a PID means nothing on another node."""
    return socket.gethostname() or "localhost"


def state_dir() -> Path:
    """The folder of this machine's database records, one file per address."""
    return cache_dir() / "db" / node_name()


def state_file(host: str, port: int) -> Path:
    return state_dir() / f"{host}-{port}.json"


def default_run_dir(host: str, port: int) -> Path:
    """Logs and data of the database whose first shard listens on host:port."""
    return state_dir() / f"{host}-{port}"


def _load_state(f: Path) -> DbState | None:
    if not f.is_file():
        return None
    try:
        return DbState(**json.loads(f.read_text()))
    except (ValueError, TypeError) as e:
        raise DatabaseError(f"the database state file {f} is damaged ({e}); remove it") from e


def _save_state(st: DbState) -> None:
    f = state_file(st.host, st.ports[0])
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(st), indent=1))
    os.replace(tmp, f)


def recorded() -> list[DbState]:
    """Every database this machine's records name, by address."""
    states = [_load_state(f) for f in sorted(state_dir().glob("*.json"))]
    return sorted((s for s in states if s is not None), key=lambda s: (s.host, s.ports[0]))


# ---------------------------------------------------------------------------------------------
# Processes: a PID is ours only while its start time and command line match the record
# ---------------------------------------------------------------------------------------------


def process_identity(pid: int) -> dict | None:
    """{pid, create_time, cmdline} of a running process, None when there is none."""
    import psutil

    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return {"pid": pid, "create_time": p.create_time(), "cmdline": p.cmdline()}
    except psutil.Error:
        return None


def still_ours(rec: dict) -> bool:
    """True while the recorded process runs: same PID, start time and command line (a PID
    reused by another program, or another node's PID, is not)."""
    now = process_identity(int(rec["pid"]))
    return (now is not None and abs(now["create_time"] - float(rec["create_time"])) < 0.5
            and now["cmdline"] == list(rec["cmdline"]))


def _end_recorded(rec: dict, timeout: float = 10.0) -> None:
    """Ends one recorded process, re-checking its identity before each signal."""
    pid = int(rec["pid"])
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        if not still_ours(rec):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not still_ours(rec):
                return
            time.sleep(0.1)


def _identities(pids: list[int]) -> list[dict]:
    return [rec for rec in (process_identity(p) for p in pids) if rec is not None]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


LOOPBACK = ("lo", "loopback", "127.0.0.1")


def interface_ip(interface: str) -> str:
    """IPv4 address of a network interface ("lo" → 127.0.0.1)."""
    if interface in LOOPBACK:
        return "127.0.0.1"
    import psutil

    for addr in psutil.net_if_addrs().get(interface, []):
        if addr.family == socket.AF_INET:
            return addr.address
    raise DatabaseError(f"network interface {interface!r} has no IPv4 address")


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def credentials(user: str | None = None) -> tuple[str | None, str | None]:
    """(user, password) from the environment (USER_ENV, PASSWORD_ENV); None where unset."""
    pw = os.environ.get(PASSWORD_ENV) or None
    u = user if user is not None else (os.environ.get(USER_ENV) or None)
    return (u or None, pw) if pw else (None, None)


def _redis(host: str, port: int, timeout: float = 2.0):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    user, password = credentials()
    return redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       username=user, password=password, retry=Retry(NoBackoff(), 0))


def _ping(host: str, port: int) -> bool:
    try:
        return bool(_redis(host, port, 0.5).ping())
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False


def _wait_ping(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ping(host, port):
            return
        if proc is not None and proc.poll() is not None:
            raise DatabaseError(f"redis-server on port {port} exited with status {proc.returncode}")
        time.sleep(0.1)
    raise DatabaseError(f"the database on {host}:{port} did not answer within {timeout:.0f} s")


def persistence_args(persist: str = "none") -> list[str]:
    """redis-server options of a persistence mode: none (nothing written), rdb (snapshots at
    RDB_SAVE_POINTS and on shutdown) or aof (append-only file, fsync every second)."""
    if persist == "rdb":
        return ["--save", RDB_SAVE_POINTS, "--appendonly", "no", "--dbfilename", "dump.rdb"]
    if persist == "aof":
        return ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
    if persist == "none":
        return ["--save", "", "--appendonly", "no"]
    raise DatabaseError(f"persistence must be one of {', '.join(PERSIST_MODES)}, got {persist!r}")


def persistence_conf(data_dir: Path, persist: str = "none", base: str | None = None) -> str:
    """A redis.conf with `data_dir` as the working folder and the options of persist (for
    servers that SmartSim launches from a configuration file); `base` is included first."""
    args = persistence_args(persist)
    lines = [f"include {base}"] if base else []
    lines.append(f'dir "{data_dir}"')
    for key, value in zip(args[::2], args[1::2]):
        lines.append(f"{key[2:]} {value if value else chr(34) * 2}")
    return "\n".join(lines) + "\n"


def clear_data(data_dir: Path) -> None:
    """Removes the RDB and AOF files of a server's folder (a start without persistence)."""
    for f in ("dump.rdb", "appendonly.aof"):
        (Path(data_dir) / f).unlink(missing_ok=True)
    shutil.rmtree(Path(data_dir) / "appendonlydir", ignore_errors=True)


def server_command(port: int, host: str = "127.0.0.1", threads: int = 1, extra: list[str] | None = None,
                   persist: str = "none", config: Path | None = None) -> list[str]:
    """Command line of one redis-server with the AI module (persistence off by default).
    config: a configuration file read first (the password file of auth_config). Protected mode
    stays on: a server bound to another interface without a password refuses remote clients."""
    cmd = [str(redis_server_path())]
    if config is not None:
        cmd.append(str(config))
    cmd += [
        "--port", str(port),
        "--bind", host,
        *persistence_args(persist),
        "--protected-mode", "yes",
        "--loadmodule", str(module_path()), "THREADS_PER_QUEUE", str(threads),
    ]
    return cmd + list(extra or [])


def _conf_quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def auth_config(folder: Path, password: str, user: str = "", anonymous_data: bool = False) -> Path:
    """Writes a redis.conf fragment (mode 0600, so that the password never appears on a
    command line) that requires `password`: for Redis's default user, or for ACL user `user`
    with all rights. With anonymous_data (needs a user) clients without a password keep the
    data commands (ANONYMOUS_DATA_RULES) so that SmartRedis 0.6.1 clients, which cannot send
    a password, still work; administration needs the password."""
    if not password:
        raise DatabaseError(f"an empty password is not a password (set {PASSWORD_ENV})")
    if any(c in password for c in "\r\n\0") or any(c in user for c in " \t\r\n\0\"'"):
        raise DatabaseError("the password may not contain line breaks or NUL; the user name no white space or quotes")
    if anonymous_data and not user:
        raise DatabaseError("--anonymous-data needs --user: the password then belongs to that user")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "auth.conf"
    if user:
        default = f"user default on nopass {ANONYMOUS_DATA_RULES}" if anonymous_data else "user default off"
        text = f"{default}\nuser {user} on {_conf_quote('>' + password)} ~* &* +@all\n"
    else:
        text = f"requirepass {_conf_quote(password)}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


#: libgomp's busy-wait before a passive OpenMP thread sleeps (GOMP_SPINCOUNT; libgomp reckons
#: 100000 a millisecond, so about 10 us; it varies with the CPU): long enough to bridge the
#: layers of one forward call, short against a model run (docs/database.md, "Batching")
OMP_SPIN_COUNT = 1000


def server_env(base: dict | None = None) -> dict:
    """Environment for redis-server processes. Debian's redis-server runs on jemalloc, which
    returns blocks above 8 MiB to the kernel on every free; model runs that allocate such
    activations then page-fault them in again each time (an MLP on 32³ points: 60 ms instead
    of 7 ms). ``oversize_threshold:0`` turns that off. The module also gives libtorch its own
    jemalloc arena, which recovers most of the loss when a server is started without this.
    libtorch's OpenMP threads wait passively (``OMP_WAIT_POLICY=PASSIVE``, unless set): by
    default each spins for a while after every parallel region of a model run, taking a core
    from Redis's main thread and from the solver ranks that share the node (two cores, eight
    clients: about 0.65 ms of spinning per 0.25 ms model run; docs/database.md, "Batching").
    They spin briefly before sleeping (``GOMP_SPINCOUNT=1000``, unless either variable is set):
    the layers of one forward call follow each other within microseconds, and a thread that
    went to sleep between them must be woken for each (8 x 256-row requests: 0.13 ms a forward
    call asleep, 0.09-0.10 ms spinning briefly).
    Those threads also run the parts of a batch, TorchScript's recursive interpreter and
    optimiser included: they get the 256 MiB stack of the module's own workers
    (``OMP_STACKSIZE=256M``, unless set; address space, used as needed) instead of libgomp's
    few MiB."""
    env = dict(os.environ if base is None else base)
    conf = env.get("MALLOC_CONF", "")
    if "oversize_threshold" not in conf:
        env["MALLOC_CONF"] = (conf + "," if conf else "") + "oversize_threshold:0"
    if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
        env["GOMP_SPINCOUNT"] = str(OMP_SPIN_COUNT)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("OMP_STACKSIZE", "256M")
    return env


def tune_client_malloc(trim_threshold: int = 512 << 20, top_pad: int = 64 << 20,
                       mmap_threshold: int = 32 << 20) -> bool:
    """Keeps glibc malloc in a client process from handing large buffers back to the kernel
    after every call. SmartRedis copies each tensor through freshly allocated buffers; with
    glibc's defaults every put of a ≥1 MiB tensor then page-faults them in again (measured:
    put of 1 MiB at 0.35x plain SET; 1.0x with this). Returns False where mallopt is missing."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_trim_threshold, int(trim_threshold)) == 1
        ok &= libc.mallopt(m_top_pad, int(top_pad)) == 1
        ok &= libc.mallopt(m_mmap_threshold, int(mmap_threshold)) == 1
        return bool(ok)
    except (OSError, AttributeError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _end_pid(pid: int, timeout: float = 10.0) -> None:
    """Ends one process we started: SIGTERM, then SIGKILL after `timeout`."""
    if not _pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------------------------
# Start / stop / status
# ---------------------------------------------------------------------------------------------


def start(port: int = DEFAULT_PORT, shards: int = 1, threads: int = 1, interface: str = "lo",
          run_dir: Path | None = None, timeout: float = 120.0, persist: str = "none",
          password: str | None = None, user: str = "", anonymous_data: bool = False) -> DbState:
    """Starts a database at interface:port and returns once every shard answers.

    One shard runs through SmartSim's Orchestrator (local launcher); three or more shards form
    a Redis Cluster on ports ``port … port+shards-1``. Two shards are refused (a Redis Cluster
    needs at least three masters). Any number of databases can run, one per address; a port
    in use is refused before anything is launched. persist: none, rdb or aof (PERSIST_MODES);
    with rdb or aof the data in ``run_dir`` is loaded again by the next start.

    password (with an optional ACL `user`, see auth_config) makes every shard require it; it
    is required for an interface other than loopback. A database with a password is launched
    directly rather than through SmartSim, whose Orchestrator has no password setting."""
    if shards < 1 or shards == 2:
        raise DatabaseError("--shards must be 1, or 3 or more (a Redis Cluster needs at least three masters)")
    if threads < 1:
        raise DatabaseError("--threads must be at least 1")
    if not password and interface not in LOOPBACK:
        raise DatabaseError(f"a database on interface {interface!r} (not loopback) must have a password: set "
                            f"{PASSWORD_ENV} and pass --auth (and --user for an ACL user)")
    persistence_args(persist)  # checks the mode
    host = interface_ip(interface)
    if (user or anonymous_data) and not password:
        raise DatabaseError(f"--user and --anonymous-data need a password (--auth and {PASSWORD_ENV})")
    ports = [port + i for i in range(shards)]
    if not all(1 <= p <= 65535 - (10000 if shards > 1 else 0) for p in ports):
        raise DatabaseError(f"--port {port} with {shards} shard(s) leaves the port range")
    old = _load_state(state_file(host, port))
    if old is not None:
        if any(still_ours(rec) for rec in old.procs):
            raise DatabaseError(f"a database started by eddylearn is already running at "
                                f"{', '.join(old.addresses)}; stop it first (eddylearn db stop --port {port})")
        state_file(host, port).unlink(missing_ok=True)
    wanted = ports + ([p + 10000 for p in ports] if shards > 1 else [])  # cluster bus ports
    busy = [p for p in wanted if not port_free(host, p)]
    if busy:
        raise DatabaseError(f"port(s) {', '.join(map(str, busy))} on {host} are already in use by another "
                            f"program; nothing was started")
    run_dir = Path(run_dir) if run_dir else default_run_dir(host, port)
    run_dir.mkdir(parents=True, exist_ok=True)
    if password:
        conf = auth_config(run_dir, password, user, anonymous_data)
        prev = {k: os.environ.get(k) for k in (PASSWORD_ENV, USER_ENV)}
        os.environ[PASSWORD_ENV] = password  # this process's own connections (_redis) use them
        if user:
            os.environ[USER_ENV] = user
        else:
            os.environ.pop(USER_ENV, None)
        try:
            st = _start_cluster(ports, threads, host, run_dir, timeout, persist, config=conf)
        finally:
            for k, v in prev.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        st.auth, st.user = True, user
    elif shards == 1:
        st = _start_smartsim(port, threads, interface, host, run_dir, timeout, persist)
    else:
        st = _start_cluster(ports, threads, host, run_dir, timeout, persist)
    st.node, st.persist = node_name(), persist
    st.procs = _identities(st.pids)
    _save_state(st)
    log.info("database running at %s", ", ".join(st.addresses))
    return st


def _start_smartsim(port: int, threads: int, interface: str, host: str, run_dir: Path, timeout: float,
                    persist: str = "none") -> DbState:
    """Launches one shard through SmartSim's Orchestrator, from a detached helper process so
    that SmartSim's entry points neither hold this process's terminal nor its output pipes.
    The server's data folder is run_dir/data, set with a redis.conf of our own (REDIS_CONF)
    that includes SmartSim's and adds the persistence options."""
    from . import smartsim_setup
    smartsim_setup.ensure()
    data = run_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    if persist == "none":
        clear_data(data)
    from smartsim._core.config.config import Config

    conf = run_dir / "redis.conf"
    conf.write_text(persistence_conf(data, persist, base=str(Config().conf_path)))
    env = smartsim_setup.launch_env()  # inherited by SmartSim's entry point and redis-server
    env["REDIS_CONF"] = str(conf)
    log_file = run_dir / "launch.log"
    cmd = [sys.executable, "-m", "eddylearn.database", "_launch_smartsim", str(port), str(threads),
           interface, str(run_dir)]
    with open(log_file, "ab") as out:
        helper = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        rc = helper.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        helper.kill()
        rc = -1
    if rc != 0 or not _ping(host, port):
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.is_file() else ""
        for rec in _identities(_smartsim_pids(port)):
            _end_recorded(rec)
        raise DatabaseError(f"SmartSim could not start the database (see {log_file}):\n{tail}")
    _wait_ping(host, port, timeout)
    return DbState(kind="smartsim", host=host, ports=[port], pids=_smartsim_pids(port), run_dir=str(run_dir))


def _launch_smartsim(port: int, threads: int, interface: str, run_dir: Path) -> None:
    """Body of the helper process: create and start the Orchestrator, then return."""
    from smartsim import Experiment

    exp = Experiment("eddylearn-db", exp_path=str(run_dir), launcher="local")
    exp.telemetry.disable()
    db = exp.create_database(port=port, interface=interface, db_nodes=1, threads_per_queue=threads)
    exp.generate(db, overwrite=True)
    exp.start(db, block=True)


def _smartsim_pids(port: int) -> list[int]:
    """redis-server listening on `port` and the SmartSim entry points above it."""
    pids = _pids_listening(port)
    for pid in list(pids):
        parent = _parent_pid(pid)
        while parent and "smartsim._core.entrypoints" in _cmdline(parent):
            pids.append(parent)
            parent = _parent_pid(parent)
    return pids


def _start_cluster(ports: list[int], threads: int, host: str, run_dir: Path, timeout: float,
                   persist: str = "none", config: Path | None = None) -> DbState:
    """Starts one redis-server per port in run_dir/shard-<port>: a Redis Cluster of
    len(ports) >= 3 shards, joined, or one standalone server (used for a database with a
    password). With persistence, a folder whose shards all hold a cluster configuration is
    started as that cluster again (its data loaded); without, the folders are cleared first."""
    clustered = len(ports) > 1
    shard_dirs = [run_dir / f"shard-{p}" for p in ports]
    present = sorted(d.name for d in run_dir.glob("shard-*") if any(d.glob("nodes-*.conf")))
    if not clustered:
        reuse = persist != "none"
    else:
        reuse = persist != "none" and present == sorted(d.name for d in shard_dirs)
        if persist != "none" and present and not reuse:
            raise DatabaseError(f"{run_dir} holds the data of a cluster on {', '.join(present)}; start it "
                                f"with the same --port and --shards, or remove that folder to start afresh")
    procs = []
    clustered = len(ports) > 1
    try:
        for p, d in zip(ports, shard_dirs):
            d.mkdir(parents=True, exist_ok=True)
            if not reuse:
                for f in d.glob("nodes-*.conf"):
                    f.unlink()
                clear_data(d)
            extra = ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{p}.conf"] if clustered else []
            cmd = server_command(p, host, threads, extra + ["--dir", str(d)], persist=persist, config=config)
            out = open(d / "redis.log", "ab")
            procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=d, env=server_env(),
                                          stdin=subprocess.DEVNULL, start_new_session=True))
            out.close()
        for p, pr in zip(ports, procs):
            _wait_ping(host, p, timeout, pr)
        if not clustered:
            return DbState(kind="standalone", host=host, ports=ports, pids=[pr.pid for pr in procs],
                           run_dir=str(run_dir))
        if not reuse:
            user, password = credentials()
            create = [str(redis_cli_path()), "--cluster", "create", *[f"{host}:{p}" for p in ports],
                      "--cluster-replicas", "0", "--cluster-yes"] + (["--user", user] if user else [])
            cli_env = dict(os.environ, REDISCLI_AUTH=password) if password else None  # not on the command line
            r = subprocess.run(create, input="yes\n", capture_output=True, text=True, timeout=timeout, env=cli_env)
            if r.returncode != 0:
                raise DatabaseError(f"redis-cli --cluster create failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(_cluster_ok(host, p) for p in ports):
                break
            time.sleep(0.2)
        else:
            raise DatabaseError("the Redis Cluster did not reach cluster_state:ok"
                                + (f" from the configuration kept in {run_dir}" if reuse else ""))
    except BaseException:
        for pr in procs:
            _end_pid(pr.pid)
        raise
    return DbState(kind="cluster", host=host, ports=ports, pids=[pr.pid for pr in procs], run_dir=str(run_dir))


def _cluster_ok(host: str, port: int) -> bool:
    try:
        info = _redis(host, port).execute_command("CLUSTER", "INFO")
        if isinstance(info, bytes):
            info = info.decode()
        return "cluster_state:ok" in info
    except Exception:  # noqa: BLE001
        return False


def _pids_listening(port: int) -> list[int]:
    import psutil

    pids = []
    for c in psutil.net_connections(kind="tcp"):
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            pids.append(c.pid)
    return sorted(set(pids))


def _parent_pid(pid: int) -> int | None:
    import psutil

    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _cmdline(pid: int) -> str:
    import psutil

    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def _check_credentials(st: DbState) -> None:
    if st.auth and not os.environ.get(PASSWORD_ENV):
        raise DatabaseError(f"the database at {', '.join(st.addresses)} has a password: set {PASSWORD_ENV}"
                            + (f" (user {st.user}: {USER_ENV}={st.user})" if st.user else ""))
    if st.auth and st.user and os.environ.get(USER_ENV, "") != st.user:
        os.environ[USER_ENV] = st.user


def find(port: int | None = None, interface: str = "lo") -> DbState | None:
    """The record of the database at interface:port; without a port, the only one recorded
    (None when there is none; an error naming them when there are several)."""
    if port is not None:
        return _load_state(state_file(interface_ip(interface), port))
    states = recorded()
    if len(states) > 1:
        raise DatabaseError(f"{len(states)} databases are recorded ("
                            f"{', '.join(s.addresses[0] for s in states)}); name one with --port, or use --all")
    return states[0] if states else None


def _server_pid(host: str, port: int) -> int | None:
    """The process_id the server at host:port reports (None when nothing answers)."""
    try:
        return int(_redis(host, port).info("server").get("process_id"))
    except Exception:  # noqa: BLE001 - nothing that answers
        return None


def stop_state(st: DbState, timeout: float = 15.0) -> bool:
    """Stops the database of one record: SHUTDOWN to each shard that is still the recorded
    server (SAVE with rdb, NOSAVE without persistence), then SIGTERM/SIGKILL to the recorded
    processes that still run, each checked by start time and command line. Nothing that
    eddylearn did not start is touched. Returns whether anything of it was running.
    A stop signal that comes meanwhile does not cut it short (stopping.shield)."""
    from .stopping import shield
    _check_credentials(st)
    with shield():
        return _stop_state(st, timeout)


def _stop_state(st: DbState, timeout: float) -> bool:
    ours = [rec for rec in st.procs if still_ours(rec)]
    ours_pids = {int(rec["pid"]) for rec in ours}
    for p in st.ports:
        pid = _server_pid(st.host, p)
        if pid is None:
            continue
        if pid not in ours_pids:
            log.warning("%s:%d is answered by a server eddylearn did not start (pid %d); left alone",
                        st.host, p, pid)
            continue
        try:
            if st.persist == "rdb":
                _redis(st.host, p, timeout).shutdown(save=True)
            elif st.persist == "aof":
                _redis(st.host, p, timeout).shutdown()
            else:
                _redis(st.host, p).shutdown(nosave=True)
        except Exception:  # noqa: BLE001 - a shutdown closes the connection; errors are expected
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(still_ours(rec) for rec in ours):
        time.sleep(0.1)
    for rec in ours:
        _end_recorded(rec)
    # a process tearing down no longer shows its command line but still holds its PID (and
    # possibly its files) for a moment: return once each one has really gone
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(_pid_alive(pid) for pid in ours_pids):
        for pid in ours_pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.05)
    state_file(st.host, st.ports[0]).unlink(missing_ok=True)
    if ours:
        log.info("database at %s stopped", ", ".join(st.addresses))
    return bool(ours)


def stop(port: int | None = None, interface: str = "lo", all: bool = False,  # noqa: A002
         timeout: float = 15.0) -> bool:
    """Stops the database at interface:port (without a port: the only one recorded; with
    all=True: every one this machine recorded). Returns False when none was running."""
    if all:
        return any([stop_state(st, timeout) for st in recorded()])
    st = find(port, interface)
    return stop_state(st, timeout) if st is not None else False


def status_state(st: DbState) -> dict:
    """Address, memory and key counts of each shard of one recorded database."""
    _check_credentials(st)
    ours = {int(rec["pid"]) for rec in st.procs if still_ours(rec)}
    shards = []
    for p in st.ports:
        entry = {"address": f"{st.host}:{p}", "up": False}
        try:
            r = _redis(st.host, p)
            info = r.info("server")
            if int(info.get("process_id", -1)) not in ours:
                raise DatabaseError(f"the port is answered by another server (pid {info.get('process_id')})")
            mem = r.info("memory")
            entry.update(up=True, used_memory=mem.get("used_memory"),
                         used_memory_human=mem.get("used_memory_human"), keys=r.dbsize())
        except Exception as e:  # noqa: BLE001
            entry["error"] = str(e)
        shards.append(entry)
    return {"running": any(s["up"] for s in shards), "kind": st.kind, "shards": shards,
            "address": ",".join(st.addresses), "persist": st.persist, "run_dir": st.run_dir}


def status(port: int | None = None, interface: str = "lo") -> dict:
    """status_state() of the database at interface:port (without a port: the only one
    recorded); {"running": False} when none is recorded there."""
    st = find(port, interface)
    return status_state(st) if st is not None else {"running": False}


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _print_status(s: dict) -> None:
    for sh in s["shards"]:
        if sh["up"]:
            print(f"{sh['address']}  up  memory {sh['used_memory_human']}  keys {sh['keys']}  "
                  f"persist {s['persist']}")
        else:
            print(f"{sh['address']}  DOWN  {sh.get('error', '')}")


def _cli(args: argparse.Namespace) -> int:
    try:
        if args.action == "start":
            password = None
            if args.auth:
                password = os.environ.get(PASSWORD_ENV)
                if not password:
                    raise DatabaseError(f"--auth reads the password from {PASSWORD_ENV}, which is not set")
            st = start(port=args.port or DEFAULT_PORT, shards=args.shards, threads=args.threads,
                       interface=args.interface, persist=args.persist, password=password, user=args.user or "",
                       anonymous_data=args.anonymous_data)
            print(f"database running at {','.join(st.addresses)}  (SSDB={','.join(st.addresses)}"
                  f"{'' if st.kind == 'cluster' else ' SR_DB_TYPE=Standalone'}; persist {st.persist}, "
                  f"data in {st.run_dir}"
                  f"{f'; clients need {PASSWORD_ENV}' if st.auth else ''}"
                  f"{f' and {USER_ENV}={st.user}' if st.user else ''})")
        elif args.action == "stop":
            if args.all:
                states = recorded()
                if not states:
                    print("no database was running")
                for st in states:
                    ran = stop_state(st)
                    print(f"database at {st.addresses[0]} " + ("stopped" if ran else "was not running"))
            else:
                st = find(args.port, args.interface)
                if st is None:
                    where = f" at port {args.port}" if args.port else ""
                    print(f"no database started by eddylearn{where} is recorded; nothing stopped")
                    return 1
                print(f"database at {st.addresses[0]} " + ("stopped" if stop_state(st) else "was not running"))
        else:
            states = recorded() if args.all or args.port is None else [find(args.port, args.interface)]
            states = [st for st in states if st is not None]
            if not states:
                print("no database started by eddylearn is running"
                      + (f" at port {args.port}" if args.port else ""))
                return 1
            running = False
            for st in states:
                s = status_state(st)
                running |= s["running"]
                _print_status(s)
            return 0 if running else 1
    except DatabaseError as e:
        log.error("%s", e)
        print(f"error: {e}")
        return 2
    return 0


def register_cli(subparsers) -> argparse.ArgumentParser:
    """Adds ``db start|stop|status`` to an argparse subparsers object."""
    p = subparsers.add_parser("db", help="start, stop or inspect a database (redis-server + AI module)",
                              description="The eddylearn database: redis-server with the RedisAI-compatible "
                                          "module. One shard runs through SmartSim's Orchestrator; --shards 3 "
                                          "or more starts a Redis Cluster on consecutive loopback ports. Any "
                                          "number of databases may run, one per port; stop and status act on "
                                          "--port (or --all). Only what eddylearn started is ever stopped.")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--port", type=int, default=None,
                   help=f"first port (start: default {DEFAULT_PORT}; stop/status: the database on this port, "
                        f"default the only one recorded)")
    p.add_argument("--all", action="store_true", help="stop/status: every database recorded on this machine")
    p.add_argument("--shards", type=int, default=1, help="number of shards: 1, or 3 and more (default 1)")
    p.add_argument("--threads", type=int, default=1, help="THREADS_PER_QUEUE of the module (default 1)")
    p.add_argument("--interface", default="lo", help="network interface to listen on (default lo = loopback); "
                                                      "any other needs --auth")
    p.add_argument("--auth", action="store_true",
                   help=f"require a password, read from ${PASSWORD_ENV} (never from the command line)")
    p.add_argument("--user", default="", help="ACL user that owns the password (default: Redis's default user)")
    p.add_argument("--anonymous-data", action="store_true",
                   help="with --user: clients without a password keep the data commands (SmartRedis 0.6.1 "
                        "cannot send a password); administration needs the password")
    p.add_argument("--persist", choices=PERSIST_MODES, default="none",
                   help="keep the data across stop and start: rdb (snapshots, saved on stop), aof "
                        "(append-only file, fsync every second) or none (default)")
    p.set_defaults(func=_cli)
    return p


class LocalServer:
    """A private redis-server with the module on a free loopback port, in a temporary folder
    (for benchmarks); close() ends it."""

    def __init__(self, threads: int = 1):
        import tempfile
        self.dir = tempfile.TemporaryDirectory(prefix="eddylearn-db-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = server_command(self.port, threads=threads, extra=["--dir", self.dir.name])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     cwd=self.dir.name, env=server_env())
        _wait_ping("127.0.0.1", self.port, 60, self.proc)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        from .stopping import shield
        with shield():      # a stop signal now must not leave the server running
            _end_pid(self.proc.pid)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.dir.cleanup()


if __name__ == "__main__":  # internal: the detached SmartSim launcher of _start_smartsim
    if len(sys.argv) == 6 and sys.argv[1] == "_launch_smartsim":
        logging.basicConfig(level=logging.INFO)
        _launch_smartsim(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5]))
        sys.exit(0)
    sys.exit("usage: eddylearn db start|stop|status (this module is not a program)")

