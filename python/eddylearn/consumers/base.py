"""The loop every snapshot consumer runs: poll the list, process complete steps, stop cleanly.

A consumer stops, always after writing its outputs, when
- the driver sets the tensor P + "control.stop" (the snapshots already listed are read first),
- it receives SIGTERM, SIGINT or SIGHUP (it finishes the snapshot in hand, then writes what it has),
- it has processed --max-snapshots snapshots, or no new entry came for --idle-timeout seconds.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from .. import snapshots as snap_mod

log = logging.getLogger(__name__)


class Consumer:
    """Subclasses set `name` and implement process(snapshot) and finish() -> summary dict."""

    name = "consumer"

    def __init__(self, out: str | Path, prefix: str = "", *,
                 list_name: str = snap_mod.SNAPSHOT_LIST, poll_interval: float = 0.5,
                 max_snapshots: int | None = None,
                 idle_timeout: float | None = None, client=None, raw=None):
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        if max_snapshots is not None and max_snapshots < 1:
            raise ValueError(f"max_snapshots must be at least 1, got {max_snapshots}")
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout}")
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"prefix {prefix!r} must not contain braces")
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.list_name = list_name
        self.poll_interval = poll_interval
        self.max_snapshots = max_snapshots
        self.idle_timeout = idle_timeout
        if client is None:
            client = snap_mod.make_client(f"eddylearn-{self.name}")
        self.client = client
        self.raw = raw
        self.processed = 0
        self.skipped = 0
        self.stop_reason: str | None = None
        self._signal: int | None = None

    # subclasses -------------------------------------------------------------------------
    def process(self, snapshot: snap_mod.Snapshot) -> None:
        raise NotImplementedError

    def finish(self) -> dict:
        return {}

    # loop -------------------------------------------------------------------------------
    def _on_signal(self, signum, _frame) -> None:
        log.info("%s: received %s, stopping after the current snapshot", self.name,
                 signal.Signals(signum).name)
        self._signal = signum

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self._signal is None and time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def _consume(self, reader: snap_mod.SnapshotReader) -> int:
        """Process the steps completed by one poll; returns how many were processed."""
        got = 0
        for s in reader.poll():
            if self._signal is not None or (self.max_snapshots is not None
                                            and self.processed >= self.max_snapshots):
                self.skipped += 1   # read but not processed: we are stopping
                continue
            self.process(s)
            self.processed += 1
            got += 1
            self._progress(s, reader)
            log.info("%s: step %d (t = %.4g) done, %d so far", self.name, s.step, s.time,
                     self.processed)
        return got

    def _limit_reached(self) -> bool:
        return self.max_snapshots is not None and self.processed >= self.max_snapshots

    def _progress(self, s: snap_mod.Snapshot, reader: snap_mod.SnapshotReader) -> None:
        """progress.json: snapshots done, the last step and time, the reader's counts (replaced
        atomically, so a driver or test can watch it)."""
        tmp = self.out / ".progress.json.tmp"
        tmp.write_text(json.dumps({"consumer": self.name, "snapshots": self.processed,
                                   "step": s.step, "time": s.time,
                                   "reader": reader.stats.as_dict()}))
        tmp.replace(self.out / "progress.json")

    def run(self) -> dict:
        """Consume snapshots until told to stop; write the outputs; return the summary."""
        reader = snap_mod.SnapshotReader(self.client, self.prefix, self.list_name, raw=self.raw,
                                         reader=self.name)
        old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                old[sig] = signal.signal(sig, self._on_signal)
        log.info("%s: reading list %r, writing to %s", self.name, reader.key, self.out)
        last_new = time.monotonic()
        try:
            while True:
                if self._signal is not None:
                    self.stop_reason = f"signal {signal.Signals(self._signal).name}"
                    break
                if snap_mod.stop_requested(self.client, self.prefix):
                    # first what was listed before the stop request
                    while (self._signal is None and not self._limit_reached()
                           and self._consume(reader)):
                        pass
                    self.stop_reason = "stop request"
                    break
                got = self._consume(reader)
                if self._limit_reached():
                    self.stop_reason = "max snapshots"
                    break
                if got:
                    last_new = time.monotonic()
                elif (self.idle_timeout is not None
                      and time.monotonic() - last_new > self.idle_timeout):
                    self.stop_reason = "idle timeout"
                    break
                else:
                    self._sleep(self.poll_interval)
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            stats = reader.finish()
            summary = {"consumer": self.name, "snapshots": self.processed,
                       "skipped_at_stop": self.skipped,
                       "stop_reason": self.stop_reason or "error", "reader": stats.as_dict()}
            summary.update(self.finish())
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
            log.info("%s: stopped (%s) after %d snapshots; missed %d entries, %d incomplete steps",
                     self.name, summary["stop_reason"], self.processed, stats.missed,
                     stats.incomplete)
        return summary


# ------------------------------------------------------------------------------- CLI helpers

def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return v


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


positive_float = _positive_float
positive_int = _positive_int
non_negative_int = _non_negative_int


def parser(name: str, description: str) -> argparse.ArgumentParser:
    """The options every consumer takes; the database comes from SSDB / SR_DB_TYPE."""
    p = argparse.ArgumentParser(
        prog=f"python -m eddylearn.consumers.{name}", description=description,
        epilog="The database address is read from the environment like any SmartRedis client "
               "(SSDB, SR_DB_TYPE; unset SR_DB_TYPE means Clustered, as in SmartRedis and the "
               "C/Fortran client).")
    p.add_argument("--prefix", default="", help="key prefix P of the run (default: none)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--list", dest="list_name", default=snap_mod.SNAPSHOT_LIST,
                   help="aggregation list to read (default: %(default)s)")
    p.add_argument("--poll-interval", type=_positive_float, default=0.5, metavar="S",
                   help="seconds between polls when nothing is new (default: %(default)s)")
    p.add_argument("--max-snapshots", type=_positive_int, default=None, metavar="N",
                   help="stop after N snapshots")
    p.add_argument("--idle-timeout", type=_positive_float, default=None, metavar="S",
                   help="stop when no new snapshot came for S seconds (default: wait)")
    p.add_argument("--log-level", default="INFO",
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: %(default)s")
    return p


def common_kwargs(args: argparse.Namespace) -> dict:
    return {"prefix": args.prefix, "list_name": args.list_name,
            "poll_interval": args.poll_interval, "max_snapshots": args.max_snapshots,
            "idle_timeout": args.idle_timeout}


def main_wrapper(build, argv=None, *, name: str, description: str, add_options=None) -> int:
    """Parse the options, build the consumer with build(args) and run it; exit status."""
    p = parser(name, description)
    if add_options is not None:
        add_options(p)
    args = p.parse_args(argv)
    if "{" in args.prefix or "}" in args.prefix:
        p.error(f"--prefix must not contain braces: {args.prefix!r}")
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(message)s")
    try:
        consumer = build(args)
    except (ValueError, ConnectionError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    except ImportError as exc:
        print(f"{name}: error: a required package is missing: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # SmartRedis connection errors and the like
        print(f"{name}: error: could not connect to the database: {exc}", file=sys.stderr)
        return 1
    try:
        consumer.run()
    except Exception as exc:
        log.exception("%s failed", name)
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    return 0
