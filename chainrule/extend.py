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
from typing import Callable

from .core import Primitive, bind

__all__ = ["primitive", "defvjp", "defjvp", "Primitive", "bind"]


class _Rules:
    """Per-argument rule table that answers None past the rules given."""

    def __init__(self, rules):
        self.rules = tuple(rules)

    def __getitem__(self, i):
        return self.rules[i] if i < len(self.rules) else None


def primitive(f: Callable) -> Callable:
    """Wrap a function on NumPy arrays as a chainrule primitive (its impl).

    Args:
      f: a function of arrays (positional) and static keyword parameters.
    Returns:
      A function that binds the new primitive; its `.primitive` attribute is the Primitive.
    """
    p = Primitive(getattr(f, "__name__", "custom_primitive"), register=False)
    p.impl = f

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return bind(p, *args, **kwargs)

    wrapper.primitive = p
    return wrapper


def _prim_of(fun):
    p = getattr(fun, "primitive", fun)
    if not isinstance(p, Primitive):
        raise TypeError("expected a function made with chainrule.extend.primitive (or a "
                        f"Primitive), got {fun!r}")
    return p


def defvjp(fun, *makers, argnums=None):
    """Give a primitive its VJPs: one maker per argument, maker(ans, *args, **kw) -> (g -> ct).

    None for an argument means it is not differentiable. `argnums` names the arguments the
    makers belong to (default: 0, 1, ...).
    """
    p = _prim_of(fun)
    argnums = tuple(range(len(makers))) if argnums is None else tuple(argnums)
    n = max(argnums) + 1 if argnums else 0
    rules = [None] * n
    for i, m in zip(argnums, makers):
        if m is not None:
            rules[i] = (lambda m: lambda ct, ans, *args, **kw: m(ans, *args, **kw)(ct))(m)
    p.vjp_rules = _Rules(rules)


def defjvp(fun, *rules, argnums=None):
    """Give a primitive its JVPs: one rule per argument, rule(g, ans, *args, **kw) -> tangent
    contribution of that argument (g is the argument's tangent)."""
    p = _prim_of(fun)
    argnums = tuple(range(len(rules))) if argnums is None else tuple(argnums)
    n = max(argnums) + 1 if argnums else 0
    table = [None] * n
    for i, r in zip(argnums, rules):
        table[i] = r
    p.jvp_rules = _Rules(table)
