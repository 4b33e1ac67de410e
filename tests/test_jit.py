"""jit: staging, optimization and compiled NumPy code; caching and retracing; errors;
composition with the other transforms; run-time callbacks (debug.print, pure_callback)."""
from __future__ import annotations

import logging
import textwrap
import time

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.tree_util as tu
from chainrule import debug
from chainrule.compiler import options, passes
from chainrule.core import ConcretizationError
from chainrule.transforms import staging

RNG = np.random.default_rng(0)


def leaves_close(a, b, rtol=1e-10, atol=1e-12):
    la, lb = tu.tree_leaves(a), tu.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def top_level_prims(prog):
    return [e.prim.name for e in prog.eqns]


# --- (a) one fused kernel ---------------------------------------------------------------------


def slow_f(x):
    return x * x + x * 2.0


def test_slow_f_is_one_fused_kernel():
    x = RNG.standard_normal((300, 200))
    jf = cr.jit(slow_f)
    np.testing.assert_array_equal(jf(x), slow_f(x))
    prog = jf.lower(x)
    assert top_level_prims(prog) == ["fused"]
    assert [e.prim.name for e in prog.eqns[0].params["program"].eqns] == [
        "multiply", "multiply", "add"]
    xf = x.astype(np.float32)
    assert jf(xf).dtype == np.float32
    np.testing.assert_array_equal(jf(xf), slow_f(xf))


# --- (b) MLP training step ----------------------------------------------------------------------


def init_mlp(sizes, rng):
    return [(rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for W, b in params:
        x = cnp.tanh(x @ W + b)
    return x


def mlp_loss(params, x, y):
    return cnp.mean((predict(params, x) - y) ** 2)


def sgd_step(params, x, y, lr=0.1):
    loss, grads = cr.value_and_grad(mlp_loss)(params, x, y)
    return loss, tu.tree_map(lambda p, g: p - lr * g, params, grads)


def test_mlp_training_step_matches_eager():
    rng = np.random.default_rng(1)
    params = init_mlp([4, 16, 8, 3], rng)
    x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 3))
    vg = cr.jit(cr.value_and_grad(mlp_loss))
    p_eager, p_jit = params, params
    for _ in range(3):
        loss_e, p_eager = sgd_step(p_eager, x, y)
        loss_j, g = vg(p_jit, x, y)
        p_jit = tu.tree_map(lambda p, g: p - 0.1 * g, p_jit, g)
        np.testing.assert_allclose(loss_j, loss_e, rtol=1e-12)
    leaves_close(p_jit, p_eager)
    step = cr.jit(sgd_step)            # the whole step, update included
    loss_s, p_s = step(params, x, y)
    loss_0, p_0 = sgd_step(params, x, y)
    np.testing.assert_allclose(loss_s, loss_0, rtol=1e-12)
    leaves_close(p_s, p_0)


# --- (c) the printed program of an MLP -----------------------------------------------------------


def test_mlp_predict_program_prints_each_layer():
    """Without fusion each layer is a dot_general, an add and a tanh; with fusion the add and
    the tanh are one kernel."""
    params = init_mlp([4, 5, 3], np.random.default_rng(0))
    x = np.ones((2, 4))
    with options.using(fusion=False):
        text = str(cr.make_program(predict)(params, x))
    assert text == textwrap.dedent("""\
        program(a:f64[4,5], b:f64[5], c:f64[5,3], d:f64[3], e:f64[2,4]) {
          f:f64[2,5] = dot_general[dims=(((1,), (0,)), ((), ()))] e a
          g:f64[2,5] = add f b
          h:f64[2,5] = tanh g
          i:f64[2,3] = dot_general[dims=(((1,), (0,)), ((), ()))] h c
          j:f64[2,3] = add i d
          k:f64[2,3] = tanh j
          return (k,)
        }""")
    assert text == str(cr.make_program(predict)(params, x))  # make_program never fuses
    prog = cr.jit(predict).lower(params, x)
    assert top_level_prims(prog) == ["dot_general", "fused", "dot_general", "fused"]
    for e in prog.eqns[1::2]:
        assert [s.prim.name for s in e.params["program"].eqns] == ["add", "tanh"]
    with options.using(kernel="numpy"):
        src = cr.jit(predict).source(params, x)
    assert src.count("np.dot(") == 2 and src.count("np.tanh(") == 2


# --- (f) compile latency of 1,000 unrolled operations ----------------------------------------


def unrolled(x):
    y = x
    for i in range(1000):
        k = i % 4
        y = y * 0.999 if k == 0 else y + x if k == 1 else cnp.sin(y) if k == 2 else y - 0.25
    return y


def test_thousand_unrolled_ops_compile():
    x = RNG.standard_normal(64)
    jf = cr.jit(unrolled)
    t0 = time.perf_counter()
    got = jf(x)
    first = time.perf_counter() - t0
    np.testing.assert_allclose(got, unrolled(x), rtol=1e-12)
    prog = jf.lower(x)
    assert top_level_prims(prog) == ["fused"]
    assert len(prog.eqns[0].params["program"].eqns) == 1000
    assert len(jf.source(x).splitlines()) < 1010      # one line per operation
    print(f"\njit first call (trace + optimize + codegen) of 1000 ops: {first * 1e3:.0f} ms")


# --- (g) composition ------------------------------------------------------------------------------


COMPOSE = {
    "tanh_poly": lambda x: cnp.sum(cnp.tanh(x) * x ** 2 + 3.0 * x),
    "logsumexp": lambda x: cnp.log(cnp.sum(cnp.exp(x - cnp.max(x)))) + cnp.max(x),
    "reshape_dot": lambda x: cnp.sum(cnp.reshape(x, (2, 3)) @ cnp.ones((3, 2)) * x[:2]),
    "where_sq": lambda x: cnp.sum(cnp.where(x > 0.0, x * x, -x)),
    "index": lambda x: cnp.sum(x[1:4] * x[::-1][:3] + x[np.array([0, 5])].sum()),
    "mlp": lambda x: cnp.sum(predict(init_mlp([6, 4, 2], np.random.default_rng(3)),
                                     cnp.reshape(x, (1, 6)))),
}


@pytest.mark.parametrize("name", sorted(COMPOSE))
def test_composition(name):
    f = COMPOSE[name]
    x = np.random.default_rng(7).standard_normal(6)
    t = np.random.default_rng(8).standard_normal(6)
    xs = np.random.default_rng(9).standard_normal((3, 6))
    jf = cr.jit(f)
    np.testing.assert_allclose(jf(x), f(x), rtol=1e-12)
    p1, t1 = cr.jvp(jf, (x,), (t,))
    p0, t0 = cr.jvp(f, (x,), (t,))
    np.testing.assert_allclose(p1, p0, rtol=1e-12)
    np.testing.assert_allclose(t1, t0, rtol=1e-10, atol=1e-12)
    g = cr.grad(f)(x)
    np.testing.assert_allclose(cr.grad(jf)(x), g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(jf))(x), g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), g, rtol=1e-10, atol=1e-12)
    vg = cr.vmap(cr.jit(cr.grad(f)))(xs)
    np.testing.assert_allclose(vg, np.stack([cr.grad(f)(r) for r in xs]), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(cr.grad(jf)(x), np.dot(cr.jacfwd(f)(x), np.eye(6)).ravel(),
                               rtol=1e-8, atol=1e-10)


def test_transforms_of_jit_and_jit_of_transforms():
    f = lambda x, y: cnp.sin(x) * y + cnp.sum(x ** 3)   # noqa: E731
    x, y = RNG.standard_normal(4), RNG.standard_normal(4)
    xs = RNG.standard_normal((5, 4))
    leaves_close(cr.vmap(cr.jit(f), in_axes=(0, None))(xs, y),
                 np.stack([f(r, y) for r in xs]))
    leaves_close(cr.jit(cr.vmap(f, in_axes=(0, None)))(xs, y),
                 np.stack([f(r, y) for r in xs]))
    fs = lambda x, y: cnp.sum(f(x, y))   # noqa: E731
    leaves_close(cr.jit(cr.grad(fs, argnums=(0, 1)))(x, y), cr.grad(fs, argnums=(0, 1))(x, y))
    leaves_close(cr.hessian(cr.jit(lambda v: cnp.sum(cnp.tanh(v) ** 2)))(x),
                 cr.hessian(lambda v: cnp.sum(cnp.tanh(v) ** 2))(x))
    inner = cr.jit(lambda v: cnp.exp(v) * 2.0)
    outer = cr.jit(lambda v: inner(v) + inner(v * 3.0))
    leaves_close(outer(x), np.exp(x) * 2.0 + np.exp(3 * x) * 2.0)
    prog = outer.lower(x)
    assert "jit" not in top_level_prims(prog)         # inner jit inlined


# --- caching and retracing ----------------------------------------------------------------------


def test_cache_hits_and_retraces(caplog):
    traces = []

    def f(x, n):
        traces.append(1)
        return x * n

    jf = cr.jit(f, static_argnums=1)
    x = np.ones(3)
    jf(x, 2)
    jf(x + 1.0, 2)                      # same signature: cache hit
    assert len(traces) == 1 and len(jf._cache) == 1
    old = cr.config.explain_retrace
    cr.config.update("jax_explain_cache_misses", True)   # JAX's name; also "explain_retrace"
    assert staging.config.explain_retrace
    try:
        with caplog.at_level(logging.WARNING, logger="chainrule.jit"):
            jf(np.ones(4), 2)                       # new shape
            jf(np.ones(4, np.float32), 2)           # new dtype
            jf(np.ones(4, np.float32), 3)           # new static value
            jf(np.ones(4), 3)                       # f64[4] with 3: not seen yet
    finally:
        staging.config.explain_retrace = old
    assert len(traces) == 5
    msgs = [r.getMessage() for r in caplog.records]
    assert any("argument leaf 0 changed from f64[3] to f64[4]" in m for m in msgs), msgs
    assert any("f64[4] to f32[4]" in m for m in msgs), msgs
    assert any("static argument values changed: (2,) -> (3,)" in m for m in msgs), msgs
    jf(np.ones(4, np.float32), 3)
    assert len(traces) == 5


def test_unhashable_static_argument():
    jf = cr.jit(lambda x, shape: cnp.reshape(x, shape), static_argnums=1)
    with pytest.raises(TypeError, match="unhashable type list"):
        jf(np.ones(6), [2, 3])
    assert jf(np.ones(6), (2, 3)).shape == (2, 3)


def test_concretization_error_names_the_line():
    def f(x):
        if x.sum() > 0:      # value-dependent Python branch: the line named in the error
            return x
        return -x
    with pytest.raises(ConcretizationError) as err:
        cr.jit(f)(np.ones(3))
    msg = str(err.value)
    assert "test_jit.py:" in msg and "if x.sum() > 0" in msg and "jit" in msg


def test_out_of_bounds_index_raises_under_jit():
    with pytest.raises(IndexError):
        cr.jit(lambda x: x[5])(np.ones(3))                       # static: while tracing
    g = cr.jit(lambda x, i: x[i])
    assert g(np.arange(3.0), np.array([2]))[0] == 2.0
    with pytest.raises(IndexError):
        g(np.arange(3.0), np.array([3]))                         # traced: at run time
    with pytest.raises(IndexError):
        g(np.arange(3.0), np.array([-4]))


def test_closed_over_arrays_become_constants():
    W = RNG.standard_normal((3, 3))
    f = lambda x: cnp.tanh(x @ W)     # noqa: E731
    prog = cr.jit(f).lower(np.ones(3))
    assert len(prog.consts) == 1 and prog.consts[0] is W
    assert "consts(b:f64[3,3])" in str(prog)
    np.testing.assert_allclose(cr.jit(f)(np.ones(3)), np.tanh(np.ones(3) @ W))


def test_optimization_can_be_disabled():
    old = staging.config.optimize
    staging.config.optimize = False
    try:
        prog = cr.jit(lambda x: x * 1.0 + 0.0).lower(np.ones(2))
        assert top_level_prims(prog) == ["multiply", "add"]
    finally:
        staging.config.optimize = old


# --- debug.print, debug.callback, pure_callback -------------------------------------------------


def test_debug_print_under_jit_runs_at_run_time(capsys):
    def f(x):
        y = x * 2.0
        debug.print("y = {}", y)
        debug.print("kw {a} {b}", a=x[0], b="static")
        return y.sum()
    jf = cr.jit(f)
    jf(np.arange(3.0))
    assert capsys.readouterr().out == "y = [0. 2. 4.]\nkw 0.0 static\n"
    jf(np.ones(3))                       # cached: still prints, with the new values
    assert capsys.readouterr().out == "y = [2. 2. 2.]\nkw 1.0 static\n"
    assert "debug_callback" in top_level_prims(jf.lower(np.ones(3)))


def test_debug_callback_kept_when_result_unused_and_under_transforms(capsys):
    seen = []

    def f(x):
        debug.callback(lambda v: seen.append(np.array(v)), x * 3.0)
        return cnp.sum(x ** 2)
    x = np.arange(3.0)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), 2 * x)
    np.testing.assert_allclose(cr.grad(cr.jit(f))(x), 2 * x)
    assert len(seen) == 2 and all(np.array_equal(s, 3 * x) for s in seen)
    seen.clear()
    cr.vmap(cr.jit(f))(np.stack([x, x + 1]))
    assert [s.tolist() for s in seen] == [(3 * x).tolist(), (3 * x + 3).tolist()]


def test_pure_callback_under_jit_and_vmap():
    def f(x):
        return debug.pure_callback(np.sinc, debug.ShapeDtypeStruct(x.shape, x.dtype), x) * 2.0
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(cr.jit(f)(x), np.sinc(x) * 2.0)
    xs = np.stack([x, x / 2])
    np.testing.assert_allclose(cr.vmap(f)(xs), np.sinc(xs) * 2.0)
    vec = lambda v: debug.pure_callback(np.sinc, debug.ShapeDtypeStruct(v.shape, v.dtype),  # noqa
                                        v, vectorized=True)
    np.testing.assert_allclose(cr.vmap(vec)(xs), np.sinc(xs))
    with pytest.raises(NotImplementedError, match="custom_jvp"):
        cr.grad(lambda v: cnp.sum(f(v)))(x)
    bad = lambda v: debug.pure_callback(lambda a: a[:2], debug.ShapeDtypeStruct(v.shape,  # noqa
                                                                               v.dtype), v)
    with pytest.raises(ValueError, match="shape"):
        cr.jit(bad)(x)


def test_pure_callback_with_custom_derivatives():
    @cr.custom_jvp
    def sinc(x):
        return debug.pure_callback(np.sinc, debug.ShapeDtypeStruct(x.shape, x.dtype), x)

    def dsinc(x):
        px = np.pi * x
        return np.where(x == 0, 0.0, (np.cos(px) * px - np.sin(px)) / (px * x + (x == 0)))

    @sinc.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        d = debug.pure_callback(dsinc, debug.ShapeDtypeStruct(x.shape, x.dtype), x)
        return sinc(x), d * t

    @cr.custom_vjp
    def sinc2(x):
        return debug.pure_callback(np.sinc, debug.ShapeDtypeStruct(x.shape, x.dtype), x)
    sinc2.defvjp(lambda x: (sinc2(x), x),
                 lambda x, ct: (ct * debug.pure_callback(
                     dsinc, debug.ShapeDtypeStruct(x.shape, x.dtype), x),))

    x = np.linspace(0.1, 1.3, 4)
    want = dsinc(x)
    for fn in (sinc, sinc2):
        loss = lambda v: cnp.sum(fn(v))   # noqa: E731
        np.testing.assert_allclose(cr.grad(loss)(x), want, rtol=1e-12)
        np.testing.assert_allclose(cr.jit(cr.grad(loss))(x), want, rtol=1e-12)
        np.testing.assert_allclose(cr.grad(cr.jit(loss))(x), want, rtol=1e-12)
        np.testing.assert_allclose(cr.vmap(cr.grad(loss))(np.stack([x, x])), [want, want],
                                   rtol=1e-12)


def test_fused_kernels_survive_retransformation():
    """The optimized program (with `fused` equations) is what grad/vmap of a jitted function
    transform; its derivative is the eager one."""
    f = lambda x: cnp.sum(cnp.tanh(x * 2.0 + 1.0) ** 2)   # noqa: E731
    jf = cr.jit(f)
    assert "fused" in top_level_prims(jf.lower(np.ones(3)))
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(cr.grad(jf)(x), cr.grad(f)(x), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(cr.grad(lambda v: jf(v) * 1.0, ))(np.float64(0.3)),
                               cr.grad(cr.grad(f))(np.float64(0.3)), rtol=1e-10)
    prog = cr.jit(cr.grad(jf)).lower(x)
    assert any(e.prim is passes.fused_p for e in prog.eqns)


def test_results_never_alias_arguments_or_constants():
    f = cr.jit(lambda x: (x * 1, np.ones(3) * 2.0, 3.0))
    x = np.ones(3)
    a, b, c = f(x)
    a += 1.0
    b += 1.0
    assert np.array_equal(x, np.ones(3))
    a2, b2, c2 = f(x)
    assert np.array_equal(b2, [2.0, 2.0, 2.0]) and isinstance(c2, np.ndarray) and c2 == 3.0


def test_vmap_of_jit_retraces_for_a_new_batch_size():
    f = cr.jit(lambda x: cnp.broadcast_to(x[:, None], (2, 4)) * 2.0)
    assert cr.vmap(f)(np.ones((3, 2))).shape == (3, 2, 4)
    assert cr.vmap(f)(np.ones((1, 2))).shape == (1, 2, 4)
    x = np.arange(10.0).reshape(5, 2)
    np.testing.assert_allclose(cr.vmap(f)(x), np.stack([np.broadcast_to(r[:, None], (2, 4)) * 2
                                                        for r in x]))
    # the same holds for fused kernels inside a staged program
    g = cr.jit(lambda x: cnp.sum(cnp.tanh(x) * 2.0 + 1.0) * cnp.ones(3))
    np.testing.assert_allclose(cr.vmap(g)(np.ones((2, 4))).shape, (2, 3))
    np.testing.assert_allclose(cr.vmap(g)(np.ones((6, 4)))[5], g(np.ones(4)))


def test_debug_print_of_closed_over_values_runs_with_its_program(capsys):
    c = np.array(-1.0)

    def f(p, x):
        def yes(x):
            cr.debug.print("taken {}", c)   # no argument of the branch: closed over
            return x + 1
        return cr.lax.cond(p, yes, lambda x: x - 1, x)

    for fn in (f, cr.jit(f)):
        assert fn(False, 1.0) == 0.0
        assert capsys.readouterr().out == ""          # the untaken branch prints nothing
        assert fn(True, 1.0) == 2.0
        assert capsys.readouterr().out == "taken -1.0\n"
    g = cr.jit(lambda x: (cr.debug.print("c = {}", c), x * 2)[1])
    g(1.0)
    g(2.0)                                            # once per call, not once at tracing
    assert capsys.readouterr().out == "c = -1.0\nc = -1.0\n"
