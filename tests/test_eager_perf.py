"""The eager fast paths keep their semantics: each test pins down a shortcut taken for speed
(the reverse-mode tape and sweep, grad's one-array path, tracer operators bound directly,
cheaper impls and VJP rules, the batching and forward-mode paths) against the general path or
against NumPy, on random inputs and on the special values (0, inf, NaN) where a shortcut could
go wrong. No timings: speed is measured by the scripts in bench/."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import core, prims as P
from chainrule.prims.elementwise import _logaddexp, _zmul
from chainrule.test_util import check_grads

RNG = np.random.default_rng(7)
inf, nan = np.inf, np.nan


def same(a, b, tol=0.0):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if tol:
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


def sprinkle(x, values, frac=0.2):
    """x with a random fraction of its entries replaced by the given special values."""
    x = x.copy()
    flat = x.reshape(-1)
    idx = RNG.random(flat.size) < frac
    flat[idx] = RNG.choice(np.asarray(values, x.dtype), size=int(idx.sum()))
    return x


# ---------------------------------------------------------------------------------------------
# the zero-safe multiply and its NaN check


def _zmul_reference(x, y):
    with np.errstate(invalid="ignore"):
        return np.where(np.logical_or(np.equal(x, 0), np.equal(y, 0)), 0, np.multiply(x, y))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.complex128,
                                   np.complex64])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (4, 1, 6)])
def test_zmul_matches_reference_with_zeros_infs_and_nans(dtype, shape):
    for _ in range(5):
        x = sprinkle(RNG.normal(size=shape).astype(dtype), [0.0, inf, -inf, nan])
        y = sprinkle(RNG.normal(size=shape).astype(dtype), [0.0, inf, -inf, nan])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = _zmul(x, y)
        ref = _zmul_reference(x, y).astype(np.result_type(x, y))
        np.testing.assert_array_equal(out, ref)


def test_zmul_nan_check_sees_a_single_nan_anywhere():
    # one 0 * inf at any position, in any memory layout, must reach the exact path
    base = np.arange(1.0, 61.0).reshape(3, 4, 5)
    layouts = [lambda a: a, np.asfortranarray, lambda a: a[:, ::2, 1:],
               lambda a: a.transpose(2, 0, 1), lambda a: a.ravel()[::3]]
    for layout in layouts:
        for pos in range(layout(base).size):
            a = layout(base.copy())
            idx = np.unravel_index(pos, a.shape)
            a[idx] = inf
            z = np.ones(a.shape)
            z[idx] = 0.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = _zmul(a, z)
            assert out[idx] == 0.0
            assert not np.isnan(out).any()


def test_zmul_large_finite_values_are_not_mistaken_for_nan():
    x = np.array([1e300, -1e300, 3.0])
    same(_zmul(x, np.array([1e10, 1e10, 0.0])), np.array([inf, -inf, 0.0]))


def test_zmul_scalars_and_integers():
    same(_zmul(np.float64(0.0), np.float64(inf)), np.float64(0.0))
    same(_zmul(np.arange(4), np.arange(4)), np.arange(4) ** 2)


def test_safe_masking_still_gives_finite_gradients():
    # where(x > 0, sqrt(x), 0) at 0: the untaken branch's infinite derivative times a zero
    # cotangent is 0 (the feature the zero-safe multiply exists for)
    x = np.array([0.0, 1.0, 4.0])
    g = cr.grad(lambda x: cnp.sum(cnp.where(x > 0, cnp.sqrt(x), 0.0)))(x)
    same(g, np.array([0.0, 0.5, 0.25]))
    g = cr.grad(lambda x: cnp.sum(cnp.where(x > 0, cnp.log(x), 0.0) * x))(x)
    assert np.isfinite(g).all()
    gf = cr.jacfwd(lambda x: cnp.where(x > 0, cnp.sqrt(x), 0.0))(x)
    same(gf, np.diag([0.0, 0.5, 0.25]))


# ---------------------------------------------------------------------------------------------
# logaddexp's impl (a composition of fast ufuncs, with its NaN fix-up skipped where it cannot
# be needed) against NumPy's own loop


_SPECIAL = [0.0, inf, -inf, nan, 1e300, -1e300, 700.0, -700.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logaddexp_arrays_match_numpy(dtype):
    tol = 1e-14 if dtype == np.float64 else 1e-6
    for shape_x, shape_y in [((20,), (20,)), ((4, 5), (5,)), ((3, 1), (1, 6)), ((), (8,))]:
        x = sprinkle((RNG.normal(size=shape_x) * 30).astype(dtype), _SPECIAL, 0.3)
        y = sprinkle((RNG.normal(size=shape_y) * 30).astype(dtype), _SPECIAL, 0.3)
        with np.errstate(invalid="ignore", over="ignore"):
            same(_logaddexp(x, y), np.logaddexp(x, y), tol)
            same(_logaddexp(y, x), np.logaddexp(y, x), tol)


@pytest.mark.parametrize("c", [0.0, 0, 2.5, -3, 1e300, inf, -inf, nan])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logaddexp_with_a_python_scalar_matches_numpy(c, dtype):
    tol = 1e-14 if dtype == np.float64 else 1e-6
    x = sprinkle((RNG.normal(size=40) * 30).astype(dtype), _SPECIAL, 0.4)
    with np.errstate(invalid="ignore", over="ignore"):
        same(_logaddexp(c, x), np.logaddexp(c, x), tol)
        same(_logaddexp(x, c), np.logaddexp(x, c), tol)


def test_logaddexp_gradients():
    x = RNG.normal(size=6) * 3
    y = RNG.normal(size=6) * 3
    check_grads(lambda x: cnp.logaddexp(0.0, x), (x,), order=2)
    check_grads(cnp.logaddexp, (x, y), order=2)
    g = cr.grad(lambda x: cnp.sum(cnp.logaddexp(0.0, x)))(np.array([-inf, 0.0, 800.0]))
    same(g, np.array([0.0, 0.5, 1.0]))


# ---------------------------------------------------------------------------------------------
# the backward sweep


def test_fan_out_broadcasting_and_dead_branches():
    x = RNG.normal(size=(3, 4))
    b = RNG.normal(size=(4,))

    def f(x, b):
        y = x * b + b          # b broadcast: its cotangent is summed back to (4,)
        unused = cnp.exp(x)    # recorded but receives no cotangent
        z = y * y + y          # fan-out of y
        return cnp.sum(z) + 0.0 * cnp.sum(unused[:0])

    gx, gb = cr.grad(f, argnums=(0, 1))(x, b)
    y = x * b + b
    dz = 2 * y + 1
    np.testing.assert_allclose(gx, dz * b, rtol=1e-13)
    np.testing.assert_allclose(gb, (dz * x + dz).sum(0), rtol=1e-13)
    check_grads(f, (x, b), order=2)


def test_multiple_results_node():
    x = RNG.normal(size=(4, 6))

    def f(x):
        a, b, c = cnp.split(x, 3, axis=1)
        return cnp.sum(a * 2.0) + cnp.sum(c ** 2)   # b gets no cotangent

    g = cr.grad(f)(x)
    ref = np.zeros_like(x)
    ref[:, :2] = 2.0
    ref[:, 4:] = 2 * x[:, 4:]
    same(g, ref)


def test_integer_outputs_are_not_differentiated():
    x = np.array([0.3, 1.7, -2.2])
    g = cr.grad(lambda x: cnp.sum(x * cnp.argmax(x)))(x)
    same(g, np.full(3, 1.0))


def test_debug_nans_sweep_agrees_with_the_fast_one():
    x = RNG.normal(size=5) + 3.0

    def f(x):
        y = cnp.log(x) * cnp.sin(x)
        return cnp.sum(y * y + cnp.logaddexp(0.0, -y))

    fast = cr.grad(f)(x)
    with cr.debug_nans():
        checked = cr.grad(f)(x)
    same(fast, checked)


# ---------------------------------------------------------------------------------------------
# grad's fast path (one real array argument) against the general path


def _general(fun, has_aux=False):
    """grad by the general path (argnums as a tuple always takes it)."""
    g = cr.grad(fun, argnums=(0,), has_aux=has_aux)
    if has_aux:
        return lambda *a: (lambda r: (r[0][0], r[1]))(g(*a))
    return lambda *a: g(*a)[0]


@pytest.mark.parametrize("fun", [
    lambda x: cnp.sum(cnp.tanh(x) * x),
    lambda x: cnp.mean(cnp.logaddexp(0.0, -x)),
    lambda x: x[1] * 3.0,
    lambda x: cnp.dot(x, x),
    lambda x: cnp.float32(2.0) * cnp.sum(x),
], ids=["tanh", "logistic", "index", "dot", "float32-factor"])
def test_fast_path_equals_general_path(fun):
    for dtype in (np.float64, np.float32):
        x = RNG.normal(size=5).astype(dtype)
        same(cr.grad(fun)(x), _general(fun)(x))
        v, g = cr.value_and_grad(fun)(x)
        same(v, fun(x))
        same(g, _general(fun)(x))


def test_fast_path_edge_cases():
    x = RNG.normal(size=4)
    # output independent of the input: zeros of the input's shape and dtype
    same(cr.grad(lambda x: cnp.sum(np.ones(3)))(x), np.zeros(4))
    same(cr.grad(lambda x: cnp.sum(x) * 0.0 + 1.0)(x), np.zeros(4))
    # a write into the input inside the function
    def w(x):
        x[0] = x[1] * 2.0
        return cnp.sum(x * x)
    g = cr.grad(w)(x.copy())
    np.testing.assert_allclose(g, [0.0, 2 * x[1] + 8 * x[1], 2 * x[2], 2 * x[3]], rtol=1e-13)
    # aux
    g, aux = cr.grad(lambda x: (cnp.sum(x ** 2), x * 2), has_aux=True)(x)
    same(g, 2 * x)
    same(aux, 2 * x)
    # errors keep their messages
    with pytest.raises(TypeError, match="scalar"):
        cr.grad(lambda x: x * 2)(x)
    with pytest.raises(TypeError, match="real-valued"):
        cr.grad(lambda x: cnp.sum(x) * 1j)(x)
    with pytest.raises(TypeError, match="floating point output"):
        cr.grad(lambda x: cnp.argmax(x))(x)


def test_fast_path_restores_the_trace_stack_after_an_error():
    def bad(x):
        raise KeyError("boom")
    depth = len(core.trace_stack)
    with pytest.raises(KeyError):
        cr.grad(bad)(np.ones(2))
    assert len(core.trace_stack) == depth


def test_fast_path_nested_transforms():
    x = np.array([0.3, -1.2])
    h = cr.grad(lambda x: cnp.sum(cr.grad(lambda y: cnp.sum(cnp.sin(y) * y))(x)))(x)
    np.testing.assert_allclose(h, 2 * np.cos(x) - x * np.sin(x), rtol=1e-13)
    # an outer jvp tracer reaches the inner grad through a closure
    def inner(y):
        return cr.grad(lambda x: cnp.sum(x * y) * y[0])(np.ones(2))
    _, t = cr.jvp(inner, (np.array([2.0, 3.0]),), (np.array([1.0, 0.0]),))
    np.testing.assert_allclose(t, [4.0, 3.0], rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# tracer operators bind their primitive directly; cnp.mean and cnp.dot fast paths


_BINOPS = [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
           ("mul", lambda a, b: a * b), ("truediv", lambda a, b: a / b),
           ("pow", lambda a, b: a ** b), ("floordiv", lambda a, b: a // b),
           ("mod", lambda a, b: a % b)]


@pytest.mark.parametrize("name,op", _BINOPS, ids=[n for n, _ in _BINOPS])
def test_operators_with_arrays_lists_and_scalars(name, op):
    x = np.abs(RNG.normal(size=3)) + 0.5
    other = [np.abs(RNG.normal(size=3)) + 0.5, [1.5, 2.0, 0.75], 2.0, 3]
    for o in other:
        ref_l = op(x, np.asarray(o))
        ref_r = op(np.asarray(o), x)
        # the operators on tracers, under jvp (values) and under grad (derivatives)
        val = cr.jvp(lambda x: op(x, o), (x,), (np.ones(3),))[0]
        same(val, ref_l)
        val = cr.jvp(lambda x: op(o, x), (x,), (np.ones(3),))[0]
        same(val, ref_r)
    if name not in ("floordiv", "mod"):
        check_grads(lambda x: op(x, [1.5, 2.0, 0.75]), (x,), order=2)
        check_grads(lambda x: op([1.5, 2.0, 0.75], x), (x,), order=2)
    with pytest.raises(TypeError):
        cr.grad(lambda x: cnp.sum(op(x, "a")))(x)


def test_unary_negation():
    x = RNG.normal(size=3)
    same(cr.grad(lambda x: cnp.sum(-x * x))(x), -2 * x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_mean_fast_path(dtype):
    x = RNG.normal(size=(3, 4)).astype(dtype)
    got = cnp.mean(x)
    same(got, np.mean(x), 1e-6 if dtype == np.float32 else 1e-15)
    if dtype != np.complex128:
        same(cr.grad(lambda x: cnp.mean(x))(x), np.full((3, 4), 1 / 12, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(cnp.mean(np.zeros((0,), dtype)))
    same(cnp.mean(np.arange(6)), np.mean(np.arange(6)))   # integers: the general path
    w = np.arange(12).reshape(3, 4) % 3 > 0   # where=: the general path
    same(cnp.mean(x, where=w), np.mean(x, where=w), 1e-6 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                   ((2, 3), (3, 4)), ((2, 5, 3), (3,)), ((2, 5, 3), (4, 3, 2)),
                                   ((), (3,)), ((2, 3), ())])
def test_dot_shapes(sa, sb):
    a = RNG.normal(size=sa)
    b = RNG.normal(size=sb)
    same(cnp.dot(a, b), np.dot(a, b), 1e-13)
    if sa and sb:
        check_grads(cnp.dot, (a, b), order=1)
    with pytest.raises(ValueError, match="not aligned"):
        cnp.dot(np.ones((2, 3)), np.ones((4,)))


# ---------------------------------------------------------------------------------------------
# Primitive.__call__ is bind itself (so debug_nans' checking bind covers direct calls too)


def test_primitive_call_is_bind():
    x = np.array([0.5, 2.0])
    same(P.exp_p(x), np.exp(x))
    same(P.mul_p(x, 3.0), x * 3.0)
    assert type(P.exp_p).__call__ is core.bind
    with cr.debug_nans():
        with pytest.raises(cr.NaNError, match="log"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                P.log_p(np.array(-1.0))


def test_float_derivatives_of_elementwise_rules():
    # derivative rules that return a Python float (fmod's d/dx = 1.0)
    x = np.array([5.5, -3.25])
    same(cr.grad(lambda x: cnp.sum(cnp.fmod(x, 2.0)))(x), np.ones(2))
    t = cr.jvp(lambda x: cnp.fmod(x, 2.0), (x,), (np.array([2.0, 3.0]),))[1]
    same(t, np.array([2.0, 3.0]))
    assert math.isclose(cr.grad(lambda x: cnp.remainder(x, 2.0))(3.5), 1.0)


# ---------------------------------------------------------------------------------------------
# divide's scalar path and grad's scalar seed


def test_divide_scalar_path_matches_the_ufunc():
    from chainrule.prims.elementwise import _true_divide
    xs = [np.float64(3.5), np.float64(-0.0), np.float64(0.0), np.float64(inf), np.float64(nan),
          np.float64(1e-300)]
    ys = [7, -2, 0, 0.0, -0.0, 1e-300, inf, nan, 10 ** 30, True]
    with np.errstate(all="ignore"):
        for x in xs:
            for y in ys:
                got, ref = _true_divide(x, y), np.true_divide(x, y)
                assert type(got) is type(ref), (x, y, type(got), type(ref))
                np.testing.assert_array_equal(got, ref)
                assert np.signbit(got) == np.signbit(ref)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        _true_divide(np.float64(1.0), 0)
    # arrays, float32 scalars and Python scalars keep the ufunc
    same(_true_divide(np.float32(1.0), 3), np.true_divide(np.float32(1.0), 3))
    same(_true_divide(1.0, 4.0), np.float64(0.25))
    same(_true_divide(np.arange(3.0), 2), np.arange(3.0) / 2)


def test_grad_seed_is_an_immutable_scalar():
    g = cr.grad(lambda x: x)(np.array(2.0))
    assert g == 1.0 and g.dtype == np.float64 and np.ndim(g) == 0
    g2 = cr.grad(lambda x: x * 1.0)(np.float32(2.0))
    assert g2 == 1.0 and g2.dtype == np.float32
    # a result that is the seed itself can be used freely (a NumPy scalar, never a shared
    # read-only array)
    g = g + 1.0
    assert cr.grad(lambda x: x)(np.array(5.0)) == 1.0


# ---------------------------------------------------------------------------------------------
# vmap: the plain-array fast path, the batching process and the elementwise batching rule


def _loop(f, args, in_axes, out_axis=0):
    """vmap by a Python loop: the reference."""
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, in_axes)])
            for i in range(size)]
    return np.stack([np.asarray(o) for o in outs], axis=out_axis)


@pytest.mark.parametrize("in_axes", [(None, 0, 0), (None, 1, 0), 0, (0, None, 0)])
@pytest.mark.parametrize("out_axes", [0, 1, -1])
def test_vmap_fast_path_matches_a_loop(in_axes, out_axes):
    w = RNG.normal(size=(4, 4))
    x = RNG.normal(size=(4, 4))
    y = RNG.normal(size=(4, 4))

    def f(w, x, y):
        return cnp.sin(w) * x + cnp.logaddexp(0.0, y) - 2.0

    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * 3
    ref = _loop(f, (w, x, y), axes, out_axis=out_axes)
    same(cr.vmap(f, in_axes=in_axes, out_axes=out_axes)(w, x, y), ref, 1e-14)


def test_vmap_general_path_cases_still_work():
    x = RNG.normal(size=(4, 3))
    # negative in_axes, Python scalars, pytrees, keyword arguments: the general path
    same(cr.vmap(lambda a: a * 2.0, in_axes=-1)(x), (x * 2.0).T)
    same(cr.vmap(lambda a, s: a * s, in_axes=(0, None))(x, 3.0), x * 3.0)
    out = cr.vmap(lambda d: d["a"] + d["b"])({"a": x, "b": x})
    same(out, 2 * x)
    same(cr.vmap(lambda a, *, k: a + k)(x, k=x), 2 * x)
    # tuple outputs, an unbatched output
    a, b = cr.vmap(lambda a: (a, a.sum()))(x)
    same(a, x)
    same(b, x.sum(1), 1e-15)
    same(cr.vmap(lambda a: np.ones(2), in_axes=0)(x), np.ones((4, 2)))
    # errors
    with pytest.raises(ValueError, match="inconsistent sizes"):
        cr.vmap(lambda a, b: a + b)(x, np.ones((5, 3)))
    with pytest.raises(ValueError, match="axis_size"):
        cr.vmap(lambda a: a, in_axes=0, axis_size=7)(x)
    with pytest.raises(ValueError, match="out_axes"):
        cr.vmap(lambda a: a, out_axes=5)(x)
    with pytest.raises(ValueError):
        cr.vmap(lambda a: a, in_axes=2)(x)


def test_vmap_fast_path_with_an_axis_name_and_nesting():
    x = RNG.normal(size=(4, 3))
    out = cr.vmap(lambda a: a - cr.lax.pmean(a, "i"), axis_name="i")(x)
    same(out, x - x.mean(0), 1e-15)
    outer = cr.vmap(cr.vmap(lambda a: cnp.sin(a) * 2.0))(RNG.normal(size=(2, 4, 3)))
    assert outer.shape == (2, 4, 3)
    depth = len(core.trace_stack)
    with pytest.raises(ZeroDivisionError):
        cr.vmap(lambda a: 1 / 0)(x)
    assert len(core.trace_stack) == depth


@pytest.mark.parametrize("shapes,axes", [
    (((4, 3), (3,)), (0, None)),           # batched operand of the top rank, front axis
    (((3, 4), (3,)), (1, None)),           # batch axis not in front
    (((4, 3), (2, 3)), (0, None)),         # unbatched operand of higher rank
    (((4,), (4, 2, 3)), (0, 0)),           # batched operands of different ranks
    (((4, 1), (5, 4)), (0, 1)),            # both batched, one broadcasting
])
def test_batch_elementwise_rule_matches_a_loop(shapes, axes):
    a = RNG.normal(size=shapes[0])
    b = RNG.normal(size=shapes[1])
    for f in (cnp.multiply, cnp.logaddexp, lambda u, v: cnp.where(u > v, u, v)):
        same(cr.vmap(f, in_axes=axes)(a, b), _loop(f, (a, b), axes), 1e-14)


def test_vmap_of_grad_per_example_gradients():
    w = RNG.normal(size=6)
    X = RNG.normal(size=(9, 6))
    y = np.where(RNG.random(9) < 0.5, -1.0, 1.0)

    def loss(w, x, y):
        return cnp.logaddexp(0.0, -y * cnp.dot(x, w))

    got = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, X, y)
    m = -y * (X @ w)
    ref = (-y / (1 + np.exp(-m)))[:, None] * X
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # and its own derivatives (hessian of the summed loss through vmap)
    h = cr.jacfwd(lambda w: cnp.sum(cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, X, y),
                                    axis=0))(w)
    s = 1 / (1 + np.exp(-m))
    np.testing.assert_allclose(h, (X * (s * (1 - s))[:, None]).T @ X, rtol=1e-10)
