"""Batching: the vmap trace.

Contract: a `BatchTracer` holds a value with one extra dimension (`bdim`) indexing the batch;
its abstract value is the per-example one. Values that are not tracers of the trace are
unbatched constants. Each primitive's `batch` rule maps (values, bdims) to (value, bdim);
a primitive without one falls back to a Python loop over the batch (with a one-time warning
naming it), so vmap never refuses. Collective primitives (trait "collective") whose
`axis_name` names this trace reduce over its batch dimension via `prim.collective_batch`.
While `chainrule.config.debug_nans` is on, `_debug_nans` swaps in a `process` that lets NaN
errors name vmap as the phase (the batching rules' primitives are checked by `bind`).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..core import ConcretizationError, ShapedArray, Trace, Tracer, bind, user_frame
from ..prims.base import moveaxis0
from ..prims.structural import broadcast_to_p, concatenate_p, getitem_p, reshape_p, transpose_p


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        s = self.val.shape
        b = self.bdim
        return ShapedArray(s[:b] + s[b + 1:], self.val.dtype)

    @property
    def shape(self):
        s = self.val.shape
        b = self.bdim
        return s[:b] + s[b + 1:]

    @property
    def dtype(self):
        return self.val.dtype


_warned: set = set()
_SPECIAL = frozenset({"collective", "named_axes"})  # traits that need more than prim.batch


class BatchTrace(Trace):
    __slots__ = ("axis_name", "size")

    def __init__(self, axis_name, size):
        super().__init__()
        self.axis_name = axis_name
        self.size = size

    def describe(self):
        return "vmap"

    def concrete(self, tracer, how):
        raise ConcretizationError(
            "vmap", how,
            "Under vmap each example may take a different branch, so Python control flow on "
            "a batched value cannot work. Use chainrule.numpy.where(cond, a, b) to compute "
            "both branches and select per example (or the lax control-flow primitives).")

    def lift(self, value):
        # every example starts from the same array (a zero-stride view; writes copy it)
        return BatchTracer(self, move_to(value, None, 0, self.size), 0)

    def process(self, prim, args, params):
        vals = []
        bdims = []
        batched = False
        for a in args:
            if a.__class__ is BatchTracer and a._trace is self:
                vals.append(a.val)
                bdims.append(a.bdim)
                batched = True
            else:
                vals.append(a)
                bdims.append(None)
        if prim.batch is not None and batched and not prim.traits & _SPECIAL:
            # the common case: the primitive's own rule
            out, bd = prim.batch(vals, bdims, **params)
            if prim.multiple_results:
                return [o if b is None else BatchTracer(self, o, b) for o, b in zip(out, bd)]
            return out if bd is None else BatchTracer(self, out, bd)
        if "collective" in prim.traits and params.get("axis_name") is not None:
            names = params["axis_name"]
            names = names if isinstance(names, tuple) else (names,)
            if self.axis_name in names:
                out, bd = prim.collective_batch(vals, bdims, self.size, self.axis_name, **params)
                return self.wrap(prim, out, bd)
        if not batched:
            if prim.find_trace is None or not vals or "named_axes" not in prim.traits:
                return bind(prim, *vals, **params)
            # routed here by prim.find_trace (core.bind): the programs it carries hold
            # collectives over this axis, so its rule must run under this vmap's axis name
            vals[-1] = move_to(vals[-1], None, 0, self.size)
            bdims[-1] = 0
        rule = prim.batch
        if rule is None and prim.inline is not None:
            return prim.inline(*args, **params)
        if rule is None:
            out, bd = self.loop(prim, vals, bdims, params)
        elif "named_axes" in prim.traits:
            # the rule re-batches a staged program: it must see this vmap's axis name
            out, bd = rule(vals, bdims, axis_name=self.axis_name, **params)
        else:
            out, bd = rule(vals, bdims, **params)
        return self.wrap(prim, out, bd)

    def wrap(self, prim, out, bd):
        if prim.multiple_results:
            return [o if b is None else BatchTracer(self, o, b) for o, b in zip(out, bd)]
        return out if bd is None else BatchTracer(self, out, bd)

    def loop(self, prim, vals, bdims, params):
        if prim not in _warned:
            _warned.add(prim)
            msg = (f"vmap has no batching rule for primitive `{prim.name}`; running a Python "
                   "loop over the batch instead (correct but slow). Give the primitive a "
                   "batch rule to avoid this.")
            frame = user_frame()
            if frame is not None:
                warnings.warn_explicit(msg, UserWarning, frame[0], frame[1])
            else:
                warnings.warn(msg, stacklevel=4)
        if self.size == 0:
            raise ValueError(f"vmap over an empty batch needs a batching rule for primitive "
                             f"`{prim.name}` (the loop fallback has no example to run)")
        outs = []
        for i in range(self.size):
            args_i = [v if b is None else getitem_p(v, idx=(slice_enc(b, i))) for v, b in
                      zip(vals, bdims)]
            outs.append(bind(prim, *args_i, **params))
        if prim.multiple_results:
            return [stack0(list(o)) for o in zip(*outs)], [0] * len(outs[0])
        return stack0(outs), 0


def slice_enc(bdim, i):
    return ((("s", None, None, None),) * bdim + (i,))


def stack0(xs):
    xs = [reshape_p(x, shape=(1,) + tuple(np.shape(x) if not hasattr(x, "shape") else x.shape))
          for x in xs]
    return xs[0] if len(xs) == 1 else concatenate_p(*xs, axis=0)


def move_to(x, bdim, dest, size):
    """Move batch dim `bdim` of x to position `dest`, materializing it when bdim is None."""
    if bdim is None:
        shape = np.shape(x) if not hasattr(x, "shape") else x.shape
        x = broadcast_to_p(reshape_p(x, shape=(1,) + tuple(shape)), shape=(size,) + tuple(shape))
        bdim = 0
    if bdim == dest:
        return x
    x = moveaxis0(x, bdim)
    if dest == 0:
        return x
    n = x.ndim
    perm = list(range(1, n))
    perm.insert(dest, 0)
    return transpose_p(x, perm=tuple(perm))


# debug_nans: NaN errors raised under this frame name vmap as their phase (chainrule.config)
def _process_checking(self, prim, args, params):
    return _process_fast(self, prim, args, params)


_process_fast = BatchTrace.process


def _debug_nans(on: bool) -> None:
    BatchTrace.process = _process_checking if on else _process_fast
