"""Performance rewrites of the program passes, the dot_general rules and scan (issue 4, W3 and
W9), each tested so that it fails if wrong: values against references on random inputs, the IR
checker, printed goldens of the rewrites, and the layouts (C order) of the results."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
from test_compiler import check_pass, raw

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.prims as P
from chainrule import debug, lax
from chainrule.compiler import passes
from chainrule.ir.program import check, eval_program
from chainrule.prims import structural as S

# (x shape, y shape, dims) covering every dot_general lowering branch
DOT_CASES = [
    ((3,), (3,), (((0,), (0,)), ((), ()))),
    ((2, 3), (3,), (((1,), (0,)), ((), ()))),
    ((3,), (3, 4), (((0,), (0,)), ((), ()))),
    ((3,), (4, 3), (((0,), (1,)), ((), ()))),
    ((3, 2), (3,), (((0,), (0,)), ((), ()))),
    ((2, 3), (3, 4), (((1,), (0,)), ((), ()))),
    ((3, 2), (3, 4), (((0,), (0,)), ((), ()))),
    ((2, 3), (4, 3), (((1,), (1,)), ((), ()))),
    ((3, 2), (4, 3), (((0,), (1,)), ((), ()))),
    ((2, 5, 3), (3, 4), (((2,), (0,)), ((), ()))),
    ((2, 5, 3), (4, 3), (((2,), (1,)), ((), ()))),
    ((2, 3), (4,), (((), ()), ((), ()))),
    ((5, 2, 3), (5, 3, 4), (((2,), (1,)), ((0,), (0,)))),
    ((5, 2, 3), (5, 4, 3), (((2,), (2,)), ((0,), (0,)))),
    ((5, 3, 2), (5, 3, 4), (((1,), (1,)), ((0,), (0,)))),
    ((5, 3, 2), (5, 4, 3), (((1,), (2,)), ((0,), (0,)))),
    ((2, 5, 3), (3, 4, 5), (((2,), (0,)), ((1,), (2,)))),
    ((2, 5, 3, 6), (6, 5, 3), (((2, 3), (2, 0)), ((1,), (1,)))),
]


def _old_vjp(ct, x, y, dims, wrt_x):
    """The cotangent as transpose(dot_general(ct, other)), the textbook form."""
    lc, rc, lb, rb, xf, yf = S._dot_dims(x.ndim, y.ndim, dims)
    nb, nxf = len(lb), len(xf)
    if wrt_x:
        r = S._dot_general(ct, y, dims=((tuple(range(nb + nxf, ct.ndim)), yf),
                                        (tuple(range(nb)), rb)))
        src = list(lb) + list(xf) + [lc[rc.index(a)] for a in sorted(rc)]
    else:
        r = S._dot_general(ct, x, dims=((tuple(range(nb, nb + nxf)), xf),
                                        (tuple(range(nb)), lb)))
        src = list(rb) + list(yf) + [rc[lc.index(a)] for a in sorted(lc)]
    return np.transpose(r, [src.index(i) for i in range(len(src))])


# --- dot_general: VJP in the operand's layout, lowering to BLAS calls ------------------------


@pytest.mark.parametrize("xs,ys,dims", DOT_CASES)
def test_dot_vjp_equals_textbook_form(xs, ys, dims):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(xs), rng.standard_normal(ys)
    ct = rng.standard_normal(S._dot_general(x, y, dims=dims).shape)
    gx = S._dot_vjp_x(ct, None, x, y, dims=dims)
    gy = S._dot_vjp_y(ct, None, x, y, dims=dims)
    np.testing.assert_allclose(gx, _old_vjp(ct, x, y, dims, True), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gy, _old_vjp(ct, x, y, dims, False), rtol=1e-12, atol=1e-14)
    assert gx.shape == x.shape and gy.shape == y.shape


def test_dot_vjp_complex_conjugates_the_other_operand():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    y = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))
    ct = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    dims = (((1,), (0,)), ((), ()))
    np.testing.assert_allclose(S._dot_vjp_y(ct, None, x, y, dims=dims), x.conj().T @ ct)
    np.testing.assert_allclose(S._dot_vjp_x(ct, None, x, y, dims=dims), ct @ y.conj().T)


@pytest.mark.parametrize("shapes,expr,user_transposes", [
    (((8, 5), (5, 3)), lambda x, w: x @ w, False),
    (((5, 8), (5, 3)), lambda x, w: x.T @ w, True),
    (((8, 5), (3, 5)), lambda x, w: x @ w.T, True),
    (((5, 8), (3, 5)), lambda x, w: cnp.dot(x.T, w.T), True),
])
def test_matrix_cotangents_come_back_in_c_order(shapes, expr, user_transposes):
    """grad of a matrix product gives each operand's cotangent as a fresh C-ordered array of
    its shape (W - lr * g then runs on like-ordered operands): eagerly when the product reads
    the operands themselves (the cotangent of a user's x.T is the transposed view of a C-ordered
    array, as NumPy's x.T is a view), and always under jit, where no transpose is left in the
    gradient program."""
    rng = np.random.default_rng(2)
    x, w = (rng.standard_normal(s) for s in shapes)
    g = cr.grad(lambda x, w: cnp.sum(cnp.tanh(expr(x, w))), argnums=(0, 1))
    eager, jitted = g(x, w), cr.jit(g)(x, w)
    for e, j, a in zip(eager, jitted, (x, w)):
        assert e.shape == a.shape == j.shape
        assert j.flags.c_contiguous
        assert e.flags.c_contiguous or user_transposes
        np.testing.assert_allclose(j, e, rtol=1e-12, atol=1e-14)
    a = x.T if shapes[0][0] == 5 else x
    b = w.T if shapes[1][0] == 3 else w
    d = 1 - np.tanh(a @ b) ** 2
    ga, gb = d @ b.T, a.T @ d            # cotangents of the product's operands a, b
    np.testing.assert_allclose(eager[0], ga if a is x else ga.T, rtol=1e-13)
    np.testing.assert_allclose(eager[1], gb if b is w else gb.T, rtol=1e-13)
    prog = cr.jit(g).lower(x, w)
    assert "transpose" not in [e.prim.name for e in prog.eqns], str(prog)


def test_mlp_step_weights_stay_c_ordered():
    """An SGD step of a two-layer MLP under jit: the new weights are C-ordered like the old
    ones and equal the eager step's."""
    rng = np.random.default_rng(3)
    params = [(rng.standard_normal((6, 5)).astype(np.float32), np.zeros(5, np.float32)),
              (rng.standard_normal((5, 3)).astype(np.float32), np.zeros(3, np.float32))]
    x = rng.standard_normal((4, 6)).astype(np.float32)

    def loss(p):
        h = cnp.tanh(x @ p[0][0] + p[0][1])
        return cnp.mean((h @ p[1][0] + p[1][1]) ** 2)

    def step(p):
        g = cr.grad(loss)(p)
        return [(W - 0.1 * gW, b - 0.1 * gb) for (W, b), (gW, gb) in zip(p, g)]

    new, want = cr.jit(step)(params), step(params)
    for (W, b), (W0, b0) in zip(new, want):
        assert W.flags.c_contiguous and W.dtype == np.float32
        np.testing.assert_allclose(W, W0, rtol=1e-6)
        np.testing.assert_allclose(b, b0, rtol=1e-6)


@pytest.mark.parametrize("xs,ys,dims", DOT_CASES)
def test_dot_lowering_values(xs, ys, dims):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(xs), rng.standard_normal(ys)
    def f(a, b):
        return P.dot_general_p(a, b, dims=dims)
    src = cr.jit(f).source(x, y)
    assert "_dot_general" not in src
    got = cr.jit(f)(x, y)
    np.testing.assert_allclose(got, P.dot_general_p.impl(x, y, dims=dims), rtol=1e-12)
    assert got.shape == S._dot_general(x, y, dims=dims).shape


def test_dot_lowering_uses_blas_on_transposed_views():
    """Every single contraction of matrices (either operand transposed) is one np.dot on the
    operands or their .T views, and a stacked one is one np.matmul: no tensordot."""
    rng = np.random.default_rng(5)
    want = {((2, 3), (3, 4), (((1,), (0,)), ((), ()))): "np.dot(v0, v1)",
            ((3, 2), (3, 4), (((0,), (0,)), ((), ()))): "np.dot(v0.T, v1)",
            ((2, 3), (4, 3), (((1,), (1,)), ((), ()))): "np.dot(v0, v1.T)",
            ((3, 2), (4, 3), (((0,), (1,)), ((), ()))): "np.dot(v0.T, v1.T)",
            ((2, 5, 3), (4, 3), (((2,), (1,)), ((), ()))):
                "np.dot(np.reshape(v0, (10, 3)), v1.T).reshape((2, 5, 4))",
            ((5, 3, 2), (5, 4, 3), (((1,), (2,)), ((0,), (0,)))):
                "np.matmul(np.swapaxes(v0, -1, -2), np.swapaxes(v1, -1, -2))"}
    for (xs, ys, dims), piece in want.items():
        x, y = rng.standard_normal(xs), rng.standard_normal(ys)
        src = cr.jit(lambda a, b, d=dims: P.dot_general_p(a, b, dims=d)).source(x, y)
        assert piece in src and "tensordot" not in src, src


def test_dot_lowering_non_contiguous_operands():
    """Lowered products of sliced (non-contiguous) operands equal NumPy's."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 6, 8)), rng.standard_normal((8, 4))
    f = cr.jit(lambda x, w: cnp.einsum("bij,jk->bik", x[:, ::2], w))
    np.testing.assert_allclose(f(x, w), np.einsum("bij,jk->bik", x[:, ::2], w), rtol=1e-12)


# --- simplify: transposes folded into dot_general ---------------------------------------------


def check_close(pass_fn, prog, golden, seeds=3):
    """The three checks of a pass whose rewrite may change BLAS's summation order: the checker
    accepts the output, values agree to rounding with NaN and infinities in the same places
    (inputs include signed zeros, infinities and NaN), and the printed golden."""
    from test_compiler import special_values
    out = pass_fn(prog)
    check(out)
    assert out.in_avals == prog.in_avals and out.out_avals == prog.out_avals
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        xs = [special_values(a, rng) for a in prog.in_avals]
        xs = [x if seed else np.where(np.isfinite(x), x, 0.5) for x in xs]
        with np.errstate(all="ignore"):
            want, got = eval_program(prog, xs), eval_program(out, xs)
        for w, g in zip(want, got):
            assert w.dtype == g.dtype and w.shape == g.shape
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)
    assert str(out) == textwrap.dedent(golden).strip(), "\n" + str(out)
    return out


def test_simplify_folds_transpose_of_a_product():
    def f(x, y, a, b):
        return (x @ y).T, cnp.transpose(cnp.matmul(a, b), (0, 2, 1))
    check_close(passes.simplify, raw(f, np.ones((2, 3)), np.ones((3, 4)), np.ones((5, 2, 3)),
                                     np.ones((5, 3, 4))), """
        program(a:f64[2,3], b:f64[3,4], c:f64[5,2,3], d:f64[5,3,4]) {
          e:f64[4,2] = dot_general[dims=(((0,), (1,)), ((), ()))] b a
          f:f64[5,4,2] = dot_general[dims=(((1,), (2,)), ((0,), (0,)))] d c
          return (e, f)
        }""")


def test_simplify_keeps_transposes_it_cannot_fold():
    """Not folded: a product also used untransposed (folding would compute it twice), and a
    permutation that mixes one operand's free axes with the batch axis."""
    def f(x, y, a, b):
        p = x @ y
        return p.T, p, cnp.transpose(cnp.matmul(a, b), (1, 0, 2))
    out = check_close(passes.simplify, raw(f, np.ones((2, 3)), np.ones((3, 4)),
                                           np.ones((5, 2, 3)), np.ones((5, 3, 4))), """
        program(a:f64[2,3], b:f64[3,4], c:f64[5,2,3], d:f64[5,3,4]) {
          e:f64[2,4] = dot_general[dims=(((1,), (0,)), ((), ()))] a b
          f:f64[4,2] = transpose[perm=(1, 0)] e
          g:f64[5,2,4] = dot_general[dims=(((2,), (1,)), ((0,), (0,)))] c d
          h:f64[2,5,4] = transpose[perm=(1, 0, 2)] g
          return (f, e, h)
        }""")
    assert len(out.eqns) == 4


def test_simplify_absorbs_transposed_operands():
    """x.T @ y.T reads x and y themselves; so does a product of a transposed stack whose free
    axes stay in order. A transpose that reorders free axes stays."""
    def f(x, y, a, b, c):
        return (x.T @ y.T, cnp.einsum("ikj,jl->ikl", cnp.transpose(a, (0, 2, 1)), b),
                cnp.einsum("kij,jl->kil", cnp.transpose(c, (1, 0, 2)), b))
    check_close(passes.simplify, raw(f, np.ones((3, 2)), np.ones((4, 3)), np.ones((2, 3, 5)),
                                     np.ones((3, 4)), np.ones((2, 5, 3))), """
        program(a:f64[3,2], b:f64[4,3], c:f64[2,3,5], d:f64[3,4], e:f64[2,5,3]) {
          f:f64[2,4] = dot_general[dims=(((0,), (1,)), ((), ()))] a b
          g:f64[2,5,4] = dot_general[dims=(((1,), (0,)), ((), ()))] c d
          h:f64[5,2,3] = transpose[perm=(1, 0, 2)] e
          i:f64[5,2,4] = dot_general[dims=(((2,), (0,)), ((), ()))] h d
          return (f, g, i)
        }""")


# --- dce inside control flow ---------------------------------------------------------------------


def _scan_program():
    w = np.linspace(1.0, 2.0, 3)

    def f(c0, xs):
        def body(carry, x):
            a, b, k = carry
            y1 = a * x                     # used
            y2 = cnp.sin(b) * w            # unused, and the only reader of b and of w
            return (a + x, b * 2.0, k + a), (y1, y2)
        (a, _, _), (y1, _) = lax.scan(body, (c0, c0, c0), xs)
        return a, y1
    return raw(f, np.ones(3), np.ones((4, 3)))


def _eqn(prog, name):
    return next(e for e in prog.eqns if e.prim.name == name)


def test_dce_prunes_scan_outputs_carries_and_consts():
    prog = _scan_program()
    out = check_pass(passes.dce, prog, """
        program(a:f64[3], b:f64[4,3]) {
          c:f64[3] d:f64[4,3] = scan[body_program={program with 2 equations}, length=4, reverse=False, num_consts=0, num_carry=1] a b
          return (c, d)
        }""")
    body = _eqn(out, "scan").params["body_program"]
    check(body)
    assert str(body) == textwrap.dedent("""
        program(a:f64[3], b:f64[3]) {
          c:f64[3] = multiply a b
          d:f64[3] = add a b
          return (d, c)
        }""").strip(), str(body)
    assert str(passes.dce(out)) == str(out)          # idempotent


def test_dce_keeps_carries_that_used_outputs_need():
    def f(c0, xs):
        def body(carry, x):
            a, b = carry
            return (a + x, b * a), b * 1.5      # y reads b, b reads a: both carries live
        _, ys = lax.scan(body, (c0, c0), xs)
        return ys
    prog = raw(f, np.ones(2), np.ones((3, 2)))
    out = check_pass(passes.dce, prog)
    e = _eqn(out, "scan")
    assert e.params["num_carry"] == 2 and len(e.outs) == 3


def test_dce_prunes_cond_outputs_and_operands():
    def f(p, x, y):
        a, _ = lax.cond(p > 0, lambda x, y: (x * 2.0, cnp.cos(y)),
                        lambda x, y: (x - 1.0, cnp.sin(y)), x, y)
        return a
    prog = raw(f, 1.0, np.ones(3), np.ones(3))
    out = check_pass(passes.dce, prog)
    e = _eqn(out, "cond")
    assert len(e.outs) == 1 and len(e.inputs) == 2         # index and x
    for b in e.params["branches"]:
        check(b)
        assert len(b.outs) == 1 and len(b.in_vars) == 1 and len(b.eqns) == 1


def test_dce_prunes_while_carries_the_predicate_does_not_need():
    def f(x, y):
        def body(c):
            i, a, b = c
            return i + 1, a * 1.5, b + cnp.sin(b)     # b: not returned, not in the predicate
        _, a, _ = lax.while_loop(lambda c: c[0] < 5, body, (0, x, y))
        return a
    prog = raw(f, np.ones(2), np.ones(2))
    out = check_pass(passes.dce, prog)
    e = _eqn(out, "while")
    assert len(e.outs) == 2 and len(e.inputs) == 2
    assert len(e.params["body_program"].outs) == 2
    np.testing.assert_array_equal(cr.jit(f)(np.ones(2), np.ones(2)), 1.5 ** 5 * np.ones(2))


def test_dce_keeps_loops_with_effects(capsys):
    """A scan, cond or while whose outputs are unused but whose body prints still runs."""
    def f(x):
        def body(c, t):
            debug.print("step {}", t)
            return c + t, None
        lax.scan(body, 0.0, x)
        lax.cond(x[0] > -1, lambda v: debug.print("cond {}", v[1]) or v, lambda v: v, x)
        lax.while_loop(lambda c: c < 1.0, lambda c: debug.print("while {}", c) or c + 1.0,
                       x[0])
        return x * 2.0
    jf = cr.jit(f)
    np.testing.assert_array_equal(jf(np.arange(3.0)), np.arange(3.0) * 2.0)
    printed = capsys.readouterr().out
    assert "step 0.0" in printed and "step 2.0" in printed, printed
    assert "cond 1.0" in printed and "while 0.0" in printed, printed
    prog = jf.lower(np.arange(3.0))
    names = [e.prim.name for e in prog.eqns]
    assert "scan" in names and "while" in names


def _rnn(T=5, B=3, D=2, H=4):
    rng = np.random.default_rng(9)
    params = (rng.standard_normal((H, H)) / 2, rng.standard_normal((D, H)) / 2,
              rng.standard_normal(H) * 0.1)
    xs, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))

    def loss(p, xs, h0):
        Wh, Wx, b = p
        h, _ = lax.scan(lambda h, x: (cnp.tanh(h @ Wh + x @ Wx + b), None), h0, xs)
        return cnp.sum(h * h)

    def loop_loss(p, xs, h0):
        Wh, Wx, b = p
        h = h0
        for t in range(xs.shape[0]):
            h = cnp.tanh(h @ Wh + xs[t] @ Wx + b)
        return cnp.sum(h * h)
    return loss, loop_loss, params, xs, h0


def test_rnn_gradient_does_not_compute_the_xs_cotangent():
    """jit(grad) of a scan RNN with respect to the weights: the backward scan returns no xs
    cotangent, does not read Wx (only that cotangent needs it), and the forward scan stacks
    no residual the backward scan does not read; the gradient equals the Python loop's."""
    loss, loop_loss, params, xs, h0 = _rnn()
    g = cr.jit(cr.grad(loss))
    prog = g.lower(params, xs, h0)
    fwd, bwd = [e for e in prog.eqns if e.prim.name == "scan"]
    T = xs.shape[0]
    assert [v.aval.shape for v in bwd.outs if v.aval.shape[:1] == (T,)] == []
    wx = prog.in_vars[1]
    assert wx not in bwd.inputs
    body = bwd.params["body_program"]
    n_ys = len(fwd.outs) - fwd.params["num_carry"]
    used = passes.live_vars(body, body.outs)
    assert all(v in used for v in body.in_vars)
    assert n_ys == 2          # 1 - h^2 and the previous carry
    for got, want in zip(g(params, xs, h0), cr.grad(loop_loss)(params, xs, h0)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_rnn_gradient_every_argument():
    """The pruning keeps what is needed when every cotangent is asked for."""
    loss, loop_loss, params, xs, h0 = _rnn()
    g = cr.jit(cr.grad(loss, argnums=(0, 1, 2)))
    want = cr.grad(loop_loss, argnums=(0, 1, 2))(params, xs, h0)
    got = g(params, xs, h0)
    for a, b in zip(cr.tree_util.tree_leaves(got), cr.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_pruned_program_evaluates_like_the_original():
    """The pruned program of jit(grad(rnn)) evaluates (interpreted) to the unpruned one's
    values, bit for bit."""
    loss, _, params, xs, h0 = _rnn()
    prog = raw(cr.grad(loss), params, xs, h0)
    out = passes.dce(prog)
    check(out)
    args = list(params) + [xs, h0]
    for a, b in zip(eval_program(prog, args), eval_program(out, args)):
        np.testing.assert_array_equal(a, b)


def test_scan_stacks_share_one_allocation_without_overlap():
    """The ys of a scan are carved out of one buffer: each has its own shape, dtype and C
    layout, and writing one (or a carry) leaves the others as they were."""
    def body(c, x):
        return c + x, (c * 2.0, (x > 0), (c * 1j).astype(np.complex128), x.astype(np.float32))
    xs = np.random.default_rng(7).standard_normal((5, 3))
    c, ys = lax.scan(body, np.zeros(3), xs)
    c_ref = np.zeros(3)
    want = []
    for x in xs:
        want.append((c_ref * 2.0, x > 0, c_ref * 1j, x.astype(np.float32)))
        c_ref = c_ref + x
    for k, y in enumerate(ys):
        ref = np.stack([w[k] for w in want])
        assert y.dtype == ref.dtype and y.shape == ref.shape and y.flags.c_contiguous
        np.testing.assert_array_equal(y, ref)
    snapshot = [np.array(y) for y in ys]
    for k, y in enumerate(ys):
        y[...] = 0
        for j, other in enumerate(ys):
            if j > k:
                np.testing.assert_array_equal(other, snapshot[j])
    np.testing.assert_array_equal(c, c_ref)
    empty = lax.scan(body, np.zeros(3), xs[:0])[1]
    assert [y.shape for y in empty] == [(0, 3)] * 4


def test_scan_packs_loop_invariant_matrices():
    """Matrix consts that the scan body only multiplies are handed to it C-contiguous, and one
    it only multiplies transposed (dh @ W.T in an RNN's backward pass) is transposed once
    before the loop and read untransposed: the plan names them, the rewritten body passes the
    checker, and the loop's values equal a Python loop's, for C- and F-ordered arguments."""
    from chainrule import lax_control as L
    rng = np.random.default_rng(8)
    W, V, U = (rng.standard_normal(s) for s in ((6, 6), (6, 4), (6, 6)))
    xs = rng.standard_normal((7, 3, 6))

    def f(W, V, U, h0, xs):
        def body(h, x):
            a = cnp.tanh(P.dot_general_p(h, W, dims=(((1,), (1,)), ((), ()))) + x @ U)
            b = a @ V + (V * cnp.sum(a))[:3]   # V: also read elementwise -> not packed
            return a, (b, a.T @ x)
        return lax.scan(body, h0, xs)

    h0 = rng.standard_normal((3, 6))
    prog = cr.make_program(f)(W, V, U, h0, xs)
    e = _eqn(prog, "scan")
    body, nc = e.params["body_program"], e.params["num_consts"]
    packed, new = L._packing(body, nc)
    assert [(e.inputs[i], flip) for i, flip in packed] == [(prog.in_vars[0], True),
                                                            (prog.in_vars[2], False)], packed
    check(new)
    assert [v.aval.shape for v in new.in_vars] == [v.aval.shape for v in body.in_vars]
    w_new = new.in_vars[packed[0][0]]
    assert [q.params["dims"] for q in new.eqns if w_new in q.inputs] == [
        (((1,), (0,)), ((), ()))]
    h, ref = h0, ([], [])
    for x in xs:
        a = np.tanh(h @ W.T + x @ U)
        ref[0].append(a @ V + (V * a.sum())[:3])
        ref[1].append(a.T @ x)
        h = a
    for args in ((W, V, U), (np.asfortranarray(W), V, U.T.copy().T), (W.T.copy().T, V, U)):
        for got in (f(*args, h0, xs), cr.jit(f)(*args, h0, xs)):
            np.testing.assert_allclose(got[0], h, rtol=1e-13)
            for y, r in zip(got[1], ref):
                np.testing.assert_allclose(y, np.stack(r), rtol=1e-13, atol=1e-15)


def _rnn_scan(reverse=False):
    rng = np.random.default_rng(11)
    Wh, Wx, b = rng.standard_normal((5, 5)) / 3, rng.standard_normal((3, 5)), rng.standard_normal(5)
    xs, zs = rng.standard_normal((12, 2, 3)), rng.standard_normal((12, 2, 5))

    def f(Wh, Wx, b, h0, xs, zs):
        def cell(h, xz):
            x, z = xz
            u = x @ Wx + b                      # xs and consts only: computed for every step
            h = cnp.tanh(h @ Wh + u) * z        # at once, before the loop
            return h, (u, h)
        return lax.scan(cell, h0, (xs, zs), reverse=reverse)

    def loop(Wh, Wx, b, h0, xs, zs):
        h, us, hs = h0, [None] * len(xs), [None] * len(xs)
        for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
            us[t] = xs[t] @ Wx + b
            h = np.tanh(h @ Wh + us[t]) * zs[t]
            hs[t] = h
        return h, (np.stack(us), np.stack(hs))
    return f, loop, (Wh, Wx, b, rng.standard_normal((2, 5)), xs, zs)


def test_scan_hoists_per_step_input_work():
    """x_t @ W_x + b reads only xs and consts: the plan computes it for all steps before the
    loop (one product), the loop body reads its per-step slice, and the y that is exactly
    that value is stacked from the loop's input. Short loops keep the body as it is."""
    from chainrule import lax_control as L
    f, _, args = _rnn_scan()
    prog = cr.make_program(f)(*args)
    e = _eqn(prog, "scan")
    p = e.params
    pre, kept, _, body, through, computed = L._scan_plan(
        p["body_program"], p["num_consts"], p["num_carry"], p["length"])
    check(pre)
    check(body)
    assert str(pre) == textwrap.dedent("""
        program(a:f64[3,5], b:f64[5], c:f64[5,5], d:f64[12,2,3], e:f64[12,2,5]) {
          f:f64[12,2,5] = dot_general[dims=(((2,), (0,)), ((), ()))] d a
          g:f64[12,2,5] = add f b
          return (g,)
        }""").strip(), str(pre)
    assert kept == [1]                                     # zs: still read by the loop
    assert [q.prim.name for q in body.eqns] == ["dot_general", "fused"]
    assert through == [(0, 5)] and computed == [1]         # u comes in as the last input
    for short in (1, 8):       # short loops run as they are (batching costs a trace)
        assert L._scan_plan(p["body_program"], p["num_consts"], p["num_carry"], short)[0] is None


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_hoisting_values_and_gradients(reverse):
    f, loop, args = _rnn_scan(reverse)
    want = loop(*args)
    for got in (f(*args), cr.jit(f)(*args)):
        for a, b in zip(cr.tree_util.tree_leaves(got), cr.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)

    def loss(f):
        return lambda *a: cnp.sum(f(*a)[0] ** 2) + cnp.sum(f(*a)[1][0])

    def loop_cnp(Wh, Wx, b, h0, xs, zs):
        h, s = h0, 0.0
        for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
            u = xs[t] @ Wx + b
            s = s + cnp.sum(u)
            h = cnp.tanh(h @ Wh + u) * zs[t]
        return cnp.sum(h ** 2) + s

    g_want = cr.grad(loop_cnp, argnums=(0, 1, 2, 3, 4))(*args)
    for g in (cr.grad(loss(f), argnums=(0, 1, 2, 3, 4)),
              cr.jit(cr.grad(loss(f), argnums=(0, 1, 2, 3, 4)))):
        for a, b in zip(g(*args), g_want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_scan_hoisting_only_when_it_pays():
    """Nothing moves without a contraction among the per-step input work, nor when the
    stacked results would be much larger than the body's inputs, nor past an effect."""
    from chainrule import lax_control as L

    def plan(f, *args):
        e = _eqn(cr.make_program(f)(*args), "scan")
        p = e.params
        return L._scan_plan(p["body_program"], p["num_consts"], p["num_carry"], p["length"])

    xs = np.ones((10, 3))
    assert plan(lambda c, xs: lax.scan(lambda c, x: (c + cnp.sin(x) * 2.0, None), c, xs),
                np.zeros(3), xs)[0] is None
    def big(c, xs):
        return lax.scan(lambda c, x: (c + cnp.sum(cnp.outer(x, x) @ np.ones((3, 40))), None),
                        c, xs)
    assert plan(big, 0.0, xs)[0] is None
    W = np.ones((3, 3))

    def printing(c, xs):
        def body(c, x):
            debug.print("{}", x @ W)
            return c + x @ W, None
        return lax.scan(body, c, xs)
    pre = plan(printing, np.zeros(3), xs)[0]
    assert pre is not None and [q.prim.name for q in pre.eqns] == ["dot_general"]
    np.testing.assert_allclose(cr.jit(printing)(np.zeros(3), xs)[0], 10 * (np.ones(3) @ W))


def test_simplify_keeps_transposes_that_move_batch_axes():
    """A transposed operand whose batch axis moves stays a transpose (the stacked product of
    its view runs on matmul's BLAS path; renumbered, it would need a copy)."""
    def f(a, b):
        return cnp.einsum("bij,bjk->bik", cnp.transpose(a, (1, 0, 2)), b)
    out = passes.simplify(raw(f, np.ones((3, 2, 4)), np.ones((2, 4, 5))))
    assert [e.prim.name for e in out.eqns] == ["transpose", "dot_general"], str(out)


def test_products_are_new_arrays_for_buffer_reuse():
    """A product's result is a new array: the elementwise operation that reads it last writes
    into it (no fresh allocation for x @ W + b, nor for W - lr * g), but never while the
    product is still needed, and never into an argument."""
    rng = np.random.default_rng(12)
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    f = cr.jit(lambda x, W, b: cnp.tanh(x @ W + b))
    src = f.source(x, W, b)
    assert "np.add(v3, v2, out=v3)" in src, src
    np.testing.assert_allclose(f(x, W, b), np.tanh(x @ W + b), rtol=1e-15)

    def g(x, W):
        p = x @ W
        return p, p + 1.0, W - 0.1 * (x.T @ p)
    x0, W0 = x.copy(), W.copy()
    got = cr.jit(g)(x, W)
    p = x0 @ W0
    for a, w in zip(got, (p, p + 1.0, W0 - 0.1 * (x0.T @ p))):
        np.testing.assert_allclose(a, w, rtol=1e-14)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(W, W0)
    assert not np.shares_memory(got[0], got[1])
