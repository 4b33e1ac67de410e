"""Readable text and Graphviz DOT renderings of a Program."""
from __future__ import annotations

import string

import numpy as np

from .program import Literal, Program


def _names():
    letters = string.ascii_lowercase
    n = 1
    while True:
        import itertools
        for t in itertools.product(letters, repeat=n):
            yield "".join(t)
        n += 1


def _fmt_param(v):
    if isinstance(v, Program):
        return "{program with %d equations}" % len(v.eqns)
    if callable(v) and not isinstance(v, (np.dtype, type)):
        return getattr(v, "__name__", "<fn>")
    if isinstance(v, np.dtype):
        return v.name
    if isinstance(v, type):
        return np.dtype(v).name
    return repr(v)


def pprint(program: Program, indent: str = "  ") -> str:
    """The program as typed text: one equation per line."""
    gen = _names()
    names = {}

    def name(v):
        if type(v) is Literal:
            return repr(v.value.item() if isinstance(v.value, np.generic) else v.value)
        if v not in names:
            names[v] = next(gen)
        return names[v]

    def decl(v):
        return f"{name(v)}:{v.aval.str_short()}"

    head = f"program({', '.join(decl(v) for v in program.in_vars)})"
    if program.const_vars:
        head += f" consts({', '.join(decl(v) for v in program.const_vars)})"
    lines = [head + " {"]
    for eqn in program.eqns:
        params = {k: v for k, v in eqn.params.items()}
        ptxt = ""
        if params:
            ptxt = "[" + ", ".join(f"{k}={_fmt_param(v)}" for k, v in params.items()) + "]"
        lhs = " ".join(decl(v) for v in eqn.outs) or "_"
        rhs = " ".join(name(a) for a in eqn.inputs)
        lines.append(f"{indent}{lhs} = {eqn.prim.name}{ptxt} {rhs}".rstrip())
    lines.append(f"{indent}return ({', '.join(name(o) for o in program.outs)}"
                 f"{',' if len(program.outs) == 1 else ''})")
    lines.append("}")
    return "\n".join(lines)


def to_dot(program: Program) -> str:
    """Graphviz DOT text: variables as ellipses, equations as boxes."""
    gen = _names()
    names = {}
    out = ["digraph program {", "  rankdir=TB;"]

    def node(v):
        if type(v) is Literal:
            key = f"lit{id(v)}"
            out.append(f'  {key} [label="{v.value!r}", shape=plaintext];')
            return key
        if v not in names:
            names[v] = next(gen)
            out.append(f'  {names[v]} [label="{names[v]}: {v.aval.str_short()}", '
                       'shape=ellipse];')
        return names[v]

    for v in program.in_vars:
        n = node(v)
        out.append(f"  {n} [style=bold];")
    for v in program.const_vars:
        node(v)
    for i, eqn in enumerate(program.eqns):
        e = f"eqn{i}"
        out.append(f'  {e} [label="{eqn.prim.name}", shape=box];')
        for a in eqn.inputs:
            out.append(f"  {node(a)} -> {e};")
        for v in eqn.outs:
            out.append(f"  {e} -> {node(v)};")
    for i, o in enumerate(program.outs):
        out.append(f'  out{i} [label="out {i}", shape=plaintext];')
        out.append(f"  {node(o)} -> out{i};")
    out.append("}")
    return "\n".join(out)
