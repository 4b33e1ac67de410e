"""Distributions built on the gamma and beta functions: t, gamma, chi2, beta.

Densities use gammaln/betaln and the zero-safe xlogy/xlog1py of chainrule.scipy.special;
the cdfs are regularized incomplete gamma and beta functions (gammainc, gammaincc, betainc),
which carry derivatives in their shape arguments, so the cdfs are differentiable in df, a
and b too. t with df = inf is the standard normal, as in SciPy.
"""
from __future__ import annotations

from ... import numpy as cnp
from .. import special as sc
from ._base import HALF_LOG2PI, INF, LOG2, NAN, _Continuous, log_prob


def _lgamma_half_gap(x):
    """log Gamma(x) - log Gamma(x + 1/2) + log(x) / 2 for x >= 50, by its asymptotic series
    (relative error < 1e-15 there)."""
    u = 1.0 / (x * x)
    return (0.125 - u * (1.0 / 192 - u * (1.0 / 640 - u * (17.0 / 14336)))) / x


class t_gen(_Continuous):
    """Student's t distribution with df > 0 degrees of freedom (df = inf: the normal).

    The cdf at z == 0 (x == loc) is the point where its incomplete-beta form has a square-root
    singularity in its argument; there the value and the first two derivatives are taken from
    0.5 + z pdf(z), which is exact to that order, so they stay finite. For very large df the
    far tails of the cdf lose relative accuracy like df * 1e-16 (2e-10 at df = 1e7), the
    rounding of the incomplete-beta argument df / (df + z**2); near the centre they stay
    accurate at any df.
    """

    name = "t"
    shape_doc = {"df": "degrees of freedom > 0 (inf gives the normal)."}
    example_shapes = ("3.0",)
    shapes = ("df",)
    safe_shapes = (1.0,)

    def _stats(self, df):
        # as SciPy: mean inf for df <= 1; variance inf for 1 < df <= 2, nan for df <= 1
        finite = (df > 2) & (df < INF)
        d = cnp.where(finite, df, 3.0)
        var = cnp.where(df > 1, INF, cnp.full_like(df, NAN))
        var = cnp.where(finite, d / (d - 2.0), cnp.where(df == INF, 1.0, var))
        return cnp.where(df > 1, cnp.zeros_like(df), INF), var

    def _entropy(self, df):
        normal = df == INF
        d = cnp.where(normal, 1.0, df)
        x = 0.5 * d
        # for large x, asymptotic series of psi(x + 1/2) - psi(x) and of
        # log Gamma(x) - log Gamma(x + 1/2) + log(x) / 2, which cancel as differences
        big = x >= 50.0
        xb = cnp.where(big, x, 50.0)
        u = 1.0 / (xb * xb)
        dpsi = (0.5 + (0.125 + u * (-1.0 / 64 + u * (1.0 / 128 - u * (17.0 / 2048)))) / xb) / xb
        h_big = (xb + 0.5) * dpsi + HALF_LOG2PI + _lgamma_half_gap(xb)
        xs = cnp.where(big, 1.0, x)
        h = ((xs + 0.5) * (sc.digamma(xs + 0.5) - sc.digamma(xs)) + 0.5 * cnp.log(2.0 * xs)
             + sc.betaln(xs, 0.5))
        return cnp.where(normal, 0.5 + HALF_LOG2PI, cnp.where(big, h_big, h))

    def _examples(self):
        return {"logpdf": "t.logpdf(0.5, df=3.0)", "cdf": "t.cdf(0.0, 5.0)  # 0.5"}

    def _logpdf(self, z, df):
        normal = df == INF
        d = cnp.where(normal, 1.0, df)
        x = 0.5 * d
        big = x >= 50.0   # log Gamma(x + 1/2) - log Gamma(x) by its series (betaln cancels)
        xs = cnp.where(big, 1.0, x)
        norming = cnp.where(big, -HALF_LOG2PI - _lgamma_half_gap(cnp.where(big, x, 50.0)),
                            -sc.betaln(0.5, xs) - 0.5 * cnp.log(2.0 * xs))
        lp = norming - 0.5 * (d + 1.0) * cnp.log1p(z * z / d)
        return cnp.where(normal, -0.5 * (z * z) - HALF_LOG2PI, lp)

    def _tail(self, z, df):
        """P(T < -|z|) (the smaller tail), with z == 0 handled by the caller."""
        normal = df == INF
        d = cnp.where(normal, 1.0, df)
        z2 = z * z
        far = z2 == INF   # (z = +-inf, or z**2 overflows): the tail is 0 to double precision
        z2 = cnp.where(far, 1.0, z2)
        # two forms of P(T < -|z|): 1/2 I_x(d/2, 1/2) with x = d / (d + z^2), accurate when the
        # tail is small; 1/2 - 1/2 I_u(1/2, d/2) with u = z^2 / (d + z^2) computed without
        # rounding 1 - x, accurate when it is not (small z^2 / d)
        central = sc.betainc(0.5, 0.5 * d, z2 / (d + z2))
        use_central = central < 0.9
        tail = cnp.where(use_central, 0.5 - 0.5 * central,
                         0.5 * sc.betainc(0.5 * d, 0.5, d / (d + z2)))
        return cnp.where(normal, sc.ndtr(-cnp.abs(z)), cnp.where(far, 0.0, tail))

    def _cdf(self, z, df):
        at0 = z == 0.0
        zs = cnp.where(at0, 1.0, z)
        tail = self._tail(zs, df)
        return cnp.where(at0, self._centre(z, at0, df), cnp.where(zs < 0, tail, 1.0 - tail))

    def _centre(self, z, at0, df):
        """0.5 + z pdf(z): the cdf at z == 0 with its first two derivatives."""
        z0 = cnp.where(at0, z, 0.0)
        return 0.5 + z0 * self._pdf(z0, df)

    def _sf(self, z, df):
        return self._cdf(-z, df)

    def _logcdf(self, z, df):
        at0 = z == 0.0
        zs = cnp.where(at0, 1.0, z)
        tail = self._tail(zs, df)
        return cnp.where(at0, cnp.log(self._centre(z, at0, df)),
                         cnp.where(zs < 0, cnp.log(tail), cnp.log1p(-tail)))

    def _logsf(self, z, df):
        return self._logcdf(-z, df)


class gamma_gen(_Continuous):
    """The gamma distribution with shape a > 0: pdf(z) = z**(a - 1) exp(-z) / Gamma(a)."""

    name = "gamma"
    shape_doc = {"a": "shape a > 0."}
    example_shapes = ("2.0",)
    shapes = ("a",)
    safe_shapes = (1.0,)
    a = 0.0

    def _stats(self, a):
        return a, a

    def _entropy(self, a):
        return a + sc.gammaln(a) + (1.0 - a) * sc.digamma(a)

    def _examples(self):
        return {"logpdf": "gamma.logpdf(2.0, a=3.0, scale=0.5)"}

    def _logpdf(self, z, a):
        return sc.xlogy(a - 1.0, z) - z - sc.gammaln(a)

    def _cdf(self, z, a):
        return sc.gammainc(a, z)

    def _sf(self, z, a):
        return sc.gammaincc(a, z)

    def _logcdf(self, z, a):
        return log_prob(sc.gammainc(a, z), sc.gammaincc(a, z))

    def _logsf(self, z, a):
        return log_prob(sc.gammaincc(a, z), sc.gammainc(a, z))


class chi2_gen(_Continuous):
    """The chi-squared distribution with df > 0 degrees of freedom (gamma(df / 2, scale=2))."""

    name = "chi2"
    shape_doc = {"df": "degrees of freedom > 0."}
    example_shapes = ("3.0",)
    shapes = ("df",)
    safe_shapes = (1.0,)
    a = 0.0

    def _stats(self, df):
        return df, 2.0 * df

    def _entropy(self, df):
        h = 0.5 * df
        return h + LOG2 + sc.gammaln(h) + (1.0 - h) * sc.digamma(h)

    def _examples(self):
        return {"sf": "chi2.sf(3.84, df=1.0)  # 0.05"}

    def _logpdf(self, z, df):
        h = 0.5 * df
        return sc.xlogy(h - 1.0, z) - 0.5 * z - sc.gammaln(h) - LOG2 * h

    def _cdf(self, z, df):
        return sc.gammainc(0.5 * df, 0.5 * z)

    def _sf(self, z, df):
        return sc.gammaincc(0.5 * df, 0.5 * z)

    def _logcdf(self, z, df):
        return log_prob(self._cdf(z, df), self._sf(z, df))

    def _logsf(self, z, df):
        return log_prob(self._sf(z, df), self._cdf(z, df))


class beta_gen(_Continuous):
    """The beta distribution on [0, 1] with shapes a, b > 0."""

    name = "beta"
    shape_doc = {"a": "shape a > 0.", "b": "shape b > 0."}
    example_x, example_shapes = "0.3", ("2.0", "5.0")
    shapes = ("a", "b")
    safe_shapes = (1.0, 1.0)
    a, b = 0.0, 1.0

    def _stats(self, a, b):
        ab = a + b
        return a / ab, a * b / (ab * ab * (ab + 1.0))

    def _entropy(self, a, b):
        return (sc.betaln(a, b) - (a - 1.0) * sc.digamma(a) - (b - 1.0) * sc.digamma(b)
                + (a + b - 2.0) * sc.digamma(a + b))

    def _examples(self):
        return {"logpdf": "beta.logpdf(0.3, 2.0, 5.0)"}

    def _logpdf(self, z, a, b):
        return sc.xlogy(a - 1.0, z) + sc.xlog1py(b - 1.0, -z) - sc.betaln(a, b)

    def _cdf(self, z, a, b):
        return sc.betainc(a, b, z)

    def _sf(self, z, a, b):
        return sc.betainc(b, a, 1.0 - z)

    def _logcdf(self, z, a, b):
        return log_prob(self._cdf(z, a, b), self._sf(z, a, b))

    def _logsf(self, z, a, b):
        return log_prob(self._sf(z, a, b), self._cdf(z, a, b))


t = t_gen()
gamma = gamma_gen()
chi2 = chi2_gen()
beta = beta_gen()
