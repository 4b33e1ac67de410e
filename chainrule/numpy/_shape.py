"""Core shape functions: reshape, ravel, transpose, moveaxis, swapaxes, expand_dims, squeeze,
broadcast_to, broadcast_arrays, concatenate, stack."""
from __future__ import annotations

import numpy as np

from ..core import Tracer, bind
from .. import prims as P
from ._reductions import normalize_axis, normalize_axes
from ._ufuncs import _arr


def shape(a):
    """The shape of an array or tracer."""
    s = getattr(a, "shape", None)
    return tuple(s) if s is not None else np.shape(a)


def ndim(a):
    """The number of dimensions of an array or tracer."""
    return len(shape(a))


def size(a, axis=None):
    """The number of elements (along an axis)."""
    s = shape(a)
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]


def _resolve_shape(old, newshape):
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(d) for d in newshape)
    n = int(np.prod(old, dtype=np.int64))
    if newshape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if known == 0 or n % known:
            raise ValueError(f"cannot reshape array of size {n} into shape {newshape}")
        newshape = tuple(n // known if d == -1 else d for d in newshape)
    if int(np.prod(newshape, dtype=np.int64)) != n:
        raise ValueError(f"cannot reshape array of size {n} into shape {newshape}")
    return newshape


def _view(out, base):
    """Mark a tracer that NumPy would return as a view of `base`."""
    if isinstance(out, Tracer) and out is not base and isinstance(base, Tracer):
        out._base = base
    return out


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """Give a new shape (one -1 allowed) without changing the data."""
    if shape is None:
        shape = newshape
    if order != "C":
        raise NotImplementedError("only order='C' is supported")
    a = _arr(a)
    old = globals()["shape"](a)
    new = _resolve_shape(old, shape)
    if new == old and isinstance(a, Tracer):
        return a
    return _view(bind(P.reshape_p, a, shape=new), a)


def ravel(a, order="C"):
    """A flattened (1-D) array."""
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Permute the axes (reverse them by default)."""
    a = _arr(a)
    n = ndim(a)
    if axes is None:
        perm = tuple(range(n))[::-1]
    else:
        perm = tuple(normalize_axis(i, n) for i in axes)
        if sorted(perm) != list(range(n)):
            raise ValueError("axes don't match array")
    if perm == tuple(range(n)):
        return a
    return _view(bind(P.transpose_p, a, perm=perm), a)


def permute_dims(a, axes=None):
    """Array API name of transpose."""
    return transpose(a, axes)


def matrix_transpose(x):
    """Swap the last two axes."""
    n = ndim(x)
    if n < 2:
        raise ValueError("matrix_transpose needs at least 2 dimensions")
    return swapaxes(x, -1, -2)


def moveaxis(a, source, destination):
    """Move axes to new positions; the others keep their order."""
    a = _arr(a)
    n = ndim(a)
    src = [normalize_axis(s, n) for s in np.atleast_1d(source).tolist()]
    dst = [normalize_axis(d, n) for d in np.atleast_1d(destination).tolist()]
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def swapaxes(a, axis1, axis2):
    """Interchange two axes."""
    a = _arr(a)
    n = ndim(a)
    perm = list(range(n))
    i, j = normalize_axis(axis1, n), normalize_axis(axis2, n)
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def expand_dims(a, axis):
    """Insert length-1 axes at the given positions."""
    a = _arr(a)
    s = shape(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_nd = len(s) + len(axes)
    axes = normalize_axes(axes, out_nd)
    it = iter(s)
    new = tuple(1 if i in axes else next(it) for i in range(out_nd))
    return _view(bind(P.reshape_p, a, shape=new), a)


def squeeze(a, axis=None):
    """Remove length-1 axes (all of them, or the given ones, which must have length 1)."""
    a = _arr(a)
    s = shape(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(s) if d == 1)
    else:
        axes = normalize_axes(axis, len(s))
        for i in axes:
            if s[i] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not "
                                 "equal to one")
    if not axes:
        return a
    return _view(bind(P.reshape_p, a, shape=tuple(d for i, d in enumerate(s) if i not in axes)),
                 a)


def broadcast_to(array, shape):
    """Broadcast an array to a shape (NumPy rules)."""
    array = _arr(array)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    old = globals()["shape"](array)
    np.broadcast_shapes(old, shape)  # raises ValueError like NumPy when incompatible
    if len(old) > len(shape):
        raise ValueError(f"input operand has more dimensions than allowed by the axis "
                         f"remapping: cannot broadcast {old} to {shape}")
    if old == shape and isinstance(array, Tracer):
        return array
    return bind(P.broadcast_to_p, array, shape=shape)


def broadcast_shapes(*shapes):
    """The broadcast shape of several shapes."""
    return np.broadcast_shapes(*shapes)


def broadcast_arrays(*args):
    """Broadcast arrays against each other."""
    args = [_arr(a) for a in args]
    s = np.broadcast_shapes(*[shape(a) for a in args])
    return [broadcast_to(a, s) for a in args]


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (axis=None flattens first)."""
    arrays = [_arr(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    nd = ndim(arrays[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for a in arrays[1:]:
        if ndim(a) != nd:
            raise ValueError("all the input arrays must have same number of dimensions")
    axis = normalize_axis(axis, nd)
    s0 = shape(arrays[0])
    for a in arrays[1:]:
        sa = shape(a)
        if any(sa[i] != s0[i] for i in range(nd) if i != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation "
                             f"axis must match exactly: {s0} vs {sa} along axis {axis}")
    if dtype is not None:
        from ._ufuncs import astype
        arrays = [astype(a, dtype) for a in arrays]
    if len(arrays) == 1:
        a = arrays[0]
        return a if isinstance(a, Tracer) else np.array(a)
    return bind(P.concatenate_p, *arrays, axis=axis)


concat = concatenate


def stack(arrays, axis=0, dtype=None):
    """Join arrays along a new axis."""
    arrays = [_arr(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    s0 = shape(arrays[0])
    for a in arrays[1:]:
        if shape(a) != s0:
            raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis(axis, len(s0) + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, dtype=dtype)


__all__ = [_n for _n, _v in list(globals().items()) if not _n.startswith("_") and callable(_v)
           and getattr(_v, "__module__", None) == __name__]
