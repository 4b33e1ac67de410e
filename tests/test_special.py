"""chainrule.scipy.special: the primitive table of prims/special.py, then every public function
against SciPy (values, dtypes, large/small arguments), finite differences (check_grads order 2,
forward and reverse), vmap vs a loop, jit vs eager; the parameter derivatives of the incomplete
gamma/beta functions and of zeta against finite differences of SciPy; the safe forms at 0.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sps

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.prims.special as PS
import chainrule.scipy.special as csp
from chainrule.test_util import check_grads
from primtable import Row, S, SB, normal, unif, away0, offint, args_of, coverage_test
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)


# --- references for the derivative primitives: finite differences of SciPy --------------------

def _fd(f, x, h, order):
    """Five-point central differences of f at x (first or second derivative)."""
    if order == 1:
        return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)
    return (-f(x - 2 * h) + 16 * f(x - h) - 30 * f(x) + 16 * f(x + h) - f(x + 2 * h)) \
        / (12 * h * h)


def _out_dt(*args):
    dt = np.result_type(*args)
    return dt if dt.kind == "f" else np.dtype(np.float64)


def _igamma_da_ref(k, upper):
    fn = sps.gammaincc if upper else sps.gammainc

    def ref(a, x):
        a64, x64 = np.asarray(a, np.float64), np.asarray(x, np.float64)
        h = 1e-3 * (1 + a64)
        return _fd(lambda t: fn(t, x64), a64, h, k).astype(_out_dt(a, x))
    return ref


def _betainc_dab_ref(i, j):
    """Finite differences of SciPy's betainc: d/da ((i, j) = (1, 0)) or d2/da db ((1, 1))."""
    def ref(a, b, x):
        a64, b64, x64 = (np.asarray(v, np.float64) for v in (a, b, x))
        if j == 0:
            val = _fd(lambda t: sps.betainc(t, b64, x64), a64, 1e-3, i)
        else:
            h = 1e-3
            val = (sps.betainc(a64 + h, b64 + h, x64) - sps.betainc(a64 + h, b64 - h, x64)
                   - sps.betainc(a64 - h, b64 + h, x64)
                   + sps.betainc(a64 - h, b64 - h, x64)) / (4 * h * h)
        return val.astype(_out_dt(a, b, x))
    return ref


def _zeta_dx_ref(x, q):
    x64, q64 = np.asarray(x, np.float64), np.asarray(q, np.float64)
    return _fd(lambda t: sps.zeta(t, q64), x64, 1e-3, 1).astype(_out_dt(x, q))


def _cast_ref(fn):
    """SciPy's function, with the NEP 50 result dtype (float32 in, float32 out)."""
    def ref(*args):
        return np.asarray(fn(*args)).astype(_out_dt(*args))
    return ref


def _riemann_args(rng):
    # both sides of the pole at 1, including negative x (the analytic continuation)
    return (np.where(rng.random(S) < 0.5, rng.uniform(-3.0, 0.7, S), rng.uniform(1.5, 5.0, S)),)


def unary(prim, ref, make, **kw):
    return Row(prim, args_of(make), ref, {}, (0,), **kw)


_FD_TOL = {"float64": dict(rtol=1e-7, atol=1e-9)}

ALL_ROWS = [
    unary(PS.gamma_p, sps.gamma, offint()),
    unary(PS.loggamma_p, sps.loggamma, unif(0.3, 5.0)),
    Row(PS.beta_p, args_of(unif(0.5, 3.0), unif(0.5, 3.0, SB)), sps.beta, diff=(0, 1)),
    Row(PS.betaln_p, args_of(unif(0.5, 3.0), unif(0.5, 30.0, SB)), sps.betaln, diff=(0, 1)),
    unary(PS.erfcx_p, sps.erfcx, normal()),
    unary(PS.ndtri_p, sps.ndtri, unif(0.05, 0.95)),
    unary(PS.log_ndtr_p, sps.log_ndtr, unif(-8.0, 4.0)),
    unary(PS.expi_p, sps.expi, away0()),
    unary(PS.exp1_p, sps.exp1, unif(0.3, 3.0)),
    unary(PS.i0_p, sps.i0, normal()),
    unary(PS.i0e_p, sps.i0e, away0()),
    unary(PS.i1_p, sps.i1, normal()),
    unary(PS.i1e_p, sps.i1e, away0()),
    unary(PS.j0_p, sps.j0, normal()),
    unary(PS.j1_p, sps.j1, normal()),
    unary(PS.y0_p, sps.y0, unif(0.5, 5.0)),
    unary(PS.y1_p, sps.y1, unif(0.5, 5.0)),
    # the incomplete gamma functions: x on both sides of a + 1 (series and continued fraction)
    Row(PS.gammainc_p, args_of(unif(0.5, 4.0), unif(0.1, 7.0, SB)), _cast_ref(sps.gammainc),
        diff=(0, 1)),
    Row(PS.gammaincc_p, args_of(unif(0.5, 4.0), unif(0.1, 7.0, SB)), _cast_ref(sps.gammaincc),
        diff=(0, 1)),
    Row(PS.igamma_da_p, args_of(unif(0.5, 4.0), unif(0.1, 7.0, SB)), _igamma_da_ref(1, False),
        {"k": 1, "upper": False}, (0, 1), value_tol=_FD_TOL, case="P"),
    Row(PS.igamma_da_p, args_of(unif(0.5, 4.0), unif(0.1, 7.0, SB)), _igamma_da_ref(1, True),
        {"k": 1, "upper": True}, (0, 1), value_tol=_FD_TOL, case="Q"),
    Row(PS.igamma_da_p, args_of(unif(0.5, 4.0), unif(0.1, 7.0, SB)), _igamma_da_ref(2, False),
        {"k": 2, "upper": False}, (0, 1), value_tol={"float64": dict(rtol=1e-6, atol=1e-8)},
        case="P-k2"),
    # the incomplete beta function: x on both sides of (a+1)/(a+b+2) (direct and swapped); the
    # derivative in b alone is checked against SciPy in test_betainc_dab_vs_scipy
    Row(PS.betainc_p, args_of(unif(0.5, 4.0), unif(0.5, 4.0, SB), unif(0.05, 0.95, SB)),
        _cast_ref(sps.betainc), diff=(0, 1, 2)),
    Row(PS.betainc_dab_p, args_of(unif(0.5, 4.0), unif(0.5, 4.0, SB), unif(0.05, 0.95, SB)),
        _betainc_dab_ref(1, 0), {"i": 1, "j": 0}, (0, 1, 2), value_tol=_FD_TOL, case="a"),
    Row(PS.betainc_dab_p, args_of(unif(0.5, 4.0), unif(0.5, 4.0, SB), unif(0.05, 0.95, SB)),
        _betainc_dab_ref(1, 1), {"i": 1, "j": 1}, (0, 1, 2),
        value_tol={"float64": dict(rtol=1e-5, atol=1e-7)}, case="ab"),
    # zeta
    Row(PS.zeta_p, args_of(unif(1.5, 5.0), unif(0.5, 3.0, SB)), _cast_ref(sps.zeta),
        diff=(0, 1)),
    Row(PS.zeta_dx_p, args_of(unif(1.5, 5.0), unif(0.5, 3.0, SB)), _zeta_dx_ref, {"k": 1},
        (0, 1), value_tol=_FD_TOL),
    Row(PS.riemann_zeta_p, _riemann_args, sps.zeta, diff=(0,)),
]

test_coverage = coverage_test(ALL_ROWS, module="chainrule.prims.special")


# --- every public name ---------------------------------------------------------------------------

NAMES = ("gamma gammaln loggamma digamma polygamma beta betaln betainc gammainc gammaincc erf "
         "erfc erfinv erfcx ndtr ndtri log_ndtr expit logit logsumexp softmax log_softmax xlogy "
         "xlog1py entr rel_entr kl_div i0 i0e i1 i1e j0 j1 y0 y1 multigammaln zeta sinc expi "
         "exp1").split()


def test_every_name_exists():
    missing = [n for n in NAMES if not callable(getattr(csp, n, None))]
    assert not missing, f"chainrule.scipy.special lacks {missing}"
    assert set(NAMES) <= set(csp.__all__)


# --- the public functions: one case per function (arguments on a smooth domain) ------------------

def _u(lo, hi, shape=(5,)):
    return lambda rng: rng.uniform(lo, hi, shape)


def _logsumexp_b(a, b):
    return csp.logsumexp(a, axis=1, b=b)


def _logsumexp_sign(a, b):
    out, sign = csp.logsumexp(a, axis=0, b=b, return_sign=True)
    return out * sign


def _sps_logsumexp_sign(a, b):
    out, sign = sps.logsumexp(a, axis=0, b=b, return_sign=True)
    return out * sign


# name, our function, SciPy's, argument makers, differentiable argument positions
CASES = [
    ("gamma", csp.gamma, sps.gamma, [_u(-2.8, -2.2)], (0,)),
    ("gamma+", csp.gamma, sps.gamma, [_u(0.5, 5.0)], (0,)),
    ("gammaln", csp.gammaln, sps.gammaln, [_u(0.5, 20.0)], (0,)),
    ("loggamma", csp.loggamma, sps.loggamma, [_u(0.5, 20.0)], (0,)),
    ("digamma", csp.digamma, sps.digamma, [_u(0.5, 5.0)], (0,)),
    ("polygamma", lambda x: csp.polygamma(2, x), lambda x: sps.polygamma(2, x),
     [_u(0.5, 5.0)], (0,)),
    ("multigammaln", lambda a: csp.multigammaln(a, 3), lambda a: sps.multigammaln(a, 3),
     [_u(1.5, 6.0)], (0,)),
    ("beta", csp.beta, sps.beta, [_u(0.5, 4.0), _u(0.5, 4.0)], (0, 1)),
    ("betaln", csp.betaln, sps.betaln, [_u(0.5, 40.0), _u(0.5, 40.0)], (0, 1)),
    ("betainc", csp.betainc, sps.betainc, [_u(0.5, 5.0), _u(0.5, 5.0), _u(0.05, 0.95)],
     (0, 1, 2)),
    ("gammainc", csp.gammainc, sps.gammainc, [_u(0.5, 5.0), _u(0.1, 8.0)], (0, 1)),
    ("gammaincc", csp.gammaincc, sps.gammaincc, [_u(0.5, 5.0), _u(0.1, 8.0)], (0, 1)),
    ("erf", csp.erf, sps.erf, [_u(-2.0, 2.0)], (0,)),
    ("erfc", csp.erfc, sps.erfc, [_u(-2.0, 2.0)], (0,)),
    ("erfinv", csp.erfinv, sps.erfinv, [_u(-0.8, 0.8)], (0,)),
    ("erfcx", csp.erfcx, sps.erfcx, [_u(-2.0, 10.0)], (0,)),
    ("ndtr", csp.ndtr, sps.ndtr, [_u(-5.0, 5.0)], (0,)),
    ("ndtri", csp.ndtri, sps.ndtri, [_u(0.02, 0.98)], (0,)),
    ("log_ndtr", csp.log_ndtr, sps.log_ndtr, [_u(-30.0, 6.0)], (0,)),
    ("expit", csp.expit, sps.expit, [_u(-5.0, 5.0)], (0,)),
    ("logit", csp.logit, sps.logit, [_u(0.05, 0.95)], (0,)),
    ("log_expit", csp.log_expit, sps.log_expit, [_u(-30.0, 30.0)], (0,)),
    ("logsumexp", lambda a: csp.logsumexp(a, axis=1), lambda a: sps.logsumexp(a, axis=1),
     [_u(-3.0, 3.0, (3, 4))], (0,)),
    ("logsumexp-b", _logsumexp_b, lambda a, b: sps.logsumexp(a, axis=1, b=b),
     [_u(-3.0, 3.0, (3, 4)), _u(0.5, 2.0, (4,))], (0, 1)),
    ("logsumexp-sign", _logsumexp_sign, _sps_logsumexp_sign,
     [_u(-3.0, 3.0, (3, 4)), lambda rng: np.array([[-1.0], [0.2], [0.3]])], (0, 1)),
    ("softmax", lambda x: csp.softmax(x, axis=0), lambda x: sps.softmax(x, axis=0),
     [_u(-3.0, 3.0, (3, 4))], (0,)),
    ("log_softmax", lambda x: csp.log_softmax(x, axis=-1),
     lambda x: sps.log_softmax(x, axis=-1), [_u(-3.0, 3.0, (3, 4))], (0,)),
    ("xlogy", csp.xlogy, sps.xlogy, [_u(-2.0, 2.0), _u(0.2, 3.0)], (0, 1)),
    ("xlog1py", csp.xlog1py, sps.xlog1py, [_u(-2.0, 2.0), _u(-0.8, 3.0)], (0, 1)),
    ("entr", csp.entr, sps.entr, [_u(0.1, 3.0)], (0,)),
    ("rel_entr", csp.rel_entr, sps.rel_entr, [_u(0.1, 3.0), _u(0.1, 3.0)], (0, 1)),
    ("kl_div", csp.kl_div, sps.kl_div, [_u(0.1, 3.0), _u(0.1, 3.0)], (0, 1)),
    ("i0", csp.i0, sps.i0, [_u(-4.0, 4.0)], (0,)),
    ("i0e", csp.i0e, sps.i0e, [_u(0.2, 30.0)], (0,)),
    ("i1", csp.i1, sps.i1, [_u(-4.0, 4.0)], (0,)),
    ("i1e", csp.i1e, sps.i1e, [_u(-30.0, -0.2)], (0,)),
    ("j0", csp.j0, sps.j0, [_u(-10.0, 10.0)], (0,)),
    ("j1", csp.j1, sps.j1, [_u(-10.0, 10.0)], (0,)),
    ("y0", csp.y0, sps.y0, [_u(0.3, 10.0)], (0,)),
    ("y1", csp.y1, sps.y1, [_u(0.3, 10.0)], (0,)),
    ("zeta", csp.zeta, sps.zeta, [_u(1.5, 6.0)], (0,)),
    ("zeta-neg", csp.zeta, sps.zeta, [_u(-4.0, 0.8)], (0,)),
    ("zeta-hurwitz", csp.zeta, sps.zeta, [_u(1.5, 6.0), _u(0.3, 4.0)], (0, 1)),
    ("sinc", csp.sinc, np.sinc, [_u(-2.0, 2.0)], (0,)),
    ("expi", csp.expi, sps.expi, [_u(0.3, 5.0)], (0,)),
    ("exp1", csp.exp1, sps.exp1, [_u(0.1, 5.0)], (0,)),
]


def _case_args(makers, seed):
    rng = np.random.default_rng(seed)
    return [m(rng) for m in makers]


def _cases(pred=lambda c: True):
    return [pytest.param(c, id=c[0]) for c in CASES if pred(c)]


@pytest.mark.parametrize("case", _cases())
def test_public_value(case):
    name, fn, ref, makers, _ = case
    args = _case_args(makers, 0)
    out = fn(*args)
    assert isinstance(out, np.ndarray)
    want = np.asarray(ref(*args))
    assert out.dtype == want.dtype and out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", _cases())
def test_public_float32(case):
    name, fn, ref, makers, _ = case
    args = [a.astype(np.float32) for a in _case_args(makers, 0)]
    out = fn(*args)
    assert out.dtype == np.float32, f"{name}: float32 in gives {out.dtype}"
    np.testing.assert_allclose(out, np.asarray(ref(*args), np.float64), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("case", _cases(lambda c: c[4]))
def test_public_grads(case):
    name, fn, ref, makers, diff = case
    args = _case_args(makers, 1)

    def f(*d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return fn(*full)
    check_grads(f, [args[i] for i in diff], order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("case", _cases())
def test_public_vmap(case):
    name, fn, ref, makers, diff = case
    examples = [_case_args(makers, s) for s in range(3)]
    stacked = [np.stack(col) for col in zip(*examples)]
    got = cr.vmap(fn)(*stacked)
    want = np.stack([fn(*e) for e in examples])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    if diff:
        # vmap of the gradient in the first differentiable argument
        i = diff[0]

        def g(*a):
            def s(v):
                full = list(a)
                full[i] = v
                return cnp.sum(fn(*full))
            return cr.grad(s)(a[i])
        got = cr.vmap(g)(*stacked)
        want = np.stack([g(*e) for e in examples])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", _cases())
def test_public_jit(case):
    name, fn, ref, makers, diff = case
    args = _case_args(makers, 2)
    want = fn(*args)
    got = cr.jit(fn)(*args)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    if diff:
        i = diff[0]

        def s(*a):
            return cnp.sum(fn(*a))
        np.testing.assert_allclose(cr.jit(cr.grad(s, argnums=i))(*args),
                                   cr.grad(s, argnums=i)(*args), rtol=1e-12, atol=1e-14)


def test_python_scalars_keep_float32():
    x = np.linspace(0.1, 0.9, 4, dtype=np.float32)
    for out in (csp.betainc(2.0, 3.0, x), csp.gammainc(2.5, x), csp.beta(x, 0.5),
                csp.betaln(0.5, x), csp.gammaincc(x, 1.0), csp.zeta(x + 1.5, 0.5),
                cr.jit(lambda v: csp.betainc(2.0, v, 0.3))(x)):
        assert out.dtype == np.float32
    assert csp.gamma(np.arange(1, 5)).dtype == np.float64   # integers give float64


def test_complex_values():
    z = np.array([0.5 + 1.0j, -1.5 + 0.2j, 3.0 - 2.0j])
    for name in ("gamma", "loggamma", "digamma", "erf", "erfc", "erfcx", "log_ndtr", "expi",
                 "exp1", "zeta"):
        fn, ref = getattr(csp, name), getattr(sps, name)
        np.testing.assert_allclose(fn(z), ref(z), rtol=1e-13, err_msg=name)
        np.testing.assert_allclose(cr.jit(fn)(z), ref(z), rtol=1e-13, err_msg=name)
        z64 = z.astype(np.complex64)
        assert fn(z64).dtype == np.complex64, name
    # first derivatives in the complex plane (holomorphic), against central differences
    for name in ("gamma", "loggamma", "erf", "erfc", "erfcx", "expi", "exp1"):
        fn = getattr(csp, name)
        g = cr.grad(fn, holomorphic=True)(z[0])
        h = 1e-6
        np.testing.assert_allclose(g, (fn(z[0] + h) - fn(z[0] - h)) / (2 * h), rtol=1e-8,
                                   err_msg=name)
    g = cr.grad(csp.gamma, holomorphic=True)(z[0])
    np.testing.assert_allclose(g, sps.gamma(z[0]) * sps.digamma(z[0]), rtol=1e-13)


# --- values at large and small arguments (stability) ---------------------------------------------

STABLE = [
    ("gammaln", csp.gammaln, sps.gammaln, [np.array([1e-300, 1e-8, 1e5, 1e15, 1e300])]),
    ("loggamma", csp.loggamma, sps.loggamma, [np.array([1e-300, 1e5, 1e300])]),
    ("betaln", csp.betaln, sps.betaln, [np.array([1e3, 1e8, 1e-5]), np.array([1e4, 3.0, 1e-5])]),
    ("erfcx", csp.erfcx, sps.erfcx, [np.array([-25.0, 30.0, 1e5, 1e300])]),
    ("log_ndtr", csp.log_ndtr, sps.log_ndtr, [np.array([-1e5, -40.0, -10.0, 10.0, 40.0])]),
    ("ndtr", csp.ndtr, sps.ndtr, [np.array([-37.0, -20.0, -8.0, 0.0, 8.0])]),
    ("ndtri", csp.ndtri, sps.ndtri, [np.array([1e-300, 1e-20, 1 - 1e-12])]),
    ("expit", csp.expit, sps.expit, [np.array([-800.0, -40.0, 40.0, 800.0])]),
    ("log_expit", csp.log_expit, sps.log_expit, [np.array([-800.0, -40.0, 40.0, 800.0])]),
    ("logit", csp.logit, sps.logit, [np.array([1e-300, 1e-10, 1 - 1e-10])]),
    ("i0e", csp.i0e, sps.i0e, [np.array([-700.0, 1e5, 1e300])]),
    ("i1e", csp.i1e, sps.i1e, [np.array([-700.0, 1e5])]),
    ("exp1", csp.exp1, sps.exp1, [np.array([1e-300, 700.0])]),
    ("expi", csp.expi, sps.expi, [np.array([-700.0, 1e-300, 700.0])]),
    ("gammainc", csp.gammainc, sps.gammainc, [np.array([1e-3, 1e4, 2.0]),
                                             np.array([1e-5, 1e4, 60.0])]),
    ("gammaincc", csp.gammaincc, sps.gammaincc, [np.array([1e-3, 1e4, 2.0]),
                                               np.array([1e-5, 1e4, 60.0])]),
    ("betainc", csp.betainc, sps.betainc, [np.array([1e-3, 500.0, 2.0]),
                                          np.array([2.0, 500.0, 1e3]),
                                          np.array([1e-8, 0.5, 0.9])]),
    ("zeta", csp.zeta, sps.zeta, [np.array([1.0 + 1e-10, 60.0, -30.5])]),
    ("logsumexp", lambda a: csp.logsumexp(a, axis=0), lambda a: sps.logsumexp(a, axis=0),
     [np.array([[1e300, -np.inf, 710.0], [1e300, -np.inf, -710.0]])]),
    ("softmax", lambda a: csp.softmax(a, axis=0), lambda a: sps.softmax(a, axis=0),
     [np.array([[1000.0, -1000.0, 0.0], [999.0, -1e4, -np.inf]])]),
    ("log_softmax", lambda a: csp.log_softmax(a, axis=0), lambda a: sps.log_softmax(a, axis=0),
     [np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1e4, -np.inf]])]),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in STABLE])
def test_stable_values(case):
    name, fn, ref, args = case
    with np.errstate(all="ignore"):
        out, want = fn(*args), ref(*args)
    assert np.all(np.isfinite(out) == np.isfinite(want)), (out, want)
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=0)


def test_special_values_match_scipy():
    """Edge inputs (0, negative, inf, NaN) give SciPy's values, signed zeros included."""
    x = np.array([0.0, 0.0, 1.0, np.nan, -1.0, 2.0, np.inf, 0.0, 0.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, np.inf, 1.0, -1.0, np.nan])
    with np.errstate(all="ignore"):
        for name in ("xlogy", "xlog1py", "rel_entr", "kl_div"):
            got, want = getattr(csp, name)(x, y), getattr(sps, name)(x, y)
            np.testing.assert_array_equal(got, want, err_msg=name)
            assert np.array_equal(np.signbit(got), np.signbit(want)), name
        for name in ("entr", "ndtr", "log_ndtr", "erfcx", "gamma", "gammaln", "expit", "logit"):
            got, want = getattr(csp, name)(x), getattr(sps, name)(x)
            np.testing.assert_allclose(got, want, rtol=1e-15, equal_nan=True, err_msg=name)


# --- parameter derivatives of the incomplete gamma and beta functions vs SciPy -----------------

def _d(f, argnum, order=1):
    """The order-th elementwise derivative of (elementwise) f in argument argnum."""
    for _ in range(order):
        f = _grad_of_sum(f, argnum)
    return f


def _grad_of_sum(f, argnum):
    def g(*args):
        return cr.grad(lambda *b: cnp.sum(f(*b)), argnums=argnum)(*args)
    return g


IGAMMA_GRID = [  # (a, x): both algorithms, small and large a, the far upper tail
    (0.05, 0.01), (0.05, 3.0), (0.5, 0.2), (0.5, 4.0), (1.0, 1.0), (2.0, 0.5), (2.0, 50.0),
    (7.5, 6.5), (7.5, 9.0), (30.0, 25.0), (30.0, 40.0), (150.0, 140.0), (1000.0, 1030.0),
]


@pytest.mark.parametrize("fn,ref", [(csp.gammainc, sps.gammainc),
                                    (csp.gammaincc, sps.gammaincc)], ids=["P", "Q"])
def test_igamma_da_vs_scipy(fn, ref):
    a, x = (np.array(v) for v in zip(*IGAMMA_GRID))
    h = 1e-4 * a
    want = _fd(lambda t: ref(t, x), a, h, 1)
    got = _d(fn, 0)(a, x)
    # relative accuracy, also where Q is tiny (a = 2, x = 50: Q ~ 1e-20; SciPy's P rounds to 1
    # there, so its differences are 0)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-15 if fn is csp.gammainc else 0)
    want2 = _fd(lambda t: ref(t, x), a, 1e-2 * np.minimum(a, np.sqrt(a)), 2)
    got2 = _d(fn, 0, 2)(a, x)
    np.testing.assert_allclose(got2, want2, rtol=2e-5, atol=1e-12)
    # the mixed second derivative d2/da dx: FD of SciPy's derivative in x (the density)
    dens = lambda t: np.exp((t - 1) * np.log(x) - x - sps.gammaln(t))  # noqa: E731
    sign = 1.0 if fn is csp.gammainc else -1.0
    got_ax = _d(_d(fn, 0), 1)(a, x)
    np.testing.assert_allclose(got_ax, sign * _fd(dens, a, h, 1), rtol=1e-7, atol=1e-300)


BETAINC_GRID = [  # (a, b, x)
    (0.1, 0.1, 0.3), (0.1, 5.0, 0.01), (0.5, 0.5, 0.5), (1.0, 1.0, 0.7), (2.0, 3.0, 0.2),
    (2.0, 3.0, 0.8), (5.0, 0.3, 0.999), (20.0, 30.0, 0.4), (200.0, 300.0, 0.41),
    (500.0, 2.0, 0.995), (3.0, 400.0, 0.002),
]


def test_betainc_dab_vs_scipy():
    a, b, x = (np.array(v) for v in zip(*BETAINC_GRID))
    for argnum, shift in ((0, lambda t: sps.betainc(t, b, x)),
                          (1, lambda t: sps.betainc(a, t, x))):
        base = (a, b)[argnum]
        want = _fd(shift, base, 1e-4 * base, 1)
        got = _d(csp.betainc, argnum)(a, b, x)
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-13)
        want2 = _fd(shift, base, 1e-2 * base, 2)
        got2 = _d(csp.betainc, argnum, 2)(a, b, x)
        np.testing.assert_allclose(got2, want2, rtol=5e-5, atol=1e-9)
    ha, hb = 1e-3 * a, 1e-3 * b
    mixed = (sps.betainc(a + ha, b + hb, x) - sps.betainc(a + ha, b - hb, x)
             - sps.betainc(a - ha, b + hb, x) + sps.betainc(a - ha, b - hb, x)) / (4 * ha * hb)
    got = _d(_d(csp.betainc, 0), 1)(a, b, x)
    np.testing.assert_allclose(got, mixed, rtol=1e-4, atol=1e-8)


def test_incomplete_parameter_derivatives_at_edges():
    # P(a, 0) = 0 and P(a, inf) = 1 for every a: derivative 0; outside the domain: NaN
    a = np.array([0.5, 2.0, 3.0, -1.0])
    x = np.array([0.0, np.inf, 2.0, 2.0])
    g = _d(csp.gammainc, 0)(a, x)
    assert g[0] == 0 and g[1] == 0 and np.isfinite(g[2]) and np.isnan(g[3])
    g = _d(csp.betainc, 0)(np.array([2.0, 2.0, 2.0]), 3.0, np.array([0.0, 1.0, 1.5]))
    assert g[0] == 0 and g[1] == 0 and np.isnan(g[2])
    # the exponential distribution's cdf (a = 1 exactly): d2/da dx keeps its log(x) term
    x = np.array([0.5, 2.0])
    got = _d(_d(csp.gammainc, 1), 0)(np.ones(2), x)
    np.testing.assert_allclose(got, np.exp(-x) * (np.log(x) - sps.digamma(1.0)), rtol=1e-12)


def test_zeta_derivatives_vs_scipy():
    x = np.array([1.1, 1.5, 2.0, 3.7, 10.0, 40.0])
    q = np.array([0.2, 1.0, 0.5, 3.0, 1.5, 10.0])
    want = _fd(lambda t: sps.zeta(t, q), x, 1e-4, 1)
    np.testing.assert_allclose(_d(csp.zeta, 0)(x, q), want, rtol=1e-8)
    want = _fd(lambda t: sps.zeta(x, t), q, 1e-4 * q, 1)
    np.testing.assert_allclose(_d(csp.zeta, 1)(x, q), want, rtol=1e-8)
    np.testing.assert_allclose(_d(csp.zeta, 1)(x, q), -x * sps.zeta(x + 1, q), rtol=1e-14)
    want2 = _fd(lambda t: sps.zeta(t, q), x, 1e-2 * np.minimum(1.0, x - 1), 2)
    np.testing.assert_allclose(_d(csp.zeta, 0, 2)(x, q), want2, rtol=1e-6)
    # Riemann zeta on both sides of the pole, negative x included
    xr = np.array([-8.5, -3.3, -0.5, 0.0, 0.5, 0.9, 1.2, 2.0, 5.0])
    np.testing.assert_allclose(_d(csp.zeta, 0)(xr), _fd(sps.zeta, xr, 1e-4, 1), rtol=1e-8)
    # zeta'(0) = -log(2 pi) / 2
    assert abs(_d(csp.zeta, 0)(np.array([0.0]))[0] + 0.5 * math.log(2 * math.pi)) < 1e-12


# --- closed-form derivatives where stability matters --------------------------------------------

def test_log_ndtr_derivative_stable():
    x = np.array([-1e4, -300.0, -40.0, -8.0, 0.0, 5.0, 40.0, 300.0])
    g = _d(csp.log_ndtr, 0)(x)
    h = _d(csp.log_ndtr, 0, 2)(x)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    # asymptotically phi(x)/Phi(x) = -x / (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...) for x -> -inf
    xn = x[:3]
    series = sum(c * xn ** (-2.0 * j) for j, c in enumerate([1, -1, 3, -15, 105, -945, 10395]))
    np.testing.assert_allclose(g[:3], -xn / series, rtol=1e-13)
    np.testing.assert_allclose(g[4], math.sqrt(2 / math.pi), rtol=1e-15)  # phi(0)/Phi(0)
    np.testing.assert_allclose(g[5], np.exp(-12.5) / math.sqrt(2 * math.pi) / sps.ndtr(5.0),
                               rtol=1e-13)
    assert g[-2] == 0.0 and g[-1] == 0.0  # phi(x)/Phi(x) < 1e-340 underflows
    # d2/dx2 log Phi = -g (x + g), finite everywhere
    np.testing.assert_allclose(h, -g * (x + g), rtol=1e-8, atol=1e-300)


def test_closed_form_derivatives():
    x = np.array([-3.0, -0.5, 0.7, 4.0, 25.0])
    np.testing.assert_allclose(_d(csp.erfcx, 0)(x), 2 * x * sps.erfcx(x) - 2 / math.sqrt(math.pi),
                               rtol=1e-12)
    np.testing.assert_allclose(_d(csp.i0e, 0)(x), sps.i1e(x) - np.sign(x) * sps.i0e(x),
                               rtol=1e-12)
    p = np.array([1e-10, 0.3, 0.99])
    np.testing.assert_allclose(_d(csp.ndtri, 0)(p),
                               np.sqrt(2 * np.pi) * np.exp(sps.ndtri(p) ** 2 / 2), rtol=1e-12)
    # Bessel derivatives at 0: I1'(0) = J1'(0) = 1/2, I0'(0) = 0, and finite second derivatives
    z = np.zeros(1)
    for fn, d1 in ((csp.i1, 0.5), (csp.j1, 0.5), (csp.i1e, 0.5), (csp.i0, 0.0), (csp.j0, 0.0)):
        assert _d(fn, 0)(z)[0] == d1
        assert np.isfinite(_d(fn, 0, 2)(z)[0])
    np.testing.assert_allclose(_d(csp.i0, 0, 2)(z), [0.5])   # I0''(0) = 1/2
    np.testing.assert_allclose(_d(csp.j0, 0, 2)(z), [-0.5])  # J0''(0) = -1/2


# --- the safe forms at x == 0 --------------------------------------------------------------------

def _all_grads(fn, *args):
    """First and second derivatives (grad, and the hessian diagonal blocks) of sum(fn)."""
    s = lambda *a: cnp.sum(fn(*a))  # noqa: E731
    n = len(args)
    g = cr.grad(s, argnums=tuple(range(n)))(*args)
    h = cr.hessian(s, argnums=tuple(range(n)))(*args)
    return g, h


def test_safe_functions_finite_at_zero():
    y = np.array([0.0, 0.5, 2.0])
    x = np.zeros(3)
    for fn in (csp.xlogy, csp.xlog1py, csp.rel_entr, csp.kl_div):
        g, h = _all_grads(fn, x, y)
        flat = [np.asarray(v) for v in g] + [np.asarray(v) for row in h for v in row]
        assert all(np.all(np.isfinite(v)) for v in flat), fn.__name__
    g, h = _all_grads(csp.entr, x)
    assert np.all(g[0] == 0) and np.all(np.isfinite(h[0][0]))
    # xlogy is smooth in x at x == 0 (y > 0): the derivative there is log(y)
    gx, gy = cr.grad(lambda a, b: cnp.sum(csp.xlogy(a, b)), argnums=(0, 1))(x[1:], y[1:])
    np.testing.assert_allclose(gx, np.log(y[1:]))
    assert np.all(gy == 0)
    gx, gy = cr.grad(lambda a, b: cnp.sum(csp.xlog1py(a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.log1p(y))
    # at x == 0 the divergences' derivatives in x are 0 and kl_div's in y is 1
    gx, gy = cr.grad(lambda a, b: cnp.sum(csp.kl_div(a, b)), argnums=(0, 1))(x, y)
    assert np.all(gx == 0) and np.all(gy == 1)
    # cross entropy with zero probabilities: finite gradient, the terms with p == 0 vanish
    p = np.array([0.0, 0.3, 0.7])
    q = np.array([0.0, 0.5, 0.5])
    g = cr.grad(lambda q: -cnp.sum(csp.xlogy(p, q)))(q)
    np.testing.assert_allclose(g, [0.0, -0.6, -1.4])


def test_logsumexp_options_vs_scipy():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 4)) * 50
    b = rng.uniform(-1.0, 1.0, (3, 1))
    for kw in (dict(), dict(axis=1), dict(axis=(0, 2)), dict(axis=-1, keepdims=True),
               dict(axis=None, keepdims=True), dict(axis=0, b=np.abs(b[:, 0])[:, None]),
               dict(axis=2, b=b, return_sign=True), dict(b=b, return_sign=True, keepdims=True)):
        got, want = csp.logsumexp(a, **kw), sps.logsumexp(a, **kw)
        for g, w in zip(*((got, want) if kw.get("return_sign") else ((got,), (want,)))):
            assert np.shape(g) == np.shape(w), kw
            np.testing.assert_allclose(g, w, rtol=1e-13, err_msg=str(kw))
    # b == 0 masks an infinite entry; all -inf gives -inf with a finite (zero) gradient
    assert csp.logsumexp([np.inf, 1.0], b=[0.0, 1.0]) == 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = cr.grad(lambda v: csp.logsumexp(v))(np.array([-np.inf, -np.inf]))
    assert np.all(g == 0)
    # huge inputs: gradient = softmax, finite
    v = np.array([1e4, 1e4 + math.log(3.0)])
    np.testing.assert_allclose(cr.grad(lambda v: csp.logsumexp(v))(v), [0.25, 0.75])
    jac = cr.jacfwd(lambda v: csp.softmax(v))(v)
    np.testing.assert_allclose(jac, [[0.1875, -0.1875], [-0.1875, 0.1875]], atol=1e-15)


def test_polygamma_orders_and_errors():
    x = np.array([0.5, 1.5, 3.0])
    np.testing.assert_allclose(csp.polygamma(np.array([0, 1, 3]), x),
                               sps.polygamma(np.array([0, 1, 3]), x), rtol=1e-13)
    np.testing.assert_allclose(csp.polygamma(0, x), sps.digamma(x), rtol=1e-14)
    with pytest.raises(ValueError, match="non-negative integer"):
        csp.polygamma(-1, x)
    with pytest.raises(ValueError, match="non-negative integer"):
        csp.polygamma(1.5, x)


def test_multigammaln_errors():
    with pytest.raises(ValueError, match="positive integer"):
        csp.multigammaln(3.0, 1.5)
    with pytest.raises(ValueError, match=r"0.5 \* \(d-1\)"):
        csp.multigammaln(np.array([0.9, 3.0]), 3)


def test_incomplete_functions_finite_at_the_support_boundary():
    # P(a, x) at x == 0 and I_x(a, b) at x == 0 and 1 (a, b > 1): every first and second
    # derivative is finite (0 * log(0) terms are taken as their limit 0)
    with np.errstate(all="ignore"):
        g, h = _all_grads(csp.gammainc, np.array([2.0, 3.5]), np.zeros(2))
    assert all(np.all(np.isfinite(v)) for v in list(g) + [v for row in h for v in row])
    np.testing.assert_array_equal(g[0], 0.0)
    np.testing.assert_array_equal(g[1], 0.0)
    with np.errstate(all="ignore"):
        g, h = _all_grads(csp.betainc, np.array([2.0, 3.0]), np.array([2.5, 2.0]),
                          np.array([0.0, 1.0]))
    assert all(np.all(np.isfinite(v)) for v in list(g) + [v for row in h for v in row])
    np.testing.assert_array_equal(g[2], 0.0)
