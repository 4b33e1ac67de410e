"""chainrule.scipy.special: SciPy's special functions, differentiable, batchable, compilable.

Contract:
- Names, argument order, broadcasting and dtypes follow scipy.special (float64 by default;
  float32 arrays give float32, also when mixed with Python floats; integer inputs give
  float64). Eager results are NumPy arrays. Every function is differentiable in forward and
  reverse mode to any order in each real argument where the derivative exists (integer
  orders such as polygamma's n and multigammaln's d are static), batchable under vmap and
  compilable under jit.
- Each function is one primitive (prims/special.py, prims/elementwise.py) or a composition of
  primitives. The derivatives of gammainc/gammaincc in `a` and of betainc in `a` and `b` have
  no closed form: they are primitives of their own, computed by the classical algorithms
  run in truncated Taylor arithmetic (see the docstrings for the domain and accuracy). The
  derivative of zeta in x is computed by Euler-Maclaurin summation.
- Numerically safe forms: logsumexp, softmax and log_softmax shift by a stop-gradient maximum;
  xlogy, xlog1py, entr, rel_entr and kl_div use the "safe where" pattern, so that their
  derivatives at x == 0 are finite (the untaken branch never sees log(0)).
- Complex arguments: gamma, loggamma, digamma, erf, erfc, erfcx, log_ndtr, expi, exp1 and the
  Riemann zeta (q=None) accept complex values like SciPy. Derivatives are for real arguments;
  gamma, loggamma, erf, erfc, erfcx, expi and exp1 are also complex-differentiable to first
  order (grad(..., holomorphic=True)); their second derivatives need polygamma (real only)
  for gamma and loggamma.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Tracer, bind
from .. import prims as P
from ..prims import special as PS
from .. import numpy as cnp
from ..transforms.custom import stop_gradient

__all__ = [
    "gamma", "gammaln", "loggamma", "digamma", "psi", "polygamma", "multigammaln", "beta",
    "betaln", "betainc", "gammainc", "gammaincc", "erf", "erfc", "erfinv", "erfcx", "ndtr",
    "ndtri", "log_ndtr", "expit", "logit", "log_expit", "logsumexp", "softmax", "log_softmax",
    "xlogy", "xlog1py", "entr", "rel_entr", "kl_div", "i0", "i0e", "i1", "i1e", "j0", "j1",
    "y0", "y1", "zeta", "sinc", "expi", "exp1",
]

_SQRT1_2 = math.sqrt(0.5)


def _arr(x):
    return cnp.asarray(x) if isinstance(x, (list, tuple)) else x


def _unary(prim, name, summary, example):
    def f(x):
        return bind(prim, _arr(x))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"{summary}\n\n    As scipy.special.{name}; differentiable to any order.\n\n"
                 f"    Args:\n      x: array_like.\n    Returns:\n      an array of the "
                 f"broadcast shape.\n\n    Example:\n      >>> {example}\n")
    return f


# --- gamma function family -----------------------------------------------------------------

gamma = _unary(PS.gamma_p, "gamma",
               "The gamma function (real or complex); poles at 0, -1, -2, ...",
               "gamma(4.0)   # 6.0")
gammaln = _unary(P.gammaln_p, "gammaln", "log|Gamma(x)| for real x.",
                 "gammaln(10.0)   # log(362880)")
loggamma = _unary(PS.loggamma_p, "loggamma",
                  "The principal branch of log Gamma(z); NaN for real z <= 0 (as SciPy).",
                  "loggamma(3.0)   # log(2)")
digamma = _unary(P.digamma_p, "digamma", "The logarithmic derivative of Gamma, psi(x).",
                 "digamma(1.0)   # -0.5772156649")
psi = digamma


def polygamma(n, x):
    """The n-th derivative of digamma, psi^(n)(x).

    Args:
      n: a non-negative integer, or an integer array (concrete, broadcast against x).
      x: array_like, real.
    Returns:
      psi^(n)(x) (differentiable in x; n is static).

    Example:
      >>> polygamma(1, 1.0)   # pi^2 / 6
    """
    x = _arr(x)
    if isinstance(n, Tracer):
        raise TypeError("polygamma: the order n must be concrete (a Python int or an integer "
                        "array), not a traced value; it is a static parameter")
    n_arr = np.asarray(n)
    if n_arr.dtype.kind == "f" and np.all(n_arr == np.floor(n_arr)):
        n_arr = n_arr.astype(np.int64)
    if n_arr.dtype.kind not in "iu" or np.any(n_arr < 0):
        raise ValueError(f"polygamma: the order n must be a non-negative integer, got {n!r}")
    if n_arr.ndim == 0:
        return bind(P.polygamma_p, x, n=int(n_arr))
    out = None
    for u in np.unique(n_arr):
        term = cnp.where(n_arr == u, bind(P.polygamma_p, x, n=int(u)), 0.0)
        out = term if out is None else out + term
    return out


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension d.

    log Gamma_d(a) = d(d-1)/4 log(pi) + sum_{j<d} gammaln(a - j/2).

    Args:
      a: array_like, with every a > (d - 1)/2 (checked when a is concrete).
      d: the dimension, a positive Python int (static).
    Returns:
      an array shaped like a (float32 stays float32, where SciPy gives float64).

    Example:
      >>> multigammaln(3.0, 2)   # log(pi)/2 + gammaln(3) + gammaln(2.5)
    """
    if isinstance(d, Tracer) or not np.isscalar(d) or int(d) != d or d < 1:
        raise ValueError(f"multigammaln: d must be a positive integer (dimension), got {d!r}")
    d = int(d)
    a = _arr(a)
    if not isinstance(a, Tracer) and np.any(np.asarray(a) <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: condition a ({a}) > 0.5 * (d-1) ({0.5 * (d - 1)}) "
                         "not met")
    out = bind(P.gammaln_p, a)
    for j in range(1, d):
        out = out + bind(P.gammaln_p, a - 0.5 * j)
    return out + (d * (d - 1) * 0.25 * math.log(math.pi))


def beta(a, b):
    """The beta function B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b).

    Args:
      a, b: array_like (broadcast together).
    Returns:
      B(a, b), differentiable in a and b.

    Example:
      >>> beta(2.0, 3.0)   # 1/12
    """
    return bind(PS.beta_p, _arr(a), _arr(b))


def betaln(a, b):
    """log|B(a, b)|, accurate for large arguments.

    Args:
      a, b: array_like (broadcast together).
    Returns:
      log|B(a, b)|; derivatives digamma(a) - digamma(a + b) (and in b).

    Example:
      >>> betaln(2.0, 3.0)   # log(1/12)
    """
    return bind(PS.betaln_p, _arr(a), _arr(b))


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b).

    Differentiable in x (closed form) and in a and b: the parameter derivatives (any order,
    mixed ones included) are computed by the continued fraction of I_x(a, b) in truncated
    Taylor arithmetic, with I_x(a, b) = 1 - I_(1-x)(b, a) for x > (a+1)/(a+b+2). On
    1e-2 <= a, b <= 1e3 and 0 < x < 1 they agree with finite differences of SciPy to 1e-8
    relative or better (typically 1e-9, relative to I or to 1 - I, whichever is smaller);
    they are 0 at x = 0 and x = 1 and NaN outside the domain.

    Args:
      a, b: array_like, > 0.
      x: array_like, in [0, 1].
    Returns:
      I_x(a, b) in the broadcast shape.

    Example:
      >>> betainc(2.0, 3.0, 0.4)
    """
    return bind(PS.betainc_p, _arr(a), _arr(b), _arr(x))


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x).

    Differentiable in x (closed form) and in a: the derivatives in a (any order) are
    computed by the series of P (x < a + 1) or the continued fraction of Q = 1 - P
    (x >= a + 1) in truncated Taylor arithmetic. On 1e-3 <= a <= 1e4, 0 <= x they agree
    with finite differences of SciPy to 1e-7 relative or better (typically 1e-9, relative to
    P or to Q, whichever is smaller); they are 0 at x = 0 and x = inf, NaN for a <= 0.

    Args:
      a: array_like, > 0.
      x: array_like, >= 0.
    Returns:
      P(a, x) in the broadcast shape.

    Example:
      >>> gammainc(2.0, 1.5)
    """
    return bind(PS.gammainc_p, _arr(a), _arr(x))


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x).

    Derivatives as for gammainc; those in a are computed directly for Q where x >= a + 1, so
    they keep their relative accuracy deep in the upper tail (for log Q).

    Args:
      a: array_like, > 0.
      x: array_like, >= 0.
    Returns:
      Q(a, x) in the broadcast shape.

    Example:
      >>> gammaincc(2.0, 1.5)
    """
    return bind(PS.gammaincc_p, _arr(a), _arr(x))


# --- error function family and the normal distribution -----------------------------------

erf = _unary(P.erf_p, "erf", "The error function.", "erf(0.5)")
erfc = _unary(P.erfc_p, "erfc", "The complementary error function 1 - erf(x).", "erfc(3.0)")
erfinv = _unary(P.erfinv_p, "erfinv", "The inverse of erf on (-1, 1).", "erfinv(0.5)")
erfcx = _unary(PS.erfcx_p, "erfcx",
               "The scaled complementary error function exp(x^2) erfc(x), without overflow.",
               "erfcx(30.0)   # ~ 1 / (30 sqrt(pi))")
ndtri = _unary(PS.ndtri_p, "ndtri", "The inverse of the standard normal CDF, on (0, 1).",
               "ndtri(0.975)   # 1.959964")
log_ndtr = _unary(PS.log_ndtr_p, "log_ndtr",
                  "The log of the standard normal CDF, accurate for very negative x (its "
                  "derivative too).", "log_ndtr(-40.0)   # -804.6084")


def ndtr(x):
    """The standard normal CDF, 0.5 erfc(-x / sqrt(2)).

    Args:
      x: array_like.
    Returns:
      Phi(x) (float32 stays float32).

    Example:
      >>> ndtr(1.96)   # 0.9750021
    """
    return 0.5 * bind(P.erfc_p, _arr(x) * -_SQRT1_2)


# --- logistic function, log-sum-exp ----------------------------------------------------------

expit = _unary(P.expit_p, "expit", "The logistic sigmoid 1 / (1 + exp(-x)), without overflow.",
               "expit(0.0)   # 0.5")


def log_expit(x):
    """log(expit(x)) = -log(1 + exp(-x)), stable for large |x|.

    Args:
      x: array_like.
    Returns:
      log(expit(x)).

    Example:
      >>> log_expit(-100.0)   # -100.0
    """
    return -cnp.logaddexp(0.0, -_arr(x))


def logit(p):
    """The inverse of expit: log(p / (1 - p)).

    Args:
      p: array_like, in [0, 1] (+-inf at the ends, NaN outside).
    Returns:
      log(p) - log1p(-p).

    Example:
      >>> logit(0.5)   # 0.0
    """
    p = _arr(p)
    return cnp.log(p) - cnp.log1p(-p)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over axis, computed stably (as scipy.special.logsumexp).

    The maximum subtracted for stability carries no derivative (it cancels), so derivatives
    are the softmax weights, finite for large inputs and where entries are -inf.

    Args:
      a: array_like.
      axis: int, tuple of ints, or None (all axes).
      b: optional scaling factors, broadcast against a (may be negative with return_sign;
        where b == 0 the entry of a is ignored, even if infinite).
      keepdims: keep the reduced axes with length 1.
      return_sign: also return the sign of the sum; the result is then log|sum|.
    Returns:
      the reduction (and the sign when return_sign).

    Example:
      >>> logsumexp([1000.0, 1000.0])   # 1000.6931471805599
    """
    a = cnp.asarray(a)
    if b is not None:
        a, b = cnp.broadcast_arrays(a, cnp.asarray(b))
        a = cnp.where(cnp.equal(b, 0), -np.inf, a)
    if cnp.size(a):
        m = cnp.max(a, axis=axis, keepdims=True)
        m = stop_gradient(cnp.where(cnp.isfinite(m), m, 0.0))
    else:
        m = 0.0
    e = cnp.exp(a - m)
    if b is not None:
        e = b * e
    s = cnp.sum(e, axis=axis, keepdims=keepdims)
    if not keepdims and cnp.ndim(m):
        m = cnp.reshape(m, cnp.shape(s))
    if return_sign:
        sign = cnp.sign(s)
        s = cnp.abs(s)
    out = cnp.log(s) + m
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) over axis (all axes when None), stably.

    Args:
      x: array_like.
      axis: int, tuple of ints or None.
    Returns:
      an array like x whose entries along axis sum to 1.

    Example:
      >>> softmax([1000.0, 1000.0])   # [0.5, 0.5]
    """
    x = cnp.asarray(x)
    # SciPy's arithmetic (so its values and its NaNs: a +inf entry makes its slice NaN); the
    # shift cancels, so it carries no derivative
    e = cnp.exp(x - stop_gradient(cnp.max(x, axis=axis, keepdims=True)))
    return e / cnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=None):
    """x - logsumexp(x) over axis (all axes when None), stably.

    Args:
      x: array_like.
      axis: int, tuple of ints or None.
    Returns:
      log(softmax(x, axis)), without underflow to -inf.

    Example:
      >>> log_softmax([0.0, 1000.0])   # [-1000.0, 0.0]
    """
    x = cnp.asarray(x)
    # SciPy's arithmetic: shift by the maximum (0 where it is not finite), which cancels
    m = cnp.max(x, axis=axis, keepdims=True)
    tmp = x - stop_gradient(cnp.where(cnp.isfinite(m), m, 0))
    with np.errstate(divide="ignore"):
        return tmp - cnp.log(cnp.sum(cnp.exp(tmp), axis=axis, keepdims=True))


# --- safe x log y forms ---------------------------------------------------------------------

def xlogy(x, y):
    """x * log(y), taken as 0 where x == 0 (unless y is NaN), as scipy.special.xlogy.

    Derivatives: log(y) in x (also at x == 0, where the function is smooth in x for y > 0)
    and x / y in y, which is 0 at x == 0 (also at y == 0: finite there).

    Args:
      x, y: array_like (broadcast together).
    Returns:
      x * log(y).

    Example:
      >>> xlogy(0.0, 0.0)   # 0.0
    """
    x, y = _arr(x), _arr(y)
    usual = cnp.logical_and(cnp.greater(y, 0), cnp.less(y, np.inf))
    bad = cnp.logical_and(cnp.equal(x, 0), cnp.logical_not(cnp.logical_or(usual, cnp.isnan(y))))
    return x * cnp.log(cnp.where(bad, 1.0, y))


def xlog1py(x, y):
    """x * log1p(y), taken as 0 where x == 0 (unless y is NaN), as scipy.special.xlog1py.

    Derivatives: log1p(y) in x, x / (1 + y) in y (0 at x == 0, also at y == -1).

    Args:
      x, y: array_like (broadcast together).
    Returns:
      x * log1p(y).

    Example:
      >>> xlog1py(0.0, -1.0)   # 0.0
    """
    x, y = _arr(x), _arr(y)
    usual = cnp.logical_and(cnp.greater(y, -1), cnp.less(y, np.inf))
    bad = cnp.logical_and(cnp.equal(x, 0), cnp.logical_not(cnp.logical_or(usual, cnp.isnan(y))))
    return x * cnp.log1p(cnp.where(bad, 0.0, y))


def entr(x):
    """Elementwise entropy: -x log x for x > 0, 0 at 0, -inf for x < 0.

    The derivative -log(x) - 1 is used for x > 0; at x == 0 (where it is +inf from the
    right) it is taken as 0, so masked-out probabilities contribute nothing.

    Args:
      x: array_like.
    Returns:
      -x log x.

    Example:
      >>> entr(0.5)   # 0.34657359
    """
    x = _arr(x)
    pos = cnp.greater(x, 0)
    safe = cnp.where(pos, x, 1.0)
    return cnp.where(pos, -safe * cnp.log(safe), cnp.where(cnp.less(x, 0), -np.inf, 0.0 * x))


def _pos_pair(x, y):
    ok = cnp.logical_and(cnp.greater(x, 0), cnp.greater(y, 0))
    return ok, cnp.where(ok, x, 1.0), cnp.where(ok, y, 1.0)


def _other(x, y, at0):
    # x == 0 and y >= 0: at0; NaN in, NaN out (x + y is NaN there); everything else +inf
    nan = cnp.logical_or(cnp.isnan(x), cnp.isnan(y))
    zero = cnp.logical_and(cnp.equal(x, 0), cnp.greater_equal(y, 0))
    return cnp.where(zero, at0, cnp.where(nan, stop_gradient(x + y), np.inf))


def rel_entr(x, y):
    """Elementwise relative entropy: x log(x / y) for x, y > 0; 0 at x == 0, y >= 0; else inf.

    Derivatives log(x / y) + 1 and -x / y for x, y > 0; at x == 0 they are taken as 0
    (finite; the derivative in x is -inf from the right).

    Args:
      x, y: array_like (broadcast together).
    Returns:
      the terms of the Kullback-Leibler divergence sum(rel_entr(p, q)).

    Example:
      >>> rel_entr(0.5, 0.25)   # 0.5 log 2
    """
    x, y = _arr(x), _arr(y)
    ok, xs, ys = _pos_pair(x, y)
    return cnp.where(ok, xs * cnp.log(xs / ys), _other(x, y, 0.0))


def kl_div(x, y):
    """Elementwise x log(x / y) - x + y for x, y > 0; y at x == 0, y >= 0; else inf.

    Derivatives log(x / y) and 1 - x / y for x, y > 0; at x == 0 they are 0 in x (finite)
    and 1 in y.

    Args:
      x, y: array_like (broadcast together).
    Returns:
      the elementwise generalized Kullback-Leibler divergence.

    Example:
      >>> kl_div(0.5, 0.25)   # 0.5 log 2 - 0.25
    """
    x, y = _arr(x), _arr(y)
    ok, xs, ys = _pos_pair(x, y)
    return cnp.where(ok, xs * cnp.log(xs / ys) - xs + ys, _other(x, y, y))


# --- Bessel functions, exponential integrals, zeta, sinc -------------------------------------

i0 = _unary(PS.i0_p, "i0", "The modified Bessel function of the first kind of order 0.",
            "i0(1.0)   # 1.2660658")
i0e = _unary(PS.i0e_p, "i0e", "exp(-|x|) i0(x), without overflow (a kink at 0: derivative 0).",
             "i0e(1000.0)")
i1 = _unary(PS.i1_p, "i1", "The modified Bessel function of the first kind of order 1.",
            "i1(1.0)   # 0.5651591")
i1e = _unary(PS.i1e_p, "i1e", "exp(-|x|) i1(x), without overflow.", "i1e(1000.0)")
j0 = _unary(PS.j0_p, "j0", "The Bessel function of the first kind of order 0.",
            "j0(1.0)   # 0.7651977")
j1 = _unary(PS.j1_p, "j1", "The Bessel function of the first kind of order 1.",
            "j1(1.0)   # 0.4400506")
y0 = _unary(PS.y0_p, "y0", "The Bessel function of the second kind of order 0 (x > 0).",
            "y0(1.0)   # 0.0882570")
y1 = _unary(PS.y1_p, "y1", "The Bessel function of the second kind of order 1 (x > 0).",
            "y1(1.0)   # -0.7812128")
expi = _unary(PS.expi_p, "expi", "The exponential integral Ei(x) (derivative exp(x)/x).",
              "expi(1.0)   # 1.8951178")
exp1 = _unary(PS.exp1_p, "exp1", "The exponential integral E1(x) (derivative -exp(-x)/x).",
              "exp1(1.0)   # 0.2193839")


def zeta(x, q=None):
    """The Riemann zeta function (q=None) or the Hurwitz zeta function sum_n (n + q)^-x.

    Derivatives: in q, -x zeta(x + 1, q); in x (any order), by Euler-Maclaurin summation of
    sum_n (-log(n + q))^k (n + q)^-x, accurate to ~1e-12 relative for -10 <= x <= 100,
    x != 1, q > 0 (the Riemann zeta's derivative uses the same sum's analytic continuation
    for x < 1). As SciPy, the Hurwitz zeta is NaN for x < 1; the Riemann zeta is defined
    for every x != 1 (complex too, values only).

    Args:
      x: array_like.
      q: None, or array_like with q > 0 (broadcast against x).
    Returns:
      zeta(x) or zeta(x, q).

    Example:
      >>> zeta(2.0)   # pi^2 / 6
    """
    if q is None:
        return bind(PS.riemann_zeta_p, _arr(x))
    return bind(PS.zeta_p, _arr(x), _arr(q))


sinc = cnp.sinc
