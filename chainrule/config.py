"""Global settings (`chainrule.config`) and NaN provenance (`debug_nans`).

Contract:
- A setting is an attribute of this module: ``cr.config.debug_nans = True``, or
  ``cr.config.update("debug_nans", True)`` (JAX's spelling "jax_debug_nans" is accepted too);
  ``with cr.debug_nans(): ...`` (the same as ``cr.config.debug_nans_mode()``) turns it on for a
  block and restores the previous value. The environment variable CHAINRULE_DEBUG_NANS=1
  turns it on at import.
- While `debug_nans` is on, the first primitive whose result holds a NaN although none of its
  inputs does raises `NaNError` (a FloatingPointError) naming the primitive, the phase and
  the user's source line. That covers eager code; the forward pass of grad/vjp (each tape node
  records its user line); the backward pass (the error names the forward operation whose VJP
  produced the NaN, and that operation's line); jvp tangents; vmap; and jit, whose program is
  then traced again without optimization (equations record their user lines) and run
  equation by equation, as are the bodies of lax control flow. NaNs that come in with the
  inputs are not errors. NaNs in the untaken branch of `where` are produced, so they are
  reported too (as in JAX): guard the branch's input as well, e.g.
  ``where(x > 0, sqrt(where(x > 0, x, 1.0)), 0.0)``.
- Off, it costs nothing: switching the flag swaps implementations (the code of `core.bind`
  and of the backward sweep, the traces' `process` methods); no check runs on the fast paths.
"""
from __future__ import annotations

import contextlib
import linecache
import os
import sys
import types
from typing import Any, Iterator

import numpy as np

from . import core

__all__ = ["NaNError", "update", "debug_nans_mode"]


class NaNError(FloatingPointError):
    """A primitive produced NaN from NaN-free inputs while `config.debug_nans` is on.

    Attributes:
      primitive: the name of the primitive whose result held the new NaN (for a NaN produced
        by a VJP or JVP rule outside any primitive, the primitive the rule belongs to).
      phase: where it happened, in call order (the rules that were running, the last one
        computed the NaN; the innermost transform's rule runs first, so jvp(vmap(f)) gives
        "vmap > jvp"): "eager evaluation", or the transforms among
        "forward pass of grad/vjp", "backward pass of grad/vjp", "jvp" and "vmap", with the
        calls (e.g. "`jit`", "`scan`") it happened inside, e.g.
        "backward pass of grad/vjp > `jit`".
      vjp_of: in the backward pass, the forward primitive whose VJP produced the NaN.
      filename, lineno, source: the user's line that created the operation (in the backward
        pass: the forward operation), or None when it is unknown.
      transforms: the transforms and calls (`jit`, control flow) it ran under, in the same
        order; `phase` joins them with " > ".
    """

    def __init__(self, message: str, *, primitive: str, phase: str, vjp_of: str | None,
                 filename: str | None, lineno: int | None, source: str | None,
                 transforms: tuple):
        super().__init__(message)
        self.primitive = primitive
        self.phase = phase
        self.vjp_of = vjp_of
        self.filename = filename
        self.lineno = lineno
        self.source = source
        self.transforms = transforms


_OPTIONS = {"debug_nans": "debug_nans", "jax_debug_nans": "debug_nans",
            "explain_retrace": "explain_retrace", "jax_explain_cache_misses": "explain_retrace",
            "disable_jit": "disable_jit", "jax_disable_jit": "disable_jit"}
_debug_nans = False


class _ConfigModule(types.ModuleType):
    """This module's class: its settings are properties, so that setting one takes effect."""

    @property
    def debug_nans(self) -> bool:
        """Raise NaNError at the first primitive that produces a NaN (see the module doc)."""
        return _debug_nans

    @debug_nans.setter
    def debug_nans(self, value: bool) -> None:
        _set_debug_nans(bool(value))

    @property
    def explain_retrace(self) -> bool:
        """Log (logger "chainrule.jit", level WARNING) what changed in the signature each
        time a jitted function is traced again (JAX's jax_explain_cache_misses)."""
        from .transforms.staging import config as jit_config
        return jit_config.explain_retrace

    @explain_retrace.setter
    def explain_retrace(self, value: bool) -> None:
        from .transforms.staging import config as jit_config
        jit_config.explain_retrace = bool(value)

    @property
    def disable_jit(self) -> bool:
        """Run jit-decorated functions eagerly, op by op (JAX's jax_disable_jit); also the
        context manager `chainrule.disable_jit()`."""
        from .transforms import staging
        return staging._DISABLE_JIT

    @disable_jit.setter
    def disable_jit(self, value: bool) -> None:
        from .transforms import staging
        staging._set_disable_jit(value)


def update(name: str, value: Any) -> None:
    """Change a setting, as jax.config.update.

    Args:
      name: "debug_nans" (or "jax_debug_nans"), "explain_retrace" (or
        "jax_explain_cache_misses"), "disable_jit" (or "jax_disable_jit").
      value: the new value.

    Example:
      >>> cr.config.update("debug_nans", True)
    """
    key = _OPTIONS.get(name)
    if key is None:
        raise AttributeError(f"chainrule.config has no setting {name!r}; settings: "
                             f"{sorted(set(_OPTIONS.values()))}")
    setattr(sys.modules[__name__], key, value)


@contextlib.contextmanager
def debug_nans_mode(enabled: bool = True) -> Iterator[None]:
    """Turn `debug_nans` on (or off) inside a with-block; exported as `chainrule.debug_nans`.

    Args:
      enabled: the value inside the block; the previous value is restored on exit.

    Example:
      >>> with cr.debug_nans():
      ...     cr.grad(lambda x: cnp.sqrt(x) - cnp.sqrt(x))(0.0)   # raises NaNError
    """
    old = _debug_nans
    _set_debug_nans(bool(enabled))
    try:
        yield
    finally:
        _set_debug_nans(old)


def _set_debug_nans(on: bool) -> None:
    global _debug_nans
    if on == _debug_nans:
        return
    from . import lax_control
    from .transforms import batching, forward, reverse, staging
    core.debug_eval = _eval_checked
    for mod in (core, reverse, forward, batching, staging):
        mod._debug_nans(on)
    # control-flow bodies are interpreted (equation by equation) instead of compiled
    global _compile_after
    if hasattr(lax_control, "_COMPILE_AFTER"):
        if on:
            _compile_after, lax_control._COMPILE_AFTER = lax_control._COMPILE_AFTER, sys.maxsize
        else:
            lax_control._COMPILE_AFTER = _compile_after
    _debug_nans = on


_compile_after = None

# ---------------------------------------------------------------------------------------------
# the checks


def has_nan(x) -> bool:
    """True when x (an array, scalar, or a list/tuple of them) holds a NaN; tracers (values
    that are not concrete here) count as NaN-free."""
    t = type(x)
    if t is np.ndarray or isinstance(x, np.generic):
        return x.dtype.kind in "fc" and bool(np.isnan(x).any())
    if t is float or t is complex:
        return x != x
    if t is list or t is tuple:
        return any(has_nan(v) for v in x)
    return False


def _programs(params) -> list:
    """The programs among a primitive's params (control flow bodies and the like)."""
    from .ir.program import Program
    out = []
    for v in params.values():
        if isinstance(v, Program):
            out.append(v)
        elif type(v) in (tuple, list) and v and isinstance(v[0], Program):
            out.extend(v)
    return out


def _is_container(prim, params) -> bool:
    """Primitives that run other programs or functions (named in errors as the calls a NaN
    happened inside)."""
    return prim.inline is not None or bool(_programs(params))


def _eval_checked(prim, args, params):
    """Eager evaluation of a primitive while debug_nans is on (called by the checking bind).
    Call-like primitives (jit, fused kernels, custom rules) run their function or program
    through bind, so each inner primitive is checked on its own."""
    if prim.inline is not None:
        out = prim.inline(*args, **params)
        if prim.multiple_results and prim.abstract_eval is not None:
            # fresh arrays of the declared dtypes, as compiled code returns (never an alias
            # of an argument or a program constant)
            avals = prim.abstract_eval(*[core.get_aval(a) for a in args], **params)
            out = [np.array(o, dtype=a.dtype) for o, a in zip(out, avals)]
        return out
    out = prim.impl(*args, **params)
    if has_nan(out) and not has_nan(args) and not any(
            has_nan(p.consts) for p in _programs(params)):  # a NaN constant inside a body
        raise nan_error(f"primitive `{prim.name}`", prim.name, sys._getframe(1))
    return out


# ---------------------------------------------------------------------------------------------
# where an operation comes from: a walk up the Python stack

_EQN_WHERE: dict = {}  # first output Var id -> origin (see `origin`); grows only while on
_in_pkg: dict = {}
_kinds: dict = {}


def _frame_kinds() -> dict:
    if not _kinds:
        from .ir import program
        from .transforms import batching, forward, reverse
        _kinds.update({
            reverse._process_checking.__code__: "fwd",
            reverse._backward_checking.__code__: "bwd",
            forward._process_checking.__code__: "jvp",
            batching._process_checking.__code__: "vmap",
            program.eval_program.__code__: "eqn",
            _eval_checked.__code__: "eval",
        })
    return _kinds


def _in_package(code) -> bool:
    r = _in_pkg.get(code)
    if r is None:
        fn = os.path.abspath(code.co_filename)
        r = _in_pkg[code] = fn.startswith(core._PKG_DIR + os.sep)
    return r


def _walk(frame, full: bool):
    """(where, entries) for the stack from `frame` outward.

    `where` is (filename, line, source, vjp_of), the innermost of: a user frame (outside
    chainrule); an equation being interpreted that recorded its origin; a tape node whose VJP
    is running (its forward operation's line, with vjp_of its primitive). With `full`,
    `entries` lists the transforms and calls, innermost first: (kind, primitive name, or for
    "bwd" the primitive of the tape node whose VJP runs).
    """
    from .transforms.reverse import PRIM, WHERE
    kinds = _frame_kinds()
    loc = None
    entries = []
    f = frame
    while f is not None:
        code = f.f_code
        kind = kinds.get(code)
        if kind is None:
            if loc is None and not _in_package(code):
                fn, line = os.path.abspath(code.co_filename), f.f_lineno
                loc = (fn, line, linecache.getline(fn, line).strip() or None, None)
        elif kind == "eqn":
            eqn = f.f_locals.get("eqn")
            if loc is None and eqn is not None and eqn.outs:
                loc = _EQN_WHERE.get(eqn.outs[0].id)
        elif kind == "bwd":
            node = f.f_locals.get("node")  # a tape node (chainrule.transforms.reverse)
            prim = node[PRIM] if node is not None else None
            w = node[WHERE] if node is not None else None
            if loc is None and w is not None:
                loc = w[:3] + (prim.name,)
            entries.append(("bwd", prim))
        elif kind == "eval":
            lc = f.f_locals
            prim = lc.get("prim")
            if prim is not None and _is_container(prim, lc.get("params") or {}):
                entries.append(("call", prim.name))
        else:
            prim = f.f_locals.get("prim")
            entries.append((kind, getattr(prim, "name", None)))
        if loc is not None and not full:
            break
        f = f.f_back
    return loc, entries


def origin(frame) -> tuple | None:
    """The user-level origin of the operation being recorded from `frame` (see `_walk`)."""
    return _walk(frame, False)[0]


def record_eqn(eqn, frame) -> None:
    """Remember the origin of a staged equation (keyed by its first output variable, which
    the program rewrites keep)."""
    if eqn.outs:
        w = origin(frame)
        if w is not None:
            _EQN_WHERE[eqn.outs[0].id] = w


_PHASES = {"fwd": "forward pass of grad/vjp", "bwd": "backward pass of grad/vjp",
           "jvp": "jvp", "vmap": "vmap"}
_UNSET = object()


def nan_error(what: str, primitive: str, frame, loc=None, vjp_of=_UNSET) -> NaNError:
    """The NaNError for `what` (e.g. "primitive `log`") producing NaN, seen from `frame`.
    `loc` overrides the origin found on the stack; `vjp_of` the forward primitive."""
    walked, entries = _walk(frame, True)
    if loc is None:
        loc = walked
    infer = vjp_of is _UNSET
    if infer:
        vjp_of = loc[3] if loc is not None else None
    calls = {x for kind, x in entries if kind == "call"}
    path, has_transform = [], False
    for kind, x in entries:  # innermost first
        if kind == "call":
            path.append(f"`{x}`")
            continue
        has_transform = True
        desc = _PHASES[kind]
        if kind == "bwd":
            if x is not None and path and x.name not in calls:
                desc += f" (VJP of `{x.name}`)"
        elif x is not None and x != primitive and x not in calls:
            desc += {"jvp": f" (JVP rule of `{x}`)", "vmap": f" (batching rule of `{x}`)",
                     "fwd": ""}[kind]
        path.append(desc)
    if not has_transform:
        # with vjp_of: an equation of a staged backward pass
        path.append("backward pass of grad/vjp (staged)" if vjp_of is not None
                    else "eager evaluation")
    if vjp_of is None and infer:
        bwd = next((x for kind, x in entries if kind == "bwd"), None)
        if bwd is not None:
            vjp_of = bwd.name
    phase = " > ".join(reversed(path))
    msg = f"{what} produced NaN from inputs without NaN, in: {phase}"
    if vjp_of is not None and what != f"the VJP of `{vjp_of}`":
        msg += f" (in the VJP of `{vjp_of}`)"
    msg += "."
    transforms = tuple(reversed(path))
    filename = lineno = source = None
    if loc is not None:
        filename, lineno, source = loc[:3]
        op = "the forward operation" if loc[3] is not None else "the operation"
        msg += f"\n  {op} was created at {filename}:{lineno}"
        if source:
            msg += f"\n      {source}"
    else:
        msg += "\n  (its source line is unknown)"
    msg += ("\n  (chainrule.config.debug_nans is on; NaNs in untaken branches of where() are "
            "reported too)")
    return NaNError(msg, primitive=primitive, phase=phase, vjp_of=vjp_of, filename=filename,
                    lineno=lineno, source=source, transforms=transforms)


def vjp_nan_error(node, frame, accumulation: bool = False) -> NaNError:
    """The NaNError for a cotangent that node's VJP (or, with `accumulation`, the sum of the
    cotangents flowing into node's output) turned into NaN."""
    from .transforms.reverse import PRIM, WHERE
    name = node[PRIM].name if node[PRIM] is not None else None
    w = node[WHERE]
    if accumulation:
        what = ("the sum of the cotangents flowing into " +
                (f"the output of `{name}`" if name else "an input of the differentiated "
                 "function") + " (its uses' cotangents cancel as inf - inf)")
        return nan_error(what, "add", frame, loc=None if w is None else w[:3] + (None,),
                         vjp_of=None)
    return nan_error(f"the VJP of `{name}`", name, frame,
                     loc=None if w is None else w[:3] + (name,), vjp_of=name)


sys.modules[__name__].__class__ = _ConfigModule

if os.environ.get("CHAINRULE_DEBUG_NANS", "").lower() not in ("", "0", "false", "no"):
    _set_debug_nans(True)
