"""Compiler passes: pure functions Program -> Program.

What every pass preserves (each docstring adds its own specifics):
- the values of the outputs on every input, bit for bit, including IEEE special values and
  signed zeros (a rewrite that could change one is not made), with one stated exception: a
  contraction computed in another operand order or layout (simplify's fold of a transposed
  product) has the same products summed as BLAS sums them for that layout, equal to rounding;
- the input and output avals (shapes and dtypes), and the inputs' order;
- every equation with the trait "effect", and the order of such equations;
- derivatives: a jitted program is differentiated and batched *after* optimization, so no pass
  removes what only matters to derivatives (stop_gradient, custom-rule calls);
- well-formedness (`chainrule.ir.check` accepts the result).
Passes read primitive traits ("elementwise", "commutative", "broadcast", "reshape",
"transpose", "reduction", "effect", ...), rules a primitive may carry (`dce_rule` for control
flow, `fold_transpose` and `absorb_transpose` for contractions) and the small table of
algebraic facts below, never primitive names. A pass that rewrites equations ends with `dce`
to drop what became dead.

`PIPELINE` is the list `optimize` runs: unfuse, simplify, fold_constants, cse, dce, fuse.
"""
from __future__ import annotations

import numpy as np

from .. import prims as P
from ..ir.program import Eqn, Literal, Program, Var
from .config import options
from .fused import fused_p

# Algebraic facts used by `simplify`: the unit of an operation (on the right; on both sides
# when the primitive is "commutative"). "one": 1; "neg_zero": 0 for integers, -0.0 for floats
# (x + (-0.0) == x for every float x, while x + 0.0 maps -0.0 to +0.0); "pos_zero": 0 for
# integers, +0.0 for floats (x - 0.0 == x, including x = -0.0).
_UNITS = {P.mul_p: "one", P.div_p: "one", P.pow_p: "one", P.add_p: "neg_zero",
          P.sub_p: "pos_zero"}
# x ** 2 -> x * x (real dtypes: NumPy's power computes x**2 as x*x there).
_SQUARE = {P.pow_p: P.mul_p}
# Operands whose NumPy loop takes other paths when the operand has stride 0 (power: square,
# sqrt, reciprocal for an exponent of 2, 0.5, -1), so a constant array there does not become
# a scalar (a broadcast's input may: a broadcast has stride 0 already).
_ZERO_STRIDE_PATHS = {P.pow_p: (1,)}
# Conversions: the identity when the dtype does not change.
_CASTS = {P.convert_p}
# Traits of equations no pass may evaluate early, merge, or move past each other.
_OPAQUE = frozenset({"effect", "callback", "collective", "call"})


def _is_var(a) -> bool:
    return type(a) is not Literal


def _strong(atom, aval):
    """atom usable where a variable of `aval` was: Python scalars (weakly typed) become NumPy
    scalars of aval's dtype, so that promotion in consumers does not change."""
    if type(atom) is Literal and not isinstance(atom.value, np.generic):
        return Literal(np.asarray(atom.value, aval.dtype)[()])
    return atom


def _out_aval(prim, inputs, params):
    rule = prim.abstract_eval
    if rule is None:
        return None
    try:
        return rule(*[a.value if type(a) is Literal else a.aval for a in inputs], **params)
    except Exception:
        return None


class _Rewriter:
    """Substitution of atoms for variables, applied to inputs as equations are visited."""

    def __init__(self):
        self.env = {}

    def __call__(self, a):
        return self.env.get(a, a) if _is_var(a) else a

    def replace(self, var, atom):
        self.env[var] = _strong(atom, var.aval)

    def finish(self, program, eqns, **kw):
        outs = [self(o) for o in program.outs]
        return program.replace(eqns=eqns, outs=outs, **kw)


# ---------------------------------------------------------------------------------------------
# dead-code elimination


def sub_programs(eqn: Eqn):
    """The programs an equation carries in its params (a scan's body, a cond's branches...)."""
    for v in eqn.params.values():
        if isinstance(v, Program):
            yield v
        elif type(v) is tuple:
            yield from (p for p in v if isinstance(p, Program))


def has_effects(program: Program) -> bool:
    """Whether running the program has an effect: an equation with the trait "effect", in the
    program or in a program one of its equations carries (cached on the program)."""
    cache = program._cache
    known = cache.get("has_effects")
    if known is None:
        known = cache["has_effects"] = any(_effectful(e) for e in program.eqns)
    return known


def _effectful(eqn: Eqn) -> bool:
    return "effect" in eqn.prim.traits or any(has_effects(p) for p in sub_programs(eqn))


def live_vars(program: Program, outs) -> set:
    """The variables of `program` (inputs included) that computing the atoms `outs` and the
    program's effects reads."""
    live = {o for o in outs if _is_var(o)}
    for eqn in reversed(program.eqns):
        if any(v in live for v in eqn.outs) or _effectful(eqn):
            live.update(a for a in eqn.inputs if _is_var(a))
    return live


def dce(program: Program) -> Program:
    """Dead-code elimination: drops equations whose outputs are unused and constants nothing
    reads. An equation whose primitive has a `dce_rule` (control flow: scan, cond, while)
    is replaced by what the rule returns for the outputs in use: an equation defining a
    subset of the outputs (those used, and what they need), from a subset of the inputs,
    with its sub-programs pruned to match (unused scan outputs, the carries only they need,
    unused consts and xs). Preserves: outputs, every equation with the trait "effect", and
    every equation carrying a program with one (and what they read)."""
    live = {o for o in program.outs if _is_var(o)}
    kept = []
    for eqn in reversed(program.eqns):
        used = [v in live for v in eqn.outs]
        if not any(used) and not _effectful(eqn):
            continue
        rule = getattr(eqn.prim, "dce_rule", None)
        if rule is not None:
            eqn = rule(eqn, used)
        kept.append(eqn)
        live.update(a for a in eqn.inputs if _is_var(a))
    kept.reverse()
    used = [(v, c) for v, c in zip(program.const_vars, program.consts) if v in live]
    return program.replace(eqns=kept, const_vars=[v for v, _ in used],
                           consts=[c for _, c in used])


# ---------------------------------------------------------------------------------------------
# common-subexpression elimination


def _freeze(v):
    """A hashable key for a param value that distinguishes what == would not (-0.0 vs 0.0)."""
    if isinstance(v, float):
        return ("float", v.hex() if v == v else "nan")
    if type(v) is tuple:
        return ("tuple",) + tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, _freeze(x)) for k, x in sorted(v.items()))
    hash(v)  # TypeError for unhashable values: the caller skips the equation
    return v


def _atom_key(a):
    if _is_var(a):
        return a
    v = np.asarray(a.value)
    return ("lit", type(a.value).__name__, v.dtype.str, v.tobytes())


def _order(k):
    return (0, k.id, ()) if type(k) is Var else (1, 0, k)


def _const_key(c: np.ndarray):
    c = np.asarray(c)
    if c.dtype.hasobject or c.size > options.fold_limit:
        return None
    return (c.shape, c.dtype.str, np.ascontiguousarray(c).tobytes())


def cse(program: Program) -> Program:
    """Common-subexpression elimination: an equation applying the same primitive to the same
    inputs (in either order for "commutative" binary primitives) with equal params as an
    earlier one reuses that one's outputs; constants with equal dtype, shape and bytes become
    one. Equations with unhashable params, and "effect"/"callback" equations, are never
    merged. Preserves values exactly (the merged computations are identical)."""
    rw = _Rewriter()
    const_vars, consts, seen_consts = [], [], {}
    for v, c in zip(program.const_vars, program.consts):
        k = _const_key(c)
        if k is not None and k in seen_consts:
            rw.env[v] = seen_consts[k]
            continue
        if k is not None:
            seen_consts[k] = v
        const_vars.append(v)
        consts.append(c)
    seen = {}
    eqns = []
    for eqn in program.eqns:
        inputs = [rw(a) for a in eqn.inputs]
        new = Eqn(eqn.prim, inputs, eqn.params, eqn.outs)
        if eqn.prim.traits & {"effect", "callback"}:
            eqns.append(new)
            continue
        try:
            keys = [_atom_key(a) for a in inputs]
            if "commutative" in eqn.prim.traits and len(keys) == 2:
                keys.sort(key=_order)
            key = (eqn.prim, tuple(keys), _freeze(eqn.params))
            hash(key)
        except TypeError:
            eqns.append(new)
            continue
        prev = seen.get(key)
        if prev is not None and len(prev.outs) == len(eqn.outs):
            for v, p in zip(eqn.outs, prev.outs):
                rw.env[v] = p
            continue
        seen[key] = new
        eqns.append(new)
    return dce(rw.finish(program, eqns, const_vars=const_vars, consts=consts))


# ---------------------------------------------------------------------------------------------
# constant folding


def fold_constants(program: Program) -> Program:
    """Constant folding: an equation whose inputs are all literals or constants is evaluated
    now (with its impl); a 0-d result becomes a literal of its exact dtype, a larger one a new
    constant. Not folded: results over `options.fold_limit` elements, broadcasts (cheap views
    whose folding would only enlarge the constants), equations with the traits effect /
    callback / call / collective, and equations whose evaluation raises (the error then
    happens at run time, as it would without folding). Preserves values exactly (the same
    impl computes them, once)."""
    rw = _Rewriter()
    const_val = dict(zip(program.const_vars, program.consts))
    const_vars, consts = list(program.const_vars), list(program.consts)
    eqns = []
    for eqn in program.eqns:
        inputs = [rw(a) for a in eqn.inputs]
        new = Eqn(eqn.prim, inputs, eqn.params, eqn.outs)
        vals = _fold(new, const_val)
        if vals is None:
            eqns.append(new)
            continue
        for v, val in zip(eqn.outs, vals):
            if v.aval.ndim == 0:
                rw.env[v] = Literal(val[()])
            else:
                const_val[v] = val
                const_vars.append(v)
                consts.append(val)
    return dce(rw.finish(program, eqns, const_vars=const_vars, consts=consts))


def _fold(eqn, const_val):
    prim = eqn.prim
    if prim.impl is None or prim.traits & (_OPAQUE | {"broadcast", "kernel"}):
        return None
    if not all(type(a) is Literal or a in const_val for a in eqn.inputs):
        return None
    if any(v.aval.size > options.fold_limit or v.aval.dtype.hasobject for v in eqn.outs):
        return None
    args = [a.value if type(a) is Literal else const_val[a] for a in eqn.inputs]
    try:
        with np.errstate(all="ignore"):
            res = prim.impl(*args, **eqn.params)
    except Exception:
        return None
    res = list(res) if prim.multiple_results else [res]
    out = []
    for v, r in zip(eqn.outs, res):
        r = np.asarray(r)
        if r.shape != v.aval.shape or r.dtype != v.aval.dtype:
            return None
        out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# algebraic simplification


def _uniform(c):
    """The common value of a constant whose elements are all bitwise equal, else None."""
    c = np.asarray(c)
    if c.size == 0 or c.size > options.fold_limit or c.dtype.hasobject:
        return None
    flat = np.ascontiguousarray(c).reshape(-1)
    first = flat[:1]
    if c.size > 1 and not (flat.view(np.uint8).reshape(c.size, -1)
                           == first.view(np.uint8)).all():
        return None
    return flat[0]


def _is_unit(atom, kind, x_dtype) -> bool:
    if type(atom) is not Literal:
        return False
    v = atom.value
    if isinstance(v, (complex, np.complexfloating)) or isinstance(v, (str, bytes)):
        return False
    if kind == "one":
        # not for complex x: z * 1 is computed as complex(1, 0) * z, so inf+1j -> inf+nanj
        return x_dtype.kind in "biuf" and v == 1
    if v != 0:
        return False
    if x_dtype.kind in "iu":
        return True
    if x_dtype.kind == "f":
        return bool(np.signbit(v)) == (kind == "neg_zero")
    return False


def _rewrite(e: Eqn, producer: dict, const_val: dict, uses: dict):
    """One simplification of e: a replacement atom for its output, a new equation, or None."""
    prim, ins, params = e.prim, e.inputs, e.params
    if prim.multiple_results or len(e.outs) != 1:
        return None
    out = e.outs[0].aval
    traits = prim.traits
    if "elementwise" in traits:
        # operands: a broadcast (broadcasting is implied) or a uniform constant -> its value
        for i, a in enumerate(ins):
            if not _is_var(a):
                continue
            cand = None
            p = producer.get(a)
            if p is not None and "broadcast" in p.prim.traits:
                cand = p.inputs[0]
            elif a in const_val and i not in _ZERO_STRIDE_PATHS.get(prim, ()):
                u = _uniform(const_val[a])
                if u is not None:
                    cand = Literal(u)
            if cand is None:
                continue
            for c in ((cand, _strong(cand, a.aval)) if type(cand) is Literal else (cand,)):
                new_ins = ins[:i] + [c] + ins[i + 1:]
                if _out_aval(prim, new_ins, params) == out:
                    return Eqn(prim, new_ins, params, e.outs)
    absorb = getattr(prim, "absorb_transpose", None)
    if absorb is not None:
        for i, a in enumerate(ins):
            p = producer.get(a) if _is_var(a) else None
            if p is None or "transpose" not in p.prim.traits:
                continue
            new_params = absorb([b.aval for b in ins], params, i, tuple(p.params["perm"]))
            if new_params is not None:
                new_ins = ins[:i] + [p.inputs[0]] + ins[i + 1:]
                if _out_aval(prim, new_ins, new_params) == out:
                    return Eqn(prim, new_ins, new_params, e.outs)
    unit = _UNITS.get(prim)
    if unit is not None and len(ins) == 2:
        sides = (1, 0) if "commutative" in traits else (1,)
        for s in sides:
            x = ins[1 - s]
            if _is_var(x) and x.aval == out and _is_unit(ins[s], unit, x.aval.dtype):
                return x
    sq = _SQUARE.get(prim)
    if sq is not None and len(ins) == 2 and _is_var(ins[0]) and type(ins[1]) is Literal:
        v = ins[1].value
        if (not isinstance(v, (bool, np.bool_, complex, np.complexfloating)) and v == 2
                and ins[0].aval.dtype.kind in "iuf"):
            new_ins = [ins[0], ins[0]]
            if _out_aval(sq, new_ins, {}) == out:
                return Eqn(sq, new_ins, {}, e.outs)
    if len(ins) != 1 or not _is_var(ins[0]):
        return None
    x = ins[0]
    if ("reshape" in traits or "broadcast" in traits or prim in _CASTS) and x.aval == out:
        return x
    p = producer.get(x)
    if "transpose" in traits:
        perm = tuple(params["perm"])
        if perm == tuple(range(len(perm))):
            return x
        if p is not None and p.prim is prim:
            inner = tuple(p.params["perm"])
            return Eqn(prim, [p.inputs[0]], {**params, "perm": tuple(inner[j] for j in perm)},
                       e.outs)
        fold = getattr(p.prim, "fold_transpose", None) if p is not None else None
        if fold is not None and uses.get(x) == 1 and not p.prim.multiple_results:
            r = fold([a.aval for a in p.inputs], p.params, perm)
            if r is not None:
                order, new_params = r
                new = Eqn(p.prim, [p.inputs[i] for i in order], new_params, e.outs)
                if _out_aval(p.prim, new.inputs, new_params) == out:
                    return new
    if "reshape" in traits and p is not None and p.prim is prim:
        return Eqn(prim, [p.inputs[0]], params, e.outs)
    return None


def simplify(program: Program) -> Program:
    """Algebraic simplification that keeps IEEE semantics:
    x*1, 1*x, x/1, x**1 -> x for real, integer and boolean x (not complex: z * 1 multiplies by
    complex(1, 0), which maps inf+1j to inf+nanj); x + (-0.0), (-0.0) + x, x - 0.0 -> x for floats (x + 0.0 is
    kept: it maps -0.0 to +0.0), x + 0, x - 0 -> x for integers; x**2 -> x*x (real dtypes);
    transpose of transpose -> one transpose (or none); the transpose of a result used only
    there, of a primitive with a `fold_transpose` rule, -> that primitive computing the
    transposed result directly (transpose(x @ y) -> y.T @ x.T as one dot_general with swapped
    operands: a fresh C-ordered array instead of a transposed view; the same products, summed
    as BLAS sums them for that layout, so equal to rounding rather than bit for bit where BLAS
    takes a different kernel); an operand that is a transpose, of a primitive with an
    `absorb_transpose` rule, -> the transpose's input with the params renumbered (the same
    computation on the same data); reshape of reshape -> one reshape;
    reshape/broadcast to the same shape and conversion to the same dtype -> nothing; an
    elementwise operand that is a broadcast (or a constant whose elements are all equal) ->
    the broadcast's input (or that value), when broadcasting is implied (the equation's aval
    does not change; not a constant exponent of power, see `_ZERO_STRIDE_PATHS`). Never x-x -> 0 or x*0 -> 0 (wrong for inf/nan). Every rewrite requires
    the output aval to stay the same. Preserves values bit for bit (each rewrite is an exact
    identity) and derivatives (each is one for derivatives too)."""
    rw = _Rewriter()
    const_val = dict(zip(program.const_vars, program.consts))
    producer = {}
    uses = {}
    for eqn in program.eqns:
        for a in eqn.inputs:
            if _is_var(a):
                uses[a] = uses.get(a, 0) + 1
    for o in program.outs:
        if _is_var(o):
            uses[o] = uses.get(o, 0) + 1
    eqns = []
    for eqn in program.eqns:
        e = Eqn(eqn.prim, [rw(a) for a in eqn.inputs], eqn.params, eqn.outs)
        for _ in range(8):
            r = _rewrite(e, producer, const_val, uses)
            if r is None:
                break
            if isinstance(r, Eqn):
                e = r
                # the rewrite may read variables it did not (an over-count only keeps a
                # fold_transpose from firing)
                for a in e.inputs:
                    if _is_var(a):
                        uses[a] = uses.get(a, 0) + 1
                continue
            if _is_var(r):
                uses[r] = uses.get(r, 0) + uses.get(e.outs[0], 0)
            rw.replace(e.outs[0], r)
            e = None
            break
        if e is not None:
            eqns.append(e)
            for v in e.outs:
                producer[v] = e
    return dce(rw.finish(program, eqns))


# ---------------------------------------------------------------------------------------------
# fusion


def _fusible(e: Eqn) -> bool:
    t = e.prim.traits
    return (len(e.outs) == 1 and not (t & _OPAQUE)
            and ("elementwise" in t or "broadcast" in t)
            and e.outs[0].aval.ndim > 0 and not e.outs[0].aval.dtype.hasobject)


def _reduction_root(e: Eqn) -> bool:
    return ("reduction" in e.prim.traits and len(e.outs) == 1 and len(e.inputs) == 1
            and _is_var(e.inputs[0]) and e.inputs[0].aval.ndim > 0)


def fuse(program: Program) -> Program:
    """Elementwise fusion: each maximal tree of elementwise equations and broadcasts, all of
    one shape (the kernel's), whose intermediate values are used only inside the tree,
    optionally rooted at a reduction, becomes one equation of the `fused` primitive carrying
    the tree as a sub-program (at the root's position). Smaller-shaped elementwise work is
    not pulled in (it would be recomputed per element). Trees with fewer than two
    non-broadcast equations stay as they are. Preserves values exactly (the sub-program
    computes the same equations) and derivatives (`fused` differentiates its sub-program).
    Disabled by `options.fusion = False`."""
    if not options.fusion:
        return program
    eqns = program.eqns
    n = len(eqns)
    users = {}
    for i, e in enumerate(eqns):
        for a in e.inputs:
            if _is_var(a):
                users.setdefault(a, set()).add(i)
    for o in program.outs:
        if _is_var(o):
            users.setdefault(o, set()).add(-1)
    group = [None] * n
    shape = {}
    members = {}
    for i in range(n - 1, -1, -1):
        e = eqns[i]
        root = _reduction_root(e)
        if not (root or _fusible(e)):
            continue
        if not root:
            us = users.get(e.outs[0], ())
            gids = {group[u] if u >= 0 else None for u in us}
            if len(gids) == 1:
                gid = next(iter(gids))
                if gid is not None and e.outs[0].aval.shape == shape[gid]:
                    group[i] = gid
                    members[gid].append(i)
                    continue
        if "broadcast" in e.prim.traits:
            continue
        group[i] = i
        members[i] = [i]
        shape[i] = e.inputs[0].aval.shape if root else e.outs[0].aval.shape
    kernels = {}
    for gid, idx in members.items():
        if sum(1 for j in idx if "broadcast" not in eqns[j].prim.traits) >= 2:
            kernels[gid] = sorted(idx)
    if not kernels:
        return program
    out = []
    for i, e in enumerate(eqns):
        gid = group[i]
        if gid is None or gid not in kernels:
            out.append(e)
        elif i == gid:
            out.append(_make_kernel([eqns[j] for j in kernels[gid]]))
    return program.replace(eqns=out)


def _make_kernel(members):
    defined = set()
    ext = []
    for e in members:
        for a in e.inputs:
            if _is_var(a) and a not in defined and a not in ext:
                ext.append(a)
        defined.update(e.outs)
    ren = {a: Var(a.aval) for a in ext}
    sub_eqns = []
    for e in members:
        outs = [Var(v.aval) for v in e.outs]
        sub_eqns.append(Eqn(e.prim, [ren[a] if _is_var(a) else a for a in e.inputs],
                            e.params, outs))
        ren.update(zip(e.outs, outs))
    root = members[-1]
    sub = Program([], [], [ren[a] for a in ext], sub_eqns, [ren[root.outs[0]]])
    return Eqn(fused_p, list(ext), {"program": sub}, list(root.outs))


def unfuse(program: Program) -> Program:
    """Inline every `fused` equation's sub-program (the inverse of `fuse`), so that the other
    passes see the individual equations again. Preserves values exactly."""
    if not any(e.prim is fused_p for e in program.eqns):
        return program
    rw = _Rewriter()
    eqns = []
    const_vars, consts = list(program.const_vars), list(program.consts)
    for e in program.eqns:
        inputs = [rw(a) for a in e.inputs]
        if e.prim is not fused_p:
            eqns.append(Eqn(e.prim, inputs, e.params, e.outs))
            continue
        sub = unfuse(e.params["program"])
        new, res, sub_consts = inline(sub, inputs)
        eqns.extend(new)
        const_vars += [v for v, _ in sub_consts]
        consts += [c for _, c in sub_consts]
        for v, r in zip(e.outs, res):
            rw.replace(v, r)
    return rw.finish(program, eqns, const_vars=const_vars, consts=consts)


def inline(sub: Program, inputs):
    """sub's equations applied to `inputs` with fresh variables: (equations, output atoms,
    [(const var, value)] of sub's constants)."""
    ren = dict(zip(sub.in_vars, inputs))
    eqns = []
    for e in sub.eqns:
        outs = [Var(v.aval) for v in e.outs]
        eqns.append(Eqn(e.prim, [ren.get(a, a) if _is_var(a) else a for a in e.inputs],
                        e.params, outs))
        ren.update(zip(e.outs, outs))
    res = [ren.get(o, o) if _is_var(o) else o for o in sub.outs]
    return eqns, res, list(zip(sub.const_vars, sub.consts))


# ---------------------------------------------------------------------------------------------

PIPELINE = [unfuse, simplify, fold_constants, cse, dce, fuse]


def stages(program: Program) -> list:
    """[(pass name, program after it)] for each pass of the pipeline, to see what each did.

    Example:
      >>> for name, p in stages(program): print(name, len(p.eqns))
    """
    out = []
    for p in PIPELINE:
        program = p(program)
        out.append((p.__name__, program))
    return out


def optimize(program: Program, *, fusion: bool | None = None) -> Program:
    """Run the pass pipeline (`PIPELINE`) on a program; fusion=False skips `fuse` (for a
    program meant to be read op by op), None follows `options.fusion`."""
    if fusion is None:
        fusion = options.fusion
    with options.using(fusion=fusion):
        for p in PIPELINE:
            program = p(program)
    return program
