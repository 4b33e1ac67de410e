"""Compiler settings, read when a program is optimized or compiled.

A jitted function caches its compiled code per input signature, so a changed setting applies
to signatures traced afterwards (or to new `jit` wrappers).
"""
from __future__ import annotations

import contextlib


class options:
    """Compiler options (class attributes; change them directly or with `options.using`).

    fusion: run the elementwise-fusion pass (one `fused` equation per kernel).
    kernel: how a fused kernel runs. "auto": as one numexpr program when numexpr is installed
      and the cost model of `compiler.kernels` estimates it faster than NumPy calls (long
      kernels on small and medium arrays), else NumPy calls with reused `out=` buffers;
      "numexpr": numexpr whenever it can express the kernel; "numpy": never numexpr.
    numexpr_min_size: "auto" hands no kernel of fewer elements than this to numexpr.
    block_min_bytes: a fused kernel run as NumPy calls whose arrays are at least this large
      runs over blocks of rows (`block_bytes` per array), so its temporaries stay in cache.
    block_bytes: the target size of one block of one array.
    reuse_outputs: a large kernel result (>= reuse_min_bytes) is written into the array this
      code returned for it last time when nobody holds that array any more (its reference
      count shows only the compiled function's own slot), instead of into fresh memory the
      OS must zero page by page. A result never aliases an array the caller still holds.
    fold_limit: constant folding leaves results with more elements than this unfolded.
    """
    fusion = True
    kernel = "auto"
    numexpr_min_size = 1
    block_min_bytes = 8 << 20
    block_bytes = 1 << 20
    reuse_outputs = True
    reuse_min_bytes = 4 << 20
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
