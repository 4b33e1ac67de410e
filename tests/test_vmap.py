"""vmap: the issue's cases from the field, then the contract of vmap itself (in_axes/out_axes,
keyword arguments, nesting, axis_size, errors), its composition with the other transforms in
any order, the loop fallback, named-axis collectives, vectorize and apply_along_axis.

Every batched result is checked against a Python loop over the examples, a closed form, or
NumPy."""

import os
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import tree_util as tu

THIS_FILE = os.path.basename(__file__)
XS = np.linspace(-7.0, 7.0, 200)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def tree_close(a, b, tol=1e-10):
    la, ta = tu.tree_flatten(a)
    lb, tb = tu.tree_flatten(b)
    assert ta == tb, (ta, tb)
    for x, y in zip(la, lb):
        assert np.shape(x) == np.shape(y), (np.shape(x), np.shape(y))
        close(x, y, tol)


def loop(f, *args, in_axes=0):
    """The reference for vmap: call f on each example and stack along axis 0."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    n = {np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None}.pop()
    outs = [f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)])
            for i in range(n)]
    return tu.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


def rng(seed=0):
    return np.random.default_rng(seed)


# =============================================================================================
# The cases from the field
# ---------------------------------------------------------------------------------------------
# a. tanh and its derivatives: nest grad, then vmap


def _tanh_derivatives(x):
    t = np.tanh(x)
    s = 1.0 - t ** 2
    return [t, s, -2.0 * t * s, 2.0 * s * (3.0 * t ** 2 - 1.0), 8.0 * t * s * (2.0 - 3.0 * t ** 2)]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_field_a_tanh_derivatives_by_vmap_of_grad(order):
    f = cnp.tanh
    for _ in range(order):
        f = cr.grad(f)
    out = cr.vmap(f)(XS)
    assert isinstance(out, np.ndarray) and out.shape == (200,) and out.dtype == np.float64
    close(out, _tanh_derivatives(XS)[order], tol=1e-12)


def test_field_a_tanh_values_and_grad_equal_pointwise_grad():
    close(cr.vmap(cnp.tanh)(XS), np.tanh(XS))
    g = cr.grad(cr.grad(cnp.tanh))
    close(cr.vmap(g)(XS), [g(x) for x in XS], tol=1e-14)


# ---------------------------------------------------------------------------------------------
# b. batched dot products, twice batched


def test_field_b_vmap_dot_and_vmap_vmap_dot():
    r = rng(1)
    a, b = r.standard_normal((7, 4)), r.standard_normal((7, 4))
    vd = cr.vmap(cnp.dot)
    out = vd(a, b)
    assert out.shape == (7,)
    close(out, np.einsum("nd,nd->n", a, b))
    vvd = cr.vmap(vd)
    a3, b3 = r.standard_normal((3, 2, 5)), r.standard_normal((3, 2, 5))
    out = vvd(a3, b3)
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    close(out, np.einsum("ijk,ijk->ij", a3, b3))
    close(out, [[np.dot(a3[i, j], b3[i, j]) for j in range(2)] for i in range(3)])


# ---------------------------------------------------------------------------------------------
# c. a Jacobian as the vmap of a VJP over the rows of the identity


def test_field_c_jacobian_by_vmap_of_vjp():
    def f(x):
        return x ** 3

    x = rng(2).standard_normal(6)
    y, f_vjp = cr.vjp(f, x)
    close(y, x ** 3)
    (J,) = cr.vmap(f_vjp)(np.eye(6))
    close(J, np.diag(3 * x ** 2))
    close(J, cr.jacrev(f)(x))
    close(J, cr.jacfwd(f)(x))


def test_field_c_jacobian_by_vmap_of_vjp_nonsquare():
    A = rng(3).standard_normal((4, 3))

    def f(x):
        return cnp.sin(A @ x) * x[0]

    x = rng(4).standard_normal(3)
    _, f_vjp = cr.vjp(f, x)
    (J,) = cr.vmap(f_vjp)(np.eye(4))
    assert J.shape == (4, 3)
    close(J, cr.jacrev(f)(x))
    close(J, cr.jacfwd(f)(x))
    # and the column view: vmap of the JVP over the identity's rows gives J transposed
    Jt = cr.vmap(lambda t: cr.jvp(f, (x,), (t,))[1])(np.eye(3))
    close(Jt.T, J)


# ---------------------------------------------------------------------------------------------
# d. per-example gradients of logistic regression


def _logreg_loss(w, x, y):
    return cnp.logaddexp(0.0, -y * cnp.dot(x, w))


def test_field_d_per_example_gradients_logistic_regression():
    r = rng(5)
    n, d = 32, 10
    X = r.standard_normal((n, d))
    Y = np.where(r.random(n) < 0.5, -1.0, 1.0)
    w = r.standard_normal(d) * 0.3
    per_ex = cr.vmap(cr.grad(_logreg_loss), in_axes=(None, 0, 0))(w, X, Y)
    assert per_ex.shape == (n, d)
    want = np.stack([cr.grad(_logreg_loss)(w, X[i], Y[i]) for i in range(n)])
    close(per_ex, want)
    # closed form: -y x sigmoid(-y x.w)
    m = Y * (X @ w)
    close(per_ex, (-Y / (1 + np.exp(m)))[:, None] * X)
    # their mean is the full-batch gradient
    full = cr.grad(lambda w: cnp.mean(cr.vmap(_logreg_loss, in_axes=(None, 0, 0))(w, X, Y)))(w)
    close(per_ex.mean(0), full)


# ---------------------------------------------------------------------------------------------
# e. the Hessian of sum(tanh(A x)^2), x of size 200


def test_field_e_hessian_tanh_squared_200():
    r = rng(6)
    A = r.standard_normal((300, 200)) / np.sqrt(200)
    x = r.standard_normal(200)

    def f(x):
        return cnp.sum(cnp.tanh(A @ x) ** 2)

    H = cr.hessian(f)(x)
    assert H.shape == (200, 200) and H.dtype == np.float64
    close(H, cr.jacfwd(cr.jacrev(f))(x), tol=1e-12)
    close(H, cr.jacrev(cr.jacrev(f))(x), tol=1e-10)
    close(H, H.T, tol=1e-12)
    # closed form: A^T diag(2 (1 - t^2)(1 - 3 t^2)) A with t = tanh(A x)
    t = np.tanh(A @ x)
    close(H, A.T @ (A * (2 * (1 - t ** 2) * (1 - 3 * t ** 2))[:, None]), tol=1e-10)
    # finite differences of the gradient in random directions
    g = cr.grad(f)
    eps = 1e-5
    for v in r.standard_normal((3, 200)):
        fd = (g(x + eps * v) - g(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(H @ v, fd, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# f. batch normalisation with pmean over a named axis


def _bn_named(x, gamma, beta):
    mu = cr.lax.pmean(x, "batch")
    var = cr.lax.pmean((x - mu) ** 2, "batch")
    return gamma * (x - mu) / cnp.sqrt(var + 1e-5) + beta


def _bn_full(X, gamma, beta):
    mu = cnp.mean(X, axis=0)
    var = cnp.mean((X - mu) ** 2, axis=0)
    return gamma * (X - mu) / cnp.sqrt(var + 1e-5) + beta


def test_field_f_batchnorm_with_pmean_values_and_gradients():
    r = rng(7)
    X = r.standard_normal((16, 5)) * 2 + 1
    gamma, beta = r.standard_normal(5), r.standard_normal(5)
    W = r.standard_normal((16, 5))
    bn = cr.vmap(_bn_named, in_axes=(0, None, None), axis_name="batch")
    out = bn(X, gamma, beta)
    close(out, _bn_full(X, gamma, beta))
    close(out, gamma * (X - X.mean(0)) / np.sqrt(X.var(0) + 1e-5) + beta)

    def loss_named(X, gamma, beta):
        return cnp.sum(cnp.tanh(bn(X, gamma, beta)) * W)

    def loss_full(X, gamma, beta):
        return cnp.sum(cnp.tanh(_bn_full(X, gamma, beta)) * W)

    g_named = cr.grad(loss_named, argnums=(0, 1, 2))(X, gamma, beta)
    g_full = cr.grad(loss_full, argnums=(0, 1, 2))(X, gamma, beta)
    tree_close(g_named, g_full)
    # and forward mode agrees
    tX = r.standard_normal(X.shape)
    close(cr.jvp(lambda X: loss_named(X, gamma, beta), (X,), (tX,))[1],
          np.sum(g_full[0] * tX))
    # finite differences in one direction
    eps = 1e-6
    fd = (loss_full(X + eps * tX, gamma, beta) - loss_full(X - eps * tX, gamma, beta)) / (2 * eps)
    np.testing.assert_allclose(np.sum(g_named[0] * tX), fd, rtol=1e-6)


# =============================================================================================
# in_axes / out_axes


def test_in_axes_ints_negative_and_none():
    r = rng(8)
    M = r.standard_normal((3, 4, 5))
    v = r.standard_normal(5)
    f = lambda m, v: m @ v
    for ax in (0, 1, -2, -3):
        out = cr.vmap(f, in_axes=(ax, None))(M, v)
        close(out, loop(f, M, v, in_axes=(ax % 3, None)))
    # the last axis, given as -1 and as 2
    g = lambda m: cnp.sum(m * cnp.arange(3.0)[:, None])
    close(cr.vmap(g, in_axes=-1)(M), cr.vmap(g, in_axes=2)(M))
    close(cr.vmap(g, in_axes=-1)(M), loop(g, M, in_axes=2))
    # in_axes as a list means a tuple
    close(cr.vmap(f, in_axes=[1, None])(M, v), loop(f, M, v, in_axes=(1, None)))


def test_out_axes_ints_negative_and_none():
    r = rng(9)
    X = r.standard_normal((4, 3))
    f = lambda x: cnp.outer(x, x[:2])  # per example (3, 2)
    want = loop(f, X)  # (4, 3, 2)
    close(cr.vmap(f, out_axes=0)(X), want)
    close(cr.vmap(f, out_axes=1)(X), np.moveaxis(want, 0, 1))
    close(cr.vmap(f, out_axes=2)(X), np.moveaxis(want, 0, 2))
    close(cr.vmap(f, out_axes=-1)(X), np.moveaxis(want, 0, -1))
    close(cr.vmap(f, out_axes=-2)(X), np.moveaxis(want, 0, -2))
    # None for an output that does not depend on the batch; an unbatched output with an int
    # out_axes is broadcast along the batch
    a, b = cr.vmap(lambda x: (x * 2, np.arange(3.0)), out_axes=(1, None))(X)
    close(a, 2 * X.T)
    close(b, np.arange(3.0))
    c = cr.vmap(lambda x: np.arange(3.0), out_axes=1)(X)
    close(c, np.tile(np.arange(3.0)[:, None], (1, 4)))


def test_in_axes_pytree_prefixes_dict_params_with_none():
    r = rng(10)
    params = {"W": r.standard_normal((3, 2)), "b": r.standard_normal(3)}
    xs = r.standard_normal((5, 2))

    def net(p, x):
        return cnp.tanh(p["W"] @ x + p["b"])

    out = cr.vmap(net, in_axes=({"W": None, "b": None}, 0))(params, xs)
    close(out, loop(net, params, xs, in_axes=(None, 0)))
    close(cr.vmap(net, in_axes=(None, 0))(params, xs), out)
    # batch only the bias: a per-example bias, shared weights
    bs = r.standard_normal((5, 3))
    out = cr.vmap(net, in_axes=({"W": None, "b": 0}, 0))({"W": params["W"], "b": bs}, xs)
    close(out, [net({"W": params["W"], "b": bs[i]}, xs[i]) for i in range(5)])
    # a batched dict with per-leaf axes
    Ws = r.standard_normal((3, 5, 2))  # batch on axis 1
    out = cr.vmap(net, in_axes=({"W": 1, "b": 0}, None))({"W": Ws, "b": bs}, xs[0])
    close(out, [net({"W": Ws[:, i], "b": bs[i]}, xs[0]) for i in range(5)])


def test_in_axes_tuple_of_dicts_and_nested_tuples():
    r = rng(11)
    a = {"x": r.standard_normal((4, 3)), "y": r.standard_normal(3)}
    b = {"u": r.standard_normal((3, 4))}

    def f(a, b):
        return a["x"] * a["y"] + b["u"]

    out = cr.vmap(f, in_axes=({"x": 0, "y": None}, {"u": 1}))(a, b)
    close(out, [f({"x": a["x"][i], "y": a["y"]}, {"u": b["u"][:, i]}) for i in range(4)])
    # a tuple argument given a tuple prefix, one entry per element
    pair = (r.standard_normal((4, 2)), r.standard_normal(2))
    out = cr.vmap(lambda p: p[0] @ p[1], in_axes=((0, None),))(pair)
    close(out, pair[0] @ pair[1])


def test_out_axes_pytree_prefix():
    X = rng(12).standard_normal((4, 3))
    d = cr.vmap(lambda x: {"s": cnp.sum(x), "v": (x + 1, x * 2)},
                out_axes={"s": 0, "v": (1, -1)})(X)
    close(d["s"], X.sum(1))
    close(d["v"][0], (X + 1).T)
    close(d["v"][1], (X * 2).T)


def test_kwargs_are_batched_along_axis_0():
    r = rng(13)
    X = r.standard_normal((4, 3))
    s = r.standard_normal(4)

    def f(x, scale=1.0):
        return x * scale

    # positional in_axes=1 does not apply to keyword arguments: they are mapped on axis 0
    out = cr.vmap(f, in_axes=(1,))(X.T, scale=s)
    close(out, X * s[:, None])
    out = cr.vmap(f, in_axes=0)(X, scale=s)
    close(out, X * s[:, None])
    # a keyword pytree is batched along axis 0 in every leaf
    g = lambda x, p=None: x * p["a"] + p["b"]
    out = cr.vmap(g)(X, p={"a": s, "b": X})
    close(out, X * s[:, None] + X)
    # so a keyword argument whose axis 0 has another size is an inconsistent size
    with pytest.raises(ValueError, match="inconsistent sizes"):
        cr.vmap(f)(X, scale=np.ones(3))
    # a scalar keyword argument has no axis 0 to map
    with pytest.raises(ValueError, match="axis 0"):
        cr.vmap(f)(X, scale=2.0)
    # and an unbatched constant must be passed positionally with in_axes None (or closed over)
    out = cr.vmap(f, in_axes=(0, None))(X, 3.0)
    close(out, 3 * X)


def test_nested_vmap_with_different_axes():
    r = rng(14)
    A = r.standard_normal((3, 4, 5))
    B = r.standard_normal((5, 4))

    def f(a, b):  # a: (), b: ()
        return cnp.sin(a) * b

    # outer over axis 1 of A and axis 1 of B, inner over axis 1 (originally 2) of A, 0 of B
    inner = cr.vmap(f, in_axes=(1, 0))
    outer = cr.vmap(inner, in_axes=(1, 1))
    out = outer(A, B)
    want = np.empty((4, 5, 3))
    for i in range(4):
        for j in range(5):
            want[i, j] = np.sin(A[:, i, j]) * B[j, i]
    assert out.shape == (4, 5, 3)
    close(out, want)
    # out_axes on both levels
    out = cr.vmap(cr.vmap(f, in_axes=(1, 0), out_axes=1), in_axes=(1, 1), out_axes=2)(A, B)
    assert out.shape == (3, 5, 4)
    close(out, np.transpose(want, (2, 1, 0)))
    # inner mapped, outer broadcast (in_axes None at the outer level)
    v = r.standard_normal(4)
    out = cr.vmap(cr.vmap(lambda a, c: a * c, in_axes=(0, None)), in_axes=(None, 0))(v, v)
    close(out, np.outer(v, v))


def test_axis_size_with_no_mapped_input():
    out = cr.vmap(lambda x: x * 2.0, in_axes=None, axis_size=3)(np.arange(2.0))
    close(out, np.tile([0.0, 2.0], (3, 1)))
    out = cr.vmap(lambda: cnp.ones(2), axis_size=4)()
    assert out.shape == (4, 2)
    out = cr.vmap(lambda: cr.lax.axis_index("i") * 1.5, axis_size=5, axis_name="i")()
    close(out, 1.5 * np.arange(5))
    # with out_axes
    out = cr.vmap(lambda x: x + 1, in_axes=None, axis_size=3, out_axes=1)(np.zeros(2))
    close(out, np.ones((2, 3)))
    # axis_size that agrees with the mapped inputs is accepted
    close(cr.vmap(lambda x: x, axis_size=3)(np.arange(3.0)), np.arange(3.0))


def test_unbatched_and_integer_outputs():
    X = rng(15).standard_normal((4, 3))
    out = cr.vmap(lambda x: (cnp.argmax(x), x.shape[0], 7.0))(X)
    close(out[0], X.argmax(1))
    assert out[0].dtype.kind == "i"
    close(out[1], [3] * 4)
    close(out[2], [7.0] * 4)


M23 = rng(16).standard_normal((2, 3))
IDX = np.array([2, 0, 1])
PER_EXAMPLE = {
    "T": lambda x: x.T,
    "reshape": lambda x: cnp.reshape(x, (3, 2)),
    "newaxis": lambda x: x[None, :, None],
    "ellipsis": lambda x: x[..., 1],
    "negstep": lambda x: x[::-1, ::2],
    "fancy": lambda x: x[np.array([1, 0, 1]), IDX],
    "bcast_unbatched": lambda x: x + M23,
    "bcast_higher_rank": lambda x: x[0] * np.ones((4, 3)),
    "matmul_left": lambda x: np.ones((4, 2)) @ x,
    "matmul_self": lambda x: x @ x.T,
    "einsum": lambda x: cnp.einsum("ij,kj->ik", x, M23),
    "sum_keepdims": lambda x: cnp.sum(x, axis=0, keepdims=True),
    "max": lambda x: cnp.max(x, axis=-1),
    "var": lambda x: cnp.var(x, axis=1),
    "cumsum_flat": lambda x: cnp.cumsum(x),
    "sort": lambda x: cnp.sort(x, axis=0),
    "concat_unbatched": lambda x: cnp.concatenate([M23, x], axis=1),
    "stack": lambda x: cnp.stack([x, M23, x], axis=1),
    "where": lambda x: cnp.where(x > 0, M23, x),
    "pad": lambda x: cnp.pad(x, ((1, 0), (0, 2))),
    "roll": lambda x: cnp.roll(x, 1, axis=1),
    "take": lambda x: cnp.take(x, IDX, axis=1),
    "at_add": lambda x: cnp.at(x)[:, np.array([0, 0, 2])].add(x[0]),
    "traced_index": lambda x: x[:, cnp.argmax(x[0])],
    "logsumexp": lambda x: cnp.log(cnp.sum(cnp.exp(x - cnp.max(x)))),
    "iterate_rows": lambda x: sum(row * row for row in x),
}


@pytest.mark.parametrize("name", list(PER_EXAMPLE))
def test_composites_with_batch_axis_anywhere(name):
    """Functions written for one example: batch axis in, out and under grad, vs a loop."""
    f = PER_EXAMPLE[name]
    X = rng(17).standard_normal((4, 2, 3))
    want = loop(f, X)
    for ax in (0, 1, -1):
        for oa in (0, -1):
            got = cr.vmap(f, in_axes=ax, out_axes=oa)(np.moveaxis(X, 0, ax))
            close(np.moveaxis(got, oa, 0), want)
    W = rng(18).standard_normal(want.shape)
    g_loop = np.stack([cr.grad(lambda x: cnp.sum(f(x) * W[i]))(X[i]) for i in range(4)])
    g = cr.grad(lambda X: cnp.sum(cr.vmap(f, in_axes=2)(X) * W))(np.moveaxis(X, 0, 2))
    close(np.moveaxis(g, 2, 0), g_loop)
    g = cr.vmap(lambda x, w: cr.grad(lambda x: cnp.sum(f(x) * w))(x), in_axes=(1, 0))(
        np.moveaxis(X, 0, 1), W)
    close(g, g_loop)


# ---------------------------------------------------------------------------------------------
# errors


def test_error_inconsistent_sizes_names_the_sizes():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*3.*4|inconsistent sizes.*4.*3"):
        cr.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="inconsistent sizes"):
        cr.vmap(lambda a, b: a * b, in_axes=(0, 1))(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="axis_size"):
        cr.vmap(lambda a: a, axis_size=5)(np.ones(3))


def test_error_in_axes_tree_mismatch():
    with pytest.raises(ValueError, match="in_axes"):
        cr.vmap(lambda a, b: a + b, in_axes=(0, 0, 0))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        cr.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np.ones(3)})
    with pytest.raises(ValueError, match="in_axes"):
        cr.vmap(lambda p: p[0], in_axes=((0, 0, 0),))((np.ones(3), np.ones(3)))
    with pytest.raises(TypeError, match="in_axes"):
        cr.vmap(lambda a: a, in_axes=1.5)(np.ones(3))


def test_error_out_axes_none_for_batched_output():
    with pytest.raises(ValueError, match="out_axes=None"):
        cr.vmap(lambda x: x * 2, out_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="out_axes=None"):
        cr.vmap(lambda x: (x, 1.0), out_axes=(None, None))(np.ones(3))
    with pytest.raises(ValueError, match="out_axes"):
        cr.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(np.ones(3))


def test_error_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 1"):
        cr.vmap(lambda a: a, in_axes=1)(np.ones(3))
    with pytest.raises(ValueError, match="axis -3"):
        cr.vmap(lambda a: a, in_axes=-3)(np.ones((3, 2)))
    with pytest.raises(ValueError, match="axis"):
        cr.vmap(lambda a: a)(np.float64(2.0))  # a scalar has no axis 0
    with pytest.raises(ValueError, match="out_axes"):
        cr.vmap(lambda a: a, out_axes=2)(np.ones(3))
    with pytest.raises(ValueError, match="out_axes"):
        cr.vmap(lambda a: a, out_axes=-3)(np.ones(3))


def test_error_no_batched_input_without_axis_size():
    with pytest.raises(ValueError, match="axis_size"):
        cr.vmap(lambda a: a, in_axes=None)(np.ones(3))


def piecewise(x):
    if x > 0:  # the line the error must name
        return x
    return -x


PIECEWISE_LINE = piecewise.__code__.co_firstlineno + 1


def test_python_control_flow_on_batched_value_names_line_and_where():
    with pytest.raises(TypeError) as info:
        cr.vmap(piecewise)(np.array([1.0, -1.0]))
    msg = str(info.value)
    assert f"{THIS_FILE}:{PIECEWISE_LINE}" in msg, msg
    assert "where" in msg
    assert "if x > 0" in msg
    # the fix the message suggests works
    close(cr.vmap(lambda x: cnp.where(x > 0, x, -x))(np.array([1.0, -1.0])), [1.0, 1.0])
    # control flow on unbatched values and on shapes is fine
    f = lambda x, c: x * 2 if c > 0 and x.shape == (3,) else x
    close(cr.vmap(f, in_axes=(0, None))(np.ones((2, 3)), 1.0), 2 * np.ones((2, 3)))
    # under grad inside vmap the value is still batched, so it is still an error
    with pytest.raises(TypeError, match="where"):
        cr.vmap(cr.grad(piecewise))(np.array([1.0, -1.0]))


# =============================================================================================
# Composition, in any order, each against a loop


def f_scalar(x):
    return cnp.sum(cnp.sin(x) * cnp.exp(-x ** 2) + x[0] * x ** 3)


XB = rng(20).standard_normal((6, 4))


def test_vmap_of_grad():
    close(cr.vmap(cr.grad(f_scalar))(XB), loop(cr.grad(f_scalar), XB))


def test_grad_of_vmap_sum():
    g = cr.grad(lambda X: cnp.sum(cr.vmap(f_scalar)(X)))(XB)
    close(g, loop(cr.grad(f_scalar), XB))
    # with in_axes=1 and a weighting
    w = np.arange(1.0, 7.0)
    g = cr.grad(lambda Xt: cnp.dot(cr.vmap(f_scalar, in_axes=1)(Xt), w))(XB.T)
    close(g, (loop(cr.grad(f_scalar), XB) * w[:, None]).T)


def test_vmap_vmap_grad():
    X3 = rng(21).standard_normal((3, 5, 4))
    out = cr.vmap(cr.vmap(cr.grad(f_scalar)))(X3)
    close(out, [[cr.grad(f_scalar)(X3[i, j]) for j in range(5)] for i in range(3)])
    out = cr.vmap(cr.vmap(cr.grad(f_scalar)), in_axes=1)(X3)
    close(out, [[cr.grad(f_scalar)(X3[i, j]) for i in range(3)] for j in range(5)])


def test_jvp_of_vmap():
    T = rng(22).standard_normal(XB.shape)
    y, t = cr.jvp(cr.vmap(f_scalar), (XB,), (T,))
    close(y, loop(f_scalar, XB))
    close(t, [cr.jvp(f_scalar, (XB[i],), (T[i],))[1] for i in range(6)])


def test_vmap_of_jvp():
    T = rng(23).standard_normal(XB.shape)

    def push(x, t):
        return cr.jvp(f_scalar, (x,), (t,))

    y, t = cr.vmap(push)(XB, T)
    wy, wt = loop(push, XB, T)
    close(y, wy)
    close(t, wt)
    # one tangent shared by the whole batch
    y, t = cr.vmap(push, in_axes=(0, None))(XB, T[0])
    close(t, loop(lambda x: push(x, T[0])[1], XB))
    # batched tangents at one point
    y, t = cr.vmap(push, in_axes=(None, 0))(XB[0], T)
    close(t, loop(lambda t: push(XB[0], t)[1], T))


def test_vmap_of_vjp():
    def g(x):
        return cnp.tanh(x) * x[::-1]

    CT = rng(24).standard_normal(XB.shape)

    def pull(x, ct):
        y, f_vjp = cr.vjp(g, x)
        return y, f_vjp(ct)[0]

    y, c = cr.vmap(pull)(XB, CT)
    wy, wc = loop(pull, XB, CT)
    close(y, wy)
    close(c, wc)
    # the pullback itself, vmapped over cotangents at a fixed point
    _, f_vjp = cr.vjp(g, XB[0])
    close(cr.vmap(f_vjp)(CT)[0], [f_vjp(ct)[0] for ct in CT])


def test_vmap_of_hessian():
    H = cr.vmap(cr.hessian(f_scalar))(XB)
    assert H.shape == (6, 4, 4)
    close(H, loop(cr.hessian(f_scalar), XB))
    close(H, loop(cr.jacrev(cr.jacrev(f_scalar)), XB))


def test_hessian_of_vmap_sum_and_jacobians_of_vmap():
    x = XB[0]
    # jacobian of a batched function of a batch: block diagonal
    J = cr.jacrev(cr.vmap(f_scalar))(XB)
    assert J.shape == (6, 6, 4)
    for i in range(6):
        for j in range(6):
            close(J[i, j], cr.grad(f_scalar)(XB[i]) if i == j else np.zeros(4))
    close(cr.jacfwd(cr.vmap(f_scalar))(XB), J)
    H = cr.hessian(lambda x: cnp.sum(cr.vmap(lambda a, b: a * b * cnp.sin(a),
                                             in_axes=(0, None))(x, x[1])))(x)
    close(H, cr.hessian(lambda x: cnp.sum(x * x[1] * cnp.sin(x)))(x))


def test_grad_of_vmap_of_grad_and_vmap_of_grad_of_grad():
    # d/dx sum_i f'(x_i) elementwise = f''(x)
    f = lambda x: cnp.sin(x) * x ** 2
    x = np.linspace(-2, 2, 9)
    out = cr.grad(lambda x: cnp.sum(cr.vmap(cr.grad(f))(x)))(x)
    close(out, [cr.grad(cr.grad(f))(xi) for xi in x])
    close(cr.vmap(cr.grad(cr.grad(f)))(x), out)
    close(cr.jvp(cr.vmap(cr.grad(f)), (x,), (np.ones(9),))[1], out)


def test_vmap_and_jit_in_either_order():
    f = lambda x, w: cnp.tanh(x @ w) * cnp.sum(x)
    w = rng(25).standard_normal((4, 2))
    want = loop(lambda x: f(x, w), XB)
    close(cr.vmap(cr.jit(f), in_axes=(0, None))(XB, w), want)
    close(cr.jit(cr.vmap(f, in_axes=(0, None)))(XB, w), want)
    g = cr.grad(lambda x, w: cnp.sum(f(x, w)))
    close(cr.jit(cr.vmap(g, in_axes=(0, None)))(XB, w), loop(lambda x: g(x, w), XB))
    close(cr.vmap(cr.jit(g), in_axes=(0, None))(XB, w), loop(lambda x: g(x, w), XB))


def test_vmap_closure_over_outer_tracer():
    # a vmapped function closing over a value being differentiated from outside
    def outer(s):
        return cnp.sum(cr.vmap(lambda x: cnp.sin(s * x))(XB[:, 0]))

    s = 0.7
    close(cr.grad(outer)(s), np.sum(XB[:, 0] * np.cos(s * XB[:, 0])))
    # and a vmap inside grad inside vmap
    out = cr.vmap(cr.grad(outer))(np.array([0.1, 0.2, 0.3]))
    close(out, [cr.grad(outer)(v) for v in (0.1, 0.2, 0.3)])


# =============================================================================================
# The loop fallback for a primitive without a batching rule


def test_loop_fallback_warns_once_names_primitive_and_matches_loop():
    @cr.extend.primitive
    def vmap_test_softplus_sum(x):
        return np.array(np.sum(np.logaddexp(0.0, x)))

    cr.extend.defvjp(vmap_test_softplus_sum,
                     lambda ans, x: lambda g: g * (1.0 / (1.0 + cnp.exp(-x))))
    X = rng(30).standard_normal((5, 3))
    with pytest.warns(UserWarning, match="vmap_test_softplus_sum") as rec:
        out = cr.vmap(vmap_test_softplus_sum)(X)
    assert len([w for w in rec if "vmap_test_softplus_sum" in str(w.message)]) == 1
    close(out, [np.sum(np.logaddexp(0.0, x)) for x in X])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second vmap does not warn again
        out2 = cr.vmap(vmap_test_softplus_sum, in_axes=1)(X.T)
        grads = cr.vmap(cr.grad(vmap_test_softplus_sum))(X)
        gsum = cr.grad(lambda X: cnp.sum(cr.vmap(vmap_test_softplus_sum)(X)))(X)
    close(out2, out)
    close(grads, 1 / (1 + np.exp(-X)))
    close(gsum, 1 / (1 + np.exp(-X)))
    # with an unbatched argument beside the batched one, and nested vmap
    @cr.extend.primitive
    def vmap_test_wdot(w, x):
        return np.array(np.dot(w, x))

    w = np.arange(3.0)
    with pytest.warns(UserWarning, match="vmap_test_wdot"):
        out = cr.vmap(vmap_test_wdot, in_axes=(None, 0))(w, X)
    close(out, X @ w)
    X3 = rng(31).standard_normal((2, 5, 3))
    close(cr.vmap(cr.vmap(vmap_test_wdot, in_axes=(None, 0)), in_axes=(None, 0))(w, X3), X3 @ w)


def test_loop_fallback_warning_points_at_the_callers_line():
    @cr.extend.primitive
    def vmap_test_where_warned(x):
        return np.array(np.sum(x))

    with pytest.warns(UserWarning, match="vmap_test_where_warned") as rec:
        cr.vmap(vmap_test_where_warned)(np.ones((2, 3)))
    assert [os.path.basename(w.filename) for w in rec] == [THIS_FILE]


# =============================================================================================
# Collectives


XC = rng(40).standard_normal((5, 3))


@pytest.mark.parametrize("name, fn, ref", [
    ("psum", cr.lax.psum, lambda X: np.broadcast_to(X.sum(0), X.shape)),
    ("pmean", cr.lax.pmean, lambda X: np.broadcast_to(X.mean(0), X.shape)),
    ("pmax", cr.lax.pmax, lambda X: np.broadcast_to(X.max(0), X.shape)),
    ("pmin", cr.lax.pmin, lambda X: np.broadcast_to(X.min(0), X.shape)),
    ("all_gather", cr.lax.all_gather, lambda X: np.broadcast_to(X, (len(X),) + X.shape)),
])
def test_collective_values_and_gradients(name, fn, ref):
    out = cr.vmap(lambda x: fn(x, "i"), axis_name="i")(XC)
    close(out, ref(XC))
    # the same with the batch on axis 1 and out_axes 1
    out = cr.vmap(lambda x: fn(x, "i"), in_axes=1, out_axes=-1, axis_name="i")(XC.T)
    close(np.moveaxis(out, -1, 0), ref(XC))
    # gradient of a weighted sum, from outside the vmap, against the NumPy formula's
    # finite differences
    W = rng(41).standard_normal(np.shape(ref(XC)))

    def loss(X):
        return cnp.sum(cnp.sin(cr.vmap(lambda x: fn(x * x, "i"), axis_name="i")(X)) * W)

    def loss_np(X):
        return np.sum(np.sin(ref(X * X)) * W)

    g = cr.grad(loss)(XC)
    eps = 1e-6
    fd = np.zeros_like(XC)
    for idx in np.ndindex(XC.shape):
        e = np.zeros_like(XC)
        e[idx] = eps
        fd[idx] = (loss_np(XC + e) - loss_np(XC - e)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # forward mode agrees with reverse mode
    T = rng(42).standard_normal(XC.shape)
    close(cr.jvp(loss, (XC,), (T,))[1], np.sum(g * T))
    # the collective's own JVP rule (jvp inside the vmap) agrees with jvp of the vmap
    f = lambda x: cnp.sin(fn(x * x, "i"))
    inside = cr.vmap(lambda x, t: cr.jvp(f, (x,), (t,))[1], axis_name="i")(XC, T)
    outside = cr.jvp(cr.vmap(f, axis_name="i"), (XC,), (T,))[1]
    close(inside, outside)
    # and its VJP rule (vjp inside the vmap, batched cotangents) agrees with vjp of the vmap
    CT = rng(43).standard_normal(np.shape(ref(XC)))
    inside = cr.vmap(lambda x, c: cr.vjp(f, x)[1](c)[0], axis_name="i")(XC, CT)
    outside = cr.vjp(cr.vmap(f, axis_name="i"), XC)[1](CT)[0]
    close(inside, outside)


def test_axis_index_values_and_use():
    out = cr.vmap(lambda x: cr.lax.axis_index("i") + 0 * x, axis_name="i")(XC[:, 0])
    close(out, np.arange(5.0))
    # one-hot from axis_index, differentiated through
    X = XC
    f = lambda x: x * (cr.lax.axis_index("i") + 1.0)
    close(cr.vmap(f, axis_name="i")(X), X * np.arange(1.0, 6.0)[:, None])
    g = cr.grad(lambda X: cnp.sum(cr.vmap(f, axis_name="i")(X)))(X)
    close(g, np.broadcast_to(np.arange(1.0, 6.0)[:, None], X.shape))
    # nested axes: each level has its own index
    out = cr.vmap(cr.vmap(lambda x: cr.lax.axis_index("i") * 10 + cr.lax.axis_index("j") + x,
                          axis_name="j"), axis_name="i")(np.zeros((3, 4)))
    close(out, 10 * np.arange(3)[:, None] + np.arange(4)[None, :])


def test_collectives_over_nested_named_axes():
    X = rng(44).standard_normal((3, 4, 2))
    f = lambda x: cr.lax.psum(x, "i")
    close(cr.vmap(cr.vmap(f, axis_name="j"), axis_name="i")(X),
          np.broadcast_to(X.sum(0), X.shape))
    close(cr.vmap(cr.vmap(lambda x: cr.lax.psum(x, "i"), axis_name="j"),
                  axis_name="i", in_axes=1)(X),
          np.broadcast_to(X.sum(1, keepdims=True), X.shape).transpose(1, 0, 2))
    both = cr.vmap(cr.vmap(lambda x: cr.lax.psum(x, ("i", "j")), axis_name="j"),
                   axis_name="i")(X)
    close(both, np.broadcast_to(X.sum((0, 1)), X.shape))
    close(cr.vmap(cr.vmap(lambda x: cr.lax.pmean(x, "j"), axis_name="j"), axis_name="i")(X),
          np.broadcast_to(X.mean(1, keepdims=True), X.shape))
    # a value that does not vary along the named axis
    out = cr.vmap(lambda x: cr.lax.psum(2.0, "i") + 0 * x, axis_name="i")(X[:, 0, 0])
    close(out, np.full(3, 6.0))
    # psum of a pytree
    d = cr.vmap(lambda x: cr.lax.psum({"a": x, "b": 2 * x}, "i"), axis_name="i")(X[:, 0, 0])
    close(d["a"], np.full(3, X[:, 0, 0].sum()))
    close(d["b"], np.full(3, 2 * X[:, 0, 0].sum()))


@pytest.mark.parametrize("name, fn, ref", [
    ("psum", cr.lax.psum, lambda X: np.broadcast_to(X.sum(0), X.shape)),
    ("pmean", cr.lax.pmean, lambda X: np.broadcast_to(X.mean(0), X.shape)),
    ("all_gather", cr.lax.all_gather, lambda X: np.broadcast_to(X, (len(X),) + X.shape)),
])
def test_collectives_inside_jit_inside_vmap(name, fn, ref):
    out = cr.vmap(cr.jit(lambda x: fn(x, "i")), axis_name="i")(XC)
    close(out, ref(XC))


def test_grad_through_collective_inside_jit_inside_vmap():
    f = lambda x: x * cr.lax.psum(x, "i")
    loss = lambda f: (lambda X: cnp.sum(cr.vmap(f, axis_name="i")(X)))
    close(cr.grad(loss(cr.jit(f)))(XC), cr.grad(loss(f))(XC))


def test_collective_errors():
    with pytest.raises(NameError, match="'k'"):
        cr.vmap(lambda x: cr.lax.psum(x, "k"), axis_name="i")(np.ones(3))
    with pytest.raises(NameError):
        cr.lax.psum(np.ones(3), "i")


def test_softmax_normalisation_with_psum_matches_unbatched():
    z = rng(45).standard_normal(7)

    def named(z):
        e = cnp.exp(z - cr.lax.pmax(z, "n"))
        return e / cr.lax.psum(e, "n")

    def full(z):
        e = cnp.exp(z - cnp.max(z))
        return e / cnp.sum(e)

    close(cr.vmap(named, axis_name="n")(z), full(z))
    w = np.arange(7.0)
    close(cr.grad(lambda z: cnp.dot(cr.vmap(named, axis_name="n")(z), w))(z),
          cr.grad(lambda z: cnp.dot(full(z), w))(z))


# =============================================================================================
# vectorize and apply_along_axis


def test_vectorize_dot_signature_broadcasts_loop_dims():
    r = rng(50)
    vdot = cnp.vectorize(cnp.dot, signature="(n),(n)->()")
    a, b = r.standard_normal((4, 1, 3)), r.standard_normal((5, 3))
    out = vdot(a, b)
    assert out.shape == (4, 5)
    close(out, np.vectorize(np.dot, signature="(n),(n)->()")(a, b))
    # differentiable
    g = cr.grad(lambda a: cnp.sum(vdot(a, b)))(a)
    close(g, np.broadcast_to(b.sum(0), a.shape))


def test_vectorize_matmul_signature():
    r = rng(51)
    vmm = cnp.vectorize(lambda x, y: x @ y, signature="(m,n),(n,k)->(m,k)")
    a, b = r.standard_normal((2, 3, 4, 5)), r.standard_normal((3, 5, 6))
    out = vmm(a, b)
    assert out.shape == (2, 3, 4, 6)
    close(out, np.matmul(a, b))
    with pytest.raises(ValueError, match="n"):
        vmm(a, r.standard_normal((3, 4, 6)))


def test_vectorize_scalar_function_with_branches_by_where():
    def relu_sq(x, y):
        return cnp.where(x > y, (x - y) ** 2, 0.0)

    v = cnp.vectorize(relu_sq)
    r = rng(52)
    x, y = r.standard_normal((3, 4)), r.standard_normal(4)
    close(v(x, y), np.vectorize(lambda x, y: (x - y) ** 2 if x > y else 0.0)(x, y))
    close(cr.grad(lambda x: cnp.sum(v(x, y)))(x), np.where(x > y, 2 * (x - y), 0.0))


def test_vectorize_excluded_positional_and_keyword():
    def poly(x, coeffs, power=2):
        return sum(c * x ** (power * k) for k, c in enumerate(coeffs))

    coeffs = [1.0, -2.0, 0.5]  # a list: would be broadcast if not excluded
    v = cnp.vectorize(poly, excluded={1, "power"})
    x = np.linspace(-1, 1, 6)
    close(v(x, coeffs), np.vectorize(poly, excluded={1, "power"})(x, coeffs))
    close(v(x, coeffs, power=1), [poly(xi, coeffs, power=1) for xi in x])
    # an excluded argument with a signature
    w = cnp.vectorize(lambda x, axis: cnp.sum(x, axis=axis), excluded={1},
                      signature="(m,n)->(n)")
    A = rng(53).standard_normal((4, 2, 3))
    close(w(A, 0), A.sum(1))


def test_vectorize_multiple_outputs():
    v = cnp.vectorize(lambda x: (cnp.sum(x), cnp.max(x)), signature="(n)->(),()")
    A = rng(54).standard_normal((4, 5, 3))
    s, m = v(A)
    close(s, A.sum(-1))
    close(m, A.max(-1))


def test_vectorize_checks_output_core_dims():
    with pytest.raises(ValueError):
        cnp.vectorize(cnp.sum, signature="(n)->(n)")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="n"):
        cnp.vectorize(lambda x: x[:2], signature="(n)->(n)")(np.ones((2, 3)))


ALONG_AXIS = {  # name: (the function on NumPy arrays, the same on chainrule arrays)
    "scalar": (lambda r: np.sum(r ** 2), lambda r: cnp.sum(r ** 2)),
    "same_len": (lambda r: r[::-1] * 2, lambda r: r[::-1] * 2),
    "shorter": (lambda r: r[:2], lambda r: r[:2]),
    "matrix": (lambda r: np.outer(r[:2], r[:3]), lambda r: cnp.outer(r[:2], r[:3])),
}


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("name", list(ALONG_AXIS))
def test_apply_along_axis_vs_numpy(axis, name):
    np_func, cnp_func = ALONG_AXIS[name]
    A = rng(55).standard_normal((3, 4, 5))
    want = np.apply_along_axis(np_func, axis, A)
    out = cnp.apply_along_axis(cnp_func, axis, A)
    assert out.shape == want.shape
    close(out, want)


def test_apply_along_axis_extra_args_and_gradient():
    A = rng(56).standard_normal((3, 4))
    out = cnp.apply_along_axis(lambda r, p, scale=1.0: cnp.sum(r ** p) * scale, 1, A, 3,
                               scale=2.0)
    close(out, 2 * (A ** 3).sum(1))
    weights = np.arange(3.0)[:, None]
    g = cr.grad(lambda A: cnp.sum(cnp.apply_along_axis(cnp.sort, 0, A) * weights))(A)
    ranks = np.argsort(np.argsort(A, axis=0), axis=0)
    close(g, ranks.astype(float))


def test_out_of_bounds_index_under_vmap_names_the_examples_axis():
    cases = [(lambda x: x[5], np.ones((3, 4)), 0, {}),
             (lambda x: x[5], np.ones((4, 3)), 0, {"in_axes": 1}),
             (lambda x: x[:, np.array([7])], np.ones((3, 4, 5)), 1, {}),
             (lambda x: x.at[1, 9].set(0.0), np.ones((3, 4, 5)), 1, {})]
    for f, x, axis, kw in cases:
        one = np.take(x, 0, axis=kw.get("in_axes", 0))
        with pytest.raises(IndexError) as eager:
            _eager_index(f, one)
        with pytest.raises(IndexError, match=f"for axis {axis} with size") as mapped:
            cr.vmap(f, **kw)(x)
        assert str(mapped.value) == str(eager.value)


def _eager_index(f, one):
    # the unbatched call on a traced value (so .at works as on tracers)
    return cr.jvp(f, (one,), (np.zeros_like(one),))
