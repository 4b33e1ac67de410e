"""Rule builders shared by the primitive blocks, and small structural helpers used by rules.

Contract: builders return a fully-ruled `Primitive` for a common shape of operation
(elementwise unary/binary, "no derivative"); rules they build use only primitives and
operators, so they are differentiable, batchable and stageable themselves.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..core import Primitive, ShapedArray, Tracer, bind

_float_kinds = "fc"
_SCALARS = (float, int, complex, bool)


def _dtype_of(a):
    dt = getattr(a, "dtype", None)
    return a if dt is None else dt


def ufunc_aval(ufunc):
    """A shape rule for a NumPy ufunc: broadcast the shapes, resolve the dtype like NumPy."""
    def rule(*args, **params):
        shape = np.broadcast_shapes(*(np.shape(a) if not hasattr(a, "shape") else a.shape
                                      for a in args))
        dt = np.result_type(*(_dtype_of(a) for a in args))
        try:
            out = ufunc.resolve_dtypes((dt,) * ufunc.nin + (None,) * ufunc.nout)[-1]
        except Exception:  # no loop for this dtype: NumPy raises at run time too
            out = dt
        return ShapedArray(shape, out)
    return rule


def batch_elementwise(prim: Primitive):
    """Batching rule for elementwise (broadcasting) primitives: batch dims moved to the front."""
    def rule(vals, bdims, **params):
        r = 0
        low = None  # the lowest per-example rank of a batched operand
        front = True
        for v, b in zip(vals, bdims):
            if b is None:
                n = 0 if type(v) in _SCALARS else v.ndim if hasattr(v, "ndim") else np.ndim(v)
            else:
                n = v.ndim - 1
                front = front and b == 0
                if low is None or n < low:
                    low = n
            if n > r:
                r = n
        if front and low == r:
            # batch dims in front, on operands of the highest rank: NumPy broadcasts as is
            return bind(prim, *vals, **params), 0
        ranks = [np.ndim(v) - (b is not None) if not hasattr(v, "ndim") else
                 v.ndim - (b is not None) for v, b in zip(vals, bdims)]
        new = []
        for v, b, rk in zip(vals, bdims, ranks):
            if b is not None:
                v = moveaxis0(v, b)
                if rk < r:
                    v = reshape_p(v, shape=(v.shape[0],) + (1,) * (r - rk) + v.shape[1:])
            new.append(v)
        return bind(prim, *new, **params), 0
    return rule


def elementwise(name: str, impl: Callable, nargs: int, *, derivs=None, jvp_rules=None,
                vjp_rules=None, traits=(), aval=None, lower=None,
                bounded: bool = False) -> Primitive:
    """An elementwise primitive of `nargs` arrays.

    Either `derivs` (one function (ans, *args) -> partial derivative per argument, None for
    non-differentiable arguments) or explicit `jvp_rules`/`vjp_rules`. With neither, the
    primitive has no derivative (its outputs are constants to differentiation).
    Unless `bounded` says the derivatives are finite wherever the inputs are, the JVP and
    VJP multiply the tangent/cotangent zero-safely (0 * inf = 0), so masked-out branches of
    `where` never turn a zero cotangent into NaN, and zero tangents stay zero.
    """
    p = Primitive(name)
    p.impl = impl
    p.abstract_eval = aval or (ufunc_aval(impl) if isinstance(impl, np.ufunc) else None)
    if derivs is not None:
        jvp_rules = tuple(None if d is None else _jvp_from_deriv(d, bounded) for d in derivs)
        vjp_rules = tuple(None if d is None else _vjp_from_deriv(d, bounded) for d in derivs)
    p.jvp_rules = jvp_rules if jvp_rules is not None else (None,) * nargs
    p.vjp_rules = vjp_rules if vjp_rules is not None else (None,) * nargs
    p.batch = batch_elementwise(p)
    p.traits = frozenset({"elementwise", *traits})
    p.lower = lower if lower is not None else (
        f"np.{impl.__name__}" if isinstance(impl, np.ufunc) else None)
    return p


def _jvp_from_deriv(d, bounded=False):
    if bounded:
        return lambda t, ans, *args, **params: t * d(ans, *args, **params)

    def rule(t, ans, *args, **params):
        dv = d(ans, *args, **params)
        # a zero tangent stays zero where the derivative is infinite (jacfwd's basis vectors
        # are mostly zeros: d sqrt(x0)/dx1 at x0 = 0 is 0, not 0 * inf = NaN)
        return t * dv if type(dv) is float else zmul_p(t, dv)
    return rule


def _vjp_from_deriv(d, bounded=False):
    def rule(ct, ans, *args, **params):
        dv = d(ans, *args, **params)
        if type(dv) is float:
            return ct * dv
        if getattr(dv, "dtype", None) is not None and dv.dtype.kind == "c":
            dv = conj_p(dv)
        if bounded:
            # a traced dv on the left: NumPy's operator would detour through __array_ufunc__
            return ct * dv if dv.__class__ is np.ndarray or isinstance(ct, Tracer) else dv * ct
        return zmul_p(ct, dv)
    return rule


# ---------------------------------------------------------------------------------------------
# structural helpers used by rules everywhere


def moveaxis0(x, axis: int):
    """Move `axis` of x to the front (a transpose primitive, or nothing)."""
    if axis == 0:
        return x
    n = x.ndim
    perm = (axis,) + tuple(i for i in range(n) if i != axis)
    return transpose_p(x, perm=perm)


def fit(x, shape, dtype, reduce: bool = False):
    """Make x have `shape` and `dtype`: broadcast up, or (reduce=True) sum broadcast dims away."""
    xs = x.shape
    if xs != tuple(shape):
        if reduce and len(xs) >= len(shape):
            lead = len(xs) - len(shape)
            axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                              if d == 1 and xs[i + lead] != 1)
            if axes:
                x = reduce_sum_p(x, axes=axes)
            if x.shape != tuple(shape):
                x = reshape_p(x, shape=tuple(shape))
        else:
            x = broadcast_to_p(x, shape=tuple(shape))
    dtype = np.dtype(dtype)
    if x.dtype != dtype:
        if x.dtype.kind == "c" and dtype.kind != "c":
            x = real_p(x)
        x = convert_p(x, dtype=dtype)
    return x


def unbroadcast(ct, like):
    """Sum a cotangent down to the shape (and dtype) of the argument `like`."""
    return fit(ct, like.shape, like.dtype, reduce=True)


from .structural import (broadcast_to_p, convert_p, reduce_sum_p, reshape_p,  # noqa: E402
                         transpose_p)
from .elementwise import conj_p, real_p, zmul_p  # noqa: E402
