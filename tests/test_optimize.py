"""chainrule.scipy.optimize.minimize: convergence (quadratic, Rosenbrock, active bounds),
SciPy-like results, implicit derivatives of the solution (exact Jacobians, finite differences,
second order, bounds, closed-over values), jit and vmap, pytrees, errors; the Hessian-solve
primitive through the shared primitive table.
"""
import numpy as np
import pytest
import scipy.optimize

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import ShapedArray
from chainrule.scipy import optimize as opt
from chainrule.scipy.optimize import minimize, hessian_solve_p
from chainrule.test_util import check_grads
from chainrule.transforms.staging import stage_flat
from primtable import Row, coverage_test
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)

A = np.array([[3.0, 1.0, 0.2], [1.0, 2.0, 0.1], [0.2, 0.1, 1.5]])
A_INV = np.linalg.inv(A)


def quad(x, th):
    return 0.5 * x @ A @ x - th @ x


def quartic(x, th):
    """Not quadratic, with a Hessian that depends on x and theta."""
    return quad(x, th) + 0.1 * cnp.sum(x ** 4) + 0.1 * cnp.sum(th * x ** 2)


TH = np.array([1.0, 0.5, -0.3])


# --- the primitive table: M b for H = A + diag(3 theta x^2), the Hessian of
# 0.5 x'Ax + sum(theta x^4) / 4 --------------------------------------------------------------

_GRAD = stage_flat(lambda th, x: [A @ x + th * x ** 3],
                   [ShapedArray((3,), np.float64), ShapedArray((3,), np.float64)])


def _solve_args(free):
    def make(rng):
        return (rng.standard_normal(3), np.array(free, float), rng.standard_normal(3),
                rng.uniform(0.5, 1.5, 3))
    return make


def _solve_ref(b, free, x, th):
    h = A + np.diag(3 * th * x ** 2)
    f = np.asarray(free, bool)
    v = np.zeros_like(b)
    v[f] = np.linalg.solve(h[np.ix_(f, f)], b[f])
    return v


ALL_ROWS = [Row(hessian_solve_p, _solve_args([1, 1, 1]), _solve_ref, {"grad_program": _GRAD},
                diff=(0, 2, 3), float32=False),
            Row(hessian_solve_p, _solve_args([1, 0, 1]), _solve_ref, {"grad_program": _GRAD},
                diff=(0, 2, 3), float32=False, case="masked")]
test_coverage = coverage_test(
    ALL_ROWS, module="chainrule.scipy.optimize",
    exempt={"minimize_solution": "its value is its input x and its derivative the implicit one, "
                                 "valid only at x = argmin f(., theta): tested through "
                                 "minimize below"})


# --- convergence and results ----------------------------------------------------------------


def test_quadratic_minimizer():
    res = minimize(quad, np.zeros(3), args=(TH,))
    assert isinstance(res, scipy.optimize.OptimizeResult)
    assert res.success and res.status == 0 and isinstance(res.message, str)
    assert res.nit > 0 and res.nfev > 0 and res.njev > 0
    assert isinstance(res.x, np.ndarray) and res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, A_INV @ TH, atol=1e-6)
    np.testing.assert_allclose(res.fun, -0.5 * TH @ A_INV @ TH, rtol=1e-9)
    assert np.max(np.abs(res.jac)) < 1e-5 and res.hess_inv.shape == (3, 3)


@pytest.mark.parametrize("method", ["BFGS", "l-bfgs-b"])
def test_rosenbrock_converges(method):
    def rosen(x):
        return cnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])        # SciPy's tutorial start
    res = minimize(rosen, x0, method=method, tol=1e-9)
    assert res.success
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-5)
    ref = scipy.optimize.minimize(scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der,
                                  method=method.upper(), tol=1e-9)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)


def test_lbfgsb_active_bounds():
    th = np.array([1.0, -2.0, 0.5, -0.1])

    def f(x, th):
        return 0.5 * cnp.sum((x - th) ** 2)

    def sol(th):
        return minimize(f, np.zeros(4), args=(th,), method="L-BFGS-B",
                        bounds=[(0.0, None), (0.0, None), (0.0, 0.3), (None, None)]).x

    np.testing.assert_allclose(sol(th), [1.0, 0.0, 0.3, -0.1], atol=1e-8)
    want = np.diag([1.0, 0.0, 0.0, 1.0])        # active bounds do not move with theta
    np.testing.assert_allclose(cr.jacrev(sol)(th), want, atol=1e-8)
    np.testing.assert_allclose(cr.jacfwd(sol)(th), want, atol=1e-8)
    b = scipy.optimize.Bounds([0.0, 0.0, 0.0, -np.inf], [np.inf, np.inf, 0.3, np.inf])
    np.testing.assert_allclose(minimize(f, np.zeros(4), args=(th,), method="L-BFGS-B",
                                        bounds=b).x, [1.0, 0.0, 0.3, -0.1], atol=1e-8)


def test_coupled_problem_with_an_active_bound():
    # x2 is held at its bound 0; the free block solves A[:2, :2] x = th[:2]
    def sol(th):
        return minimize(quad, np.zeros(3), args=(th,), method="L-BFGS-B",
                        bounds=[(None, None), (None, None), (0.0, None)], tol=1e-14).x

    th = np.array([1.0, 0.5, -1.0])
    x = sol(th)
    assert x[2] == 0.0
    np.testing.assert_allclose(x[:2], np.linalg.solve(A[:2, :2], th[:2]), atol=1e-7)
    want = np.zeros((3, 3))
    want[:2, :2] = np.linalg.inv(A[:2, :2])
    np.testing.assert_allclose(cr.jacrev(sol)(th), want, atol=1e-7)


def test_pytree_x0():
    def f(p, th):
        return (cnp.sum((p["a"] - th[0]) ** 2) + 3.0 * (p["b"] - th[1]) ** 2
                + cnp.sum(p["a"]) * p["b"])

    x0 = {"a": np.zeros(2), "b": np.float32(0.0)}
    res = minimize(f, x0, args=(np.array([1.0, 2.0]),), tol=1e-12)
    assert set(res.x) == {"a", "b"} and res.x["a"].shape == (2,)
    assert res.x["b"].dtype == np.float32 and set(res.jac) == {"a", "b"}
    # stationarity: a_i = th0 - b / 2, b = (6 th1 - 2 th0) / 5
    np.testing.assert_allclose(res.x["b"], 2.0, atol=1e-6)
    np.testing.assert_allclose(res.x["a"], [0.0, 0.0], atol=1e-6)
    jac = cr.jacobian(lambda th: minimize(f, x0, args=(th,), tol=1e-12).x)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(jac["a"], [[1.2, -0.6], [1.2, -0.6]], atol=1e-6)
    np.testing.assert_allclose(jac["b"], [-0.4, 1.2], atol=1e-6)


# --- implicit derivatives -------------------------------------------------------------------


@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd])
def test_quadratic_exact_jacobian(jac):
    def sol(th):
        return minimize(quad, np.zeros(3), args=(th,), tol=1e-12).x

    np.testing.assert_allclose(jac(sol)(TH), A_INV, atol=1e-10)
    # the loss of x* and the optimal value (envelope: d f*/d th = -x*)
    loss = lambda th: cnp.sum(sol(th) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.grad(loss)(TH), 2 * A_INV @ (A_INV @ TH), atol=1e-9)
    np.testing.assert_allclose(cr.hessian(loss)(TH), 2 * A_INV @ A_INV, atol=1e-9)
    fstar = cr.grad(lambda th: minimize(quad, np.zeros(3), args=(th,), tol=1e-12).fun)(TH)
    np.testing.assert_allclose(fstar, -A_INV @ TH, atol=1e-9)


def test_gradients_vs_finite_differences():
    def sol(th):
        return minimize(quartic, np.zeros(3), args=(th,), tol=1e-13).x

    check_grads(sol, (TH,), order=2, modes=("fwd", "rev"))
    check_grads(lambda th: cnp.sum(cnp.sin(sol(th))), (TH,), order=2, modes=("fwd", "rev"))


def test_closed_over_values_and_user_jacobians():
    def via_closure(th):
        return minimize(lambda x: quad(x, th), np.zeros(3), tol=1e-12).x

    np.testing.assert_allclose(cr.jacrev(via_closure)(TH), A_INV, atol=1e-9)

    def with_pair(th):
        return minimize(lambda x, th: (quad(x, th), A @ x - th), np.zeros(3), args=(th,),
                        jac=True, tol=1e-12).x

    def with_jac(th):
        return minimize(quad, np.zeros(3), args=(th,), jac=lambda x, th: A @ x - th,
                        tol=1e-12).x

    def with_static_arg(th):      # a non-array leaf of args is passed through as a constant
        return minimize(lambda x, th, how: quad(x, th) if how == "plain" else 0.0,
                        np.zeros(3), args=(th, "plain"), tol=1e-12).x

    for sol in (with_pair, with_jac, with_static_arg):
        np.testing.assert_allclose(sol(TH), A_INV @ TH, atol=1e-9)
        np.testing.assert_allclose(cr.jacfwd(sol)(TH), A_INV, atol=1e-9)


def test_conjugate_gradient_solve(monkeypatch):
    def sol(th):
        return minimize(quartic, np.zeros(3), args=(th,), tol=1e-13).x

    dense = cr.jacrev(sol)(TH), cr.hessian(lambda th: cnp.sum(sol(th) ** 2))(TH)
    monkeypatch.setattr(opt, "_DENSE_MAX", 0)
    cg = cr.jacrev(sol)(TH), cr.hessian(lambda th: cnp.sum(sol(th) ** 2))(TH)
    for d, c in zip(dense, cg):
        np.testing.assert_allclose(c, d, rtol=1e-8, atol=1e-10)


def test_singular_hessian_gives_nan_derivative():
    def sol(th):   # x[1] does not enter: H = [[2, 0], [0, 0]]
        return minimize(lambda x, th: (x[0] - th) ** 2, np.zeros(2), args=(th,)).x

    np.testing.assert_allclose(sol(1.5), [1.5, 0.0], atol=1e-6)
    assert np.all(np.isnan(cr.jacrev(sol)(1.5)))


def test_no_derivative_to_x0():
    g = cr.grad(lambda x0: cnp.sum(minimize(quad, x0, args=(TH,), tol=1e-12).x))(np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))


# --- jit and vmap ---------------------------------------------------------------------------


def test_jit():
    def sol(th):
        return minimize(quartic, np.zeros(3), args=(th,), tol=1e-12).x

    np.testing.assert_allclose(cr.jit(sol)(TH), sol(TH), rtol=1e-12)
    res = cr.jit(lambda th: minimize(quartic, np.zeros(3), args=(th,)))(TH)
    assert isinstance(res, scipy.optimize.OptimizeResult) and bool(res.success)
    assert "jit" in res.message
    jg = cr.jacrev(sol)(TH)
    np.testing.assert_allclose(cr.jit(cr.jacrev(sol))(TH), jg, rtol=1e-10)
    np.testing.assert_allclose(cr.jacrev(cr.jit(sol))(TH), jg, rtol=1e-10)


def test_vmap():
    def sol(th):
        return minimize(quartic, np.zeros(3), args=(th,), tol=1e-12).x

    ths = np.stack([TH, 2 * TH, -TH])
    want = np.stack([sol(t) for t in ths])
    np.testing.assert_allclose(cr.vmap(sol)(ths), want, rtol=1e-12)
    res = cr.vmap(lambda th: minimize(quartic, np.zeros(3), args=(th,)))(ths)
    assert res.x.shape == (3, 3) and res.nit.shape == (3,) and bool(np.all(res.success))
    jacs = np.stack([cr.jacrev(sol)(t) for t in ths])
    np.testing.assert_allclose(cr.vmap(cr.jacrev(sol))(ths), jacs, rtol=1e-10)
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(sol))(ths), jacs, rtol=1e-10)
    total = cr.grad(lambda ths: cnp.sum(cr.vmap(sol)(ths)))(ths)
    np.testing.assert_allclose(total, jacs.sum(axis=1), rtol=1e-10)


# --- eager fallback and errors --------------------------------------------------------------


def branchy(x):
    if float(x[0]) > 0.0:            # a Python branch on a value: cannot be staged
        return cnp.sum((x - 1.0) ** 2)
    return cnp.sum((x - 1.0) ** 2) + 0.0


def test_unstageable_fun_runs_eagerly_but_not_under_transforms():
    res = minimize(branchy, np.zeros(2))
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)
    with pytest.raises(TypeError, match="could not be traced"):
        cr.grad(lambda c: cnp.sum(minimize(lambda x, c: branchy(x) * c, np.zeros(2),
                                           args=(c,)).x))(2.0)


def test_bad_input():
    x0 = np.zeros(3)
    with pytest.raises(TypeError, match="callable"):
        minimize(3.0, x0)
    with pytest.raises(ValueError, match="not supported"):
        minimize(quad, x0, args=(TH,), method="Nelder-Mead")
    with pytest.raises(ValueError, match="L-BFGS-B"):
        minimize(quad, x0, args=(TH,), bounds=[(0, 1)] * 3)
    with pytest.raises(ValueError, match="pairs"):
        minimize(quad, x0, args=(TH,), method="L-BFGS-B", bounds=[(0, 1)] * 2)
    with pytest.raises(ValueError, match="lower bound"):
        minimize(quad, x0, args=(TH,), method="L-BFGS-B", bounds=[(1, 0)] * 3)
    with pytest.raises(TypeError, match="complex"):
        minimize(quad, np.zeros(3, complex), args=(TH,))
    with pytest.raises(TypeError, match="scalar"):
        minimize(lambda x: x ** 2, x0)
    with pytest.raises(TypeError, match="value, gradient"):
        minimize(lambda x: cnp.sum(x ** 2), x0, jac=True)
    with pytest.raises(TypeError, match="structure"):
        minimize(lambda x: cnp.sum(x ** 2), x0, jac=lambda x: (x, x))
    with pytest.raises(ValueError, match="no elements"):
        minimize(lambda x: 0.0, np.zeros(0))
