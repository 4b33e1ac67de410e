"""chainrule.scipy.stats: probability distributions with SciPy's names, signatures and values,
differentiable (forward and reverse mode, any order) in the data and the parameters,
batchable (vmap) and compilable (jit).

    >>> from chainrule.scipy.stats import norm
    >>> norm.logpdf(x, loc=mu, scale=sigma)          # as scipy.stats.norm.logpdf
    >>> cr.grad(lambda mu: norm.logpdf(x, mu, 2.0).sum())(0.3)
    >>> norm(loc=mu, scale=sigma).cdf(x)              # frozen, as in SciPy

Contract:
- Univariate distributions take (data, *shape parameters, loc=0[, scale=1]), positionally or
  by name, broadcasting, and offer the methods in their `methods` attribute:
  continuous: logpdf, pdf, cdf, logcdf, sf, logsf (and ppf, isf where the inverse is
  elementary or built on ndtri: norm, lognorm, truncnorm, laplace, logistic, cauchy, expon,
  uniform); discrete: logpmf, pmf, cdf, logcdf, sf, logsf. Moments: mean, var, std and
  entropy (all but truncnorm's; poisson and binom have no entropy), shifted and scaled by
  loc and scale.
- SciPy's values at the edges: -inf log-density outside the support, 0/1 cdf below/above it,
  nan for invalid parameters (scale <= 0, a shape outside its domain) and nan data.
- The dtype follows NumPy promotion with a weak Python float (float32 stays float32; SciPy
  always returns float64). Complex arguments raise TypeError.
- Derivatives are finite wherever the value is finite: masked entries (outside the support,
  invalid parameters) contribute zero, never nan. Discrete distributions are differentiable in
  their float parameters, not in the integer data.
- Everything is composed from chainrule.numpy and chainrule.scipy.special; there are no
  stats-specific primitives.
- Not provided: random sampling (rvs), fitting, median/moment/interval/expect, truncnorm's
  moments, poisson's and binom's entropy (SciPy sums series whose length depends on the
  values), and ppf/isf for t, gamma, chi2, beta and the discrete distributions (they need
  inverse incomplete gamma/beta functions). multivariate_normal has logpdf, pdf and entropy
  (not SciPy's numerically integrated cdf); dirichlet has logpdf, pdf, mean, var, cov and
  entropy.
"""
from ._base import Frozen
from ._discrete import bernoulli, binom, poisson
from ._elementary import cauchy, expon, laplace, logistic, uniform
from ._gammabeta import beta, chi2, gamma, t
from ._multivariate import dirichlet, multivariate_normal
from ._normal import lognorm, norm, truncnorm

__all__ = ["Frozen", "bernoulli", "beta", "binom", "cauchy", "chi2", "dirichlet", "expon",
           "gamma", "laplace", "logistic", "lognorm", "multivariate_normal", "norm", "poisson",
           "t", "truncnorm", "uniform"]
