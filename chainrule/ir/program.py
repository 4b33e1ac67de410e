"""The staged program: typed, in A-normal form (inputs, equations, outputs).

Contract:
- A `Program` has input variables, a list of equations and output atoms. Each equation applies
  one primitive to atoms (variables or literals) with static params and defines new variables.
  Every variable is defined exactly once, before its uses (checked by `check`).
- Constants that are arrays are program inputs too (`const_vars` with `consts` values), so a
  program is a closed, pure function of (consts, inputs).
- `eval_program` interprets a program through `bind`, so a staged program can be transformed
  again (grad, jvp, vmap of a jitted function).
"""
from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from ..core import ShapedArray, bind, Primitive

_ids = itertools.count()


class Var:
    """A program variable with an abstract value."""

    __slots__ = ("aval", "id")

    def __init__(self, aval: ShapedArray):
        self.aval = aval
        self.id = next(_ids)

    def __repr__(self):
        return f"Var{self.id}:{self.aval.str_short()}"


class Literal:
    """A scalar constant written into the program text."""

    __slots__ = ("value", "aval")

    def __init__(self, value):
        self.value = value
        self.aval = ShapedArray(np.shape(value), np.result_type(value))

    def __repr__(self):
        return repr(self.value)


class Eqn:
    """outs = prim(*inputs, **params)."""

    __slots__ = ("prim", "inputs", "params", "outs")

    def __init__(self, prim: Primitive, inputs: list, params: dict, outs: list):
        self.prim, self.inputs, self.params, self.outs = prim, inputs, params, outs

    def __repr__(self):
        return f"Eqn({self.prim.name})"


class Program:
    """A closed staged function: (consts, inputs) -> outputs."""

    __slots__ = ("const_vars", "consts", "in_vars", "eqns", "outs", "_cache")

    def __init__(self, const_vars: list, consts: list, in_vars: list, eqns: list, outs: list):
        self.const_vars = list(const_vars)
        self.consts = list(consts)
        self.in_vars = list(in_vars)
        self.eqns = list(eqns)
        self.outs = list(outs)
        self._cache = {}

    @property
    def in_avals(self):
        return [v.aval for v in self.in_vars]

    @property
    def out_avals(self):
        return [o.aval for o in self.outs]

    def replace(self, **kw) -> "Program":
        d = dict(const_vars=self.const_vars, consts=self.consts, in_vars=self.in_vars,
                 eqns=self.eqns, outs=self.outs)
        d.update(kw)
        return Program(**d)

    def __str__(self):
        from .printer import pprint
        return pprint(self)

    __repr__ = __str__

    def to_dot(self) -> str:
        from .printer import to_dot
        return to_dot(self)


def eval_program(program: Program, args: Sequence[Any], consts: Sequence[Any] | None = None):
    """Evaluate a program on arguments by binding each equation's primitive (transformable)."""
    env = {}
    for v, c in zip(program.const_vars, program.consts if consts is None else consts):
        env[v] = c
    if len(args) != len(program.in_vars):
        raise TypeError(f"program takes {len(program.in_vars)} inputs, got {len(args)}")
    for v, a in zip(program.in_vars, args):
        env[v] = a

    def read(a):
        return a.value if type(a) is Literal else env[a]

    for eqn in program.eqns:
        res = bind(eqn.prim, *[read(a) for a in eqn.inputs], **eqn.params)
        if eqn.prim.multiple_results:
            for v, r in zip(eqn.outs, res):
                env[v] = r
        else:
            env[eqn.outs[0]] = res
    return [read(o) for o in program.outs]


class ProgramError(Exception):
    """The checker found an ill-formed program."""


def check(program: Program) -> None:
    """Check that the program is well formed: variables defined once before use, avals
    consistent with each primitive's shape rule (when it has one)."""
    defined = set()
    for v in program.const_vars + program.in_vars:
        if v in defined:
            raise ProgramError(f"variable {v} defined twice")
        defined.add(v)
    for i, eqn in enumerate(program.eqns):
        for a in eqn.inputs:
            if type(a) is not Literal and a not in defined:
                raise ProgramError(f"equation {i} ({eqn.prim.name}) uses {a} before it is "
                                   "defined")
        rule = eqn.prim.abstract_eval
        if rule is not None and "call" not in eqn.prim.traits:
            try:
                out = rule(*[a.value if type(a) is Literal else a.aval for a in eqn.inputs],
                           **eqn.params)
            except Exception as e:  # pragma: no cover - reported as a program error
                raise ProgramError(f"equation {i} ({eqn.prim.name}): shape rule failed: "
                                   f"{e}") from e
            outs = out if eqn.prim.multiple_results else [out]
            for v, o in zip(eqn.outs, outs):
                if v.aval != o:
                    raise ProgramError(f"equation {i} ({eqn.prim.name}) defines {v} but its "
                                       f"shape rule gives {o}")
        for v in eqn.outs:
            if v in defined:
                raise ProgramError(f"variable {v} defined twice (equation {i})")
            defined.add(v)
    for o in program.outs:
        if type(o) is not Literal and o not in defined:
            raise ProgramError(f"output {o} is not defined")
