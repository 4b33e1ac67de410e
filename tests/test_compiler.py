"""The compiler: each pass tested three ways (the checker accepts its output, evaluation before
and after agrees bit for bit on random inputs, a printed golden shows the rewrite), code
generation (lowerings, buffer reuse, numexpr kernels), and export of standalone modules."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.prims as P
import chainrule.scipy.special as csp
from chainrule import debug
from chainrule.compiler import codegen, export, kernels, options, passes, standalone
from chainrule.core import ShapedArray
from chainrule.ir.program import Eqn, Literal, Program, Var, check, eval_program
from chainrule.transforms import staging

F64 = np.dtype(np.float64)
F32 = np.dtype(np.float32)
I64 = np.dtype(np.int64)


# --- helpers -----------------------------------------------------------------------------------


def raw(f, *args):
    """The staged program of f, before any pass."""
    old, staging.config.optimize = staging.config.optimize, False
    try:
        return cr.make_program(f)(*args)
    finally:
        staging.config.optimize = old


def with_consts(prog: Program, values) -> Program:
    """prog with its first len(values) inputs turned into constants with those values."""
    k = len(values)
    return Program(prog.const_vars + prog.in_vars[:k], prog.consts + list(values),
                   prog.in_vars[k:], prog.eqns, prog.outs)


class Builder:
    """Hand-written programs: b.eqn(prim, *inputs, **params) appends an equation."""

    def __init__(self, *avals):
        self.ins = [Var(ShapedArray(s, d)) for s, d in avals]
        self.eqns = []

    def eqn(self, prim, *inputs, **params):
        inputs = [a if isinstance(a, (Var, Literal)) else Literal(a) for a in inputs]
        out = prim.abstract_eval(*[a.value if type(a) is Literal else a.aval for a in inputs],
                                 **params)
        outs = [Var(o) for o in out] if prim.multiple_results else [Var(out)]
        self.eqns.append(Eqn(prim, inputs, params, outs))
        return outs if prim.multiple_results else outs[0]

    def program(self, *outs, consts=()):
        cvars = [Var(ShapedArray(np.shape(c), np.asarray(c).dtype)) for c in consts]
        return Program(cvars, list(consts), self.ins, self.eqns, list(outs))


def special_values(aval, rng):
    """Random values of aval, including signed zeros, infinities and NaN for floats."""
    if aval.dtype.kind == "b":
        return rng.random(aval.shape) < 0.5
    if aval.dtype.kind in "iu":
        return rng.integers(-5, 6, aval.shape).astype(aval.dtype)
    x = rng.standard_normal(aval.shape)
    flat = x.reshape(-1)
    for i, v in enumerate([-0.0, 0.0, np.inf, -np.inf, np.nan]):
        if i < flat.size and flat.size > 5:
            flat[(i * 7) % flat.size] = v
    return x.astype(aval.dtype)


def assert_same(a, b, what=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
    assert np.array_equal(a, b, equal_nan=True), what
    if a.dtype.kind == "f":
        assert np.array_equal(np.signbit(a), np.signbit(b)), f"{what}: signed zeros differ"


def check_pass(pass_fn, prog, golden=None, seeds=3):
    """The three checks of a pass; returns its output."""
    out = pass_fn(prog)
    check(out)
    assert out.in_avals == prog.in_avals and out.out_avals == prog.out_avals
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        xs = [special_values(a, rng) for a in prog.in_avals]
        with np.errstate(all="ignore"):
            want, got = eval_program(prog, xs), eval_program(out, xs)
        for i, (w, g) in enumerate(zip(want, got)):
            assert_same(g, w, f"output {i} after {pass_fn.__name__}")
    if golden is not None:
        assert str(out) == textwrap.dedent(golden).strip(), "\n" + str(out)
    return out


# --- dce ---------------------------------------------------------------------------------------


def test_dce():
    def f(x):
        cnp.cos(x) * 3.0  # dead
        return cnp.sin(x) * 2.0
    check_pass(passes.dce, raw(f, np.ones(3)), """
        program(a:f64[3]) {
          b:f64[3] = sin a
          c:f64[3] = multiply b 2.0
          return (c,)
        }""")


def test_dce_keeps_effects():
    prog = raw(lambda x: (debug.print("{}", x * 2.0), x + 1.0)[1], np.ones(2))
    out = passes.dce(prog)
    assert [e.prim.name for e in out.eqns] == ["multiply", "debug_callback", "add"]


# --- cse ---------------------------------------------------------------------------------------


def test_cse():
    def f(x, y):
        a = cnp.sin(x) + cnp.sin(x)
        b = x * y - y * x          # commutative: y*x is x*y
        return a + b + cnp.reshape(x, (3, 1)).sum() + cnp.reshape(x, (3, 1)).sum()
    check_pass(passes.cse, raw(f, np.ones(3), np.ones(3)), """
        program(a:f64[3], b:f64[3]) {
          c:f64[3] = sin a
          d:f64[3] = add c c
          e:f64[3] = multiply a b
          f:f64[3] = subtract e e
          g:f64[3] = add d f
          h:f64[3,1] = reshape[shape=(3, 1)] a
          i:f64[] = reduce_sum[axes=(0, 1)] h
          j:f64[3] = add g i
          k:f64[3] = add j i
          return (k,)
        }""")


def test_cse_literals_by_bits_and_unhashable_params():
    b = Builder(((3,), F64))
    x, = b.ins
    p = b.eqn(P.add_p, x, 0.0)
    m = b.eqn(P.add_p, x, -0.0)            # a different literal: not merged
    r1 = b.eqn(P.reshape_p, x, shape=[3, 1])   # unhashable params: left alone
    r2 = b.eqn(P.reshape_p, x, shape=[3, 1])
    s = b.eqn(P.add_p, p, m)
    prog = b.program(s, r1, r2)
    check_pass(passes.cse, prog, """
        program(a:f64[3]) {
          b:f64[3] = add a 0.0
          c:f64[3] = add a -0.0
          d:f64[3,1] = reshape[shape=[3, 1]] a
          e:f64[3,1] = reshape[shape=[3, 1]] a
          f:f64[3] = add b c
          return (f, d, e)
        }""")


def test_cse_never_merges_effects_and_merges_equal_consts():
    prog = raw(lambda x: (debug.print("{}", x), debug.print("{}", x),
                          x * np.ones(2) + x * np.ones(2))[2], np.ones(2))
    out = check_pass(passes.cse, prog)
    assert [e.prim.name for e in out.eqns].count("debug_callback") == 2
    assert len(out.consts) == 1 and [e.prim.name for e in out.eqns].count("multiply") == 1


# --- constant folding ----------------------------------------------------------------------------


def test_fold_constants():
    def f(c, s, x):
        return x * (cnp.sin(c) * 2.0) + cnp.exp(s)
    prog = with_consts(raw(f, np.ones(3), np.float64(0.5), np.ones(3)),
                       [np.arange(3.0), np.asarray(0.5)])
    out = check_pass(passes.fold_constants, prog, """
        program(a:f64[3]) consts(b:f64[3]) {
          c:f64[3] = multiply a b
          d:f64[3] = add c 1.6487212707001282
          return (d,)
        }""")
    assert_same(out.consts[0], np.sin(np.arange(3.0)) * 2.0)
    assert isinstance(out.eqns[1].inputs[1].value, np.float64)  # exact dtype kept


def test_fold_constants_limits():
    def f(c, i, x):
        return x + c * 2.0, x[i]
    prog = with_consts(raw(f, np.ones((20, 10)), np.array([1]), np.ones((20, 10))),
                       [np.ones((20, 10)), np.array([40])])     # an out-of-bounds index
    with options.using(fold_limit=100):
        out = passes.fold_constants(prog)
    check(out)
    assert [e.prim.name for e in out.eqns] == ["multiply", "add", "getitem"]
    with pytest.raises(IndexError):
        eval_program(out, [np.ones((20, 10))])


# --- simplification ------------------------------------------------------------------------------


def test_simplify_arithmetic():
    def f(x, i):
        a = x * 1 + 1.0 * x           # -> x + x
        b = (x / 1.0) ** 1            # -> x
        c = x ** 2                    # -> x * x
        d = (x + (-0.0)) - 0.0        # -> x (exact identities for floats)
        e = x + 0.0                   # kept: maps -0.0 to +0.0
        z = x * 0.0 + (x - x)         # kept: nan/inf
        k = i + 0                     # -> i (integers)
        return a + b + c + d, e, z, k
    check_pass(passes.simplify, raw(f, np.ones(3), np.ones(3, np.int64)), """
        program(a:f64[3], b:i64[3]) {
          c:f64[3] = add a a
          d:f64[3] = multiply a a
          e:f64[3] = add a 0.0
          f:f64[3] = multiply a 0.0
          g:f64[3] = subtract a a
          h:f64[3] = add f g
          i:f64[3] = add c a
          j:f64[3] = add i d
          k:f64[3] = add j a
          return (k, e, h, b)
        }""")


def test_simplify_keeps_dtype_changes():
    def f(i, y):
        return i * 1.0, y * 1           # int*1.0 is float: kept; f32 * 1 is f32: removed
    check_pass(passes.simplify, raw(f, np.ones(3, np.int32), np.ones(3, np.float32)), """
        program(a:i32[3], b:f32[3]) {
          c:f64[3] = multiply a 1.0
          return (c, b)
        }""")


def test_simplify_structural():
    def f(x):
        t = cnp.transpose(cnp.transpose(x, (1, 2, 0)), (2, 0, 1))      # -> x
        u = cnp.transpose(cnp.transpose(x, (1, 0, 2)), (0, 2, 1))      # -> one transpose
        r = cnp.reshape(cnp.reshape(x, (6, 4)), (4, 6))               # -> one reshape
        s = cnp.reshape(x, (2, 3, 4))                                  # -> x
        c = x.astype(np.float64)                                       # -> x
        return t + c + s, u, r
    out = check_pass(passes.simplify, raw(f, np.ones((2, 3, 4))))
    assert str(out) == textwrap.dedent("""\
        program(a:f64[2,3,4]) {
          b:f64[3,4,2] = transpose[perm=(1, 2, 0)] a
          c:f64[4,6] = reshape[shape=(4, 6)] a
          d:f64[2,3,4] = add a a
          e:f64[2,3,4] = add d a
          return (e, b, c)
        }""").strip(), "\n" + str(out)


def test_simplify_broadcast_operands():
    b = Builder(((2, 3), F32), ((), F32))
    x, s = b.ins
    two = b.eqn(P.broadcast_to_p, np.float64(2.0), shape=(2, 3))   # f64: f32*f64 is f64
    y = b.eqn(P.mul_p, x, two)
    bs = b.eqn(P.broadcast_to_p, s, shape=(2, 3))
    z = b.eqn(P.add_p, x, bs)
    w = b.eqn(P.mul_p, x, b.ins[0])
    prog = b.program(y, z, w, bs)
    out = check_pass(passes.simplify, prog, """
        program(a:f32[2,3], b:f32[]) {
          c:f64[2,3] = multiply a 2.0
          d:f32[2,3] = broadcast_to[shape=(2, 3)] b
          e:f32[2,3] = add a b
          f:f32[2,3] = multiply a a
          return (c, e, f, d)
        }""")
    assert isinstance(out.eqns[0].inputs[1].value, np.float64)   # strong: f32*f64 is f64


def test_simplify_uniform_constant_becomes_literal():
    f = lambda c, x: x * c + x           # noqa: E731 - c is all ones
    prog = with_consts(raw(f, np.ones((2, 2)), np.ones((2, 2))), [np.ones((2, 2))])
    check_pass(passes.simplify, prog, """
        program(a:f64[2,2]) {
          b:f64[2,2] = add a a
          return (b,)
        }""")


# --- fusion -------------------------------------------------------------------------------------


def test_fuse_one_kernel():
    prog = passes.simplify(raw(lambda x: x * x + x * 2.0, np.ones((4, 5))))
    out = check_pass(passes.fuse, prog, """
        program(a:f64[4,5]) {
          b:f64[4,5] = fused[program={program with 3 equations}] a
          return (b,)
        }""")
    assert str(out.eqns[0].params["program"]) == textwrap.dedent("""\
        program(a:f64[4,5]) {
          b:f64[4,5] = multiply a a
          c:f64[4,5] = multiply a 2.0
          d:f64[4,5] = add b c
          return (d,)
        }""")


def test_fuse_boundaries():
    def f(x, b, W):
        h = cnp.tanh(x @ W + b)           # kernel: add, tanh (b broadcast by the ufunc)
        s = cnp.sum(cnp.exp(h) * 2.0, axis=1)   # kernel ending in a reduction
        e = cnp.exp(b) * 3.0              # a smaller shape: its own kernel
        return s, h * e, cnp.sin(e)       # h and e are used outside: kernel roots
    prog = raw(f, np.ones((4, 3)), np.ones(5), np.ones((3, 5)))
    out = check_pass(passes.fuse, prog, """
        program(a:f64[4,3], b:f64[5], c:f64[3,5]) {
          d:f64[4,5] = dot_general[dims=(((1,), (0,)), ((), ()))] a c
          e:f64[4,5] = fused[program={program with 2 equations}] d b
          f:f64[4] = fused[program={program with 3 equations}] e
          g:f64[5] = fused[program={program with 2 equations}] b
          h:f64[4,5] = multiply e g
          i:f64[5] = sin g
          return (f, h, i)
        }""")
    kern = [e.params["program"] for e in out.eqns if e.prim is passes.fused_p]
    assert [[e.prim.name for e in k.eqns] for k in kern] == [
        ["add", "tanh"], ["exp", "multiply", "reduce_sum"], ["exp", "multiply"]]
    for k in kern:
        check(k)


def test_fuse_disabled_and_unfuse():
    prog = raw(lambda x: cnp.tanh(x * 2.0 + 1.0), np.ones(3))
    with options.using(fusion=False):
        assert passes.fuse(prog) is prog
    fused = passes.fuse(prog)
    back = check_pass(passes.unfuse, fused, """
        program(a:f64[3]) {
          b:f64[3] = multiply a 2.0
          c:f64[3] = add b 1.0
          d:f64[3] = tanh c
          return (d,)
        }""")
    assert len(back.eqns) == 3


def test_fused_program_transforms():
    """A fused equation differentiates and batches through its sub-program."""
    f = lambda x: cnp.sum(cnp.tanh(x * 2.0 + 1.0) * x)   # noqa: E731
    x = np.linspace(-1, 1, 5)
    prog = cr.jit(f).lower(x)
    assert any(e.prim is passes.fused_p for e in prog.eqns)
    g = cr.grad(lambda v: eval_program(prog, [v])[0])(x)
    np.testing.assert_allclose(g, cr.grad(f)(x), rtol=1e-12)
    vm = cr.vmap(lambda v: eval_program(prog, [v])[0])(np.stack([x, 2 * x]))
    np.testing.assert_allclose(vm, [f(x), f(2 * x)], rtol=1e-12)


def test_pipeline_documented():
    assert passes.PIPELINE == [passes.unfuse, passes.simplify, passes.fold_constants,
                               passes.cse, passes.dce, passes.fuse]
    for p in passes.PIPELINE:
        assert "Preserves" in p.__doc__ or "preserves" in p.__doc__, p.__name__


def test_stages_dump_each_pass():
    prog = raw(lambda x: cnp.tanh(x * 1.0) + cnp.tanh(x * 1.0), np.ones(3))
    st = passes.stages(prog)
    assert [n for n, _ in st] == [p.__name__ for p in passes.PIPELINE]
    assert [len(p.eqns) for _, p in st] == [5, 3, 3, 2, 2, 1]
    assert str(st[-1][1]) == str(passes.optimize(prog))
    assert [e.prim.name for e in passes.optimize(prog, fusion=False).eqns] == ["tanh", "add"]


def test_optimize_keeps_stop_gradient_and_custom_rules():
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)
    f.defjvp(lambda p, t: (f(p[0]), 10.0 * t[0]))
    h = lambda x: cnp.sum(f(x) * cr.stop_gradient(x) * 1.0)   # noqa: E731
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(cr.grad(cr.jit(h))(x), cr.grad(h)(x))
    prog = cr.make_program(h)(x)
    names = [e.prim.name for e in prog.eqns]
    names += [s.prim.name for e in prog.eqns if e.prim is passes.fused_p
              for s in e.params["program"].eqns]
    assert "custom_jvp_call" in names and "stop_gradient" in names


# --- code generation ------------------------------------------------------------------------------


def test_buffer_reuse_source():
    f = lambda x, y: cnp.tanh(x * y + 1.0) * x     # noqa: E731
    x, y = np.ones((2, 3)), np.ones((2, 3))
    with options.using(kernel="numpy"):
        src = cr.jit(f).source(x, y)
    assert src == textwrap.dedent("""\
        def compiled(v0, v1):
            # fused kernel: multiply add tanh multiply
            v2 = np.multiply(v0, v1)
            v3 = np.add(v2, 1.0, out=v2)
            v4 = np.tanh(v3, out=v3)
            v5 = np.multiply(v4, v0, out=v4)
            return [v5]
        """), src


def test_buffer_reuse_never_writes_inputs_consts_or_views():
    c = np.arange(6.0).reshape(2, 3)

    def f(x):
        a = x + 1.0              # fresh
        v = a.T                  # a view of a: a must never be overwritten
        b = cnp.exp(a)           # a dies here, but a view of it lives on
        return b * c, v, x * 2.0
    x = np.ones((2, 3))
    x0, c0 = x.copy(), c.copy()
    with options.using(kernel="numpy"):
        got = cr.jit(f)(x)
        src = cr.jit(f).source(x)
    want = (np.exp(x0 + 1.0) * c0, (x0 + 1.0).T, x0 * 2.0)
    for g, w in zip(got, want):
        assert_same(g, w)
    assert_same(x, x0)
    assert_same(c, c0)
    assert "out=v0" not in src and "out=c0" not in src
    assert "np.exp(v1)" in src          # a is read by a transpose: no out=v1


def test_lowerings_readable_and_correct():
    def f(x, y, z, i, w):
        a = cnp.reshape(x, (12, 2))
        b = cnp.transpose(x, (2, 0, 1))
        c = cnp.sum(x, axis=(0, 2)) + cnp.max(x, axis=0).sum() + cnp.min(x) + cnp.prod(x)
        d = cnp.argmax(x, axis=1) + cnp.argmin(x, axis=2).sum()
        e = x.astype(np.float32)
        g = cnp.concatenate([x, x], axis=1)
        h = y @ z                                  # np.dot
        k = cnp.matmul(x, w)                       # np.matmul (batched)
        m = cnp.tensordot(x, x, axes=([0, 1], [0, 1]))
        n = x[1:2, ::-1]
        p = x[i]
        return a, b, c, d, e, g, h, k, m, n, p
    args = (np.random.default_rng(0).standard_normal((2, 3, 4)), np.ones((3, 4)),
            np.ones((4, 2)), np.array([1, 0, -1]), np.ones((2, 4, 5)))
    src = cr.jit(f).source(*args)
    for piece in ["np.reshape(v0, (12, 2))", "np.transpose(v0, (2, 0, 1))",
                  "np.add.reduce(v0, axis=(0, 2))", "np.maximum.reduce(v0, axis=(0,))",
                  "np.argmax(v0, axis=1)",
                  "v0.astype(np.float32)", "np.concatenate((v0, v0), axis=1)",
                  "np.dot(v1, v2)", "np.matmul(v0, v4)",
                  "np.tensordot(v0, v0, axes=((0, 1), (0, 1)))",
                  "v0[1:2, ::-1]", "v0[v3]"]:
        assert piece in src, (piece, src)
    assert "_dot_general" not in src and "_getitem" not in src
    got = cr.jit(f)(*args)
    want = f(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
        assert np.asarray(g).dtype == np.asarray(w).dtype


def test_dot_general_lowerings_all_layouts():
    rng = np.random.default_rng(1)
    cases = [((3,), (3,), (((0,), (0,)), ((), ()))),
             ((2, 3), (3,), (((1,), (0,)), ((), ()))),
             ((2, 3), (4, 3), (((1,), (1,)), ((), ()))),
             ((5, 2, 3), (5, 3, 4), (((2,), (1,)), ((0,), (0,)))),
             ((5, 2, 3), (5, 4, 3), (((2,), (2,)), ((0,), (0,)))),
             ((2, 5, 3), (3, 4, 5), (((2,), (0,)), ((1,), (2,)))),
             ((2, 5, 3, 6), (6, 5, 3), (((2, 3), (2, 0)), ((1,), (1,))))]
    for xs, ys, dims in cases:
        x, y = rng.standard_normal(xs), rng.standard_normal(ys)
        f = lambda a, b: P.dot_general_p(a, b, dims=dims)   # noqa: E731
        np.testing.assert_allclose(cr.jit(f)(x, y), P.dot_general_p.impl(x, y, dims=dims),
                                   rtol=1e-12, err_msg=str(dims))
        assert "_dot_general" not in cr.jit(f).source(x, y)


def test_scatter_and_cumulative_lowerings():
    def f(x, i):
        a = x.at[1:3].set(0.0)
        b = x.at[i].add(1.0)
        c = x.at[0].add(5.0)
        d = cnp.cumsum(x) + cnp.cumprod(x)
        return a, b, c, d, cnp.argsort(x), cnp.pad(x, (1, 2))
    x, i = np.arange(1.0, 6.0), np.array([0, 0, 4])
    src = cr.jit(f).source(x, i)
    a = x.copy()
    a[1:3] = 0.0
    b = x.copy()
    np.add.at(b, i, 1.0)
    want = (a, b, x + [5, 0, 0, 0, 0], np.cumsum(x) + np.cumprod(x), np.argsort(x),
            np.pad(x, (1, 2)))
    assert "_cr_scatter(v0, np.float64(0.0), np.s_[1:3], 'set')" in src
    assert "_cr_scatter(v0, np.float64(1.0), np.s_[v1], 'add')" in src
    assert "_cr_scatter(v0, np.float64(5.0), np.s_[0], 'iadd')" in src and "np.cumsum(" in src
    for g, w in zip(cr.jit(f)(x, i), want):
        np.testing.assert_allclose(g, w)


def test_out_of_bounds_raises_in_compiled_code():
    f = cr.jit(lambda x, i: x[i] * 2.0)
    assert "v0[v1]" in f.source(np.ones(3), np.array([0]))
    with pytest.raises(IndexError):
        f(np.ones(3), np.array([3]))
    g = cr.jit(lambda x, i: x.at[i].set(1.0))
    with pytest.raises(IndexError):
        g(np.ones(3), np.array([-4]))


def test_literal_sources_keep_dtypes():
    gen = codegen._Gen(standalone=True)
    assert gen.literal(2.0) == "2.0"
    assert gen.literal(np.float32(0.1)) == "np.float32(0.10000000149011612)"
    assert gen.literal(np.float64(2.0)) == "np.float64(2.0)" and gen.literal(True) == "True"
    assert gen.literal(float("-inf")) == "float('-inf')"
    for v in [np.float32(0.1), np.float64(-0.0), np.int8(-3), np.bool_(True), np.complex64(1j)]:
        r = eval(gen.literal(v), {"np": np})
        assert type(r) is type(v) and r == v


# --- numexpr kernels ------------------------------------------------------------------------------

needs_numexpr = pytest.mark.skipif(kernels.ne is None, reason="numexpr is not installed")


@needs_numexpr
def test_numexpr_kernel_one_evaluate():
    f = lambda x: x * x + x * 2.0   # noqa: E731
    for dt in (np.float32, np.float64):
        x = np.random.default_rng(0).standard_normal((50, 40)).astype(dt)
        with options.using(kernel="numexpr"):
            jf = cr.jit(f)
            src = jf.source(x)
            got = jf(x)
        assert src.count("= _ne") == 1 and "one numexpr program" in src, src
        assert got.dtype == dt
        np.testing.assert_array_equal(got, f(x))


@needs_numexpr
def test_numexpr_kernel_shared_values_broadcasts_and_reductions():
    def f(x, b, c):
        t = x * b - 1.0                   # used twice: evaluated once
        m = cnp.where(t > c, t, -t)
        return cnp.sum(m * t, axis=0), m
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((30, 4)), rng.standard_normal(4), np.float64(0.1))
    with options.using(kernel="numexpr"):
        src = cr.jit(f).source(*args)
        got = cr.jit(f)(*args)
    assert "numexpr program" in src
    for g, w in zip(got, f(*args)):
        np.testing.assert_allclose(g, w, rtol=1e-12)


@needs_numexpr
def test_numexpr_auto_policy():
    # "auto" follows the cost model: NumPy for short kernels and large arrays, numexpr for long
    # kernels on small arrays (one call instead of one NumPy call per operation)
    with options.using(kernel="auto"):
        assert "numexpr" not in cr.jit(lambda v: v * v + v).source(np.ones((8, 8)))
    big = ShapedArray((1 << 20,), F64)
    for f in (lambda v: v * v + v * 2.0, lambda v: cnp.tanh(v * 2.0)):
        sub = passes.fuse(raw(f, np.ones(big.shape))).eqns[0].params["program"]
        with options.using(kernel="auto"):
            assert kernels.plan(sub, {sub.in_vars[0]: "v0"}, lambda v: "_k") is None

    def long(v):
        for _ in range(10):
            v = cnp.sin(v) * 0.5 + cnp.cos(v)
        return v
    with options.using(kernel="auto"):
        assert "numexpr program" in cr.jit(long).source(np.ones(10))


def test_numpy_kernel_when_forced():
    with options.using(kernel="numpy"):
        src = cr.jit(lambda v: v * v + v).source(np.ones((4,)))
    assert "numexpr" not in src and "out=" in src


# --- export --------------------------------------------------------------------------------------


_RUNNER = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "chainrule" or name.startswith("chainrule."):
            raise ImportError("chainrule must not be needed")
sys.meta_path.insert(0, _Block())
sys.path = [p for p in sys.path if p not in ({root!r}, "", ".")]
sys.path.insert(0, sys.argv[1])
import numpy as np
import {mod} as m
data = np.load(sys.argv[2])
outs = m.{fn}(*[data[f"a{{i}}"] for i in range(len(data.files))])
np.savez(sys.argv[3], *outs)
print("modules:", sorted(k for k in sys.modules if k.startswith("chainrule")))
"""


def _run_exported(tmp_path, src, fn, leaves, mod="exported_mod"):
    (tmp_path / f"{mod}.py").write_text(src)
    np.savez(tmp_path / "in.npz", **{f"a{i}": x for i, x in enumerate(leaves)})
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    (tmp_path / "runner.py").write_text(_RUNNER.format(mod=mod, fn=fn, root=root))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-I", str(tmp_path / "runner.py"), str(tmp_path),
                        str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "modules: []" in r.stdout
    out = np.load(tmp_path / "out.npz")
    return [out[f"arr_{i}"] for i in range(len(out.files))]


def test_export_gradient_standalone(tmp_path):
    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((4, 8)), rng.standard_normal(8)
    big = rng.standard_normal((8, 40))                # a large constant: base64 inline

    def loss(params, x, y):
        (W, b) = params
        h = cnp.tanh(x @ W + b)
        z = (h @ big)[:, :3] + csp.expit(h[:, :3])
        return cnp.mean((z[:, 0] - y) ** 2) + 1e-3 * cnp.sum(W ** 2)

    args = ((W1, b1), rng.standard_normal((5, 4)), rng.standard_normal(5))
    g = cr.value_and_grad(loss)
    src = export(g, *args, name="loss_and_grad")
    assert "chainrule" not in src.split('"""')[-1]
    assert "import scipy.special as sps" in src and "_cr_load(" in src
    leaves = cr.tree_util.tree_leaves(args)
    got = _run_exported(tmp_path, src, "loss_and_grad", leaves)
    want = cr.tree_util.tree_leaves(g(*args))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_export_constants_exact(tmp_path):
    consts = [np.array([0.1, -0.0, np.inf, np.nan], np.float32), np.arange(6).reshape(2, 3),
              np.array([True, False]), np.array([1 + 2j]), np.zeros((0, 3))]
    f = lambda x: [x * 1.5] + [c for c in consts]   # noqa: E731 - constants come back as is
    src = export(f, np.ones(2), name="f")
    assert "np.array([0.10000000149011612, -0.0, np.inf, np.nan], dtype=np.dtype('<f4'))" \
        in src
    got = _run_exported(tmp_path, src, "f", [np.ones(2)])
    for g, w in zip(got, [np.ones(2) * 1.5] + consts):
        assert_same(g, w)


def test_export_errors_name_the_primitive():
    f = lambda x: debug.pure_callback(np.sinc, x, x)   # noqa: E731
    with pytest.raises(codegen.CodegenError, match="pure_callback"):
        export(f, np.ones(2))


# --- the whole pipeline on a corpus ----------------------------------------------------------


CORPUS = {
    "tanh_poly": lambda x: cnp.sum(cnp.tanh(x) * x ** 2 + 3.0 * x),
    "logsumexp": lambda x: cnp.log(cnp.sum(cnp.exp(x - cnp.max(x)))) + cnp.max(x),
    "where_sq": lambda x: cnp.sum(cnp.where(x > 0.0, x * x, -x)),
    "index": lambda x: cnp.sum(x[1:4] * x[::-1][:3] + x[np.array([0, 5])].sum()),
    "mlp": lambda x: cnp.sum(cnp.tanh(cnp.reshape(x, (2, 3)) @ np.ones((3, 4)) + 0.5) ** 2),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize("order", [0, 1, 2])
def test_optimize_and_codegen_exact_on_corpus(name, order):
    """optimize keeps values bit for bit; compiled NumPy code equals the interpreter."""
    f = CORPUS[name]
    f = f if order == 0 else cr.grad(f) if order == 1 else cr.hessian(f)
    x = np.random.default_rng(0).standard_normal(6)
    prog = raw(f, x)
    opt = passes.optimize(prog)
    check(opt)
    assert len(opt.eqns) <= len(prog.eqns)
    with options.using(kernel="numpy"):
        compiled = codegen.compile_program(opt)(x)
    for a, b, c in zip(eval_program(prog, [x]), eval_program(opt, [x]), compiled):
        assert_same(b, a)
        assert_same(c, a)
