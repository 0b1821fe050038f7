"""The online-learning experiment: a SmartSim Experiment with the database, the solver under
mpirun and the consumers (trainers, analyser, compressor, visualiser), live progress, a clean
stop, and a report.

    report = run_experiment(load_config("tgv.toml"), Path("out"))
"""
from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import numpy as np
import psutil

from . import database, smartsim_setup, stopping
from .entities import Settings, build_entities
from .stopping import end_processes
from .config import CONSUMERS, ExperimentConfig, les_model_key
from .io import read_diagnostics
from .progress import _progress_table, _status, progress_lines, progress_rows  # noqa: F401
from .report import build_report  # noqa: F401

log = logging.getLogger("eddylearn.experiment")


class ExperimentError(RuntimeError):
    """The experiment could not run to its end; the message says what failed."""


class DatabaseLost(ExperimentError):
    """The database process of the experiment ended while it ran."""


class DatabaseWatch:
    """The experiment's redis-server processes on this machine, identified by PID, start
    time and command line once they answer; check() raises DatabaseLost as soon as one is
    gone. (Shards on other nodes of a batch allocation are not watched by PID: a lost one
    shows as database errors.)"""

    def __init__(self, addresses: list[str]):
        self.address = ", ".join(addresses)
        ports = sorted({int(a.rsplit(":", 1)[1]) for a in addresses})
        self.by_port = {port: [rec for rec in (database.process_identity(pid)
                                               for pid in database._pids_listening(port)) if rec]
                        for port in ports}
        self.procs = [rec for recs in self.by_port.values() for rec in recs]
        self.lost_at: float | None = None

    def alive(self) -> bool:
        # a shard lives while any process that listened on its port does (a fork for a
        # background save listens too, and ends)
        return all(any(database.still_ours(rec) for rec in recs)
                   for recs in self.by_port.values() if recs)

    def check(self, t0: float) -> None:
        if self.alive():
            return
        self.lost_at = time.time()
        pids = ", ".join(str(rec["pid"]) for rec in self.procs)
        raise DatabaseLost(f"the database at {self.address} (redis-server pid {pids}) ended "
                           f"{self.lost_at - t0:.1f} s into the run")


class Monitor:
    """Live state of a running experiment, read from the database and the solver's files."""

    def __init__(self, cfg: ExperimentConfig, out: Path, addresses: list[str]):
        from smartredis import Client
        self.cfg = cfg
        self.out = out
        self.addresses = addresses
        cluster = len(addresses) > 1
        # the driver's own client gives up on a lost database within seconds (SmartRedis
        # retries for 100 s by default); the consumers keep their defaults
        saved = {k: os.environ.get(k) for k in ("SR_CMD_TIMEOUT", "SR_CMD_INTERVAL",
                                                 "SR_CONN_TIMEOUT", "SR_CONN_INTERVAL")}
        os.environ.update(SR_CMD_TIMEOUT="3", SR_CMD_INTERVAL="250", SR_CONN_TIMEOUT="3",
                          SR_CONN_INTERVAL="250")
        try:
            self.client = Client(cluster, ",".join(addresses), logger_name="eddylearn-driver")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.prefix = cfg.experiment.prefix
        self.retention_removed = {"snapshots": 0, "sgs_samples": 0}

    def solver_state(self, name: str = "solver") -> dict:
        path = self.out / name / "diagnostics.csv"
        try:
            d = read_diagnostics(path)
        except (OSError, ValueError, IndexError):
            return {}
        if len(d.get("step", ())) == 0:     # nothing written yet
            return {}
        if len(d["step"]) == 0:
            return {}
        return {"step": int(d["step"][-1]), "time": float(d["time"][-1]),
                "energy": float(d["energy"][-1]), "staged": int(d["staged_sent"][-1]),
                "dropped": int(d["staged_dropped"][-1])}

    def model_version(self) -> int:
        """The version of the LES's model in its .meta dataset (-1 before the first is stored)."""
        name = self.prefix + les_model_key(self.cfg) + ".meta"
        try:
            if not self.client.dataset_exists(name):
                return -1
            ds = self.client.get_dataset(name)      # the values live as long as the dataset
            return int(np.array(ds.get_meta_scalars("version"))[-1])
        except Exception as exc:    # a transient database error must not end the experiment
            log.warning("could not read %s: %s", name, exc)
            return -1

    def list_length(self, name: str) -> int:
        return int(self.client.get_list_length(self.prefix + name))

    def trainer_state(self, name: str) -> dict:
        key = f"{self.prefix}trainer.{name}.progress"
        if not self.client.tensor_exists(key):
            return {}
        v = self.client.get_tensor(key)
        return {"step": int(v[0]), "train_loss": float(v[1]), "val_loss": float(v[2]),
                "samples": int(v[3]), "version": int(v[5])}

    def memory_mib(self) -> float:
        infos = self.client.get_db_node_info(self.addresses)
        return sum(float(i.get("Memory", {}).get("used_memory", 0)) for i in infos) / 2 ** 20

    def register_readers(self, entities: dict) -> None:
        """Register the readers this experiment starts before they run: retention then waits
        for each (up to database.retention_max_lag steps), however slowly it starts."""
        from .consumers.trainer import reader_name
        from .snapshots import register_reader
        for key in entities:
            if key.startswith("trainer:"):
                name = key.split(":", 1)[1]
                ranks = next(t.ranks for t in self.cfg.trainer if t.name == name)
                for r in range(ranks):
                    register_reader(self.prefix + "sgs_samples", reader_name(name, r))
            elif key in CONSUMERS:
                register_reader(self.prefix + "snapshots", key)

    def apply_retention(self) -> None:
        """Keep the last K steps of each list once every registered reader has passed them
        (or its lag passed database.retention_max_lag steps); count what is removed, and
        what each reader lost, never silently."""
        keep = self.cfg.database.retention
        if keep <= 0:
            return
        from .snapshots import apply_retention
        for name in ("snapshots", "sgs_samples"):
            removed = apply_retention(self.client, self.prefix + name, keep, unit="steps",
                                      max_lag=self.cfg.database.retention_max_lag)
            self.retention_removed[name] += removed

    def retention_dropped(self) -> dict:
        """{list: {reader: entries removed before it read them}}."""
        from .snapshots import reader_drops
        return {name: reader_drops(self.prefix + name) for name in ("snapshots", "sgs_samples")}

    def request_stop(self) -> None:
        from .snapshots import request_stop
        request_stop(self.client, self.prefix)


class _OwnSessions:
    """While active, SmartSim's local launcher starts every task in a session of its own
    (through setsid(1)): a Ctrl-C or a closed terminal then reaches the driver alone, which
    stops the components in order (solvers, then consumers with time to write their outputs,
    then the database) instead of every process dying at once."""

    def __enter__(self):
        import shutil
        from smartsim._core.launcher import taskManager
        self._module = taskManager
        self._orig = taskManager.execute_async_cmd
        setsid = shutil.which("setsid")
        if setsid is not None:
            orig = self._orig

            def launch(cmd_list, cwd, env=None, **kw):
                return orig([setsid, *cmd_list], cwd, env=env, **kw)
            taskManager.execute_async_cmd = launch
        return self

    def __exit__(self, *exc):
        self._module.execute_async_cmd = self._orig


def _start(exp, *entities, block: bool) -> None:
    """exp.start without the SIGINT handler SmartSim installs, which kills every job at once
    on Ctrl-C: the driver's own stop gives the consumers time to write their outputs."""
    import threading
    main = threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGINT) if main else None
    try:
        exp.start(*entities, block=block)
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def _consumer_processes(procs) -> list:
    """The processes that run consumer code (trainer ranks, analyser, ...), not the launchers
    above them (torch.distributed.run ends by itself once its ranks have)."""
    found = []
    for p in procs:
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "eddylearn.consumers." in cmd and "torch.distributed.run" not in cmd:
            found.append(p)
    return found


def _let_consumers_finish(exp, entities, monitor, procs, grace: float) -> list[str]:
    """A stop that gives the consumers their outputs: the solvers are stopped first, then
    every consumer is asked to stop (the driver's stop tensor and SIGTERM) and given `grace`
    seconds to write what it has (the analyser's summary and plots, a trainer's checkpoint and
    model). Returns the consumers still running after that."""
    from smartsim.status import SmartSimStatus as S
    for key in ("solver", "les"):
        ent = entities.get(key)
        try:
            if ent is not None and _status(exp, ent) not in (
                    S.STATUS_COMPLETED, S.STATUS_FAILED, S.STATUS_CANCELLED,
                    S.STATUS_NEVER_STARTED):
                exp.stop(ent)
        except Exception as exc:
            log.warning("could not stop %s: %s", key, exc)
    consumers = [p for p in _consumer_processes(procs) if p.is_running()]
    if not consumers:
        return []
    if monitor is not None:
        try:
            monitor.request_stop()
        except Exception as exc:    # a lost database: the signal still reaches them
            log.warning("could not store the stop request: %s", exc)
    for p in consumers:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(consumers, timeout=grace)
    names = []
    for p in alive:
        try:
            cmd = p.cmdline()
            names.append(next((c.rsplit(".", 1)[-1] for c in cmd
                               if c.startswith("eddylearn.consumers.")), p.name()))
        except psutil.Error:
            pass
    if names:
        log.warning("consumers that did not finish within %.0f s: %s", grace, ", ".join(names))
    return sorted(set(names))


def run_experiment(cfg: ExperimentConfig, out: str | Path, progress: bool = True) -> dict:
    """Run the experiment described by cfg, writing everything into out; returns the report.
    Everything started is stopped at the end, on an error and on Ctrl-C."""
    return Run(cfg, out, progress).execute()


_ENDED = ("Completed", "Failed", "Cancelled")


class Run:
    """One run of the experiment, phase by phase: prepare (checks, placement, SmartSim's
    entities; nothing starts), start the database and the entities, the solver phase, the
    trainers' extra steps, the LES, the consumers' stop, stop everything, the report."""

    def __init__(self, cfg: ExperimentConfig, out: str | Path, progress: bool = True):
        self.cfg = cfg
        self.out = Path(out).resolve()
        self.progress = progress
        self.kind, self.shards = cfg.experiment.launcher, cfg.database.shards
        self.places: dict = {}
        self.alloc = None
        self.exp = self.db = self.cluster = self.monitor = self.watch = self.live = None
        self.entities: dict = {}
        self.timings: dict[str, float] = {}
        self.outcome = "completed"
        self.lists: dict[str, int] = {}
        self.removed: dict = {}
        self.dropped: dict = {}
        self.database_lost = None
        self.db_started = self.les_started = False
        self.t0 = time.time()
        self.last_line = 0.0
        self.before: set[int] = set()
        self.host = ""

    # ---- the whole run -------------------------------------------------------------------
    def execute(self) -> dict:
        self.prepare()
        sessions = _OwnSessions().__enter__()
        try:
            try:
                if self.live is not None and self.console.is_terminal:
                    self.live.start()
                self.start_database()
                self.start_entities()
                self.solver_phase()
                self.training_phase()
                self.les_phase()
                self.stop_consumers()
                self.timings["total_s"] = time.time() - self.t0
                self.lists = {name: self.monitor.list_length(name)
                              for name in ("snapshots", "sgs_samples")}
            except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP through stopping.install
                self.interrupted(exc)
            except Exception as exc:        # SmartSim, database or launch errors: stop, report
                self.failed(exc)
        except KeyboardInterrupt as exc:    # the first stop signal came while an error was noted
            self.interrupted(exc)
        finally:
            # a stop signal that comes now (the first one, after the end or an error) is noted
            # and the clean-up goes on: the components stopped, the report written
            with stopping.shield():
                try:
                    self.stop_everything()
                finally:
                    sessions.__exit__()
                if stopping.requested() is not None and "interrupted" not in self.outcome:
                    self.outcome += f"; {stopping.signal_name()} received while stopping"
                report = self.write_report()
        return report

    def interrupted(self, exc: BaseException) -> None:
        """The outcome of a stop signal (after an error: both)."""
        sig = stopping.signal_name(exc)
        what = "interrupted" if sig == "SIGINT" else f"interrupted by {sig}"
        self.outcome = f"{self.outcome}; then {what}" if self.outcome.startswith("failed") else what
        self.console.print(f"[yellow]{what}: stopping every component[/yellow]")

    # ---- before anything starts ----------------------------------------------------------
    def prepare(self) -> None:
        """Check, place and build everything; nothing runs yet."""
        from rich.console import Console
        from rich.live import Live
        from smartsim import Experiment
        cfg, out, kind, shards = self.cfg, self.out, self.kind, self.shards
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
        # SmartSim's own lines go to a file: the console (a batch job's log) has eddylearn's alone
        smartsim_setup.route_smartsim_log(out / "smartsim.log")
        # SmartSim launches eddylearn's database (its set-up checked, completed when missing)
        smartsim_setup.ensure()
        os.environ.update(smartsim_setup.launch_env())
        # SmartRedis clients of the driver and of every launched consumer log to nowhere
        # unless the user asked for logs
        os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
        os.environ.setdefault("SR_LOG_FILE", "/dev/null")
        if kind != "local":
            self.place()
        # the driver's own connections (retention, reader registration) use the cluster
        # client for a sharded database; SmartSim sets the same for every model it launches
        os.environ["SR_DB_TYPE"] = "Clustered" if shards > 1 else "Standalone"
        # look for the database's start-up banner every second rather than every two
        os.environ.setdefault("SMARTSIM_DB_FILE_PARSE_INTERVAL", "1")
        os.environ.setdefault("SMARTSIM_DB_FILE_PARSE_TRIALS", "60")
        if kind == "local":
            self.check_ports()
        data = out / "database"
        data.mkdir(exist_ok=True)
        if cfg.database.persist == "none":
            database.clear_data(data)
        # a sharded database starts empty (database.persist is for one shard): the cluster
        # configuration an earlier run left in this folder would make each shard a member
        # of that old cluster, which cannot be formed again
        for path in data.glob("nodes-*.conf"):
            path.unlink()
        from smartsim._core.config.config import Config
        (data / "redis.conf").write_text(database.persistence_conf(
            data, cfg.database.persist, base=str(Config().conf_path)))
        os.environ["REDIS_CONF"] = str(data / "redis.conf")
        self.console = Console(stderr=False)
        (out / "smartsim").mkdir(exist_ok=True)
        self.exp = Experiment(cfg.experiment.name, exp_path=str(out / "smartsim"),
                              launcher=kind)
        settings_env = {}
        if kind == "local" and shards > 1:
            # SmartSim's local launcher has no clustered Orchestrator: the same Redis Cluster
            # as `eddylearn db start --shards N`, its address given to every entity
            addresses = [f"{self.host}:{cfg.database.port + i}" for i in range(shards)]
            settings_env = {"SSDB": ",".join(addresses), "SR_DB_TYPE": "Clustered"}
        else:
            self.db = self.create_database()
        settings = Settings(self.exp, kind, self.places, self.alloc, settings_env)
        self.entities = build_entities(self.exp, cfg, out, settings)
        self.consumers = {k: v for k, v in self.entities.items() if k not in ("solver", "les")}
        self.live = (Live(console=self.console, auto_refresh=False, transient=False)
                     if self.progress else None)
        # children this process had before the experiment are not the experiment's to end
        self.before = {p.pid for p in psutil.Process().children(recursive=True)}
        self.t0 = time.time()

    def place(self) -> None:
        """The allocation and the place of every entity in it (batch launchers)."""
        from .placement import PlacementError, current_allocation, describe, plan
        try:
            self.alloc = current_allocation(self.kind)
            self.places = plan(self.cfg, self.alloc)
        except PlacementError as exc:
            raise ExperimentError(f"{exc} (nothing was started)") from None
        interface = self.cfg.database.interface
        if interface in database.LOOPBACK and (len(self.alloc.nodes) > 1 or self.shards > 1):
            raise ExperimentError(
                f"database.interface = {interface!r} cannot be reached from the other nodes of "
                f"the allocation ({', '.join(self.alloc.nodes)}); set it to the nodes' network "
                f"interface (ib0, hsn0, eth0, ...) (nothing was started)")
        for line in describe(self.places):
            log.info("placement: %s", line)
        (self.out / "placement.json").write_text(json.dumps(
            {k: {"nodes": p.nodes, "tasks": p.tasks, "tasks_per_node": p.tasks_per_node,
                 "cpus_per_task": p.cpus_per_task} for k, p in self.places.items()},
            indent=2) + "\n")

    def check_ports(self) -> None:
        """A port in use belongs to someone else: refuse before anything starts, and never
        stop it (on a batch launcher the shards run on other nodes, where SmartSim checks)."""
        db = self.cfg.database
        self.host = database.interface_ip(db.interface)
        wanted = [db.port + i for i in range(self.shards)]
        wanted += [p + 10000 for p in wanted] if self.shards > 1 else []
        busy = [p for p in wanted if not database.port_free(self.host, p)]
        if busy:
            raise ExperimentError(f"database.port {', '.join(map(str, busy))} on {self.host} is "
                                  f"already in use by another program; choose a free port "
                                  f"(nothing was started)")

    def create_database(self):
        """SmartSim's Orchestrator: one shard, or db_nodes = shards on a batch launcher."""
        db_cfg, extra = self.cfg.database, {}
        if self.kind != "local":
            extra = {"hosts": self.places["database"].nodes,
                     "run_command": "srun" if self.kind == "slurm" else "mpirun"}
        db = self.exp.create_database(port=db_cfg.port, interface=db_cfg.interface,
                                      db_nodes=self.shards,
                                      threads_per_queue=db_cfg.threads_per_queue, **extra)
        if self.kind != "local":
            db.set_cpus(self.places["database"].cpus_per_task)
        if self.kind == "slurm":
            db.set_run_arg("exact", None)
        self.exp.generate(db, overwrite=True)
        return db

    # ---- phases --------------------------------------------------------------------------
    def start_database(self) -> None:
        self.db_started = True
        if self.db is None:
            try:
                self.cluster = database.start(
                    port=self.cfg.database.port, shards=self.shards,
                    threads=self.cfg.database.threads_per_queue,
                    interface=self.cfg.database.interface, run_dir=self.out / "database")
            except database.DatabaseError as exc:
                raise ExperimentError(f"the sharded database did not start: {exc}") from None
            addresses = self.cluster.addresses
        else:
            _start(self.exp, self.db, block=True)
            addresses = self.db.get_address()
        os.environ["SSDB"] = ",".join(addresses)
        self.watch = DatabaseWatch(addresses)
        self.monitor = Monitor(self.cfg, self.out, addresses)
        self.monitor.register_readers(self.entities)
        self.timings["database_start_s"] = time.time() - self.t0

    def start_entities(self) -> None:
        first = [e for k, e in self.entities.items() if k != "les"]
        if self.kind != "local":
            # a batch launcher starts one step at a time, seconds apart (SmartSim finds each
            # step in the accounting): the readers first, so they are there when the
            # solver's data comes
            first = first[1:] + first[:1]
        _start(self.exp, *first, block=False)

    def solver_phase(self) -> None:
        """The solver runs; consumers learn and analyse alongside; the LES starts when the
        model it waits for is stored."""
        while True:
            self.watch.check(self.t0)
            status = self.status("solver")
            self.monitor.apply_retention()
            self.maybe_start_les()
            self.show()
            if status == "Completed":
                break
            if status in ("Failed", "Cancelled"):
                raise ExperimentError(f"the solver {status.lower()}; see "
                                      f"{self.out / 'solver' / 'solver.err'}")
            for key in self.consumers:
                if self.status(key) == "Failed":
                    log.warning("%s failed (see %s); the solver goes on", key, self.out)
            if self.over_time():
                raise ExperimentError(f"time limit of {self.cfg.experiment.time_limit} s reached")
            time.sleep(0.5)
        self.timings["solver_s"] = time.time() - self.t0 - self.timings["database_start_s"]

    def training_phase(self) -> None:
        """The trainers take their extra steps on what is stored."""
        targets = {t.name: self.monitor.trainer_state(t.name).get("step", 0) + t.extra_steps
                   for t in self.cfg.trainer}
        while targets and not self.over_time():
            pending = [n for n, target in targets.items()
                       if self.status(f"trainer:{n}") not in _ENDED
                       and self.monitor.trainer_state(n).get("step", 0) < target]
            if not pending:
                break
            self.watch.check(self.t0)
            self.maybe_start_les()
            self.show()
            time.sleep(0.5)
        if self.over_time():
            self.outcome = "completed; the time limit cut the trainers' extra steps short"

    def les_phase(self) -> None:
        """The LES (if any) runs to its end while the trainers go on."""
        if "les" not in self.entities:
            return
        self.maybe_start_les()
        while self.les_started and not self.over_time():
            if self.status("les") in _ENDED:
                break
            self.watch.check(self.t0)
            self.show()
            time.sleep(0.5)
        if not self.les_started:
            self.outcome = (f"completed; the LES did not start: model version "
                            f"{self.cfg.les.wait_for_version} was never stored")
        elif self.status("les") == "Failed":
            self.outcome = f"completed; the LES failed (see {self.out / 'les' / 'les.err'})"
        elif self.status("les") not in _ENDED and self.over_time():
            self.outcome = "completed; the time limit stopped the LES"

    def stop_consumers(self) -> None:
        """Ask every consumer to stop and wait for them (up to 180 s)."""
        self.monitor.request_stop()
        deadline = time.time() + 180
        running = []
        while time.time() < deadline:
            running = [k for k in self.consumers if self.status(k) not in _ENDED]
            self.show()
            if not running:
                break
            time.sleep(0.5)
        if running:
            self.outcome = (f"completed; stopped consumers that did not finish: "
                            f"{', '.join(running)}")

    # ---- helpers of the phases -----------------------------------------------------------
    def status(self, key: str) -> str:
        return _status(self.exp, self.entities[key]).value

    def over_time(self) -> bool:
        return time.time() - self.t0 > self.cfg.experiment.time_limit

    def maybe_start_les(self) -> None:
        """Start the LES once the model version it waits for is stored."""
        if "les" not in self.entities or self.les_started:
            return
        wait = self.cfg.les.wait_for_version
        if wait and self.monitor.model_version() < wait:
            return
        if self.cfg.les.after_solver and "solver_s" not in self.timings:
            return      # the solver phase records solver_s when the solver has completed
        _start(self.exp, self.entities["les"], block=False)
        self.les_started = True
        self.timings["les_start_s"] = time.time() - self.t0
        log.info("LES started (stored model version %d)", self.monitor.model_version())

    def show(self) -> None:
        if self.monitor is None or not self.progress:
            return
        if self.console.is_terminal:
            rows = progress_rows(self.monitor, self.entities, self.exp)
            self.live.update(_progress_table(rows, time.time() - self.t0), refresh=True)
        elif time.time() - self.last_line >= self.cfg.experiment.log_interval:
            # a batch job's log: one line per component per interval
            self.last_line = time.time()
            rows = progress_rows(self.monitor, self.entities, self.exp)
            for line in progress_lines(rows, self.last_line - self.t0):
                print(line, flush=True)

    def failed(self, exc: Exception) -> None:
        """The outcome of an error; a client error because the database is gone says so."""
        watch, monitor = self.watch, self.monitor
        if watch is not None and not isinstance(exc, DatabaseLost):
            try:
                watch.check(self.t0)
            except DatabaseLost as lost:
                exc = lost
        if isinstance(exc, DatabaseLost):
            solver_then = monitor.solver_state() if monitor is not None else {}
            self.database_lost = {"after_s": watch.lost_at - self.t0, "at": watch.lost_at,
                                  "solver_then": solver_then}
            exc = DatabaseLost(f"{exc}, with the solver at step {solver_then.get('step', 0)}; "
                               f"every component was stopped (their states: report.json "
                               f"'status')")
        self.outcome = f"failed: {exc}"
        self.console.print(f"[red]experiment failed: {exc}[/red]")

    # ---- the end -------------------------------------------------------------------------
    def stop_everything(self) -> None:
        """Consumers get their grace to write outputs, then every entity, the database and
        whatever still runs below this driver are stopped."""
        exp, monitor = self.exp, self.monitor
        if self.live is not None and self.console.is_terminal:
            self.live.stop()
        self.removed = dict(monitor.retention_removed) if monitor else {}
        try:
            self.dropped = monitor.retention_dropped() if monitor else {}
        except Exception as exc:    # a lost database
            log.warning("could not read the readers' retention counts: %s", exc)
            self.dropped = {}
        # every process started below this driver, taken before SmartSim stops the entities:
        # a launcher that kills only the process it started would orphan its children
        # (torch.distributed.run's workers, mpirun's ranks)
        descendants = [p for p in psutil.Process().children(recursive=True)
                       if p.pid not in self.before]
        unfinished = _let_consumers_finish(exp, self.entities, monitor, descendants,
                                           self.cfg.experiment.stop_grace)
        if unfinished and self.outcome.startswith("interrupted"):
            self.outcome += f"; stopped consumers that did not finish: {', '.join(unfinished)}"
        for key in self.entities:
            try:
                # "New" can lag behind a process that is already running: stop it too
                if self.status(key) not in (*_ENDED, "NeverStarted"):
                    exp.stop(self.entities[key])
            except Exception as exc:  # keep stopping the others
                log.warning("could not stop %s: %s", key, exc)
        try:
            if self.db_started and self.db is not None:
                exp.stop(self.db)
            if self.cluster is not None:
                database.stop_state(self.cluster)
        except Exception as exc:
            log.warning("could not stop the database: %s", exc)
        end_processes(descendants, grace=10.0)

    def write_report(self) -> dict:
        out = self.out
        try:
            report = build_report(self.cfg, out, self.entities, self.exp, self.outcome,
                                  self.timings, self.removed)
        except Exception as exc:        # what the components wrote may be cut short
            log.warning("the report is incomplete: %s", exc)
            report = {"outcome": self.outcome, "timings": self.timings,
                      "retention_removed": self.removed, "report_error": str(exc)}
        report["lists_at_end"] = self.lists
        report["retention_dropped"] = self.dropped
        if self.database_lost is not None:
            report["database_lost"] = self.database_lost
        (out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
        return report
