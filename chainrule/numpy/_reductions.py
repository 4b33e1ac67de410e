"""Reductions and cumulative operations of chainrule.numpy (axis: int, tuple or None;
keepdims), composed from the reduction primitives."""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..core import ShapedArray, Tracer, bind
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
    if keepdims and axes:
        return bind(P.reshape_p, r, shape=tuple(1 if i in axes else d
                                                 for i, d in enumerate(shape)))
    return r


def _ufunc_axes(axis, ndim):
    """Axes of a ufunc reduction: as normalize_axes, except that NumPy's reductions accept the
    integer axis 0 or -1 on a 0-d array (reducing nothing)."""
    if ndim == 0 and axis is not None and not isinstance(axis, (list, tuple)) \
            and int(axis) in (0, -1):
        return ()
    return normalize_axes(axis, ndim)


def _where_mask(where, shape):
    """The where= mask as a bool array broadcast to the input's shape (NumPy's rules: bool
    only, and the input is never broadcast up to the mask)."""
    w = where if isinstance(where, Tracer) else np.asarray(where)
    if _dtype(w) != np.bool_:
        raise TypeError(f"Cannot cast array data from {_dtype(w)!r} to dtype('bool') "
                        "according to the rule 'safe'")
    if np.broadcast_shapes(_shape(w), shape) != tuple(shape):
        raise ValueError("operands could not be broadcast together: where= of shape "
                         f"{_shape(w)} against an input of shape {tuple(shape)}")
    if tuple(_shape(w)) != tuple(shape):
        w = bind(P.broadcast_to_p, w, shape=tuple(shape))
    return w


def _cast_to(x, dt):
    """x (array, scalar or tracer) converted to dtype dt (unsafe casting, as NumPy's initial=
    and integer dtype= results)."""
    if isinstance(x, Tracer):
        return astype(x, dt)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(x).astype(dt)


_IDENTITY = {"sum": 0, "prod": 1}
_COMBINE = {"sum": P.add_p, "prod": P.mul_p, "max": P.max_p, "min": P.min_p}
_REDUCE_DTYPE = {}


def _reduce_dtype(prim, dt):
    """The result dtype of the reduction primitive on dt (NumPy's default accumulator)."""
    r = _REDUCE_DTYPE.get((prim, dt))
    if r is None:
        r = _REDUCE_DTYPE[(prim, dt)] = prim.abstract_eval(
            ShapedArray((1,), dt), axes=(0,)).dtype
    return r


def _reduction(prim, name):
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        _no_out(out, name)
        a = _arr(a)
        shape = _shape(a)
        axes = normalize_axes(axis, len(shape)) if shape else _ufunc_axes(axis, 0)
        if dtype is None and initial is None and where is None:
            return _keep(bind(prim, a, axes=axes), shape, axes, keepdims)
        return _reduce_with(prim, name, a, shape, axes, dtype, keepdims, initial, where)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"`{name}` over axis (int, tuple or None), as numpy.{name}: dtype=, "
                 "initial= and where= as NumPy's.")
    return f


def _reduce_with(prim, name, a, shape, axes, dtype, keepdims, initial, where):
    """A reduction with dtype=, initial= or where= (the uncommon path)."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        a = astype(a, dtype)
    # NumPy accumulates and returns in dtype; the primitives widen small integers, which
    # casting back undoes exactly (integer + and * wrap modulo 2**bits either way)
    rdt = dtype if dtype is not None else _reduce_dtype(prim, _dtype(a))
    init = None if initial is None else _cast_to(initial, rdt)
    if where is not None:
        w = _where_mask(where, shape)
        fill = _IDENTITY.get(name)
        if fill is None:
            if init is None:
                op = "maximum" if name == "max" else "minimum"
                raise ValueError(f"reduction operation '{op}' does not have an identity, so to "
                                 "use a where mask one has to specify 'initial'")
            fill = init
        a = bind(P.select_p, w, a, _cast_to(fill, _dtype(a)))
    if name in ("max", "min") and _count(shape, axes) == 0:
        if init is None:
            op = "maximum" if name == "max" else "minimum"
            raise ValueError(f"zero-size array to reduction operation {op} which has no "
                             "identity")
        rshape = tuple(d for i, d in enumerate(shape) if i not in axes)
        r = bind(P.broadcast_to_p, init, shape=rshape) if isinstance(init, Tracer) \
            else np.full(rshape, init)
        return _keep(r, shape, axes, keepdims)
    r = bind(prim, a, axes=axes)
    if _dtype(r) != rdt:
        r = astype(r, rdt)
    if init is not None:
        r = bind(_COMBINE[name], r, init)
    return _keep(r, shape, axes, keepdims)


sum = _reduction(P.reduce_sum_p, "sum")
prod = _reduction(P.reduce_prod_p, "prod")
max = _reduction(P.reduce_max_p, "max")
min = _reduction(P.reduce_min_p, "min")
amax, amin = max, min
max.__doc__ += (" With where= an initial= is required, as NumPy. Tied maxima share the "
                "derivative equally (1/k each of k ties).")
min.__doc__ += (" With where= an initial= is required, as NumPy. Tied minima share the "
                "derivative equally (1/k each of k ties).")


def _bool_reduction(prim, name, fill):
    def f(a, axis=None, out=None, keepdims=False, *, where=None):
        _no_out(out, name)
        a = _arr(a)
        shape = _shape(a)
        axes = _ufunc_axes(axis, len(shape))
        if _dtype(a) != np.bool_:
            a = bind(P.ne_p, a, 0)
        if where is not None:
            a = bind(P.select_p, _where_mask(where, shape), a, fill)
        return _keep(bind(prim, a, axes=axes), shape, axes, keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"`{name}` over axis, as numpy.{name} (where=: only those entries count; "
                 "no derivative).")
    return f


all = _bool_reduction(P.reduce_and_p, "all", True)
any = _bool_reduction(P.reduce_or_p, "any", False)


_ALL_AXES = [tuple(range(n)) for n in range(8)]


def _all_axes(ndim):
    return _ALL_AXES[ndim] if ndim < 8 else tuple(range(ndim))


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _where_count(w, axes):
    """The number of selected entries of each reduction group (intp, keepdims shape)."""
    c = bind(P.reduce_sum_p, astype(w, np.intp), axes=axes)
    return _keep(c, _shape(w), axes, True)


def _div_count(s, n):
    """s / n in s's dtype, rounded as NumPy's true_divide(s, n, casting='unsafe') (for float16
    and integer s: one division in float64, then the cast)."""
    dt = _dtype(s)
    if type(n) is int or type(n) is float:
        if dt.char in "fdgFDG":
            return divide(s, n if n else 0.0)   # a weak scalar: correctly rounded in dt
        n = np.float64(n)
    r = divide(s, n)
    return r if _dtype(r) == dt else astype(r, dt)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over axis, as numpy.mean (integer input gives float64; float16 input
    is accumulated in float32; where= averages only the selected entries)."""
    if out is not None:
        _no_out(out, "mean")
    if axis is None and dtype is None and not keepdims and where is None:
        shape = getattr(a, "shape", None)
        if shape is not None and a.dtype.char in "dfDF":
            # common case, kept short: the mean of all elements
            n = math.prod(shape)
            s = bind(P.reduce_sum_p, a, axes=_all_axes(len(shape)))
            return bind(P.div_p, s, n if n else 0.0)
    a = _arr(a)
    adt = _dtype(a)
    rdt = np.dtype(dtype) if dtype is not None else None
    if dtype is None:
        if adt.kind not in "fc":
            dtype = rdt = np.dtype(np.float64)
        elif adt == np.float16:
            dtype, rdt = np.dtype(np.float32), adt
        else:
            rdt = adt
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    s = sum(a, axis=axes, dtype=dtype, keepdims=True, where=where)
    n = _count(shape, axes) if where is None else _where_count(_where_mask(where, shape), axes)
    r = _div_count(s, n)
    if _dtype(r) != rdt:
        r = astype(r, rdt)  # float16 input: the float32 mean, rounded (as NumPy)
    return r if keepdims else _squeeze(r, shape, axes)


def _squeeze(r, shape, axes):
    if axes:
        r = bind(P.reshape_p, r, shape=tuple(d for i, d in enumerate(shape) if i not in axes))
    if type(r) is np.ndarray and r.ndim == 0:
        return r[()]   # NumPy's reductions give scalars, not 0-d arrays
    return r


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Variance over axis, as numpy.var.

    Args:
      a: the array. axis: None, int or tuple. dtype: the accumulation/result dtype (float64
        for integer input). ddof / correction: delta degrees of freedom (the divisor is
        max(N - ddof, 0)). keepdims: keep reduced axes. where: entries to include.
      mean: a precomputed mean with keepdims=True shape (used as given).
    Returns:
      The variances (real for complex input).

    >>> var(np.array([1.0, 2.0, 10.0]), where=np.array([True, True, False]))
    np.float64(0.25)
    """
    _no_out(out, "var")
    if correction is not None:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    a = _arr(a)
    adt = _dtype(a)
    if dtype is None and adt.kind in "biu":
        dtype = np.dtype(np.float64)
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    w = None if where is None else _where_mask(where, shape)
    n = _count(shape, axes) if w is None else _where_count(w, axes)
    if mean is not None:
        m = _arr(mean)
    else:
        s = sum(a, axis=axes, dtype=dtype, keepdims=True, where=w)
        m = _div_count(s, n)
    d = subtract(a, m)
    sq = real(multiply(d, conjugate(d))) if _dtype(d).kind == "c" else multiply(d, d)
    ss = sum(sq, axis=axes, dtype=dtype, keepdims=True, where=w)
    if w is None:
        dof = builtins.max(n - ddof, 0)
    else:
        dof = bind(P.max_p, subtract(n, ddof), 0)
    r = _div_count(ss, dof)
    return r if keepdims else _squeeze(r, shape, axes)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Standard deviation over axis, as numpy.std (the square root of var, with the same
    arguments: ddof / correction, where=, mean=)."""
    return sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                    where=where, mean=mean, correction=correction))


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
        if axis is None or not shape:
            if axis is not None:
                normalize_axis(axis, 1)  # a 0-d input takes axis 0 or -1, as NumPy
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
            dtype = np.dtype(dtype)
            a = astype(a, dtype)
        if axis is None or _ndim(a) == 0:
            # NumPy flattens for axis=None, and takes a 0-d input as 1-d for axis 0 or -1
            if axis is not None:
                normalize_axis(axis, 1)
            a = bind(P.reshape_p, a, shape=(_count(_shape(a), range(_ndim(a))),))
            axis = 0
        r = bind(prim, a, axis=normalize_axis(axis, _ndim(a)), reverse=False)
        # the primitives accumulate small integers in (u)int64; NumPy's dtype= result wraps
        return r if dtype is None or _dtype(r) == dtype else astype(r, dtype)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Cumulative {name[3:]} along an axis (flattened when axis is None)."
    return f


cumsum = _cumulative(P.cumsum_p, "cumsum")
cumprod = _cumulative(P.cumprod_p, "cumprod")
cumulative_sum = cumsum
cumulative_prod = cumprod


__all__ = [_n for _n, _v in list(globals().items()) if not _n.startswith("_") and callable(_v)
           and getattr(_v, "__module__", None) == __name__]
