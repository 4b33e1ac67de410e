"""Array manipulation of chainrule.numpy: stacking and splitting, tiling and repeating, flips,
rolls and rotations, padding, diagonals and triangles, take/sort/select, index conversions.

Contract: every function follows NumPy 2 (result shapes, dtypes, error types) and is composed
from primitives and other chainrule.numpy functions, so it is differentiable, batchable and
stageable. Arguments that decide a result's shape (sections, repeats, shifts, pad widths, sort
axes) must be concrete: under grad/jvp traced ones are read through, under jit/vmap they raise.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from ..core import Tracer, bind
from .. import prims as P
from ._creation import array
from ._indexing import getitem, scatter
from ._reductions import normalize_axis, normalize_axes, sum as _sum, max as _max, \
    min as _min, mean as _mean
from ._shape import shape, ndim, reshape, ravel, transpose, swapaxes, broadcast_to, \
    concatenate
from ._ufuncs import _arr, _dtype, _no_out, astype, where, remainder, clip, multiply, \
    subtract, add, floor, round as _round

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack",
    "column_stack", "block", "split", "array_split", "hsplit", "vsplit", "dsplit", "tile",
    "repeat", "flip", "fliplr", "flipud", "rot90", "roll", "pad", "diag", "diagflat",
    "diagonal", "trace", "tril", "triu", "take", "take_along_axis", "sort", "argsort",
    "select", "append", "unravel_index", "ravel_multi_index",
]

_ALL = slice(None)


def _a(x):
    """An array or tracer from an array-like (lists of tracers are stacked)."""
    if isinstance(x, Tracer):
        return x
    if type(x) in (list, tuple):
        return _arr(x)
    return np.asarray(x)


def _concrete(v, how):
    """The concrete value of a (possibly traced, possibly nested-list) static argument."""
    if isinstance(v, Tracer):
        return np.asarray(v._trace.concrete(v, how))
    if type(v) in (list, tuple):
        return type(v)(_concrete(e, how) for e in v)
    return v


def _at_axis(sl, axis):
    """An index tuple applying `sl` (slice or index array) at `axis`."""
    return (_ALL,) * axis + (sl,)


def _take_axis(x, idx, axis):
    return getitem(x, _at_axis(idx, axis))


# --- dimension helpers -------------------------------------------------------------------------


def _atleast(arys, n, place):
    out = []
    for a in arys:
        a = _a(a)
        s = shape(a)
        if len(s) < n:
            a = reshape(a, place(s))
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    """View inputs as arrays with at least one dimension.

    Args:
      *arys: array-likes.
    Returns:
      One array, or a tuple of arrays when given several.

    >>> atleast_1d(3.0)
    array([3.])
    """
    return _atleast(arys, 1, lambda s: (1,))


def atleast_2d(*arys):
    """View inputs as arrays with at least two dimensions ((N,) becomes (1, N)).

    Args:
      *arys: array-likes.
    Returns:
      One array, or a tuple of arrays when given several.

    >>> atleast_2d([1, 2]).shape
    (1, 2)
    """
    return _atleast(arys, 2, lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(*arys):
    """View inputs as arrays with at least three dimensions.

    (N,) becomes (1, N, 1) and (M, N) becomes (M, N, 1), as in NumPy.

    Args:
      *arys: array-likes.
    Returns:
      One array, or a tuple of arrays when given several.

    >>> atleast_3d([1, 2]).shape
    (1, 2, 1)
    """
    def place(s):
        return (1, 1, 1) if not s else (1,) + s + (1,) if len(s) == 1 else s + (1,)
    return _atleast(arys, 3, place)


# --- stacking -----------------------------------------------------------------------------------


def _seq(tup):
    if not hasattr(tup, "__getitem__"):
        raise TypeError('arrays to stack must be passed as a "sequence" type such as list or '
                        'tuple.')
    return list(tup)


def _cast_all(arrays, dtype, casting):
    if dtype is None:
        return arrays
    dtype = np.dtype(dtype)
    for a in arrays:
        if not np.can_cast(_dtype(a), dtype, casting=casting):
            raise TypeError(f"Cannot cast array data from {_dtype(a)!r} to {dtype!r} according "
                            f"to the rule {casting!r}")
    return [astype(a, dtype) for a in arrays]


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays horizontally (along axis 1; axis 0 for 1-D arrays).

    Args:
      tup: a sequence of array-likes.
      dtype: the result dtype (inputs are cast under `casting`).
      casting: NumPy casting rule for `dtype`.
    Returns:
      The stacked array.

    >>> hstack([[1, 2], [3]])
    array([1, 2, 3])
    """
    arrs = [atleast_1d(a) for a in _seq(tup)]
    arrs = _cast_all(arrs, dtype, casting)
    if arrs and ndim(arrs[0]) == 1:
        return concatenate(arrs, axis=0)
    return concatenate(arrs, axis=1)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays vertically (along axis 0, after making them at least 2-D).

    Args:
      tup: a sequence of array-likes.
      dtype: the result dtype (inputs are cast under `casting`).
      casting: NumPy casting rule for `dtype`.
    Returns:
      The stacked array.

    >>> vstack([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    arrs = _cast_all([atleast_2d(a) for a in _seq(tup)], dtype, casting)
    return concatenate(arrs, axis=0)


row_stack = vstack


def dstack(tup):
    """Stack arrays depth-wise (along axis 2, after making them at least 3-D).

    Args:
      tup: a sequence of array-likes.
    Returns:
      The stacked array.

    >>> dstack([[1, 2], [3, 4]]).shape
    (1, 2, 2)
    """
    return concatenate([atleast_3d(a) for a in _seq(tup)], axis=2)


def column_stack(tup):
    """Stack 1-D arrays as columns of a 2-D array (2-D arrays are stacked as they are).

    Args:
      tup: a sequence of array-likes.
    Returns:
      The 2-D (or higher) stacked array.

    >>> column_stack([[1, 2], [3, 4]])
    array([[1, 3],
           [2, 4]])
    """
    arrs = []
    for a in _seq(tup):
        a = _a(a)
        s = shape(a)
        if len(s) < 2:
            a = reshape(a, (-1, 1))
        arrs.append(a)
    return concatenate(arrs, axis=1)


def block(arrays):
    """Assemble an array from nested lists of blocks, as numpy.block.

    Args:
      arrays: nested lists (not tuples) of array-likes; the innermost lists are joined along
        the last axis, the next level along the second-to-last, and so on.
    Returns:
      The assembled array.

    >>> block([[1, 2], [3, 4]])
    array([[1, 2],
           [3, 4]])
    """
    def depth(x, where):
        if type(x) is tuple:
            raise TypeError(f"{where} is a tuple. Only lists can be used to arrange blocks, "
                            "and np.block does not allow implicit conversion from tuple to "
                            "ndarray.")
        if type(x) is list:
            if not x:
                raise ValueError(f"List at {where} cannot be empty")
            ds = [depth(e, f"{where}[{i}]") for i, e in enumerate(x)]
            if any(d[0] != ds[0][0] for d in ds):
                raise ValueError("List depths are mismatched.")
            return ds[0][0] + 1, builtins.max(d[1] for d in ds)
        return 0, ndim(x)

    list_ndim, arr_ndim = depth(arrays, "arrays")
    nd = builtins.max(list_ndim, arr_ndim)

    def build(x, d):
        if d == list_ndim:
            x = _a(x)
            s = shape(x)
            return reshape(x, (1,) * (nd - len(s)) + s) if len(s) < nd else x
        return concatenate([build(e, d + 1) for e in x], axis=-(list_ndim - d))

    return build(arrays, 0)


# --- splitting ------------------------------------------------------------------------------------


def array_split(ary, indices_or_sections, axis=0):
    """Split an array into sub-arrays; sections need not divide the axis equally.

    Args:
      ary: the array.
      indices_or_sections: a number of sections (the first `n % sections` get one extra
        element) or a sorted sequence of split points.
      axis: the axis to split along.
    Returns:
      A list of arrays.

    >>> [a.tolist() for a in array_split([1, 2, 3], 2)]
    [[1, 2], [3]]
    """
    x = _a(ary)
    n_total = shape(x)[axis]  # an out-of-range axis raises IndexError, as in NumPy
    axis = axis % ndim(x)
    ios = _concrete(indices_or_sections, "array_split() sections")
    try:
        div_points = [0] + [operator.index(i) for i in ios] + [n_total]
    except TypeError:
        sections = int(ios)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.") from None
        each, extras = divmod(n_total, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        div_points = np.cumsum(sizes).tolist()
    return [getitem(x, _at_axis(slice(st, end), axis))
            for st, end in zip(div_points[:-1], div_points[1:])]


def split(ary, indices_or_sections, axis=0):
    """Split an array into equal sections (or at the given points).

    Args:
      ary: the array.
      indices_or_sections: a number of equal sections (must divide the axis) or a sorted
        sequence of split points.
      axis: the axis to split along.
    Returns:
      A list of arrays.

    >>> [a.tolist() for a in split([1, 2, 3, 4], 2)]
    [[1, 2], [3, 4]]
    """
    ios = _concrete(indices_or_sections, "split() sections")
    try:
        len(ios)
    except TypeError:
        n = shape(_a(ary))[axis]
        if int(ios) and n % int(ios):
            raise ValueError("array split does not result in an equal division") from None
    return array_split(ary, ios, axis)


def _split_n(name, min_nd, axis_fn):
    def f(ary, indices_or_sections):
        x = _a(ary)
        if ndim(x) < min_nd:
            plural = "dimension" if min_nd == 1 else "dimensions"
            raise ValueError(f"{name} only works on arrays of {min_nd} or more {plural}")
        return split(x, indices_or_sections, axis_fn(ndim(x)))
    f.__name__ = f.__qualname__ = name
    return f


hsplit = _split_n("hsplit", 1, lambda nd: 1 if nd > 1 else 0)
hsplit.__doc__ = """Split horizontally (along axis 1; axis 0 for 1-D arrays), as numpy.hsplit.

    >>> [a.shape for a in hsplit(np.ones((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
vsplit = _split_n("vsplit", 2, lambda nd: 0)
vsplit.__doc__ = """Split vertically (along axis 0) an array of at least 2 dimensions."""
dsplit = _split_n("dsplit", 3, lambda nd: 2)
dsplit.__doc__ = """Split depth-wise (along axis 2) an array of at least 3 dimensions."""


# --- tiling and repeating ----------------------------------------------------------------------


def tile(A, reps):
    """Repeat a whole array `reps` times along each axis.

    Args:
      A: the array.
      reps: an int or a sequence of ints (prepended with 1s, or A given leading unit axes,
        so that both have the same length).
    Returns:
      The tiled array.

    >>> tile([1, 2], 2)
    array([1, 2, 1, 2])
    """
    reps = _concrete(reps, "tile() reps")
    try:
        tup = tuple(reps)
    except TypeError:
        tup = (reps,)
    tup = tuple(operator.index(r) for r in tup)
    c = array(A, ndmin=len(tup))
    s = shape(c)
    tup = (1,) * (len(s) - len(tup)) + tup
    if builtins.any(r < 0 for r in tup):
        raise ValueError("negative dimensions are not allowed")
    if builtins.all(r == 1 for r in tup):
        return c
    mid, big = [], []
    for r, d in zip(tup, s):
        mid += [1, d] if r != 1 else [d]
        big += [r, d] if r != 1 else [d]
    c = broadcast_to(reshape(c, tuple(mid)), tuple(big))
    return reshape(c, tuple(r * d for r, d in zip(tup, s)))


def repeat(a, repeats, axis=None):
    """Repeat each element (along an axis; of the flattened array when axis is None).

    Args:
      a: the array.
      repeats: an int, or one int per element along the axis.
      axis: the axis, or None to flatten first.
    Returns:
      The array with repeated elements.

    >>> repeat([1, 2], [2, 1])
    array([1, 1, 2])
    """
    x = _a(a)
    if axis is None or ndim(x) == 0:
        x = ravel(x)
    axis = normalize_axis(0 if axis is None else axis, ndim(x))
    s = shape(x)
    n = s[axis]
    repeats = _concrete(repeats, "repeat() counts")
    idx = np.repeat(np.arange(n), repeats)  # validates counts like NumPy (negative, mismatched)
    r = np.asarray(repeats)
    if r.size == 1:
        k = int(r.reshape(()))
        if k == 1:
            return x if isinstance(x, Tracer) else np.array(x)
        x = reshape(x, s[:axis + 1] + (1,) + s[axis + 1:])
        x = broadcast_to(x, s[:axis + 1] + (k,) + s[axis + 1:])
        return reshape(x, s[:axis] + (n * k,) + s[axis + 1:])
    return _take_axis(x, idx, axis)


# --- flips, rotations, rolls ----------------------------------------------------------------------


def flip(m, axis=None):
    """Reverse the order of elements along the given axes (all axes when None).

    Args:
      m: the array.
      axis: None, an int or a tuple of ints.
    Returns:
      The flipped array.

    >>> flip([1, 2, 3])
    array([3, 2, 1])
    """
    x = _a(m)
    nd = ndim(x)
    axes = normalize_axes(axis, nd, "axis") if axis is not None else tuple(range(nd))
    if not axes:
        return x
    rev = slice(None, None, -1)
    return getitem(x, tuple(rev if i in axes else _ALL for i in range(builtins.max(axes) + 1)))


def fliplr(m):
    """Reverse the order of columns (axis 1) of an array of at least 2 dimensions."""
    x = _a(m)
    if ndim(x) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(x, 1)


def flipud(m):
    """Reverse the order of rows (axis 0) of an array of at least 1 dimension."""
    x = _a(m)
    if ndim(x) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(x, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees k times in the plane of `axes` (from the first towards the second).

    Args:
      m: an array of at least 2 dimensions.
      k: the number of quarter turns.
      axes: the two axes of the plane.
    Returns:
      The rotated array.

    >>> rot90([[1, 2], [3, 4]])
    array([[2, 4],
           [1, 3]])
    """
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    x = _a(m)
    nd = ndim(x)
    a0, a1 = axes
    if a0 == a1 or builtins.abs(a0 - a1) == nd:
        raise ValueError("Axes must be different.")
    if not (-nd <= a0 < nd and -nd <= a1 < nd):
        raise ValueError(f"Axes={axes} out of range for array of ndim={nd}.")
    k = operator.index(k) % 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(x, a1), perm)
    return flip(transpose(x, perm), a1)


def roll(a, shift, axis=None):
    """Roll elements along axes: elements shifted past the end come back at the start.

    Args:
      a: the array.
      shift: an int or a sequence of ints (broadcast against `axis`).
      axis: None (roll the flattened array), an int or a sequence of ints.
    Returns:
      The rolled array.

    >>> roll([1, 2, 3], 1)
    array([3, 1, 2])
    """
    x = _a(a)
    shift = _concrete(shift, "roll() shift")
    if axis is None:
        s = shape(x)
        return reshape(roll(ravel(x), shift, 0), s)
    nd = ndim(x)
    axes = [normalize_axis(ax, nd) for ax in np.atleast_1d(_concrete(axis, "roll() axis"))]
    if np.ndim(axis) == 0:
        axes = np.asarray(axes[0])
    b = np.broadcast(shift, axes)
    if b.ndim > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    shifts = dict.fromkeys(range(nd), 0)
    for sh, ax in b:
        shifts[int(ax)] += int(sh)
    s = shape(x)
    for ax, sh in shifts.items():
        n = s[ax]
        if n == 0 or sh % n == 0:
            continue
        cut = n - sh % n
        x = concatenate([getitem(x, _at_axis(slice(cut, None), ax)),
                         getitem(x, _at_axis(slice(None, cut), ax))], axis=ax)
    return x


# --- padding ----------------------------------------------------------------------------------------


def _as_pairs(x, nd, as_index=False):
    """Broadcast a pad argument to nd (before, after) pairs, with NumPy's special cases."""
    x = np.asarray(x)
    if as_index:
        x = np.round(x).astype(np.intp, copy=False)
    if x.ndim < 3 and x.size == 1:
        x = x.ravel()
        if as_index and x[0] < 0:
            raise ValueError("index can't contain negative values")
        return [(x[0], x[0])] * nd
    if x.ndim < 3 and x.size == 2 and x.shape != (2, 1):
        x = x.ravel()
        if as_index and (x[0] < 0 or x[1] < 0):
            raise ValueError("index can't contain negative values")
        return [(x[0], x[1])] * nd
    if as_index and x.size and x.min() < 0:
        raise ValueError("index can't contain negative values")
    return [tuple(p) for p in np.broadcast_to(x, (nd, 2))]


def _pad_widths(pad_width, nd):
    pad_width = _concrete(pad_width, "pad() widths")
    if isinstance(pad_width, dict):
        seq = [(0, 0)] * nd
        for ax, w in pad_width.items():
            if isinstance(w, (int, np.integer)):
                seq[ax] = (int(w), int(w))
            elif isinstance(w, tuple) and len(w) == 2:
                seq[ax] = (operator.index(w[0]), operator.index(w[1]))
            else:
                raise TypeError(f"invalid pad width for axis {ax}: {w!r}")
        pad_width = seq
    w = np.asarray(pad_width)
    if w.dtype.kind != "i":
        raise TypeError("`pad_width` must be of integral type.")
    return [(int(lo), int(hi)) for lo, hi in _as_pairs(w, nd, as_index=True)]


def _one_side(widths, axis, side):
    return tuple((lo, 0) if i == axis and side == 0 else (0, hi) if i == axis else (0, 0)
                 for i, (lo, hi) in enumerate(widths))


def _pad_constant(x, widths, values):
    nd = len(widths)
    if not nd:
        return x if isinstance(x, Tracer) else np.array(x)
    if type(values) in (list, tuple):
        values = _a(values)
    if isinstance(values, Tracer):
        v = values
        vs = shape(v)
        if v.size == 1:
            return bind(P.pad_p, x, reshape(v, ()), widths=tuple(widths))
        if len(vs) < 3 and v.size == 2 and vs != (2, 1):
            r = ravel(v)
            pairs = [(r[0], r[1])] * nd
        else:
            b = broadcast_to(v, (nd, 2))
            pairs = [(b[i, 0], b[i, 1]) for i in range(nd)]
    else:
        pairs = _as_pairs(values, nd)
        flat = {p for pair in pairs for p in pair}
        if len(flat) <= 1:
            v = pairs[0][0] if pairs else 0
            return bind(P.pad_p, x, v, widths=tuple(widths))
    # per-axis values: pad axis by axis, so later axes own the corners (as in NumPy)
    for ax, ((lo, hi), (vlo, vhi)) in enumerate(zip(widths, pairs)):
        if lo:
            x = bind(P.pad_p, x, vlo, widths=_one_side(widths, ax, 0))
        if hi:
            x = bind(P.pad_p, x, vhi, widths=_one_side(widths, ax, 1))
    return x


def _index_map(mode, n, lo, hi):
    """Source index along an axis of length n for each position of the padded axis."""
    j = np.arange(-lo, n + hi)
    if mode == "edge" or n == 1:
        return np.clip(j, 0, n - 1)
    if mode == "wrap":
        return j % n
    period = 2 * n - 2 if mode == "reflect" else 2 * n
    m = j % period
    return np.where(m >= n, period - m - (mode == "symmetric"), m)


def _pad_odd(x, axis, lo, hi, include_edge):
    """NumPy's iterative odd reflection: each chunk is 2 * edge - (mirrored chunk)."""
    n0 = shape(x)[axis]
    eo = int(include_edge)
    dt = _dtype(x)
    while lo > 0 or hi > 0:
        n = shape(x)[axis]
        if include_edge:
            old = n // n0 * n0
        else:
            old = (n - 1) // (n0 - 1) * (n0 - 1)
        parts = [x]
        if lo > 0:
            c = builtins.min(old, lo)
            chunk = _take_axis(x, np.arange(c - eo, -eo, -1), axis)
            edge = getitem(x, _at_axis(slice(0, 1), axis))
            parts.insert(0, astype(subtract(multiply(edge, 2), chunk), dt))
            lo -= c
        if hi > 0:
            c = builtins.min(old, hi)
            start = n - 2 + eo
            chunk = _take_axis(x, np.arange(start, start - c, -1), axis)
            edge = getitem(x, _at_axis(slice(n - 1, n), axis))
            parts.append(astype(subtract(multiply(edge, 2), chunk), dt))
            hi -= c
        x = concatenate(parts, axis=axis)
    return x


def _ramp(edge, end, num, axis, dt, reverse):
    frac = np.arange(num, dtype=np.float64)
    shp = [1] * ndim(edge)
    shp[axis] = num
    frac = frac.reshape(shp)
    if _dtype(edge).kind in "fc":
        frac = frac.astype(_dtype(edge))
    # NumPy's linspace(end, edge, num, endpoint=False): end + arange(num) * ((edge - end) / num)
    r = add(multiply(frac, subtract(edge, end) / num), end)
    if np.dtype(dt).kind in "iub":
        r = floor(r)
    r = astype(r, dt)
    return flip(r, axis) if reverse else r


_STATS = {"maximum": _max, "minimum": _min, "mean": _mean}


def _pad_stat(x, axis, lo, hi, stat, lengths):
    n = shape(x)[axis]
    dt = _dtype(x)
    left_len, right_len = lengths
    left_len = n if left_len is None or left_len > n else int(left_len)
    right_len = n if right_len is None or right_len > n else int(right_len)
    if (left_len == 0 or right_len == 0) and stat in ("maximum", "minimum"):
        raise ValueError("stat_length of 0 yields no value for padding")
    f = _STATS[stat]

    def value(sl):
        v = f(getitem(x, _at_axis(sl, axis)), axis=axis, keepdims=True)
        if dt.kind in "iub":
            v = _round(v)
        return astype(v, dt)

    parts = [x]
    bshape = list(shape(x))
    if lo:
        bshape[axis] = lo
        parts.insert(0, broadcast_to(value(slice(0, left_len)), tuple(bshape)))
    if hi:
        bshape[axis] = hi
        parts.append(broadcast_to(value(slice(n - right_len, n)), tuple(bshape)))
    return concatenate(parts, axis=axis)


_PAD_KWARGS = {
    "empty": (), "edge": (), "wrap": (), "constant": ("constant_values",),
    "linear_ramp": ("end_values",), "maximum": ("stat_length",), "mean": ("stat_length",),
    "median": ("stat_length",), "minimum": ("stat_length",), "reflect": ("reflect_type",),
    "symmetric": ("reflect_type",),
}


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad an array, as numpy.pad.

    Args:
      array: the array.
      pad_width: widths in any of NumPy's forms: an int, (before, after),
        ((before, after),) or one pair per axis; or a dict {axis: int or (before, after)}.
      mode: 'constant' (with `constant_values`: a scalar or per-axis pairs, possibly traced),
        'edge', 'reflect', 'symmetric' (both with `reflect_type` 'even' or 'odd'), 'wrap',
        'linear_ramp' (with `end_values`), 'maximum', 'minimum', 'mean' (with `stat_length`)
        or 'empty' (zeros here). 'median' and callable modes are not supported.
      **kwargs: the keyword arguments of the mode.
    Returns:
      The padded array.

    >>> pad([1, 2, 3], (1, 2), mode="reflect")
    array([2, 1, 2, 3, 2, 1])
    """
    x = _a(array)
    nd = ndim(x)
    widths = _pad_widths(pad_width, nd)
    if callable(mode):
        raise NotImplementedError("pad() with a callable mode is not supported")
    if mode not in _PAD_KWARGS:
        raise ValueError(f"mode '{mode}' is not supported")
    bad = set(kwargs) - set(_PAD_KWARGS[mode])
    if bad:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {bad}")
    if mode == "constant":
        return _pad_constant(x, widths, kwargs.get("constant_values", 0))
    if mode == "empty":
        return _pad_constant(x, widths, 0)
    if mode == "median":
        raise NotImplementedError("pad(mode='median') is not supported")
    s = shape(x)
    if 0 in s:
        for ax, (lo, hi) in enumerate(widths):
            if s[ax] == 0 and (lo or hi):
                raise ValueError(f"can't extend empty axis {ax} using modes other than "
                                 "'constant' or 'empty'")
        return _pad_constant(x, widths, 0)
    if mode == "linear_ramp":
        ends = _as_pairs(kwargs.get("end_values", 0), nd)
    if mode in _STATS:
        sl = kwargs.get("stat_length")
        lengths = [(None, None)] * nd if sl is None else _as_pairs(sl, nd, as_index=True)
    odd = kwargs.get("reflect_type", "even") == "odd"
    for ax, (lo, hi) in enumerate(widths):
        if not (lo or hi):
            continue
        n = shape(x)[ax]
        if mode in ("reflect", "symmetric") and odd and n > 1:
            x = _pad_odd(x, ax, lo, hi, mode == "symmetric")
        elif mode in ("edge", "wrap", "reflect", "symmetric"):
            x = _take_axis(x, _index_map(mode, n, lo, hi), ax)
        elif mode == "linear_ramp":
            dt = _dtype(x)
            parts = [x]
            if lo:
                edge = getitem(x, _at_axis(slice(0, 1), ax))
                parts.insert(0, _ramp(edge, ends[ax][0], lo, ax, dt, False))
            if hi:
                edge = getitem(x, _at_axis(slice(n - 1, n), ax))
                parts.append(_ramp(edge, ends[ax][1], hi, ax, dt, True))
            x = concatenate(parts, axis=ax)
        else:
            x = _pad_stat(x, ax, lo, hi, mode, lengths[ax])
    return x


# --- diagonals and triangles --------------------------------------------------------------------


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal with the given offset of the 2-D sub-arrays in (axis1, axis2).

    The diagonal becomes the last axis of the result, as in NumPy.

    Args:
      a: an array of at least 2 dimensions.
      offset: the diagonal (> 0 above the main diagonal, < 0 below).
      axis1, axis2: the axes of the 2-D sub-arrays.
    Returns:
      The diagonals, shape `a.shape` without axis1 and axis2, plus the diagonal's length.

    >>> diagonal([[1, 2], [3, 4]])
    array([1, 4])
    """
    x = _a(a)
    nd = ndim(x)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    a1, a2 = normalize_axis(axis1, nd), normalize_axis(axis2, nd)
    if a1 == a2:
        raise ValueError("axis1 and axis2 cannot be the same")
    offset = operator.index(offset)
    s = shape(x)
    r0, c0 = builtins.max(-offset, 0), builtins.max(offset, 0)
    n = builtins.max(0, builtins.min(s[a1] - r0, s[a2] - c0))
    x = transpose(x, [i for i in range(nd) if i not in (a1, a2)] + [a1, a2])
    return getitem(x, (Ellipsis, np.arange(n) + r0, np.arange(n) + c0))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """The sum along a diagonal, as numpy.trace.

    Args:
      a: an array of at least 2 dimensions.
      offset, axis1, axis2: which diagonal (see `diagonal`).
      dtype: the accumulation and result dtype.
      out: not supported (must be None).
    Returns:
      The sums over the diagonals.

    >>> trace([[1, 2], [3, 4]])
    np.int64(5)
    """
    _no_out(out, "trace")
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k=0):
    """Extract a diagonal of a 2-D array, or build a 2-D array with a 1-D array on a diagonal.

    Args:
      v: a 1-D or 2-D array.
      k: the diagonal (> 0 above the main diagonal, < 0 below).
    Returns:
      A 1-D diagonal, or a square 2-D array of size len(v) + abs(k).

    >>> diag([1, 2])
    array([[1, 0],
           [0, 2]])
    """
    x = _a(v)
    s = shape(x)
    k = operator.index(k)
    if len(s) == 1:
        n = s[0]
        m = n + builtins.abs(k)
        rows = np.arange(n) + builtins.max(-k, 0)
        cols = np.arange(n) + builtins.max(k, 0)
        return scatter(np.zeros((m, m), _dtype(x)), (rows, cols), x, "set")
    if len(s) == 2:
        return diagonal(x, k)
    raise ValueError("Input must be 1- or 2-d.")


def diagflat(v, k=0):
    """A 2-D array with the flattened input on diagonal k.

    >>> diagflat([[1, 2]]).shape
    (2, 2)
    """
    return diag(ravel(_a(v)), k)


def _tri_mask(x, k):
    s = shape(x)
    return np.tri(*s[-2:], k=k, dtype=bool)


def tril(m, k=0):
    """Zero the elements above diagonal k of the last two axes.

    Args:
      m: an array (a stack of matrices when more than 2-D; 1-D input is broadcast).
      k: the diagonal above which to zero.
    Returns:
      The lower triangle(s).

    >>> tril([[1, 2], [3, 4]])
    array([[1, 0],
           [3, 4]])
    """
    x = _a(m)
    return where(_tri_mask(x, k), x, np.zeros(1, _dtype(x)))


def triu(m, k=0):
    """Zero the elements below diagonal k of the last two axes.

    Args:
      m: an array (a stack of matrices when more than 2-D; 1-D input is broadcast).
      k: the diagonal below which to zero.
    Returns:
      The upper triangle(s).

    >>> triu([[1, 2], [3, 4]])
    array([[1, 2],
           [0, 4]])
    """
    x = _a(m)
    return where(_tri_mask(x, k - 1), np.zeros(1, _dtype(x)), x)


# --- take, sort, select --------------------------------------------------------------------------


def _index_array(indices):
    idx = indices if isinstance(indices, Tracer) else _a(indices)
    dt = _dtype(idx)
    if dt.kind not in "iu":
        if isinstance(idx, Tracer) and dt.kind not in "b":
            raise IndexError(f"arrays used as indices must be of integer type, got {dt}")
        idx = astype(idx, np.intp)
    return idx


def take(a, indices, axis=None, out=None, mode=None):
    """Take elements along an axis (of the flattened array when axis is None).

    Args:
      a: the array.
      indices: integer indices (may be traced).
      axis: the axis, or None.
      out: not supported (must be None).
      mode: None or 'raise' (out-of-bounds indices raise IndexError), 'wrap' or 'clip'.
    Returns:
      `a` indexed by `indices` along the axis.

    >>> take([4, 5, 6], [2, 0])
    array([6, 4])
    """
    _no_out(out, "take")
    if mode not in (None, "raise", "wrap", "clip"):
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    x = _a(a)
    if axis is None:
        x = ravel(x)
        axis = 0
    axis = normalize_axis(axis, ndim(x))
    n = shape(x)[axis]
    idx = _index_array(indices)
    if mode in ("wrap", "clip"):
        if n == 0:
            if int(np.prod(shape(idx), dtype=np.int64)):
                raise IndexError("cannot do a non-empty take from an empty axes.")
        elif mode == "wrap":
            idx = remainder(idx, n)
        else:
            idx = clip(idx, 0, n - 1)
    return _take_axis(x, idx, axis)


def take_along_axis(arr, indices, axis=-1):
    """Take values at matching 1-D index positions along an axis, as numpy.take_along_axis.

    Args:
      arr: the array.
      indices: integer indices with the same number of dimensions as arr (broadcast against
        it on the other axes), e.g. from argsort.
      axis: the axis, or None to work on the flattened array (then indices must be 1-D).
    Returns:
      The selected values, of the broadcast shape.

    >>> take_along_axis([[3, 1], [2, 4]], argsort([[3, 1], [2, 4]]), axis=1)
    array([[1, 3],
           [2, 4]])
    """
    x = _a(arr)
    idx = indices if isinstance(indices, Tracer) else _a(indices)
    if _dtype(idx).kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if ndim(idx) != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        x = ravel(x)
        axis = 0
    nd = ndim(x)
    if ndim(idx) != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = normalize_axis(axis, nd)
    s = shape(x)
    key = []
    for i in range(nd):
        if i == axis:
            key.append(idx)
        else:
            key.append(np.arange(s[i]).reshape((1,) * i + (-1,) + (1,) * (nd - i - 1)))
    return getitem(x, tuple(key))


_SORT_KINDS = (None, "quicksort", "mergesort", "heapsort", "stable")


def _sort_args(a, axis, kind, order, stable):
    if stable is not None and kind is not None:
        raise ValueError("`kind` and keyword parameters can't be provided at the same time. "
                         "Use only one of them.")
    if kind not in _SORT_KINDS:
        raise ValueError(f"sort kind must be one of 'quick', 'heap', or 'stable' (got {kind!r})")
    if order is not None:
        raise ValueError("Cannot specify order when the array has no fields.")
    x = _a(a)
    if axis is None:
        return ravel(x), 0
    return x, normalize_axis(axis, ndim(x))


def argsort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """Indices that sort an array along an axis (a stable sort; `kind` is accepted and ignored).

    Args:
      a: the array.
      axis: the axis, or None to sort the flattened array.
      kind, stable: accepted for compatibility; the sort is always stable.
      order: not supported for arrays without fields.
      descending: sort in descending order (ties keep their original order), as in JAX.
    Returns:
      An integer array of indices.

    >>> argsort([3, 1, 2])
    array([1, 2, 0])
    """
    x = _a(a)
    if ndim(x) == 0 and axis is not None:
        axis = None
    x, ax = _sort_args(x, axis, kind, order, stable)
    return bind(P.argsort_p, x, axis=ax, descending=bool(descending))


def sort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """A sorted copy of an array (differentiable: the derivative follows the permutation).

    Args:
      a: the array.
      axis: the axis, or None to sort the flattened array.
      kind, stable: accepted for compatibility; the sort is always stable.
      order: not supported for arrays without fields.
      descending: sort in descending order, as in JAX.
    Returns:
      The sorted array.

    >>> sort([3, 1, 2])
    array([1, 2, 3])
    """
    x, ax = _sort_args(a, axis, kind, order, stable)
    idx = bind(P.argsort_p, x, axis=ax, descending=bool(descending))
    return take_along_axis(x, idx, ax)


def select(condlist, choicelist, default=0):
    """Choose, elementwise, from the first choice whose condition holds, as numpy.select.

    Args:
      condlist: a list of boolean arrays.
      choicelist: a list of arrays (same length), broadcast with the conditions.
      default: the value where no condition holds.
    Returns:
      The selected values.

    >>> select([np.array([True, False]), np.array([True, True])], [1, 2], default=0)
    array([1, 2])
    """
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")

    def prep(c):
        return c if type(c) in (int, float, complex) else _a(c)
    choices = [prep(c) for c in choicelist] + [prep(default)]
    try:
        dt = np.result_type(*[c if type(c) in (int, float, complex) else _dtype(c)
                              for c in choices])
    except TypeError as e:
        raise TypeError(f"Choicelist and default value do not have a common dtype: {e}") \
            from None
    conds = [_a(c) for c in condlist]
    out_shape = np.broadcast_shapes(*[shape(c) for c in conds],
                                    *[np.shape(c) if type(c) in (int, float, complex)
                                      else shape(c) for c in choices])
    for i, c in enumerate(conds):
        if _dtype(c) != np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = broadcast_to(astype(choices[-1], dt), out_shape)
    for c, ch in zip(conds[::-1], choices[-2::-1]):
        result = where(c, astype(ch, dt), result)
    return result


def append(arr, values, axis=None):
    """Append values to the end of an array (both flattened when axis is None).

    >>> append([1, 2], [[3], [4]])
    array([1, 2, 3, 4])
    """
    x = _a(arr)
    v = _a(values)
    if axis is None:
        return concatenate([ravel(x), ravel(v)], axis=0)
    return concatenate([x, v], axis=axis)


# --- index conversions ------------------------------------------------------------------------------


def unravel_index(indices, shape, order="C"):
    """Convert flat indices into a tuple of coordinate arrays, as numpy.unravel_index.

    Concrete indices go through NumPy (with its bounds checks); traced integer indices are
    converted arithmetically (no bounds check).

    >>> unravel_index(5, (2, 3))
    (np.int64(1), np.int64(2))
    """
    if not isinstance(indices, Tracer):
        return np.unravel_index(indices, shape, order=order)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    from ._ufuncs import floor_divide
    out = [None] * len(dims)
    rest = indices
    for i in (reversed(range(len(dims))) if order == "C" else range(len(dims))):
        out[i] = remainder(rest, dims[i])
        rest = floor_divide(rest, dims[i])
    return tuple(out)


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Convert a tuple of coordinate arrays into flat indices, as numpy.ravel_multi_index.

    Concrete coordinates go through NumPy; traced ones are combined arithmetically ('raise'
    does not check bounds then; 'wrap' and 'clip' apply per coordinate).

    >>> ravel_multi_index(([1], [2]), (2, 3))
    array([5])
    """
    if not any(isinstance(m, Tracer) for m in multi_index):
        return np.ravel_multi_index(multi_index, dims, mode=mode, order=order)
    dims = tuple(dims)
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    modes = (mode,) * len(dims) if isinstance(mode, str) else tuple(mode)
    strides = [1] * len(dims)
    order_ix = range(len(dims) - 2, -1, -1) if order == "C" else range(1, len(dims))
    for i in order_ix:
        strides[i] = strides[i + 1] * dims[i + 1] if order == "C" else \
            strides[i - 1] * dims[i - 1]
    total = 0
    for m, d, st, md in zip(multi_index, dims, strides, modes):
        if md == "wrap":
            m = remainder(m, d)
        elif md == "clip":
            m = clip(m, 0, d - 1)
        total = add(total, multiply(m, st))
    return total

