"""JAX names a user switching imports expects beside the transforms: eval_shape,
block_until_ready, chainrule.tree, tree_util.Partial, and lax's dynamic slicing (start
indices that are traced, with JAX's wrap-once-then-clamp semantics)."""
import operator

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax
from chainrule.test_util import check_grads


# --- eval_shape --------------------------------------------------------------------------

def test_eval_shape_of_structs_and_arrays():
    out = cr.eval_shape(lambda a, b: {"p": a @ b, "s": cnp.sum(a, axis=0)},
                        cr.ShapeDtypeStruct((3, 4), np.float32), np.ones((4, 2), np.float32))
    assert out == {"p": cr.ShapeDtypeStruct((3, 2), np.float32),
                   "s": cr.ShapeDtypeStruct((4,), np.float32)}
    assert out["p"].ndim == 2 and out["p"].size == 6


def test_eval_shape_computes_nothing_and_passes_non_arrays_through():
    calls = []

    def f(x, name):
        calls.append(type(x).__name__)
        return x * 2.0, name, None

    out = cr.eval_shape(f, cr.ShapeDtypeStruct((5,), np.int32), "tag")
    assert out == (cr.ShapeDtypeStruct((5,), np.float64), "tag", None)
    assert calls and calls[0] != "ndarray"      # it saw a tracer, not a value


def test_eval_shape_of_a_gradient_and_python_scalars():
    g = cr.eval_shape(cr.grad(lambda w, x: cnp.sum(cnp.tanh(x @ w))), np.ones((3, 2)),
                      np.ones((7, 3)))
    assert g == cr.ShapeDtypeStruct((3, 2), np.float64)
    assert cr.eval_shape(lambda a: a + 1, 2) == cr.ShapeDtypeStruct((), np.int64)


def test_block_until_ready_returns_its_argument():
    tree = {"a": np.ones(2), "b": [np.zeros(1)]}
    assert cr.block_until_ready(tree) is tree


# --- chainrule.tree and Partial ----------------------------------------------------------

def test_tree_short_names_are_the_tree_util_functions():
    t = {"a": 1, "b": (2, None, [3])}
    assert cr.tree.map(lambda x: x * 10, t) == {"a": 10, "b": (20, None, [30])}
    assert cr.tree.leaves(t) == [1, 2, 3]
    leaves, treedef = cr.tree.flatten(t)
    assert cr.tree.unflatten(treedef, [4, 5, 6]) == {"a": 4, "b": (5, None, [6])}
    assert cr.tree.structure(t) == treedef
    assert cr.tree.reduce(operator.add, t) == 6
    assert cr.tree.all([True, (1, 2)]) and not cr.tree.all([True, (0,)])


def test_partial_is_a_pytree_through_transforms():
    P = cr.tree_util.Partial
    p = P(operator.mul, 2.0)
    assert cr.tree.leaves(p) == [2.0] and p(3.0) == 6.0
    # a Partial of a Partial keeps one level, and keywords are children too
    q = P(P(lambda a, b, c=1.0: a * b + c, 2.0), c=np.ones(2))
    assert q.func is not P and len(cr.tree.leaves(q)) == 2
    np.testing.assert_allclose(q(3.0), [7.0, 7.0])
    # passed into jit and vmap, built inside grad
    np.testing.assert_allclose(cr.jit(lambda f, x: f(x))(p, np.ones(2)), [2.0, 2.0])
    np.testing.assert_allclose(cr.vmap(lambda f: f(1.0))(P(operator.mul, np.arange(3.0))),
                               [0.0, 1.0, 2.0])
    assert cr.grad(lambda x: P(operator.mul, x)(x))(3.0) == 6.0
    # returned from a jitted function
    out = cr.jit(lambda x: P(operator.add, x * 2))(np.ones(2))
    assert isinstance(out, P)
    np.testing.assert_allclose(out(1.0), [3.0, 3.0])


# --- lax dynamic slicing -----------------------------------------------------------------

X = np.arange(20.0).reshape(4, 5)


def _ref_starts(starts, sizes, shape):
    return [min(max(s + d if s < 0 else s, 0), d - n) for s, n, d in zip(starts, sizes, shape)]


@pytest.mark.parametrize("starts", [(1, 2), (3, 4), (0, 0), (-1, 0), (-3, 1), (-9, 7)])
def test_dynamic_slice_eager_and_jit_wrap_then_clamp(starts):
    s0, s1 = _ref_starts(starts, (2, 3), X.shape)
    want = X[s0:s0 + 2, s1:s1 + 3]
    np.testing.assert_array_equal(lax.dynamic_slice(X, starts, (2, 3)), want)
    got = cr.jit(lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)))(X, *starts)
    np.testing.assert_array_equal(got, want)
    # one traced start, one static
    got = cr.jit(lambda x, i: lax.dynamic_slice(x, (i, starts[1]), (2, 3)))(X, starts[0])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("starts", [(1, 2), (3, 4), (-1, 0), (-9, 7)])
def test_dynamic_update_slice_eager_and_jit(starts):
    u = -np.arange(6.0).reshape(2, 3) - 1
    s0, s1 = _ref_starts(starts, u.shape, X.shape)
    want = X.copy()
    want[s0:s0 + 2, s1:s1 + 3] = u
    np.testing.assert_array_equal(lax.dynamic_update_slice(X, u, starts), want)
    got = cr.jit(lambda x, i, j: lax.dynamic_update_slice(x, u, (i, j)))(X, *starts)
    np.testing.assert_array_equal(got, want)


def test_dynamic_update_slice_casts_the_update_to_the_operand_dtype():
    out = lax.dynamic_update_slice(np.zeros(4, np.float32), np.ones(2), (1,))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0, 1, 1, 0])


def test_in_dim_forms():
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(X, 3, 2, axis=1), X[:, 3:5])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(X, 2, 1), X[:, 2:3])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(X, 2, -1, keepdims=False), X[:, 2])
    out = cr.jit(lambda x, i: lax.dynamic_update_index_in_dim(x, np.zeros(4), i, 1))(X, 2)
    want = X.copy()
    want[:, 2] = 0
    np.testing.assert_array_equal(out, want)
    want = X.copy()
    want[1:3] = 7.0
    np.testing.assert_array_equal(
        lax.dynamic_update_slice_in_dim(X, np.full((2, 5), 7.0), 1, axis=0), want)


def test_dynamic_slicing_gradients_both_modes_second_order():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5))
    u = rng.normal(size=(2, 3))
    check_grads(lambda x: lax.dynamic_slice(x, (1, 2), (2, 3)) ** 3, (x,), order=2)
    check_grads(lambda x, u: cnp.sin(lax.dynamic_update_slice(x, u, (2, 1))), (x, u), order=2)
    # traced starts under jit: the gradient reaches the sliced block only
    g = cr.jit(cr.grad(lambda x, i: cnp.sum(lax.dynamic_slice(x, (i, 1), (2, 3)) ** 2)))(x, 1)
    want = np.zeros_like(x)
    want[1:3, 1:4] = 2 * x[1:3, 1:4]
    np.testing.assert_allclose(g, want)
    gu = cr.jit(cr.grad(lambda u, i: cnp.sum(lax.dynamic_update_slice(x, u, (i, 0)) ** 2)))(u, 3)
    np.testing.assert_allclose(gu, 2 * u)


def test_dynamic_slice_batched_starts_and_in_a_scan():
    row = np.arange(5.0)
    got = cr.vmap(lambda i: lax.dynamic_slice(row, (i,), (2,)))(np.arange(5))
    np.testing.assert_array_equal(got, [[0, 1], [1, 2], [2, 3], [3, 4], [3, 4]])

    # sliding-window sums written the JAX way: fori_loop with a traced index
    def windows(x):
        def body(i, acc):
            return lax.dynamic_update_index_in_dim(
                acc, cnp.sum(lax.dynamic_slice_in_dim(x, i, 3)), i, 0)
        return lax.fori_loop(0, 4, body, cnp.zeros(4))

    x = np.arange(6.0)
    want = np.array([x[i:i + 3].sum() for i in range(4)])
    np.testing.assert_allclose(windows(x), want)
    np.testing.assert_allclose(cr.jit(windows)(x), want)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cr.jit(windows)(x)))(x),
                               [1, 2, 3, 3, 2, 1])


def test_dynamic_slice_errors_say_what_is_wrong():
    with pytest.raises(TypeError, match="needs 2 start indices"):
        lax.dynamic_slice(X, (1,), (2, 3))
    with pytest.raises(TypeError, match="between 0 and the operand's size 5"):
        lax.dynamic_slice(X, (0, 0), (2, 6))
    with pytest.raises(TypeError, match="must be integers"):
        lax.dynamic_slice(X, (0, 1.5), (2, 3))
    with pytest.raises(TypeError, match="operand's rank 2"):
        lax.dynamic_update_slice(X, np.ones(3), (0, 0))
