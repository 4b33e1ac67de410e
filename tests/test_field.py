"""Cases from the field: the derivatives users actually ask for (autograd's and JAX's classic
examples), each checked against a closed form, a hand-written backprop or finite differences."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads

RNG = np.random.default_rng(1234)
XS = np.linspace(-3.0, 3.0, 25)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def fd_grad(f, x, eps=1e-6):
    """Central finite-difference gradient of a scalar function of one array."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# ---------------------------------------------------------------------------------------------
# a. w = exp(-x^2)


def gauss(x):
    return cnp.exp(-x ** 2)


@pytest.mark.parametrize("x", XS)
def test_gaussian_derivative_both_modes(x):
    want = -2 * x * np.exp(-x ** 2)
    close(cr.grad(gauss)(x), want)
    y, t = cr.jvp(gauss, (x,), (1.0,))
    close(y, np.exp(-x ** 2))
    close(t, want)


def test_gaussian_derivative_vectorised():
    g = cr.grad(lambda x: cnp.sum(gauss(x)))(XS)
    close(g, -2 * XS * np.exp(-XS ** 2))
    _, t = cr.jvp(gauss, (XS,), (np.ones_like(XS),))
    close(t, -2 * XS * np.exp(-XS ** 2))


# ---------------------------------------------------------------------------------------------
# b. logistic regression


def _logreg_data(n=200, d=5):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, d))
    true = rng.standard_normal(d)
    y = np.where(X @ true + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return X, y


def logreg_loss(theta, X, y):
    return cnp.mean(cnp.log(1 + cnp.exp(-y * (X @ theta))))


def test_logistic_regression_gradient_matches_hand_formula():
    X, y = _logreg_data()
    for theta in [np.zeros(5), RNG.standard_normal(5), 3 * RNG.standard_normal(5)]:
        e = np.exp(-y * (X @ theta))
        want = np.mean((-y * e / (1 + e))[:, None] * X, axis=0)
        g = cr.grad(logreg_loss)(theta, X, y)
        assert isinstance(g, np.ndarray) and g.shape == (5,) and g.dtype == np.float64
        close(g, want)


def test_logistic_regression_gradient_descent_lowers_loss():
    X, y = _logreg_data()
    theta = np.zeros(5)
    losses = [float(logreg_loss(theta, X, y))]
    g_fn = cr.grad(logreg_loss)
    for _ in range(100):
        theta = theta - 0.5 * g_fn(theta, X, y)
        losses.append(float(logreg_loss(theta, X, y)))
    assert losses[-1] < 0.6 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


# ---------------------------------------------------------------------------------------------
# c. an MLP over a list of (W, b) tuples


def init_mlp(sizes, rng):
    return [(0.5 * rng.standard_normal((m, n)), 0.1 * rng.standard_normal(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, inputs):
    for W, b in params:
        outputs = cnp.dot(inputs, W) + b
        inputs = cnp.tanh(outputs)
    return outputs


def mlp_loss(params, inputs, targets):
    preds = predict(params, inputs)
    return cnp.sum((preds - targets) ** 2)


def hand_backprop(params, inputs, targets):
    hs, zs = [inputs], []
    h = inputs
    for W, b in params:
        z = h @ W + b
        zs.append(z)
        h = np.tanh(z)
        hs.append(h)
    delta = 2 * (zs[-1] - targets)
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        W, _ = params[l]
        grads[l] = (hs[l].T @ delta, delta.sum(0))
        if l:
            delta = (delta @ W.T) * (1 - np.tanh(zs[l - 1]) ** 2)
    return grads


def test_mlp_gradient_structure_and_values():
    rng = np.random.default_rng(3)
    params = init_mlp([3, 4, 5, 2], rng)
    inputs = rng.standard_normal((6, 3))
    targets = rng.standard_normal((6, 2))
    g = cr.grad(mlp_loss)(params, inputs, targets)
    assert type(g) is list and len(g) == len(params)
    want = hand_backprop(params, inputs, targets)
    for (gW, gb), (W, b), (hW, hb) in zip(g, params, want):
        assert isinstance(g[0], tuple)
        assert type(gW) is np.ndarray and gW.shape == W.shape and gW.dtype == np.float64
        assert type(gb) is np.ndarray and gb.shape == b.shape
        close(gW, hW)
        close(gb, hb)
    # and one layer against finite differences
    W1, b1 = params[1]
    fd = fd_grad(lambda w: mlp_loss([params[0], (w, b1), params[2]], inputs, targets), W1)
    close(g[1][0], fd, tol=1e-6)


# ---------------------------------------------------------------------------------------------
# d. derivatives of tanh up to order 4


def tanh_derivs(x):
    t = np.tanh(x)
    s = 1 - t ** 2
    return [s, -2 * t * s, (6 * t ** 2 - 2) * s, 8 * t * s * (2 - 3 * t ** 2)]


@pytest.mark.parametrize("x", [-2.0, -0.7, 0.0, 0.3, 1.1, 2.5])
def test_tanh_nested_grad_to_fourth_order(x):
    f = cnp.tanh
    for k, want in enumerate(tanh_derivs(x)):
        f = cr.grad(f)
        close(f(x), want, tol=1e-9)


def test_tanh_fourth_order_in_forward_mode():
    def d(f):
        return lambda x: cr.jvp(f, (x,), (1.0,))[1]
    f = cnp.tanh
    for want in tanh_derivs(0.4):
        f = d(f)
        close(f(0.4), want, tol=1e-9)


# ---------------------------------------------------------------------------------------------
# e. Hessians and Hessian-vector products

A = np.random.default_rng(5).standard_normal((4, 3))


def f_hess(x):
    return cnp.sum(cnp.tanh(A @ x) ** 2) + (x @ x) ** 2


def hess_closed(x):
    z = A @ x
    t = np.tanh(z)
    s = 1 - t ** 2
    # d/dz of 2 t s = 2 s^2 - 4 t^2 s
    d2 = 2 * s ** 2 - 4 * t ** 2 * s
    return A.T @ np.diag(d2) @ A + 4 * (x @ x) * np.eye(3) + 8 * np.outer(x, x)


def test_hessian_by_every_composition():
    x = np.array([0.3, -0.5, 0.8])
    H = hess_closed(x)
    assert np.abs(H - np.diag(np.diag(H))).max() > 0.1  # genuinely non-diagonal
    close(cr.hessian(f_hess)(x), H)
    close(cr.jacfwd(cr.jacrev(f_hess))(x), H)
    close(cr.jacrev(cr.jacrev(f_hess))(x), H)
    close(cr.jacfwd(cr.jacfwd(f_hess))(x), H)
    close(cr.jacrev(cr.jacfwd(f_hess))(x), H)


def test_hessian_vector_products():
    x = np.array([0.3, -0.5, 0.8])
    v = np.array([1.0, 2.0, -0.5])
    Hv = hess_closed(x) @ v
    rev_rev = cr.grad(lambda x: cnp.dot(cr.grad(f_hess)(x), v))(x)
    close(rev_rev, Hv)
    fwd_rev = cr.jvp(cr.grad(f_hess), (x,), (v,))[1]
    close(fwd_rev, Hv)


# ---------------------------------------------------------------------------------------------
# f. a power written with a while loop


def pow_loop(x, n):
    r = 1.0
    while n > 0:
        r = r * x
        n -= 1
    return r


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("x", [-1.5, 0.5, 2.0])
def test_while_loop_power(x, n):
    want = n * x ** (n - 1)
    close(cr.grad(pow_loop)(x, n), want)
    close(cr.jvp(lambda x: pow_loop(x, n), (x,), (1.0,))[1], want)


# ---------------------------------------------------------------------------------------------
# g. gradient with respect to two arguments


def test_gradient_wrt_two_arguments():
    f = lambda x, t, y: cnp.sum((x * t - y) ** 2) ** 0.5  # noqa: E731
    rng = np.random.default_rng(11)
    x, t, y = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4)
    r = x * t - y
    nrm = np.sqrt(np.sum(r ** 2))
    gx, gt = cr.grad(f, argnums=(0, 1))(x, t, y)
    close(gx, r * t / nrm)
    close(gt, r * x / nrm)
    # scalar t broadcast against a vector x
    t0 = 0.7
    r = x * t0 - y
    nrm = np.sqrt(np.sum(r ** 2))
    gx, gt = cr.grad(f, argnums=(0, 1))(x, t0, y)
    close(gx, r * t0 / nrm)
    assert np.shape(gt) == ()
    close(gt, np.sum(r * x) / nrm)


# ---------------------------------------------------------------------------------------------
# h. Jacobian of a cube


def test_jacobian_and_hessian_of_cube():
    x = np.array([-1.0, 0.5, 2.0, 3.0])
    J = np.diag(3 * x ** 2)
    close(cr.jacfwd(lambda x: x ** 3)(x), J)
    close(cr.jacrev(lambda x: x ** 3)(x), J)
    close(cr.hessian(lambda x: cnp.sum(x ** 3))(x), np.diag(6 * x))


# ---------------------------------------------------------------------------------------------
# i. black-box variational inference


D = 2
NOISE = np.random.default_rng(21).standard_normal((10, D))


def log_density(s):
    mu, log_sigma = s[:, 0], s[:, 1]
    sigma_density = -0.5 * (log_sigma / 1.35) ** 2 - cnp.log(1.35 * cnp.sqrt(2 * np.pi))
    mu_density = (-0.5 * (mu / cnp.exp(log_sigma)) ** 2 - log_sigma
                  - 0.5 * cnp.log(2 * np.pi))
    return sigma_density + mu_density


def elbo(params):
    mean, log_std = params
    samples = NOISE * cnp.exp(log_std) + mean
    entropy = 0.5 * D * (1.0 + np.log(2 * np.pi)) + cnp.sum(log_std)
    return entropy + cnp.mean(log_density(samples))


def test_bbvi_elbo_gradient():
    params = (np.array([0.2, -0.4]), np.array([-0.3, 0.1]))
    g = cr.grad(elbo)(params)
    assert isinstance(g, tuple) and len(g) == 2
    close(g[0], fd_grad(lambda m: elbo((m, params[1])), params[0]), tol=1e-6)
    close(g[1], fd_grad(lambda s: elbo((params[0], s)), params[1]), tol=1e-6)
    check_grads(elbo, (params,), order=2, modes=("fwd", "rev"))
    check_grads(cr.grad(elbo), (params,), order=1, modes=("fwd", "rev"))
    # optimizing the ELBO increases it
    p = params
    start = float(elbo(p))
    for _ in range(30):
        gm, gs = cr.grad(elbo)(p)
        p = (p[0] + 0.05 * gm, p[1] + 0.05 * gs)
    assert float(elbo(p)) > start


# ---------------------------------------------------------------------------------------------
# j. a linear layer with a custom VJP


@cr.custom_vjp
def linear(x, W, b):
    return cnp.dot(x, W.T) + b


def linear_fwd(x, W, b):
    return linear(x, W, b), (x, W)


def linear_bwd(res, g):
    x, W = res
    return cnp.dot(g, W), cnp.dot(g.T, x), cnp.sum(g, axis=0)


linear.defvjp(linear_fwd, linear_bwd)


def linear_plain(x, W, b):
    return cnp.dot(x, W.T) + b


def _lin_args():
    rng = np.random.default_rng(8)
    return rng.standard_normal((5, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)


def test_custom_vjp_linear_reverse_mode():
    x, W, b = _lin_args()
    loss = lambda lin: lambda x, W, b: cnp.sum(cnp.tanh(lin(x, W, b)) ** 2)  # noqa: E731
    close(linear(x, W, b), linear_plain(x, W, b))
    got = cr.grad(loss(linear), argnums=(0, 1, 2))(x, W, b)
    want = cr.grad(loss(linear_plain), argnums=(0, 1, 2))(x, W, b)
    for a, c in zip(got, want):
        close(a, c)


def test_custom_vjp_linear_forward_mode():
    x, W, b = _lin_args()
    rng = np.random.default_rng(9)
    tx, tW, tb = rng.standard_normal(x.shape), rng.standard_normal(W.shape), rng.standard_normal(2)
    y, t = cr.jvp(linear, (x, W, b), (tx, tW, tb))
    y0, t0 = cr.jvp(linear_plain, (x, W, b), (tx, tW, tb))
    close(y, y0)
    close(t, t0)


def test_custom_vjp_linear_second_order():
    x, W, b = _lin_args()
    loss = lambda lin: lambda x, W, b: cnp.sum(cnp.tanh(lin(x, W, b)) ** 2)  # noqa: E731
    close(cr.hessian(loss(linear))(x, W, b), cr.hessian(loss(linear_plain))(x, W, b))
    close(cr.hessian(loss(linear), argnums=1)(x, W, b),
          cr.hessian(loss(linear_plain), argnums=1)(x, W, b))
    check_grads(loss(linear), (x, W, b), order=2, modes=("fwd", "rev"))


# ---------------------------------------------------------------------------------------------
# k. stop_gradient


@pytest.mark.parametrize("x", [-2.0, 0.5, 3.0])
def test_stop_gradient_blocks_both_modes(x):
    f = lambda x: x * cr.stop_gradient(x)  # noqa: E731
    close(f(x), x * x)
    close(cr.grad(f)(x), x)
    close(cr.jvp(f, (x,), (1.0,))[1], x)
    # the first derivative is stop_gradient(x) itself, so the second is 0 (as in JAX)
    close(cr.grad(cr.grad(f))(x), 0.0)
    close(cr.grad(lambda x: cr.stop_gradient(x) ** 2)(x), 0.0)


# ---------------------------------------------------------------------------------------------
# nested perturbations (perturbation confusion)


@pytest.mark.parametrize("x", [-1.0, 0.0, 1.0, 2.5])
def test_no_perturbation_confusion(x):
    def f_rev(x):
        return x * cr.grad(lambda y: x + y)(1.0)

    def f_fwd(x):
        return x * cr.jvp(lambda y: x + y, (1.0,), (1.0,))[1]

    for f in (f_rev, f_fwd):
        close(f(x), x)
        close(cr.grad(f)(x), 1.0)
        close(cr.jvp(f, (x,), (1.0,))[1], 1.0)


# --- safe masking: a zero cotangent never meets an infinite derivative as NaN ----------------


@pytest.mark.parametrize("f, x, want", [
    (lambda x: cnp.where(x > 0, cnp.sqrt(x), 0.0), 0.0, 0.0),
    (lambda x: cnp.where(x > 0, cnp.log(x), 0.0), 0.0, 0.0),
    (lambda x: cnp.where(x < 100, cnp.exp(x), 0.0), 1000.0, 0.0),
    (lambda x: cnp.where(x > 0, x / x, 1.0), 0.0, 0.0),
    (lambda x: cnp.where(x > 0, cnp.sqrt(x), 0.0), 4.0, 0.25),
    (lambda x: cnp.where(x != 1, cnp.arcsin(x), 0.0), 1.0, 0.0),
])
def test_where_gradient_is_finite_when_untaken_branch_is_singular(f, x, want):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert cr.grad(f)(x) == want
        assert cr.jit(cr.grad(f))(x) == want
        assert cr.grad(cr.grad(f))(x) == cr.grad(cr.grad(f))(x)  # no exception, deterministic
        assert np.isfinite(cr.grad(cr.grad(f))(x))
