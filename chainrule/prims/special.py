"""Primitives for chainrule's special functions (chainrule.scipy.special), one block each.

Contract:
- Values come from SciPy's ufuncs; the result dtype follows NEP 50 (Python scalars are weak),
  so float32 arrays give float32 results even when mixed with Python floats.
- Derivatives with a closed form are written with primitives (so every order works).
- The derivatives of the regularized incomplete gamma functions in `a` and of the regularized
  incomplete beta function in `a` and `b` have no closed form. They are primitives of their
  own (`igamma_da`, `betainc_dab`), carrying the derivative order as a static parameter, so
  that differentiating them again only raises the order. Their impl runs the classical
  algorithms (the series / continued fraction of the incomplete gamma function, the continued
  fraction of the incomplete beta function) in truncated Taylor arithmetic in the shape
  parameters ("jets"), which gives every derivative to about the accuracy of the value.
- The derivatives of the Hurwitz zeta function in x are the primitive `zeta_dx` (order k as a
  static parameter), computed by Euler-Maclaurin summation.
- The derivative primitives have no lowering (their impl is Python over NumPy): programs
  using them run under jit, but `export` (standalone source) refuses them by name.
- Special primitives that predate this module (erf, erfc, erfinv, expit, gammaln, digamma,
  polygamma) live in prims/elementwise.py.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sps

from ..core import ShapedArray
from .base import elementwise, ufunc_aval
from .elementwise import (digamma_p, eq_p, exp_p, gammaln_p, log1p_p, log_p, lt_p,
                          or_p, polygamma_p, pow_p, select_p, sign_p, sin_p, cos_p, zmul_p)

TESTED_IN = "tests/test_special.py"

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# --- dtype handling shared by the blocks -------------------------------------------------------

_resolved: dict = {}


def _out_dtype(ufunc, dts):
    """The output dtype of SciPy `ufunc` for argument dtypes (or weak Python scalars) `dts`."""
    rt = np.result_type(*dts)
    key = (ufunc, rt)
    dt = _resolved.get(key)
    if dt is None:
        try:
            dt = ufunc.resolve_dtypes((rt,) * ufunc.nin + (None,))[-1]
        except Exception:  # no loop (e.g. complex in a real-only function): SciPy raises
            dt = rt
        _resolved[key] = dt
    return dt


def _casting_impl(ufunc):
    """SciPy's ufunc, with the output cast to the NEP 50 dtype (SciPy promotes a float32
    array mixed with a Python float to float64 in some functions and not in others)."""
    def impl(*args):
        out = ufunc(*args)
        dt = _out_dtype(ufunc, args)
        return out if out.dtype == dt else out.astype(dt)
    impl.__name__ = ufunc.__name__
    return impl


def _lower_call(dotted, ufunc):
    """Lowering to `dotted(*args)`, cast like `_casting_impl` does."""
    def lower(ins, params, avals):
        dts = [a.dtype if (s.isidentifier() or s.startswith("np.")) else _weak(a.dtype)
               for s, a in zip(ins, avals)]
        dt = _out_dtype(ufunc, dts)
        call = f"{dotted}({', '.join(ins)})"
        return call if dt == np.float64 else f"np.asarray({call}, np.{dt.name})"
    return lower


def _weak(dt):
    # a Python literal in generated source: a weak scalar of its kind
    return {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}[np.dtype(dt).kind]


def _unary_sp(name, d, **kw):
    """An elementwise primitive for the one-argument SciPy ufunc `name`, derivative d."""
    ufunc = getattr(sps, name)
    return elementwise(name, ufunc, 1, derivs=(d,), lower=f"sps.{name}", **kw)


def _nary_sp(name, nargs, derivs):
    ufunc = getattr(sps, name)
    return elementwise(name, _casting_impl(ufunc), nargs, derivs=derivs,
                       aval=ufunc_aval(ufunc), lower=_lower_call(f"sps.{name}", ufunc))


def _safe_div_x(num, x, at0):
    """num / x, taken as `at0` where x == 0 (the untaken branch never divides by zero)."""
    z = eq_p(x, 0)
    return select_p(z, at0, num / select_p(z, 1.0, x))


def _dgamma(n, x):
    """The n-th derivative of digamma at x, as a primitive (n = 0: digamma itself)."""
    return digamma_p(x) if n == 0 else polygamma_p(x, n=n)


# --- gamma function family ------------------------------------------------------------------

gamma_p = _unary_sp("gamma", lambda ans, x: ans * digamma_p(x))
loggamma_p = _unary_sp("loggamma", lambda ans, x: digamma_p(x))


def _betas_d(ans, a, b, which, log):
    s = digamma_p(a + b)
    d = (digamma_p(a) if which == 0 else digamma_p(b)) - s
    return d if log else ans * d


beta_p = _nary_sp("beta", 2, (lambda ans, a, b: _betas_d(ans, a, b, 0, False),
                              lambda ans, a, b: _betas_d(ans, a, b, 1, False)))
betaln_p = _nary_sp("betaln", 2, (lambda ans, a, b: _betas_d(ans, a, b, 0, True),
                                  lambda ans, a, b: _betas_d(ans, a, b, 1, True)))


# --- error function family and the normal distribution ---------------------------------------

erfcx_p = _unary_sp("erfcx", lambda ans, x: 2.0 * x * ans - 2.0 / _SQRT_PI)
ndtri_p = _unary_sp("ndtri", lambda ans, p: _SQRT_2PI * exp_p(0.5 * ans * ans))


def _log_ndtr_d(ans, x):
    # phi(x) / Phi(x): for x < 0 as sqrt(2/pi) / erfcx(-x/sqrt2) (no underflow for very
    # negative x); for x >= 0 as exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi) (no overflow of erfcx)
    neg = lt_p(x, 0)
    xn = select_p(neg, x, 0.0)
    xp = select_p(neg, 0.0, x)
    left = _SQRT_2_OVER_PI / erfcx_p(xn * (-1.0 / _SQRT_2))
    right = exp_p(-0.5 * xp * xp - select_p(neg, 0.0, ans)) * (1.0 / _SQRT_2PI)
    return select_p(neg, left, right)


log_ndtr_p = _unary_sp("log_ndtr", _log_ndtr_d)


# --- exponential integrals --------------------------------------------------------------------

expi_p = _unary_sp("expi", lambda ans, x: exp_p(x) / x)
exp1_p = _unary_sp("exp1", lambda ans, x: -exp_p(-x) / x)


# --- Bessel functions -------------------------------------------------------------------------
# I1'(x) = I0(x) - I1(x)/x and J1'(x) = J0(x) - J1(x)/x tend to 1/2 at x = 0.

i0_p = _unary_sp("i0", lambda ans, x: i1_p(x))
i1_p = _unary_sp("i1", lambda ans, x: i0_p(x) - _safe_div_x(ans, x, 0.5))
i0e_p = _unary_sp("i0e", lambda ans, x: i1e_p(x) - sign_p(x) * ans)
i1e_p = _unary_sp("i1e",
                  lambda ans, x: i0e_p(x) - _safe_div_x(ans, x, 0.5) - sign_p(x) * ans)
j0_p = _unary_sp("j0", lambda ans, x: -j1_p(x))
j1_p = _unary_sp("j1", lambda ans, x: j0_p(x) - _safe_div_x(ans, x, 0.5))
y0_p = _unary_sp("y0", lambda ans, x: -y1_p(x))
y1_p = _unary_sp("y1", lambda ans, x: y0_p(x) - ans / x)


# --- truncated Taylor arithmetic in the shape parameters (for the impls below) ---------------


class _Jet:
    """A truncated bivariate Taylor series c[p, q] (da^p db^q), p <= I, q <= J, of arrays.

    Products keep every coefficient with p <= I and q <= J (a rectangular truncation, closed
    under multiplication), which is what mixed partial derivatives need.
    """

    __slots__ = ("c",)
    __array_ufunc__ = None  # ndarray (op) jet defers to the jet's reflected operator

    def __init__(self, c):
        self.c = c

    @classmethod
    def const(cls, v, order):
        c = np.zeros((order[0] + 1, order[1] + 1) + np.shape(v))
        c[0, 0] = v
        return cls(c)

    @classmethod
    def var(cls, v, order, which):
        j = cls.const(v, order)
        idx = (1, 0) if which == 0 else (0, 1)
        if order[which] >= 1:
            j.c[idx] = 1.0
        return j

    def __add__(self, other):
        if isinstance(other, _Jet):
            return _Jet(self.c + other.c)
        c = self.c.copy()
        c[0, 0] = c[0, 0] + other
        return _Jet(c)

    __radd__ = __add__

    def __neg__(self):
        return _Jet(-self.c)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, _Jet):
            return _Jet(self.c * other)
        f, g = self.c, other.c
        out = np.zeros(np.broadcast_shapes(f.shape, g.shape))
        n1, n2 = f.shape[0], f.shape[1]
        for p in range(n1):
            for q in range(n2):
                out[p:, q:] += f[p, q] * g[:n1 - p, :n2 - q]
        return _Jet(out)

    __rmul__ = __mul__

    def recip(self):
        # 1 / (g00 (1 + m)) = (1/g00) sum_n (-m)^n, m nilpotent
        inv = 1.0 / self.c[0, 0]
        m = _Jet(self.c * inv)
        m.c[0, 0] = 0.0
        total = term = _Jet.const(inv, (self.c.shape[0] - 1, self.c.shape[1] - 1))
        for _ in range(self.c.shape[0] + self.c.shape[1] - 2):
            term = term * -m
            total = total + term
        return total

    def __truediv__(self, other):
        if not isinstance(other, _Jet):
            return _Jet(self.c / other)
        return self * other.recip()

    def __rtruediv__(self, other):
        return self.recip() * other

    def exp(self):
        # exp(c00 + N) = exp(c00) * sum_n N^n / n!, N nilpotent of degree I + J + 1
        e0 = np.exp(self.c[0, 0])
        nil = _Jet(self.c.copy())
        nil.c[0, 0] = 0.0
        total = _Jet.const(np.ones_like(e0), (self.c.shape[0] - 1, self.c.shape[1] - 1))
        term = total
        for n in range(1, self.c.shape[0] + self.c.shape[1] - 1):
            term = term * nil * (1.0 / n)
            total = total + term
        return total * e0

    def fix_tiny(self, tiny=1e-300):
        """Keep the constant term away from 0 (the modified Lentz algorithm's guard)."""
        c00 = self.c[0, 0]
        self.c[0, 0] = np.where(np.abs(c00) < tiny, tiny, c00)
        return self

    def dist_to(self, value):
        """max over coefficients of |self - value| per element."""
        d = np.abs(self.c).copy()
        d[0, 0] = np.abs(self.c[0, 0] - value)
        return d.max(axis=(0, 1))

    def deriv(self, i, j):
        return self.c[i, j] * (math.factorial(i) * math.factorial(j))


def _lgamma_jet(a, order, which):
    """The jet of log Gamma at a + d(which)."""
    j = _Jet.const(sps.gammaln(a), order)
    for n in range(1, order[which] + 1):
        idx = (n, 0) if which == 0 else (0, n)
        j.c[idx] = sps.polygamma(n - 1, a) / math.factorial(n)
    return j


def _lbeta_jet(a, b, order):
    """The jet of log B(a + da, b + db)."""
    j = _Jet.const(sps.betaln(a, b), order)
    for p in range(order[0] + 1):
        for q in range(order[1] + 1):
            if p == 0 and q == 0:
                continue
            c = -sps.polygamma(p + q - 1, a + b)
            if q == 0:
                c = c + sps.polygamma(p - 1, a)
            if p == 0:
                c = c + sps.polygamma(q - 1, b)
            j.c[p, q] = c / (math.factorial(p) * math.factorial(q))
    return j


_EPS = 1e-17     # series: relative size of the last term
_EPS_CF = 1e-15  # continued fractions: |delta - 1| (a few ulps: it can stall at 1 - 1 ulp)
_MAXIT = 5000


def _igamma_series(a, x, k):
    """The jet (order k in a) of P(a, x) by the power series (for x < a + 1)."""
    order = (k, 0)
    aj = _Jet.var(a, order, 0)
    term = 1.0 / aj
    total = term
    ap = aj
    for _ in range(_MAXIT):
        ap = ap + 1.0
        term = term * (x / ap)
        total = total + term
        if np.all(np.abs(term.c).max(axis=(0, 1)) <= _EPS * np.abs(total.c).max(axis=(0, 1))):
            break
    else:
        total.c[...] = np.nan
    front = (aj * np.log(x) - x - _lgamma_jet(a, order, 0)).exp()
    return total * front


def _igamma_cf(a, x, k):
    """The jet (order k in a) of Q(a, x) by the continued fraction (for x >= a + 1)."""
    order = (k, 0)
    aj = _Jet.var(a, order, 0)
    b = (x + 1.0) - aj
    c = _Jet.const(np.full(np.shape(x), 1e300), order)
    d = b.recip()
    h = d
    for i in range(1, _MAXIT):
        an = (aj - float(i)) * float(i)
        b = b + 2.0
        d = (an * d + b).fix_tiny().recip()
        c = (b + an / c).fix_tiny()
        delta = d * c
        h = h * delta
        if np.all(delta.dist_to(1.0) <= _EPS_CF):
            break
    else:
        h.c[...] = np.nan
    front = (aj * np.log(x) - x - _lgamma_jet(a, order, 0)).exp()
    return h * front


def _igamma_da(a, x, *, k, upper):
    """d^k/da^k of P(a, x) (upper=False) or Q(a, x) (upper=True), k >= 1."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    out = np.full(a.shape, np.nan)
    ok = (a > 0) & (x >= 0) & ~np.isnan(x)
    edge = ok & ((x == 0) | np.isinf(x))
    out[edge] = 0.0
    inner = ok & ~edge
    ser = inner & (x < a + 1)
    cf = inner & ~ser
    if ser.any():
        v = _igamma_series(a[ser], x[ser], k).deriv(k, 0)
        out[ser] = -v if upper else v
    if cf.any():
        v = _igamma_cf(a[cf], x[cf], k).deriv(k, 0)
        out[cf] = v if upper else -v
    return out.reshape(shape)


def _betainc_cf(aj, bj, x):
    """The jet of the continued fraction of I_x(a, b) (Lentz), for x < (a+1)/(a+b+2)."""
    qab = aj + bj
    qap = aj + 1.0
    qam = aj - 1.0
    c = _Jet.const(np.ones(np.shape(x)), (aj.c.shape[0] - 1, aj.c.shape[1] - 1))
    d = (1.0 - qab * x / qap).fix_tiny().recip()
    h = d
    for m in range(1, _MAXIT):
        m2 = 2.0 * m
        aa = m * (bj - float(m)) * x / ((qam + m2) * (aj + m2))
        d = (1.0 + aa * d).fix_tiny().recip()
        c = (1.0 + aa / c).fix_tiny()
        h = h * d * c
        aa = -((aj + float(m)) * (qab + float(m))) * x / ((aj + m2) * (qap + m2))
        d = (1.0 + aa * d).fix_tiny().recip()
        c = (1.0 + aa / c).fix_tiny()
        delta = d * c
        h = h * delta
        if np.all(delta.dist_to(1.0) <= _EPS_CF):
            break
    else:
        h.c[...] = np.nan
    return h


def _betainc_jet(a, b, x, order, swap):
    """The jet of I_x(a, b) in (da, db); with swap, computed as 1 - I_{1-x}(b, a)."""
    aj = _Jet.var(a, order, 0)
    bj = _Jet.var(b, order, 1)
    lb = _lbeta_jet(a, b, order)  # B(a, b) = B(b, a): the same jet after the swap
    if swap:
        aj, bj, x = bj, aj, 1.0 - x
    front = (aj * np.log(x) + bj * np.log1p(-x) - lb).exp()
    val = front * _betainc_cf(aj, bj, x) / aj
    return 1.0 - val if swap else val


def _betainc_dab(a, b, x, *, i, j):
    """d^i/da^i d^j/db^j of I_x(a, b), i + j >= 1."""
    a, b, x = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, x)))
    shape = a.shape
    a, b, x = a.ravel(), b.ravel(), x.ravel()
    out = np.full(a.shape, np.nan)
    ok = (a > 0) & (b > 0) & (x >= 0) & (x <= 1)
    edge = ok & ((x == 0) | (x == 1))
    out[edge] = 0.0
    inner = ok & ~edge
    swap = x > (a + 1.0) / (a + b + 2.0)
    for s in (False, True):
        m = inner & (swap == s)
        if m.any():
            out[m] = _betainc_jet(a[m], b[m], x[m], (i, j), s).deriv(i, j)
    return out.reshape(shape)


# --- Euler-Maclaurin summation for the x-derivatives of the Hurwitz zeta function ------------

# B_2j / (2j)! for j = 1..12
_BERN = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
         43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730]
_EM_COEF = [b / math.factorial(2 * j + 2) for j, b in enumerate(_BERN)]


def _zeta_dx(x, q, *, k):
    """d^k/dx^k zeta(x, q) = sum_n (-log(n + q))^k (n + q)^-x, k >= 1, by Euler-Maclaurin.

    The formula is the analytic continuation, so it also holds for 0 <= x < 1 (used for the
    Riemann zeta function, q = 1; for x < 0 the partial sums cancel badly)."""
    x, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(q, np.float64))
    shape = x.shape
    x, q = x.ravel(), q.ravel()
    finite = np.isfinite(x) & np.isfinite(q)
    xm = float(np.max(np.abs(x[finite]))) if finite.any() else 0.0
    n_terms = int(min(10 + 1.2 * xm, 2000))
    sign = -1.0 if k % 2 else 1.0
    total = np.zeros_like(x)
    for n in range(n_terms):
        t = q + n
        lt = np.log(t)
        total += sign * lt ** k * t ** (-x)
    t = q + n_terms
    lt = np.log(t)
    tx = t ** (-x)
    # integral_T^inf (log t)^k t^-x dt, by I_k = L^k T^(1-x)/(x-1) + k/(x-1) I_(k-1)
    s = x - 1.0
    integral = t * tx / s
    for j in range(1, k + 1):
        integral = t * tx * lt ** j / s + (j / s) * integral
    total += sign * integral + 0.5 * sign * lt ** k * tx
    # f^(m)(t) = t^(-x-m) P_m(log t); P_(m+1)(L) = P_m'(L) - (x + m) P_m(L); P_0 = (-L)^k
    poly = [np.zeros_like(x) for _ in range(k + 1)]
    poly[k] = np.full_like(x, sign)
    for m in range(2 * len(_EM_COEF)):
        new = [(j + 1) * poly[j + 1] if j < k else np.zeros_like(x) for j in range(k + 1)]
        poly = [nw - (x + m) * pj for nw, pj in zip(new, poly)]
        if m % 2 == 0:  # poly is now P_(m+1), an odd derivative
            val = sum(pj * lt ** j for j, pj in enumerate(poly))
            total -= _EM_COEF[m // 2] * val * tx * t ** (-(m + 1))
    out = np.where(q > 0, total, np.nan)
    return out.reshape(shape)


def _float_aval(*avals, **params):
    dt = np.result_type(*(getattr(a, "dtype", a) for a in avals))
    if dt.kind not in "fc":
        dt = np.dtype(np.float64)
    shape = np.broadcast_shapes(*(getattr(a, "shape", np.shape(a)) for a in avals))
    return ShapedArray(shape, dt)


def _derivative_impl(fn):
    """An impl computing in float64 and returning the arguments' (NEP 50) float dtype."""
    def impl(*args, **params):
        dt = _float_aval(*args).dtype
        return np.asarray(fn(*args, **params)).astype(dt, copy=False)
    impl.__name__ = fn.__name__
    return impl


# --- incomplete gamma functions ---------------------------------------------------------------

def _exp_partials(f, g, i, j):
    """d^i/da^i d^j/db^j exp(G) for f = exp(G) and g(p, q) = d^p/da^p d^q/db^q G (p + q >= 1),
    by the Leibniz rule on d/da exp(G) = G_a exp(G). Products are zero-safe: 0 * inf = 0,
    the limit at the boundary of the support (x^(a-1) log(x) -> 0)."""
    memo = {(0, 0): f}
    gmemo = {}

    def gv_of(p, q):
        if (p, q) not in gmemo:
            gmemo[(p, q)] = g(p, q)
        return gmemo[(p, q)]

    def part(p, q):
        if (p, q) in memo:
            return memo[(p, q)]
        acc = None
        if p > 0:
            terms = [(math.comb(p - 1, pp) * math.comb(q, qq), gv_of(pp + 1, qq),
                      part(p - 1 - pp, q - qq)) for pp in range(p) for qq in range(q + 1)]
        else:
            terms = [(math.comb(q - 1, qq), gv_of(0, qq + 1), part(0, q - 1 - qq))
                     for qq in range(q)]
        for cnt, gv, fv in terms:
            t = zmul_p(gv, fv)
            t = t * float(cnt) if cnt != 1 else t
            acc = t if acc is None else acc + t
        memo[(p, q)] = acc
        return acc
    return part(i, j)


def _gamma_density(a, x):
    """x^(a-1) e^-x / Gamma(a), the derivative of P(a, x) in x. At x == 0 it is written with
    a power, whose derivatives there are the one-sided limits (e.g. 1 for a = 2)."""
    z = eq_p(x, 0)
    xs = select_p(z, 1.0, x)
    inner = exp_p((a - 1.0) * log_p(xs) - xs - gammaln_p(a))
    x0 = select_p(z, x, 1.0)  # the untaken branch sees a harmless value (no warnings)
    edge = pow_p(x0, a - 1.0) * exp_p(-x0 - gammaln_p(a))
    return select_p(z, edge, inner)


def _gamma_density_da(a, x, k):
    """d^k/da^k of the gamma density."""
    f = _gamma_density(a, x)
    if k == 0:
        return f

    def g(p, q):
        if p == 1:
            return log_p(x) - digamma_p(a)
        return -_dgamma(p - 1, a)
    return _exp_partials(f, g, k, 0)


gammainc_p = _nary_sp("gammainc", 2, (
    lambda ans, a, x: igamma_da_p(a, x, k=1, upper=False),
    lambda ans, a, x: _gamma_density(a, x)))
gammaincc_p = _nary_sp("gammaincc", 2, (
    lambda ans, a, x: igamma_da_p(a, x, k=1, upper=True),
    lambda ans, a, x: -_gamma_density(a, x)))


def _igamma_da_dx(ans, a, x, *, k, upper):
    d = _gamma_density_da(a, x, k)
    return -d if upper else d


igamma_da_p = elementwise(
    "igamma_da", _derivative_impl(_igamma_da), 2, aval=_float_aval,
    derivs=(lambda ans, a, x, *, k, upper: igamma_da_p(a, x, k=k + 1, upper=upper),
            _igamma_da_dx))


# --- incomplete beta function -----------------------------------------------------------------

def _beta_density(a, b, x):
    """x^(a-1) (1-x)^(b-1) / B(a, b), the derivative of I_x(a, b) in x (with powers at x == 0
    and x == 1, as for the gamma density)."""
    z0, z1 = eq_p(x, 0), eq_p(x, 1)
    xs = select_p(or_p(z0, z1), 0.5, x)
    lb = betaln_p(a, b)
    inner = exp_p((a - 1.0) * log_p(xs) + (b - 1.0) * log1p_p(-xs) - lb)
    x0, x1 = select_p(z0, x, 0.5), select_p(z1, x, 0.5)
    at0 = pow_p(x0, a - 1.0) * exp_p((b - 1.0) * log1p_p(-x0) - lb)
    at1 = exp_p((a - 1.0) * log_p(x1) - lb) * pow_p(1.0 - x1, b - 1.0)
    return select_p(z0, at0, select_p(z1, at1, inner))


def _beta_density_dab(a, b, x, i, j):
    f = _beta_density(a, b, x)
    if i == 0 and j == 0:
        return f

    def g(p, q):
        s = p + q - 1
        if p == 1 and q == 0:
            return log_p(x) - digamma_p(a) + digamma_p(a + b)
        if p == 0 and q == 1:
            return log1p_p(-x) - digamma_p(b) + digamma_p(a + b)
        out = _dgamma(s, a + b)
        if q == 0:
            out = out - _dgamma(s, a)
        if p == 0:
            out = out - _dgamma(s, b)
        return out
    return _exp_partials(f, g, i, j)


betainc_p = _nary_sp("betainc", 3, (
    lambda ans, a, b, x: betainc_dab_p(a, b, x, i=1, j=0),
    lambda ans, a, b, x: betainc_dab_p(a, b, x, i=0, j=1),
    lambda ans, a, b, x: _beta_density(a, b, x)))

betainc_dab_p = elementwise(
    "betainc_dab", _derivative_impl(_betainc_dab), 3, aval=_float_aval,
    derivs=(lambda ans, a, b, x, *, i, j: betainc_dab_p(a, b, x, i=i + 1, j=j),
            lambda ans, a, b, x, *, i, j: betainc_dab_p(a, b, x, i=i, j=j + 1),
            lambda ans, a, b, x, *, i, j: _beta_density_dab(a, b, x, i, j)))


# --- zeta functions ---------------------------------------------------------------------------

def _zeta(x, q):
    out = sps.zeta(x, q)
    dt = _float_aval(x, q).dtype
    return np.asarray(out).astype(dt, copy=False)


def _lower_zeta(ins, params, avals):
    dts = [a.dtype if (s.isidentifier() or s.startswith("np.")) else _weak(a.dtype)
           for s, a in zip(ins, avals)]
    dt = _float_aval(*dts).dtype
    call = f"sps.zeta({ins[0]}, {ins[1]})"
    return call if dt == np.float64 else f"np.asarray({call}, np.{dt.name})"


zeta_p = elementwise(
    "zeta", _zeta, 2, aval=_float_aval, lower=_lower_zeta,
    derivs=(lambda ans, x, q: zeta_dx_p(x, q, k=1),
            lambda ans, x, q: -x * zeta_p(x + 1.0, q)))


def _zeta_dx_dq(ans, x, q, *, k):
    # d/dq sum (-log t)^k t^-x = -k Z_(k-1)(x+1, q) - x Z_k(x+1, q)
    lower = zeta_p(x + 1.0, q) if k == 1 else zeta_dx_p(x + 1.0, q, k=k - 1)
    return -float(k) * lower - x * zeta_dx_p(x + 1.0, q, k=k)


zeta_dx_p = elementwise(
    "zeta_dx", _derivative_impl(_zeta_dx), 2, aval=_float_aval,
    derivs=(lambda ans, x, q, *, k: zeta_dx_p(x, q, k=k + 1), _zeta_dx_dq))


def _riemann_zeta(x):
    return sps.zeta(x)


_LOG_2PI = math.log(2.0 * math.pi)


def _riemann_zeta_d(ans, x):
    # x >= 0: Euler-Maclaurin (zeta_dx at q = 1). x < 0, where that sum cancels badly: the
    # functional equation zeta(x) = chi(x) zeta(1 - x), chi(x) = (2 pi)^x / pi sin(pi x / 2)
    # Gamma(1 - x), differentiated in closed form (1 - x > 1 is on the well-behaved side).
    left = lt_p(x, 0)
    xr = select_p(left, 2.0, x)
    xl = select_p(left, x, -1.0)
    half = (0.5 * math.pi) * xl
    scale = exp_p(xl * _LOG_2PI) * (1.0 / math.pi) * gamma_p(1.0 - xl)
    chi = scale * sin_p(half)
    dchi = scale * (sin_p(half) * (_LOG_2PI - digamma_p(1.0 - xl))
                    + (0.5 * math.pi) * cos_p(half))
    dleft = dchi * riemann_zeta_p(1.0 - xl) - chi * zeta_dx_p(1.0 - xl, 1.0, k=1)
    return select_p(left, dleft, zeta_dx_p(xr, 1.0, k=1))


riemann_zeta_p = elementwise(
    "riemann_zeta", _riemann_zeta, 1, aval=ufunc_aval(sps.loggamma), lower="sps.zeta",
    derivs=(_riemann_zeta_d,))
