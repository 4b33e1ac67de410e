"""Code generation: a Program becomes the source of a Python function over NumPy.

Contract: `generate_source(program)` returns readable Python source (one statement per
equation) and the namespace it needs; `compile_program` execs it. A primitive's `lower` is
either the dotted name of a NumPy function taking the same positional arguments (used when
the equation has no params) or a callable (arg_sources, params) -> expression source; without
one, the equation calls the primitive's impl by name with its params.
"""
from __future__ import annotations

import math
import re

import numpy as np
import scipy.special as sps

from ..ir.program import Literal, Program

_IDENT = re.compile(r"[^0-9a-zA-Z_]")


def _var_names():
    i = 0
    while True:
        yield f"v{i}"
        i += 1


def _literal_src(value, ns):
    if isinstance(value, (bool, int)) and not isinstance(value, np.generic):
        return repr(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    key = f"_k{len(ns)}"
    ns[key] = value
    return key


def _param_src(v, ns):
    if v is None or isinstance(v, (bool, int, str)) or v is Ellipsis:
        return repr(v)
    if isinstance(v, float):
        return _literal_src(v, ns)
    if isinstance(v, tuple):
        inner = ", ".join(_param_src(x, ns) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, np.dtype):
        return f"np.dtype({v.name!r})" if v.names is None else _bind(v, ns)
    if isinstance(v, type) and issubclass(v, np.generic):
        return f"np.{v.__name__}"
    return _bind(v, ns)


def _bind(v, ns):
    key = f"_p{len(ns)}"
    ns[key] = v
    return key


def generate_source(program: Program, name: str = "compiled"):
    """(source, namespace) of a Python function computing the program."""
    ns = {"np": np, "sps": sps}
    names = {}
    gen = _var_names()

    def nm(v):
        if type(v) is Literal:
            return _literal_src(v.value, ns)
        return names[v]

    for v, c in zip(program.const_vars, program.consts):
        key = f"c{len(names)}"
        names[v] = key
        ns[key] = c
    args = []
    for v in program.in_vars:
        names[v] = next(gen)
        args.append(names[v])
    lines = [f"def {name}({', '.join(args)}):"]
    for eqn in program.eqns:
        for v in eqn.outs:
            names[v] = next(gen)
        ins = [nm(a) for a in eqn.inputs]
        lower = eqn.prim.lower
        if isinstance(lower, str) and lower and not eqn.params:
            expr = f"{lower}({', '.join(ins)})"
        elif isinstance(lower, str) and lower == "" and len(ins) == 1:
            expr = ins[0]
        elif callable(lower):
            expr = lower(ins, eqn.params)
        else:
            fname = "_" + _IDENT.sub("_", eqn.prim.name)
            if ns.get(fname, eqn.prim.impl) is not eqn.prim.impl:
                fname = f"{fname}_{id(eqn.prim)}"
            ns[fname] = eqn.prim.impl
            ps = [f"{k}={_param_src(v, ns)}" for k, v in eqn.params.items()]
            expr = f"{fname}({', '.join(ins + ps)})"
        lhs = ", ".join(names[v] for v in eqn.outs)
        if eqn.prim.multiple_results:
            lhs += "," if len(eqn.outs) == 1 else ""
            if not eqn.outs:
                lhs = "_"
        lines.append(f"    {lhs} = {expr}")
    lines.append(f"    return [{', '.join(nm(o) for o in program.outs)}]")
    return "\n".join(lines) + "\n", ns


def compile_program(program: Program, name: str = "compiled"):
    """A Python function computing the program (the generated source is its `.source`)."""
    src, ns = generate_source(program, name)
    code = compile(src, f"<chainrule {name}>", "exec")
    exec(code, ns)
    fn = ns[name]
    fn.source = src
    return fn
