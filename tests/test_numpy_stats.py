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
    vmap: bool = True


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


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_value_vs_numpy(case):
    got = _quiet(case.fn, cnp, case.x)
    for leaf in _leaves(got):
        assert isinstance(leaf, (np.ndarray, np.generic)), type(leaf)
    _same(got, _expected(case, case.x), case.tol, case.id)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_jit_vs_numpy(case):
    got = _quiet(cr.jit(lambda x: case.fn(cnp, x)), case.x)
    _same(got, _expected(case, case.x), case.tol, f"jit {case.id}")


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("case", [c for c in CASES if c.vmap], ids=[c.id for c in CASES
                                                                    if c.vmap])
def test_vmap_vs_loop(case):
    xs = _variants(case.x)
    want = [np.stack(ws) for ws in zip(*[_leaves(_expected(case, x)) for x in xs])]
    got = _quiet(cr.vmap(lambda x: case.fn(cnp, x)), np.stack(xs))
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
