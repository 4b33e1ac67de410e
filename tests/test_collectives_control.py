"""Named-axis collectives (psum, pmean, pmax, pmin, all_gather, axis_index) in the places a
vmap does not see them on its own tracers: on values closed over from outside the vmap (under
jit, grad, jvp), and inside control-flow bodies (scan, fori_loop, while_loop, map, cond) on
their operands. Every expectation is an explicit formula or a Python loop over the examples;
some are also checked against JAX when it is installed."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax
from chainrule.test_util import check_grads

B = np.arange(12.0).reshape(3, 4)
A = np.array([0.5, -1.0, 2.0])


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


# the value of each collective on an example-independent value v over an axis of size n
UNBATCHED = {
    "psum": lambda v, n: n * v,
    "pmean": lambda v, n: v,
    "pmax": lambda v, n: v,
    "pmin": lambda v, n: v,
    "all_gather": lambda v, n: np.broadcast_to(v, (n,) + np.shape(v)),
}
# ... and on a batch xs (examples along axis 0), as every example sees it
BATCHED = {
    "psum": lambda xs: xs.sum(0),
    "pmean": lambda xs: xs.mean(0),
    "pmax": lambda xs: xs.max(0),
    "pmin": lambda xs: xs.min(0),
    "all_gather": lambda xs: xs,
}
COLL = {"psum": cr.psum, "pmean": cr.pmean, "pmax": lax.pmax, "pmin": lax.pmin,
        "all_gather": lax.all_gather}


# ---------------------------------------------------------------------------------------------
# collectives of values the vmap does not batch, under an enclosing jit / grad / jvp


@pytest.mark.parametrize("name", sorted(COLL))
def test_jit_of_vmap_collective_of_closure(name):
    coll = COLL[name]
    c = np.array([2.0, -3.0])
    f = lambda c: cr.vmap(lambda a: a + coll(c, "i"), axis_name="i")(np.ones(3))
    u = UNBATCHED[name](c, 3)
    want = 1.0 + np.broadcast_to(u, (3,) + u.shape)
    np.testing.assert_allclose(f(c), want)
    np.testing.assert_allclose(cr.jit(f)(c), want)
    # the compiled program holds no collective: it runs with no vmap around it
    assert "psum" not in str(cr.jit(f).lower(c)) and "all_gather" not in str(
        cr.jit(f).lower(c))


def test_jit_of_vmap_psum_tester_example():
    f = lambda c: cr.vmap(lambda a: a + cr.psum(c, "i"), axis_name="i")(np.ones(3))
    np.testing.assert_allclose(cr.jit(f)(2.0), np.full(3, 7.0))


def test_jit_of_vmap_of_grad_through_psum():
    # per example a_k: d/da_k psum(a)**2 = psum(2 * S) = 3 * 2 * S (JAX's transpose of psum)
    x = np.array([0.0, 4.0, 8.0])
    f = cr.vmap(cr.grad(lambda a: cr.psum(a, "i") ** 2), axis_name="i")
    want = np.full(3, 3 * 2 * x.sum())
    np.testing.assert_allclose(f(x), want)
    np.testing.assert_allclose(cr.jit(f)(x), want)
    jax = _jax()
    g = jax.vmap(jax.grad(lambda a: jax.lax.psum(a, "i") ** 2), axis_name="i")
    np.testing.assert_allclose(np.asarray(jax.jit(g)(x)), want)


def test_jit_of_vmap_of_pmean_grad():
    x = np.array([1.0, 2.0, 6.0])
    f = cr.vmap(cr.grad(lambda a: cr.pmean(a, "i") ** 2), axis_name="i")
    jax = _jax()
    g = jax.vmap(jax.grad(lambda a: jax.lax.pmean(a, "i") ** 2), axis_name="i")
    np.testing.assert_allclose(cr.jit(f)(x), np.asarray(g(x)))
    np.testing.assert_allclose(f(x), np.asarray(g(x)))


@pytest.mark.parametrize("name", ["psum", "pmean", "pmax", "pmin"])
def test_grad_of_vmap_collective_of_closure(name):
    coll = COLL[name]
    n = 3
    a = np.array([1.0, 2.0, -1.0])
    scale = {"psum": n}.get(name, 1)

    def f(c):
        return cnp.sum(cr.vmap(lambda x: x * coll(c, "i"), axis_name="i")(a))

    np.testing.assert_allclose(f(1.5), a.sum() * scale * 1.5)
    np.testing.assert_allclose(cr.grad(f)(1.5), a.sum() * scale)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(1.5), a.sum() * scale)
    np.testing.assert_allclose(cr.grad(cr.jit(f))(1.5), a.sum() * scale)
    np.testing.assert_allclose(cr.jvp(f, (1.5,), (1.0,))[1], a.sum() * scale)
    np.testing.assert_allclose(cr.jit(lambda c: cr.jvp(f, (c,), (1.0,))[1])(1.5),
                               a.sum() * scale)
    check_grads(f, (1.5,), order=2)


def test_grad_of_vmap_all_gather_of_closure():
    a = np.arange(3.0)

    def f(c):
        g = cr.vmap(lambda x: x * lax.all_gather(c, "i"), axis_name="i")(a)   # (3, 3, 2)
        return cnp.sum(g * np.arange(2.0))

    c = np.array([0.5, 2.0])
    want = (a[:, None, None] * np.broadcast_to(c, (3, 3, 2)) * np.arange(2.0)).sum()
    np.testing.assert_allclose(f(c), want)
    np.testing.assert_allclose(cr.grad(f)(c), 3 * a.sum() * np.arange(2.0))
    np.testing.assert_allclose(cr.jit(cr.grad(f))(c), 3 * a.sum() * np.arange(2.0))
    check_grads(f, (c,), order=2)


def test_jit_of_vmap_grad_of_unbatched_psum():
    # inside the vmap, grad of psum of an unbatched value: d(n * c)/dc = n
    f = lambda c: cr.vmap(lambda x: x + cr.grad(lambda a: cr.psum(a, "i") ** 2)(c),
                          axis_name="i")(A)
    want = A + 2 * 3 * (3 * 1.5)
    np.testing.assert_allclose(f(1.5), want)
    np.testing.assert_allclose(cr.jit(f)(1.5), want)


def test_two_axis_names_closures_under_jit():
    X = np.arange(6.0).reshape(2, 3)

    def f(c):
        inner = lambda x: x + cr.psum(c, "i") + cr.psum(c, "j") + cr.psum(x, ("i", "j"))
        return cr.vmap(cr.vmap(inner, axis_name="j"), axis_name="i")(X)

    want = X + 2 * 1.5 + 3 * 1.5 + X.sum()
    np.testing.assert_allclose(f(1.5), want)
    np.testing.assert_allclose(cr.jit(f)(1.5), want)
    np.testing.assert_allclose(cr.grad(lambda c: cnp.sum(f(c)))(1.5), 6 * 5.0)
    np.testing.assert_allclose(cr.jit(cr.grad(lambda c: cnp.sum(f(c))))(1.5), 6 * 5.0)


def test_collective_of_value_batched_only_along_the_other_axis():
    # x varies along j only: psum over i multiplies by |i|, psum over j sums
    xj = np.array([1.0, 2.0, 4.0])

    def f(xj):
        return cr.vmap(lambda _: cr.vmap(lambda x: cr.psum(x, "i") + 10 * cr.psum(x, "j"),
                                         axis_name="j")(xj), axis_name="i")(np.zeros(2))

    want = np.broadcast_to(2 * xj + 10 * xj.sum(), (2, 3))
    np.testing.assert_allclose(f(xj), want)
    np.testing.assert_allclose(cr.jit(f)(xj), want)


def test_unbound_axis_name_still_raises():
    with pytest.raises(NameError, match="unbound axis name"):
        cr.psum(np.ones(2), "i")
    with pytest.raises(NameError, match="unbound axis name"):
        cr.jit(lambda x: cr.psum(x, "i"))(np.ones(2))


# ---------------------------------------------------------------------------------------------
# collectives inside control-flow bodies, on the loop carry / xs / branch operands

W = np.array([1.0, 2.0, 3.0])  # weights turning all_gather over a 3-axis into a scalar
RED = {  # a scalar per example from each collective
    "psum": lambda v: cr.psum(v, "i"),
    "pmean": lambda v: cr.pmean(v, "i"),
    "pmax": lambda v: lax.pmax(v, "i"),
    "pmin": lambda v: lax.pmin(v, "i"),
    "all_gather": lambda v: cnp.sum(lax.all_gather(v, "i") * W),
}
REF = {  # ... and its value, as every example sees it, for the batch vs (3,)
    "psum": lambda vs: vs.sum(),
    "pmean": lambda vs: vs.mean(),
    "pmax": lambda vs: vs.max(),
    "pmin": lambda vs: vs.min(),
    "all_gather": lambda vs: vs @ W,
}
NAMES = sorted(RED)
XS = np.array([[0.3, -1.2, 0.7, 2.0], [1.1, 0.4, -0.6, 0.9], [-0.8, 1.5, 0.2, -0.3]])


def _scan_f(name):
    red = RED[name]

    def body(c, x):
        c = 0.5 * c + red(c * x) + red(x)
        return c, c * x

    return lambda xs: lax.scan(body, 1.0, xs)


def _scan_ref(name, xs):
    ref = REF[name]
    c = np.ones(3)
    ys = []
    for t in range(xs.shape[1]):
        c = 0.5 * c + ref(c * xs[:, t]) + ref(xs[:, t])
        ys.append(c * xs[:, t])
    return c, np.stack(ys, 1)


@pytest.mark.parametrize("name", NAMES)
def test_scan_carry_and_xs(name):
    want_c, want_y = _scan_ref(name, XS)
    f = cr.vmap(_scan_f(name), axis_name="i")
    for g in (f, cr.jit(f), cr.vmap(cr.jit(_scan_f(name)), axis_name="i")):
        c, y = g(XS)
        np.testing.assert_allclose(c, want_c, rtol=1e-12)
        np.testing.assert_allclose(y, want_y, rtol=1e-12)


def test_scan_tester_example():
    f = lambda xs: lax.scan(lambda c, x: (c + cr.psum(x, "i"), None), 0.0, xs)[0]
    np.testing.assert_allclose(cr.vmap(f, axis_name="i")(B), np.full(3, B.sum()))
    np.testing.assert_allclose(cr.jit(cr.vmap(f, axis_name="i"))(B), np.full(3, B.sum()))


@pytest.mark.parametrize("name", NAMES)
def test_grad_of_vmap_scan(name):
    loss = lambda xs: cnp.sum(cr.vmap(_scan_f(name), axis_name="i")(xs)[1] ** 2)
    check_grads(loss, (XS,), order=1)
    if name == "psum":
        check_grads(loss, (XS,), order=2)
    g = cr.grad(loss)(XS)
    np.testing.assert_allclose(cr.jit(cr.grad(loss))(XS), g, rtol=1e-10)


def test_grad_of_vmap_scan_matches_jax():
    jax = _jax()
    jnp = jax.numpy

    def jf(xs):
        def body(c, x):
            c = 0.5 * c + jax.lax.psum(c * x, "i") + jax.lax.pmean(x, "i")
            return c, c * x
        return jnp.sum(jax.vmap(lambda xs: jax.lax.scan(body, 1.0, xs)[1],
                                axis_name="i")(xs) ** 2)

    def f(xs):
        def body(c, x):
            c = 0.5 * c + cr.psum(c * x, "i") + cr.pmean(x, "i")
            return c, c * x
        return cnp.sum(cr.vmap(lambda xs: lax.scan(body, 1.0, xs)[1], axis_name="i")(xs) ** 2)

    np.testing.assert_allclose(f(XS), float(jf(XS)), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(f)(XS), np.asarray(jax.grad(jf)(XS)), rtol=1e-10)


def test_vmap_of_grad_of_scan_matches_jax():
    jax = _jax()

    def make(psum, scan, grad, vmap):
        def per(a):
            def body(c, x):
                return c * x + psum(c, "i"), None
            return scan(body, a, XS[0])[0]
        return vmap(grad(per), axis_name="i")

    want = np.asarray(make(jax.lax.psum, jax.lax.scan, jax.grad, jax.vmap)(A))
    got = make(cr.psum, lax.scan, cr.grad, cr.vmap)
    np.testing.assert_allclose(got(A), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(got)(A), want, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_fori_loop_carry(name):
    red = RED[name]
    a = np.array([0.5, -1.0, 2.0])
    body = lambda i, c: 0.5 * c + red(c * (i + 1.0))

    want = a.copy()
    for i in range(3):
        want = 0.5 * want + REF[name](want * (i + 1.0))
    f = cr.vmap(lambda a: lax.fori_loop(0, 3, body, a), axis_name="i")
    np.testing.assert_allclose(f(a), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(f)(a), want, rtol=1e-12)
    # traced bounds: a while loop
    g = cr.jit(lambda n, a: cr.vmap(lambda a: lax.fori_loop(0, n, body, a), axis_name="i")(a))
    np.testing.assert_allclose(g(3, a), want, rtol=1e-12)


def test_fori_loop_tester_example():
    f = cr.vmap(lambda a: lax.fori_loop(0, 2, lambda i, c: cr.psum(c, "i"), a), axis_name="i")
    np.testing.assert_allclose(f(B[:, 0]), np.full(3, 36.0))


def test_grad_of_vmap_fori_loop():
    f = lambda a: cnp.sum(cr.vmap(lambda a: lax.fori_loop(
        0, 3, lambda i, c: cnp.sin(c) + cr.pmean(c * c, "i"), a), axis_name="i")(a))
    check_grads(f, (A,), order=2)
    jax = _jax()
    jf = lambda a: jax.numpy.sum(jax.vmap(lambda a: jax.lax.fori_loop(
        0, 3, lambda i, c: jax.numpy.sin(c) + jax.lax.pmean(c * c, "i"), a), axis_name="i")(a))
    np.testing.assert_allclose(cr.grad(f)(A), np.asarray(jax.grad(jf)(A)), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_while_loop_carry(name):
    red = RED[name]
    a = np.array([0.5, -1.0, 2.0])
    f = cr.vmap(lambda a: lax.while_loop(lambda s: s[0] < 3,
                                         lambda s: (s[0] + 1, 0.5 * s[1] + red(s[1])),
                                         (0, a))[1], axis_name="i")
    want = a.copy()
    for _ in range(3):
        want = 0.5 * want + REF[name](want)
    np.testing.assert_allclose(f(a), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(f)(a), want, rtol=1e-12)


def test_while_loop_batched_predicate_matches_jax():
    # examples stop at different iterations; the frozen ones still count in the psum
    jax = _jax()
    a = np.array([0.5, 1.0, 3.0])

    def make(psum, while_loop, vmap):
        return vmap(lambda a: while_loop(lambda s: s[1] < 4.0,
                                         lambda s: (s[0] + 1, s[1] + 0.1 * psum(s[1], "i")),
                                         (0, a)), axis_name="i")

    wn, wv = make(jax.lax.psum, jax.lax.while_loop, jax.vmap)(a)
    n, v = make(cr.psum, lax.while_loop, cr.vmap)(a)
    np.testing.assert_array_equal(n, np.asarray(wn))
    np.testing.assert_allclose(v, np.asarray(wv), rtol=1e-12)
    n, v = cr.jit(make(cr.psum, lax.while_loop, cr.vmap))(a)
    np.testing.assert_allclose(v, np.asarray(wv), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_map_body(name):
    red = RED[name]
    f = cr.vmap(lambda row: lax.map(lambda v: red(v) + v, row), axis_name="i")
    want = np.stack([[REF[name](XS[:, t]) + XS[k, t] for t in range(4)] for k in range(3)])
    np.testing.assert_allclose(f(XS), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(f)(XS), want, rtol=1e-12)


def test_map_tester_example():
    f = cr.vmap(lambda a: lax.map(lambda v: cr.psum(v, "i"), a), axis_name="i")
    np.testing.assert_allclose(f(B), np.broadcast_to(B.sum(0), (3, 4)))


@pytest.mark.parametrize("name", NAMES)
def test_cond_and_switch_operands(name):
    red = RED[name]
    a = np.array([0.5, -1.0, 2.0])
    for pred in (True, False):
        f = cr.vmap(lambda a: lax.cond(pred, lambda v: red(v) + v, lambda v: 2 * v, a),
                    axis_name="i")
        want = REF[name](a) + a if pred else 2 * a
        np.testing.assert_allclose(f(a), want, rtol=1e-12)
        np.testing.assert_allclose(cr.jit(f)(a), want, rtol=1e-12)
    # a batched predicate: every branch runs over the whole batch, each example picks one
    f = cr.vmap(lambda a: lax.cond(a > 0, lambda v: red(v) + v, lambda v: 2 * v, a),
                axis_name="i")
    want = np.where(a > 0, REF[name](a) + a, 2 * a)
    np.testing.assert_allclose(f(a), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(f)(a), want, rtol=1e-12)
    g = cr.vmap(lambda k, a: lax.switch(k, [lambda v: v, lambda v: red(v * v)], a),
                axis_name="i")
    k = np.array([1, 0, 1])
    np.testing.assert_allclose(g(k, a), np.where(k == 1, REF[name](a * a), a), rtol=1e-12)


def test_cond_tester_like_and_grad():
    f = lambda a: cnp.sum(cr.vmap(lambda a: lax.cond(True, lambda v: cr.psum(v * v, "i"),
                                                     lambda v: v, a), axis_name="i")(a))
    np.testing.assert_allclose(f(A), 3 * np.sum(A * A))
    np.testing.assert_allclose(cr.grad(f)(A), 3 * 2 * A)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(A), 3 * 2 * A)
    check_grads(f, (A,), order=2)


def test_axis_index_in_bodies():
    a = np.array([0.5, -1.0, 2.0])
    idx = np.arange(3.0)
    s = cr.vmap(lambda xs: lax.scan(lambda c, x: (c + x * lax.axis_index("i"), None), 0.0,
                                    xs)[0], axis_name="i")
    np.testing.assert_allclose(s(XS), XS.sum(1) * idx)
    np.testing.assert_allclose(cr.jit(s)(XS), XS.sum(1) * idx)
    w = cr.vmap(lambda a: lax.while_loop(lambda c: c[0] < lax.axis_index("i"),
                                         lambda c: (c[0] + 1, c[1] * 2.0), (0, a))[1],
                axis_name="i")
    np.testing.assert_allclose(w(a), a * 2.0 ** idx)
    np.testing.assert_allclose(cr.jit(w)(a), a * 2.0 ** idx)
    c = cr.vmap(lambda a: lax.cond(True, lambda v: v + lax.axis_index("i"), lambda v: v, a),
                axis_name="i")
    np.testing.assert_allclose(cr.jit(c)(a), a + idx)
    m = cr.vmap(lambda r: lax.map(lambda v: v * lax.axis_index("i"), r), axis_name="i")
    np.testing.assert_allclose(m(XS), XS * idx[:, None])


def test_unbatched_operands_under_jit():
    # no operand of the loop is batched, yet its body's psum belongs to the vmap
    def f(c):
        def per(a):
            k = lax.scan(lambda k, _: (k + cr.psum(k, "i"), None), c, None, length=2)[0]
            w = lax.while_loop(lambda s: s[0] < 2, lambda s: (s[0] + 1, cr.psum(s[1], "i")),
                               (0, c))[1]
            b = lax.cond(True, lambda v: cr.pmean(v, "i") + lax.pmax(v, "i"), lambda v: v, c)
            return a + k + w + b
        return cr.vmap(per, axis_name="i")(np.zeros(3))

    want = np.full(3, 16 * 1.5 + 9 * 1.5 + 2 * 1.5)
    np.testing.assert_allclose(f(1.5), want)
    np.testing.assert_allclose(cr.jit(f)(1.5), want)
    np.testing.assert_allclose(cr.grad(lambda c: cnp.sum(f(c)))(1.5), 3 * (16 + 9 + 2))
    np.testing.assert_allclose(cr.jit(cr.grad(lambda c: cnp.sum(f(c))))(1.5), 3 * (16 + 9 + 2))


def test_nested_vmaps_two_axis_names_in_scan():
    X = np.arange(24.0).reshape(2, 3, 4) / 10.0

    def per(xs):
        def body(c, x):
            c = c + cr.psum(x, "i") * cr.pmean(c, "j") + cr.psum(x, ("i", "j"))
            return c, lax.pmax(c, "j")
        return lax.scan(body, 1.0, xs)

    f = cr.vmap(cr.vmap(per, axis_name="j"), axis_name="i")
    c = np.ones((2, 3))
    ys = []
    for t in range(4):
        x = X[:, :, t]
        c = c + x.sum(0, keepdims=True) * c.mean(1, keepdims=True) + x.sum()
        ys.append(np.broadcast_to(c.max(1, keepdims=True), (2, 3)))
    want_y = np.stack(ys, -1)
    for g in (f, cr.jit(f)):
        gc, gy = g(X)
        np.testing.assert_allclose(gc, c, rtol=1e-12)
        np.testing.assert_allclose(gy, want_y, rtol=1e-12)
    loss = lambda X: cnp.sum(f(X)[0] ** 2)
    check_grads(loss, (X,), order=1)


# ---------------------------------------------------------------------------------------------
# all_gather(axis=, tiled=), axis_index of several names, lax.map(batch_size=)

X3 = np.arange(24.0).reshape(2, 3, 4)


def _gather_ref(xs, axis, tiled):
    """What every example sees, from the batch xs (examples along axis 0)."""
    if tiled:
        return np.concatenate(list(xs), axis=axis)
    return np.stack(list(xs), axis=axis)


@pytest.mark.parametrize("axis,tiled", [(0, False), (1, False), (2, False), (-1, False),
                                        (-3, False), (0, True), (1, True), (-1, True)])
def test_all_gather_axis_tiled(axis, tiled):
    f = cr.vmap(lambda v: lax.all_gather(v, "i", axis=axis, tiled=tiled), axis_name="i")
    want = np.broadcast_to(_gather_ref(X3, axis, tiled), (2,) + _gather_ref(X3, axis,
                                                                             tiled).shape)
    np.testing.assert_array_equal(f(X3), want)
    np.testing.assert_array_equal(cr.jit(f)(X3), want)
    w = np.arange(want[0].size, dtype=float).reshape(want[0].shape)
    check_grads(lambda X: cnp.sum(f(X) ** 2 * w), (X3,), order=1)


def test_all_gather_axis_tiled_matches_jax():
    jax = _jax()
    for axis, tiled in [(1, False), (-1, True), (1, True)]:
        mine = cr.vmap(lambda v: lax.all_gather(v, "i", axis=axis, tiled=tiled), axis_name="i")
        theirs = jax.vmap(lambda v: jax.lax.all_gather(v, "i", axis=axis, tiled=tiled),
                          axis_name="i")
        want = np.asarray(theirs(X3))
        np.testing.assert_array_equal(mine(X3), want)
        w = np.linspace(-1.0, 1.0, want.size).reshape(want.shape)
        np.testing.assert_allclose(cr.grad(lambda X: cnp.sum(mine(X) ** 2 * w))(X3),
                                   np.asarray(jax.grad(lambda X: (theirs(X) ** 2 * w).sum())(X3)),
                                   rtol=1e-12)


def test_all_gather_bad_axis():
    with pytest.raises(ValueError, match="out of range"):
        cr.vmap(lambda v: lax.all_gather(v, "i", axis=3), axis_name="i")(X3)
    with pytest.raises(ValueError, match="out of range"):
        cr.vmap(lambda v: lax.all_gather(v, "i", axis=2, tiled=True), axis_name="i")(X3)
    with pytest.raises(ValueError, match="tiled=True needs"):
        cr.vmap(lambda v: lax.all_gather(v, "i", tiled=True), axis_name="i")(np.ones(3))


def test_all_gather_and_axis_index_of_two_names():
    X = np.arange(6.0).reshape(2, 3)
    f = cr.vmap(cr.vmap(lambda v: (lax.all_gather(v, ("i", "j")), lax.axis_index(("i", "j"))),
                        axis_name="j"), axis_name="i")
    g, k = f(X)
    np.testing.assert_array_equal(g, np.broadcast_to(X.reshape(6), (2, 3, 6)))
    np.testing.assert_array_equal(k, np.arange(6).reshape(2, 3))
    g, k = cr.jit(f)(X)
    np.testing.assert_array_equal(g, np.broadcast_to(X.reshape(6), (2, 3, 6)))
    np.testing.assert_array_equal(k, np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("batch_size", [0, 1, 3, 4, 10, 12])
def test_map_batch_size(batch_size):
    xs = {"a": np.arange(30.0).reshape(10, 3), "b": np.linspace(0, 1, 10)}
    f = lambda d: (cnp.sum(cnp.sin(d["a"])) * d["b"], d["a"] * 2)
    want0 = np.array([np.sin(xs["a"][k]).sum() * xs["b"][k] for k in range(10)])
    for g in (lambda xs: lax.map(f, xs, batch_size=batch_size),
              cr.jit(lambda xs: lax.map(f, xs, batch_size=batch_size))):
        y0, y1 = g(xs)
        np.testing.assert_allclose(y0, want0, rtol=1e-12)
        np.testing.assert_array_equal(y1, xs["a"] * 2)
    loss = lambda a: cnp.sum(lax.map(f, {"a": a, "b": xs["b"]}, batch_size=batch_size)[0])
    np.testing.assert_allclose(cr.grad(loss)(xs["a"]), np.cos(xs["a"]) * xs["b"][:, None],
                               rtol=1e-12)
    check_grads(loss, (xs["a"],), order=1)


def test_map_batch_size_runs_chunks_under_vmap():
    seen = []

    def f(x):
        seen.append(tuple(x.shape))
        return x + 1

    ys = lax.map(f, np.ones((10, 3, 4)), batch_size=3)
    np.testing.assert_array_equal(ys, np.full((10, 3, 4), 2.0))
    assert seen == [(3, 4), (3, 4)]   # once staged for the chunks, once for the remainder


def test_map_batch_size_matches_jax_and_collectives():
    jax = _jax()
    x = np.arange(21.0).reshape(7, 3)
    np.testing.assert_allclose(lax.map(lambda v: cnp.cumsum(v) * v, x, batch_size=2),
                               np.asarray(jax.lax.map(lambda v: jax.numpy.cumsum(v) * v, x,
                                                      batch_size=2)))
    f = cr.vmap(lambda r: lax.map(lambda v: cr.psum(v, "i") - v, r, batch_size=3),
                axis_name="i")
    R = np.arange(21.0).reshape(3, 7)
    np.testing.assert_allclose(f(R), R.sum(0) - R)


def test_map_batch_size_errors():
    with pytest.raises(ValueError, match="non-negative"):
        lax.map(lambda v: v, np.ones(3), batch_size=-1)
    with pytest.raises(TypeError, match="integer"):
        lax.map(lambda v: v, np.ones(3), batch_size=1.5)


# ---------------------------------------------------------------------------------------------
# fori_loop's errors speak of fori_loop's arguments


@pytest.mark.parametrize("traced", [False, True])
def test_fori_loop_dtype_error_names_init_val_and_cast(traced):
    body = lambda i, c: c + i          # float32 carry + int64 index -> float64
    run = (cr.jit(lambda n: lax.fori_loop(0, n, body, np.float32(1.0))) if traced
           else lambda n: lax.fori_loop(0, n, body, np.float32(1.0)))
    with pytest.raises(TypeError) as e:
        run(3)
    msg = str(e.value)
    assert msg.startswith("fori_loop: body_fun")
    assert "init_val (type f32[])" in msg and "f64[]" in msg
    assert ".astype(np.float32)" in msg and "loop index" in msg
    assert "scan" not in msg and "while_loop" not in msg and "carry[1]" not in msg
    # the fix the message suggests works
    fixed = lambda i, c: (c + i).astype(np.float32)
    assert lax.fori_loop(0, 3, fixed, np.float32(1.0)).dtype == np.float32


def test_fori_loop_error_paths_and_structure():
    with pytest.raises(TypeError, match=r"init_val\['a'\] \(type f64\[\]\).*f64\[2\].*shapes"):
        lax.fori_loop(0, 3, lambda i, c: {"a": c["a"] * np.ones(2)}, {"a": 1.0})
    with pytest.raises(TypeError, match=r"init_val\[0\] \(type f32\[\]\)"):
        lax.fori_loop(0, 3, lambda i, c: (c[0] + i, c[1]), (np.float32(1.0), 2.0))
    with pytest.raises(TypeError, match=r"^fori_loop: body_fun must return a value with the "
                                        r"pytree structure of init_val"):
        lax.fori_loop(0, 3, lambda i, c: (c, c), 1.0)
    with pytest.raises(TypeError, match=r"^fori_loop: body_fun must return a value with the "
                                        r"pytree structure"):
        cr.jit(lambda n: lax.fori_loop(0, n, lambda i, c: (c, c), 1.0))(3)
    with pytest.raises(TypeError, match=r"^fori_loop: body_fun returned a leaf of type str"):
        lax.fori_loop(0, 3, lambda i, c: "x", 1.0)
    with pytest.raises(TypeError, match=r"init_val \(type i64\[\]\).*astype\(np.int64\)"):
        lax.fori_loop(0, 3, lambda i, c: c + 0.5, 1)
    # types that agree still run, on both paths
    assert lax.fori_loop(0, 3, lambda i, c: c + 1, 1.0) == 4.0
    assert cr.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 1.0))(4) == 7.0
