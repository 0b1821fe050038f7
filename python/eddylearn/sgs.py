"""Subgrid-stress modelling: the learned MLP model, the Smagorinsky baseline, and the a-priori
scores used to compare them on held-out filtered DNS.

Conventions (shared with the solver's SGS samples): features are the 9 components of the
filtered velocity gradient g_ij = d(ubar_i)/dx_j in row-major order; labels are the 6 stresses
tau_11, tau_22, tau_33, tau_12, tau_13, tau_23.
"""
from __future__ import annotations

import numpy as np

PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
LABEL_NAMES = ("tau_11", "tau_22", "tau_33", "tau_12", "tau_13", "tau_23")


def _tensor(labels: np.ndarray) -> np.ndarray:
    t = np.zeros((len(labels), 3, 3))
    for q, (a, b) in enumerate(PAIRS):
        t[:, a, b] = labels[:, q]
        t[:, b, a] = labels[:, q]
    return t


def strain_rate(features: np.ndarray) -> np.ndarray:
    """Filtered strain-rate tensors S_ij (n, 3, 3) from the gradient features."""
    g = np.asarray(features, dtype=np.float64).reshape(-1, 3, 3)
    return 0.5 * (g + g.transpose(0, 2, 1))


def deviatoric(labels: np.ndarray) -> np.ndarray:
    """The deviatoric part of stresses given as 6 components (n, 6)."""
    t = _tensor(labels)
    t -= np.trace(t, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    return np.stack([t[:, a, b] for a, b in PAIRS], axis=1)


def smagorinsky(features: np.ndarray, delta: float, cs: float = 0.17) -> np.ndarray:
    """Smagorinsky stresses tau_ij = -2 (cs delta)^2 |S| S_ij (deviatoric), as (n, 6)."""
    s = strain_rate(features)
    smag = np.sqrt(2 * np.sum(s * s, axis=(1, 2)))
    tau = -2 * (cs * delta) ** 2 * smag[:, None, None] * s
    return np.stack([tau[:, a, b] for a, b in PAIRS], axis=1)


def sgs_dissipation(labels: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Energy transfer to the subgrid scales, Pi = -tau_ij S_ij, per sample."""
    return -np.sum(_tensor(labels) * strain_rate(features), axis=(1, 2))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def apriori_scores(predicted: np.ndarray, true: np.ndarray, features: np.ndarray) -> dict:
    """Correlation of predicted and true deviatoric stresses per component, and of the SGS
    dissipation, on the same samples."""
    pd, td = deviatoric(predicted), deviatoric(true)
    return {
        "tau_corr": {name: _corr(pd[:, q], td[:, q]) for q, name in enumerate(LABEL_NAMES)},
        "sgs_dissipation_corr": _corr(sgs_dissipation(predicted, features),
                                      sgs_dissipation(true, features)),
        "n_samples": int(len(true)),
    }


# ---- the solver's pointwise baseline models, for a-priori comparisons ----------------------
# The same formulas as solver/src/les/ (wale.f90, vreman.f90, gradient.f90), as functions of
# the gradient features. Dynamic Smagorinsky needs the resolved field around each sample (its
# test filter), so it has no pointwise a-priori form here.

def _six(t: np.ndarray) -> np.ndarray:
    return np.stack([t[:, a, b] for a, b in PAIRS], axis=1)


def wale(features: np.ndarray, delta: float, cw: float = 0.325) -> np.ndarray:
    """WALE stresses -2 nu_t S_ij, nu_t = (cw delta)^2 (Sd:Sd)^(3/2) / ((S:S)^(5/2) +
    (Sd:Sd)^(5/4)), as (n, 6)."""
    g = np.asarray(features, dtype=np.float64).reshape(-1, 3, 3)
    s = strain_rate(features)
    g2 = g @ g
    sd = 0.5 * (g2 + g2.transpose(0, 2, 1)) - np.trace(g2, axis1=1, axis2=2)[:, None, None] \
        * np.eye(3) / 3
    ss, sdsd = np.sum(s * s, axis=(1, 2)), np.sum(sd * sd, axis=(1, 2))
    den = ss ** 2.5 + sdsd ** 1.25
    nut = np.where(den > 0, (cw * delta) ** 2 * sdsd ** 1.5 / np.where(den > 0, den, 1), 0)
    return _six(-2 * nut[:, None, None] * s)


def vreman(features: np.ndarray, delta: float, c: float = 0.07) -> np.ndarray:
    """Vreman stresses -2 nu_t S_ij, nu_t = c sqrt(B_beta / (a_ij a_ij)), as (n, 6)."""
    g = np.asarray(features, dtype=np.float64).reshape(-1, 3, 3)
    b = delta ** 2 * g @ g.transpose(0, 2, 1)
    bb = (b[:, 0, 0] * b[:, 1, 1] - b[:, 0, 1] ** 2 + b[:, 0, 0] * b[:, 2, 2] - b[:, 0, 2] ** 2
          + b[:, 1, 1] * b[:, 2, 2] - b[:, 1, 2] ** 2)
    aa = np.sum(g * g, axis=(1, 2))
    ok = (aa > 0) & (bb > 0)
    nut = np.where(ok, c * np.sqrt(np.where(ok, bb, 0) / np.where(aa > 0, aa, 1)), 0)
    return _six(-2 * nut[:, None, None] * strain_rate(features))


def gradient_model(features: np.ndarray, delta: float, c: float = 1 / 12) -> np.ndarray:
    """Gradient (Clark) stresses c delta^2 G_ik G_jk, as (n, 6)."""
    g = np.asarray(features, dtype=np.float64).reshape(-1, 3, 3)
    return _six(c * delta ** 2 * g @ g.transpose(0, 2, 1))


def baseline_apriori(features: np.ndarray, labels: np.ndarray, delta: float,
                     cs: float = 0.17) -> dict:
    """apriori_scores of every pointwise baseline of the solver (named as in the namelist)."""
    return {name: apriori_scores(tau, labels, features) for name, tau in (
        ("smagorinsky", smagorinsky(features, delta, cs)), ("wale", wale(features, delta)),
        ("vreman", vreman(features, delta)), ("gradient", gradient_model(features, delta)))}
