"""Sorting, searching and statistics of chainrule.numpy: partitions, order statistics
(median, percentile, quantile and their NaN-ignoring forms), NaN-aware reductions, differences
and integrals (diff, ediff1d, gradient, trapezoid), interpolation and polynomials (interp,
polyval, polyfit), convolve/correlate, cov/corrcoef, cross, counting and binning
(count_nonzero, histogram, bincount, digitize, searchsorted, unique).

Contract: every function follows NumPy 2 (signatures, result shapes and dtypes, NaN handling,
error types) and is composed from primitives (the three of prims/sorting.py and the
structural ones), so it is differentiable to any order, batchable and stageable. With no
traced argument the NumPy function itself runs (the eager fast path: NumPy's exact values,
warnings and errors); the composition is the function's `__wrapped__`.
- Order statistics are gathers of sorted (or partitioned) values: their derivative flows to
  the selected entries (piecewise linear; at ties the derivative goes to one of the tied
  entries). Quantiles are also differentiable in q for the interpolating methods.
- NaN-aware functions give a zero derivative at NaN entries, and no NaN reaches the
  derivative of the finite ones; all-NaN slices give NaN (with zero derivative).
- Searching and counting (searchsorted, digitize, argpartition, histogram counts, bincount
  counts, count_nonzero) have no derivative; weights (histogram, bincount) are differentiable.
- Arguments that decide a result's shape (kth, bins given as a string, the number of unique
  values, bincount's length) must be concrete: eagerly and under grad/jvp they are read, under
  jit/vmap they raise a ConcretizationError naming the static argument to pass instead
  (unique(..., size=), bincount(..., length=)). Value checks NumPy makes (monotonic bins,
  non-negative counts, quantiles in [0, 1]) run whenever the values are concrete.
"""
from __future__ import annotations

import builtins
import functools
import math
import operator
import warnings

import numpy as np

from ..core import ConcretizationError, Tracer, bind
from ..prims.sorting import argpartition_p, convolve_p, searchsorted_p
from . import _creation as C, _indexing as I, _manip as M, _reductions as R, _shape as S
from . import _ufuncs as U
from ._reductions import normalize_axis, normalize_axes

__all__ = [
    "partition", "argpartition", "median", "percentile", "quantile", "nanmedian",
    "nanpercentile", "nanquantile", "nansum", "nanmean", "nanvar", "nanstd", "nanmax",
    "nanmin", "nanprod", "nanargmax", "nanargmin", "nancumsum", "nancumprod", "diff",
    "ediff1d", "gradient", "interp", "polyval", "polyfit", "convolve", "correlate", "cov",
    "corrcoef", "trapezoid", "cross", "count_nonzero", "histogram", "histogram_bin_edges",
    "unique", "searchsorted", "digitize", "bincount",
]

_ALL = slice(None)
_NOVALUE = np._NoValue


# --- helpers ------------------------------------------------------------------------------------


def _a(x):
    """An array or tracer from an array-like (lists of tracers are stacked)."""
    if isinstance(x, Tracer):
        return x
    if type(x) in (list, tuple):
        return U._arr(x)
    return np.asarray(x)


def _dt(x):
    return U._dtype(x)


def _is_inexact(x):
    return _dt(x).kind in "fc"


def _known(x):
    """The concrete value of x (an array, or a tracer under grad/jvp), or None under jit/vmap."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    try:
        return np.asarray(x._trace.concrete(x, "reading the value"))
    except ConcretizationError:
        return None


def _concrete(x, how, hint):
    """The concrete value of x; under jit/vmap a ConcretizationError with `hint`."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    try:
        return np.asarray(x._trace.concrete(x, how))
    except ConcretizationError as err:
        raise ConcretizationError(err.transform, how, hint) from None


def _static_int(v, what):
    if isinstance(v, Tracer):
        v = _concrete(v, what, f"{what} decides the result's shape: pass a Python int.")
    return operator.index(v)


def _has_tracer(*xs):
    return builtins.any(isinstance(x, Tracer) for x in xs)


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _to_last(x, axes):
    """x with `axes` moved to the end and merged into one: (array, kept shape, length)."""
    shape = S.shape(x)
    keep = [i for i in range(len(shape)) if i not in axes]
    perm = keep + list(axes)
    if perm != list(range(len(shape))):
        x = S.transpose(x, perm)
    kshape = tuple(shape[i] for i in keep)
    n = math.prod(shape[a] for a in axes)
    if len(axes) != 1:
        x = S.reshape(x, kshape + (n,))
    return x, kshape, n


def _take_rows(x, idx):
    """Per-row gather: x of shape K + (n,), integer idx of shape K + Q -> x[k, idx[k, q]]."""
    k = S.ndim(x) - 1
    ishape = S.shape(idx)
    flat = S.reshape(idx, ishape[:k] + (math.prod(ishape[k:]),))
    return S.reshape(M.take_along_axis(x, flat, axis=-1), ishape)


def _expand_to(x, nd):
    """x (shape K) reshaped to K + (1,) * (nd - len(K)) for broadcasting against K + Q."""
    s = S.shape(x)
    return S.reshape(x, tuple(s) + (1,) * (nd - len(s))) if nd > len(s) else x


def _q_front(r, nk, nq):
    """Move the trailing nq (quantile) axes of r in front of its nk leading ones."""
    if nq == 0 or nk == 0:
        return r
    return S.transpose(r, tuple(range(nk, nk + nq)) + tuple(range(nk)))


def _nan_mask(x):
    return U.isnan(x) if _is_inexact(x) else None


def _where_mask(x, where):
    """The combined "excluded" mask: NaN entries or where=False entries (None: nothing)."""
    mask = _nan_mask(x)
    if where is not None and where is not True and where is not _NOVALUE:
        excl = U.logical_not(S.broadcast_to(_a(where), S.shape(x)))
        mask = excl if mask is None else U.logical_or(mask, excl)
    return mask


def _warn_all_nan(mask, axis, name):
    """NumPy's RuntimeWarning for all-NaN slices, when the mask's values are known."""
    m = _known(mask)
    if m is not None and m.size and np.any(np.all(m, axis=axis)):
        msg = {"mean": "Mean of empty slice", "var": "Degrees of freedom <= 0 for slice."}
        warnings.warn(msg.get(name, "All-NaN slice encountered"), RuntimeWarning, stacklevel=3)


def _drop(v):
    return None if v is _NOVALUE else v


def _out(r):
    """Eager 0-d results as NumPy scalars, as NumPy's reductions return them."""
    if type(r) is np.ndarray and r.ndim == 0:
        return r[()]
    return r


# --- partition ----------------------------------------------------------------------------------


def _kth_tuple(kth, n):
    if isinstance(kth, Tracer):
        kth = _concrete(kth, "partition kth", "kth decides the layout of the result: pass "
                        "Python ints.")
    ks = np.atleast_1d(np.asarray(kth))
    if ks.dtype.kind not in "iu" or ks.ndim > 1:
        raise TypeError("Partition index must be integer")
    out = []
    for k in ks.tolist():
        kk = k + n if k < 0 else k
        if not 0 <= kk < n:
            raise ValueError(f"kth(={k}) out of bounds ({n})")
        out.append(kk)
    return tuple(sorted(set(out)))


def _partition_args(a, kth, axis, kind, order):
    if kind != "introselect":
        raise ValueError(f"select kind must be 'introselect' (got {kind!r})")
    if order is not None:
        raise ValueError("Cannot specify order when the array has no fields.")
    x = _a(a)
    if axis is None:
        x, axis = S.ravel(x), 0
    axis = normalize_axis(axis, S.ndim(x))
    return x, _kth_tuple(kth, S.shape(x)[axis]), axis


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition an array around the kth element(s), as numpy.argpartition.

    Args:
      a: the array.
      kth: int or sequence of ints (static): the positions that hold the values a full sort
        would put there; smaller values come before each, larger ones after.
      axis: the axis (None: the flattened array).
      kind, order: as in NumPy ('introselect' only; no fields).
    Returns:
      An integer array of indices (no derivative).

    >>> argpartition([3, 1, 2], 1)[1]
    np.int64(2)
    """
    x, ks, axis = _partition_args(a, kth, axis, kind, order)
    return bind(argpartition_p, x, kth=ks, axis=axis)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """A partitioned copy of an array, as numpy.partition (differentiable: a gather).

    The entries at `kth` are those of the sorted array, with smaller values before them and
    larger ones after (in an unspecified order, as in NumPy).

    Args:
      a: the array.
      kth: int or sequence of ints (static).
      axis: the axis (None: the flattened array).
    Returns:
      The partitioned array.

    >>> partition([3, 4, 1, 2], 2)[2]
    np.int64(3)
    """
    x, ks, axis = _partition_args(a, kth, axis, kind, order)
    return M.take_along_axis(x, bind(argpartition_p, x, kth=ks, axis=axis), axis)


# --- order statistics ---------------------------------------------------------------------------

_QMETHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
             "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
             "normal_unbiased", "lower", "higher", "midpoint", "nearest")
_ALPHA_BETA = {"interpolated_inverted_cdf": (0.0, 1.0), "hazen": (0.5, 0.5),
               "weibull": (0.0, 0.0), "median_unbiased": (1 / 3.0, 1 / 3.0),
               "normal_unbiased": (3 / 8.0, 3 / 8.0)}


def _as_int(x):
    return U.astype(x, np.intp)


def _discrete_index(t, odd_only):
    """NumPy's boundary rule of the discrete methods: floor(t) when t is an integer (and, for
    closest_observation, floor(t) is odd), else floor(t) + 1; never below 0."""
    prev = U.floor(t)
    cond = U.equal(U.subtract(t, prev), 0)
    if odd_only:
        cond = U.logical_and(cond, U.equal(U.remainder(prev, 2), 1))
    return U.maximum(_as_int(U.where(cond, prev, U.add(prev, 1))), 0)


def _positions(method, n, q):
    """Where the quantiles q fall among n sorted values (n: int or float array broadcasting
    against q). ("index", i) for the discrete methods; ("lerp", i_lo, i_hi, gamma) for the
    interpolating ones."""
    # a Python n stays a (weak) Python number, so that q's dtype decides the arithmetic's
    last = n - 1 if isinstance(n, int) else U.subtract(n, 1)
    if method in ("lower", "higher", "nearest"):
        v = U.multiply(last, q)
        op = {"lower": U.floor, "higher": U.ceil, "nearest": U.round}[method]
        return ("index", _as_int(op(v)))
    if method == "inverted_cdf":
        return ("index", _discrete_index(U.subtract(U.multiply(n, q), 1), False))
    if method == "closest_observation":
        return ("index", _discrete_index(U.subtract(U.multiply(n, q), 1.5), True))
    if method == "linear":
        v = U.multiply(last, q)
        if _dt(v).kind in "iu":
            return ("index", v)
    elif method == "averaged_inverted_cdf":
        v = U.subtract(U.multiply(n, q), 1)
    elif method == "midpoint":
        w = U.multiply(last, q)
        v = U.multiply(0.5, U.add(U.floor(w), U.ceil(w)))
    else:
        alpha, beta = _ALPHA_BETA[method]
        v = U.subtract(U.add(U.multiply(n, q), U.add(alpha, U.multiply(q, 1 - alpha - beta))),
                       1)
    prev = U.floor(v)
    above = U.greater_equal(v, last)
    below = U.less(v, 0)
    # gamma as NumPy computes it (from the clamped lower index: -1 above, 0 below)
    gamma = U.subtract(v, U.where(above, -1.0, U.where(below, 0.0, prev)))
    if method == "averaged_inverted_cdf":
        gamma = U.where(U.equal(gamma, 0), 0.5, 1.0)
    elif method == "midpoint":
        gamma = U.where(U.equal(U.remainder(v, 1), 0), 0.0, 0.5)
    gamma = U.astype(gamma, _dt(v))
    lo = _as_int(U.where(above, last, U.where(below, 0, prev)))
    hi = _as_int(U.where(above, last, U.where(below, 0, U.add(prev, 1))))
    return ("lerp", lo, hi, gamma)


def _lerp(a, b, t):
    """NumPy's quantile interpolation (exact at both ends): a + (b - a) t, or b - (b - a)(1 - t)
    where t >= 1/2."""
    d = U.subtract(b, a)
    return U.where(U.greater_equal(t, 0.5), U.subtract(b, U.multiply(d, U.subtract(1, t))),
                   U.add(a, U.multiply(d, t)))


def _check_q(q, lo, hi, what):
    qv = _known(q)
    if qv is not None and qv.size and not (np.all(qv >= lo) and np.all(qv <= hi)):
        raise ValueError(f"{what} must be in the range [{lo}, {hi}]")


def _quantile(name, a, q, axis, out, method, keepdims, weights, nan_aware, weak_q):
    U._no_out(out, name)
    x = _a(a)
    if _dt(x).kind == "c":
        raise TypeError("a must be an array of real numbers")
    if method not in _QMETHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {list(_QMETHODS)}")
    if weights is not None and method != "inverted_cdf":
        raise ValueError(f"Only method 'inverted_cdf' supports weights. Got: {method}.")
    shape = S.shape(x)
    axes = normalize_axes(axis, len(shape))
    qshape = S.shape(q)
    w = None if weights is None else _weights_for(x, weights, axis, axes)
    xs, kshape, n = _to_last(x, axes)
    nk, nq = len(kshape), len(qshape)
    nan_aware = nan_aware and _is_inexact(x)
    if nan_aware and n:
        _warn_all_nan(U.isnan(xs), -1, name)
    if n == 0 and not nan_aware:
        raise IndexError("index -1 is out of bounds for axis 0 with size 0 (a quantile of "
                         "an empty slice)")
    if n == 0:
        rdt = np.result_type(_dt(x), 1.0 if weak_q else np.result_type(_dt(q), 1.0))
        r = np.full(tuple(qshape) + tuple(kshape), np.nan, rdt)
        return S.reshape(r, tuple(qshape) + _keep_shape(shape, axes)) if keepdims else r
    if w is not None:
        ws, _, _ = _to_last(w, axes)
        r = _weighted_quantile(xs, ws, q, nan_aware)
    else:
        r = _plain_quantile(xs, q, method, nan_aware, weak_q)
    if nan_aware:
        cnt = R.sum(U.logical_not(U.isnan(xs)), axis=-1)
        r = U.where(_expand_to(U.equal(cnt, 0), nk + nq), np.nan, r)
    elif _is_inexact(x):
        r = U.where(_expand_to(R.any(U.isnan(xs), axis=-1), nk + nq), np.nan, r)
    r = _q_front(r, nk, nq)
    if keepdims:
        r = S.reshape(r, tuple(qshape) + _keep_shape(shape, axes))
    return _out(r)


def _plain_quantile(xs, q, method, nan_aware, weak_q):
    kshape, n = S.shape(xs)[:-1], S.shape(xs)[-1]
    nk, nq = len(kshape), S.ndim(q)
    if nan_aware:
        nn = _expand_to(R.sum(U.logical_not(U.isnan(xs)), axis=-1), nk + nq)
        if _dt(q).kind == "f":
            nn = U.astype(nn, _dt(q))
    else:
        nn = n
    pos = _positions(method, nn, q)
    idx = [U.clip(i, 0, n - 1) for i in (pos[1:3] if pos[0] == "lerp" else pos[1:2])]
    if nan_aware:
        # per-slice positions among the sorted finite values (NaNs sort last)
        order = M.argsort(xs, axis=-1)
        full = tuple(kshape) + tuple(S.shape(q))
        vals = [_take_rows(xs, _take_rows(order, S.broadcast_to(i, full))) for i in idx]
    else:
        known = [_known(i) for i in idx]
        if builtins.all(v is not None for v in known):
            # static positions: a partition around them is enough
            kth = tuple(sorted(set(np.concatenate([v.ravel() for v in known]).tolist())))
            order = bind(argpartition_p, xs, kth=kth, axis=nk)
        else:
            order = M.argsort(xs, axis=-1)
        vals = [_take_rows(xs, I.getitem(order, (Ellipsis, i))) for i in idx]
    if pos[0] == "index":
        return vals[0]
    gamma = pos[3]
    if weak_q:
        gamma = U.astype(gamma, np.result_type(_dt(xs), 1.0))
    return _lerp(vals[0], vals[1], gamma)


def _weights_for(x, weights, axis, axes):
    """The weights broadcast to x's shape, checked like NumPy's quantile weights."""
    w = _a(weights)
    shape = S.shape(x)
    if S.shape(w) != shape:
        if axis is None:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        user_axes = [normalize_axis(a, len(shape)) for a in np.atleast_1d(axis).tolist()]
        if S.shape(w) != tuple(shape[a] for a in user_axes):
            raise ValueError("Shape of weights must be consistent with shape of a along "
                             "specified axis.")
        w = S.transpose(w, np.argsort(user_axes).tolist()) if len(user_axes) > 1 else w
        w = S.broadcast_to(S.reshape(w, _keep_shape_inv(shape, axes)), shape)
    wv = _known(w)
    if wv is not None and np.any(wv < 0):
        raise ValueError("Weights must be non-negative.")
    return w


def _keep_shape_inv(shape, axes):
    return tuple(d if i in axes else 1 for i, d in enumerate(shape))


def _weighted_quantile(xs, ws, q, nan_aware):
    """inverted_cdf with weights: the first sorted value whose normalized cumulative weight
    reaches q (NaN entries of a NaN-aware quantile weigh nothing)."""
    kshape, n = S.shape(xs)[:-1], S.shape(xs)[-1]
    ws = S.broadcast_to(ws, S.shape(xs))
    if nan_aware:
        ws = U.where(U.isnan(xs), 0, ws)
    order = M.argsort(xs, axis=-1)
    sx = M.take_along_axis(xs, order, axis=-1)
    cdf = R.cumsum(U.astype(M.take_along_axis(ws, order, axis=-1), np.float64), axis=-1)
    total = I.getitem(cdf, (Ellipsis, slice(-1, None)))
    tv = _known(total)
    if nan_aware:
        # all-NaN slices (no weight at all) give NaN later, not an error
        some = R.any(U.logical_not(U.isnan(xs)), axis=-1, keepdims=True)
        sv = _known(some)
        if tv is not None and sv is not None:
            tv = tv[sv]
        total = U.where(some, total, 1.0)
    if tv is not None and not np.all(np.isfinite(tv) & (tv > 0)):
        raise ValueError("Weights included NaN, inf or were all zero.")
    cdf = U.divide(cdf, total)
    if _dt(q).kind == "f":
        cdf = U.astype(cdf, _dt(q))
    cdf = U.where(U.equal(cdf, 0), -1, cdf)
    qb = S.broadcast_to(U.astype(q, _dt(cdf)), tuple(kshape) + tuple(S.shape(q)))
    idx = U.minimum(bind(searchsorted_p, cdf, qb, side="left"), n - 1)
    return _take_rows(sx, idx)


def _q_array(q):
    return q if isinstance(q, Tracer) else _a(q)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """The q-th quantiles of the data along an axis, as numpy.quantile.

    Args:
      a: real array.
      q: quantile(s) in [0, 1] (scalar or array; may be traced: differentiable for the
        interpolating methods).
      axis: None (flattened), int or tuple of ints.
      out: not supported (must be None). overwrite_input: accepted and ignored.
      method: any of NumPy's 13 methods ('linear' (default), 'lower', 'higher', 'nearest',
        'midpoint', 'inverted_cdf', 'averaged_inverted_cdf', 'closest_observation',
        'interpolated_inverted_cdf', 'hazen', 'weibull', 'median_unbiased',
        'normal_unbiased').
      keepdims: keep reduced axes as size 1.
      weights: non-negative weights (same shape as a, or a's shape along axis); only with
        method='inverted_cdf', as in NumPy.
    Returns:
      Array of shape q.shape + the reduced shape. Slices holding a NaN give NaN.

    Derivatives: a gather of sorted values (piecewise linear in a; at ties one of the tied
    entries gets the derivative); linear in q between order statistics.

    >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5)
    np.float64(2.5)
    """
    weak_q = type(q) in (int, float)
    q = _q_array(q)
    _check_q(q, 0, 1, "Quantiles")
    return _quantile("quantile", a, q, axis, out, method, keepdims, weights, False, weak_q)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """The q-th percentiles of the data along an axis, as numpy.percentile (q in [0, 100]).

    Args and Returns as `quantile`, with q in percent.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    np.float64(2.5)
    """
    weak_q = type(q) in (int, float)
    q = U.divide(_q_array(q), 100)
    _check_q(q, 0, 1, "Percentiles")
    return _quantile("percentile", a, q, axis, out, method, keepdims, weights, False, weak_q)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """The q-th quantiles ignoring NaNs, as numpy.nanquantile.

    Args and Returns as `quantile`; NaN entries are left out of each slice (all-NaN slices
    give NaN). The derivative at NaN entries is 0.

    >>> nanquantile([1.0, np.nan, 3.0], 0.5)
    np.float64(2.0)
    """
    weak_q = type(q) in (int, float)
    q = _q_array(q)
    _check_q(q, 0, 1, "Quantiles")
    return _quantile("nanquantile", a, q, axis, out, method, keepdims, weights, True, weak_q)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    """The q-th percentiles ignoring NaNs, as numpy.nanpercentile (q in [0, 100]).

    >>> nanpercentile([1.0, np.nan, 3.0], 50)
    np.float64(2.0)
    """
    weak_q = type(q) in (int, float)
    q = U.divide(_q_array(q), 100)
    _check_q(q, 0, 1, "Percentiles")
    return _quantile("nanpercentile", a, q, axis, out, method, keepdims, weights, True,
                     weak_q)


def _median_of(x, axis, keepdims, nan_aware, name):
    x = _a(x)
    shape = S.shape(x)
    axes = normalize_axes(axis, len(shape))
    xs, kshape, n = _to_last(x, axes)
    nan_aware = nan_aware and _is_inexact(x)
    if n == 0:
        dt = np.result_type(_dt(x), 1.0)
        r = np.full(kshape, np.nan, dt)
        if not isinstance(x, Tracer):
            warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=3)
        r = r[()] if not kshape else r
    elif not nan_aware:
        h = n // 2
        kth = (h - 1, h) if n % 2 == 0 else (h,)
        order = bind(argpartition_p, xs, kth=kth, axis=len(kshape))
        mid = I.getitem(order, (Ellipsis, slice(kth[0], kth[-1] + 1)))
        r = R.mean(M.take_along_axis(xs, mid, axis=-1), axis=-1)
        if _is_inexact(x):
            r = U.where(R.any(U.isnan(xs), axis=-1), np.nan, r)
    else:
        nan = U.isnan(xs)
        _warn_all_nan(nan, -1, name)
        cnt = R.sum(U.logical_not(nan), axis=-1)
        order = M.argsort(xs, axis=-1)
        lo = U.maximum(U.floor_divide(U.subtract(cnt, 1), 2), 0)
        hi = U.minimum(U.floor_divide(cnt, 2), n - 1)
        both = S.stack([lo, hi], axis=-1)
        r = R.mean(_take_rows(xs, _take_rows(order, both)), axis=-1)
        r = U.where(U.equal(cnt, 0), np.nan, r)
    if keepdims:
        r = S.reshape(r, _keep_shape(shape, axes))
    return _out(r)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along an axis, as numpy.median (the mean of the two middle values for an
    even count; NaN where a slice holds a NaN).

    Args:
      a: the array.
      axis: None (flattened), int or tuple of ints.
      out: not supported. overwrite_input: ignored.
      keepdims: keep reduced axes as size 1.
    Returns:
      The medians (float for integer input).

    Derivative: 1 (or 1/2 each for the two middle values) at the selected entries.

    >>> median([3.0, 1.0, 2.0, 10.0])
    np.float64(2.5)
    """
    U._no_out(out, "median")
    return _median_of(a, axis, keepdims, False, "median")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=_NOVALUE):
    """The median ignoring NaNs, as numpy.nanmedian (all-NaN slices give NaN).

    >>> nanmedian([3.0, np.nan, 1.0])
    np.float64(2.0)
    """
    U._no_out(out, "nanmedian")
    return _median_of(a, axis, bool(_drop(keepdims)), True, "nanmedian")


# --- NaN-aware reductions -----------------------------------------------------------------------


def _replace(x, mask, value):
    return x if mask is None else U.where(mask, value, x)


def nansum(a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE,
           where=_NOVALUE):
    """Sum treating NaNs as zero, as numpy.nansum (derivative 0 at NaN entries).

    Args:
      a: the array. axis: None, int or tuple. dtype: accumulator/result dtype.
      keepdims: keep reduced axes. initial: a starting value. where: entries to include.
    Returns:
      The sums.

    >>> nansum([1.0, np.nan, 2.0])
    np.float64(3.0)
    """
    U._no_out(out, "nansum")
    x = _a(a)
    x = _replace(x, _where_mask(x, _drop(where)), 0)
    return R.sum(x, axis=axis, dtype=dtype, keepdims=bool(_drop(keepdims)),
                 initial=_drop(initial))


def nanprod(a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE,
            where=_NOVALUE):
    """Product treating NaNs as one, as numpy.nanprod (derivative 0 at NaN entries).

    >>> nanprod([2.0, np.nan, 3.0])
    np.float64(6.0)
    """
    U._no_out(out, "nanprod")
    x = _a(a)
    x = _replace(x, _where_mask(x, _drop(where)), 1)
    return R.prod(x, axis=axis, dtype=dtype, keepdims=bool(_drop(keepdims)),
                  initial=_drop(initial))


def _count(mask, x, axis, keepdims):
    if mask is None:
        shape = S.shape(x)
        axes = normalize_axes(axis, len(shape))
        n = math.prod(shape[i] for i in axes)
        return np.full(_keep_shape(shape, axes) if keepdims else
                       tuple(d for i, d in enumerate(shape) if i not in axes), n, np.intp)
    return R.sum(U.logical_not(mask), axis=axis, dtype=np.intp, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=_NOVALUE, *, where=_NOVALUE):
    """Mean ignoring NaNs, as numpy.nanmean (all-NaN slices give NaN; derivative 0 at NaNs).

    >>> nanmean([1.0, np.nan, 3.0])
    np.float64(2.0)
    """
    U._no_out(out, "nanmean")
    x = _a(a)
    keep = bool(_drop(keepdims))
    mask = _where_mask(x, _drop(where))
    if not _is_inexact(x) and mask is None:
        return R.mean(x, axis=axis, dtype=dtype, keepdims=keep)
    if mask is not None:
        _warn_all_nan(mask, axis, "mean")
    tot = R.sum(_replace(x, mask, 0), axis=axis, dtype=dtype, keepdims=keep)
    if _dt(tot).kind not in "fc":
        tot = U.astype(tot, np.float64)
    cnt = _count(mask, x, axis, keep)
    return U.divide(tot, U.astype(cnt, _dt(tot)))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NOVALUE, *, where=_NOVALUE,
           mean=_NOVALUE, correction=_NOVALUE):
    """Variance ignoring NaNs, as numpy.nanvar (ddof; NaN where the count minus ddof is not
    positive; derivative 0 at NaN entries).

    Args:
      a: the array. axis: None, int or tuple. dtype: computation dtype. ddof / correction:
        delta degrees of freedom. keepdims: keep reduced axes. where: entries to include.
      mean: a precomputed mean (with keepdims=True shape).
    Returns:
      The variances.

    >>> nanvar([1.0, np.nan, 3.0])
    np.float64(1.0)
    """
    U._no_out(out, "nanvar")
    if _drop(correction) is not None:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    x = _a(a)
    keep = bool(_drop(keepdims))
    mask = _where_mask(x, _drop(where))
    if not _is_inexact(x) and mask is None:
        return R.var(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keep)
    if mask is not None:
        _warn_all_nan(mask, axis, "var")
    xz = _replace(x, mask, 0)
    cnt_k = _count(mask, x, axis, True)
    if _drop(mean) is not None:
        avg = _a(mean)
    else:
        avg = R.sum(xz, axis=axis, dtype=dtype, keepdims=True)
        if _dt(avg).kind not in "fc":
            avg = U.astype(avg, np.float64)
        avg = U.divide(avg, U.astype(cnt_k, _dt(avg)))
    d = _replace(U.subtract(xz if dtype is None else U.astype(xz, dtype), avg), mask, 0)
    sq = U.real(U.multiply(d, U.conjugate(d))) if _dt(d).kind == "c" else U.multiply(d, d)
    var = R.sum(sq, axis=axis, dtype=dtype, keepdims=keep)
    cnt = _count(mask, x, axis, keep)
    dof = U.subtract(cnt, ddof)
    var = U.divide(var, U.astype(dof, _dt(var)))
    return _out(U.where(U.less_equal(dof, 0), np.nan, var))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NOVALUE, *, where=_NOVALUE,
           mean=_NOVALUE, correction=_NOVALUE):
    """Standard deviation ignoring NaNs, as numpy.nanstd (see nanvar).

    >>> nanstd([1.0, np.nan, 3.0])
    np.float64(1.0)
    """
    return U.sqrt(nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                         where=where, mean=mean, correction=correction))


def _nan_extreme(name, reduce, fill):
    def f(a, axis=None, out=None, keepdims=_NOVALUE, initial=_NOVALUE, where=_NOVALUE):
        U._no_out(out, name)
        x = _a(a)
        keep = bool(_drop(keepdims))
        init = _drop(initial)
        mask = _where_mask(x, _drop(where))
        if mask is None:
            return reduce(x, axis=axis, keepdims=keep, initial=init)
        if init is None and _drop(where) is not None:
            raise ValueError(f"reduction operation {name} with where= needs an initial value "
                             "(a slice may have no entries)")
        _warn_all_nan(mask, axis, name)
        r = reduce(U.where(mask, fill, x), axis=axis, keepdims=keep, initial=init)
        if init is None:
            empty = R.all(mask, axis=axis, keepdims=keep)
            r = U.where(empty, np.nan, r)
        return _out(r)
    f.__name__ = f.__qualname__ = name
    return f


nanmax = _nan_extreme("nanmax", R.max, -np.inf)
nanmax.__doc__ = """Maximum ignoring NaNs, as numpy.nanmax (all-NaN slices give NaN).

    Derivative: shared equally among tied maxima; 0 at NaN entries.

    >>> nanmax([1.0, np.nan, 3.0])
    np.float64(3.0)
    """
nanmin = _nan_extreme("nanmin", R.min, np.inf)
nanmin.__doc__ = """Minimum ignoring NaNs, as numpy.nanmin (all-NaN slices give NaN).

    >>> nanmin([1.0, np.nan, 3.0])
    np.float64(1.0)
    """


def _nan_arg(name, arg, fill):
    def f(a, axis=None, out=None, *, keepdims=_NOVALUE):
        U._no_out(out, name)
        x = _a(a)
        keep = bool(_drop(keepdims))
        if not _is_inexact(x):
            return arg(x, axis=axis, keepdims=keep)
        mask = U.isnan(x)
        r = arg(U.where(mask, fill, x), axis=axis, keepdims=keep)
        all_nan = R.all(mask, axis=axis, keepdims=keep)
        known = _known(all_nan)
        if known is not None:
            if np.any(known):
                raise ValueError("All-NaN slice encountered")
            return r
        return _out(U.where(all_nan, -1, r))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Indices of the {name[6:]} values ignoring NaNs, as numpy.{name}.\n\n"
                 "    An all-NaN slice raises ValueError when the values are known; under "
                 "jit/vmap it gives -1.\n")
    return f


nanargmax = _nan_arg("nanargmax", R.argmax, -np.inf)
nanargmin = _nan_arg("nanargmin", R.argmin, np.inf)


def nancumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum treating NaNs as zero, as numpy.nancumsum.

    >>> nancumsum([1.0, np.nan, 2.0])
    array([1., 1., 3.])
    """
    U._no_out(out, "nancumsum")
    x = _a(a)
    return R.cumsum(_replace(x, _nan_mask(x), 0), axis=axis, dtype=dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product treating NaNs as one, as numpy.nancumprod (the derivative divides
    by the entries, like cumprod's: not finite at exact zeros).

    >>> nancumprod([2.0, np.nan, 3.0])
    array([2., 2., 6.])
    """
    U._no_out(out, "nancumprod")
    x = _a(a)
    return R.cumprod(_replace(x, _nan_mask(x), 1), axis=axis, dtype=dtype)


# --- differences, gradients, integrals ----------------------------------------------------------


def _slice_axis(x, axis, sl):
    return I.getitem(x, (_ALL,) * axis + (sl,))


def _edge_value(v, x, axis):
    """prepend/append values: scalars are broadcast to x's shape with length 1 along axis."""
    v = _a(v)
    if S.ndim(v) == 0:
        shape = list(S.shape(x))
        shape[axis] = 1
        v = S.broadcast_to(v, tuple(shape))
    return v


def diff(a, n=1, axis=-1, prepend=_NOVALUE, append=_NOVALUE):
    """The n-th discrete difference along an axis, as numpy.diff.

    Args:
      a: array of at least one dimension.
      n: order (static, >= 0).
      axis: the axis.
      prepend, append: values joined before/after along axis first (scalars broadcast).
    Returns:
      The differences (boolean input: not_equal).

    >>> diff([1, 4, 9, 16])
    array([3, 5, 7])
    """
    n = _static_int(n, "diff order n")
    if n == 0:
        return _a(a)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    x = _a(a)
    if S.ndim(x) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis(axis, S.ndim(x))
    parts = []
    if prepend is not _NOVALUE:
        parts.append(_edge_value(prepend, x, axis))
    parts.append(x)
    if append is not _NOVALUE:
        parts.append(_edge_value(append, x, axis))
    if len(parts) > 1:
        x = S.concatenate(parts, axis=axis)
    op = U.not_equal if _dt(x) == np.bool_ else U.subtract
    for _ in range(n):
        x = op(_slice_axis(x, axis, slice(1, None)), _slice_axis(x, axis, slice(None, -1)))
    return x


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened array, as numpy.ediff1d.

    Args:
      ary: the array (flattened).
      to_end, to_begin: values appended/prepended to the result (castable to ary's dtype
        under 'same_kind').
    Returns:
      A 1-D array of ary's dtype.

    >>> ediff1d([1, 2, 4, 7], to_begin=-99)
    array([-99,   1,   2,   3])
    """
    x = S.ravel(_a(ary))
    dt = _dt(x)
    parts = []
    for v, name in ((to_begin, "to_begin"), (to_end, "to_end")):
        if v is None:
            parts.append(None)
            continue
        v = S.ravel(_a(v))
        if not np.can_cast(_dt(v), dt, casting="same_kind"):
            raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under the "
                            "`same_kind` rule.")
        parts.append(U.astype(v, dt))
    d = U.subtract(I.getitem(x, slice(1, None)), I.getitem(x, slice(None, -1)))
    if _dt(d) != dt:
        d = U.astype(d, dt)
    pieces = [p for p in (parts[0], d, parts[1]) if p is not None]
    return S.concatenate(pieces) if len(pieces) > 1 else d


def _spacings(f, varargs, axes):
    """One spacing per axis: a scalar, or a 1-D coordinate array of the axis's length."""
    shape = S.shape(f)
    n = len(varargs)
    if n == 0:
        return [1.0] * len(axes)
    if n == 1 and S.ndim(varargs[0]) == 0:
        return [varargs[0]] * len(axes)
    if n != len(axes):
        raise TypeError("invalid number of arguments")
    out = []
    for v, ax in zip(varargs, axes):
        v = v if isinstance(v, Tracer) or type(v) in (int, float) else _a(v)
        if S.ndim(v) == 0:
            out.append(v)
            continue
        if S.ndim(v) != 1:
            raise ValueError("distances must be either scalars or 1d")
        if S.shape(v)[0] != shape[ax]:
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")
        if _dt(v).kind in "iub":
            v = U.astype(v, np.float64)
        d = diff(v)
        dv = _known(d)
        if dv is not None and not isinstance(d, Tracer) and dv.size and np.all(dv == dv[0]):
            d = dv[0]  # uniform coordinates: NumPy's uniform formulas
        out.append(d)
    return out


def gradient(f, *varargs, axis=None, edge_order=1):
    """The gradient of sampled values by central differences, as numpy.gradient.

    Second-order accurate central differences inside, first- or second-order one-sided
    differences at the edges; spacings may be scalars or coordinate arrays (non-uniform
    formulas). Differentiable in f and in the spacings.

    Args:
      f: the samples (at least edge_order + 1 along each differentiated axis).
      *varargs: no spacing (1), one scalar for every axis, or one scalar or 1-D coordinate
        array per axis.
      axis: None (all axes), int or tuple of ints.
      edge_order: 1 or 2.
    Returns:
      One array per axis (a tuple), or a single array for a single axis.

    >>> gradient([1.0, 2.0, 4.0, 7.0])
    array([1. , 1.5, 2.5, 3. ])
    """
    f = _a(f)
    nd = S.ndim(f)
    shape = S.shape(f)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(normalize_axis(a, nd) for a in np.atleast_1d(axis).tolist())
        if len(set(axes)) != len(axes):
            raise ValueError("duplicate value in 'axis'")
    dxs = _spacings(f, varargs, axes)
    edge_order = operator.index(edge_order)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if _dt(f).kind in "iub":
        f = U.astype(f, np.float64)
    outs = []
    for ax, dx in zip(axes, dxs):
        if shape[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                             "least (edge_order + 1) elements are required.")
        outs.append(_gradient_axis(f, ax, dx, edge_order))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _gradient_axis(f, ax, dx, edge_order):
    nd = S.ndim(f)

    def sl(s):
        return _slice_axis(f, ax, s)

    def coef(c):
        """A coefficient array (along ax) broadcasting against f's slices."""
        if S.ndim(c) == 0:
            return c
        return S.reshape(c, (-1,) + (1,) * (nd - ax - 1)) if nd - ax - 1 else c

    uniform = S.ndim(dx) == 0
    if uniform:
        inner = U.divide(U.subtract(sl(slice(2, None)), sl(slice(None, -2))), U.multiply(2.0, dx))
    else:
        dx1 = I.getitem(dx, slice(None, -1))
        dx2 = I.getitem(dx, slice(1, None))
        a = U.negative(U.divide(dx2, U.multiply(dx1, U.add(dx1, dx2))))
        b = U.divide(U.subtract(dx2, dx1), U.multiply(dx1, dx2))
        c = U.divide(dx1, U.multiply(dx2, U.add(dx1, dx2)))
        inner = U.add(U.add(U.multiply(coef(a), sl(slice(None, -2))),
                            U.multiply(coef(b), sl(slice(1, -1)))),
                      U.multiply(coef(c), sl(slice(2, None))))
    if edge_order == 1:
        d0 = dx if uniform else I.getitem(dx, 0)
        dn = dx if uniform else I.getitem(dx, -1)
        first = U.divide(U.subtract(sl(slice(1, 2)), sl(slice(0, 1))), d0)
        last = U.divide(U.subtract(sl(slice(-1, None)), sl(slice(-2, -1))), dn)
    else:
        if uniform:
            a0, b0, c0 = U.divide(-1.5, dx), U.divide(2.0, dx), U.divide(-0.5, dx)
            an, bn, cn = U.divide(0.5, dx), U.divide(-2.0, dx), U.divide(1.5, dx)
        else:
            d1, d2 = I.getitem(dx, 0), I.getitem(dx, 1)
            a0 = U.negative(U.divide(U.add(U.multiply(2.0, d1), d2),
                                     U.multiply(d1, U.add(d1, d2))))
            b0 = U.divide(U.add(d1, d2), U.multiply(d1, d2))
            c0 = U.negative(U.divide(d1, U.multiply(d2, U.add(d1, d2))))
            d1, d2 = I.getitem(dx, -2), I.getitem(dx, -1)
            an = U.divide(d2, U.multiply(d1, U.add(d1, d2)))
            bn = U.negative(U.divide(U.add(d2, d1), U.multiply(d1, d2)))
            cn = U.divide(U.add(U.multiply(2.0, d2), d1), U.multiply(d2, U.add(d1, d2)))
        first = U.add(U.add(U.multiply(a0, sl(slice(0, 1))), U.multiply(b0, sl(slice(1, 2)))),
                      U.multiply(c0, sl(slice(2, 3))))
        last = U.add(U.add(U.multiply(an, sl(slice(-3, -2))), U.multiply(bn, sl(slice(-2, -1)))),
                     U.multiply(cn, sl(slice(-1, None))))
    # NumPy writes every part into an array of f's dtype
    out_dt = _dt(f)
    return S.concatenate([U.astype(first, out_dt), U.astype(inner, out_dt),
                          U.astype(last, out_dt)], axis=ax)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integrate along an axis with the composite trapezoidal rule, as numpy.trapezoid.

    Args:
      y: the samples.
      x: sample points (1-D of y's length along axis, or y's shape), or None to use dx.
      dx: the spacing when x is None.
      axis: the axis.
    Returns:
      The integral (y's shape without axis). Differentiable in y, x and dx.

    >>> trapezoid([1.0, 2.0, 3.0], dx=0.5)
    np.float64(2.0)
    """
    y = _a(y)
    nd = S.ndim(y)
    axis = normalize_axis(axis, nd)
    if x is None:
        d = dx
    else:
        x = _a(x)
        if S.ndim(x) == 1:
            d = diff(x)
            shape = [1] * nd
            shape[axis] = S.shape(d)[0]
            d = S.reshape(d, tuple(shape))
        else:
            d = diff(x, axis=axis)
    s = U.add(_slice_axis(y, axis, slice(1, None)), _slice_axis(y, axis, slice(None, -1)))
    return R.sum(U.divide(U.multiply(d, s), 2.0), axis=axis)


# --- interpolation and polynomials --------------------------------------------------------------


def interp(x, xp, fp, left=None, right=None, period=None):
    """One-dimensional piecewise-linear interpolation, as numpy.interp.

    Args:
      x: where to evaluate (any shape).
      xp: increasing sample points (1-D; not checked, as in NumPy), or any order with period.
      fp: values at xp (1-D, real or complex).
      left, right: values for x < xp[0] and x > xp[-1] (default fp[0], fp[-1]).
      period: for periodic xp (then left and right are ignored).
    Returns:
      float64 (complex128 for complex fp) array of x's shape.

    Derivatives: the local slope in x (one-sided at the sample points: the slope of the
    segment to the right), linear in fp, and, through the segment slopes, in xp.

    >>> interp(2.5, [1.0, 2.0, 3.0], [3.0, 2.0, 0.0])
    np.float64(1.0)
    """
    x, xp, fp = _a(x), _a(xp), _a(fp)
    if S.ndim(xp) != 1 or S.ndim(fp) != 1:
        raise ValueError("object too deep for desired array (xp and fp must be 1-D)")
    if S.shape(xp)[0] == 0:
        raise ValueError("array of sample points is empty")
    if S.shape(xp)[0] != S.shape(fp)[0]:
        raise ValueError("fp and xp are not of the same length.")
    if _dt(x).kind == "c" or _dt(xp).kind == "c":
        raise TypeError("interp: x and xp must be real")
    out_dt = np.complex128 if _dt(fp).kind == "c" else np.float64
    x = U.astype(x, np.float64)
    xp = U.astype(xp, np.float64)
    fp = U.astype(fp, out_dt)
    if period is not None:
        pv = _known(period)
        if pv is not None and pv == 0:
            raise ValueError("period must be a non-zero value")
        period = U.absolute(period)
        left = right = None
        x = U.remainder(x, period)
        xp = U.remainder(xp, period)
        order = M.argsort(xp)
        xp = M.take(xp, order)
        fp = M.take(fp, order)
        xp = S.concatenate([U.subtract(I.getitem(xp, slice(-1, None)), period), xp,
                            U.add(I.getitem(xp, slice(0, 1)), period)])
        fp = S.concatenate([I.getitem(fp, slice(-1, None)), fp, I.getitem(fp, slice(0, 1))])
    n = S.shape(xp)[0]
    f0, fn = I.getitem(fp, 0), I.getitem(fp, -1)
    for v in (left, right):
        if v is not None and out_dt == np.float64 and _dt(_a(v)).kind == "c":
            raise TypeError("must be real number, not complex (left/right of a real fp)")
    lo = f0 if left is None else U.astype(left, out_dt)
    hi = fn if right is None else U.astype(right, out_dt)
    if n == 1:
        x0 = I.getitem(xp, 0)
        return _out(U.where(U.less(x, x0), lo, U.where(U.greater(x, x0), hi, f0)))
    j = U.clip(U.subtract(bind(searchsorted_p, xp, x, side="right"), 1), 0, n - 2)
    xj, xj1 = M.take(xp, j), M.take(xp, U.add(j, 1))
    fj, fj1 = M.take(fp, j), M.take(fp, U.add(j, 1))
    slope = U.divide(U.subtract(fj1, fj), U.subtract(xj1, xj))
    y = U.add(U.multiply(slope, U.subtract(x, xj)), fj)
    yv = _known(y)
    if yv is None or np.any(~np.isfinite(yv)):
        # NumPy's rules for non-finite slopes: fp[j] at a sample point, else retry from the
        # right end of the segment, else fp[j] for a flat segment
        y2 = U.add(U.multiply(slope, U.subtract(x, xj1)), fj1)
        y2 = U.where(U.logical_and(U.isnan(y2), U.equal(fj, fj1)), fj, y2)
        y = U.where(U.isnan(y), y2, y)
        y = U.where(U.logical_and(U.equal(x, xj), U.logical_not(U.isfinite(slope))), fj, y)
    xn = I.getitem(xp, -1)
    # exactly fp[-1] at the last sample point (derivative in x: the last segment's slope)
    safe = U.where(U.isfinite(slope), slope, 0.0)
    y = U.where(U.equal(x, xn), U.add(fn, U.multiply(safe, U.subtract(x, xn))), y)
    y = U.where(U.less(x, I.getitem(xp, 0)), lo, U.where(U.greater(x, xn), hi, y))
    return _out(y)


def polyval(p, x):
    """Evaluate a polynomial (coefficients highest power first) by Horner's rule, as
    numpy.polyval; differentiable in p and x.

    Args:
      p: coefficients, shape (N,) or (N, ...) broadcasting against x.
      x: the points.
    Returns:
      p[0] x**(N-1) + ... + p[N-1].

    >>> polyval([3.0, 0.0, 1.0], 2.0)
    np.float64(13.0)
    """
    p = _a(p)
    x = x if isinstance(x, Tracer) else _a(x)
    y = np.zeros(S.shape(x), _dt(x))
    for i in range(S.shape(p)[0] if S.ndim(p) else 0):
        y = U.add(U.multiply(y, x), I.getitem(p, i))
    return y


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit, as numpy.polyfit (coefficients highest power first).

    Solved with chainrule.numpy.linalg.lstsq on the column-scaled Vandermonde matrix, as
    NumPy does, so the coefficients are differentiable in x, y and w as far as lstsq is.

    Args:
      x: 1-D sample points. y: samples, shape (M,) or (M, K).
      deg: degree (static). rcond: relative cutoff for small singular values
        (default len(x) * eps).
      full: also return (residuals, rank, singular values, rcond).
      w: weights applied to the unsquared residuals.
      cov: also return the coefficients' covariance matrix (True, or 'unscaled').
    Returns:
      The coefficients, shape (deg + 1,) or (deg + 1, K) (and the extras above).

    >>> polyfit([0.0, 1.0, 2.0], [1.0, 3.0, 5.0], 1)
    array([2., 1.])
    """
    from . import linalg as L
    deg = _static_int(deg, "polyfit degree")
    order = deg + 1
    x = U.add(_a(x), 0.0)
    y = U.add(_a(y), 0.0)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if S.ndim(x) != 1:
        raise TypeError("expected 1D vector for x")
    if S.shape(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if S.ndim(y) < 1 or S.ndim(y) > 2:
        raise TypeError("expected 1D or 2D array for y")
    if S.shape(x)[0] != S.shape(y)[0]:
        raise TypeError("expected x and y to have same length")
    m = S.shape(x)[0]
    if rcond is None:
        rcond = m * np.finfo(_dt(x)).eps
    # the Vandermonde matrix by repeated products, as numpy.vander
    cols = [np.ones(m, _dt(x))]
    for _ in range(deg):
        cols.append(U.multiply(cols[-1], x))
    lhs = S.stack(cols[::-1], axis=1)
    rhs = y
    if w is not None:
        w = U.add(_a(w), 0.0)
        if S.ndim(w) != 1:
            raise TypeError("expected a 1-d array for weights")
        if S.shape(w)[0] != m:
            raise TypeError("expected w and y to have the same length")
        lhs = U.multiply(lhs, S.reshape(w, (m, 1)))
        rhs = U.multiply(rhs, S.reshape(w, (m, 1)) if S.ndim(rhs) == 2 else w)
    scale = U.sqrt(R.sum(U.multiply(lhs, lhs), axis=0))
    lhs = U.divide(lhs, scale)
    c, resids, rank, s = L.lstsq(lhs, rhs, rcond)
    c = U.divide(c, S.reshape(scale, (order, 1)) if S.ndim(c) == 2 else scale)
    rv = _known(rank)
    if rv is not None and int(rv) != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning,
                      stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if cov:
        from ._products import dot, outer
        vbase = L.inv(dot(S.transpose(lhs), lhs))
        vbase = U.divide(vbase, outer(scale, scale))
        if cov == "unscaled":
            fac = 1
        else:
            if m <= order:
                raise ValueError("the number of data points must exceed order to scale the "
                                 "covariance matrix")
            fac = U.divide(resids, m - order)
        if S.ndim(y) == 1:
            return c, U.multiply(vbase, fac)
        return c, U.multiply(S.reshape(vbase, (order, order, 1)), fac)
    return c


# --- convolution and correlation ----------------------------------------------------------------

_MODES = {"full": "full", "same": "same", "valid": "valid", 0: "valid", 1: "same",
          2: "full", "f": "full", "s": "same", "v": "valid"}


def _conv_mode(mode):
    try:
        return _MODES[mode]
    except (KeyError, TypeError):
        raise ValueError("Use one of 'valid', 'same', or 'full' for convolve/correlate "
                         "mode") from None


def _conv(a, v, mode, name):
    mode = _conv_mode(mode)
    n, m = S.shape(a)[0], S.shape(v)[0]
    # NumPy's correlate works on the longer sequence first and reverses its result when it
    # swapped them, so its 'same' window then starts one later for an even shorter length
    late = name == "correlate" and n < m
    if m > n:
        a, v, n, m = v, a, m, n
    if n == 0:
        raise ValueError("a cannot be empty")
    if m == 0:
        raise ValueError("v cannot be empty")
    full = bind(convolve_p, a, v)
    if mode == "full":
        return full
    if mode == "same":
        start = m // 2 if late else (m - 1) // 2
        return I.getitem(full, slice(start, start + n))
    return I.getitem(full, slice(m - 1, n))


def _seq1d(x, name):
    x = _a(x)
    if S.ndim(x) == 0:
        x = S.reshape(x, (1,))
    if S.ndim(x) != 1:
        raise ValueError(f"object too deep for desired array ({name} takes 1-D sequences)")
    return x


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences, as numpy.convolve; differentiable
    (bilinear) in both.

    Args:
      a, v: 1-D arrays (non-empty).
      mode: 'full' (length N + M - 1), 'same' (length max(M, N)) or 'valid'
        (length max(M, N) - min(M, N) + 1).
    Returns:
      The convolution.

    >>> convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _conv(_seq1d(a, "convolve"), _seq1d(v, "convolve"), mode, "convolve")


def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D sequences, as numpy.correlate:
    c[k] = sum_n a[n + k] * conj(v[n]). Differentiable in both.

    Args:
      a, v: 1-D arrays (non-empty).
      mode: 'valid' (default), 'same' or 'full'.
    Returns:
      The correlation.

    >>> correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([3.5])
    """
    a, v = _seq1d(a, "correlate"), _seq1d(v, "correlate")
    v = M.flip(U.conjugate(v) if _dt(v).kind == "c" else v)
    return _conv(a, v, mode, "correlate")


# --- covariance ---------------------------------------------------------------------------------


def _rows2d(m, dtype, rowvar, is_y):
    x = U.astype(_a(m), dtype)
    nd = S.ndim(x)
    if nd < 2:
        x = S.reshape(x, (1,) * (2 - nd) + tuple(S.shape(x)))
    # NumPy transposes m unless it was 1-D, and y unless it has a single row
    if not rowvar and (S.shape(x)[0] != 1 if is_y else nd != 1):
        x = S.transpose(x)
    return x


def _check_weights(wt, n, kind):
    w = U.astype(_a(wt), np.float64)
    if S.ndim(w) > 1:
        raise RuntimeError(f"cannot handle multidimensional {kind}")
    if S.shape(w)[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {kind}")
    wv = _known(w)
    if wv is not None:
        if kind == "fweights" and not np.all(wv == np.around(wv)):
            raise TypeError("fweights must be integer")
        if np.any(wv < 0):
            raise ValueError(f"{kind} cannot be negative")
    return w


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Covariance matrix, as numpy.cov; differentiable in the data and in aweights/fweights.

    Args:
      m: 1-D or 2-D array: rows are variables (rowvar=True) and columns observations.
      y: more variables, stacked after m's.
      rowvar: False when each column is a variable.
      bias: normalize by N (default N - 1). ddof: overrides bias.
      fweights: integer frequency weights per observation. aweights: observation weights.
      dtype: computation dtype (default at least float64).
    Returns:
      The covariance matrix (squeezed: a 0-d array for one variable).

    >>> cov([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = _a(m)
    if S.ndim(m) > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None:
        y = _a(y)
        if S.ndim(y) > 2:
            raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(_dt(m), np.float64) if y is None else \
            np.result_type(_dt(m), _dt(y), np.float64)
    X = _rows2d(m, dtype, rowvar, False)
    if S.shape(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        X = S.concatenate([X, _rows2d(y, dtype, rowvar, True)], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = S.shape(X)[1]
    w = None
    if fweights is not None:
        w = _check_weights(fweights, nobs, "fweights")
    if aweights is not None:
        aw = _check_weights(aweights, nobs, "aweights")
        w = aw if w is None else U.multiply(w, aw)
    if w is None:
        avg = R.mean(X, axis=1)
        fact = nobs - ddof
    else:
        w_sum = R.sum(w)
        avg = U.divide(R.sum(U.multiply(X, w), axis=1), w_sum)
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = U.subtract(w_sum, ddof)
        else:
            fact = U.subtract(w_sum, U.divide(U.multiply(ddof, R.sum(U.multiply(w, aw))),
                                              w_sum))
    fv = _known(fact)
    if fv is not None and np.all(fv <= 0):
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
    if isinstance(fact, int):
        scale = 1.0 / fact if fact > 0 else np.inf
    else:
        scale = U.divide(1.0, U.where(U.less_equal(fact, 0), 0.0, fact))
    X = U.subtract(X, S.reshape(avg, (-1, 1)))
    XT = S.transpose(X if w is None else U.multiply(X, w))
    from ._products import dot
    c = dot(X, U.conjugate(XT) if _dt(XT).kind == "c" else XT)
    # NumPy scales in place: the result keeps the computation dtype
    c = U.astype(U.multiply(c, scale), _dt(c))
    return S.squeeze(c)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients, as numpy.corrcoef (values clipped to [-1, 1]).

    Args:
      x: 1-D or 2-D array of variables (rows when rowvar). y: more variables.
      rowvar: False when each column is a variable. dtype: computation dtype.
    Returns:
      The correlation matrix (a 0-d array for one variable: 1.0, or NaN).

    Derivative: that of cov(x)_ij / sqrt(cov_ii cov_jj); not finite for a constant variable.

    >>> corrcoef([0.0, 1.0, 2.0], [2.0, 1.0, 0.0])
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if S.ndim(c) == 0:
        return _out(U.divide(c, c))
    d = M.diagonal(c)
    std = U.sqrt(U.real(d))
    c = U.divide(U.divide(c, S.reshape(std, (-1, 1))), S.reshape(std, (1, -1)))

    def clip(v):
        return U.where(U.greater(v, 1), 1.0, U.where(U.less(v, -1), -1.0, v))
    if _dt(c).kind == "c":
        return U.add(clip(U.real(c)), U.multiply(1j, clip(U.imag(c))))
    return clip(c)


# --- cross product ------------------------------------------------------------------------------


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or the z-component for 2-vectors, deprecated in NumPy 2),
    as numpy.cross; differentiable in a and b.

    Args:
      a, b: arrays whose vector axes (axisa, axisb; or axis for all) have length 2 or 3;
        the other axes broadcast.
      axisc: the result's vector axis.
    Returns:
      The cross products.

    >>> cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    array([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _a(a), _a(b)
    a = S.moveaxis(a, normalize_axis(axisa, S.ndim(a)), -1)
    b = S.moveaxis(b, normalize_axis(axisb, S.ndim(b)), -1)
    na, nb = S.shape(a)[-1], S.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n"
                         "(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=2)
    shape = np.broadcast_shapes(S.shape(a)[:-1], S.shape(b)[:-1])
    if na == 3 or nb == 3:
        shape = shape + (3,)
        try:
            axisc = normalize_axis(axisc, len(shape))
        except np.exceptions.AxisError:
            raise np.exceptions.AxisError(f"axisc: axis {axisc} is out of bounds for array "
                                          f"of dimension {len(shape)}") from None
    dt = np.promote_types(_dt(a), _dt(b))
    a, b = U.astype(a, dt), U.astype(b, dt)

    def comp(v, i):
        return I.getitem(v, (Ellipsis, i))
    a0, a1 = comp(a, 0), comp(a, 1)
    b0, b1 = comp(b, 0), comp(b, 1)
    cz = U.subtract(U.multiply(a0, b1), U.multiply(a1, b0))
    if na == 2 and nb == 2:
        return S.broadcast_to(cz, shape)
    if na == 2:
        b2 = comp(b, 2)
        cx, cy = U.multiply(a1, b2), U.negative(U.multiply(a0, b2))
    elif nb == 2:
        a2 = comp(a, 2)
        cx, cy = U.negative(U.multiply(a2, b1)), U.multiply(a2, b0)
    else:
        a2, b2 = comp(a, 2), comp(b, 2)
        cx = U.subtract(U.multiply(a1, b2), U.multiply(a2, b1))
        cy = U.subtract(U.multiply(a2, b0), U.multiply(a0, b2))
    out = S.stack([S.broadcast_to(U.astype(c, dt), shape[:-1]) for c in (cx, cy, cz)], axis=-1)
    return S.moveaxis(out, -1, axisc)


# --- counting, searching, binning ---------------------------------------------------------------


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of nonzero entries along an axis, as numpy.count_nonzero (no derivative).

    >>> count_nonzero([[0, 1], [2, 0]], axis=0)
    array([1, 1])
    """
    x = _a(a)
    nz = x if _dt(x) == np.bool_ else U.not_equal(x, 0)
    return R.sum(nz, axis=axis, dtype=np.intp, keepdims=keepdims)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion points of v into the sorted 1-D array a, as numpy.searchsorted (no
    derivative).

    Args:
      a: 1-D array, sorted ascending (unless sorter is given).
      v: values to insert (any shape).
      side: 'left' (first suitable index) or 'right' (last).
      sorter: indices that sort a (e.g. from argsort).
    Returns:
      Integer indices of v's shape.

    >>> searchsorted([1, 2, 3, 4, 5], 3)
    np.int64(2)
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    a = _a(a)
    if S.ndim(a) != 1:
        raise ValueError("object too deep for desired array (searchsorted needs a 1-D a)")
    if sorter is not None:
        a = M.take(a, sorter)
    return bind(searchsorted_p, a, v if isinstance(v, Tracer) else _a(v), side=side)


def digitize(x, bins, right=False):
    """Indices of the bins each value of x falls into, as numpy.digitize (no derivative).

    Args:
      x: values (real).
      bins: 1-D monotonically increasing or decreasing bin edges.
      right: whether intervals include their right edge instead of the left.
    Returns:
      Integer indices of x's shape.

    Monotonicity is checked when bins are concrete; traced bins are taken increasing when
    bins[-1] >= bins[0] and decreasing otherwise.

    >>> digitize([0.2, 6.4, 3.0], [0.0, 1.0, 2.5, 4.0])
    array([1, 4, 3])
    """
    x, bins = _a(x), _a(bins)
    if _dt(x).kind == "c" or _dt(bins).kind == "c":
        raise TypeError("x may not be complex")
    if S.ndim(bins) != 1:
        raise ValueError("object too deep for desired array (bins must be 1-D)")
    side = "left" if right else "right"
    nb = S.shape(bins)[0]
    if nb == 0:
        return U.astype(U.multiply(x, 0), np.intp) if isinstance(x, Tracer) else \
            np.zeros(np.shape(x), np.intp)
    inc = bind(searchsorted_p, bins, x, side=side)
    dec = U.subtract(nb, bind(searchsorted_p, M.flip(bins), x, side=side))
    bv = _known(bins)
    if bv is not None:
        d = np.diff(bv)
        if np.all(d >= 0):
            return inc
        if np.all(d <= 0):
            return dec
        raise ValueError("bins must be monotonically increasing or decreasing")
    return U.where(U.greater_equal(I.getitem(bins, -1), I.getitem(bins, 0)), inc, dec)


def _scatter_counts(idx, n, weights, dtype):
    """Sum of weights (or ones) per index in [0, n); other indices are dropped."""
    idx = U.where(U.logical_and(U.greater_equal(idx, 0), U.less(idx, n)), idx, n)
    buf = np.zeros(n + 1, dtype)
    vals = np.ones((), dtype) if weights is None else weights
    out = I.scatter(buf, idx, vals, "add")
    return I.getitem(out, slice(0, n))


def bincount(x, /, weights=None, minlength=0, *, length=None):
    """Counts (or summed weights) of each non-negative integer value, as numpy.bincount.

    Args:
      x: 1-D array of non-negative integers.
      weights: weights per entry (differentiable: the gradient of each bin flows to its
        entries); the result is float64 as in NumPy.
      minlength: a minimum number of bins.
      length: the number of bins, static (an addition, as in JAX): needed under jit and vmap,
        where the largest value is unknown; values >= length are dropped.
    Returns:
      Array of length max(max(x) + 1, minlength) (or `length`).

    >>> bincount([0, 1, 1, 3])
    array([1, 2, 0, 1])
    """
    x = _a(x)
    if S.ndim(x) != 1:
        raise ValueError("object too deep for desired array (bincount takes a 1-D array)"
                         if S.ndim(x) > 1 else "object of too small depth for desired array")
    if _dt(x).kind not in "iub":
        raise TypeError(f"Cannot cast array data from {_dt(x)!r} to {np.dtype(np.intp)!r} "
                        "according to the rule 'safe'")
    minlength = operator.index(minlength)
    if minlength < 0:
        raise ValueError("'minlength' must not be negative")
    w = None
    if weights is not None:
        w = _a(weights)
        if S.shape(w) != S.shape(x):
            raise ValueError("The weights and list don't have the same length.")
        if _dt(w).kind == "c":
            raise TypeError("Cannot cast array data from dtype('complex128') to "
                            "dtype('float64') according to the rule 'safe'")
        w = U.astype(w, np.float64)
    xv = _known(x)
    if xv is not None and xv.size and xv.min() < 0:
        raise ValueError("'list' argument must have no negative elements")
    if length is None:
        xv = _concrete(x, "bincount()", "The number of bins is the largest value + 1, which "
                       "must be known while tracing: pass a static length= (values >= length "
                       "are dropped).")
        n = builtins.max(minlength, int(xv.max()) + 1 if xv.size else 0)
    else:
        n = operator.index(length)
        if n < 0:
            raise ValueError("'length' must not be negative")
    return _scatter_counts(U.astype(x, np.intp), n, w,
                           np.float64 if w is not None else np.intp)


def _finite_pair(lo, hi, what):
    lv, hv = _known(lo), _known(hi)
    if lv is not None and hv is not None and not (np.isfinite(lv) and np.isfinite(hv)):
        raise ValueError(f"{what} of [{lv}, {hv}] is not finite")


def _bin_edges(x, bins, range, weights):
    """The bin edges of histogram(x, bins, range)."""
    if isinstance(bins, str):
        xv = _concrete(x, "histogram(bins=str)", "The number of bins chosen by a rule "
                       "depends on the data: pass an int number of bins (with range=) or "
                       "an array of edges.")
        rv = None if range is None else tuple(float(_concrete(r, "histogram range",
                                                                "pass a concrete range"))
                                                for r in range)
        wv = None if weights is None else _concrete(weights, "histogram weights", "")
        return np.histogram_bin_edges(xv, bins, rv, wv)
    if S.ndim(bins) == 0:
        try:
            nbins = operator.index(bins)
        except TypeError:
            raise TypeError("`bins` must be an integer, a string, or an array") from None
        if nbins < 1:
            raise ValueError("`bins` must be positive, when an integer")
        if range is not None:
            first, last = range
            fv, lv = _known(first), _known(last)
            if fv is not None and lv is not None and fv > lv:
                raise ValueError("max must be larger than min in range parameter.")
            _finite_pair(first, last, "supplied range")
        elif S.shape(x)[0] == 0:
            first, last = 0, 1
        else:
            first, last = R.min(x), R.max(x)
            _finite_pair(first, last, "autodetected range")
        bin_type = np.result_type(*[_dt(v) if isinstance(v, (Tracer, np.ndarray)) else v
                                    for v in (first, last)], _dt(x))
        if bin_type.kind in "iub":
            bin_type = np.result_type(bin_type, float)
        if not _has_tracer(first, last):
            first, last = float(first), float(last)
            if first == last:
                first, last = first - 0.5, last + 0.5
            return np.linspace(first, last, nbins + 1, endpoint=True, dtype=bin_type)
        first = U.astype(first, np.float64)
        last = U.astype(last, np.float64)
        same = U.equal(first, last)
        first = U.where(same, U.subtract(first, 0.5), first)
        last = U.where(same, U.add(last, 0.5), last)
        # numpy.linspace's arithmetic, so that traced edges equal eager ones
        step = U.divide(U.subtract(last, first), nbins)
        edges = U.add(U.multiply(np.arange(nbins + 1, dtype=np.float64), step), first)
        edges = I.scatter(edges, -1, last, "set")
        return U.astype(edges, bin_type)
    edges = _a(bins)
    if S.ndim(edges) != 1:
        raise ValueError("`bins` must be 1d, when an array")
    ev = _known(edges)
    if ev is not None and np.any(ev[:-1] > ev[1:]):
        raise ValueError("`bins` must increase monotonically, when an array")
    return edges


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The bin edges histogram would use, as numpy.histogram_bin_edges.

    Int bins give equal-width bins over range (default: the data's min and max,
    differentiable in a); a string rule ('auto', 'fd', ...) needs concrete data.

    >>> histogram_bin_edges([1.0, 2.0, 3.0], bins=2)
    array([1., 2., 3.])
    """
    x = S.ravel(_a(a))
    return _bin_edges(x, bins, range, weights)


def histogram(a, bins=10, range=None, density=None, weights=None):
    """A histogram of the data, as numpy.histogram.

    Works under jit and vmap when bins is an int or an array of edges (the number of bins is
    static); a string rule needs concrete data. Counts have no derivative; weighted counts
    are differentiable in the weights, and the edges (for int bins) in a and range.

    Args:
      a: the data (flattened).
      bins: int number of equal-width bins, increasing array of edges, or a rule name.
      range: (lower, upper) for int bins (default: the data's min and max).
      density: normalize to a probability density.
      weights: a weight per entry (counts become sums of weights).
    Returns:
      (hist, bin_edges): the last bin includes its right edge; values outside are dropped.

    >>> histogram([1.0, 2.0, 2.5, 3.0], bins=2)
    (array([1, 3]), array([1., 2., 3.]))
    """
    x = S.ravel(_a(a))
    w = None
    if weights is not None:
        w = _a(weights)
        if S.shape(w) != S.shape(_a(a)):
            raise ValueError("weights should have the same shape as a.")
        w = S.ravel(w)
    edges = _bin_edges(x, bins, range, w)
    nb = S.shape(edges)[0] - 1
    idx = U.subtract(bind(searchsorted_p, edges, x, side="right"), 1)
    last = I.getitem(edges, -1)
    idx = U.where(U.equal(x, last), nb - 1, idx)
    inside = U.logical_and(U.greater_equal(x, I.getitem(edges, 0)), U.less_equal(x, last))
    idx = U.where(inside, idx, nb)
    n = _scatter_counts(idx, nb, w, np.intp if w is None else _dt(w))
    if density:
        db = U.astype(diff(edges), np.float64)
        return U.divide(U.divide(n, db), R.sum(n)), edges
    return n, edges


_UNIQUE_HINT = ("The number of unique values depends on the data, so the result's shape is "
                "not known while tracing: pass a static size= (and optionally fill_value=) to "
                "get exactly that many entries.")


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):
    """The sorted unique values of an array, as numpy.unique.

    Values are a gather of the input (differentiable: each unique value's derivative flows to
    its first occurrence); indices, inverse and counts have none.

    Args:
      ar: the array (flattened when axis is None).
      return_index, return_inverse, return_counts: also return the first occurrences, the
        reconstruction indices (shaped like ar for axis=None, as in NumPy 2) and the counts.
      axis: None, or an axis along which to take unique slices (concrete data only).
      equal_nan: collapse NaNs into one.
      sorted: accepted for NumPy compatibility (the values are always sorted).
      size: static number of values to return (an addition, as in JAX; axis=None only):
        needed under jit and vmap. Fewer unique values are padded with fill_value (default:
        the smallest value), with index 0 and count 0; more are cut off (their inverse
        entries are then >= size).
      fill_value: the padding value with size.
    Returns:
      The unique values, followed by the requested extras (a tuple when any is requested).

    >>> unique([3, 1, 1, 2])
    array([1, 2, 3])
    """
    x = _a(ar)
    if size is None:
        xv = _concrete(x, "unique()", _UNIQUE_HINT)
        res = np.unique(xv, True, return_inverse, return_counts, axis, equal_nan=equal_nan,
                        **({} if sorted else {"sorted": False}))
        index = res[1]
        vals = M.take(S.ravel(x), index) if axis is None else M.take(x, index, axis=axis)
        extras = []
        if return_index:
            extras.append(index)
        extras.extend(res[2:])
        return (vals, *extras) if extras else vals
    if axis is not None:
        raise NotImplementedError("unique(..., size=) supports axis=None only")
    size = operator.index(size)
    return _unique_sized(S.ravel(x), S.shape(x), size, fill_value, return_index,
                         return_inverse, return_counts, equal_nan)


def _unique_sized(flat, shape, size, fill_value, return_index, return_inverse,
                  return_counts, equal_nan):
    n = S.shape(flat)[0]
    if n == 0:
        raise ValueError("unique(..., size=) of an empty array: there is no value to pad "
                         "with")
    perm = M.argsort(flat)
    s = M.take(flat, perm)
    head, tail = I.getitem(s, slice(1, None)), I.getitem(s, slice(None, -1))
    neq = U.not_equal(head, tail)
    if equal_nan and _is_inexact(flat):
        neq = U.logical_and(neq, U.logical_not(U.logical_and(U.isnan(head), U.isnan(tail))))
    first = S.concatenate([np.ones(1, bool), neq])
    group = U.subtract(R.cumsum(U.astype(first, np.intp)), 1)
    slot = U.where(U.logical_and(first, U.less(group, size)), group, size)
    nuniq = U.add(I.getitem(group, -1), 1)
    fill = I.getitem(s, 0) if fill_value is None else fill_value
    vals = I.getitem(I.scatter(np.zeros(size + 1, _dt(flat)), slot, s, "set"), slice(0, size))
    pad = U.greater_equal(np.arange(size), nuniq)
    vals = U.where(pad, U.astype(fill, _dt(flat)), vals)
    out = [vals]
    if return_index:
        idx = I.scatter(np.zeros(size + 1, np.intp), slot, perm, "set")
        out.append(U.where(pad, 0, I.getitem(idx, slice(0, size))))
    if return_inverse:
        inv = I.scatter(np.zeros(n, np.intp), perm, group, "set")
        out.append(S.reshape(inv, shape))
    if return_counts:
        out.append(_scatter_counts(group, size, None, np.intp))
    return tuple(out) if len(out) > 1 else vals


# --- the eager fast path ------------------------------------------------------------------------

_OURS = {"unique": ("size", "fill_value"), "bincount": ("length",)}  # arguments NumPy lacks


def _numpy_when_concrete(f, ours):
    """f, calling NumPy's function of the same name when no argument holds a tracer (and none
    of the arguments only chainrule has is given)."""
    np_fn = getattr(np, f.__name__)

    @functools.wraps(f)
    def g(*args, **kwargs):
        if (C._has_tracer(args) or C._has_tracer(list(kwargs.values()))
                or builtins.any(kwargs.get(k) is not None for k in ours)):
            return f(*args, **kwargs)
        for k in ours:
            kwargs.pop(k, None)
        return np_fn(*args, **kwargs)
    return g


for _name in __all__:
    globals()[_name] = _numpy_when_concrete(globals()[_name], _OURS.get(_name, ()))
