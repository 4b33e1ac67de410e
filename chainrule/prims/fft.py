"""The FFT primitive: one block for every discrete Fourier transform of chainrule.numpy.fft.

`fft_p(x, kind=, axes=, lengths=, norm=)` transforms x over `axes` (distinct, non-negative
ints), `lengths[i]` being the transform length along `axes[i]`:
  "fft" / "ifft": complex-to-complex (a real x is taken as complex); x.shape[axes[i]] must be
    lengths[i]; the output has x's shape.
  "rfft": real-to-complex, as numpy.fft.rfftn (rfft over the last of `axes`, fft over the
    others); x real with x.shape[axes[i]] == lengths[i]; the output's last transformed axis
    has lengths[-1] // 2 + 1 entries (the half spectrum).
  "irfft": complex-to-real, as numpy.fft.irfftn; x.shape[axes[-1]] must be lengths[-1] // 2 + 1
    and the other transformed axes lengths[i]; the output has lengths[i] along axes[i]. Like
    NumPy, it ignores the imaginary part of the zero frequency (and, for even lengths[-1], of
    the Nyquist frequency) along the last transformed axis.
  norm: "backward" (forward transform unscaled, inverse scaled by 1/n), "ortho" (1/sqrt(n)
    both ways) or "forward" (forward scaled by 1/n).
NumPy's `n`/`s` arguments (crop or zero-pad the input first) are handled by the callers with
the getitem and pad primitives, so these rules only ever see exact lengths.

Derivatives: every transform is linear over the reals. The JVP applies the transform to the
tangent. The VJP is the adjoint under the real inner product Re<a, b> = Re(sum(conj(a) * b))
(the library's convention for complex cotangents, docs/complex.md):
  fft / ifft with norm N -> ifft / fft with the dual norm (backward <-> forward, ortho);
  rfft -> irfft(ct * w) with the dual norm, where w is 1 at the zero frequency (and at the
    Nyquist frequency for even n) and 1/2 elsewhere: irfft counts each interior frequency of a
    half spectrum twice (once for its Hermitian mirror), the adjoint of rfft only once;
  irfft -> rfft(ct) * w' with the dual norm, w' = 1 at the zero (and Nyquist) frequency and 2
    elsewhere (each interior frequency stands for itself and its mirror).
The rules are written with this primitive, so derivatives of any order, vmap of grad and jit
of grad need nothing more. Output dtypes follow NumPy 2: complex64 from float32, complex64 and
float16; complex128 from float64 and complex128; irfft gives the matching real dtype.
"""
from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray
from .elementwise import real_p

TESTED_IN = "tests/test_fft.py"

KINDS = ("fft", "ifft", "rfft", "irfft")
NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}
_ADJOINT = {"fft": "ifft", "ifft": "fft", "rfft": "irfft", "irfft": "rfft"}
_NUMPY = {"fft": np.fft.fftn, "ifft": np.fft.ifftn, "rfft": np.fft.rfftn,
          "irfft": np.fft.irfftn}


def complex_dtype(dtype) -> np.dtype:
    """The complex dtype NumPy's FFTs give for input dtype `dtype`."""
    return np.result_type(np.dtype(dtype), 1j)


def real_dtype(dtype) -> np.dtype:
    """The real dtype of NumPy's irfft for input dtype `dtype`."""
    return np.result_type(np.empty(0, dtype).real.dtype, 1.0)


def _fft(x, *, kind, axes, lengths, norm):
    return _NUMPY[kind](x, s=lengths, axes=axes, norm=norm)


def _fft_aval(x, *, kind, axes, lengths, norm):
    if kind not in KINDS:
        raise ValueError(f"fft: kind must be one of {KINDS}, got {kind!r}")
    if norm not in NORMS:
        raise ValueError(f"fft: norm must be one of {NORMS}, got {norm!r}")
    if not axes or len(axes) != len(lengths) or len(set(axes)) != len(axes) or any(
            not 0 <= a < x.ndim for a in axes):
        raise ValueError(f"fft: axes {axes} must be distinct axes of an array of rank "
                         f"{x.ndim}, one per length in {lengths}")
    shape = list(x.shape)
    last = axes[-1]
    for a, n in zip(axes, lengths):
        want = n // 2 + 1 if kind == "irfft" and a == last else n
        if n < 1 or shape[a] != want:
            raise ValueError(f"fft ({kind}): axis {a} of the input has length {shape[a]}, "
                             f"expected {want} for transform lengths {lengths}")
    if kind == "rfft":
        if x.dtype.kind == "c":
            raise TypeError("rfft needs a real input; use fft for complex arrays")
        shape[last] = lengths[-1] // 2 + 1
        return ShapedArray(shape, complex_dtype(x.dtype))
    if kind == "irfft":
        shape[last] = lengths[-1]
        return ShapedArray(shape, real_dtype(x.dtype))
    return ShapedArray(shape, complex_dtype(x.dtype))


def _fft_jvp(t, ans, x, *, kind, axes, lengths, norm):
    return fft_p(t, kind=kind, axes=axes, lengths=lengths, norm=norm)


def half_spectrum_weights(n: int, interior: float, axis: int, ndim: int, dtype) -> np.ndarray:
    """Weights over the n // 2 + 1 bins of a half spectrum along `axis` of a rank-`ndim` array:
    1 at the zero frequency (and the Nyquist frequency when n is even), `interior` elsewhere."""
    m = n // 2 + 1
    w = np.full(m, interior, dtype=real_dtype(dtype))
    w[0] = 1
    if n % 2 == 0:
        w[-1] = 1
    return w.reshape((m,) + (1,) * (ndim - axis - 1))


def _fft_vjp(ct, ans, x, *, kind, axes, lengths, norm):
    params = dict(kind=_ADJOINT[kind], axes=axes, lengths=lengths, norm=_DUAL[norm])
    if kind == "rfft":
        w = half_spectrum_weights(lengths[-1], 0.5, axes[-1], len(ans.shape), ans.dtype)
        return fft_p(ct * w, **params)
    if kind == "irfft":
        w = half_spectrum_weights(lengths[-1], 2.0, axes[-1], len(x.shape), x.dtype)
        return fft_p(ct, **params) * w
    out = fft_p(ct, **params)
    return out if x.dtype.kind == "c" else real_p(out)


def _fft_batch(vals, bdims, *, kind, axes, lengths, norm):
    b = bdims[0]
    moved = tuple(a + 1 if a >= b else a for a in axes)
    return fft_p(vals[0], kind=kind, axes=moved, lengths=lengths, norm=norm), b


def _fft_lower(ins, p):
    return (f"np.fft.{p['kind']}n({ins[0]}, s={tuple(p['lengths'])!r}, "
            f"axes={tuple(p['axes'])!r}, norm={p['norm']!r})")


fft_p = Primitive("fft")
fft_p.impl = _fft
fft_p.abstract_eval = _fft_aval
fft_p.jvp_rules = (_fft_jvp,)
fft_p.vjp_rules = (_fft_vjp,)
fft_p.batch = _fft_batch
fft_p.lower = _fft_lower
fft_p.traits = frozenset({"linear"})

__all__ = ["fft_p"]
