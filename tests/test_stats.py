"""chainrule.scipy.stats against scipy.stats.

For every univariate distribution and method (the table SPECS):
  - values vs SciPy on random data and parameters, in float64 (and the dtype in float32);
  - edge values vs SciPy: outside the support, on its boundaries, +-inf, nan, far tails,
    invalid parameters (scale <= 0, shapes outside their domain);
  - check_grads order 2, forward and reverse, in the data and every parameter (discrete
    distributions: in their float parameters);
  - vmap vs a Python loop (batched data, batched parameters, both; no loop fallback),
    vmap(grad) vs a loop, jit vs eager.
Then multivariate_normal and dirichlet the same way, numerical stability in the tails, finite
derivatives at masked points, frozen distributions, argument parsing and its errors, and an
enumeration of every distribution and method the issue lists.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import stats as cs
from chainrule.test_util import check_grads

N = 4  # points per case

# --- the univariate table ------------------------------------------------------------------------


@dataclasses.dataclass
class Spec:
    name: str
    shapes: Callable          # rng -> tuple of valid shape parameters (arrays of shape (N,))
    z: Callable               # (rng, *shapes) -> standardized data: smooth interior points
    edges: list               # standardized data at the edges (with the first shapes entry)
    invalid: tuple = ()       # an invalid value for each shape parameter
    discrete: bool = False
    diff_shapes: tuple = None  # indices of differentiable shapes (default: all)
    value_rtol: float = 1e-10
    grad_tol: dict = dataclasses.field(default_factory=dict)
    q_range: tuple = (0.05, 0.9)   # ppf/isf arguments for gradients

    @property
    def dist(self):
        return getattr(cs, self.name)

    @property
    def ref(self):
        return getattr(st, self.name)


def u(lo, hi):
    return lambda rng, *s: rng.uniform(lo, hi, N)


def pos(lo, hi, k=1):
    return lambda rng: tuple(rng.uniform(lo, hi, N) for _ in range(k))


def _laplace_z(rng):
    return rng.choice([-1.0, 1.0], N) * rng.uniform(0.3, 2.5, N)


def _trunc_shapes(rng):
    a = rng.uniform(-2.0, 0.5, N)
    return a, a + rng.uniform(0.5, 3.0, N)


def _trunc_z(rng, a, b):
    return a + (b - a) * rng.uniform(0.1, 0.9, N)


def _binom_shapes(rng):
    return rng.integers(2, 15, N).astype(float), rng.uniform(0.15, 0.85, N)


def _binom_k(rng, n, p):
    return np.floor(rng.uniform(0, 1, N) * (n + 1))


SPECS = [
    Spec("norm", lambda rng: (), lambda rng: 1.5 * rng.standard_normal(N),
         [-40.0, -10.0, 0.0, 3.0, 10.0, 40.0]),
    Spec("laplace", lambda rng: (), lambda rng: _laplace_z(rng), [-50.0, 0.0, 1e-20, 50.0]),
    Spec("logistic", lambda rng: (), lambda rng: 2 * rng.standard_normal(N),
         [-800.0, -40.0, 0.0, 40.0, 800.0]),
    Spec("cauchy", lambda rng: (), lambda rng: 2 * rng.standard_normal(N),
         [-1e12, -1e3, 0.0, 1e3, 1e12]),
    Spec("expon", lambda rng: (), u(0.1, 3.0), [-1.0, 0.0, 1e-12, 1e-3, 50.0, 800.0]),
    Spec("uniform", lambda rng: (), u(0.05, 0.95), [-0.1, 0.0, 1e-12, 0.5, 1.0, 1.1]),
    Spec("t", pos(0.7, 30.0), lambda rng, df: 1.5 * rng.standard_normal(N),
         [-1e3, -5.0, 0.0, 1e-3, 5.0, 1e3], invalid=(0.0,), value_rtol=1e-8),
    Spec("gamma", pos(0.6, 5.0), u(0.2, 4.0), [-1.0, 0.0, 1e-8, 1.0, 50.0],
         invalid=(-1.0,), value_rtol=1e-8),
    Spec("chi2", pos(0.8, 8.0), u(0.2, 6.0), [-1.0, 0.0, 1e-8, 1.0, 100.0],
         invalid=(0.0,), value_rtol=1e-8),
    Spec("beta", pos(0.6, 4.0, 2), u(0.1, 0.9), [-0.1, 0.0, 1e-9, 0.5, 1.0 - 1e-9, 1.0, 1.1],
         invalid=(0.0, -1.0), value_rtol=1e-8),
    Spec("lognorm", pos(0.3, 1.5), u(0.2, 4.0), [-1.0, 0.0, 1e-30, 1.0, 1e30],
         invalid=(-0.5,), value_rtol=1e-9),
    Spec("truncnorm", _trunc_shapes, _trunc_z, [-3.0, -2.0, 0.0, 1.0, 5.0],
         invalid=(1.0, -3.0), value_rtol=1e-9),
    Spec("poisson", pos(0.5, 8.0), lambda rng, mu: rng.integers(0, 10, N).astype(float),
         [-1.0, 0.0, 2.5, 3.0, 40.0], invalid=(-1.0,), discrete=True, value_rtol=1e-9),
    Spec("bernoulli", pos(0.1, 0.9), lambda rng, p: rng.integers(0, 2, N).astype(float),
         [-1.0, 0.0, 0.5, 1.0, 2.0], invalid=(1.5,), discrete=True),
    Spec("binom", _binom_shapes, _binom_k, [-1.0, 0.0, 1.5, 2.0, 14.0, 20.0],
         invalid=(2.5, 1.5), discrete=True, diff_shapes=(1,), value_rtol=1e-9),
]
SPEC = {s.name: s for s in SPECS}


def cases(pred=lambda spec, m: True):
    return [pytest.param(s, m, id=f"{s.name}.{m}") for s in SPECS for m in s.dist.methods
            if pred(s, m)]


def _is_q(method):
    return method in ("ppf", "isf")


def case_args(spec, method, seed, inside=True):
    """(data, *shapes[, loc, scale]) for one call, in SciPy's positional order."""
    rng = np.random.default_rng(seed)
    shapes = tuple(spec.shapes(rng))
    if _is_q(method):
        data = rng.uniform(*spec.q_range, N)
    else:
        data = spec.z(rng, *shapes)
        if not inside:   # some points well outside the support
            data = data + np.array([0.0, -7.0, 7.0, 0.0])
    if spec.discrete:
        return (data,) + shapes
    loc, scale = rng.standard_normal(N), rng.uniform(0.5, 2.0, N)
    if not _is_q(method):
        data = loc + scale * data
    return (data,) + shapes + (loc, scale)


def ours(spec, method):
    return getattr(spec.dist, method)


def theirs(spec, method):
    """SciPy's method; for the discrete logcdf/logsf, which SciPy computes as log(cdf) (0 where
    sf is tiny), the accurate log1p(-sf) where cdf > 1/2 (chainrule's values)."""
    if spec.discrete and method in ("logcdf", "logsf"):
        p, q = ("cdf", "sf") if method == "logcdf" else ("sf", "cdf")

        def ref(*args):
            pv, qv = getattr(spec.ref, p)(*args), getattr(spec.ref, q)(*args)
            with np.errstate(divide="ignore"):
                return np.where(pv > 0.5, np.log1p(-qv), np.log(pv))
        return ref
    return getattr(spec.ref, method)


def diff_positions(spec, method):
    """Argument positions to differentiate: everything but discrete data (and binom's n)."""
    if spec.discrete:
        idx = spec.diff_shapes if spec.diff_shapes is not None else range(spec.nshapes)
        return tuple(1 + i for i in idx)
    return tuple(range(len(case_args(spec, method, 0))))


Spec.nshapes = property(lambda self: len(self.shapes(np.random.default_rng(0))))


def partial(f, args, positions):
    """f as a function of args[positions] only."""
    def g(*vals):
        full = list(args)
        for p, v in zip(positions, vals):
            full[p] = v
        return f(*full)
    return g


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,method", cases())
def test_values(spec, method):
    with np.errstate(all="ignore"):
        for seed, inside in ((0, True), (1, False)):
            args = case_args(spec, method, seed, inside)
            got = ours(spec, method)(*args)
            want = theirs(spec, method)(*args)
            assert isinstance(got, np.ndarray) and got.dtype == np.float64
            np.testing.assert_allclose(got, want, rtol=spec.value_rtol, atol=1e-300)


def edge_cases(spec, method):
    """(data, shapes) pairs: edge data with valid parameters, then with each shape invalid."""
    shapes = tuple(np.atleast_1d(s)[:1] for s in spec.shapes(np.random.default_rng(0)))
    if spec.name == "truncnorm":
        shapes = (np.array([-2.0]), np.array([1.0]))
    if _is_q(method):
        data = np.array([0.0, 1e-300, 1e-12, 0.3, 0.5, 1 - 1e-12, 1.0, -0.1, 1.1, np.nan])
    else:
        data = np.array(spec.edges + [np.inf, -np.inf, np.nan])
    out = [(data, shapes)]
    for i, bad in enumerate(spec.invalid):
        out.append((data, tuple(np.full(1, bad) if j == i else s
                                for j, s in enumerate(shapes))))
    return out


@pytest.mark.parametrize("spec,method", cases())
def test_edge_values(spec, method):
    locs = [()] if spec.discrete else [(0.0, 1.0), (0.5, 2.0), (0.0, 0.0), (0.0, -1.0)]
    with np.errstate(all="ignore"):
        for i, (data, shapes) in enumerate(edge_cases(spec, method)):
            for ls in locs:
                got = ours(spec, method)(data, *shapes, *ls)
                if i > 0 or (ls and ls[1] <= 0):
                    # invalid parameters: all nan (SciPy's convention; its bernoulli.logcdf
                    # alone gives 0 above the support there, unlike its cdf)
                    assert np.all(np.isnan(got)), got
                    continue
                want = theirs(spec, method)(data, *shapes, *ls)
                np.testing.assert_allclose(got, want, rtol=max(spec.value_rtol, 1e-9),
                                           atol=1e-300, err_msg=f"{shapes} loc, scale = {ls}")


TAIL_CASES = {   # (data, *shapes): cases that stress the formulas
    "t": (np.array([-3.0, 0.5, 2.0]), np.array([np.inf, 1e10, 1e-3])),
    "truncnorm": (np.array([10.5, -10.5, 0.3, -1.0, 0.0, 39.0]),
                  np.array([10.0, -12.0, -np.inf, -np.inf, -20.0, 38.0]),
                  np.array([12.0, -10.0, np.inf, 0.5, 20.0, np.inf])),
    "gamma": (np.array([0.0, 0.0, 0.0, 180.0]), np.array([0.5, 1.0, 2.0, 200.0])),
    "chi2": (np.array([0.0, 0.0, 0.0, 1e-3]), np.array([1.0, 2.0, 3.0, 50.0])),
    "beta": (np.array([0.0, 0.0, 1.0, 1e-5]), np.array([0.5, 1.0, 2.0, 30.0]),
             np.array([1.0, 3.0, 0.5, 2.0])),
    "lognorm": (np.array([1e-10, 1e10]), np.array([0.5, 0.5])),
    "poisson": (np.array([0.0, 1.0, 0.0, 45.0, 1000.0]), np.array([0.0, 0.0, 1e-5, 50.0, 1.0])),
    "binom": (np.array([0.0, 5.0, 4.0, 0.0, 300.0]), np.array([5.0, 5.0, 5.0, 0.0, 1000.0]),
              np.array([0.0, 1.0, 1.0, 0.3, 0.1])),
    "bernoulli": (np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, 1.0])),
}


@pytest.mark.parametrize("spec,method", cases(lambda s, m: s.name in TAIL_CASES
                                                   and not _is_q(m)))
def test_tail_values(spec, method):
    with np.errstate(all="ignore"):
        args = TAIL_CASES[spec.name]
        np.testing.assert_allclose(ours(spec, method)(*args), theirs(spec, method)(*args),
                                   rtol=1e-8, atol=1e-300)


@pytest.mark.parametrize("spec,method", cases())
def test_float32(spec, method):
    args = case_args(spec, method, 2)
    got = ours(spec, method)(*(a.astype(np.float32) for a in args))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, theirs(spec, method)(*args), rtol=2e-4, atol=1e-6)


# --- derivatives, vmap, jit ------------------------------------------------------------------------


@pytest.mark.parametrize("spec,method", cases())
def test_grads(spec, method):
    args = case_args(spec, method, 3)
    pos = diff_positions(spec, method)
    check_grads(partial(ours(spec, method), args, pos), [args[p] for p in pos], order=2,
                modes=("fwd", "rev"), **spec.grad_tol)


def _stack(per, axis=0):
    return [np.stack(a, axis=axis) for a in zip(*per)]


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("spec,method", cases())
def test_vmap(spec, method):
    f = ours(spec, method)
    per = [case_args(spec, method, 10 + i, inside=False) for i in range(3)]
    n = len(per[0])
    want = np.stack([f(*a) for a in per])
    np.testing.assert_allclose(cr.vmap(f)(*_stack(per)), want, rtol=1e-12, atol=1e-300)
    # batched data only
    want = np.stack([f(a[0], *per[0][1:]) for a in per])
    got = cr.vmap(f, in_axes=(0,) + (None,) * (n - 1))(np.stack([a[0] for a in per]),
                                                       *per[0][1:])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    # batched parameters only, on axis 1, output on axis 1
    if n > 1:
        want = np.stack([f(per[0][0], *a[1:]) for a in per], axis=1)
        got = cr.vmap(f, in_axes=(None,) + (1,) * (n - 1), out_axes=1)(
            per[0][0], *_stack([a[1:] for a in per], axis=1))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("spec,method", cases(lambda s, m: m in ("logpdf", "logpmf", "cdf")))
def test_vmap_grad(spec, method):
    w = np.random.default_rng(5).standard_normal(N)
    pos = diff_positions(spec, method)

    def g(*args):
        loss = partial(lambda *a: cnp.sum(ours(spec, method)(*a) * w), args, pos)
        return cr.grad(loss, argnums=tuple(range(len(pos))))(*[args[p] for p in pos])

    per = [case_args(spec, method, 20 + i) for i in range(3)]
    want = [np.stack(gs) for gs in zip(*[g(*a) for a in per])]
    got = cr.vmap(g)(*_stack(per))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec,method", cases())
def test_jit(spec, method):
    f = ours(spec, method)
    args = case_args(spec, method, 4, inside=False)
    np.testing.assert_allclose(cr.jit(f)(*args), f(*args), rtol=1e-13, atol=1e-300)
    pos = diff_positions(spec, method)
    loss = partial(lambda *a: cnp.sum(f(*a)), args, pos)
    g_eager = cr.grad(loss, argnums=tuple(range(len(pos))))(*[args[p] for p in pos])
    g_jit = cr.jit(cr.grad(loss, argnums=tuple(range(len(pos)))))(*[args[p] for p in pos])
    for a, b in zip(g_jit, g_eager):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)


OUTSIDE = {   # standardized data strictly outside the support (or off the integers)
    "expon": [-1.0, -1e-3], "uniform": [-0.5, 1.5], "gamma": [-1.0], "chi2": [-2.0],
    "beta": [-0.5, 1.5], "lognorm": [-1.0], "truncnorm": [-3.0, 2.0],
    "poisson": [-1.0, 2.5], "bernoulli": [-1.0, 0.5, 2.0], "binom": [-1.0, 1.5, 20.0],
}


def _nan_to_0(f):
    def g(*a):
        v = f(*a)
        return cnp.sum(cnp.where(cnp.isnan(v), 0.0, v))
    return g


@pytest.mark.parametrize("spec,method", cases(lambda s, m: not _is_q(m)))
def test_masked_points_have_finite_grads(spec, method):
    """Outside the support and at invalid parameters the value is a constant (-inf, 0, 1 or
    nan): gradients there are finite, and zero in the data."""
    f = ours(spec, method)
    (_, shapes), *invalid = edge_cases(spec, method)
    data = np.array(OUTSIDE.get(spec.name, [0.5]))
    shapes = tuple(np.broadcast_to(s, data.shape).copy() for s in shapes)
    args = (data,) + shapes + (() if spec.discrete else (np.zeros_like(data),
                                                          np.ones_like(data)))
    pos = diff_positions(spec, method)
    if spec.name in OUTSIDE:
        g = cr.grad(_nan_to_0(partial(f, args, pos)), argnums=tuple(range(len(pos))))(
            *[args[p] for p in pos])
        for gi in g:
            assert np.all(np.isfinite(gi)), g
        if not spec.discrete:
            assert np.all(g[0] == 0), g
    for _, bad in invalid + [(None, shapes)] * (not spec.discrete):
        bad = tuple(np.broadcast_to(s, data.shape).copy() for s in bad)
        ls = () if spec.discrete else (np.zeros_like(data), -np.ones_like(data))
        args = (np.full_like(data, 0.5),) + bad + ls
        g = cr.grad(_nan_to_0(partial(f, args, pos)), argnums=tuple(range(len(pos))))(
            *[args[p] for p in pos])
        for gi in g:
            assert np.all(np.isfinite(gi)) and not np.any(gi[..., :0]), g
