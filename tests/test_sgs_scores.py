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


def _mode_fields(n, waves):
    """A velocity field of a few Fourier waves on an n^3 grid of spacing h: its exact box
    filtered gradient on the cells (differences of the cube's face averages) and the gradient
    the LES computes from the face averages on its MAC grid (solver/src/sgs_samples.f90, one
    cell), both (n^3, 9) with cells in Fortran order. waves: (k vector, amplitude vector)."""
    h = 2 * math.pi / n
    xc = (np.arange(n) + 0.5) * h
    z, y, x = np.meshgrid(xc, xc, xc, indexing="ij")
    centre = np.stack([x, y, z])
    exact = np.zeros((n, n, n, 3, 3))
    face = np.zeros((3, n, n, n))            # u_a on its a-face at + h/2 e_a of each cell
    for k, amp in waves:
        k = np.asarray(k, dtype=float)
        av = [np.sinc(k[c] * h / 2 / math.pi) for c in range(3)]   # face-average factors
        phase = np.tensordot(k, centre, axes=1)
        for a in range(3):
            f_a = np.prod([av[c] for c in range(3) if c != a])
            face[a] += amp[a] * f_a * np.sin(phase + k[a] * h / 2)
            for b in range(3):
                side = np.prod([av[c] for c in range(3) if c != b])
                exact[..., a, b] += amp[a] * side * 2 * np.sin(k[b] * h / 2) / h * np.cos(phase)
    les = np.zeros((n, n, n, 3, 3))
    ax = {0: 2, 1: 1, 2: 0}                  # x, y, z -> array axis
    for a in range(3):
        les[..., a, a] = (face[a] - np.roll(face[a], 1, ax[a])) / h
        cc = 0.5 * (face[a] + np.roll(face[a], 1, ax[a]))   # cell-centre value
        for b in range(3):
            if a != b:
                les[..., a, b] = (np.roll(cc, -1, ax[b]) - np.roll(cc, 1, ax[b])) / (2 * h)
    return exact.reshape(-1, 9), les.reshape(-1, 9)


def test_les_stencil_features_are_the_les_gradient_of_the_filtered_field():
    """From the exact filtered gradient of a field of resolved waves, les_stencil_features
    gives what the LES's own stencil computes on its grid (to round-off), for every sample
    time; the short waves' off-diagonal gradients shrink, the diagonal ones stay."""
    from eddylearn.validate import les_stencil_features
    n = 16
    exact, les = _mode_fields(n, [((1, 2, 0), (2.0, -1.0, 0.5)), ((3, -5, 7), (0.3, 0.1, -0.2)),
                                  ((0, 6, -2), (1.0, 0.0, 0.0))])
    assert np.abs(exact - les).max() > 0.1 * np.abs(exact).max()     # the stencils differ
    times = np.repeat([0.0, 1.5], n ** 3)
    got = les_stencil_features(np.concatenate([exact, 2 * exact]), times)
    np.testing.assert_allclose(got[: n ** 3], les, atol=1e-12 * np.abs(les).max())
    np.testing.assert_allclose(got[n ** 3:], 2 * les, atol=1e-12 * np.abs(les).max())
    diagonal = np.concatenate([exact, 2 * exact])[:, [0, 4, 8]]
    np.testing.assert_array_equal(got[:, [0, 4, 8]], diagonal)
    with pytest.raises(ValueError, match="not a cubic coarse field"):
        les_stencil_features(exact[:100], np.zeros(100))


def test_sgs_dissipation_loss_against_a_given_transfer():
    """With transfer given, the loss compares the drain through the features' strain with it:
    zero for stresses that drain exactly that, the scaled error otherwise."""
    import torch

    from eddylearn.validate import sgs_dissipation_loss
    rng = np.random.default_rng(1)
    f = rng.normal(size=(400, 9))
    lab = rng.normal(size=(400, 6))
    lm, ls = lab.mean(0), lab.std(0)
    target = 1.5 * sgs.sgs_dissipation(lab, f)
    loss = sgs_dissipation_loss(f, lab, lm, ls, transfer=target)
    batch = torch.arange(400)
    scaled = torch.tensor((1.5 * lab - lm) / ls, dtype=torch.float32)
    assert float(loss(scaled, batch)) < 1e-10
    exact = torch.tensor((lab - lm) / ls, dtype=torch.float32)
    expected = np.mean((target / 1.5 - target) ** 2) / np.var(target)
    assert float(loss(exact, batch)) == pytest.approx(expected, rel=1e-4)


def test_train_sgs_model_on_les_stencil_features(tmp_path):
    """The offline training learns from the LES-stencil gradients when asked, reports its
    drain against the true transfer, and names a bad feature form or missing times."""
    import torch

    from eddylearn.validate import les_stencil_features, train_sgs_model
    n = 8
    exact, _ = _mode_fields(n, [((1, 2, 0), (2.0, -1.0, 0.5)), ((2, -3, 1), (0.3, 0.1, -0.2))])
    f = np.concatenate([exact, 0.5 * exact])
    times = np.repeat([0.0, 1.0], n ** 3)
    lab = sgs.gradient_model(f, 0.3)
    res = train_sgs_model(tmp_path / "m.pt", f, lab, delta=0.3, steps=20, times=times,
                          feature_form="les")
    assert res["feature_form"] == "les" and res["samples"] == len(f)
    assert np.isfinite(res["drain_over_transfer"])
    model = torch.jit.load(str(tmp_path / "m.pt"))
    les = les_stencil_features(f, times)
    assert model(torch.tensor(les)).shape == (len(f), 6)
    with pytest.raises(ValueError, match="needs the samples' times"):
        train_sgs_model(tmp_path / "m2.pt", f, lab, delta=0.3, steps=2, feature_form="les")
    with pytest.raises(ValueError, match="unknown feature form 'spectral'"):
        train_sgs_model(tmp_path / "m2.pt", f, lab, delta=0.3, steps=2, times=times,
                        feature_form="spectral")
