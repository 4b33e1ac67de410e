"""Elementwise functions of chainrule.numpy: thin wrappers that bind one primitive each, or
compositions of primitives. NumPy 2 semantics: broadcasting, NEP 50 promotion (Python scalars
are weak), float64 by default.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Tracer, bind
from .. import prims as P


def _arr(x):
    """Lists and tuples become arrays (stacking any tracers inside)."""
    if type(x) in (list, tuple):
        from ._creation import array
        return array(x)
    return x


def _unary(prim, name, doc=None):
    def f(x, /):
        if type(x) in (list, tuple):
            x = _arr(x)
        return bind(prim, x)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc or f"Elementwise `{name}`, as numpy.{name}; differentiable where defined."
    return f


def _binary(prim, name, doc=None):
    def f(x1, x2, /):
        if type(x1) in (list, tuple):
            x1 = _arr(x1)
        if type(x2) in (list, tuple):
            x2 = _arr(x2)
        return bind(prim, x1, x2)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc or f"Elementwise `{name}`, as numpy.{name} (broadcasting)."
    f.prim = prim  # tracer operators bind it directly (chainrule/numpy/_tracer.py)
    return f


add = _binary(P.add_p, "add")
subtract = _binary(P.sub_p, "subtract")
multiply = _binary(P.mul_p, "multiply")
divide = _binary(P.div_p, "divide")
true_divide = divide
floor_divide = _binary(P.floordiv_p, "floor_divide")
power = _binary(P.pow_p, "power")
pow = power
maximum = _binary(P.max_p, "maximum", (
    "Elementwise maximum, as numpy.maximum (broadcasting). Where x1 == x2 each argument gets\n"
    "half of the derivative (so relu written as maximum(x, 0) has derivative 1/2 at 0, and\n"
    "where(x > 0, x, 0) has 0), as in JAX and PyTorch; see docs/subgradients.md."))
minimum = _binary(P.min_p, "minimum", (
    "Elementwise minimum, as numpy.minimum (broadcasting). Where x1 == x2 each argument gets\n"
    "half of the derivative; see docs/subgradients.md."))
fmod = _binary(P.fmod_p, "fmod")
remainder = _binary(P.rem_p, "remainder")
mod = remainder
arctan2 = _binary(P.atan2_p, "arctan2")
atan2 = arctan2
hypot = _binary(P.hypot_p, "hypot")
logaddexp = _binary(P.logaddexp_p, "logaddexp")
logaddexp2 = _binary(P.logaddexp2_p, "logaddexp2")
copysign = _binary(P.copysign_p, "copysign")
nextafter = _binary(P.nextafter_p, "nextafter")
heaviside = _binary(P.heaviside_p, "heaviside")
equal = _binary(P.eq_p, "equal")
not_equal = _binary(P.ne_p, "not_equal")
less = _binary(P.lt_p, "less")
less_equal = _binary(P.le_p, "less_equal")
greater = _binary(P.gt_p, "greater")
greater_equal = _binary(P.ge_p, "greater_equal")
logical_and = _binary(P.and_p, "logical_and")
logical_or = _binary(P.or_p, "logical_or")
logical_xor = _binary(P.xor_p, "logical_xor")
bitwise_and = _binary(P.bitand_p, "bitwise_and")
bitwise_or = _binary(P.bitor_p, "bitwise_or")
bitwise_xor = _binary(P.bitxor_p, "bitwise_xor")
left_shift = _binary(P.lshift_p, "left_shift")
right_shift = _binary(P.rshift_p, "right_shift")

negative = _unary(P.neg_p, "negative")
exp = _unary(P.exp_p, "exp")
exp2 = _unary(P.exp2_p, "exp2")
expm1 = _unary(P.expm1_p, "expm1")
log = _unary(P.log_p, "log")
log2 = _unary(P.log2_p, "log2")
log10 = _unary(P.log10_p, "log10")
log1p = _unary(P.log1p_p, "log1p")
sqrt = _unary(P.sqrt_p, "sqrt", (
    "Elementwise square root, as numpy.sqrt. At 0 the derivative is the one-sided limit +inf\n"
    "(the second derivative -inf); where(x > 0, sqrt(x), 0) has derivative 0 there (safe\n"
    "masking); see docs/subgradients.md."))
cbrt = _unary(P.cbrt_p, "cbrt")
sin = _unary(P.sin_p, "sin")
cos = _unary(P.cos_p, "cos")
tan = _unary(P.tan_p, "tan")
arcsin = _unary(P.arcsin_p, "arcsin")
arccos = _unary(P.arccos_p, "arccos")
arctan = _unary(P.arctan_p, "arctan")
sinh = _unary(P.sinh_p, "sinh")
cosh = _unary(P.cosh_p, "cosh")
tanh = _unary(P.tanh_p, "tanh")
arcsinh = _unary(P.arcsinh_p, "arcsinh")
arccosh = _unary(P.arccosh_p, "arccosh")
arctanh = _unary(P.arctanh_p, "arctanh")
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh
absolute = _unary(P.abs_p, "absolute", (
    "Elementwise absolute value, as numpy.absolute. Its derivative at 0 is 0 (the subgradient\n"
    "in [-1, 1] that keeps abs even; also for complex inputs); see docs/subgradients.md."))
abs = absolute


_LOOP_DTYPE = {}


def _loop_dtype(ufunc, x):
    """The input dtype of NumPy's loop for ufunc(x) (raises NumPy's TypeError where it has
    none, e.g. fabs of complex or positive of bool)."""
    dt = _dtype(x)
    key = (ufunc, dt)
    r = _LOOP_DTYPE.get(key)
    if r is None:
        r = _LOOP_DTYPE[key] = ufunc.resolve_dtypes((dt, None))[0]
    return r


def fabs(x, /):
    """Elementwise absolute value of real input in a float dtype, as numpy.fabs (integers give
    floats; complex input raises TypeError). Derivative at 0 is 0, as absolute."""
    x = _arr(x)
    dt = _loop_dtype(np.fabs, x)
    return absolute(x if _dtype(x) == dt else astype(x, dt))
sign = _unary(P.sign_p, "sign", (
    "Elementwise sign, as numpy.sign. Piecewise constant: its derivative is 0 everywhere, at 0\n"
    "too; see docs/subgradients.md."))
floor = _unary(P.floor_p, "floor", (
    "Elementwise floor, as numpy.floor. Piecewise constant: derivative 0 everywhere, at the\n"
    "jumps too."))
ceil = _unary(P.ceil_p, "ceil", (
    "Elementwise ceiling, as numpy.ceil. Piecewise constant: derivative 0 everywhere, at the\n"
    "jumps too."))
trunc = _unary(P.trunc_p, "trunc", (
    "Elementwise truncation toward 0, as numpy.trunc. Piecewise constant: derivative 0\n"
    "everywhere, at the jumps too."))
fix = trunc
rint = _unary(P.rint_p, "rint", (
    "Round to the nearest integer, as numpy.rint. Piecewise constant: derivative 0 everywhere,\n"
    "at the jumps too."))
isnan = _unary(P.isnan_p, "isnan")
isinf = _unary(P.isinf_p, "isinf")
isfinite = _unary(P.isfinite_p, "isfinite")
signbit = _unary(P.signbit_p, "signbit")
logical_not = _unary(P.not_p, "logical_not")
invert = _unary(P.invert_p, "invert")
bitwise_not = invert
conjugate = _unary(P.conj_p, "conjugate")
conj = conjugate


def real(val, /):
    """Real part, as numpy.real."""
    return bind(P.real_p, _arr(val))


def imag(val, /):
    """Imaginary part, as numpy.imag."""
    return bind(P.imag_p, _arr(val))


def angle(z, deg=False):
    """The counterclockwise angle of complex values from the positive real axis, as
    numpy.angle (arctan2(imag, real), in (-pi, pi]).

    Args:
      z: the values (real inputs give 0 or pi).
      deg: give degrees instead of radians.
    Returns:
      The angles (real dtype). Derivatives: d angle = Im(dz / z); at z = 0, where the angle
      jumps, and for real inputs (piecewise constant) the derivative is taken as 0.

    >>> angle(np.array([1j, -1.0]))
    array([1.57079633, 3.14159265])
    """
    z = _arr(z)
    if _dtype(z).kind == "c":
        zero = equal(z, 0)
        safe = where(zero, 1.0, z)
        a = where(zero, bind(P.stop_gradient_p, arctan2(imag(z), real(z))),
                  arctan2(imag(safe), real(safe)))
    else:
        a = bind(P.stop_gradient_p, arctan2(0, z))
    return multiply(a, 180.0 / math.pi) if deg else a


def positive(x, /):
    """Elementwise +x, as numpy.positive (bool input raises TypeError)."""
    x = _arr(x)
    _loop_dtype(np.positive, x)
    return x if isinstance(x, Tracer) else np.positive(x)


def square(x, /):
    """Elementwise x**2, as numpy.square (bool input gives int8)."""
    x = _arr(x)
    dt = _loop_dtype(np.square, x)
    if _dtype(x) != dt:
        x = astype(x, dt)
    return multiply(x, x)


def reciprocal(x, /):
    """Elementwise 1/x, as numpy.reciprocal: in x's dtype, so integers give integers
    (1/x truncated toward 0; bool input gives int8)."""
    x = _arr(x)
    dt = _loop_dtype(np.reciprocal, x)
    if dt.kind in "fc":
        return divide(1.0, x if _dtype(x) == dt else astype(x, dt))
    # NumPy's integer loop: the float quotient, cast back (so 1/0 is its cast of inf)
    with np.errstate(invalid="ignore"):
        return astype(divide(1.0, astype(x, dt)), dt)


def float_power(x1, x2, /):
    """x1**x2 computed in float64 (complex128 for complex inputs), as numpy.float_power."""
    dt = np.result_type(_dtype(x1), _dtype(x2), np.float64)
    return power(astype(x1, dt), astype(x2, dt))


def round(a, decimals=0, out=None):
    """Round to the given number of decimals (half to even), as numpy.round (derivative 0
    everywhere, at the jumps too)."""
    _no_out(out, "round")
    return bind(P.round_p, _arr(a), decimals=int(decimals))


around = round


def _scale_as(ufunc, x, num, den):
    """x * (num / den) as NumPy's loop for ufunc computes it: float64 in double precision;
    float32 and float16 (which NumPy's half loop widens) with the factor rounded in float32."""
    x = _arr(x)
    dt = _loop_dtype(ufunc, x)
    if _dtype(x) != dt:
        x = astype(x, dt)
    if dt == np.float64:
        return multiply(x, num / den)
    if dt.itemsize > 4:
        return multiply(x, np.asarray(num, dt) / np.asarray(den, dt))
    f = np.float32(num) / np.float32(den)
    if dt == np.float32:
        return multiply(x, f)
    return astype(multiply(astype(x, np.float32), f), dt)


def deg2rad(x, /):
    """Degrees to radians, as numpy.deg2rad (small integers give float16; complex raises)."""
    return _scale_as(np.deg2rad, x, math.pi, 180.0)


radians = deg2rad


def rad2deg(x, /):
    """Radians to degrees, as numpy.rad2deg (small integers give float16; complex raises)."""
    return _scale_as(np.rad2deg, x, 180.0, math.pi)


degrees = rad2deg


def sinc(x, /):
    """Normalized sinc, sin(pi x)/(pi x), with sinc(0) = 1 and finite derivatives at 0."""
    x = _arr(x)
    px = multiply(x, math.pi)
    zero = equal(x, 0)
    safe = where(zero, 1.0, px)
    # at 0 use the Taylor series 1 - (pi x)^2/6, which has the right derivatives there
    return where(zero, 1.0 - px * px / 6.0, sin(safe) / safe)


def fmax(x1, x2, /):
    """Elementwise maximum ignoring NaNs, as numpy.fmax (ties share the derivative, as
    maximum)."""
    return where(isnan(x2), x1, where(isnan(x1), x2, maximum(x1, x2)))


def fmin(x1, x2, /):
    """Elementwise minimum ignoring NaNs, as numpy.fmin (ties share the derivative, as
    minimum)."""
    return where(isnan(x2), x1, where(isnan(x1), x2, minimum(x1, x2)))


def where(condition, x=None, y=None, /):
    """Choose x where condition holds, else y (as numpy.where). One argument: nonzero(cond).

    Safe masking: derivatives flow only through the chosen entries, and an inf or NaN in the
    derivative of the branch not taken never leaks into them, so grad of
    where(x > 0, sqrt(x), 0) at 0 is 0 (not NaN), in both modes and at every order; see
    docs/subgradients.md. (The untaken branch is still computed: with config.debug_nans on,
    a NaN it produces is reported.)
    """
    if x is None and y is None:
        from ._indexing import nonzero
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where takes either 1 or 3 arguments")
    return bind(P.select_p, _bool(condition), _arr(x), _arr(y))


def _bool(c):
    c = _arr(c)
    dt = _dtype(c)
    if dt != np.bool_:
        c = not_equal(c, 0)
    return c


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    """Clip values to [a_min, a_max] (either may be None), as numpy.clip.

    Composed as minimum(maximum(a, a_min), a_max), so at a bound (a == a_min or a == a_max)
    the derivative is 1/2 with respect to a and 1/2 with respect to the bound (JAX's value;
    PyTorch's clamp gives 1); see docs/subgradients.md.
    """
    _no_out(out, "clip")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    a = _arr(a)
    if lo is not None:
        a = maximum(a, lo)
    if hi is not None:
        a = minimum(a, hi)
    return a


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise closeness test, as numpy.isclose (no derivative)."""
    a, b = _arr(a), _arr(b)
    close = less_equal(absolute(a - b), atol + rtol * absolute(b))
    close = logical_or(close, equal(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def _dtype(x):
    dt = getattr(x, "dtype", None)
    return dt if dt is not None else np.result_type(x)


def astype(x, dtype, /, copy=True):
    """Convert to dtype (differentiable between inexact dtypes)."""
    x = _arr(x)
    dtype = np.dtype(dtype)
    if _dtype(x) == dtype and not isinstance(x, Tracer):
        return np.array(x, copy=copy) if isinstance(x, np.ndarray) else np.asarray(x, dtype)
    if _dtype(x) == dtype:
        return x
    return bind(P.convert_p, x, dtype=dtype)


def _no_out(out, name):
    if out is not None:
        raise TypeError(f"chainrule.numpy.{name} does not support out=: arrays are values "
                        "here; assign the result instead")


__all__ = [_n for _n, _v in list(globals().items()) if not _n.startswith("_") and callable(_v)
           and getattr(_v, "__module__", None) == __name__]
