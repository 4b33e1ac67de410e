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

import dataclasses
from typing import Any, Callable

import numpy as np
import pytest
import scipy.special as sps

import chainrule as cr
import chainrule.prims as P
from chainrule.core import get_aval, primitives as REGISTRY
from chainrule.test_util import check_grads
from chainrule.transforms import batching

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

# Rows whose batching rule is known to be missing (xfail, strict: a fixed rule must be
# removed from here).
BATCH_PENDING: dict[str, str] = {}


@dataclasses.dataclass
class Row:
    prim: Any
    make: Callable[[np.random.Generator], tuple]  # example arguments
    ref: Callable[..., Any]                        # NumPy/SciPy reference, same arguments
    params: dict = dataclasses.field(default_factory=dict)
    diff: tuple = ()                               # differentiable argument positions
    grad_tol: dict = dataclasses.field(default_factory=dict)  # atol/rtol/eps for check_grads
    case: str = ""                                 # id suffix of an extra (non-table) case

    @property
    def name(self) -> str:
        return self.prim.name

    @property
    def id(self) -> str:
        return f"{self.name}[{self.case}]" if self.case else self.name

    def args(self, seed: int = 0) -> tuple:
        return tuple(self.make(np.random.default_rng(seed)))


# --- argument domains ----------------------------------------------------------------------------

S = (3, 4)   # shape of a first argument
SB = (4,)    # shape of a second argument (broadcasts against S)


def normal(shape=S):
    return lambda rng: rng.standard_normal(shape)


def unif(lo, hi, shape=S):
    return lambda rng: rng.uniform(lo, hi, shape)


def away0(shape=S, lo=0.3, hi=2.0):
    """Values with |x| in [lo, hi], either sign (away from the kink/pole at 0)."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def offint(shape=S):
    """Values at least 0.2 away from every integer (floor/ceil/... are locally constant)."""
    return lambda rng: rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def distinct(shape):
    """Distinct values (gaps >= 0.1): no ties for max/min/sort/argmax."""
    n = int(np.prod(shape))
    return lambda rng: (rng.permutation(n) * 0.1 + rng.uniform(0, 0.02, n)).reshape(shape) - 1


def cplx(shape=S):
    return lambda rng: rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def intvals(shape=S, lo=-2, hi=3):
    """Integer-valued floats: comparisons see equal elements too."""
    return lambda rng: rng.integers(lo, hi, shape).astype(np.float64)


def ints(shape=S, lo=0, hi=100):
    return lambda rng: rng.integers(lo, hi, shape)


def bools(shape=S):
    return lambda rng: rng.random(shape) < 0.5


def with_specials(shape=S):
    def make(rng):
        x = rng.standard_normal(shape)
        x[0, 0], x[1, 2], x[2, 1], x[0, 3] = np.nan, np.inf, -np.inf, -0.0
        return x
    return make


def args_of(*makers):
    return lambda rng: tuple(m(rng) for m in makers)


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

# --- helpers -------------------------------------------------------------------------------------


def _is_float(a) -> bool:
    return np.asarray(a).dtype.kind in "fc"


def _to32(a):
    a = np.asarray(a)
    if a.dtype == np.float64:
        return a.astype(np.float32)
    if a.dtype == np.complex128:
        return a.astype(np.complex64)
    return a


def _outs(prim, out):
    return list(out) if prim.multiple_results else [out]


def _assert_same(got, want, rtol=1e-10, atol=1e-12, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def _call_with(row, args, positions):
    """f(*vals) = prim(args with `positions` replaced by vals)."""
    def f(*vals):
        full = list(args)
        for p, v in zip(positions, vals):
            full[p] = v
        return row.prim(*full, **row.params)
    return f


def _rows(pred=lambda r: True):
    return [pytest.param(r, id=r.id) for r in ALL_ROWS if pred(r)]


def _has_float_args(r):
    return any(_is_float(a) for a in r.args())


# --- 1. values -----------------------------------------------------------------------------------


def _dtype_params():
    """(row, dtype): float64 for every row, float32 too where a row has float arguments."""
    return [pytest.param(r, dt, id=f"{r.id}-{dt}") for r in ALL_ROWS
            for dt in (("float64", "float32") if _has_float_args(r) else ("float64",))]


@pytest.mark.parametrize("row,dtype", _dtype_params())
def test_value(row, dtype):
    args = row.args()
    if dtype == "float32":
        args = tuple(_to32(a) for a in args)
    out = row.prim(*args, **row.params)
    want = row.ref(*args)
    for o, w in zip(_outs(row.prim, out), _outs(row.prim, want)):
        assert isinstance(o, np.ndarray), f"eager result is {type(o).__name__}, not ndarray"
        w = np.asarray(w)
        assert o.dtype == w.dtype, f"dtype {o.dtype} but NumPy gives {w.dtype}"
        tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
        _assert_same(o, w, what=f"{row.id} value", **tol)


# --- 2. shape rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("row,dtype", _dtype_params())
def test_shape_rule(row, dtype):
    args = row.args()
    if dtype == "float32":
        args = tuple(_to32(a) for a in args)
    assert row.prim.abstract_eval is not None, f"`{row.name}` has no shape rule"
    aval = row.prim.abstract_eval(*[get_aval(a) for a in args], **row.params)
    out = row.prim(*args, **row.params)
    avals = list(aval) if row.prim.multiple_results else [aval]
    outs = _outs(row.prim, out)
    assert len(avals) == len(outs)
    for a, o in zip(avals, outs):
        assert a == get_aval(o), f"shape rule gives {a}, real output is {get_aval(o)}"


# --- 3. derivatives -------------------------------------------------------------------------------


@pytest.mark.parametrize("row", _rows(lambda r: r.diff))
def test_grads(row):
    args = row.args()
    f = _call_with(row, args, row.diff)
    check_grads(f, [args[i] for i in row.diff], order=2, modes=("fwd", "rev"), **row.grad_tol)


# --- 4. zero derivatives --------------------------------------------------------------------------


def _nondiff_float(r):
    return [i for i, a in enumerate(r.args()) if _is_float(a) and i not in r.diff]


@pytest.mark.parametrize("row", _rows(lambda r: not r.diff or _nondiff_float(r)))
def test_zero_derivative(row):
    args = row.args()
    pos = _nondiff_float(row)
    if not pos:
        # integer/boolean arguments only: jvp takes float0 tangents and gives a zero tangent
        tans = [np.zeros(np.shape(a), cr.float0) for a in args]
        out, t = cr.jvp(_call_with(row, args, range(len(args))), args, tans)
        assert np.shape(t) == np.shape(out) and np.asarray(t).dtype == cr.float0
        return
    f = _call_with(row, args, pos)
    primals = [args[i] for i in pos]
    rng = np.random.default_rng(7)
    tans = [(rng.standard_normal(np.shape(p)) * (1 + 1j if np.iscomplexobj(p) else 1))
            .astype(np.asarray(p).dtype) for p in primals]
    out, t = cr.jvp(f, primals, tans)
    for o, ti in zip(_outs(row.prim, out), _outs(row.prim, t)):
        ti = np.asarray(ti)
        assert ti.shape == np.shape(o)
        if ti.dtype != cr.float0:
            assert not np.any(ti), f"jvp through non-differentiable input gives {ti}"

    def total(*vals):
        outs = _outs(row.prim, f(*vals))
        s = 0.0
        for o in outs:
            o = P.convert_p(P.real_p(o) if np.dtype(o.dtype).kind == "c" else o,
                            dtype=np.dtype(np.float64))
            s = s + P.reduce_sum_p(o, axes=tuple(range(len(o.shape))))
        return s

    grads = cr.grad(total, argnums=tuple(range(len(pos))))(*primals)
    for g, p in zip(grads, primals):
        assert np.shape(g) == np.shape(p)
        assert not np.any(g), f"grad through non-differentiable input gives {g}"


# --- 5. vmap --------------------------------------------------------------------------------------

B = 3  # batch size


def _in_axes_specs(row):
    """(id, in_axes) pairs: batch axis 0, 1, -1, and some arguments unbatched."""
    nds = [np.ndim(a) for a in row.args()]
    n = len(nds)
    specs = [("axis0", (0,) * n),
             ("axis1", tuple(1 if d >= 1 else 0 for d in nds)),
             ("axis-1", (-1,) * n)]
    if n >= 2:
        specs.append(("first-only", (0,) + (None,) * (n - 1)))
        specs.append(("rest-only", (None,) + (-1,) * (n - 1)))
    if n >= 3:
        specs.append(("second-only", (None, 0) + (None,) * (n - 2)))
    return specs


def _vmap_params(pred=lambda r: True):
    out = []
    for r in ALL_ROWS:
        if not pred(r):
            continue
        marks = ([pytest.mark.xfail(reason=BATCH_PENDING[r.name], strict=True)]
                 if r.name in BATCH_PENDING else [])
        for sid, axes in _in_axes_specs(r):
            out.append(pytest.param(r, axes, id=f"{r.id}-{sid}", marks=marks))
    return out


def _batch(row, in_axes):
    """(stacked arguments for vmap, per-example argument tuples)."""
    examples = [row.args(seed) for seed in range(B)]
    stacked, per = [], [list(e) for e in examples]
    for j, ax in enumerate(in_axes):
        if ax is None:
            stacked.append(examples[0][j])
            for e in per:
                e[j] = examples[0][j]
        else:
            stacked.append(np.stack([e[j] for e in examples], axis=ax))
    return stacked, per


def _stack_outs(results, multiple):
    if multiple:
        return [np.stack(o) for o in zip(*results)]
    return [np.stack(results)]


@pytest.fixture
def no_loop_fallback(monkeypatch):
    """Fail when vmap falls back to its Python loop: every primitive must have a batch rule."""
    def loop(self, prim, vals, bdims, params):
        raise AssertionError(f"vmap fell back to a Python loop for `{prim.name}` (no batch rule)")
    monkeypatch.setattr(batching.BatchTrace, "loop", loop)


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("row,in_axes", _vmap_params())
def test_vmap(row, in_axes):
    stacked, per = _batch(row, in_axes)
    want = _stack_outs([row.prim(*a, **row.params) for a in per], row.prim.multiple_results)
    got = cr.vmap(lambda *a: row.prim(*a, **row.params), in_axes=in_axes)(*stacked)
    for g, w in zip(_outs(row.prim, got), want):
        assert np.asarray(g).dtype == w.dtype
        _assert_same(g, w, what=f"vmap {row.id} in_axes={in_axes}")


# --- 6. vmap of grad ------------------------------------------------------------------------------


def _grad_fn(row, weights):
    """g(*args) = grad of sum(real(prim(*args) * w)) in the differentiable arguments."""
    diff = row.diff

    def g(*args):
        def scalar(*dvals):
            full = list(args)
            for p, v in zip(diff, dvals):
                full[p] = v
            out = _outs(row.prim, row.prim(*full, **row.params))
            s = 0.0
            for o, w in zip(out, weights):
                o = P.mul_p(o, w)
                if np.dtype(o.dtype).kind == "c":
                    o = P.real_p(o)
                s = s + P.reduce_sum_p(o, axes=tuple(range(len(o.shape))))
            return s
        return cr.grad(scalar, argnums=tuple(range(len(diff))))(*[args[p] for p in diff])
    return g


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("row,in_axes", _vmap_params(lambda r: r.diff))
def test_vmap_grad(row, in_axes):
    stacked, per = _batch(row, in_axes)
    rng = np.random.default_rng(11)
    weights = [rng.standard_normal(np.shape(o))
               for o in _outs(row.prim, row.prim(*per[0], **row.params))]
    g = _grad_fn(row, weights)
    want = [np.stack(gs) for gs in zip(*[g(*a) for a in per])]
    got = cr.vmap(g, in_axes=in_axes)(*stacked)
    assert len(got) == len(want)
    for gi, wi in zip(got, want):
        _assert_same(gi, wi, rtol=1e-9, atol=1e-11, what=f"vmap(grad({row.id}))")


# --- 7. jit vs eager ------------------------------------------------------------------------------


@pytest.mark.parametrize("row", _rows())
def test_jit(row):
    args = row.args()
    want = _outs(row.prim, row.prim(*args, **row.params))
    got = _outs(row.prim, cr.jit(lambda *a: row.prim(*a, **row.params))(*args))
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == w.dtype
        _assert_same(g, w, what=f"jit({row.id})")


# --- 8. coverage ----------------------------------------------------------------------------------


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
