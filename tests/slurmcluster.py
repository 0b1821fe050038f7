"""A private Slurm cluster on this machine, from Debian's packages (slurm 22.05, munge, and
slurmdbd on MariaDB for the accounting that SmartSim's Slurm launcher reads with sacct).

Each node is emulated by a network namespace with an address of its own on a private bridge
and a host name of its own (a UTS namespace), running its own slurmd; slurmctld, slurmdbd,
munged and mariadbd run beside them. Everything lives in one folder and is stopped by process
id: the daemons this module started, then whatever still runs in its namespaces.

    with SlurmCluster(Path("/tmp/c"), nodes=5, cpus=4) as cluster:
        subprocess.run(["sbatch", "--wait", "job.sh"], env=cluster.env())

Run as a script to keep a cluster up for measurements (Ctrl-C stops it):
    python tests/slurmcluster.py /tmp/slurm --nodes 5
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "slurmdbd", "munge", "mariadb-server")
EXECUTABLES = ("slurmctld", "slurmd", "slurmdbd", "sbatch", "srun", "sacct", "munged",
               "mariadbd", "mariadb-install-db")


class ClusterError(RuntimeError):
    """The cluster could not be started; the message names the daemon and its log."""


def missing_executables() -> list[str]:
    return [exe for exe in EXECUTABLES if shutil.which(exe, path=_sbin_path()) is None]


def _sbin_path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def install_packages(timeout: float = 420) -> None:
    """apt-get install the Slurm, munge and MariaDB packages (root only)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:   # a stale package list: update once and try again
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True,
                       timeout=timeout)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise ClusterError(f"apt-get install {' '.join(PACKAGES)} failed:\n{r.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def _which(exe: str) -> str:
    path = shutil.which(exe, path=_sbin_path())
    if path is None:
        raise ClusterError(f"{exe} is not installed")
    return path


class SlurmCluster:
    """`nodes` emulated nodes n1..nN with `cpus` CPUs each (more than the machine has is
    allowed: slurmd takes the configured count). The controller's host is `ctl`."""

    def __init__(self, root: Path, nodes: int = 5, cpus: int = 4, tag: str | None = None):
        self.root = Path(root)
        self.nodes = [f"n{i + 1}" for i in range(nodes)]
        self.cpus = cpus
        # short, unique names: interfaces allow 15 characters
        self.tag = tag or f"{os.getpid() % 10000:04d}"
        octet = 100 + os.getpid() % 150
        self.net = f"10.{octet}.{int(self.tag) % 250}"
        self.ctl_addr = f"{self.net}.1"
        self.addresses = {n: f"{self.net}.{11 + i}" for i, n in enumerate(self.nodes)}
        self.bridge = f"elbr{self.tag}"
        self.netns = {n: f"elns{self.tag}{n}" for n in self.nodes}
        self.procs: dict[str, subprocess.Popen] = {}
        self.made_links: list[str] = []
        self.made_netns: list[str] = []
        self.cluster_name = f"el{self.tag}"

    # ---- the environment every Slurm command of this cluster needs --------------------------
    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        for key in [k for k in env if k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))]:
            del env[key]
        env["SLURM_CONF"] = str(self.root / "slurm.conf")
        return env

    # ---- start ---------------------------------------------------------------------------
    def __enter__(self) -> "SlurmCluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 120) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        for sub in ("log", "state", "spool", "munge", "mysql", "run"):
            (self.root / sub).mkdir(exist_ok=True)
        self._network()
        self._munge()
        self._mariadb(timeout)
        self._write_conf()
        self._slurmdbd(timeout)
        self._start("slurmctld", ["unshare", "--uts", "sh", "-c",
                                  f"hostname ctl && exec {_which('slurmctld')} -D -i "
                                  f"-f {self.root / 'slurm.conf'}"])
        self._wait(lambda: self._run(["scontrol", "ping"]).stdout.count("UP") > 0,
                   timeout, "slurmctld")
        for n in self.nodes:
            self._start(f"slurmd-{n}", [
                "ip", "netns", "exec", self.netns[n], "unshare", "--uts", "--mount", "sh", "-c",
                f"hostname {n} && mount --bind {self.root / ('pmix-' + n)} {self.root / 'pmix'} "
                f"&& exec {_which('slurmd')} -D -N {n} "
                f"-f {self.root / 'slurm.conf'}"])
        self._wait(self._all_idle, timeout, "slurmd (nodes idle)")

    def _ip(self, *args: str) -> None:
        r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise ClusterError(f"ip {' '.join(args)}: {r.stderr.strip()}")

    def _network(self) -> None:
        """A bridge with the controller's address, one namespace per node linked to it."""
        self._ip("link", "add", self.bridge, "type", "bridge")
        self.made_links.append(self.bridge)
        self._ip("addr", "add", f"{self.ctl_addr}/24", "dev", self.bridge)
        self._ip("link", "set", self.bridge, "up")
        for i, n in enumerate(self.nodes):
            ns = self.netns[n]
            self._ip("netns", "add", ns)
            self.made_netns.append(ns)
            veth = f"elv{self.tag}{n}"
            self._ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.made_links.append(veth)
            self._ip("link", "set", veth, "master", self.bridge)
            self._ip("link", "set", veth, "up")
            for args in (("addr", "add", f"{self.addresses[n]}/24", "dev", "eth0"),
                         ("link", "set", "eth0", "up"), ("link", "set", "lo", "up"),
                         ("route", "add", "default", "via", self.ctl_addr)):
                self._ip("-n", ns, *args)

    def _munge(self) -> None:
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        os.chmod(self.root / "munge", 0o700)
        self.munge_socket = self.root / "munge" / "munge.socket"
        self._start("munged", [_which("munged"), "-F", "--force", f"--key-file={key}",
                               f"--socket={self.munge_socket}",
                               f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                               f"--log-file={self.root / 'log' / 'munged.log'}",
                               f"--seed-file={self.root / 'munge' / 'munged.seed'}"])
        self._wait(self.munge_socket.exists, 30, "munged")

    def _mariadb(self, timeout: float) -> None:
        data = self.root / "mysql"
        r = subprocess.run([_which("mariadb-install-db"), "--no-defaults", f"--datadir={data}",
                            "--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed: {r.stderr[-1500:]}")
        self.db_port = free_port()
        self._start("mariadbd", [
            _which("mariadbd"), "--no-defaults", f"--datadir={data}", "--user=root",
            f"--socket={self.root / 'run' / 'mysqld.sock'}", f"--port={self.db_port}",
            "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
            "--skip-log-bin", f"--pid-file={self.root / 'run' / 'mysqld.pid'}",
            f"--log-error={self.root / 'log' / 'mariadb.log'}"])
        self._wait(lambda: _port_open("127.0.0.1", self.db_port), timeout, "mariadbd")

    def _write_conf(self) -> None:
        r = self.root
        self.ctl_port, self.slurmd_port, self.dbd_port = free_port(), free_port(), free_port()
        auth = f"socket={self.munge_socket}"
        lines = [
            f"ClusterName={self.cluster_name}",
            f"SlurmctldHost=ctl({self.ctl_addr})",
            f"SlurmctldPort={self.ctl_port}", f"SlurmdPort={self.slurmd_port}",
            "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo={auth}",
            f"StateSaveLocation={r / 'state'}", f"SlurmdSpoolDir={r / 'spool'}/%n",
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'run' / 'slurmd-%n.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd-%n.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
            "SlurmdParameters=config_overrides", "MpiDefault=pmix",
            "JobAcctGatherType=jobacct_gather/linux", "JobAcctGatherFrequency=30",
            "AccountingStorageType=accounting_storage/slurmdbd",
            f"AccountingStorageHost={self.ctl_addr}", f"AccountingStoragePort={self.dbd_port}",
            # the munge socket for the connections to slurmdbd (sacct, sacctmgr, slurmctld)
            f"AccountingStoragePass={self.munge_socket}",
            "ReturnToService=2", "SlurmdTimeout=60", "MessageTimeout=30",
            "SchedulerType=sched/builtin", "KillWait=5", "InactiveLimit=0",
            "MinJobAge=60", "PrologFlags=", "LaunchParameters=",
            f"NodeName=DEFAULT CPUs={self.cpus} RealMemory=4000 State=UNKNOWN",
        ]
        lines = [ln for ln in lines if not ln.endswith("=")]
        for n in self.nodes:
            lines.append(f"NodeName={n} NodeAddr={self.addresses[n]} NodeHostname={n}")
        lines.append(f"PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
        (r / "slurm.conf").write_text("\n".join(lines) + "\n")
        # no cgroup plugin is used (proctrack/linuxproc, task/none), but slurmd loads one:
        # name it, since autodetection fails on a container's cgroup tmpfs
        (r / "cgroup.conf").write_text("CgroupPlugin=cgroup/v1\nCgroupAutomount=no\n")
        # PMIx's client folders are named by job and step alone: each node gets its own
        # folder, mounted at the same path in that node's mount namespace
        (r / "mpi.conf").write_text(f"PMIxCliTmpDirBase={r / 'pmix'}\n")
        (r / "pmix").mkdir(exist_ok=True)
        for n in self.nodes:
            (r / "spool" / n).mkdir(exist_ok=True)
            (r / f"pmix-{n}").mkdir(exist_ok=True)
        dbd = r / "slurmdbd.conf"
        dbd.write_text("\n".join([
            "AuthType=auth/munge", f"AuthInfo={auth}", "DbdHost=localhost",
            f"DbdAddr={self.ctl_addr}", f"DbdPort={self.dbd_port}", "SlurmUser=root",
            f"PidFile={r / 'run' / 'slurmdbd.pid'}", f"LogFile={r / 'log' / 'slurmdbd.log'}",
            "StorageType=accounting_storage/mysql", "StorageHost=127.0.0.1",
            f"StoragePort={self.db_port}", "StorageUser=root", "StorageLoc=slurm_acct_db",
        ]) + "\n")
        os.chmod(dbd, 0o600)

    def _slurmdbd(self, timeout: float) -> None:
        self._start("slurmdbd", ["unshare", "--uts", "sh", "-c",
                                 f"hostname localhost && SLURM_CONF={self.root / 'slurm.conf'} "
                                 f"exec {_which('slurmdbd')} -D"],
                    env={**os.environ, "SLURM_CONF": str(self.root / "slurm.conf")})
        self._wait(lambda: _port_open(self.ctl_addr, self.dbd_port), timeout, "slurmdbd")
        # the cluster must be known to the accounting before slurmctld registers with it
        r = self._run(["sacctmgr", "-i", "add", "cluster", self.cluster_name])
        if r.returncode != 0 and "already exists" not in (r.stdout + r.stderr).lower():
            raise ClusterError(f"sacctmgr add cluster failed: {r.stdout}{r.stderr}")

    def _start(self, name: str, cmd: list[str], env: dict | None = None) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env=env if env is not None else self.env())
        log.close()

    def _run(self, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(cmd, env=self.env(), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(cmd, 124, "", f"timed out: {exc}")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise ClusterError(f"{name} ended (exit {p.returncode}) while waiting for "
                                       f"{what}; see {self.root / 'log'}")
            if ready():
                return
            time.sleep(0.5)
        raise ClusterError(f"{what} not ready within {timeout:.0f} s; see {self.root / 'log'}")

    def _all_idle(self) -> bool:
        r = self._run(["sinfo", "-h", "-N", "-o", "%N %t"])
        states = dict(ln.split() for ln in r.stdout.splitlines() if len(ln.split()) == 2)
        return len(states) == len(self.nodes) and all(s == "idle" for s in states.values())

    # ---- stop ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel every job, stop the daemons this cluster started (by PID), then end what
        still runs in its namespaces, and remove the namespaces and links."""
        try:
            if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
                try:
                    self._run(["scancel", "--full", "--quiet", f"--clusters={self.cluster_name}",
                               "--user=root"])
                    deadline = time.time() + 20
                    while time.time() < deadline and self._run(["squeue", "-h"]).stdout.strip():
                        time.sleep(0.5)
                except (subprocess.SubprocessError, OSError):
                    pass   # the daemons are stopped below whatever the jobs' state
            for name in [k for k in self.procs if k.startswith("slurmd-")] + [
                    "slurmctld", "slurmdbd", "mariadbd", "munged"]:
                p = self.procs.get(name)
                if p is None or p.poll() is not None:
                    continue
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass   # stuck in the kernel: the namespaces' clean-up below still runs
        finally:
            for ns in self.made_netns:
                try:
                    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                       text=True, timeout=30)
                except subprocess.TimeoutExpired:
                    continue
                for pid in [int(x) for x in r.stdout.split()]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            for link in reversed(self.made_links):
                subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=30)
            self.made_links.clear()
            for ns in self.made_netns:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
            self.made_netns.clear()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=4)
    a = ap.parse_args()
    def _end(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _end)
    signal.signal(signal.SIGINT, _end)
    with SlurmCluster(a.root, a.nodes, a.cpus) as c:
        print(f"export SLURM_CONF={c.root / 'slurm.conf'}", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
