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
