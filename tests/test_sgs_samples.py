"""SGS training samples (box-filtered stresses and filtered gradients) against numpy."""
import math

import numpy as np
import pytest

from eddylearn.solver import Solver, SolverError

PAIRS = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]


def reference_samples(u, v, w, m, h):
    """numpy version of the same definition (periodic box, one rank): labels from the cube
    means of the centre velocities, features the cube means of the fine-grid gradients."""
    uc = [0.5 * (u + np.roll(u, 1, 0)), 0.5 * (v + np.roll(v, 1, 1)), 0.5 * (w + np.roll(w, 1, 2))]
    faces = [u, v, w]
    nx, ny, nz = u.shape

    def box(a):
        return a.reshape(nx // m, m, ny // m, m, nz // m, m, order="C").mean(axis=(1, 3, 5))

    ub = [box(c) for c in uc]
    labels = np.stack([(box(uc[a] * uc[b]) - ub[a] * ub[b]).ravel(order="F") for a, b in PAIRS],
                      axis=1)
    feats = []
    for a in range(3):
        for ax in range(3):
            if ax == a:
                g = (faces[a] - np.roll(faces[a], 1, ax)) / h
            else:
                g = (np.roll(uc[a], -1, ax) - np.roll(uc[a], 1, ax)) / (2 * h)
            feats.append(box(g).ravel(order="F"))
    return np.stack(feats, axis=1), labels


@pytest.mark.parametrize("m", [2, 4])
def test_samples_match_numpy(tmp_path, m):
    """Features and labels equal the numpy definition to 1e-12 on a random isotropic field."""
    cfg = {"domain": {"nx": 16, "ny": 16, "nz": 16},
           "physics": {"initial": "isotropic", "k_peak": 4.0, "seed": 5}}
    with Solver(cfg, workdir=tmp_path) as s:
        s.step(2)
        f, l = s.sgs_samples(m)
        u, v, w = s.field("u"), s.field("v"), s.field("w")
    fr, lr = reference_samples(u, v, w, m, 2 * math.pi / 16)
    assert f.shape == ((16 // m) ** 3, 9) and l.shape == ((16 // m) ** 3, 6)
    np.testing.assert_allclose(f, fr, atol=1e-12 * np.abs(fr).max())
    np.testing.assert_allclose(l, lr, atol=1e-12 * np.abs(lr).max())
    # normal stresses are variances over the filter cube: non-negative, and not all zero
    assert np.all(l[:, :3] >= -1e-14) and l[:, :3].max() > 1e-3
    # the filtered gradient of a solenoidal field is traceless (divergence theorem)
    assert np.abs(f[:, 0] + f[:, 4] + f[:, 8]).max() < 1e-12 * np.abs(f).max()


def test_width_must_divide_block(tmp_path):
    with Solver({"domain": {"nx": 12, "ny": 12, "nz": 12}}, workdir=tmp_path) as s:
        with pytest.raises(SolverError, match="filter width of 8 cells does not divide"):
            s.sgs_samples(8)
        with pytest.raises(SolverError, match="at least one cell"):
            s.sgs_samples(0)
