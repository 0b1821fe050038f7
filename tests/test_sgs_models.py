"""The SGS models of the solver (dynamic Smagorinsky, WALE, Vreman, gradient, beside
Smagorinsky): their stress on fields where it is known in closed form or computed here in numpy
from the same discrete gradient, run in the real solver (in-process, and the executable on 1
and 2 MPI ranks)."""
import math

import numpy as np
import pytest

from eddylearn import sgs as sgs_scores
from eddylearn._sgs_models import MODEL_NAMES
from eddylearn.solver import Solver, SolverError

N = 16
H = 2 * math.pi / N
XC = -math.pi + (np.arange(N) + 0.5) * H        # cell centres
XF = XC + H / 2                                  # +x / +y / +z faces
PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
W6 = np.array([1, 1, 1, 2, 2, 2.0])
BASELINES = [m for m in MODEL_NAMES if m != "learned"]


def solver_stress(model, fields, **sgs):
    """The solver's stress (N^3, 6) and SGS dissipation of `fields` (u, v, w on the faces)."""
    cfg = {"domain": {"nx": N, "ny": N, "nz": N}, "time": {"t_end": 1.0},
           "sgs": {"model": model, **sgs}}
    with Solver(cfg) as s:
        for name, a in zip("uvw", fields):
            s.set_field(name, a)
        return s.sgs_stress()


def centre_gradient(u, v, w):
    """G_ij = du_i/dx_j at the cell centres as the solver computes it (face differences on the
    diagonal, central differences of centre velocities off it), (N^3, 3, 3) x fastest."""
    uc = [0.5 * (a + np.roll(a, 1, axis=q)) for q, a in enumerate((u, v, w))]
    face = (u, v, w)
    g = np.zeros((N, N, N, 3, 3))
    for i in range(3):
        for j in range(3):
            if i == j:
                g[..., i, j] = (face[i] - np.roll(face[i], 1, axis=i)) / H
            else:
                g[..., i, j] = (np.roll(uc[i], -1, axis=j) - np.roll(uc[i], 1, axis=j)) / (2 * H)
    return g.reshape(-1, 3, 3, order="F"), [c.reshape(-1, order="F") for c in uc]


def six(t):
    return np.stack([t[:, a, b] for a, b in PAIRS], axis=1)


def strain(g):
    return 0.5 * (g + g.transpose(0, 2, 1))


def smag_norm(s):
    return np.sqrt(2 * np.sum(s * s, axis=(1, 2)))


def clipped(tau6, g):
    """The solver's backscatter clipping: no stress where -tau_ij S_ij < 0."""
    e = -np.sum(W6 * tau6 * six(strain(g)), axis=1)
    out = tau6.copy()
    out[e < 0] = 0
    return out, float(np.sum(np.maximum(e, 0)))


def random_field(seed=3):
    """A smooth random velocity (a few Fourier modes per component), not solenoidal: the
    stress maps only need gradients."""
    rng = np.random.default_rng(seed)
    x, y, z = np.meshgrid(XC, XC, XC, indexing="ij")
    out = []
    for comp in range(3):
        f = np.zeros((N, N, N))
        for _ in range(6):
            k = rng.integers(1, 4, size=3)
            ph = rng.uniform(0, 2 * math.pi, size=3)
            f += rng.normal() * np.sin(k[0] * x + ph[0]) * np.cos(k[1] * y + ph[1]) \
                * np.cos(k[2] * z + ph[2])
        out.append(f)
    return out


def turbulent_field():
    """The solver's random-phase isotropic field (k_peak 3) after 10 steps without a model."""
    cfg = {"domain": {"nx": N, "ny": N, "nz": N}, "time": {"t_end": 10.0},
           "physics": {"initial": "isotropic", "k_peak": 3.0, "nu": 1e-3}}
    with Solver(cfg) as s:
        s.step(10)
        return [s.field(c) for c in "uvw"]


def shear_field(a=1.0, b=0.5):
    """u = a sin y, w = b cos 2y: the velocity varies in one direction only (rank-one
    gradient, G_12 and G_32 alone), a 2D-like shear flow."""
    u = np.broadcast_to(a * np.sin(XC)[None, :, None], (N, N, N)).copy()
    w = np.broadcast_to(b * np.cos(2 * XC)[None, :, None], (N, N, N)).copy()
    return u, np.zeros((N, N, N)), w


def test_python_list_is_the_solver_list():
    """The Python package's model names are the solver's (namelist check and factory): an
    unknown name is refused with exactly that list; every listed name gets past the factory."""
    with pytest.raises(SolverError) as e:
        Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}, "sgs": {"model": "magic"}})
    listed = str(e.value).split("(known: ", 1)[1].rstrip(")").split(", ")
    assert tuple(listed) == MODEL_NAMES
    for name in MODEL_NAMES:
        try:
            with Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}, "sgs": {"model": name}}) as s:
                assert s.sgs_stress()[0].shape == (512, 6)
        except SolverError as exc:     # the learned model needs a database, not another name
            assert name == "learned" and "unknown SGS model" not in str(exc), exc


def test_shear_flow_closed_forms():
    """u = sin y, w = cos(2y)/2: the discrete gradient is G_12 = cos y sin(h)/h and
    G_32 = -sin(2y) sin(2h)/(2h), nothing else. Smagorinsky gives -2 (cs D)^2 |S| S; WALE gives
    exactly zero (G G = 0) and Vreman zero to round-off (a rank-one gradient: B = 0); the
    gradient model gives D^2/12 G G^T (tau_11, tau_33, tau_13 only) and no dissipation."""
    u, v, w = shear_field()
    y = np.broadcast_to(XC[None, :, None], (N, N, N)).reshape(-1, order="F")
    g12 = np.cos(y) * math.sin(H) / H
    g32 = -np.sin(2 * y) * math.sin(2 * H) / H / 2
    c2 = (0.17 * H) ** 2
    smag = np.sqrt(g12 ** 2 + g32 ** 2)            # sqrt(2 S:S) with S_12 = G_12/2, S_23 = G_32/2
    tau, eps = solver_stress("smagorinsky", (u, v, w), cs=0.17)
    assert np.allclose(tau[:, 3], -c2 * smag * g12, rtol=0, atol=1e-14)
    assert np.allclose(tau[:, 5], -c2 * smag * g32, rtol=0, atol=1e-14)
    assert np.all(tau[:, [0, 1, 2, 4]] == 0)
    assert eps == pytest.approx(np.sum(c2 * smag ** 3), rel=1e-12)
    smag_max, smag_eps = np.abs(tau).max(), eps
    tau, eps = solver_stress("wale", (u, v, w))
    assert np.all(tau == 0) and eps == 0
    tau, eps = solver_stress("vreman", (u, v, w))
    assert np.abs(tau).max() < 1e-6 * smag_max and eps < 1e-6 * smag_eps
    tau, eps = solver_stress("gradient", (u, v, w), clip_backscatter=False)
    cg = H ** 2 / 12
    assert np.allclose(tau[:, 0], cg * g12 ** 2, rtol=0, atol=1e-14)
    assert np.allclose(tau[:, 2], cg * g32 ** 2, rtol=0, atol=1e-14)
    assert np.allclose(tau[:, 4], cg * g12 * g32, rtol=0, atol=1e-14)
    assert np.all(tau[:, [1, 3, 5]] == 0)
    assert abs(eps) < 1e-12       # g g^T has no component along this strain


def test_wale_vanishes_in_solid_rotation_and_not_in_strain():
    """WALE's stress is zero where the gradient is a pure rotation (S = 0) and where it is a
    pure shear (G G = 0), and positive-dissipating in a pure strain: the Taylor-Green cell
    u = sin x cos y, v = -cos x sin y has pure rotation at its centre and pure strain at its
    stagnation points."""
    x0 = -H / 2        # vortex centres and stagnation points on cell centres
    x, y = np.meshgrid(XF - x0, XC - x0, indexing="ij")
    u = np.broadcast_to((np.sin(x) * np.cos(y))[:, :, None], (N, N, N)).copy()
    x2, y2 = np.meshgrid(XC - x0, XF - x0, indexing="ij")
    v = np.broadcast_to((-np.cos(x2) * np.sin(y2))[:, :, None], (N, N, N)).copy()
    w = np.zeros((N, N, N))
    tau, eps = solver_stress("wale", (u, v, w), clip_backscatter=False)
    g, _ = centre_gradient(u, v, w)
    s = strain(g)
    ss = np.sum(s * s, axis=(1, 2))
    rot = ss < 1e-24                     # the lines through the vortex centres: G antisymmetric
    strained = (np.sum((g - g.transpose(0, 2, 1)) ** 2, axis=(1, 2)) < 1e-24) & (ss > 0.1)
    assert rot.sum() > 0 and strained.sum() > 0
    assert np.abs(tau[rot]).max() < 1e-14 * np.abs(tau).max()
    assert np.all(np.abs(tau[strained][:, 0]) > 0.1 * np.abs(tau).max())
    assert eps > 0 and np.all(-np.sum(W6 * tau * six(s), axis=1) >= -1e-15)
    # WALE against numpy on this field
    g2 = g @ g
    sd = strain(g2) - np.trace(g2, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    ss, sdsd = np.sum(s * s, axis=(1, 2)), np.sum(sd * sd, axis=(1, 2))
    nut = (0.325 * H) ** 2 * sdsd ** 1.5 / (ss ** 2.5 + sdsd ** 1.25)
    assert np.allclose(tau, six(-2 * nut[:, None, None] * s), rtol=1e-10, atol=1e-16)


@pytest.mark.parametrize("model", ["smagorinsky", "wale", "vreman", "gradient"])
def test_pointwise_models_against_numpy(model):
    """On a random smooth field each pointwise model's stress, after backscatter clipping, and
    its SGS dissipation equal the formula evaluated in numpy on the same discrete gradient."""
    u, v, w = random_field()
    tau, eps = solver_stress(model, (u, v, w))
    g, _ = centre_gradient(u, v, w)
    s = strain(g)
    if model == "smagorinsky":
        ref = -2 * (0.17 * H) ** 2 * smag_norm(s)[:, None, None] * s
    elif model == "wale":
        g2 = g @ g
        sd = strain(g2) - np.trace(g2, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
        ss, sdsd = np.sum(s * s, axis=(1, 2)), np.sum(sd * sd, axis=(1, 2))
        ref = -2 * ((0.325 * H) ** 2 * sdsd ** 1.5 / (ss ** 2.5 + sdsd ** 1.25))[:, None, None] * s
    elif model == "vreman":
        beta = H ** 2 * g @ g.transpose(0, 2, 1)
        bb = (beta[:, 0, 0] * beta[:, 1, 1] - beta[:, 0, 1] ** 2 + beta[:, 0, 0] * beta[:, 2, 2]
              - beta[:, 0, 2] ** 2 + beta[:, 1, 1] * beta[:, 2, 2] - beta[:, 1, 2] ** 2)
        nut = 0.07 * np.sqrt(np.maximum(bb, 0) / np.sum(g * g, axis=(1, 2)))
        ref = -2 * nut[:, None, None] * s
    else:
        ref = H ** 2 / 12 * g @ g.transpose(0, 2, 1)
    ref6, eps_ref = clipped(six(ref), g)
    scale = np.abs(ref6).max()
    assert scale > 0
    assert np.abs(tau - ref6).max() <= 1e-10 * scale
    assert eps == pytest.approx(eps_ref, rel=1e-10)
    if model == "gradient":      # not purely dissipative: clipping removed some cells
        assert 0 < np.sum(np.all(ref6 == 0, axis=1)) < len(ref6)


def box3(a):
    """The test filter: (1/4, 1/2, 1/4) in each direction, periodic."""
    out = a
    for ax in range(3):
        out = 0.25 * (np.roll(out, 1, axis=ax) + np.roll(out, -1, axis=ax)) + 0.5 * out
    return out


def germano_coefficient(u, v, w, average):
    """Lilly's least-squares coefficient C of the Germano identity in numpy: (N^3,)."""
    g, uc = centre_gradient(u, v, w)
    s = strain(g)
    smag = smag_norm(s)
    cube = lambda a: a.reshape(N, N, N, order="F")            # noqa: E731
    flat = lambda a: a.reshape(-1, order="F")                 # noqa: E731
    hat = lambda a: flat(box3(cube(a)))                # noqa: E731
    uh = [hat(c) for c in uc]
    gh = np.stack([np.stack([hat(g[:, i, j]) for j in range(3)], axis=1) for i in range(3)],
                  axis=1)
    sh = strain(gh)
    shmag = smag_norm(sh)
    lm = np.zeros(N ** 3)
    mm = np.zeros(N ** 3)
    for q, (a, b) in enumerate(PAIRS):
        lij = hat(uc[a] * uc[b]) - uh[a] * uh[b]
        mij = 2 * H ** 2 * (hat(smag * s[:, a, b]) - 4 * shmag * sh[:, a, b])
        lm += W6[q] * lij * mij
        mm += W6[q] * mij * mij
    if average == "box":
        return np.full(N ** 3, max(lm.sum() / mm.sum(), 0.0))
    return np.clip(hat(lm) / hat(mm), 0, 0.25)


@pytest.mark.parametrize("average", ["box", "local"])
def test_dynamic_smagorinsky_against_numpy_germano(average):
    """The dynamic coefficient from the Germano identity (test filter 2 Delta, Lilly's least
    squares, box mean or local with clipping) computed in numpy on a turbulent field: the
    solver's stress is -2 C Delta^2 |S| S with that C."""
    u, v, w = turbulent_field()
    tau, eps = solver_stress("dynamic_smagorinsky", (u, v, w), dynamic_average=average)
    g, _ = centre_gradient(u, v, w)
    s = strain(g)
    c = germano_coefficient(u, v, w, average)
    assert c.max() > 0
    if average == "local":
        assert np.ptp(c) > 0 and c.min() >= 0
    ref = six(-2 * (c * H ** 2 * smag_norm(s))[:, None, None] * s)
    assert np.abs(tau - ref).max() <= 1e-10 * np.abs(ref).max()
    assert eps == pytest.approx(np.sum(c * H ** 2 * smag_norm(s) ** 3), rel=1e-10)


@pytest.mark.parametrize("model", ["dynamic_smagorinsky", "wale", "vreman", "gradient"])
def test_models_on_one_and_two_ranks(run_solver, model):
    """The executable on 1 and 2 MPI ranks, 16^3 isotropic field, 8 steps: fields agree to
    1e-12 (halos of the test filter, the box mean across ranks), and the SGS term dissipates
    (the budget of the shared stress form is checked with Smagorinsky in test_numerics)."""
    sgs = {"model": model, "dynamic_average": "box"}
    groups = {"domain": {"nx": N, "ny": N, "nz": N},
              "physics": {"initial": "isotropic", "u0": 1.0, "k_peak": 3.0, "nu": 1e-3},
              "time": {"t_end": 10.0, "max_steps": 8}, "sgs": sgs}
    one, two = run_solver(groups, nranks=1, name="np1"), run_solver(groups, nranks=2, name="np2")
    c1, c2 = one.checkpoint(), two.checkpoint()
    for a, b in ((c1.u, c2.u), (c1.v, c2.v), (c1.w, c2.w)):
        assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
    d = two.diagnostics()
    assert np.all(d["eps_sgs"][1:] > 0) and np.all(d["eps_dedt"][1:] > d["eps_visc"][1:])
    if model == "dynamic_smagorinsky":
        local = run_solver({**groups, "sgs": {**sgs, "dynamic_average": "local"}}, nranks=2,
                           name="local").checkpoint()
        assert np.abs(local.u - c2.u).max() > 1e-8 * np.abs(c2.u).max()


@pytest.mark.parametrize("sgs, message", [
    ({"model": "dynamic_smagorinsky", "dynamic_average": "plane"},
     "unknown dynamic_average 'plane' (known: box, local)"),
    ({"model": "wale", "c_wale": -1.0}, "c_wale, c_vreman and c_gradient must be non-negative"),
])
def test_bad_model_settings_are_named(sgs, message):
    with pytest.raises(SolverError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Solver({"domain": {"nx": 8, "ny": 8, "nz": 8}, "sgs": sgs})


@pytest.mark.parametrize("model, fn", [("smagorinsky", sgs_scores.smagorinsky),
                                       ("wale", sgs_scores.wale), ("vreman", sgs_scores.vreman),
                                       ("gradient", sgs_scores.gradient_model)])
def test_apriori_formulas_are_the_solvers(model, fn):
    """The a-priori forms of eddylearn.sgs (the experiment report's comparison) give the
    solver's stress on the solver's gradient (without clipping)."""
    u, v, w = turbulent_field()
    tau, _ = solver_stress(model, (u, v, w), clip_backscatter=False)
    g, _ = centre_gradient(u, v, w)
    ref = fn(g.reshape(-1, 9), H)
    assert np.abs(tau - ref).max() <= 1e-10 * np.abs(ref).max()
