"""chainrule.numpy (and the SciPy wrappers) against NumPy/SciPy on the arguments and dtypes
that are easy to get wrong: reductions' where=, initial=, dtype=, mean=, correction=, 0-d
inputs with axis=0; the dtype of composed elementwise functions and of linspace and friends
under jit/vmap; softmax and friends at infinities; lu's p_indices dtype.

Every case compares values and dtypes with the reference, then jit and vmap with eager, and
(where the function is differentiable) gradients with check_grads."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.special

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.linalg as crl
import chainrule.scipy.special as crs
from chainrule.test_util import check_grads

RNG = np.random.default_rng(7)


def same(got, want, rtol=0.0):
    """dtype and shape as the reference; values equal (NaNs too), or within rtol where the
    summation order differs (NumPy's masked reductions accumulate sequentially)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if rtol:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    else:
        np.testing.assert_array_equal(got, want)


def agree(f, ref, *args, rtol=0.0):
    """f(*args) agrees with ref(*args) (value and dtype), and so do jit(f) and vmap(f)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = ref(*args)
        same(f(*args), want, rtol)
        same(cr.jit(f)(*args), want, rtol)
        batched = cr.vmap(f)(*[np.stack([a, a]) for a in args])
        same(batched[1], want, rtol)


X = np.array([1.0, 2.0, 10.0])
M = np.array([True, True, False])
A = RNG.normal(size=(3, 4))
W = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
WG = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])

# --- where= ----------------------------------------------------------------------------------

WHERE_CASES = {
    "var": lambda n, a, w: n.var(a, where=w),
    "std": lambda n, a, w: n.std(a, where=w),
    "sum": lambda n, a, w: n.sum(a, axis=1, where=w),
    "prod": lambda n, a, w: n.prod(a, axis=0, where=w),
    "mean_axis": lambda n, a, w: n.mean(a, axis=0, where=w),
    "mean_all": lambda n, a, w: n.mean(a, where=w),
    "var_axis_ddof": lambda n, a, w: n.var(a, axis=1, where=w, ddof=1),
    "std_keepdims": lambda n, a, w: n.std(a, axis=0, where=w, keepdims=True),
    "max": lambda n, a, w: n.max(a, axis=1, where=w, initial=-5.0),
    "min": lambda n, a, w: n.min(a, axis=0, where=w, initial=7.0),
    "sum_initial": lambda n, a, w: n.sum(a, axis=0, where=w, initial=0.5),
}


@pytest.mark.parametrize("name", sorted(WHERE_CASES))
def test_where_values_jit_vmap_and_grads(name):
    f = WHERE_CASES[name]
    for a, w in ((X, M), (A, W)):
        if a.ndim == 1 and name in ("sum", "prod", "mean_axis", "var_axis_ddof",
                                    "std_keepdims", "max", "min", "sum_initial"):
            continue
        agree(lambda a, w: f(cnp, a, w), lambda a, w: f(np, a, w), a, w, rtol=1e-13)
    # gradients where every reduction group has entries (an empty one is a constant or NaN)
    check_grads(lambda a: f(cnp, a, WG), (A,), order=2, modes=("fwd", "rev"))


def test_where_tester_examples():
    same(cnp.var(X, where=M), np.float64(0.25))
    same(cnp.std(X, where=M), np.float64(0.5))
    same(cnp.all(np.array([0, 1, 1]), where=np.array([False, True, True])), np.True_)
    same(cnp.any(np.array([1, 0]), where=np.array([False, True])), np.False_)


@pytest.mark.parametrize("fname", ["all", "any"])
def test_all_any_where(fname):
    x = np.array([[0, 1, 2], [3, 0, 0]])
    w = np.array([[False, True, True], [True, True, False]])
    for kw in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}):
        agree(lambda x, w: getattr(cnp, fname)(x, where=w, **kw),
              lambda x, w: getattr(np, fname)(x, where=w, **kw), x, w)
    # the method on a tracer passes where= through
    same(cr.jit(lambda x: getattr(x, fname)(where=w))(x), getattr(np, fname)(x, where=w))


def test_where_batched_mask_and_grad():
    ws = np.stack([W, ~W])
    as_ = np.stack([A, A + 1])

    def f(a, w):
        return cnp.sum(a, where=w) + cnp.var(a, where=w) + cnp.max(a, where=w, initial=-3.0)

    want = [np.sum(a, where=w) + np.var(a, where=w) + np.max(a, where=w, initial=-3.0)
            for a, w in zip(as_, ws)]
    np.testing.assert_allclose(cr.vmap(f)(as_, ws), want, rtol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.vmap(f))(as_, ws), want, rtol=1e-13)
    g = cr.vmap(cr.grad(lambda a, w: cnp.mean(a, where=w)))(as_, ws)
    np.testing.assert_allclose(g, [w / w.sum() for w in ws])


def test_where_tracer_methods():
    f = lambda a: a.mean(where=W) + a.var(where=W, ddof=1) + a.std(where=W) + a.sum(where=W)
    want = np.mean(A, where=W) + np.var(A, where=W, ddof=1) + np.std(A, where=W) \
        + np.sum(A, where=W)
    np.testing.assert_allclose(cr.jit(f)(A), want, rtol=1e-14)
    check_grads(f, (A,), order=2, modes=("fwd", "rev"))


def test_where_errors_as_numpy():
    with pytest.raises(ValueError, match="initial"):
        cnp.max(A, where=W)
    with pytest.raises(ValueError, match="initial"):
        cnp.min(A, where=W)
    with pytest.raises(TypeError, match="safe"):
        cnp.sum(A, where=W.astype(int))
    with pytest.raises(ValueError):
        cnp.sum(X, where=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="simultaneously"):
        cnp.var(A, ddof=1, correction=1)


def test_where_dtype_paths():
    x = np.float32([1, 2, 4])
    w = np.array([True, True, False])
    for f in (lambda n: n.mean(x, where=w), lambda n: n.var(x, where=w),
              lambda n: n.mean(np.arange(5), where=np.arange(5) > 1),
              lambda n: n.mean(np.array([1, 2, 4]), where=w, dtype=np.int64),
              lambda n: n.var(np.array([1 + 2j, 2, 4j]), where=w),
              lambda n: n.sum(np.int8([100, 100, 3]), dtype=np.int8, where=w),
              lambda n: n.mean(A, where=True), lambda n: n.sum(A, where=W[0])):
        same(f(cnp), f(np), 1e-6)


# --- var: mean= and correction= ---------------------------------------------------------------

def test_var_mean_and_correction():
    mean = np.mean(A, axis=1, keepdims=True) + 0.25
    for f in (lambda n, a: n.var(a, axis=1, mean=mean),
              lambda n, a: n.std(a, axis=1, mean=mean, keepdims=True),
              lambda n, a: n.var(a, correction=1),
              lambda n, a: n.std(a, axis=0, correction=1.5)):
        agree(lambda a: f(cnp, a), lambda a: f(np, a), A)
        check_grads(lambda a: f(cnp, a), (A,), order=2, modes=("fwd", "rev"))
    same(cnp.var(np.array([1, 2, 4]), mean=np.array([2.0])),
         np.var(np.array([1, 2, 4]), mean=np.array([2.0])))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, None])
def test_var_dtype_argument(dtype):
    for x in (np.arange(6.0).reshape(2, 3) ** 1.5, np.array([[1, 2, 4], [3, 9, 1]])):
        same(cnp.var(x, axis=1, dtype=dtype), np.var(x, axis=1, dtype=dtype))


def test_float16_mean_accumulates_in_float32():
    x = (np.arange(3000) / 7).astype(np.float16)
    same(cnp.mean(x), np.mean(x))
    same(cnp.var(x), np.var(x))


# --- initial= ----------------------------------------------------------------------------------

INITIAL_CASES = [
    lambda n: n.max(np.zeros(0), initial=3.0),
    lambda n: n.min(np.zeros((0, 3)), axis=0, initial=2),
    lambda n: n.max(np.zeros((2, 0)), axis=0, initial=-1),
    lambda n: n.max(np.array([True]), initial=10),
    lambda n: n.max(np.array([False]), initial=0),
    lambda n: n.max(np.array([1, 2]), initial=2.7),
    lambda n: n.sum(np.array([1, 2]), initial=10.5),
    lambda n: n.sum(np.array([1, 2]), dtype=np.float32, initial=0.5),
    lambda n: n.prod(np.int8([3, 5]), initial=2),
    lambda n: n.sum(np.int8([1]), initial=1000),
    lambda n: n.max(np.float32([1]), initial=2.0),
]


@pytest.mark.parametrize("i", range(len(INITIAL_CASES)))
def test_initial(i):
    same(INITIAL_CASES[i](cnp), INITIAL_CASES[i](np))


def test_initial_grads_and_transforms():
    for f in (lambda a: cnp.max(a, axis=0, initial=0.3), lambda a: cnp.sum(a, initial=2.0),
              lambda a: cnp.prod(a, axis=1, initial=1.5)):
        want = f(A)
        same(cr.jit(f)(A), want)
        same(cr.vmap(f)(np.stack([A, A]))[0], want)
        check_grads(f, (A,), order=2, modes=("fwd", "rev"))
    same(cr.jit(lambda a: cnp.max(a, initial=3.0))(np.zeros(0)), np.float64(3.0))
    with pytest.raises(ValueError, match="zero-size"):
        cnp.max(np.zeros(0), initial=None, where=None, dtype=np.float64)


# --- dtype= --------------------------------------------------------------------------------------

DTYPE_CASES = [
    lambda n: n.sum(np.int8([1, 2]), dtype=np.int8),
    lambda n: n.sum(np.int8([100, 100]), dtype=np.int8),
    lambda n: n.prod(np.int8([100, 3]), dtype=np.int8),
    lambda n: n.sum(np.array([True, True]), dtype=bool),
    lambda n: n.sum(np.uint8([200, 100]), dtype=np.uint8),
    lambda n: n.sum(np.int8([100, 100])),
    lambda n: n.sum(np.array([True, True])),
    lambda n: n.sum(np.uint8([200, 100])),
    lambda n: n.prod(np.uint16([300, 300])),
    lambda n: n.prod(np.int16([300, 300])),
    lambda n: n.sum(np.float32([1, 2]), dtype=np.float64),
    lambda n: n.cumsum(np.int8([100, 100]), dtype=np.int8),
    lambda n: n.cumprod(np.uint8([100, 3]), dtype=np.uint8),
    lambda n: n.cumsum(np.int8([100, 100])),
    lambda n: n.cumsum(np.array([True, True])),
    lambda n: n.mean(np.array([1, 2]), dtype=np.int64),
    lambda n: n.mean(np.array([-1, -2]), dtype=np.int64),
    lambda n: n.mean(np.array([1, 2]), dtype=np.float32),
    lambda n: n.mean(np.array([1, 2])),
]


@pytest.mark.parametrize("i", range(len(DTYPE_CASES)))
def test_dtype_argument(i):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        same(DTYPE_CASES[i](cnp), DTYPE_CASES[i](np))


def test_dtype_argument_under_transforms():
    x = np.int8([[100, 100, 7], [1, 2, 3]])
    for f, g in ((lambda a: cnp.sum(a, axis=1, dtype=np.int8),
                  lambda a: np.sum(a, axis=1, dtype=np.int8)),
                 (lambda a: cnp.cumsum(a, axis=1, dtype=np.int8),
                  lambda a: np.cumsum(a, axis=1, dtype=np.int8)),
                 (lambda a: a.sum(dtype=np.int16), lambda a: a.sum(dtype=np.int16))):
        agree(f, g, x)
    f = lambda a: cnp.sum(a, dtype=np.float32)
    same(cr.grad(f)(A), np.ones_like(A))


# --- 0-d inputs with axis=0 -----------------------------------------------------------------------

ZERO_D = ["sum", "prod", "max", "min", "all", "any", "argmax", "argmin", "cumsum", "cumprod",
          "ptp", "mean", "var", "std"]


@pytest.mark.parametrize("name", ZERO_D)
@pytest.mark.parametrize("axis", [0, -1, 1, (0,)])
def test_zero_d_axis(name, axis):
    x = np.array(2.5)
    try:
        want = getattr(np, name)(x, axis=axis)
    except Exception as e:  # noqa: BLE001 - the reference's error type is the expectation
        with pytest.raises(type(e)):
            getattr(cnp, name)(x, axis=axis)
        return
    same(getattr(cnp, name)(x, axis=axis), want)
    same(cr.jit(lambda x: getattr(cnp, name)(x, axis=axis))(x), want)


def test_zero_d_axis_keepdims_and_grad():
    x = np.array(2.5)
    same(cnp.sum(x, axis=0, keepdims=True), np.sum(x, axis=0, keepdims=True))
    same(cr.grad(lambda x: cnp.sum(x, axis=0) * cnp.prod(x, axis=-1))(x), np.float64(5.0))
    same(cr.vmap(lambda x: cnp.max(x, axis=0))(np.array([1.0, 3.0])), np.array([1.0, 3.0]))


# --- logaddexp on integers and bools ------------------------------------------------------------

LOGADDEXP_CASES = [
    (np.array([1, 2]), 3), (np.int8([1, 2]), np.int8(3)), (0, np.int8([1, 2])),
    (np.array([True]), np.array([False])), (np.uint8([1, 2]), np.uint8([3, 1])),
    (1, 3), (np.array([1, 2]), 3.0), (0, np.float32([1, -2])), (np.int64([5]), np.float32([1])),
]


@pytest.mark.parametrize("fname", ["logaddexp", "logaddexp2"])
@pytest.mark.parametrize("i", range(len(LOGADDEXP_CASES)))
def test_logaddexp_integer_inputs(fname, i):
    x1, x2 = LOGADDEXP_CASES[i]
    want = getattr(np, fname)(x1, x2)
    got = getattr(cnp, fname)(x1, x2)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    tol = {np.float16: 1e-3, np.float32: 1e-6}.get(want.dtype.type, 1e-15)
    np.testing.assert_allclose(got, want, rtol=tol)
    if isinstance(x1, np.ndarray):
        got = cr.jit(lambda a: getattr(cnp, fname)(a, x2))(x1)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-3)


def test_logaddexp_float_fast_path_unchanged():
    x = RNG.normal(size=5)
    same(cnp.logaddexp(x, 0.5), np.logaddexp(x, 0.5), 1e-15)
    same(cnp.logaddexp(0, x), np.logaddexp(0, x), 1e-15)
    with pytest.raises(TypeError):
        cnp.logaddexp(np.array([1j]), 1.0)


# --- elementwise dtypes --------------------------------------------------------------------------

ELEMENTWISE = ["fabs", "reciprocal", "square", "deg2rad", "rad2deg", "positive"]
DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int64, np.float16, np.float32, np.float64,
          np.complex64, np.complex128]


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_elementwise_dtypes_as_numpy(name, dtype):
    x = (RNG.normal(size=40) * 50).astype(dtype) if dtype != np.bool_ \
        else np.array([True, False, True])
    if name == "reciprocal" and np.dtype(dtype).kind in "iu":
        x = np.where(x == 0, 1, x).astype(dtype)   # NumPy's 1/0 cast is platform-dependent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            want = getattr(np, name)(x)
        except TypeError:
            with pytest.raises(TypeError):
                getattr(cnp, name)(x)
            with pytest.raises(TypeError):
                cr.jit(getattr(cnp, name))(x)
            return
        if name == "reciprocal" and np.dtype(dtype).kind == "c":
            # NumPy's complex loop has its own rounding and signed zeros: values only
            got = cnp.reciprocal(x)
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=1e-6)
            return
        agree(getattr(cnp, name), getattr(np, name), x)


@pytest.mark.parametrize("name", ["fabs", "reciprocal", "square", "deg2rad", "rad2deg"])
def test_elementwise_python_scalars_and_grads(name):
    for v in (3, 2.0, True, -4):
        same(getattr(cnp, name)(v), getattr(np, name)(v))
    x = RNG.normal(size=4) + 2.0
    check_grads(getattr(cnp, name), (x,), order=2, modes=("fwd", "rev"))


# --- linspace, logspace, geomspace, arange under transforms ----------------------------------------

SPACE_CASES = {
    "linspace_f32": (lambda m, a: m.linspace(a[0], a[1], 5), np.float32([1.5, 2.5])),
    "linspace_noend": (lambda m, a: m.linspace(a[0], a[1], 5, endpoint=False),
                       np.float32([1.5, 2.5])),
    "linspace_f16_weak": (lambda m, a: m.linspace(a[0], 2.5, 4), np.float16([1.5, 2.5])),
    "linspace_int_dtype": (lambda m, a: m.linspace(a[0], a[1], 4, dtype=np.int32),
                           np.float64([1.5, 7.5])),
    "linspace_int": (lambda m, a: m.linspace(a[0], a[1], 4), np.int32([1, 7])),
    "linspace_f64": (lambda m, a: m.linspace(a[0], a[1], 7), np.float64([0.1, 0.7])),
    "linspace_one": (lambda m, a: m.linspace(a[0], a[1], 1), np.float64([0.1, 0.7])),
    "linspace_retstep": (lambda m, a: m.linspace(a[0], a[1], 4, retstep=True)[1],
                         np.float32([0.0, 3.0])),
    "logspace_f32": (lambda m, a: m.logspace(a[0], a[1], 4), np.float32([1, 2])),
    "logspace_base": (lambda m, a: m.logspace(a[0], a[1], 4, base=np.float32(2)),
                      np.float32([1, 2])),
    "geomspace_f32": (lambda m, a: m.geomspace(a[0], a[1], 4), np.float32([1, 8])),
    "geomspace_f64": (lambda m, a: m.geomspace(a[0], a[1], 5), np.float64([1, 1000])),
    "geomspace_neg": (lambda m, a: m.geomspace(a[0], a[1], 4), np.float64([-1, -8])),
    "geomspace_int": (lambda m, a: m.geomspace(a[0], a[1], 4), np.int64([1, 8])),
    "geomspace_noend": (lambda m, a: m.geomspace(a[0], a[1], 4, endpoint=False),
                        np.float64([2, 32])),
}


@pytest.mark.parametrize("name", sorted(SPACE_CASES))
def test_spaces_keep_numpy_dtype_under_transforms(name):
    f, a = SPACE_CASES[name]
    agree(lambda a: f(cnp, a), lambda a: f(np, a), a)


def test_spaces_grads_and_arange():
    a = np.array([0.5, 2.0])
    for f in (lambda a: cnp.linspace(a[0], a[1], 5), lambda a: cnp.logspace(a[0], a[1], 3),
              lambda a: cnp.geomspace(a[0], a[1], 4)):
        check_grads(f, (a,), order=2, modes=("fwd", "rev"))
    same(cr.jit(lambda x: x + cnp.arange(3, dtype=np.float32))(np.float32(1)),
         np.float32(1) + np.arange(3, dtype=np.float32))
    same(cnp.arange(np.int8(3)), np.arange(np.int8(3)))


# --- SciPy's softmax family at infinities ----------------------------------------------------------

INF = np.inf
SOFT_CASES = [[INF, 1.0], [INF, INF], [-INF, -INF], [-INF, 1.0], [INF, -INF], [np.nan, 1.0],
              [1.0, 2.0], [-INF], [INF], [1000.0, 1000.0], [[INF, 1.0], [1.0, 2.0]],
              [[-INF, -INF], [1.0, 2.0]]]


@pytest.mark.parametrize("fname", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("i", range(len(SOFT_CASES)))
def test_softmax_family_infinities(fname, i):
    a = np.array(SOFT_CASES[i])
    for axis in (None, -1, 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = getattr(scipy.special, fname)(a, axis=axis)
            got = getattr(crs, fname)(a, axis=axis)
            jitted = cr.jit(lambda a: getattr(crs, fname)(a, axis=axis))(a)
        for g in (got, jitted):
            g = np.asarray(g)
            assert g.dtype == np.asarray(want).dtype
            np.testing.assert_array_equal(np.isnan(g), np.isnan(want))
            np.testing.assert_allclose(g, want, rtol=1e-15)


@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
def test_softmax_values_as_scipy(fname, dtype):
    a = (RNG.normal(size=(3, 5)) * 4).astype(dtype)
    for axis in (None, 0, 1):
        same(getattr(crs, fname)(a, axis=axis), getattr(scipy.special, fname)(a, axis=axis))
    if dtype == np.float64:
        check_grads(lambda a: getattr(crs, fname)(a, axis=1), (a,), order=2,
                    modes=("fwd", "rev"))
        same(cr.vmap(lambda r: getattr(crs, fname)(r))(a)[1],
             getattr(scipy.special, fname)(a[1]))


# --- lu(p_indices=True) ----------------------------------------------------------------------------

def test_lu_p_indices_dtype():
    for a in (RNG.normal(size=(4, 4)), RNG.normal(size=(2, 3, 3))):
        want = scipy.linalg.lu(a, p_indices=True)
        got = crl.lu(a, p_indices=True)
        same(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], atol=1e-12)
        np.testing.assert_allclose(got[2], want[2], atol=1e-12)
    a = RNG.normal(size=(4, 4))
    assert cr.jit(lambda a: crl.lu(a, p_indices=True)[0])(a).dtype == np.int32
    assert cr.vmap(lambda a: crl.lu(a, p_indices=True)[0])(np.stack([a, a])).dtype == np.int32
