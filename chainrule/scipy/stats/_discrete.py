"""Discrete distributions: poisson, bernoulli, binom.

The data k are integers (as floats or ints; a non-integer k has pmf 0 and the cdf of
floor(k), as in SciPy); derivatives are with respect to the float parameters mu and p. The
cdfs are regularized incomplete gamma and beta functions of the parameter, so they are
differentiable in mu and p.
"""
from __future__ import annotations

from ... import numpy as cnp
from .. import special as sc
from ._base import _Discrete


class poisson_gen(_Discrete):
    """The Poisson distribution with mean mu >= 0: pmf(k) = mu**k exp(-mu) / k!."""

    name = "poisson"
    shape_doc = {"mu": "mean mu >= 0."}
    example_shapes = ("2.5",)
    shapes = ("mu",)
    safe_shapes = (1.0,)
    a = 0.0

    def _stats(self, mu):
        return mu, mu

    def _examples(self):
        return {"logpmf": "poisson.logpmf(3, mu=2.0)  # 3 log 2 - 2 - log 6"}

    def _argcheck(self, mu):
        return mu >= 0

    def _logpmf(self, k, mu):
        return sc.xlogy(k, mu) - sc.gammaln(k + 1.0) - mu

    def _cdf(self, k, mu):
        return sc.gammaincc(k + 1.0, mu)

    def _sf(self, k, mu):
        return sc.gammainc(k + 1.0, mu)


class bernoulli_gen(_Discrete):
    """The Bernoulli distribution on {0, 1} with P(1) = p, 0 <= p <= 1."""

    name = "bernoulli"
    shape_doc = {"p": "probability of 1, in [0, 1]."}
    example_shapes = ("0.3",)
    shapes = ("p",)
    safe_shapes = (0.5,)
    a, b = 0.0, 1.0

    def _stats(self, p):
        return p, p * (1.0 - p)

    def _entropy(self, p):
        return sc.entr(p) + sc.entr(1.0 - p)

    def _examples(self):
        return {"logpmf": "bernoulli.logpmf([0, 1], 0.3)  # [log 0.7, log 0.3]"}

    def _argcheck(self, p):
        return (p >= 0) & (p <= 1)

    def _logpmf(self, k, p):
        return sc.xlogy(k, p) + sc.xlog1py(1.0 - k, -p)

    def _cdf(self, k, p):   # called for k in [0, 1): floor(k) == 0
        return 1.0 - p + 0.0 * k

    def _sf(self, k, p):
        return p + 0.0 * k

    def _logcdf(self, k, p):
        return cnp.log1p(-p) + 0.0 * k

    def _logsf(self, k, p):
        return cnp.log(p) + 0.0 * k


class binom_gen(_Discrete):
    """The binomial distribution: k successes in n trials (integer n >= 0) of probability p."""

    name = "binom"
    shape_doc = {"n": "number of trials (a non-negative integer).",
                 "p": "success probability, in [0, 1]."}
    example_shapes = ("4", "0.5")
    shapes = ("n", "p")
    safe_shapes = (1.0, 0.5)
    a = 0.0

    def _stats(self, n, p):
        m = n * p
        return m, m * (1.0 - p)

    def _examples(self):
        return {"pmf": "binom.pmf(2, 4, 0.5)  # 0.375"}

    def _argcheck(self, n, p):
        return (n >= 0) & (cnp.floor(n) == n) & (p >= 0) & (p <= 1)

    def _support(self, n, p):
        return self.a, n

    def _logpmf(self, k, n, p):
        log_choose = -cnp.log1p(n) - sc.betaln(n - k + 1.0, k + 1.0)
        return log_choose + sc.xlogy(k, p) + sc.xlog1py(n - k, -p)

    def _cdf(self, k, n, p):   # called for k in [0, n)
        return sc.betainc(n - k, k + 1.0, 1.0 - p)

    def _sf(self, k, n, p):
        return sc.betainc(k + 1.0, n - k, p)


poisson = poisson_gen()
bernoulli = bernoulli_gen()
binom = binom_gen()
