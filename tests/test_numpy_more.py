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
