"""Run-time debugging and host callbacks: `debug.print`, `debug.callback`, `pure_callback`.

Contract:
- `debug.print` / `debug.callback` bind `debug_callback`, an effectful primitive (trait
  "effect": dead-code elimination keeps it, no pass merges, folds or reorders it) with no
  outputs. It runs when the program runs, with real values, also under jit; under grad/jvp
  it sees the primal values, under vmap it runs once per example.
- `pure_callback(fn, result_shape_dtypes, *args)` binds `pure_callback`, which calls NumPy
  code at run time. Its shape rule is `result_shape_dtypes`; it has no derivative (wrap it in
  `custom_jvp` / `custom_vjp` to give it one); vmap runs it once per example, or once on the
  whole batch as JAX's `vmap_method` says ("expand_dims", "broadcast_all",
  "legacy_vectorized"; the older vectorized=True is "broadcast_all").
"""
from __future__ import annotations

import builtins
from typing import Any, Callable

import numpy as np

from . import tree_util as tu
from .core import Primitive, ShapedArray, Tracer, bind
from .prims.structural import getitem_p
from .transforms.batching import slice_enc, stack0

__all__ = ["print", "callback", "pure_callback", "ShapeDtypeStruct"]


class _NoRules:
    """A rule table answering None (no derivative) for every argument."""

    def __getitem__(self, i):
        return None


def _example(v, b, i):
    return v if b is None else getitem_p(v, idx=slice_enc(b, i))


def _batch_size(vals, bdims):
    return next(np.shape(v)[b] for v, b in zip(vals, bdims) if b is not None)


# ---------------------------------------------------------------------------------------------
# debug_callback


debug_callback_p = Primitive("debug_callback", multiple_results=True)
debug_callback_p.traits = frozenset({"effect", "callback"})


def _debug_impl(*args, callback):
    callback(*args)
    return []


def _debug_batch(vals, bdims, *, callback):
    for i in range(_batch_size(vals, bdims)):
        bind(debug_callback_p, *[_example(v, b, i) for v, b in zip(vals, bdims)],
             callback=callback)
    return [], []


debug_callback_p.impl = _debug_impl
debug_callback_p.abstract_eval = lambda *avals, callback: []
debug_callback_p.jvp_rules = _NoRules()
debug_callback_p.vjp_rules = _NoRules()
debug_callback_p.batch = _debug_batch


def _is_dynamic(x) -> bool:
    return isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex))


def _split(args, kwargs):
    """(dynamic leaves, rebuild(dynamic values) -> (args, kwargs)); non-array leaves stay."""
    leaves, tree = tu.tree_flatten((args, kwargs))
    dyn = [i for i, x in enumerate(leaves) if _is_dynamic(x)]

    def rebuild(vals):
        full = list(leaves)
        for i, v in zip(dyn, vals):
            full[i] = v
        return tu.tree_unflatten(tree, full)

    return [leaves[i] for i in dyn], rebuild


def _bind_effect(prim, dyn, **params):
    """bind for effects: the innermost staging trace running (a jit body, a cond branch, a
    loop body) records the effect even when no argument is one of its tracers (arguments
    closed over from outside), so it runs when that program runs (once per call, only in
    the branch taken), not while it is being traced."""
    from .core import trace_stack
    from .transforms.staging import StageTrace
    level = max((a._trace.level for a in dyn if isinstance(a, Tracer)), default=-1)
    for trace in reversed(trace_stack):
        if isinstance(trace, StageTrace):
            if trace.level > level:
                return trace.process(prim, list(dyn), params)
            break
    return bind(prim, *dyn, **params)


def callback(fn: Callable, *args, **kwargs) -> None:
    """Call fn(*args, **kwargs) when the computation runs, with concrete values (also under
    jit, grad, vmap); its return value is ignored.

    Example:
      >>> seen = []
      >>> jit(lambda x: (debug.callback(seen.append, x), x * 2)[1])(np.ones(2))
    """
    dyn, rebuild = _split(args, kwargs)

    def run(*vals):
        a, kw = rebuild(vals)
        fn(*a, **kw)

    _bind_effect(debug_callback_p, dyn, callback=run)


def print(fmt: str, *args, **kwargs) -> None:  # noqa: A001 - JAX's name
    """Print fmt.format(*args, **kwargs) when the computation runs, with concrete values
    (also under jit; under vmap once per example).

    Example:
      >>> jit(lambda x: (debug.print("x = {}", x), x + 1)[1])(np.arange(3))   # x = [0 1 2]
    """
    dyn, rebuild = _split(args, kwargs)

    def run(*vals):
        a, kw = rebuild(vals)
        builtins.print(fmt.format(*a, **kw))

    run.__name__ = "print"
    _bind_effect(debug_callback_p, dyn, callback=run)


# ---------------------------------------------------------------------------------------------
# pure_callback


class ShapeDtypeStruct(ShapedArray):
    """The shape and dtype of a value (what `pure_callback` will return, what `eval_shape`
    gives): an abstract value, comparing equal to any with the same shape and dtype."""

    __slots__ = ()

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


pure_callback_p = Primitive("pure_callback", multiple_results=True)
pure_callback_p.traits = frozenset({"callback"})


def _pure_impl(*args, callback, result_avals, vmap_method):
    res = callback(*args)
    name = getattr(callback, "__name__", "callback")
    if len(res) != len(result_avals):
        raise ValueError(f"pure_callback: {name} returned {len(res)} arrays, "
                         f"result_shape_dtypes declares {len(result_avals)}")
    outs = []
    for r, aval in zip(res, result_avals):
        r = np.asarray(r)
        if r.shape != aval.shape:
            raise ValueError(f"pure_callback: {name} returned shape {r.shape}, "
                             f"result_shape_dtypes declares {aval.shape}")
        if r.dtype != aval.dtype:
            if not np.can_cast(r.dtype, aval.dtype, "same_kind"):
                raise TypeError(f"pure_callback: {name} returned dtype {r.dtype}, "
                                f"result_shape_dtypes declares {aval.dtype}")
            r = r.astype(aval.dtype)
        outs.append(r)
    return outs


def _no_derivative(*args, **params):
    raise NotImplementedError(
        "pure_callback has no derivative rule: wrap the function that calls it in "
        "chainrule.custom_jvp or chainrule.custom_vjp to give it one")


def _pure_batch(vals, bdims, *, callback, result_avals, vmap_method):
    size = _batch_size(vals, bdims)
    if vmap_method in ("sequential", "sequential_unrolled"):
        per = [bind(pure_callback_p, *[_example(v, b, i) for v, b in zip(vals, bdims)],
                    callback=callback, result_avals=result_avals, vmap_method=vmap_method)
               for i in range(size)]
        return [stack0([p[k] for p in per]) for k in range(len(result_avals))], \
            [0] * len(result_avals)
    from .transforms.batching import move_to
    if vmap_method == "broadcast_all":
        vals = [move_to(v, b, 0, size) for v, b in zip(vals, bdims)]
    elif vmap_method == "expand_dims":
        vals = [move_to(v, b, 0, 1) if b is None else move_to(v, b, 0, size)
                for v, b in zip(vals, bdims)]
    else:  # "legacy_vectorized": unbatched arguments as they are
        vals = [v if b is None else move_to(v, b, 0, size) for v, b in zip(vals, bdims)]
    avals = tuple(ShapedArray((size,) + a.shape, a.dtype) for a in result_avals)
    outs = bind(pure_callback_p, *vals, callback=callback, result_avals=avals,
                vmap_method=vmap_method)
    return outs, [0] * len(outs)


_VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all",
                 "legacy_vectorized")


pure_callback_p.impl = _pure_impl
pure_callback_p.abstract_eval = lambda *avals, callback, result_avals, vmap_method: list(
    result_avals)
pure_callback_p.jvp = _no_derivative
pure_callback_p.reverse = _no_derivative
pure_callback_p.batch = _pure_batch


def pure_callback(fn: Callable, result_shape_dtypes: Any, *args,
                  vectorized: bool | None = None, vmap_method: str | None = None, **kwargs):
    """Call a NumPy function at run time, also under jit; it must be pure (same inputs, same
    outputs, no side effects), so the compiler drops calls whose results are unused.

    Args:
      fn: called as fn(*args, **kwargs) with NumPy arrays; returns a pytree matching
        result_shape_dtypes.
      result_shape_dtypes: a pytree of objects with .shape and .dtype (ShapeDtypeStruct,
        arrays) describing fn's result.
      vmap_method: how fn runs under vmap, as in JAX: "sequential" (the default) or
        "sequential_unrolled" call it once per example; the others call it once on the
        whole batch, batch axis first, and differ in the unbatched arguments:
        "broadcast_all" broadcasts them to the batch size, "expand_dims" gives them a
        leading axis of size 1, "legacy_vectorized" passes them as they are.
      vectorized: the older spelling: True is vmap_method="broadcast_all", False
        "sequential". Not together with vmap_method.
    Returns:
      fn's result (arrays of the declared shapes and dtypes).
    Derivatives: none of its own; use it inside custom_jvp / custom_vjp.

    Example:
      >>> f = lambda x: pure_callback(np.sinc, ShapeDtypeStruct(x.shape, x.dtype), x)
      >>> jit(f)(np.linspace(0, 1, 3))
    """
    if vmap_method is None:
        vmap_method = "broadcast_all" if vectorized else "sequential"
    elif vectorized is not None:
        raise ValueError("pure_callback: the vectorized and vmap_method arguments cannot be "
                         "used together; use vmap_method")
    elif vmap_method not in _VMAP_METHODS:
        raise ValueError(f"pure_callback: vmap_method must be one of {_VMAP_METHODS}, got "
                         f"{vmap_method!r}")
    dyn, rebuild = _split(args, kwargs)
    specs, out_tree = tu.tree_flatten(result_shape_dtypes)
    avals = tuple(ShapedArray(np.shape(s) if not hasattr(s, "shape") else s.shape,
                              np.result_type(s) if not hasattr(s, "dtype") else s.dtype)
                  for s in specs)

    def run(*vals):
        a, kw = rebuild(vals)
        return tu.tree_leaves(fn(*a, **kw))

    run.__name__ = getattr(fn, "__name__", "callback")
    outs = bind(pure_callback_p, *dyn, callback=run, result_avals=avals,
                vmap_method=vmap_method)
    return tu.tree_unflatten(out_tree, outs)
