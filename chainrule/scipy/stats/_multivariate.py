"""Multivariate distributions: multivariate_normal and dirichlet, with SciPy's conventions.

multivariate_normal: x has the components on its last axis; cov may be a scalar (times the
identity), a vector (the diagonal) or a matrix. A full matrix is symmetrized ((cov + cov^T) / 2,
as JAX does, so that its gradient is the symmetric one of the textbook formula) and factored
by Cholesky (logdet = 2 sum log diag L, the Mahalanobis term by a triangular solve), which is
stable and differentiable for positive definite cov. allow_singular=True follows SciPy's
pseudo-inverse and pseudo-determinant (eigh, eigenvalues above SciPy's cutoff), with -inf off
the support subspace; its derivatives go through eigh, so they need distinct eigenvalues
(a diagonal cov has no such restriction). As an extension over SciPy, mean (..., d) and
cov (..., d, d) may carry leading batch dimensions, broadcasting against x.

dirichlet: as in SciPy, x has the components on its FIRST axis (K or K - 1 entries; with
K - 1 the last is 1 - sum), alpha is a vector of K positive concentrations.

Where SciPy raises ValueError on the values of the arguments (a point off the simplex, alpha
<= 0, a zero or negative variance), these functions cannot (the values are not known under
jit or vmap): they return -inf for points outside the support and nan for invalid parameters,
like the univariate distributions. The exception is a full cov that is not positive definite
with allow_singular=False: the Cholesky factorization raises numpy.linalg.LinAlgError (a
ValueError, as SciPy's), eagerly and under every transform. Shape errors raise ValueError.
Outputs are squeezed as SciPy squeezes them (a single point gives a 0-d array). With
mean=None, a vector cov (the diagonal) sets the dimension (SciPy requires the mean then).
"""
from __future__ import annotations

import numpy as np

from ... import numpy as cnp
from .. import special as sc
from ._base import INF, NAN, Array, ArrayLike, as_float, finish, quiet_log0, shape_of

_LOG_2PI = float(np.log(2.0 * np.pi))


def _squeeze(out):
    """SciPy's output convention: drop every length-1 axis."""
    shape = shape_of(out)
    if any(d == 1 for d in shape):
        out = cnp.reshape(out, tuple(d for d in shape if d != 1))
    return finish(out, tuple(d for d in shape if d != 1))


# --- multivariate normal ---------------------------------------------------------------------


class multivariate_normal_gen:
    """The multivariate normal distribution N(mean, cov).

    Methods: logpdf, pdf, entropy; `multivariate_normal(mean, cov, allow_singular)` freezes.
    """

    name = "multivariate_normal"
    methods = ("logpdf", "pdf", "entropy")

    def __repr__(self):
        return "<chainrule.scipy.stats.multivariate_normal>"

    def __call__(self, mean: ArrayLike = None, cov: ArrayLike = 1,
                 allow_singular: bool = False) -> multivariate_normal_frozen:
        """Freeze the distribution: `multivariate_normal(mean, cov).logpdf(x)`."""
        self._params(mean, cov)
        return multivariate_normal_frozen(mean, cov, allow_singular)

    def _params(self, mean, cov, x=None):
        """(dim, x, mean, cov, cov_kind), x shaped (..., dim), as SciPy processes them."""
        vals, dt = as_float(*(v for v in (x, mean, cov) if v is not None))
        it = iter(vals)
        x = next(it) if x is not None else None
        mean = next(it) if mean is not None else None
        cov = next(it)
        cshape = shape_of(cov)
        if mean is None:
            dim = cshape[-1] if cshape else 1
            mean = np.zeros(dim, dt)
        elif not shape_of(mean):
            dim = 1
            mean = cnp.reshape(mean, (1,))
        else:
            dim = shape_of(mean)[-1]
        if len(cshape) == 0:
            kind = "scalar"
        elif len(cshape) == 1:
            kind = "diagonal"
            if cshape[0] != dim:
                raise ValueError(f"multivariate_normal: cov of shape {cshape} (a diagonal) "
                                 f"does not match the dimension {dim} of mean")
        else:
            kind = "full"
            if cshape[-2:] != (dim, dim):
                raise ValueError(f"multivariate_normal: cov must have shape (..., {dim}, "
                                 f"{dim}) to match mean of dimension {dim}, got {cshape}")
        if x is not None:
            xs = shape_of(x)
            if len(xs) == 0:
                x = cnp.reshape(x, (1,))
            elif len(xs) == 1:
                x = cnp.reshape(x, (xs[0], 1) if dim == 1 else (1, xs[0]))
            if shape_of(x)[-1] != dim:
                raise ValueError(f"multivariate_normal: x has {shape_of(x)[-1]} components on "
                                 f"its last axis, but the distribution has dimension {dim}")
        return dim, x, mean, cov, kind

    def _logpdf(self, x, mean, cov, allow_singular):
        dim, x, mean, cov, kind = self._params(mean, cov, x)
        dev = x - mean
        if kind == "scalar":
            cov = cnp.broadcast_to(cov, (dim,))
            kind = "diagonal"
        if kind == "diagonal":
            if allow_singular:
                return _pseudo_logpdf(cov, dev)
            valid = cnp.all(cov > 0, axis=-1)
            c = cnp.where(cov > 0, cov, 1.0)
            maha = cnp.sum(dev * dev / c, axis=-1)
            out = -0.5 * (dim * _LOG_2PI + cnp.sum(cnp.log(c), axis=-1) + maha)
            return cnp.where(valid, out, NAN)
        cov = _symmetrize(cov)
        if allow_singular:
            s, u = cnp.linalg.eigh(cov)
            return _pseudo_logpdf(s, cnp.matmul(dev[..., None, :], u)[..., 0, :])
        L = cnp.linalg.cholesky(cov)
        logdet = 2.0 * cnp.sum(cnp.log(cnp.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
        y = _solve_lower(L, dev)
        return -0.5 * (dim * _LOG_2PI + logdet + cnp.sum(y * y, axis=-1))

    @quiet_log0
    def logpdf(self, x: ArrayLike, mean: ArrayLike = None, cov: ArrayLike = 1,
               allow_singular: bool = False) -> Array:
        """The log of the multivariate normal density at x.

        Args:
          x: points, components on the last axis (a 1-d x is one point, or several points
            when the dimension is 1, as in SciPy).
          mean: the mean vector (default zeros).
          cov: the covariance: a scalar (times the identity), a vector (its diagonal) or a
            positive definite matrix (default 1).
          allow_singular: accept a singular cov (pseudo-inverse and pseudo-determinant;
            -inf off its support).

        Returns:
          the log-density, squeezed like SciPy's (0-d for one point).

        Example:
          >>> multivariate_normal.logpdf([0.5, -0.2], mean=[0.0, 0.0], cov=[[1.0, 0.3],
          ...                            [0.3, 2.0]])
        """
        return _squeeze(self._logpdf(x, mean, cov, allow_singular))

    @quiet_log0
    def pdf(self, x: ArrayLike, mean: ArrayLike = None, cov: ArrayLike = 1,
            allow_singular: bool = False) -> Array:
        """The multivariate normal density at x (exp of logpdf; same arguments).

        Args:
          x, mean, cov, allow_singular: as for logpdf.

        Returns:
          the density, squeezed like SciPy's.

        Example:
          >>> multivariate_normal.pdf([0.0, 0.0], cov=2.0)  # 1 / (4 pi)
        """
        return _squeeze(cnp.exp(self._logpdf(x, mean, cov, allow_singular)))

    @quiet_log0
    def entropy(self, mean: ArrayLike = None, cov: ArrayLike = 1) -> Array:
        """The differential entropy 0.5 (d (1 + log 2 pi) + log det cov).

        Args:
          mean: the mean (only its dimension matters).
          cov: the covariance, as for logpdf (positive definite).

        Returns:
          the entropy (0-d, or one per leading batch entry of cov).

        Example:
          >>> multivariate_normal.entropy(cov=[[1.0, 0.0], [0.0, 1.0]])  # 1 + log(2 pi)
        """
        dim, _, _, cov, kind = self._params(mean, cov)
        if kind == "scalar":
            logdet = dim * cnp.log(cnp.where(cov > 0, cov, NAN))
        elif kind == "diagonal":
            logdet = cnp.where(cnp.all(cov > 0, axis=-1),
                               cnp.sum(cnp.log(cnp.where(cov > 0, cov, 1.0)), axis=-1), NAN)
        else:
            L = cnp.linalg.cholesky(_symmetrize(cov))
            logdet = 2.0 * cnp.sum(cnp.log(cnp.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
        return _squeeze(0.5 * (dim * (_LOG_2PI + 1.0) + logdet))


def _pseudo_logpdf(s, proj):
    """SciPy's allow_singular density from the eigenvalues s (..., d) of cov and the deviation's
    coordinates proj (..., d) in its eigenbasis: eigenvalues below SciPy's cutoff are dropped
    (pseudo-inverse, pseudo-determinant, rank), points off their span get -inf, and a
    clearly negative eigenvalue (not positive semidefinite) gives nan."""
    cond = (1e6 if s.dtype == np.float64 else 1e3) * float(np.finfo(s.dtype).eps)
    eps = cond * cnp.max(cnp.abs(s), axis=-1)
    keep = s > eps[..., None]
    s_safe = cnp.where(keep, s, 1.0)
    rank = cnp.sum(cnp.astype(keep, s.dtype), axis=-1)
    log_pdet = cnp.sum(cnp.where(keep, cnp.log(s_safe), 0.0), axis=-1)
    maha = cnp.sum(cnp.where(keep, proj * proj / s_safe, 0.0), axis=-1)
    resid = cnp.sum(cnp.where(keep, 0.0, proj * proj), axis=-1)
    out = cnp.where(resid < eps * eps, -0.5 * (rank * _LOG_2PI + log_pdet + maha), -INF)
    return cnp.where(cnp.min(s, axis=-1) < -eps, NAN, out)


def _symmetrize(c):
    """(c + c^T) / 2: the value of a symmetric cov is unchanged, and its gradient is the
    symmetric one (as for a function of a symmetric matrix), not one triangle's."""
    return 0.5 * (c + cnp.swapaxes(c, -1, -2))


def _diag(v):
    return v[..., :, None] * cnp.eye(shape_of(v)[-1])


def _solve_lower(L, b):
    """L^-1 b for lower-triangular L (..., d, d) and b (..., d), broadcasting."""
    from .. import linalg as sl
    bshape = np.broadcast_shapes(shape_of(b), shape_of(L)[:-1])
    lshape = bshape[:-1] + shape_of(L)[-2:]
    return sl.solve_triangular(cnp.broadcast_to(L, lshape),
                               cnp.broadcast_to(b, bshape)[..., None], lower=True)[..., 0]


class multivariate_normal_frozen:
    """multivariate_normal with fixed mean and cov: `.logpdf(x)`, `.pdf(x)`, `.entropy()`."""

    def __init__(self, mean, cov, allow_singular):
        self.mean, self.cov, self.allow_singular = mean, cov, allow_singular

    def logpdf(self, x: ArrayLike) -> Array:
        """multivariate_normal.logpdf at the frozen parameters."""
        return multivariate_normal.logpdf(x, self.mean, self.cov, self.allow_singular)

    def pdf(self, x: ArrayLike) -> Array:
        """multivariate_normal.pdf at the frozen parameters."""
        return multivariate_normal.pdf(x, self.mean, self.cov, self.allow_singular)

    def entropy(self) -> Array:
        """multivariate_normal.entropy at the frozen parameters."""
        return multivariate_normal.entropy(self.mean, self.cov)


multivariate_normal = multivariate_normal_gen()


# --- Dirichlet -----------------------------------------------------------------------------------


def _alpha(alpha, what):
    (alpha,), dt = as_float(alpha)
    if len(shape_of(alpha)) != 1:
        raise ValueError(f"dirichlet.{what}: the parameter vector alpha must be one "
                         f"dimensional, got shape {shape_of(alpha)}")
    return alpha, dt


class dirichlet_gen:
    """The Dirichlet distribution on the simplex, with concentrations alpha > 0.

    Methods: logpdf, pdf, mean, var, cov, entropy; `dirichlet(alpha)` freezes.
    """

    name = "dirichlet"
    methods = ("logpdf", "pdf", "mean", "var", "cov", "entropy")

    def __repr__(self):
        return "<chainrule.scipy.stats.dirichlet>"

    def __call__(self, alpha: ArrayLike) -> dirichlet_frozen:
        """Freeze the distribution: `dirichlet(alpha).logpdf(x)`."""
        _alpha(alpha, "__call__")
        return dirichlet_frozen(alpha)

    def _logpdf(self, x, alpha):
        (x, alpha), dt = as_float(x, alpha)
        if len(shape_of(alpha)) != 1:
            raise ValueError(f"dirichlet: the parameter vector alpha must be one "
                             f"dimensional, got shape {shape_of(alpha)}")
        k = shape_of(alpha)[0]
        xs = shape_of(x)
        if not xs or xs[0] not in (k, k - 1):
            raise ValueError(f"dirichlet: x must have {k} (or {k - 1}) entries on its first "
                             f"axis to match alpha of shape {(k,)}, got shape {xs}")
        tol = 1e-9 if dt == np.float64 else 1e-5
        if xs[0] == k - 1:
            last = 1.0 - cnp.sum(x, axis=0, keepdims=True)
            x = cnp.concatenate([x, last], axis=0)
            on_simplex = True
        else:
            on_simplex = cnp.abs(cnp.sum(x, axis=0) - 1.0) <= tol
        inside = cnp.all((x >= 0) & (x <= 1), axis=0)
        if on_simplex is not True:
            inside = inside & on_simplex
        x = cnp.where(inside, x, 1.0 / k)
        a = cnp.reshape(alpha, (k,) + (1,) * (len(xs) - 1))
        valid = cnp.all(alpha > 0)
        a = cnp.where(valid, a, 1.0)
        safe_alpha = cnp.where(valid, alpha, 1.0)
        log_b = cnp.sum(sc.gammaln(safe_alpha)) - sc.gammaln(cnp.sum(safe_alpha))
        out = cnp.sum(sc.xlogy(a - 1.0, x), axis=0) - log_b
        out = cnp.where(inside, out, -INF)
        return cnp.where(valid, out, NAN)

    @quiet_log0
    def logpdf(self, x: ArrayLike, alpha: ArrayLike) -> Array:
        """The log of the Dirichlet density at x.

        Args:
          x: points, components on the first axis: K entries (on the simplex: non-negative,
            summing to 1 within 1e-9), or K - 1 entries (the last one is 1 - sum).
          alpha: the K concentrations (> 0).

        Returns:
          the log-density per point (squeezed as SciPy's); -inf off the simplex, nan when
          some alpha <= 0. At x_i == 0 with alpha_i < 1 the density is +inf.

        Example:
          >>> dirichlet.logpdf([0.2, 0.3, 0.5], [1.0, 2.0, 3.0])
        """
        return _squeeze(self._logpdf(x, alpha))

    @quiet_log0
    def pdf(self, x: ArrayLike, alpha: ArrayLike) -> Array:
        """The Dirichlet density at x (exp of logpdf; same arguments).

        Args:
          x, alpha: as for logpdf.

        Returns:
          the density per point (squeezed as SciPy's).

        Example:
          >>> dirichlet.pdf([0.2, 0.8], [1.0, 1.0])  # 1
        """
        return _squeeze(cnp.exp(self._logpdf(x, alpha)))

    @quiet_log0
    def mean(self, alpha: ArrayLike) -> Array:
        """The mean alpha / sum(alpha).

        Args:
          alpha: the concentrations.

        Returns:
          the mean vector.

        Example:
          >>> dirichlet.mean([1.0, 3.0])  # [0.25, 0.75]
        """
        alpha, _ = _alpha(alpha, "mean")
        return _squeeze(alpha / cnp.sum(alpha))

    @quiet_log0
    def var(self, alpha: ArrayLike) -> Array:
        """The variances of the components.

        Args:
          alpha: the concentrations.

        Returns:
          alpha (a0 - alpha) / (a0**2 (a0 + 1)), a0 = sum(alpha).

        Example:
          >>> dirichlet.var([1.0, 1.0])  # [1/12, 1/12]
        """
        alpha, _ = _alpha(alpha, "var")
        a0 = cnp.sum(alpha)
        return _squeeze(alpha * (a0 - alpha) / (a0 * a0 * (a0 + 1.0)))

    @quiet_log0
    def cov(self, alpha: ArrayLike) -> Array:
        """The covariance matrix (diag(m) - m m^T) / (a0 + 1), m = alpha / a0.

        Args:
          alpha: the concentrations.

        Returns:
          the K x K covariance matrix.

        Example:
          >>> dirichlet.cov([1.0, 1.0])
        """
        alpha, _ = _alpha(alpha, "cov")
        a0 = cnp.sum(alpha)
        m = alpha / a0
        return _squeeze((_diag(m) - m[:, None] * m[None, :]) / (a0 + 1.0))

    @quiet_log0
    def entropy(self, alpha: ArrayLike) -> Array:
        """The differential entropy.

        Args:
          alpha: the concentrations.

        Returns:
          log B(alpha) + (a0 - K) digamma(a0) - sum((alpha - 1) digamma(alpha)).

        Example:
          >>> dirichlet.entropy([1.0, 1.0, 1.0])  # -log 2
        """
        alpha, _ = _alpha(alpha, "entropy")
        k = shape_of(alpha)[0]
        a0 = cnp.sum(alpha)
        log_b = cnp.sum(sc.gammaln(alpha)) - sc.gammaln(a0)
        out = log_b + (a0 - k) * sc.digamma(a0) - cnp.sum((alpha - 1.0) * sc.digamma(alpha))
        return _squeeze(out)


class dirichlet_frozen:
    """dirichlet with fixed alpha: `.logpdf(x)`, `.pdf(x)`, `.mean()`, `.var()`, `.cov()`,
    `.entropy()`."""

    def __init__(self, alpha):
        self.alpha = alpha

    def logpdf(self, x: ArrayLike) -> Array:
        """dirichlet.logpdf at the frozen alpha."""
        return dirichlet.logpdf(x, self.alpha)

    def pdf(self, x: ArrayLike) -> Array:
        """dirichlet.pdf at the frozen alpha."""
        return dirichlet.pdf(x, self.alpha)

    def mean(self) -> Array:
        """dirichlet.mean at the frozen alpha."""
        return dirichlet.mean(self.alpha)

    def var(self) -> Array:
        """dirichlet.var at the frozen alpha."""
        return dirichlet.var(self.alpha)

    def cov(self) -> Array:
        """dirichlet.cov at the frozen alpha."""
        return dirichlet.cov(self.alpha)

    def entropy(self) -> Array:
        """dirichlet.entropy at the frozen alpha."""
        return dirichlet.entropy(self.alpha)


dirichlet = dirichlet_gen()
