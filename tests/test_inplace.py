"""In-place assignment inside transformed functions: x[i] = y, x[mask] = y, x += y, x[i] += y
are functionalized into index updates and differentiate; writes through views are refused."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads

X = np.array([1.0, 2.0, 3.0])


def build(x):
    out = cnp.zeros(3)
    out[0] = x[0] * 2
    out[1:] = x[1:] ** 2
    out[2] += x[0]
    return out


def test_writes_into_a_new_array_differentiate_in_every_mode():
    f = lambda x: cnp.sum(build(x) * cnp.arange(1.0, 4.0))
    want = np.array([2 * 1 + 3, 2 * 2 * 2, 2 * 3 * 3])
    np.testing.assert_allclose(cr.grad(f)(X), want)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(X), want)
    np.testing.assert_allclose(cr.jvp(f, (X,), (np.ones(3),))[1], want.sum())
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(np.stack([X, X])), np.stack([want, want]))
    np.testing.assert_allclose(build(X), [2.0, 4.0, 10.0])  # eager: plain numpy semantics
    check_grads(f, (X,), order=2)


def test_loop_filling_an_array_and_augmented_assignment():
    def f(x):
        a = cnp.array([0.0, 0.0, 0.0])
        for i in range(3):
            a[i] = x[i] * i
        a += x
        return cnp.sum(a ** 2)
    check_grads(f, (X,), order=2)
    np.testing.assert_allclose(cr.grad(f)(X), 2 * (X * np.arange(3) + X) * (np.arange(3) + 1))


def test_write_into_an_input_rebinds_every_reference():
    def f(x):
        y = x * 1.0
        alias = y
        y[1] = 0.0
        return cnp.sum(alias)  # the alias sees the write, as with NumPy arrays
    np.testing.assert_allclose(cr.grad(f)(X), [1.0, 0.0, 1.0])


def test_boolean_mask_assignment_under_grad_vmap_and_jit():
    def f(x):
        y = x * 1.0
        y[y > 2] = 0.0
        return cnp.sum(y ** 2)
    np.testing.assert_allclose(cr.grad(f)(X), [2.0, 4.0, 0.0])
    np.testing.assert_allclose(cr.jit(f)(X), 5.0)
    np.testing.assert_allclose(cr.vmap(f)(np.stack([X, X[::-1]])), [5.0, 5.0])


def test_write_through_a_view_is_refused():
    def f(x):
        y = x * 1.0
        v = y[0:2]
        v[0] = 5.0
        return cnp.sum(y)
    with pytest.raises(TypeError, match="view"):
        cr.grad(f)(X)

    def g(x):
        y = (x * 1.0).reshape(3, 1)
        y.T[0, 0] = 1.0
        return cnp.sum(y)
    with pytest.raises(TypeError, match="view"):
        cr.grad(g)(X)


def test_copy_is_not_a_view():
    def f(x):
        v = x[0:2].copy()
        v[0] = 5.0
        return cnp.sum(v) + cnp.sum(x)
    np.testing.assert_allclose(cr.grad(f)(X), [1.0, 2.0, 1.0])


def test_assigning_a_traced_value_into_a_numpy_array_raises():
    def f(x):
        a = np.zeros(3)
        a[0] = x[0]
        return cnp.sum(a * x)
    with pytest.raises((TypeError, ValueError)) as e:
        cr.grad(f)(X)
    text = str(e.value) + str(e.value.__cause__)
    assert "drop its derivative" in text
