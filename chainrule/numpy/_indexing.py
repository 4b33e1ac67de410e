"""Indexing: NumPy's basic and advanced indexing on arrays and tracers, and index updates
(`x.at[idx].set/add/multiply/min/max/get`).

Normalization turns a user's index into a static encoding plus integer index arrays, which
become arguments of the `getitem`/`scatter` primitives (so they can be traced values).
Boolean masks need concrete values (they decide the result's shape): eagerly and under
grad/jvp they are converted to integer indices; under vmap/jit they raise a clear error.
Out-of-bounds integer indices raise IndexError, as in NumPy.
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, bind, ConcretizationError
from .. import prims as P
from ..prims.structural import encode_index


def _is_int_dtype(dt):
    return dt.kind in "iu"


def normalize_index(shape, key):
    """(encoded static index, index arrays) for x[key] with x of the given shape."""
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if isinstance(k, Tracer):
            if k.dtype == np.bool_:
                raise ConcretizationError(
                    k._trace.describe(), "Boolean-mask indexing",
                    "A boolean mask decides the shape of the result, which must be known "
                    "while tracing. Use chainrule.numpy.where(mask, x, 0) (or a sum over "
                    "where) instead; to update the masked entries (x[mask] += y), write "
                    "x = chainrule.numpy.where(mask, x + y, x); x[mask] = scalar works as it "
                    "is.")
            if not _is_int_dtype(k.dtype):
                raise IndexError("arrays used as indices must be of integer (or boolean) "
                                 f"type, got {k.dtype}")
            items.append(k)
        elif isinstance(k, (list, np.ndarray)) or (isinstance(k, np.generic)
                                                   and k.dtype == np.bool_):
            a = np.asarray(k)
            if a.dtype == np.bool_:
                items.append(("mask", a))
            elif _is_int_dtype(a.dtype):
                items.append(a)
            elif a.size == 0:
                items.append(a.astype(np.intp))
            else:
                raise IndexError("arrays used as indices must be of integer (or boolean) "
                                 f"type, got {a.dtype}")
        elif isinstance(k, bool):
            items.append(("mask", np.asarray(k)))
        elif isinstance(k, (int, np.integer)):
            items.append(int(k))
        elif isinstance(k, slice):
            items.append(slice(_static_int(k.start), _static_int(k.stop), _static_int(k.step)))
        elif k is None or k is Ellipsis:
            items.append(k)
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None "
                             f"(`numpy.newaxis`) and integer or boolean arrays are valid "
                             f"indices, got {type(k).__name__}")
    # expand boolean masks into integer index arrays, checking their shapes
    consumed = [(i[1].ndim if isinstance(i, tuple) else
                 0 if i is None or i is Ellipsis else 1) for i in items]
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    total = sum(consumed)
    if total > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {total} were indexed")
    out = []
    pos = 0
    for i, item in enumerate(items):
        if item is Ellipsis:
            pos = len(shape) - sum(consumed[i + 1:])
            out.append(item)
        elif isinstance(item, tuple):
            mask = item[1]
            want = tuple(shape[pos:pos + mask.ndim])
            if mask.ndim and mask.shape != want:
                raise IndexError(f"boolean index did not match indexed array along axis "
                                 f"{pos}; size of axis is {want} but size of corresponding "
                                 f"boolean axis is {mask.shape}")
            out.extend(np.nonzero(mask))   # 0-d masks were expanded by _scalar_bools
            pos += mask.ndim
        else:
            out.append(item)
            pos += consumed[i]
    return encode_index(out)


def _is_scalar_bool(k):
    return isinstance(k, (bool, np.bool_)) or (isinstance(k, np.ndarray) and k.ndim == 0
                                               and k.dtype == np.bool_)


def _scalar_bools(shape, key):
    """(shape, key) for an index with scalar booleans rewritten as NumPy reads them: each one
    is a new axis of length 1 (inserted into `shape`, the returned shape), indexed by the
    integer array [0] (True) or [] (False), an advanced index broadcast with the others.
    The shape is None when the key has no scalar boolean."""
    key = key if isinstance(key, tuple) else (key,)
    if not any(_is_scalar_bool(k) for k in key):
        return None, key
    consumed = []
    for k in key:
        if k is None or k is Ellipsis or _is_scalar_bool(k):
            consumed.append(0)
        elif isinstance(k, (list, np.ndarray, Tracer)):
            dt = k.dtype if isinstance(k, (np.ndarray, Tracer)) else np.asarray(k).dtype
            consumed.append(np.ndim(k) if dt == np.bool_ else 1)
        else:
            consumed.append(1)
    total = sum(consumed)
    if total > len(shape):
        return None, key   # normalize_index raises "too many indices"
    new_shape, new_key, pos = [], [], 0
    for k, c in zip(key, consumed):
        if k is Ellipsis:
            c = len(shape) - total
        if _is_scalar_bool(k):
            new_shape.append(1)
            new_key.append(np.zeros(1 if k else 0, np.intp))
            continue
        new_shape.extend(shape[pos:pos + c])
        new_key.append(k)
        pos += c
    new_shape.extend(shape[pos:])
    return tuple(new_shape), tuple(new_key)


def _static_int(v):
    if v is None or isinstance(v, int):
        return v
    if isinstance(v, Tracer):
        return int(v.__index__())
    return int(v)


def getitem(x, key):
    """x[key] with NumPy semantics, differentiable in x."""
    if type(x) in (list, tuple):
        x = np.asarray(x)
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    expanded, key = _scalar_bools(shape, key)
    if expanded is not None:
        x, shape = bind(P.reshape_p, x, shape=expanded), expanded
    enc, arrays = normalize_index(shape, key)
    out = bind(P.getitem_p, x, *arrays, idx=enc)
    if not arrays and isinstance(out, Tracer) and isinstance(x, Tracer):
        out._base = x  # basic indexing makes a view in NumPy
    return out


def scatter(x, key, y, mode):
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    expanded, key = _scalar_bools(shape, key)
    if expanded is not None:
        out = scatter(bind(P.reshape_p, x, shape=expanded), key, y, mode)
        return bind(P.reshape_p, out, shape=tuple(shape))
    enc, arrays = normalize_index(shape, key)
    if not isinstance(y, Tracer):
        y = np.asarray(y)
    return bind(P.scatter_p, x, y, *arrays, idx=enc, mode=mode)


class _IndexUpdateRef:
    """`x.at[idx]`: functional index updates returning a new array."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x, self.idx = x, idx

    def get(self):
        """x[idx]."""
        return getitem(self.x, self.idx)

    def set(self, values):
        """A copy of x with x[idx] = values."""
        return scatter(self.x, self.idx, values, "set")

    def add(self, values):
        """A copy of x with values added at idx (repeated indices accumulate)."""
        return scatter(self.x, self.idx, values, "add")

    def multiply(self, values):
        """A copy of x with x[idx] multiplied by values."""
        return scatter(self.x, self.idx, values, "multiply")

    mul = multiply

    def divide(self, values):
        """A copy of x with x[idx] divided by values."""
        from ._ufuncs import divide
        return scatter(self.x, self.idx, divide(1.0, values), "multiply")

    def min(self, values):
        """A copy of x with x[idx] = minimum(x[idx], values)."""
        return scatter(self.x, self.idx, values, "min")

    def max(self, values):
        """A copy of x with x[idx] = maximum(x[idx], values)."""
        return scatter(self.x, self.idx, values, "max")


class _IndexUpdateHelper:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.x, idx)


def at(x):
    """`at(x)[idx].set(v)`: index updates for plain arrays too (tracers also have `x.at`)."""
    return _IndexUpdateHelper(x)


def nonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of `a`, one index array per dimension (numpy.nonzero).

    The output shape depends on the values, so without `size` this needs concrete values
    (eager code, grad, jvp) and raises a clear error under jit and vmap. With a static `size`
    (as in JAX) the result has exactly `size` entries per dimension, in order, padded with
    `fill_value` (default 0) or truncated, and works under every transform.

    Args:
      a: an array (nonzero = not equal to 0 / True).
      size: the number of indices to return (static int), or None.
      fill_value: the index used for padding when fewer than `size` elements are nonzero
        (an int, or a tuple with one per dimension).
    Returns:
      A tuple of integer arrays, one per dimension of `a`.

    >>> nonzero(np.array([0., 3., 0., 4.]), size=3)   # (array([1, 3, 0]),)
    """
    if size is None:
        if fill_value is not None:
            raise ValueError("nonzero: fill_value needs size= (the number of indices to return)")
        if isinstance(a, Tracer):
            try:
                v = a._trace.concrete(a, "nonzero()")
            except ConcretizationError:
                raise ConcretizationError(
                    a._trace.describe(), "nonzero()",
                    "The number of nonzero elements depends on the values. Pass a static "
                    "size= (and fill_value=) for a fixed-size result, as in JAX, or use "
                    "chainrule.numpy.where(mask, x, 0) instead of selecting.") from None
            return np.nonzero(v)
        return np.nonzero(a)
    return _nonzero_sized(a, _static_size(size, "nonzero"), fill_value)


def _static_size(size, name):
    if isinstance(size, Tracer) or not isinstance(size, (int, np.integer)) or size < 0:
        raise TypeError(f"{name}: size must be a non-negative Python int (a static value), got "
                        f"{size!r}")
    return int(size)


def _nonzero_sized(a, size, fill_value):
    from ._manip import argsort
    from ._ufuncs import not_equal, where
    from ._reductions import sum as _sum
    from ._shape import ravel
    a_arr = a if isinstance(a, Tracer) else np.asarray(a)
    shape = tuple(a_arr.shape)
    flat = ravel(not_equal(a_arr, 0))
    n = int(np.prod(shape, dtype=np.int64))
    fills = fill_value if isinstance(fill_value, tuple) else (fill_value,) * max(len(shape), 1)
    if len(fills) != max(len(shape), 1):
        raise ValueError(f"nonzero: fill_value has {len(fills)} entries for an array with "
                         f"{len(shape)} dimensions")
    if n == 0:
        return tuple(np.full(size, 0 if f is None else f, np.int64) for f in fills)
    # a stable sort of "is zero" puts the nonzero positions first, in order
    order = argsort(flat == 0, stable=True)
    if size > n:
        order = P.concatenate_p(order, np.zeros(size - n, order.dtype), axis=0)
    else:
        order = order[:size]
    valid = np.arange(size) < _sum(flat.astype(np.int64))
    out = []
    stride = n
    for d, f in zip(shape or (1,), fills):
        stride //= d
        idx = (order // stride) % d
        out.append(where(valid, idx, 0 if f is None else f).astype(np.int64))
    return tuple(out)


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of the flattened array (numpy.flatnonzero); `size`
    and `fill_value` as in `nonzero`."""
    flat = np.ravel(a) if not isinstance(a, Tracer) else a.ravel()
    return nonzero(flat, size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements, one row per element (numpy.argwhere); `size` and
    `fill_value` as in `nonzero`."""
    if size is None:
        return np.transpose(np.asarray(nonzero(a)))
    from ._shape import stack
    a_nd = a if isinstance(a, Tracer) else np.asarray(a)
    if a_nd.ndim == 0:
        a_nd = a_nd.reshape(1)
    return stack(nonzero(a_nd, size=size, fill_value=fill_value), axis=1)
