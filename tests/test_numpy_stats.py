"""Sorting, searching and statistics (chainrule/numpy/_stats.py, chainrule/prims/sorting.py).

1. The primitive table of prims/sorting.py (argpartition, searchsorted, convolve) through the
   shared harness (values, shape rules, derivatives of order 2, vmap, jit, coverage).
2. A table of calls `CASES` written once for any module m (numpy or chainrule.numpy): each is
   checked for value/shape/dtype against NumPy, under jit, under vmap (against a Python loop of
   NumPy calls), when written with plain `numpy` under grad (dispatch through
   __array_function__), and, where differentiable, by check_grads of order 2 in both modes
   on inputs without ties.
3. Targeted tests: the partition contract, quantile derivatives in q, NaN gradients, every
   quantile method, functions whose output shape depends on the values (eager/grad work,
   jit/vmap raise naming the static argument), and NumPy's errors.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import ConcretizationError
from chainrule.prims import sorting as SP
from chainrule.test_util import check_grads
from primtable import Row, args_of, cplx, distinct, intvals, normal, coverage_test
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)

# --- 1. the primitive table ----------------------------------------------------------------------


def sorted_normal(shape):
    return lambda rng: np.sort(rng.standard_normal(shape), axis=-1)


def sorted_ints(shape):
    return lambda rng: np.sort(rng.integers(0, 4, shape).astype(np.float64), axis=-1)


def _rows_ref(fn):
    """A reference applying a 1-D NumPy function row by row (leading dims of both)."""
    def ref(a, v):
        lead = a.shape[:-1]
        return np.stack([fn(a[i], v[i]) for i in np.ndindex(lead)]).reshape(
            lead + fn(a[(0,) * len(lead)], v[(0,) * len(lead)]).shape)
    return ref


ALL_ROWS = [
    Row(SP.argpartition_p, args_of(distinct((3, 6))),
        lambda x: np.argpartition(x, (1, 4), axis=1), {"kth": (1, 4), "axis": 1}),
    Row(SP.argpartition_p, args_of(distinct((5, 3))),
        lambda x: np.argpartition(x, (2,), axis=0), {"kth": (2,), "axis": 0}, case="axis0"),
    Row(SP.searchsorted_p, args_of(sorted_normal((6,)), normal((3, 4))),
        lambda a, v: np.searchsorted(a, v, side="left"), {"side": "left"}),
    Row(SP.searchsorted_p, args_of(sorted_ints((7,)), intvals((5,), 0, 4)),
        lambda a, v: np.searchsorted(a, v, side="right"), {"side": "right"}, case="ties"),
    Row(SP.searchsorted_p, args_of(sorted_normal((2, 6)), normal((2, 3, 2))),
        _rows_ref(lambda a, v: np.searchsorted(a, v, side="left")), {"side": "left"},
        case="rows"),
    Row(SP.convolve_p, args_of(normal((5,)), normal((3,))), np.convolve, diff=(0, 1)),
    Row(SP.convolve_p, args_of(normal((3,)), normal((6,))), np.convolve, diff=(0, 1),
        case="longer-v"),
    Row(SP.convolve_p, args_of(cplx((4,)), normal((3,))), np.convolve, diff=(0, 1),
        case="complex"),
    Row(SP.convolve_p, args_of(normal((2, 5)), normal((2, 3))), _rows_ref(np.convolve),
        diff=(0, 1), case="rows", value_tol={"float64": {"rtol": 1e-9, "atol": 1e-12}}),
]

test_coverage = coverage_test(ALL_ROWS, module="chainrule.prims.sorting")


def test_all_exported():
    from chainrule.numpy import _stats
    for name in _stats.__all__:
        assert getattr(cnp, name) is getattr(_stats, name), name


# --- 2. the table of calls -----------------------------------------------------------------------

_RNG = np.random.default_rng(0)


class _Composed:
    """chainrule.numpy, with the stats functions' compositions (`__wrapped__`) run even on
    NumPy arrays, where the public functions call NumPy itself."""

    def __getattr__(self, name):
        from chainrule.numpy import _stats
        f = getattr(cnp, name)
        return f.__wrapped__ if name in _stats.__all__ else f


CP = _Composed()


def _distinct(shape, rng=_RNG):
    return distinct(shape)(rng)


X3 = _distinct((3, 4, 5))          # no ties anywhere: order statistics are smooth here
X2 = _distinct((4, 6))
XN = X2.copy()                     # NaNs, a row with a single finite value
XN[0, 1] = XN[1, 4] = XN[2, 0] = np.nan
XN[3, :5] = np.nan
V6 = _distinct((6,))
XP = np.array([-1.0, -0.2, 0.3, 0.9, 1.6, 2.5])      # increasing sample points
FP = np.array([0.5, -1.0, 2.0, 0.0, 1.5, -0.5])
Q3 = np.array([0.1, 0.45, 0.77])


@dataclasses.dataclass
class Case:
    id: str
    fn: Callable[[Any, Any], Any]   # fn(module, x)
    x: np.ndarray
    diff: bool = True               # differentiable in x (check_grads order 2)
    ref: Callable | None = None     # NumPy reference of x when fn(np, x) is not it
    tol: float = 1e-12


def _variants(x):
    """Three inputs for vmap: x and two perturbations keeping its structure (NaNs, order)."""
    return [x, x * 1.01 + 0.003, x * 0.97 - 0.002]


CASES = [
    # sorting and partitioning (any axis)
    Case("sort-axis0", lambda m, x: m.sort(x, axis=0), X3),
    Case("sort-axis1", lambda m, x: m.sort(x, axis=1), X3),
    Case("sort-none", lambda m, x: m.sort(x, axis=None), X2),
    Case("argsort-axis0", lambda m, x: m.argsort(x, axis=0), X3, diff=False),
    Case("partition", lambda m, x: m.partition(x, 2, axis=1), X3,
         ref=lambda x: np.take_along_axis(x, np.argpartition(x, 2, axis=1), axis=1)),
    Case("partition-multi", lambda m, x: m.partition(x, (0, -1), axis=-1), X2,
         ref=lambda x: np.take_along_axis(x, np.argpartition(x, (0, -1), axis=-1), -1)),
    Case("argpartition", lambda m, x: m.argpartition(x, 3, axis=None), X2, diff=False),
    # order statistics
    Case("median", lambda m, x: m.median(x), X3),
    Case("median-axis0", lambda m, x: m.median(x, axis=0), X3),
    Case("median-even", lambda m, x: m.median(x, axis=1, keepdims=True), X3),
    Case("median-axes", lambda m, x: m.median(x, axis=(0, 2)), X3),
    Case("median-nan", lambda m, x: m.median(x, axis=1), XN, diff=False),
    Case("percentile", lambda m, x: m.percentile(x, 30.0, axis=1), X3),
    Case("percentile-q", lambda m, x: m.percentile(x, [10.0, 50.0, 93.0], axis=(0, 1),
                                                   keepdims=True), X3),
    Case("quantile", lambda m, x: m.quantile(x, Q3, axis=-1), X3),
    Case("quantile-none", lambda m, x: m.quantile(x, 0.3), X2),
    Case("quantile-nan", lambda m, x: m.quantile(x, Q3, axis=1), XN, diff=False),
    Case("quantile-weights", lambda m, x: m.quantile(x, Q3, axis=1, method="inverted_cdf",
                                                     weights=np.arange(1.0, 7.0)), X2),
    *[Case(f"quantile-{meth}", (lambda meth: lambda m, x: m.quantile(
        x, Q3, axis=0, method=meth))(meth), X3) for meth in [
        "inverted_cdf", "averaged_inverted_cdf", "closest_observation",
        "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
        "normal_unbiased", "lower", "higher", "midpoint", "nearest"]],
    Case("nanmedian", lambda m, x: m.nanmedian(x, axis=1), XN),
    Case("nanmedian-none", lambda m, x: m.nanmedian(x), XN),
    Case("nanpercentile", lambda m, x: m.nanpercentile(x, [20.0, 70.0], axis=1), XN),
    Case("nanquantile", lambda m, x: m.nanquantile(x, 0.4, axis=0, keepdims=True), XN),
    Case("nanquantile-nearest", lambda m, x: m.nanquantile(x, Q3, axis=1, method="nearest"),
         XN),
    Case("nanquantile-weights", lambda m, x: m.nanquantile(
        x, Q3, axis=1, method="inverted_cdf", weights=np.tile(np.arange(1.0, 7.0), (4, 1))),
        XN),
    # NaN-aware reductions
    Case("nansum", lambda m, x: m.nansum(x, axis=1), XN),
    Case("nansum-none", lambda m, x: m.nansum(x, keepdims=True), XN),
    Case("nanprod", lambda m, x: m.nanprod(x, axis=0), XN),
    Case("nanmean", lambda m, x: m.nanmean(x, axis=1), XN),
    Case("nanmean-where", lambda m, x: m.nanmean(x, axis=0, where=X2 > 0.5), XN),
    Case("nanvar", lambda m, x: m.nanvar(x, axis=1, ddof=1), XN),
    Case("nanvar-none", lambda m, x: m.nanvar(x), XN),
    Case("nanstd", lambda m, x: m.nanstd(x, axis=0, keepdims=True), XN),
    Case("nanmax", lambda m, x: m.nanmax(x, axis=1), XN),
    Case("nanmin", lambda m, x: m.nanmin(x, axis=0), XN),
    Case("nanmax-initial", lambda m, x: m.nanmax(x, axis=1, initial=0.35), XN),
    Case("nanargmax", lambda m, x: m.nanargmax(x, axis=1), XN, diff=False),
    Case("nanargmin", lambda m, x: m.nanargmin(x), XN, diff=False),
    Case("nancumsum", lambda m, x: m.nancumsum(x, axis=1), XN),
    Case("nancumprod", lambda m, x: m.nancumprod(x, axis=0), XN),
    # differences, gradients, integrals
    Case("diff", lambda m, x: m.diff(x, axis=1), X3),
    Case("diff-n2", lambda m, x: m.diff(x, n=2, axis=0, prepend=0.5, append=x[:1]), X2),
    Case("ediff1d", lambda m, x: m.ediff1d(x, to_begin=[-1.0, 0.0], to_end=2.0), X2),
    Case("gradient", lambda m, x: m.gradient(x), X2),
    Case("gradient-spacing", lambda m, x: m.gradient(x, 0.5, axis=1, edge_order=2), X3),
    Case("gradient-coords", lambda m, x: m.gradient(x, XP[:4] ** 2, V6 ** 2 + 1.0 * np.arange(6),
                                                    edge_order=2), X2),
    Case("gradient-coords1", lambda m, x: m.gradient(x, np.arange(6.0) ** 1.5, axis=-1), X2),
    Case("trapezoid", lambda m, x: m.trapezoid(x, dx=0.3, axis=1), X3),
    Case("trapezoid-x", lambda m, x: m.trapezoid(x, XP), X2),
    Case("trapezoid-x2d", lambda m, x: m.trapezoid(x, np.cumsum(np.abs(X2), 0), axis=0), X2),
    # interpolation and polynomials
    Case("interp", lambda m, x: m.interp(x, XP, FP), X2 * 0.8 + 0.1),
    Case("interp-lr", lambda m, x: m.interp(x, XP, FP, left=-3.0, right=4.0), X2),
    Case("interp-period", lambda m, x: m.interp(x, XP, FP, period=2.0), X2),
    Case("interp-fp", lambda m, x: m.interp(X2 * 0.8 + 0.1, XP, x), FP),
    Case("interp-complex", lambda m, x: m.interp(x, XP, FP * (1 + 2j)), X2 * 0.8 + 0.1),
    Case("polyval", lambda m, x: m.polyval([2.0, -1.0, 0.5, 3.0], x), X2),
    Case("polyval-p", lambda m, x: m.polyval(x, 0.7), V6),
    Case("polyfit", lambda m, x: m.polyfit(XP, x, 2), FP),
    Case("polyfit-2d-w", lambda m, x: m.polyfit(XP, x.T, 1, w=np.linspace(1.0, 2.0, 6)), X2),
    Case("polyfit-x", lambda m, x: m.polyfit(x, FP, 3), XP),
    # convolution and correlation
    Case("convolve", lambda m, x: m.convolve(x, [1.0, -2.0, 0.5]), V6),
    Case("convolve-same", lambda m, x: m.convolve([1.0, -2.0, 0.5, 2.0], x, mode="same"), V6),
    Case("convolve-valid", lambda m, x: m.convolve(x, x[::-1] * 0.5, mode="valid"), V6),
    Case("correlate", lambda m, x: m.correlate(x, [1.0, -2.0, 0.5]), V6),
    Case("correlate-full", lambda m, x: m.correlate([0.5, 1.0], x, mode="full"), V6),
    Case("correlate-complex", lambda m, x: m.correlate(x * (1 - 1j), [1j, 2.0, 0.5], "same"),
         V6),
    # covariance
    Case("cov", lambda m, x: m.cov(x), X2),
    Case("cov-cols", lambda m, x: m.cov(x, rowvar=False, bias=True), X2),
    Case("cov-y", lambda m, x: m.cov(x[0], x[1], ddof=0), X2),
    Case("cov-weights", lambda m, x: m.cov(x, fweights=[1, 2, 1, 3, 1, 1],
                                           aweights=np.linspace(0.5, 2.0, 6)), X2),
    Case("cov-aweights-x", lambda m, x: m.cov(X2, aweights=x * x + 0.5), V6),
    Case("corrcoef", lambda m, x: m.corrcoef(x), X2),
    Case("corrcoef-y", lambda m, x: m.corrcoef(x[:, 0], x[:, 1]), X2),
    # cross products
    Case("cross", lambda m, x: m.cross(x[:, :3], x[:, 3:]), X2),
    Case("cross-axes", lambda m, x: m.cross(x[:3], x[1:], axisa=0, axisb=0, axisc=0), X2),
    Case("cross-23", lambda m, x: m.cross(x[:, 4:], x[:, :3]), X2),
    # counting, searching, binning
    Case("count_nonzero", lambda m, x: m.count_nonzero(x > 1.0, axis=1), X2, diff=False),
    Case("count_nonzero-none", lambda m, x: m.count_nonzero(m.floor(x)), X2, diff=False),
    Case("count_nonzero-keepdims", lambda m, x: m.count_nonzero(m.floor(x), axis=(0, 1),
                                                                keepdims=True), X3, diff=False),
    Case("searchsorted", lambda m, x: m.searchsorted(XP, x, side="right"), X2, diff=False),
    Case("searchsorted-sorter", lambda m, x: m.searchsorted(FP, x, sorter=np.argsort(FP)),
         X2, diff=False),
    Case("digitize", lambda m, x: m.digitize(x, XP), X2, diff=False),
    Case("digitize-right-dec", lambda m, x: m.digitize(x, XP[::-1], right=True), X2,
         diff=False),
    Case("histogram", lambda m, x: m.histogram(x, bins=4, range=(-1.0, 2.0)), X2,
         diff=False),
    Case("histogram-auto-range", lambda m, x: m.histogram(x, bins=5), X2),
    Case("histogram-edges", lambda m, x: m.histogram(x, bins=XP, density=True), X2,
         diff=False),
    Case("histogram-weights", lambda m, x: m.histogram(X2, bins=3, range=(-1.0, 3.0),
                                                       weights=x), X2),
    Case("histogram_bin_edges", lambda m, x: m.histogram_bin_edges(x, bins=3), X2),
    Case("bincount-weights", lambda m, x: m.bincount(np.array([0, 3, 1, 3, 3, 2]),
                                                     weights=x, minlength=6), V6),
]
_BY_ID = {c.id: c for c in CASES}
assert len(_BY_ID) == len(CASES), "duplicate case ids"


def _leaves(out):
    if isinstance(out, (list, tuple)):
        return [y for o in out for y in _leaves(o)]
    return [out]


def _expected(case, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (RuntimeWarning, DeprecationWarning))
        return case.ref(x) if case.ref is not None else case.fn(np, x)


def _same(got, want, tol, what):
    got_l, want_l = _leaves(got), _leaves(want)
    assert len(got_l) == len(want_l), what
    for g, w in zip(got_l, want_l):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} != {w.dtype}"
        if w.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


def _quiet(f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (RuntimeWarning, DeprecationWarning))
        return f(*args)


@pytest.mark.parametrize("m", ["public", "composed"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_value_vs_numpy(case, m):
    got = _quiet(case.fn, cnp if m == "public" else CP, case.x)
    want = _expected(case, case.x)
    for g, w in zip(_leaves(got), _leaves(want)):
        # arrays where NumPy gives arrays, NumPy scalars where it gives scalars
        assert isinstance(g, np.ndarray) == isinstance(w, np.ndarray), (type(g), type(w))
        assert isinstance(g, (np.ndarray, np.generic)), type(g)
    _same(got, want, case.tol, case.id)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_jit_vs_numpy(case):
    got = _quiet(cr.jit(lambda x: case.fn(cnp, x)), case.x)
    _same(got, _expected(case, case.x), case.tol, f"jit {case.id}")


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("in_axis", [0, -1])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vmap_vs_loop(case, in_axis):
    xs = _variants(case.x)
    want = [np.stack(ws) for ws in zip(*[_leaves(_expected(case, x)) for x in xs])]
    got = _quiet(cr.vmap(lambda x: case.fn(cnp, x), in_axes=in_axis), np.stack(xs, in_axis))
    got = _leaves(got)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == w.dtype, case.id
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12, atol=1e-12, equal_nan=True,
                                   err_msg=f"vmap {case.id}")


def _weights_for(case):
    rng = np.random.default_rng(3)
    return [rng.standard_normal(np.shape(o)) for o in _leaves(_expected(case, case.x))]


def _scalar(m, case, x, weights):
    total = 0.0
    for o, w in zip(_leaves(case.fn(m, x)), weights):
        o = cnp.asarray(o)
        if o.dtype.kind not in "fc":
            continue
        if o.dtype.kind == "c":
            o = cnp.real(o)
        total = total + cnp.nansum(o * w)
    return total


DIFF = [c for c in CASES if c.diff]


@pytest.mark.parametrize("case", DIFF, ids=[c.id for c in DIFF])
def test_grads_order2(case):
    f = lambda x: [o for o in _leaves(case.fn(cnp, x))  # noqa: E731
                   if np.dtype(o.dtype).kind in "fc"]
    x = case.x
    if np.isnan(x).any():
        # NaN entries stay out of the finite differences: differentiate in the finite ones
        mask = np.isnan(x)

        def f(v, f0=f):
            full = cnp.where(mask, np.nan, cnp.at(np.zeros(mask.shape))[~mask].set(v))
            return [cnp.where(cnp.isnan(o), 0.0, o) for o in f0(full)]
        x = x[~mask]
    _quiet(check_grads, f, (x,), 2, ("fwd", "rev"))


@pytest.mark.parametrize("case", DIFF, ids=[c.id for c in DIFF])
def test_plain_numpy_code_under_grad(case):
    """The call written with `numpy` differentiates like the chainrule.numpy one."""
    w = _weights_for(case)
    g_np = _quiet(cr.grad(lambda x: _scalar(np, case, x, w)), case.x)
    g_cnp = _quiet(cr.grad(lambda x: _scalar(cnp, case, x, w)), case.x)
    np.testing.assert_allclose(g_np, g_cnp, rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(g_np)), f"{case.id}: gradient not finite: {g_np}"
    assert np.any(g_np != 0), f"{case.id}: gradient identically zero"
    if np.isnan(case.x).any():
        assert np.all(g_np[np.isnan(case.x)] == 0), "gradient at NaN entries must be 0"


# --- 3. targeted tests ---------------------------------------------------------------------------

_METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation",
            "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
            "normal_unbiased", "lower", "higher", "midpoint", "nearest"]
_SMOOTH_METHODS = ["linear", "hazen", "weibull", "median_unbiased", "normal_unbiased",
                   "interpolated_inverted_cdf"]
_QGRID = np.array([0.0, 0.01, 0.1, 0.125, 0.25, 1 / 3, 0.5, 0.6, 2 / 3, 0.75, 0.99, 1.0])


@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile"])
@pytest.mark.parametrize("method", _METHODS)
def test_every_quantile_method_matches_numpy(name, method):
    """Every method, slice lengths 1..6 (exact hits, q = 0 and 1), float64/float32/int data,
    strong and weak q dtypes; NaN rows (all-NaN too) for the nan variants."""
    rng = np.random.default_rng(5)
    scale = 100 if "percentile" in name else 1
    for n in (1, 2, 4, 5):
        x = rng.standard_normal((3, n))
        if name.startswith("nan") and n > 1:
            x[0, 0] = x[2, n // 2] = np.nan
            x[1] = np.nan
        for data in (x, x.astype(np.float32), rng.integers(-5, 5, (2, n))):
            for q in (_QGRID, _QGRID.astype(np.float32), 0.3, 1):
                q = q * scale if not isinstance(q, int) else q * scale
                want = _quiet(getattr(np, name), data, q, 1, None, False, method)
                got = _quiet(getattr(CP, name), data, q, 1, None, False, method)
                tol = 1e-6 if np.float32 in (data.dtype, np.asarray(q).dtype) else 1e-13
                _same(got, want, tol, f"{name} {method} n={n} {data.dtype} q={q!r}")


@pytest.mark.parametrize("method", _SMOOTH_METHODS)
def test_quantile_differentiable_in_q(method):
    x = np.random.default_rng(2).permutation(20).reshape(4, 5) * 0.1 + 0.01
    q = np.array([0.23, 0.52, 0.81])   # interior for every method (no clamping at the ends)
    check_grads(lambda q: CP.quantile(x, q, axis=1, method=method), (q,), order=2)
    check_grads(lambda x, q: CP.nanquantile(x, q, axis=0, method=method), (x, q), order=2)
    check_grads(lambda q: CP.percentile(x, q, method=method), (q * 100,), order=2)
    for f in (CP.quantile, CP.nanquantile):
        g = cr.grad(lambda q: f(x, q, axis=1, method=method).sum())(q)
        assert np.all(g != 0)
        # a traced q (sorting instead of partitioning) under jit and vmap
        np.testing.assert_allclose(cr.jit(lambda x, q: f(x, q, axis=1, method=method))(x, q),
                                   f(x, q, axis=1, method=method), rtol=1e-13)
        np.testing.assert_allclose(cr.vmap(lambda q: f(x, q, axis=1, method=method))(q),
                                   np.stack([f(x, qi, axis=1, method=method) for qi in q]),
                                   rtol=1e-13)
        np.testing.assert_allclose(
            cr.jit(cr.grad(lambda q: f(x, q, axis=1, method=method).sum()))(q), g, rtol=1e-12)


@pytest.mark.parametrize("method", sorted(set(_METHODS) - set(_SMOOTH_METHODS)))
def test_discrete_quantile_methods_are_constant_in_q(method):
    x = np.random.default_rng(2).permutation(20).reshape(4, 5) * 0.1
    q = np.array([0.13, 0.52, 0.81])
    g = cr.grad(lambda q: CP.quantile(x, q, axis=1, method=method).sum())(q)
    assert np.array_equal(g, np.zeros(3))
    gx = cr.grad(lambda x: CP.quantile(x, q, axis=1, method=method).sum())(x)
    assert gx.sum() == pytest.approx(12.0)  # each quantile is a gather (or a mean of two)


def _check_partition(p, x, kth, axis):
    xs = np.sort(x, axis=axis)
    p, xm, xsm = (np.moveaxis(np.asarray(a), axis, -1) for a in (p, x, xs))
    np.testing.assert_array_equal(np.sort(p, axis=-1), xsm)           # a permutation
    for k in np.atleast_1d(kth):
        k = k % x.shape[axis]
        np.testing.assert_array_equal(p[..., k], xsm[..., k])         # the kth value in place
        assert np.all(p[..., :k] <= p[..., k:k + 1])                   # smaller before
        assert np.all(p[..., k + 1:] >= p[..., k:k + 1])               # larger after


@pytest.mark.parametrize("kth,axis", [(0, 0), (2, 1), (-1, -1), ((1, 3), 2), ([0, 2, 4], -1)])
def test_partition_contract(kth, axis):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, (3, 4, 5)).astype(np.float64)   # many ties
    _check_partition(CP.partition(x, kth, axis=axis), x, kth, axis)
    _check_partition(cr.jit(lambda x: CP.partition(x, kth, axis=axis))(x), x, kth, axis)
    idx = CP.argpartition(x, kth, axis=axis)
    assert idx.dtype == np.intp
    _check_partition(np.take_along_axis(x, idx, axis=axis), x, kth, axis)
    b = cr.vmap(lambda x: CP.partition(x, kth, axis=axis - 1 if axis > 0 else axis))(x)
    for i in range(3):
        _check_partition(b[i], x[i], kth, axis - 1 if axis > 0 else axis)
    # the derivative follows the permutation
    g = cr.grad(lambda x: (CP.partition(x, kth, axis=axis) * np.arange(5.0)[:x.shape[-1]]
                           ).sum())(X3)
    assert sorted(np.unique(g).tolist()) == list(range(5))


def test_partition_flattened_and_errors():
    _check_partition(CP.partition(X2, 5, axis=None), X2.ravel(), 5, 0)
    with pytest.raises(ValueError, match="out of bounds"):
        CP.partition(X2, 6)
    with pytest.raises(ValueError, match="out of bounds"):
        CP.argpartition(X2, -7)
    with pytest.raises(TypeError, match="integer"):
        CP.partition(X2, 1.5)
    with pytest.raises(ValueError, match="introselect"):
        CP.partition(X2, 1, kind="quicksort")
    with pytest.raises(ConcretizationError, match="kth"):
        cr.jit(lambda x, k: CP.partition(x, k))(X2, 2)


def test_sort_and_argsort_on_any_axis_with_ties():
    x = np.random.default_rng(6).integers(0, 3, (3, 4, 5)).astype(np.float64)
    for axis in (0, 1, 2, -1, -2, None):
        _same(CP.sort(x, axis=axis), np.sort(x, axis=axis), 0, f"sort {axis}")
        _same(CP.argsort(x, axis=axis), np.argsort(x, axis=axis, kind="stable"), 0,
              f"argsort {axis}")
        _same(cr.jit(lambda x: CP.sort(x, axis=axis))(x), np.sort(x, axis=axis), 0, "jit")
    for b in (0, 1, 2):
        got = cr.vmap(lambda x: CP.sort(x, axis=0), in_axes=b)(X3)
        want = np.stack([np.sort(np.take(X3, i, axis=b), axis=0) for i in range(X3.shape[b])])
        _same(got, want, 0, f"vmap sort in_axes={b}")


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.bool_])
def test_dtypes_follow_numpy(dtype):
    x = (X2 * 3).astype(dtype)
    calls = [lambda m: m.median(x, axis=0), lambda m: m.quantile(x, 0.3),
             lambda m: m.percentile(x, np.float32(40.0), axis=1),
             lambda m: m.nanmedian(x), lambda m: m.nansum(x, axis=1),
             lambda m: m.nanmean(x), lambda m: m.nanvar(x, axis=0), lambda m: m.nanmax(x),
             lambda m: m.nanprod(x[:, :2], axis=1), lambda m: m.nancumsum(x),
             lambda m: m.diff(x, axis=0), lambda m: m.gradient(x, axis=1),
             lambda m: m.trapezoid(x), lambda m: m.interp(x, XP, FP),
             lambda m: m.cov(x), lambda m: m.corrcoef(x), lambda m: m.count_nonzero(x),
             lambda m: m.histogram(x, bins=3), lambda m: m.searchsorted(XP, x),
             lambda m: m.convolve(x[0], x[1]), lambda m: m.polyval(x[0], 2.0),
             lambda m: m.ediff1d(x), lambda m: m.cross(x[:, :3], x[:, 3:])]
    if dtype is np.bool_:
        calls = calls[:2] + calls[3:5] + calls[10:11] + calls[16:18]
    for i, call in enumerate(calls):
        try:
            want = _quiet(call, np)
        except TypeError:
            with pytest.raises(TypeError):
                _quiet(call, CP)
            continue
        _same(_quiet(call, CP), want, 1e-6 if dtype is np.float32 else 1e-12,
              f"call {i} {np.dtype(dtype)}")


def test_values_with_ties_and_infinities():
    x = np.array([[1.0, 2.0, 2.0, 2.0, 5.0], [np.inf, -np.inf, 0.0, np.inf, 1.0]])
    for call in [lambda m: m.median(x, axis=1), lambda m: m.quantile(x, Q3, axis=1),
                 lambda m: m.percentile(x, 100.0, axis=1), lambda m: m.unique(x),
                 lambda m: m.nanmax(x, axis=1), lambda m: m.sort(x, axis=1),
                 lambda m: m.quantile(x, [0.0, 0.5, 1.0], axis=1, method="midpoint"),
                 lambda m: m.nanquantile(x, 0.9, axis=1), lambda m: m.nanmedian(x)]:
        _same(_quiet(call, CP), _quiet(call, np), 1e-13, "ties/inf")


# --- NaN handling -------------------------------------------------------------------------------

_NAN_CALLS = {
    "nansum": lambda m, x: m.nansum(x, axis=1), "nanprod": lambda m, x: m.nanprod(x, axis=1),
    "nanmean": lambda m, x: m.nanmean(x, axis=1),
    "nanvar": lambda m, x: m.nanvar(x, axis=1, ddof=1),
    "nanstd": lambda m, x: m.nanstd(x, axis=1), "nanmax": lambda m, x: m.nanmax(x, axis=1),
    "nanmin": lambda m, x: m.nanmin(x, axis=1),
    "nanmedian": lambda m, x: m.nanmedian(x, axis=1),
    "nanquantile": lambda m, x: m.nanquantile(x, Q3, axis=1),
    "nanpercentile": lambda m, x: m.nanpercentile(x, 35.0, axis=1, method="weibull"),
    "nancumsum": lambda m, x: m.nancumsum(x, axis=1),
    "nancumprod": lambda m, x: m.nancumprod(x, axis=1),
    "median": lambda m, x: m.median(x, axis=1), "quantile": lambda m, x: m.quantile(x, 0.3, 1),
}


@pytest.mark.parametrize("name", sorted(_NAN_CALLS))
def test_nan_rows_values_and_finite_gradients(name):
    """All-NaN and partly-NaN rows: NumPy's values; the gradient is 0 at NaN entries and on
    rows whose result is NaN, and finite everywhere."""
    call = _NAN_CALLS[name]
    x = XN.copy()
    x[1] = np.nan                                  # an all-NaN row
    _same(_quiet(call, CP, x), _quiet(call, np, x), 1e-12, name)
    g = _quiet(cr.grad(lambda x: CP.nansum(call(CP, x) * 1.5)), x)
    assert np.all(np.isfinite(g)), g
    assert np.all(g[np.isnan(x)] == 0)
    g2 = _quiet(cr.grad(lambda x: CP.nansum(call(CP, x) * 1.5)), x[[0, 2]])
    assert np.all(np.isfinite(g2))
    if not name.startswith("nan"):
        assert np.all(g[:3] == 0)                 # rows holding a NaN give NaN: no derivative
    else:
        assert np.any(g2 != 0)
    # the same under jit and vmap
    np.testing.assert_allclose(_quiet(cr.jit(lambda x: call(CP, x)), x),
                               _quiet(call, np, x), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(_quiet(cr.vmap(lambda r: call(CP, r[None])), x),
                               np.stack([_quiet(call, np, x[i:i + 1]) for i in range(4)]),
                               rtol=1e-12, equal_nan=True)


def test_nanargmax_all_nan():
    x = np.array([[np.nan, np.nan], [1.0, 2.0]])
    for f in (CP.nanargmax, CP.nanargmin):
        with pytest.raises(ValueError, match="All-NaN slice"):
            f(x, axis=1)
        np.testing.assert_array_equal(cr.jit(lambda x: f(x, axis=1))(x), [-1, 1 if
                                                                            f is CP.nanargmax
                                                                            else 0])
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        CP.nanmax(x, axis=1)


def test_nan_reductions_options():
    x = XN
    where = X2 > 0.0
    for call in [lambda m: m.nansum(x, axis=(0, 1), keepdims=True, dtype=np.float32),
                 lambda m: m.nansum(x, where=where, initial=2.0),
                 lambda m: m.nanprod(x, axis=0, where=where),
                 lambda m: m.nanmean(x, axis=1, where=where, keepdims=True),
                 lambda m: m.nanvar(x, axis=0, where=where, correction=1),
                 lambda m: m.nanstd(x, axis=1, mean=m.nanmean(x, axis=1, keepdims=True)),
                 lambda m: m.nanmax(x, axis=0, where=where, initial=-5.0),
                 lambda m: m.nanmin(x, keepdims=True), lambda m: m.nanargmax(x, axis=0,
                                                                              keepdims=True),
                 lambda m: m.nancumsum(x), lambda m: m.nancumprod(x, axis=1, dtype=np.float32),
                 lambda m: m.nanmedian(x, axis=(0, 1), keepdims=True),
                 lambda m: m.nanquantile(x, [0.5], axis=0, keepdims=True),
                 lambda m: m.nanvar(x + 1j * x[::-1], axis=1)]:
        _same(_quiet(call, CP), _quiet(call, np), 1e-6, "nan options")


# --- functions whose output shape depends on the values ----------------------------------------

U7 = np.array([3.0, 1.0, 1.0, np.nan, 2.0, np.nan, 3.0])


@pytest.mark.parametrize("flags", [(False, False, False), (True, True, True), (False, True,
                                                                                 False)])
def test_unique_eager_and_under_grad(flags):
    for x in (U7, np.array([[2, 1], [1, 4]])):
        want = np.unique(x, *flags)
        _same(CP.unique(x, *flags), want, 0, "unique")
        out = cr.jvp(lambda v: CP.unique(v, *flags), (x.astype(float),),
                     (np.ones(x.shape),))[0]
        _same(out, np.unique(x.astype(float), *flags), 0, "unique under jvp")
    _same(CP.unique(U7, equal_nan=False), np.unique(U7, equal_nan=False), 0, "equal_nan")
    m = np.array([[1, 2], [1, 2], [0, 5]])
    _same(CP.unique(m, axis=0, return_counts=True), np.unique(m, axis=0, return_counts=True),
          0, "axis")
    # the unique values are a gather: the derivative reaches each first occurrence
    g = cr.grad(lambda v: (CP.unique(v) * np.array([1.0, 10.0, 100.0])).sum())(U7[[0, 1, 2, 4,
                                                                                    6]])
    np.testing.assert_array_equal(g, [100.0, 1.0, 0.0, 10.0, 0.0])


def test_unique_with_size_under_jit_and_vmap():
    f = lambda x: CP.unique(x, return_index=True, return_inverse=True,  # noqa: E731
                             return_counts=True, size=6)
    vals, index, inverse, counts = cr.jit(f)(U7)
    w = np.unique(U7, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(vals, np.concatenate([w[0], [1.0, 1.0]]))  # padded with min
    np.testing.assert_array_equal(index, np.concatenate([w[1], [0, 0]]))
    np.testing.assert_array_equal(inverse, w[2])
    np.testing.assert_array_equal(counts, np.concatenate([w[3], [0, 0]]))
    short = cr.jit(lambda x: CP.unique(x, size=2, fill_value=-1.0))(U7)
    np.testing.assert_array_equal(short, [1.0, 2.0])
    rows = np.array([[1.0, 2, 2, 1], [3, 3, 3, 3], [0, 5, 4, 5]])
    got = cr.vmap(lambda r: CP.unique(r, size=3, fill_value=-9.0))(rows)
    np.testing.assert_array_equal(got, [[1, 2, -9], [3, -9, -9], [0, 4, 5]])
    g = cr.jit(cr.grad(lambda v: (CP.unique(v, size=4) * np.arange(4.0)).sum()))(rows[2])
    # the default padding is the smallest value, which carries its derivative
    np.testing.assert_array_equal(g, [3.0, 2.0, 1.0, 0.0])


@pytest.mark.parametrize("transform", ["jit", "vmap"])
def test_value_shaped_calls_name_the_static_argument(transform):
    t = cr.jit if transform == "jit" else cr.vmap
    batch = (lambda a: a[None]) if transform == "vmap" else (lambda a: a)
    calls = [(lambda x: CP.unique(x), U7, "size="),
             (lambda x: CP.bincount(x), np.array([0, 1, 1]), "length="),
             (lambda x: CP.histogram(x, bins="auto"), U7[:3], "int number of bins"),
             (lambda x: CP.nonzero(x), U7, "size=")]
    for f, x, hint in calls:
        with pytest.raises(ConcretizationError, match=transform) as info:
            t(f)(batch(x))
        assert hint in str(info.value)


def test_bincount():
    i = np.array([0, 3, 1, 3, 3, 7])
    w = np.linspace(0.5, 3.0, 6)
    _same(CP.bincount(i), np.bincount(i), 0, "counts")
    _same(CP.bincount(i, w, minlength=10), np.bincount(i, w, minlength=10), 1e-15, "w")
    _same(CP.bincount(np.zeros(0, int), minlength=3), np.bincount(np.zeros(0, int),
                                                                   minlength=3), 0, "empty")
    _same(cr.grad(lambda w: CP.bincount(i, w)[3])(w), (i == 3) * 1.0, 0, "grad")
    _same(cr.jit(lambda i, w: CP.bincount(i, w, length=8))(i, w), np.bincount(i, w), 0, "jit")
    _same(cr.jit(lambda i: CP.bincount(i, length=4))(i), np.bincount(i)[:4], 0, "dropped")
    got = cr.vmap(lambda i, w: CP.bincount(i, w, length=8))(np.stack([i, i[::-1]]),
                                                               np.stack([w, w * 2]))
    _same(got, np.stack([np.bincount(i, w, 8), np.bincount(i[::-1], w * 2, 8)]), 1e-15, "vmap")
    check_grads(lambda w: CP.bincount(i, w, length=8), (w,), order=2)
    for bad, err in [(lambda: CP.bincount([0, -1]), ValueError),
                     (lambda: CP.bincount([0.5]), TypeError),
                     (lambda: CP.bincount([0, 1], weights=[1.0]), ValueError),
                     (lambda: CP.bincount([0, 1], minlength=-1), ValueError),
                     (lambda: CP.bincount(np.zeros((2, 2), int)), ValueError)]:
        with pytest.raises(err):
            bad()


def test_histogram_under_transforms():
    d = np.random.default_rng(0).standard_normal(60)
    for kw in [dict(bins=7), dict(bins=4, range=(-1.0, 1.5)), dict(bins=XP, density=True),
               dict(bins=5, weights=d * d), dict(bins=6, density=True, weights=np.abs(d))]:
        want = np.histogram(d, **kw)
        _same(cr.jit(lambda d: CP.histogram(d, **kw))(d), want, 1e-13, f"jit {kw}")
        got = cr.vmap(lambda d: CP.histogram(d, **kw))(np.stack([d, d[::-1] * 1.5]))
        _same([g[0] for g in got], want, 1e-13, f"vmap {kw}")
        _same([g[1] for g in got], np.histogram(d[::-1] * 1.5, **kw), 1e-13, f"vmap {kw}")
    # equal-width edges follow the data's range: d(edges)/d(data) reaches min and max
    g = cr.grad(lambda d: CP.histogram(d, bins=7)[1].sum())(d)
    assert g[np.argmin(d)] == pytest.approx(4.0) and g[np.argmax(d)] == pytest.approx(4.0)
    _same(CP.histogram(d, bins="auto"), np.histogram(d, bins="auto"), 1e-13, "auto")
    _same(cr.grad(lambda d: CP.histogram(d, bins="fd")[0].sum() + d.sum())(d),
          np.ones(60), 0, "string bins under grad")
    _same(CP.histogram([1.0, 1.0], bins=2), np.histogram([1.0, 1.0], bins=2), 0, "flat")
    _same(cr.jit(lambda d: CP.histogram(d, bins=2))(np.ones(3)),
          np.histogram(np.ones(3), bins=2), 0, "flat under jit")
    _same(CP.histogram_bin_edges(d, bins="sturges"), np.histogram_bin_edges(d, "sturges"), 0,
          "edges")


def test_searchsorted_and_digitize_with_traced_bins():
    b = np.array([-1.0, 0.0, 0.0, 1.5])
    v = np.array([-2.0, -1.0, 0.0, 0.7, 1.5, 3.0, np.nan])
    for side in ("left", "right"):
        _same(cr.jit(lambda b, v: CP.searchsorted(b, v, side=side))(b, v),
              np.searchsorted(b, v, side=side), 0, side)
        got = cr.vmap(lambda b: CP.searchsorted(b, v, side=side))(np.stack([b, b * 2]))
        _same(got, np.stack([np.searchsorted(b, v, side), np.searchsorted(b * 2, v, side)]),
              0, "vmap rows")
    for bins in (b, b[::-1]):
        for right in (False, True):
            want = np.digitize(v, bins, right=right)
            _same(CP.digitize(v, bins, right=right), want, 0, "digitize")
            _same(cr.jit(lambda v, bins: CP.digitize(v, bins, right=right))(v, bins), want, 0,
                  "digitize under jit (traced bins)")
    with pytest.raises(ValueError, match="monotonically"):
        CP.digitize(v, [0.0, 2.0, 1.0])
    with pytest.raises(TypeError, match="complex"):
        CP.digitize([1j], b)
    with pytest.raises(ValueError, match="side"):
        CP.searchsorted(b, v, side="middle")
    _same(CP.searchsorted(b, 0.5), np.searchsorted(b, 0.5), 0, "scalar")
    _same(CP.digitize(v, []), np.digitize(v, []), 0, "no bins")


# --- numerics of the composed functions --------------------------------------------------------

@pytest.mark.parametrize("n,m", [(5, 3), (3, 5), (4, 4), (1, 3), (6, 1), (2, 7)])
def test_convolve_and_correlate_modes(n, m):
    rng = np.random.default_rng(n * 10 + m)
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    ac, vc = a + 1j * rng.standard_normal(n), v - 2j * rng.standard_normal(m)
    ai, vi = rng.integers(-3, 4, n), rng.integers(-3, 4, m)
    for mode in ("full", "same", "valid", 0, 1, 2):
        for f in ("convolve", "correlate"):
            for x, y in ((a, v), (ac, vc), (a, vc), (ai, vi), (ai, v)):
                _same(getattr(CP, f)(x, y, mode), getattr(np, f)(x, y, mode), 1e-12,
                      f"{f} {mode} {x.dtype} {y.dtype}")
    check_grads(lambda a, v: CP.correlate(a, v, "same"), (ac, vc), order=2)
    check_grads(lambda a, v: CP.convolve(a, v, "valid"), (a, vc), order=2)
    for bad in ([], [[1.0]]):
        with pytest.raises(ValueError):
            CP.convolve(bad, v)
    with pytest.raises(ValueError, match="mode"):
        CP.convolve(a, v, mode="middle")


def test_interp_edge_cases():
    xp = np.array([0.0, 1.0, 1.0, 2.0, 4.0])          # a repeated sample point
    fp = np.array([1.0, 3.0, -1.0, 0.0, 2.0])
    x = np.array([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.9, 4.0, 5.0, np.nan, np.inf, -np.inf])
    for kw in [{}, dict(left=-5.0), dict(right=7.0)]:
        _same(CP.interp(x, xp, fp, **kw), np.interp(x, xp, fp, **kw), 1e-14, f"interp {kw}")
        _same(cr.jit(lambda x: CP.interp(x, xp, fp, **kw))(x), np.interp(x, xp, fp, **kw),
              1e-14, "jit")
    _same(CP.interp(x, [2.0], [3.0]), np.interp(x, [2.0], [3.0]), 0, "one point")
    _same(CP.interp(x, xp, fp * (1 - 2j), left=1j, right=2j),
          np.interp(x, xp, fp * (1 - 2j), left=1j, right=2j), 1e-14, "complex")
    with pytest.raises(TypeError):
        CP.interp(x, xp, fp, left=1j)
    xq = np.array([-7.3, -0.1, 0.3, 2.5, 11.0])
    _same(CP.interp(xq, XP, FP, period=3.0), np.interp(xq, XP, FP, period=3.0), 1e-13,
          "period")
    _same(CP.interp(np.float32(0.25), XP, FP), np.interp(np.float32(0.25), XP, FP), 1e-14,
          "float32 gives float64")
    # the derivative in x is the local slope (the right segment's at sample points)
    g = cr.grad(lambda x: CP.interp(x, XP, FP).sum())(np.array([-0.6, 0.3, 2.5, 3.0]))
    slopes = np.diff(FP) / np.diff(XP)
    np.testing.assert_allclose(g, [slopes[0], slopes[2], slopes[4], 0.0], rtol=1e-13)
    with pytest.raises(ValueError, match="empty"):
        CP.interp(0.5, [], [])
    with pytest.raises(ValueError, match="same length"):
        CP.interp(0.5, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="period"):
        CP.interp(0.5, [1.0, 2.0], [1.0, 2.0], period=0)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_variants(edge_order):
    f = X3
    coords = [np.array([0.0, 0.5, 1.7]), np.cumsum(np.arange(1.0, 5.0)), np.arange(5) ** 2]
    calls = [lambda m: m.gradient(f, edge_order=edge_order),
             lambda m: m.gradient(f, 2.0, edge_order=edge_order),
             lambda m: m.gradient(f, *coords, edge_order=edge_order),
             lambda m: m.gradient(f, coords[2], 0.5, axis=(2, 0), edge_order=edge_order),
             lambda m: m.gradient(f, np.arange(0.0, 5.0, 1.0), axis=-1, edge_order=edge_order),
             lambda m: m.gradient(f.astype(np.float32), coords[0], axis=0,
                                  edge_order=edge_order),
             lambda m: m.gradient((f * 10).astype(int), edge_order=edge_order)]
    for i, call in enumerate(calls):
        _same(call(CP), call(np), 1e-6 if i == 5 else 1e-12, f"gradient call {i}")
    # differentiable in the coordinates too
    check_grads(lambda c: CP.gradient(f, c, axis=0, edge_order=edge_order), (coords[0],),
                order=2)
    with pytest.raises(ValueError, match="too small"):
        CP.gradient(np.arange(2.0), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        CP.gradient(f, edge_order=3)
    with pytest.raises(TypeError, match="arguments"):
        CP.gradient(f, 1.0, 2.0)
    with pytest.raises(ValueError, match="match the length"):
        CP.gradient(f, np.arange(3.0), np.arange(3.0), np.arange(3.0))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_cov_and_corrcoef_variants():
    rng = np.random.default_rng(8)
    m = rng.standard_normal((3, 7))
    y = rng.standard_normal((2, 7))
    fw = rng.integers(1, 4, 7)
    aw = rng.uniform(0.5, 2.0, 7)
    mc = m + 1j * rng.standard_normal((3, 7))
    calls = [lambda n: n.cov(m), lambda n: n.cov(m.T, rowvar=False),
             lambda n: n.cov(m, y), lambda n: n.cov(m[0], y[0], bias=True),
             lambda n: n.cov(m, ddof=3), lambda n: n.cov(m, fweights=fw),
             lambda n: n.cov(m, aweights=aw), lambda n: n.cov(m, fweights=fw, aweights=aw,
                                                              ddof=2),
             lambda n: n.cov(m.T, y.T, rowvar=False), lambda n: n.cov(mc),
             lambda n: n.cov(m[0]), lambda n: n.cov(m, dtype=np.float32),
             lambda n: n.corrcoef(m), lambda n: n.corrcoef(m, y, rowvar=True),
             lambda n: n.corrcoef(m.T, rowvar=False), lambda n: n.corrcoef(mc),
             lambda n: n.corrcoef(m[0])]
    for i, call in enumerate(calls):
        _same(call(CP), call(np), 1e-6 if i == 11 else 1e-12, f"cov/corrcoef call {i}")
    check_grads(lambda m, aw: CP.cov(m, aweights=aw), (m, aw), order=2)
    check_grads(lambda m: CP.corrcoef(m, y), (m,), order=2)
    check_grads(lambda m: CP.cov(m), (mc,), order=2)
    with pytest.raises(ValueError, match="more than 2"):
        CP.cov(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="integer"):
        CP.cov(m, ddof=1.5)
    with pytest.raises(TypeError, match="fweights must be integer"):
        CP.cov(m, fweights=aw)
    with pytest.raises(ValueError, match="negative"):
        CP.cov(m, aweights=-aw)
    with pytest.raises(RuntimeError, match="incompatible"):
        CP.cov(m, fweights=fw[:3])
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        CP.cov(m[:, :1])


def test_cross_variants():
    a3, b3 = X3[:, :3, 0], X3[:, 1:4, 1]
    a2, b2 = X3[:, :2, 2], X3[0, 2:4, 3]
    for call in [lambda m: m.cross(a3, b3), lambda m: m.cross(a3, b3[0]),
                 lambda m: m.cross(a3.T, b3.T, axisa=0, axisb=0, axisc=0),
                 lambda m: m.cross(a3.T, b3, axisa=0, axisc=0),
                 lambda m: m.cross(X3[:, :3], X3[:, 1:4], axis=1),
                 lambda m: m.cross(a2, b3), lambda m: m.cross(a3, b2),
                 lambda m: m.cross(a2, b2), lambda m: m.cross(a3.astype(int), b3.astype(int))]:
        _same(_quiet(call, CP), _quiet(call, np), 1e-13, "cross")
    with pytest.warns(DeprecationWarning):
        CP.cross(a2, b2)
    with pytest.raises(ValueError, match="incompatible dimensions"):
        CP.cross(X3[:, :4], a3[:, None])
    with pytest.raises(np.exceptions.AxisError, match="axisc"):
        CP.cross(a3[0], b3[0], axisc=2)
    check_grads(lambda a, b: CP.cross(a, b), (a3, b3), order=2)


def test_diff_ediff1d_trapezoid_variants():
    b = np.array([True, False, False, True])
    for call in [lambda m: m.diff(b), lambda m: m.diff(X2, n=0), lambda m: m.diff(X2, n=3),
                 lambda m: m.diff(X2, axis=0, prepend=X2[:2], append=[[1.0] * 6]),
                 lambda m: m.diff(np.arange(5), prepend=0),
                 lambda m: m.ediff1d(X3), lambda m: m.ediff1d([1, 2, 4], to_begin=[5], to_end=9),
                 lambda m: m.trapezoid(X3, axis=0), lambda m: m.trapezoid([1, 2, 4]),
                 lambda m: m.trapezoid(X3, X3.cumsum(axis=1), axis=1),
                 lambda m: m.polyval(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, 2.0])),
                 lambda m: m.polyval([3, 0, 1], 2), lambda m: m.polyval([], 2.0)]:
        _same(call(CP), call(np), 1e-12, "diff/ediff1d/trapezoid/polyval")
    with pytest.raises(ValueError, match="non-negative"):
        CP.diff(X2, n=-1)
    with pytest.raises(ValueError, match="one dimensional"):
        CP.diff(np.float64(3.0))
    with pytest.raises(TypeError, match="same_kind"):
        CP.ediff1d([1, 2, 4], to_begin=[1.5])
    check_grads(lambda p, x: CP.polyval(p, x), (V6[:4], X2), order=2)
    check_grads(lambda y, x: CP.trapezoid(y, x, axis=0), (X2, np.cumsum(np.abs(X2), 0)),
                order=2)


@pytest.mark.parametrize("name,args", [
    ("quantile", (X2, 1.5)), ("percentile", (X2, -1.0)), ("quantile", (X2 + 1j, 0.5)),
    ("quantile", (X2, 0.5, None, None, False, "foo")), ("quantile", (np.zeros(0), 0.5)),
    ("median", (X2, 2)), ("nanmedian", (X2, 5)), ("count_nonzero", (X2, 3)),
])
def test_errors_match_numpy(name, args):
    with pytest.raises(Exception) as info:
        getattr(np, name)(*args)
    with pytest.raises(info.type):
        getattr(CP, name)(*args)


def test_quantile_weights():
    w = np.random.default_rng(9).uniform(0.0, 2.0, X2.shape)
    w[0, :2] = 0.0
    for call in [lambda m: m.quantile(X2, Q3, axis=1, method="inverted_cdf", weights=w),
                 lambda m: m.quantile(X2, 0.5, axis=None, method="inverted_cdf", weights=w),
                 lambda m: m.percentile(X2, [0.0, 50.0, 100.0], axis=0, method="inverted_cdf",
                                        weights=w[:, 0]),
                 lambda m: m.nanquantile(XN, [0.0, 0.4, 1.0], axis=1, method="inverted_cdf",
                                         weights=w)]:
        _same(_quiet(call, CP), _quiet(call, np), 1e-13, "weights")
    with pytest.raises(ValueError, match="inverted_cdf"):
        CP.quantile(X2, 0.5, weights=w)
    with pytest.raises(ValueError, match="non-negative"):
        CP.quantile(X2, 0.5, method="inverted_cdf", weights=-w)
    with pytest.raises(TypeError, match="Axis must be specified"):
        CP.quantile(X2, 0.5, method="inverted_cdf", weights=w[0])
    got = cr.jit(lambda x, w: CP.quantile(x, Q3, axis=1, method="inverted_cdf",
                                           weights=w))(X2, w)
    _same(got, np.quantile(X2, Q3, axis=1, method="inverted_cdf", weights=w), 0, "jit")
    g = cr.grad(lambda x: CP.quantile(x, Q3, axis=1, method="inverted_cdf",
                                       weights=w).sum())(X2)
    assert g.sum() == pytest.approx(12.0) and set(np.unique(g)) <= {0.0, 1.0, 2.0, 3.0}


def test_order_statistics_compose_with_transforms():
    """jit(grad), vmap(grad), jvp(grad) and hessian of order statistics agree with loops."""
    f = lambda x: CP.median(x) + CP.quantile(x, 0.3) * CP.nanmean(x)  # noqa: E731
    g = cr.grad(f)
    xs = np.stack(_variants(X2))
    want = np.stack([g(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(g)(xs), want, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(g)(X2), want[0], rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.jit(g))(xs), want, rtol=1e-12)
    h = cr.hessian(lambda x: CP.quantile(x, 0.3) * CP.median(x))(X2[0])
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    assert np.count_nonzero(h) > 0


def test_polyfit_variants():
    rng = np.random.default_rng(10)
    x = np.linspace(-1.0, 2.0, 9)
    y = 1 + 2 * x - 0.5 * x ** 2 + 0.1 * rng.standard_normal(9)
    Y = np.stack([y, y[::-1]], axis=1)
    w = rng.uniform(0.5, 2.0, 9)
    for call in [lambda m: m.polyfit(x, y, 2), lambda m: m.polyfit(x, Y, 3),
                 lambda m: m.polyfit(x, y, 1, w=w), lambda m: m.polyfit(x, Y, 2, w=w),
                 lambda m: m.polyfit(x, y, 2, full=True), lambda m: m.polyfit(x, y, 2, cov=True),
                 lambda m: m.polyfit(x, Y, 2, cov=True),
                 lambda m: m.polyfit(x, Y, 2, cov="unscaled"),
                 lambda m: m.polyfit(x.astype(int), y, 1, rcond=1e-10),
                 lambda m: m.polyfit(x, y, 0)]:
        _same(call(CP), call(np), 1e-10, "polyfit")
    check_grads(lambda x, y, w: CP.polyfit(x, y, 2, w=w), (x, y, w), order=2)
    check_grads(lambda y: CP.polyfit(x, y, 2, cov=True), (y,), order=1)
    with pytest.warns(np.exceptions.RankWarning):
        CP.polyfit(np.ones(4), np.arange(4.0), 2)
    for bad, err in [(lambda: CP.polyfit(x, y, -1), ValueError),
                     (lambda: CP.polyfit(x[:, None], y, 1), TypeError),
                     (lambda: CP.polyfit(x, y[:3], 1), TypeError),
                     (lambda: CP.polyfit(x, y, 1, w=w[:2]), TypeError),
                     (lambda: CP.polyfit(x[:3], y[:3], 2, cov=True), ValueError)]:
        with pytest.raises(err):
            bad()
