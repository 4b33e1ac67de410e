"""Index updates with repeated indices (set: the last write wins, add accumulates, multiply
multiplies every factor, min/max over all updates and the original), ties of min/max
updates (shared 1/2 each, forward and reverse agree), in-place ndarray methods on tracers
(sort, partition, fill, put, resize) and scalar boolean indices, checked against NumPy and
finite differences in every mode, under vmap and jit."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.prims import structural
from chainrule.test_util import check_grads

X = np.array([1.0, 2.0, 3.0])
I = np.array([0, 0])
V = np.array([10.0, 20.0])


def np_update(x, key, v, mode):
    """NumPy's own value of x.at[key].<mode>(v)."""
    out = np.array(x, dtype=float, copy=True)
    if mode == "set":
        out[key] = v
    else:
        ufunc = {"add": np.add, "multiply": np.multiply, "min": np.minimum,
                 "max": np.maximum, "divide": np.divide}[mode]
        ufunc.at(out, key, v)
    return out


def update(x, key, v, mode):
    return getattr(cnp.at(x)[key], mode)(v)


# (x, key, v): repeated indices in 1-D, in a 2-D row index, in a pair of index arrays, with
# a slice beside the index array, with negative aliases of the same element, and a
# broadcast value. Values are apart, so that min/max have no ties (finite differences).
CASES = [
    (X, I, V),
    (X, np.array([2, 0, 2, 2]), np.array([0.5, 4.0, 1.5, 2.5])),
    (np.arange(1.0, 7.0).reshape(2, 3), (np.array([1, 1, 0]), np.array([2, 2, 0])),
     np.array([0.7, 3.1, 1.9])),
    (np.arange(1.0, 7.0).reshape(2, 3), (np.array([1, 0, 1]), slice(1, None)),
     np.array([[0.3, 4.2], [5.5, 0.9], [2.4, 7.7]])),
    (X, np.array([0, -3, 1]), np.array([0.25, 5.0, 1.75])),
    (np.arange(1.0, 7.0).reshape(2, 3), (np.array([0, 0]), slice(None)),
     np.array([0.6, 2.6, 4.6])),
]
MODES = ["set", "add", "multiply", "divide", "min", "max"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_repeated_indices_values_and_derivatives(mode, case):
    x, key, v = CASES[case]
    want = np_update(x, key, v, mode)
    np.testing.assert_allclose(update(x, key, v, mode), want)
    np.testing.assert_allclose(cr.jit(lambda x, v: update(x, key, v, mode))(x, v), want)
    check_grads(lambda x, v: update(x, key, v, mode), (x, v), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("mode", MODES)
def test_repeated_indices_derivatives_agree_across_transforms(mode):
    x, key, v = CASES[1]
    w = np.array([1.0, -2.0, 0.5])
    f = lambda x, v: cnp.sum(update(x, key, v, mode) * w)
    gx, gv = cr.grad(f, argnums=(0, 1))(x, v)
    for g in (cr.jit(cr.grad(f, argnums=(0, 1))), cr.grad(cr.jit(f), argnums=(0, 1))):
        np.testing.assert_allclose(g(x, v)[0], gx)
        np.testing.assert_allclose(g(x, v)[1], gv)
    # forward mode gives the same numbers (columns of the Jacobian)
    np.testing.assert_allclose(cr.jacfwd(f, argnums=1)(x, v), gv)
    np.testing.assert_allclose(cr.jacfwd(f, argnums=0)(x, v), gx)
    # vmap over the values, the array, and both, vs a Python loop
    vs = np.stack([v, v * 0.5 + 0.1, v[::-1]])
    xs = np.stack([x, x + 0.3, x * 2])
    loop_v = np.stack([cr.grad(f, argnums=1)(x, vi) for vi in vs])
    np.testing.assert_allclose(cr.vmap(cr.grad(f, argnums=1), in_axes=(None, 0))(x, vs), loop_v)
    loop_xv = np.stack([cr.grad(f, argnums=1)(xi, vi) for xi, vi in zip(xs, vs)])
    np.testing.assert_allclose(cr.vmap(cr.grad(f, argnums=1))(xs, vs), loop_xv)
    np.testing.assert_allclose(cr.jit(cr.vmap(cr.grad(f, argnums=1)))(xs, vs), loop_xv)
    loop_x = np.stack([cr.grad(f)(xi, v) for xi in xs])
    np.testing.assert_allclose(cr.vmap(cr.grad(f), in_axes=(0, None))(xs, v), loop_x)


@pytest.mark.parametrize("mode", MODES)
def test_traced_repeated_indices_under_jit_and_vmap(mode):
    # index arrays that are jit arguments or batched are not known to be free of repeats
    x, key, v = CASES[1]
    f = lambda x, v, i: cnp.sum(update(x, i, v, mode) * np.array([1.0, -2.0, 0.5]))
    want = cr.grad(f, argnums=(0, 1))(x, v, key)
    got = cr.jit(cr.grad(f, argnums=(0, 1)))(x, v, key)
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1])
    keys = np.stack([key, key[::-1], np.array([1, 1, 1, 0])])
    loop = np.stack([cr.grad(f, argnums=1)(x, v, k) for k in keys])
    np.testing.assert_allclose(cr.vmap(cr.grad(f, argnums=1), in_axes=(None, None, 0))(
        x, v, keys), loop)
    t = np.array([0.3, -1.0, 2.0, 0.5])
    want_t = cr.jvp(lambda v: update(x, key, v, mode), (v,), (t,))[1]
    got_t = cr.jit(lambda v, i: cr.jvp(lambda v: update(x, i, v, mode), (v,), (t,))[1])(v, key)
    np.testing.assert_allclose(got_t, want_t)
    check_grads(cr.jit(lambda x, v: f(x, v, key)), (x, v), order=2)


def test_the_reported_repeated_index_derivatives():
    g = lambda mode: cr.grad(lambda v: cnp.sum(update(X, I, v, mode)))(V)
    np.testing.assert_allclose(g("multiply"), [20.0, 10.0])
    np.testing.assert_allclose(g("divide"), [-5e-4, -2.5e-4])
    np.testing.assert_allclose(g("set"), [0.0, 1.0])        # the last write wins
    np.testing.assert_allclose(g("add"), [1.0, 1.0])
    t = cr.jvp(lambda v: update(X, I, v, "set"), (V,), (np.array([1.0, 0.0]),))[1]
    np.testing.assert_allclose(t, [0.0, 0.0, 0.0])
    t = cr.jvp(lambda v: update(X, I, v, "multiply"), (V,), (np.array([1.0, 0.0]),))[1]
    np.testing.assert_allclose(t, [20.0, 0.0, 0.0])
    t = cr.jvp(lambda v: update(X, I, v, "min"), (np.array([0.5, 0.7]),),
               (np.array([1.0, 0.0]),))[1]
    np.testing.assert_allclose(t, [1.0, 0.0, 0.0])
    # a broadcast scalar set twice into one element counts once
    np.testing.assert_allclose(cr.grad(lambda s: cnp.sum(update(X, I, s, "set")))(2.0), 1.0)
    np.testing.assert_allclose(cr.grad(lambda s: cnp.sum(update(X, I, s, "add")))(2.0), 2.0)


def test_multiply_with_zero_factors_in_a_group_is_exact_to_second_order():
    x = np.array([1.5, -2.0, 3.0])
    key = np.array([1, 1, 1, 0, 1])
    v = np.array([0.0, 2.0, 0.0, 0.0, -1.5])
    f = lambda x, v: update(x, key, v, "multiply")
    np.testing.assert_allclose(f(x, v), np_update(x, key, v, "multiply"))
    check_grads(f, (x, v), order=2, modes=("fwd", "rev"))
    # d/dv0 of x1 * v0 v1 v2 v4 at v0 = v2 = 0 is 0; the mixed d2/dv0 dv2 is x1 v1 v4
    h = cr.hessian(lambda v: cnp.sum(f(x, v)))(v)
    np.testing.assert_allclose(h[0, 2], -2.0 * 2.0 * -1.5)


def test_no_repeat_fast_path_skips_the_group_work(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("the repeated-index path ran for indices without repeats")
    monkeypatch.setattr(structural, "_others_product", boom)
    monkeypatch.setattr(structural, "_last_writes", boom)
    key = np.array([2, 0])
    for mode in ("set", "multiply"):
        check_grads(lambda x, v: update(x, key, v, mode), (X, V), order=2)
    check_grads(lambda x, v: update(x, 1, v, "multiply"), (X, 3.0), order=2)


@pytest.mark.parametrize("mode", ["max", "min"])
def test_min_max_update_at_a_tie_shares_the_derivative(mode):
    # x[0] == v: half to each, in both modes, as maximum(x, y) at a tie
    gv = cr.grad(lambda v: cnp.sum(update(X, 0, v, mode)))(1.0)
    gx = cr.grad(lambda x: cnp.sum(update(x, 0, 1.0, mode)))(X)
    np.testing.assert_allclose(gv, 0.5)
    np.testing.assert_allclose(gx, [0.5, 1.0, 1.0])
    t = cr.jvp(lambda v: update(X, 0, v, mode), (1.0,), (1.0,))[1]
    np.testing.assert_allclose(t, [0.5, 0.0, 0.0])
    np.testing.assert_allclose(cr.jit(cr.grad(lambda v: cnp.sum(update(X, 0, v, mode))))(1.0),
                               0.5)
    # three-way tie through a repeated index: a third each
    g = cr.grad(lambda x, v: cnp.sum(update(x, I, v, mode)), argnums=(0, 1))(
        X, np.array([1.0, 1.0]))
    np.testing.assert_allclose(g[0], [1 / 3, 1.0, 1.0])
    np.testing.assert_allclose(g[1], [1 / 3, 1 / 3])
    t = cr.jvp(lambda x, v: update(x, I, v, mode), (X, np.array([1.0, 1.0])),
               (np.ones(3), np.ones(2)))[1]
    np.testing.assert_allclose(t, [1.0, 1.0, 1.0])   # moving all tied inputs moves the result


def test_inplace_updates_with_repeated_indices():
    x = np.arange(1.0, 13.0).reshape(4, 3) / 4
    rows = np.array([0, 2, 0])

    def f(x):
        y = x * 1.0
        y[rows, 1] += 1.0
        return y

    def g(x):
        y = x * 1.0
        y[rows, 1] = x[:3, 0] ** 2
        return y

    for fn in (f, g):
        want = fn(x.copy())   # NumPy's own in-place semantics on a plain array
        np.testing.assert_allclose(cr.jit(fn)(x), want)
        check_grads(fn, (x,), order=2, modes=("fwd", "rev"))
    # in g, element (0, 1) keeps the last write, x[2, 0] ** 2
    gr = cr.grad(lambda x: g(x)[0, 1])(x)
    want = np.zeros_like(x)
    want[2, 0] = 2 * x[2, 0]
    np.testing.assert_allclose(gr, want)


# --- in-place ndarray methods -------------------------------------------------------------------

M = np.array([[3.0, 1.0, 2.0], [0.5, 5.0, -1.0]])


def _inplace(method, *args, **kw):
    def f(x):
        y = x * 1.0
        alias = y
        assert getattr(y, method)(*args, **kw) is None
        return alias          # the alias sees the change, as with NumPy arrays
    return f


def _numpy_inplace(method, x, *args, **kw):
    y = np.array(x, copy=True)
    assert getattr(y, method)(*args, **kw) is None
    return y


INPLACE = [("sort", (), {}), ("sort", (), {"axis": 0}), ("sort", (0,), {}),
           ("fill", (2.5,), {}), ("put", ([0, 4, 0], [7.0, 8.0, 9.0]), {}),
           ("put", ([1, -1, 7], [4.0, 6.0]), {"mode": "wrap"}),
           ("put", ([2, 9], 4.0), {"mode": "clip"}),
           ("resize", ((3, 3),), {"refcheck": False}), ("resize", (4,), {"refcheck": False}),
           ("resize", (2, 2), {"refcheck": False})]


@pytest.mark.parametrize("method,args,kw", INPLACE)
def test_inplace_methods_change_the_tracer(method, args, kw):
    f = _inplace(method, *args, **kw)
    want = _numpy_inplace(method, M, *args, **kw)
    np.testing.assert_allclose(cr.jit(f)(M), want)
    np.testing.assert_allclose(cr.jvp(f, (M,), (np.ones_like(M),))[0], want)
    np.testing.assert_allclose(cr.vmap(f)(np.stack([M, M * 2])),
                               np.stack([want, _numpy_inplace(method, M * 2, *args, **kw)]))
    check_grads(f, (M,), order=2, modes=("fwd", "rev"))


def test_sort_in_place_derivative_follows_the_permutation():
    f = _inplace("sort", axis=1)
    w = np.arange(6.0).reshape(2, 3)
    g = cr.grad(lambda x: cnp.sum(f(x) * w))(M)
    np.testing.assert_allclose(g, [[2.0, 0.0, 1.0], [4.0, 5.0, 3.0]])
    np.testing.assert_allclose(cr.jit(cr.grad(lambda x: cnp.sum(f(x) * w)))(M), g)


def test_partition_in_place():
    x = np.array([[4.0, 1.0, 3.0, 2.0], [0.5, 9.0, -2.0, 7.0]])
    got = cr.jit(_inplace("partition", 1))(x)
    want = np.partition(x, 1)
    np.testing.assert_allclose(got[:, 1], want[:, 1])
    assert np.all(got[:, :1] <= got[:, 1:2]) and np.all(got[:, 2:] >= got[:, 1:2])
    check_grads(_inplace("partition", 1), (x,), order=2)


def test_inplace_methods_on_views_and_unsupported_ones_raise_clearly():
    with pytest.raises(TypeError, match=r"x\.sort.*view.*chainrule\.numpy\.sort"):
        cr.jit(lambda x: x[0].sort())(M)
    with pytest.raises(TypeError, match=r"x\.fill.*view"):
        cr.grad(lambda x: (x[:, 0].fill(1.0), cnp.sum(x))[1])(M)
    with pytest.raises(AttributeError, match=r"x\.itemset.*x\[idx\] = value"):
        cr.jit(lambda x: x.itemset(0, 1.0))(M)
    with pytest.raises(AttributeError, match=r"x\.setfield"):
        cr.grad(lambda x: x.setfield(1.0, np.float64))(1.0)


# --- scalar boolean indices ---------------------------------------------------------------------

A = np.arange(6.0).reshape(2, 3)
BOOL_KEYS = [True, False, (True, 0), (Ellipsis, False), (None, True), (True, True),
             (True, [0, 1]), (0, True), (slice(None), True, [1, 2]), ([0, 1], slice(None), True),
             (np.True_,), (np.array(True), 1, False), (Ellipsis, True, 1), (False, None, 1)]


@pytest.mark.parametrize("key", BOOL_KEYS, ids=repr)
def test_scalar_boolean_index_matches_numpy(key):
    want = A[key]
    f = lambda x: x[key]
    for got in (cnp.asarray(A)[key], cr.jit(f)(A), cr.jvp(f, (A,), (A,))[1],
                cr.vmap(f)(np.stack([A, A]))[1]):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    if want.size:
        check_grads(lambda x: f(x) * 1.0, (A,), order=2)

    def g(x):
        y = x * 1.0
        y[key] = -1.0
        return y
    want_set = A.copy()
    want_set[key] = -1.0
    np.testing.assert_array_equal(cr.jit(g)(A), want_set)
    np.testing.assert_array_equal(cr.numpy.at(A)[key].set(-1.0), want_set)


def test_scalar_boolean_beside_a_traced_index_array():
    i = np.array([1, 0, 1])
    want = A[True, i]
    np.testing.assert_array_equal(cr.jit(lambda x, i: x[True, i])(A, i), want)
    got = cr.vmap(lambda x, k: x[k, False])(np.stack([A] * 3), i[:, None])
    np.testing.assert_array_equal(got, np.stack([A[k, False] for k in i[:, None]]))
    g = cr.jit(cr.grad(lambda x, i: cnp.sum(x[True, i] ** 2)))(A, i)
    want_g = np.zeros_like(A)
    np.add.at(want_g, i, 2 * A[i])
    np.testing.assert_allclose(g, want_g)
