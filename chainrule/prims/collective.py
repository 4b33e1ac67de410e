"""Collective primitives over a named vmap axis: psum, pmean, pmax, pmin, all_gather; and
`axis_index`. Each lane of the mapped axis sees the collective's result, as in JAX.

A collective is processed by the vmap trace that binds its axis name (trait "collective",
rule `collective_batch`), also when its operand is not one of that trace's tracers: its
`find_trace` (read by `core.bind`) picks the axis's trace whenever that trace is newer than
every trace among the arguments, i.e. whenever the operand cannot vary along the axis (a value
closed over from outside the vmap, possibly a jit or grad tracer). So the collective is
resolved while the vmap runs (psum of such a value is n * value, pmean the value,
all_gather a broadcast), never left in a staged program or a backward pass that runs after
the vmap has returned. An eager value with no tracer at all is handled by the impl, which
looks the axis up in `core.axis_env`. Reverse mode uses whole-primitive `reverse` rules, so
that the reverse trace binds the forward collective through `bind` (and `find_trace`).
"""
from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray, axis_env, bind, lookup_axis
from .base import moveaxis0
from .structural import (broadcast_to_p, getitem_p, reduce_max_p, reduce_min_p, reduce_sum_p,
                         reshape_p, transpose_p, convert_p)


def _names(axis_name):
    return axis_name if isinstance(axis_name, tuple) else (axis_name,)


def _size(axis_name):
    n = 1
    for name in _names(axis_name):
        n *= lookup_axis(name).size
    return n


def newest_axis_trace(top, names):
    """The trace to process a primitive over the vmap axes `names` whose arguments' innermost
    trace is `top`: the trace bound to one of the names when it is newer than `top` (the
    arguments then do not vary along that axis), else `top`. Unbound names are skipped."""
    best = top
    for name in names:
        for n, trace in reversed(axis_env):
            if n == name:
                if trace.level > best.level:
                    best = trace
                break
    return best


def _find_trace(top, params):
    return newest_axis_trace(top, _names(params["axis_name"]))


def _whole_reverse(p):
    """A reverse rule binding the forward collective (through bind and its find_trace)."""
    def reverse(vals, params):
        out = bind(p, *vals, **params)
        rule = p.vjp_rules[0]
        return out, lambda ct: [rule(ct, out, *vals, **params)]
    return reverse


def _collective(name, reduce_fn, unbatched_fn, jvp_rule, vjp_rule):
    p = Primitive(name)
    p.traits = frozenset({"collective"})

    def impl(x, *, axis_name):
        return unbatched_fn(np.asarray(x), _size(axis_name))

    def collective_batch(vals, bdims, size, name, *, axis_name):
        x, b = vals[0], bdims[0]
        out = reduce_fn(x, b, size) if b is not None else unbatched_fn(x, size)
        rest = tuple(n for n in _names(axis_name) if n != name)
        if rest:
            out = bind(p, out, axis_name=rest if len(rest) > 1 else rest[0])
        return out, None

    p.impl = impl
    p.abstract_eval = lambda x, *, axis_name: ShapedArray(x.shape, x.dtype)
    p.collective_batch = collective_batch
    p.jvp_rules = (jvp_rule,)
    p.vjp_rules = (vjp_rule,)
    p.reverse = _whole_reverse(p)
    p.find_trace = _find_trace
    p.batch = lambda vals, bdims, *, axis_name: (bind(p, vals[0], axis_name=axis_name),
                                                 bdims[0])
    return p


psum_p = _collective(
    "psum", lambda x, b, n: reduce_sum_p(x, axes=(b,)), lambda x, n: x * n,
    lambda t, ans, x, *, axis_name: psum_p(t, axis_name=axis_name),
    lambda ct, ans, x, *, axis_name: psum_p(ct, axis_name=axis_name))
pmean_p = _collective(
    "pmean", lambda x, b, n: reduce_sum_p(x, axes=(b,)) / n, lambda x, n: x,
    lambda t, ans, x, *, axis_name: pmean_p(t, axis_name=axis_name),
    lambda ct, ans, x, *, axis_name: pmean_p(ct, axis_name=axis_name))


def _chooser(prim):
    from .elementwise import eq_p

    def w(ans, x, axis_name):
        mask = convert_p(eq_p(x, ans), dtype=x.dtype)
        return mask / psum_p(mask, axis_name=axis_name)

    jvp = lambda t, ans, x, *, axis_name: psum_p(t * w(ans, x, axis_name), axis_name=axis_name)
    vjp = lambda ct, ans, x, *, axis_name: psum_p(ct, axis_name=axis_name) * w(ans, x, axis_name)
    return jvp, vjp


pmax_p = _collective("pmax", lambda x, b, n: reduce_max_p(x, axes=(b,)), lambda x, n: x,
                     None, None)
pmin_p = _collective("pmin", lambda x, b, n: reduce_min_p(x, axes=(b,)), lambda x, n: x,
                     None, None)
pmax_p.jvp_rules, pmax_p.vjp_rules = ((r,) for r in _chooser(pmax_p))
pmin_p.jvp_rules, pmin_p.vjp_rules = ((r,) for r in _chooser(pmin_p))


def _gather_unbatched(x, n):
    return broadcast_to_p(reshape_p(x, shape=(1,) + tuple(np.shape(x))),
                          shape=(n,) + tuple(np.shape(x)))


all_gather_p = Primitive("all_gather")
all_gather_p.traits = frozenset({"collective"})
all_gather_p.impl = lambda x, *, axis_name: np.array(_gather_unbatched(np.asarray(x),
                                                                       _size(axis_name)))
all_gather_p.abstract_eval = lambda x, *, axis_name: ShapedArray(
    (_size(axis_name),) + x.shape, x.dtype)
all_gather_p.collective_batch = lambda vals, bdims, size, name, *, axis_name: (
    (moveaxis0(vals[0], bdims[0]) if bdims[0] is not None
     else _gather_unbatched(vals[0], size)), None)
all_gather_p.batch = lambda vals, bdims, *, axis_name: (
    all_gather_p(vals[0], axis_name=axis_name), None if bdims[0] is None else bdims[0] + 1)
all_gather_p.jvp_rules = (lambda t, ans, x, *, axis_name: all_gather_p(t, axis_name=axis_name),)
all_gather_p.vjp_rules = (lambda ct, ans, x, *, axis_name: getitem_p(
    psum_p(ct, axis_name=axis_name), axis_index(axis_name), idx=(("a", 0),)),)
all_gather_p.reverse = _whole_reverse(all_gather_p)
all_gather_p.find_trace = _find_trace


def axis_index(axis_name):
    """The position of the current example along the named vmap axis (an int array); for a
    tuple of names, the position along their product axis (the last name varying fastest).

    Example:
      >>> vmap(lambda v: v * axis_index("i"), axis_name="i")(np.ones(3))   # [0., 1., 2.]
    """
    if isinstance(axis_name, tuple):
        out, stride = 0, 1
        for name in reversed(axis_name):
            out = out + axis_index(name) * stride
            stride *= lookup_axis(name).size
        return out if axis_name else np.asarray(0)
    trace = lookup_axis(axis_name)
    from ..transforms.batching import BatchTracer
    return BatchTracer(trace, np.arange(trace.size), 0)
