"""The machinery shared by the distributions: argument parsing, masking, frozen distributions.

Contract:
- A distribution object (`norm`, `poisson`, ...) takes its arguments as SciPy does: the data
  first, then the shape parameters in order, then loc (and scale, for continuous
  distributions), positionally or by name; everything broadcasts.
- The result dtype follows NumPy promotion of the arguments with a weak Python float:
  float32 arguments give float32, integers and Python scalars float64. (SciPy always returns
  float64; chainrule keeps float32 so that float32 models stay float32.) Complex arguments
  raise TypeError.
- SciPy's conventions for bad and boundary values: nan for invalid parameters (scale <= 0, a
  shape outside its domain) and for nan data; a log-density of -inf outside the support
  (pdf/pmf 0); cdf 0 below and 1 above the support; ppf/isf nan outside [0, 1].
- Derivatives are finite wherever the value is: each formula is evaluated on "safe" inputs
  (data outside the support and invalid parameters are replaced by interior values before any
  log or division) and the result is selected afterwards, so masked entries contribute zero
  to gradients instead of nan.
- Eager results are numpy.ndarray (0-d for scalar arguments); under a transform, tracers.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ... import numpy as cnp
from ...core import Tracer

ArrayLike = Any
Array = Any

INF = math.inf
NAN = math.nan
LOG2 = math.log(2.0)
LOGPI = math.log(math.pi)
HALF_LOG2PI = 0.5 * math.log(2.0 * math.pi)


# --- small helpers -----------------------------------------------------------------------------


def shape_of(v) -> tuple:
    return tuple(getattr(v, "shape", ()))


def is_number(v) -> bool:
    """A Python (not NumPy) real scalar: its value is known statically, even under jit."""
    return type(v) in (int, float, bool)


def and_(a, b):
    """Logical and of masks, where a Python True is the statically-true mask."""
    if a is True:
        return b
    if b is True:
        return a
    return cnp.logical_and(a, b)


def where(c, a, b):
    """cnp.where, skipping the select when the condition is statically True."""
    return a if c is True else cnp.where(c, a, b)


def as_float(*vals):
    """Convert arguments to arrays of their common floating dtype (see the module contract)."""
    vals = [cnp.asarray(v) if type(v) in (list, tuple) else v for v in vals]
    keys = []
    for v in vals:
        dt = getattr(v, "dtype", None)
        if dt is None:
            if not isinstance(v, (int, float, bool, np.generic)):
                raise TypeError(f"expected an array or a real number, got {type(v).__name__}")
            dt = np.result_type(v)
            keys.append(v if is_number(v) else dt)
        else:
            keys.append(np.dtype(dt))
        if np.dtype(dt).kind not in "biuf":
            raise TypeError(f"chainrule.scipy.stats takes real arguments, got dtype {dt}")
    dtype = np.result_type(*keys, 1.0)
    out = []
    for v in vals:
        dt = getattr(v, "dtype", None)
        if dt is None:
            out.append(np.asarray(v, dtype))
        elif dt != dtype:
            out.append(cnp.astype(v, dtype))
        else:
            out.append(v)
    return out, dtype


def finish(out, shape):
    """Broadcast the result to the arguments' common shape; eager results become ndarrays."""
    if shape_of(out) != shape:
        out = cnp.broadcast_to(out, shape)
    if not isinstance(out, Tracer):
        out = np.asarray(out)
    return out


def log_prob(p, q):
    """log(p) given p and its complement q = 1 - p, each computed directly: log1p(-q) where
    p is near 1 (so logcdf is not rounded to 0 where sf is tiny)."""
    big = p > 0.5
    return cnp.where(big, cnp.log1p(-cnp.where(big, q, 0.0)), cnp.log(cnp.where(big, 0.5, p)))


def log1mexp(a):
    """log(1 - exp(a)) for a <= 0, accurate near 0 and for very negative a."""
    near0 = a > -LOG2
    a_near = cnp.where(near0, a, -1.0)
    a_far = cnp.where(near0, -1.0, a)
    return cnp.where(near0, cnp.log(-cnp.expm1(a_near)), cnp.log1p(-cnp.exp(a_far)))


# --- method documentation ------------------------------------------------------------------------

_METHOD_DOC = {
    "logpdf": ("The log of the probability density.",
               "log-density (-inf outside the support)"),
    "pdf": ("The probability density.", "density (0 outside the support)"),
    "logpmf": ("The log of the probability mass.",
               "log-probability (-inf off the support and at non-integer k)"),
    "pmf": ("The probability mass.", "probability (0 off the support and at non-integer k)"),
    "cdf": ("The cumulative distribution function P(X <= x).", "probability"),
    "logcdf": ("The log of the cumulative distribution function.", "log-probability"),
    "sf": ("The survival function P(X > x) = 1 - cdf, computed directly (no cancellation).",
           "probability"),
    "logsf": ("The log of the survival function.", "log-probability"),
    "ppf": ("The percent point function (the inverse of cdf).",
            "quantile (nan for q outside [0, 1])"),
    "isf": ("The inverse survival function (the inverse of sf).",
            "quantile (nan for q outside [0, 1])"),
    "mean": ("The mean.", "mean (inf or nan where it does not exist, as SciPy)"),
    "var": ("The variance.", "variance (inf or nan where it does not exist, as SciPy)"),
    "std": ("The standard deviation, sqrt(var).", "standard deviation"),
    "entropy": ("The differential entropy (for a discrete distribution, the entropy).",
                "entropy (in nats)"),
}
MOMENTS = ("mean", "var", "std", "entropy")
_PRIVATE = {"mean": "_stats", "var": "_stats", "std": "_stats", "entropy": "_entropy"}
_DATA_DOC = {"x": "x: the data (array-like).",
             "k": "k: the data (array-like, integer-valued; not differentiated).",
             "q": "q: probabilities in [0, 1] (array-like)."}


def _doc_for(dist, method):
    """The docstring of `dist.method`, from the distribution's parameter names."""
    summary, returns = _METHOD_DOC[method]
    data = "q" if method in ("ppf", "isf") else ("k" if dist.params == ("loc",) else "x")
    if method in MOMENTS:
        data = None
    names = list(dist.shapes) + list(dist.params)
    call = f"{dist.name}.{method}({', '.join(([data] if data else []) + names)})"
    args = ([_DATA_DOC[data]] if data else []) + [
        f"{s}: {dist.shape_doc.get(s, 'shape parameter.')}" for s in dist.shapes]
    args.append("loc: location (default 0).")
    if "scale" in dist.params:
        args.append("scale: scale > 0 (default 1).")
    what = {"k": "the float parameters", None: "the parameters"}.get(
        data, "the data and every parameter")
    example = dist._examples().get(method)
    if example is None:
        ex_data = {"q": ["0.9"], "k": ["2"], "x": [dist.example_x], None: []}[data]
        example = f"{dist.name}.{method}({', '.join(ex_data + list(dist.example_shapes))})"
    arg_lines = "".join(f"\n      {a}" for a in args)
    return (f"{summary}\n\n    {call}, as scipy.stats.{dist.name}.{method}: the arguments "
            f"broadcast, positionally or by name, and it is differentiable (any order) in "
            f"{what}.\n\n    Args:{arg_lines}\n\n    Returns:\n      the {returns}, in the "
            f"broadcast shape; nan where a parameter is invalid"
            f"{' or the data is nan' if data else ''}.\n\n"
            f"    Example:\n      >>> {example}\n")


# --- univariate distributions ------------------------------------------------------------------


class _Univariate:
    """Shared parsing for `_Continuous` and `_Discrete`."""

    name = ""
    shapes: tuple = ()         # names of the shape parameters, in SciPy's order
    safe_shapes: tuple = ()    # a valid value for each shape (substituted where invalid)
    params: tuple = ()         # ("loc", "scale") or ("loc",)
    a = -INF                   # the support in standard coordinates (overridable by
    b = INF                    # `_support(*shapes)`)
    methods: tuple = ()        # the public methods this distribution has
    _all_methods: tuple = ()
    example_x = "0.5"          # example data and shape values for the docstrings
    example_shapes: tuple = ()
    shape_doc: dict = {}       # name -> one line on each shape parameter

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if not cls.name:
            return
        avail = []
        for m in cls._all_methods + MOMENTS:
            if getattr(cls, _PRIVATE.get(m, "_" + m), None) is None:
                setattr(cls, m, _unavailable(m))
            else:
                avail.append(m)
        cls.methods = tuple(avail)

    def __init__(self):
        for m in self.methods:   # per-distribution docstrings on the instance's methods
            setattr(self, m, _method(getattr(self, m), _doc_for(self, m), f"{self.name}.{m}"))

    def _examples(self) -> dict:
        return {}

    def __repr__(self):
        return f"<chainrule.scipy.stats.{self.name}>"

    def __call__(self, *args, **kwds) -> Frozen:
        """Freeze the distribution at the given parameters, as scipy.stats does."""
        self._bind(args, kwds, "freeze")   # validate the names now
        return Frozen(self, args, kwds)

    def _bind(self, args, kwds, method):
        names = self.shapes + self.params
        if len(args) > len(names):
            raise TypeError(f"{self.name}.{method}() takes at most {len(names)} parameters "
                            f"after the data ({', '.join(names) or 'none'}), got {len(args)}")
        vals = dict(zip(names, args))
        for k, v in kwds.items():
            if k not in names:
                raise TypeError(f"{self.name}.{method}() got an unexpected keyword argument "
                                f"{k!r} (parameters: {', '.join(names) or 'none'})")
            if k in vals:
                raise TypeError(f"{self.name}.{method}() got multiple values for {k!r}")
            vals[k] = v
        missing = [s for s in self.shapes if s not in vals]
        if missing:
            raise TypeError(f"{self.name}.{method}() missing required shape parameter(s): "
                            f"{', '.join(repr(s) for s in missing)}")
        vals.setdefault("loc", 0)
        if "scale" in self.params:
            vals.setdefault("scale", 1)
        return [vals[n] for n in names]

    _stats = None     # (*shapes) -> (mean, variance) of the standard distribution
    _entropy = None   # (*shapes) -> its entropy

    def _moments(self, args, kwds, method):
        c = self._parse(0.0, args, kwds, method)
        return c, self._stats(*c.shapes)

    def mean(self, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c, (m, _) = self._moments(args, kwds, "mean")
        if c.scale is not None:
            m = m * c.scale
        if c.loc is not None:
            m = m + c.loc
        return self._finish(c, m)

    def _variance(self, args, kwds, method):
        c, (_, v) = self._moments(args, kwds, method)
        if c.scale is not None:
            v = v * (c.scale * c.scale)
        return c, v

    def var(self, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        return self._finish(*self._variance(args, kwds, "var"))

    def std(self, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c, v = self._variance(args, kwds, "std")
        return self._finish(c, cnp.sqrt(v))

    def entropy(self, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(0.0, args, kwds, "entropy")
        h = self._entropy(*c.shapes)
        if c.scale is not None:
            h = h + cnp.log(c.scale)
        return self._finish(c, h)

    def _argcheck(self, *shapes):
        """Mask of valid shape parameters (True: statically valid). Default: all > 0."""
        ok = True
        for s in shapes:
            ok = and_(ok, s > 0)
        return ok

    def _support(self, *shapes):
        return self.a, self.b

    def _interior(self, lo, hi):
        """A point inside the support, where formulas are evaluated for masked entries."""
        lo_f, hi_f = is_number(lo) and lo == -INF, is_number(hi) and hi == INF
        if lo_f and hi_f:
            return 0.0
        if hi_f:
            return lo + 1.0
        if lo_f:
            return hi - 1.0
        return 0.5 * (lo + hi)


def _unavailable(method):
    def get(self):
        raise AttributeError(f"chainrule.scipy.stats.{self.name} has no method {method!r} "
                             f"(available: {', '.join(self.methods)})")
    return property(get)


def quiet_log0(fn):
    """Run fn without NumPy's divide-by-zero warnings: log(0) = -inf is the documented value
    of a log-probability there (SciPy is silent too). Invalid-value warnings stay on."""
    @functools.wraps(fn)
    def f(*args, **kwds):
        with np.errstate(divide="ignore"):
            return fn(*args, **kwds)
    return f


def _method(bound, doc, qualname):
    def f(*args, **kwds):
        with np.errstate(divide="ignore"):   # as quiet_log0
            return bound(*args, **kwds)
    f.__name__ = qualname.rsplit(".", 1)[1]
    f.__qualname__ = qualname
    f.__doc__ = doc
    return f


class Frozen:
    """A distribution with its parameters fixed: `norm(loc=1.0, scale=2.0).logpdf(x)`."""

    def __init__(self, dist, args, kwds):
        self.dist, self.args, self.kwds = dist, tuple(args), dict(kwds)

    def __getattr__(self, name):
        if name in ("dist", "args", "kwds") or name.startswith("__"):
            raise AttributeError(name)
        if name not in self.dist.methods:
            raise AttributeError(f"frozen {self.dist.name} has no method {name!r} "
                                 f"(available: {', '.join(self.dist.methods)})")
        method = getattr(self.dist, name)
        if name in MOMENTS:
            def call():
                return method(*self.args, **self.kwds)
        else:
            def call(x):
                return method(x, *self.args, **self.kwds)
        call.__name__ = name
        call.__doc__ = f"{self.dist.name}.{name} at the frozen parameters."
        return call

    def __dir__(self):
        return list(self.dist.methods) + ["dist", "args", "kwds"]

    def __repr__(self):
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwds.items()]
        return f"{self.dist.name}({', '.join(parts)})"


class _Call:
    """The parsed arguments of one univariate method call. loc and scale are None where they
    are statically 0 and 1 (Python numbers), so that no arithmetic is spent on them."""

    __slots__ = ("data", "loc", "scale", "shape", "shapes", "valid")

    def __init__(self, data, shapes, loc, scale, valid, shape):
        self.data, self.shapes, self.loc, self.scale = data, shapes, loc, scale
        self.valid, self.shape = valid, shape

    def standardized(self):
        z = self.data if self.loc is None else self.data - self.loc
        return z if self.scale is None else z / self.scale


class _Continuous(_Univariate):
    """A continuous distribution in SciPy's loc/scale family: X = loc + scale * Z.

    Subclasses give the standard (loc=0, scale=1) functions of z: `_logpdf` (required), and
    any of `_cdf`, `_logcdf`, `_sf`, `_logsf`, `_ppf`, `_isf`; each is called only on points
    inside the support and valid shape parameters.
    """

    params = ("loc", "scale")
    _all_methods = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")
    _cdf = _logcdf = _sf = _logsf = _ppf = _isf = None
    _open_pdf = False   # True: the density is 0 at the support's end points too (as SciPy)

    def _pdf(self, z, *shapes):
        return cnp.exp(self._logpdf(z, *shapes))

    def _parse(self, x, args, kwds, method) -> _Call:
        *shapes, loc, scale = self._bind(args, kwds, method)
        loc0 = is_number(loc) and loc == 0
        scale_static = is_number(scale) and scale > 0
        scale1 = scale_static and scale == 1
        (x, loc, scale, *shapes), _ = as_float(x, loc, scale, *shapes)
        shape = np.broadcast_shapes(*(shape_of(v) for v in (x, loc, scale, *shapes)))
        valid = self._argcheck(*shapes)
        if not scale_static:
            valid = and_(valid, scale > 0)
        if valid is not True:
            shapes = [cnp.where(valid, s, safe) for s, safe in zip(shapes, self.safe_shapes)]
            if not scale_static:
                scale = cnp.where(valid, scale, 1.0)
        return _Call(x, shapes, None if loc0 else loc, None if scale1 else scale, valid, shape)

    def _masked(self, c, fn, open_support, below, above, density=False):
        """fn(z, *shapes) inside the support (z made safe outside it), `below`/`above` the
        support's lower/upper side, nan for nan data. A density is 0 at z = +inf also where
        the support is unbounded above (SciPy's gamma and chi2 give nan there, inf - inf)."""
        lo, hi = self._support(*c.shapes)
        z = c.standardized()
        lo_inf = is_number(lo) and lo == -INF
        hi_inf = is_number(hi) and hi == INF
        if lo_inf and hi_inf:   # formulas take +-inf and propagate nan themselves
            return fn(z, *c.shapes)
        inside = True
        if not lo_inf:
            inside = and_(inside, (lo < z) if open_support else (lo <= z))
        if not hi_inf:
            inside = and_(inside, (z < hi) if open_support else (z <= hi))
        elif density:
            inside = and_(inside, z < INF)
        zs = cnp.where(inside, z, self._interior(lo, hi))
        out = cnp.where(inside, fn(zs, *c.shapes), below)
        if below != above and not hi_inf:   # (one scalar per select keeps the dtype)
            out = cnp.where(z >= hi, above, out)
        return cnp.where(cnp.isnan(z), NAN, out)

    def _finish(self, c, out):
        if c.valid is not True:
            out = cnp.where(c.valid, out, NAN)
        return finish(out, c.shape)

    def logpdf(self, x: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(x, args, kwds, "logpdf")
        out = self._masked(c, self._logpdf, self._open_pdf, -INF, -INF, density=True)
        if c.scale is not None:
            out = out - cnp.log(c.scale)
        return self._finish(c, out)

    def pdf(self, x: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(x, args, kwds, "pdf")
        out = self._masked(c, self._pdf, self._open_pdf, 0.0, 0.0, density=True)
        if c.scale is not None:
            out = out / c.scale
        return self._finish(c, out)

    def cdf(self, x: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(x, args, kwds, "cdf")
        return self._finish(c, self._masked(c, self._cdf, True, 0.0, 1.0))

    def logcdf(self, x: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(x, args, kwds, "logcdf")
        return self._finish(c, self._masked(c, self._logcdf, True, -INF, 0.0))

    def sf(self, x: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(x, args, kwds, "sf")
        return self._finish(c, self._masked(c, self._sf, True, 1.0, 0.0))

    def logsf(self, x: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(x, args, kwds, "logsf")
        return self._finish(c, self._masked(c, self._logsf, True, 0.0, -INF))

    def _quantile(self, q, args, kwds, method, fn, at0_is_lo):
        c = self._parse(q, args, kwds, method)
        q = c.data
        lo, hi = self._support(*c.shapes)
        inside = (q > 0) & (q < 1)
        qs = cnp.where(inside, q, 0.5)
        at0, at1 = (lo, hi) if at0_is_lo else (hi, lo)
        z = cnp.where(inside, fn(qs, *c.shapes), NAN)
        z = cnp.where(q == 0, at0, cnp.where(q == 1, at1, z))
        if c.scale is not None:
            z = z * c.scale
        if c.loc is not None:
            z = z + c.loc
        return self._finish(c, z)

    def ppf(self, q: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        return self._quantile(q, args, kwds, "ppf", self._ppf, True)

    def isf(self, q: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        return self._quantile(q, args, kwds, "isf", self._isf, False)


class _Discrete(_Univariate):
    """A discrete distribution on the integers of [a, b], shifted by loc: X = loc + K.

    Subclasses give `_logpmf(k, *shapes)` (required; called only at integers of the support
    and valid shapes), and `_cdf`, `_sf` (and optionally `_logcdf`, `_logsf`) of floor(k) for
    k in [a, b). Derivatives are with respect to the (float) parameters; the data are integers.
    """

    params = ("loc",)
    _all_methods = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
    _cdf = _sf = None

    def _pmf(self, k, *shapes):
        return cnp.exp(self._logpmf(k, *shapes))

    def _logcdf(self, k, *shapes):
        return log_prob(self._cdf(k, *shapes), self._sf(k, *shapes))

    def _logsf(self, k, *shapes):
        return log_prob(self._sf(k, *shapes), self._cdf(k, *shapes))

    def _parse(self, k, args, kwds, method):
        *shapes, loc = self._bind(args, kwds, method)
        loc0 = is_number(loc) and loc == 0
        (k, loc, *shapes), _ = as_float(k, loc, *shapes)
        shape = np.broadcast_shapes(*(shape_of(v) for v in (k, loc, *shapes)))
        valid = self._argcheck(*shapes)
        if valid is not True:
            shapes = [cnp.where(valid, s, safe) for s, safe in zip(shapes, self.safe_shapes)]
        return _Call(k, shapes, None if loc0 else loc, None, valid, shape)

    _finish = _Continuous._finish

    def _pointwise(self, c, fn, fill):
        lo, hi = self._support(*c.shapes)
        k = c.standardized()
        inside = (cnp.floor(k) == k) & cnp.isfinite(k)   # pmf(+-inf) = 0 (SciPy: poisson nan)
        if not (is_number(lo) and lo == -INF):
            inside = inside & (k >= lo)
        if not (is_number(hi) and hi == INF):
            inside = inside & (k <= hi)
        ks = cnp.where(inside, k, lo)
        out = cnp.where(inside, fn(ks, *c.shapes), fill)
        return cnp.where(cnp.isnan(k), NAN, out)

    def _cumulative(self, c, fn, below, above):
        lo, hi = self._support(*c.shapes)
        k = c.standardized()
        inside = k >= lo
        hi_inf = is_number(hi) and hi == INF
        if not hi_inf:
            inside = inside & (k < hi)
        ks = cnp.where(inside, cnp.floor(k), lo)
        out = cnp.where(inside, fn(ks, *c.shapes), below)
        if not hi_inf:
            out = cnp.where(k >= hi, above, out)
        return cnp.where(cnp.isnan(k), NAN, out)

    def logpmf(self, k: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(k, args, kwds, "logpmf")
        return self._finish(c, self._pointwise(c, self._logpmf, -INF))

    def pmf(self, k: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(k, args, kwds, "pmf")
        return self._finish(c, self._pointwise(c, self._pmf, 0.0))

    def cdf(self, k: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(k, args, kwds, "cdf")
        return self._finish(c, self._cumulative(c, self._cdf, 0.0, 1.0))

    def logcdf(self, k: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(k, args, kwds, "logcdf")
        return self._finish(c, self._cumulative(c, self._logcdf, -INF, 0.0))

    def sf(self, k: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(k, args, kwds, "sf")
        return self._finish(c, self._cumulative(c, self._sf, 1.0, 0.0))

    def logsf(self, k: ArrayLike, *args: ArrayLike, **kwds: ArrayLike) -> Array:
        c = self._parse(k, args, kwds, "logsf")
        return self._finish(c, self._cumulative(c, self._logsf, 0.0, -INF))
