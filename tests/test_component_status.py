"""A component's status as the driver reads it: a process that has died but is not yet reaped
reads "Completed" in SmartSim until its launcher's next poll records its exit status. The
driver must not take that for a normal end (a solver killed by a signal would be reported as a
completed run)."""
import sys
import time

import psutil
from smartsim import Experiment
from smartsim.status import SmartSimStatus as S

from eddylearn.progress import _status

DIES = "import os, signal, time; time.sleep(0.3); os.kill(os.getpid(), signal.SIGKILL)"


def _wait(cond, timeout=30.0):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout
        time.sleep(0.001)


def test_a_killed_process_not_yet_reaped_does_not_read_completed(tmp_path):
    exp = Experiment("status", exp_path=str(tmp_path), launcher="local")
    rs = exp.create_run_settings(sys.executable, exe_args=["-c", DIES])
    jobs = exp._control._jobs
    caught = 0
    for i in range(6):
        model = exp.create_model(f"dies{i}", rs, path=str(tmp_path / f"dies{i}"))
        exp.start(model, block=False)
        proc = psutil.Process(int(jobs[model.name].jid))
        _wait(lambda: proc.status() == psutil.STATUS_ZOMBIE)
        jobs.check_jobs()           # SmartSim's job manager polls now, before the reaping
        if jobs[model.name].returncode is None:     # the task manager has not reaped it yet
            caught += 1
            assert exp.get_status(model)[0] is S.STATUS_COMPLETED       # SmartSim's reading
            assert _status(exp, model) is S.STATUS_RUNNING              # the driver's
        _wait(lambda: _status(exp, model) not in (S.STATUS_NEW, S.STATUS_RUNNING))
        assert _status(exp, model) is S.STATUS_FAILED
        assert jobs[model.name].returncode not in (None, 0)
        if caught >= 2:
            break
    assert caught >= 1, "every process was reaped before the job manager's poll"


def test_a_process_that_ends_normally_reads_completed(tmp_path):
    exp = Experiment("status", exp_path=str(tmp_path), launcher="local")
    model = exp.create_model("ends", exp.create_run_settings(sys.executable,
                                                             exe_args=["-c", "pass"]),
                             path=str(tmp_path / "ends"))
    exp.start(model, block=False)
    _wait(lambda: _status(exp, model) not in (S.STATUS_NEW, S.STATUS_RUNNING))
    assert _status(exp, model) is S.STATUS_COMPLETED
    assert exp._control._jobs[model.name].returncode == 0
