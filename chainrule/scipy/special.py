"""chainrule.scipy.special: special functions with SciPy's names and semantics, differentiable.

The stable compositions (logsumexp, softmax, log_softmax) shift by a stop-gradient maximum;
xlogy/xlog1py/entr use the "safe where" pattern so that their derivatives are finite where
x == 0 (the untaken branch never sees log(0)).
"""
from __future__ import annotations

import numpy as np

from ..core import bind
from .. import prims as P
from .. import numpy as cnp
from ..transforms.custom import stop_gradient

__all__ = ["logsumexp", "expit", "logit", "log_softmax", "softmax", "erf", "erfc", "erfinv",
           "gammaln", "digamma", "psi", "polygamma", "xlogy", "xlog1py", "entr", "ndtr",
           "log_expit"]


def erf(x):
    """The error function."""
    return bind(P.erf_p, cnp.asarray(x) if isinstance(x, (list, tuple)) else x)


def erfc(x):
    """The complementary error function 1 - erf(x)."""
    return bind(P.erfc_p, x)


def erfinv(y):
    """The inverse of erf on (-1, 1)."""
    return bind(P.erfinv_p, y)


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), computed without overflow."""
    return bind(P.expit_p, x)


def log_expit(x):
    """log(expit(x)) = -log(1 + exp(-x)), stable for large |x|."""
    return -cnp.logaddexp(0.0, -cnp.asarray(x) if isinstance(x, (list, tuple)) else -x)


def logit(p):
    """The inverse of expit: log(p / (1 - p))."""
    return cnp.log(p) - cnp.log1p(-p if not isinstance(p, (list, tuple)) else -cnp.asarray(p))


def gammaln(x):
    """log|Gamma(x)|."""
    return bind(P.gammaln_p, x)


def digamma(x):
    """The logarithmic derivative of Gamma."""
    return bind(P.digamma_p, x)


psi = digamma


def polygamma(n, x):
    """The n-th derivative of digamma (n a non-negative Python int)."""
    n = int(n)
    if n < 0:
        raise ValueError("polygamma order n must be a non-negative integer")
    return bind(P.polygamma_p, x, n=n)


def ndtr(x):
    """The standard normal CDF."""
    return 0.5 * erfc(-cnp.asarray(x) / np.sqrt(2.0) if isinstance(x, (list, tuple))
                      else -x / np.sqrt(2.0))


def xlogy(x, y):
    """x * log(y), taken as 0 where x == 0 (finite derivatives there too)."""
    x, y = _arr(x), _arr(y)
    zero = cnp.equal(x, 0)
    return cnp.where(zero, 0.0, x * cnp.log(cnp.where(zero, 1.0, y)))


def xlog1py(x, y):
    """x * log1p(y), taken as 0 where x == 0."""
    x, y = _arr(x), _arr(y)
    zero = cnp.equal(x, 0)
    return cnp.where(zero, 0.0, x * cnp.log1p(cnp.where(zero, 0.0, y)))


def entr(x):
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    x = _arr(x)
    pos = cnp.greater(x, 0)
    safe = cnp.where(pos, x, 1.0)
    return cnp.where(pos, -safe * cnp.log(safe), cnp.where(cnp.equal(x, 0), 0.0, -np.inf))


def _arr(x):
    return cnp.asarray(x) if isinstance(x, (list, tuple)) else x


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over axis, computed stably (as scipy.special.logsumexp)."""
    a = cnp.asarray(a)
    m = cnp.max(a, axis=axis, keepdims=True) if cnp.size(a) else cnp.zeros((1,) * cnp.ndim(a))
    m = stop_gradient(cnp.where(cnp.isfinite(m), m, 0.0))
    e = cnp.exp(a - m)
    if b is not None:
        e = cnp.asarray(b) * e
    s = cnp.sum(e, axis=axis, keepdims=True)
    if return_sign:
        sign = cnp.sign(s)
        s = cnp.abs(s)
    out = cnp.log(s) + m
    if not keepdims:
        out = cnp.squeeze(out, axis=axis if axis is not None else None) if axis is not None \
            else cnp.reshape(out, ())
        if return_sign:
            sign = cnp.squeeze(sign, axis=axis) if axis is not None else cnp.reshape(sign, ())
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) over axis (all axes when None), stably."""
    x = cnp.asarray(x)
    return cnp.exp(x - logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x, axis=None):
    """x - logsumexp(x) over axis (all axes when None)."""
    x = cnp.asarray(x)
    return x - logsumexp(x, axis=axis, keepdims=True)
