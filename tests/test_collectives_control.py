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
