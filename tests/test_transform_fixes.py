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


# --- 4. Python scalar arguments keep NumPy's weak (NEP 50) promotion under jit and vmap -----

_DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.uint8, np.float16, np.float32,
           np.float64, np.complex64, np.complex128]
_PY_SCALARS = [True, 3, 2.5, 1.5j]
_OPS = {
    "add": lambda x, s: x + s, "radd": lambda x, s: s + x, "mul": lambda x, s: x * s,
    "sub": lambda x, s: x - s, "div": lambda x, s: x / s, "pow": lambda x, s: x ** s,
    "lt": lambda x, s: x < s, "maximum": lambda x, s: cnp.maximum(x, s),
    "where": lambda x, s: cnp.where(x == x, x, s),
    "scalar_chain": lambda x, s: x * (s * 2 + 1),   # arithmetic on the scalar stays weak
    "scalar_rsub": lambda x, s: x - (1 - s),
}


def _grid():
    for dt in _DTYPES:
        for s in _PY_SCALARS:
            for name in _OPS:
                yield pytest.param(dt, s, name, id=f"{np.dtype(dt).name}-{type(s).__name__}-"
                                                    f"{name}")


@pytest.mark.parametrize("dt,s,name", list(_grid()))
def test_python_scalar_dtype_jit_vmap_eager(dt, s, name):
    op = _OPS[name]
    x = np.ones(3, dt)
    with np.errstate(all="ignore"):
        try:
            want = np.asarray(op(x, s))
        except (TypeError, ValueError, OverflowError):
            pytest.skip("NumPy refuses this combination eagerly")
        got = cr.jit(op)(x, s)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want)
        got = cr.vmap(op, in_axes=(0, None))(x, s)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want)
        assert cr.vmap(cr.jit(op), in_axes=(0, None))(x, s).dtype == want.dtype
        assert np.asarray(cr.make_program(op)(x, s).outs[0].aval.dtype) == want.dtype


def test_python_scalar_no_retrace_on_new_value_but_on_new_type():
    traces = []

    def f(x, s):
        traces.append(type(s))
        return x * s

    j = cr.jit(f)
    x = np.ones(2, np.float32)
    for v in (2.0, 3.0, -1.5):
        out = j(x, v)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, x * v)
    assert len(traces) == 1
    assert j(x, 2).dtype == np.float32 and len(traces) == 2
    # a NumPy scalar is strongly typed: float32 * float64 scalar is float64
    assert j(x, np.float64(2.0)).dtype == np.float64 and len(traces) == 3


def test_python_scalar_weak_inside_jit_control_flow_and_grad():
    x = np.ones(3, np.float32)
    g = cr.jit(lambda x, s: lax.fori_loop(0, 3, lambda i, c: c * s, x))
    out = g(x, 2.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, 8 * x)
    dx = cr.grad(lambda x: cr.jit(lambda x, s: cnp.sum(x * s))(x, 2.0))(x)
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx, 2 * x)
    y, t = cr.jvp(lambda x: cr.jit(lambda x, s: x * s)(x, 2.0), (x,), (x,))
    assert y.dtype == t.dtype == np.float32
    assert cr.eval_shape(lambda x, s: x * s, x, 2.0).dtype == np.float32


# --- 5. vmap passes in_axes=None values through unchanged ---------------------------------

def test_vmap_unmapped_python_value_reaches_inner_jit_static_arg():
    jf = cr.jit(lambda x, n: cnp.sum(x ** n), static_argnums=1)
    np.testing.assert_allclose(cr.vmap(jf, in_axes=(0, None))(np.full((3, 2), 2.0), 3),
                               [16.0] * 3)
    seen = []
    cr.vmap(lambda x, n, d: seen.append((type(n), type(d["k"]))) or x,
            in_axes=(0, None, None))(np.ones(2), 3, {"k": "tag"})
    assert seen == [(int, str)]


# --- 6. make_program's static arguments -------------------------------------------------------

def _pow_or_id(x, n):
    return x ** n if n > 1 else x


@pytest.mark.parametrize("kw,call", [
    (dict(static_argnums=1), lambda m: m(np.ones(2), 3)),
    (dict(static_argnums=(1,)), lambda m: m(np.ones(2), 3)),
    (dict(static_argnums=-1), lambda m: m(np.ones(2), 3)),
    (dict(static_argnames="n"), lambda m: m(np.ones(2), 3)),
    (dict(static_argnames=("n",)), lambda m: m(np.ones(2), n=3)),
    (dict(static_argnums=1), lambda m: m(np.ones(2), n=3)),
])
def test_make_program_static(kw, call):
    prog = call(cr.make_program(_pow_or_id, **kw))
    assert len(prog.in_vars) == 1
    assert [e.prim.name for e in prog.eqns] == ["power"]
    np.testing.assert_allclose(cr.jit(_pow_or_id, **kw)(np.full(2, 2.0), 3), [8.0, 8.0])


# --- 7. linearize(has_aux) and disable_jit ------------------------------------------------------

def test_linearize_has_aux():
    x = np.array([0.3, -1.2])
    t = np.array([1.0, 2.0])
    y, f_jvp, aux = cr.linearize(lambda x: (cnp.sin(x) * x, {"sq": x ** 2}), x, has_aux=True)
    np.testing.assert_allclose(y, np.sin(x) * x)
    np.testing.assert_allclose(f_jvp(t), (np.cos(x) * x + np.sin(x)) * t)
    np.testing.assert_allclose(aux["sq"], x ** 2)
    assert isinstance(aux["sq"], np.ndarray)
    y2, f2 = cr.linearize(lambda x: cnp.sin(x) * x, x)   # without has_aux: a pair
    np.testing.assert_allclose(f2(t), f_jvp(t))


def test_disable_jit_context_and_config():
    seen = []

    def f(x, n):
        seen.append(type(x))
        return x * n if float(x[0]) > 0 else -x   # value-dependent: only works eagerly

    j = cr.jit(f, static_argnums=1)
    x = np.ones(2)
    with cr.disable_jit():
        np.testing.assert_array_equal(j(x, 3), 3 * x)
        np.testing.assert_array_equal(j(-x, 3), x)
    assert seen == [np.ndarray, np.ndarray]
    with pytest.raises(cr.core.ConcretizationError):
        j(x, 3)
    cr.config.update("jax_disable_jit", True)
    try:
        assert cr.config.disable_jit
        np.testing.assert_array_equal(j(x, 2), 2 * x)
    finally:
        cr.config.update("jax_disable_jit", False)
    assert not cr.config.disable_jit
    g = cr.jit(lambda x: x * 2)
    with cr.disable_jit():
        g(x)
    assert not g._cache   # nothing was traced
    g(x)
    assert g._cache or g._fast


# --- 8. pure_callback(vmap_method=...) ----------------------------------------------------------

def _cb_recorder(calls):
    def cb(x, y):
        calls.append((np.shape(x), np.shape(y)))
        return np.asarray(x) * np.asarray(y)
    return cb


@pytest.mark.parametrize("method,shapes", [
    ("sequential", [((3,), (3,))] * 4),
    ("sequential_unrolled", [((3,), (3,))] * 4),
    ("broadcast_all", [((4, 3), (4, 3))]),
    ("expand_dims", [((4, 3), (1, 3))]),
    ("legacy_vectorized", [((4, 3), (3,))]),
])
def test_pure_callback_vmap_method(method, shapes):
    calls = []
    cb = _cb_recorder(calls)

    def f(x, y):
        return cr.pure_callback(cb, cr.ShapeDtypeStruct(x.shape, x.dtype), x, y,
                                vmap_method=method)

    xs = np.arange(12.0).reshape(4, 3)
    y = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(cr.vmap(f, in_axes=(0, None))(xs, y), xs * y)
    assert calls == shapes
    calls.clear()
    np.testing.assert_allclose(cr.jit(cr.vmap(f, in_axes=(0, None)))(xs, y), xs * y)
    assert calls == shapes
    calls.clear()
    np.testing.assert_allclose(f(xs[0], y), xs[0] * y)   # unbatched: the callback, once
    assert calls == [((3,), (3,))]


def test_pure_callback_vmap_method_errors_and_vectorized():
    sd = cr.ShapeDtypeStruct((2,), np.float64)
    with pytest.raises(ValueError, match="vmap_method"):
        cr.pure_callback(np.sin, sd, np.ones(2), vmap_method="bogus")
    with pytest.raises(ValueError, match="together"):
        cr.pure_callback(np.sin, sd, np.ones(2), vmap_method="sequential", vectorized=True)
    seen = []

    def cb(x):
        seen.append(np.shape(x))
        return np.sin(x)

    out = cr.vmap(lambda x: cr.pure_callback(cb, cr.ShapeDtypeStruct(x.shape, x.dtype), x,
                                             vectorized=True))(np.ones((5, 2)))
    np.testing.assert_allclose(out, np.sin(np.ones((5, 2))))
    assert seen == [(5, 2)]
    # vmap_method is not passed on to the callback as a keyword
    got = cr.pure_callback(lambda x, **kw: (np.cos(x), kw)[0] if not kw else None, sd,
                           np.zeros(2), vmap_method="sequential")
    np.testing.assert_allclose(got, np.ones(2))


# --- 9. clear errors for arguments jit cannot trace ---------------------------------------------

class _Obj:
    w = 3.0


def _apply(x, g):
    return g(x)


def test_jit_function_argument_error_names_it():
    with pytest.raises(TypeError, match=r"argument 1 \('g'\) is a function.*static"):
        cr.jit(_apply)(np.ones(2), np.sin)
    np.testing.assert_allclose(cr.jit(_apply, static_argnums=1)(np.ones(2), np.sin),
                               np.sin(np.ones(2)))
    np.testing.assert_allclose(cr.jit(_apply, static_argnames="g")(np.ones(2), g=np.cos),
                               np.cos(np.ones(2)))
    with pytest.raises(TypeError, match=r"make_program.*argument 1 \('g'\) is a function"):
        cr.make_program(_apply)(np.ones(2), np.sin)


def test_jit_object_argument_error_names_it():
    f = cr.jit(lambda x, o: x * o.w)
    with pytest.raises(TypeError, match=r"argument 1 \('o'\) is an object of type _Obj.*"
                                        r"static_argnums.*close over.*pytree"):
        f(np.ones(2), _Obj())
    with pytest.raises(TypeError, match=r"a leaf of argument 'o' is an object of type _Obj"):
        cr.jit(lambda x, o: x)(np.ones(2), o={"a": _Obj()})
    with pytest.raises(TypeError, match="type str"):
        cr.jit(lambda x: x)("abc")
    np.testing.assert_allclose(cr.jit(lambda x, o: x * o.w, static_argnums=1)(np.ones(2),
                                                                             _Obj()),
                               [3.0, 3.0])
    # numbers, NumPy scalars and nested containers of them are still fine
    out = cr.jit(lambda d: d["a"] * d["b"][0])({"a": np.float32(2), "b": [3, 1.0]})
    assert out == 6.0
