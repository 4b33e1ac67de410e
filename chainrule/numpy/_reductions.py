"""Reductions and cumulative operations of chainrule.numpy (axis: int, tuple or None;
keepdims), composed from the reduction primitives."""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..core import bind
from .. import prims as P
from ._ufuncs import _arr, _dtype, _no_out, astype, sqrt, absolute, multiply, subtract, \
    divide, conjugate, real


def _ndim(x):
    n = getattr(x, "ndim", None)
    return n if n is not None else np.ndim(x)


def _shape(x):
    s = getattr(x, "shape", None)
    return s if s is not None else np.shape(x)


def normalize_axes(axis, ndim, name="axis"):
    """A sorted tuple of non-negative axes; None means all. Raises AxisError when out of range."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        axes = tuple(normalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"duplicate value in '{name}': {axis}")
        return tuple(sorted(axes))
    return (normalize_axis(axis, ndim),)


def normalize_axis(axis, ndim):
    a = int(axis) if not isinstance(axis, int) else axis
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension "
                                      f"{ndim}")
    return a % ndim if ndim else 0


def _keep(r, shape, axes, keepdims):
    if keepdims:
        return bind(P.reshape_p, r, shape=tuple(1 if i in axes else d
                                                 for i, d in enumerate(shape)))
    return r


def _reduction(prim, name, int_promote=False):
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        _no_out(out, name)
        a = _arr(a)
        if where is not None:
            raise NotImplementedError(f"{name}(where=...) is not supported; use "
                                      "chainrule.numpy.where on the input instead")
        if dtype is not None:
            a = astype(a, dtype)
        shape = _shape(a)
        axes = normalize_axes(axis, len(shape))
        r = bind(prim, a, axes=axes)
        if initial is not None:
            r = (P.max_p if prim is P.reduce_max_p else P.min_p if prim is P.reduce_min_p
                 else P.mul_p if prim is P.reduce_prod_p else P.add_p)(r, initial)
        return _keep(r, shape, axes, keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"`{name}` over axis (int, tuple or None), as numpy.{name}."
    return f


sum = _reduction(P.reduce_sum_p, "sum")
prod = _reduction(P.reduce_prod_p, "prod")
max = _reduction(P.reduce_max_p, "max")
min = _reduction(P.reduce_min_p, "min")
amax, amin = max, min
max.__doc__ += " Tied maxima share the derivative equally (1/k each of k ties)."
min.__doc__ += " Tied minima share the derivative equally (1/k each of k ties)."


def _bool_reduction(prim, name):
    def f(a, axis=None, out=None, keepdims=False, *, where=None):
        _no_out(out, name)
        a = _arr(a)
        shape = _shape(a)
        axes = normalize_axes(axis, len(shape))
        if _dtype(a) != np.bool_:
            a = bind(P.ne_p, a, 0)
        return _keep(bind(prim, a, axes=axes), shape, axes, keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"`{name}` over axis, as numpy.{name} (no derivative)."
    return f


all = _bool_reduction(P.reduce_and_p, "all")
any = _bool_reduction(P.reduce_or_p, "any")


_ALL_AXES = [tuple(range(n)) for n in range(8)]


def _all_axes(ndim):
    return _ALL_AXES[ndim] if ndim < 8 else tuple(range(ndim))


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over axis, as numpy.mean (integer input gives float64)."""
    if out is not None:
        _no_out(out, "mean")
    if where is not None:
        raise NotImplementedError("mean(where=...) is not supported; use "
                                  "chainrule.numpy.where on the input instead")
    if axis is None and dtype is None and not keepdims:
        shape = getattr(a, "shape", None)
        if shape is not None and a.dtype.kind in "fc":
            # common case, kept short: the mean of all elements
            n = math.prod(shape)
            s = bind(P.reduce_sum_p, a, axes=_all_axes(len(shape)))
            return bind(P.div_p, s, n if n else 0.0)
    a = _arr(a)
    if dtype is None and _dtype(a).kind not in "fc":
        dtype = np.float64
    if dtype is not None:
        a = astype(a, dtype)
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    s = bind(P.reduce_sum_p, a, axes=axes)
    n = _count(shape, axes)
    return _keep(divide(s, n) if n else divide(s, 0.0), shape, axes, keepdims)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Variance over axis with ddof, as numpy.var."""
    _no_out(out, "var")
    if correction is not None:
        ddof = correction
    a = _arr(a)
    if dtype is None and _dtype(a).kind not in "fc":
        dtype = np.float64
    if dtype is not None:
        a = astype(a, dtype)
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    m = _mean_keep(a, shape, axes)
    d = subtract(a, m)
    sq = real(multiply(d, conjugate(d))) if _dtype(a).kind == "c" else multiply(d, d)
    n = _count(shape, axes)
    return _keep(divide(bind(P.reduce_sum_p, sq, axes=axes), builtins.max(n - ddof, 0)),
                 shape, axes, keepdims)


def _mean_keep(a, shape, axes):
    s = bind(P.reduce_sum_p, a, axes=axes)
    return _keep(divide(s, _count(shape, axes)), shape, axes, True)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Standard deviation over axis with ddof, as numpy.std."""
    return sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                    correction=correction))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted average over axis, as numpy.average (differentiable in a and weights)."""
    a = _arr(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        n = _count(_shape(a), normalize_axes(axis, _ndim(a)))
        scl = np.asarray(float(n), dtype=_dtype(avg))
        return (avg, np.broadcast_to(scl, _shape(avg))) if returned else avg
    w = _arr(weights)
    if _shape(w) != _shape(a):
        if axis is None:
            raise TypeError("axis must be specified when shapes of a and weights differ")
        if _ndim(w) != 1:
            raise TypeError("1D weights expected when shapes of a and weights differ")
        ax = normalize_axis(axis, _ndim(a))
        if _shape(w)[0] != _shape(a)[ax]:
            raise ValueError("length of weights differs from the length of axis")
        w = bind(P.reshape_p, w, shape=tuple(_shape(w)[0] if i == ax else 1
                                             for i in range(_ndim(a))))
        w = bind(P.broadcast_to_p, w, shape=tuple(_shape(a)))
    wsum = sum(w, axis=axis, keepdims=keepdims)
    avg = divide(sum(multiply(a, w), axis=axis, keepdims=keepdims), wsum)
    if returned:
        from ._shape import broadcast_to
        return avg, broadcast_to(wsum, _shape(avg))
    return avg


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak (max - min) over axis."""
    return subtract(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def _arg(prim, name):
    def f(a, axis=None, out=None, *, keepdims=False):
        _no_out(out, name)
        a = _arr(a)
        shape = _shape(a)
        if axis is None:
            r = bind(prim, bind(P.reshape_p, a, shape=(_count(shape, range(len(shape))),)), axis=0)
            return bind(P.reshape_p, r, shape=(1,) * len(shape)) if keepdims else r
        ax = normalize_axis(axis, len(shape))
        return _keep(bind(prim, a, axis=ax), shape, (ax,), keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Indices of the {name[3:]} values along an axis, as numpy.{name}."
    return f


argmax = _arg(P.argmax_p, "argmax")
argmin = _arg(P.argmin_p, "argmin")


def _cumulative(prim, name):
    def f(a, axis=None, dtype=None, out=None):
        _no_out(out, name)
        a = _arr(a)
        if dtype is not None:
            a = astype(a, dtype)
        if axis is None:
            a = bind(P.reshape_p, a, shape=(_count(_shape(a), range(_ndim(a))),))
            axis = 0
        return bind(prim, a, axis=normalize_axis(axis, _ndim(a)), reverse=False)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Cumulative {name[3:]} along an axis (flattened when axis is None)."
    return f


cumsum = _cumulative(P.cumsum_p, "cumsum")
cumprod = _cumulative(P.cumprod_p, "cumprod")
cumulative_sum = cumsum
cumulative_prod = cumprod


__all__ = [_n for _n, _v in list(globals().items()) if not _n.startswith("_") and callable(_v)
           and getattr(_v, "__module__", None) == __name__]
