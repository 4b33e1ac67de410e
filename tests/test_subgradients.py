"""The documented derivative at every kink (docs/subgradients.md), and safe masking.

At each kink: the first and second derivatives in forward mode, reverse mode and both mixes
equal the documented values, also under jit and vmap; finite differences agree just off the
kink; and for continuous kinks the documented value lies between the one-sided slopes.
"""
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads

INF = math.inf


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def d1_all(f, x):
    """f'(x) four ways: grad, jvp, grad under jit, jit of grad."""
    return {"rev": cr.grad(f)(x), "fwd": cr.jvp(f, (x,), (1.0,))[1],
            "grad(jit)": cr.grad(cr.jit(f))(x), "jit(grad)": cr.jit(cr.grad(f))(x)}


def d2_all(f, x):
    """f''(x) in every combination of modes, and under jit."""
    fwd = lambda y: cr.jvp(f, (y,), (1.0,))[1]  # noqa: E731
    return {"rev-rev": cr.grad(cr.grad(f))(x), "fwd-fwd": cr.jvp(fwd, (x,), (1.0,))[1],
            "fwd-rev": cr.jvp(cr.grad(f), (x,), (1.0,))[1], "rev-fwd": cr.grad(fwd)(x),
            "jit(rev-rev)": cr.jit(cr.grad(cr.grad(f)))(x),
            "rev-rev(jit)": cr.grad(cr.grad(cr.jit(f)))(x)}


def assert_all(values: dict, want, what):
    for how, v in values.items():
        v = np.asarray(v)
        assert v.shape == () and v.dtype == np.float64, (what, how, v)
        assert v == want or (np.isnan(want) and np.isnan(v)), f"{what} by {how}: {v} != {want}"


# (name, f, kink, documented f', documented f'')
KINKS = [
    ("abs at 0", cnp.abs, 0.0, 0.0, 0.0),
    ("fabs at 0", cnp.fabs, 0.0, 0.0, 0.0),
    ("sign at 0", cnp.sign, 0.0, 0.0, 0.0),
    ("maximum(x, 0) at 0 (relu)", lambda x: cnp.maximum(x, 0.0), 0.0, 0.5, 0.0),
    ("maximum(0, x) at 0", lambda x: cnp.maximum(0.0, x), 0.0, 0.5, 0.0),
    ("minimum(x, 1) at 1", lambda x: cnp.minimum(x, 1.0), 1.0, 0.5, 0.0),
    ("maximum(x, x)", lambda x: cnp.maximum(x, x), 0.7, 1.0, 0.0),
    ("maximum(x, 1 - x) at 1/2", lambda x: cnp.maximum(x, 1.0 - x), 0.5, 0.0, 0.0),
    ("fmax(x, 0) at 0", lambda x: cnp.fmax(x, 0.0), 0.0, 0.5, 0.0),
    ("fmin(x, 0) at 0", lambda x: cnp.fmin(x, 0.0), 0.0, 0.5, 0.0),
    ("relu as where(x > 0, x, 0) at 0", lambda x: cnp.where(x > 0, x, 0.0), 0.0, 0.0, 0.0),
    ("clip at its lower bound", lambda x: cnp.clip(x, 0.0, 1.0), 0.0, 0.5, 0.0),
    ("clip at its upper bound", lambda x: cnp.clip(x, 0.0, 1.0), 1.0, 0.5, 0.0),
    ("clip with the bound as the variable", lambda lo: cnp.clip(0.0, lo, 1.0), 0.0, 0.5, 0.0),
    ("floor at a jump", cnp.floor, 1.0, 0.0, 0.0),
    ("ceil at a jump", cnp.ceil, 1.0, 0.0, 0.0),
    ("trunc at a jump", cnp.trunc, -1.0, 0.0, 0.0),
    ("rint at a jump", cnp.rint, 0.5, 0.0, 0.0),
    ("round at a jump", cnp.round, 0.5, 0.0, 0.0),
    ("round(decimals=1) at a jump", lambda x: cnp.round(x, 1), 0.25, 0.0, 0.0),
    ("heaviside at 0", lambda x: cnp.heaviside(x, 0.5), 0.0, 0.0, 0.0),
    ("mod at a jump", lambda x: cnp.mod(x, 1.0), 1.0, 1.0, 0.0),
    ("fmod at a jump", lambda x: cnp.fmod(x, 1.0), 1.0, 1.0, 0.0),
    ("sqrt at 0 (one-sided)", cnp.sqrt, 0.0, INF, -INF),
    ("x ** 0.5 at 0 (one-sided)", lambda x: x ** 0.5, 0.0, INF, -INF),
    ("x ** 2 at 0", lambda x: x ** 2, 0.0, 0.0, 2.0),
    ("x ** 0 at 0", lambda x: x ** 0.0, 0.0, 0.0, 0.0),
    ("0 ** y in y", lambda y: 0.0 ** y, 2.0, 0.0, 0.0),
    ("hypot(x, 0) at 0", lambda x: cnp.hypot(x, 0.0), 0.0, 0.0, 0.0),
]
if hasattr(cnp.linalg, "norm"):  # (lands with the linalg work)
    KINKS.append(("norm of a vector at 0", lambda x: cnp.linalg.norm(cnp.stack([x, 2.0 * x])),
                  0.0, 0.0, 0.0))
IDS = [k[0] for k in KINKS]


@pytest.mark.parametrize("name, f, x0, d1, d2", KINKS, ids=IDS)
def test_first_derivative_at_the_kink(name, f, x0, d1, d2):
    assert_all(d1_all(f, x0), d1, name)


@pytest.mark.parametrize("name, f, x0, d1, d2", KINKS, ids=IDS)
def test_second_derivative_at_the_kink(name, f, x0, d1, d2):
    assert_all(d2_all(f, x0), d2, name)


@pytest.mark.parametrize("name, f, x0, d1, d2", KINKS, ids=IDS)
def test_vmap_over_kinks_and_regular_points(name, f, x0, d1, d2):
    xs = np.array([x0, x0 + 0.3, x0 - 0.3, x0])
    want = np.array([cr.grad(f)(x) for x in xs])
    assert want[0] == d1 or (np.isnan(d1) and np.isnan(want[0]))
    np.testing.assert_array_equal(cr.vmap(cr.grad(f))(xs), want)
    want2 = np.array([cr.grad(cr.grad(f))(x) for x in xs])
    np.testing.assert_array_equal(cr.vmap(cr.grad(cr.grad(f)))(xs), want2)
    np.testing.assert_array_equal(cr.jit(cr.vmap(cr.grad(f)))(xs), want)


SMOOTH_NEAR = [k for k in KINKS if not k[0].startswith(("sqrt", "x ** 0.5"))
               and "jump" not in k[0]]


@pytest.mark.parametrize("name, f, x0, d1, d2", SMOOTH_NEAR, ids=[k[0] for k in SMOOTH_NEAR])
@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_finite_differences_just_off_the_kink(name, f, x0, d1, d2, side):
    check_grads(f, (np.float64(x0 + side * 1e-2),), order=2, modes=("fwd", "rev"), eps=1e-4)


JUMPS = [k for k in KINKS if "jump" in k[0]]


@pytest.mark.parametrize("name, f, x0, d1, d2", JUMPS, ids=[k[0] for k in JUMPS])
def test_finite_differences_off_the_jumps(name, f, x0, d1, d2):
    for x in (x0 - 0.03, x0 + 0.03):
        check_grads(f, (np.float64(x),), order=2, modes=("fwd", "rev"), eps=1e-4)


CONTINUOUS = [k for k in KINKS if "jump" not in k[0] and k[0] not in ("sign at 0",
                                                                        "heaviside at 0")]


@pytest.mark.parametrize("name, f, x0, d1, d2", CONTINUOUS, ids=[k[0] for k in CONTINUOUS])
def test_documented_value_lies_between_the_one_sided_slopes(name, f, x0, d1, d2):
    h = 1e-7
    fx = float(f(x0))
    right = (float(f(x0 + h)) - fx) / h
    left = (fx - float(f(x0 - h))) / h if not name.startswith(("sqrt", "x ** 0.5")) else right
    if math.isinf(d1):  # the one-sided derivative is +inf: the slope grows without bound
        assert right > 1e3 and (float(f(x0 + h / 100)) - fx) / (h / 100) > 9 * right
        return
    lo, hi = min(left, right), max(left, right)
    assert lo - 1e-6 <= d1 <= hi + 1e-6, (left, d1, right)


def test_sqrt_is_the_one_sided_limit_and_matches_fd_off_zero():
    for x in (1e-2, 1e-4):
        check_grads(cnp.sqrt, (np.float64(x),), order=2, modes=("fwd", "rev"), eps=x / 100,
                    rtol=1e-4)
    assert cr.grad(cnp.sqrt)(1e-300) > 1e140  # -> +inf as x -> 0+


# ---------------------------------------------------------------------------------------------
# reductions and orderings with ties


def test_max_and_min_reductions_share_the_derivative_between_ties():
    x = np.array([0.0, 1.0, 1.0, 0.5])
    for red, want in ((cnp.max, [0, 0.5, 0.5, 0]), (cnp.amax, [0, 0.5, 0.5, 0]),
                      (lambda v: cnp.min(-v), [0, -0.5, -0.5, 0]),
                      (cnp.nanmax, [0, 0.5, 0.5, 0])):
        np.testing.assert_array_equal(cr.grad(red)(x), want)
        np.testing.assert_array_equal(cr.jacfwd(red)(x), want)
        np.testing.assert_array_equal(cr.jit(cr.grad(red))(x), want)
        np.testing.assert_array_equal(cr.hessian(red)(x), np.zeros((4, 4)))
        np.testing.assert_array_equal(cr.jacrev(cr.jacrev(red))(x), np.zeros((4, 4)))
    np.testing.assert_array_equal(cr.grad(cnp.max)(np.full(3, 2.0)), np.full(3, 1 / 3))
    # per row, along an axis; and batched
    X = np.array([[1.0, 1.0, 0.0], [3.0, 2.0, 3.0]])
    want = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.max(a, axis=1)))(X), want)
    np.testing.assert_array_equal(cr.vmap(cr.grad(cnp.max))(X), want)
    check_grads(cnp.max, (x + np.array([0.0, 1e-2, -1e-2, 0.0]),), order=2)


def test_sort_follows_the_stable_permutation_at_ties():
    x = np.array([1.0, 0.0, 1.0])  # stable ascending order: indices 1, 0, 2
    for k, hot in ((0, 1), (1, 0), (2, 2)):
        want = np.eye(3)[hot]
        np.testing.assert_array_equal(cr.grad(lambda v, k=k: cnp.sort(v)[k])(x), want)
        np.testing.assert_array_equal(cr.jacfwd(lambda v, k=k: cnp.sort(v)[k])(x), want)
    np.testing.assert_array_equal(cr.jacrev(cnp.sort)(x), np.eye(3)[[1, 0, 2]])
    np.testing.assert_array_equal(cr.jit(cr.jacrev(cnp.sort))(x), np.eye(3)[[1, 0, 2]])
    np.testing.assert_array_equal(cr.hessian(lambda v: cnp.sort(v)[2])(x), np.zeros((3, 3)))
    check_grads(cnp.sort, (x + np.array([0.0, 0.0, 1e-2]),), order=2)


def test_argmax_at_ties_picks_the_first_and_has_no_derivative():
    x = np.array([0.0, 2.0, 2.0])
    pick = lambda v: v[cnp.argmax(v)]  # noqa: E731
    np.testing.assert_array_equal(cr.grad(pick)(x), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(cr.jacfwd(pick)(x), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(
        cr.grad(lambda v: cnp.argmax(v).astype(float) * cnp.sum(v))(x), [1.0, 1.0, 1.0])
    _, t = cr.jvp(cnp.argmax, (x,), (np.ones(3),))
    assert t.dtype == cr.float0


@pytest.mark.skipif(not hasattr(cnp.linalg, "norm"), reason="cnp.linalg.norm not available")
def test_norm_at_zero_has_subgradient_zero():
    z = np.zeros(3)
    for ord_ in (None, 2, 1, np.inf, 3):
        f = lambda v, o=ord_: cnp.linalg.norm(v, ord=o)  # noqa: E731
        np.testing.assert_array_equal(cr.grad(f)(z), z)
        np.testing.assert_array_equal(cr.jacfwd(f)(z), z)
        np.testing.assert_array_equal(cr.jit(cr.grad(f))(z), z)
        assert np.isfinite(cr.hessian(f)(z)).all()
    np.testing.assert_array_equal(cr.hessian(cnp.linalg.norm)(z), np.zeros((3, 3)))
    np.testing.assert_array_equal(cr.grad(cnp.linalg.norm)(np.zeros((2, 2))), np.zeros((2, 2)))
    np.testing.assert_array_equal(cr.vmap(cr.grad(cnp.linalg.norm))(np.zeros((2, 3))),
                                  np.zeros((2, 3)))
    # just off zero: the usual derivative x / |x|
    x = np.array([1e-3, -2e-3, 0.0])
    np.testing.assert_allclose(cr.grad(cnp.linalg.norm)(x), x / np.linalg.norm(x), rtol=1e-12)
    check_grads(cnp.linalg.norm, (x,), order=2, eps=1e-6, rtol=1e-4)


def test_complex_abs_at_zero():
    assert cr.grad(cnp.abs)(0j) == 0
    assert cr.jvp(cnp.abs, (np.complex128(0),), (np.complex128(1),))[1] == 0


# ---------------------------------------------------------------------------------------------
# safe masking: where() never leaks the untaken branch's inf or NaN into derivatives

MASKED = [
    ("where(x > 0, sqrt(x), 0)", lambda x: cnp.where(x > 0, cnp.sqrt(x), 0.0),
     lambda x: 0.5 / np.sqrt(x), lambda x: -0.25 * x ** -1.5),
    ("where(x != 0, x log x, 0)", lambda x: cnp.where(x != 0, x * cnp.log(x), 0.0),
     lambda x: np.log(x) + 1.0, lambda x: 1.0 / x),
    ("where(x > 0, log(x), 0)", lambda x: cnp.where(x > 0, cnp.log(x), 0.0),
     lambda x: 1.0 / x, lambda x: -1.0 / x ** 2),
]
MIDS = [m[0] for m in MASKED]
XS = np.array([0.0, 0.5, 2.0, 0.0])


@pytest.mark.parametrize("name, f, d1, d2", MASKED, ids=MIDS)
def test_masked_branch_at_zero_first_and_second_order(name, f, d1, d2):
    assert_all(d1_all(f, 0.0), 0.0, name)
    assert_all(d2_all(f, 0.0), 0.0, name)


def _want(d, xs):
    return np.array([0.0 if x == 0 else d(x) for x in xs])


@pytest.mark.parametrize("name, f, d1, d2", MASKED, ids=MIDS)
def test_masked_branch_under_vmap_and_jit(name, f, d1, d2):
    w1, w2 = _want(d1, XS), _want(d2, XS)
    g, gg = cr.grad(f), cr.grad(cr.grad(f))
    fwd2 = lambda x: cr.jvp(lambda y: cr.jvp(f, (y,), (1.0,))[1], (x,), (1.0,))[1]  # noqa
    for name_, fn, want in (("vmap(grad)", cr.vmap(g), w1), ("vmap(grad grad)", cr.vmap(gg), w2),
                            ("vmap(jvp jvp)", cr.vmap(fwd2), w2),
                            ("vmap(jvp grad)", cr.vmap(lambda x: cr.jvp(g, (x,), (1.0,))[1]), w2),
                            ("jit(vmap(grad grad))", cr.jit(cr.vmap(gg)), w2),
                            ("vmap(jit(grad grad))", cr.vmap(cr.jit(gg)), w2),
                            ("vmap(grad(jit))", cr.vmap(cr.grad(cr.jit(f))), w1)):
        out = fn(XS)
        assert np.isfinite(out).all(), (name_, out)
        np.testing.assert_allclose(out, want, rtol=1e-12, err_msg=name_)


@pytest.mark.parametrize("name, f, d1, d2", MASKED, ids=MIDS)
def test_masked_branch_on_arrays_gradient_and_hessian(name, f, d1, d2):
    s = lambda x: cnp.sum(f(x))  # noqa: E731
    w1, w2 = _want(d1, XS), np.diag(_want(d2, XS))
    for fn, want in ((cr.grad(s), w1), (cr.jit(cr.grad(s)), w1), (cr.grad(cr.jit(s)), w1),
                     (cr.jacfwd(f), np.diag(w1)), (cr.hessian(s), w2),
                     (cr.jacrev(cr.jacrev(s)), w2), (cr.jacfwd(cr.jacfwd(s)), w2),
                     (cr.jit(cr.hessian(s)), w2), (cr.hessian(cr.jit(s)), w2)):
        out = fn(XS)
        assert np.isfinite(out).all(), out
        np.testing.assert_allclose(out, want, rtol=1e-12)


@pytest.mark.parametrize("name, f, d1, d2", MASKED, ids=MIDS)
def test_masked_branch_finite_differences_off_zero(name, f, d1, d2):
    check_grads(f, (np.array([0.5, 2.0]),), order=2)


@pytest.mark.parametrize("kernel", ["numpy", "numexpr"])
def test_masked_branch_in_fused_kernels(kernel):
    f = lambda x: cnp.sum(cnp.where(x > 0, cnp.sqrt(x), 0.0) * 2.0)  # noqa: E731
    with cr.compiler.options.using(kernel=kernel, numexpr_min_size=1):
        g = cr.jit(cr.grad(f))
        assert "fused" in str(g.lower(XS))
        np.testing.assert_allclose(g(XS), 2.0 * _want(MASKED[0][2], XS), rtol=1e-12)


def test_jacfwd_keeps_zero_tangents_zero_at_infinite_derivatives():
    # each function has an infinite derivative at the first point
    cases = [(cnp.sqrt, [0.0, 1.0, 4.0]), (cnp.log, [0.0, 1.0, 4.0]),
             (cnp.cbrt, [0.0, 1.0, 8.0]), (cnp.arcsin, [-1.0, 0.0, 0.5])]
    for f, x in cases:
        x = np.array(x)
        J_fwd, J_rev = cr.jacfwd(f)(x), cr.jacrev(f)(x)
        off = ~np.eye(3, dtype=bool)
        assert np.all(J_fwd[off] == 0), f"{f.__name__}: {J_fwd}"
        assert np.isinf(J_fwd[0, 0])
        np.testing.assert_array_equal(J_fwd, J_rev)
