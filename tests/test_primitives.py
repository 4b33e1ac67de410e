"""The primitive table: every primitive of `chainrule.prims.ALL` against NumPy, its own shape
rule, finite differences (order 2, forward and reverse), and vmap (vs a Python loop).

One row per primitive (`TABLE`). A row gives the primitive, a function making example
arguments from a seeded RNG (domains chosen where the operation is smooth: no ties, no kinks,
no branch cuts), the static params, a NumPy/SciPy reference, and which argument positions are
differentiable (empty: the primitive has no derivative, its outputs are constants).

Tests, each parametrized over the table:
  1. test_value: value (and dtype) vs the reference, in float64 and float32.
  2. test_shape_rule: `abstract_eval` on the avals vs the real output's shape and dtype.
  3. test_grads: check_grads order 2, fwd and rev, in the differentiable arguments.
  4. test_zero_derivative: non-differentiable (float) arguments get zero tangents/gradients.
  5. test_vmap: vmap vs a loop + np.stack, batch axis 0, 1, -1 and partly unbatched.
  6. test_vmap_grad: vmap(grad(sum(prim * w))) vs a loop, for the differentiable rows.
  7. test_jit: jit(prim) vs eager (the staged path).
  8. test_coverage: every registered primitive has a row or is in EXEMPT.
Besides the table (one row per primitive), CASES holds extra getitem/scatter rows (index
shapes NumPy treats specially, every scatter mode); they run through the same tests.
"""
from __future__ import annotations

import numpy as np
import scipy.special as sps

import chainrule.prims as P
from chainrule.core import primitives as REGISTRY
from primtable import (Row, S, SB, normal, unif, away0, offint, distinct, cplx,  # noqa: F401
                       intvals, ints, bools, with_specials, args_of)
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)

# Primitives deliberately without a row, with the reason. The coverage test fails for any
# registered primitive that has neither a row nor an entry here.
EXEMPT = {
    "custom_jvp_call": "call primitive (carries a function); tested with cr.custom_jvp",
    "custom_vjp_call": "call primitive (carries a function); tested with cr.custom_vjp",
    "checkpoint": "call primitive (carries a function); tested with cr.checkpoint",
    "fused": "compiler-generated kernel (carries a program); tested in test_compiler.py",
    "debug_callback": "effect primitive without outputs; tested in test_jit.py",
    "pure_callback": "runs a user callback; tested in test_jit.py",
    "jit": "call primitive (carries a staged program); tested with cr.jit",
    # Collectives have no meaning outside vmap(..., axis_name=...) (their impl looks the axis
    # up), so they do not fit the eager table; they need their own tests.
    "psum": "collective over a named vmap axis: no eager value; tested in test_vmap.py",
    "pmean": "collective over a named vmap axis: no eager value; tested in test_vmap.py",
    "pmax": "collective over a named vmap axis: no eager value; tested in test_vmap.py",
    "pmin": "collective over a named vmap axis: no eager value; tested in test_vmap.py",
    "all_gather": "collective over a named vmap axis: no eager value; tested in test_vmap.py",
    # control flow carries staged programs (functions), so it has its own table of cases
    "cond": "higher-order (carries programs); tested in test_control_flow.py",
    "while": "higher-order (carries programs); tested in test_control_flow.py",
    "scan": "higher-order (carries programs); tested in test_control_flow.py",
}


def fmod_args(rng):
    y = rng.uniform(1.5, 2.5, SB)
    x = y * (rng.integers(-2, 3, S) + rng.uniform(0.2, 0.8, S))  # x / y off the integers
    return x, y


def maxmin_args(rng):
    y = rng.standard_normal(SB)
    x = y + rng.choice([-1.0, 1.0], S) * rng.uniform(0.2, 1.0, S)  # no ties
    return x, y


def where_args(rng):
    return rng.random(S) < 0.5, rng.standard_normal(SB), rng.standard_normal((3, 1))


def getitem_args(rng):
    x = rng.standard_normal((4, 5, 6))
    return x, rng.integers(0, 5, (2, 3)), rng.integers(0, 6, (3,))


def scatter_args(rng):
    x = rng.standard_normal((5, 4))
    i = rng.integers(0, 5, (2, 3))
    i[1, 2] = i[0, 0]  # a repeated index: "add" accumulates
    return x, rng.standard_normal((2, 3, 3)), i


def _scatter_add_ref(x, y, i):
    out = np.array(x, copy=True)
    np.add.at(out, (i, slice(1, None)), y)
    return out


def _cum_ref(fn, axis, reverse):
    if reverse:
        return lambda x: np.flip(fn(np.flip(x, axis), axis=axis), axis)
    return lambda x: fn(x, axis=axis)


# --- the table -----------------------------------------------------------------------------------


def unary(prim, ref, make, diff=True, params=None, **tol):
    return Row(prim, args_of(make), ref, params or {}, (0,) if diff else (), tol)


def binary(prim, ref, mx, my, diff=(0, 1), params=None, **tol):
    return Row(prim, args_of(mx, my), ref, params or {}, diff, tol)


def nodiff(prim, ref, *makers, params=None):
    return Row(prim, args_of(*makers), ref, params or {}, ())


_GI = (("s", 1, None, None), ("a", 0), ("a", 1), None)   # x[1:, i0, i1, None]
_SC = (("a", 0), ("s", 1, None, None))                    # x[i0, 1:]
_DOT = (((2,), (0,)), ((0,), (1,)))                       # 'bij,jbk->bik'

TABLE: list[Row] = [
    # dtype conversion and shape
    Row(P.convert_p, lambda rng: (rng.standard_normal(S).astype(np.float32),),
        lambda x: x.astype(np.float64), {"dtype": np.dtype(np.float64)}, (0,)),
    Row(P.convert_python_int_p, lambda rng: (rng.integers(-100, 100, S),),
        lambda x: x.astype(np.int8), {"dtype": np.dtype(np.int8)}, (), float32=False),
    unary(P.reshape_p, lambda x: x.reshape(2, 6), normal(), params={"shape": (2, 6)}),
    unary(P.broadcast_to_p, lambda x: np.broadcast_to(x, (2, 3, 4)), normal((3, 1)),
          params={"shape": (2, 3, 4)}),
    unary(P.transpose_p, lambda x: x.transpose(2, 0, 1), normal((2, 3, 4)),
          params={"perm": (2, 0, 1)}),
    # reductions
    unary(P.reduce_sum_p, lambda x: x.sum(axis=(0, 2)), normal((2, 3, 4)),
          params={"axes": (0, 2)}),
    unary(P.reduce_max_p, lambda x: x.max(axis=1), distinct((2, 3, 4)), params={"axes": (1,)}),
    unary(P.reduce_min_p, lambda x: x.min(axis=1), distinct((2, 3, 4)), params={"axes": (1,)}),
    unary(P.reduce_prod_p, lambda x: x.prod(axis=(0, 2)), away0((2, 3, 4), 0.5, 1.5),
          params={"axes": (0, 2)}),
    nodiff(P.reduce_and_p, lambda x: x.all(axis=1), bools((2, 3, 4)), params={"axes": (1,)}),
    nodiff(P.reduce_or_p, lambda x: x.any(axis=1), bools((2, 3, 4)), params={"axes": (1,)}),
    nodiff(P.argmax_p, lambda x: x.argmax(axis=1), distinct((2, 3, 4)), params={"axis": 1}),
    nodiff(P.argmin_p, lambda x: x.argmin(axis=1), distinct((2, 3, 4)), params={"axis": 1}),
    nodiff(P.argsort_p, lambda x: np.argsort(-x, axis=1, kind="stable"), distinct((2, 3, 4)),
           params={"axis": 1, "descending": True}),
    unary(P.cumsum_p, _cum_ref(np.cumsum, 1, True), normal((2, 3, 4)),
          params={"axis": 1, "reverse": True}),
    unary(P.cumprod_p, _cum_ref(np.cumprod, 1, False), away0((2, 3, 4), 0.5, 1.5),
          params={"axis": 1, "reverse": False}),
    # linear elementwise
    binary(P.add_p, np.add, normal(), normal(SB)),
    binary(P.sub_p, np.subtract, normal(), normal(SB)),
    unary(P.neg_p, np.negative, normal()),
    unary(P.conj_p, np.conjugate, cplx()),
    unary(P.real_p, np.real, cplx()),
    unary(P.imag_p, np.imag, cplx()),
    # arithmetic
    binary(P.mul_p, np.multiply, normal(), normal(SB)),
    binary(P.zmul_p, np.multiply, normal(), normal(SB)),
    binary(P.div_p, np.true_divide, normal(), away0(SB)),
    binary(P.pow_p, np.power, unif(0.5, 2.0), unif(-1.5, 2.0, SB)),
    Row(P.max_p, maxmin_args, np.maximum, diff=(0, 1)),
    Row(P.min_p, maxmin_args, np.minimum, diff=(0, 1)),
    Row(P.fmod_p, fmod_args, np.fmod, diff=(0, 1)),
    Row(P.rem_p, fmod_args, np.remainder, diff=(0, 1)),
    nodiff(P.floordiv_p, np.floor_divide, normal(), away0(SB)),
    binary(P.atan2_p, np.arctan2, normal(), unif(0.5, 2.0, SB)),  # x > 0: off the branch cut
    binary(P.hypot_p, np.hypot, away0(), away0(SB)),
    binary(P.logaddexp_p, np.logaddexp, normal(), normal(SB)),
    binary(P.logaddexp2_p, np.logaddexp2, normal(), normal(SB)),
    binary(P.copysign_p, np.copysign, away0(), away0(SB), diff=(0,)),
    nodiff(P.nextafter_p, np.nextafter, normal(), normal(SB)),
    nodiff(P.heaviside_p, np.heaviside, away0(), normal(SB)),
    # unary math
    unary(P.exp_p, np.exp, normal()),
    unary(P.exp2_p, np.exp2, normal()),
    unary(P.expm1_p, np.expm1, normal()),
    unary(P.log_p, np.log, unif(0.5, 3.0)),
    unary(P.log2_p, np.log2, unif(0.5, 3.0)),
    unary(P.log10_p, np.log10, unif(0.5, 3.0)),
    unary(P.log1p_p, np.log1p, unif(-0.5, 2.0)),
    unary(P.sqrt_p, np.sqrt, unif(0.5, 3.0)),
    unary(P.cbrt_p, np.cbrt, unif(0.5, 3.0)),
    unary(P.sin_p, np.sin, normal()),
    unary(P.cos_p, np.cos, normal()),
    unary(P.tan_p, np.tan, unif(-1.0, 1.0)),
    unary(P.arcsin_p, np.arcsin, unif(-0.7, 0.7)),
    unary(P.arccos_p, np.arccos, unif(-0.7, 0.7)),
    unary(P.arctan_p, np.arctan, normal()),
    unary(P.sinh_p, np.sinh, normal()),
    unary(P.cosh_p, np.cosh, normal()),
    unary(P.tanh_p, np.tanh, normal()),
    unary(P.arcsinh_p, np.arcsinh, normal()),
    unary(P.arccosh_p, np.arccosh, unif(1.3, 3.0)),
    unary(P.arctanh_p, np.arctanh, unif(-0.7, 0.7)),
    unary(P.abs_p, np.absolute, away0()),
    unary(P.erf_p, sps.erf, normal()),
    unary(P.erfc_p, sps.erfc, normal()),
    unary(P.erfinv_p, sps.erfinv, unif(-0.7, 0.7)),
    unary(P.expit_p, sps.expit, normal()),
    unary(P.gammaln_p, sps.gammaln, unif(0.5, 4.0)),
    unary(P.digamma_p, sps.digamma, unif(0.5, 4.0)),
    unary(P.polygamma_p, lambda x: sps.polygamma(1, x).astype(np.asarray(x).dtype), unif(0.5, 4.0), params={"n": 1}),
    # no derivative (outputs are constants to differentiation)
    nodiff(P.sign_p, np.sign, away0()),
    nodiff(P.floor_p, np.floor, offint()),
    nodiff(P.ceil_p, np.ceil, offint()),
    nodiff(P.trunc_p, np.trunc, offint()),
    nodiff(P.rint_p, np.rint, offint()),
    nodiff(P.round_p, lambda x: np.round(x, 1), normal(), params={"decimals": 1}),
    nodiff(P.isnan_p, np.isnan, with_specials()),
    nodiff(P.isinf_p, np.isinf, with_specials()),
    nodiff(P.isfinite_p, np.isfinite, with_specials()),
    nodiff(P.signbit_p, np.signbit, with_specials()),
    nodiff(P.not_p, np.logical_not, bools()),
    nodiff(P.invert_p, np.invert, ints(lo=-50)),
    nodiff(P.eq_p, np.equal, intvals(), intvals(SB)),
    nodiff(P.ne_p, np.not_equal, intvals(), intvals(SB)),
    nodiff(P.lt_p, np.less, intvals(), intvals(SB)),
    nodiff(P.le_p, np.less_equal, intvals(), intvals(SB)),
    nodiff(P.gt_p, np.greater, intvals(), intvals(SB)),
    nodiff(P.ge_p, np.greater_equal, intvals(), intvals(SB)),
    nodiff(P.and_p, np.logical_and, bools(), bools(SB)),
    nodiff(P.or_p, np.logical_or, bools(), bools(SB)),
    nodiff(P.xor_p, np.logical_xor, bools(), bools(SB)),
    nodiff(P.bitand_p, np.bitwise_and, ints(), ints(SB)),
    nodiff(P.bitor_p, np.bitwise_or, ints(), ints(SB)),
    nodiff(P.bitxor_p, np.bitwise_xor, ints(), ints(SB)),
    nodiff(P.lshift_p, np.left_shift, ints(), ints(SB, 0, 4)),
    nodiff(P.rshift_p, np.right_shift, ints(), ints(SB, 0, 4)),
    # selection, gradient blocking
    Row(P.select_p, where_args, np.where, diff=(1, 2)),
    nodiff(P.stop_gradient_p, lambda x: x, normal()),
    # concatenate, pad, indexing, contraction
    Row(P.concatenate_p, args_of(normal((2, 3)), normal((2, 1)), normal((2, 2))),
        lambda *xs: np.concatenate(xs, axis=1), {"axis": 1}, (0, 1, 2)),
    Row(P.pad_p, args_of(normal((2, 3)), normal(())),
        lambda x, v: np.pad(x, ((1, 2), (0, 1)), constant_values=v),
        {"widths": ((1, 2), (0, 1))}, (0, 1)),
    Row(P.getitem_p, getitem_args, lambda x, i0, i1: x[1:, i0, i1, None], {"idx": _GI}, (0,)),
    Row(P.scatter_p, scatter_args, _scatter_add_ref, {"idx": _SC, "mode": "add"}, (0, 1)),
    Row(P.dot_general_p, args_of(normal((2, 3, 4)), normal((4, 2, 5))),
        lambda x, y: np.einsum("bij,jbk->bik", x, y), {"dims": _DOT}, (0, 1)),
]

ROWS = {r.name: r for r in TABLE}
assert len(ROWS) == len(TABLE), "one row per primitive"

# --- extra index cases ---------------------------------------------------------------------------
# Indexing is where batching rules go wrong (NumPy moves advanced-index dims to the front when
# advanced indices are separated), and scatter has five modes: these cases run through the same
# tests as the table rows. Each: (id, encoding, Python index from the arrays, index-array
# makers). x has shape (4, 5, 6).

_ALL = ("s", None, None, None)


def _uniq(n, k, shape=None):
    """k distinct indices below n (no repeated writes: set/multiply/min/max are defined)."""
    return lambda rng: rng.permutation(n)[:k].reshape(shape or (k,))


def _idx(n, shape):
    return lambda rng: rng.integers(0, n, shape)


_GET_CASES = [
    ("arr-slice-arr", (("a", 0), _ALL, ("a", 1)), lambda a, b: (a, slice(None), b),
     [_idx(4, (2, 3)), _idx(6, (3,))]),
    ("slice-arr", (_ALL, ("a", 0)), lambda a: (slice(None), a), [_idx(5, (2,))]),
    ("ellipsis-arr", (Ellipsis, ("a", 0)), lambda a: (Ellipsis, a), [_idx(6, (3, 2))]),
    ("int-slice-arr", (1, _ALL, ("a", 0)), lambda a: (1, slice(None), a), [_idx(6, (2,))]),
    ("none-revslice-arr-step", (None, ("s", 2, 0, -1), ("a", 0), ("s", None, None, 2)),
     lambda a: (None, slice(2, 0, -1), a, slice(None, None, 2)), [_idx(5, (2,))]),
    ("slice-int-arr", (_ALL, 1, ("a", 0)), lambda a: (slice(None), 1, a), [_idx(6, (3,))]),
    ("basic-only", (("s", 1, 3, None), None, Ellipsis, 2),
     lambda: (slice(1, 3), None, Ellipsis, 2), []),
    ("scalar-arr", (("a", 0),), lambda a: (a,), [_idx(4, ())]),
    ("negint-arr-negint", (-1, ("a", 0), -2), lambda a: (-1, a, -2), [_idx(5, (2,))]),
]

_SCATTER_CASES = [
    ("set", (_ALL, ("a", 0)), lambda a: (slice(None), a), [_uniq(5, 2)], (4, 2, 6)),
    ("add-dup-arr-slice-arr", (("a", 0), _ALL, ("a", 1)), lambda a, b: (a, slice(None), b),
     [_idx(4, (2, 3)), _idx(6, (3,))], (2, 3, 5)),
    ("add-broadcast-y", (_ALL, ("a", 0)), lambda a: (slice(None), a), [_idx(5, (3,))], (6,)),
    ("multiply", (1, _ALL, ("a", 0)), lambda a: (1, slice(None), a), [_uniq(6, 3)], (3, 5)),
    ("min", (Ellipsis, ("a", 0)), lambda a: (Ellipsis, a), [_uniq(6, 2)], (4, 5, 2)),
    ("max", (("s", 2, 0, -1), ("a", 0)), lambda a: (slice(2, 0, -1), a), [_uniq(5, 2)],
     (2, 2, 6)),
    ("set-basic", (("s", 1, 3, None), Ellipsis, 2), lambda: (slice(1, 3), Ellipsis, 2), [],
     (2, 5)),
]

_AT = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}


def _get_case(cid, enc, ix, makers):
    return Row(P.getitem_p, lambda rng: (rng.standard_normal((4, 5, 6)),
                                         *(m(rng) for m in makers)),
               lambda x, *a: x[ix(*a)], {"idx": enc}, (0,), case=cid)


def _scatter_case(cid, enc, ix, makers, yshape):
    mode = cid.split("-")[0]

    def make(rng):
        x = rng.standard_normal((4, 5, 6))
        arrays = [m(rng) for m in makers]
        y = rng.standard_normal(yshape)
        if mode == "multiply":
            y = 1.0 + 0.5 * y
        if mode in ("min", "max"):  # y differs from x at the written places: no ties
            y = x[ix(*arrays)] + rng.choice([-1.0, 1.0], yshape) * rng.uniform(0.2, 1.0, yshape)
        return (x, y, *arrays)

    def ref(x, y, *a):
        out = np.array(x, copy=True)
        if mode == "set":
            out[ix(*a)] = y
        else:
            _AT[mode].at(out, ix(*a), y)
        return out
    return Row(P.scatter_p, make, ref, {"idx": enc, "mode": mode}, (0, 1), case=cid)


CASES: list[Row] = ([_get_case(*c) for c in _GET_CASES]
                    + [_scatter_case(*c) for c in _SCATTER_CASES])
ALL_ROWS = TABLE + CASES


# --- coverage -------------------------------------------------------------------------------------


def _own_table(name):
    """Primitives whose defining module names a test file with its own table (`TESTED_IN`)
    are covered there (that file has its own coverage test)."""
    import importlib
    mod = getattr(REGISTRY[name], "module", None)
    return bool(mod) and hasattr(importlib.import_module(mod), "TESTED_IN")


def test_coverage():
    names = {p.name for p in P.ALL} | set(REGISTRY)  # registered after ALL's snapshot, too
    names = {n for n in names if n not in REGISTRY or not _own_table(n)}
    missing = sorted(n for n in names if n not in ROWS and n not in EXEMPT)
    assert not missing, f"primitives with no row in TABLE (and not in EXEMPT): {missing}"
    stale = sorted(n for n in set(ROWS) | set(EXEMPT) if n not in names)
    assert not stale, f"rows/EXEMPT entries for primitives that do not exist: {stale}"
    both = sorted(set(ROWS) & set(EXEMPT))
    assert not both, f"primitives both in TABLE and EXEMPT: {both}"

