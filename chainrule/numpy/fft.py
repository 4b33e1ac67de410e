"""chainrule.numpy.fft: NumPy's discrete Fourier transforms, differentiable.

Contract: every function follows numpy.fft in NumPy 2 (arguments n / s, axis / axes, norm =
"backward" | "ortho" | "forward" | None, result shapes, dtypes: complex128 from float64 and
integer inputs, complex64 from float32; error types). The transforms are one primitive,
`fft_p` (chainrule/prims/fft.py), applied after cropping or zero-padding the input to the
requested lengths with the getitem and pad primitives; fftshift/ifftshift are rolls. All are
differentiable in forward and reverse mode to any order (they are linear: see the primitive's
docstring for the adjoints, including the Hermitian half spectrum of rfft/irfft), batchable
and compilable. Cotangents of complex outputs follow docs/complex.md.
Caveats, as in NumPy: irfft ignores the imaginary parts of the zero frequency (and of the
Nyquist frequency for even n), so their derivatives are 0; fftfreq/rfftfreq are constants
except in `d`.
Shape arguments (n, s, axes) must be concrete Python ints.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np

from ..core import Tracer, bind
from .. import prims as P
from ..prims.fft import fft_p, NORMS, complex_dtype, real_dtype
from ._manip import _a, roll
from ._reductions import normalize_axis
from ._ufuncs import _dtype, _no_out, astype, divide, multiply

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


# --- argument normalisation ----------------------------------------------------------------------

_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}  # hfft's norms


def _norm(norm) -> str:
    if norm is None:
        return "backward"
    if norm not in NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or '
                         '"forward".')
    return norm


def _inexact(a):
    """The input as an array or tracer with an inexact dtype (integers become float64)."""
    a = _a(a)
    if _dtype(a).kind not in "fc":
        a = astype(a, np.float64)
    return a


def _length(n, name="n") -> int:
    if isinstance(n, Tracer):
        raise TypeError(f"fft: {name} must be a concrete int (it decides the output shape)")
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return n


def _resize(x, axes, lengths):
    """x cropped or zero-padded at the end of each of `axes` to the matching length."""
    shape = tuple(x.shape)
    crop = [slice(None)] * len(shape)
    widths = [(0, 0)] * len(shape)
    cropped = padded = False
    for a, n in zip(axes, lengths):
        if n < shape[a]:
            crop[a] = slice(0, n)
            cropped = True
        elif n > shape[a]:
            widths[a] = (0, n - shape[a])
            padded = True
    if cropped:
        from ._indexing import getitem
        x = getitem(x, tuple(crop))
    if padded:
        x = bind(P.pad_p, x, 0, widths=tuple(widths))
    return x


def _cook_nd(a, s, axes, invreal=False, name="fftn"):
    """(axes, lengths) for an n-dimensional transform, as numpy.fft does it; entries of s
    that are None take the one-dimensional default (deprecated in NumPy 2, as there)."""
    shape = tuple(a.shape)
    nd = len(shape)
    if isinstance(s, Tracer) or isinstance(axes, Tracer):
        raise TypeError(f"{name}: s and axes must be concrete ints")
    if s is not None:
        s = [s] if np.ndim(s) == 0 else list(s)
    if axes is None:
        if s is None:
            axes = list(range(nd))
        else:
            warnings.warn(
                "`axes` should not be `None` if `s` is not `None` (deprecated in NumPy 2.0): "
                "pass axes explicitly", DeprecationWarning, stacklevel=3)
            axes = list(range(-len(s), 0))
    else:
        axes = [axes] if np.ndim(axes) == 0 else list(axes)
    axes = [normalize_axis(ax, nd) for ax in axes]
    if s is None:
        s = [shape[ax] for ax in axes]
        if invreal and axes:
            s[-1] = 2 * (shape[axes[-1]] - 1)
    elif len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    else:
        if any(v is None for v in s):
            warnings.warn("Passing None values in `s` is deprecated in NumPy 2.0: pass the "
                          "lengths explicitly", DeprecationWarning, stacklevel=3)
        s = [shape[ax] if v == -1 else v for v, ax in zip(s, axes)]
        s = [(2 * (shape[ax] - 1) if invreal and i == len(s) - 1 else shape[ax])
             if v is None else v for i, (v, ax) in enumerate(zip(s, axes))]
    return axes, [_length(v, "s") for v in s]


def _c2c(a, axes, lengths, norm, kind):
    x = _inexact(a)
    if not axes:
        return x
    if len(set(axes)) != len(axes):
        # repeated axes: NumPy applies the one-dimensional transform once per entry
        for ax, n in reversed(list(zip(axes, lengths))):
            x = _c2c(x, [ax], [n], norm, kind)
        return x
    x = _resize(x, axes, lengths)
    return bind(fft_p, x, kind=kind, axes=tuple(axes), lengths=tuple(lengths), norm=norm)


def _r2c(a, axes, lengths, norm, name):
    x = _inexact(a)
    if _dtype(x).kind == "c":
        raise TypeError(f"{name} needs a real input (got {_dtype(x).name}); use fft/fftn for "
                        "complex arrays, or pass the real part")
    if not axes:
        raise np.exceptions.AxisError(f"{name} needs at least one axis to transform")
    if len(set(axes)) != len(axes):
        x = _r2c(x, axes[-1:], lengths[-1:], norm, name)
        return _c2c(x, axes[:-1], lengths[:-1], norm, "fft")
    x = _resize(x, axes, lengths)
    return bind(fft_p, x, kind="rfft", axes=tuple(axes), lengths=tuple(lengths), norm=norm)


def _c2r(a, axes, lengths, norm, name):
    x = _inexact(a)
    if not axes:
        raise np.exceptions.AxisError(f"{name} needs at least one axis to transform")
    if len(set(axes)) != len(axes):
        for ax, n in zip(axes[:-1], lengths[:-1]):
            x = _c2c(x, [ax], [n], norm, "ifft")
        return _c2r(x, axes[-1:], lengths[-1:], norm, name)
    # NumPy's dtype: that of its last (one-axis irfft) step, which sees the input itself
    # only for a single axis (float16 stays float16 there, else becomes float32)
    out_dtype = real_dtype(_dtype(x) if len(axes) == 1 else complex_dtype(_dtype(x)))
    if _dtype(x).kind != "c":
        x = astype(x, complex_dtype(_dtype(x)))
    sizes = list(lengths[:-1]) + [lengths[-1] // 2 + 1]
    x = _resize(x, axes, sizes)
    y = bind(fft_p, x, kind="irfft", axes=tuple(axes), lengths=tuple(lengths), norm=norm)
    return y if _dtype(y) == out_dtype else astype(y, out_dtype)


def _one_axis(a, n, axis, default):
    x = _a(a)
    ax = normalize_axis(axis, len(x.shape))
    m = x.shape[ax]
    return x, [ax], [_length(default(m) if n is None else n)]


# --- one-dimensional transforms -------------------------------------------------------------------


def fft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional discrete Fourier transform, as numpy.fft.fft.

    Args:
      a: the input (real or complex).
      n: transform length: the input is cropped or zero-padded to n along `axis` (default:
        its length there).
      axis: the axis to transform.
      norm: "backward" (default, None), "ortho" or "forward".
    Returns:
      The complex transform (complex128, or complex64 for float32/complex64 input).

    >>> fft(np.array([1.0, 2.0, 3.0, 4.0]))
    array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    _no_out(out, "fft.fft")
    x, axes, lengths = _one_axis(a, n, axis, lambda m: m)
    return _c2c(x, axes, lengths, _norm(norm), "fft")


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional inverse discrete Fourier transform, as numpy.fft.ifft.

    Args:
      a, n, axis, norm: as for `fft`.
    Returns:
      The complex inverse transform: ifft(fft(a)) == a.

    >>> ifft(np.array([10.0, -2 + 2j, -2.0, -2 - 2j])).real
    array([1., 2., 3., 4.])
    """
    _no_out(out, "fft.ifft")
    x, axes, lengths = _one_axis(a, n, axis, lambda m: m)
    return _c2c(x, axes, lengths, _norm(norm), "ifft")


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional transform of a real input: the n // 2 + 1 non-negative frequencies.

    Args:
      a: a real input (a complex one raises TypeError, as in NumPy).
      n, axis, norm: as for `fft`.
    Returns:
      The half spectrum (complex), n // 2 + 1 long along `axis`.

    >>> rfft(np.array([1.0, 2.0, 3.0, 4.0]))
    array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    _no_out(out, "fft.rfft")
    x, axes, lengths = _one_axis(a, n, axis, lambda m: m)
    return _r2c(x, axes, lengths, _norm(norm), "rfft")


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of rfft: a real signal of length n from its half spectrum.

    Args:
      a: the half spectrum; cropped or zero-padded to n // 2 + 1 along `axis`.
      n: output length (default 2 * (m - 1) for an input of length m along `axis`); pass it
        to recover odd lengths: irfft(rfft(x), len(x)) == x.
      axis, norm: as for `fft`.
    Returns:
      The real signal (float64, or float32 for complex64 input). The imaginary parts of the
      zero frequency (and of the Nyquist frequency for even n) are ignored, as by NumPy.

    >>> irfft(np.array([10.0, -2 + 2j, -2.0]))
    array([1., 2., 3., 4.])
    """
    _no_out(out, "fft.irfft")
    x, axes, lengths = _one_axis(a, n, axis, lambda m: 2 * (m - 1))
    return _c2r(x, axes, lengths, _norm(norm), "irfft")


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """Transform of a signal with Hermitian symmetry given by its first half, as
    numpy.fft.hfft: a real spectrum of length n.

    Args:
      a, n, axis, norm: as for `irfft` (n defaults to 2 * (m - 1)).
    Returns:
      The real transform, hfft(a, n) == irfft(conj(a), n) * n (for norm="backward").

    >>> hfft(np.array([1.0, 2.0, 3.0]))
    array([ 8., -2.,  0., -2.])
    """
    _no_out(out, "fft.hfft")
    x, axes, lengths = _one_axis(a, n, axis, lambda m: 2 * (m - 1))
    x = _inexact(x)
    if _dtype(x).kind == "c":
        x = bind(P.conj_p, x)
    return _c2r(x, axes, lengths, _SWAP[_norm(norm)], "hfft")


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of hfft, as numpy.fft.ihfft: the half spectrum of a real input.

    Args:
      a: a real input; n, axis, norm: as for `rfft`.
    Returns:
      conj(rfft(a, n)) / n (for norm="backward").

    >>> ihfft(np.array([8.0, -2.0, 0.0, -2.0]))
    array([1.-0.j, 2.-0.j, 3.-0.j])
    """
    _no_out(out, "fft.ihfft")
    x, axes, lengths = _one_axis(a, n, axis, lambda m: m)
    return bind(P.conj_p, _r2c(x, axes, lengths, _SWAP[_norm(norm)], "ihfft"))


# --- n-dimensional transforms ---------------------------------------------------------------------


def fftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional discrete Fourier transform, as numpy.fft.fftn.

    Args:
      a: the input (real or complex).
      s: transform lengths, one per axis in `axes` (the input is cropped or zero-padded to
        them; -1 keeps the input's length); default: the input's lengths.
      axes: the axes to transform (default: all, or the last len(s) with a
        DeprecationWarning when only s is given, as in NumPy 2).
      norm: "backward" (default), "ortho" or "forward".
    Returns:
      The complex transform.

    >>> fftn(np.ones((2, 2)))
    array([[4.+0.j, 0.+0.j],
           [0.+0.j, 0.+0.j]])
    """
    _no_out(out, "fft.fftn")
    x = _a(a)
    axes, lengths = _cook_nd(x, s, axes, name="fftn")
    return _c2c(x, axes, lengths, _norm(norm), "fft")


def ifftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional inverse discrete Fourier transform, as numpy.fft.ifftn.

    Args:
      a, s, axes, norm: as for `fftn`.
    Returns:
      The complex inverse transform.

    >>> ifftn(fftn(np.ones((2, 2)))).real
    array([[1., 1.],
           [1., 1.]])
    """
    _no_out(out, "fft.ifftn")
    x = _a(a)
    axes, lengths = _cook_nd(x, s, axes, name="ifftn")
    return _c2c(x, axes, lengths, _norm(norm), "ifft")


def rfftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional transform of a real input, as numpy.fft.rfftn: rfft over the last of
    `axes`, fft over the others.

    Args:
      a: a real input; s, axes, norm: as for `fftn`.
    Returns:
      The transform, s[-1] // 2 + 1 long along the last transformed axis.

    >>> rfftn(np.ones((2, 4))).shape
    (2, 3)
    """
    _no_out(out, "fft.rfftn")
    x = _a(a)
    axes, lengths = _cook_nd(x, s, axes, name="rfftn")
    return _r2c(x, axes, lengths, _norm(norm), "rfftn")


def irfftn(a, s=None, axes=None, norm=None, out=None):
    """Inverse of rfftn, as numpy.fft.irfftn.

    Args:
      a: the half spectrum.
      s: output lengths along `axes` (default: the input's, and 2 * (m - 1) along the last
        transformed axis); pass s=x.shape to recover odd lengths.
      axes, norm: as for `fftn`.
    Returns:
      The real inverse transform.

    >>> irfftn(rfftn(np.ones((2, 3))), s=(2, 3))
    array([[1., 1., 1.],
           [1., 1., 1.]])
    """
    _no_out(out, "fft.irfftn")
    x = _a(a)
    axes, lengths = _cook_nd(x, s, axes, invreal=True, name="irfftn")
    return _c2r(x, axes, lengths, _norm(norm), "irfftn")


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional discrete Fourier transform (fftn over the last two axes by default).

    >>> fft2(np.eye(2))
    array([[2.+0.j, 0.+0.j],
           [0.+0.j, 2.+0.j]])
    """
    _no_out(out, "fft.fft2")
    return fftn(a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional inverse discrete Fourier transform (ifftn over the last two axes).

    >>> ifft2(fft2(np.eye(2))).real
    array([[1., 0.],
           [0., 1.]])
    """
    _no_out(out, "fft.ifft2")
    return ifftn(a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional transform of a real input (rfftn over the last two axes).

    >>> rfft2(np.ones((4, 4))).shape
    (4, 3)
    """
    _no_out(out, "fft.rfft2")
    return rfftn(a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Inverse of rfft2 (irfftn over the last two axes).

    >>> irfft2(rfft2(np.ones((4, 4)))).shape
    (4, 4)
    """
    _no_out(out, "fft.irfft2")
    return irfftn(a, s, axes, norm)


# --- frequencies and shifts ----------------------------------------------------------------------


def _freq_args(n, d, device, name):
    if isinstance(n, Tracer) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name}: n should be an integer")
    if device not in (None, "cpu"):
        raise ValueError(f'Device not understood. Only "cpu" is allowed, but received: '
                         f"{device}")


def fftfreq(n, d=1.0, device=None):
    """The sample frequencies of an n-point fft, as numpy.fft.fftfreq: [0, 1, ...,
    n//2 - 1 (or (n-1)//2), -(n//2), ..., -1] / (d * n).

    Args:
      n: window length (int).
      d: sample spacing; may be traced (the result is differentiable in d).
      device: None or "cpu".
    Returns:
      The frequencies, float64.

    >>> fftfreq(4, d=0.5)
    array([ 0. ,  0.5, -1. , -0.5])
    """
    _freq_args(n, d, device, "fftfreq")
    if not isinstance(d, Tracer):
        return np.fft.fftfreq(n, d)
    ints = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)])
    return multiply(ints, divide(1.0, multiply(d, float(n))))


def rfftfreq(n, d=1.0, device=None):
    """The sample frequencies of an n-point rfft, as numpy.fft.rfftfreq: [0, 1, ..., n//2] /
    (d * n).

    Args:
      n: window length (int).
      d: sample spacing; may be traced.
      device: None or "cpu".
    Returns:
      The n // 2 + 1 non-negative frequencies, float64.

    >>> rfftfreq(4)
    array([0.  , 0.25, 0.5 ])
    """
    _freq_args(n, d, device, "rfftfreq")
    if not isinstance(d, Tracer):
        return np.fft.rfftfreq(n, d)
    return multiply(np.arange(n // 2 + 1), divide(1.0, multiply(d, float(n))))


def _shift(x, axes, sign, name):
    x = _a(x)
    shape = tuple(x.shape)
    if isinstance(axes, Tracer):
        raise TypeError(f"{name}: axes must be concrete ints")
    if axes is None:
        axes = tuple(range(len(shape)))
    single = np.ndim(axes) == 0
    ax_list = [normalize_axis(a, len(shape)) for a in ([axes] if single else axes)]
    shifts = [sign * (shape[a] // 2) for a in ax_list]
    if not ax_list:
        return x
    return roll(x, shifts[0] if single else shifts, ax_list[0] if single else ax_list)


def fftshift(x, axes=None):
    """Move the zero frequency to the centre of the spectrum, as numpy.fft.fftshift.

    Args:
      x: the spectrum.
      axes: the axes to shift (default: all).
    Returns:
      x rolled by n // 2 along each axis.

    >>> fftshift(fftfreq(5))
    array([-0.4, -0.2,  0. ,  0.2,  0.4])
    """
    return _shift(x, axes, 1, "fftshift")


def ifftshift(x, axes=None):
    """The inverse of fftshift, as numpy.fft.ifftshift (they differ for odd lengths).

    Args:
      x: the spectrum; axes: the axes to shift (default: all).
    Returns:
      x rolled by -(n // 2) along each axis.

    >>> ifftshift(fftshift(fftfreq(5)))
    array([ 0. ,  0.2,  0.4, -0.4, -0.2])
    """
    return _shift(x, axes, -1, "ifftshift")
