"""Control flow as higher-order primitives: cond/switch, while_loop, fori_loop, scan, map, and
the elementwise `select`.

Contract:
- Each construct is one primitive that carries staged Programs (`stage_flat` of the user's
  functions on the avals of the flattened operands) as params. Tracers a function closes over
  are captured by staging and passed as leading operands ("consts"), so every rule sees all of
  the primitive's inputs. Under jit each construct is one equation; the generated code calls
  its impl, which interprets its programs (compiling them, cached on `program._cache`, once a
  program has run a few times).
- Every rule is made of binds (of these primitives and ordinary ones), so rules compose:
  grad of grad, jit of grad, vmap of grad, jvp of grad...
- cond_p(index, *ops, branches): runs only the taken branch. With a concrete index (eager, and
  under grad/jvp, which keep values concrete) the JVP and reverse rules differentiate the taken
  branch directly. With a traced index (jit): JVP is a cond of the JVP'd branches; reverse
  splits each branch into a forward part returning residuals and a backward part, with residual
  lists made uniform across branches (zeros in the slots of the other branches), so the forward
  and the backward are each one cond_p. Batched index: every branch runs and the outputs are
  selected per example.
- scan_p(*consts, *carry, *xs, body_program, length, reverse, num_consts, num_carry): JVP: a
  scan of the JVP'd body. Reverse: the body is split into fwd (carry, y and per-iteration
  residuals) and bwd; the forward is one scan of fwd stacking the residuals (residuals that
  depend only on the consts are hoisted out of the loop and computed once), the backward one
  scan of bwd in the opposite direction accumulating the consts' cotangents in its carry.
  Batching: vmap the body. The impl plans its loop once per body and length (`_scan_plan`,
  values as the plain loop's): per-step work that reads only xs and consts runs batched before
  the loop, loop-invariant matrices reach the body contiguous (transposed once where the body
  only uses them transposed), and the ys share one allocation.
- Named axes: the batching rules of cond_p, scan_p and while_p (trait "named_axes") batch
  their programs under the enclosing vmap's axis name, so a collective in a body on a loop
  carry, xs or branch operand reduces over the batch. When no operand is batched but a
  program holds a collective over a vmap's axis that is newer than the operands' traces, the
  construct's `find_trace` hands it to that vmap (which batches one operand) rather than
  leaving the collective to a staged program that runs outside the vmap.
- Dead code: each construct has a `dce_rule` (read by `compiler.passes.dce`) that drops its
  unused outputs from its programs, with the carries and operands only they needed; a
  construct whose programs have effects is kept even when no output is used.
- while_p(*cond_consts, *body_consts, *carry, cond_program, body_program, ...): JVP: a while of
  the JVP'd body. Batching: the predicate is batched; the loop runs while any example is
  active and finished examples are frozen with select. Reverse: the trip count n is computed
  first (a counting loop on stop_gradient'ed inputs); when n is concrete (eager, grad of grad,
  jvp of grad) the loop is a scan of length n and uses scan's reverse rule (residuals stored
  per iteration, O(n)). When n is traced (under jit or vmap) the backward is itself a while
  loop that recomputes the k-th carry from the initial one for k = n-1, ..., 0: it stages and
  batches, at a cost of O(n^2) body evaluations.
"""
from __future__ import annotations

import functools
import math
import operator
from typing import Callable, Sequence

import numpy as np

from . import tree_util as tu
from .compiler import compile_program, optimize
from .compiler.passes import dce, live_vars
from .core import ConcretizationError, Primitive, ShapedArray, Tracer, bind, get_aval
from .ir.program import Eqn, Literal, Program, Var, eval_program
from .prims.base import moveaxis0
from .prims.collective import newest_axis_trace
from .prims.elementwise import (add_p, eq_p, ge_p, max_p, min_p, ne_p, select_p,
                                stop_gradient_p)
from .prims.structural import (concatenate_p, convert_p, dot_general_p, reduce_or_p,
                                reshape_p)
from .transforms.api import jvp, vjp, vmap
from .transforms.batching import move_to
from .transforms.staging import _finish, _split_known, stage_flat

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map", "select",
           "cond_p", "while_p", "scan_p"]

# ---------------------------------------------------------------------------------------------
# helpers

_INT = ShapedArray((), np.int64)


def _is_float(aval) -> bool:
    return aval.dtype.kind in "fc"


def _floats(avals) -> list[int]:
    return [j for j, a in enumerate(avals) if a.dtype.kind in "fc"]


def _zeros(aval):
    return np.zeros(aval.shape, aval.dtype)


def _as_leaf(x):
    if isinstance(x, (Tracer, np.ndarray)):
        return x
    if isinstance(x, (np.generic, bool, int, float, complex)):
        return np.asarray(x)
    try:
        return np.asarray(x)
    except Exception:
        raise TypeError(f"a leaf of type {type(x).__name__} is not a valid array (expected "
                        "arrays, Python scalars, or pytrees of them)") from None


def _check_out_leaf(x, what):
    if not isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex)):
        raise TypeError(f"{what} returned a leaf of type {type(x).__name__}; outputs must be "
                        "arrays, Python scalars, or pytrees of them")
    return x


def _paths(tree) -> list[str]:
    """The key path of every leaf of a tree structure, as text ('' for a bare leaf)."""
    n = tree.num_leaves
    pl, _ = tu.tree_flatten_with_path(tu.tree_unflatten(tree, list(range(n))))
    return [tu.keystr(p) for p, _ in pl]


def _fix(outs, avals):
    """Outputs as ndarrays of their avals' dtypes (compiled code may return Python scalars)."""
    return [o if type(o) is np.ndarray and o.dtype == a.dtype else np.asarray(o, a.dtype)
            for o, a in zip(outs, avals)]


_COMPILE_AFTER = 8


def _interpret(program, *args):
    return eval_program(program, args)


def _runner(program: Program, runs: int = 1) -> Callable:
    """A callable evaluating the program on arrays: interpreted for its first few runs, then
    compiled once (cached on the program), so one-off eager calls do not pay for compilation."""
    cache = program._cache
    fn = cache.get("compiled")
    if fn is not None:
        return fn
    k = cache.get("runs", 0) + runs
    cache["runs"] = k
    if k > _COMPILE_AFTER:
        fn = cache["compiled"] = compile_program(program)
        return fn
    return functools.partial(_interpret, program)


def _stage_user(fun, in_avals, call, what):
    """Stage fun on flat inputs; `call(fun, flat_inputs)` applies fun to the unflattened
    inputs. Returns (program, captured values, output tree structure)."""
    box = []

    def flat(*xs):
        leaves, tree = tu.tree_flatten(call(fun, xs))
        box.append(tree)
        return [_check_out_leaf(x, what) for x in leaves]

    prog = stage_flat(flat, in_avals)
    captured = prog._cache.pop("captured")
    return optimize(prog), captured, box[0]


def _with_consts(prog: Program, own: list, union: list) -> Program:
    """prog (whose leading inputs are the captured values `own`) taking all of `union` as its
    leading inputs instead (unused ones are fresh variables)."""
    mine = {id(c): v for c, v in zip(own, prog.in_vars[:len(own)])}
    lead = []
    for c in union:
        v = mine.get(id(c))
        lead.append(v if v is not None else Var(get_aval(c)))
    return prog.replace(in_vars=lead + prog.in_vars[len(own):])


def _union(lists):
    out, seen = [], set()
    for lst in lists:
        for c in lst:
            if id(c) not in seen:
                seen.add(id(c))
                out.append(c)
    return out


def _type_mismatch(kind, what_a, what_b, paths, avals_a, avals_b):
    for p, a, b in zip(paths, avals_a, avals_b):
        if a != b:
            why = "shapes" if a.shape != b.shape else "dtypes"
            where = f" at {p}" if p else ""
            return TypeError(f"{kind}: {what_a} and {what_b} must have identical types, but "
                             f"the output{where} is {a.str_short()} in {what_a} and "
                             f"{b.str_short()} in {what_b} (the {why} differ)")
    return None


# ---------------------------------------------------------------------------------------------
# program transformations shared by the rules (all cached on the source program)


def _fn_of(prog: Program, args: Sequence, idx: Sequence[int]) -> Callable:
    """prog as a function of its inputs at positions idx, the others fixed to args."""
    def f(*d):
        full = list(args)
        for i, v in zip(idx, d):
            full[i] = v
        return eval_program(prog, full)
    return f


def _jvp_program(prog: Program, nz: tuple) -> Program:
    """(inputs..., tangents of the inputs with nz[i]) -> (outputs..., tangents of the float
    outputs)."""
    key = ("jvp", nz)
    jp = prog._cache.get(key)
    if jp is None:
        n = len(prog.in_vars)
        in_avals = prog.in_avals
        idx = [i for i in range(n) if nz[i]]
        fl = _floats(prog.out_avals)

        def f(*args):
            ps = list(args[:n])
            outs, touts = jvp(_fn_of(prog, ps, idx), [ps[i] for i in idx], list(args[n:]))
            return list(outs) + [touts[j] for j in fl]

        jp = prog._cache[key] = _finish(stage_flat(f, in_avals + [in_avals[i] for i in idx]))
    return jp


def _vmap_program(prog: Program, axes: tuple, size: int, axis_name=None) -> Program:
    """prog batched: inputs with axis 0 (or None: unbatched) -> outputs batched at axis 0.
    With `axis_name` (the enclosing vmap's), collectives over that name in prog reduce over
    the batch (an unbatched input is the same for every example)."""
    key = ("vmap", axes, size, axis_name)
    bp = prog._cache.get(key)
    if bp is None:
        avals = [a if ax is None else ShapedArray((size,) + a.shape, a.dtype)
                 for a, ax in zip(prog.in_avals, axes)]

        def f(*args):
            return list(vmap(lambda *b: eval_program(prog, b), in_axes=axes,
                             axis_size=size, axis_name=axis_name)(*args))

        bp = prog._cache[key] = _finish(stage_flat(f, avals))
    return bp


def _axis_names(prog: Program) -> frozenset:
    """The axis names of the collectives in prog and in the programs its equations carry."""
    names = prog._cache.get("axis_names")
    if names is None:
        found = set()
        for e in prog.eqns:
            if "collective" in e.prim.traits:
                a = e.params.get("axis_name")
                found.update(a if isinstance(a, tuple) else (a,))
            for v in e.params.values():
                for q in (v if isinstance(v, tuple) else (v,)):
                    if isinstance(q, Program):
                        found |= _axis_names(q)
        names = prog._cache["axis_names"] = frozenset(found)
    return names


def _find_trace_of(*keys):
    """find_trace for a construct whose programs are the params `keys`: the vmap trace of an
    axis its programs' collectives name, when that trace is newer than the operands' (no
    operand is batched along it, yet the collectives must be resolved by that vmap)."""
    def find_trace(top, params):
        names = set()
        for k in keys:
            v = params[k]
            for q in (v if isinstance(v, tuple) else (v,)):
                names |= _axis_names(q)
        return newest_axis_trace(top, names) if names else top
    return find_trace


def _vjp_split(prog: Program, diff: tuple):
    """Split prog's VJP into fwd(inputs) -> residuals and bwd(residuals, cts of the float
    outputs) -> cotangents of the inputs with diff[i]. Returns (fwd, bwd, out_pos, idx) where
    the primal outputs are fwd's outputs at out_pos (or Literals there)."""
    key = ("vjp", diff)
    split = prog._cache.get(key)
    if split is None:
        n, m = len(prog.in_vars), len(prog.outs)
        idx = [i for i in range(n) if diff[i]]
        out_avals = prog.out_avals
        fl = _floats(out_avals)

        def h(*args):
            xs, cts = list(args[:n]), list(args[n:])
            outs, f_vjp = vjp(_fn_of(prog, xs, idx), *[xs[i] for i in idx])
            it = iter(cts)
            ct_full = [next(it) if j in fl else _zeros(a) for j, a in enumerate(out_avals)]
            return list(outs) + list(f_vjp(ct_full))

        lin = stage_flat(h, prog.in_avals + [out_avals[j] for j in fl])
        fwd, bwd = _split_known(lin, n)
        consts = dict(zip(lin.const_vars, lin.consts))
        # an output is a residual, a literal, or a constant of the program (kept as a literal)
        out_pos = [o if type(o) is Literal else Literal(consts[o]) if o in consts
                   else fwd.outs.index(o) for o in lin.outs[:m]]
        bwd = bwd.replace(outs=bwd.outs[m:])
        split = prog._cache[key] = (_finish(fwd), _finish(bwd), out_pos, idx)
    return split


def _primal_outs(res, out_pos):
    return [res[p] if isinstance(p, int) else p.value for p in out_pos]


# ---------------------------------------------------------------------------------------------
# cond / switch

cond_p = Primitive("cond", multiple_results=True)


def _cond_impl(index, *args, branches):
    b = _taken(index, branches)
    return _fix(_runner(b)(*args), b.out_avals)


def _cond_abstract(index, *avals, branches):
    return list(branches[0].out_avals)


def _taken(index, branches):
    return branches[min(max(int(index), 0), len(branches) - 1)]


def _as_outs(outs, avals):
    return [o if isinstance(o, (Tracer, np.ndarray)) else np.asarray(o, a.dtype)
            for o, a in zip(outs, avals)]


def _cond_jvp(primals, tangents, *, branches):
    index, ops, ts = primals[0], primals[1:], tangents[1:]
    nz = tuple(t is not None for t in ts)
    if not isinstance(index, Tracer):
        # a concrete index (eager): push the tangents through the taken branch only
        b = _taken(index, branches)
        idx = [i for i in range(len(ops)) if nz[i]]
        outs, touts = jvp(_fn_of(b, ops, idx), [ops[i] for i in idx], [ts[i] for i in idx])
        return (_as_outs(outs, b.out_avals),
                [t if _is_float(a) else None for t, a in zip(touts, b.out_avals)])
    jb = tuple(_jvp_program(b, nz) for b in branches)
    m = len(branches[0].outs)
    out = bind(cond_p, index, *ops, *[t for t in ts if t is not None], branches=jb)
    t_out = [None] * m
    for j, t in zip(_floats(branches[0].out_avals), out[m:]):
        t_out[j] = t
    return out[:m], t_out


def _cond_linearized(branches, diff):
    """Per-branch forward programs with a common residual list, and backward programs."""
    key = ("cond_vjp", diff, branches)
    cached = branches[0]._cache.get(key)
    if cached is not None:
        return cached
    splits = [_vjp_split(b, diff) for b in branches]
    res_avals = [fwd.out_avals for fwd, _, _, _ in splits]
    offsets = np.cumsum([0] + [len(r) for r in res_avals]).tolist()
    all_res = [a for r in res_avals for a in r]
    out_avals = branches[0].out_avals
    ct_avals = [out_avals[j] for j in _floats(out_avals)]
    fwds, bwds = [], []
    for i, (fwd, bwd, out_pos, _) in enumerate(splits):
        def f(*args, fwd=fwd, out_pos=out_pos, i=i):
            r = eval_program(fwd, args)
            res = []
            for j, avs in enumerate(res_avals):
                res.extend(r if j == i else [_zeros(a) for a in avs])
            return _primal_outs(r, out_pos) + res

        def g(*args, bwd=bwd, i=i):
            R = len(all_res)
            return eval_program(bwd, list(args[offsets[i]:offsets[i + 1]]) + list(args[R:]))

        fwds.append(_finish(stage_flat(f, branches[i].in_avals)))
        bwds.append(_finish(stage_flat(g, all_res + ct_avals)))
    cached = (tuple(fwds), tuple(bwds), splits[0][3])
    branches[0]._cache[key] = cached
    return cached


def _cond_reverse(vals, params):
    branches = params["branches"]
    index, ops = vals[0], vals[1:]
    in_avals = branches[0].in_avals
    diff = tuple(_is_float(a) for a in in_avals)
    if not isinstance(index, Tracer):
        # a concrete index (eager): differentiate the taken branch directly; its backward
        # pass still runs through bind, so outer transforms see it
        b = _taken(index, branches)
        idx = [i for i in range(len(ops)) if diff[i]]
        outs, f_vjp = vjp(_fn_of(b, ops, idx), *[ops[i] for i in idx])

        def backward_taken(cts):
            g = f_vjp([_zeros(a) if c is None else c for c, a in zip(cts, b.out_avals)])
            full = [None] * len(vals)
            for i, gi in zip(idx, g):
                full[1 + i] = gi
            return full

        return _as_outs(outs, b.out_avals), backward_taken
    fwds, bwds, idx = _cond_linearized(branches, diff)
    m = len(branches[0].outs)
    res = bind(cond_p, index, *ops, branches=fwds)
    outs, resid = res[:m], res[m:]
    out_avals = branches[0].out_avals

    def backward(cts):
        cts_f = [_zeros(out_avals[j]) if cts[j] is None else cts[j] for j in _floats(out_avals)]
        g = bind(cond_p, index, *resid, *cts_f, branches=bwds)
        full = [None] * len(vals)
        for i, gi in zip(idx, g):
            full[1 + i] = gi
        return full

    return outs, backward


def _bshape(p, ndim):
    """Reshape a batch-leading predicate (size,) to broadcast against rank-`ndim` values."""
    if ndim <= 1:
        return p
    return reshape_p(p, shape=(p.shape[0],) + (1,) * (ndim - 1))


def _cond_batch(vals, bdims, *, branches, axis_name=None):
    index, ops = vals[0], vals[1:]
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    ops = [v if b is None else moveaxis0(v, b) for v, b in zip(ops, bdims[1:])]
    axes = tuple(None if b is None else 0 for b in bdims[1:])
    bb = tuple(_vmap_program(b, axes, size, axis_name) for b in branches)
    m = len(branches[0].outs)
    if bdims[0] is None:
        return bind(cond_p, index, *ops, branches=bb), [0] * m
    # a batched index: run every branch, then choose per example
    n = len(branches)
    idx = moveaxis0(index, bdims[0])
    idx = max_p(min_p(idx, n - 1), 0)
    outs = [eval_program(b, ops) for b in bb]
    res = list(outs[0])
    for i in range(1, n):
        p = eq_p(idx, i)
        res = [select_p(_bshape(p, len(outs[i][j].shape)), outs[i][j], res[j])
               for j in range(m)]
    return res, [0] * m


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_abstract
cond_p.jvp = _cond_jvp
cond_p.reverse = _cond_reverse
cond_p.batch = _cond_batch
cond_p.traits = frozenset({"named_axes"})  # the batch rule sees the vmap's axis name
cond_p.find_trace = _find_trace_of("branches")


def _stage_branches(funs, ops_leaves, ops_tree, names, kind):
    in_avals = [get_aval(x) for x in ops_leaves]
    staged = [_stage_user(f, in_avals,
                          lambda fun, xs: fun(*tu.tree_unflatten(ops_tree, xs)),
                          f"{kind} branch {nm}") for f, nm in zip(funs, names)]
    prog0, _, tree0 = staged[0]
    for (prog, _, tree), nm in zip(staged[1:], names[1:]):
        if tree != tree0:
            raise TypeError(f"{kind}: {names[0]} and {nm} must return the same pytree "
                            f"structure, got {tree0} and {tree}")
        err = _type_mismatch(kind, names[0], nm, _paths(tree0), prog0.out_avals,
                             prog.out_avals)
        if err is not None:
            raise err
    union = _union([c for _, c, _ in staged])
    progs = tuple(_with_consts(p, c, union) for p, c, _ in staged)
    return progs, union, tree0


def _scalar_index(x, what):
    x = _as_leaf(x)
    if tuple(x.shape) != ():
        raise TypeError(f"{what} must be a scalar, got an array of shape {tuple(x.shape)}")
    return x


def cond(pred, true_fun: Callable, false_fun: Callable, *operands):
    """Apply true_fun(*operands) if pred else false_fun(*operands), as one staged operation
    (only the taken branch runs; under vmap with a batched pred both run and are selected).

    Args:
      pred: a scalar boolean (or integer: nonzero is true); may be traced.
      true_fun, false_fun: functions of the operands returning outputs of identical pytree
        structure, shapes and dtypes (they may close over outer values).
      *operands: pytrees passed to the branch.
    Returns:
      The taken branch's output.

    Example:
      >>> cond(1.5 > 0, lambda v: v * 2.0, lambda v: -v, np.ones(2))   # [2., 2.]
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun arguments should be callable")
    pred = _scalar_index(pred, "cond: pred")
    dt = pred.dtype
    if dt.kind in "iu":
        pred = ne_p(pred, 0)
    elif dt.kind != "b":
        raise TypeError(f"cond: pred must be a boolean (or integer) scalar, got dtype {dt.name}")
    index = convert_p(pred, dtype=np.dtype(np.int32))
    leaves, tree = tu.tree_flatten(operands)
    leaves = [_as_leaf(x) for x in leaves]
    progs, consts, out_tree = _stage_branches([true_fun, false_fun], leaves, tree,
                                              ["true_fun", "false_fun"], "cond")
    outs = bind(cond_p, index, *consts, *leaves, branches=progs[::-1])
    return tu.tree_unflatten(out_tree, outs)


def switch(index, branches: Sequence[Callable], *operands):
    """Apply branches[index](*operands), with index clamped to [0, len(branches) - 1].

    Args:
      index: a scalar integer (may be traced).
      branches: a sequence of functions of the operands with identical output types.
      *operands: pytrees passed to the chosen branch.
    Returns:
      The chosen branch's output.

    Example:
      >>> switch(2, [lambda v: v, lambda v: v + 1.0, lambda v: v * 10.0], 1.0)   # 10.0
    """
    branches = list(branches)
    if not branches:
        raise ValueError("switch: empty branch sequence")
    for b in branches:
        if not callable(b):
            raise TypeError(f"switch: branches must be callable, got {type(b).__name__}")
    index = _scalar_index(index, "switch: index")
    if index.dtype.kind not in "iu":
        raise TypeError(f"switch: index must be an integer scalar, got dtype "
                        f"{index.dtype.name}")
    if len(branches) == 1:
        return branches[0](*operands)
    index = max_p(min_p(index, len(branches) - 1), 0)
    leaves, tree = tu.tree_flatten(operands)
    leaves = [_as_leaf(x) for x in leaves]
    names = [f"branches[{i}]" for i in range(len(branches))]
    progs, consts, out_tree = _stage_branches(branches, leaves, tree, names, "switch")
    outs = bind(cond_p, index, *consts, *leaves, branches=progs)
    return tu.tree_unflatten(out_tree, outs)


# ---------------------------------------------------------------------------------------------
# scan

scan_p = Primitive("scan", multiple_results=True)


def _scan_impl(*args, body_program, length, reverse, num_consts, num_carry):
    nc, nk = num_consts, num_carry
    consts = list(args[:nc])
    carry = list(args[nc:nc + nk])
    xs = list(args[nc + nk:])
    out_avals = body_program.out_avals
    ys = _stacks([((length,) + a.shape, a.dtype) for a in out_avals[nk:]])
    if length:
        pre, kept, packed, program, through, computed = _scan_plan(body_program, nc, nk,
                                                                   length)
        if pre is not None:
            xs = [xs[j] for j in kept] + list(_runner(pre)(*consts, *xs))
        for j, flip in packed:
            c = np.transpose(consts[j]) if flip else consts[j]
            consts[j] = c if c.flags.c_contiguous else np.ascontiguousarray(c)
        fn = _runner(program, length)
        ys_through = [(ys[j], k) for j, k in through]
        ys_computed = [ys[j] for j in computed]
        for t in range(length):
            i = length - 1 - t if reverse else t
            ins = consts + carry + [x[i] for x in xs]
            out = fn(*ins)
            for y, k in ys_through:
                y[i] = ins[k]
            carry = out[:nk]
            for y, o in zip(ys_computed, out[nk:]):
                y[i] = o
    return _fix(carry, out_avals[:nk]) + ys


def _scan_plan(program: Program, nc: int, nk: int, length: int):
    """How `_scan_impl` runs a body of `length` iterations: (pre, kept, packed, body, through,
    computed). pre (or None) computes the body's per-iteration work that depends only on xs
    and consts for all iterations at once (see `_hoisted`; only for loops of more than
    _COMPILE_AFTER iterations, as batching it costs a trace): the loop's xs are then the kept
    ones followed by pre's outputs. packed: the consts to prepare (see `_packing`); body: the
    program the loop calls; through: [(y index, body input index)] of the ys that are body
    inputs (stacked from the inputs, not copied out by the body); computed: the indices of
    the ys the body returns. Cached on the program."""
    many = length > 1
    key = ("scan_plan", nc, nk, length if many else 1)
    plan = program._cache.get(key)
    if plan is not None:
        return plan
    pre, kept, body = _hoisted(program, nc, nk, length) if length > _COMPILE_AFTER else (
        None, None, program)
    packed, body = _packing(body, nc) if many else ((), body)
    pos = {v: k for k, v in enumerate(body.in_vars)}
    through, computed, outs = [], [], list(body.outs[:nk])
    for j, o in enumerate(body.outs[nk:]):
        if type(o) is not Literal and o in pos:
            through.append((j, pos[o]))
        else:
            computed.append(j)
            outs.append(o)
    if through:
        body = body.replace(outs=outs)
    plan = program._cache[key] = (pre, kept, packed, body, through, computed)
    return plan


_HOISTABLE = frozenset({"elementwise", "broadcast", "reshape", "transpose", "bilinear"})


def _hoisted(program: Program, nc: int, nk: int, length: int):
    """(pre, kept xs, loop body): the body's equations that read xs and otherwise only consts
    (and each other), when they include a contraction (x_t @ W_x in an RNN), move out of the
    loop into pre, the same equations batched over all iterations (one matrix product over
    every step instead of one small product per step); the loop body reads their per-step
    results as extra xs. Only elementwise operations, broadcasts, reshapes, transposes and
    contractions move (their batched forms compute each step's values as the step would),
    and only while the stacked results stay within 4 times the size of the body's per-step
    inputs. Returns (None, None, program) when nothing moves."""
    none = (None, None, program)
    ins = program.in_vars
    xs_vars = ins[nc + nk:]
    if not xs_vars:
        return none
    known = set(ins[:nc]) | set(xs_vars) | set(program.const_vars)
    per_step = set(xs_vars)
    hoisted, rest = [], []
    for e in program.eqns:
        vs = [a for a in e.inputs if type(a) is not Literal]
        if (e.prim.traits & _HOISTABLE and not e.prim.traits & {"effect", "callback"}
                and all(a in known for a in vs) and any(a in per_step for a in vs)):
            hoisted.append(e)
            known.update(e.outs)
            per_step.update(e.outs)
        else:
            rest.append(e)
    if not any("bilinear" in e.prim.traits for e in hoisted):
        return none
    live = live_vars(program.replace(eqns=rest), program.outs)
    crossing = [v for e in hoisted for v in e.outs if v in live]
    size = sum(v.aval.size for v in ins[nc:])
    if sum(v.aval.size for v in crossing) > 4 * max(size, 1):
        return none
    kept = [j for j, v in enumerate(xs_vars) if v in live]
    pre = Program(program.const_vars, program.consts, list(ins[:nc]) + list(xs_vars),
                  hoisted, crossing)
    pre = _vmap_program(pre, (None,) * nc + (0,) * len(xs_vars), length)
    body = program.replace(in_vars=list(ins[:nc + nk]) + [xs_vars[j] for j in kept] + crossing,
                           eqns=rest)
    return pre, kept, body


def _matrix_use(eqn, j):
    """None when operand j of the equation is not a matrix in a 2-D product; else whether
    the product hands it to BLAS transposed (x.T @ y, x @ y.T: slower kernels than x @ y for
    small products)."""
    if eqn.prim is not dot_general_p or eqn.inputs[j].aval.ndim != 2:
        return None
    (lc, rc), (lb, _) = eqn.params["dims"]
    if lb or len(lc) != 1 or eqn.inputs[1 - j].aval.ndim > 2:
        return None
    return (lc if j == 0 else rc)[0] == (0 if j == 0 else 1)


def _packing(program: Program, nc: int):
    """How a loop prepares its loop-invariant matrices: ([(const index, flip)], body). A
    matrix const that the body only multiplies (2-D products) is handed to the body
    C-contiguous, copied once before the loop if it is not (BLAS then runs its fastest kernel
    on it, and a strided operand is not copied at every iteration); one that the body only
    multiplies transposed is also transposed once (flip), and the body reads it untransposed.
    The products are the same; the body is cached on the program."""
    cached = program._cache.get("packing")
    if cached is not None:
        return cached
    uses = {}
    for e in program.eqns:
        for j, a in enumerate(e.inputs):
            if type(a) is not Literal:
                uses.setdefault(a, []).append(_matrix_use(e, j))
    outs = {o for o in program.outs if type(o) is not Literal}
    packed, new = [], {}
    for i, v in enumerate(program.in_vars[:nc]):
        us = uses.get(v)
        if not us or v in outs or None in us:
            continue
        flip = all(us)
        packed.append((i, flip))
        if flip:
            new[v] = Var(ShapedArray(v.aval.shape[::-1], v.aval.dtype))
    eqns = []
    for e in program.eqns:
        if any(type(a) is not Literal and a in new for a in e.inputs):
            (lc, rc), batch = e.params["dims"]
            ins = list(e.inputs)
            if type(ins[0]) is not Literal and ins[0] in new:
                ins[0], lc = new[ins[0]], (1 - lc[0],)
            if type(ins[1]) is not Literal and ins[1] in new:
                ins[1], rc = new[ins[1]], (1 - rc[0],)
            e = Eqn(e.prim, ins, dict(e.params, dims=((lc, rc), batch)), e.outs)
        eqns.append(e)
    body = program.replace(in_vars=[new.get(v, v) for v in program.in_vars], eqns=eqns) \
        if new else program
    cached = program._cache["packing"] = (tuple(packed), body)
    return cached


def _stacks(specs):
    """Uninitialized arrays of the given (shape, dtype)s, carved out of one allocation: a
    scan's ys (for reverse mode, its residual stacks) are large, and allocating them one by
    one lets malloc hand each call fresh pages from the system (page faults that can cost
    more than the loop itself)."""
    if len(specs) < 2:
        return [np.empty(shape, dt) for shape, dt in specs]
    offsets, total = [], 0
    for shape, dt in specs:
        offsets.append(total)
        total += -(-math.prod(shape) * np.dtype(dt).itemsize // 64) * 64
    buf = np.empty(total, np.uint8)
    return [buf[o:o + math.prod(shape) * np.dtype(dt).itemsize].view(dt).reshape(shape)
            for o, (shape, dt) in zip(offsets, specs)]


def _scan_abstract(*avals, body_program, length, reverse, num_consts, num_carry):
    program = body_program
    out = program.out_avals
    return list(out[:num_carry]) + [ShapedArray((length,) + a.shape, a.dtype)
                                    for a in out[num_carry:]]


def _perm(prog, in_order, out_order, key):
    p = prog._cache.get(key)
    if p is None:
        p = prog._cache[key] = prog.replace(in_vars=[prog.in_vars[i] for i in in_order],
                                            outs=[prog.outs[j] for j in out_order])
    return p


def _scan_jvp(primals, tangents, *, body_program, length, reverse, num_consts, num_carry):
    program = body_program
    nc, nk = num_consts, num_carry
    n = len(primals)
    in_avals = program.in_avals
    carry_f = [i for i in range(nc, nc + nk) if _is_float(in_avals[i])]
    nz = tuple((tangents[i] is not None) if not (nc <= i < nc + nk) else _is_float(in_avals[i])
               for i in range(n))
    jp = _jvp_program(program, nz)
    # reorder to (consts, t_consts, carry, t_carry, xs, t_xs) -> (carry, t_carry, ys, t_ys)
    groups = [range(0, nc), range(nc, nc + nk), range(nc + nk, n)]
    tpos = {}
    k = n
    for i in range(n):
        if nz[i]:
            tpos[i] = k
            k += 1
    in_order = []
    for g in groups:
        in_order += list(g) + [tpos[i] for i in g if nz[i]]
    m = len(program.outs)
    fl = _floats(program.out_avals)
    tout = {j: m + q for q, j in enumerate(fl)}
    out_order = (list(range(nk)) + [tout[j] for j in range(nk) if j in tout]
                 + list(range(nk, m)) + [tout[j] for j in range(nk, m) if j in tout])
    body = _perm(jp, in_order, out_order, ("scan_jvp", nz))
    args = []
    for g in groups:
        args += [primals[i] for i in g]
        for i in g:
            if nz[i]:
                t = tangents[i]
                args.append(_zeros(in_avals[i]) if t is None else t)
    nct = sum(nz[i] for i in range(nc))
    out = bind(scan_p, *args, body_program=body, length=length, reverse=reverse,
               num_consts=nc + nct, num_carry=nk + len(carry_f))
    nkf = len(carry_f)
    carry, t_carry = out[:nk], out[nk:nk + nkf]
    rest = out[nk + nkf:]
    ny = m - nk
    ys, t_ys = rest[:ny], rest[ny:]
    it_c, it_y = iter(t_carry), iter(t_ys)
    t_out = [next(it_c) if j in tout else None for j in range(nk)] + \
            [next(it_y) if j in tout else None for j in range(nk, m)]
    return list(carry) + list(ys), t_out


def _scan_batch(vals, bdims, *, body_program, length, reverse, num_consts, num_carry,
                axis_name=None):
    program = body_program
    nc, nk = num_consts, num_carry
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    new, axes = [], []
    for i, (v, b) in enumerate(zip(vals, bdims)):
        if nc <= i < nc + nk:                      # carries: always batched, at 0
            new.append(move_to(v, b, 0, size))
            axes.append(0)
        elif i < nc:                               # consts: batch at 0
            new.append(v if b is None else moveaxis0(v, b))
            axes.append(None if b is None else 0)
        else:                                      # xs: batch at 1 (0 is the scanned axis)
            new.append(v if b is None else move_to(v, b, 1, size))
            axes.append(None if b is None else 0)
    body = _vmap_program(program, tuple(axes), size, axis_name)
    out = bind(scan_p, *new, body_program=body, length=length, reverse=reverse, num_consts=nc,
               num_carry=nk)
    return out, [0] * nk + [1] * (len(program.outs) - nk)


def _scan_linearized(program, diff, nc, nk):
    """(fwd_body, inv_program, bwd_body, idx, sources) for the reverse rule of scan (see the
    module docstring): fwd_body(consts, carry, x) -> (carry, y, per-iteration residuals);
    inv_program(consts) -> loop-invariant residuals; bwd_body(invariant residuals,
    [const-ct accumulators, carry cts], [residuals, y cts]) -> ([accumulators, carry cts],
    x cts); idx lists the differentiated inputs, sources where each residual stack is."""
    key = ("scan_vjp", diff, nc, nk)
    cached = program._cache.get(key)
    if cached is not None:
        return cached
    fwd, bwd, out_pos, idx = _vjp_split(program, diff)
    R = fwd.outs
    inv = set(fwd.in_vars[:nc]) | set(fwd.const_vars)
    inv_eqns = []
    for e in fwd.eqns:
        if "effect" not in e.prim.traits and all(type(a) is Literal or a in inv
                                                 for a in e.inputs):
            inv.update(e.outs)
            inv_eqns.append(e)
    inv_pos = [i for i, r in enumerate(R) if r in inv]
    var_pos = [i for i, r in enumerate(R) if r not in inv]
    inv_prog = optimize(Program(fwd.const_vars, fwd.consts, fwd.in_vars[:nc], inv_eqns,
                                [R[i] for i in inv_pos]))
    primal = [R[p] if isinstance(p, int) else p for p in out_pos]
    # where each per-iteration residual's stack comes from: an x (xs itself), a y (the stacked
    # ys), or a new output of the forward scan
    xs_vars = {v: j for j, v in enumerate(fwd.in_vars[nc + nk:])}
    y_pos = {p: j for j, p in enumerate(out_pos[nk:]) if isinstance(p, int)}
    sources, stacked = [], []
    for i in var_pos:
        if R[i] in xs_vars:
            sources.append(("x", xs_vars[R[i]]))
        elif i in y_pos:
            sources.append(("y", y_pos[i]))
        else:
            sources.append(("r", len(stacked)))
            stacked.append(R[i])
    fwd_body = optimize(fwd.replace(outs=primal + stacked))

    in_avals, out_avals = program.in_avals, program.out_avals
    d_consts = [i for i in idx if i < nc]
    d_carry = [i for i in idx if nc <= i < nc + nk]
    fl = _floats(out_avals)
    ct_carry_avals = [out_avals[j] for j in fl if j < nk]
    ct_y_avals = [out_avals[j] for j in fl if j >= nk]
    ni, nv, ndc, nkf = len(inv_pos), len(var_pos), len(d_consts), len(ct_carry_avals)

    def g(*a):
        inv_v = a[:ni]
        acc = a[ni:ni + ndc]
        ctc = a[ni + ndc:ni + ndc + nkf]
        var_v = a[ni + ndc + nkf:ni + ndc + nkf + nv]
        cty = a[ni + ndc + nkf + nv:]
        res = [None] * len(R)
        for i, v in zip(inv_pos, inv_v):
            res[i] = v
        for i, v in zip(var_pos, var_v):
            res[i] = v
        grads = eval_program(bwd, res + list(ctc) + list(cty))
        g_c = grads[:ndc]
        return ([x + y for x, y in zip(acc, g_c)] + list(grads[ndc:ndc + len(d_carry)])
                + list(grads[ndc + len(d_carry):]))

    g_avals = ([R[i].aval for i in inv_pos] + [in_avals[i] for i in d_consts] + ct_carry_avals
               + [R[i].aval for i in var_pos] + ct_y_avals)
    bwd_body = _finish(stage_flat(g, g_avals))
    cached = (fwd_body, inv_prog, bwd_body, idx, sources)
    program._cache[key] = cached
    return cached


def _scan_reverse(vals, params):
    program, length, reverse = params["body_program"], params["length"], params["reverse"]
    nc, nk = params["num_consts"], params["num_carry"]
    in_avals, out_avals = program.in_avals, program.out_avals
    diff = tuple(_is_float(a) for a in in_avals)
    fwd_body, inv_prog, bwd_body, idx, sources = _scan_linearized(program, diff, nc, nk)
    m = len(program.outs)
    out = bind(scan_p, *vals, body_program=fwd_body, length=length, reverse=reverse,
               num_consts=nc, num_carry=nk)
    prim_out, stacked = out[:m], out[m:]
    from_src = {"x": vals[nc + nk:], "y": prim_out[nk:], "r": stacked}
    res = [from_src[kind][j] for kind, j in sources]
    inv = eval_program(inv_prog, vals[:nc])
    d_consts = [i for i in idx if i < nc]
    fl = _floats(out_avals)
    full_avals = _scan_abstract(body_program=program, length=length, reverse=reverse,
                                num_consts=nc, num_carry=nk)

    def backward(cts):
        cts = [_zeros(a) if c is None else c for c, a in zip(cts, full_avals)]
        acc0 = [_zeros(in_avals[i]) for i in d_consts]
        ctc = [cts[j] for j in fl if j < nk]
        cty = [cts[j] for j in fl if j >= nk]
        g = bind(scan_p, *inv, *acc0, *ctc, *res, *cty, body_program=bwd_body, length=length,
                 reverse=not reverse, num_consts=len(inv), num_carry=len(acc0) + len(ctc))
        full = [None] * len(vals)
        for i, gi in zip(idx, g):
            full[i] = gi
        return full

    return prim_out, backward


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_abstract
scan_p.jvp = _scan_jvp
scan_p.reverse = _scan_reverse
scan_p.batch = _scan_batch
scan_p.traits = frozenset({"named_axes"})
scan_p.find_trace = _find_trace_of("body_program")


def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1):
    """Loop f over the leading axis of xs, carrying a state: like

        def scan(f, init, xs):
            carry, ys = init, []
            for x in xs:
                carry, y = f(carry, x)
                ys.append(y)
            return carry, stack(ys)

    as one staged operation (differentiable in both modes, batchable).

    Args:
      f: (carry, x) -> (carry, y); the output carry must have the input carry's pytree
        structure, shapes and dtypes.
      init: the initial carry (pytree).
      xs: a pytree of arrays sharing a leading axis, or None (then `length` is required and f
        receives x=None).
      length: the number of iterations (checked against xs).
      reverse: scan from the end of xs to its start (ys keep xs's order).
      unroll: accepted for JAX compatibility; it does not change the result.
    Returns:
      (final carry, ys stacked along a new leading axis).

    Example:
      >>> scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0))   # (6.0, [0., 0., 2., 9.])
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}")
    if isinstance(unroll, bool):
        unroll = 1
    if not isinstance(unroll, (int, np.integer)) or unroll < 1:
        raise ValueError(f"scan: unroll must be a positive integer or a bool, got {unroll!r}")
    xs_leaves, xs_tree = tu.tree_flatten(xs)
    xs_leaves = [_as_leaf(x) for x in xs_leaves]
    for x in xs_leaves:
        if not tuple(x.shape):
            raise ValueError(f"scan got a value with no leading axis to scan over: an array "
                             f"of shape {tuple(x.shape)} in xs")
    lengths = {int(x.shape[0]) for x in xs_leaves}
    if length is not None:
        try:
            length = operator.index(length)
        except TypeError:
            raise TypeError(f"scan: length must be a concrete integer, got "
                            f"{type(length).__name__}") from None
        if length < 0:
            raise ValueError(f"scan: length must be non-negative, got {length}")
        if lengths and lengths != {length}:
            raise ValueError(f"scan got `length` argument of {length} which disagrees with the "
                             f"leading axis sizes {sorted(lengths)} of xs")
    elif not xs_leaves:
        raise ValueError("scan got no values to scan over and `length` not provided")
    elif len(lengths) > 1:
        raise ValueError(f"scan got values with different leading axis sizes: "
                         f"{', '.join(str(int(x.shape[0])) for x in xs_leaves)}")
    else:
        length = lengths.pop()
    init_leaves, init_tree = tu.tree_flatten(init)
    init_leaves = [_as_leaf(x) for x in init_leaves]
    nk = len(init_leaves)
    carry_avals = [get_aval(x) for x in init_leaves]
    x_avals = [ShapedArray(tuple(x.shape)[1:], x.dtype) for x in xs_leaves]

    def call(fun, flat):
        out = fun(tu.tree_unflatten(init_tree, flat[:nk]),
                  tu.tree_unflatten(xs_tree, flat[nk:]))
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"scan body output must be a pair (carry, y), got "
                            f"{type(out).__name__}"
                            + (f" of length {len(out)}" if isinstance(out, (tuple, list))
                               else ""))
        c_tree = tu.tree_structure(out[0])
        if c_tree != init_tree:
            raise TypeError(f"scan body function carry input and carry output must have the "
                            f"same pytree structure, but they differ: the input carry is "
                            f"{init_tree} and the output carry is {c_tree}")
        return out[0], out[1]

    prog, consts, out_tree = _stage_user(f, carry_avals + x_avals, call, "scan body")
    err = _carry_mismatch("scan", init_tree, carry_avals, prog.out_avals[:nk])
    if err is not None:
        raise err
    y_tree = tu.tree_structure(tu.tree_unflatten(out_tree, list(range(out_tree.num_leaves)))[1])
    outs = bind(scan_p, *consts, *init_leaves, *xs_leaves, body_program=prog, length=length,
                reverse=bool(reverse), num_consts=len(consts), num_carry=nk)
    return (tu.tree_unflatten(init_tree, outs[:nk]), tu.tree_unflatten(y_tree, outs[nk:]))


def _carry_mismatch(kind, tree, in_avals, out_avals):
    for p, a, b in zip(_paths(tree), in_avals, out_avals):
        if a != b:
            why = "shapes" if a.shape != b.shape else "dtypes"
            return TypeError(f"{kind}: the body function's carry input and carry output must "
                             f"have equal types, but the input carry component "
                             f"carry{p} has type {a.str_short()} while the output carry "
                             f"component has type {b.str_short()} (the {why} differ)")
    return None


def map(f: Callable, xs, *, batch_size: int | None = None):
    """Apply f to every slice of xs along its leading axis and stack the results (a scan).

    Args:
      f: a function of one slice (pytree) of xs.
      xs: a pytree of arrays sharing a leading axis.
      batch_size: as JAX's: when given, the scan runs over chunks of `batch_size` slices,
        applying ``vmap(f)`` to each chunk; a remainder of fewer slices gets one more
        ``vmap(f)``, concatenated at the end. 0 means one ``vmap(f)`` over all of xs.
    Returns:
      f's outputs stacked along a new leading axis.

    Example:
      >>> map(lambda x: x * 2.0, np.arange(3.0))   # [0., 2., 4.]
      >>> map(lambda x: x * 2.0, np.arange(5.0), batch_size=2)   # two chunks, one left over
    """
    if batch_size is None:
        _, ys = scan(lambda _, x: ((), f(x)), (), xs)
        return ys
    try:
        batch_size = operator.index(batch_size)
    except TypeError:
        raise TypeError(f"map: batch_size must be an integer, got "
                        f"{type(batch_size).__name__}") from None
    if batch_size < 0:
        raise ValueError(f"map: batch_size must be non-negative, got {batch_size}")
    leaves, tree = tu.tree_flatten(xs)
    leaves = [_as_leaf(x) for x in leaves]
    if not leaves:
        return map(f, xs)
    for x in leaves:
        if not tuple(x.shape):
            raise ValueError(f"map got a value with no leading axis to map over: an array of "
                             f"shape {tuple(x.shape)} in xs")
    n = int(leaves[0].shape[0])
    if any(int(x.shape[0]) != n for x in leaves):
        raise ValueError(f"map got values with different leading axis sizes: "
                         f"{', '.join(str(int(x.shape[0])) for x in leaves)}")
    nb, rem = divmod(n, batch_size) if batch_size else (0, n)
    vf = vmap(f)
    parts = []
    if nb:
        chunks = [reshape_p(x[:nb * batch_size], shape=(nb, batch_size) + tuple(x.shape[1:]))
                  for x in leaves]
        _, ys = scan(lambda _, x: ((), vf(x)), (), tu.tree_unflatten(tree, chunks))
        parts.append(tu.tree_map(
            lambda y: reshape_p(y, shape=(nb * batch_size,) + tuple(y.shape[2:])), ys))
    if rem:
        parts.append(vf(tu.tree_unflatten(tree, [x[nb * batch_size:] for x in leaves])))
    if len(parts) == 1:
        return parts[0]
    return tu.tree_map(lambda a, b: concatenate_p(a, b, axis=0), *parts)


# ---------------------------------------------------------------------------------------------
# while_loop

while_p = Primitive("while", multiple_results=True)


def _while_impl(*args, cond_program, body_program, cond_nconsts, body_nconsts):
    ncc, nbc = cond_nconsts, body_nconsts
    cc = args[:ncc]
    bc = args[ncc:ncc + nbc]
    carry = list(args[ncc + nbc:])
    avals = body_program.out_avals
    while _runner(cond_program)(*cc, *carry)[0]:
        carry = _runner(body_program)(*bc, *carry)
    return _fix(carry, avals)


def _while_abstract(*avals, cond_program, body_program, cond_nconsts, body_nconsts):
    return list(body_program.out_avals)


def _while_jvp(primals, tangents, *, cond_program, body_program, cond_nconsts, body_nconsts):
    ncc, nbc = cond_nconsts, body_nconsts
    n = len(primals)
    nk = n - ncc - nbc
    b_avals = body_program.in_avals
    nz = tuple((tangents[ncc + i] is not None) if i < nbc else _is_float(b_avals[i])
               for i in range(nbc + nk))
    jp = _jvp_program(body_program, nz)
    # inputs (bc, carry, t_bc, t_carry) -> (bc, t_bc, carry, t_carry); outputs already
    # (carry, t_carry)
    nbt = sum(nz[:nbc])
    nkf = sum(nz[nbc:])
    base = nbc + nk
    in_order = (list(range(nbc)) + list(range(base, base + nbt)) + list(range(nbc, base))
                + list(range(base + nbt, base + nbt + nkf)))
    body = _perm(jp, in_order, list(range(len(jp.outs))), ("while_jvp", nz))
    key = ("while_jvp_cond", nz, cond_program)
    cnd = body_program._cache.get(key)
    if cnd is None:       # the cond ignores the tangent carries
        cnd = body_program._cache[key] = cond_program.replace(
            in_vars=cond_program.in_vars + [Var(b_avals[nbc + j]) for j in range(nk)
                                            if nz[nbc + j]])
    cc, bc, init = primals[:ncc], primals[ncc:ncc + nbc], primals[ncc + nbc:]
    t_bc = [tangents[ncc + i] for i in range(nbc) if nz[i]]
    t_init = [_zeros(b_avals[nbc + j]) if tangents[ncc + nbc + j] is None
              else tangents[ncc + nbc + j] for j in range(nk) if nz[nbc + j]]
    out = bind(while_p, *cc, *bc, *t_bc, *init, *t_init, cond_program=cnd,
               body_program=body, cond_nconsts=ncc, body_nconsts=nbc + nbt)
    it = iter(out[nk:])
    return out[:nk], [next(it) if nz[nbc + j] else None for j in range(nk)]


def _while_batched_programs(cond_program, body_program, ncc, nbc, cc_axes, bc_axes, size,
                            axis_name):
    key = ("while_batch", cond_program, cc_axes, bc_axes, size, axis_name)
    cached = body_program._cache.get(key)
    if cached is not None:
        return cached
    nk = len(body_program.outs)
    cb = _vmap_program(cond_program, cc_axes + (0,) * nk, size, axis_name)
    bb = _vmap_program(body_program, bc_axes + (0,) * nk, size, axis_name)

    def new_cond(*a):
        p = eval_program(cb, a)[0]
        return [reduce_or_p(p, axes=(0,))]

    def new_body(*a):
        cc, bc, carry = a[:ncc], a[ncc:ncc + nbc], list(a[ncc + nbc:])
        p = eval_program(cb, list(cc) + carry)[0]
        new = eval_program(bb, list(bc) + carry)
        return [select_p(_bshape(p, len(n_.shape)), n_, o) for n_, o in zip(new, carry)]

    k_avals = bb.in_avals[nbc:]
    cached = (_finish(stage_flat(new_cond, cb.in_avals)),
              _finish(stage_flat(new_body, cb.in_avals[:ncc] + bb.in_avals[:nbc] + k_avals)))
    body_program._cache[key] = cached
    return cached


def _while_batch(vals, bdims, *, cond_program, body_program, cond_nconsts, body_nconsts,
                 axis_name=None):
    ncc, nbc = cond_nconsts, body_nconsts
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    consts = [v if b is None else moveaxis0(v, b)
              for v, b in zip(vals[:ncc + nbc], bdims[:ncc + nbc])]
    axes = tuple(None if b is None else 0 for b in bdims[:ncc + nbc])
    carry = [move_to(v, b, 0, size) for v, b in zip(vals[ncc + nbc:], bdims[ncc + nbc:])]
    c_prog, b_prog = _while_batched_programs(cond_program, body_program, ncc, nbc,
                                             axes[:ncc], axes[ncc:], size, axis_name)
    cc, bc = consts[:ncc], consts[ncc:]
    out = bind(while_p, *cc, *cc, *bc, *carry, cond_program=c_prog, body_program=b_prog,
               cond_nconsts=ncc, body_nconsts=ncc + nbc)
    return out, [0] * len(carry)


def _count_programs(cond_program, body_program, ncc, nbc):
    """A loop like the given one that also counts its iterations (a leading int carry)."""
    key = ("while_count", cond_program)
    cached = body_program._cache.get(key)
    if cached is not None:
        return cached
    cin = cond_program.in_vars
    c = cond_program.replace(in_vars=cin[:ncc] + [Var(_INT)] + cin[ncc:])

    def body(*a):
        i = a[nbc]
        return [bind(add_p, i, np.int64(1))] + eval_program(body_program,
                                                            list(a[:nbc]) + list(a[nbc + 1:]))

    b_avals = body_program.in_avals
    cached = (c, _finish(stage_flat(body, b_avals[:nbc] + [_INT] + b_avals[nbc:])))
    body_program._cache[key] = cached
    return cached


def _recompute_programs(body_program, nbc):
    """Backward loop for a traced trip count: carry (k, acc of body-const cts, carry cts);
    each step recomputes the k-th carry from the initial one and pulls the cotangent back
    through one body application."""
    key = ("while_recompute",)
    cached = body_program._cache.get(key)
    if cached is not None:
        return cached
    b_avals = body_program.in_avals
    nk = len(b_avals) - nbc
    d_bc = [i for i in range(nbc) if _is_float(b_avals[i])]
    fk = [j for j in range(nk) if _is_float(b_avals[nbc + j])]
    acc_avals = [b_avals[i] for i in d_bc]
    ct_avals = [b_avals[nbc + j] for j in fk]

    def rcond(k, *rest):
        return [bind(ge_p, k, np.int64(0))]

    def rbody(*a):
        bc, init = list(a[:nbc]), list(a[nbc:nbc + nk])
        k = a[nbc + nk]
        acc = a[nbc + nk + 1:nbc + nk + 1 + len(d_bc)]
        ctc = a[nbc + nk + 1 + len(d_bc):]
        _, ck = while_loop(lambda s: s[0] < k,
                           lambda s: (s[0] + 1, eval_program(body_program, bc + list(s[1]))),
                           (np.zeros((), np.int64), init))

        def f(*d):
            full_bc, full_c = list(bc), list(ck)
            for i, v in zip(d_bc, d[:len(d_bc)]):
                full_bc[i] = v
            for j, v in zip(fk, d[len(d_bc):]):
                full_c[j] = v
            return eval_program(body_program, full_bc + full_c)

        _, f_vjp = vjp(f, *[bc[i] for i in d_bc], *[ck[j] for j in fk])
        it = iter(ctc)
        g = f_vjp([next(it) if j in fk else _zeros(b_avals[nbc + j]) for j in range(nk)])
        return ([k - 1] + [x + y for x, y in zip(acc, g[:len(d_bc)])]
                + list(g[len(d_bc):]))

    cached = (_finish(stage_flat(rcond, [_INT] + acc_avals + ct_avals)),
              _finish(stage_flat(rbody, b_avals + [_INT] + acc_avals + ct_avals)),
              d_bc, fk)
    body_program._cache[key] = cached
    return cached


def _while_reverse(vals, params):
    cond_program, body_program = params["cond_program"], params["body_program"]
    ncc, nbc = params["cond_nconsts"], params["body_nconsts"]
    cc, bc, init = vals[:ncc], list(vals[ncc:ncc + nbc]), list(vals[ncc + nbc:])
    nk = len(init)
    b_avals = body_program.in_avals
    if not any(_is_float(a) for a in b_avals):
        return bind(while_p, *vals, **params), lambda cts: [None] * len(vals)
    cnt_cond, cnt_body = _count_programs(cond_program, body_program, ncc, nbc)
    sg = [bind(stop_gradient_p, v) if _is_float(get_aval(v)) else v for v in vals]
    r = bind(while_p, *sg[:ncc + nbc], np.zeros((), np.int64), *sg[ncc + nbc:],
             cond_program=cnt_cond, body_program=cnt_body, cond_nconsts=ncc,
             body_nconsts=nbc)
    n = r[0]
    try:
        n_concrete = int(n)
    except ConcretizationError:
        n_concrete = None
    if n_concrete is not None:
        # a known trip count: the loop is a scan of the body; use scan's reverse rule
        out, bwd = _scan_reverse(bc + init, dict(body_program=body_program, length=n_concrete,
                                                 reverse=False, num_consts=nbc,
                                                 num_carry=nk))

        def backward(cts):
            return [None] * ncc + list(bwd(cts))

        return out, backward
    out = bind(while_p, *vals, **params)
    rcond, rbody, d_bc, fk = _recompute_programs(body_program, nbc)

    def backward_traced(cts):
        acc0 = [_zeros(b_avals[i]) for i in d_bc]
        ctc = [_zeros(b_avals[nbc + j]) if cts[j] is None else cts[j] for j in fk]
        g = bind(while_p, *bc, *init, n - 1, *acc0, *ctc, cond_program=rcond,
                 body_program=rbody, cond_nconsts=0, body_nconsts=nbc + nk)
        full = [None] * len(vals)
        for i, gi in zip(d_bc, g[1:1 + len(d_bc)]):
            full[ncc + i] = gi
        for j, gj in zip(fk, g[1 + len(d_bc):]):
            full[ncc + nbc + j] = gj
        return full

    return out, backward_traced


while_p.impl = _while_impl
while_p.abstract_eval = _while_abstract
while_p.jvp = _while_jvp
while_p.reverse = _while_reverse
while_p.batch = _while_batch
while_p.traits = frozenset({"named_axes"})
while_p.find_trace = _find_trace_of("cond_program", "body_program")


# ---------------------------------------------------------------------------------------------
# dead-code elimination rules (read by compiler.passes.dce): an equation is replaced by one
# that computes only the outputs in use, from the inputs they need


def _live_carries(body: Program, nc: int, live_k: list, live_y: list, seed=()):
    """Fixpoint of carry liveness: a carry lives when its output is used, when `seed` (the
    variables some other program of the loop reads) holds its input, or when a live output
    of the body reads its input. Returns (live carries, live variables of the body)."""
    nk = len(live_k)
    live_k = list(live_k)
    while True:
        need = [o for o, u in zip(body.outs, live_k + list(live_y)) if u]
        live = live_vars(body, need)
        grow = [j for j in range(nk) if not live_k[j] and (body.in_vars[nc + j] in live
                                                           or j in seed)]
        if not grow:
            return live_k, live, need
        for j in grow:
            live_k[j] = True


def _pruned(prog: Program, keep_in: list, outs: list) -> Program:
    return dce(prog.replace(in_vars=[prog.in_vars[i] for i in keep_in], outs=outs))


def _scan_dce(eqn, used):
    """scan without its unused ys, the carries that nothing used needs, and the consts and
    xs its body no longer reads."""
    p = eqn.params
    body, nc, nk = p["body_program"], p["num_consts"], p["num_carry"]
    live_k, live, need = _live_carries(body, nc, used[:nk], used[nk:])
    keep = [i for i, v in enumerate(body.in_vars)
            if (live_k[i - nc] if nc <= i < nc + nk else v in live)]
    live_out = live_k + list(used[nk:])
    if len(keep) == len(body.in_vars) and all(live_out):
        return eqn
    params = dict(p, body_program=_pruned(body, keep, need),
                  num_consts=sum(1 for i in keep if i < nc), num_carry=sum(live_k))
    return Eqn(eqn.prim, [eqn.inputs[i] for i in keep], params,
               [v for v, u in zip(eqn.outs, live_out) if u])


def _cond_dce(eqn, used):
    """cond without its unused outputs (in every branch) and the operands no branch reads."""
    branches = eqn.params["branches"]
    needs = [[o for o, u in zip(b.outs, used) if u] for b in branches]
    lives = [live_vars(b, nd) for b, nd in zip(branches, needs)]
    n = len(branches[0].in_vars)
    keep = [i for i in range(n) if any(b.in_vars[i] in lv for b, lv in zip(branches, lives))]
    if len(keep) == n and all(used):
        return eqn
    new = tuple(_pruned(b, keep, nd) for b, nd in zip(branches, needs))
    return Eqn(eqn.prim, [eqn.inputs[0]] + [eqn.inputs[1 + i] for i in keep],
               dict(eqn.params, branches=new), [v for v, u in zip(eqn.outs, used) if u])


def _while_dce(eqn, used):
    """while_loop without the carries that neither the predicate nor a used output needs,
    and the consts no longer read."""
    p = eqn.params
    cp, bp = p["cond_program"], p["body_program"]
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    nk = len(eqn.outs)
    cond_live = live_vars(cp, cp.outs)
    seed = {j for j in range(nk) if cp.in_vars[ncc + j] in cond_live}
    live_k, live, need = _live_carries(bp, nbc, list(used), [], seed)
    keep_c = [i for i in range(ncc) if cp.in_vars[i] in cond_live]
    keep_b = [i for i in range(nbc) if bp.in_vars[i] in live]
    carries = [j for j in range(nk) if live_k[j]]
    if len(keep_c) == ncc and len(keep_b) == nbc and len(carries) == nk:
        return eqn
    params = dict(p, cond_program=_pruned(cp, keep_c + [ncc + j for j in carries], cp.outs),
                  body_program=_pruned(bp, keep_b + [nbc + j for j in carries], need),
                  cond_nconsts=len(keep_c), body_nconsts=len(keep_b))
    ins = eqn.inputs
    return Eqn(eqn.prim, [ins[i] for i in keep_c] + [ins[ncc + i] for i in keep_b]
               + [ins[ncc + nbc + j] for j in carries], params, [eqn.outs[j] for j in carries])


scan_p.dce_rule = _scan_dce
cond_p.dce_rule = _cond_dce
while_p.dce_rule = _while_dce


def while_loop(cond_fun: Callable, body_fun: Callable, init_val):
    """Repeat val = body_fun(val) while cond_fun(val), as one staged operation:

        val = init_val
        while cond_fun(val):
            val = body_fun(val)
        return val

    Args:
      cond_fun: val -> scalar boolean.
      body_fun: val -> val, keeping the pytree structure, shapes and dtypes of val.
      init_val: the initial value (pytree).
    Returns:
      The final value. Differentiable in forward and reverse mode (reverse mode stores one
      carry per iteration; under jit or vmap it recomputes them, see the module docstring).

    Example:
      >>> while_loop(lambda v: v < 10, lambda v: v * 2, 1)   # 16
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("while_loop: cond_fun and body_fun arguments should be callable")
    leaves, tree = tu.tree_flatten(init_val)
    leaves = [_as_leaf(x) for x in leaves]
    avals = [get_aval(x) for x in leaves]

    def call(fun, xs):
        return fun(tu.tree_unflatten(tree, xs))

    c_prog, c_consts, c_tree = _stage_user(cond_fun, avals, call, "while_loop cond_fun")
    if c_tree.num_leaves != 1 or c_prog.out_avals[0] != ShapedArray((), np.bool_):
        got = ", ".join(a.str_short() for a in c_prog.out_avals) or "nothing"
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, but got output "
                        f"type(s) {got}")
    b_prog, b_consts, b_tree = _stage_user(body_fun, avals, call, "while_loop body_fun")
    if b_tree != tree:
        raise TypeError(f"while_loop: body_fun output and input must have the same pytree "
                        f"structure, but the input is {tree} and the output is {b_tree}")
    err = _carry_mismatch("while_loop", tree, avals, b_prog.out_avals)
    if err is not None:
        raise err
    outs = bind(while_p, *c_consts, *b_consts, *leaves, cond_program=c_prog,
                body_program=b_prog, cond_nconsts=len(c_consts), body_nconsts=len(b_consts))
    return tu.tree_unflatten(tree, outs)


def fori_loop(lower, upper, body_fun: Callable, init_val, *, unroll=None):
    """Apply val = body_fun(i, val) for i in range(lower, upper).

    With concrete bounds (Python/NumPy integers, even under jit) it is a scan, so it is
    differentiable in reverse mode everywhere; with traced bounds it is a while_loop.
    body_fun must return init_val's pytree structure, shapes and dtypes (NumPy promotion
    applies: a float32 carry plus the int64 index i is float64, so cast with .astype).

    Example:
      >>> fori_loop(0, 5, lambda i, v: v + i, 0.0)   # 10.0
    """
    if not callable(body_fun):
        raise TypeError("fori_loop: body_fun should be callable")
    lo, hi = _as_leaf(lower), _as_leaf(upper)
    for nm, v in (("lower", lo), ("upper", hi)):
        if v.dtype.kind not in "iu" or tuple(v.shape) != ():
            raise TypeError(f"fori_loop: {nm} must be an integer scalar, got "
                            f"{get_aval(v).str_short()}")
    dt = np.result_type(lo.dtype, hi.dtype)
    init_leaves, init_tree = tu.tree_flatten(init_val)
    init_avals = [get_aval(_as_leaf(x)) for x in init_leaves]

    def call_body(i, val):
        return _fori_checked(body_fun(i, val), init_tree, init_avals, dt)

    if not isinstance(lo, Tracer) and not isinstance(hi, Tracer):
        start, n = int(lo), max(int(hi) - int(lo), 0)

        def step(carry, _):
            i, val = carry
            return (i + np.asarray(1, dt), call_body(i, val)), None

        (_, val), _ = scan(step, (np.asarray(start, dt), init_val), None, length=n)
        return val
    if lo.dtype != dt:
        lo = convert_p(lo, dtype=dt)
    if hi.dtype != dt:
        hi = convert_p(hi, dtype=dt)

    def body(carry):
        i, val = carry
        return (i + np.asarray(1, dt), call_body(i, val))

    return while_loop(lambda c: c[0] < hi, body, (lo, init_val))[1]


def _fori_checked(out, tree, avals, idx_dtype):
    """fori_loop's body_fun output `out`, checked against the carry init_val (its structure
    `tree`, leaf types `avals`), with errors in terms of fori_loop's arguments."""
    leaves, out_tree = tu.tree_flatten(out)
    if out_tree != tree:
        raise TypeError(f"fori_loop: body_fun must return a value with the pytree structure of "
                        f"init_val (the loop carry), but init_val is {tree} and body_fun "
                        f"returned {out_tree}")
    for p, x, a in zip(_paths(tree), leaves, avals):
        _check_out_leaf(x, "fori_loop: body_fun")
        b = get_aval(_as_leaf(x))
        if b == a:
            continue
        where = f"init_val{p}"
        if a.shape != b.shape:
            raise TypeError(f"fori_loop: body_fun must return the carry with the types of "
                            f"init_val, but for {where} (type {a.str_short()}) it returned "
                            f"type {b.str_short()}: the shapes differ. The carry must keep its "
                            f"shape from one iteration to the next; reshape or reduce the "
                            f"result, or give init_val the shape {b.shape}.")
        hint = ""
        if np.result_type(a.dtype, idx_dtype) == b.dtype:
            hint = (f" (combining the {a.dtype.name} carry with the loop index i, which is "
                    f"{np.dtype(idx_dtype).name}, promotes to {b.dtype.name})")
        raise TypeError(f"fori_loop: body_fun must return the carry with the types of "
                        f"init_val, but for {where} (type {a.str_short()}) it returned type "
                        f"{b.str_short()}: the dtypes differ{hint}. Cast the result in "
                        f"body_fun, e.g. `new.astype(np.{a.dtype.name})`, or start from an "
                        f"init_val of dtype {b.dtype.name}.")
    return out


# ---------------------------------------------------------------------------------------------
# select


def select(pred, on_true, on_false):
    """Elementwise choice: on_true where pred else on_false (no broadcasting of the cases).

    Args:
      pred: a boolean array, scalar or of the cases' shape.
      on_true, on_false: arrays of identical shape and dtype.

    Example:
      >>> select(np.array([True, False]), np.ones(2), np.zeros(2))   # [1., 0.]
    """
    pred, on_true, on_false = _as_leaf(pred), _as_leaf(on_true), _as_leaf(on_false)
    pa, ta, fa = get_aval(pred), get_aval(on_true), get_aval(on_false)
    if pa.dtype != np.bool_:
        raise TypeError(f"select: pred must be boolean, got {pa.str_short()}")
    if ta != fa:
        raise TypeError(f"select: on_true and on_false must have the same shape and dtype, "
                        f"got {ta.str_short()} and {fa.str_short()}")
    if pa.shape not in ((), ta.shape):
        raise TypeError(f"select: pred must be a scalar or have the cases' shape {ta.shape}, "
                        f"got shape {pa.shape}")
    return bind(select_p, pred, on_true, on_false)
