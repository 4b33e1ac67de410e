"""Code generation: a Program becomes the source of a Python function over NumPy.

Contract: `generate_source(program)` returns readable Python source (one statement per
equation) and the namespace it needs; `compile_program` execs it. How an equation becomes
code:
- a primitive's `lower` is either the dotted name of a NumPy/SciPy function taking the same
  positional arguments (used when the equation has no params; "" is the identity), or a callable
  (arg_sources, params[, in_avals]) -> expression source;
- equations carrying a sub-program are inlined: `fused` kernels (one numexpr program when
  `kernels.plan` accepts it; else NumPy calls, over blocks of rows when the kernel is large,
  see `_block_rows`), and call primitives (custom rules, checkpoint: their function is
  staged; compiled code needs values, not rules);
- a scan is a `for` loop in the source with its body inlined (`_render_scan`); in standalone
  code, cond/switch is an if/elif/else and while_loop a `while` loop, each sub-program
  inlined (`_render_cond`, `_render_while`; jit calls their impls);
- a primitive whose impl is a public NumPy function is called as `np.<name>`;
- otherwise the equation calls the primitive's impl by name with its params.
Results never alias arguments or constants: outputs that are literals, inputs or constants
are returned as new arrays, and an output not known to be a new array is copied when it
shares memory with them (`_cr_fresh`: a reshape or transpose of an input is a view).
Buffer reuse: a ufunc call whose input is a temporary created by an earlier ufunc call (or
kernel) of this function, with the output's shape and dtype, dying at this call and only
ever read by ufunc calls (so no view of it exists), writes into it with `out=`. Program inputs
and constants are never written. A large blocked kernel's result and a scan's ys come from
result slots (`runtime.take`): the array returned by the previous call when nothing
references it any more.
With standalone=True (for `export`) the source needs only NumPy/SciPy: no numexpr, no
result slots, no objects bound by reference; an impl that cannot be embedded raises
CodegenError.
"""
from __future__ import annotations

import inspect
import math
import re
import textwrap
import threading

import numpy as np
import scipy.special as sps

from ..ir.program import Eqn, Literal, Program
from . import kernels, runtime
from .config import options
from .fused import fused_p
from .passes import _strong, inline

_IDENT = re.compile(r"[^0-9a-zA-Z_]")
_MODULES = {"np": np, "sps": sps}


class CodegenError(Exception):
    """A program cannot be expressed as the requested kind of source."""


def _resolve(dotted: str):
    head, _, rest = dotted.partition(".")
    obj = _MODULES.get(head)
    for part in rest.split(".") if rest else ():
        obj = getattr(obj, part, None)
    return obj


def _dtype_src(dt) -> str:
    name = np.dtype(dt).name
    return "np.bool_" if name == "bool" else f"np.{name}"


def _float_src(v: float) -> str:
    return repr(v) if math.isfinite(v) else f"float({str(v)!r})"


class _Gen:
    """State of one generated function: names, namespace, lines."""

    def __init__(self, standalone: bool):
        self.standalone = standalone
        self.ns = {"np": np, "sps": sps}
        self.names = {}
        self.n_vars = 0
        self.lines = []
        self.embedded = {}
        self.n_slots = 0

    def slot(self) -> str:
        """The name of a new result slot (an empty list in the namespace, see runtime.take)."""
        name = f"_slot{self.n_slots}"
        self.n_slots += 1
        self.ns[name] = []
        return name

    def fresh(self) -> str:
        name = f"v{self.n_vars}"
        self.n_vars += 1
        return name

    def bind(self, value, prefix="_k") -> str:
        if self.standalone:
            raise CodegenError(f"cannot write {type(value).__name__} {value!r:.60} as source")
        key = f"{prefix}{len(self.ns)}"
        self.ns[key] = value
        return key

    def literal(self, v) -> str:
        if type(v) in (bool, int):
            return repr(v)
        if type(v) is float:
            return _float_src(v)
        if type(v) is complex:
            return repr(v) if math.isfinite(abs(v)) else \
                f"complex({_float_src(v.real)}, {_float_src(v.imag)})"
        if isinstance(v, np.generic) and v.dtype.kind in "biufc" and v.dtype.itemsize <= 16 \
                and not (v.dtype.kind == "f" and v.dtype.itemsize > 8):
            return f"{_dtype_src(v.dtype)}({self.literal(v.item())})"
        return self.bind(v)

    def src(self, a) -> str:
        return self.literal(a.value) if type(a) is Literal else self.names[a]

    def param(self, v) -> str:
        if v is None or isinstance(v, (bool, int, str)) or v is Ellipsis:
            return repr(v)
        if isinstance(v, float):
            return _float_src(v)
        if isinstance(v, tuple):
            inner = ", ".join(self.param(x) for x in v)
            return f"({inner}{',' if len(v) == 1 else ''})"
        if isinstance(v, np.dtype) and v.names is None:
            return f"np.dtype({v.name!r})"
        if isinstance(v, type) and issubclass(v, np.generic):
            return _dtype_src(v)
        return self.bind(v, "_p")

    def impl_name(self, prim) -> str:
        fn = prim.impl
        if self.standalone:
            return self.embed(fn, prim)
        name = "_" + _IDENT.sub("_", prim.name)
        if self.ns.get(name, fn) is not fn:
            name = f"{name}_{id(prim)}"
        self.ns[name] = fn
        return name

    def embed(self, fn, prim) -> str:
        """Embed a self-contained module-level function's source (standalone code)."""
        name = getattr(fn, "__name__", "")
        if name in self.embedded and self.embedded[name][0] is fn:
            return name
        ok = (inspect.isfunction(fn) and name.isidentifier() and name != "<lambda>"
              and name not in self.embedded)
        if ok:
            cv = inspect.getclosurevars(fn)
            ok = not cv.nonlocals and all(
                _MODULES.get(k) is v for k, v in cv.globals.items())
        if not ok:
            raise CodegenError(f"primitive `{prim.name}` has no lowering and its impl "
                               f"{name or fn!r} is not a self-contained function; give it a "
                               "`lower` to export programs that use it")
        self.embedded[name] = (fn, textwrap.dedent(inspect.getsource(fn)))
        return name


# ---------------------------------------------------------------------------------------------
# flattening: inline sub-programs, decide kernels, name variables


def _sub_program(eqn):
    """The program an equation runs, when it carries one (fused, jit, call primitives)."""
    sub = eqn.params.get("program")
    if isinstance(sub, Program):
        return sub
    if "call" in eqn.prim.traits and callable(eqn.params.get("fun")):
        from ..transforms.staging import stage_flat
        from .passes import optimize
        avals = [a.aval for a in eqn.inputs]
        try:
            sub = stage_flat(eqn.params["fun"], avals)
        except Exception:
            return None
        if sub._cache.get("captured"):
            return None
        return optimize(sub)
    return None


class _Item:
    """One statement to render: an equation ("eqn"), a numexpr kernel ("kernel": stmts from
    kernels.plan) or a comment ("comment": stmts is the text)."""
    __slots__ = ("eqn", "kind", "stmts", "ufunc")

    def __init__(self, eqn, kind, stmts=None, ufunc=None):
        self.eqn, self.kind, self.stmts, self.ufunc = eqn, kind, stmts, ufunc


def _ufunc_of(eqn):
    lower = eqn.prim.lower
    if isinstance(lower, str) and lower and not eqn.params:
        f = _resolve(lower)
        if isinstance(f, np.ufunc) and f.nout == 1 and f.nin == len(eqn.inputs):
            return f
    return None


def _flatten(gen: _Gen, program: Program, consts: list):
    """The items computing `program` (whose inputs are named in gen) with every sub-program
    inlined or turned into a numexpr kernel, and the output atoms."""
    items = []
    env = {}

    def sub(a):
        return env.get(a, a) if type(a) is not Literal else a

    def name_consts(pairs):
        for v, c in pairs:
            gen.names[v] = f"c{len(consts)}"
            consts.append((gen.names[v], c))

    def walk(eqns):
        for e in eqns:
            ins = [sub(a) for a in e.inputs]
            if gen.standalone and _control_kind(e) is not None:
                for v in e.outs:
                    gen.names[v] = gen.fresh()
                items.append(_Item(Eqn(e.prim, ins, e.params, e.outs), "control",
                                   _control_kind(e)))
                continue
            plan = _scan_plan(e)
            if plan is not None:
                for v in e.outs:
                    gen.names[v] = gen.fresh()
                items.append(_Item(Eqn(e.prim, ins, e.params, e.outs), "scan", plan))
                continue
            inner = _sub_program(e)
            if inner is None:
                new = Eqn(e.prim, ins, e.params, e.outs)
                for v in e.outs:
                    gen.names[v] = gen.fresh()
                items.append(_Item(new, "eqn", ufunc=_ufunc_of(new)))
                continue
            if e.prim is fused_p and not gen.standalone and not inner.const_vars and all(
                    type(a) is not Literal for a in ins):
                names = {v: gen.src(a) for v, a in zip(inner.in_vars, ins)}
                kernel = kernels.plan(inner, names, gen.bind)
                if kernel is not None:
                    for v in e.outs:
                        gen.names[v] = gen.fresh()
                    items.append(_Item(Eqn(e.prim, ins, e.params, e.outs), "kernel", kernel))
                    continue
            if e.prim is fused_p and not inner.const_vars:
                rows = _block_rows(inner)
                if rows:
                    new_eqns, res, _ = inline(inner, ins)
                    for v in e.outs:
                        gen.names[v] = gen.fresh()
                    items.append(_Item(Eqn(e.prim, ins, e.params, e.outs), "blocked",
                                       (new_eqns, res[0], rows)))
                    continue
            new_eqns, res, sub_consts = inline(inner, ins)
            name_consts(sub_consts)
            if e.prim is fused_p:
                ops = " ".join(x.prim.name for x in new_eqns)
                items.append(_Item(None, "comment", f"# fused kernel: {ops}"))
            walk(new_eqns)
            for v, a in zip(e.outs, res):
                env[v] = _strong(sub(a), v.aval)

    name_consts(zip(program.const_vars, program.consts))
    walk(program.eqns)
    return items, [sub(o) for o in program.outs]


def _control_kind(eqn):
    """"cond" or "while" for those equations of lax_control, else None."""
    from .. import lax_control
    if eqn.prim is getattr(lax_control, "cond_p", None):
        return "cond"
    if eqn.prim is getattr(lax_control, "while_p", None):
        return "while"
    return None


def _scan_plan(eqn):
    """lax_control's plan for running a scan equation (hoisted per-step work, packed
    consts, body, ys that are body inputs; see lax_control._scan_plan), or None when the
    equation is not a scan or the plan has another form than this code knows."""
    from .. import lax_control
    if eqn.prim is not getattr(lax_control, "scan_p", None):
        return None
    p = eqn.params
    try:
        plan = lax_control._scan_plan(p["body_program"], p["num_consts"], p["num_carry"],
                                      p["length"])
        pre, kept, packed, body, through, computed = plan
    except Exception:
        return None
    if not isinstance(body, Program) or (pre is not None and not isinstance(pre, Program)):
        return None
    return plan


def _block_rows(sub: Program) -> int:
    """Rows per block when the fused kernel `sub` should run over blocks of rows (its arrays
    are at least options.block_min_bytes, a block of options.block_bytes holds at least one
    row, and there are several blocks), else 0. Kernels ending in a reduction are not blocked
    (the reduction's summation order would change), nor those whose result depends on no
    input with the kernel's row count."""
    if len(sub.outs) != 1 or type(sub.outs[0]) is Literal or not sub.eqns:
        return 0
    out = sub.outs[0].aval
    if out.ndim == 0:
        return 0
    itemsize = max([out.dtype.itemsize] + [e.outs[0].aval.dtype.itemsize for e in sub.eqns])
    if math.prod(out.shape) * itemsize < options.block_min_bytes:
        return 0
    row = math.prod(out.shape[1:]) * itemsize
    rows = options.block_bytes // row
    if rows < 1 or rows * 2 > out.shape[0]:
        return 0
    if any("elementwise" not in e.prim.traits and "broadcast" not in e.prim.traits
           for e in sub.eqns):
        return 0
    if any(len(e.outs) != 1 for e in sub.eqns) or sub.eqns[-1].outs[0] is not sub.outs[0] \
            or "broadcast" in sub.eqns[-1].prim.traits:
        return 0
    _, loop, _ = _block_split(sub.eqns, tuple(out.shape))
    if not loop or loop[-1] is not sub.eqns[-1]:
        return 0
    return rows


# ---------------------------------------------------------------------------------------------
# rendering


def _expr(gen: _Gen, eqn, ins):
    lower = eqn.prim.lower
    if isinstance(lower, str) and not eqn.params:
        return f"{lower}({', '.join(ins)})" if lower else ins[0]   # "": the identity
    if callable(lower):
        try:
            wants_avals = lower.__code__.co_argcount >= 3
        except AttributeError:
            wants_avals = False
        if wants_avals:
            avals = [a.aval for a in eqn.inputs]
            return lower(ins, eqn.params, avals)
        return lower(ins, eqn.params)
    impl = eqn.prim.impl
    name = getattr(impl, "__name__", "")
    if not eqn.params and name and getattr(np, name, None) is impl:
        return f"np.{name}({', '.join(ins)})"
    fname = gen.impl_name(eqn.prim)
    try:
        ps = [f"{k}={gen.param(v)}" for k, v in eqn.params.items()]
    except CodegenError as err:
        raise CodegenError(f"primitive `{eqn.prim.name}`: {err} (e.g. a Python callback "
                           "cannot be exported)") from None
    return f"{fname}({', '.join(ins + ps)})"


def _render(gen: _Gen, items, outs, fresh=(), targets=None):
    """Append the lines of `items` to gen.lines. `fresh`: variables holding arrays this code
    owns (may be overwritten once dead); `targets`: variables computed by a ufunc that write
    into the given array expression (a scan's ys[i]). Returns the variables known to hold new
    arrays."""
    targets = targets or {}
    n = len(items)
    last_use, unsafe = {}, set()
    for i, it in enumerate(items):
        if it.kind == "comment":
            continue
        for a in it.eqn.inputs:
            if type(a) is not Literal:
                last_use[a] = i
                if it.kind in ("eqn", "control") and it.ufunc is None:
                    unsafe.add(a)
    for o in outs:
        if type(o) is not Literal:
            last_use[o] = n
    fresh = set(fresh)
    for i, it in enumerate(items):
        if it.kind == "comment":
            gen.lines.append(it.stmts)
            continue
        e = it.eqn
        out_names = [gen.names[v] for v in e.outs]
        if it.kind == "kernel":
            _render_numexpr(gen, it.stmts, out_names[0])
            if e.outs[0].aval.ndim > 0:
                fresh.add(e.outs[0])
            continue
        if it.kind == "blocked":
            _render_blocked(gen, *it.stmts, out_names[0], e.outs[0].aval)
            fresh.add(e.outs[0])
            continue
        if it.kind == "scan":
            fresh.update(_render_scan(gen, e, it.stmts, out_names))
            continue
        if it.kind == "control":
            (_render_cond if it.stmts == "cond" else _render_while)(gen, e, out_names)
            continue
        ins = [gen.src(a) for a in e.inputs]
        expr = None
        if it.ufunc is not None and e.outs[0] in targets:
            expr = f"{e.prim.lower}({', '.join(ins)}, out={targets[e.outs[0]]})"
        elif it.ufunc is not None:
            out = e.outs[0].aval
            for a in e.inputs:
                if (type(a) is not Literal and a in fresh and last_use.get(a) == i
                        and a not in unsafe and a.aval == out and out.ndim > 0):
                    expr = f"{e.prim.lower}({', '.join(ins)}, out={gen.names[a]})"
                    break
            if e.outs[0].aval.ndim > 0:
                fresh.add(e.outs[0])
        elif "new_array" in e.prim.traits and e.outs[0].aval.ndim > 0:   # e.g. np.dot's result
            fresh.add(e.outs[0])
        if expr is None:
            expr = _expr(gen, e, ins)
        lhs = ", ".join(out_names)
        if e.prim.multiple_results:
            lhs = "_" if not out_names else lhs + ("," if len(out_names) == 1 else "")
        gen.lines.append(f"{lhs} = {expr}")
    return fresh


def _render_blocked(gen: _Gen, eqns, res, rows: int, out_name: str, out_aval):
    """A fused kernel as NumPy calls over blocks of `rows` rows (see `_block_rows`): inputs
    with the kernel's row count are sliced per block, other inputs broadcast as they are;
    work that depends on no sliced input is done once before the loop; intermediate values
    live in block-sized scratch buffers (reused once dead); the last operation writes into
    the output's block. A large output is taken from a result slot (`runtime.take`)."""
    shape, dtype = tuple(out_aval.shape), out_aval.dtype
    hoisted, loop, alias = _block_split(eqns, shape)
    ops = " ".join(e.prim.name for e in eqns)
    n_blocks = -(-shape[0] // rows)
    gen.lines.append(f"# fused kernel: {ops}; {n_blocks} blocks of {rows} rows")
    dt = _dtype_src(dtype)
    slot = None
    if options.reuse_outputs and not gen.standalone and runtime.REUSE and \
            math.prod(shape) * dtype.itemsize >= options.reuse_min_bytes:
        slot = gen.slot()
        gen.ns["_cr_take"] = runtime.take
        gen.lines.append(f"{out_name} = _cr_take({slot}, {shape!r}, {dt})")
    else:
        gen.lines.append(f"{out_name} = np.empty({shape!r}, {dt})")

    def src(a):
        a = alias.get(a, a) if type(a) is not Literal else a
        return gen.src(a)

    for e in hoisted:
        gen.names[e.outs[0]] = gen.fresh()
        gen.lines.append(f"{gen.names[e.outs[0]]} = {_expr(gen, e, [src(a) for a in e.inputs])}")
    # scratch buffers for the loop's intermediate ufunc results, assigned by liveness
    last = {}
    for i, e in enumerate(loop):
        for a in e.inputs:
            if type(a) is not Literal:
                last[alias.get(a, a)] = i
    scratch, free, of = [], {}, {}
    for k, e in enumerate(loop[:-1]):
        v = e.outs[0]
        for a in {alias.get(a, a) for a in e.inputs if type(a) is not Literal}:
            if a in of and last[a] == k:
                free.setdefault(a.aval.dtype, []).append(of[a])
        if _ufunc_of(e) is not None:
            pool = free.get(v.aval.dtype)
            if pool:
                of[v] = pool.pop()
            else:
                of[v] = len(scratch)
                scratch.append(v.aval.dtype)
            if v not in last:
                free.setdefault(v.aval.dtype, []).append(of[v])
    block = (rows,) + shape[1:]
    buf = [gen.fresh() for _ in scratch]
    scratch_slots = []
    for name, d in zip(buf, scratch):
        if slot is not None:         # scratch never escapes: its slot is free next call
            scratch_slots.append(gen.slot())
            gen.lines.append(f"{name} = _cr_take({scratch_slots[-1]}, {block!r}, "
                             f"{_dtype_src(d)})")
        else:
            gen.lines.append(f"{name} = np.empty({block!r}, {_dtype_src(d)})")
    exact = shape[0] % rows == 0
    i, j = gen.fresh(), gen.fresh()
    gen.lines.append(f"for {i} in range(0, {shape[0]}, {rows}):")
    body = [f"{j} = {i} + {rows}"]
    views = buf if exact else [gen.fresh() for _ in buf]
    if not exact:
        body += [f"{w} = {b}[:{shape[0]} - {i}]" for w, b in zip(views, buf)]
    sliced = {}
    defined = {e.outs[0] for e in eqns}
    for e in loop:
        for a in e.inputs:
            a = alias.get(a, a) if type(a) is not Literal else a
            if type(a) is not Literal and a not in defined and a not in sliced and \
                    _rowwise_input(a, shape):
                sliced[a] = gen.fresh()
                body.append(f"{sliced[a]} = {gen.src(a)}[{i}:{j}]")
    for k, e in enumerate(loop):
        ins = []
        for a in e.inputs:
            a = alias.get(a, a) if type(a) is not Literal else a
            ins.append(sliced[a] if type(a) is not Literal and a in sliced else gen.src(a))
        v = e.outs[0]
        uf = _ufunc_of(e)
        if k == len(loop) - 1:
            target = f"{out_name}[{i}:{j}]"
            body.append(f"{e.prim.lower}({', '.join(ins)}, out={target})" if uf is not None
                        else f"{target} = {_expr(gen, e, ins)}")
        elif v in of:
            gen.names[v] = views[of[v]]
            body.append(f"{e.prim.lower}({', '.join(ins)}, out={views[of[v]]})")
        else:
            gen.names[v] = gen.fresh()
            body.append(f"{gen.names[v]} = {_expr(gen, e, ins)}")
    gen.lines.extend("    " + ln for ln in body)
    if slot is not None:
        gen.lines.append(f"{slot}.append({out_name})")
        gen.lines.extend(f"{sl}.append({b})" for sl, b in zip(scratch_slots, buf))


def _rowwise_input(a, shape) -> bool:
    """Whether kernel input `a` is sliced per block of rows (it has the kernel's row count)."""
    return a.aval.ndim == len(shape) and a.aval.shape[0] == shape[0] and shape[0] > 1


def _block_split(eqns, shape):
    """(hoisted, loop, alias) for a blocked kernel: equations depending on no sliced input
    (computed once), those that do (per block), and broadcasts mapped to their operands."""
    alias, rowwise, hoisted, loop = {}, set(), [], []
    defined = {e.outs[0] for e in eqns}

    def base(a):
        return alias.get(a, a) if type(a) is not Literal else a

    for e in eqns:
        ins = [base(a) for a in e.inputs]
        varies = any(type(a) is not Literal and (a in rowwise or (
            a not in defined and _rowwise_input(a, shape))) for a in ins)
        if "broadcast" in e.prim.traits:
            alias[e.outs[0]] = ins[0]
            if varies:
                rowwise.add(e.outs[0])
            continue
        if varies:
            rowwise.add(e.outs[0])
            loop.append(e)
        else:
            hoisted.append(e)
    return hoisted, loop, alias


def _render_scan(gen: _Gen, e, plan, out_names):
    """A scan as a loop in the generated source, its body inlined (no call, no argument
    lists per step): the ys are allocated once (from result slots when reuse is on), xs are
    sliced per step, ys that are body inputs are stored from them, and a carry the body
    computes with a new array (ufunc, kernel) is owned by the loop, so the body may update it
    in place once it is dead (an accumulated gradient: `np.add(acc, g, out=acc)`).
    Returns the outputs known to be new arrays."""
    pre, kept, packed, body, through, computed = plan
    p = e.params
    nc, nk, length, reverse = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
    ins = [gen.src(a) for a in e.inputs]
    consts, init, xs = ins[:nc], ins[nc:nc + nk], ins[nc + nk:]
    carry_names, ys_names = out_names[:nk], out_names[nk:]
    out_avals = [v.aval for v in e.outs]
    gen.lines.append(f"# scan: {length} steps{' in reverse' if reverse else ''}, "
                     "body inlined")
    fresh_out = set()
    reuse = options.reuse_outputs and not gen.standalone and runtime.REUSE
    ys_slots = []
    for name, aval in zip(ys_names, out_avals[nk:]):
        dt = _dtype_src(aval.dtype)
        if reuse:
            gen.ns["_cr_take"] = runtime.take
            ys_slots.append(gen.slot())
            gen.lines.append(f"{name} = _cr_take({ys_slots[-1]}, {tuple(aval.shape)!r}, {dt})")
        else:
            gen.lines.append(f"{name} = np.empty({tuple(aval.shape)!r}, {dt})")
    fresh_out.update(e.outs[nk:])
    srcs = list(dict.fromkeys(x for x in ins if x.isidentifier()))
    sources = "(" + ", ".join(srcs) + ("," if len(srcs) == 1 else "") + ")"
    if length == 0:
        for name, src, aval in zip(carry_names, init, out_avals[:nk]):
            gen.lines.append(f"{name} = np.array({src}, dtype={_dtype_src(aval.dtype)})")
        fresh_out.update(e.outs[:nk])
        return fresh_out
    if pre is not None:
        for v, src in zip(pre.in_vars, consts + xs):
            gen.names[v] = src
        pitems, pouts = _flatten(gen, pre, gen.consts)
        _render(gen, pitems, pouts)
        xs = [xs[j] for j in kept] + [gen.src(o) for o in pouts]
    consts = list(consts)
    for j, flip in packed:
        name = gen.fresh()
        c = f"np.transpose({consts[j]})" if flip else consts[j]
        gen.lines.append(f"{name} = {c} if {c}.flags.c_contiguous else "
                         f"np.ascontiguousarray({c})" if not flip else
                         f"{name} = np.ascontiguousarray({c})")
        consts[j] = name
    i = gen.fresh()
    slices = [gen.fresh() for _ in xs]
    body_ins = consts + list(carry_names) + slices
    for v, src in zip(body.in_vars, body_ins):
        gen.names[v] = src
    items, outs = _flatten(gen, body, gen.consts)
    # which carries the loop owns: the body computes them as new arrays
    owned = _owned_carries(body, items, outs, nk)
    for k, (name, src, aval) in enumerate(zip(carry_names, init, out_avals[:nk])):
        if k in owned:
            gen.lines.append(f"{name} = np.array({src}, dtype={_dtype_src(aval.dtype)})")
        else:
            gen.lines.append(f"{name} = {src}")
    gen.lines.append(f"for {i} in range({length - 1}, -1, -1):" if reverse else
                     f"for {i} in range({length}):")
    saved, gen.lines = gen.lines, []
    for t, x in zip(slices, xs):
        gen.lines.append(f"{t} = {x}[{i}]")
    for j, kin in through:
        gen.lines.append(f"{ys_names[j]}[{i}] = {body_ins[kin]}")
    # a y computed by a ufunc (and not otherwise returned) is written straight into ys[i]
    by_ufunc = {it.eqn.outs[0] for it in items if it.kind == "eqn" and it.ufunc is not None}
    targets = {}
    for j, o in zip(computed, outs[nk:]):
        if type(o) is not Literal and o in by_ufunc and outs.count(o) == 1 and \
                o not in body.in_vars and o.aval.ndim > 0:
            targets[o] = f"{ys_names[j]}[{i}]"
    _render(gen, items, outs, fresh=[body.in_vars[nc + k] for k in owned], targets=targets)
    for j, o in zip(computed, outs[nk:]):
        if o not in targets:
            gen.lines.append(f"{ys_names[j]}[{i}] = {gen.src(o)}")
    new = [gen.src(o) for o in outs[:nk]]
    changed = [(c, n) for c, n in zip(carry_names, new) if c != n]
    if changed:
        gen.lines.append(f"{', '.join(c for c, _ in changed)} = "
                         f"{', '.join(n for _, n in changed)}")
    saved.extend("    " + ln for ln in gen.lines or ["pass"])
    gen.lines = saved
    for k, (name, aval) in enumerate(zip(carry_names, out_avals[:nk])):
        if k in owned:
            fresh_out.add(e.outs[k])
        else:
            gen.lines.append(f"{name} = _cr_carry({name}, {_dtype_src(aval.dtype)}, "
                             f"{sources})")
    for sl, name in zip(ys_slots, ys_names):
        gen.lines.append(f"{sl}.append({name})")
    return fresh_out


def _typed_srcs(gen: _Gen, atoms, avals) -> list:
    """Source names for atoms passed to a sub-program: a literal becomes an array of the
    sub-program's input dtype (as its impl would receive it)."""
    srcs = []
    for a, aval in zip(atoms, avals):
        if type(a) is Literal:
            name = gen.fresh()
            gen.lines.append(f"{name} = np.asarray({gen.src(a)}, dtype={_dtype_src(aval.dtype)})")
            srcs.append(name)
        else:
            srcs.append(gen.src(a))
    return srcs


def _render_inline(gen: _Gen, program: Program, in_srcs, out_names, cast=True) -> list:
    """The lines computing `program` on `in_srcs` into `out_names` (as arrays of their
    dtypes, as lax_control's impls return them), rendered apart from gen.lines."""
    saved, gen.lines = gen.lines, []
    for v, src in zip(program.in_vars, in_srcs):
        gen.names[v] = src
    items, outs = _flatten(gen, program, gen.consts)
    _render(gen, items, outs)
    srcs = [gen.src(o) for o in outs]
    if cast:
        for name, src, o in zip(out_names, srcs, outs):
            gen.lines.append(f"{name} = np.asarray({src}, dtype={_dtype_src(o.aval.dtype)})")
    elif out_names:
        gen.lines.append(f"{', '.join(out_names)} = {', '.join(srcs)}")
    lines, gen.lines = gen.lines, saved
    return lines


def _render_cond(gen: _Gen, e, out_names):
    """lax.cond / lax.switch as if/elif/else over the branches, each inlined (standalone
    code: jit calls the impl, which runs the taken branch's compiled program)."""
    branches = e.params["branches"]
    index, args = e.inputs[0], e.inputs[1:]
    srcs = _typed_srcs(gen, args, branches[0].in_avals)
    gen.lines.append(f"# cond: {len(branches)} branches, inlined")
    i = gen.fresh()
    gen.lines.append(f"{i} = int({gen.src(index)})")
    for k, b in enumerate(branches):
        head = ("if" if k == 0 else "elif") + (f" {i} <= 0:" if k == 0 else f" {i} == {k}:")
        if k == len(branches) - 1:
            head = "else:" if k else "if True:"
        gen.lines.append(head)
        gen.lines.extend("    " + ln for ln in _render_inline(gen, b, srcs, out_names)
                         or ["pass"])


def _render_while(gen: _Gen, e, out_names):
    """lax.while_loop as a Python while loop, cond and body inlined (standalone code)."""
    p = e.params
    cp, bp, ncc, nbc = p["cond_program"], p["body_program"], p["cond_nconsts"], \
        p["body_nconsts"]
    srcs = _typed_srcs(gen, e.inputs, cp.in_avals[:ncc] + bp.in_avals)
    cc, bc, init = srcs[:ncc], srcs[ncc:ncc + nbc], srcs[ncc + nbc:]
    gen.lines.append("# while_loop: cond and body inlined")
    for name, src in zip(out_names, init):
        gen.lines.append(f"{name} = {src}")
    pred = gen.fresh()
    gen.lines.append("while True:")
    body = _render_inline(gen, cp, cc + list(out_names), [pred], cast=False)
    body.append(f"if not {pred}:")
    body.append("    break")
    body += _render_inline(gen, bp, bc + list(out_names), list(out_names), cast=False)
    gen.lines.extend("    " + ln for ln in body)
    for name, aval in zip(out_names, bp.out_avals):
        gen.lines.append(f"{name} = np.asarray({name}, dtype={_dtype_src(aval.dtype)})")


def _owned_carries(body: Program, items, outs, nk: int) -> set:
    """Indices k of the carries whose value after a step is always a new array made by the
    body's code (`items`, `outs`: the flattened body): a ufunc's, a new_array primitive's
    (np.dot) or a fused kernel's result, not a body input, returned once."""
    made = {}
    for it in items:
        if it.kind == "comment":
            continue
        e = it.eqn
        if it.kind in ("kernel", "blocked") or (it.kind == "eqn" and (
                it.ufunc is not None or "new_array" in e.prim.traits)):
            made[e.outs[0]] = True
    owned = set()
    for k, o in enumerate(outs[:nk]):
        if (type(o) is not Literal and o in made and o not in body.in_vars
                and outs.count(o) == 1 and o.aval.ndim > 0):
            owned.add(k)
    return owned


def _render_numexpr(gen: _Gen, k, out_name: str):
    """Lines running a numexpr kernel: its program as comments, then one call."""
    n = len(k.listing)
    gen.lines.append(f"# fused kernel: {n} operation{'s' * (n != 1)} as one numexpr program "
                     f"(estimated {k.cost[0]:.1f} us, NumPy calls {k.cost[1]:.1f} us):")
    line = "#  "
    for ins in k.listing:
        if len(line) + len(ins) + 2 > 92:
            gen.lines.append(line)
            line = "#  "
        line += " " + ins + ";"
    gen.lines.append(line)
    args = list(k.inputs)
    for src, view in k.pre:
        name = gen.fresh()
        gen.lines.append(f"{name} = {view}")
        args[args.index(src)] = name
    call = f"{gen.bind(k.nex, '_ne')}({', '.join(args)})"
    if k.reduce is not None:
        prim, params = k.reduce
        call = prim.lower([call], params)
    # a numexpr program object keeps its temporaries' pointers in itself while it runs
    # (without the GIL): two threads must not run the same one at once
    gen.lines.append(f"with {gen.bind(threading.Lock(), '_lock')}:")
    gen.lines.append(f"    {out_name} = {call}")


def _function_source(gen, program, name, consts):
    args = []
    for v in program.in_vars:
        gen.names[v] = gen.fresh()
        args.append(gen.names[v])
    gen.consts = consts
    items, outs = _flatten(gen, program, consts)
    fresh = _render(gen, items, outs)
    # an output that is a literal, an input or a constant gets its own array, and one that
    # may be a view of them (reshape, transpose, indexing ...) is copied when it is, so that
    # a caller writing into a result cannot change an argument or the cached constants
    stored = {names for names, _ in consts} | set(args)
    srcs = args + [c for c, _ in consts]
    sources = "(" + ", ".join(srcs) + ("," if len(srcs) == 1 else "") + ")"
    # an output returned again (CSE merged x*2 and x*2, or through an identity such as
    # stop_gradient) is a copy, as eager evaluation returns two arrays
    alias = {}
    for it in items:
        e = it.eqn
        if it.kind == "eqn" and e.prim.lower == "" and len(e.inputs) == 1 and \
                type(e.inputs[0]) is not Literal:
            src = gen.src(e.inputs[0])
            alias[gen.names[e.outs[0]]] = alias.get(src, src)
    seen = set()
    rets = []
    for o in outs:
        s = gen.src(o)
        root = alias.get(s, s)
        rets.append(f"np.asarray({s})" if type(o) is Literal else
                    f"np.array({s})" if s in stored or root in seen else
                    s if o in fresh or sources == "()" else
                    f"_cr_fresh({s}, {sources})")
        seen.add(root)
    body = gen.lines + [f"return [{', '.join(rets)}]"]
    return f"def {name}({', '.join(args)}):\n" + "".join(f"    {ln}\n" for ln in body)


def generate_source(program: Program, name: str = "compiled", *, standalone: bool = False):
    """(source, namespace) of a Python function computing the program: it takes the program's
    inputs and returns the list of its outputs. The source starts with the definitions of the
    run-time helpers it calls. With standalone=True (see `export`), constants are left out of
    the namespace: they are the entries named c<k> of `namespace["__consts__"]`."""
    gen = _Gen(standalone)
    consts = []
    fn_src = _function_source(gen, program, name, consts)
    helpers = [runtime.HELPERS[h] for h in runtime.needed(fn_src)]
    helpers += [src for _, src in gen.embedded.values()]
    src = "".join(h + "\n\n" for h in helpers) + fn_src
    if standalone:
        gen.ns["__consts__"] = consts
    else:
        gen.ns.update(consts)
    return src, gen.ns


def compile_program(program: Program, name: str = "compiled"):
    """A Python function computing the program (the generated source is its `.source`)."""
    src, ns = generate_source(program, name)
    code = compile(src, f"<chainrule {name}>", "exec")
    exec(code, ns)
    fn = ns[name]
    fn.source = src
    return fn


__all__ = ["generate_source", "compile_program", "CodegenError"]
