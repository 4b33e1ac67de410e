"""prod and cumprod differentiate exactly where factors are zero: cumprod's rules use a
division-free linear recurrence there (the quotient form gives 0/0), so hessians of prod and
gradients of cumprod stay finite and right, in both modes and to higher order."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads


def _jac_cumprod(x):
    """Jacobian of cumprod of a vector by brute force: d y_i / d x_j."""
    n = x.size
    J = np.zeros((n, n), np.result_type(x.dtype, float))
    for i in range(n):
        for j in range(i + 1):
            J[i, j] = np.prod([x[k] for k in range(i + 1) if k != j])
    return J


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0], [2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 1.5],
                               [1.5, -2.0, 0.5, 4.0]])
def test_cumprod_jacobian_with_zeros_both_modes(x):
    x = np.array(x)
    want = _jac_cumprod(x)
    np.testing.assert_allclose(cr.jacfwd(cnp.cumprod)(x), want)
    np.testing.assert_allclose(cr.jacrev(cnp.cumprod)(x), want)
    np.testing.assert_allclose(cr.jit(cr.jacrev(cnp.cumprod))(x), want)
    # reversed direction: cumprod of the flipped vector
    rev = lambda v: cnp.flip(cnp.cumprod(cnp.flip(v)))  # noqa: E731
    want_r = _jac_cumprod(x[::-1])[::-1, ::-1]
    np.testing.assert_allclose(cr.jacfwd(rev)(x), want_r)
    np.testing.assert_allclose(cr.jacrev(rev)(x), want_r)


def test_grad_of_cumsum_of_cumprod_at_zero():
    # the tester's case: JAX gives [1, 8, 0]
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.cumprod(x)))(np.array([2., 0., 3.])),
                               [1.0, 8.0, 0.0])


@pytest.mark.parametrize("x", [[0.0, 2.0, 3.0], [0.0, 0.0, 3.0], [1.0, 2.0, 3.0, 0.0]])
def test_hessian_of_prod_with_zeros(x):
    x = np.array(x)
    n = x.size
    want = np.array([[0.0 if i == j else np.prod([x[k] for k in range(n) if k not in (i, j)])
                      for j in range(n)] for i in range(n)])
    np.testing.assert_allclose(cr.hessian(cnp.prod)(x), want)
    np.testing.assert_allclose(cr.jacrev(cr.jacrev(cnp.prod))(x), want)
    assert np.all(np.isfinite(cr.jacfwd(cr.hessian(cnp.prod))(x)))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_check_grads_with_and_without_zeros(axis):
    rng = np.random.default_rng(1)
    for x in (rng.normal(size=(3, 5)),
              np.array([[1.0, 0.0, 2.0, 3.0, 0.0], [0.0, 1.0, 2.0, 0.0, 3.0], [1, 2, 3, 4, 5.]])):
        check_grads(lambda x: cnp.cumprod(x, axis=axis), (x,), order=2)
        check_grads(lambda x: cnp.prod(x, axis=axis), (x,), order=2)
        check_grads(cr.jit(lambda x: cnp.cumprod(x, axis=axis)), (x,), order=2)


def test_complex_cumprod_with_a_zero():
    z = np.array([1 + 1j, 0.0, 2 - 1j])
    want = _jac_cumprod(z)
    # holomorphic: jacfwd/jacrev give d y / d z
    np.testing.assert_allclose(cr.jacfwd(cnp.cumprod, holomorphic=True)(z), want)
    np.testing.assert_allclose(cr.jacrev(cnp.cumprod, holomorphic=True)(z), want)


def test_vmap_of_cumprod_gradient_with_zeros():
    xs = np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])
    g = cr.vmap(cr.grad(lambda x: cnp.sum(cnp.cumprod(x))))(xs)
    want = np.stack([_jac_cumprod(x).sum(0) for x in xs])
    np.testing.assert_allclose(g, want)
