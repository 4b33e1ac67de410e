"""Tracers must not leak out of custom rules and checkpoint: a custom_vjp whose fwd creates
arrays (cnp.zeros) and runs a loop on them, and checkpointed functions that close over a
traced value (closure conversion makes it an operand of the checkpoint primitive)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax
from chainrule.test_util import check_grads


def _solve_while(w):
    return lax.while_loop(lambda x: x[0] < 1.5, lambda x: w * x + 1.0, cnp.zeros(2))


def _solve_fori(w):
    return lax.fori_loop(0, 3, lambda i, x: w * x + 1.0, cnp.zeros(2))


def _custom(solve):
    @cr.custom_vjp
    def f(w):
        return solve(w)
    f.defvjp(lambda w: (solve(w), solve(w)), lambda x, g: (g * x,))
    return f


@pytest.mark.parametrize("solve,expect", [(_solve_while, 1.5), (_solve_fori, 1.75)])
@pytest.mark.parametrize("use_jit", [False, True])
def test_custom_vjp_fwd_with_loop_on_new_array(solve, expect, use_jit):
    f = _custom(solve)
    g = cr.grad(lambda w: cnp.sum(f(w)))
    if use_jit:
        g = cr.jit(g)
    out = g(np.array([.5, .5]))
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, [expect, expect])


def test_custom_vjp_fwd_with_loop_jvp_and_value():
    f = _custom(_solve_fori)
    w = np.array([.5, .5])
    y, t = cr.jvp(f, (w,), (np.ones(2),))
    assert type(y) is np.ndarray and type(t) is np.ndarray
    np.testing.assert_allclose(y, [1.75, 1.75])
    np.testing.assert_allclose(t, [1.75, 1.75])


def test_custom_jvp_rule_creating_arrays():
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        z = cnp.zeros(x.shape)
        z = lax.fori_loop(0, 2, lambda i, a: a + cnp.cos(x) * t / 2, z)
        return cnp.sin(x), z

    x = np.array([.3, .7])
    for fn in (cr.grad(lambda x: cnp.sum(f(x))), cr.jit(cr.grad(lambda x: cnp.sum(f(x))))):
        out = fn(x)
        assert type(out) is np.ndarray
        np.testing.assert_allclose(out, np.cos(x))
    _, t = cr.jvp(f, (x,), (np.ones(2),))
    assert type(t) is np.ndarray
    np.testing.assert_allclose(t, np.cos(x))


XS = np.linspace(0, 1, 15).reshape(5, 3)
W0 = np.eye(3) * .5 + np.arange(9.).reshape(3, 3) * .01


def _scan_loss(remat):
    def loss(W):
        def cell(h, x):
            return cnp.tanh(x @ W + h @ W), None
        c = cr.checkpoint(cell) if remat else cell
        return cnp.sum(lax.scan(c, np.zeros(3), XS)[0] ** 2)
    return loss


def _loop_loss(remat):
    def loss(W):
        h = cnp.zeros(3)
        for x in XS:
            c = (lambda h, x: cnp.tanh(x @ W + h @ W))
            h = (cr.checkpoint(c) if remat else c)(h, x)
        return cnp.sum(h ** 2)
    return loss


@pytest.mark.parametrize("make", [_scan_loss, _loop_loss])
@pytest.mark.parametrize("use_jit", [False, True])
def test_checkpoint_closing_over_traced_value(make, use_jit):
    g, g_ref = cr.grad(make(True)), cr.grad(make(False))
    if use_jit:
        g = cr.jit(g)
    out = g(W0)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, g_ref(W0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [_scan_loss, _loop_loss])
def test_checkpoint_closure_check_grads(make):
    check_grads(make(True), (W0,), order=2, modes=("fwd", "rev"))


def test_checkpoint_closure_jvp_and_vmap():
    def f(W, remat):
        c = lambda x: cnp.sin(x @ W)
        return cnp.sum((cr.checkpoint(c) if remat else c)(XS))
    t = np.ones((3, 3))
    y, ty = cr.jvp(lambda W: f(W, True), (W0,), (t,))
    y0, ty0 = cr.jvp(lambda W: f(W, False), (W0,), (t,))
    assert not isinstance(ty, cr.core.Tracer) and not isinstance(y, cr.core.Tracer)
    np.testing.assert_allclose([y, ty], [y0, ty0], rtol=1e-12)
    Ws = np.stack([W0, 2 * W0])
    out = cr.vmap(cr.grad(lambda W: f(W, True)))(Ws)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, cr.vmap(cr.grad(lambda W: f(W, False)))(Ws), rtol=1e-12)
