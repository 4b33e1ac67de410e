"""Fused kernels on numexpr (an optional dependency: `pip install numexpr`).

Contract: `plan(sub, names, bind)` decides whether a fused kernel (the sub-program of a
`fused` equation) runs as numexpr.evaluate calls, and if so returns the statements to emit.
It declines (returns None) unless numexpr is installed, every operation has a numexpr
spelling, the dtypes are numexpr's, the result dtypes of a trial evaluation match the
program's, and the policy of `options.kernel` allows it. A declined kernel is emitted as NumPy
calls by codegen. A kernel is one evaluate call unless an intermediate value is used twice
(it is evaluated once, then read), the nesting gets deep (Python's parser limits it) or the
kernel ends in a reduction (NumPy reduces the evaluated body, keeping its pairwise summation).

Why numexpr, and this policy ("auto"), measured on 2 AVX-512 cores, x*x + x*2.0 over a
5000x5000 float32 array (allocate-and-copy floor 10.5 ms; NumPy 37 ms with or without reused
`out=` buffers): numexpr 37 ms on 1 thread, 20-23 ms on 2; numba @vectorize 15 ms on either
(parallel target: 75-140 ms). But compiling 1,000 elementwise operations takes numexpr 15-25 ms
(in evaluate calls of <= 32 nested operations: one expression hits Python's parser nesting
limit) and numba 1.4 s (plus 0.24 s import and 0.46 s for its first kernel), and jit must
compile in well under a second; so numexpr, where it wins: large (>= 2^20 elements),
memory-bound arithmetic with >= 2 threads. Below 2^20 elements it is 2-5x slower than NumPy
(call overhead, cache-resident data) and on transcendental functions 3-20x slower (NumPy has
SIMD math, numexpr's VM has not).
"""
from __future__ import annotations

import math
import re

import numpy as np

from ..ir.program import Literal
from .config import options

try:  # optional dependency
    import numexpr as ne
except ImportError:  # pragma: no cover - depends on the environment
    ne = None

_DTYPES = {np.dtype(t) for t in (np.bool_, np.int32, np.int64, np.float32, np.float64,
                                 np.complex128)}
_MAX_DEPTH = 32

# operation (the object a primitive lowers to) -> (numexpr template, cheap arithmetic?)
_OPS = {
    np.add: ("({0} + {1})", True), np.subtract: ("({0} - {1})", True),
    np.multiply: ("({0} * {1})", True), np.true_divide: ("({0} / {1})", True),
    np.negative: ("(-{0})", True),
    np.less: ("({0} < {1})", True), np.less_equal: ("({0} <= {1})", True),
    np.greater: ("({0} > {1})", True), np.greater_equal: ("({0} >= {1})", True),
    np.equal: ("({0} == {1})", True), np.not_equal: ("({0} != {1})", True),
    np.where: ("where({0}, {1}, {2})", True),
    np.logical_and: ("({0} & {1})", True), np.logical_or: ("({0} | {1})", True),
    np.logical_not: ("(~{0})", True), np.absolute: ("abs({0})", True),
    np.conjugate: ("conj({0})", True), np.real: ("real({0})", True),
    np.imag: ("imag({0})", True),
    np.sin: ("sin({0})", False), np.cos: ("cos({0})", False), np.tan: ("tan({0})", False),
    np.arcsin: ("arcsin({0})", False), np.arccos: ("arccos({0})", False),
    np.arctan: ("arctan({0})", False), np.arctan2: ("arctan2({0}, {1})", False),
    np.sinh: ("sinh({0})", False), np.cosh: ("cosh({0})", False),
    np.tanh: ("tanh({0})", False), np.arcsinh: ("arcsinh({0})", False),
    np.arccosh: ("arccosh({0})", False), np.arctanh: ("arctanh({0})", False),
    np.exp: ("exp({0})", False), np.expm1: ("expm1({0})", False),
    np.log: ("log({0})", False), np.log10: ("log10({0})", False),
    np.log1p: ("log1p({0})", False), np.sqrt: ("sqrt({0})", False),
}
_BOOL_ONLY = {np.logical_and, np.logical_or, np.logical_not}
_NUMERIC_ONLY = {np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.absolute}


def op_of(prim):
    """The NumPy object a primitive lowers to (a ufunc or function), or None."""
    lower = prim.lower
    if isinstance(lower, str) and lower.startswith("np."):
        return getattr(np, lower[3:], None)
    if lower is None and getattr(np, getattr(prim.impl, "__name__", ""), None) is prim.impl:
        return prim.impl
    return None


def threads() -> int:
    return ne.get_num_threads() if ne is not None else 0


def _literal(value, dtype, bind):
    dtype = np.dtype(dtype)
    if dtype == np.float64 and math.isfinite(float(np.real(value))) and not np.iscomplexobj(
            value):
        return repr(float(value))
    if dtype == np.bool_:
        return repr(bool(value))
    if dtype.kind in "iu" and abs(int(value)) < 2 ** 31 and dtype in _DTYPES:
        return repr(int(value))
    return bind(np.asarray(value, dtype)[()])


def plan(sub, names: dict, bind):
    """Statements running the fused kernel `sub` with numexpr, or None (see the module doc).

    names: source names of sub's inputs; bind(value) -> the name of a new constant in the
    generated code's namespace. Returns a list of statements (kind, target, text, leaves,
    dtype): kind "evaluate" (text is a numexpr expression over the names in leaves), "numpy"
    (text is a NumPy expression) or "broadcast"; targets are placeholders `_t<k>` that
    `render` names, the last statement's target being the kernel's result.
    """
    mode = options.kernel
    if ne is None or mode == "numpy" or len(sub.outs) != 1 or not sub.eqns:
        return None
    size = max([v.aval.size for e in sub.eqns for v in e.outs]
               + [v.aval.size for v in sub.in_vars])
    if mode == "auto" and (size < options.numexpr_min_size or threads() < 2):
        return None
    if any(v.aval.dtype not in _DTYPES for v in sub.in_vars):
        return None
    uses = {}
    for e in sub.eqns:
        for a in e.inputs:
            if type(a) is not Literal:
                uses[a] = uses.get(a, 0) + 1
    text = {v: names[v] for v in sub.in_vars}
    depth = {v: 0 for v in sub.in_vars}
    leaves = {v: {names[v]} for v in sub.in_vars}
    dtypes = {names[v]: v.aval.dtype for v in sub.in_vars}
    consts = {}
    stmts = []

    def emit(kind, src, lv, dtype):
        t = f"_t{len(stmts)}"
        stmts.append((kind, t, src, sorted(lv), dtype))
        return t

    def materialize(v):
        if depth[v] > 0:
            t = emit("evaluate", text[v], leaves[v], v.aval.dtype)
            text[v], depth[v], leaves[v] = t, 0, {t}

    for i, e in enumerate(sub.eqns):
        out, ins = e.outs[0], e.inputs
        if out.aval.dtype not in _DTYPES:
            return None
        if "reduction" in e.prim.traits:
            if i != len(sub.eqns) - 1 or not callable(e.prim.lower):
                return None
            materialize(ins[0])
            emit("numpy", e.prim.lower([text[ins[0]]], e.params), leaves[ins[0]],
                 out.aval.dtype)
            return stmts if _trial(stmts, dtypes, consts) else None
        if "broadcast" in e.prim.traits:
            if type(ins[0]) is Literal:
                return None
            materialize(ins[0])
            t = emit("broadcast", f"np.broadcast_to({text[ins[0]]}, {out.aval.shape!r})",
                     leaves[ins[0]], out.aval.dtype)
            text[out], depth[out], leaves[out] = t, 0, {t}
            continue
        op = op_of(e.prim)
        spec = _OPS.get(op) if op is not None and not e.params else None
        if spec is None or (mode == "auto" and not spec[1]):
            return None
        var_dtypes = [a.aval.dtype for a in ins if type(a) is not Literal]
        if (any(d not in _DTYPES for d in var_dtypes)
                or (op in _BOOL_ONLY and any(d != np.bool_ for d in var_dtypes))
                or (op in _NUMERIC_ONLY and any(d == np.bool_ for d in var_dtypes))
                or (op is np.absolute and any(d.kind == "c" for d in var_dtypes))):
            return None
        args, lv, dp = [], set(), 0
        for a in ins:
            if type(a) is Literal:
                dt = np.result_type(*var_dtypes, a.value)
                src = _literal(a.value, dt, bind)
                if src.isidentifier():
                    consts[src] = np.asarray(a.value, dt)[()]
                    lv.add(src)
                args.append(src)
            else:
                args.append(text[a])
                lv |= leaves[a]
                dp = max(dp, depth[a])
        text[out], leaves[out], depth[out] = spec[0].format(*args), lv, dp + 1
        if uses.get(out, 0) > 1 or depth[out] >= _MAX_DEPTH:
            materialize(out)
    res = sub.outs[0]
    if type(res) is Literal or res not in text:
        return None
    materialize(res)
    if not stmts or stmts[-1][1] != text[res]:
        return None
    return stmts if _trial(stmts, dtypes, consts) else None


def _strip(expr: str) -> str:
    """expr without one pair of enclosing parentheses."""
    if not (expr.startswith("(") and expr.endswith(")")):
        return expr
    d = 0
    for i, ch in enumerate(expr):
        d += (ch == "(") - (ch == ")")
        if d == 0 and i < len(expr) - 1:
            return expr
    return expr[1:-1]


def _trial(stmts, dtypes: dict, consts: dict) -> bool:
    """Evaluate the statements on one-element arrays: do the result dtypes match?"""
    env = {k: np.ones(1, d) for k, d in dtypes.items()}
    env.update(consts)
    try:
        with np.errstate(all="ignore"):
            for kind, target, text, leaves, dtype in stmts:
                if kind == "evaluate":
                    r = ne.evaluate(_strip(text), local_dict={k: env[k] for k in leaves})
                    if r.dtype != dtype:
                        return False
                else:
                    r = np.ones(1, dtype)
                env[target] = r
    except Exception:
        return False
    return True


def render(stmts, names: dict) -> list[str]:
    """Source lines for planned statements; `names` maps each placeholder target to the name
    it gets in the generated code."""
    def sub_names(text):
        return re.sub(r"\b_t\d+\b", lambda m: names[m.group(0)], text)

    lines = []
    for kind, target, text, leaves, dtype in stmts:
        text = sub_names(text)
        if kind == "evaluate":
            ld = ", ".join(f"{n!r}: {n}" for n in (names.get(k, k) for k in leaves))
            lines.append(f"{names[target]} = ne.evaluate({_strip(text)!r}, "
                         f"local_dict={{{ld}}})")
        else:
            lines.append(f"{names[target]} = {text}")
    return lines
