"""Staging: trace a function to a Program (`make_program`), and `jit`.

Contract:
- Under a `StageTrace`, each primitive applied to its tracers appends one equation; values are
  abstract (shape and dtype only), so Python control flow on them raises a
  ConcretizationError naming the user's line. Array constants become program constants,
  Python scalars become literals, and tracers of enclosing transforms are captured as extra
  inputs (closure conversion).
- Call primitives (custom rules, checkpoint) are recorded as equations, keeping their rules
  for later transforms; a nested jit is inlined.
- `jit` traces once per signature (pytree structure, shapes and dtypes of the dynamic
  leaves, values of static arguments), compiles the program to Python source over NumPy, and
  applies it through the `jit` primitive, whose rules (JVP, reverse, batching) transform the
  program itself: grad(jit(f)) splits the differentiated program into a forward program that
  also returns residuals and a backward program; it never re-traces f.
- While `chainrule.config.debug_nans` is on, each staged equation records the user's source
  line, programs are not optimized, and jit traces again (the flag is part of its cache key);
  the jit primitive then runs its program equation by equation (chainrule.config).
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import numbers
import sys
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..core import (ConcretizationError, Primitive, ShapedArray, Trace, Tracer, bind,
                    get_aval, tracing)
from .. import tree_util as tu
from ..ir.program import Eqn, Literal, Program, Var, eval_program

logger = logging.getLogger("chainrule.jit")


class config:
    """jit settings. `explain_retrace`: log (logger "chainrule.jit", level WARNING) why each
    retrace happened. `optimize`: run the compiler passes. (Whether jit is disabled is
    `chainrule.config.disable_jit`, or the `disable_jit()` context manager.)"""
    explain_retrace = False
    optimize = True


_DISABLE_JIT = False


def _set_disable_jit(on: bool) -> None:
    global _DISABLE_JIT
    _DISABLE_JIT = bool(on)


@contextlib.contextmanager
def disable_jit(disable: bool = True) -> Iterator[None]:
    """Inside the with-block, functions decorated with `jit` run eagerly, operation by
    operation, as plain Python (as JAX's ``disable_jit``): for print debugging and
    breakpoints. The same setting is ``cr.config.update("jax_disable_jit", True)``.

    Args:
      disable: the setting inside the block; the previous one is restored on exit.

    Example:
      >>> with disable_jit():
      ...     jit(lambda x: print(x) or x)(np.ones(2))   # prints the array itself
    """
    old = _DISABLE_JIT
    _set_disable_jit(disable)
    try:
        yield
    finally:
        _set_disable_jit(old)


class StageTracer(Tracer):
    __slots__ = ("_aval", "_var")

    def __init__(self, trace, aval, var):
        self._trace = trace
        self._aval = aval
        self._var = var

    @property
    def aval(self):
        return self._aval

    @property
    def shape(self):
        return self._aval.shape

    @property
    def dtype(self):
        return self._aval.dtype


_SCALARS = (bool, int, float, complex)
# a stand-in of each Python scalar type for np.result_type: Python scalars are weak (NEP 50)
_WEAK_STAND_IN = {bool: False, int: 0, float: 0.0, complex: 0j}
_KIND_PYTYPE = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


class StageTrace(Trace):
    __slots__ = ("eqns", "const_vars", "consts", "const_ids", "captured", "captured_ids",
                 "weak")

    def __init__(self):
        super().__init__()
        self.eqns = []
        self.const_vars, self.consts, self.const_ids = [], [], {}
        self.captured, self.captured_ids = [], {}
        # weakly typed variables (a jit argument that was a Python scalar, and 0-d results of
        # elementwise arithmetic on such values only) -> their Python scalar type
        self.weak = {}

    def describe(self):
        return "jit"

    def concrete(self, tracer, how):
        raise ConcretizationError(
            "jit", how,
            "Under jit values are abstract (only shapes and dtypes are known). Use "
            "chainrule.numpy.where or lax.cond / lax.while_loop / lax.fori_loop for "
            "value-dependent control flow, or mark the argument static with static_argnums.")

    def new_input(self, aval):
        v = Var(aval)
        return StageTracer(self, aval, v)

    def lift(self, value):
        v = self.atom(value)
        if type(v) is Literal:
            v = Var(v.aval)
            self.const_vars.append(v)
            self.consts.append(np.asarray(value))
        return StageTracer(self, v.aval, v)

    def atom(self, x):
        if x.__class__ is StageTracer and x._trace is self:
            return x._var
        if isinstance(x, Tracer):
            v = self.captured_ids.get(id(x))
            if v is None:
                v = Var(x.aval)
                self.captured_ids[id(x)] = v
                self.captured.append((x, v))
                if x.__class__ is StageTracer and x._trace.weak:
                    w = x._trace.weak.get(x._var)
                    if w is not None:
                        self.weak[v] = w
            return v
        if type(x) in _SCALARS or (isinstance(x, np.generic) and x.ndim == 0):
            return Literal(x)
        v = self.const_ids.get(id(x))
        if v is None:
            arr = np.asarray(x)
            if arr.ndim == 0:
                return Literal(arr[()])
            v = Var(ShapedArray(arr.shape, arr.dtype))
            self.const_ids[id(x)] = v
            self.const_vars.append(v)
            self.consts.append(arr)
        return v

    def process(self, prim, args, params):
        if prim is jit_p:
            return prim.inline(*args, **params)
        inputs = [self.atom(a) for a in args]
        if self.weak:
            return self._process_weak(prim, inputs, params)
        return self._emit(prim, inputs, params)

    def _emit(self, prim, inputs, params):
        """Append the equation prim(inputs) and return its output tracer(s)."""
        avals = [a.value if type(a) is Literal else a.aval for a in inputs]
        out = abstract_eval(prim, avals, params)
        if prim.multiple_results:
            outs = [Var(a) for a in out]
            self.eqns.append(Eqn(prim, inputs, params, outs))
            return [StageTracer(self, v.aval, v) for v in outs]
        v = Var(out)
        self.eqns.append(Eqn(prim, inputs, params, [v]))
        return StageTracer(self, out, v)

    def _process_weak(self, prim, inputs, params):
        """process with weakly typed (Python scalar) variables among the inputs. NumPy casts a
        Python scalar to the dtype that promotion with the other operands picks (NEP 50); the
        program makes that explicit: in an elementwise equation with strongly typed operands,
        each weak variable is first converted to that dtype, so every aval in the program is
        an ordinary one and the code run agrees with it. An elementwise equation of weak
        values (and Python literals) only gives a weak result where its dtype is the one that
        Python-scalar promotion gives; other primitives see weak variables as strong."""
        weak = self.weak
        if "elementwise" in prim.traits and not prim.multiple_results and any(
                type(a) is not Literal and a in weak for a in inputs):
            strong, stand_ins = [], []
            for a in inputs:
                if type(a) is Literal:
                    if type(a.value) in _SCALARS:
                        stand_ins.append(a.value)
                    else:
                        strong.append(a.aval.dtype)
                elif a in weak:
                    stand_ins.append(_WEAK_STAND_IN[weak[a]])
                else:
                    strong.append(a.aval.dtype)
            if strong:
                from ..prims import convert_p, convert_python_int_p
                dt = np.result_type(*strong, *stand_ins)
                new = []
                for a in inputs:
                    if type(a) is not Literal and a in weak and a.aval.dtype != dt:
                        v = Var(ShapedArray(a.aval.shape, dt))
                        # a Python int must fit the integer dtype it meets, as in NumPy
                        conv = (convert_python_int_p if weak[a] is int and dt.kind in "iu"
                                else convert_p)
                        self.eqns.append(Eqn(conv, [a], {"dtype": dt}, [v]))
                        a = v
                    new.append(a)
                inputs = new
            else:
                avals = [a.value if type(a) is Literal else a.aval for a in inputs]
                out = abstract_eval(prim, avals, params)
                v = Var(out)
                self.eqns.append(Eqn(prim, inputs, params, [v]))
                if out.shape == () and out.dtype == np.result_type(*stand_ins):
                    weak[v] = _KIND_PYTYPE.get(out.dtype.kind, float)
                return StageTracer(self, out, v)
        return self._emit(prim, inputs, params)


def abstract_eval(prim: Primitive, avals, params):
    """The output aval(s) of prim on avals: its shape rule, staging for call primitives, or
    (for primitives without a shape rule, e.g. user extensions) evaluation on zeros."""
    if "call" in prim.traits:
        prog = stage_flat(params["fun"], [a if isinstance(a, ShapedArray) else get_aval(a)
                                         for a in avals])
        return [o.aval for o in prog.outs]
    rule = prim.abstract_eval
    if rule is not None:
        return rule(*avals, **params)
    zeros = [np.zeros(a.shape, a.dtype) if isinstance(a, ShapedArray) else a for a in avals]
    out = prim.impl(*zeros, **params)
    if prim.multiple_results:
        return [get_aval(o) for o in out]
    return get_aval(out)


def stage_flat(fun: Callable, in_avals: Sequence[ShapedArray],
               weak: Sequence[type | None] | None = None) -> Program:
    """Stage fun(*flat_inputs) -> list of outputs into a Program (captured tracers become
    leading inputs; see `Program.captured` on the result). `weak` gives, per input, the
    Python scalar type of an input that promotes as a Python scalar (NEP 50), or None."""
    trace = StageTrace()
    tracers = [trace.new_input(a) for a in in_avals]
    if weak:
        for t, w in zip(tracers, weak):
            if w is not None:
                trace.weak[t._var] = w
    # read the input variables now: `x[i] = v` inside fun rebinds an input tracer's variable
    in_vars = [t._var for t in tracers]
    with tracing(trace):
        outs = fun(*tracers)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    out_atoms = [trace.atom(o) for o in outs]
    prog = Program(trace.const_vars, trace.consts,
                   [v for _, v in trace.captured] + in_vars,
                   trace.eqns, out_atoms)
    prog._cache["captured"] = [x for x, _ in trace.captured]
    return prog


def _weak_types(leaves):
    """Per leaf, its type where it is a Python scalar (weakly typed under NEP 50), else None;
    None for all when there are none."""
    weak = [type(x) if type(x) in _SCALARS else None for x in leaves]
    return weak if any(w is not None for w in weak) else None


class _NotAnArray(TypeError):
    """A pytree leaf of a staged function's arguments that is not an array or a number."""

    def __init__(self, leaf):
        self.leaf = leaf
        super().__init__(_not_array_msg(leaf, "an argument"))


def _not_array_msg(leaf, where):
    kind = "a function" if callable(leaf) else f"an object of type {type(leaf).__name__}"
    return (f"{where} is {kind}, not an array or a number, so it cannot be traced. Mark it "
            "static (jit's static_argnums / static_argnames), close over it instead of "
            "passing it, or register its type as a pytree (chainrule.tree_util."
            "register_pytree_node) whose leaves are arrays.")


def _as_leaf(x):
    if isinstance(x, (Tracer, np.ndarray)):
        return x
    if callable(x) and not isinstance(x, (np.generic, numbers.Number)):
        raise _NotAnArray(x)
    a = np.asarray(x)
    if a.dtype.kind in "OUSV" and not isinstance(x, np.generic):
        raise _NotAnArray(x)
    return a


def make_program(fun: Callable, static_argnums: int | Sequence[int] = (),
                 static_argnames: str | Sequence[str] = ()) -> Callable:
    """A function returning the staged Program of fun for given arguments (like JAX's
    make_jaxpr). The program prints as typed text and renders as DOT (`.to_dot()`).
    Static arguments (by position or name, as for `jit`) are passed to fun as they are.

    Example:
      >>> print(make_program(lambda x: cnp.sin(x) * 2.0)(np.ones(3)))
      program(a:f64[3]) {
        b:f64[3] = sin a
        c:f64[3] = multiply b 2.0
        return (c,)
      }
    """
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    nums, names = _infer_static(fun, nums, names)

    @functools.wraps(fun)
    def make(*args, **kwargs):
        n = len(args)
        static_idx = {i % n for i in nums if -n <= i < n}
        dyn_idx = [i for i in range(n) if i not in static_idx]
        static_kw = {k: v for k, v in kwargs.items() if k in names}
        kwargs = {k: v for k, v in kwargs.items() if k not in names}
        leaves, tree = tu.tree_flatten(([args[i] for i in dyn_idx], kwargs))
        weak = _weak_types(leaves)
        try:
            leaves = [_as_leaf(x) for x in leaves]
        except _NotAnArray as e:
            raise TypeError(f"make_program({getattr(fun, '__name__', 'fun')}): " +
                            _not_array_msg(e.leaf, _which_argument(fun, args, kwargs,
                                                                   static_idx, e.leaf))
                            ) from None
        out_tree = []

        def flat(*xs):
            dyn, kw = tu.tree_unflatten(tree, xs)
            full = list(args)
            for i, x in zip(dyn_idx, dyn):
                full[i] = x
            o, t = tu.tree_flatten(fun(*full, **kw, **static_kw))
            out_tree.append(t)
            return o

        prog = stage_flat(flat, [get_aval(x) for x in leaves], weak)
        if config.optimize:
            # simplified but not fused, so that it reads op by op (jit(f).lower shows the
            # fused program that runs)
            from ..compiler import optimize
            prog = optimize(prog, fusion=False)
        return prog

    return make


def eval_shape(fun: Callable, *args, **kwargs):
    """The shapes and dtypes of fun's outputs, found by staging it, without computing
    anything (as JAX's ``eval_shape``). Arguments may be arrays, scalars or anything with
    ``.shape`` and ``.dtype`` (``ShapeDtypeStruct``); non-array leaves of other types are
    passed through as they are.

    Returns:
      fun's output pytree with a ``ShapeDtypeStruct`` for every array leaf.

    Example:
      >>> eval_shape(lambda a: a @ a.T, ShapeDtypeStruct((3, 4), np.float32))
      ShapeDtypeStruct(shape=(3, 3), dtype=float32)
    """
    from ..debug import ShapeDtypeStruct
    leaves, tree = tu.tree_flatten((args, kwargs))
    dyn = [i for i, x in enumerate(leaves) if _shaped_leaf(x)]
    avals = [get_aval(leaves[i]) if isinstance(leaves[i], (Tracer, np.ndarray, np.generic,
                                                           numbers.Number))
             else ShapedArray(leaves[i].shape, leaves[i].dtype) for i in dyn]
    out = []

    def flat(*xs):
        full = list(leaves)
        for i, x in zip(dyn, xs):
            full[i] = x
        a, kw = tu.tree_unflatten(tree, full)
        o, t = tu.tree_flatten(fun(*a, **kw))
        out.extend([o, t])
        return [x for x in o if _shaped_leaf(x)]

    prog = stage_flat(flat, avals, _weak_types([leaves[i] for i in dyn]))
    o, t = out
    structs = iter(ShapeDtypeStruct(a.aval.shape, a.aval.dtype) for a in prog.outs)
    return tu.tree_unflatten(t, [next(structs) if _shaped_leaf(x) else x for x in o])


def _shaped_leaf(x) -> bool:
    """An array-like leaf eval_shape stages as an input (others pass through unchanged)."""
    if isinstance(x, (Tracer, np.ndarray, np.generic, numbers.Number)):
        return True
    return hasattr(x, "shape") and hasattr(x, "dtype")


def block_until_ready(x):
    """x itself. chainrule computes eagerly on the CPU, so every result is ready when it is
    returned; this exists so that code written for JAX (timing loops) runs unchanged."""
    return x


# ---------------------------------------------------------------------------------------------
# the jit primitive

jit_p = Primitive("jit", multiple_results=True)
jit_p.traits = frozenset({"call", "named_axes"})


def _compiled(program: Program):
    fn = program._cache.get("compiled")
    if fn is None:
        from ..compiler import compile_program
        fn = program._cache["compiled"] = compile_program(program)
    return fn


def _jit_impl(*args, program):
    return _compiled(program)(*args)


def _jit_inline(*args, program):
    return eval_program(program, args)


jit_p.impl = _jit_impl
jit_p.inline = _jit_inline
jit_p.abstract_eval = lambda *avals, program: [o.aval for o in program.outs]


def _finish(prog):
    if prog._cache.get("captured"):
        raise RuntimeError("internal: a derived program captured outer tracers")
    if config.optimize and not _DEBUG_NANS:
        from ..compiler import optimize
        prog = optimize(prog)
    return prog


def _jit_jvp(primals, tangents, *, program):
    from .api import jvp
    nz = tuple(t is not None and getattr(p, "dtype", np.dtype(float)).kind in "fc"
               for p, t in zip(primals, tangents))
    key = ("jvp", nz)
    jp = program._cache.get(key)
    n = len(primals)
    if jp is None:
        idx = [i for i in range(n) if nz[i]]

        def f(*args):
            ps, ts = list(args[:n]), args[n:]
            full_t = [np.zeros(a.shape, a.dtype) for a in program.in_avals]
            for i, t in zip(idx, ts):
                full_t[i] = t
            outs, touts = jvp(lambda *pp: eval_program(program, pp), ps, full_t)
            return list(outs) + [t if np.dtype(getattr(t, "dtype", float)).kind in "fc" else
                                 np.zeros(np.shape(o), getattr(o, "dtype", float))
                                 for o, t in zip(outs, touts)]

        jp = program._cache[key] = _finish(stage_flat(
            f, list(program.in_avals) + [program.in_avals[i] for i in idx]))
    res = bind(jit_p, *primals, *[t for t, z in zip(tangents, nz) if z], program=jp)
    m = len(program.outs)
    return res[:m], res[m:]


def _split_known(prog: Program, n_known_inputs: int):
    """Split prog(known, unknown) by dependence on the unknown inputs into
    fwd(known) -> (known outputs..., residuals) and bwd(residuals, unknown) -> outputs."""
    unknown = set(prog.in_vars[n_known_inputs:])
    fwd_eqns, bwd_eqns = [], []
    for e in prog.eqns:
        if any(type(a) is not Literal and a in unknown for a in e.inputs):
            bwd_eqns.append(e)
            unknown.update(e.outs)
        else:
            fwd_eqns.append(e)
    known_defined = set(prog.in_vars[:n_known_inputs]) | set(prog.const_vars)
    for e in fwd_eqns:
        known_defined.update(e.outs)
    residuals, seen = [], set()

    def need(a):
        if type(a) is not Literal and a in known_defined and a not in seen:
            seen.add(a)
            residuals.append(a)

    for e in bwd_eqns:
        for a in e.inputs:
            need(a)
    for o in prog.outs:
        need(o)
    fwd = Program(prog.const_vars, prog.consts, prog.in_vars[:n_known_inputs], fwd_eqns,
                  residuals)
    res_in = [Var(r.aval) for r in residuals]
    ren = dict(zip(residuals, res_in))

    def r(a):
        return ren.get(a, a) if type(a) is not Literal else a

    bwd = Program(prog.const_vars, prog.consts, res_in + prog.in_vars[n_known_inputs:],
                  [Eqn(e.prim, [r(a) for a in e.inputs], e.params, e.outs) for e in bwd_eqns],
                  [r(o) for o in prog.outs])
    return fwd, bwd


def _jit_reverse(vals, params):
    from .api import vjp
    program = params["program"]
    diff = tuple(getattr(v, "dtype", np.dtype(float)).kind in "fc" for v in vals)
    key = ("vjp", diff)
    split = program._cache.get(key)
    n, m = len(vals), len(program.outs)
    if split is None:
        idx = [i for i in range(n) if diff[i]]
        out_avals = program.out_avals

        def h(*args):
            xs, cts = list(args[:n]), args[n:]

            def f(*d):
                full = list(xs)
                for i, v in zip(idx, d):
                    full[i] = v
                return eval_program(program, full)

            outs, f_vjp = vjp(f, *[xs[i] for i in idx])
            grads = f_vjp(list(cts))
            return list(outs) + list(grads)

        prog = stage_flat(h, list(program.in_avals) + [
            ShapedArray(a.shape, a.dtype if a.dtype.kind in "fc" else np.float64)
            for a in out_avals])
        fwd, bwd = _split_known(prog, n)
        # fwd returns (residuals incl. the primal outputs); remember where the outputs are
        out_pos = [fwd.outs.index(o) if type(o) is not Literal else o for o in prog.outs[:m]]
        bwd = bwd.replace(outs=bwd.outs[m:])
        split = program._cache[key] = (_finish(fwd), _finish(bwd), out_pos, idx)
    fwd, bwd, out_pos, idx = split
    res = bind(jit_p, *vals, program=fwd)
    outs = [res[p] if isinstance(p, int) else p.value for p in out_pos]

    def backward(cts):
        cts = [np.zeros(a.shape, a.dtype if a.dtype.kind in "fc" else np.float64)
               if c is None else c for c, a in zip(cts, program.out_avals)]
        g = bind(jit_p, *res, *cts, program=bwd)
        full = [None] * n
        for i, gi in zip(idx, g):
            full[i] = gi
        return full

    return outs, backward


def _jit_batch(vals, bdims, *, program, axis_name=None):
    from .api import vmap
    # the batched program depends on the batch size too: key on the avals, not just bdims
    key = ("vmap", tuple(bdims), axis_name, tuple(get_aval(v) for v in vals))
    bp = program._cache.get(key)
    if bp is None:
        bp = program._cache[key] = _finish(stage_flat(
            lambda *args: list(vmap(lambda *a: eval_program(program, a),
                                    in_axes=tuple(bdims), axis_name=axis_name)(*args)),
            [get_aval(v) for v in vals]))
    return bind(jit_p, *vals, program=bp), [0] * len(program.outs)


jit_p.jvp = _jit_jvp
jit_p.reverse = _jit_reverse
jit_p.batch = _jit_batch


# ---------------------------------------------------------------------------------------------
# jit


def _signature(leaves):
    return tuple((x.shape, x.dtype) if hasattr(x, "dtype") and hasattr(x, "shape")
                 else (np.shape(x), np.result_type(x)) for x in leaves)


def jit(fun: Callable, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), donate_argnums=()) -> Callable:
    """Compile fun: trace it once per signature to a Program, optimize it and generate NumPy
    code; later calls with the same signature run the compiled code.

    Args:
      fun: a function of arrays (pytrees).
      static_argnums, static_argnames: arguments that are compile-time constants (must be
        hashable); a new value triggers a retrace.
    Returns:
      The compiled function (same signature). `.lower(*args)` gives the Program, and
      `.source(*args)` the generated Python source.

    Example:
      >>> f = jit(lambda x: x * x + x * 2.0)
      >>> f(np.ones(3))   # array([3., 3., 3.])
    """
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    s_nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    s_names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    s_nums, s_names = _infer_static(fun, s_nums, s_names)
    cache: dict = {}
    last_key = []
    # the common call: positional plain ndarrays, no static arguments. Its signature is just
    # (shape, dtype) per argument, and (outside debug_nans, where bind would check every
    # equation) binding jit_p on arrays is calling the compiled function: skip both.
    fast: dict = {}
    fast_ok = not s_nums and not s_names

    def _key(args, kwargs):
        n = len(args)
        nums = tuple(sorted(i % n for i in s_nums if -n <= i < n))
        statics = []
        for i in nums:
            statics.append(_hashable(args[i], f"static argument {i}"))
        for k in s_names:
            if k in kwargs:
                statics.append((k, _hashable(kwargs[k], f"static argument {k!r}")))
        dyn = [a for i, a in enumerate(args) if i not in nums]
        dkw = {k: v for k, v in kwargs.items() if k not in s_names}
        leaves, tree = tu.tree_flatten((dyn, dkw))
        weak = _weak_types(leaves)
        try:
            leaves = [_as_leaf(x) for x in leaves]
        except _NotAnArray as e:
            raise TypeError(f"jit({getattr(fun, '__name__', 'fun')}): " + _not_array_msg(
                e.leaf, _which_argument(fun, args, kwargs, nums, e.leaf))) from None
        key = (tree, _signature(leaves), tuple(statics), _DEBUG_NANS,
               None if weak is None else tuple(weak))
        return key, nums, leaves, tree

    def _trace(args, kwargs, nums, leaves, tree, weak=None):
        box = []

        def flat(*xs):
            dyn, kw = tu.tree_unflatten(tree, xs)
            full, it = [], iter(dyn)
            for i in range(len(args)):
                full.append(args[i] if i in nums else next(it))
            for k in s_names:
                if k in kwargs:
                    kw[k] = kwargs[k]
            o, t = tu.tree_flatten(fun(*full, **kw))
            box.append(t)
            return o

        prog = stage_flat(flat, [get_aval(x) for x in leaves], weak)
        captured = prog._cache.pop("captured")
        if config.optimize and not _DEBUG_NANS:
            from ..compiler import optimize
            prog = optimize(prog)
        return prog, box[0], captured

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        if _DISABLE_JIT:
            return fun(*args, **kwargs)
        if fast_ok and not kwargs and not _DEBUG_NANS:
            sig = []
            for a in args:
                if a.__class__ is not np.ndarray:
                    break
                sig.append(a.shape)
                sig.append(a.dtype)
            else:
                hit = fast.get(tuple(sig))
                if hit is not None:
                    fn, out_tree = hit
                    outs = fn(*args)
                    return outs[0] if out_tree is None else tu.tree_unflatten(out_tree, outs)
        key, nums, leaves, tree = _key(args, kwargs)
        entry = cache.get(key)
        if entry is None:
            if config.explain_retrace and last_key:
                logger.warning("jit(%s): retracing: %s", getattr(fun, "__name__", fun),
                               _explain(last_key[-1], key))
            prog, out_tree, captured = _trace(args, kwargs, nums, leaves, tree, key[4])
            entry = (prog, out_tree)
            if captured:
                outs = bind(jit_p, *captured, *leaves, program=prog)
                return tu.tree_unflatten(out_tree, outs)
            cache[key] = entry
            last_key.append(key)
        prog, out_tree = entry
        outs = bind(jit_p, *leaves, program=prog)
        if fast_ok and not kwargs and not _DEBUG_NANS and all(
                a.__class__ is np.ndarray for a in args) and jit_p.impl is _jit_impl:
            sig = tuple(x for a in args for x in (a.shape, a.dtype))
            fast[sig] = (_compiled(prog), None if out_tree == _LEAF_TREE else out_tree)
        return tu.tree_unflatten(out_tree, outs)

    def lower(*args, **kwargs):
        key, nums, leaves, tree = _key(args, kwargs)
        return _trace(args, kwargs, nums, leaves, tree, key[4])[0]

    def source(*args, **kwargs):
        from ..compiler import generate_source
        return generate_source(lower(*args, **kwargs))[0]

    wrapped.lower = lower
    wrapped.source = source
    wrapped._cache = cache
    wrapped._fast = fast
    return wrapped


_LEAF_TREE = tu.tree_structure(0)


def _infer_static(fun, nums: tuple, names: tuple):
    """Complete static_argnums and static_argnames from each other through fun's signature
    (as JAX does), so a static argument is static whether passed by position or by name."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return nums, names
    pos = [p.name for p in params
           if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    kw_ok = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    nums = tuple(dict.fromkeys(nums + tuple(pos.index(n) for n in names if n in pos)))
    names = tuple(dict.fromkeys(names + tuple(
        pos[i] for i in nums if 0 <= i < len(pos) and pos[i] in kw_ok)))
    return nums, names


def _which_argument(fun, args, kwargs, nums, leaf) -> str:
    """How to name, in an error, the argument (positional or keyword) that holds leaf."""
    try:
        pos = [p.name for p in inspect.signature(fun).parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        pos = []
    for i, a in enumerate(args):
        if i not in nums and any(x is leaf for x in tu.tree_leaves(a)):
            name = f" ({pos[i]!r})" if i < len(pos) else ""
            inner = "" if a is leaf else "a leaf of "
            return f"{inner}positional argument {i}{name}"
    for k, a in kwargs.items():
        if any(x is leaf for x in tu.tree_leaves(a)):
            return f"{'' if a is leaf else 'a leaf of '}argument {k!r}"
    return "an argument"


def _hashable(v, what):
    try:
        hash(v)
    except TypeError:
        raise TypeError(f"jit: {what} has unhashable type {type(v).__name__}; static "
                        "arguments must be hashable (use a tuple instead of a list, or make "
                        "the argument dynamic)") from None
    return v


def _explain(old, new):
    (ot, osig, ost, odbg, owk), (nt, nsig, nst, ndbg, nwk) = old, new
    if odbg != ndbg:
        return f"config.debug_nans changed to {ndbg}"
    if ot != nt:
        return f"the argument structure changed: {ot} -> {nt}"
    if ost != nst:
        return f"static argument values changed: {ost} -> {nst}"
    for i, (a, b) in enumerate(zip(osig, nsig)):
        if a != b:
            return (f"argument leaf {i} changed from {ShapedArray(*a).str_short()} to "
                    f"{ShapedArray(*b).str_short()}")
    if owk != nwk:
        return f"the Python scalar arguments changed: {owk} -> {nwk}"
    return "the signature changed"


# ---------------------------------------------------------------------------------------------
# debug_nans: a recording process, swapped in by chainrule.config

_DEBUG_NANS = False


def _process_checking(self, prim, args, params):
    """StageTrace.process while debug_nans is on: the new equation records the user's line."""
    n = len(self.eqns)
    out = _process_fast(self, prim, args, params)
    if len(self.eqns) > n:
        from ..config import record_eqn
        record_eqn(self.eqns[-1], sys._getframe(1))
    return out


_process_fast = StageTrace.process


def _debug_nans(on: bool) -> None:
    global _DEBUG_NANS
    _DEBUG_NANS = on
    StageTrace.process = _process_checking if on else _process_fast
