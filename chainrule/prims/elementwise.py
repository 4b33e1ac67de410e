"""Elementwise primitives: one block each (impl, shape rule, derivatives, batching, lowering).

All of them broadcast like NumPy ufuncs and accept Python scalars, whose dtype is "weak"
(NEP 50). Derivatives are written with primitives and operators; cotangents that come out
broadcast are summed back to the argument's shape by the reverse sweep.
Subgradient convention at kinks: abs'(0) = 0, sign/floor/... have derivative 0, maximum and
minimum split the derivative equally (1/2 each) at ties.
Complex inputs: derivatives of holomorphic functions are f'(z) (principal branches, as NumPy);
VJPs multiply by the conjugate (the real inner product, docs/complex.md); abs, sign, real,
imag and conj have their non-holomorphic rules (abs and sign taken as 0 at z = 0).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sps

from ..core import Primitive, ShapedArray
from .base import elementwise, ufunc_aval


def _same_aval(x, **params):
    return ShapedArray(x.shape, x.dtype)


# --- linear ------------------------------------------------------------------------------------

add_p = elementwise("add", np.add, 2, jvp_rules=(lambda t, ans, x, y: t, lambda t, ans, x, y: t),
                    vjp_rules=(lambda ct, ans, x, y: ct, lambda ct, ans, x, y: ct),
                    traits=("linear", "commutative"))
sub_p = elementwise("subtract", np.subtract, 2,
                    jvp_rules=(lambda t, ans, x, y: t, lambda t, ans, x, y: -t),
                    vjp_rules=(lambda ct, ans, x, y: ct, lambda ct, ans, x, y: -ct),
                    traits=("linear",))
neg_p = elementwise("negative", np.negative, 1, jvp_rules=(lambda t, ans, x: -t,),
                    vjp_rules=(lambda ct, ans, x: -ct,), traits=("linear",))
conj_p = elementwise("conjugate", np.conjugate, 1, jvp_rules=(lambda t, ans, x: conj_p(t),),
                     vjp_rules=(lambda ct, ans, x: conj_p(ct),), traits=("linear",))


def _real_vjp(ct, ans, x):
    return ct if x.dtype.kind != "c" else convert_c(ct, x.dtype)


def _imag_vjp(ct, ans, x):
    # cotangents follow the real inner product Re<a, b>: Im(x) = Re(-i x) pulls back to i ct
    return None if x.dtype.kind != "c" else convert_c(ct, x.dtype) * 1j


def convert_c(x, dtype):
    from .structural import convert_p
    return convert_p(x, dtype=dtype)


real_p = elementwise("real", np.real, 1, jvp_rules=(lambda t, ans, x: real_p(t),),
                     vjp_rules=(_real_vjp,), traits=("linear",),
                     aval=lambda x: ShapedArray(x.shape, np.empty(0, x.dtype).real.dtype))
imag_p = elementwise("imag", np.imag, 1, jvp_rules=(lambda t, ans, x: imag_p(t),),
                     vjp_rules=(_imag_vjp,), traits=("linear",),
                     aval=lambda x: ShapedArray(x.shape, np.empty(0, x.dtype).real.dtype))

# --- arithmetic ----------------------------------------------------------------------------------

# Impls check their result for NaN with r = out.ravel(order="K"); s = np.vdot(r, r); s != s.
# The sum of squares (one BLAS pass, faster than np.isnan or a plain sum) is NaN whenever an
# element is NaN; it also is for complex infinities (inf - inf in the imaginary part), which
# only sends those to the slow, exact path. ravel in memory order is a view of any contiguous
# result (np.vdot itself would copy an F-ordered one). Kept inline: impls stay self-contained
# functions (standalone code export).


def _zmul(x, y):
    out = np.multiply(x, y)
    r = out.ravel(order="K")  # a view for any contiguous layout (vdot would copy)
    s = np.vdot(r, r)
    if s != s:
        # a zero times inf (or NaN) is taken as zero: zero cotangents stay zero
        out = np.where(np.logical_or(np.equal(x, 0), np.equal(y, 0)), 0, out)
    return out


zmul_p = elementwise("zero_safe_multiply", _zmul, 2,
                     jvp_rules=(lambda t, ans, x, y: zmul_p(t, y),
                                lambda t, ans, x, y: zmul_p(x, t)),
                     vjp_rules=(lambda ct, ans, x, y: zmul_p(ct, conj_if_c(y)),
                                lambda ct, ans, x, y: zmul_p(conj_if_c(x), ct)),
                     aval=ufunc_aval(np.multiply), traits=("commutative", "bilinear"))


def _ct_mul(ct, y):
    """ct * y for cotangents: zero-safe unless y is a Python scalar."""
    t = type(y)
    if t is float or t is int:
        return ct * y
    if t is np.ndarray and y.dtype.kind != "c":
        return zmul_p(ct, y)
    return zmul_p(ct, conj_if_c(y))


mul_p = elementwise("multiply", np.multiply, 2,
                    jvp_rules=(lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t),
                    vjp_rules=(lambda ct, ans, x, y: _ct_mul(ct, y),
                               lambda ct, ans, x, y: _ct_mul(ct, x)),
                    traits=("commutative", "bilinear"))


def _true_divide(x, y):
    if type(x) is np.float64 and (type(y) is int or type(y) is float):
        # NumPy's scalar arithmetic: the ufunc's result and warnings at a fraction of the
        # call's cost (a mean's sum divided by the count)
        return x / y
    return np.true_divide(x, y)


div_p = elementwise("divide", _true_divide, 2, aval=ufunc_aval(np.true_divide),
                    lower="np.true_divide",
                    jvp_rules=(lambda t, ans, x, y: t / y, lambda t, ans, x, y: -t * ans / y),
                    vjp_rules=(lambda ct, ans, x, y: _ct_mul(ct, 1.0 / y),
                               lambda ct, ans, x, y: -_ct_mul(ct, ans / y)))


def conj_if_c(x):
    dt = getattr(x, "dtype", None)
    if dt is not None and dt.kind == "c":
        return conj_p(x)
    if isinstance(x, complex):
        return x.conjugate()
    return x


def _pow_d0(ans, x, y):
    # d/dx x**y = y * x**(y-1), taken as 0 where y == 0 (also at x == 0)
    if isinstance(y, (int, float)):
        if y == 0:
            return 0.0 * x
        if y == 2:
            return 2.0 * x
        return y * pow_p(x, y - 1)
    return select_p(eq_p(y, 0), 0.0, y * pow_p(x, y - 1))


def _pow_d1(ans, x, y):
    # d/dy x**y = log(x) * x**y, taken as 0 where x == 0 (the limit from the right for y > 0)
    xz = eq_p(x, 0)
    base = select_p(xz, 1.0, x)
    if ans.dtype.kind == "c" and base.dtype.kind != "c":
        base = convert_c(base, ans.dtype)  # a real base with a complex exponent: complex log
    return select_p(xz, 0.0, log_p(base) * ans)


pow_p = elementwise("power", np.power, 2, derivs=(_pow_d0, _pow_d1))


def _max_d(ans, x, y):
    return select_p(gt_p(x, y), 1.0, select_p(eq_p(x, y), 0.5, 0.0))


def _min_d(ans, x, y):
    return select_p(lt_p(x, y), 1.0, select_p(eq_p(x, y), 0.5, 0.0))


max_p = elementwise("maximum", np.maximum, 2,
                    derivs=(_max_d, lambda ans, x, y: _max_d(ans, y, x)), traits=("commutative",))
min_p = elementwise("minimum", np.minimum, 2,
                    derivs=(_min_d, lambda ans, x, y: _min_d(ans, y, x)), traits=("commutative",))
fmod_p = elementwise("fmod", np.fmod, 2,
                     derivs=(lambda ans, x, y: 1.0, lambda ans, x, y: -trunc_p(x / y)))
rem_p = elementwise("remainder", np.remainder, 2,
                    derivs=(lambda ans, x, y: 1.0, lambda ans, x, y: -floor_p(x / y)))
floordiv_p = elementwise("floor_divide", np.floor_divide, 2)
atan2_p = elementwise("arctan2", np.arctan2, 2,
                      derivs=(lambda ans, y, x: x / (x * x + y * y),
                              lambda ans, y, x: -y / (x * x + y * y)))


def _hypot_d(ans, x, y):
    nz = eq_p(ans, 0)
    return select_p(nz, 0.0, x / select_p(nz, 1.0, ans))


hypot_p = elementwise("hypot", np.hypot, 2,
                      derivs=(_hypot_d, lambda ans, x, y: _hypot_d(ans, y, x)),
                      traits=("commutative",))
def _logaddexp(x1, x2):
    # NumPy's logaddexp loop is ~4x slower than this composition of fast ufuncs, and as
    # accurate (measured against long double: both are within cancellation error near 0).
    # jit and export call this same function (no `lower`; it is self-contained, NumPy only),
    # so that staged and eager values are equal bit for bit.
    if type(x1) in (int, float) and x1 == 0 and getattr(x2, "dtype", np.dtype("f8")).kind == "f":
        m = np.maximum(x2, 0.0)
        d = np.abs(x2)
        finite_scalar = True
    else:
        m = np.maximum(x1, x2)
        if m.dtype.kind != "f":
            # integer/bool inputs (NumPy's loop picks the float dtype; the composition would
            # wrap unsigned differences and write floats into ints); complex: NumPy's TypeError
            return np.logaddexp(x1, x2)
        with np.errstate(invalid="ignore"):
            d = np.abs(np.subtract(x1, x2))
        # a Python number operand that stays finite in m's dtype (float16's range always)
        finite_scalar = False
        for c in (x1, x2):
            if (type(c) is float or type(c) is int) and (
                    -65504.0 <= c <= 65504.0 or (m.dtype == np.float64 and abs(c) < np.inf)):
                finite_scalar = True
    if type(d) is np.ndarray and d.shape == m.shape and d.dtype == m.dtype:
        # d is a fresh temporary of the result's shape: work in place
        np.negative(d, out=d)
        np.exp(d, out=d)
        np.log1p(d, out=d)
        out = np.add(m, d, out=d)
    else:
        out = m + np.log1p(np.exp(-d))
    if finite_scalar:
        # d is NaN only where the array operand is, and so is m: out is right as it stands
        return out
    r = out.ravel(order="K")  # a view for any contiguous layout (vdot would copy)
    s = np.vdot(r, r)
    if s != s:
        # both infinite with the same sign give NaN above (exactly where d is NaN); the
        # answer is then m (which is itself NaN where an input is NaN)
        out = np.where(np.isnan(out), m, out)
    return out


_logaddexp.resolve_dtypes = np.logaddexp.resolve_dtypes
logaddexp_p = elementwise("logaddexp", _logaddexp, 2, aval=ufunc_aval(np.logaddexp),
                          bounded=True,
                          derivs=(lambda ans, x, y: exp_p(x - ans),
                                  lambda ans, x, y: exp_p(y - ans)), traits=("commutative",))
logaddexp2_p = elementwise("logaddexp2", np.logaddexp2, 2,
                           derivs=(lambda ans, x, y: exp2_p(x - ans),
                                   lambda ans, x, y: exp2_p(y - ans)), traits=("commutative",))
copysign_p = elementwise(
    "copysign", np.copysign, 2,
    derivs=(lambda ans, x, y: select_p(ne_p(signbit_p(x), signbit_p(y)), -1.0, 1.0), None))
nextafter_p = elementwise("nextafter", np.nextafter, 2)
heaviside_p = elementwise("heaviside", np.heaviside, 2)

# --- unary math ------------------------------------------------------------------------------------

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _unary(name, impl, d, **kw):
    return elementwise(name, impl, 1, derivs=(d,), **kw)


_BOUNDED = dict(bounded=True)


exp_p = _unary("exp", np.exp, lambda ans, x: ans)
exp2_p = _unary("exp2", np.exp2, lambda ans, x: ans * _LN2)
expm1_p = _unary("expm1", np.expm1, lambda ans, x: ans + 1.0)
log_p = _unary("log", np.log, lambda ans, x: 1.0 / x)
log2_p = _unary("log2", np.log2, lambda ans, x: 1.0 / (x * _LN2))
log10_p = _unary("log10", np.log10, lambda ans, x: 1.0 / (x * _LN10))
log1p_p = _unary("log1p", np.log1p, lambda ans, x: 1.0 / (x + 1.0))
sqrt_p = _unary("sqrt", np.sqrt, lambda ans, x: 0.5 / ans)
cbrt_p = _unary("cbrt", np.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans))
sin_p = _unary("sin", np.sin, lambda ans, x: cos_p(x), **_BOUNDED)
cos_p = _unary("cos", np.cos, lambda ans, x: -sin_p(x), **_BOUNDED)
tan_p = _unary("tan", np.tan, lambda ans, x: 1.0 + ans * ans)
arcsin_p = _unary("arcsin", np.arcsin, lambda ans, x: 1.0 / sqrt_p(1.0 - x * x))
arccos_p = _unary("arccos", np.arccos, lambda ans, x: -1.0 / sqrt_p(1.0 - x * x))
arctan_p = _unary("arctan", np.arctan, lambda ans, x: 1.0 / (1.0 + x * x), **_BOUNDED)
sinh_p = _unary("sinh", np.sinh, lambda ans, x: cosh_p(x))
cosh_p = _unary("cosh", np.cosh, lambda ans, x: sinh_p(x))
tanh_p = _unary("tanh", np.tanh, lambda ans, x: 1.0 - ans * ans, **_BOUNDED)
arcsinh_p = _unary("arcsinh", np.arcsinh, lambda ans, x: 1.0 / sqrt_p(x * x + 1.0))


def _arccosh_d(ans, x):
    if x.dtype.kind == "c":
        # the principal branch: sqrt(x - 1) * sqrt(x + 1), not sqrt(x * x - 1)
        return 1.0 / (sqrt_p(x - 1.0) * sqrt_p(x + 1.0))
    return 1.0 / sqrt_p(x * x - 1.0)


arccosh_p = _unary("arccosh", np.arccosh, _arccosh_d)
arctanh_p = _unary("arctanh", np.arctanh, lambda ans, x: 1.0 / (1.0 - x * x))


def _abs_d(ans, x):
    if x.dtype.kind == "c":
        nz = eq_p(ans, 0)
        return select_p(nz, 0.0, conj_p(x) / select_p(nz, 1.0, ans))
    return sign_p(x)


def _abs_vjp(ct, ans, x):
    if x.dtype.kind == "c":
        nz = eq_p(ans, 0)
        return select_p(nz, 0.0, ct * x / select_p(nz, 1.0, ans))
    return ct * sign_p(x)


abs_p = elementwise("absolute", np.absolute, 1,
                    jvp_rules=(lambda t, ans, x: real_p(t * _abs_d(ans, x))
                               if x.dtype.kind == "c" else t * sign_p(x),),
                    vjp_rules=(_abs_vjp,))

# special functions (SciPy ufuncs)
_SQRT_PI = math.sqrt(math.pi)
erf_p = _unary("erf", sps.erf, lambda ans, x: (2.0 / _SQRT_PI) * exp_p(-(x * x)),
               lower="sps.erf")
erfc_p = _unary("erfc", sps.erfc, lambda ans, x: (-2.0 / _SQRT_PI) * exp_p(-(x * x)),
                lower="sps.erfc")
erfinv_p = _unary("erfinv", sps.erfinv, lambda ans, x: (_SQRT_PI / 2.0) * exp_p(ans * ans),
                  lower="sps.erfinv")
expit_p = _unary("expit", sps.expit, lambda ans, x: ans * (1.0 - ans), lower="sps.expit",
                 bounded=True)
gammaln_p = _unary("gammaln", sps.gammaln, lambda ans, x: digamma_p(x), lower="sps.gammaln")
digamma_p = _unary("digamma", sps.digamma, lambda ans, x: polygamma_p(x, n=1),
                   lower="sps.digamma")


def _polygamma(x, *, n):
    x = np.asarray(x)
    out = sps.polygamma(n, x)
    return out.astype(x.dtype) if x.dtype.kind == "f" else out


polygamma_p = elementwise("polygamma", _polygamma, 1,
                          derivs=(lambda ans, x, n: polygamma_p(x, n=n + 1),),
                          aval=lambda x, n: ShapedArray(
                              x.shape, np.result_type(x.dtype, np.float64)
                              if x.dtype.kind not in "fc" else x.dtype))

# --- no derivative ---------------------------------------------------------------------------------



def _csign_d(t, ans, x):
    # complex sign(x) = x / |x|: d sign = (t - sign * Re(conj(sign) t)) / |x|, a self-adjoint
    # map (so the same formula is the VJP); 0 at x = 0. Real sign has derivative 0.
    if x.dtype.kind != "c":
        return None
    r = abs_p(x)
    zero = eq_p(r, 0)
    return select_p(zero, 0.0, (t - ans * real_p(conj_p(ans) * t)) / select_p(zero, 1.0, r))


sign_p = elementwise("sign", np.sign, 1, jvp_rules=(_csign_d,), vjp_rules=(_csign_d,))
floor_p = elementwise("floor", np.floor, 1)
ceil_p = elementwise("ceil", np.ceil, 1)
trunc_p = elementwise("trunc", np.trunc, 1)
rint_p = elementwise("rint", np.rint, 1)


def _round(x, *, decimals):
    return np.round(x, decimals)


round_p = elementwise("round", _round, 1, aval=_same_aval)
isnan_p = elementwise("isnan", np.isnan, 1)
isinf_p = elementwise("isinf", np.isinf, 1)
isfinite_p = elementwise("isfinite", np.isfinite, 1)
signbit_p = elementwise("signbit", np.signbit, 1)
not_p = elementwise("logical_not", np.logical_not, 1)
invert_p = elementwise("invert", np.invert, 1)
eq_p = elementwise("equal", np.equal, 2, traits=("commutative",))
ne_p = elementwise("not_equal", np.not_equal, 2, traits=("commutative",))
lt_p = elementwise("less", np.less, 2)
le_p = elementwise("less_equal", np.less_equal, 2)
gt_p = elementwise("greater", np.greater, 2)
ge_p = elementwise("greater_equal", np.greater_equal, 2)
and_p = elementwise("logical_and", np.logical_and, 2, traits=("commutative",))
or_p = elementwise("logical_or", np.logical_or, 2, traits=("commutative",))
xor_p = elementwise("logical_xor", np.logical_xor, 2, traits=("commutative",))
bitand_p = elementwise("bitwise_and", np.bitwise_and, 2, traits=("commutative",))
bitor_p = elementwise("bitwise_or", np.bitwise_or, 2, traits=("commutative",))
bitxor_p = elementwise("bitwise_xor", np.bitwise_xor, 2, traits=("commutative",))
lshift_p = elementwise("left_shift", np.left_shift, 2)
rshift_p = elementwise("right_shift", np.right_shift, 2)

# --- selection and gradient blocking ------------------------------------------------------------


def _select_aval(c, x, y):
    shape = np.broadcast_shapes(c.shape, np.shape(x) if not hasattr(x, "shape") else x.shape,
                                np.shape(y) if not hasattr(y, "shape") else y.shape)
    dt = np.result_type(getattr(x, "dtype", x), getattr(y, "dtype", y))
    return ShapedArray(shape, dt)


select_p = elementwise(
    "where", np.where, 3,
    jvp_rules=(None, lambda t, ans, c, x, y: select_p(c, t, 0.0),
               lambda t, ans, c, x, y: select_p(c, 0.0, t)),
    vjp_rules=(None, lambda ct, ans, c, x, y: select_p(c, ct, 0.0),
               lambda ct, ans, c, x, y: select_p(c, 0.0, ct)),
    aval=_select_aval, lower="np.where")


def _identity(x):
    return x


stop_gradient_p = elementwise("stop_gradient", _identity, 1, aval=_same_aval, lower="")
