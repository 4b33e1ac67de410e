"""The contract of chainrule's foundation: errors, pytrees through every transform, the
variants of the transforms (value_and_grad, has_aux, argnums, linearize), Python control flow,
custom rules, checkpoint, the extension API, eager NumPy semantics and tracer array
behaviour."""

import collections
import dataclasses
import functools
import os
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import tree_util as tu
from chainrule.test_util import check_grads

RNG = np.random.default_rng(0)
THIS_FILE = os.path.basename(__file__)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def tree_close(a, b, tol=1e-10):
    la, ta = tu.tree_flatten(a)
    lb, tb = tu.tree_flatten(b)
    assert ta == tb, (ta, tb)
    for x, y in zip(la, lb):
        assert np.shape(x) == np.shape(y), (np.shape(x), np.shape(y))
        close(x, y, tol)


def fd_grad(f, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# =============================================================================================
# Errors


def test_grad_of_non_scalar_output():
    with pytest.raises(TypeError, match="scalar"):
        cr.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match="scalar"):
        cr.grad(lambda x: (cnp.sum(x), cnp.sum(x)))(np.ones(3))


@pytest.mark.parametrize("transform", [cr.grad, cr.jacrev, cr.jacfwd, cr.hessian])
def test_differentiating_integer_inputs(transform):
    with pytest.raises(TypeError, match="(?i)int|float"):
        transform(lambda x: cnp.sum(x * 1.0))(np.arange(3))
    with pytest.raises(TypeError, match="(?i)int|float"):
        transform(lambda x: x * 1.0)(3)


def test_allow_int_gives_float0():
    g = cr.grad(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    close(g[0], 3.0)
    assert g[1].dtype == cr.float0


@pytest.mark.parametrize("argnums", [2, -3, (0, 2), (5,)])
def test_argnums_out_of_range(argnums):
    with pytest.raises(ValueError, match="argnums"):
        cr.grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)
    with pytest.raises(ValueError, match="argnums"):
        cr.jacrev(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)
    with pytest.raises(ValueError, match="argnums"):
        cr.jacfwd(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)


def test_jvp_tangent_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        cr.jvp(cnp.sin, (np.ones(3),), (np.ones(4),))
    with pytest.raises(ValueError, match="shape"):
        cr.jvp(cnp.sin, (np.ones((2, 3)),), (np.ones(3),))


def test_jvp_tangent_dtype_mismatch():
    with pytest.raises(TypeError, match="dtype"):
        cr.jvp(cnp.sin, (np.ones(3, np.float32),), (np.ones(3, np.float64),))
    with pytest.raises(TypeError, match="dtype"):
        cr.jvp(cnp.sin, (np.ones(3),), (np.ones(3, np.int64),))


def test_jvp_tangent_structure_mismatch():
    with pytest.raises((ValueError, TypeError)):
        cr.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))
    with pytest.raises((ValueError, TypeError)):
        cr.jvp(lambda d: d["a"], ({"a": 1.0},), ({"b": 1.0},))


def test_has_aux_must_return_a_pair():
    with pytest.raises(TypeError, match="pair"):
        cr.grad(lambda x: x ** 2, has_aux=True)(1.0)
    with pytest.raises(TypeError, match="pair"):
        cr.grad(lambda x: (x ** 2, 1.0, 2.0), has_aux=True)(1.0)
    with pytest.raises(TypeError, match="pair"):
        cr.vjp(lambda x: x ** 2, 1.0, has_aux=True)
    with pytest.raises(TypeError, match="pair"):
        cr.jvp(lambda x: x ** 2, (1.0,), (1.0,), has_aux=True)
    with pytest.raises(TypeError, match="pair"):
        cr.value_and_grad(lambda x: x ** 2, has_aux=True)(1.0)


def test_vmap_inconsistent_batch_sizes():
    with pytest.raises(ValueError, match="(?i)inconsistent|size"):
        cr.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="(?i)inconsistent|size"):
        cr.vmap(lambda a, b: a + b, in_axes=(0, 1))(np.ones((3, 2)), np.ones((3, 2)))


def test_vmap_in_axes_tree_mismatch():
    with pytest.raises(ValueError, match="in_axes"):
        cr.vmap(lambda a, b: a + b, in_axes=(0, 0, 0))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        cr.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np.ones(3)})
    with pytest.raises(ValueError, match="in_axes"):
        cr.vmap(lambda p: p[0], in_axes=((0, 0, 0),))((np.ones(3), np.ones(3)))


def test_vmap_axis_out_of_range():
    with pytest.raises(ValueError, match="axis"):
        cr.vmap(lambda a: a, in_axes=1)(np.ones(3))


def test_errors_for_non_callables():
    for t in (cr.grad, cr.jacfwd, cr.jacrev, cr.vmap):
        with pytest.raises(TypeError, match="callable"):
            t(3.0)


# =============================================================================================
# Pytrees through every transform

Point = collections.namedtuple("Point", ["x", "y"])


def tree_fun(p):
    """dict/tuple/list/None/namedtuple in, a scalar out."""
    return (cnp.sum(p["w"] ** 2) + p["pair"][0] * p["pair"][1]
            + cnp.sum(cnp.sin(p["lst"][0])) + p["pt"].x * p["pt"].y ** 2)


def tree_params():
    return {"w": np.array([1.0, -2.0, 0.5]), "pair": (2.0, 3.0),
            "lst": [np.array([[0.1, 0.2], [0.3, 0.4]])], "none": None,
            "pt": Point(np.array(1.5), np.array(-1.0))}


def test_grad_pytree_in():
    p = tree_params()
    g = cr.grad(tree_fun)(p)
    assert set(g) == set(p)
    assert g["none"] is None
    assert isinstance(g["pair"], tuple) and isinstance(g["lst"], list)
    assert type(g["pt"]) is Point
    close(g["w"], 2 * p["w"])
    close(g["pair"][0], 3.0)
    close(g["pair"][1], 2.0)
    close(g["lst"][0], np.cos(p["lst"][0]))
    close(g["pt"].x, 1.0)
    close(g["pt"].y, 2 * 1.5 * -1.0)


def out_tree_fun(p):
    return {"a": p["w"] * 2, "b": (p["pt"].x * p["pt"].y, None), "c": [cnp.sum(p["lst"][0])]}


def test_vjp_pytree_in_and_out():
    p = tree_params()
    out, f_vjp = cr.vjp(out_tree_fun, p)
    assert set(out) == {"a", "b", "c"} and out["b"][1] is None
    ct = {"a": np.ones(3), "b": (np.array(2.0), None), "c": [np.array(1.0)]}
    (g,) = f_vjp(ct)
    close(g["w"], 2 * np.ones(3))
    close(g["pt"].x, 2.0 * p["pt"].y)
    close(g["pt"].y, 2.0 * p["pt"].x)
    close(g["lst"][0], np.ones((2, 2)))
    close(g["pair"][0], 0.0)
    assert g["none"] is None
    with pytest.raises(ValueError):
        f_vjp({"a": np.ones(3)})
    with pytest.raises(ValueError, match="shape"):
        f_vjp({"a": np.ones(4), "b": (np.array(2.0), None), "c": [np.array(1.0)]})


def test_vjp_several_primals():
    out, f_vjp = cr.vjp(lambda a, b: {"s": a * b}, 2.0, [3.0, 4.0])
    ga, gb = f_vjp({"s": np.ones(2)})
    close(ga, 7.0)
    assert isinstance(gb, list)
    close(gb[0], 2.0)
    close(gb[1], 2.0)


def test_jvp_pytree_in_and_out():
    p = tree_params()
    t = tu.tree_map(lambda x: np.ones_like(np.asarray(x, float)), p)
    out, tout = cr.jvp(out_tree_fun, (p,), (t,))
    assert tu.tree_structure(out) == tu.tree_structure(tout)
    close(tout["a"], 2 * np.ones(3))
    close(tout["b"][0], p["pt"].x + p["pt"].y)
    assert tout["b"][1] is None
    close(tout["c"][0], 4.0)


def test_jvp_output_not_depending_on_input_gives_zero_tangent():
    y, t = cr.jvp(lambda x: (x, np.ones(2)), (1.0,), (1.0,))
    close(t[0], 1.0)
    close(t[1], np.zeros(2))


def test_jacobian_nesting_output_tree_of_input_trees():
    def f(d):
        return {"u": d["a"] * d["b"][:2].sum(), "v": cnp.sum(d["b"] ** 2)}

    d = {"a": np.array([1.0, 2.0, 3.0, 4.0]), "b": np.array([0.5, -1.0, 2.0])}
    for jac in (cr.jacfwd, cr.jacrev):
        J = jac(f)(d)
        assert set(J) == {"u", "v"}
        assert set(J["u"]) == {"a", "b"} and set(J["v"]) == {"a", "b"}
        assert J["u"]["a"].shape == (4, 4)
        assert J["u"]["b"].shape == (4, 3)
        assert J["v"]["a"].shape == (4,)
        assert J["v"]["b"].shape == (3,)
        close(J["u"]["a"], np.eye(4) * -0.5)
        close(J["u"]["b"], np.outer(d["a"], [1.0, 1.0, 0.0]))
        close(J["v"]["a"], np.zeros(4))
        close(J["v"]["b"], 2 * d["b"])


def test_jacobian_argnums_tuple_and_tuple_output():
    def f(x, y):
        return x * y, cnp.sum(x)

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    for jac in (cr.jacfwd, cr.jacrev):
        J = jac(f, argnums=(0, 1))(x, y)
        assert isinstance(J, tuple) and len(J) == 2
        assert isinstance(J[0], tuple) and isinstance(J[1], tuple)
        close(J[0][0], np.diag(y))
        close(J[0][1], np.diag(x))
        close(J[1][0], np.ones(2))
        close(J[1][1], np.zeros(2))
        assert J[1][1].shape == (2,)


def test_jacobian_shapes_matrix_in_matrix_out():
    X = RNG.standard_normal((2, 3))
    for jac in (cr.jacfwd, cr.jacrev):
        J = jac(lambda X: cnp.tanh(X).T)(X)
        assert J.shape == (3, 2, 2, 3)
        want = np.zeros((3, 2, 2, 3))
        for i in range(2):
            for j in range(3):
                want[j, i, i, j] = 1 - np.tanh(X[i, j]) ** 2
        close(J, want)
        Js = jac(lambda x: cnp.sum(x ** 2))(3.0)
        assert np.shape(Js) == ()
        close(Js, 6.0)


def test_vmap_in_axes_prefixes_and_dicts():
    W = RNG.standard_normal((3, 4))
    xs = RNG.standard_normal((5, 4))
    out = cr.vmap(lambda W, x: W @ x, in_axes=(None, 0))(W, xs)
    close(out, xs @ W.T)
    out = cr.vmap(lambda W, x: W @ x, in_axes=[None, 0])(W, xs)
    close(out, xs @ W.T)
    # batch axis 1 of the second argument
    out = cr.vmap(lambda W, x: W @ x, in_axes=(None, 1))(W, xs.T)
    close(out, xs @ W.T)
    # dict in_axes as a prefix of a dict argument
    p = {"W": W, "xs": xs}
    out = cr.vmap(lambda p: p["W"] @ p["xs"], in_axes=({"W": None, "xs": 0},))(p)
    close(out, xs @ W.T)
    # a whole tuple argument batched by one int
    out = cr.vmap(lambda t: t[0] * t[1], in_axes=(0,))((xs, xs))
    close(out, xs * xs)


def test_vmap_out_axes():
    xs = RNG.standard_normal((5, 3))
    out = cr.vmap(lambda x: x * 2, out_axes=1)(xs)
    assert out.shape == (3, 5)
    close(out, (xs * 2).T)
    a, b = cr.vmap(lambda x: (cnp.sum(x), np.ones(2)), out_axes=(0, None))(xs)
    close(a, xs.sum(1))
    close(b, np.ones(2))
    d = cr.vmap(lambda x: {"s": cnp.sum(x), "v": x + 1}, out_axes={"s": 0, "v": 1})(xs)
    close(d["s"], xs.sum(1))
    close(d["v"], (xs + 1).T)
    # an unbatched output gets broadcast along the batch axis
    out = cr.vmap(lambda x: np.arange(2.0))(xs)
    assert out.shape == (5, 2)


def test_vmap_pytree_outputs_and_namedtuples():
    pts = Point(RNG.standard_normal(4), RNG.standard_normal(4))
    out = cr.vmap(lambda p: Point(p.x + p.y, p.x * p.y))(pts)
    assert type(out) is Point
    close(out.x, pts.x + pts.y)
    close(out.y, pts.x * pts.y)


def test_vmap_of_grad_per_example_gradients():
    W = RNG.standard_normal(3)
    xs, ys = RNG.standard_normal((6, 3)), RNG.standard_normal(6)

    def loss(W, x, y):
        return (cnp.dot(W, x) - y) ** 2

    per_ex = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(W, xs, ys)
    want = np.stack([cr.grad(loss)(W, x, y) for x, y in zip(xs, ys)])
    close(per_ex, want)


@tu.register_dataclass
@dataclasses.dataclass
class Dense:
    W: Any
    b: Any
    act: str = dataclasses.field(default="tanh", metadata=dict(static=True))

    def __call__(self, x):
        z = x @ self.W + self.b
        return cnp.tanh(z) if self.act == "tanh" else z


def test_register_dataclass_params_through_grad():
    layer = Dense(RNG.standard_normal((3, 2)), RNG.standard_normal(2), act="tanh")
    x = RNG.standard_normal((4, 3))

    def loss(layer):
        return cnp.sum(layer(x) ** 2)

    g = cr.grad(loss)(layer)
    assert type(g) is Dense and g.act == "tanh"
    assert g.W.shape == (3, 2) and g.b.shape == (2,)
    close(g.W, fd_grad(lambda W: loss(Dense(W, layer.b)), layer.W), 1e-6)
    close(g.b, fd_grad(lambda b: loss(Dense(layer.W, b)), layer.b), 1e-6)
    # and through jvp / vmap
    t = Dense(np.ones((3, 2)), np.ones(2))
    _, tout = cr.jvp(loss, (layer,), (t,))
    close(tout, np.sum(g.W) + np.sum(g.b))
    stacked = Dense(np.stack([layer.W] * 3), np.stack([layer.b] * 3))
    out = cr.vmap(lambda l: l(x))(stacked)
    assert out.shape == (3, 4, 2)
    close(out[1], layer(x))


def test_transforms_accept_python_scalars_and_lists():
    close(cr.grad(lambda x: x ** 2)(3.0), 6.0)
    g = cr.grad(lambda xs: cnp.sum(cnp.asarray(xs) ** 2))([1.0, 2.0])
    assert isinstance(g, list)
    close(g[0], 2.0)
    close(g[1], 4.0)


# =============================================================================================
# value_and_grad, has_aux, argnums, linearize


def test_value_and_grad():
    f = lambda x, y: cnp.sum(x ** 2 * y)  # noqa: E731
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    v, g = cr.value_and_grad(f)(x, y)
    close(v, f(x, y))
    close(g, 2 * x * y)
    assert type(v) in (np.ndarray, np.float64) or isinstance(v, np.generic)
    v, (gx, gy) = cr.value_and_grad(f, argnums=(0, 1))(x, y)
    close(gx, 2 * x * y)
    close(gy, x ** 2)


def test_has_aux():
    def f(x):
        y = cnp.sum(x ** 2)
        return y, {"y": y, "x2": x * 2}

    x = np.array([1.0, 2.0])
    g, aux = cr.grad(f, has_aux=True)(x)
    close(g, 2 * x)
    assert type(aux["y"]) is not cr.core.Tracer and not isinstance(aux["x2"], cr.core.Tracer)
    close(aux["y"], 5.0)
    close(aux["x2"], 2 * x)
    (v, aux), g = cr.value_and_grad(f, has_aux=True)(x)
    close(v, 5.0)
    close(aux["y"], 5.0)
    out, f_vjp, aux = cr.vjp(f, x, has_aux=True)
    close(out, 5.0)
    close(f_vjp(1.0)[0], 2 * x)
    assert not isinstance(aux["x2"], cr.core.Tracer)
    out, t, aux = cr.jvp(f, (x,), (np.ones(2),), has_aux=True)
    close(t, 6.0)
    assert not isinstance(aux["x2"], cr.core.Tracer)
    close(aux["x2"], 2 * x)
    J, aux = cr.jacrev(f, has_aux=True)(x)
    close(J, 2 * x)
    J, aux = cr.jacfwd(f, has_aux=True)(x)
    close(J, 2 * x)
    close(aux["y"], 5.0)


def test_argnums_variants():
    f = lambda a, b, c: a * b ** 2 + c  # noqa: E731
    g1 = cr.grad(f, argnums=(1,))(1.0, 2.0, 3.0)
    assert isinstance(g1, tuple) and len(g1) == 1
    close(g1[0], 4.0)
    close(cr.grad(f, argnums=1)(1.0, 2.0, 3.0), 4.0)
    close(cr.grad(f, argnums=-1)(1.0, 2.0, 3.0), 1.0)
    ga, gc = cr.grad(f, argnums=(0, 2))(1.0, 2.0, 3.0)
    close(ga, 4.0)
    close(gc, 1.0)
    gc, ga = cr.grad(f, argnums=(2, 0))(1.0, 2.0, 3.0)
    close(ga, 4.0)
    close(gc, 1.0)


def test_grad_with_keyword_arguments():
    f = lambda x, scale=1.0: scale * x ** 2  # noqa: E731
    close(cr.grad(f)(3.0, scale=2.0), 12.0)


def test_linearize_equals_jvp():
    def f(x, y):
        return cnp.sin(x) * y + cnp.exp(x * y)
    x, y = np.array([0.3, -0.7]), np.array([1.2, 0.4])
    out, f_jvp = cr.linearize(f, x, y)
    close(out, f(x, y))
    for _ in range(3):
        tx, ty = RNG.standard_normal(2), RNG.standard_normal(2)
        close(f_jvp(tx, ty), cr.jvp(f, (x, y), (tx, ty))[1])


def test_zero_gradient_for_unused_input():
    g = cr.grad(lambda x, y: x ** 2, argnums=(0, 1))(1.0, np.ones(3))
    close(g[1], np.zeros(3))
    assert g[1].shape == (3,)


def test_float32_inputs_keep_float32_gradients():
    x = np.array([1.0, 2.0], np.float32)
    g = cr.grad(lambda x: cnp.sum(x ** 2))(x)
    assert g.dtype == np.float32
    _, t = cr.jvp(lambda x: x * 2.0, (x,), (np.ones(2, np.float32),))
    assert t.dtype == np.float32


# =============================================================================================
# Python control flow under grad/jvp


def piecewise(x):
    if x > 0:
        return x ** 2
    return -3 * x


def collatz_like(x):
    n = 0
    while x < 10.0:
        x = x * 1.5 + 1.0
        n += 1
    return x


def rec_pow(x, n):
    return 1.0 if n == 0 else x * rec_pow(x, n - 1)


def test_control_flow_under_grad_and_jvp():
    for d in (cr.grad, lambda f: (lambda x: cr.jvp(f, (x,), (1.0,))[1])):
        close(d(piecewise)(2.0), 4.0)
        close(d(piecewise)(-2.0), -3.0)
        # x=1: 2.5 -> 4.75 -> 8.125 -> 13.1875, derivative 1.5**4
        close(d(collatz_like)(1.0), 1.5 ** 4)
        close(d(lambda x: rec_pow(x, 4))(2.0), 4 * 2.0 ** 3)


def test_float_and_bool_of_traced_values():
    seen = {}

    def f(x):
        seen["float"] = float(x)
        seen["bool"] = bool(x > 1)
        seen["int"] = int(x)
        scale = 2.0 if bool(x > 1) else 5.0
        return scale * x ** 2

    close(cr.grad(f)(1.5), 6.0)
    assert seen == {"float": 1.5, "bool": True, "int": 1}
    assert type(seen["float"]) is float
    close(cr.jvp(f, (0.5,), (1.0,))[1], 5.0)
    assert seen["float"] == 0.5
    # inside nested grads too
    close(cr.grad(cr.grad(f))(1.5), 4.0)
    # .item() and array truthiness on a vector
    close(cr.grad(lambda x: x[0] * x[1] if (x > 0).all() else 0.0 * x[0])(np.array([2.0, 3.0])),
          [3.0, 2.0])


def test_vmap_value_dependent_branch_names_where_and_the_line():
    with pytest.raises(Exception) as info:
        cr.vmap(piecewise)(np.array([1.0, -1.0]))
    msg = str(info.value)
    assert "where" in msg
    assert THIS_FILE in msg
    assert isinstance(info.value, TypeError)


# =============================================================================================
# custom_jvp


@cr.custom_jvp
def weird_sin(x):
    return cnp.sin(x)


@weird_sin.defjvp
def _weird_sin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return weird_sin(x), cnp.cos(x) * t * 100.0


def test_custom_jvp_rule_is_used_in_jvp():
    x = np.array([0.2, 1.0])
    y, t = cr.jvp(weird_sin, (x,), (np.ones(2),))
    close(y, np.sin(x))
    close(t, 100 * np.cos(x))


def test_custom_jvp_rule_is_transposed_in_grad():
    x = np.array([0.2, 1.0])
    close(cr.grad(lambda x: cnp.sum(weird_sin(x)))(x), 100 * np.cos(x))
    J = cr.jacrev(weird_sin)(x)
    close(J, np.diag(100 * np.cos(x)))
    close(cr.jacfwd(weird_sin)(x), J)


def test_custom_jvp_second_order():
    # second derivative of the custom rule: d/dx 100 cos(x) = -100 sin(x)
    close(cr.grad(cr.grad(weird_sin))(0.7), -100 * np.sin(0.7))
    close(cr.jvp(cr.grad(weird_sin), (0.7,), (1.0,))[1], -100 * np.sin(0.7))
    close(cr.grad(lambda x: cr.jvp(weird_sin, (x,), (1.0,))[1])(0.7), -100 * np.sin(0.7))


@cr.custom_jvp
def safe_log1pexp(x):
    return cnp.log(1 + cnp.exp(x))


@safe_log1pexp.defjvp
def _safe_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return safe_log1pexp(x), t * (1 - 1 / (1 + cnp.exp(x)))


def test_custom_jvp_checks_numerically():
    check_grads(safe_log1pexp, (np.array([-1.0, 0.3, 2.0]),), order=2, modes=("fwd", "rev"))
    close(cr.grad(safe_log1pexp)(0.0), 0.5)


def test_custom_jvp_nondiff_argnums():
    @functools.partial(cr.custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    @app.defjvp
    def app_jvp(f, primals, tangents):  # JAX's signature: nondiff args first
        (x,), (t,) = primals, tangents
        return app(f, x), 7.0 * t

    close(app(cnp.sin, 0.5), np.sin(0.5))
    close(cr.jvp(lambda x: app(cnp.sin, x), (0.5,), (1.0,))[1], 7.0)
    close(cr.grad(lambda x: app(cnp.sin, x))(0.5), 7.0)


def test_custom_jvp_defjvps():
    @cr.custom_jvp
    def cube(x):
        return x ** 3

    cube.defjvps(lambda t, ans, x: t * 3 * x ** 2 * 10.0)
    y, t = cr.jvp(cube, (2.0,), (1.0,))
    close(y, 8.0)
    close(t, 120.0)
    close(cr.grad(cube)(2.0), 120.0)


def test_custom_jvp_defjvps_with_nondiff_argnums_is_never_silently_wrong():
    @functools.partial(cr.custom_jvp, nondiff_argnums=(1,))
    def power(x, n):
        return x ** n

    try:
        power.defjvps(lambda t, ans, x, n: t * n * x ** (n - 1))
    except TypeError:
        return  # refusing, as JAX does, is fine
    y, t = cr.jvp(lambda x: power(x, 3), (2.0,), (1.0,))
    close(y, 8.0)
    close(t, 12.0)


def test_custom_jvp_with_pytree_argument():
    @cr.custom_jvp
    def f(d):
        return d["a"] * d["b"]

    @f.defjvp
    def f_jvp(primals, tangents):
        (d,), (t,) = primals, tangents
        return f(d), t["a"] * d["b"] + d["a"] * t["b"] * 10.0

    d = {"a": 2.0, "b": 3.0}
    g = cr.grad(f)(d)
    close(g["a"], 3.0)
    close(g["b"], 20.0)


def test_custom_jvp_under_vmap():
    xs = np.array([0.1, 0.5, 1.0])
    close(cr.vmap(weird_sin)(xs), np.sin(xs))
    close(cr.vmap(cr.grad(weird_sin))(xs), 100 * np.cos(xs))


# =============================================================================================
# custom_vjp


@cr.custom_vjp
def scaled_sq(x):
    return x ** 2


def _scaled_sq_fwd(x):
    return x ** 2, x


def _scaled_sq_bwd(x, g):
    return (g * 2 * x * 10.0,)  # deliberately 10x the true derivative


scaled_sq.defvjp(_scaled_sq_fwd, _scaled_sq_bwd)


def test_custom_vjp_rule_is_used_in_grad():
    close(scaled_sq(3.0), 9.0)
    close(cr.grad(scaled_sq)(3.0), 60.0)
    x = np.array([1.0, -2.0])
    close(cr.grad(lambda x: cnp.sum(scaled_sq(x)))(x), 20 * x)
    _, f_vjp = cr.vjp(scaled_sq, x)
    close(f_vjp(np.array([1.0, 2.0]))[0], 20 * x * [1.0, 2.0])


def test_custom_vjp_in_forward_mode_is_the_transposed_bwd():
    x = np.array([1.0, -2.0])
    _, t = cr.jvp(scaled_sq, (x,), (np.array([1.0, 3.0]),))
    close(t, 20 * x * [1.0, 3.0])
    close(cr.jacfwd(scaled_sq)(x), np.diag(20 * x))
    close(cr.jacrev(scaled_sq)(x), np.diag(20 * x))


def test_custom_vjp_hessian():
    x = np.array([1.0, -2.0, 0.5])
    H = cr.hessian(lambda x: cnp.sum(scaled_sq(x)))(x)
    close(H, 20 * np.eye(3))
    close(cr.grad(cr.grad(scaled_sq))(1.3), 20.0)
    close(cr.jacrev(cr.jacrev(lambda x: cnp.sum(scaled_sq(x))))(x), 20 * np.eye(3))


def test_custom_vjp_nondiff_argnums():
    @functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
    def clip_grad(limit, x):
        return x

    def fwd(limit, x):
        return x, None

    def bwd(limit, res, g):
        return (cnp.clip(g, -limit, limit),)

    clip_grad.defvjp(fwd, bwd)
    close(clip_grad(0.5, 3.0), 3.0)
    close(cr.grad(lambda x: clip_grad(0.5, x) * 4.0)(3.0), 0.5)
    close(cr.grad(lambda x: clip_grad(10.0, x) * 4.0)(3.0), 4.0)


def test_custom_vjp_pytree_argument_and_none_cotangent():
    @cr.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1], None))
    gx, gy = cr.grad(f, argnums=(0, 1))(2.0, 3.0)
    close(gx, 3.0)
    close(gy, 0.0)


def test_custom_vjp_under_vmap():
    xs = np.array([1.0, 2.0, 3.0])
    close(cr.vmap(cr.grad(scaled_sq))(xs), 20 * xs)


# =============================================================================================
# checkpoint


def _ckpt_fn(counter):
    def g(x):
        counter[0] += 1
        return cnp.sin(cnp.sin(x)) * x
    return g


def test_checkpoint_same_gradients_first_and_second_order():
    counter = [0]
    g = _ckpt_fn(counter)
    f_plain = lambda x: cnp.sum(g(x) ** 2)  # noqa: E731
    f_ckpt = lambda x: cnp.sum(cr.checkpoint(g)(x) ** 2)  # noqa: E731
    x = np.array([0.3, -1.2, 2.0])
    close(f_ckpt(x), f_plain(x))
    close(cr.grad(f_ckpt)(x), cr.grad(f_plain)(x))
    close(cr.hessian(f_ckpt)(x), cr.hessian(f_plain)(x))
    close(cr.jacrev(cr.grad(f_ckpt))(x), cr.hessian(f_plain)(x))
    close(cr.jvp(f_ckpt, (x,), (np.ones(3),))[1], cr.jvp(f_plain, (x,), (np.ones(3),))[1])
    check_grads(f_ckpt, (x,), order=2, modes=("fwd", "rev"))


def test_checkpoint_reruns_the_forward_in_the_backward_pass():
    counter = [0]
    g = cr.checkpoint(_ckpt_fn(counter))
    x = np.array([0.3, -1.2])
    g(x)
    assert counter[0] == 1
    counter[0] = 0
    out, f_vjp = cr.vjp(lambda x: cnp.sum(g(x)), x)
    n_forward = counter[0]
    assert n_forward >= 1
    f_vjp(1.0)
    assert counter[0] > n_forward, "the checkpointed function was not re-run on the backward pass"
    counter[0] = 0
    cr.grad(lambda x: cnp.sum(g(x)))(x)
    assert counter[0] >= 2


def test_checkpoint_with_pytrees_and_static_argnums():
    def block(p, x, act):
        z = x @ p["W"]
        return cnp.tanh(z) if act == "tanh" else z

    p = {"W": RNG.standard_normal((3, 3))}
    x = RNG.standard_normal((2, 3))
    ck = cr.checkpoint(block, static_argnums=(2,))
    f1 = lambda p: cnp.sum(ck(p, x, "tanh") ** 2)  # noqa: E731
    f2 = lambda p: cnp.sum(block(p, x, "tanh") ** 2)  # noqa: E731
    tree_close(cr.grad(f1)(p), cr.grad(f2)(p))


# =============================================================================================
# cr.extend


@cr.extend.primitive
def np_logsumexp_ext(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


cr.extend.defvjp(np_logsumexp_ext, lambda ans, x: lambda g: g * cnp.exp(x - ans))
cr.extend.defjvp(np_logsumexp_ext, lambda g, ans, x: cnp.sum(g * cnp.exp(x - ans)))


def test_extend_primitive_values_and_derivatives():
    x = np.array([0.5, -1.0, 2.0, 0.1])
    v = np_logsumexp_ext(x)
    close(v, np.log(np.sum(np.exp(x))))
    assert isinstance(v, (np.ndarray, np.generic))
    softmax = np.exp(x) / np.exp(x).sum()
    close(cr.grad(np_logsumexp_ext)(x), softmax)
    close(cr.jvp(np_logsumexp_ext, (x,), (np.ones(4),))[1], 1.0)
    H = cr.hessian(np_logsumexp_ext)(x)
    close(H, np.diag(softmax) - np.outer(softmax, softmax))
    check_grads(np_logsumexp_ext, (x,), order=2, modes=("fwd", "rev"))
    check_grads(lambda x: np_logsumexp_ext(cnp.sin(x)) * x, (x,), order=2,
                modes=("fwd", "rev"))


def test_extend_primitive_reverse_only_and_forward_only():
    @cr.extend.primitive
    def cube_rev_only(x):
        return x ** 3

    cr.extend.defvjp(cube_rev_only, lambda ans, x: lambda g: g * 3 * x ** 2)
    close(cr.grad(cube_rev_only)(2.0), 12.0)
    with pytest.raises(NotImplementedError, match="cube_rev_only"):
        cr.jvp(cube_rev_only, (2.0,), (1.0,))

    @cr.extend.primitive
    def cube_fwd_only(x):
        return x ** 3

    cr.extend.defjvp(cube_fwd_only, lambda g, ans, x: g * 3 * x ** 2)
    close(cr.jvp(cube_fwd_only, (2.0,), (1.0,))[1], 12.0)
    with pytest.raises(NotImplementedError, match="cube_fwd_only"):
        cr.grad(cube_fwd_only)(2.0)


def test_extend_primitive_two_arguments():
    @cr.extend.primitive
    def np_hypot_ext(x, y):
        return np.hypot(x, y)

    cr.extend.defvjp(np_hypot_ext, lambda ans, x, y: lambda g: g * x / ans,
                     lambda ans, x, y: lambda g: g * y / ans)
    cr.extend.defjvp(np_hypot_ext, lambda g, ans, x, y: g * x / ans,
                     lambda g, ans, x, y: g * y / ans)
    gx, gy = cr.grad(np_hypot_ext, argnums=(0, 1))(3.0, 4.0)
    close(gx, 0.6)
    close(gy, 0.8)
    check_grads(np_hypot_ext, (np.array([3.0, 1.0]), np.array([4.0, -2.0])), order=2)


def test_extend_primitive_vmap_warns_once_and_matches_a_loop():
    @cr.extend.primitive
    def np_logsumexp_vmapped(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    cr.extend.defvjp(np_logsumexp_vmapped, lambda ans, x: lambda g: g * cnp.exp(x - ans))
    xs = RNG.standard_normal((5, 4))
    with pytest.warns(UserWarning, match="np_logsumexp_vmapped"):
        out = cr.vmap(np_logsumexp_vmapped)(xs)
    close(out, [np.log(np.sum(np.exp(x))) for x in xs])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out2 = cr.vmap(np_logsumexp_vmapped)(xs)
    close(out2, out)
    gs = cr.vmap(cr.grad(np_logsumexp_vmapped))(xs)
    close(gs, np.exp(xs) / np.exp(xs).sum(1, keepdims=True))


# =============================================================================================
# Eager NumPy semantics


def is_plain(x):
    return type(x) is np.ndarray or isinstance(x, np.generic)


def test_eager_results_are_plain_numpy():
    for v in [cnp.sin(1.0), cnp.sin(np.ones(3)), cnp.sum(np.ones(3)), cnp.array([1.0, 2.0]),
              cnp.asarray([1.0]), cnp.dot(np.ones(2), np.ones(2)), cnp.zeros(3),
              cnp.ones((2, 2)) @ cnp.ones(2), cnp.exp(cnp.arange(3.0)),
              cnp.where(np.ones(2) > 0, 1.0, 2.0), cnp.reshape(np.ones(4), (2, 2))]:
        assert is_plain(v), type(v)


def test_eager_float64_default():
    assert cnp.sin(1.0).dtype == np.float64
    assert cnp.array([1.0, 2.0]).dtype == np.float64
    assert cnp.asarray([[1.0]]).dtype == np.float64
    assert cnp.array([1, 2]).dtype == np.int64
    assert cnp.zeros(3).dtype == np.float64
    assert cnp.ones(2).dtype == np.float64
    assert cnp.exp(1).dtype == np.float64
    assert cnp.linspace(0, 1, 3).dtype == np.float64


def test_eager_numpy_promotion():
    x32 = np.ones(3, np.float32)
    assert cnp.multiply(x32, 2.0).dtype == np.float32
    assert cnp.add(x32, 1).dtype == np.float32
    assert cnp.add(x32, np.ones(3)).dtype == np.float64
    assert cnp.multiply(np.arange(3), 2.0).dtype == np.float64
    assert cnp.add(np.arange(3, dtype=np.int32), 1).dtype == np.int32
    assert cnp.sin(x32).dtype == np.float32
    assert cnp.sum(x32).dtype == np.float32
    # and under grad the same promotion holds
    g = cr.grad(lambda x: cnp.sum(x * 2.0))(x32)
    assert g.dtype == np.float32


def test_out_of_bounds_integer_index_raises_index_error():
    x = np.arange(4.0)
    with pytest.raises(IndexError):
        cr.grad(lambda x: x[4])(x)
    with pytest.raises(IndexError):
        cr.grad(lambda x: x[-5])(x)
    with pytest.raises(IndexError):
        cr.grad(lambda x: cnp.sum(x[np.array([0, 7])]))(x)
    with pytest.raises(IndexError):
        cr.jvp(lambda x: x[10], (x,), (x,))
    with pytest.raises(IndexError):
        cnp.at(x)[4].set(1.0)
    with pytest.raises(IndexError):
        cr.grad(lambda x: x[0, 0])(x)
    with pytest.raises(IndexError):
        cnp.take(x, 9)


def test_boolean_mask_indexing_eager_and_under_grad():
    x = np.array([1.0, -2.0, 3.0, -0.5])
    mask = x > 0
    close(cnp.sum(cnp.asarray(x)[mask]), 4.0)
    close(cnp.at(x)[mask].get(), [1.0, 3.0])
    close(cnp.at(x)[mask].set(0.0), [0.0, -2.0, 0.0, -0.5])
    g = cr.grad(lambda x: cnp.sum(x[x > 0] ** 2))(x)
    close(g, np.where(x > 0, 2 * x, 0.0))
    _, t = cr.jvp(lambda x: cnp.sum(x[mask] ** 2), (x,), (np.ones(4),))
    close(t, 8.0)
    X = np.arange(6.0).reshape(2, 3)
    g = cr.grad(lambda X: cnp.sum(X[np.array([True, False])] * 3))(X)
    close(g, [[3, 3, 3], [0, 0, 0]])
    with pytest.raises(IndexError):
        cr.grad(lambda x: cnp.sum(x[np.array([True, False])]))(x)


# =============================================================================================
# Tracer array behaviour under grad

X0 = np.array([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]])


def check_method(f, x=X0, grad_check=True):
    """f works on numpy arrays and on tracers: value under grad equals numpy's, gradient
    matches finite differences."""
    want = np.sum(f(x))
    v, g = cr.value_and_grad(lambda x: cnp.sum(f(x)))(x)
    close(v, want)
    if grad_check:
        close(g, fd_grad(lambda x: np.sum(f(x)), x), 1e-6)


def test_tracer_attributes():
    seen = {}

    def f(x):
        seen.update(shape=x.shape, dtype=x.dtype, ndim=x.ndim, size=x.size, len=len(x),
                    Tshape=x.T.shape, rows=[r.shape for r in x])
        return cnp.sum(x)

    cr.grad(f)(X0)
    assert seen == {"shape": (2, 3), "dtype": np.float64, "ndim": 2, "size": 6, "len": 2,
                    "Tshape": (3, 2), "rows": [(3,), (3,)]}
    assert type(seen["shape"]) is tuple
    with pytest.raises(TypeError):
        cr.grad(lambda x: len(x) * x)(1.0)
    seen.clear()
    cr.jvp(f, (X0,), (X0,))
    assert seen["shape"] == (2, 3) and seen["len"] == 2
    seen.clear()
    cr.vmap(f)(np.stack([X0] * 4))
    assert seen["shape"] == (2, 3) and seen["size"] == 6


ARITH = {
    "add": lambda x: x + 1.5, "radd": lambda x: 1.5 + x,
    "sub": lambda x: x - 2.0, "rsub": lambda x: 2.0 - x,
    "mul": lambda x: x * 3.0, "rmul": lambda x: 3.0 * x,
    "truediv": lambda x: x / 4.0, "rtruediv": lambda x: 4.0 / x,
    "pow": lambda x: x ** 3, "rpow": lambda x: 2.0 ** x, "pow_float": lambda x: abs(x) ** 1.5,
    "self_ops": lambda x: x * x + x / (x ** 2 + 1) - x,
    "array_lhs": lambda x: np.arange(3.0) * x + np.ones(3) - x,
    "neg": lambda x: -x, "pos": lambda x: +x, "abs": lambda x: abs(x),
    "matmul": lambda x: x @ np.ones((3, 2)), "rmatmul": lambda x: np.ones((4, 2)) @ x,
    "self_matmul": lambda x: x @ x.T,
    "mod": lambda x: x % 0.65, "rmod": lambda x: 2.0 % (x + 3.0),
    "floordiv_mixed": lambda x: x * (x // 0.65), "rfloordiv": lambda x: x * (2.0 // (x + 3.0)),
}


@pytest.mark.parametrize("name", sorted(ARITH))
def test_tracer_arithmetic_operators(name):
    check_method(ARITH[name])


def test_tracer_comparisons_and_reflected_forms():
    def f(x):
        out = []
        for m in (x > 0.4, x >= 0.5, x < 0.4, x <= 0.5, x == 0.5, x != 0.5,
                  0.4 < x, 0.5 <= x, 0.4 > x, 0.5 >= x, 0.5 == x, 0.5 != x,
                  x > x * 0.5, np.zeros(3) < x):
            out.append(m)
        return out

    captured = []

    def g(x):
        ms = f(x)
        captured.extend(ms)
        return cnp.sum(cnp.where(ms[0], x, 0.0))

    grad = cr.grad(g)(X0)
    close(grad, (X0 > 0.4).astype(float))
    for got, want in zip(captured, f(X0)):
        assert got.dtype == np.bool_
        assert not isinstance(got, cr.core.Tracer)
        np.testing.assert_array_equal(got, want)


def test_integer_and_bitwise_operators_under_vmap():
    a = np.array([[5, 12], [7, 3]])
    b = np.array([[3, 2], [2, 1]])
    ops = [lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b,
           lambda a, b: a << 1, lambda a, b: a >> b, lambda a, b: a // b, lambda a, b: a % b,
           lambda a, b: 6 & a, lambda a, b: 1 | a, lambda a, b: 3 ^ a, lambda a, b: 1 << b,
           lambda a, b: 100 >> b, lambda a, b: 20 // a, lambda a, b: 20 % a, lambda a, b: ~a,
           lambda a, b: -a, lambda a, b: divmod(a, b)[0], lambda a, b: divmod(a, b)[1]]
    for op in ops:
        got = cr.vmap(op)(a, b)
        np.testing.assert_array_equal(got, op(a, b))
        assert got.dtype == op(a, b).dtype


METHODS = {
    "sum": lambda x: x.sum(), "sum_axis": lambda x: x.sum(axis=0),
    "sum_keepdims": lambda x: x.sum(axis=1, keepdims=True) * x,
    "mean": lambda x: x.mean(axis=1), "max": lambda x: x.max(), "max_axis": lambda x: x.max(0),
    "min": lambda x: x.min(axis=1), "prod": lambda x: x.prod(axis=0),
    "prod_all": lambda x: x.prod(),
    "reshape": lambda x: x.reshape(3, 2) @ np.arange(2.0),
    "reshape_tuple": lambda x: x.reshape((6,)) * np.arange(6.0),
    "reshape_neg": lambda x: x.reshape(-1, 2)[:, 0],
    "transpose": lambda x: x.transpose() * np.arange(2.0),
    "transpose_axes": lambda x: x.transpose(1, 0) * np.arange(2.0),
    "T": lambda x: x.T @ np.arange(2.0),
    "astype": lambda x: x.astype(np.float64) * 2,
    "dot": lambda x: x.dot(np.arange(3.0)),
    "squeeze": lambda x: x[:1].squeeze() * np.arange(3.0),
    "squeeze_axis": lambda x: x[:, 1:2].squeeze(1),
    "ravel": lambda x: x.ravel() * np.arange(6.0),
    "flatten": lambda x: x.flatten() ** 2,
    "clip": lambda x: x.clip(-1.0, 1.0), "clip_min": lambda x: x.clip(min=0.0),
    "cumsum": lambda x: x.cumsum() * np.arange(6.0),
    "cumsum_axis": lambda x: x.cumsum(axis=1) ** 2,
    "std": lambda x: x.std(axis=0), "var": lambda x: x.var(),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_tracer_methods(name):
    check_method(METHODS[name])


def test_tracer_astype_float32_roundtrip():
    seen = []

    def f(x):
        y = x.astype(np.float32)
        seen.append(y.dtype)
        return cnp.sum(y.astype(np.float64) * 2)

    g = cr.grad(f)(X0)
    assert seen == [np.float32]
    assert g.dtype == np.float64
    close(g, 2 * np.ones_like(X0))
    assert cr.grad(lambda x: cnp.sum(x.astype(np.int64) * 1.0))(X0).dtype == np.float64


INDEXING = {
    "int": lambda x: x[1], "int_int": lambda x: x[1, 2], "neg": lambda x: x[-1, -2],
    "slice": lambda x: x[:, 1:], "step": lambda x: x[:, ::2], "rev": lambda x: x[::-1, ::-1],
    "ellipsis": lambda x: x[..., 0], "newaxis": lambda x: x[:, None, :] * np.ones((1, 2, 1)),
    "int_array": lambda x: x[np.array([1, 0, 1])], "list": lambda x: x[[0, 0, 1], [2, 2, 0]],
    "mixed": lambda x: x[1, np.array([0, 2])], "mask": lambda x: x[x > 0],
    "array_2d": lambda x: x[np.array([[0, 1], [1, 1]])] * 2,
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_tracer_indexing(name):
    check_method(INDEXING[name])


def test_tracer_index_with_traced_integer_under_vmap():
    table = np.arange(10.0) ** 2
    idx = np.array([3, 1, 7])
    close(cr.vmap(lambda i: cnp.at(table)[i].get())(idx), table[idx])
    tables = np.stack([table, -table])
    close(cr.vmap(lambda x, i: x[i])(tables, np.array([3, 1])), [9.0, -1.0])
    close(cr.vmap(lambda x, i: x[i], in_axes=(0, None))(tables, 2), [4.0, -4.0])
    # a plain NumPy array indexed by a traced integer: a clear error pointing to cnp.at
    with pytest.raises(TypeError, match="at"):
        cr.vmap(lambda x, i: x[i], in_axes=(None, 0))(table, idx)


def test_setitem_on_tracer_is_functionalized():
    def f(x):
        x[0] = 1.0
        return cnp.sum(x)
    np.testing.assert_allclose(cr.grad(f)(np.ones(3)), [0.0, 1.0, 1.0])


def _at_expected(op, x, idx, y):
    z = x.copy()
    if op == "set":
        z[idx] = y
    elif op == "add":
        np.add.at(z, idx, y)
    elif op == "multiply":
        np.multiply.at(z, idx, y)
    elif op == "min":
        np.minimum.at(z, idx, y)
    elif op == "max":
        np.maximum.at(z, idx, y)
    return z


@pytest.mark.parametrize("op", ["set", "add", "multiply", "min", "max"])
@pytest.mark.parametrize("idx", [1, (slice(None), 0), (np.array([0, 1]), np.array([2, 0]))],
                         ids=["int", "slice", "fancy"])
def test_at_updates_values_and_gradients(op, idx):
    x = X0.copy()
    y = np.asarray(0.25 + np.zeros_like(x[idx]))
    y = y + np.arange(y.size).reshape(y.shape) * 0.9 - 0.6

    def f(x, y):
        # the .at property on tracers; cnp.at for plain arrays (numpy has no .at)
        helper = x.at if isinstance(x, cr.core.Tracer) else cnp.at(x)
        return getattr(helper[idx], op)(y)

    want = _at_expected(op, x, idx, y)
    # eager (plain arrays via cnp.at) and under transforms
    close(getattr(cnp.at(x)[idx], op)(y), want)
    v, _ = cr.value_and_grad(lambda x, y: cnp.sum(f(x, y) * np.arange(6.0).reshape(2, 3)),
                             argnums=(0, 1))(x, y)
    close(v, np.sum(want * np.arange(6.0).reshape(2, 3)))
    w = np.arange(6.0).reshape(2, 3) + 1.0
    loss = lambda x, y: cnp.sum(f(x, y) * w)  # noqa: E731
    gx, gy = cr.grad(loss, argnums=(0, 1))(x, y)
    np_loss = lambda x, y: np.sum(_at_expected(op, x, idx, y) * w)  # noqa: E731
    close(gx, fd_grad(lambda x: np_loss(x, y), x), 1e-6)
    close(gy, fd_grad(lambda y: np_loss(x, y), y), 1e-6)
    check_grads(loss, (x, y), order=1, modes=("fwd", "rev"))
    # original is untouched (functional update)
    close(x, X0)


def test_at_add_with_repeated_indices_accumulates():
    x = np.zeros(3)
    idx = np.array([0, 0, 2])
    out = cr.grad(lambda y: cnp.sum(cnp.at(x)[idx].add(y) ** 2))(np.array([1.0, 2.0, 3.0]))
    # z = [3, 0, 3]; d/dy_k sum(z^2) = 2 z[idx_k]
    close(out, [6.0, 6.0, 6.0])


def test_at_get():
    close(cr.grad(lambda x: cnp.sum(x.at[np.array([0, 0])].get() * 2))(np.arange(3.0)),
          [4.0, 0.0, 0.0])
    close(cnp.at(np.arange(4.0))[2].get(), 2.0)


def test_numpy_ufuncs_dispatch_on_tracers():
    check_method(lambda x: np.sin(x) * np.exp(x))
    check_method(lambda x: np.tanh(x) + np.add(x, 1.0))


# --- custom rules survive vmap (the call primitives batch, they are not inlined) ------------


def _marked_jvp():
    """sin with a deliberately scaled JVP rule (10 cos), so using the rule is visible."""
    @cr.custom_jvp
    def f(x, y):
        return cnp.sin(x) * y

    @f.defjvp
    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), 10.0 * cnp.cos(x) * y * tx + cnp.sin(x) * ty
    return f


def _marked_vjp():
    @cr.custom_vjp
    def f(x, y):
        return cnp.sin(x) * y

    f.defvjp(lambda x, y: (cnp.sin(x) * y, (x, y)),
             lambda res, ct: (10.0 * cnp.cos(res[0]) * res[1] * ct,
                              cnp.sum(cnp.sin(res[0]) * ct) if cnp.ndim(res[1]) == 0
                              else cnp.sin(res[0]) * ct))  # bwd gives y's shape
    return f


@pytest.mark.parametrize("make", [_marked_jvp, _marked_vjp], ids=["custom_jvp", "custom_vjp"])
def test_custom_rules_are_kept_under_vmap_in_every_order(make):
    f = make()
    x = np.array([[0.3, 0.5, 0.7], [0.1, 0.2, 0.4]])
    y = np.array([1.5, 2.0, 2.5])
    want_x = 10.0 * np.cos(x) * y            # the custom rule, not cos(x) * y
    want_y = np.sin(x).sum(axis=0)
    # grad of vmap: x batched along axis 1, y unbatched (its cotangent sums over the batch)
    loss = lambda x, y: cr.vmap(f, in_axes=(1, None))(x, y[0]).sum()  # noqa: E731
    gx, gy = cr.grad(loss, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 10.0 * np.cos(x) * y[0])
    np.testing.assert_allclose(gy, [np.sin(x).sum(), 0.0, 0.0])
    # vmap of grad, both arguments batched
    gx, gy = cr.vmap(cr.grad(lambda a, b: f(a, b).sum(), argnums=(0, 1)), in_axes=(0, None))(x, y)
    np.testing.assert_allclose(gx, want_x)
    np.testing.assert_allclose(gy, np.sin(x))
    # jvp of vmap, and nested vmap
    _, t = cr.jvp(lambda a: cr.vmap(f, in_axes=(0, None))(a, y), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, want_x)
    g = cr.grad(lambda a: cr.vmap(cr.vmap(f, in_axes=(0, 0)), in_axes=(0, None))(a, y).sum())(x)
    np.testing.assert_allclose(g, want_x)
    np.testing.assert_allclose(cr.vmap(f, in_axes=(0, None))(x, y), np.sin(x) * y)
    del want_y


def test_custom_rule_under_vmap_sees_the_axis_name():
    @cr.custom_vjp
    def centred(x):
        return x - cr.pmean(x, "b")

    centred.defvjp(lambda x: (x - cr.pmean(x, "b"), None),
                   lambda _, ct: (2.0 * (ct - cr.pmean(ct, "b")),))
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(cr.vmap(centred, axis_name="b")(x), x - x.mean())
    w = np.array([1.0, -1.0, 3.0])
    g = cr.grad(lambda x: (cr.vmap(centred, axis_name="b")(x) * w).sum())(x)
    np.testing.assert_allclose(g, 2.0 * (w - w.mean()))


def test_checkpoint_under_vmap_still_recomputes():
    calls = []

    def body(x):
        calls.append(1)
        return cnp.sin(cnp.sin(x))

    h = cr.checkpoint(body)
    x = np.array([0.3, 0.5])
    g = cr.grad(lambda x: cr.vmap(h)(x).sum())(x)
    np.testing.assert_allclose(g, np.cos(np.sin(x)) * np.cos(x))
    assert len(calls) == 2  # the forward pass, then once more in the backward pass
