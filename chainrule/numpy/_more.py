"""More of NumPy's namespace in chainrule.numpy: comparisons of whole arrays, type tests,
nan_to_num, the two-output ufuncs (divmod, modf, frexp) and ldexp, axis helpers (rollaxis,
unstack), in-place index writes (put_along_axis, fill_diagonal), index helpers (ix_,
*_indices_from) and vander.

Contract: NumPy 2 semantics (result shapes and dtypes); composed from other chainrule.numpy
functions, so differentiable, batchable and stageable. Functions that take only shapes or
sizes (indices, tril_indices, windows ...) are NumPy's own. The in-place functions rebind a
traced array as x[idx] = v does, and call NumPy on plain arrays. Functions NumPy answers
with a Python bool (allclose, array_equal, array_equiv) do so on concrete values and return
a 0-d boolean tracer under jit/vmap.
"""
from __future__ import annotations

import numpy as np
from numpy import (indices, diag_indices, tril_indices, triu_indices,  # noqa: F401
                   bartlett, blackman, hamming, hanning, isscalar, iterable)

from ..core import Tracer, bind
from . import _indexing as I, _manip as M, _reductions as R, _shape as S, _ufuncs as U
from ._tracer import _put_inplace, _rebind

__all__ = [
    "allclose", "array_equal", "array_equiv", "isneginf", "isposinf", "iscomplex", "isreal",
    "iscomplexobj", "isrealobj", "isscalar", "iterable", "nan_to_num", "divmod", "modf",
    "frexp", "ldexp", "bitwise_invert", "bitwise_left_shift", "bitwise_right_shift",
    "rollaxis", "unstack", "put_along_axis", "fill_diagonal", "indices", "ix_",
    "diag_indices", "diag_indices_from", "tril_indices", "triu_indices", "tril_indices_from",
    "triu_indices_from", "vander", "bartlett", "blackman", "hamming", "hanning", "gcd", "lcm",
    "i0", "kaiser",
]

bitwise_invert = U.invert
bitwise_left_shift = U.left_shift
bitwise_right_shift = U.right_shift


def _a(x):
    return x if isinstance(x, Tracer) else M._a(x)


def _as_bool(x):
    """A Python bool from a concrete 0-d result; a traced one stays a tracer."""
    return x if isinstance(x, Tracer) else bool(x)


def _ufunc_dtypes(ufunc, *dts):
    """The output dtypes NumPy's ufunc gives for inputs of these dtypes."""
    outs = ufunc(*[np.zeros((), dt) for dt in dts])
    return [np.asarray(o).dtype for o in (outs if isinstance(outs, tuple) else (outs,))]


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether all elements are close, as numpy.allclose (a Python bool on concrete values).

    >>> allclose([1.0, 2.0], [1.0, 2.0 + 1e-9])
    True
    """
    return _as_bool(R.all(U.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def array_equal(a1, a2, equal_nan=False):
    """Whether two arrays have the same shape and elements, as numpy.array_equal.

    >>> array_equal([1, 2], [1, 2])
    True
    """
    a1, a2 = _a(a1), _a(a2)
    if np.shape(a1) != np.shape(a2):
        return False
    eq = U.equal(a1, a2)
    if equal_nan and U._dtype(a1).kind in "fc" and U._dtype(a2).kind in "fc":
        eq = U.logical_or(eq, U.logical_and(U.isnan(a1), U.isnan(a2)))
    return _as_bool(R.all(eq))


def array_equiv(a1, a2):
    """Whether two arrays are equal after broadcasting, as numpy.array_equiv.

    >>> array_equiv([1, 2], [[1, 2], [1, 2]])
    True
    """
    a1, a2 = _a(a1), _a(a2)
    try:
        np.broadcast_shapes(np.shape(a1), np.shape(a2))
    except ValueError:
        return False
    return _as_bool(R.all(U.equal(a1, a2)))


def isneginf(x, out=None):
    """Elementwise test for negative infinity, as numpy.isneginf.

    >>> isneginf([-np.inf, 0.0, np.inf])
    array([ True, False, False])
    """
    U._no_out(out, "isneginf")
    x = _a(x)
    return U.logical_and(U.isinf(x), U.signbit(x))


def isposinf(x, out=None):
    """Elementwise test for positive infinity, as numpy.isposinf.

    >>> isposinf([-np.inf, 0.0, np.inf])
    array([False, False,  True])
    """
    U._no_out(out, "isposinf")
    x = _a(x)
    return U.logical_and(U.isinf(x), U.logical_not(U.signbit(x)))


def iscomplex(x):
    """Elementwise test for a nonzero imaginary part, as numpy.iscomplex.

    >>> iscomplex([1 + 1j, 1 + 0j])
    array([ True, False])
    """
    x = _a(x)
    return U.not_equal(U.imag(x), 0)


def isreal(x):
    """Elementwise test for a zero imaginary part, as numpy.isreal.

    >>> isreal([1 + 1j, 1 + 0j])
    array([False,  True])
    """
    x = _a(x)
    return U.equal(U.imag(x), 0)


def iscomplexobj(x):
    """Whether x has a complex dtype, as numpy.iscomplexobj.

    >>> iscomplexobj([1 + 0j])
    True
    """
    dt = getattr(x, "dtype", None)
    dt = np.dtype(dt) if dt is not None else np.asarray(x).dtype
    return issubclass(dt.type, np.complexfloating)


def isrealobj(x):
    """Whether x does not have a complex dtype, as numpy.isrealobj.

    >>> isrealobj([1.0])
    True
    """
    return not iscomplexobj(x)


def _replace(x, nan, posinf, neginf):
    fi = np.finfo(U._dtype(x))
    posinf = fi.max if posinf is None else posinf
    neginf = fi.min if neginf is None else neginf
    dt = U._dtype(x)
    x = U.where(U.isnan(x), np.asarray(nan).astype(dt), x)
    x = U.where(isposinf(x), np.asarray(posinf).astype(dt), x)
    return U.where(isneginf(x), np.asarray(neginf).astype(dt), x)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by `nan`, infinities by `posinf`/`neginf` (default: the largest finite
    values), as numpy.nan_to_num; the derivative is 1 where x is finite, 0 where replaced.

    >>> nan_to_num([np.nan, np.inf, 1.0], posinf=9.0)
    array([0., 9., 1.])
    """
    x = _a(x)
    dt = U._dtype(x)
    if dt.kind not in "fc":
        return x if isinstance(x, Tracer) else np.array(x, copy=copy)
    if dt.kind == "c":
        re = _replace(U.real(x), nan, posinf, neginf)
        im = _replace(U.imag(x), nan, posinf, neginf)
        return U.add(U.astype(re, dt), U.multiply(U.astype(im, dt), np.asarray(1j, dt)))
    return _replace(x, nan, posinf, neginf)


def divmod(x1, x2, /, out=(None, None)):  # noqa: A001
    """(x1 // x2, x1 % x2), as numpy.divmod.

    >>> divmod([7, -7], 2)
    (array([ 3, -4]), array([1, 1]))
    """
    if out != (None, None) and out is not None:
        U._no_out(out, "divmod")
    x1, x2 = U._arr(x1), U._arr(x2)
    return U.floor_divide(x1, x2), U.remainder(x1, x2)


def modf(x, /, out=(None, None)):
    """Fractional and integral parts, both with the sign of x, as numpy.modf (the
    fractional part has derivative 1, the integral part 0).

    >>> modf([2.5, -1.25])
    (array([ 0.5 , -0.25]), array([ 2., -1.]))
    """
    if out != (None, None) and out is not None:
        U._no_out(out, "modf")
    x = _a(U._arr(x))
    dt = _ufunc_dtypes(np.modf, U._dtype(x))[0]
    x = U.astype(x, dt, copy=False)
    finite = U.where(U.isinf(x), np.zeros((), dt), x)
    frac = U.copysign(U.subtract(finite, U.trunc(finite)), x)
    return frac, U.trunc(x)


def _times_pow2(x, e):
    """x * 2**e for integer e, in two factors so that 2**e itself cannot overflow."""
    dt = U._dtype(x)
    h = U.floor_divide(e, 2)
    return U.multiply(U.multiply(x, U.astype(U.exp2(U.astype(h, dt)), dt)),
                      U.astype(U.exp2(U.astype(U.subtract(e, h), dt)), dt))


def ldexp(x1, x2, /, out=None):
    """x1 * 2**x2 (x2 integer), as numpy.ldexp; differentiable in x1.

    >>> ldexp([0.5, 3.0], [1, -1])
    array([1. , 1.5])
    """
    U._no_out(out, "ldexp")
    x1, x2 = _a(U._arr(x1)), _a(U._arr(x2))
    if U._dtype(x2).kind not in "iub":
        raise TypeError("ufunc 'ldexp' not supported for the input types: the exponent must "
                        "be an integer array")
    dt = _ufunc_dtypes(np.ldexp, U._dtype(x1), U._dtype(x2))[0]
    x1 = U.astype(x1, dt, copy=False)
    shape = np.broadcast_shapes(np.shape(x1), np.shape(x2))
    x1, x2 = S.broadcast_to(x1, shape), S.broadcast_to(x2, shape)
    # x1 = m 2**k (m in [0.5, 1)); the result m 2**t, t = k + x2, is one correctly rounded
    # product of an exact power of two and m/2 (or 2m near overflow); the mantissa carries
    # the derivative.
    m, k = frexp(x1)
    big = np.finfo(dt).maxexp + np.finfo(dt).nmant + 8
    t = U.clip(U.add(U.astype(k, np.int64), U.astype(x2, np.int64)), -big, big)
    hi = U.greater(t, 0)
    scale = U.astype(U.exp2(U.astype(U.where(hi, t - 1, t + 1), np.float64)), dt)
    r = U.multiply(U.multiply(m, U.where(hi, np.asarray(2, dt), np.asarray(0.5, dt))), scale)
    special = U.logical_or(U.equal(x1, 0), U.logical_not(U.isfinite(x1)))
    return U.where(special, x1, r)


def frexp(x, /, out=(None, None)):
    """Mantissa in [0.5, 1) (signed) and integer exponent with x = m * 2**e, as numpy.frexp
    (no derivative).

    >>> frexp([8.0, -3.0, 0.0])
    (array([ 0.5 , -0.75,  0.  ]), array([4, 2, 0], dtype=int32))
    """
    if out != (None, None) and out is not None:
        U._no_out(out, "frexp")
    x = _a(U._arr(x))
    dt = _ufunc_dtypes(np.frexp, U._dtype(x))[0]
    x = U.astype(x, dt, copy=False)
    special = U.logical_or(U.equal(x, 0), U.logical_not(U.isfinite(x)))
    ax = U.where(special, np.ones((), dt), U.absolute(x))
    e = U.astype(U.floor(U.log2(ax)), np.int32) + np.int32(1)
    m = _times_pow2(ax, U.negative(e))
    big = U.greater_equal(m, 1)
    e = U.where(big, e + np.int32(1), e)
    m = U.where(big, U.multiply(m, np.asarray(0.5, dt)), m)
    small = U.less(m, 0.5)
    e = U.where(small, e - np.int32(1), e)
    m = U.where(small, U.multiply(m, np.asarray(2, dt)), m)
    m = U.where(special, x, U.copysign(m, x))
    return m, U.where(special, np.int32(0), e)


def rollaxis(a, axis, start=0):
    """Roll `axis` backwards until it lies before position `start`, as numpy.rollaxis.

    >>> rollaxis(np.ones((3, 4, 5)), 2).shape
    (5, 3, 4)
    """
    a = _a(a)
    n = np.ndim(a)
    axis = R.normalize_axis(axis, n)
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"'start' arg requires {-n} <= start < {n + 1}, "
                                      f"but {start} was passed in")
    if start < 0:
        start += n
    if axis < start:
        start -= 1
    if axis == start:
        return a
    return S.moveaxis(a, axis, start)


def unstack(x, /, *, axis=0):
    """The slices of x along `axis`, as a tuple (numpy.unstack).

    >>> [s.tolist() for s in unstack(np.arange(4).reshape(2, 2))]
    [[0, 1], [2, 3]]
    """
    x = _a(x)
    if np.ndim(x) == 0:
        raise ValueError("Input array must be at least 1-d.")
    x = S.moveaxis(x, R.normalize_axis(axis, np.ndim(x)), 0)
    return tuple(I.getitem(x, i) for i in range(np.shape(x)[0]))


def _along_axis_key(shape, idx, axis):
    nd = len(shape)
    return tuple(idx if i == axis else
                 np.arange(shape[i]).reshape((1,) * i + (-1,) + (1,) * (nd - i - 1))
                 for i in range(nd))


def put_along_axis(arr, indices, values, axis):
    """arr[... indices along axis ...] = values in place, as numpy.put_along_axis (a traced
    arr is rebound, as x[idx] = v does). Returns None.

    >>> a = np.zeros((2, 2)); put_along_axis(a, np.array([[1], [0]]), 5.0, axis=1); a
    array([[0., 5.],
           [5., 0.]])
    """
    if not isinstance(arr, Tracer):
        if isinstance(indices, Tracer) or isinstance(values, Tracer):
            raise TypeError("put_along_axis: a NumPy array cannot hold traced values; make "
                            "arr a chainrule array first (e.g. arr = arr + 0 * values)")
        return np.put_along_axis(arr, indices, values, axis)
    idx = _a(indices)
    if U._dtype(idx).kind not in "iu":
        raise IndexError("`indices` must be an integer array")
    if axis is None:
        if np.ndim(idx) != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        flat = S.ravel(arr)
        new = I.scatter(flat, idx, values, "set")
        _rebind(arr, "put_along_axis", S.reshape(new, arr.shape),
                "x = x.ravel().at[indices].set(values).reshape(x.shape)")
        return None
    if np.ndim(idx) != arr.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = R.normalize_axis(axis, arr.ndim)
    key = _along_axis_key(arr.shape, idx, axis)
    _rebind(arr, "put_along_axis", I.scatter(arr, key, values, "set"),
            "x = x.at[index arrays].set(values)")
    return None


def fill_diagonal(a, val, wrap=False):
    """The main diagonal of a (ndim >= 2, all dims equal unless 2-D) set to val in place,
    as numpy.fill_diagonal (a traced a is rebound). Returns None.

    >>> a = np.zeros((2, 2)); fill_diagonal(a, 3.0); a
    array([[3., 0.],
           [0., 3.]])
    """
    if not isinstance(a, Tracer):
        if isinstance(val, Tracer):
            raise TypeError("fill_diagonal: a NumPy array cannot hold traced values; make a "
                            "a chainrule array first (e.g. a = a + 0 * val)")
        return np.fill_diagonal(a, val, wrap)
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    shape = a.shape
    end = None
    if a.ndim == 2:
        step = shape[1] + 1
        if not wrap:
            end = shape[1] * shape[1]
    else:
        if len(set(shape)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
    _put_inplace(a, np.arange(a.size)[:end:step], val)
    return None


def ix_(*args):
    """Open-mesh index arrays from 1-D sequences, as numpy.ix_ (boolean sequences become
    their nonzero positions, which needs concrete values).

    >>> [i.shape for i in ix_([0, 1], [2, 3, 4])]
    [(2, 1), (1, 3)]
    """
    out, nd = [], len(args)
    for k, new in enumerate(args):
        new = _a(new)
        if isinstance(new, np.ndarray) and new.size == 0:
            new = new.astype(np.intp)
        if np.ndim(new) != 1:
            raise ValueError("Cross index must be 1 dimensional")
        if U._dtype(new) == np.bool_:
            new = I.nonzero(new)[0]
        out.append(S.reshape(new, (1,) * k + (np.shape(new)[0],) + (1,) * (nd - k - 1)))
    return tuple(out)


def diag_indices_from(arr):
    """Indices of the main diagonal of an n-D array with equal dims, as
    numpy.diag_indices_from.

    >>> diag_indices_from(np.ones((2, 2)))
    (array([0, 1]), array([0, 1]))
    """
    shape = np.shape(arr)
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(shape[0], len(shape))


def tril_indices_from(arr, k=0):
    """Indices of the lower triangle of a 2-D array, as numpy.tril_indices_from.

    >>> tril_indices_from(np.ones((2, 2)))
    (array([0, 1, 1]), array([0, 0, 1]))
    """
    shape = np.shape(arr)
    if len(shape) != 2:
        raise ValueError("input array must be 2-d")
    return tril_indices(shape[-2], k=k, m=shape[-1])


def triu_indices_from(arr, k=0):
    """Indices of the upper triangle of a 2-D array, as numpy.triu_indices_from.

    >>> triu_indices_from(np.ones((2, 2)))
    (array([0, 0, 1]), array([0, 1, 1]))
    """
    shape = np.shape(arr)
    if len(shape) != 2:
        raise ValueError("input array must be 2-d")
    return triu_indices(shape[-2], k=k, m=shape[-1])


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D x (columns are powers of x), as numpy.vander.

    >>> vander([2, 3], 3)
    array([[4, 2, 1],
           [9, 3, 1]])
    """
    x = _a(x)
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = np.shape(x)[0]
    N = n if N is None else int(N)
    dt = np.promote_types(U._dtype(x), int)
    x = U.astype(x, dt, copy=False)
    cols = [np.ones((n, 1), dt)] + ([S.broadcast_to(S.reshape(x, (n, 1)), (n, N - 1))]
                                    if N > 1 else [])
    v = R.cumprod(S.concatenate(cols, axis=1), axis=1)[:, :N] if N > 0 \
        else np.empty((n, 0), dt)
    return v if increasing else M.flip(v, axis=1)


def _gcd_traced(a, b):
    from ..lax_control import while_loop
    zero = np.zeros((), U._dtype(a))

    def step(ab):
        a, b = ab
        nz = U.not_equal(b, zero)
        safe = U.where(nz, b, np.ones((), U._dtype(b)))
        return U.where(nz, b, a), U.where(nz, U.remainder(a, safe), zero)

    return while_loop(lambda ab: R.any(U.not_equal(ab[1], zero)), step, (a, b))[0]


def _int_pair(name, ufunc, x1, x2):
    x1, x2 = _a(U._arr(x1)), _a(U._arr(x2))
    dt = _ufunc_dtypes(ufunc, U._dtype(x1), U._dtype(x2))[0]
    shape = np.broadcast_shapes(np.shape(x1), np.shape(x2))
    a = S.broadcast_to(U.absolute(U.astype(x1, dt, copy=False)), shape)
    b = S.broadcast_to(U.absolute(U.astype(x2, dt, copy=False)), shape)
    return a, b


def gcd(x1, x2, /, out=None):
    """Elementwise greatest common divisor of integers (|result|, gcd(0, 0) = 0), as
    numpy.gcd (no derivative).

    >>> gcd([12, -20], 8)
    array([4, 4])
    """
    U._no_out(out, "gcd")
    if not isinstance(x1, Tracer) and not isinstance(x2, Tracer):
        return np.gcd(x1, x2)
    return _gcd_traced(*_int_pair("gcd", np.gcd, x1, x2))


def lcm(x1, x2, /, out=None):
    """Elementwise least common multiple of integers (|result|, 0 if either is 0), as
    numpy.lcm (no derivative).

    >>> lcm([4, -6], 6)
    array([12,  6])
    """
    U._no_out(out, "lcm")
    if not isinstance(x1, Tracer) and not isinstance(x2, Tracer):
        return np.lcm(x1, x2)
    a, b = _int_pair("lcm", np.lcm, x1, x2)
    g = _gcd_traced(a, b)
    zero = np.zeros((), U._dtype(g))
    safe = U.where(U.equal(g, zero), np.ones((), U._dtype(g)), g)
    return U.where(U.equal(g, zero), zero, U.multiply(U.floor_divide(a, safe), b))


def i0(x):
    """The modified Bessel function of the first kind of order 0, as numpy.i0 (real input;
    integers give float64); derivative i1.

    >>> float(i0(1.0))
    1.2660658777520084
    """
    from ..prims.special import i0_p
    x = _a(U._arr(x))
    dt = U._dtype(x)
    if dt.kind == "c":
        raise TypeError("i0 not supported for complex values")
    dt = dt if dt.kind == "f" else np.dtype(np.float64)
    return U.astype(bind(i0_p, U.astype(x, dt, copy=False)), dt, copy=False)


def kaiser(M, beta):
    """The Kaiser window of M points with shape parameter beta, as numpy.kaiser
    (differentiable in beta).

    >>> kaiser(3, 0.0)
    array([1., 1., 1.])
    """
    if M == 1:
        return np.ones(1, dtype=np.result_type(M, 0.0))
    n = np.arange(0, M)
    alpha = (M - 1) / 2.0
    beta = _a(beta)
    r = np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)
    return U.divide(i0(U.multiply(beta, r)), i0(U.astype(beta, np.float64)))
