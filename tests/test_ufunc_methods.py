"""Plain-NumPy code on tracers beyond ufunc calls: ufunc.reduce / accumulate / outer / at,
out= naming a traced array, where= with out=, and scipy.special ufuncs dispatching to
chainrule.scipy.special. Unsupported forms raise an error that says what to use."""
import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads

X = np.arange(1.0, 7.0).reshape(2, 3) / 3.0


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_reduce(ufunc, axis):
    kw = {} if axis is None else {"axis": axis}
    want = ufunc.reduce(X, **kw)
    np.testing.assert_allclose(cr.jit(lambda x: ufunc.reduce(x, **kw))(X), want)
    check_grads(lambda x: ufunc.reduce(x, **kw), (X,), order=2)


def test_reduce_of_logical_ufuncs_and_keepdims():
    m = X > 0.9
    for u in (np.logical_and, np.logical_or):
        np.testing.assert_array_equal(cr.jit(lambda m: u.reduce(m, axis=1))(m),
                                      u.reduce(m, axis=1))
    np.testing.assert_allclose(cr.jit(lambda x: np.add.reduce(x, axis=1, keepdims=True))(X),
                               np.add.reduce(X, axis=1, keepdims=True))


@pytest.mark.parametrize("ufunc", [np.add, np.multiply])
def test_accumulate(ufunc):
    for axis in (0, 1):
        np.testing.assert_allclose(cr.jit(lambda x: ufunc.accumulate(x, axis=axis))(X),
                                   ufunc.accumulate(X, axis=axis))
        check_grads(lambda x: ufunc.accumulate(x, axis=axis), (X,), order=2)


def test_outer():
    a, b = X[0], X[1, :2]
    for u in (np.multiply, np.add, np.subtract, np.arctan2):
        np.testing.assert_allclose(cr.jit(lambda a, b: u.outer(a, b))(a, b), u.outer(a, b))
    check_grads(lambda a, b: np.multiply.outer(a, b), (a, b), order=2)
    assert cr.vmap(lambda a: np.multiply.outer(a, b))(X).shape == (2, 3, 2)


def test_at_is_an_in_place_update_that_differentiates():
    idx = [0, 0, 2]

    def f(x, v):
        y = x * 1.0
        np.add.at(y, idx, v)
        np.multiply.at(y, [1], 3.0)
        return y

    v = np.array([0.5, 0.25, 2.0])
    want = X[0].copy()
    np.add.at(want, idx, v)
    np.multiply.at(want, [1], 3.0)
    np.testing.assert_allclose(f(cnp.asarray(X[0]), v), want)   # eager on plain arrays
    np.testing.assert_allclose(cr.jit(f)(X[0], v), want)
    check_grads(f, (X[0], v), order=2)


def test_out_names_a_traced_array():
    def g(x):
        y = cnp.zeros(3)
        np.multiply(x, 2.0, out=y)
        return y * x

    np.testing.assert_allclose(cr.jit(g)(X[0]), 2 * X[0] ** 2)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(g(x)))(X[0]), 4 * X[0])


def test_where_with_out_keeps_the_masked_entries():
    def h(x):
        y = x * 1.0
        np.add(x, 10.0, out=y, where=x > 0.5)
        return y

    want = np.where(X[0] > 0.5, X[0] + 10, X[0])
    np.testing.assert_allclose(cr.jit(h)(X[0]), want)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(h(x) ** 2))(X[0]), 2 * want)


def test_scipy_special_ufuncs_dispatch():
    x = X[0] + 0.5
    f = lambda x: ss.expit(x) * ss.gammaln(x) + ss.erf(x)  # noqa: E731
    np.testing.assert_allclose(cr.jit(f)(x), f(x))
    check_grads(f, (x,), order=2)


def test_unsupported_forms_say_what_to_do():
    with pytest.raises(TypeError, match="maximum.accumulate is not supported.*cumsum"):
        cr.jit(lambda x: np.maximum.accumulate(x))(X)
    with pytest.raises(TypeError, match="a NumPy array cannot hold traced values"):
        cr.jit(lambda x: np.add(x, 1, out=np.zeros(3)))(X[0])
    with pytest.raises(TypeError, match="where=.*without out="):
        cr.jit(lambda x: np.add(x, 1, where=x > 0))(X[0])
    with pytest.raises(TypeError, match="no implementation of wofz"):
        cr.jit(lambda x: ss.wofz(x))(X[0])
