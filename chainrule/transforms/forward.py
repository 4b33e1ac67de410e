"""Forward mode: the JVP trace.

Contract: a `JVPTracer` carries a primal value and a non-zero tangent of the same shape. A zero
tangent is symbolic: such values are never wrapped (they stay plain values, constants to the
trace), so work on them is skipped. Each primitive's output tangent is the sum of its per-argument
`jvp_rules` (or its whole `jvp` rule); rules are written with primitives, so nesting this trace
in any other gives higher-order and mixed-mode derivatives.
While `chainrule.config.debug_nans` is on, `_debug_nans` swaps in a `process` that also checks
the output tangent for new NaNs (the fast `process` is untouched).
"""
from __future__ import annotations

import sys

import numpy as np

from ..core import Trace, Tracer, below, bind, get_aval
from ..prims.base import fit


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    @property
    def shape(self):
        return self.primal.shape

    @property
    def dtype(self):
        return self.primal.dtype


class JVPTrace(Trace):
    __slots__ = ()

    def describe(self):
        return "jvp"

    def concrete(self, tracer, how):
        p = tracer.primal
        return p._trace.concrete(p, how) if isinstance(p, Tracer) else p

    def lift(self, value):
        if value.dtype.kind not in "fc":
            return value
        return JVPTracer(self, value, np.zeros(value.shape, value.dtype))

    def process(self, prim, args, params):
        primals = list(args)
        tangents = [None] * len(args)
        for i, a in enumerate(args):
            if a.__class__ is JVPTracer and a._trace is self:
                primals[i] = a.primal
                tangents[i] = a.tangent
        if prim.jvp is not None:
            with below(self):  # the rule runs on primals and tangents, below this trace
                out, t_out = prim.jvp(primals, tangents, **params)
        else:
            rules = prim.jvp_rules
            if rules is None:
                raise NotImplementedError(
                    f"forward-mode differentiation (jvp) has no rule for primitive "
                    f"`{prim.name}`")
            out = bind(prim, *primals, **params)
            t_out = None
            for i, t in enumerate(tangents):
                if t is None:
                    continue
                rule = rules[i]
                if rule is None:
                    continue
                ti = rule(t, out, *primals, **params)
                if ti is None:
                    continue
                if t_out is None:
                    t_out = ti
                elif prim.multiple_results:
                    t_out = [a if b is None else b if a is None else a + b
                             for a, b in zip(t_out, ti)]
                else:
                    t_out = t_out + ti
        if prim.multiple_results:
            if t_out is None:
                return out
            return [self.wrap(o, t) for o, t in zip(out, t_out)]
        return self.wrap(out, t_out)

    def wrap(self, primal, tangent):
        if tangent is None or primal.dtype.kind not in "fc":
            return primal
        if tangent.shape != primal.shape or tangent.dtype != primal.dtype:
            tangent = fit(tangent, primal.shape, primal.dtype)
        return JVPTracer(self, primal, tangent)


# ---------------------------------------------------------------------------------------------
# debug_nans: a checking process, swapped in by chainrule.config


def _process_checking(self, prim, args, params):
    """JVPTrace.process while debug_nans is on: primal and tangent rules run through the
    checking `bind`; a tangent that comes out NaN from NaN-free primals and tangents (e.g. by
    a NumPy operator inside a rule) raises NaNError naming the primitive."""
    out = _process_fast(self, prim, args, params)
    from ..config import has_nan, nan_error

    def values(xs):
        return [v for x in xs for v in ((x.primal, x.tangent) if x.__class__ is JVPTracer
                                        and x._trace is self else (x,))]

    outs = values(out if prim.multiple_results else [out])
    if has_nan(outs) and not has_nan(values(args)):
        raise nan_error(f"the JVP rule of `{prim.name}`", prim.name, sys._getframe(0))
    return out


_process_fast = JVPTrace.process


def _debug_nans(on: bool) -> None:
    JVPTrace.process = _process_checking if on else _process_fast
