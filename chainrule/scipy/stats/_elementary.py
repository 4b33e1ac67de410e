"""Distributions with elementary formulas: laplace, logistic, cauchy, expon, uniform.

Each is a loc/scale family with no shape parameter, written with chainrule.numpy only, in the
forms that stay accurate in the tails (exp(-|z|) rather than exp(-z) and 1 - exp(z), arctan2
for the Cauchy cdf, log1p/expm1 near 0). Kinks: laplace's logpdf at x == loc (derivative in x
taken from the left branch there, like abs's subgradient convention) and the support
boundaries of expon and uniform, where the density jumps.
"""
from __future__ import annotations

import math

from ... import numpy as cnp
from .. import special as sc
from ._base import LOG2, LOGPI, NAN, _Continuous, log1mexp


def _neg_abs(z):
    """-|z|, with the derivative of the branch taken (so exactly 0 gets derivative +1)."""
    return cnp.where(z > 0, -z, z)


class laplace_gen(_Continuous):
    """The Laplace (double exponential) distribution: pdf(z) = exp(-|z|) / 2."""

    name = "laplace"

    def _stats(self):
        return 0.0, 2.0

    def _entropy(self):
        return 1.0 + LOG2

    def _examples(self):
        return {"logpdf": "laplace.logpdf(0.5, loc=0.0, scale=2.0)  # -log(4) - 0.25"}

    def _logpdf(self, z):
        return _neg_abs(z) - LOG2

    def _cdf(self, z):
        e = 0.5 * cnp.exp(_neg_abs(z))
        return cnp.where(z > 0, 1.0 - e, e)

    def _sf(self, z):
        return self._cdf(-z)

    def _logcdf(self, z):
        m = _neg_abs(z)
        return cnp.where(z > 0, cnp.log1p(-0.5 * cnp.exp(m)), m - LOG2)

    def _logsf(self, z):
        return self._logcdf(-z)

    def _ppf(self, q):
        upper = q > 0.5
        return cnp.where(upper, -cnp.log(2.0 - 2.0 * cnp.where(upper, q, 0.75)),
                         cnp.log(2.0 * cnp.where(upper, 0.25, q)))

    def _isf(self, q):
        return -self._ppf(q)


class logistic_gen(_Continuous):
    """The logistic distribution: cdf(z) = expit(z)."""

    name = "logistic"

    def _stats(self):
        return 0.0, math.pi ** 2 / 3.0

    def _entropy(self):
        return 2.0

    def _examples(self):
        return {"cdf": "logistic.cdf(0.0)  # 0.5"}

    def _logpdf(self, z):
        m = _neg_abs(z)   # the density is symmetric; this form never overflows
        return m - 2.0 * cnp.log1p(cnp.exp(m))

    def _cdf(self, z):
        return sc.expit(z)

    def _sf(self, z):
        return sc.expit(-z)

    def _logcdf(self, z):
        return sc.log_expit(z)

    def _logsf(self, z):
        return sc.log_expit(-z)

    def _ppf(self, q):
        return sc.logit(q)

    def _isf(self, q):
        return -sc.logit(q)


class cauchy_gen(_Continuous):
    """The Cauchy distribution: pdf(z) = 1 / (pi (1 + z**2))."""

    name = "cauchy"

    def _stats(self):   # no mean and no variance: nan, as SciPy
        return NAN, NAN

    def _entropy(self):
        return math.log(4.0 * math.pi)

    def _examples(self):
        return {"sf": "cauchy.sf(1.0)  # 0.25"}

    def _logpdf(self, z):
        return -LOGPI - cnp.log1p(z * z)

    def _cdf(self, z):
        # arctan2(1, -z) / pi = 1/2 + arctan(z) / pi, without cancellation as z -> -inf
        return cnp.arctan2(1.0, -z) / math.pi

    def _sf(self, z):
        return cnp.arctan2(1.0, z) / math.pi

    def _logcdf(self, z):
        # log1p(-sf) where cdf is near 1
        return cnp.where(z > 0, cnp.log1p(-self._sf(z)), cnp.log(self._cdf(z)))

    def _logsf(self, z):
        return self._logcdf(-z)

    def _ppf(self, q):
        # -cot(pi q) in the tails, where tan(pi (q - 1/2)) would be near its pole
        lo, hi = q < 0.25, q > 0.75
        q_lo = cnp.where(lo, q, 0.25)
        q_hi = cnp.where(hi, 1.0 - q, 0.25)
        q_mid = cnp.where(lo | hi, 0.5, q)
        return cnp.where(lo, -1.0 / cnp.tan(math.pi * q_lo),
                         cnp.where(hi, 1.0 / cnp.tan(math.pi * q_hi),
                                   cnp.tan(math.pi * (q_mid - 0.5))))

    def _isf(self, q):
        return -self._ppf(q)


class expon_gen(_Continuous):
    """The exponential distribution on [0, inf): pdf(z) = exp(-z)."""

    name = "expon"
    a = 0.0

    def _stats(self):
        return 1.0, 1.0

    def _entropy(self):
        return 1.0

    def _examples(self):
        return {"logpdf": "expon.logpdf(2.0, scale=0.5)  # log(2) - 4"}

    def _logpdf(self, z):
        return -z

    def _cdf(self, z):
        return -cnp.expm1(-z)

    def _sf(self, z):
        return cnp.exp(-z)

    def _logcdf(self, z):
        return log1mexp(-z)

    def _logsf(self, z):
        return -z

    def _ppf(self, q):
        return -cnp.log1p(-q)

    def _isf(self, q):
        return -cnp.log(q)


class uniform_gen(_Continuous):
    """The uniform distribution on [loc, loc + scale]."""

    name = "uniform"
    example_x = "0.3"
    a, b = 0.0, 1.0

    def _stats(self):
        return 0.5, 1.0 / 12.0

    def _entropy(self):
        return 0.0

    def _examples(self):
        return {"cdf": "uniform.cdf(0.5, loc=0.0, scale=2.0)  # 0.25"}

    def _logpdf(self, z):
        return cnp.zeros_like(z)

    def _pdf(self, z):
        return cnp.ones_like(z)

    def _cdf(self, z):
        return z

    def _sf(self, z):
        return 1.0 - z

    def _logcdf(self, z):
        return cnp.log(z)

    def _logsf(self, z):
        return cnp.log1p(-z)

    def _ppf(self, q):
        return q

    def _isf(self, q):
        return 1.0 - q


laplace = laplace_gen()
logistic = logistic_gen()
cauchy = cauchy_gen()
expon = expon_gen()
uniform = uniform_gen()
