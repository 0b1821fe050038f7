"""Consumers as programs (python -m eddylearn.consumers.<name>): stop request, signals, a killed
consumer, retention, bad arguments."""
from __future__ import annotations

import json
import signal
import time

import numpy as np

from eddylearn import snapshots as sn

from _consumer_data import publish


def _wait_for(cond, timeout=60.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _progress(out) -> int:
    try:
        return json.loads((out / "progress.json").read_text())["snapshots"]
    except (OSError, ValueError):
        return -1


def _finish(p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except Exception:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"consumer did not exit within {timeout} s:\n{err[-3000:]}")
    return p.returncode, err


def test_stop_tensor_makes_the_analyser_exit_0(client, r, solver_snapshots, run_module, tmp_path):
    """Two steps, then two more while it runs, then the stop tensor: exit 0, all 4 analysed."""
    publish(client, solver_snapshots[:2], prefix="run1.")
    p = run_module("analyser", "--prefix", "run1.", "--out", tmp_path, "--tgv",
                   "--poll-interval", "0.1")
    spectra = tmp_path / "spectra"
    _wait_for(lambda: len(list(spectra.glob("*.npz"))) == 2 and _progress(tmp_path) == 2,
              what="2 spectra")
    publish(client, solver_snapshots[2:4], prefix="run1.")
    sn.request_stop(client, "run1.")
    rc, err = _finish(p)
    assert rc == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_reason"] == "stop request" and summary["snapshots"] == 4
    assert summary["misfit_eps_omega"] is not None
    assert (tmp_path / "dissipation.png").is_file()


def test_sigterm_and_sigint_stop_cleanly_with_outputs(client, r, solver_snapshots, run_module,
                                                      tmp_path):
    """SIGTERM to the compressor, SIGINT to the visualiser: both exit 0 and write their files."""
    publish(client, solver_snapshots[:3])
    comp = run_module("compressor", "--out", tmp_path / "c", "--rank", "2",
                      "--poll-interval", "0.1")
    vis = run_module("visualiser", "--out", tmp_path / "v", "--poll-interval", "0.1",
                     "--volume-every", "0")
    _wait_for(lambda: _progress(tmp_path / "v") == 3, what="3 slices")
    _wait_for(lambda: _progress(tmp_path / "c") == 3, what="3 compressed")
    comp.send_signal(signal.SIGTERM)
    vis.send_signal(signal.SIGINT)
    rc, err = _finish(comp)
    assert rc == 0, err
    out = json.loads((tmp_path / "c" / "compressor.json").read_text())
    assert out["snapshots"] == 3 and out["rank"] == 2
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["stop_reason"] == "signal SIGTERM"
    rc, err = _finish(vis)
    assert rc == 0, err
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["stop_reason"] == "signal SIGINT"
    assert (tmp_path / "v" / "vorticity.gif").is_file()


def test_a_killed_consumer_stops_nobody_else(client, r, solver_snapshots, run_module, tmp_path):
    """SIGKILL one analyser: the producer keeps appending, another analyser reads everything."""
    publish(client, solver_snapshots[:2])
    a = run_module("analyser", "--out", tmp_path / "a", "--poll-interval", "0.1")
    b = run_module("analyser", "--out", tmp_path / "b", "--poll-interval", "0.1")
    _wait_for(lambda: len(list((tmp_path / "a" / "spectra").glob("*.npz"))) == 2, what="a")
    a.kill()
    a.wait(timeout=30)
    publish(client, solver_snapshots[2:5])    # the producer is unaffected
    assert r.llen("snapshots") == 10
    sn.request_stop(client)
    rc, err = _finish(b)
    assert rc == 0, err
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["snapshots"] == 5


def test_retention_program_counts_what_it_removes(client, r, solver_snapshots, run_module,
                                                  tmp_path):
    """Keep 2 steps of 5 (2 ranks each): 6 entries removed and counted; the stop tensor ends it."""
    publish(client, solver_snapshots[:5], prefix="x.")
    p = run_module("retention", "--prefix", "x.", "--out", tmp_path, "--keep", "2",
                   "--interval", "0.1")
    _wait_for(lambda: r.llen("x.snapshots") == 4, what="trim")
    sn.request_stop(client, "x.")
    rc, err = _finish(p)
    assert rc == 0, err
    out = json.loads((tmp_path / "retention.json").read_text())
    assert out["removed"] == {"x.snapshots": 6, "x.sgs_samples": 0}
    assert out["removed_total"] == 6 and out["stop_reason"] == "stop request"
    left = [sn.step_of(sn.dataset_name(e)) for e in r.lrange("x.snapshots", 0, -1)]
    assert left == [solver_snapshots[3].step] * 2 + [solver_snapshots[4].step] * 2


def test_bad_arguments_give_a_clear_error(run_module, tmp_path, server):
    cases = [
        (["analyser"], 2, "--out"),
        (["compressor", "--out", tmp_path, "--rank", "0"], 2, "must be at least 1"),
        (["visualiser", "--out", tmp_path, "--slice-axis", "q"], 2, "invalid choice"),
        (["analyser", "--out", tmp_path, "--prefix", "a{b"], 2, "braces"),
        (["analyser", "--out", tmp_path, "--poll-interval", "-1"], 2, "must be positive"),
        (["analyser", "--out", tmp_path, "--reference", tmp_path / "nope.gdiag"], 2,
         "reference file not found"),
        (["retention", "--out", tmp_path, "--keep", "-3"], 2, "must be >= 0"),
    ]
    for args, code, text in cases:
        p = run_module(*args)
        rc, err = _finish(p)
        assert rc == code and text in err, (args, rc, err)
    p = run_module("analyser", "--out", tmp_path, env_extra={"SSDB": ""})
    rc, err = _finish(p)
    assert rc == 1 and "SSDB is not set" in err, err


def test_stop_flag_value_zero_does_not_stop(client, r, solver_snapshots, run_module, tmp_path):
    """control.stop = [0] is no stop request; [1] is."""
    client.put_tensor("control.stop", np.array([0], dtype=np.int32))
    publish(client, solver_snapshots[:1])
    p = run_module("compressor", "--out", tmp_path, "--poll-interval", "0.1", "--rank", "1")
    _wait_for(lambda: _progress(tmp_path) == 1, what="1 snapshot")
    time.sleep(0.5)
    assert p.poll() is None, p.communicate()
    sn.request_stop(client)
    rc, err = _finish(p)
    assert rc == 0, err
    assert json.loads((tmp_path / "summary.json").read_text())["snapshots"] == 1


def test_unset_sr_db_type_means_clustered_as_in_the_client(run_module, tmp_path, server):
    """SR_DB_TYPE unset means Clustered for the consumers as for SmartRedis and the C/Fortran
    client; against a single server the error says what to set (after SR_CONN_TIMEOUT seconds)."""
    p = run_module("analyser", "--out", tmp_path / "a", env_extra={"SR_DB_TYPE": None, "SR_CONN_TIMEOUT": "5"})
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1
    assert "SR_DB_TYPE is unset, which means Clustered" in err
    assert "set SR_DB_TYPE=Standalone" in err
    assert "Traceback" not in err
