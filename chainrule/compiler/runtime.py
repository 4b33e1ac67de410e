"""Run-time helpers that lowerings may call, as source text needing only NumPy.

A lowering's expression may call a helper named `_cr_<name>`; code generation then defines
the helper in the generated module (exec'd for jit, written out by `export`).
`take` (result slots for large kernel outputs) is a Python function bound into the namespace
of jitted code only; exported code allocates its results.
"""
from __future__ import annotations

import sys
import weakref

import numpy as np

HELPERS = {
    "_cr_scatter": '''\
def _cr_scatter(x, y, index, mode):
    """x with x[index] updated by y: mode "set", "iadd" (x[index] += y, no repeated
    indices), or "add"/"multiply"/"min"/"max" (ufunc.at: repeated indices accumulate)."""
    out = np.array(x, copy=True)
    if mode == "set":
        out[index] = y
    elif mode == "iadd":
        out[index] += y
    else:
        ufunc = {"add": np.add, "multiply": np.multiply, "min": np.minimum,
                 "max": np.maximum}[mode]
        ufunc.at(out, index, y)
    return out
''',
    "_cr_fresh": '''\
def _cr_fresh(x, sources):
    """x, or a copy of it when it shares memory with one of `sources` (the function's
    arguments and constants: x may be a view of them)."""
    if type(x) is not np.ndarray:
        return x
    if x.base is None and not any(x is s for s in sources):
        return x
    for s in sources:
        if type(s) is np.ndarray and np.may_share_memory(x, s):
            return x.copy()
    return x
''',
    "_cr_carry": '''\
def _cr_carry(x, dtype, sources):
    """A scan's final carry as an array of its dtype that shares no memory with `sources`
    (the scan's inputs: a body may pass a carry, const or slice of xs through)."""
    if type(x) is not np.ndarray or x.dtype != dtype:
        return np.array(x, dtype=dtype)
    for s in sources:
        if x is s or (type(s) is np.ndarray and np.may_share_memory(x, s)):
            return x.copy()
    return x
''',
    "_cr_load": '''\
def _cr_load(text):
    """An array stored inline as base64 of its .npy bytes."""
    import base64
    import io
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)
''',
}


def needed(source: str) -> list[str]:
    """The helpers a piece of generated source refers to."""
    return [name for name in HELPERS if name + "(" in source]


# ---------------------------------------------------------------------------------------------
# result slots: reusing a large result's memory once nobody holds it


def _free_count(slot: list) -> int:
    buf = slot.pop()
    return sys.getrefcount(buf)


# the reference count of an array held only by `take`'s local variable (measured with the
# same code shape, so that it holds however this Python counts references); reuse needs
# CPython's reference counts and the GIL (a free-threaded build could race on them)
REUSE = hasattr(sys, "getrefcount") and getattr(sys, "_is_gil_enabled", lambda: True)()
_FREE = _free_count([object()]) if REUSE else 0
_weakrefs = weakref.getweakrefcount


def take(slot: list, shape: tuple, dtype) -> np.ndarray:
    """An uninitialized array for a result: the one stored in `slot` by the previous call when
    nothing else references it any more (no caller variable, view, or container: it is then
    invisible, and overwriting it saves the OS zeroing fresh pages; nor a weak reference: the
    array can still be reached through it), else a new one. The
    caller appends the result to the slot after computing it."""
    if slot:
        buf = slot.pop()
        if sys.getrefcount(buf) == _FREE and not _weakrefs(buf) and buf.shape == shape \
                and buf.dtype == dtype and buf.flags.writeable and buf.flags.c_contiguous:
            return buf
    return np.empty(shape, dtype)
