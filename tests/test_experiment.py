"""`eddylearn run` end to end through SmartSim: the real database, the solver on 2 ranks,
the trainer on 2 DDP ranks and the snapshot consumers, on one machine."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eddylearn import solver
from servers import Server, free_port

TINY = """
[experiment]
name = "tiny"
time_limit = 400.0
[database]
port = {port}
retention = {retention}
[solver]
ranks = 2
[solver.domain]
nx = 16
ny = 16
nz = 16
[solver.time]
t_end = {t_end}
max_steps = {steps}
[solver.staging]
snapshot_every = 10
sgs_every = 2
sgs_width = 2
[[trainer]]
name = "trainer"
ranks = 2
publish_every = 50
steps_per_round = 10
extra_steps = 200
# a few hundred optimizer steps: the wider network halves the loss in them (the default, one
# hidden layer of 32, learns more slowly per step)
hidden = [64, 64]
[analyser]
enabled = true
{extra}
"""


def write_config(tmp_path, steps=40, retention=0, extra="", port=None, t_end=100.0) -> Path:
    """The tiny experiment; a run that is to be stopped while its solver runs takes a t_end
    it does not reach (the solver at 16^3 reaches t = 100 in a few hundred steps)."""
    path = tmp_path / "exp.toml"
    path.write_text(TINY.format(port=port or free_port(), retention=retention, steps=steps,
                                extra=extra, t_end=float(t_end)))
    return path


def run_cli(args, timeout=600, **kw):
    return subprocess.run([sys.executable, "-m", "eddylearn", *args], capture_output=True,
                          text=True, timeout=timeout, env=solver.child_env(), **kw)


def start_run(cfg: Path, out: Path) -> subprocess.Popen:
    """`eddylearn run` in the background, as a user starts it from a shell."""
    return subprocess.Popen([sys.executable, "-m", "eddylearn", "run", str(cfg), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=solver.child_env())


def leftovers(out: Path) -> list[str]:
    """Processes of this experiment still alive (by the output folder in their command)."""
    ps = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if str(out) in line and "ps -ww" not in line]


@pytest.fixture
def reaped():
    """Registers an experiment a test runs in the background (its driver and output folder):
    whatever of it still runs when the test ends, as after a failed assertion, is killed by
    process id, so that it cannot load the tests after it."""
    runs = []

    def register(p: subprocess.Popen, out: Path) -> subprocess.Popen:
        runs.append((p, out))
        return p
    yield register
    import psutil
    for p, out in runs:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=60)
        procs = []
        for line in leftovers(out):
            try:    # with what runs below it: a redis-server's command does not name the folder
                top = psutil.Process(int(line.split()[0]))
                procs += [top] + top.children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        for proc in procs:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


def test_tiny_experiment_end_to_end(tmp_path):
    """Samples arrive, the loss falls, the model is published, every consumer reads all the
    snapshots at the same time, the report holds the a-priori comparison, nothing is left."""
    cfg = write_config(tmp_path, extra="[[trainer]]\nname = \"wide\"\nranks = 1\n"
                                       "hidden = [128, 128]\nextra_steps = 200\n"
                                       "[compressor]\nenabled = true\n"
                                       "[visualiser]\nenabled = true\n")
    out = tmp_path / "out"
    proc = run_cli(["run", str(cfg), "--out", str(out), "--quiet"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == "completed"
    assert set(report["status"].values()) == {"Completed"}
    assert report["lists_at_end"] == {"snapshots": 10, "sgs_samples": 42}
    assert report["solver"]["steps"] == 40
    trainer = json.loads((out / "trainers" / "trainer" / "trainer.json").read_text())
    assert trainer["world_size"] == 2 and trainer["version"] >= 2
    losses = [h["train_loss"] for h in trainer["history"]]
    assert losses[-1] < 0.5 * losses[0]
    # two trainers on the same samples, compared in the report
    assert set(report["trainer_comparison"]) == {"trainer", "wide"}
    assert report["trainer_comparison"]["wide"]["hidden"] == [128, 128]
    ap = report["apriori"]
    assert ap["learned"]["sgs_dissipation_corr"] > ap["smagorinsky"]["sgs_dissipation_corr"]
    assert set(ap) == {"learned", "smagorinsky", "wale", "vreman", "gradient"}
    # each consumer saw every snapshot step (0, 10, ..., 40), concurrently with the solver
    for name in ("analyser", "compressor", "visualiser"):
        assert report[name]["snapshots"] == 5, (name, report[name])
    assert (out / "dissipation.png").stat().st_size > 10_000
    assert leftovers(out) == []


@pytest.mark.parametrize("after_solver", [False, True])
def test_les_runs_the_learned_model_while_the_trainer_trains(tmp_path, after_solver):
    """A second solver (an 8^3 LES of the 16^3 DNS) starts when the trainer has stored the
    first model version (or, with after_solver, once the DNS has completed) and runs it in the
    database every RK stage, picking up newer versions; the report has its comparison with the
    reference and the database's account."""
    cfg = write_config(tmp_path, steps=60, extra=(
        "[les]\nenabled = true\nranks = 2\nwait_for_version = 1\n"
        f"after_solver = {str(after_solver).lower()}\n"
        "[les.domain]\nnx = 8\nny = 8\nnz = 8\n"
        "[les.time]\nt_end = 100.0\nmax_steps = 80\n"
        "[les.sgs]\nmodel = \"learned\"\nversion_every = 2\n"))
    out = tmp_path / "out"
    proc = run_cli(["run", str(cfg), "--out", str(out), "--quiet"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == "completed", report["outcome"]
    assert report["status"]["les"] == "Completed"
    les = report["les"]
    assert les["steps"] == 80
    acc = les["database"]
    assert acc["stages"] == 240 and acc["stages_database"] > 0
    assert acc["last_version"] >= 1 and acc["key"].startswith("sgs_model.v")
    timings = report["timings"]
    assert timings["les_start_s"] > timings["database_start_s"]
    if after_solver:
        assert timings["les_start_s"] >= timings["database_start_s"] + timings["solver_s"]
    log = (out / "les" / "les.out").read_text()
    assert "learned SGS model version" in log
    assert (out / "les_dissipation.png").stat().st_size > 10_000
    assert leftovers(out) == []


def test_killed_consumer_does_not_stop_the_solver(tmp_path, reaped):
    cfg = write_config(tmp_path, steps=400)
    out = tmp_path / "out"
    p = reaped(start_run(cfg, out), out)
    killed = False
    deadline = time.time() + 120
    while time.time() < deadline and not killed:
        if (out / "analyser" / "progress.json").exists():      # it is reading snapshots
            for line in leftovers(out):
                if "eddylearn.consumers.analyser" in line:
                    os.kill(int(line.split()[0]), signal.SIGKILL)
                    killed = True
        time.sleep(0.1)
    stdout, stderr = p.communicate(timeout=600)
    assert killed
    assert (out / "report.json").exists(), stdout[-2000:] + stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["status"]["solver"] == "Completed"
    assert report["solver"]["steps"] == 400
    assert report["status"]["analyser"] == "Failed"
    assert leftovers(out) == []


def _wait_for_file(path: Path, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} did not appear within {timeout} s")


def _wait_for_steps(out: Path, steps: int, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        diag = out / "solver" / "diagnostics.csv"
        if diag.exists() and len(diag.read_text().splitlines()) > steps:
            return
        time.sleep(0.2)
    raise AssertionError(f"the solver did not reach step {steps} within {timeout} s")


def test_interrupt_stops_everything(tmp_path, reaped):
    """Ctrl-C in a terminal (SIGINT to the driver's process group) while the solver runs and
    the trainer trains: every component stops, the analyser writes its summary and plots, the
    trainer its checkpoint and model, nothing prints a traceback, no process is left."""
    cfg = write_config(tmp_path, steps=100000, t_end=1e9)
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "eddylearn", "run", str(cfg), "--out", str(out),
                          "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=solver.child_env(), start_new_session=True)
    reaped(p, out)
    _wait_for_steps(out, 20)
    tdir = out / "trainers" / "trainer"
    deadline = time.time() + 240
    while time.time() < deadline and not ((out / "analyser" / "progress.json").exists()
                                          and (tdir / "trainer.sgs_model.pt").exists()):
        time.sleep(0.2)     # the analyser reads snapshots and the trainer has trained
    os.killpg(p.pid, signal.SIGINT)
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 130, stdout[-2000:] + stderr[-3000:]
    assert "interrupted" in stdout and "Traceback" not in stdout + stderr
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == "interrupted"
    summary = json.loads((out / "analyser" / "summary.json").read_text())
    assert summary["snapshots"] > 0 and summary["stop_reason"] != "error"
    assert report["analyser"]["snapshots"] == summary["snapshots"]
    assert (out / "analyser" / "dissipation.png").is_file()
    assert (tdir / "trainer.json").is_file() and (tdir / "trainer.ckpt.pt").is_file()
    assert (tdir / "trainer.sgs_model.pt").stat().st_size > 0
    assert "Traceback" not in (tdir / "trainer_trainer.err").read_text()
    time.sleep(1)
    assert leftovers(out) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, sig, reaped):
    """What a batch system sends at its time limit (SIGTERM), or a closed terminal (SIGHUP),
    to the driver alone: the same clean stop as Ctrl-C, a report with the outcome, no
    process left and the database's port free again."""
    cfg = write_config(tmp_path, steps=100000, t_end=1e9)
    port = int(cfg.read_text().split("port = ")[1].split()[0])
    out = tmp_path / "out"
    p = reaped(start_run(cfg, out), out)
    _wait_for_steps(out, 10)
    _wait_for_file(out / "analyser" / "progress.json")  # the consumers run: they have outputs to finish
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 128 + sig, stdout[-2000:] + stderr[-3000:]
    assert "Traceback" not in stdout + stderr
    assert (out / "report.json").is_file(), stdout[-2000:] + stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == f"interrupted by {signal.Signals(sig).name}", stdout[-2000:]
    assert (out / "analyser" / "summary.json").is_file()
    time.sleep(1)
    assert leftovers(out) == []
    from eddylearn import database
    assert database.port_free("127.0.0.1", port)


def test_a_stop_signal_while_the_driver_stops_after_an_error_does_not_cut_the_stop_short(
        tmp_path, reaped):
    """A batch system's SIGTERM that comes while the driver is already stopping everything,
    here after the solver failed: the stop goes on (the consumers get their grace, every
    component ends, the port is free again), the report says both, and the exit status is the
    signal's."""
    from eddylearn import database
    cfg = write_config(tmp_path, steps=100000, t_end=1e9)
    port = int(cfg.read_text().split("port = ")[1].split()[0])
    out = tmp_path / "out"
    p = reaped(start_run(cfg, out), out)
    _wait_for_steps(out, 10)
    _wait_for_file(out / "analyser" / "progress.json")
    ranks = [line for line in leftovers(out)    # the solver's ranks, not mpirun above them
             if os.path.basename(line.split()[1]) == "eddylearn-solver"]
    assert ranks, "\n".join(leftovers(out))
    os.kill(int(ranks[0].split()[0]), signal.SIGKILL)     # a rank dies: the solver fails
    seen = []
    for line in p.stdout:       # the driver says so, then stops everything
        seen.append(line)
        if "experiment failed" in line:
            break
    time.sleep(0.3)             # into the stop, which gives the consumers seconds to finish
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=300)
    stdout = "".join(seen) + stdout
    assert p.returncode == 128 + signal.SIGTERM, stdout[-2000:] + stderr[-3000:]
    assert "Traceback" not in stdout + stderr
    assert (out / "report.json").is_file(), stdout[-2000:] + stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"].startswith("failed: the solver failed"), report["outcome"]
    # (a signal still inside the error's handling would make it "; then interrupted by SIGTERM")
    assert report["outcome"].endswith(("; SIGTERM received while stopping",
                                       "; then interrupted by SIGTERM")), report["outcome"]
    assert (out / "analyser" / "summary.json").is_file()
    time.sleep(1)
    assert leftovers(out) == []
    assert database.port_free("127.0.0.1", port)


def test_a_taken_database_port_is_refused_and_that_server_untouched(tmp_path):
    """[database] port is served by a Redis the experiment did not start: a clear error before
    anything starts, and that server keeps running with its data."""
    other = Server(tmp_path / "other").start()
    try:
        other.redis().set("theirs", "kept")
        cfg = write_config(tmp_path, port=other.port)
        out = tmp_path / "out"
        proc = run_cli(["run", str(cfg), "--out", str(out)], timeout=120)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"database.port {other.port}" in proc.stderr
        assert "already in use by another program" in proc.stderr
        assert other.alive() and other.redis().get("theirs") == b"kept"
        assert leftovers(out) == []
    finally:
        other.stop()


@pytest.mark.parametrize("text, message", [
    ("[solver]\nranks = 3\n", "solver.ranks = 3 does not divide"),
    ("[solver.domain]\nnq = 4\n", "unknown key 'nq' in [solver.domain]"),
    ("[databse]\nport = 1\n", "unknown key 'databse'"),
    ("[solver.output]\nrestart_file = 'nowhere.bin'\n", "restart_file not found"),
    ("[[trainer]]\nname = 'a'\nhidden = [0]\n", "positive integer hidden widths"),
    ("[[trainer]]\nname = 'a'\nactivation = 'tanh'\n",
     "trainer 'a': activation must be one of gelu, relu, hardswish, got 'tanh'"),
    ("[solver.staging]\nsgs_every = 0\n", "trainers need SGS samples"),
    ("[solver.staging]\nhandover = 'inline'\n",
     "solver.staging.handover must be deferred or copy, got 'inline'"),
    ("this is not toml", "not valid TOML"),
    ("[les]\nenabled = true\ntrainer = 'nobody'\n", "les.trainer 'nobody' is not the name"),
    ("[les]\nenabled = true\n[les.sgs]\nmodel = 'magic'\n",
     "les.sgs.model must be one of none, smagorinsky"),
    ("[solver.sgs]\nmodel = 'wales'\n", "solver.sgs.model must be one of none, smagorinsky, "
                                         "dynamic_smagorinsky, wale, vreman, gradient, learned"),
    ("[solver.sgs]\nmodel = 'dynamic_smagorinsky'\ndynamic_average = 'plane'\n",
     "solver.sgs.dynamic_average must be box or local"),
    ("[les]\nenabled = true\n[les.sgs]\nmodel_key = 'x'\n", "les.sgs.model_key is set by"),
    ("[les]\nenabled = true\nranks = 3\n", "les.ranks = 3 does not divide"),
    ("[les]\nenabled = true\nafter_solver = 'yes'\n",
     "les.after_solver must be true or false, got 'yes'"),
    ("[les]\nenabled = true\n[les.time]\nsteps = 3\n", "unknown key 'steps' in [les.time]"),
    ("[solver.domain]\nnx = -8\n", "solver.domain: grid nx, ny, nz = -8, 64, 64 is too small"),
    ("[solver.physics]\nnu = nan\n", "solver.physics.nu must be a finite number, got nan"),
    ("[[trainer]]\nlr = nan\n", "trainer 0.lr must be a finite number"),
    ("[solver.time]\ncfl = 5.0\n", "solver.time.cfl must be in (0, 1.7], got 5.0"),
    ("[database]\npersist = 'always'\n", "database.persist must be none, rdb or aof"),
    # every problem of a file in one message
    ("[databse]\nport = 1\n[solver.physics]\nnu = -1.0\n[solver]\nranks = 0\n",
     "3 problems:\n  unknown key 'databse' in the top level"),
])
def test_invalid_config_fails_before_anything_starts(tmp_path, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    proc = run_cli(["run", str(cfg), "--out", str(out)], timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr
    assert not out.exists()


def test_output_folder_problems_are_one_line_errors(tmp_path):
    (tmp_path / "afile").write_text("x")
    proc = run_cli(["run", "--out", str(tmp_path / "afile")], timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"eddylearn: error: --out {tmp_path / 'afile'} exists and is not a folder"
    proc = run_cli(["run", "--out", str(tmp_path / "afile" / "sub")], timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot create or write the folder" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_each_trainer_has_its_own_model_key():
    from eddylearn import config
    cfg = config.from_dict({"trainer": [{"name": "a"}, {"name": "b"}],
                            "les": {"enabled": True, "trainer": "b"}})
    assert config.trainer_model_key(cfg, "a") == "sgs_model"
    assert config.trainer_model_key(cfg, "b") == "sgs_model.b"
    assert config.les_model_key(cfg) == "sgs_model.b"
    cfg = config.from_dict({"les": {"enabled": True}})
    assert config.les_model_key(cfg) == "sgs_model"


def test_missing_config_file(tmp_path):
    proc = run_cli(["run", str(tmp_path / "absent.toml"), "--out", str(tmp_path / "o")])
    assert proc.returncode == 2 and "configuration file not found" in proc.stderr


def test_a_database_killed_mid_run_is_reported_within_seconds(tmp_path, reaped):
    """The database's redis-server is killed while the solver runs: the driver says so,
    naming it, within 10 s (not after SmartRedis's 100 s of retries), stops everything and
    writes a report with the outcome and what each component was doing then."""
    import psutil
    cfg = write_config(tmp_path, steps=100000, t_end=1e9)
    port = int(cfg.read_text().split("port = ")[1].split()[0])
    out = tmp_path / "out"
    p = reaped(start_run(cfg, out), out)
    _wait_for_steps(out, 10)
    server = [c.pid for c in psutil.net_connections("tcp")
              if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN]
    assert len(server) == 1
    os.kill(server[0], signal.SIGKILL)
    killed_at = time.time()
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 1, stdout[-2000:] + stderr[-3000:]
    assert f"the database at 127.0.0.1:{port} (redis-server pid {server[0]}) ended" in stdout
    assert "Traceback" not in stdout + stderr
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"].startswith("failed: the database at")
    assert report["database_lost"]["at"] - killed_at < 10
    assert report["database_lost"]["solver_then"]["step"] >= 10
    assert set(report["status"]) == {"solver", "trainer:trainer", "analyser"}
    time.sleep(1)
    assert leftovers(out) == []


def test_a_batch_job_log_has_one_line_per_component_per_interval(tmp_path):
    """Without a terminal: no redrawn tables, one plain line (time, component, state,
    progress) per component per log_interval, and every consumer reports its progress;
    --quiet keeps only the final summary."""
    import re
    cfg = write_config(tmp_path, steps=60)
    text = cfg.read_text().replace('name = "tiny"\n', 'name = "tiny"\nlog_interval = 2.0\n')
    cfg.write_text(text)
    out = tmp_path / "out"
    proc = run_cli(["run", str(cfg), "--out", str(out)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert not any(c in proc.stdout for c in "┏┃━│╇")       # no table
    # SmartSim's own INFO lines are in the run folder's smartsim.log, not in the batch log
    assert not re.search(r"SmartSim(\[\d+\])? INFO|\bINFO\b", proc.stdout), proc.stdout[:3000]
    smartsim_log = (out / "smartsim.log").read_text()
    assert re.search(r"INFO solver\(\d+\): SmartSimStatus.STATUS_COMPLETED", smartsim_log), smartsim_log
    line = re.compile(r"^\d\d:\d\d:\d\d +([\d.]+)s (\S+(?: \S+)?) +(\w+) +(.*)$")
    rows = [m.groups() for m in map(line.match, proc.stdout.splitlines()) if m]
    by_component = {}
    for elapsed, name, _state, progress in rows:
        by_component.setdefault(name.strip(), []).append((float(elapsed), progress))
    assert set(by_component) == {"solver", "database", "trainer trainer", "analyser"}
    counts = {k: len(v) for k, v in by_component.items()}
    assert len(set(counts.values())) == 1 and counts["solver"] >= 2, counts
    times = [t for t, _ in by_component["solver"]]
    assert all(b - a >= 1.9 for a, b in zip(times, times[1:])), times     # one per interval
    assert any(p.startswith("snapshots ") and not p.startswith("snapshots 0 ")
               for _, p in by_component["analyser"]), by_component["analyser"]
    assert "experiment completed" in proc.stdout
    # 60 steps end near t = 7, before the reference's dissipation peak: the report says so
    tgv = json.loads((out / "report.json").read_text())["solver"]["tgv"]
    assert tgv["ended_before_peak"] is True and tgv["peak_dissipation_error"] is None
    assert "before the reference's dissipation peak" in tgv["note"]
    quiet = run_cli(["run", str(cfg), "--out", str(tmp_path / "quiet"), "--quiet"])
    assert quiet.returncode == 0
    assert [m for m in map(line.match, quiet.stdout.splitlines()) if m] == []
    assert "experiment completed" in quiet.stdout


def test_a_sharded_database_on_the_local_launcher(tmp_path):
    """[database] shards = 3 with the local launcher: a Redis Cluster of three shards started
    and stopped by the driver; the solver stages into it, the trainer and the analyser read
    every entry from it with the cluster client (a list entry never comes before its dataset,
    which may be on another shard), and nothing is left."""
    port = free_port()
    while not all(_port_is_free(p) for p in (port + 1, port + 2, port + 10000, port + 10001,
                                              port + 10002)):
        port = free_port()
    cfg = write_config(tmp_path, retention=10, port=port)
    cfg.write_text(cfg.read_text().replace(f"port = {port}\n", f"port = {port}\nshards = 3\n"))
    out = tmp_path / "out"
    proc = run_cli(["run", str(cfg), "--out", str(out), "--quiet"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == "completed"
    assert set(report["status"].values()) == {"Completed"}
    assert report["solver"]["steps"] == 40
    trainer = json.loads((out / "trainers" / "trainer" / "trainer.json").read_text())
    assert trainer["world_size"] == 2 and trainer["entries_read"] > 0
    assert report["analyser"]["snapshots"] == 5
    assert report["analyser"]["reader"]["missed"] == 0, report["analyser"]["reader"]
    assert report["lists_at_end"]["sgs_samples"] > 0
    # every shard is gone: nothing answers on the cluster's ports any more
    assert not any(_answers(port + i) for i in range(3))
    assert leftovers(out) == []


def _answers(port: int) -> bool:
    import socket
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _port_is_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_diagnostics_file_without_its_header_is_a_named_error(tmp_path):
    """The driver polls the solver's diagnostics.csv from its start; a file the solver has opened
    but not yet written (0 bytes) is a ValueError naming the file (which the driver takes as
    "nothing written yet"), not a KeyError that fails the whole experiment."""
    from eddylearn.io import read_diagnostics

    path = tmp_path / "diagnostics.csv"
    path.write_text("")
    with pytest.raises(ValueError, match="no diagnostics header"):
        read_diagnostics(path)
    path.write_text("step,time,energy\n")     # the header, no row yet
    with pytest.raises(ValueError, match="no diagnostics rows under its header"):
        read_diagnostics(path)
    path.write_text("step,time,energy\n1,0.5\n")
    with pytest.raises(ValueError, match="2 columns under a header of 3"):
        read_diagnostics(path)
    path.write_text("step,time,energy\n1,0.5,2.0\n2,1.0,1.5\n")
    d = read_diagnostics(path)
    assert list(d["step"]) == [1, 2] and list(d["energy"]) == [2.0, 1.5]
