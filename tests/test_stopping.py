"""Stop signals (eddylearn.stopping): the first raises, later ones are noted and ignored, and a
clean-up inside shield() is not cut short by any. Each case runs in a Python process of its own,
whose signal handlers it may replace."""
import subprocess
import sys
import textwrap


def run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.split()


def test_the_first_signal_raises_and_later_ones_are_ignored():
    assert run("""
        import os, signal, time
        from eddylearn import stopping
        stopping.install()
        print(stopping.requested())
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            print("not-raised")
        except KeyboardInterrupt as exc:
            print(stopping.signal_name(exc), stopping.exit_status(exc))
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            print("second-ignored", stopping.requested())
    """) == ["None", "SIGTERM", "143", "second-ignored", "15"]


def test_a_signal_during_a_shielded_clean_up_is_noted_and_raises_nothing():
    """The clean-up after the end or an error of the work: a first signal then must not cut
    it short, and still gives the exit status."""
    assert run("""
        import os, signal, time
        from eddylearn import stopping
        stopping.install()
        with stopping.shield():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)
            print("went-on", stopping.requested())
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        print("after", stopping.signal_name(), stopping.exit_status())
    """) == ["went-on", "1", "after", "SIGHUP", "129"]


def test_outside_a_shield_a_first_signal_still_raises():
    assert run("""
        import os, signal, time
        from eddylearn import stopping
        stopping.install()
        with stopping.shield():
            pass
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            print("not-raised")
        except KeyboardInterrupt as exc:
            print("raised", stopping.signal_name(exc))
    """) == ["raised", "SIGTERM"]


def test_a_solver_being_ended_is_ended_even_when_a_signal_comes_meanwhile():
    """eddylearn solve ends mpirun's tree after an error or a time-out; a SIGTERM during that
    (here while a tree that ignores SIGTERM gets its grace) must not leave the tree running."""
    assert run("""
        import os, signal, subprocess, threading, time
        import psutil
        from eddylearn import solver, stopping
        stopping.install()
        proc = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60 & wait"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        time.sleep(0.5)
        tree = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        t0 = time.monotonic()
        solver._end_solver(proc)
        time.sleep(0.5)
        gone = [not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE
                for p in tree]
        print(len(tree), all(gone), stopping.requested(), time.monotonic() - t0 > 4)
    """) == ["2", "True", "15", "True"]


def test_a_benchmarks_server_is_ended_even_when_a_signal_comes_meanwhile():
    """A benchmark's private redis-server is ended by close(); a SIGHUP during that (here while
    a stopped server gets its grace) must not leave the server running."""
    assert run("""
        import os, signal, threading, time
        import psutil
        from eddylearn import database, stopping
        stopping.install()
        server = database.LocalServer()
        pid = server.proc.pid
        os.kill(pid, signal.SIGSTOP)        # it cannot act on SIGTERM: close() waits, then kills
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGHUP)).start()
        server.close()
        print(psutil.pid_exists(pid), os.path.exists(server.dir.name), stopping.requested())
    """) == ["False", "False", "1"]
