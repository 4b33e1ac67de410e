"""Fused kernels: how the sub-program of a `fused` equation runs, chosen on measured costs.

Contract: `plan(sub, names, bind)` returns a `NumexprKernel` when the kernel should run as
ONE numexpr program, else None (code generation then emits NumPy calls: one per operation with
reused `out=` buffers, or, for large kernels, the same calls over cache-sized blocks of rows,
see codegen's `_block_rows`). A kernel is declined unless numexpr is installed and passed the
self-test below, every operation has an exact numexpr counterpart for its dtypes, and the
policy of `options.kernel` allows it.

The numexpr program is built directly as numexpr virtual-machine code (three-address
instructions over registers, allocated by liveness), not as expression text: values used
several times are computed once and kept in a register, and a kernel of hundreds of
operations (a whole elementwise gradient) is still one call of a few microseconds; numexpr's
text interface would need one call per shared value and hits Python's parser nesting limit.
The program format (`numexpr.interpreter.NumExpr(signature, tempsig, program, constants,
input_names)`, 4-byte instructions, `opcodes`/`funccodes`) has been stable since numexpr 2.0;
a self-test at first use checks it and disables numexpr kernels if it fails.

Semantics: every operation maps to the numexpr operation computing the same IEEE function
(arithmetic, comparisons, where, casts are exact; transcendental functions are the C
library's, which may differ from NumPy's SIMD versions in the last bit). Floating-point
warnings (overflow, invalid) are not raised by numexpr. `zero_safe_multiply` is
where(isnan(x*y) & ((x == 0) | (y == 0)), 0, x*y), elementwise (see `_zmul_ops`).
A numexpr program object keeps its temporaries' pointers in itself while it runs (without
the GIL), so two threads must not run the same one at once: codegen locks each call.

Policy ("auto"), from measurements (`measure_costs`; numbers from 2 AVX-512 cores): calling
NumPy costs ~0.4 us per operation plus its per-element work; one numexpr call costs ~0.8 us
plus ~5 ns per instruction plus its per-element work, which is up to 2-8x NumPy's for
transcendental functions (NumPy has SIMD math) and ~2x for arithmetic. So numexpr wins for
long kernels on small and medium arrays (the 330-instruction gradient of W1 on 10 elements:
12 us against 119 us as NumPy calls; break-even near 400 elements), NumPy for large arrays
(x*x + x*2.0 on 25M float32: 26 ms against 13 ms blocked). `estimate` computes both costs per
kernel from the table `COSTS`.
numba (0.68) was measured as the alternative: 0.25 s to import, 0.64 s to compile W1's
gradient kernel (258 operations) on first call; it then runs it in 5.8 us on 10 elements
and 470 us on 1,000 (numexpr 12 and 800 us, NumPy calls 119 and 600 us). jit's compile
budget (W7: the first result of 1,000 operations within a fifth of JAX's ~0.7-1.2 s; 40 ms
now) excludes it.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..ir.program import Literal
from .config import options

try:  # optional dependency
    import numexpr as ne
    from numexpr import interpreter as _vm
except ImportError:  # pragma: no cover - depends on the environment
    ne = _vm = None

_TC = {np.dtype(np.bool_): "b", np.dtype(np.int32): "i", np.dtype(np.int64): "l",
       np.dtype(np.float32): "f", np.dtype(np.float64): "d", np.dtype(np.complex128): "c"}
_DT = {v: k for k, v in _TC.items()}
_MAX_INPUTS = 30          # below NumPy's iterator limit on operands
_MAX_REGISTERS = 255      # one byte per register number, 255 means "none"

# numexpr operation -> (kinds it computes in, function code name or None)
_ARITH = {np.add: ("add", "ilfdc"), np.subtract: ("sub", "ilfdc"),
          np.multiply: ("mul", "ilfdc"), np.true_divide: ("div", "fd"),
          np.power: ("pow", "fd")}
_COMPARE = {np.greater: ("gt", False), np.greater_equal: ("ge", False),
            np.less: ("gt", True), np.less_equal: ("ge", True),
            np.equal: ("eq", False), np.not_equal: ("ne", False)}
_LOGICAL = {np.logical_and: "and", np.logical_or: "or", np.logical_xor: "xor"}
_BITWISE = {np.bitwise_and: "and", np.bitwise_or: "or", np.bitwise_xor: "xor"}
_FUNC1 = {f: f.__name__ for f in (
    np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan, np.sinh, np.cosh, np.tanh,
    np.arcsinh, np.arccosh, np.arctanh, np.exp, np.expm1, np.log, np.log1p, np.log2,
    np.log10, np.floor, np.ceil, np.trunc)}
_FUNC1.update({np.absolute: "absolute", np.rint: "round", np.sign: "sign"})
_FUNC2 = {f: f.__name__ for f in (np.arctan2, np.hypot, np.copysign, np.nextafter, np.fmod,
                                   np.maximum, np.minimum)}
_PREDICATE = {np.isnan: "isnan", np.isinf: "isinf", np.isfinite: "isfinite",
              np.signbit: "signbit"}


class _Decline(Exception):
    """The kernel has an operation or dtype numexpr cannot compute exactly."""


def op_of(prim):
    """The NumPy object a primitive lowers to (a ufunc or function), or None."""
    lower = prim.lower
    if isinstance(lower, str) and lower.startswith("np."):
        return getattr(np, lower[3:], None)
    if lower is None and getattr(np, getattr(prim.impl, "__name__", ""), None) is prim.impl:
        return prim.impl
    return None


def threads() -> int:
    """numexpr's thread count (0 without numexpr)."""
    return ne.get_num_threads() if ne is not None else 0


# ---------------------------------------------------------------------------------------------
# building a program


class _Builder:
    """Three-address code over value ids; `kind[v]` is the numexpr type code of value v."""

    def __init__(self):
        self.kind = []
        self.code = []            # (opcode name, dst, args); an arg ("n", k) is an immediate
        self.inputs = []          # value ids of the inputs, in call order
        self.consts = {}          # (kind, value key) -> value id
        self.const_vals = {}      # value id -> the constant
        self.broadcast = set()    # value ids of inputs broadcast to the kernel's shape

    def new(self, tc: str) -> int:
        self.kind.append(tc)
        return len(self.kind) - 1

    def input(self, tc: str) -> int:
        v = self.new(tc)
        self.inputs.append(v)
        return v

    def const(self, value, tc: str) -> int:
        c = _const_value(value, tc)
        key = (tc, repr(c) if tc in "fdc" else c)
        v = self.consts.get(key)
        if v is None:
            v = self.consts[key] = self.new(tc)
            self.const_vals[v] = c
        return v

    def emit(self, op: str, out_tc: str, *args) -> int:
        name = f"{op}_{out_tc}{''.join(self.kind[a] for a in args)}"
        if name.encode() not in _vm.opcodes:
            raise _Decline(name)
        dst = self.new(out_tc)
        self.code.append((name, dst, list(args)))
        return dst

    def func(self, fname: str, out_tc: str, *args) -> int:
        sig = "".join(self.kind[a] for a in args)
        code = _vm.funccodes.get(f"{fname}_{out_tc}{sig}".encode())
        op = f"func_{out_tc}{sig}n"
        if code is None or op.encode() not in _vm.opcodes:
            raise _Decline(fname)
        dst = self.new(out_tc)
        self.code.append((op, dst, list(args) + [("n", code)]))
        return dst

    def cast(self, v: int, tc: str) -> int:
        have = self.kind[v]
        if have == tc:
            return v
        if v in self.const_vals:
            return self.const(self.const_vals[v], tc)
        return self.emit("cast", tc, v) if f"cast_{tc}{have}".encode() in _vm.opcodes \
            else _raise(f"cast {have}->{tc}")


def _raise(msg):
    raise _Decline(msg)


def _const_value(value, tc: str):
    if tc == "b":
        return bool(value)
    if tc in "il":
        # a Python int out of the kernel's range (x < 2**40 for int32 x, which NumPy compares
        # exactly) has no numexpr constant: decline instead of OverflowError
        try:
            return np.int32(value) if tc == "i" else np.int64(value)
        except OverflowError:
            raise _Decline(f"integer constant {value!r} out of range") from None
    if tc == "f":
        return np.float32(value)
    if tc == "d":
        return float(value)
    return complex(value)


def _power(b: _Builder, x: int, y: int, tc: str) -> int:
    """x ** y as NumPy computes it: its power loop, for an exponent with stride 0, takes fast
    paths for 2 (square), 0.5 (sqrt: nan at -inf, -0.0 at -0.0, where pow gives inf and 0.0)
    and -1 (reciprocal); else C pow (0 and 1 are exact there), as for an exponent array. An
    exponent that is neither a constant nor a full-shape value (a broadcast input, stride 0
    at run time, whose value is unknown here) declines the kernel."""
    c = b.const_vals.get(y)
    if c is None:
        if y in b.broadcast:
            raise _Decline("power with a broadcast exponent")
    elif c == 2:
        return b.emit("mul", tc, x, x)
    elif c == 0.5:
        return b.emit("sqrt", tc, x)
    elif c == -1:
        return b.emit("div", tc, b.const(1, tc), x)
    return b.emit("pow", tc, x, y)


def _zmul_ops(b: _Builder, x: int, y: int, tc: str) -> int:
    """zero_safe_multiply: x*y, except 0 where the product is NaN and a factor is 0 (0 * inf,
    0 * NaN), elementwise."""
    p = b.emit("mul", tc, x, y)
    nan = b.emit("ne", "b", p, p)
    zero = b.const(0, tc)
    z = b.emit("or", "b", b.emit("eq", "b", x, zero), b.emit("eq", "b", y, zero))
    return b.emit("where", tc, b.emit("and", "b", nan, z), zero, p)


def _translate(b: _Builder, e, ins: list, vals: list, out_dtype) -> int:
    """The value id computing equation e (its inputs' value ids in `ins`; `vals` are the
    equation's atoms, for dtype promotion of literals)."""
    from ..prims.elementwise import zmul_p
    from ..prims.structural import convert_p
    out_tc = _TC.get(np.dtype(out_dtype))
    if out_tc is None:
        raise _Decline(str(out_dtype))
    if e.prim is zmul_p:
        if out_tc not in "fdc":
            raise _Decline("zmul kind")
        return _zmul_ops(b, b.cast(ins[0], out_tc), b.cast(ins[1], out_tc), out_tc)
    if e.prim is convert_p:
        return b.cast(ins[0], out_tc)
    if e.prim.lower == "" and len(ins) == 1:                 # the identity (stop_gradient)
        return ins[0]
    op = op_of(e.prim)
    if op is None or e.params:
        raise _Decline(e.prim.name)
    # NumPy's computation dtype (NEP 50: Python scalars are weak)
    comp = np.result_type(*[a.value if type(a) is Literal else a.aval.dtype for a in vals])
    tc = _TC.get(comp)
    if tc is None:
        raise _Decline(str(comp))
    if op is np.power and out_tc in "fd":
        return _power(b, b.cast(ins[0], out_tc), b.cast(ins[1], out_tc), out_tc)
    if op in _ARITH:
        name, kinds = _ARITH[op]
        if out_tc not in kinds:
            raise _Decline(f"{name} {out_tc}")
        return b.emit(name, out_tc, *[b.cast(v, out_tc) for v in ins])
    if op in _COMPARE:
        name, swap = _COMPARE[op]
        if tc == "c" and name not in ("eq", "ne"):
            raise _Decline("complex order")
        args = [b.cast(v, tc) for v in ins]
        return b.emit(name, "b", *(args[::-1] if swap else args))
    if op in _LOGICAL or op is np.logical_not:
        if any(b.kind[v] != "b" for v in ins):
            raise _Decline("logical of non-bool")
        return b.emit("invert", "b", ins[0]) if op is np.logical_not else \
            b.emit(_LOGICAL[op], "b", *ins)
    if op in _BITWISE or op is np.invert:
        if out_tc not in "bil":
            raise _Decline("bitwise kind")
        args = [b.cast(v, out_tc) for v in ins]
        return b.emit("invert", out_tc, *args) if op is np.invert else \
            b.emit(_BITWISE[op], out_tc, *args)
    if op is np.where:
        if b.kind[ins[0]] != "b":
            raise _Decline("where condition")
        return b.emit("where", out_tc, ins[0], b.cast(ins[1], out_tc), b.cast(ins[2], out_tc))
    if op is np.negative:
        if out_tc == "b":
            raise _Decline("negative bool")
        return b.emit("neg", out_tc, b.cast(ins[0], out_tc))
    if op is np.sqrt:
        if out_tc not in "fd":
            raise _Decline("sqrt kind")
        return b.emit("sqrt", out_tc, b.cast(ins[0], out_tc))
    if op is np.conjugate:
        return b.func("conjugate", "c", ins[0]) if out_tc == "c" else b.cast(ins[0], out_tc)
    if op in (np.real, np.imag):
        if b.kind[ins[0]] != "c" or out_tc != "d":
            raise _Decline("real/imag of real")
        return b.emit("real" if op is np.real else "imag", "d", ins[0])
    if op in _FUNC1:
        if out_tc not in ("fdil" if op in (np.absolute, np.sign) else "fd"):
            raise _Decline(f"{op.__name__} {out_tc}")
        return b.func(_FUNC1[op], out_tc, b.cast(ins[0], out_tc))
    if op in _FUNC2:
        if out_tc not in "fd":
            raise _Decline(f"{op.__name__} {out_tc}")
        return b.func(_FUNC2[op], out_tc, *[b.cast(v, out_tc) for v in ins])
    if op in _PREDICATE:
        if tc not in "fd":
            raise _Decline(f"{op.__name__} {tc}")
        return b.func(_PREDICATE[op], "b", ins[0])
    raise _Decline(e.prim.name)


def _registers(b: _Builder, result: int):
    """Register numbers: 0 the output, then inputs, constants, temporaries (reused once dead).
    Returns (register of each value, temporaries' kinds)."""
    reg = {result: 0}
    for i, v in enumerate(b.inputs):
        reg[v] = 1 + i
    base = 1 + len(b.inputs)
    consts = sorted(b.const_vals)
    for i, v in enumerate(consts):
        reg[v] = base + i
    base += len(consts)
    last = {}
    for i, (_, _, args) in enumerate(b.code):
        for a in args:
            if type(a) is int:
                last[a] = i
    free = {}
    temps = []
    for i, (_, dst, args) in enumerate(b.code):
        for a in {a for a in args if type(a) is int}:
            if last[a] == i and a not in b.const_vals and a not in b.inputs and a != result:
                free.setdefault(b.kind[a], []).append(reg[a])
        if dst in reg:
            continue
        pool = free.get(b.kind[dst])
        if pool:
            reg[dst] = pool.pop()
        else:
            reg[dst] = base + len(temps)
            temps.append(b.kind[dst])
    return reg, "".join(temps)


def _encode(b: _Builder, reg: dict) -> bytes:
    out = bytearray()
    noop = _vm.opcodes[b"noop"]
    for name, dst, args in b.code:
        rs = [a[1] if type(a) is tuple else reg[a] for a in args]
        out += bytes([_vm.opcodes[name.encode()], reg[dst]] + rs[:2] + [255] * (2 - len(rs[:2])))
        for k in range(2, len(rs), 3):
            chunk = rs[k:k + 3]
            out += bytes([noop] + chunk + [255] * (3 - len(chunk)))
    return bytes(out)


class NumexprKernel:
    """A fused kernel compiled to one numexpr program.

    Attributes: `nex` (the numexpr program object), `inputs` (source names of its arguments,
    in order), `pre` (statements defining broadcast views among them), `reduce` (the
    reduction primitive and params applied to the program's result, or None), `listing`
    (the program as readable three-address text), `cost` (estimated (numexpr, NumPy)
    microseconds per call).
    """

    def __init__(self, nex, inputs, pre, reduce, listing, cost, out_aval):
        self.nex, self.inputs, self.pre, self.reduce = nex, inputs, pre, reduce
        self.listing, self.cost, self.out_aval = listing, cost, out_aval


def _listing(b: _Builder, reg: dict, in_names: list) -> list[str]:
    """The program as three-address text: `r3 = sin(x)`, registers as r<k>."""
    def nm(a):
        if a in b.const_vals:
            return repr(b.const_vals[a])
        if a in b.inputs:
            return in_names[b.inputs.index(a)]
        return f"r{reg[a]}" if reg[a] else "out"

    lines = []
    for name, dst, args in b.code:
        op, sig = name.rsplit("_", 1)
        if op == "func":
            op, args = _func_name(sig[:-1], args[-1][1]), args[:-1]
        elif op == "cast":
            op = f"cast_{_DT[sig[0]].name}"
        lines.append(f"{nm(dst)} = {op}({', '.join(nm(a) for a in args)})")
    return lines


def plan(sub, names: dict, bind) -> NumexprKernel | None:
    """The numexpr program running the fused kernel `sub`, or None (see the module doc).

    names: the source names of sub's inputs. bind (value -> name in the generated code's
    namespace) is accepted for the caller's convenience; the caller binds `kernel.nex`."""
    mode = options.kernel
    if mode == "numpy" or not available() or len(sub.outs) != 1 or not sub.eqns:
        return None
    res = sub.outs[0]
    if type(res) is Literal:
        return None
    last = sub.eqns[-1]
    reduce = None
    eqns = sub.eqns
    if "reduction" in last.prim.traits:
        if last.outs[0] is not res or not callable(last.prim.lower) or \
                type(last.inputs[0]) is Literal:
            return None
        reduce, eqns = (last.prim, last.params), sub.eqns[:-1]
        shape = last.inputs[0].aval.shape
        target = last.inputs[0]
    else:
        shape = res.aval.shape
        target = res
    size = math.prod(shape)
    if size == 0 or len(sub.in_vars) > _MAX_INPUTS or (
            mode == "auto" and size < options.numexpr_min_size):
        return None
    if mode == "auto" and _quick_numexpr_cost(eqns, size) >= _numpy_cost(eqns, size):
        return None
    b = _Builder()
    env = {}
    in_srcs, pre = [], []
    try:
        for v in sub.in_vars:
            tc = _TC.get(v.aval.dtype)
            if tc is None:
                return None
            env[v] = b.input(tc)
            if v.aval.shape != tuple(shape):
                b.broadcast.add(env[v])
            in_srcs.append(names[v])
        for e in eqns:
            out = e.outs[0]
            if len(e.outs) != 1:
                return None
            if "broadcast" in e.prim.traits:
                a = e.inputs[0]
                if type(a) is Literal:
                    env[out] = b.const(a.value, _TC[np.dtype(out.aval.dtype)])
                else:
                    env[out] = env[a]
                    b.broadcast.add(env[a])
                continue
            if "elementwise" not in e.prim.traits or out.aval.shape != shape:
                return None
            ins = []
            for a in e.inputs:
                if type(a) is Literal:
                    ins.append(None)
                else:
                    ins.append(env[a])
            lit_tc = _TC.get(np.dtype(out.aval.dtype))
            comp = np.result_type(*[a.value if type(a) is Literal else a.aval.dtype
                                    for a in e.inputs])
            ctc = _TC.get(comp, lit_tc)
            ins = [b.const(a.value, ctc) if v is None else v for v, a in zip(ins, e.inputs)]
            env[out] = _translate(b, e, ins, e.inputs, out.aval.dtype)
        result = env[target]
        if result in b.inputs or result in b.const_vals or not b.code or \
                b.code[-1][1] != result:
            result = b.emit("copy", b.kind[result], result)
    except _Decline:
        return None
    # every input must broadcast to the kernel's shape; else broadcast one explicitly
    in_shapes = [v.aval.shape for v in sub.in_vars]
    try:
        full = np.broadcast_shapes(*in_shapes) if in_shapes else ()
    except ValueError:
        return None
    if full != tuple(shape):
        if not in_srcs:
            return None
        pre.append((in_srcs[0], f"np.broadcast_to({in_srcs[0]}, {tuple(shape)!r})"))
    reg, tempsig = _registers(b, result)
    if 1 + len(b.inputs) + len(b.const_vals) + len(tempsig) > _MAX_REGISTERS - 1:
        return None
    cost = estimate(b, size, eqns)
    if mode == "auto" and not cost[0] < cost[1]:
        return None
    try:
        nex = _vm.NumExpr("".join(b.kind[v] for v in b.inputs).encode(), tempsig.encode(),
                          _encode(b, reg), tuple(b.const_vals[v] for v in
                                                 sorted(b.const_vals)),
                          tuple(f"x{i}".encode() for i in range(len(b.inputs))))
        trial = nex(*[np.ones((1,) * len(s), v.aval.dtype)
                      for s, v in zip(in_shapes, sub.in_vars)])
        if trial.dtype != np.dtype(target.aval.dtype):
            return None
    except Exception:
        return None
    return NumexprKernel(nex, in_srcs, pre, reduce, _listing(b, reg, in_srcs), cost,
                         res.aval)


# ---------------------------------------------------------------------------------------------
# availability: numexpr installed, and its program format as this module writes it

_SELF_TEST = []


def available() -> bool:
    """numexpr is installed and runs a program built by this module correctly (checked once:
    arithmetic with a shared value, a function, where, a cast and a constant)."""
    if not _SELF_TEST:
        _SELF_TEST.append(_self_test())
    return _SELF_TEST[0]


def _self_test() -> bool:
    if ne is None:
        return False
    try:
        b = _Builder()
        x, y = b.input("d"), b.input("f")
        t = b.emit("mul", "d", x, b.cast(y, "d"))
        s = b.func("sin", "d", t)
        c = b.emit("gt", "b", t, b.const(0.5, "d"))
        r = b.emit("where", "d", c, s, b.emit("add", "d", t, x))
        reg, tempsig = _registers(b, r)
        nex = _vm.NumExpr(b"df", tempsig.encode(), _encode(b, reg),
                          tuple(b.const_vals[v] for v in sorted(b.const_vals)), (b"x", b"y"))
        xv = np.linspace(-1.0, 2.0, 7)
        yv = np.linspace(0.5, 1.5, 7).astype(np.float32)
        tv = xv * yv.astype(np.float64)
        want = np.where(tv > 0.5, np.sin(tv), tv + xv)
        got = nex(xv, yv)
        return got.dtype == np.float64 and np.allclose(got, want, rtol=1e-14, atol=0)
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------
# the cost model

# Microseconds per call, and nanoseconds per element and operation, by NumPy function name
# ("arith" covers cheap operations: add, multiply, compare, where, casts ...): NumPy ufunc on
# float64, float32, then one numexpr instruction on float64, float32 (one thread). Measured
# by `measure_costs()` on 2 AVX-512 cores (AMD EPYC; the better of two runs on a shared
# machine); hypot and fmod, which numexpr computes with the same C functions as NumPy, are
# priced alike. In a real kernel (W1's gradient: 330 instructions, 60 registers, a partial
# block of 1,000 elements) numexpr's per-element cost came out 1.2x the chains' (registers
# spill from L1, numexpr's loop over a partial block is slower): "numexpr_elem_factor".
# With 2 threads numexpr splits calls over >= 2048 elements; on this shared machine that
# cost ~25 us per call and gave no speedup (x*x + x on 1e4..1e6 elements).
_ELEM = {
    "arith": (0.19, 0.1, 0.33, 0.35),
    "true_divide": (0.36, 0.11, 1.33, 0.8),
    "sqrt": (1.23, 0.36, 2.35, 1.37),
    "power": (2.3, 0.68, 10.2, 4.23),
    "sin": (8.27, 0.56, 8.33, 1.74),
    "cos": (8.03, 0.56, 8.22, 2.2),
    "tan": (1.39, 0.42, 12.7, 10.7),
    "arcsin": (1.31, 0.38, 4.25, 2.7),
    "arccos": (1.35, 0.41, 4.93, 2.8),
    "arctan": (1.27, 0.43, 8.37, 3.55),
    "sinh": (1.16, 0.37, 6.7, 6.9),
    "cosh": (1.02, 0.38, 4.15, 4.5),
    "tanh": (1.65, 0.38, 7.2, 8.2),
    "arcsinh": (2.13, 0.7, 11.3, 11.5),
    "arccosh": (3.9, 3.0, 2.2, 2.0),
    "arctanh": (1.58, 0.52, 3.5, 3.2),
    "exp": (0.85, 0.47, 5.4, 2.1),
    "expm1": (1.18, 0.36, 3.05, 2.95),
    "log": (0.82, 0.39, 3.8, 2.9),
    "log1p": (1.06, 0.43, 3.7, 4.1),
    "log2": (0.91, 0.25, 3.39, 3.35),
    "log10": (0.88, 0.23, 2.33, 2.37),
    "arctan2": (2.29, 0.61, 8.4, 3.6),
    "hypot": (6.2, 3.9, 6.2, 3.9),
    "fmod": (3.0, 2.46, 3.0, 2.46),
}
COSTS = {
    "numpy_call": 0.40, "numpy_other_call": 1.8, "numexpr_call": 0.8, "numexpr_instr": 0.005,
    "numexpr_elem_factor": 1.2, "numexpr_parallel_call": 25.0, "numexpr_parallel_speedup": 1.0,
    "numpy": {k2: v[i] for k, v in _ELEM.items() for i, k2 in ((0, (k, "d")), (1, (k, "f")))},
    "numexpr": {k2: v[i] for k, v in _ELEM.items()
                for i, k2 in ((2, (k, "d")), (3, (k, "f")))},
}

_NE_NAMES = {"add": "arith", "sub": "arith", "mul": "arith", "neg": "arith", "div":
             "true_divide", "pow": "power", "sqrt": "sqrt"}
_PRICED = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
           "arcsinh", "arccosh", "arctanh", "exp", "expm1", "log", "log1p", "log2", "log10",
           "power", "arctan2", "hypot", "sqrt", "true_divide", "fmod")


def _elem(table: dict, name: str, kind: str) -> float:
    t = table.get((name, kind))
    if t is None:
        t = table.get((name, "d"), table.get(("arith", kind), 0.5))
    return t


_FUNC_NAMES = {}


def _func_name(sig: str, code: int) -> str:
    """The name of numexpr function `code` with signature `sig` (e.g. "dd" -> "sin")."""
    if not _FUNC_NAMES:
        for name, k in _vm.funccodes.items():
            fname, fsig = name.decode().rsplit("_", 1)
            _FUNC_NAMES[(fsig, k)] = fname
    return _FUNC_NAMES.get((sig, code), "arith")


def _numexpr_cost(keys, size: int) -> float:
    """Microseconds for one numexpr call running instructions priced by (name, kind) keys."""
    c = COSTS
    elem = sum(_elem(c["numexpr"], name, kind) for name, kind in keys)
    par = threads() > 1 and size >= 2048          # numexpr splits such calls across threads
    return c["numexpr_call"] + len(keys) * c["numexpr_instr"] + \
        size * elem * c["numexpr_elem_factor"] * 1e-3 / (
            c["numexpr_parallel_speedup"] if par else 1.0) + \
        (c["numexpr_parallel_call"] if par else 0.0)


def _eqn_key(e):
    """(priced NumPy name, float kind) of an elementwise equation."""
    kind = "f" if e.outs[0].aval.dtype == np.float32 else "d"
    op = op_of(e.prim)
    name = getattr(op, "__name__", "") if op is not None else ""
    name = "true_divide" if name == "divide" else name
    return (name if name in _PRICED else "arith"), kind, op


def _numpy_cost(eqns, size: int) -> float:
    """Microseconds for the equations as NumPy calls (one per equation) on `size` elements."""
    from ..prims.elementwise import zmul_p
    c = COSTS
    t = 0.0
    for e in eqns:
        if "broadcast" in e.prim.traits or e.prim.lower == "":   # views and the identity
            continue
        name, kind, op = _eqn_key(e)
        if e.prim is zmul_p:
            t += c["numpy_other_call"] + size * 3 * _elem(c["numpy"], "arith", kind) * 1e-3
            continue
        call = c["numpy_call"] if isinstance(op, np.ufunc) else c["numpy_other_call"]
        t += call + size * _elem(c["numpy"], name, kind) * 1e-3
    return t


def _quick_numexpr_cost(eqns, size: int) -> float:
    """A lower estimate of the numexpr cost from the equations alone (before building the
    program: one instruction each, seven for a zero-safe product)."""
    from ..prims.elementwise import zmul_p
    keys = []
    for e in eqns:
        if "broadcast" in e.prim.traits or e.prim.lower == "":
            continue
        name, kind, _ = _eqn_key(e)
        keys += [("arith", kind)] * 7 if e.prim is zmul_p else [(name, kind)]
    return _numexpr_cost(keys, size)


def estimate(b: _Builder, size: int, eqns) -> tuple[float, float]:
    """Estimated (numexpr, NumPy) microseconds for one call of a kernel on `size` elements:
    b is the built numexpr program, eqns the sub-program's equations (one NumPy call each)."""
    keys = []
    for name, dst, args in b.code:
        op, sig = name.rsplit("_", 1)
        kind = sig[1] if len(sig) > 1 and sig[1] in "fd" else ("f" if "f" in sig else "d")
        if op == "func":
            fname = _func_name(sig[:-1], args[-1][1])
            key = fname if fname in _PRICED else "arith"
        else:
            key = _NE_NAMES.get(op, "arith")
        keys.append((key, kind))
    return _numexpr_cost(keys, size), _numpy_cost(eqns, size)


def measure_costs(repeat: int = 5) -> dict:
    """Measure the cost table (see COSTS) on this machine: NumPy ufunc calls over 16 and 4096
    elements, and numexpr programs (one thread) of 1 and 33 chained instructions. Returns a
    dict shaped like COSTS (without the derived entries); to use it,
    `kernels.COSTS.update(kernels.measure_costs())` before compiling."""
    if not available():
        raise RuntimeError("numexpr is not installed or failed its self-test")

    def best(f, k):
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            for _ in range(k):
                f()
            ts.append((time.perf_counter() - t) / k)
        return min(ts) * 1e6

    binary = {"arith": "add", "true_divide": "div", "power": "pow"}
    n = 4096
    out = {"numpy": {}, "numexpr": {}}
    old = ne.set_num_threads(1)
    try:
        for tc, dt in (("d", np.float64), ("f", np.float32)):
            x = np.random.default_rng(0).uniform(0.5, 0.9, n).astype(dt)
            x16 = x[:16].copy()
            o, o16 = np.empty_like(x), np.empty_like(x16)
            for name in ("arith",) + _PRICED:
                uf = np.add if name == "arith" else getattr(np, name)
                args, args16 = ((x, x), (x16, x16)) if uf.nin == 2 else ((x,), (x16,))
                with np.errstate(all="ignore"):
                    t_big = best(lambda: uf(*args, out=o), 50)
                    t_small = best(lambda: uf(*args16, out=o16), 2000)
                per = max(t_big - t_small, 0.0) / (n - 16)
                out["numpy"][(name, tc)] = round(per * 1e3, 3)
                if tc == "d" and name == "arith":
                    out["numpy_call"] = round(t_small - 16 * per, 3)
                try:
                    p1, p33 = (_chain(binary.get(name), name, k, tc) for k in (1, 33))
                except _Decline:
                    continue
                with np.errstate(all="ignore"):
                    t1, t33 = best(lambda: p1(x), 50), best(lambda: p33(x), 20)
                out["numexpr"][(name, tc)] = round(max(t33 - t1, 0.0) / 32 / n * 1e3, 3)
        p1, p33 = _chain("add", "arith", 1, "d"), _chain("add", "arith", 33, "d")
        one = np.ones(1)
        t1, t33 = best(lambda: p1(one), 2000), best(lambda: p33(one), 2000)
        out["numexpr_instr"] = round(max(t33 - t1, 0.0) / 32, 4)
        out["numexpr_call"] = round(t1, 3)
        out["numpy_other_call"] = round(best(lambda: np.where(x16 > 0.7, x16, 0.0), 2000), 3)
    finally:
        ne.set_num_threads(old)
    return out


def _chain(op, fname, n_instr, tc):
    """A numexpr program of n_instr chained instructions: binary `op` (with the input) when
    given, else the operation sqrt or the function `fname`."""
    b = _Builder()
    v = x = b.input(tc)
    for _ in range(n_instr):
        if op is not None:
            v = b.emit(op, tc, v, x)
        elif fname == "sqrt":
            v = b.emit("sqrt", tc, v)
        else:
            v = b.func(fname, tc, v)
    reg, tempsig = _registers(b, v)
    return _vm.NumExpr(tc.encode(), tempsig.encode(), _encode(b, reg), (), (b"x",))
