"""Set operations, deletion and insertion, selection by condition, lexsort, choose, resize,
unwrap, spacing and the polynomial coefficient helpers of chainrule.numpy.

Contract: NumPy 2 semantics (values, shapes, dtypes); results are gathers of (or compositions
over) the inputs, so derivatives flow to the elements selected. Where the result's shape
depends on values (set operations, trim_zeros, extract, compress, unique_*), the positions
are computed by NumPy from concrete values: eager code, grad and jvp work; under jit and vmap
a ConcretizationError says so. Index arguments (delete, insert) are static.
"""
from __future__ import annotations

import numpy as np
from numpy import fromfunction  # noqa: F401

from ..core import ConcretizationError, Tracer
from . import _indexing as I, _manip as M, _reductions as R, _shape as S, _ufuncs as U
from ._stats import _concrete

__all__ = [
    "delete", "insert", "isin", "intersect1d", "union1d", "setdiff1d", "setxor1d", "lexsort",
    "compress", "extract", "choose", "resize", "trim_zeros", "sort_complex", "unique_all",
    "unique_counts", "unique_inverse", "unique_values", "unwrap", "spacing", "polyadd",
    "polysub", "polyder", "polyint", "apply_over_axes", "fromfunction", "polymul", "piecewise",
]

_HINT = ("The result's shape depends on the values, so it is not known while tracing: "
         "compute it outside jit/vmap, or use a fixed-size formulation (where, a mask).")


def _a(x):
    return x if isinstance(x, Tracer) else M._a(x)


def _static(v, what):
    return _concrete(v, what, f"{what} decides the result's shape: pass concrete values.") \
        if isinstance(v, Tracer) else v


def delete(arr, obj, axis=None):
    """arr without the entries at obj (int, slice, index or boolean array) along axis
    (flattened when None), as numpy.delete.

    >>> delete([1, 2, 3, 4], [0, 2])
    array([2, 4])
    """
    x = _a(arr)
    if axis is None:
        x, axis = S.ravel(x), 0
    axis = R.normalize_axis(axis, np.ndim(x))
    keep = np.delete(np.arange(np.shape(x)[axis]), _static(obj, "delete(obj)"))
    return M.take(x, keep, axis=axis)


def insert(arr, obj, values, axis=None):
    """arr with values inserted before the positions obj along axis (flattened when None),
    as numpy.insert (values are cast to arr's dtype).

    >>> insert([1, 2, 3], 1, [7, 8])
    array([1, 7, 8, 2, 3])
    """
    x, v = _a(arr), _a(values)
    obj = _static(obj, "insert(obj)")
    shape = np.shape(x)
    src = np.arange(1, int(np.prod(shape, dtype=np.int64)) + 1).reshape(shape)
    vid = np.arange(1, int(np.size(v)) + 1).reshape(np.shape(v))
    out_src = np.insert(src, obj, np.zeros(np.shape(v), np.int64), axis)
    out_val = np.insert(np.zeros(shape, np.int64), obj, vid, axis)
    dt = U._dtype(x)
    flat_x = S.ravel(x)
    flat_v = U.astype(S.ravel(v), dt, copy=False) if np.size(v) else np.zeros(1, dt)
    from_x = M.take(flat_x, np.maximum(out_src - 1, 0)) if np.size(x) else np.zeros(
        out_src.shape, dt)
    return U.where(out_src > 0, from_x, M.take(flat_v, np.maximum(out_val - 1, 0)))


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """Elementwise: whether each element is in test_elements, as numpy.isin (fixed shape:
    works under every transform; no derivative).

    >>> isin([1, 2, 3], [2, 5])
    array([False,  True, False])
    """
    e, t = _a(element), S.ravel(_a(test_elements))
    if np.shape(t)[0] == 0:
        hit = np.zeros(np.shape(e), bool)
    else:
        hit = R.any(U.equal(S.reshape(e, np.shape(e) + (1,)), t), axis=-1)
    return U.logical_not(hit) if invert else hit


def _set_input(x):
    return S.ravel(_a(x))


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """The sorted values in both arrays, as numpy.intersect1d (values gathered from ar1).

    >>> intersect1d([1, 3, 4, 3], [3, 1, 2, 1])
    array([1, 3])
    """
    a, b = _set_input(ar1), _set_input(ar2)
    av = _concrete(a, "intersect1d()", _HINT)
    bv = _concrete(b, "intersect1d()", _HINT)
    _, i1, i2 = np.intersect1d(av, bv, assume_unique, return_indices=True)
    vals = M.take(a, i1)
    if np.dtype(np.result_type(av, bv)) != U._dtype(a):
        vals = U.astype(vals, np.result_type(av, bv))
    return (vals, i1, i2) if return_indices else vals


def union1d(ar1, ar2):
    """The sorted values in either array, as numpy.union1d.

    >>> union1d([-1, 0, 1], [-2, 0, 2])
    array([-2, -1,  0,  1,  2])
    """
    from ._stats import unique
    return unique(S.concatenate([_set_input(ar1), _set_input(ar2)]))


def setdiff1d(ar1, ar2, assume_unique=False):
    """The values of ar1 not in ar2 (sorted and unique unless assume_unique), as
    numpy.setdiff1d.

    >>> setdiff1d([1, 2, 3, 2, 4], [3, 4, 5])
    array([1, 2])
    """
    from ._stats import unique
    a = _set_input(ar1)
    if not assume_unique:
        a = unique(a)
    keep = np.nonzero(_concrete(isin(a, ar2, invert=True), "setdiff1d()", _HINT))[0]
    return M.take(a, keep)


def setxor1d(ar1, ar2, assume_unique=False):
    """The sorted values in exactly one of the arrays, as numpy.setxor1d.

    >>> setxor1d([1, 2, 3, 2, 4], [2, 3, 5, 7, 5])
    array([1, 4, 5, 7])
    """
    from ._stats import unique
    a, b = _set_input(ar1), _set_input(ar2)
    if not assume_unique:
        a, b = unique(a), unique(b)
    aux = S.concatenate([a, b])
    if np.shape(aux)[0] == 0:
        return aux
    aux = M.sort(aux, kind="stable")
    v = _concrete(aux, "setxor1d()", _HINT)
    flag = np.concatenate(([True], v[1:] != v[:-1], [True]))
    return M.take(aux, np.nonzero(flag[1:] & flag[:-1])[0])


def lexsort(keys, axis=-1):
    """Indices sorting by several keys, the last one primary, as numpy.lexsort (fixed shape:
    works under every transform).

    >>> lexsort(([1, 2, 1], [0, 0, 1]))
    array([0, 1, 2])
    """
    if isinstance(keys, (list, tuple)):
        keys = [_a(k) for k in keys]
    else:
        k = _a(keys)
        keys = [I.getitem(k, i) for i in range(np.shape(k)[0])]
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    shape = np.broadcast_shapes(*[np.shape(k) for k in keys])
    keys = [S.broadcast_to(k, shape) for k in keys]
    if shape == ():
        return np.intp(0)
    axis = R.normalize_axis(axis, len(shape))
    idx = M.argsort(keys[0], axis=axis, kind="stable")
    for k in keys[1:]:
        step = M.argsort(M.take_along_axis(k, idx, axis), axis=axis, kind="stable")
        idx = M.take_along_axis(idx, step, axis)
    return idx


def compress(condition, a, axis=None, out=None):
    """The slices of a along axis (flattened when None) where condition is true, as
    numpy.compress.

    >>> compress([0, 1], [[1, 2], [3, 4]], axis=0)
    array([[3, 4]])
    """
    U._no_out(out, "compress")
    x = _a(a)
    cond = np.asarray(_concrete(_a(condition), "compress(condition)", _HINT))
    if cond.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    if axis is None:
        x, axis = S.ravel(x), 0
    axis = R.normalize_axis(axis, np.ndim(x))
    idx = np.nonzero(cond)[0]
    if idx.size and idx[-1] >= np.shape(x)[axis]:
        raise IndexError(f"index {idx[-1]} is out of bounds for axis {axis} with size "
                         f"{np.shape(x)[axis]}")
    return M.take(x, idx, axis=axis)


def extract(condition, arr):
    """The elements of arr where condition is nonzero (both flattened), as numpy.extract.

    >>> extract([True, False, True], [1, 2, 3])
    array([1, 3])
    """
    cond = np.ravel(_concrete(_a(condition), "extract(condition)", _HINT))
    return M.take(S.ravel(_a(arr)), np.nonzero(cond)[0])


def choose(a, choices, out=None, mode="raise"):
    """Elementwise choice: choices[a][...], all broadcast together, as numpy.choose
    (fixed shape: works under every transform; differentiable in the choices).

    >>> choose([0, 1, 0], [[1, 2, 3], [10, 20, 30]])
    array([ 1, 20,  3])
    """
    U._no_out(out, "choose")
    idx = _a(a)
    if isinstance(choices, (list, tuple)):
        choices = [_a(c) for c in choices]
    else:
        c = _a(choices)
        choices = [I.getitem(c, i) for i in range(np.shape(c)[0])]
    n = len(choices)
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got '{mode}')")
    if mode == "wrap":
        idx = U.remainder(idx, n)
    elif mode == "clip":
        idx = U.clip(idx, 0, n - 1)
    else:
        iv = _concrete_or_none(idx, "choose()")   # checked where known (not under jit)
        if iv is not None and iv.size and (iv.min() < 0 or iv.max() >= n):
            raise ValueError("invalid entry in choice array")
    dt = np.result_type(*[U._dtype(c) for c in choices])
    shape = np.broadcast_shapes(np.shape(idx), *[np.shape(c) for c in choices])
    out = S.broadcast_to(U.astype(choices[-1], dt, copy=False), shape)
    for i in range(n - 2, -1, -1):
        out = U.where(U.equal(idx, i), U.astype(choices[i], dt, copy=False), out)
    return out


def resize(a, new_shape):
    """A new array of new_shape filled with the flattened a repeated, as numpy.resize.

    >>> resize([1, 2, 3], (2, 2))
    array([[1, 2],
           [3, 1]])
    """
    x = _a(a)
    new_shape = (new_shape,) if isinstance(new_shape, (int, np.integer)) else tuple(new_shape)
    for d in new_shape:
        if d < 0:
            raise ValueError("all elements of `new_shape` must be non-negative")
    n = int(np.prod(new_shape, dtype=np.int64))
    if np.size(x) == 0 or n == 0:
        return np.zeros(new_shape, U._dtype(x))
    return S.reshape(M.take(S.ravel(x), np.arange(n) % np.size(x)), new_shape)


def trim_zeros(filt, trim="fb", axis=None):
    """filt without its leading ('f') and/or trailing ('b') zeros, as numpy.trim_zeros (on
    every axis, or the given ones, for n-d input; a slice of filt, so differentiable).

    >>> trim_zeros([0, 0, 1, 2, 0])
    array([1, 2])
    """
    x = _a(filt)
    v = _concrete(x, "trim_zeros()", _HINT)
    proxy = np.ascontiguousarray((v != 0).astype(np.int64))
    res = np.trim_zeros(proxy, trim, axis)   # a basic slice of proxy: read its offset
    if not isinstance(x, Tracer):
        return np.trim_zeros(filt, trim, axis)
    if res.size:
        off = (res.__array_interface__["data"][0] - proxy.__array_interface__["data"][0])
        start = np.unravel_index(off // proxy.itemsize, proxy.shape)
    else:
        start = (0,) * proxy.ndim
    key = tuple(slice(int(b), int(b) + n) for b, n in zip(start, res.shape))
    return I.getitem(x, key)


def sort_complex(a):
    """a sorted (real part first, then imaginary) as a complex array, as numpy.sort_complex.

    >>> sort_complex([3, 1, 2])
    array([1.+0.j, 2.+0.j, 3.+0.j])
    """
    x = M.sort(_a(a), axis=-1)
    dt = U._dtype(x)
    if dt.kind != "c":
        dt = np.dtype("F") if dt.char in "bhBH" else np.dtype("G") if dt.char == "g" else \
            np.dtype("D")
        x = U.astype(x, dt)
    return x


def _unique_parts(x, how):
    flat = S.ravel(_a(x))
    xv = _concrete(flat, how, _HINT)
    return flat, xv, np.unique_all(xv)


def unique_all(x):
    """Sorted unique values with first indices, inverse indices and counts, as
    numpy.unique_all (NaNs kept apart; values gathered, so differentiable).

    >>> unique_all([3, 1, 1]).counts
    array([2, 1])
    """
    shape = np.shape(x)
    flat, xv, res = _unique_parts(x, "unique_all()")
    return type(res)(M.take(flat, res.indices), res.indices,
                     res.inverse_indices.reshape(shape), res.counts)


def unique_counts(x):
    """Sorted unique values and their counts, as numpy.unique_counts.

    >>> unique_counts([3, 1, 1]).values
    array([1, 3])
    """
    flat, xv, res = _unique_parts(x, "unique_counts()")
    return type(np.unique_counts(xv[:0]))(M.take(flat, res.indices), res.counts)


def unique_inverse(x):
    """Sorted unique values and the indices rebuilding x, as numpy.unique_inverse.

    >>> unique_inverse([3, 1, 1]).inverse_indices
    array([1, 0, 0])
    """
    shape = np.shape(x)
    flat, xv, res = _unique_parts(x, "unique_inverse()")
    return type(np.unique_inverse(xv[:0]))(M.take(flat, res.indices),
                                            res.inverse_indices.reshape(shape))


def unique_values(x):
    """The unique values, in NumPy's order for the dtype, as numpy.unique_values.

    >>> np.sort(unique_values([3, 1, 1]))
    array([1, 3])
    """
    flat, xv, res = _unique_parts(x, "unique_values()")
    want = np.unique_values(xv)
    if np.array_equal(want, res.values, equal_nan=True):
        return M.take(flat, res.indices)
    return M.take(flat, res.indices[np.searchsorted(res.values, want)])


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """Phase unwrapping: jumps between neighbours larger than max(discont, period/2) are
    removed by adding multiples of period, as numpy.unwrap (derivative 1 in p).

    >>> unwrap([0.0, 6.0, 12.0], period=6.0).tolist()
    [0.0, 0.0, 0.0]
    """
    x = _a(U._arr(p))
    nd = np.ndim(x)
    axis = R.normalize_axis(axis, nd)
    dd = _diff(x, axis)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(U._dtype(dd), period)
    if issubclass(np.dtype(dtype).type, np.integer):
        interval_high, rem = divmod(period, 2)
        boundary_ambiguous = rem == 0
    else:
        interval_high = period / 2
        boundary_ambiguous = True
    interval_low = -interval_high
    ddmod = U.add(U.remainder(U.subtract(dd, interval_low), period), interval_low)
    if boundary_ambiguous:
        ddmod = U.where(U.logical_and(U.equal(ddmod, interval_low), U.greater(dd, 0)),
                        np.asarray(interval_high).astype(U._dtype(ddmod)), ddmod)
    ph_correct = U.subtract(ddmod, dd)
    ph_correct = U.where(U.less(U.absolute(dd), discont), np.zeros((), U._dtype(ph_correct)),
                         ph_correct)
    x = U.astype(x, dtype, copy=False)
    head = I.getitem(x, M._at_axis(slice(0, 1), axis))
    rest = U.add(I.getitem(x, M._at_axis(slice(1, None), axis)),
                 R.cumsum(ph_correct, axis=axis))
    return S.concatenate([head, U.astype(rest, dtype, copy=False)], axis=axis)


def _diff(x, axis):
    return U.subtract(I.getitem(x, M._at_axis(slice(1, None), axis)),
                      I.getitem(x, M._at_axis(slice(None, -1), axis)))


def spacing(x, /, out=None):
    """The distance from x to the next representable number away from zero, as
    numpy.spacing (no derivative).

    >>> float(spacing(1.0))
    2.220446049250313e-16
    """
    from ..transforms.custom import stop_gradient
    U._no_out(out, "spacing")
    x = _a(U._arr(x))
    dt = np.spacing(np.zeros((), U._dtype(x))).dtype
    x = stop_gradient(U.astype(x, dt, copy=False))
    finite = U.isfinite(x)
    x = U.where(finite, x, np.zeros((), dt))
    # NumPy's float16 spacing steps towards +inf for negative x too (so it is positive)
    away = np.asarray(np.inf, dt) if dt == np.float16 else U.where(
        U.logical_and(U.signbit(x), U.not_equal(x, 0)), np.asarray(-np.inf, dt),
        np.asarray(np.inf, dt))
    return U.where(finite, U.subtract(U.nextafter(x, away), x), np.asarray(np.nan, dt))


def _poly(p):
    p = _a(U._arr(p))
    return S.reshape(p, (1,)) if np.ndim(p) == 0 else p


def _polycombine(a1, a2, op):
    a1, a2 = _poly(a1), _poly(a2)
    n1, n2 = np.shape(a1)[0], np.shape(a2)[0]
    if n2 > n1:
        a1 = S.concatenate([np.zeros(n2 - n1, U._dtype(a1)), a1])
    elif n1 > n2:
        a2 = S.concatenate([np.zeros(n1 - n2, U._dtype(a2)), a2])
    return op(a1, a2)


def polyadd(a1, a2):
    """The sum of two polynomials (coefficients, highest power first), as numpy.polyadd.

    >>> polyadd([1, 2], [9, 5, 4])
    array([9, 6, 6])
    """
    return _polycombine(a1, a2, U.add)


def polysub(a1, a2):
    """The difference of two polynomials (coefficients, highest power first), as
    numpy.polysub.

    >>> polysub([2, 10, -2], [3, 10, -4])
    array([-1,  0,  2])
    """
    return _polycombine(a1, a2, U.subtract)


def polyder(p, m=1):
    """The m-th derivative of a polynomial (coefficients, highest power first), as
    numpy.polyder.

    >>> polyder([1, 1, 1, 1])
    array([3, 2, 1])
    """
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _a(U._arr(p))
    for _ in range(m):
        n = np.shape(p)[0] - 1
        p = U.multiply(I.getitem(p, slice(None, -1)), np.arange(n, 0, -1))
    return p


def polyint(p, m=1, k=None):
    """The m-th antiderivative of a polynomial, integration constants k (default 0), as
    numpy.polyint.

    >>> polyint([3, 2, 1])
    array([1., 1., 1., 0.])
    """
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    if m == 0:
        return _a(U._arr(p))
    k = np.zeros(m, float) if k is None else k
    k = _a(U._arr(k))
    if np.ndim(k) == 0:
        k = S.reshape(k, (1,))
    if np.shape(k)[0] == 1 and m > 1:
        k = U.multiply(I.getitem(k, 0), np.ones(m, float))
    if np.shape(k)[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _a(U._arr(p))
    for i in range(m):
        p = S.concatenate([U.divide(p, np.arange(np.shape(p)[0], 0, -1)),
                           S.reshape(I.getitem(k, i), (1,))])
    return p


def apply_over_axes(func, a, axes):
    """func(a, axis) applied over each of axes in turn, keeping dimensions, as
    numpy.apply_over_axes.

    >>> apply_over_axes(np.sum, np.ones((2, 3)), [0, 1])
    array([[6.]])
    """
    val = _a(a)
    N = np.ndim(val)
    if np.ndim(axes) == 0:
        axes = (axes,)
    for axis in axes:
        if axis < 0:
            axis = N + axis
        res = func(val, axis)
        if np.ndim(res) == np.ndim(val):
            val = res
        else:
            res = S.expand_dims(res, axis)
            if np.ndim(res) == np.ndim(val):
                val = res
            else:
                raise ValueError("function is not returning an array of the correct shape")
    return val


def _trim_leading(p, how):
    v = _concrete(p, how, "polymul trims leading zero coefficients (as numpy.poly1d does), "
                  "so the result's length depends on the values.")
    nz = np.flatnonzero(v)
    start = int(nz[0]) if nz.size else np.shape(p)[0] - 1
    return I.getitem(p, slice(start, None))


def polymul(a1, a2):
    """The product of two polynomials (coefficients, highest power first; leading zeros
    dropped first, as NumPy does), as numpy.polymul.

    >>> polymul([1, 2], [1, 1])
    array([1, 3, 2])
    """
    from ._stats import convolve
    a1, a2 = _poly(a1), _poly(a2)
    if np.shape(a1)[0] == 0 or np.shape(a2)[0] == 0:
        return np.polymul(np.zeros(np.shape(a1), U._dtype(a1)),
                          np.zeros(np.shape(a2), U._dtype(a2)))
    return convolve(_trim_leading(a1, "polymul()"), _trim_leading(a2, "polymul()"))


def _concrete_or_none(c, how="piecewise()"):
    """The value of c when it is known (eager, grad, jvp), else None (jit, vmap)."""
    if not isinstance(c, Tracer):
        return np.asarray(c)
    try:
        return np.asarray(c._trace.concrete(c, how))
    except ConcretizationError:
        return None


def piecewise(x, condlist, funclist, *args, **kw):
    """x's shape filled piece by piece: where condlist[i], funclist[i] (a value, or a
    function of the selected elements), as numpy.piecewise (an extra function is the
    "otherwise" piece). With concrete conditions each function sees only its elements, as in
    NumPy; under jit/vmap it is applied to all of x and selected (so it must be elementwise).

    >>> piecewise(np.array([-1.0, 2.0]), [np.array([-1.0, 2.0]) < 0], [lambda v: -v, 5.0])
    array([1., 5.])
    """
    x = _a(x)
    n2 = len(funclist)
    if np.isscalar(condlist) or isinstance(condlist, Tracer) and np.ndim(condlist) == 0 or (
            not isinstance(condlist[0], (list, np.ndarray, Tracer)) and np.ndim(x) != 0):
        condlist = [condlist]
    conds = [U.astype(_a(c), bool, copy=False) for c in condlist]
    if len(conds) == n2 - 1:
        conds.append(U.logical_not(R.any(S.stack([S.broadcast_to(c, np.shape(x))
                                                   for c in conds]), axis=0)))
    elif len(conds) != n2:
        raise ValueError(f"with {len(conds)} condition(s), either {len(conds)} or "
                         f"{len(conds) + 1} functions are expected")
    dt = U._dtype(x)
    y = S.broadcast_to(np.zeros((), dt), np.shape(x))
    for cond, func in zip(conds, funclist):
        cond = S.broadcast_to(cond, np.shape(x))
        cv = _concrete_or_none(cond)
        if cv is not None and np.ndim(x) == 0:
            if bool(cv):
                vals = func(S.reshape(x, (1,)), *args, **kw) if callable(func) else func
                y = S.reshape(U.astype(_a(vals), dt), ())
        elif cv is not None:
            idx = np.nonzero(cv)
            if not callable(func):
                y = I.scatter(y, idx, U.astype(_a(func), dt), "set")
            elif idx[0].size > 0:
                vals = func(I.getitem(x, idx), *args, **kw)
                y = I.scatter(y, idx, U.astype(_a(vals), dt), "set")
        else:
            vals = func(x, *args, **kw) if callable(func) else func
            y = U.where(cond, U.astype(_a(vals), dt), y)
    return y
