"""The core of chainrule: primitives, `bind`, traces, tracers and abstract values.

Contract:
- A `Primitive` carries every rule of one operation (impl, shape rule, JVP, VJP, batching,
  lowering, traits). Transforms read those rules; they never name a primitive.
- `bind(prim, *args, **params)` is the single entry point. With no `Tracer` among the
  arguments it calls `prim.impl` at once (the eager fast path). Otherwise the tracer whose
  trace has the highest level processes the primitive; values that are not tracers *of that
  trace* are constants to it.
- Every transform invocation creates a `Trace` with a fresh, strictly increasing level, so a
  trace created inside another one is always "inner": nested transforms never confuse their
  perturbations.
- Abstract values (`ShapedArray`) describe a value by shape and dtype only.
"""
from __future__ import annotations

import itertools
import math
import os
import sys
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "Primitive", "bind", "Trace", "Tracer", "ShapedArray", "get_aval", "primitives",
    "ConcretizationError", "user_frame", "is_float", "is_inexact_dtype",
]

# ---------------------------------------------------------------------------------------------
# Abstract values

_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64", "int32": "i32",
          "int16": "i16", "int8": "i8", "uint8": "u8", "uint32": "u32", "uint64": "u64",
          "bool": "bool", "complex128": "c128", "complex64": "c64"}


class ShapedArray:
    """The abstract value of an array: its shape and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: Sequence[int], dtype: Any):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def str_short(self) -> str:
        name = _SHORT.get(self.dtype.name, self.dtype.name)
        return f"{name}[{','.join(map(str, self.shape))}]"

    __repr__ = str_short


def get_aval(x: Any) -> ShapedArray:
    """The abstract value of an array, scalar or tracer."""
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, x.dtype)
    return ShapedArray(np.shape(x), np.result_type(x))


def is_inexact_dtype(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_float(x: Any) -> bool:
    """True when x (array, scalar or tracer) has a floating or complex dtype."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return isinstance(x, (float, complex))
    return dt.kind in "fc"


# ---------------------------------------------------------------------------------------------
# Primitives

primitives: dict[str, "Primitive"] = {}


class Primitive:
    """One operation and all of its rules.

    Attributes (each may be None when the primitive does not support it; a transform that
    needs a missing rule raises an error naming the primitive):
      impl(*args, **params): evaluate on backend arrays.
      abstract_eval(*avals, **params): the shape rule; returns an aval (or a list of them).
      jvp_rules: one rule per positional argument, ``rule(t, ans, *args, **params)`` giving
        that argument's contribution to the output tangent; an entry None means the output
        does not depend differentiably on that argument.
      jvp(primals, tangents, **params) -> (out, out_tangent): a whole-primitive rule that
        takes precedence over jvp_rules (tangents hold None for symbolic zeros).
      vjp_rules: one rule per positional argument, ``rule(ct, ans, *args, **params)`` giving
        the cotangent of that argument.
      reverse(primals, params) -> (out, bwd): a whole-primitive reverse rule; ``bwd(ct)``
        returns one cotangent (or None) per argument. Takes precedence over vjp_rules.
      batch(vals, bdims, **params) -> (out, out_bdim): the batching rule.
      lower: code-generation hook used by the compiler.
      inline(*args, **params): for call-like (higher-order) primitives, evaluates the
        called function on the (possibly traced) arguments; traces that have no rule for
        the primitive use it.
      traits: a frozenset of strings ("elementwise", "linear", "commutative", ...) read by
        compiler passes.
      find_trace(top, params) -> trace: for primitives that a trace not among their arguments
        must process (a collective over a vmap axis that is newer than its arguments' traces,
        a loop whose body holds one): given the innermost argument trace, the trace to use.
    """

    def __init__(self, name: str, *, multiple_results: bool = False, register: bool = True):
        self.name = name
        self.multiple_results = multiple_results
        self.impl: Callable | None = None
        self.abstract_eval: Callable | None = None
        self.jvp_rules: tuple | None = None
        self.jvp: Callable | None = None
        self.vjp_rules: tuple | None = None
        self.reverse: Callable | None = None
        self.batch: Callable | None = None
        self.lower: Callable | None = None
        self.inline: Callable | None = None
        self.find_trace: Callable | None = None
        self.traits: frozenset = frozenset()
        self.module = _defining_module()
        if register:
            if name in primitives:
                raise ValueError(f"a primitive named `{name}` already exists")
            primitives[name] = self

    def bind(self, *args, **params):
        return bind(self, *args, **params)

    def __repr__(self):
        return f"Primitive({self.name})"


def _defining_module():
    """The module whose code creates a primitive (skipping rule-builder modules)."""
    f = sys._getframe(2)
    while f is not None and f.f_globals.get("__name__", "").endswith(("prims.base", ".core")):
        f = f.f_back
    return f.f_globals.get("__name__") if f is not None else None


def bind(prim: Primitive, *args, **params):
    """Apply a primitive: eagerly when no argument is a tracer, else via the innermost trace."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        return prim.impl(*args, **params)
    if prim.find_trace is not None:
        top = prim.find_trace(top, params)
    return top.process(prim, args, params)


def _bind_checking(prim: Primitive, *args, **params):
    """`bind` while chainrule.config.debug_nans is on: its code replaces bind's (so every
    module that imported bind runs it) and eager evaluation goes through the NaN check."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    if top is None:
        return debug_eval(prim, args, params)
    if prim.find_trace is not None:
        top = prim.find_trace(top, params)
    return top.process(prim, args, params)


# prim(*args) is bind(prim, *args) itself, one call frame fewer than a method forwarding to it
Primitive.__call__ = bind
_bind_fast = bind.__code__
debug_eval: Callable | None = None  # the NaN-checking evaluator, set by chainrule.config


def _debug_nans(on: bool) -> None:
    """Switch bind between its fast code and the NaN-checking code (nothing runs when off)."""
    bind.__code__ = _bind_checking.__code__ if on else _bind_fast


# ---------------------------------------------------------------------------------------------
# Traces and tracers

_levels = itertools.count(1)


class Trace:
    """One invocation of a transform. Subclasses implement `process`."""

    __slots__ = ("level",)

    def __init__(self):
        self.level = next(_levels)

    def process(self, prim: Primitive, args: Sequence[Any], params: dict):
        raise NotImplementedError

    def concrete(self, tracer: "Tracer", how: str):
        """The concrete value behind `tracer`, for bool()/float()/...; raises when abstract."""
        raise ConcretizationError(self.describe(), how)

    def lift(self, value) -> "Tracer":
        """A tracer of this trace standing for a constant array (one that can be written
        into with x[idx] = v). Traces without a representation for constants return the
        value unchanged."""
        return value

    def describe(self) -> str:
        return type(self).__name__


# The traces of the transforms now running, innermost last. Array creation inside a
# transformed function lifts new arrays into the innermost one (so they can be written into).
trace_stack: list = []


class tracing:
    """Context manager: `trace` is active (on `trace_stack`) inside the block."""

    __slots__ = ("trace",)

    def __init__(self, trace):
        self.trace = trace

    def __enter__(self):
        trace_stack.append(self.trace)
        return self.trace

    def __exit__(self, *exc):
        trace_stack.pop()
        return False


class below:
    """Context manager: inside the block only the traces of `trace_stack` below `trace` (of
    lower level) are active. A trace runs a primitive's rules on its tracers' unwrapped values
    inside this, so arrays the rules create (cnp.zeros, ...) are not lifted into the trace
    itself, whose tracers would then escape as the rule's outputs."""

    __slots__ = ("level", "saved")

    def __init__(self, trace):
        self.level = trace.level

    def __enter__(self):
        self.saved = trace_stack[:]
        trace_stack[:] = [t for t in self.saved if t.level < self.level]

    def __exit__(self, *exc):
        trace_stack[:] = self.saved
        return False


# Named axes bound by active vmaps, innermost last: (name, trace) pairs. Collectives look up
# their axis here.
axis_env: list = []


def lookup_axis(name):
    """The active vmap trace bound to axis `name`; NameError when none is."""
    for n, trace in reversed(axis_env):
        if n == name:
            return trace
    bound = [n for n, _ in axis_env]
    raise NameError(f"unbound axis name: {name!r}. Collectives (psum, pmean, ...) must run "
                    f"inside vmap(..., axis_name={name!r}); axes bound here: {bound}")


class ConcretizationError(TypeError):
    """A traced value was used where a concrete Python value is needed."""

    def __init__(self, transform: str, how: str, hint: str | None = None):
        self.transform, self.how = transform, how
        frame = user_frame()
        where = f" at {frame[0]}:{frame[1]}" if frame else ""
        if hint is None:
            hint = ("Use chainrule.numpy.where for elementwise choices (and lax.cond / "
                    "lax.while_loop for control flow), or mark the argument static.")
        msg = (f"{how} of a traced value under {transform}{where}: the value is not known "
               f"while tracing. {hint}")
        if frame and frame[2]:
            msg += f"\n    {frame[2].strip()}"
        super().__init__(msg)


_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


def _guard_store_subscript():
    """Refuse `numpy_array[idx] = tracer`: NumPy would store a bare number and silently drop
    the derivative. Detected from the caller's bytecode (a STORE_SUBSCR in progress)."""
    f = sys._getframe(2)
    code = f.f_code.co_code
    if 0 <= f.f_lasti < len(code) and code[f.f_lasti] == _STORE_SUBSCR:
        raise TypeError(
            "assigning a traced value into a NumPy array would drop its derivative. Create "
            "the array inside the transformed function with chainrule.numpy (cnp.zeros, "
            "cnp.empty, cnp.array, ...), which can be written into, or use "
            "chainrule.numpy.at(array)[idx].set(value).")


import dis as _dis  # noqa: E402

_STORE_SUBSCR = _dis.opmap["STORE_SUBSCR"]


def user_frame():
    """(filename, line, source) of the innermost stack frame outside chainrule, or None."""
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG_DIR + os.sep):
            import linecache
            return fn, f.f_lineno, linecache.getline(fn, f.f_lineno)
        f = f.f_back
    return None


class Tracer:
    """An array-like stand-in for a value inside a transform.

    Operators, methods and indexing are installed by `chainrule.numpy` (which dispatches them
    to its functions, so they work for every trace). `x[idx] = v` rebinds the tracer object
    to the updated value (functionalization), so every reference to x sees the write, as with
    NumPy arrays; `_base` marks tracers that NumPy would make views of another array.
    """

    __slots__ = ("_trace", "_base")
    __array_priority__ = 1000

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        return bool(self._trace.concrete(self, "bool()"))

    def __float__(self):
        _guard_store_subscript()
        return float(self._trace.concrete(self, "float()"))

    def __int__(self):
        _guard_store_subscript()
        return int(self._trace.concrete(self, "int()"))

    def __complex__(self):
        _guard_store_subscript()
        return complex(self._trace.concrete(self, "complex()"))

    def __index__(self):
        v = self._trace.concrete(self, "use as an index (__index__)")
        return int(np.asarray(v).__index__())

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"cannot convert a traced value ({self.aval.str_short()} under "
            f"{self._trace.describe()}) to a NumPy array: the transform needs to see every "
            "operation. Use chainrule.numpy functions instead of numpy ones inside "
            "transformed functions (to index a NumPy array with a traced index, use "
            "chainrule.numpy.at(array)[index].get() or chainrule.numpy.take).")

    def _become(self, new: "Tracer") -> None:
        """Rebind this tracer to `new` (a tracer of the same kind and trace), in place."""
        cls = type(self)
        if type(new) is not cls or new._trace is not self._trace:
            raise TypeError(
                "x[idx] = value: the value is traced by a transform nested inside the one "
                "that owns x, so the write cannot be recorded on x. Build the array inside "
                "the inner function (or use x.at[idx].set(value) and return the result).")
        for klass in cls.__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if slot in ("_trace", "_base"):
                    continue
                setattr(self, slot, getattr(new, slot))

    def _clone(self) -> "Tracer":
        """A new tracer object for the same value (a copy: not a view of anything)."""
        cls = type(self)
        new = cls.__new__(cls)
        for klass in cls.__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if slot != "_base" and hasattr(self, slot):
                    setattr(new, slot, getattr(self, slot))
        return new

    __hash__ = None  # arrays are unhashable

    def __repr__(self):
        return f"{type(self).__name__}<{self.aval.str_short()}>"
