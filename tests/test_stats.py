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
from collections.abc import Callable

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


MOMENTS = ("mean", "var", "std", "entropy")
DENSITIES = ("logpdf", "pdf", "logpmf", "pmf")


def cases(pred=lambda spec, m: True, moments=False):
    """(spec, method) parameters: the methods of the data (default) or the moments."""
    return [pytest.param(s, m, id=f"{s.name}.{m}") for s in SPECS for m in s.dist.methods
            if pred(s, m) and ((m in MOMENTS) == moments)]


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
                if spec.name in ("gamma", "chi2", "poisson") and method in DENSITIES:
                    # SciPy's nan at x = +inf (inf - inf in its formula); the limit is 0
                    want = np.where(data == np.inf, 0.0 if "log" not in method else -np.inf,
                                    want)
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


# --- derivatives, vmap, jit ----------------------------------------------------------------------


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


@pytest.mark.parametrize("spec,method", cases())
def test_no_internal_nans(spec, method):
    """Under debug_nans (which raises at the first primitive making a NaN from NaN-free
    inputs), values and gradients at valid parameters, inside and outside the support and at
    the edges, never create a NaN in an untaken branch."""
    pos = diff_positions(spec, method)
    with cr.debug_nans():
        for seed, inside in ((0, True), (1, False)):
            args = case_args(spec, method, seed, inside)
            loss = partial(lambda *a: cnp.sum(ours(spec, method)(*a)), args, pos)
            cr.grad(loss, argnums=tuple(range(len(pos))))(*[args[p] for p in pos])
        data, shapes = edge_cases(spec, method)[0]
        ours(spec, method)(data[~np.isnan(data)], *shapes)


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
    nan): gradients there are finite, zero in the data, and zero in everything where the
    parameters are invalid."""
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
            assert np.all(gi == 0), g   # the value is a constant nan there


# --- moments ------------------------------------------------------------------------------


def moment_args(spec, seed):
    """(*shapes[, loc, scale]) for a moment method."""
    args = case_args(spec, "logpdf" if not spec.discrete else "logpmf", seed)[1:]
    if spec.name == "t":   # df > 2: finite variance
        args = (2.5 + args[0],) + args[1:]
    return args


@pytest.mark.parametrize("spec,method", cases(moments=True))
def test_moments(spec, method):
    f, ref = ours(spec, method), getattr(spec.ref, method)
    args = moment_args(spec, 0)
    got = f(*args)
    assert isinstance(got, np.ndarray) and got.shape == (N,) and got.dtype == np.float64
    np.testing.assert_allclose(got, ref(*args), rtol=1e-12)
    assert f(*(a.astype(np.float32) for a in args)).dtype == np.float32
    for _, bad in edge_cases(spec, "logpdf")[1:]:   # invalid shapes
        assert np.all(np.isnan(f(*bad)))
    if not spec.discrete:
        assert np.all(np.isnan(f(*args[:-1], -args[-1])))   # scale < 0
    np.testing.assert_allclose(getattr(spec.dist(*args), method)(), got, rtol=1e-15)
    # derivatives in the parameters (not for cauchy's nan moments, nor binom's integer n)
    if spec.name != "cauchy":
        pos = tuple(p - 1 for p in diff_positions(spec, "logpdf"))
        check_grads(partial(f, args, pos), [args[p] for p in pos], order=2)
    per = [moment_args(spec, 10 + i) for i in range(3)]
    np.testing.assert_allclose(cr.vmap(f)(*_stack(per)), np.stack([f(*a) for a in per]),
                               rtol=1e-12)
    np.testing.assert_allclose(cr.jit(f)(*args), got, rtol=1e-13)


def test_moments_special_values():
    df = np.array([0.5, 1.0, 1.5, 2.0, 3.0, np.inf])   # t: SciPy's inf/nan conventions
    for m in ("mean", "var", "entropy"):
        np.testing.assert_allclose(getattr(cs.t, m)(df), getattr(st.t, m)(df), rtol=1e-12)
    big = np.array([50.0, 99.9, 100.0, 1e3, 1e6, 1e12])   # across the series switch at 100
    np.testing.assert_allclose(cs.t.entropy(big), st.t.entropy(big), rtol=1e-13)
    assert np.isnan(cs.cauchy.mean()) and np.isnan(cs.cauchy.var())
    np.testing.assert_allclose(cs.bernoulli.entropy([0.0, 0.3, 1.0]),
                               st.bernoulli.entropy([0.0, 0.3, 1.0]), atol=1e-15)
    with pytest.raises(AttributeError, match="no method 'entropy'"):
        _ = cs.poisson.entropy
    np.testing.assert_allclose(cs.norm.std(scale=2.0), 2.0)


# --- numerical stability and special points -----------------------------------------------------


def test_norm_log_tails_and_their_gradients():
    x = np.array([-40.0, -10.0, -1.0, 0.0, 5.0, 40.0])
    np.testing.assert_allclose(cs.norm.logcdf(x), st.norm.logcdf(x), rtol=1e-12)
    np.testing.assert_allclose(cs.norm.logsf(-x), st.norm.logsf(-x), rtol=1e-12)
    assert np.isclose(cs.norm.logcdf(-40.0), -804.6084420137538, rtol=1e-12)
    g = cr.grad(lambda v: cnp.sum(cs.norm.logcdf(v)))(x)
    want = np.exp(st.norm.logpdf(x) - st.norm.logcdf(x))   # d/dx log Phi = phi / Phi
    np.testing.assert_allclose(g, want, rtol=1e-9)
    h = cr.grad(cr.grad(lambda v: cs.norm.logcdf(v)))(-40.0)   # -> -1 (log Phi ~ -x^2/2)
    assert np.isfinite(h) and abs(h + 1.0) < 1e-2


def test_truncnorm_far_tail_values_and_gradients():
    a, b = np.array([10.0, -12.0, 30.0]), np.array([12.0, -10.0, 31.0])
    x = np.array([10.5, -10.5, 30.2])
    for m in ("logpdf", "logcdf", "logsf"):
        np.testing.assert_allclose(getattr(cs.truncnorm, m)(x, a, b),
                                   getattr(st.truncnorm, m)(x, a, b), rtol=1e-8)
    g = cr.grad(lambda x, a, b: cnp.sum(cs.truncnorm.logpdf(x, a, b)), argnums=(0, 1, 2))(
        x, a, b)
    for gi in g:
        assert np.all(np.isfinite(gi)), g
    np.testing.assert_allclose(g[0], -x, rtol=1e-12)   # d/dx of -x^2/2
    check_grads(lambda x, a, b: cs.truncnorm.logcdf(x, a, b), (x, a, b), order=2,
                rtol=1e-4, atol=1e-4)


def test_truncnorm_quantiles_round_trip():
    """ppf/isf invert cdf/sf to full precision, also where SciPy's truncnorm.isf does not
    (its isf(1e-300, -inf, inf) is 8.2, not norm.isf(1e-300) = 37.05)."""
    q = np.array([1e-300, 1e-12, 0.01, 0.3, 0.5, 0.7, 0.99])
    for a, b in [(-2.0, 1.0), (10.0, 12.0), (-12.0, -10.0), (-np.inf, 0.5), (-0.5, np.inf),
                 (3.0, 40.0)]:
        qm = q[2:]
        np.testing.assert_allclose(cs.truncnorm.cdf(cs.truncnorm.ppf(qm, a, b), a, b), qm,
                                   rtol=1e-9)
        np.testing.assert_allclose(cs.truncnorm.sf(cs.truncnorm.isf(qm, a, b), a, b), qm,
                                   rtol=1e-9)
        lo = a if np.isfinite(a) else b - 8.5
        hi = min(b, lo + 8.0)   # x far into the tails too
        x = lo + (hi - lo) * np.array([1e-6, 1e-3, 0.2, 0.5, 0.8, 0.999])
        c, sf = cs.truncnorm.cdf(x, a, b), cs.truncnorm.sf(x, a, b)
        lower = c < 0.5   # (a probability near 1 does not determine x)
        np.testing.assert_allclose(cs.truncnorm.ppf(c[lower], a, b), x[lower], rtol=1e-9)
        np.testing.assert_allclose(cs.truncnorm.isf(sf[~lower], a, b), x[~lower], rtol=1e-9)
    np.testing.assert_allclose(cs.truncnorm.isf(q, -np.inf, np.inf), st.norm.isf(q),
                               rtol=1e-12)
    np.testing.assert_allclose(cs.truncnorm.ppf(q, -np.inf, np.inf), st.norm.ppf(q),
                               rtol=1e-12)


def test_truncnorm_one_sided_gradient_is_finite():
    # a = (lo - mu) / sigma with lo = -inf: d/dmu must not be nan
    def f(mu):
        return cs.truncnorm.logpdf(0.3, (-np.inf - mu) / 1.5, (2.0 - mu) / 1.5, mu, 1.5)
    g = cr.grad(f)(0.2)
    eps = 1e-6
    assert np.isclose(g, (f(0.2 + eps) - f(0.2 - eps)) / (2 * eps), rtol=1e-6)


def test_t_cdf_at_its_centre():
    """At x == loc the incomplete-beta form is singular; value and derivatives are exact."""
    df = np.array([0.8, 3.0, 40.0])
    f = lambda x, df: cs.t.cdf(x, df, loc=0.5, scale=2.0)
    x = np.full(3, 0.5)
    np.testing.assert_array_equal(f(x, df), 0.5)
    gx, gdf = cr.grad(lambda x, d: cnp.sum(f(x, d)), argnums=(0, 1))(x, df)
    np.testing.assert_allclose(gx, st.t.pdf(0.5, df, loc=0.5, scale=2.0), rtol=1e-12)
    np.testing.assert_array_equal(gdf, 0.0)
    hxx = cr.vmap(cr.grad(cr.grad(lambda x, d: f(x, d))))(x, df)
    np.testing.assert_allclose(hxx, 0.0, atol=1e-14)   # the density's peak
    check_grads(f, (x + 1e-3, df), order=2)   # and smooth around it


def test_t_large_df_tends_to_normal():
    z = np.array([-3.0, -0.5, 0.5, 2.0])
    for df in (99.0, 100.0, 1e3, 1e6, 1e9):   # the density's normalization across its switch
        np.testing.assert_allclose(cs.t.logpdf(z, df), st.t.logpdf(z, df), rtol=2e-12)
    for m in ("logpdf", "cdf", "logsf"):
        np.testing.assert_allclose(getattr(cs.t, m)(z, 1e8), getattr(st.t, m)(z, 1e8),
                                   rtol=1e-8)
        np.testing.assert_allclose(getattr(cs.t, m)(z, 1e8), getattr(st.norm, m)(z),
                                   rtol=1e-6)
        np.testing.assert_allclose(getattr(cs.t, m)(z, np.inf), getattr(st.norm, m)(z),
                                   rtol=1e-14)


def test_accurate_small_and_large_arguments():
    tiny = np.array([1e-300, 1e-20, 1e-9])
    np.testing.assert_allclose(cs.expon.logcdf(tiny), np.log(tiny) - tiny / 2, rtol=1e-14)
    np.testing.assert_allclose(cs.expon.cdf(tiny), -np.expm1(-tiny), rtol=1e-15)
    big = np.array([-800.0, 800.0])
    np.testing.assert_allclose(cs.logistic.logpdf(big), [-800.0, -800.0], rtol=1e-15)
    np.testing.assert_allclose(cs.logistic.logcdf(big), st.logistic.logcdf(big), rtol=1e-15)
    np.testing.assert_allclose(cs.cauchy.cdf(-1e15), 1 / (np.pi * 1e15), rtol=1e-12)
    g = cr.grad(lambda x: cnp.sum(cs.logistic.logpdf(x)))(big)
    np.testing.assert_allclose(g, [1.0, -1.0])
    np.testing.assert_allclose(cs.gamma.logsf(300.0, 2.0), st.gamma.logsf(300.0, 2.0),
                               rtol=1e-12)


def test_discrete_gradients_in_the_parameters():
    k = np.array([0.0, 1.0, 3.0, 7.0])
    mu = np.array([0.5, 2.0, 3.0, 9.0])
    g = cr.grad(lambda m: cnp.sum(cs.poisson.logpmf(k, m)))(mu)
    np.testing.assert_allclose(g, k / mu - 1.0, rtol=1e-12)
    n, p = np.array([5.0, 5.0, 8.0, 9.0]), np.array([0.2, 0.5, 0.7, 0.4])
    g = cr.grad(lambda p: cnp.sum(cs.binom.logpmf(k, n, p)))(p)
    np.testing.assert_allclose(g, k / p - (n - k) / (1 - p), rtol=1e-12)
    # the cdf in mu: d/dmu P(K <= k) = -pmf(k)
    g = cr.grad(lambda m: cnp.sum(cs.poisson.cdf(k, m)))(mu)
    np.testing.assert_allclose(g, -st.poisson.pmf(k, mu), rtol=1e-9)
    # zero-probability boundary: p = 0 with k = 0 has logpmf 0 and a finite gradient
    g = cr.grad(lambda p: cs.bernoulli.logpmf(0.0, p))(0.0)
    assert g == -1.0


# --- frozen distributions and argument parsing -----------------------------------------------


def test_frozen_distributions():
    x = np.array([0.2, 1.3, 2.5])
    np.testing.assert_array_equal(cs.norm(1.0, 2.0).logpdf(x), cs.norm.logpdf(x, 1.0, 2.0))
    np.testing.assert_array_equal(cs.t(3.0, scale=2.0).cdf(x), cs.t.cdf(x, 3.0, scale=2.0))
    np.testing.assert_array_equal(cs.poisson(mu=2.5).pmf([0, 1, 2]),
                                  cs.poisson.pmf([0, 1, 2], 2.5))
    np.testing.assert_allclose(cs.gamma(2.0, scale=3.0).sf(x), st.gamma(2.0, scale=3.0).sf(x),
                               rtol=1e-12)
    g = cr.grad(lambda mu: cnp.sum(cs.norm(mu, 1.0).logpdf(x)))(0.5)
    assert np.isclose(g, np.sum(x - 0.5))
    assert "logpdf" in dir(cs.beta(2.0, 3.0))
    with pytest.raises(AttributeError, match="has no method 'ppf'"):
        _ = cs.beta(2.0, 3.0).ppf
    with pytest.raises(TypeError, match="unexpected keyword"):
        cs.norm(mu=1.0)
    assert repr(cs.norm(1.0, scale=2.0)) == "norm(1.0, scale=2.0)"


def test_argument_parsing():
    x = np.array([0.3, 1.7])
    by_pos = cs.gamma.logpdf(x, 2.0, 0.1, 1.5)
    by_kw = cs.gamma.logpdf(x, a=2.0, loc=0.1, scale=1.5)
    np.testing.assert_array_equal(by_pos, by_kw)
    np.testing.assert_allclose(by_pos, st.gamma.logpdf(x, 2.0, 0.1, 1.5), rtol=1e-13)
    np.testing.assert_array_equal(cs.gamma.logpdf(x=x, a=2.0), cs.gamma.logpdf(x, 2.0))
    # broadcasting of data against parameters
    out = cs.norm.logpdf(np.zeros((2, 1)), np.zeros(3), 1.0)
    assert out.shape == (2, 3)
    out = cs.uniform.logpdf(0.5, loc=np.zeros((4, 1)), scale=np.ones(2))
    assert out.shape == (4, 2)
    # lists, ints and scalars; eager results are ndarrays
    r = cs.poisson.pmf([0, 1, 2], 1.5)
    assert isinstance(r, np.ndarray) and r.dtype == np.float64
    r = cs.norm.pdf(0)
    assert isinstance(r, np.ndarray) and r.shape == () and r.dtype == np.float64
    with pytest.raises(TypeError, match="missing required shape parameter.*'df'"):
        cs.t.logpdf(x)
    with pytest.raises(TypeError, match="unexpected keyword argument 'sigma'"):
        cs.norm.logpdf(x, sigma=1.0)
    with pytest.raises(TypeError, match="at most 2 parameters"):
        cs.norm.cdf(x, 0.0, 1.0, 2.0)
    with pytest.raises(TypeError, match="multiple values for 'loc'"):
        cs.norm.cdf(x, 0.0, loc=1.0)
    with pytest.raises(TypeError, match="real arguments"):
        cs.norm.logpdf(np.array([1.0 + 1j]))
    with pytest.raises(AttributeError, match="no method 'ppf'"):
        _ = cs.gamma.ppf


def test_discrete_loc_and_static_parameters():
    k = np.array([-1.0, 0.0, 1.0, 2.0, 3.5, 6.0])
    for name, shapes in (("poisson", (2.5,)), ("binom", (5.0, 0.3)), ("bernoulli", (0.4,))):
        for m in getattr(cs, name).methods:
            data = () if m in MOMENTS else (k,)
            np.testing.assert_allclose(getattr(getattr(cs, name), m)(*data, *shapes, loc=2.0),
                                       getattr(getattr(st, name), m)(*data, *shapes, loc=2.0),
                                       rtol=1e-12, atol=1e-300, err_msg=f"{name}.{m}")
    # Python-number parameters (statically valid) under jit and grad
    x = np.array([0.3, 1.2, 2.0])
    f = cr.jit(lambda x: cs.gamma.logcdf(x, 2.0, loc=0.1, scale=1.5))
    np.testing.assert_allclose(f(x), st.gamma.logcdf(x, 2.0, loc=0.1, scale=1.5), rtol=1e-12)
    g = cr.grad(lambda s: cs.norm.logpdf(1.0, 0.0, s))(2.0)
    assert np.isclose(g, -1 / 2.0 + 1 / 2.0 ** 3)
    h = cr.hessian(lambda mu: cs.poisson.logpmf(3, mu))(2.0)
    assert np.isclose(h, -3 / 4.0)


def test_docstrings_name_the_distribution():
    for name in ("norm", "t", "poisson"):
        d = getattr(cs, name)
        for m in d.methods:
            doc = getattr(d, m).__doc__
            assert f"scipy.stats.{name}.{m}" in doc and "Example" in doc and "Args" in doc


# --- multivariate_normal -------------------------------------------------------------------------


def _spd(rng, d, batch=()):
    a = rng.standard_normal(batch + (d, d))
    return a @ np.swapaxes(a, -1, -2) + d * np.eye(d)


MVN_CASES = {   # name -> (x, mean, cov), SciPy-compatible argument forms
    "full": lambda rng: (rng.standard_normal((5, 3)), rng.standard_normal(3), _spd(rng, 3)),
    "one-point": lambda rng: (rng.standard_normal(3), rng.standard_normal(3), _spd(rng, 3)),
    "diagonal": lambda rng: (rng.standard_normal((4, 3)), rng.standard_normal(3),
                             rng.uniform(0.5, 2.0, 3)),
    "scalar": lambda rng: (rng.standard_normal((2, 4)), rng.standard_normal(4), 1.7),
    "no-mean": lambda rng: (rng.standard_normal((2, 2, 3)), None, _spd(rng, 3)),
    "dim1-points": lambda rng: (rng.standard_normal(5), 0.3, 2.0),
    "scalar-x": lambda rng: (0.7, None, 1.0),
}


def _mvn_call(lib, method, x, mean, cov, **kw):
    d = cs.multivariate_normal if lib == "cs" else st.multivariate_normal
    return getattr(d, method)(x, mean, cov, **kw)


@pytest.mark.parametrize("case", list(MVN_CASES))
@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_mvn_values(case, method):
    x, mean, cov = MVN_CASES[case](np.random.default_rng(0))
    got = _mvn_call("cs", method, x, mean, cov)
    want = _mvn_call("scipy", method, x, mean, cov)
    assert isinstance(got, np.ndarray) and np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got32 = _mvn_call("cs", method, np.float32(x), None if mean is None else np.float32(mean),
                      np.float32(cov))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-4)


def test_mvn_entropy_and_frozen():
    rng = np.random.default_rng(1)
    cov = _spd(rng, 3)
    for c in (cov, np.array([0.5, 1.0, 2.0]), 2.5):
        mean = np.zeros(3)
        np.testing.assert_allclose(cs.multivariate_normal.entropy(mean, c),
                                   st.multivariate_normal.entropy(mean, c), rtol=1e-12)
    np.testing.assert_allclose(cs.multivariate_normal.entropy(cov=cov),
                               st.multivariate_normal.entropy(cov=cov), rtol=1e-12)
    x, mean = rng.standard_normal((4, 3)), rng.standard_normal(3)
    fz = cs.multivariate_normal(mean, cov)
    np.testing.assert_allclose(fz.logpdf(x), st.multivariate_normal(mean, cov).logpdf(x),
                               rtol=1e-12)
    np.testing.assert_allclose(fz.pdf(x), st.multivariate_normal(mean, cov).pdf(x), rtol=1e-12)
    np.testing.assert_allclose(fz.entropy(), st.multivariate_normal(mean, cov).entropy(),
                               rtol=1e-12)


def test_mvn_singular():
    rng = np.random.default_rng(2)
    b = rng.standard_normal((3, 2))
    cov = b @ b.T                                  # rank 2
    mean = rng.standard_normal(3)
    x = mean + rng.standard_normal((4, 2)) @ b.T    # on the support
    x_off = x + np.array([1.0, -1.0, 0.5])          # off it
    for pts in (x, np.concatenate([x, x_off])):
        for m in ("logpdf", "pdf"):
            np.testing.assert_allclose(
                _mvn_call("cs", m, pts, mean, cov, allow_singular=True),
                _mvn_call("scipy", m, pts, mean, cov, allow_singular=True), rtol=1e-8,
                atol=1e-300)
    # differentiable along the support, in the point and the mean
    check_grads(lambda t, m: cs.multivariate_normal.logpdf(m + cnp.matmul(t, b.T), m, cov,
                                                           allow_singular=True),
                (rng.standard_normal((4, 2)), mean), order=2)
    diag = np.array([1.5, 0.0, 2.0])
    pts = np.array([[0.1, 0.0, -0.3], [0.1, 0.2, 0.3]])
    np.testing.assert_allclose(cs.multivariate_normal.logpdf(pts, None, diag,
                                                             allow_singular=True),
                               st.multivariate_normal.logpdf(pts, np.zeros(3), diag,
                                                             allow_singular=True), rtol=1e-12)
    # without allow_singular a zero variance is invalid: nan (SciPy raises)
    assert np.all(np.isnan(cs.multivariate_normal.logpdf(pts, None, diag)))
    # with it, the density is differentiable along the support
    on = np.array([1.0, 0.0, 1.0])
    check_grads(lambda x, c: cs.multivariate_normal.logpdf(x * on, None, c * on,
                                                           allow_singular=True),
                (pts, diag + [0.0, 1.0, 0.5]), order=2)


def test_mvn_batched_parameters_extension():
    rng = np.random.default_rng(3)
    covs, means = _spd(rng, 3, (2,)), rng.standard_normal((2, 3))
    x = rng.standard_normal((4, 1, 3))
    got = cs.multivariate_normal.logpdf(x, means, covs)
    want = np.stack([st.multivariate_normal.logpdf(x[:, 0], means[i], covs[i])
                     for i in range(2)], axis=1)
    assert got.shape == (4, 2)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(cs.multivariate_normal.entropy(means, covs),
                               [st.multivariate_normal.entropy(cov=c) for c in covs],
                               rtol=1e-12)


def _mvn_from_factor(x, mean, a):
    cov = cnp.matmul(a, cnp.swapaxes(a, -1, -2)) + 0.5 * cnp.eye(3)
    return cs.multivariate_normal.logpdf(x, mean, cov)


def test_mvn_grads():
    rng = np.random.default_rng(4)
    x, mean, a = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((3, 3))
    check_grads(_mvn_from_factor, (x, mean, a), order=2)
    check_grads(lambda x, m, c: cs.multivariate_normal.logpdf(x, m, c),
                (x, mean, rng.uniform(0.5, 2.0, 3)), order=2)
    check_grads(lambda x, m, c: cs.multivariate_normal.pdf(x, m, c), (x, mean, 1.3), order=2)
    check_grads(lambda a: cs.multivariate_normal.entropy(
        None, cnp.matmul(a, a.T) + 0.5 * cnp.eye(3)), (a,), order=2)
    # the closed forms: d/dx = -cov^-1 (x - mean), d/dcov = (S^-1 dd^T S^-1 - S^-1) / 2
    cov = _spd(rng, 3)
    gx, gc = cr.grad(lambda x, c: cs.multivariate_normal.logpdf(x, mean, c), argnums=(0, 1))(
        x[0], cov)
    inv = np.linalg.inv(cov)
    d = x[0] - mean
    np.testing.assert_allclose(gx, -inv @ d, rtol=1e-10)
    np.testing.assert_allclose(gc, 0.5 * (inv @ np.outer(d, d) @ inv - inv), rtol=1e-8,
                               atol=1e-12)


@pytest.mark.usefixtures("no_loop_fallback")
def test_mvn_vmap_and_jit():
    rng = np.random.default_rng(5)
    xs, means, fa = (rng.standard_normal((3, 4, 3)), rng.standard_normal((3, 3)),
                     rng.standard_normal((3, 3, 3)))
    want = np.stack([_mvn_from_factor(*a) for a in zip(xs, means, fa)])
    np.testing.assert_allclose(cr.vmap(_mvn_from_factor)(xs, means, fa), want, rtol=1e-12)
    want = np.stack([_mvn_from_factor(xs[0], means[0], a) for a in fa])
    np.testing.assert_allclose(cr.vmap(_mvn_from_factor, in_axes=(None, None, 0))(
        xs[0], means[0], fa), want, rtol=1e-12)
    g = cr.grad(lambda x, m, a: cnp.sum(_mvn_from_factor(x, m, a)), argnums=(1, 2))
    want = [np.stack(w) for w in zip(*[g(*a) for a in zip(xs, means, fa)])]
    for got, w in zip(cr.vmap(g)(xs, means, fa), want):
        np.testing.assert_allclose(got, w, rtol=1e-10)
    np.testing.assert_allclose(cr.jit(_mvn_from_factor)(xs[0], means[0], fa[0]),
                               _mvn_from_factor(xs[0], means[0], fa[0]), rtol=1e-13)
    np.testing.assert_allclose(cr.jit(g)(xs[0], means[0], fa[0])[1],
                               g(xs[0], means[0], fa[0])[1], rtol=1e-12)


def test_mvn_shape_errors():
    with pytest.raises(ValueError, match="dimension"):
        cs.multivariate_normal.logpdf(np.zeros((2, 3)), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="cov must have shape"):
        cs.multivariate_normal.logpdf(np.zeros(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="diagonal"):
        cs.multivariate_normal.logpdf(np.zeros(3), np.zeros(3), np.ones(2))


# --- dirichlet --------------------------------------------------------------------------------


def test_dirichlet_values():
    rng = np.random.default_rng(6)
    alpha = np.array([0.7, 2.0, 3.5])
    x = rng.dirichlet(alpha, size=5).T                 # components on the first axis
    for m in ("logpdf", "pdf"):
        for pts in (x, x[:, 0], x[:2], x[:2, 0]):     # K or K - 1 entries, one or many points
            got = getattr(cs.dirichlet, m)(pts, alpha)
            want = getattr(st.dirichlet, m)(pts, alpha)
            assert np.shape(got) == np.shape(want)
            np.testing.assert_allclose(got, want, rtol=1e-12)
    for m in ("mean", "var", "cov", "entropy"):
        np.testing.assert_allclose(getattr(cs.dirichlet, m)(alpha),
                                   getattr(st.dirichlet, m)(alpha), rtol=1e-12)
        np.testing.assert_allclose(getattr(cs.dirichlet(alpha), m)(),
                                   getattr(st.dirichlet, m)(alpha), rtol=1e-12)
    got32 = cs.dirichlet.logpdf(x.astype(np.float32), alpha.astype(np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, st.dirichlet.logpdf(x, alpha), rtol=1e-4)
    # off the simplex: -inf (SciPy raises); alpha <= 0: nan (SciPy raises)
    off = np.array([[0.2, -0.1, 0.5, 0.3], [0.3, 0.6, 0.5, 0.3], [0.6, 0.5, 0.0, 0.4]])
    out = cs.dirichlet.logpdf(off, alpha)
    assert np.all(out[:3] == -np.inf) and np.isfinite(out[3])   # off, off, density 0
    assert st.dirichlet.logpdf(off[:, 2], alpha) == -np.inf
    assert np.isclose(out[3], st.dirichlet.logpdf(off[:, 3], alpha))
    g = cr.grad(lambda x: cnp.sum(cs.dirichlet.logpdf(x, alpha)))(off[:, :2])
    assert np.all(g == 0.0)   # masked points: zero, finite gradients
    assert np.all(np.isnan(cs.dirichlet.logpdf(x, np.array([1.0, -1.0, 2.0]))))
    with pytest.raises(ValueError, match="one dimensional"):
        cs.dirichlet.logpdf(x, np.ones((3, 1)))
    with pytest.raises(ValueError, match="entries on its first axis"):
        cs.dirichlet.logpdf(np.full((5, 2), 0.2), alpha)


def test_dirichlet_grads_vmap_jit(no_loop_fallback):
    rng = np.random.default_rng(7)
    alpha = np.array([1.5, 2.0, 3.5])
    x = np.array([[0.2, 0.3, 0.25, 0.4], [0.3, 0.2, 0.35, 0.3]])  # K - 1 entries: on the simplex
    check_grads(lambda x, a: cs.dirichlet.logpdf(x, a), (x, alpha), order=2)
    check_grads(lambda a: cs.dirichlet.entropy(a), (alpha,), order=2)
    check_grads(lambda a: cs.dirichlet.cov(a), (alpha,), order=2)
    # the gradient in alpha: log x - digamma(alpha) + digamma(sum alpha), summed over points
    xf = np.concatenate([x, 1 - x.sum(0, keepdims=True)])
    g = cr.grad(lambda a: cnp.sum(cs.dirichlet.logpdf(x, a)))(alpha)
    import scipy.special as sps
    want = np.sum(np.log(xf), axis=1) - 4 * (sps.digamma(alpha) - sps.digamma(alpha.sum()))
    np.testing.assert_allclose(g, want, rtol=1e-10)
    alphas = rng.uniform(0.5, 3.0, (3, 3))
    xs = np.stack([rng.dirichlet(a, size=4).T for a in alphas])
    want = np.stack([cs.dirichlet.logpdf(*a) for a in zip(xs, alphas)])
    np.testing.assert_allclose(cr.vmap(cs.dirichlet.logpdf)(xs, alphas), want, rtol=1e-12)
    gfun = cr.grad(lambda x, a: cnp.sum(cs.dirichlet.logpdf(x, a)), argnums=1)
    np.testing.assert_allclose(cr.vmap(gfun)(xs, alphas),
                               np.stack([gfun(*a) for a in zip(xs, alphas)]), rtol=1e-10)
    np.testing.assert_allclose(cr.jit(cs.dirichlet.logpdf)(xs[0], alphas[0]), want[0],
                               rtol=1e-13)


# --- the list -------------------------------------------------------------------------

REQUIRED = {
    "norm": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "multivariate_normal": ["logpdf", "pdf", "entropy"],
    "t": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf"],
    "gamma": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf"],
    "beta": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf"],
    "dirichlet": ["logpdf", "pdf", "mean", "var", "cov", "entropy"],
    "poisson": ["logpmf", "pmf", "logcdf", "cdf", "sf", "logsf"],
    "bernoulli": ["logpmf", "pmf", "logcdf", "cdf", "sf", "logsf"],
    "binom": ["logpmf", "pmf", "logcdf", "cdf", "sf", "logsf"],
    "laplace": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "logistic": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "cauchy": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "expon": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "uniform": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "chi2": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf"],
    "lognorm": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
    "truncnorm": ["logpdf", "pdf", "logcdf", "cdf", "sf", "logsf", "ppf", "isf"],
}


def test_every_listed_distribution_and_method_exists():
    import chainrule.scipy.stats as stats_module
    from chainrule.scipy.stats import norm  # noqa: F401  (the import form of the issue)
    missing = [f"{d}.{m}" for d, ms in REQUIRED.items() for m in ms
               if not callable(getattr(getattr(stats_module, d, None), m, None))]
    assert not missing, f"missing from chainrule.scipy.stats: {missing}"
    assert set(REQUIRED) <= set(stats_module.__all__)
    for d in REQUIRED:   # every method offered is one SciPy has
        ours_m = getattr(stats_module, d).methods
        assert all(hasattr(getattr(st, d), m) for m in ours_m), (d, ours_m)
    # the tables above run every method of every univariate distribution
    tabled = {(p.values[0].name, p.values[1]) for p in cases() + cases(moments=True)}
    offered = {(d, m) for d in SPEC for m in getattr(stats_module, d).methods}
    assert tabled == offered
