"""The Gaussian family: norm, lognorm, truncnorm.

Tails are computed in log space by chainrule.scipy.special.log_ndtr (norm.logcdf at
x = -40 is about -804.6, not -inf), and truncnorm's normalizing mass by the stable
three-case formula (both bounds in one tail: a log-difference in that tail; straddling 0:
log1p of the two excluded tails), so truncation far in a tail stays finite. truncnorm's
ppf inverts from whichever end keeps ndtri's argument below 1/2 (and isf by the symmetry
-X ~ truncnorm(-b, -a)), so quantiles deep in either tail keep their accuracy.
"""
from __future__ import annotations

from ... import numpy as cnp
from .. import special as sc
from ._base import HALF_LOG2PI, INF, _Continuous, log1mexp


class norm_gen(_Continuous):
    """The normal distribution: pdf(z) = exp(-z**2 / 2) / sqrt(2 pi)."""

    name = "norm"

    def _stats(self):
        return 0.0, 1.0

    def _entropy(self):
        return 0.5 + HALF_LOG2PI

    def _examples(self):
        return {"logpdf": "norm.logpdf(1.0, loc=0.0, scale=1.0)  # -0.5 - log(2 pi) / 2",
                "logcdf": "norm.logcdf(-40.0)  # -804.6..., finite",
                "ppf": "norm.ppf(0.975)  # 1.95996..."}

    def _logpdf(self, z):
        return -0.5 * (z * z) - HALF_LOG2PI

    def _cdf(self, z):
        return sc.ndtr(z)

    def _sf(self, z):
        return sc.ndtr(-z)

    def _logcdf(self, z):
        return sc.log_ndtr(z)

    def _logsf(self, z):
        return sc.log_ndtr(-z)

    def _ppf(self, q):
        return sc.ndtri(q)

    def _isf(self, q):
        return -sc.ndtri(q)


class lognorm_gen(_Continuous):
    """The log-normal distribution with shape s > 0: log(Z) ~ N(0, s**2).

    As in SciPy, a normal N(mu, sigma**2) for log(X) is `lognorm(s=sigma, scale=exp(mu))`.
    The density is 0 at x == loc (open support, as SciPy).
    """

    name = "lognorm"
    shape_doc = {"s": "shape s > 0 (the standard deviation of log X)."}
    example_shapes = ("0.5",)
    shapes = ("s",)
    safe_shapes = (1.0,)
    a = 0.0
    _open_pdf = True

    def _stats(self, s):
        s2 = s * s
        return cnp.exp(0.5 * s2), cnp.expm1(s2) * cnp.exp(s2)

    def _entropy(self, s):
        return 0.5 + HALF_LOG2PI + cnp.log(s)

    def _examples(self):
        return {"logpdf": "lognorm.logpdf(1.0, 0.5)  # -log(0.5) - log(2 pi) / 2"}

    def _logpdf(self, z, s):
        lz = cnp.log(z)
        u = lz / s
        return -0.5 * (u * u) - HALF_LOG2PI - cnp.log(s) - lz

    def _cdf(self, z, s):
        return sc.ndtr(cnp.log(z) / s)

    def _sf(self, z, s):
        return sc.ndtr(-cnp.log(z) / s)

    def _logcdf(self, z, s):
        return sc.log_ndtr(cnp.log(z) / s)

    def _logsf(self, z, s):
        return sc.log_ndtr(-cnp.log(z) / s)

    def _ppf(self, q, s):
        return cnp.exp(s * sc.ndtri(q))

    def _isf(self, q, s):
        return cnp.exp(-s * sc.ndtri(q))


def log_gauss_mass(a, b):
    """log(ndtr(b) - ndtr(a)) for a < b, accurate in both tails and in the middle."""
    left = b <= 0.0
    right = a > 0.0
    # each case sees only arguments of its own region (others get harmless placeholders),
    # so no log of 0 or of a negative number reaches the derivatives
    al, bl = cnp.where(left, a, -2.0), cnp.where(left, b, -1.0)
    ar, br = cnp.where(right, a, 1.0), cnp.where(right, b, 2.0)
    mid = cnp.logical_not(left | right)
    am, bm = cnp.where(mid, a, -1.0), cnp.where(mid, b, 1.0)

    def tail(lo, hi):   # both in the left tail: log(Phi(hi) - Phi(lo))
        lhi = sc.log_ndtr(hi)
        unbounded = lo == -INF   # Phi(lo) = 0, also in the derivative (a one-sided cut)
        lo = cnp.where(unbounded, hi - 1.0, lo)
        return lhi + cnp.where(unbounded, 0.0, log1mexp(sc.log_ndtr(lo) - lhi))

    return cnp.where(left, tail(al, bl),
                     cnp.where(right, tail(-br, -ar),
                               cnp.log1p(-sc.ndtr(am) - sc.ndtr(-bm))))


def _log_fraction(part, rest, mass):
    """log(part / mass), from log(rest / mass) = log(1 - part / mass) where that is accurate
    (part / mass near 1)."""
    direct = part - mass
    near1 = direct > -0.1
    return cnp.where(near1, log1mexp(cnp.where(near1, rest - mass, -1.0)), direct)


class truncnorm_gen(_Continuous):
    """The standard normal truncated to [a, b] (a < b, in standard units, before loc/scale).

    As in SciPy, the bounds are given for the standardized variable: to truncate
    N(mu, sigma**2) to [lo, hi], pass a = (lo - mu) / sigma, b = (hi - mu) / sigma,
    loc=mu, scale=sigma. a may be -inf and b +inf.
    """

    name = "truncnorm"
    shape_doc = {"a": "lower bound, in standard units (may be -inf).",
                 "b": "upper bound > a, in standard units (may be inf)."}
    example_shapes = ("-1.0", "2.0")
    shapes = ("a", "b")
    safe_shapes = (-1.0, 1.0)

    def _examples(self):
        return {"logpdf": "truncnorm.logpdf(0.0, -1.0, 1.0)  # logpdf of N(0, 1) / 0.6827"}

    def _argcheck(self, a, b):
        return a < b

    def _support(self, a, b):
        return a, b

    def _interior(self, lo, hi):
        lo_fin, hi_fin = cnp.isfinite(lo), cnp.isfinite(hi)
        lo_s = cnp.where(lo_fin, lo, 0.0)
        hi_s = cnp.where(hi_fin, hi, 0.0)
        return cnp.where(lo_fin & hi_fin, 0.5 * (lo_s + hi_s),
                         cnp.where(lo_fin, lo_s + 1.0, cnp.where(hi_fin, hi_s - 1.0, 0.0)))

    def _logpdf(self, z, a, b):
        return -0.5 * (z * z) - HALF_LOG2PI - log_gauss_mass(a, b)

    def _logcdf(self, z, a, b):
        return _log_fraction(log_gauss_mass(a, z), log_gauss_mass(z, b), log_gauss_mass(a, b))

    def _logsf(self, z, a, b):
        return _log_fraction(log_gauss_mass(z, b), log_gauss_mass(a, z), log_gauss_mass(a, b))

    def _cdf(self, z, a, b):
        return cnp.exp(self._logcdf(z, a, b))

    def _sf(self, z, a, b):
        return cnp.exp(self._logsf(z, a, b))

    def _ppf(self, q, a, b):
        # Phi(x) = Phi(a) + q mass, or from the right, Phi(-x) = Phi(-b) + (1 - q) mass; the
        # form whose probability is below 1/2 keeps ndtri's argument away from 1
        mass = log_gauss_mass(a, b)
        p_left = cnp.exp(cnp.logaddexp(sc.log_ndtr(a), cnp.log(q) + mass))
        p_right = cnp.exp(cnp.logaddexp(sc.log_ndtr(-b), cnp.log1p(-q) + mass))
        left = p_left <= 0.5
        return cnp.where(left, sc.ndtri(cnp.where(left, p_left, 0.5)),
                         -sc.ndtri(cnp.where(left, 0.5, p_right)))

    def _isf(self, q, a, b):
        return -self._ppf(q, -b, -a)   # -X is truncnorm(-b, -a)


norm = norm_gen()
lognorm = lognorm_gen()
truncnorm = truncnorm_gen()
