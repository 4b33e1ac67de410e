"""Regression tests for transform bugs: in-place writes into staged inputs, jit static
arguments by name or position, zero-size Jacobians, weak Python-scalar dtypes under jit and
vmap, make_program's static arguments, linearize(has_aux), disable_jit, pure_callback's
vmap_method, and clear errors for non-array jit arguments."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax
from chainrule.test_util import check_grads


# --- 1. x[i] = v on a staged input (jit argument, loop carry, cond operand) ---------------

def _write_first(x):
    x[0] = 100.0
    return x * 2


def test_setitem_on_jit_argument():
    a = np.arange(4.0)
    out = cr.jit(_write_first)(a)
    np.testing.assert_array_equal(out, _write_first(a.copy()))
    np.testing.assert_array_equal(a, np.arange(4.0))  # jit arguments are values


def test_setitem_on_jit_argument_program_reads_input():
    prog = cr.make_program(_write_first)(np.arange(4.0))
    defined = set(prog.in_vars) | set(prog.const_vars)
    for e in prog.eqns:
        for a in e.inputs:
            assert not hasattr(a, "aval") or type(a).__name__ == "Literal" or a in defined
        defined.update(e.outs)


def test_setitem_on_fori_loop_carry():
    out = lax.fori_loop(0, 3, lambda i, c: (c.__setitem__(i, i + 1.0), c)[1], np.zeros(4))
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0, 0.0])


def test_setitem_on_while_and_scan_and_cond():
    def body(c):
        i, x = c
        x[i] = 2.0 * i
        return i + 1, x

    i, x = lax.while_loop(lambda c: c[0] < 3, body, (0, np.zeros(3)))
    np.testing.assert_array_equal(x, [0.0, 2.0, 4.0])

    def step(c, v):
        c[0] = v
        return c, c.sum()

    c, ys = lax.scan(step, np.ones(2), np.arange(3.0))
    np.testing.assert_array_equal(c, [2.0, 1.0])
    np.testing.assert_array_equal(ys, [1.0, 2.0, 3.0])

    def br(c):
        c[1] = 5.0
        return c

    np.testing.assert_array_equal(lax.cond(True, br, lambda c: c, np.zeros(3)), [0, 5, 0])


def test_setitem_on_jit_argument_grad_and_vmap():
    f = cr.jit(lambda x: cnp.sum(_write_first(x) * x))  # sum(2 x'^2), x' = x with x[0] = 100
    a = np.arange(1.0, 5.0)
    check_grads(f, (a,), order=2)
    np.testing.assert_allclose(cr.grad(f)(a), [0.0, 8.0, 12.0, 16.0])
    np.testing.assert_array_equal(cr.vmap(cr.jit(_write_first))(np.ones((2, 3))),
                                  [[200.0, 2.0, 2.0]] * 2)


# --- 2. static_argnames / static_argnums by position or by name -----------------------------

def _by_mode(x, mode):
    return x * 2 if mode == "a" else x * 3


@pytest.mark.parametrize("kw", [dict(static_argnames=("mode",)), dict(static_argnames="mode"),
                                dict(static_argnums=1), dict(static_argnums=(1,))])
def test_static_by_position_or_name(kw):
    j = cr.jit(_by_mode, **kw)
    x = np.ones(2)
    np.testing.assert_array_equal(j(x, "a"), 2 * x)
    np.testing.assert_array_equal(j(x, "b"), 3 * x)
    np.testing.assert_array_equal(j(x, mode="a"), 2 * x)
    np.testing.assert_array_equal(j(x=x, mode="b"), 3 * x)


def test_static_argnames_retraces_per_value_not_per_call():
    calls = []

    def f(x, n):
        calls.append(n)
        return x ** n

    j = cr.jit(f, static_argnames="n")
    for _ in range(3):
        np.testing.assert_array_equal(j(np.full(2, 2.0), 3), [8.0, 8.0])
    np.testing.assert_array_equal(j(np.full(2, 2.0), 2), [4.0, 4.0])
    assert calls == [3, 2]


# --- 3. Jacobians with zero-size inputs or outputs ------------------------------------------

_ZERO_CASES = [
    (lambda x: x * 2, np.zeros(0), (0, 0)),
    (lambda x: x[:0], np.ones(3), (0, 3)),
    (lambda x: x.sum(), np.zeros((2, 0)), (2, 0)),
    (lambda x: cnp.sum(x) * np.ones(2), np.zeros(0), (2, 0)),
]


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev])
@pytest.mark.parametrize("case", range(len(_ZERO_CASES)))
def test_jacobian_zero_size(jac, case):
    f, x, shape = _ZERO_CASES[case]
    j = jac(f)(x)
    assert j.shape == shape and j.dtype == np.float64
    x32 = x.astype(np.float32)
    # forward mode: the output's (tangent) dtype; reverse mode: the input's (cotangent) dtype
    want = np.asarray(f(x32)).dtype if jac is cr.jacfwd else np.float32
    assert jac(f)(x32).dtype == want


def test_jacfwd_zero_size_aux_and_mixed_argnums():
    j, aux = cr.jacfwd(lambda x: (x * 2, cnp.sum(x) + 1.0), has_aux=True)(np.zeros(0))
    assert j.shape == (0, 0) and float(aux) == 1.0
    jx, jy = cr.jacfwd(lambda x, y: (cnp.sum(x) + 3.0) * y, argnums=(0, 1))(np.zeros(0),
                                                                           np.ones(2))
    assert jx.shape == (2, 0)
    np.testing.assert_array_equal(jy, 3.0 * np.eye(2))


def test_hessian_zero_size():
    assert cr.hessian(lambda x: cnp.sum(x ** 2))(np.zeros(0)).shape == (0, 0)
    assert cr.hessian(lambda x: cnp.sum(x ** 2))(np.zeros((2, 0))).shape == (2, 0, 2, 0)
