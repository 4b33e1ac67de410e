"""Array creation. Constant arrays are plain NumPy arrays (constants to every transform);
`array`/`asarray` of (nested lists of) tracers stack them; `full`, `linspace`, `logspace` and
the `*_like` forms accept traced fill values and endpoints."""
from __future__ import annotations

import builtins

import numpy as np

from ..core import Tracer, bind, trace_stack
from .. import prims as P


def _lift(arr):
    """Inside a transformed function, a new array is lifted into the innermost trace, so that
    it can be written into (x[i] = traced value) like a NumPy array."""
    if trace_stack:
        return trace_stack[-1].lift(arr)
    return arr


def _has_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    if type(obj) in (list, tuple):
        return builtins.any(_has_tracer(o) for o in obj)
    return False


def array(object, dtype=None, copy=True, ndmin=0):
    """An array from an array-like (lists of tracers are stacked), as numpy.array."""
    if isinstance(object, Tracer):
        out = object if dtype is None else _astype(object, dtype)
    elif type(object) in (list, tuple) and _has_tracer(object):
        parts = [array(o) for o in object]
        if not parts:
            out = np.array([], dtype=dtype)
        else:
            from ._shape import stack
            dt = np.result_type(*[getattr(p, "dtype", p) for p in parts])
            out = stack([_astype(p, dt) for p in parts])
            if dtype is not None:
                out = _astype(out, dtype)
    else:
        return _lift(np.array(object, dtype=dtype, copy=copy, ndmin=ndmin))
    if ndmin > out.ndim:
        out = bind(P.reshape_p, out, shape=(1,) * (ndmin - out.ndim) + tuple(out.shape))
    return out


def _astype(x, dtype):
    from ._ufuncs import astype
    return astype(x, dtype)


def copy(a, order="K"):
    """A copy of an array (for a traced array: a new array, not a view of it)."""
    if isinstance(a, Tracer):
        return a._clone()
    return array(a)


def asarray(a, dtype=None, order=None, *, copy=None):
    """Convert to an array without copying when possible; tracers pass through."""
    if isinstance(a, Tracer) or (type(a) in (list, tuple) and _has_tracer(a)):
        return array(a, dtype=dtype)
    return np.asarray(a, dtype=dtype, order=order)


asanyarray = asarray
ascontiguousarray = asarray


def _shape_of(a):
    s = getattr(a, "shape", None)
    return tuple(s) if s is not None else np.shape(a)


def _dtype_of(a):
    d = getattr(a, "dtype", None)
    return d if d is not None else np.result_type(a)


def zeros(shape, dtype=float, order="C"):
    """An array of zeros (float64 by default)."""
    return _lift(np.zeros(shape, dtype=dtype))


def ones(shape, dtype=float, order="C"):
    """An array of ones (float64 by default)."""
    return _lift(np.ones(shape, dtype=dtype))


def empty(shape, dtype=float, order="C"):
    """A new array (filled with zeros here, so results never depend on garbage)."""
    return _lift(np.zeros(shape, dtype=dtype))


def full(shape, fill_value, dtype=None, order="C"):
    """An array filled with fill_value (which may be traced)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if isinstance(fill_value, Tracer):
        v = fill_value if dtype is None else _astype(fill_value, dtype)
        return bind(P.broadcast_to_p, v, shape=shape)
    return _lift(np.full(shape, fill_value, dtype=dtype))


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of a."""
    return _lift(np.zeros(_shape_of(a) if shape is None else shape, dtype or _dtype_of(a)))


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of a."""
    return _lift(np.ones(_shape_of(a) if shape is None else shape, dtype or _dtype_of(a)))


def empty_like(a, dtype=None, shape=None):
    """A new array with the shape and dtype of a (zero-filled)."""
    return zeros_like(a, dtype, shape)


def full_like(a, fill_value, dtype=None, shape=None):
    """An array with the shape and dtype of a, filled with fill_value (may be traced)."""
    return full(_shape_of(a) if shape is None else shape, fill_value,
                dtype or _dtype_of(a))


def eye(N, M=None, k=0, dtype=float):
    """A 2-D array with ones on the k-th diagonal."""
    return _lift(np.eye(N, M, k=k, dtype=dtype))


def identity(n, dtype=float):
    """The n x n identity matrix."""
    return _lift(np.identity(n, dtype=dtype))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (static bounds), as numpy.arange."""
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            v._trace.concrete(v, "arange() with a traced bound")
    return np.arange(start, stop, step, dtype=dtype) if stop is not None or step is not None \
        else np.arange(start, dtype=dtype)


def _weak(v):
    """v for np.result_type: Python scalars stay weak (NEP 50), others give their dtype."""
    return v if type(v) in (int, float, complex, bool) else _dtype_of(v)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """num evenly spaced samples over [start, stop], as numpy.linspace (same dtype and values
    eagerly and under every transform); differentiable in start and stop."""
    if not (isinstance(start, Tracer) or isinstance(stop, Tracer)):
        return np.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep,
                           dtype=dtype, axis=axis)
    from ._shape import moveaxis
    from ._ufuncs import where, equal, floor
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    # NumPy's computation dtype: the endpoints' promotion, made inexact
    dt = np.result_type(_weak(start), _weak(stop))
    if dt.kind not in "fc":
        dt = np.dtype(np.float64)
    start, stop = array(start, dtype=dt), array(stop, dtype=dt)
    delta = stop - start
    y = np.arange(num, dtype=dt).reshape((-1,) + (1,) * delta.ndim)
    if div > 0:
        step = delta / div
        # y * step, or y / div * delta where the step underflows to 0 (as NumPy)
        y = where(equal(step, 0), (y / div) * delta, y * step)
    else:
        step = np.nan * delta
        y = y * delta
    out = y + start
    if endpoint and num > 1:
        from ._indexing import scatter
        out = scatter(out, -1, stop, "set")
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        if np.issubdtype(dtype, np.integer):
            out = floor(out)
        out = _astype(out, dtype)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale, as numpy.logspace; differentiable in start, stop
    and base."""
    from ._ufuncs import power
    if not builtins.any(isinstance(v, Tracer) for v in (start, stop, base)):
        return np.logspace(start, stop, num=num, endpoint=endpoint, base=base, dtype=dtype,
                           axis=axis)
    if not isinstance(base, (float, int)) and np.ndim(base):
        from ._shape import expand_dims
        ndmax = len(np.broadcast_shapes(_shape_of(start), _shape_of(stop), _shape_of(base)))
        start, stop, base = (array(a, ndmin=ndmax) for a in (start, stop, base))
        base = expand_dims(base, axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = power(base, y)
    return out if dtype is None else _astype(out, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale between start and stop (nonzero, same sign or
    complex), as numpy.geomspace; differentiable in start and stop."""
    if not (isinstance(start, Tracer) or isinstance(stop, Tracer)):
        return np.geomspace(start, stop, num=num, endpoint=endpoint, dtype=dtype, axis=axis)
    from ._ufuncs import log10, sign, divide, multiply
    from ._indexing import scatter
    from ._shape import moveaxis
    num = int(num)
    # NumPy's dtype: the 0-d float64 array in its promotion is not weak
    dt = np.result_type(_weak(start), _weak(stop), float(num), np.zeros((), dtype))
    start, stop = array(start, dtype=dt), array(stop, dtype=dt)
    # rotate start onto the positive real axis, as NumPy (negative and complex endpoints)
    out_sign = sign(start)
    start = divide(start, out_sign)
    stop = divide(stop, out_sign)
    out = logspace(log10(start), log10(stop), num=num, endpoint=endpoint, base=10.0, dtype=dt)
    if num > 0:
        out = scatter(out, 0, start, "set")
        if num > 1 and endpoint:
            out = scatter(out, -1, stop, "set")
    out = multiply(out, out_sign)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return out if dtype is None else _astype(out, dtype)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate matrices from coordinate vectors (traced vectors allowed)."""
    from ._shape import broadcast_to, reshape
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    xs = [array(x) for x in xi]
    ndim = len(xs)
    shapes = []
    outs = []
    for i, x in enumerate(xs):
        s = [1] * ndim
        s[i] = -1
        if indexing == "xy" and ndim > 1 and i < 2:
            s[0], s[1] = s[1], s[0]
        outs.append(reshape(x, s))
        shapes.append(tuple(s))
    if sparse:
        return outs
    full_shape = np.broadcast_shapes(*[o.shape for o in outs])
    return [broadcast_to(o, full_shape) for o in outs]


def tri(N, M=None, k=0, dtype=float):
    """An array with ones at and below the k-th diagonal."""
    return np.tri(N, M, k, dtype=dtype)


__all__ = [_n for _n, _v in list(globals().items()) if not _n.startswith("_") and callable(_v)
           and getattr(_v, "__module__", None) == __name__]
