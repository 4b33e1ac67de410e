"""The staged program (IR): Program/Eqn/Var/Literal, printer, checker, interpreter."""
from .program import Program, Eqn, Var, Literal, eval_program, check, ProgramError  # noqa
from .printer import pprint, to_dot  # noqa: F401
