"""chainrule.scipy.integrate.odeint: values against closed forms and SciPy, derivatives (finite
differences, analytic sensitivities, the adjoint structure of grad), jit, vmap, pytrees and
errors; the odeint primitive through the shared primitive table.
"""
import warnings

import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import solve_ivp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import ShapedArray
from chainrule.scipy.integrate import odeint, odeint_p
from chainrule.test_util import check_grads
from chainrule.transforms.staging import stage_flat
from primtable import Row, coverage_test
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)

TIGHT = dict(rtol=1e-10, atol=1e-10)


def close(a, b, tol=1e-10):
    la, lb = cr.tree_util.tree_leaves(a), cr.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


# --- the primitive table: y' = A y, y(t) = expm(A (t - t0)) y0 -------------------------------

_LINEAR = stage_flat(lambda a, y, t: [a @ y],
                     [ShapedArray((2, 2), np.float64), ShapedArray((2,), np.float64),
                      ShapedArray((), np.float64)])


def _linear_args(rng):
    a = 0.6 * rng.standard_normal((2, 2))
    y0 = rng.standard_normal(2)
    ts = rng.uniform(0.0, 0.2) + np.concatenate([[0.0], np.cumsum(rng.uniform(0.2, 0.5, 2))])
    return a, y0, ts


def _linear_ref(a, y0, ts):
    return np.stack([scipy.linalg.expm(a * (t - ts[0])) @ y0 for t in ts])


ALL_ROWS = [Row(odeint_p, _linear_args, _linear_ref,
                dict(func_program=_LINEAR, rtol=1e-10, atol=1e-10, mxstep=np.inf, hmax=np.inf,
                     n_err=2, with_h=False, levels=()),
                diff=(0, 1, 2), float32=False, value_tol={"float64": dict(rtol=1e-8,
                                                                          atol=1e-9)})]
test_coverage = coverage_test(ALL_ROWS, module="chainrule.scipy.integrate", exempt={
    "odeint_adjoint": "odeint_p's reverse rule; its rules are checked through odeint_p's row "
                      "(grads to order 2 in both modes, vmap of grad, jit) and the tests below"})


# --- values ---------------------------------------------------------------------------------


def test_exponential_decay():
    ts = np.linspace(0.0, 3.0, 7)
    ys = odeint(lambda y, t, k: -k * y, 2.0, ts, 1.3)
    assert isinstance(ys, np.ndarray) and ys.dtype == np.float64 and ys.shape == (7,)
    np.testing.assert_allclose(ys, 2.0 * np.exp(-1.3 * ts), rtol=1e-7)
    ys = odeint(lambda y, t, k: -k * y, 2.0, ts, 1.3, **TIGHT)
    np.testing.assert_allclose(ys, 2.0 * np.exp(-1.3 * ts), rtol=1e-9)
    assert ys[0] == 2.0


def _oscillator(y, t, w):
    return {"x": y["v"], "v": -w ** 2 * y["x"]}


def test_harmonic_oscillator_pytree():
    ts = np.linspace(0.5, 4.0, 9)
    y0 = {"x": np.array([1.0, 0.0]), "v": np.array([0.0, 2.0])}
    out = odeint(_oscillator, y0, ts, 2.0, **TIGHT)
    assert set(out) == {"x", "v"} and out["x"].shape == (9, 2)
    s = ts - ts[0]
    close(out["x"][:, 0], np.cos(2.0 * s), 1e-8)
    close(out["v"][:, 0], -2.0 * np.sin(2.0 * s), 1e-8)
    close(out["x"][:, 1], np.sin(2.0 * s), 1e-8)        # x(0) = 0, v(0) = 2: x = sin(2 s)
    close(out["v"][:, 1], 2.0 * np.cos(2.0 * s), 1e-8)


def _lotka_volterra(y, t, a, b, c, d):
    return cnp.stack([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])


def test_lotka_volterra_vs_solve_ivp():
    ts = np.linspace(0.0, 12.0, 25)
    p = (1.5, 1.0, 1.0, 3.0)
    ys = odeint(_lotka_volterra, np.array([10.0, 5.0]), ts, *p)
    ref = solve_ivp(lambda t, y: [p[0] * y[0] - p[1] * y[0] * y[1],
                                  p[2] * y[0] * y[1] - p[3] * y[1]],
                    (0.0, 12.0), [10.0, 5.0], t_eval=ts, method="DOP853", rtol=1e-13,
                    atol=1e-12)
    np.testing.assert_allclose(ys, ref.y.T, rtol=1e-5)
    ys = odeint(_lotka_volterra, np.array([10.0, 5.0]), ts, *p, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ys, ref.y.T, rtol=1e-8)


def test_time_dependence_and_repeated_times():
    # y' = cos(t): y = y0 + sin(t) - sin(t0); equal output times give equal rows
    ts = np.array([0.3, 1.0, 1.0, 2.5])
    ys = odeint(lambda y, t: cnp.cos(t) + 0.0 * y, 0.5, ts, **TIGHT)
    close(ys, 0.5 + np.sin(ts) - np.sin(0.3), 1e-9)
    close(odeint(lambda y, t: -y, 1.0, np.array([2.0])), [1.0])      # one time: y0 itself


def test_dtypes():
    ts = np.linspace(0.0, 1.0, 4)
    y32 = odeint(lambda y, t: -y, np.ones(3, np.float32), ts.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32[:, 0], np.exp(-ts), rtol=1e-5)
    yi = odeint(lambda y, t: -y, 1, ts)                                  # integers: float64
    assert yi.dtype == np.float64
    mixed = odeint(lambda y, t: {"a": -y["a"], "b": y["a"]},
                   {"a": np.float32(1.0), "b": 0.0}, ts)
    assert mixed["a"].dtype == np.float32 and mixed["b"].dtype == np.float64
    close(mixed["b"], 1.0 - np.exp(-ts), 1e-6)
    empty = odeint(lambda y, t: y, np.zeros((0,)), ts)
    assert empty.shape == (4, 0)


# --- derivatives ----------------------------------------------------------------------------


W = np.array([1.0, -2.0, 3.0, 0.5])


def _decay_loss(y0, ts, k):
    return cnp.sum(odeint(lambda y, t, k: -k * y, y0, ts, k, rtol=1e-11, atol=1e-12) * W)


def _decay_sensitivities(y0, ts, k):
    e = np.exp(-k * (ts - ts[0]))
    g_t = -k * y0 * e * W
    g_t[0] = -np.sum(g_t[1:])
    return np.sum(W * e), g_t, np.sum(W * y0 * e * -(ts - ts[0]))


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_exponential_decay_sensitivities(mode):
    y0, ts, k = 1.3, np.array([0.1, 0.5, 1.0, 1.7]), 0.7
    jac = cr.jacrev if mode == "rev" else cr.jacfwd
    g = jac(_decay_loss, argnums=(0, 1, 2))(y0, ts, k)
    for got, want in zip(g, _decay_sensitivities(y0, ts, k)):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    h = cr.hessian(_decay_loss, argnums=2)(y0, ts, k)
    np.testing.assert_allclose(h, np.sum(W * y0 * np.exp(-k * (ts - ts[0])) * (ts - ts[0]) ** 2),
                               rtol=1e-7)


def test_check_grads_oscillator_pytree():
    ts = np.array([0.0, 0.4, 1.1])
    y0 = {"x": np.array([1.0, 0.5]), "v": np.array([0.0, 0.3])}

    def f(y0, ts, w):
        return odeint(_oscillator, y0, ts, w, **TIGHT)

    check_grads(f, (y0, ts, 1.5), order=2, modes=("fwd", "rev"))


def test_check_grads_lotka_volterra():
    ts = np.array([0.0, 0.5, 1.0])

    def f(y0, a, b):
        return odeint(_lotka_volterra, y0, ts, a, b, 1.0, 3.0, **TIGHT)

    check_grads(f, (np.array([2.0, 1.0]), 1.5, 1.0), order=1, modes=("fwd", "rev"))


def test_closed_over_values_are_differentiated():
    ts = np.linspace(0.0, 1.0, 3)

    def f(k):
        return cnp.sum(odeint(lambda y, t: -k * y, 1.0, ts, **TIGHT))

    np.testing.assert_allclose(cr.grad(f)(0.8), np.sum(-ts * np.exp(-0.8 * ts)), rtol=1e-8)
    check_grads(f, (0.8,), order=2)


def test_jvp_primal_matches_odeint():
    ts = np.linspace(0.0, 2.0, 5)
    f = lambda y0, w: odeint(_oscillator, y0, ts, w)  # noqa: E731
    y0 = {"x": np.array([1.0]), "v": np.array([0.2])}
    out, t = cr.jvp(f, (y0, 1.7), (cr.tree_util.tree_map(np.ones_like, y0), 1.0))
    close(out, f(y0, 1.7), 1e-13)


def test_grad_is_by_discrete_adjoint():
    ts = np.linspace(0.0, 1.0, 4)
    prog = cr.make_program(cr.grad(_decay_loss, argnums=2))(1.0, ts, 0.5)
    names = [e.prim.name for e in prog.eqns]
    # one forward solve (with the step-size column) and one adjoint sweep, no unrolled loops
    assert names.count("odeint") == 1 and names.count("odeint_adjoint") == 1
    assert "while" not in names and "scan" not in names
    assert [e for e in prog.eqns if e.prim.name == "odeint"][0].params["with_h"]


# --- stiff-ish problems: the state is never integrated backwards ------------------------------
# y0' = -k (y0 - cos t), y1' = y0 - y1: y0 relaxes to cos t at rate k. The old continuous
# adjoint re-integrated y backwards from each output, amplifying errors by ~exp(k dt):
# grad was 0.22 (k=50), 2.5e9 (k=100) and -2.9e95 (k=500) instead of ~ -1e-3 ... -1e-5.

_STIFF_TS = np.linspace(0.0, 2.0, 5)
_STIFF_W = np.array([1.0, 2.0])


def _stiff(y, t, k):
    return cnp.stack([-k * (y[0] - cnp.cos(t)), -y[1] + y[0]])


def _stiff_loss(k, y0=np.array([2.0, 0.0]), ts=_STIFF_TS):
    return cnp.sum(odeint(_stiff, y0, ts, k, **TIGHT)[1:] * _STIFF_W)


def _stiff_ref(k, y0=np.array([2.0, 0.0]), ts=_STIFF_TS):
    """The same loss by SciPy's LSODA at tight tolerances."""
    from scipy.integrate import odeint as sp_odeint
    ys = sp_odeint(lambda y, t: [-k * (y[0] - np.cos(t)), -y[1] + y[0]], y0, ts,
                   rtol=1e-13, atol=1e-13, mxstep=10 ** 6)
    return np.sum(ys[1:] * _STIFF_W)


def _central(f, x, e):
    return (f(x + e) - f(x - e)) / (2 * e)


def test_stiff_grad_args_matches_jvp_and_scipy():
    for k in (10.0, 50.0, 100.0, 500.0):
        g = cr.grad(_stiff_loss)(k)
        j = cr.jvp(_stiff_loss, (k,), (1.0,))[1]
        np.testing.assert_allclose(g, j, rtol=1e-9, err_msg=f"k={k}")
        np.testing.assert_allclose(g, _central(_stiff_ref, k, 1e-4 * k), rtol=1e-5,
                                   err_msg=f"k={k}")


def _stiff_nl(y, t, k):
    # nonlinear: the adjoint's own dynamics depend on y (the old adjoint gave NaN for y0)
    return cnp.stack([-k * (y[0] - cnp.cos(t)) - y[0] ** 3, y[0] ** 2 - y[1]])


def _stiff_nl_loss(y0, ts, k):
    return cnp.sum(odeint(_stiff_nl, y0, ts, k, **TIGHT)[1:] * _STIFF_W)


def _stiff_nl_ref(y0, ts, k):
    from scipy.integrate import odeint as sp_odeint
    ys = sp_odeint(lambda y, t: [-k * (y[0] - np.cos(t)) - y[0] ** 3, y[0] ** 2 - y[1]], y0,
                   ts, rtol=1e-13, atol=1e-13, mxstep=10 ** 6)
    return np.sum(ys[1:] * _STIFF_W)


def test_stiff_grad_y0_and_t():
    k, y0, ts = 200.0, np.array([2.0, 0.5]), _STIFF_TS
    g = cr.grad(_stiff_nl_loss, argnums=(0, 1, 2))(y0, ts, k)
    j = cr.jacfwd(_stiff_nl_loss, argnums=(0, 1, 2))(y0, ts, k)
    close(g, j, 1e-9)
    for i in range(2):
        e = np.eye(2)[i]
        fd = _central(lambda s: _stiff_nl_ref(y0 + s * e, ts, k), 0.0, 1e-5)
        np.testing.assert_allclose(g[0][i], fd, rtol=1e-5, atol=1e-9)
    for i in range(len(ts)):
        e = np.eye(len(ts))[i]
        fd = _central(lambda s: _stiff_nl_ref(y0, ts + s * e, k), 0.0, 1e-4)
        np.testing.assert_allclose(g[1][i], fd, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g[2], _central(lambda k: _stiff_nl_ref(y0, ts, k), k, 1e-2),
                               rtol=1e-5)


def test_stiff_grad_under_jit_and_vmap():
    ks = np.array([50.0, 100.0, 500.0])
    want = np.array([_central(_stiff_ref, k, 1e-4 * k) for k in ks])
    eager = np.array([cr.grad(_stiff_loss)(k) for k in ks])
    np.testing.assert_allclose(eager, want, rtol=1e-5)
    g = cr.grad(_stiff_loss)
    close(cr.jit(g)(ks[2]), eager[2], 1e-12)
    close(cr.vmap(g)(ks), eager, 1e-12)
    close(cr.jit(cr.vmap(g))(ks), eager, 1e-12)
    close(cr.grad(lambda ks: cnp.sum(cr.vmap(_stiff_loss)(ks)))(ks), eager, 1e-12)
    # gradient with respect to a batch of initial states
    y0s = np.array([[2.0, 0.0], [-1.0, 0.5]])
    gy = cr.vmap(cr.grad(lambda y0: _stiff_loss(500.0, y0)))(y0s)
    for y0, gi in zip(y0s, gy):
        close(gi, cr.jacfwd(lambda y: _stiff_loss(500.0, y))(y0), 1e-9)


def test_stiff_second_derivatives():
    k = 50.0
    d2 = _central(lambda k: cr.jvp(_stiff_loss, (k,), (1.0,))[1], k, 1e-3 * k)
    gg = cr.grad(cr.grad(_stiff_loss))(k)
    np.testing.assert_allclose(gg, d2, rtol=1e-5)
    np.testing.assert_allclose(cr.jvp(cr.grad(_stiff_loss), (k,), (1.0,))[1], gg, rtol=1e-9)


def test_grad_of_grad_under_jit():
    # a traced adjoint (the trip counts unknown while staging) differentiates too
    ts = np.array([0.1, 0.5, 1.0, 1.7])
    gg = cr.grad(cr.grad(_decay_loss, argnums=2), argnums=2)
    close(cr.jit(gg)(1.0, ts, 0.5), gg(1.0, ts, 0.5), 1e-9)


# --- jit and vmap ---------------------------------------------------------------------------


def test_jit_matches_eager():
    ts = np.linspace(0.0, 3.0, 6)
    f = lambda y0, a: odeint(_lotka_volterra, y0, ts, a, 1.0, 1.0, 3.0)  # noqa: E731
    y0 = np.array([3.0, 2.0])
    np.testing.assert_array_equal(cr.jit(f)(y0, 1.5), f(y0, 1.5))
    g = cr.grad(lambda y0, a: cnp.sum(f(y0, a) ** 2), argnums=(0, 1))
    for x, y in zip(cr.jit(g)(y0, 1.5), g(y0, 1.5)):
        np.testing.assert_allclose(x, y, rtol=1e-12)
    for x, y in zip(cr.grad(cr.jit(lambda y0, a: cnp.sum(f(y0, a) ** 2)),
                            argnums=(0, 1))(y0, 1.5), g(y0, 1.5)):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_vmap_over_initial_conditions_and_args():
    ts = np.linspace(0.0, 2.0, 5)
    rng = np.random.default_rng(0)
    y0s = {"x": rng.standard_normal((3, 2)), "v": rng.standard_normal((3, 2))}
    ws = np.array([0.5, 1.0, 2.0])
    got = cr.vmap(lambda y0, w: odeint(_oscillator, y0, ts, w))(y0s, ws)
    want = [odeint(_oscillator, {"x": y0s["x"][i], "v": y0s["v"][i]}, ts, ws[i])
            for i in range(3)]
    for key in ("x", "v"):
        np.testing.assert_allclose(got[key], np.stack([w[key] for w in want]), rtol=1e-12,
                                   atol=1e-14)
    # batched output times, and a batch of a batch
    tss = np.stack([ts, 2 * ts, ts + 1.0])
    got = cr.vmap(lambda t: odeint(lambda y, t: -y, 1.0, t))(tss)
    close(got, np.stack([odeint(lambda y, t: -y, 1.0, t) for t in tss]), 1e-13)
    got = cr.vmap(cr.vmap(lambda y0, k: odeint(lambda y, t: -k * y, y0, ts), (0, None)),
                  (None, 0))(np.array([1.0, 2.0]), np.array([0.5, 1.0, 1.5]))
    close(got, np.array([[odeint(lambda y, t: -k * y, y0, ts) for y0 in (1.0, 2.0)]
                         for k in (0.5, 1.0, 1.5)]), 1e-13)


def test_vmap_and_grad_compose():
    ts = np.array([0.1, 0.5, 1.0, 1.7])
    g = cr.grad(_decay_loss, argnums=2)
    ks, y0s = np.array([0.3, 0.7, 1.1]), np.array([1.0, 2.0, -1.0])
    want = np.array([g(y, ts, k) for y, k in zip(y0s, ks)])
    close(cr.vmap(g, in_axes=(0, None, 0))(y0s, ts, ks), want, 1e-10)
    close(cr.jit(cr.vmap(g, in_axes=(0, None, 0)))(y0s, ts, ks), want, 1e-10)
    total = lambda ks: cnp.sum(cr.vmap(_decay_loss, in_axes=(0, None, 0))(y0s, ts, ks))  # noqa
    close(cr.grad(total)(ks), want, 1e-10)
    close(cr.jacfwd(total)(ks), want, 1e-9)


# --- errors and failures --------------------------------------------------------------------


def test_bad_input():
    ts = np.linspace(0.0, 1.0, 3)
    with pytest.raises(TypeError, match="callable"):
        odeint(1.0, 1.0, ts)
    with pytest.raises(ValueError, match="1-d"):
        odeint(lambda y, t: -y, 1.0, np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-decreasing"):
        odeint(lambda y, t: -y, 1.0, np.array([0.0, 1.0, 0.5]))
    with pytest.raises(TypeError, match="complex"):
        odeint(lambda y, t: -y, np.ones(2, complex), ts)
    with pytest.raises(TypeError, match="structure"):
        odeint(lambda y, t: (y, y), 1.0, ts)
    with pytest.raises(TypeError, match="shape"):
        odeint(lambda y, t: cnp.stack([y, y]), np.ones(3), ts)
    with pytest.raises(ValueError, match="rtol"):
        odeint(lambda y, t: -y, 1.0, ts, rtol=-1.0)
    with pytest.raises(ValueError, match="mxstep"):
        odeint(lambda y, t: -y, 1.0, ts, mxstep=0)
    with pytest.raises(TypeError, match="args"):
        odeint(lambda y, t, s: -y, 1.0, ts, "text")


def test_failures_give_nan_and_warn():
    ts = np.array([0.0, 0.5, 2.0])
    with pytest.warns(RuntimeWarning, match="NaN"):
        ys = odeint(lambda y, t: y ** 2, 1.0, ts)      # blows up at t = 1
    assert np.isfinite(ys[:2]).all() and np.isnan(ys[2])
    np.testing.assert_allclose(ys[1], 2.0, rtol=1e-7)
    with pytest.warns(RuntimeWarning, match="mxstep"):
        ys = odeint(lambda y, t: -y, 1.0, ts, hmax=0.01, mxstep=20)   # hmax is honoured
    assert ys[0] == 1.0 and np.isnan(ys[1:]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        odeint(lambda y, t: -y, 1.0, ts, hmax=0.01, mxstep=200)
