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
                    "where) instead.")
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
            if mask.ndim == 0:
                out.append(None)
                out.append(np.nonzero(np.atleast_1d(mask))[0])
            else:
                out.extend(np.nonzero(mask))
            pos += mask.ndim
        else:
            out.append(item)
            pos += consumed[i]
    return encode_index(out)


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
    enc, arrays = normalize_index(shape, key)
    out = bind(P.getitem_p, x, *arrays, idx=enc)
    if not arrays and isinstance(out, Tracer) and isinstance(x, Tracer):
        out._base = x  # basic indexing makes a view in NumPy
    return out


def scatter(x, key, y, mode):
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
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


def nonzero(a):
    """Indices of nonzero elements (eager / concrete values only: the result shape depends on
    the values)."""
    if isinstance(a, Tracer):
        v = a._trace.concrete(a, "nonzero()")
        return np.nonzero(v)
    return np.nonzero(a)


def flatnonzero(a):
    """Indices of nonzero elements of the flattened array (concrete values only)."""
    return nonzero(np.ravel(a) if not isinstance(a, Tracer) else a.ravel())[0]


def argwhere(a):
    """Indices of nonzero elements, grouped by element (concrete values only)."""
    return np.transpose(np.asarray(nonzero(a)))
