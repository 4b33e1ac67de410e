"""Compiler passes: pure functions Program -> Program, each preserving the program's values.

- `dce`: drops equations whose outputs are unused (primitives here have no side effects,
  except those with the trait "effect", which are kept).
"""
from __future__ import annotations

from ..ir.program import Literal, Program


def dce(program: Program) -> Program:
    """Dead-code elimination. Preserves: outputs, and every equation with an effect."""
    live = {o for o in program.outs if type(o) is not Literal}
    kept = []
    for eqn in reversed(program.eqns):
        if "effect" in eqn.prim.traits or any(v in live for v in eqn.outs):
            kept.append(eqn)
            live.update(a for a in eqn.inputs if type(a) is not Literal)
    kept.reverse()
    used_consts = [(v, c) for v, c in zip(program.const_vars, program.consts) if v in live]
    return program.replace(eqns=kept, const_vars=[v for v, _ in used_consts],
                           consts=[c for _, c in used_consts])


PIPELINE = [dce]


def optimize(program: Program) -> Program:
    """Run the pass pipeline."""
    for p in PIPELINE:
        program = p(program)
    return program
