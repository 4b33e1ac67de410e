"""Reverse mode: a tape of primitive applications and a backward sweep.

Contract: under an `RTrace`, every primitive applied to one of its tracers appends a node
(primitive, params, unwrapped arguments, output, ...: a tuple, see PRIM ... WHERE below) to the
trace's tape. `backward` walks the tape once in reverse creation order (a valid reverse
topological order), applies each node's VJP rules to its cotangent and sums fan-out into its
parents. Nodes that receive no cotangent cost
nothing. Zero cotangents are symbolic (None). Rules run through `bind`, so when an outer trace is
active the backward pass is itself recorded by it: that gives grad of grad, jvp of grad, and so on.
Outputs with integer or boolean dtype carry no derivative and are never wrapped.
While `chainrule.config.debug_nans` is on, `_debug_nans` swaps in checking versions of
`RTrace.process` (evaluation through the checking `bind`; each node records its user source
line) and of `backward` (cotangents checked for new NaNs); the fast versions are untouched.
"""
from __future__ import annotations

import sys

import numpy as np

from ..core import Trace, Tracer, below, bind, get_aval
from ..prims.base import fit

ndarray = np.ndarray


# A tape node is a plain tuple (building one costs a fraction of an object's __init__, and the
# tape records one per primitive):
#   (prim, params, args, out, parents, bwd, idx, where)
# prim is None for an input (a leaf of the tape); args are the unwrapped arguments; parents
# lists (argument position, parent node, parent output index or -1) for the arguments that
# carry a derivative; bwd is the backward function of a primitive with a whole `reverse` rule,
# else None; idx is the node's position on the tape; where (the user's source line) is set only
# while config.debug_nans is on.
PRIM, PARAMS, ARGS, OUT, PARENTS, BWD, IDX, WHERE = range(8)


class RTracer(Tracer):
    __slots__ = ("_val", "_node", "_k")

    def __init__(self, trace, val, node, k=-1):
        self._trace = trace
        self._val = val
        self._node = node
        self._k = k

    @property
    def aval(self):
        return get_aval(self._val)

    @property
    def shape(self):
        return self._val.shape

    @property
    def dtype(self):
        return self._val.dtype

    @property
    def ndim(self):
        return self._val.ndim


class RTrace(Trace):
    __slots__ = ("tape",)

    def __init__(self):
        super().__init__()
        self.tape = []

    def describe(self):
        return "grad/vjp"

    def concrete(self, tracer, how):
        v = tracer._val
        return v._trace.concrete(v, how) if isinstance(v, Tracer) else v

    def lift(self, value):
        if value.dtype.kind not in "fc":
            return value
        return self.new_input(value)

    def new_input(self, val):
        """A tracer for an input value (a leaf of the tape)."""
        node = (None, None, None, val, (), None, len(self.tape), None)
        self.tape.append(node)
        return RTracer(self, val, node)

    def process(self, prim, args, params):
        rules = prim.vjp_rules
        if rules is None or prim.reverse is not None:
            return self._process_whole(prim, args, params)
        vals = []
        parents = []
        top = None
        i = 0
        for a in args:
            if a.__class__ is RTracer and a._trace is self:
                v = a._val
                if rules[i] is not None:
                    parents.append((i, a._node, a._k))
            else:
                v = a
            if v.__class__ is not ndarray and isinstance(v, Tracer) and (
                    top is None or v._trace.level > top.level):
                top = v._trace
            vals.append(v)
            i += 1
        # bind, inlined: this is the hot path of eager reverse mode
        out = prim.impl(*vals, **params) if top is None else top.process(prim, vals, params)
        if not parents:
            return out
        tape = self.tape
        node = (prim, params, vals, out, parents, None, len(tape), None)
        tape.append(node)
        if prim.multiple_results:
            return [RTracer(self, o, node, k) if o.dtype.kind in "fc" else o
                    for k, o in enumerate(out)]
        if out.dtype.kind not in "fc":
            return out
        return RTracer(self, out, node)

    def _process_whole(self, prim, args, params):
        """process for a primitive with a whole-primitive `reverse` rule."""
        full = prim.reverse
        if full is None:
            raise NotImplementedError(
                f"reverse-mode differentiation (grad/vjp) has no rule for primitive "
                f"`{prim.name}`")
        vals = []
        parents = []
        for i, a in enumerate(args):
            if a.__class__ is RTracer and a._trace is self:
                parents.append((i, a._node, a._k))
                vals.append(a._val)
            else:
                vals.append(a)
        with below(self):  # the rule runs on the values, below this trace
            out, bwd = full(vals, params)
        if not parents:
            return out
        tape = self.tape
        node = (prim, params, vals, out, parents, bwd, len(tape), None)
        tape.append(node)
        if prim.multiple_results:
            return [RTracer(self, o, node, k) if o.dtype.kind in "fc" else o
                    for k, o in enumerate(out)]
        if out.dtype.kind not in "fc":
            return out
        return RTracer(self, out, node)


def backward(tape, seeds):
    """Run the backward sweep from seeds (node, output index, cotangent); returns the cotangents
    indexed by node position.

    For multi-output nodes, cotangents are lists with one entry (or None) per output.
    """
    cts = [None] * len(tape)
    for node, k, ct in seeds:
        _accumulate(cts, node, k, ct)
    for j in range(len(tape) - 1, -1, -1):
        ct = cts[j]
        if ct is None:
            continue
        prim, params, args, out, parents, bwd, _, _ = tape[j]
        if prim is None:
            continue  # an input: its cotangent is a result
        cts[j] = None
        if prim.multiple_results:
            ct = [fit_zero(c, o) for c, o in zip(ct, out)]
        if bwd is not None:
            arg_cts = bwd(ct)
        else:
            rules = prim.vjp_rules
        for i, parent, k in parents:
            c = arg_cts[i] if bwd is not None else rules[i](ct, out, *args, **params)
            if c is None:
                continue
            if k < 0:
                # _accumulate, inlined for single-output parents
                pv = parent[OUT]
                if c.shape != pv.shape or c.dtype != pv.dtype:
                    c = fit(c, pv.shape, pv.dtype, reduce=True)
                p = parent[IDX]
                cur = cts[p]
                cts[p] = c if cur is None else cur + c
            else:
                _accumulate(cts, parent, k, c)
    return cts


def fit_zero(ct, like):
    if ct is None:
        return np.zeros(np.shape(like), like.dtype)
    return ct


def _accumulate(cts, parent, k, c):
    pv = parent[OUT] if k < 0 else parent[OUT][k]
    if c.shape != pv.shape or c.dtype != pv.dtype:
        c = fit(c, pv.shape, pv.dtype, reduce=True)
    j = parent[IDX]
    if k < 0:
        cur = cts[j]
        cts[j] = c if cur is None else cur + c
    else:
        lst = cts[j]
        if lst is None:
            lst = cts[j] = [None] * len(parent[OUT])
        cur = lst[k]
        lst[k] = c if cur is None else cur + c


# ---------------------------------------------------------------------------------------------
# debug_nans: checking versions, swapped in by chainrule.config (the fast paths stay as they are)


def _process_checking(self, prim, args, params):
    """RTrace.process while debug_nans is on: as `process`, but evaluation goes through `bind`
    (which checks for NaN) and the new node records the user's source line."""
    rules = prim.vjp_rules
    full = prim.reverse
    if rules is None and full is None:
        raise NotImplementedError(
            f"reverse-mode differentiation (grad/vjp) has no rule for primitive `{prim.name}`")
    vals = []
    parents = []
    for i, a in enumerate(args):
        if a.__class__ is RTracer and a._trace is self:
            if full is not None or rules[i] is not None:
                parents.append((i, a._node, a._k))
            vals.append(a._val)
        else:
            vals.append(a)
    if full is not None:
        with below(self):
            out, bwd = full(vals, params)
    else:
        out = bind(prim, *vals, **params)
        bwd = None
    if not parents:
        return out
    from ..config import origin
    tape = self.tape
    node = (prim, params, vals, out, parents, bwd, len(tape), origin(sys._getframe(1)))
    tape.append(node)
    if prim.multiple_results:
        return [RTracer(self, o, node, k) if o.dtype.kind in "fc" else o
                for k, o in enumerate(out)]
    if out.dtype.kind not in "fc":
        return out
    return RTracer(self, out, node)


def _backward_checking(tape, seeds):
    """`backward` while debug_nans is on (its code replaces backward's): as `backward`, but a
    cotangent that a VJP (or the sum of fan-out cotangents) turns into NaN raises NaNError
    naming the node's primitive and the source line recorded for it."""
    from ..config import has_nan, vjp_nan_error
    cts = [None] * len(tape)
    for node, k, ct in seeds:
        _accumulate_checking(cts, node, k, ct)
    for node in reversed(tape):
        prim, params, args, out, parents, bwd, idx, _ = node
        if prim is None:
            continue
        ct = cts[idx]
        if ct is None:
            continue
        cts[idx] = None
        if prim.multiple_results:
            ct = [fit_zero(c, o) for c, o in zip(ct, out)]
        arg_cts = bwd(ct) if bwd is not None else None
        rules = prim.vjp_rules
        for i, parent, k in parents:
            c = arg_cts[i] if arg_cts is not None else rules[i](ct, out, *args, **params)
            if c is None:
                continue
            if has_nan(c) and not has_nan([ct, out, args]):
                raise vjp_nan_error(node, sys._getframe(0))
            _accumulate_checking(cts, parent, k, c)
    return cts


def _accumulate_checking(cts, parent, k, c):
    from ..config import has_nan, vjp_nan_error
    j = parent[IDX]
    cur = cts[j] if k < 0 or cts[j] is None else cts[j][k]
    _accumulate(cts, parent, k, c)
    if cur is not None:
        new = cts[j] if k < 0 else cts[j][k]
        if has_nan(new) and not has_nan([cur, c]):
            raise vjp_nan_error(parent, sys._getframe(0), accumulation=True)


_process_fast = RTrace.process
_backward_fast = backward.__code__


def _debug_nans(on: bool) -> None:
    RTrace.process = _process_checking if on else _process_fast
    backward.__code__ = _backward_checking.__code__ if on else _backward_fast
