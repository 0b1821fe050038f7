"""The experiment's live progress: one row per component (state and progress) from the
database and the components' files, as a table on a terminal or as plain lines in a log."""
from __future__ import annotations

import json
import time
from pathlib import Path


# when a component was first seen "Completed" without an exit status, by (experiment, name)
_UNSETTLED: dict[tuple[int, str], float] = {}
SETTLE_S = 10.0


def _status(exp, entity):
    """SmartSim's status of entity, read so that an ended component's status is final.

    A local process that has exited but is not yet reaped (psutil's "zombie") reads "Completed"
    in SmartSim until its launcher's next poll records its exit status, also when that status is
    a failure: a solver killed by a signal would read as completed for up to a second. Such a
    status reads "Running" here until the exit status is known; a launcher that never gives one
    is believed after SETTLE_S seconds."""
    from smartsim.status import SmartSimStatus as S
    status = exp.get_status(entity)[0]
    if status is not S.STATUS_COMPLETED:
        return status
    try:
        returncode = exp._control._jobs[entity.name].returncode
    except (AttributeError, KeyError):
        return status
    if returncode is not None:
        _UNSETTLED.pop((id(exp), entity.name), None)
        return status
    first = _UNSETTLED.setdefault((id(exp), entity.name), time.monotonic())
    if time.monotonic() - first >= SETTLE_S:
        return status
    return S.STATUS_RUNNING


def _consumer_progress(out: Path, name: str) -> str:
    """A snapshot consumer's progress from its OUT/NAME/progress.json (written as it goes)."""
    try:
        pr = json.loads((out / name / "progress.json").read_text())
    except (OSError, ValueError):
        return "waiting for snapshots"
    return (f"snapshots {pr.get('snapshots', 0)}  step {pr.get('step', 0)}  "
            f"t = {float(pr.get('time', 0.0)):.3f}  missed {pr.get('reader', {}).get('missed', 0)}")


def progress_rows(monitor, entities: dict, exp) -> list[tuple[str, str, str]]:
    """(component, state, progress) of every component now."""
    rows = []
    st = monitor.solver_state()
    rows.append(("solver", _status(exp, entities["solver"]).value,
                 f"step {st.get('step', 0)}  t = {st.get('time', 0.0):.3f}  "
                 f"E = {st.get('energy', 0.0):.5f}  staged {st.get('staged', 0)}"))
    rows.append(("database", "Running",
                 f"snapshots {monitor.list_length('snapshots')}  samples "
                 f"{monitor.list_length('sgs_samples')}  memory {monitor.memory_mib():.0f} MiB"
                 f"  removed {sum(monitor.retention_removed.values())}"))
    for key, ent in entities.items():
        if key.startswith("trainer:"):
            tr = monitor.trainer_state(key.split(":", 1)[1])
            text = (f"step {tr['step']}  loss {tr['train_loss']:.3e} / val {tr['val_loss']:.3e}"
                    f"  samples {tr['samples']}  model v{tr['version']}" if tr else "waiting")
            rows.append((key.replace(":", " "), _status(exp, ent).value, text))
        elif key == "les":
            st = monitor.solver_state("les")
            text = (f"step {st['step']}  t = {st['time']:.3f}  E = {st['energy']:.5f}  "
                    f"stored model v{monitor.model_version()}" if st else
                    f"waits for model version {monitor.cfg.les.wait_for_version}")
            rows.append(("les", _status(exp, ent).value, text))
        elif key != "solver":
            rows.append((key, _status(exp, ent).value, _consumer_progress(monitor.out, key)))
    return rows


def _progress_table(rows, elapsed: float):
    from rich.table import Table
    table = Table(title=f"eddylearn experiment — {elapsed:6.1f} s", expand=False)
    for col in ("component", "state", "progress"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    return table


def progress_lines(rows, elapsed: float) -> list[str]:
    """One plain line per component (time, component, state, progress) for logs: no table,
    no colour, no wrapping."""
    stamp = time.strftime("%H:%M:%S")
    return [f"{stamp} {elapsed:7.1f}s {name:<16s} {state:<10s} {text}" for name, state, text in rows]
