"""Asynchronous stager: block vs drop_oldest counts, flush delivers everything, database
restarted mid-stream (blocking policy loses nothing), database down at start."""
from __future__ import annotations

import os
import threading
import time


from clienttest import Server, free_port, run


def _stats(stdout: str) -> list[int]:
    line = next(l for l in stdout.splitlines() if l.startswith("stats"))
    return [int(x) for x in line.split()[1:]]


def _pause_writes(db, seconds: float) -> None:
    import redis
    for s in db.servers:
        redis.Redis(port=s.port).execute_command("CLIENT", "PAUSE", int(seconds * 1000), "WRITE")


def test_block_delivers_everything(db, programs):
    """Queue bound of 3 items, writes paused: submit blocks, nothing dropped, all arrive."""
    _pause_writes(db, 1.0)
    r = run(programs["ftest"], "stager", 20, 4096, "block", env=db.env(SR_SOCKET_TIMEOUT=10000))
    submitted, sent, dropped, failed, retries, high = _stats(r.stdout)
    assert (submitted, sent, dropped, failed) == (20, 20, 0, 0)
    assert high <= 3
    c = db.smartredis()
    assert c.get_list_length("snapshots") == 20
    names = sorted(d.get_name() for d in c.get_datasets_from_list("snapshots"))
    assert names == sorted(f"snapshot.{i}.0" for i in range(1, 21))
    ds = c.get_dataset("snapshot.20.0")
    assert ds.get_tensor("u").shape == (8, 64) and ds.get_tensor("u")[0, 0] == 20.0
    assert list(ds.get_meta_scalars("step")) == [20]


def test_drop_oldest_counts(db, programs):
    """Writes paused: the queue overflows, the oldest are dropped and counted; sent + dropped
    = submitted and the newest snapshot is never the one dropped."""
    _pause_writes(db, 1.0)
    r = run(programs["ftest"], "stager", 20, 4096, "drop_oldest", env=db.env(SR_SOCKET_TIMEOUT=10000))
    submitted, sent, dropped, failed, retries, high = _stats(r.stdout)
    assert submitted == 20 and failed == 0
    assert dropped >= 10 and sent + dropped == 20
    c = db.smartredis()
    assert c.get_list_length("snapshots") == sent
    assert c.dataset_exists("snapshot.20.0")


def test_database_restarted_mid_stream(tmp_path, programs):
    """Kill the server while snapshots flow, restart it 1.5 s later: the stager reconnects and
    resends; nothing is failed or dropped, and every snapshot submitted after the restart is
    in the new database."""
    srv = Server(tmp_path / "db", free_port())
    srv.start()
    try:
        from clienttest import Db
        db = Db("standalone", [srv])
        env = db.env(SR_CMD_INTERVAL=200, SR_CMD_TIMEOUT=30, SR_SOCKET_TIMEOUT=1000)

        def bounce():
            time.sleep(1.0)
            srv.stop()
            time.sleep(1.5)
            srv.start()

        t = threading.Thread(target=bounce)
        t.start()
        r = run(programs["ctest"], "stager_slow", 40, 100, env=env, timeout=120)
        t.join()
        submitted, sent, dropped, failed, retries = _stats(r.stdout)
        assert (submitted, sent, dropped, failed) == (40, 40, 0, 0), r.stdout
        assert retries >= 1, r.stdout
        c = db.smartredis()
        # the restarted server is empty; the tail of the stream arrived in order
        n = c.get_list_length("slow_list")
        assert 5 <= n < 40
        names = [d.get_name() for d in c.get_dataset_list_range("slow_list", 0, -1)]
        assert names[-1] == "slow.39.0"
        assert names == [f"slow.{i}.0" for i in range(40 - n, 40)]
    finally:
        srv.stop()


def test_database_down_at_start(programs):
    """No server: after SR_CONN_TIMEOUT the stager reports a clear error (C and Fortran)."""
    port = free_port()
    env = {"SSDB": f"127.0.0.1:{port}", "SR_DB_TYPE": "Standalone", "SR_CONN_TIMEOUT": "2",
           "SR_CONN_INTERVAL": "500", "PATH": "/usr/bin:/bin"}
    t0 = time.monotonic()
    r = run(programs["ctest"], "stager_fail", env=env, timeout=60)
    took = time.monotonic() - t0
    assert f"cannot connect to the database at 127.0.0.1:{port} after 2 s" in r.stdout
    assert "code=2" in r.stdout
    assert took >= 1.5
    r = run(programs["ftest"], "stager", 1, 64, "block", env=env, check=False, timeout=60)
    assert r.returncode == 1 and f"cannot connect to the database at 127.0.0.1:{port} after 2 s" in r.stdout


def test_database_gone_for_good(tmp_path, programs):
    """The server dies and does not come back: the item in flight is given up after
    SR_CMD_TIMEOUT, the backlog then fails fast (one attempt each), everything is counted
    and the program ends with the reason."""
    srv = Server(tmp_path / "db", free_port())
    srv.start()
    try:
        from clienttest import Db
        env = Db("standalone", [srv]).env(SR_CMD_INTERVAL=200, SR_CMD_TIMEOUT=2, SR_SOCKET_TIMEOUT=500)
        t = threading.Timer(0.8, srv.stop)
        t.start()
        t0 = time.monotonic()
        r = run(programs["ctest"], "stager_slow", 20, 100, env=env, timeout=120)
        t.join()
        submitted, sent, dropped, failed, retries = _stats(r.stdout)
        assert submitted == 20 and dropped == 0 and sent + failed == 20 and failed >= 5, r.stdout
        assert "Redis IO error" in r.stdout
        # the flush says so: an error that counts the failed items, once
        assert (f"flush: code=2 {failed} of the items staged since the last flush failed "
                f"({failed} failed of 20 submitted in all)") in r.stdout, r.stdout
        assert "second flush" not in r.stdout
        assert time.monotonic() - t0 < 30
    finally:
        srv.stop()


def test_no_duplicate_list_entry_under_a_stalled_server(tmp_path, programs):
    """The server is stopped (SIGSTOP) for 2 s while snapshots flow: replies time out, the
    stager reconnects and sends again what may already have arrived. Appends are idempotent:
    every dataset is listed exactly once and nothing fails."""
    import signal
    srv = Server(tmp_path / "db", free_port())
    srv.start()
    try:
        from clienttest import Db
        db = Db("standalone", [srv])
        env = db.env(SR_CMD_INTERVAL=200, SR_CMD_TIMEOUT=30, SR_SOCKET_TIMEOUT=300)

        def stall():
            time.sleep(0.8)
            os.kill(srv.proc.pid, signal.SIGSTOP)
            time.sleep(2.0)
            os.kill(srv.proc.pid, signal.SIGCONT)

        t = threading.Thread(target=stall)
        t.start()
        r = run(programs["ctest"], "stager_slow", 40, 50, env=env, timeout=120)
        t.join()
        submitted, sent, dropped, failed, retries = _stats(r.stdout)
        assert (submitted, sent, dropped, failed) == (40, 40, 0, 0), r.stdout
        assert retries >= 1, r.stdout      # the stall did make the stager send again
        names = [e.decode() for e in srv.redis().lrange("slow_list", 0, -1)]
        assert len(names) == 40 and len(set(names)) == 40, names
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            os.kill(srv.proc.pid, signal.SIGCONT)
        srv.stop()


def test_submit_does_not_wait_for_a_dead_database(tmp_path, programs):
    """The server is killed (by its PID) and stays down; the queue (2 KiB, block policy) fills
    behind the item in flight, which retries for SR_CMD_TIMEOUT = 5 s. Once that item has given
    up and the sender still cannot connect, a submit that finds the queue full fails at once with
    a reason instead of waiting: no submit waits much past SR_CMD_TIMEOUT, and the flush counts
    every lost item."""
    import signal
    import subprocess
    srv = Server(tmp_path / "db", free_port())
    srv.start()
    flag = tmp_path / "go"
    p = None
    try:
        from clienttest import Db
        env = Db("standalone", [srv]).env(SR_CMD_INTERVAL=200, SR_CMD_TIMEOUT=5, SR_SOCKET_TIMEOUT=500)
        p = subprocess.Popen([str(programs["ctest"]), "stager_dead", "20", str(flag)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
        import select
        assert select.select([p.stdout], [], [], 60)[0], "the program never said READY"
        assert p.stdout.readline().strip() == "READY"
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(timeout=10)
        import time
        t0 = time.monotonic()
        flag.write_text("go")
        out, _ = p.communicate(timeout=60)
        elapsed = time.monotonic() - t0
        assert p.returncode == 0 and "OK" in out.splitlines(), out
        longest = float(out.split("longest submit ")[1].split()[0])
        # the item in flight retries for SR_CMD_TIMEOUT = 5 s (a restart within that time loses
        # nothing); once it has given up, the submits behind it fail at once instead of each
        # waiting 5 s (20 items x 5 s would be 100 s): no submit, and not the whole run of 20
        # submits and the flush, takes much more than one SR_CMD_TIMEOUT
        assert longest < 5.0 + 3.0, out
        assert elapsed < 5.0 + 10.0, (elapsed, out)
        # how many submits find the queue full, rather than room freed by the sender's fast
        # failures of queued items, depends on scheduling; at least one must, with the reason
        failed_submits = int(out.split("failed submits ")[1].split()[0])
        assert failed_submits >= 1, out
        assert ("first submit error: code=2 dataset dead." in out
                and "not staged: the queue is full and the database cannot be reached" in out), out
        submitted, sent, dropped, failed = (int(x) for x in out.split("stats ")[1].split()[:4])
        assert (submitted, sent, dropped, failed) == (21, 1, 0, 20), out
        assert ("flush: code=2 20 of the items staged since the last flush failed "
                "(20 failed of 21 submitted in all)") in out, out
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        srv.stop()
