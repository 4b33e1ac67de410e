"""Compiler settings, read when a program is optimized or compiled.

A jitted function caches its compiled code per input signature, so a changed setting applies
to signatures traced afterwards (or to new `jit` wrappers).
"""
from __future__ import annotations

import contextlib


class options:
    """Compiler options (class attributes; change them directly or with `options.using`).

    fusion: run the elementwise-fusion pass (one `fused` equation per kernel).
    kernel: how a fused kernel runs. "auto": numexpr when it is installed and the kernel is
      large, memory-bound arithmetic and numexpr has >= 2 threads (where it measured faster
      than NumPy), else NumPy calls with reused `out=` buffers; "numexpr": numexpr whenever
      it can express the kernel; "numpy": never numexpr.
    numexpr_min_size: the smallest kernel (elements) that "auto" hands to numexpr.
    fold_limit: constant folding leaves results with more elements than this unfolded.
    """
    fusion = True
    kernel = "auto"
    numexpr_min_size = 1 << 20
    fold_limit = 1_000_000

    @classmethod
    @contextlib.contextmanager
    def using(cls, **kw):
        """Temporarily change options: `with options.using(fusion=False): ...`."""
        for k in kw:
            if k.startswith("_") or k == "using" or not hasattr(cls, k):
                raise AttributeError(f"unknown compiler option {k!r}")
        old = {k: getattr(cls, k) for k in kw}
        for k, v in kw.items():
            setattr(cls, k, v)
        try:
            yield cls
        finally:
            for k, v in old.items():
                setattr(cls, k, v)
