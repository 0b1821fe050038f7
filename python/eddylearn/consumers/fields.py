"""Derived fields of a MAC-grid snapshot: vorticity, cell-centred values, energy spectrum.

Grid (see docs/consumers.md): periodic box [-L/2, L/2)^3; numpy index i of u is the +x face of
cell i (x = -L/2 + (i+1) dx), v the +y face, w the +z face, p the cell centre.

Vorticity is taken with the staggered differences the solver itself uses: each component lives
on a cell edge, e.g. omega_x = dw/dy - dv/dz at (x_c, y_f, z_f), forward differences of the
face velocities. On the periodic MAC grid nu * mean(|omega|^2) over the edges is the discrete
viscous dissipation (it equals the solver's eps_visc to round-off). For pictures and volume
output the edge components are averaged to the cell centres (four edges each).
"""
from __future__ import annotations

import numpy as np


def _d(a: np.ndarray, axis: int, h: float) -> np.ndarray:
    """Forward difference (a[i+1] - a[i]) / h, periodic."""
    return (np.roll(a, -1, axis=axis) - a) / h


def vorticity_edges(u, v, w, dx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(omega_x, omega_y, omega_z), each on its own cell edges (staggered differences)."""
    hx, hy, hz = dx
    ox = _d(w, 1, hy) - _d(v, 2, hz)
    oy = _d(u, 2, hz) - _d(w, 0, hx)
    oz = _d(v, 0, hx) - _d(u, 1, hy)
    return ox, oy, oz


def mean_vorticity_squared(u, v, w, dx) -> float:
    """mean(|omega|^2) over the edges; nu times this is the discrete viscous dissipation."""
    return float(sum(np.mean(o * o) for o in vorticity_edges(u, v, w, dx)))


def _avg(a: np.ndarray, axes) -> np.ndarray:
    """Average a with its neighbours at index -1 along each of `axes` (periodic)."""
    for ax in axes:
        a = 0.5 * (a + np.roll(a, 1, axis=ax))
    return a


def vorticity_centres(u, v, w, dx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vorticity components averaged from their edges to the cell centres."""
    ox, oy, oz = vorticity_edges(u, v, w, dx)
    return _avg(ox, (1, 2)), _avg(oy, (0, 2)), _avg(oz, (0, 1))


def vorticity_magnitude(u, v, w, dx) -> np.ndarray:
    """|omega| at the cell centres."""
    ox, oy, oz = vorticity_centres(u, v, w, dx)
    return np.sqrt(ox * ox + oy * oy + oz * oz)


def velocity_centres(u, v, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face velocities averaged to the cell centres (two faces each)."""
    return _avg(u, (0,)), _avg(v, (1,)), _avg(w, (2,))


def energy_spectrum(u, v, w, lengths) -> tuple[np.ndarray, np.ndarray]:
    """Shell-summed kinetic energy spectrum of the face velocities.

    Returns (k, E) with k = j * dk, dk = 2 pi / max(L), shells |k| in [k - dk/2, k + dk/2), and
    E normalised so that sum(E) * dk == 0.5 * mean(u^2 + v^2 + w^2) (Parseval; the half-cell
    shifts of the staggered components change phases only, not |u_hat|)."""
    shape = u.shape
    n = u.size
    ks = [2 * np.pi / L * np.fft.fftfreq(m, 1.0 / m) for m, L in zip(shape, lengths)]
    kx, ky, kz = np.meshgrid(*ks, indexing="ij", sparse=True)
    kmag = np.sqrt(kx * kx + ky * ky + kz * kz)
    dk = 2 * np.pi / max(lengths)
    e = np.zeros(shape)
    for a in (u, v, w):
        e += np.abs(np.fft.fftn(a)) ** 2
    e *= 0.5 / (n * n)
    shell = np.rint(kmag / dk).astype(np.int64)
    spec = np.bincount(shell.ravel(), weights=e.ravel()) / dk
    return np.arange(spec.size) * dk, spec
