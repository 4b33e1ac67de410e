"""chainrule.numpy functions of chainrule/numpy/_more.py against NumPy: values and dtypes on a
few argument variants, gradients (order 2, both modes) of the differentiable ones, and jit
and vmap agreement."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads

RNG = np.random.default_rng(3)
SPECIAL = np.array([1.5, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 3.7e-320, 1.7e308, -0.3,
                    7.25, -1e-5])


def _same(got, want):
    """Equal values (NaN == NaN, signs of zero included), dtypes and types of result."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    if isinstance(want, bool):
        assert type(got) is bool and got == want
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def _both(f, *args, **kw):
    with np.errstate(all="ignore"):
        _same(getattr(cnp, f)(*args, **kw), getattr(np, f)(*args, **kw))


@pytest.mark.parametrize("dt", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("f", ["modf", "frexp", "isneginf", "isposinf", "nan_to_num",
                               "iscomplex", "isreal"])
def test_float_elementwise_equal_numpy(f, dt):
    with np.errstate(all="ignore"):
        x = SPECIAL.astype(dt)
    _both(f, x)
    with np.errstate(all="ignore"):
        _same(cr.jit(getattr(cnp, f))(x), getattr(np, f)(x))


@pytest.mark.parametrize("dt", [np.int8, np.int64, np.uint16, np.bool_])
def test_modf_frexp_ldexp_dtypes_on_integers(dt):
    x = np.array([1, 0, 3, 1]).astype(dt)
    _both("modf", x)
    _both("frexp", x)
    _both("ldexp", x, np.array([2, -1, 0, 3]))
    _both("nan_to_num", x)


def test_ldexp_values_and_extremes():
    _both("ldexp", np.array([0.5, 3.0, 1e-300, -2.0, 0.0]), np.array([1024, -1, -800, 3, 5]))
    _both("ldexp", np.float32(3), np.int64(2))
    _both("ldexp", np.array([1.0, 2.0]), 3)
    with pytest.raises(TypeError):
        cnp.ldexp(np.ones(2), np.ones(2))


def test_nan_to_num_options_and_complex():
    x = np.array([np.nan, np.inf, -np.inf, 1.0, -2.0])
    _both("nan_to_num", x, nan=-1.5, posinf=9.0, neginf=-7.0)
    _both("nan_to_num", x.astype(np.float32), posinf=1e3)
    z = np.array([complex(np.nan, np.inf), 1 + 2j, complex(-np.inf, np.nan)])
    _both("nan_to_num", z)
    _both("nan_to_num", z.astype(np.complex64), nan=3.0)
    _both("nan_to_num", 2.0)


def test_nan_to_num_derivative_is_one_where_finite_zero_where_replaced():
    x = np.array([np.nan, np.inf, -np.inf, 1.0, -2.0])
    f = lambda x: cnp.nan_to_num(x, posinf=5.0, neginf=-5.0) * np.arange(1.0, 6.0)  # noqa: E731
    g = cr.grad(lambda x: f(x).sum())(x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 4.0, 5.0])
    _, t = cr.jvp(cnp.nan_to_num, (x,), (np.ones(5),))
    np.testing.assert_array_equal(t, [0.0, 0.0, 0.0, 1.0, 1.0])
    check_grads(lambda x: cnp.nan_to_num(x * x), (np.array([0.3, -1.2, 2.0]),), order=2,
                modes=("fwd", "rev"))


@pytest.mark.parametrize("a,b", [(np.array([7, -7, 5, 0]), 2),
                                 (np.array([7.5, -7.5, 0.25]), -2.0),
                                 (np.array([3, 4], np.int8), np.array([2, -3], np.int8)),
                                 (np.float32(5.5), np.float32(2))])
def test_divmod_equals_numpy(a, b):
    _both("divmod", a, b)


def test_whole_array_comparisons_equal_numpy():
    a = np.array([1.0, 2.0, np.nan])
    for args, kw in [((a, a), {}), ((a, a), {"equal_nan": True}), ((a, a + 1e-9), {}),
                     (([1.0, 2.0], [1.0, 2.1]), {"atol": 0.2}), (([1.0], [1.0, 1.0]), {})]:
        _both("allclose", *args, **kw)
        _both("isclose", *args, **kw)
    for args, kw in [((a, a), {}), ((a, a), {"equal_nan": True}), (([1, 2], [1, 2]), {}),
                     (([1, 2], [1, 2, 3]), {}), (([1, 2], [[1, 2]]), {})]:
        _both("array_equal", *args, **kw)
    for args in [([1, 2], [[1, 2], [1, 2]]), ([1, 2], [[1, 2], [1, 3]]), ([1, 2], [1, 2, 3]),
                 (3, [3, 3])]:
        _both("array_equiv", *args)


def test_whole_array_comparisons_under_transforms():
    x = np.array([1.0, 2.0, 3.0])
    assert bool(cr.jit(lambda x: cnp.allclose(x, x + 1e-9))(x))
    assert not bool(cr.jit(lambda x: cnp.array_equal(x, x + 1))(x))
    got = cr.vmap(lambda x: cnp.array_equiv(x, 2.0))(np.array([[2.0, 2.0], [2.0, 1.0]]))
    np.testing.assert_array_equal(got, [True, False])
    assert cr.grad(lambda x: x.sum() * cnp.allclose(x, x))(x).tolist() == [1.0, 1.0, 1.0]


def test_type_tests():
    for x in [np.ones(2), np.ones(2, np.complex64), [1 + 0j], 3, 2.0j, np.int8(1)]:
        _both("iscomplexobj", x)
        _both("isrealobj", x)
    _both("iscomplex", np.array([1 + 1j, 1 + 0j, 0j]))
    _both("isreal", [1 + 1j, 1.0, 2])
    _both("iscomplex", 3.0)
    assert cnp.isscalar(3.0) and not cnp.isscalar(np.ones(()))
    assert cnp.iterable([1]) and not cnp.iterable(1)
    assert cr.jit(lambda x: x * cnp.iscomplexobj(x))(np.ones(2)).tolist() == [0.0, 0.0]


def test_dtype_aliases_are_numpys():
    for n in ["double", "single", "cdouble", "csingle", "int_", "uint", "object_", "generic",
              "flexible", "character"]:
        assert getattr(cnp, n) is getattr(np, n)


def test_bitwise_aliases():
    a, b = np.array([5, -3, 8]), np.array([1, 2, 0])
    _both("bitwise_invert", a)
    _both("bitwise_left_shift", a, b)
    _both("bitwise_right_shift", a, b)


@pytest.mark.parametrize("axis,start", [(2, 0), (0, 3), (1, -1), (-1, 1), (0, 0), (1, 2)])
def test_rollaxis(axis, start):
    x = RNG.standard_normal((2, 3, 4))
    _both("rollaxis", x, axis, start)
    check_grads(lambda x: cnp.rollaxis(x, axis, start) ** 2, (x,), order=2,
                modes=("fwd", "rev"))
    with pytest.raises(np.exceptions.AxisError):
        cnp.rollaxis(x, 0, 5)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unstack(axis):
    x = RNG.standard_normal((2, 3, 4))
    _both("unstack", x, axis=axis)
    check_grads(lambda x: cnp.unstack(x, axis=axis)[1] ** 2, (x,), order=2,
                modes=("fwd", "rev"))
    got = cr.vmap(lambda x: cnp.unstack(x, axis=axis))(x[None].repeat(2, 0))
    _same(tuple(g[0] for g in got), np.unstack(x, axis=axis))


def _put_along(m, x, idx, v, axis):
    y = x * 1.0
    m.put_along_axis(y, idx, v, axis)
    return y


@pytest.mark.parametrize("axis", [0, 1, None])
def test_put_along_axis(axis):
    x = RNG.standard_normal((3, 4))
    idx = np.argsort(x, axis=axis)[:1] if axis == 0 else (
        np.argsort(x, axis=1)[:, :2] if axis == 1 else np.array([5, 0, 11]))
    v = RNG.standard_normal(idx.shape)
    want = _put_along(np, x, idx, v, axis)
    np.testing.assert_array_equal(_put_along(cnp, x, idx, v, axis), want)
    np.testing.assert_array_equal(cr.jit(lambda x, v: _put_along(cnp, x, idx, v, axis))(x, v),
                                  want)
    f = lambda x, v: _put_along(cnp, x, idx, v, axis) ** 2  # noqa: E731
    check_grads(f, (x, v), order=2, modes=("fwd", "rev"))
    got = cr.vmap(lambda x: _put_along(np, x, idx, v, axis))(np.stack([x, 2 * x]))
    np.testing.assert_array_equal(got[1], _put_along(np, 2 * x, idx, v, axis))
    assert cnp.put_along_axis(x.copy(), idx, v, axis) is None


def _fill(m, x, val, wrap=False):
    y = x * 1.0
    m.fill_diagonal(y, val, wrap)
    return y


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((5, 2), False), ((5, 2), True),
                                        ((2, 5), False), ((3, 3, 3), False)])
def test_fill_diagonal(shape, wrap):
    x = RNG.standard_normal(shape)
    for val in [2.5, np.array([1.0, 2.0])]:
        want = _fill(np, x, val, wrap)
        np.testing.assert_array_equal(_fill(cnp, x, val, wrap), want)
        np.testing.assert_array_equal(cr.jit(lambda x: _fill(cnp, x, val, wrap))(x), want)
    f = lambda x, v: _fill(cnp, x, v[0] * v[1], wrap) ** 2  # noqa: E731
    check_grads(f, (x, np.array([0.7, -1.3])), order=2, modes=("fwd", "rev"))
    with pytest.raises(ValueError):
        cr.grad(lambda x: _fill(cnp, x, 1.0).sum())(np.ones((2, 3, 3)))


def test_index_helpers():
    _both("ix_", [0, 2], np.array([1, 0, 3]))
    _both("ix_", [True, False, True], [1])
    x = RNG.standard_normal((3, 4))
    for f, args in [("tril_indices_from", (x,)), ("triu_indices_from", (x, 1)),
                    ("tril_indices_from", (x, -1)), ("diag_indices_from", (x[:3, :3],)),
                    ("diag_indices_from", (np.ones((2, 2, 2)),))]:
        _both(f, *args)
    with pytest.raises(ValueError):
        cnp.diag_indices_from(x)
    with pytest.raises(ValueError):
        cnp.tril_indices_from(x[0])
    for f in ["indices", "diag_indices", "tril_indices", "triu_indices", "bartlett",
              "blackman", "hamming", "hanning"]:
        assert getattr(cnp, f) is getattr(np, f)
    g = cr.grad(lambda x: (x[cnp.ix_([0, 2], [1, 3])] ** 2).sum())(x)
    want = np.zeros_like(x)
    want[np.ix_([0, 2], [1, 3])] = 2 * x[np.ix_([0, 2], [1, 3])]
    np.testing.assert_allclose(g, want)
    got = cr.jit(lambda x: x[cnp.triu_indices_from(x)])(x)
    np.testing.assert_array_equal(got, x[np.triu_indices_from(x)])


@pytest.mark.parametrize("x,N,inc", [(np.array([1.5, -2.0, 0.0, 3.0]), None, False),
                                     (np.array([1.5, -2.0, 0.0]), 5, True),
                                     (np.array([2, 3, -1]), 2, False),
                                     (np.array([2, 3], np.int8), None, True),
                                     (np.array([1.0, 2.0]), 0, False),
                                     (np.array([1 + 1j, 2.0]), 3, False),
                                     (np.array([1.0, 2.0], np.float32), 1, False)])
def test_vander(x, N, inc):
    _both("vander", x, N, inc)


def test_vander_grads_jit_vmap():
    x = np.array([1.5, -2.0, 0.0, 0.3])
    check_grads(lambda x: cnp.vander(x, 4), (x,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(cr.jit(lambda x: cnp.vander(x, 3, True))(x),
                               np.vander(x, 3, True))
    xs = np.stack([x, x * 2])
    np.testing.assert_allclose(cr.vmap(cnp.vander)(xs), np.stack([np.vander(v) for v in xs]))


def test_elementwise_grads_jit_vmap():
    x = np.array([0.3, -1.7, 2.6, -0.45])
    for f in [lambda x: cnp.modf(x * 3)[0], lambda x: cnp.ldexp(x * x, np.array([1, -2, 0, 5])),
              lambda x: cnp.divmod(x, 0.7)[1], lambda x: cnp.divmod(x * x, x + 3)[1]]:
        check_grads(f, (x,), order=2, modes=("fwd", "rev"))
    g = cr.grad(lambda x: cnp.modf(x * 3)[0].sum())(x)
    np.testing.assert_array_equal(g, np.full(4, 3.0))
    xs = np.stack([x, -x, x * 5])
    for f in ["modf", "frexp", "nan_to_num", "isneginf"]:
        got = cr.vmap(getattr(cnp, f))(xs)
        want = [getattr(np, f)(v) for v in xs]
        if isinstance(got, tuple):
            for k in range(2):
                _same(got[k], np.stack([w[k] for w in want]))
        else:
            _same(got, np.stack(want))
    _same(cr.jit(cnp.divmod)(x, 0.7), np.divmod(x, 0.7))
    _same(cr.jit(cnp.ldexp)(x, np.array([1, 2, -3, 1024])), np.ldexp(x, [1, 2, -3, 1024]))


@pytest.mark.parametrize("f", ["gcd", "lcm"])
def test_gcd_lcm(f):
    a = np.array([12, -20, 0, 0, 7, 1071, 2 ** 40])
    b = np.array([8, 8, 5, 0, -3, 462, 6 ** 10])
    _both(f, a, b)
    _both(f, a.astype(np.int8), np.int8(4))
    _both(f, a.astype(np.uint16), 6)
    want = getattr(np, f)(a, b)
    _same(cr.jit(getattr(cnp, f))(a, b), want)
    _same(cr.jit(getattr(cnp, f))(a.astype(np.int16), np.int8(6)),
          getattr(np, f)(a.astype(np.int16), np.int8(6)))
    got = cr.vmap(getattr(cnp, f))(np.stack([a, b]), np.stack([b, a[::-1]]))
    _same(got, np.stack([want, getattr(np, f)(b, a[::-1])]))
    with pytest.raises(TypeError):
        cr.jit(getattr(cnp, f))(np.ones(2), np.ones(2))


def test_i0_and_kaiser():
    x = np.array([0.0, 0.5, -1.3, 4.0])
    for v in [x, x.astype(np.float32), x.astype(np.float16), np.array([1, 2, -3]), 1.0]:
        got, want = cnp.i0(v), np.i0(v)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-6 if want.dtype == np.float64 else 1e-3)
    with pytest.raises(TypeError):
        cnp.i0(np.array([1j]))
    check_grads(cnp.i0, (x,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(cr.jit(cnp.i0)(x), np.i0(x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cnp.i0)(x), np.i0(x), rtol=1e-12)
    for M, beta in [(5, 3.0), (6, 0.0), (1, 2.0), (0, 1.0), (8, 14.0)]:
        got, want = cnp.kaiser(M, beta), np.kaiser(M, beta)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12)
    check_grads(lambda b: cnp.kaiser(6, b), (2.5,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(cr.jit(lambda b: cnp.kaiser(5, b))(3.0), np.kaiser(5, 3.0))
    np.testing.assert_allclose(cr.vmap(lambda b: cnp.kaiser(5, b))(np.array([1.0, 3.0])),
                               [np.kaiser(5, 1.0), np.kaiser(5, 3.0)])


_X = np.arange(12.0).reshape(3, 4) * 0.7 - 2.9
_P = np.cumsum(np.array([0, 3.0, 3.5, -3, 2, 4]))
SETS_CASES = [
    ("delete", (_X, 1, 0), {}), ("delete", (_X, [0, 2]), {}),
    ("delete", (_X, slice(0, 3, 2), 1), {}),
    ("delete", (_X, np.array([True, False, True, False]), 1), {}),
    ("insert", (_X, 1, 5.0, 0), {}), ("insert", (_X, [1, 3], [7.0, 8.0], 1), {}),
    ("insert", (_X, 2, [[1, 2, 3]], 1), {}), ("insert", (np.arange(5), [1, 1], [9.7, 8]), {}),
    ("insert", (np.arange(3), 3, [7, 8]), {}), ("insert", (_X, [], []), {}),
    ("isin", (_X, [0.6, 1.3, 7.0]), {}), ("isin", (_X, []), {"invert": True}),
    ("isin", ([np.nan, 1], [np.nan, 1]), {}), ("isin", (3, [[1, 3]]), {}),
    ("intersect1d", ([1, 3, 4, 3], [3, 1, 2, 1]), {}),
    ("intersect1d", ([1, 3, 4, 3], [3.0, 1, 2, 1]), {"return_indices": True}),
    ("union1d", ([-1, 0, 1], [-2, 0, 2.5]), {}), ("setdiff1d", ([1, 2, 3, 2, 4], [3, 4, 5]), {}),
    ("setdiff1d", ([5, 2, 3], [3]), {"assume_unique": True}),
    ("setxor1d", ([1, 2, 3, 2, 4], [2, 3, 5, 7, 5]), {}), ("setxor1d", ([], []), {}),
    ("lexsort", (([1, 2, 1, 0], [0, 0, 1, 0]),), {}),
    ("lexsort", (np.array([[3, 1, 2], [1, 1, 0]]),), {}),
    ("lexsort", ((_X, np.floor(_X[::-1]) % 3),), {"axis": 0}),
    ("compress", ([0, 1], _X, 0), {}), ("compress", ([False, True, True], _X), {}),
    ("extract", (_X > 0.5, _X), {}),
    ("choose", ([0, 1, 0], [[1, 2, 3], [10, 20, 30]]), {}),
    ("choose", ([0, 3, -1], [[1, 2, 3], [10.0, 20, 30]]), {"mode": "wrap"}),
    ("choose", ([[0], [5]], [1, [5, 6]]), {"mode": "clip"}),
    ("resize", ([1, 2, 3], (2, 2)), {}), ("resize", (_X, 7), {}),
    ("resize", (np.array([]), 3), {}),
    ("trim_zeros", (np.array([0, 0, 1, 2, 0]),), {}),
    ("trim_zeros", (np.array([0.0, 0, 1, 2, 0]), "b"), {}),
    ("trim_zeros", (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0.0]]),), {}),
    ("trim_zeros", (np.zeros(3),), {}), ("trim_zeros", ([0, 3, 0], "f"), {}),
    ("sort_complex", ([3, 1, 2],), {}), ("sort_complex", (np.array([3, 1], np.int8),), {}),
    ("sort_complex", (np.array([1 + 2j, 1 - 1j]),), {}),
    ("sort_complex", (np.float32([2, 1]),), {}),
    ("unique_all", (np.array([3.0, 1, 1, np.nan, np.nan]),), {}),
    ("unique_counts", ([3, 1, 1],), {}), ("unique_inverse", (np.floor(_X) % 3,), {}),
    ("unique_values", (np.array([3, 1, 2, 3, 9, -4]),), {}),
    ("unique_values", (np.array([3.0, 1, np.nan, np.nan]),), {}),
    ("unwrap", (_P,), {}), ("unwrap", (np.array([0, 1, 3, 9, 2, 5]),), {"period": 4}),
    ("unwrap", (np.array([0, 1, 3, 9, 2, 5]),), {"period": 6}),
    ("unwrap", (np.stack([_P, _P * 2]),), {"axis": 0, "discont": 4}),
    ("unwrap", (np.float32(_P),), {}),
    ("spacing", (np.array([1.0, -1, 0, -0.0, np.inf, np.nan, 1e300]),), {}),
    ("spacing", (np.float32([1, 2]),), {}), ("spacing", (np.array([1, 2]),), {}),
    ("polyadd", ([1, 2], [9, 5, 4]), {}), ("polysub", ([2, 10, -2.0], [3, 10, -4]), {}),
    ("polyadd", (3, [1, 2]), {}), ("polyder", ([1, 1, 1, 1],), {}),
    ("polyder", ([1.0, 2, 3, 4], 2), {}), ("polyder", ([1, 2], 0), {}),
    ("polyint", ([3, 2, 1],), {}), ("polyint", ([3, 2, 1], 2), {}),
    ("polyint", ([3, 2, 1], 2, [1, 2]), {}), ("polyint", ([3, 2, 1], 3, 2.0), {}),
    ("polyint", ([3, 2, 1], 0), {}),
    ("apply_over_axes", (np.sum, _X, [0, 1]), {}), ("apply_over_axes", (np.mean, _X, 1), {}),
]


@pytest.mark.parametrize("f,args,kw", SETS_CASES)
def test_set_and_selection_functions_equal_numpy(f, args, kw):
    want = getattr(np, f)(*args, **kw)
    got = getattr(cnp, f)(*args, **kw)
    assert type(got) is type(want) or isinstance(want, np.ndarray)
    _same(tuple(got) if isinstance(want, tuple) else got,
          tuple(want) if isinstance(want, tuple) else want)


@pytest.mark.parametrize("f,args", [("choose", ([0, 2], [[1, 2], [3, 4]])),
                                    ("delete", (np.ones(3), 5)),
                                    ("polyder", ([1, 2], -1)), ("polyint", ([1, 2], 2, [])),
                                    ("resize", ([1], (-1, 2))), ("compress", ([[1]], [1]))])
def test_errors_as_numpy(f, args):
    with pytest.raises(Exception) as want:
        getattr(np, f)(*args)
    with pytest.raises(type(want.value)):
        getattr(cnp, f)(*args)


_SMOOTH = [
    lambda x: cnp.delete(x, [0, 2], axis=1),
    lambda x: cnp.insert(x, [1, 3], x[:, :2] ** 2, axis=1),
    lambda x: cnp.insert(x, 2, x[0, 0] * 3.0),
    lambda x: cnp.choose(np.array([[0, 1, 2, 1]]), [x[0], x[1] ** 2, x[2] * x[0]]),
    lambda x: cnp.resize(x ** 2, (5, 3)),
    lambda x: cnp.unwrap(x * 5, axis=0),
    lambda x: cnp.polyadd(x[0] ** 2, x[1, :2]),
    lambda x: cnp.polysub(x[0, :2], x[1] * x[2]),
    lambda x: cnp.polyder(x[0] ** 2, 2),
    lambda x: cnp.polyint(x[0] ** 2, 2, k=x[1, :2]),
    lambda x: cnp.apply_over_axes(cnp.sum, x * x, [0, 1]),
    lambda x: cnp.real(cnp.sort_complex(x[0] ** 2)),
]


@pytest.mark.parametrize("k", range(len(_SMOOTH)))
def test_fixed_shape_functions_grads_jit_vmap(k):
    f = _SMOOTH[k]
    check_grads(f, (_X,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(cr.jit(f)(_X), f(_X), rtol=1e-12)
    xs = np.stack([_X, _X * 1.3 + 0.1])
    np.testing.assert_allclose(cr.vmap(f)(xs), np.stack([f(v) for v in xs]), rtol=1e-12)


def test_isin_lexsort_choose_spacing_under_jit_and_vmap():
    t = np.array([0.6, 1.3, 7.0])
    _same(cr.jit(lambda x: cnp.isin(x, t))(_X), np.isin(_X, t))
    _same(cr.vmap(lambda x: cnp.isin(x, t, invert=True))(_X), np.isin(_X, t, invert=True))
    keys = (np.floor(_X[0]), np.floor(_X[1] / 3))
    _same(cr.jit(cnp.lexsort)(keys), np.lexsort(keys))
    got = cr.vmap(lambda k: cnp.lexsort((k, -k)))(np.floor(_X))
    _same(got, np.stack([np.lexsort((r, -r)) for r in np.floor(_X)]))
    idx = np.array([2, 0, 1, 1])
    _same(cr.jit(lambda i, c: cnp.choose(i, c))(idx, _X), np.choose(idx, _X))
    _same(cr.jit(cnp.spacing)(_X), np.spacing(_X))
    assert not np.any(cr.grad(lambda x: cnp.spacing(x).sum())(_X))


_VALUE_SHAPED = [
    lambda x: cnp.intersect1d(x, x[1:]),
    lambda x: cnp.union1d(x[0], x[1]),
    lambda x: cnp.setdiff1d(x, x[1]),
    lambda x: cnp.setxor1d(x[:2], x[1:]),
    lambda x: cnp.compress(x[0] > 0.0, x, axis=1),
    lambda x: cnp.extract(x > 0.0, x * x),
    lambda x: cnp.trim_zeros(cnp.where(x[0] > 0.5, 0.0, x[0])),
    lambda x: cnp.unique_all(cnp.floor(x) * x[0, 0]).values,
    lambda x: cnp.unique_counts(cnp.floor(x) * x[0, 0]).values,
    lambda x: cnp.unique_inverse(cnp.floor(x) * x[0, 0]).values,
    lambda x: cnp.unique_values(cnp.floor(x) * x[0, 0]),
    lambda x: cnp.delete(x, cnp.argmax(x[0])),
]


@pytest.mark.parametrize("k", range(len(_VALUE_SHAPED)))
def test_value_shaped_functions_differentiate_and_refuse_jit(k):
    f = _VALUE_SHAPED[k]
    check_grads(lambda x: f(x) ** 2, (_X,), order=2, modes=("fwd", "rev"))
    with pytest.raises(cr.core.ConcretizationError, match="jit"):
        cr.jit(f)(_X)
    with pytest.raises(cr.core.ConcretizationError, match="vmap"):
        cr.vmap(f)(np.stack([_X, _X]))


def test_unique_and_set_gradients_reach_the_selected_elements():
    x = np.array([3.0, 1.0, 3.0, 2.0])
    g = cr.grad(lambda x: (cnp.unique_all(x).values * np.array([1.0, 10.0, 100.0])).sum())(x)
    np.testing.assert_array_equal(g, [100.0, 1.0, 0.0, 10.0])
    g = cr.grad(lambda x: cnp.setdiff1d(x, [2.0]).sum())(x)
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0, 0.0])
    g = cr.grad(lambda x: (cnp.trim_zeros(x * (x > 1.5)) * np.array([2.0, 3.0])).sum())(
        np.array([1.0, 3.0, 2.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 2.0, 3.0, 0.0])


@pytest.mark.parametrize("a1,a2", [([0, 1, 2], [1, 1]), ([0, 0], [1, 2]), ([0, 0], [0]),
                                   (np.array([1, 2], np.float32), [1.0]), (3, [1, 2]),
                                   ([1.0, 2], [3, 4, 5]), (np.float32([0, 2]), np.float32([3]))])
def test_polymul_equals_numpy(a1, a2):
    _same(cnp.polymul(a1, a2), np.polymul(a1, a2))


def test_polymul_grads_and_jit_refusal():
    check_grads(lambda a: cnp.polymul(a, a[1:] ** 2), (np.array([1.0, -2.0, 3.0]),), order=2,
                modes=("fwd", "rev"))
    with pytest.raises(cr.core.ConcretizationError, match="jit"):
        cr.jit(cnp.polymul)(np.ones(2), np.ones(3))


_PX = np.array([-1.5, 2.4, 0.5, 3.0, -0.2])


@pytest.mark.parametrize("conds,funcs,extra", [
    (lambda x: [x < 0], [lambda v: -v, 5.0], ()),
    (lambda x: [x < 0, x > 2], [lambda v: v * 2, lambda v: v ** 2, 1.0], ()),
    (lambda x: x < 1, [7.0, lambda v: v.sum()], ()),
    (lambda x: [x < 0], [lambda v: v * 2], ()),
    (lambda x: [x > 0, x > 1], [lambda v, a: v * a, lambda v, a: v + a], (3.0,)),
])
def test_piecewise_equals_numpy(conds, funcs, extra):
    _same(cnp.piecewise(_PX, conds(_PX), funcs, *extra),
          np.piecewise(_PX, conds(_PX), funcs, *extra))


def test_piecewise_dtypes_scalars_and_transforms():
    xi = np.array([1, 2, 3])
    _same(cnp.piecewise(xi, [xi > 1], [lambda v: v * 2.5, 7]),
          np.piecewise(xi, [xi > 1], [lambda v: v * 2.5, 7]))
    for c in [True, False]:
        _same(cnp.piecewise(np.float64(2.0), [c], [lambda v: v * 2]),
              np.piecewise(np.float64(2.0), [c], [lambda v: v * 2]))
    with pytest.raises(ValueError):
        cnp.piecewise(_PX, [_PX > 0], [1.0, 2.0, 3.0])
    f = lambda x: cnp.piecewise(x, [x < 0, x > 2],  # noqa: E731
                                [lambda v: v * 2, lambda v: v ** 2, lambda v: cnp.sin(v)])
    want = np.piecewise(_PX, [_PX < 0, _PX > 2], [lambda v: v * 2, lambda v: v ** 2, np.sin])
    np.testing.assert_allclose(f(_PX), want, rtol=1e-15)
    np.testing.assert_allclose(cr.jit(f)(_PX), want, rtol=1e-15)
    np.testing.assert_allclose(cr.vmap(f)(np.stack([_PX, -_PX]))[1],
                               np.piecewise(-_PX, [-_PX < 0, -_PX > 2],
                                            [lambda v: v * 2, lambda v: v ** 2, np.sin]))
    check_grads(f, (_PX,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(cr.grad(lambda x: f(x).sum())(_PX),
                               np.where(_PX < 0, 2.0, np.where(_PX > 2, 2 * _PX, np.cos(_PX))))


@pytest.mark.parametrize("dt", [np.float16, np.float32, np.float64])
def test_frexp_ldexp_spacing_modf_bit_exact_on_random_and_extreme_values(dt):
    rng = np.random.default_rng(5)
    fi = np.finfo(dt)
    with np.errstate(all="ignore"):
        x = np.concatenate([rng.standard_normal(3000) * 10.0 ** rng.integers(-30, 30, 3000),
                            [fi.tiny, fi.smallest_subnormal, fi.max, -fi.max, fi.tiny / 3,
                             fi.eps, 1 - fi.epsneg, 0, -0.0, np.inf, -np.inf, np.nan]]).astype(dt)
        for f in ["frexp", "spacing", "modf"]:
            _same(cr.jit(getattr(cnp, f))(x), getattr(np, f)(x))
        for span in [60, 300, 3000]:
            e = rng.integers(-span, span, x.size)
            _same(cr.jit(cnp.ldexp)(x, e), np.ldexp(x, e))
            _same(cnp.ldexp(x, e), np.ldexp(x, e))


def test_in_place_functions_refuse_what_they_cannot_record():
    with pytest.raises(TypeError, match="cannot hold traced values"):
        cr.grad(lambda v: (np.put_along_axis(np.zeros((2, 2)), np.array([[0], [1]]), v, 1),
                           v)[1].sum())(1.0)
    with pytest.raises(TypeError, match="cannot hold traced values"):
        cr.grad(lambda v: (cnp.fill_diagonal(np.zeros((2, 2)), v), v)[1])(1.0)

    def on_view(x):
        y = x * 1.0
        cnp.fill_diagonal(y[:2], 5.0)
        return y
    with pytest.raises(TypeError, match="view"):
        cr.grad(lambda x: on_view(x).sum())(np.ones((3, 3)))


def test_choose_checks_bounds_where_the_indices_are_known():
    with pytest.raises(ValueError, match="invalid entry"):
        cr.grad(lambda c: cnp.choose(cnp.argmax(c) + 5, [c[0], c[1]]))(np.ones(2))
    got = cr.jit(lambda i, c: cnp.choose(i, c, mode="clip"))(np.array([-1, 4]), _X[:2, :2])
    _same(got, np.choose(np.array([-1, 4]), _X[:2, :2], mode="clip"))
