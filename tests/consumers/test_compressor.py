"""Compressor: streaming POD of the real solver snapshots read from the database."""
from __future__ import annotations

import json

import numpy as np
import pytest

from eddylearn.consumers import compressor

from _consumer_data import publish


def _matrix(snaps):
    return np.stack([np.concatenate([s.fields[f].ravel() for f in "uvw"]) for s in snaps], axis=1)


def test_incremental_pod_equals_the_batch_svd_at_full_rank(solver_snapshots):
    """Rank cap >= snapshots: singular values equal numpy's SVD of the snapshot matrix (1e-10
    rel), every stored reconstruction exact (1e-12), arrival errors 0 to round-off."""
    X = _matrix(solver_snapshots)
    pod = compressor.IncrementalPOD(rank=len(solver_snapshots))
    errs = [pod.update(X[:, j])[1] for j in range(X.shape[1])]
    assert max(errs) < 1e-12
    s_ref = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(pod.S, s_ref, rtol=1e-10)
    for j in range(X.shape[1]):
        assert np.linalg.norm(X[:, j] - pod.reconstruct(j)) < 1e-12 * np.linalg.norm(X[:, j])
    assert np.allclose(pod.U.T @ pod.U, np.eye(pod.S.size), atol=1e-12)
    assert pod.error_estimate() == 0.0


def test_incremental_pod_error_decreases_with_rank(solver_snapshots):
    """Exact Frobenius error of U S V^T decreases strictly with the rank cap 1..5, is at most
    2x the optimal (batch SVD) error, and the estimate is within 2x of the exact error."""
    X = _matrix(solver_snapshots)
    s_ref = np.linalg.svd(X, compute_uv=False)
    prev = np.inf
    for rank in range(1, X.shape[1]):
        pod = compressor.IncrementalPOD(rank)
        for j in range(X.shape[1]):
            pod.update(X[:, j])
        rec = np.stack([pod.reconstruct(j) for j in range(X.shape[1])], axis=1)
        err = np.linalg.norm(X - rec) / np.linalg.norm(X)
        best = np.sqrt(np.sum(s_ref[rank:] ** 2)) / np.linalg.norm(X)
        assert best * (1 - 1e-9) <= err <= 2 * best, rank
        assert err < prev, rank
        assert 0.5 * err <= pod.error_estimate() <= 2 * err, rank
        prev = err


def test_compressor_consumer_outputs(client, r, solver_snapshots, tmp_path):
    """Rank cap 3 on 6 snapshots from the database: JSON per snapshot, ratio, error, plot."""
    publish(client, solver_snapshots, nranks=2)
    summary = compressor.run(tmp_path, rank=3, exact_error=True, client=client, raw=r,
                             max_snapshots=6, poll_interval=0.05)
    assert summary["snapshots"] == 6 and summary["rank"] == 3
    out = json.loads((tmp_path / "compressor.json").read_text())
    per = out["per_snapshot"]
    assert [p["step"] for p in per] == [s.step for s in solver_snapshots]
    assert all(p["rel_error"] < 1e-12 for p in per[:3])     # in the span while n <= rank
    assert per[-1]["rel_error"] > 0
    m = 3 * 32 ** 3
    assert out["compression_ratio"] == pytest.approx(6 * m / (3 * m + 3 + 6 * 3))
    X = _matrix(solver_snapshots)
    modes = np.load(tmp_path / "pod_modes.npz")
    rec = modes["U"] @ (modes["S"][:, None] * modes["V"].T)
    err = np.linalg.norm(X - rec, axis=0) / np.linalg.norm(X, axis=0)
    np.testing.assert_allclose(out["rel_error_final"], err, rtol=1e-8, atol=1e-14)
    assert sum(out["energy_fraction"]) <= 1 + 1e-12
    assert out["energy_fraction"][0] > 0.9      # the decaying TGV is nearly one mode
    assert (tmp_path / "pod_energy.png").read_bytes()[:4] == b"\x89PNG"


def test_compressor_bad_rank(client, r, tmp_path):
    with pytest.raises(ValueError, match="rank"):
        compressor.Compressor(tmp_path, rank=0, client=client, raw=r)
    with pytest.raises(ValueError, match="rank"):
        compressor.IncrementalPOD(0)
