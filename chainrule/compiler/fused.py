"""The `fused` primitive: one equation that runs a sub-program (a fused elementwise kernel).

Contract: `fused(*inputs, program=sub)` computes exactly `sub(*inputs)`. Its shape rule is the
sub-program's output avals; its derivative and batching rules are those of `jit` (they
transform the sub-program), so a jitted function whose program was fused can still be
differentiated and batched. The `fuse` pass creates these equations and `unfuse` removes them;
code generation emits one kernel (numexpr, or NumPy calls reusing buffers) per equation.
"""
from __future__ import annotations

from ..core import Primitive
from ..ir.program import eval_program
from ..transforms import staging

fused_p = Primitive("fused", multiple_results=True)
fused_p.traits = frozenset({"kernel"})


def _fused_impl(*args, program):
    fn = program._cache.get("compiled")
    if fn is None:
        from .codegen import compile_program
        fn = program._cache["compiled"] = compile_program(program, "kernel")
    return fn(*args)


fused_p.impl = _fused_impl
fused_p.abstract_eval = lambda *avals, program: [o.aval for o in program.outs]
fused_p.inline = lambda *args, program: eval_program(program, args)
fused_p.jvp = staging.jit_p.jvp
fused_p.reverse = staging.jit_p.reverse
fused_p.batch = staging.jit_p.batch
