"""Stopping on request: SIGTERM (a batch system's time limit) and SIGHUP (a closed terminal)
are handled like Ctrl-C, and whatever a command started is ended with its whole tree.

    stopping.install()          # in the command-line entry point
    try:
        ...
    except KeyboardInterrupt as exc:
        print(f"stopped by {stopping.signal_name(exc)}")

The first of SIGINT, SIGTERM or SIGHUP raises :class:`StopRequested` (a KeyboardInterrupt, so
every clean-up path written for Ctrl-C runs); later ones are logged and ignored, so they cannot
cut that clean-up short. A clean-up that runs for another reason (the work ended, or failed)
runs inside :func:`shield`: a first signal then is noted (:func:`requested`) and raises nothing.

    try:
        ...
    finally:
        with stopping.shield():
            ...                 # stop what was started, write what must be written
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(KeyboardInterrupt):
    """A signal asked this process to stop; `signum` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_stopping: list[int] = []
_shields = 0    # clean-ups running inside shield()


def _handler(signum, _frame) -> None:
    if _stopping or _shields:
        if not _stopping:
            _stopping.append(signum)    # the first: it gives the exit status
        log.warning("%s received while stopping: ignored, the clean-up goes on",
                    signal.Signals(signum).name)
        return
    _stopping.append(signum)
    raise StopRequested(signum)


@contextlib.contextmanager
def shield():
    """While a clean-up runs: a stop signal is noted (requested() names it) instead of raising,
    so that the clean-up is not cut short, whether it runs after a stop, an error or the end."""
    global _shields
    _shields += 1
    try:
        yield
    finally:
        _shields -= 1


def requested() -> int | None:
    """The first stop signal this process received since install(), or None."""
    return _stopping[0] if _stopping else None


def install() -> bool:
    """Handle SIGINT, SIGTERM and SIGHUP in this process like Ctrl-C (main thread only).
    Returns False where it cannot (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    _stopping.clear()
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    return True


def signal_name(exc: BaseException | None = None) -> str:
    """SIGTERM, SIGHUP or SIGINT: what stopped this process (SIGINT for a plain Ctrl-C)."""
    if isinstance(exc, StopRequested):
        return signal.Signals(exc.signum).name
    return signal.Signals(_stopping[0]).name if _stopping else "SIGINT"


def exit_status(exc: BaseException | None = None) -> int:
    """The shell's status of a process ended by the signal: 128 + its number."""
    return 128 + int(getattr(signal, signal_name(exc)))


def end_tree(pid: int, grace: float = 5.0) -> list[int]:
    """Ends process `pid` and every process below it: SIGTERM to each (and to the process
    group `pid` leads, when it leads one), SIGKILL to what still runs after `grace` seconds.
    Returns the PIDs that had to be killed."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    return [p.pid for p in end_processes(procs, grace)]


def end_processes(procs, grace: float = 5.0) -> list:
    """SIGTERM to each of the psutil processes `procs` still running, SIGKILL to those that
    have not ended `grace` seconds later. Returns the processes that had to be killed."""
    import psutil

    alive = []
    for p in procs:
        try:
            p.terminate()
            alive.append(p)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(alive, timeout=grace)
    for p in alive:
        try:
            log.warning("killing %s (pid %d), which did not stop within %.0f s", p.name(), p.pid, grace)
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return alive
