"""Retention: keep the last K steps of the snapshot and sample lists in the database, delete
the datasets of the older entries, and count what was removed (never silently).

Every --interval seconds, for each list in --lists (names after the prefix P), it applies
eddylearn.snapshots.apply_retention(..., unit="steps" or "entries"). The removal is atomic and
advances the list's trimmed counter, so the readers of the other consumers keep their place and
count what they missed. It stops on the stop tensor P + "control.stop" or SIGTERM/SIGINT, after a
last pass. Output: retention.json in --out (removed entries per list, passes).
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
from . import base

log = logging.getLogger(__name__)


class Retention:
    name = "retention"

    def __init__(self, out, prefix: str = "", *, keep: int = 8,
                 lists=("snapshots", "sgs_samples"), unit: str = "steps",
                 interval: float = 1.0, client=None, raw=None):
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval}")
        if unit not in ("steps", "entries"):
            raise ValueError(f"unit must be 'steps' or 'entries', got {unit!r}")
        lists = [x for x in lists if x]
        if not lists:
            raise ValueError("no list names given")
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"prefix {prefix!r} must not contain braces")
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.prefix, self.keep, self.unit, self.interval = prefix, keep, unit, interval
        self.lists = [prefix + x for x in lists]
        self.client = client if client is not None else snap_mod.make_client("eddylearn-retention")
        self.raw = raw if raw is not None else snap_mod.raw_connection()
        self.removed = {x: 0 for x in self.lists}
        self.passes = 0
        self._signal = None

    def once(self) -> int:
        """One retention pass over all lists; returns the entries removed."""
        total = 0
        for name in self.lists:
            # registered readers are waited for, up to a lag of 4 x keep
            n = snap_mod.apply_retention(self.client, name, self.keep, unit=self.unit,
                                         raw=self.raw, max_lag=4 * max(self.keep, 1))
            self.removed[name] += n
            total += n
        self.passes += 1
        return total

    def _write(self, reason: str) -> dict:
        summary = {"consumer": self.name, "keep": self.keep, "unit": self.unit,
                   "passes": self.passes, "removed": self.removed,
                   "removed_total": sum(self.removed.values()), "stop_reason": reason}
        (self.out / "retention.json").write_text(json.dumps(summary, indent=2))
        return summary

    def _on_signal(self, signum, _frame) -> None:
        self._signal = signum

    def run(self, max_passes: int | None = None) -> dict:
        old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                old[sig] = signal.signal(sig, self._on_signal)
        reason = "error"
        try:
            while True:
                if self._signal is not None:
                    reason = f"signal {signal.Signals(self._signal).name}"
                    break
                n = self.once()
                if n:
                    log.info("retention: removed %d entries (total %s)", n, self.removed)
                if snap_mod.stop_requested(self.client, self.prefix):
                    reason = "stop request"
                    break
                if max_passes is not None and self.passes >= max_passes:
                    reason = "max passes"
                    break
                end = time.monotonic() + self.interval
                while self._signal is None and time.monotonic() < end:
                    time.sleep(0.05)
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
            summary = self._write(reason)
        return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eddylearn.consumers.retention",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--prefix", default="", help="key prefix P of the run (default: none)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--keep", type=base.non_negative_int, default=8, metavar="K",
                   help="steps (or entries) to keep per list (default: %(default)s)")
    p.add_argument("--unit", choices=("steps", "entries"), default="steps",
                   help="what K counts (default: %(default)s)")
    p.add_argument("--lists", default="snapshots,sgs_samples",
                   help="comma-separated list names after the prefix (default: %(default)s)")
    p.add_argument("--interval", type=base.positive_float, default=1.0, metavar="S",
                   help="seconds between passes (default: %(default)s)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = p.parse_args(argv)
    if "{" in args.prefix or "}" in args.prefix:
        p.error(f"--prefix must not contain braces: {args.prefix!r}")
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s retention %(levelname)s %(message)s")
    try:
        r = Retention(args.out, args.prefix, keep=args.keep, unit=args.unit,
                      lists=args.lists.split(","), interval=args.interval)
    except ValueError as exc:
        print(f"retention: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"retention: error: could not connect to the database: {exc}", file=sys.stderr)
        return 1
    try:
        r.run()
    except Exception as exc:
        log.exception("retention failed")
        print(f"retention: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
