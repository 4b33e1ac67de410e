"""Custom derivative rules and their higher-order primitives: custom_jvp, custom_vjp,
checkpoint (rematerialization) and stop_gradient.

Contract:
- `custom_jvp` functions use the user's JVP rule in forward mode; in reverse mode their VJP is
  the transpose of that (linear) rule, obtained by reverse-differentiating it in the tangents.
- `custom_vjp` functions use the user's (fwd, bwd) in reverse mode; in forward mode their JVP
  is the transpose of bwd (which is linear in the cotangent), obtained the same way. So both
  work in both modes and at any order (JAX refuses jvp of a custom_vjp).
- `checkpoint` stores only the inputs of the function in reverse mode and recomputes the
  forward pass when the cotangent arrives.
- Under vmap the call primitives stay call primitives: their batching rules vmap the
  function and its rules (jvp; fwd and bwd; checkpoint's function), so `grad(vmap(f))`
  still uses f's custom rule. Traces without a rule for them inline the function.
- The rules' outputs are checked, as JAX checks them: fwd's primal output has f's structure
  and shapes, bwd gives one cotangent per argument leaf with that leaf's shape (None for a
  zero; float0 or zeros for an integer leaf), a JVP rule gives a (primal_out, tangent_out)
  pair whose tangents have the primal outputs' shapes. A mismatch is a ValueError (TypeError
  for a wrong container) naming the rule, never a silent broadcast.
- `nondiff_argnums` values are closed over by the call primitive, so a differentiation
  transform never sees them: passing a tracer of jvp or grad there is an error (a value batched
  by vmap or staged by jit is fine).
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable, Sequence

import numpy as np

from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
from .. import tree_util as tu
from ..prims.elementwise import stop_gradient_p


def _zeros(x):
    return np.zeros(x.shape if hasattr(x, "shape") else np.shape(x),
                    x.dtype if hasattr(x, "dtype") else np.result_type(x))


def _instantiate(ts, like):
    return [(_zeros(p) if t is None else t) for t, p in zip(ts, like)]


def _name(f) -> str:
    return getattr(f, "__name__", None) or repr(f)


def _check_nondiff(kind: str, fun, nd, static) -> None:
    """Refuse tracers of a differentiation transform among the nondiff_argnums values."""
    from .batching import BatchTracer
    from .forward import JVPTracer
    from .reverse import RTracer
    for i in nd:
        for leaf in tu.tree_leaves(static[i]):
            v = leaf
            while isinstance(v, BatchTracer):
                v = v.val
            if isinstance(v, (JVPTracer, RTracer)):
                how = "forward-mode (jvp)" if isinstance(v, JVPTracer) else "reverse-mode (grad/vjp)"
                ct = ("return a cotangent (or None) for it from bwd" if kind == "custom_vjp"
                      else "give it a tangent in the rule")
                raise TypeError(
                    f"argument {i} of the {kind} function {_name(fun)} is in nondiff_argnums "
                    f"but is being differentiated (it is a {how} tracer "
                    f"{v.aval.str_short()}). Values in nondiff_argnums are closed over, so the "
                    f"derivative with respect to them would be lost. Tracers of a "
                    f"differentiation transform must not be passed in nondiff_argnums: make "
                    f"it a regular argument and {ct}.")


def _leaf_aval(x):
    """(shape, dtype) of an array-like leaf, or None for anything else (a tuple, an object)."""
    if isinstance(x, (Tracer, np.ndarray, np.generic)):
        return tuple(x.shape), x.dtype
    if isinstance(x, (bool, int, float, complex)):
        return (), np.result_type(x)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return tuple(x.shape), np.dtype(x.dtype)
    return None


def _check_leaf(ct, aval: ShapedArray, describe: Callable[[str], str]):
    """A (co)tangent `ct` for a value of abstract value `aval`: returns it, or None for a zero
    (None, float0, or anything of the right shape for an integer value); raises ValueError
    with describe(problem) when its shape (or complex-for-real dtype) does not fit."""
    if ct is None:
        return None
    got = _leaf_aval(ct)
    if got is None:
        raise ValueError(describe(f"expected an array of shape {aval.shape} and dtype "
                                  f"{aval.dtype.name}, got a {type(ct).__name__}"))
    shape, dtype = got
    if shape != aval.shape:
        raise ValueError(describe(f"expected shape {aval.shape}, got shape {shape} "
                                  f"(dtype {dtype})"))
    if dtype.kind == "V" or aval.dtype.kind not in "fc":
        return None  # float0, or an integer / boolean value: no derivative
    if dtype.kind == "c" and aval.dtype.kind != "c":
        raise ValueError(describe(f"expected a real ({aval.dtype.name}) value, got dtype "
                                  f"{dtype.name} (kind 'c'): a complex cotangent for a real "
                                  f"value; take its real part explicitly if that is meant"))
    if not isinstance(ct, (Tracer, np.ndarray)):
        ct = np.asarray(ct, aval.dtype)  # a Python or NumPy scalar for a 0-d value
    return ct


def _leaf_where(n_leaves: int, j: int) -> str:
    return f", leaf {j}" if n_leaves > 1 else ""


def _call_prim(name):
    p = Primitive(name, multiple_results=True)
    p.traits = frozenset({"call", "named_axes"})  # batching rules see the vmap's axis name
    p.inline = lambda *args, fun, **params: fun(*args)
    p.impl = p.inline
    return p


# ---------------------------------------------------------------------------------------------
# custom_jvp

custom_jvp_call_p = _call_prim("custom_jvp_call")


def _cjvp_jvp(primals, tangents, *, fun, jvp):
    out, t_out = jvp(list(primals), _instantiate(tangents, primals))
    return out, list(t_out)


def _cjvp_reverse(vals, params):
    fun, jvp_rule = params["fun"], params["jvp"]
    out = fun(*vals)

    def bwd(cts):
        from .api import vjp
        diff = [i for i, v in enumerate(vals) if _inexact(v)]

        def tangent_map(*ts):
            full = [_zeros(v) for v in vals]
            for i, t in zip(diff, ts):
                full[i] = t
            return list(jvp_rule(list(vals), full)[1])

        _, f_vjp = vjp(tangent_map, *[_zeros(vals[i]) for i in diff])
        g = f_vjp(list(cts))
        res = [None] * len(vals)
        for i, gi in zip(diff, g):
            res[i] = gi
        return res

    return out, bwd


def _inexact(v):
    dt = getattr(v, "dtype", None)
    return (dt if dt is not None else np.result_type(v)).kind in "fc"


custom_jvp_call_p.jvp = _cjvp_jvp
custom_jvp_call_p.reverse = _cjvp_reverse


# --- batching: vmap the function and its rules, keep the call ------------------------------


def _batch_size(vals, bdims):
    return next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)


def _batched(fun, axes, size, axis_name):
    """fun vmapped over flat arguments with batch dims `axes`; every output batched at 0."""
    from .api import vmap
    return vmap(lambda *xs: list(fun(*xs)), in_axes=axes, out_axes=0, axis_name=axis_name,
                axis_size=size)


def _cjvp_batch(vals, bdims, *, fun, jvp, axis_name=None):
    axes, size = tuple(bdims), _batch_size(vals, bdims)

    def bfun(*xs):
        return _batched(fun, axes, size, axis_name)(*xs)

    def bjvp(primals, tangents):
        from .api import vmap
        o, t = vmap(lambda p, t: tuple(map(list, jvp(list(p), list(t)))), in_axes=(axes, axes),
                    out_axes=0, axis_name=axis_name, axis_size=size)(tuple(primals),
                                                                     tuple(tangents))
        return list(o), list(t)

    outs = bind(custom_jvp_call_p, *vals, fun=bfun, jvp=bjvp)
    return outs, [0] * len(outs)


custom_jvp_call_p.batch = _cjvp_batch


def _resolve_args(fun, args, kwargs):
    if not kwargs:
        return args
    sig = inspect.signature(fun)
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    return tuple(ba.args) + tuple(ba.kwargs.values())


class custom_jvp:
    """A function with a custom JVP rule (also used, transposed, in reverse mode).

    Example:
      >>> @custom_jvp
      ... def f(x): return cnp.sin(x)
      >>> @f.defjvp
      ... def f_jvp(primals, tangents):
      ...     (x,), (t,) = primals, tangents
      ...     return f(x), cnp.cos(x) * t
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp: Callable, symbolic_zeros: bool = False) -> Callable:
        """Set the rule jvp(primals, tangents) -> (primal_out, tangent_out)."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_fns):
        """Set the rule from one function per argument, fn(t, ans, *args) -> tangent."""
        nd = self.nondiff_argnums

        def jvp(*args):
            *static_vals, primals, tangents = args
            it, st = iter(primals), iter(static_vals)
            full = [next(st) if i in nd else next(it)
                    for i in range(len(static_vals) + len(primals))]
            ans = self.fun(*full)
            out = None
            for fn, t in zip(tangent_fns, tangents):
                if fn is None:
                    continue
                c = fn(t, ans, *full)
                out = c if out is None else tu.tree_map(lambda a, b: a + b, out, c)
            return ans, out if out is not None else tu.tree_map(_zeros, ans)
        self.jvp = jvp

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for the custom_jvp function "
                                 f"{getattr(self.fun, '__name__', self.fun)}; use defjvp.")
        args = _resolve_args(self.fun, args, kwargs)
        nd = self.nondiff_argnums
        static = {i: args[i] for i in nd}
        if nd:
            _check_nondiff("custom_jvp", self.fun, nd, static)
        dyn = [a for i, a in enumerate(args) if i not in nd]
        leaves, in_tree = tu.tree_flatten(dyn)
        out_tree_box = []

        def full_args(dyn_vals):
            it = iter(dyn_vals)
            return [static[i] if i in static else next(it) for i in range(len(args))]

        def flat_fun(*xs):
            out = self.fun(*full_args(tu.tree_unflatten(in_tree, xs)))
            o, t = tu.tree_flatten(out)
            if not out_tree_box:
                out_tree_box.append(t)
            return o

        def flat_jvp(primals, tangents):
            p = full_args(tu.tree_unflatten(in_tree, primals))
            t = tu.tree_unflatten(in_tree, tangents)
            pd = [a for i, a in enumerate(p) if i not in nd]
            r = self.jvp(*[static[i] for i in nd], tuple(pd), tuple(t))
            return self._check_rule_output(r, out_tree_box)

        outs = bind(custom_jvp_call_p, *leaves, fun=flat_fun, jvp=flat_jvp)
        if not out_tree_box:
            flat_fun(*leaves)
        return tu.tree_unflatten(out_tree_box[0], outs)

    def _check_rule_output(self, r, out_tree_box):
        """The JVP rule's result r as flat (primal outputs, tangent outputs), checked: a pair,
        primal output of f's structure (where known), tangents of the primal outputs'
        shapes (None or float0 for a zero)."""
        rule, fun = _name(self.jvp), _name(self.fun)
        if not (isinstance(r, (tuple, list)) and len(r) == 2):
            got = (f"a {type(r).__name__} of length {len(r)}" if isinstance(r, (tuple, list))
                   else f"a single value of shape {r.shape} ({type(r).__name__})"
                   if _leaf_aval(r) is not None else f"a {type(r).__name__}")
            raise TypeError(f"the custom_jvp rule {rule} of {fun} must return a pair "
                            f"(primal_out, tangent_out), got {got}")
        out, tout = r
        o, ot = tu.tree_flatten(out)
        if out_tree_box and out_tree_box[0] != ot:
            raise TypeError(f"the custom_jvp rule {rule} must return a primal output with the "
                            f"structure of {fun}'s output: {fun} gives {out_tree_box[0]}, the "
                            f"rule gives {ot}")
        if not out_tree_box:
            out_tree_box.append(ot)
        if tout is None:
            t_leaves = [None] * len(o)
        else:
            try:
                t_leaves = tu.flatten_up_to(ot, tout)
            except ValueError:
                raise TypeError(
                    f"the custom_jvp rule {rule} of {fun} must produce primal and tangent "
                    f"outputs with the same container (pytree) structure: primal {ot}, "
                    f"tangent {tu.tree_structure(tout)}") from None
        res = []
        for j, (po, to) in enumerate(zip(o, t_leaves)):
            aval = get_aval(po)
            where = f"output leaf {j}" if len(o) > 1 else "the output"
            to = _check_leaf(to, aval, lambda msg: (
                f"the custom_jvp rule {rule} of {fun} must produce a tangent output with the "
                f"same shape as the primal output: for {where} ({aval.str_short()}) {msg}"))
            res.append(_zeros(po) if to is None else to)
        return o, res


# ---------------------------------------------------------------------------------------------
# custom_vjp

custom_vjp_call_p = _call_prim("custom_vjp_call")


def _cvjp_reverse(vals, params):
    out, res = params["fwd"](*vals)

    def bwd(cts):
        return params["bwd"](res, list(cts))

    return out, bwd


def _cvjp_jvp(primals, tangents, *, fun, fwd, bwd):
    # J t is the transpose of the linear map ct -> bwd(res, ct): reverse-differentiate it.
    from .api import vjp
    out, res = fwd(*primals)
    diff = [i for i, p in enumerate(primals) if _inexact(p) and tangents[i] is not None]

    def cot_map(*cts):
        g = bwd(res, list(cts))
        return [g[i] if g[i] is not None else _zeros(primals[i]) for i in diff]

    if not diff:
        return out, None
    _, f_vjp = vjp(cot_map, *[_zeros(o) for o in out])
    t_out = f_vjp([tangents[i] for i in diff])
    return out, list(t_out)


custom_vjp_call_p.reverse = _cvjp_reverse
custom_vjp_call_p.jvp = _cvjp_jvp


def _cvjp_batch(vals, bdims, *, fun, fwd, bwd, axis_name=None):
    from .api import vmap
    axes, size = tuple(bdims), _batch_size(vals, bdims)
    # per-example shapes and dtypes of the arguments (for zero cotangents)
    avals = [(tuple(v.shape[:b]) + tuple(v.shape[b + 1:]) if b is not None else tuple(v.shape),
              v.dtype) for v, b in zip(vals, bdims)]

    def bfun(*xs):
        return _batched(fun, axes, size, axis_name)(*xs)

    def bfwd(*xs):
        out, res = vmap(lambda *a: (lambda o, r: (list(o), r))(*fwd(*a)), in_axes=axes,
                        out_axes=0, axis_name=axis_name, axis_size=size)(*xs)
        return list(out), res

    def bbwd(res, cts):
        def one(r, c):
            g = bwd(r, list(c))
            return [np.zeros(sh, dt) if gi is None else gi for gi, (sh, dt) in zip(g, avals)]
        g = vmap(one, in_axes=(0, 0), out_axes=0, axis_name=axis_name,
                 axis_size=size)(res, tuple(cts))
        from .. import numpy as cnp
        # unbatched arguments get the sum over the batch; batched ones their own batch dim
        return [cnp.sum(gi, axis=0) if b is None else cnp.moveaxis(gi, 0, b)
                for gi, b in zip(g, bdims)]

    outs = bind(custom_vjp_call_p, *vals, fun=bfun, fwd=bfwd, bwd=bbwd)
    return outs, [0] * len(outs)


custom_vjp_call_p.batch = _cvjp_batch


class custom_vjp:
    """A function with a custom VJP rule given as (fwd, bwd); works in forward mode too.

    fwd(*args) -> (out, residuals); bwd(*nondiff_args, residuals, ct) -> a tuple with one
    cotangent per differentiable argument (None for a zero cotangent).

    Example:
      >>> @custom_vjp
      ... def f(x): return cnp.sin(x)
      >>> f.defvjp(lambda x: (cnp.sin(x), cnp.cos(x)), lambda c, g: (c * g,))
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None
        self._out_info = {}  # input signature -> (out tree, out avals) of fun, or None

    def defvjp(self, fwd: Callable, bwd: Callable, symbolic_zeros: bool = False):
        """Set the forward (with residuals) and backward functions."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for the custom_vjp function "
                                 f"{getattr(self.fun, '__name__', self.fun)}; use defvjp.")
        args = _resolve_args(self.fun, args, kwargs)
        nd = self.nondiff_argnums
        static = {i: args[i] for i in nd}
        if nd:
            _check_nondiff("custom_vjp", self.fun, nd, static)
        dyn = [a for i, a in enumerate(args) if i not in nd]
        leaves, in_tree = tu.tree_flatten(dyn)
        out_tree_box = []
        fun_name, fwd_name, bwd_name = _name(self.fun), _name(self.fwd), _name(self.bwd)
        dyn_pos = [i for i in range(len(args)) if i not in nd]

        def full_args(dyn_vals):
            it = iter(dyn_vals)
            return [static[i] if i in static else next(it) for i in range(len(args))]

        def record(t):
            if not out_tree_box:
                out_tree_box.append(t)

        def flat_fun(*xs):
            o, t = tu.tree_flatten(self.fun(*full_args(tu.tree_unflatten(in_tree, xs))))
            record(t)
            return o

        def probe(*xs):
            return tu.tree_flatten(self.fun(*full_args(tu.tree_unflatten(in_tree, xs))))

        def flat_fwd(*xs):
            r = self.fwd(*full_args(tu.tree_unflatten(in_tree, xs)))
            if not (isinstance(r, (tuple, list)) and len(r) == 2):
                raise TypeError(f"the custom_vjp fwd rule {fwd_name} of {fun_name} must "
                                f"return a pair (output, residuals), got a {type(r).__name__}")
            o, t = tu.tree_flatten(r[0])
            info = self._fun_out_info(probe, xs, in_tree, static)
            if info is not None:
                f_tree, f_avals = info
                if t != f_tree:
                    raise TypeError(
                        f"the custom_vjp fwd rule {fwd_name} must return a pair whose first "
                        f"element is the primal output, with the structure of {fun_name}'s "
                        f"output: {fun_name} gives {f_tree}, fwd gives {t}")
                for j, (oj, aj) in enumerate(zip(o, f_avals)):
                    got = _leaf_aval(oj)
                    if got is None or got[0] != aj.shape:
                        raise ValueError(
                            f"the custom_vjp fwd rule {fwd_name} must return the primal output "
                            f"of {fun_name} as the first element of its pair: output leaf {j} "
                            f"of {fun_name} has shape {aj.shape}, fwd gives "
                            f"{got[0] if got else 'a ' + type(oj).__name__}")
            record(t)
            return o, r[1]

        def flat_bwd(res, cts):
            ct = tu.tree_unflatten(out_tree_box[0], cts)
            g = self.bwd(*[static[i] for i in nd], res, ct)
            if not isinstance(g, (tuple, list)):
                raise TypeError(f"the custom_vjp bwd rule {bwd_name} of {fun_name} must return "
                                f"a tuple with one cotangent per differentiable argument, got "
                                f"a {type(g).__name__}")
            if len(g) != len(dyn):
                raise ValueError(f"the custom_vjp bwd rule {bwd_name} of {fun_name} returned "
                                 f"{len(g)} cotangents for {len(dyn)} differentiable "
                                 f"arguments")
            out = []
            it = iter(leaves)
            for pos, gi, a in zip(dyn_pos, g, dyn):
                tree = tu.tree_structure(a)
                if gi is None:
                    out.extend([None] * tree.num_leaves)
                    for _ in range(tree.num_leaves):
                        next(it)
                    continue
                try:
                    parts = [gi] if tree.num_leaves == 1 and tu.treedef_is_leaf(tree) else \
                        tu.flatten_up_to(tree, gi)
                except ValueError as e:
                    raise TypeError(
                        f"the custom_vjp bwd rule {bwd_name} must produce an output with the "
                        f"same container (pytree) structure as the args tuple of the primal "
                        f"function {fun_name}: for argument {pos} expected {tree}, got "
                        f"{tu.tree_structure(gi)}") from e
                for j, c in enumerate(parts):
                    aval = get_aval(next(it))
                    out.append(_check_leaf(c, aval, lambda msg, j=j, aval=aval: (
                        f"the custom_vjp bwd rule {bwd_name} must produce an output with the "
                        f"same shape/dtypes as the args tuple of the primal function "
                        f"{fun_name}: for argument {pos}{_leaf_where(len(parts), j)} "
                        f"({aval.str_short()}) {msg}")))
            return out

        outs = bind(custom_vjp_call_p, *leaves, fun=flat_fun, fwd=flat_fwd, bwd=flat_bwd)
        if not out_tree_box:
            flat_fun(*leaves)
        return tu.tree_unflatten(out_tree_box[0], outs)

    def _fun_out_info(self, probe, xs, in_tree, static):
        """(output tree, output avals) of fun for flat inputs xs, found by staging
        probe(*xs) -> (flat outputs, tree) once per input signature; None where fun cannot be
        staged (it may use NumPy on concrete values, which a fwd rule allows), and then
        fwd's output is taken as it is."""
        try:
            key = (in_tree, tuple(get_aval(x) for x in xs),
                   _static_key(static) if static else None)
            hash(key)
        except TypeError:
            key = None
        cache = self._out_info
        if key is not None and key in cache:
            return cache[key]
        from .staging import stage_flat
        trees = []

        def staged(*ys):
            o, t = probe(*ys)
            trees.append(t)
            return o

        try:
            prog = stage_flat(staged, [get_aval(x) for x in xs])
            info = (trees[0], [a.aval for a in prog.outs])
        except Exception:  # noqa: BLE001 - only a check: fwd's output then stands unchecked
            info = None
        if key is not None:
            if len(cache) >= 64:
                cache.clear()
            cache[key] = info
        return info


def _static_key(static: dict):
    """A hashable stand-in for the nondiff_argnums values: arrays by shape and dtype."""
    leaves, tree = tu.tree_flatten([static[i] for i in sorted(static)])
    return tree, tuple(get_aval(v) if isinstance(v, (Tracer, np.ndarray)) else v
                       for v in leaves)


# ---------------------------------------------------------------------------------------------
# checkpoint

remat_call_p = _call_prim("checkpoint")


def _remat_reverse(vals, params):
    fun = params["fun"]
    out = fun(*vals)

    def bwd(cts):
        from .api import vjp
        diff = [i for i, v in enumerate(vals) if _inexact(v)]

        def f_diff(*xs):
            full = list(vals)
            for i, x in zip(diff, xs):
                full[i] = x
            return fun(*full)

        _, f_vjp = vjp(f_diff, *[vals[i] for i in diff])
        g = f_vjp(list(cts))
        res = [None] * len(vals)
        for i, gi in zip(diff, g):
            res[i] = gi
        return res

    return out, bwd


def _remat_jvp(primals, tangents, *, fun):
    from .api import jvp
    diff = [i for i, (p, t) in enumerate(zip(primals, tangents)) if t is not None]

    def f_diff(*xs):
        full = list(primals)
        for i, x in zip(diff, xs):
            full[i] = x
        return fun(*full)

    out, t_out = jvp(f_diff, tuple(primals[i] for i in diff), tuple(tangents[i] for i in diff))
    return out, t_out


remat_call_p.reverse = _remat_reverse
remat_call_p.jvp = _remat_jvp


def _remat_batch(vals, bdims, *, fun, axis_name=None):
    axes, size = tuple(bdims), _batch_size(vals, bdims)

    def bfun(*xs):
        return _batched(fun, axes, size, axis_name)(*xs)

    outs = bind(remat_call_p, *vals, fun=bfun)
    return outs, [0] * len(outs)


remat_call_p.batch = _remat_batch


def _closes_over_tracer(fun, depth: int = 4, seen=None) -> bool:
    """Whether fun reaches a tracer through its closure cells, defaults, a functools.partial's
    arguments or a bound method's object (pytree leaves; nested functions up to `depth`)."""
    if depth < 0:
        return False
    seen = set() if seen is None else seen
    if id(fun) in seen:
        return False
    seen.add(id(fun))
    refs = []
    if isinstance(fun, functools.partial):
        refs += [fun.func, *fun.args, *fun.keywords.values()]
    self_ = getattr(fun, "__self__", None)
    if self_ is not None and not isinstance(self_, type(functools)):
        refs.append(self_)
        refs += list(getattr(self_, "__dict__", {}).values())
    wrapped = getattr(fun, "__wrapped__", None)
    if wrapped is not None:
        refs.append(wrapped)
    for c in getattr(fun, "__closure__", None) or ():
        try:
            refs.append(c.cell_contents)
        except ValueError:  # an empty cell
            pass
    refs += list(getattr(fun, "__defaults__", None) or ())
    for r in refs:
        try:
            leaves = tu.tree_leaves(r)
        except Exception:  # noqa: BLE001
            continue
        for leaf in leaves:
            if isinstance(leaf, Tracer):
                return True
            if callable(leaf) and not isinstance(leaf, (type, np.ndarray)) and \
                    _closes_over_tracer(leaf, depth - 1, seen):
                return True
    return False


def _closure_convert(fun, flat_fun, leaves):
    """Closure conversion for a call primitive: (captured, fun2) where flat_fun closes over
    tracers (`captured`); fun2(*captured, *leaves) computes flat_fun(*leaves) from its staged
    program, so every transform sees the captured tracers as operands. None when flat_fun
    captures no tracer (or cannot be staged: then it runs as it is)."""
    from ..core import trace_stack
    if not trace_stack or not _closes_over_tracer(fun):
        return None  # no tracer to close over: run fun as it is (staging would call it again)
    from .staging import _weak_types, stage_flat
    from ..ir.program import eval_program
    try:
        prog = stage_flat(flat_fun, [get_aval(x) for x in leaves], _weak_types(leaves))
    except Exception:  # noqa: BLE001 - e.g. Python control flow on a value: run it unstaged
        return None
    captured = prog._cache.get("captured")
    if not captured:
        return None

    def prog_fun(*xs):
        return eval_program(prog, xs)

    return list(captured), prog_fun


def checkpoint(fun: Callable, *, prevent_cse: bool = True, policy=None,
               static_argnums: Sequence[int] = ()) -> Callable:
    """Rematerialize: in reverse mode store only fun's inputs and recompute its forward pass
    when the backward pass reaches it (memory for time).

    Example:
      >>> g = grad(lambda x: checkpoint(lambda y: cnp.sin(cnp.sin(y)))(x))
    """
    static_argnums = tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        args = _resolve_args(fun, args, kwargs)
        static = {i: args[i] for i in static_argnums}
        dyn = [a for i, a in enumerate(args) if i not in static]
        leaves, in_tree = tu.tree_flatten(dyn)
        box = []

        def flat_fun(*xs):
            it = iter(tu.tree_unflatten(in_tree, xs))
            full = [static[i] if i in static else next(it) for i in range(len(args))]
            o, t = tu.tree_flatten(fun(*full))
            if not box:
                box.append(t)
            return o

        conv = _closure_convert(fun, flat_fun, leaves)
        if conv is not None:
            captured, prog_fun = conv
            outs = bind(remat_call_p, *captured, *leaves, fun=prog_fun)
        else:
            outs = bind(remat_call_p, *leaves, fun=flat_fun)
        if not box:
            flat_fun(*leaves)
        return tu.tree_unflatten(box[0], outs)

    return wrapped


remat = checkpoint


def stop_gradient(x):
    """The identity, with zero derivative in every mode (applies to every leaf of a pytree).

    Example:
      >>> grad(lambda x: x * stop_gradient(x))(3.0)   # 3.0
    """
    def one(v):
        if _inexact(v):
            return bind(stop_gradient_p, v)
        return v
    return tu.tree_map(one, x)
