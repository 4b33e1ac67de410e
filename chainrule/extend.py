"""The extension API known from autograd: turn a NumPy-level function into a primitive and give
it derivative rules.

    @cr.extend.primitive
    def logsumexp(x):                        # runs on plain NumPy arrays
        m = np.max(x); return m + np.log(np.sum(np.exp(x - m)))

    cr.extend.defvjp(logsumexp, lambda ans, x: lambda g: g * cnp.exp(x - ans))
    cr.extend.defjvp(logsumexp, lambda g, ans, x: cnp.sum(g * cnp.exp(x - ans)))

Rules are written with chainrule.numpy, so such a primitive works under grad, jvp and at any
order. Without a batching rule, vmap runs it in a loop over the batch (with a warning).
"""
from __future__ import annotations

import functools
import warnings
from typing import Callable

import numpy as np

from .core import ConcretizationError, Primitive, Tracer, bind

__all__ = ["primitive", "defvjp", "defjvp", "Primitive", "bind"]


class _Rules:
    """Per-argument rule table: an explicit None means a zero derivative; an argument no rule
    was given for has a rule that raises when that argument is differentiated."""

    def __init__(self, rules, given, name, mode):
        self.rules = tuple(rules)
        self.given = frozenset(given)
        self.name, self.mode = name, mode

    def __getitem__(self, i):
        if i in self.given:
            return self.rules[i]
        return functools.partial(_undefined, self.name, self.mode, i)


def _undefined(name, mode, i, t, *args, **kw):
    if mode == "JVP" and isinstance(t, np.ndarray) and not t.any():
        return None  # a constant array created inside the transformed function: zero tangent
    fn = "defvjp" if mode == "VJP" else "defjvp"
    raise NotImplementedError(
        f"{mode} of {name} wrt argnum {i} not defined: give it a rule with "
        f"chainrule.extend.{fn}({name}, ..., argnums=...), or None there if {name} is not "
        f"differentiable in that argument")


def _flat_impl(p, f, box):
    """impl of a primitive made by `primitive`: f, with a tuple/list output as a flat list
    (the primitive then has multiple results)."""
    @functools.wraps(f)
    def impl(*args, **kwargs):
        out = f(*args, **kwargs)
        multi = isinstance(out, (tuple, list))
        if box[0] is None:
            _set_kind(p, box, out)
        elif multi != p.multiple_results:
            raise TypeError(
                f"the primitive {p.name} returned "
                f"{'a ' + type(out).__name__ if multi else 'a single array'} on one call and "
                f"{'a tuple' if p.multiple_results else 'a single array'} on another; a "
                f"primitive's output must always be an array, or always a tuple (or list) of "
                f"arrays")
        if multi:
            return [o if isinstance(o, (np.ndarray, np.generic)) else np.asarray(o)
                    for o in out]
        return out
    return impl


def _set_kind(p, box, out):
    multi = isinstance(out, (tuple, list))
    box[0] = type(out) if multi else False
    p.multiple_results = multi


def primitive(f: Callable) -> Callable:
    """Wrap a function on NumPy arrays as a chainrule primitive (its impl).

    The function returns an array, or a tuple (or list) of arrays: then the VJP makers'
    ``g`` is a tuple with one cotangent per output (zeros for outputs that get none), their
    ``ans`` is the tuple of outputs, and JVP rules return a tuple of tangents (None for a
    zero).

    Args:
      f: a function of arrays (positional) and static keyword parameters.
    Returns:
      A function that binds the new primitive; its `.primitive` attribute is the Primitive.
    """
    p = Primitive(getattr(f, "__name__", "custom_primitive"), register=False)
    box = [None]  # the output container type (tuple or list), False for one array
    p.impl = _flat_impl(p, f, box)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if box[0] is None and any(isinstance(a, Tracer) for a in args):
            _probe(p, f, box, args, kwargs)
        out = bind(p, *args, **kwargs)
        return box[0](out) if box[0] else out

    wrapper.primitive = p
    return wrapper


def _probe(p, f, box, args, kwargs):
    """Before the first traced call, find whether f returns a tuple: call it on the concrete
    values behind the tracers where they are known (grad, jvp), on zeros of their shapes where
    not (vmap, jit)."""
    vals = []
    for a in args:
        if isinstance(a, Tracer):
            try:
                a = np.asarray(a._trace.concrete(a, "probe"))
                while isinstance(a, Tracer):  # pragma: no cover - concrete gives arrays
                    a = np.asarray(a._trace.concrete(a, "probe"))
            except (ConcretizationError, TypeError):
                a = np.zeros(a.shape, a.dtype)
        vals.append(a)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = f(*vals, **kwargs)
    except Exception:  # noqa: BLE001 - then the first real evaluation decides
        return
    _set_kind(p, box, out)


def _prim_of(fun):
    p = getattr(fun, "primitive", fun)
    if not isinstance(p, Primitive):
        raise TypeError("expected a function made with chainrule.extend.primitive (or a "
                        f"Primitive), got {fun!r}")
    return p


def defvjp(fun, *makers, argnums=None):
    """Give a primitive its VJPs: one maker per argument, maker(ans, *args, **kw) -> (g -> ct).

    None for an argument means it is not differentiable (a zero cotangent); differentiating
    an argument given no maker is an error naming the primitive and the argument. `argnums`
    names the arguments the makers belong to (default: 0, 1, ...).
    """
    p = _prim_of(fun)
    argnums = tuple(range(len(makers))) if argnums is None else tuple(argnums)
    n = max(argnums) + 1 if argnums else 0
    rules = [None] * n
    for i, m in zip(argnums, makers):
        if m is not None:
            rules[i] = (lambda m: lambda ct, ans, *args, **kw: m(*_outs(p, ans), *args, **kw)(
                tuple(ct) if p.multiple_results else ct))(m)
    p.vjp_rules = _Rules(rules, argnums, p.name, "VJP")


def _outs(p, ans):
    return (tuple(ans),) if p.multiple_results else (ans,)


def defjvp(fun, *rules, argnums=None):
    """Give a primitive its JVPs: one rule per argument, rule(g, ans, *args, **kw) -> tangent
    contribution of that argument (g is the argument's tangent; for a primitive with a tuple
    output, ans is a tuple and the rule returns a tuple). None for an argument means a zero
    contribution; differentiating an argument given no rule is an error."""
    p = _prim_of(fun)
    argnums = tuple(range(len(rules))) if argnums is None else tuple(argnums)
    n = max(argnums) + 1 if argnums else 0
    table = [None] * n
    for i, r in zip(argnums, rules):
        if r is not None:
            table[i] = (lambda r: lambda t, ans, *args, **kw: _tangents(
                p, r(t, *_outs(p, ans), *args, **kw)))(r)
    p.jvp_rules = _Rules(table, argnums, p.name, "JVP")


def _tangents(p, t):
    if p.multiple_results and t is not None:
        return list(t)
    return t
