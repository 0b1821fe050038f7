"""A-priori SGS scores and the Smagorinsky baseline on samples from the solver."""
import math

import numpy as np
import pytest

from eddylearn import sgs
from eddylearn.solver import Solver


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Filtered TGV at t = 8, near peak dissipation (a developed cascade)."""
    cfg = {"domain": {"nx": 32, "ny": 32, "nz": 32}, "time": {"t_end": 20.0}}
    with Solver(cfg, workdir=tmp_path_factory.mktemp("sgs")) as s:
        s.advance(8.0)
        return s.sgs_samples(2)


def test_smagorinsky_formula():
    """Pure shear du/dy = g: |S| = g, tau_12 = -(cs delta)^2 g^2, others zero."""
    f = np.zeros((1, 9)); f[0, 1] = 2.0
    tau = sgs.smagorinsky(f, delta=0.5, cs=0.2)
    assert tau[0, 3] == pytest.approx(-(0.2 * 0.5) ** 2 * 2.0 * 2.0)
    assert np.all(tau[0, [0, 1, 2, 4, 5]] == 0)


def test_deviatoric_is_traceless(samples):
    _, labels = samples
    dev = sgs.deviatoric(labels)
    assert np.abs(dev[:, :3].sum(axis=1)).max() < 1e-14
    np.testing.assert_allclose(dev[:, 3:], labels[:, 3:])


def test_scores(samples):
    """A perfect prediction scores 1; Smagorinsky correlates weakly but positively with the
    true SGS dissipation; a shuffled prediction scores about 0."""
    features, labels = samples
    perfect = sgs.apriori_scores(labels, labels, features)
    assert all(c == pytest.approx(1.0) for c in perfect["tau_corr"].values())
    assert perfect["sgs_dissipation_corr"] == pytest.approx(1.0)
    smag = sgs.apriori_scores(sgs.smagorinsky(features, 2 * 2 * math.pi / 32), labels, features)
    assert 0.1 < smag["sgs_dissipation_corr"] < 0.9
    shuffled = labels[np.random.default_rng(0).permutation(len(labels))]
    rnd = sgs.apriori_scores(shuffled, labels, features)
    assert abs(rnd["sgs_dissipation_corr"]) < 0.15


def test_sgs_dissipation_loss_vanishes_for_the_true_stress():
    """The training loss term of the SGS dissipation: zero for the labels themselves, and for
    a prediction of the mean stress the mean squared error of its Pi over the variance of Pi."""
    import torch

    from eddylearn.validate import sgs_dissipation_loss
    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 9))
    lab = rng.normal(size=(500, 6))
    lm, ls = lab.mean(0), lab.std(0)
    loss = sgs_dissipation_loss(f, lab, lm, ls)
    batch = torch.arange(500)
    exact = torch.tensor((lab - lm) / ls, dtype=torch.float32)
    assert float(loss(exact, batch)) < 1e-10
    pi = sgs.sgs_dissipation(lab, f)
    mean_pred = torch.zeros((500, 6))
    expected = np.mean((sgs.sgs_dissipation(np.tile(lm, (500, 1)), f) - pi) ** 2) / np.var(pi)
    assert float(loss(mean_pred, batch)) == pytest.approx(expected, rel=1e-4)
