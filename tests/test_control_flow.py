"""Control flow (chainrule.lax): cond, switch, while_loop, fori_loop, scan, map, select.

Values against Python equivalents, staging under jit (one equation each, generated code),
derivatives (check_grads, Python-loop references), vmap against Python loops, the field cases
(tanh RNN by scan, Newton's method by while_loop), and JAX-like errors.
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax
from chainrule.test_util import check_grads

RNG = np.random.default_rng(0)


def close(a, b, tol=1e-10):
    """Same pytree structure and values (a list of numbers in b stands for an array)."""
    if isinstance(b, list) and all(isinstance(v, (int, float, np.number)) for v in b):
        b = np.array(b)
    la, lb = cr.tree_util.tree_leaves(a), cr.tree_util.tree_leaves(b)
    assert len(la) == len(lb), f"{len(la)} leaves vs {len(lb)}"
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def eqn_names(f, *args):
    return [e.prim.name for e in cr.make_program(f)(*args).eqns]


# --- eager values ------------------------------------------------------------------------------


def test_cond_values_and_pytrees():
    x = np.array([1.0, -2.0, 3.0])
    out = lax.cond(True, lambda v: v * 2.0, lambda v: -v, x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    close(out, x * 2.0)
    close(lax.cond(np.array(False), lambda v: v * 2.0, lambda v: -v, x), -x)
    close(lax.cond(3, lambda v: v + 1.0, lambda v: v, 1.0), 2.0)     # integer pred: nonzero
    tree = {"a": x, "b": (np.int64(2), 1.5)}
    out = lax.cond(False, lambda t: {"s": t["a"] * t["b"][1], "i": t["b"][0] + 1},
                   lambda t: {"s": t["a"] - 1.0, "i": t["b"][0] * 3}, tree)
    close(out["s"], x - 1.0)
    assert int(out["i"]) == 6 and out["i"].dtype == np.int64
    close(lax.cond(True, lambda: np.float64(4.0), lambda: np.float64(5.0)), 4.0)  # no operands


def test_cond_runs_only_taken_branch():
    calls = []

    def t(v):
        calls.append("t")
        return v

    lax.cond(True, t, lambda v: v, 1.0)
    assert calls == ["t"]  # staged once, never run by Python again
    p = cr.make_program(lambda v: lax.cond(v > 0, lambda u: u * 2.0,
                                           lambda u: u / 0.0, v))(1.0)
    with np.errstate(divide="raise"):   # the untaken branch would raise
        assert float(cr.jit(lambda v: lax.cond(v > 0, lambda u: u * 2.0,
                                               lambda u: u / 0.0, v))(1.0)) == 2.0
    assert [e.prim.name for e in p.eqns].count("cond") == 1


def test_switch_values_and_clamping():
    br = [lambda v: v, lambda v: v + 1.0, lambda v: v * 10.0]
    for i, want in [(0, 3.0), (1, 4.0), (2, 30.0), (7, 30.0), (-3, 3.0)]:
        close(lax.switch(i, br, 3.0), want)
        close(cr.jit(lambda i, v: lax.switch(i, br, v))(i, 3.0), want)
    close(lax.switch(0, [lambda a, b: a * b], 2.0, 3.0), 6.0)


def test_while_loop_values():
    assert int(lax.while_loop(lambda v: v < 10, lambda v: v * 2, 1)) == 16
    x = RNG.standard_normal(4)

    def py(x):
        i, s = 0, x
        while i < 5:
            i, s = i + 1, np.sin(s) + 0.5 * s
        return i, s

    i, s = lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, cnp.sin(c[1]) + 0.5 * c[1]),
                          (0, x))
    close((i, s), py(x))
    assert int(lax.while_loop(lambda v: v < 0, lambda v: v + 1, 5)) == 5  # zero iterations


def test_fori_loop_values():
    close(lax.fori_loop(0, 5, lambda i, v: v + i, 0.0), 10.0)
    close(lax.fori_loop(3, 1, lambda i, v: v + i, 0.5), 0.5)        # empty range
    close(lax.fori_loop(2, 6, lambda i, v: v * (i + 1.0), np.ones(2)), np.full(2, 3 * 4 * 5 * 6.))
    # static bounds -> scan; traced bounds under jit -> while
    assert "scan" in eqn_names(lambda v: lax.fori_loop(0, 3, lambda i, u: u * 2.0, v), 1.0)
    f = cr.jit(lambda n, v: lax.fori_loop(0, n, lambda i, u: u * 2.0, v))
    close(f(4, 1.0), 16.0)
    assert "while" in eqn_names(lambda n, v: lax.fori_loop(0, n, lambda i, u: u * 2.0, v), 4, 1.)


def _py_scan(f, init, xs, length=None, reverse=False):
    n = length if xs is None else len(cr.tree_util.tree_leaves(xs)[0])
    carry, ys = init, [None] * n
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        x = None if xs is None else cr.tree_util.tree_map(lambda a: a[i], xs)
        carry, ys[i] = f(carry, x)
    if ys and ys[0] is None:
        return carry, None
    return carry, cr.tree_util.tree_map(lambda *a: np.stack(a), *ys) if n else None


def test_scan_values():
    xs = RNG.standard_normal((5, 3))

    def f(c, x):
        return c * 0.5 + cnp.sin(x), (c.sum(), x * 2.0)

    c, ys = lax.scan(f, np.ones(3), xs)
    c2, ys2 = _py_scan(f, np.ones(3), xs)
    close(c, c2)
    close(ys, ys2)
    assert ys[0].shape == (5,) and ys[1].shape == (5, 3)
    # pytree carry and xs
    tree_xs = {"a": xs, "b": np.arange(5)}

    def g(c, x):
        return {"s": c["s"] + x["a"] * x["b"], "n": c["n"] + 1}, x["b"] * 2

    out = lax.scan(g, {"s": np.zeros(3), "n": 0}, tree_xs)
    close(out, _py_scan(g, {"s": np.zeros(3), "n": 0}, tree_xs))
    # ys None
    c, ys = lax.scan(lambda c, x: (c + x, None), 0.0, np.arange(4.0))
    assert ys is None and float(c) == 6.0


def test_scan_reverse_and_length_only():
    xs = RNG.standard_normal((4, 2))

    def f(c, x):
        return cnp.tanh(c + x), c * x

    close(lax.scan(f, np.ones(2), xs, reverse=True),
          _py_scan(f, np.ones(2), xs, reverse=True))

    def h(c, _):
        return c * 1.5 + 1.0, c

    close(lax.scan(h, 1.0, None, length=4), _py_scan(h, 1.0, None, length=4))
    c, ys = lax.scan(h, 1.0, length=0)
    assert float(c) == 1.0 and ys.shape == (0,)
    close(lax.scan(h, 1.0, None, length=3, reverse=True),
          _py_scan(h, 1.0, None, length=3, reverse=True))


def test_map_and_select():
    xs = RNG.standard_normal((4, 3))
    close(lax.map(lambda x: (x.sum(), x * 2.0), xs), (xs.sum(1), xs * 2.0))
    p = np.array([True, False, True])
    close(lax.select(p, np.ones(3), np.zeros(3)), [1.0, 0.0, 1.0])
    close(lax.select(np.bool_(False), np.ones(3), np.zeros(3)), np.zeros(3))
    close(cr.grad(lambda a: lax.select(p, a, a * 3.0).sum())(np.ones(3)), [1.0, 3.0, 1.0])


# --- jit ---------------------------------------------------------------------------------------


def test_one_equation_each_under_jit():
    x = RNG.standard_normal(3)
    assert eqn_names(lambda x: lax.cond(x[0] > 0, lambda v: v * 2.0, cnp.sin, x), x)[-1] == "cond"
    assert eqn_names(lambda x: lax.switch(1, [cnp.sin, cnp.cos], x), x).count("cond") == 1
    assert eqn_names(lambda x: lax.while_loop(lambda v: v.sum() < 10, lambda v: v * 2, x),
                     x) == ["while"]
    assert eqn_names(lambda x: lax.scan(lambda c, a: (c + a, c), 0.0, x), x) == ["scan"]


def test_jit_matches_eager_and_generates_code():
    x = RNG.standard_normal(3)

    def f(x):
        def step(c, xi):
            c = lax.cond(xi > 0, lambda c: c * xi, cnp.sin, c)
            c = lax.while_loop(lambda s: s[0] < 2, lambda s: (s[0] + 1, s[1] * 0.9 + 0.1),
                               (0, c))[1]
            return c, c ** 2
        return lax.scan(step, x.sum(), x)

    jf = cr.jit(f)
    close(jf(x), f(x))
    close(jf(-x), f(-x))                # cached compiled code, other branch
    src = jf.source(x)
    assert "# scan: 3 steps, body inlined" in src and "for " in src
    close(cr.jit(lambda p, v: lax.cond(p, lambda u: u + 1.0, lambda u: u - 1.0, v))(False, x),
          x - 1.0)


# --- derivatives ---------------------------------------------------------------------------------


def test_cond_grads():
    x, w = RNG.standard_normal(3), RNG.standard_normal(3)

    def f(x, w):
        return lax.cond(x[0] > 0, lambda a, b: cnp.sin(a * b), lambda a, b: a ** 3 + b, x, w)

    check_grads(f, (np.abs(x), w), order=2)
    check_grads(f, (-np.abs(x), w), order=2)
    g = lambda i, x: lax.switch(i, [cnp.sin, lambda v: v ** 2, cnp.exp], x)  # noqa: E731
    for i in range(3):
        check_grads(lambda x: g(i, x), (x,), order=2)
        close(cr.grad(lambda x: g(i, x).sum())(x), [np.cos(x), 2 * x, np.exp(x)][i])


def test_cond_rules_with_traced_index():
    # under jit the index is abstract, so the JVP and reverse rules build derived programs
    br = [lambda v: cnp.sum(cnp.sin(v) * v), lambda v: cnp.sum(v ** 3),
          lambda v: cnp.prod(cnp.exp(v))]

    def f(x):
        return lax.switch(cnp.sum(x > 0), br, x)

    x = RNG.standard_normal(3)
    for v in [-np.abs(x), np.array([0.3, -0.5, -0.1]), np.abs(x)]:   # 0, 1, 3 positives
        py = br[min(int(np.sum(v > 0)), 2)]
        close(cr.jit(cr.hessian(f))(v), cr.hessian(py)(v), tol=1e-9)
        close(cr.grad(cr.jit(f))(v), cr.grad(py)(v))
        close(cr.jit(lambda v: cr.jvp(f, (v,), (np.ones(3),)))(v),
              cr.jvp(py, (v,), (np.ones(3),)))


def test_cond_closures_over_outer_values():
    x, w = RNG.standard_normal(3), 0.7

    def f(w, x):
        s = w * 2.0                                   # a traced outer value, closed over
        return lax.cond(x.sum() > -100, lambda v: cnp.sum(cnp.sin(v * s)),
                        lambda v: cnp.sum(v) * w, x)

    def py(w, x):
        return cnp.sum(cnp.sin(x * (w * 2.0)))

    close(f(w, x), py(w, x))
    close(cr.grad(f, argnums=(0, 1))(w, x), cr.grad(py, argnums=(0, 1))(w, x))
    close(cr.grad(cr.grad(f))(w, x), cr.grad(cr.grad(py))(w, x))
    close(cr.jit(cr.grad(f))(w, x), cr.grad(py)(w, x))
    close(cr.jvp(lambda w: f(w, x), (w,), (1.0,)), cr.jvp(lambda w: py(w, x), (w,), (1.0,)))
    check_grads(f, (w, x), order=2)


def test_scan_grads():
    x, w = RNG.standard_normal(4), RNG.standard_normal(3)

    def f(x, w, reverse=False):
        return lax.scan(lambda c, xi: (cnp.tanh(c * xi + w), (c * xi).sum()), w, x,
                        reverse=reverse)

    check_grads(f, (x, w), order=2)
    check_grads(lambda x, w: f(x, w, True), (x, w), order=2)
    check_grads(lambda w: lax.scan(lambda c, _: (cnp.sin(c) * w, c), w, length=3), (w,),
                order=2)

    def py(x, w):
        c, tot = w, 0.0
        for xi in x:
            c2 = cnp.tanh(c * xi + w)
            tot = tot + (c * xi).sum()
            c = c2
        return c.sum() + tot

    loss = lambda x, w: f(x, w)[0].sum() + f(x, w)[1].sum()  # noqa: E731
    close(cr.grad(loss, argnums=(0, 1))(x, w), cr.grad(py, argnums=(0, 1))(x, w))


def test_fori_loop_grads():
    x = RNG.standard_normal(3)
    f = lambda x: lax.fori_loop(0, 4, lambda i, v: cnp.sin(v) * (i + 1.0), x)  # noqa: E731

    def py(x):
        for i in range(4):
            x = cnp.sin(x) * (i + 1.0)
        return x

    check_grads(f, (x,), order=2)
    close(cr.grad(lambda x: f(x).sum())(x), cr.grad(lambda x: py(x).sum())(x))
    close(cr.jit(cr.grad(lambda x: f(x).sum()))(x), cr.grad(lambda x: py(x).sum())(x))


def test_while_loop_grads():
    x = RNG.standard_normal(3)

    def f(x):
        return lax.while_loop(lambda c: c[0] < 4,
                              lambda c: (c[0] + 1, cnp.sin(c[1]) * 1.5), (0, x))[1]

    def py(x):
        for _ in range(4):
            x = cnp.sin(x) * 1.5
        return x

    check_grads(f, (x,), order=2)
    close(cr.grad(lambda x: f(x).sum())(x), cr.grad(lambda x: py(x).sum())(x))
    # a data-dependent trip count, closing over a traced value
    def g(a, x):
        return lax.while_loop(lambda v: cnp.sum(v * v) < 100.0, lambda v: v * a, x)

    def g_py(a, x):
        while cnp.sum(x * x) < 100.0:      # concrete under grad: Python control flow
            x = x * a
        return x

    a, x0 = 1.3, np.array([0.5, -0.2])
    close(g(a, x0), g_py(a, x0))
    close(cr.grad(lambda a, x: g(a, x).sum(), argnums=(0, 1))(a, x0),
          cr.grad(lambda a, x: g_py(a, x).sum(), argnums=(0, 1))(a, x0))
    check_grads(g, (a, x0), order=1)


# --- the field cases -----------------------------------------------------------------------------


def test_field_d_tanh_rnn_scan():
    rng = np.random.default_rng(42)
    H, I, T = 8, 3, 10
    params = {"Wh": rng.standard_normal((H, H)) * 0.3, "Wx": rng.standard_normal((H, I)),
              "b": rng.standard_normal(H), "h0": rng.standard_normal(H)}
    xs = rng.standard_normal((T, I))

    def cell(p, h, x):
        return cnp.tanh(p["Wh"] @ h + p["Wx"] @ x + p["b"])

    def loss_scan(p, xs):
        def step(h, x):
            h = cell(p, h, x)
            return h, h
        h, hs = lax.scan(step, p["h0"], xs)
        return cnp.sum(hs ** 2) + cnp.sum(h)

    def loss_loop(p, xs):
        h, tot = p["h0"], 0.0
        for t in range(T):
            h = cell(p, h, xs[t])
            tot = tot + cnp.sum(h ** 2)
        return tot + cnp.sum(h)

    close(loss_scan(params, xs), loss_loop(params, xs))
    g_scan, g_loop = cr.grad(loss_scan)(params, xs), cr.grad(loss_loop)(params, xs)
    assert set(g_scan) == set(params)
    close(g_scan, g_loop, tol=1e-12)
    close(cr.jit(cr.grad(loss_scan))(params, xs), g_loop, tol=1e-12)
    close(cr.grad(cr.jit(loss_scan))(params, xs), g_loop, tol=1e-12)


def _newton_sqrt(a):
    return lax.while_loop(lambda x: cnp.abs(x * x - a) >= 1e-12,
                          lambda x: 0.5 * (x + a / x), a)


def test_field_e_newton_sqrt_while_loop():
    for a in [2.0, 9.0, 0.5, 123.0]:
        want = 1.0 / (2.0 * np.sqrt(a))
        close(_newton_sqrt(a), np.sqrt(a), tol=1e-12)
        close(cr.grad(_newton_sqrt)(a), want, tol=1e-9)
        y, t = cr.jvp(_newton_sqrt, (a,), (1.0,))
        close(y, np.sqrt(a), tol=1e-12)
        close(t, want, tol=1e-9)
    close(cr.grad(cr.grad(_newton_sqrt))(2.0), -0.25 * 2.0 ** -1.5, tol=1e-8)
    close(cr.jvp(cr.grad(_newton_sqrt), (2.0,), (1.0,))[1], -0.25 * 2.0 ** -1.5, tol=1e-8)


def test_while_reverse_under_jit_and_vmap():
    # a traced trip count: the backward recomputes carries (see lax_control's docstring)
    A = np.array([2.0, 9.0, 100.0])
    want = 1.0 / (2.0 * np.sqrt(A))
    close(cr.jit(cr.grad(_newton_sqrt))(2.0), want[0], tol=1e-9)
    close(cr.vmap(cr.grad(_newton_sqrt))(A), want, tol=1e-9)
    close(cr.grad(lambda a: cr.vmap(_newton_sqrt)(a).sum())(A), want, tol=1e-9)
    close(cr.jit(cr.grad(lambda x, n: lax.fori_loop(0, n, lambda i, v: v * x, 1.0)))(1.5, 4),
          4 * 1.5 ** 3)


def test_scan_transform_compositions():
    xs, w = RNG.standard_normal((5, 3)), RNG.standard_normal(3)

    def loss(w, xs):
        c, ys = lax.scan(lambda c, x: (cnp.sin(c * x + w), (c * w).sum()), w, xs)
        return c.sum() + ys.sum()

    def loss_py(w, xs):
        c, tot = w, 0.0
        for x in xs:
            c, y = cnp.sin(c * x + w), (c * w).sum()
            tot = tot + y
        return c.sum() + tot

    want = cr.grad(loss_py)(w, xs)
    close(cr.grad(loss)(w, xs), want)
    close(cr.jit(cr.grad(loss))(w, xs), want)
    close(cr.grad(cr.jit(loss))(w, xs), want)
    W = RNG.standard_normal((4, 3))
    close(cr.vmap(cr.grad(loss), in_axes=(0, None))(W, xs),
          np.stack([cr.grad(loss_py)(wi, xs) for wi in W]))
    close(cr.hessian(loss)(w, xs), cr.hessian(loss_py)(w, xs), tol=1e-9)


# --- vmap ----------------------------------------------------------------------------------------


def test_vmap_cond():
    xs = RNG.standard_normal((6, 3))
    f = lambda x: lax.cond(x[0] > 0, lambda v: v * 2.0, lambda v: cnp.sin(v), x)  # noqa: E731
    close(cr.vmap(f)(xs), np.stack([f(x) for x in xs]))        # batched predicate
    g = lambda p, x: lax.cond(p, lambda v: v + 1.0, lambda v: v - 1.0, x)  # noqa: E731
    close(cr.vmap(g, in_axes=(None, 0))(True, xs), xs + 1.0)     # unbatched predicate
    idx = np.array([0, 1, 2, 7, -1, 1])
    br = [lambda v: v, lambda v: v * 2.0, lambda v: v * 3.0]
    close(cr.vmap(lambda i, x: lax.switch(i, br, x))(idx, xs),
          np.stack([lax.switch(i, br, x) for i, x in zip(idx, xs)]))
    close(cr.vmap(cr.grad(lambda x: f(x).sum()))(xs),
          np.stack([cr.grad(lambda x: f(x).sum())(x) for x in xs]))


def test_vmap_while_lanes_finish_at_different_times():
    starts = np.array([1.0, 3.0, 0.1, 50.0, 200.0])

    def f(x):
        return lax.while_loop(lambda c: c[1] < 100.0, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))

    n, v = cr.vmap(f)(starts)
    ref = [f(s) for s in starts]
    close(n, np.stack([r[0] for r in ref]))
    close(v, np.stack([r[1] for r in ref]))
    assert len(set(np.asarray(n).tolist())) > 2
    close(cr.vmap(_newton_sqrt)(np.array([2.0, 9.0, 1e4])), np.sqrt([2.0, 9.0, 1e4]), 1e-12)
    close(cr.jit(cr.vmap(f))(starts)[0], n)


def test_vmap_scan_and_fori():
    xs = RNG.standard_normal((4, 5, 3))    # batch 4, length 5
    inits = RNG.standard_normal((4, 3))

    def f(c, xs):
        return lax.scan(lambda c, x: (c * 0.5 + x, (c * x).sum()), c, xs)

    out = cr.vmap(f)(inits, xs)
    ref = [f(c, x) for c, x in zip(inits, xs)]
    close(out[0], np.stack([r[0] for r in ref]))
    close(out[1], np.stack([r[1] for r in ref]))
    close(cr.vmap(f, in_axes=(None, 1))(inits[0], xs),               # xs batched along axis 1
          (np.stack([f(inits[0], xs[:, j])[0] for j in range(5)]),
           np.stack([f(inits[0], xs[:, j])[1] for j in range(5)])))
    w = RNG.standard_normal(4)
    g = lambda w: lax.fori_loop(0, 3, lambda i, v: v * w + i, 1.0)  # noqa: E731
    close(cr.vmap(g)(w), np.array([g(wi) for wi in w]))


# --- errors --------------------------------------------------------------------------------------


def test_cond_errors():
    with pytest.raises(TypeError, match=r"identical types.*f32\[3\].*f64\[3\]|"
                                        r"identical types.*f64\[3\].*f32\[3\]"):
        lax.cond(True, lambda v: v.astype(np.float32), lambda v: v, np.ones(3))
    with pytest.raises(TypeError, match=r"\['b'\].*shapes differ"):
        lax.cond(True, lambda v: {"a": v, "b": v}, lambda v: {"a": v, "b": v[:2]}, np.ones(3))
    with pytest.raises(TypeError, match="same pytree structure"):
        lax.cond(True, lambda v: (v, v), lambda v: v, np.ones(3))
    with pytest.raises(TypeError, match="scalar"):
        lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="boolean"):
        lax.cond(1.0, lambda: 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="empty"):
        lax.switch(0, [], 1.0)
    with pytest.raises(TypeError, match="integer"):
        lax.switch(0.5, [lambda: 1.0, lambda: 2.0])


def test_loop_errors():
    with pytest.raises(TypeError, match=r"carry.*f64\[\].*i64\[\]|carry.*i64\[\].*f64\[\]"):
        lax.scan(lambda c, x: (c.astype(np.int64), x), 0.0, np.ones(3))
    with pytest.raises(TypeError, match="same pytree structure"):
        lax.scan(lambda c, x: ((c, c), x), 0.0, np.ones(3))
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c, 0.0, np.ones(3))
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, x), 0.0, np.ones(3), length=4)
    with pytest.raises(ValueError, match="different leading axis sizes"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, x), 0.0)
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda v: v, lambda v: v, 1.0)
    with pytest.raises(TypeError, match=r"carry.*shapes differ"):
        lax.while_loop(lambda v: v.sum() < 1, lambda v: v[:1], np.ones(2))
    with pytest.raises(TypeError, match="integer"):
        lax.fori_loop(0.0, 3, lambda i, v: v, 1.0)
    with pytest.raises(TypeError, match="same shape and dtype"):
        lax.select(np.array(True), np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="boolean"):
        lax.select(np.ones(2), np.ones(2), np.ones(2))
