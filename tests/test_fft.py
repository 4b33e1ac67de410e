"""chainrule.numpy.fft and its primitive.

1. The primitive table (`ALL_ROWS`, run through the standard table tests of primtable.py):
   every kind of transform (c2c both ways, real input to c2c, rfft/irfft with even and odd
   lengths, several axes, every norm).
2. Every public function against NumPy: values, shapes and dtypes for odd/even lengths, n
   (or s) smaller and larger than the input, every norm, real/complex/float32/integer inputs.
3. Derivatives: check_grads order 2 (fwd + rev) of every public function; the VJPs of rfft
   and irfft against explicit adjoints built with NumPy from unit vectors (the Hermitian half
   spectrum, even/odd n, n different from the input length).
4. vmap vs a Python loop, jit vs eager, plain NumPy code (np.fft on traced values).
5. fftfreq/rfftfreq/fftshift/ifftshift, errors.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.prims.fft import fft_p
from chainrule.test_util import check_grads
from primtable import Row, normal, cplx, coverage_test
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)


# --- 1. the primitive table ---------------------------------------------------------------------


def _row(make, kind, axes, lengths, norm="backward", case=""):
    params = dict(kind=kind, axes=axes, lengths=lengths, norm=norm)
    ref = getattr(np.fft, kind + "n")
    return Row(fft_p, lambda rng: (make(rng),),
               lambda x: ref(x, s=lengths, axes=axes, norm=norm), params, diff=(0,), case=case)


ALL_ROWS = [
    _row(cplx((3, 4)), "fft", (1,), (4,), case="c2c"),
    _row(normal((3, 5)), "fft", (0,), (3,), "ortho", case="real-input"),
    _row(cplx((3, 4)), "ifft", (0, 1), (3, 4), "forward", case="2d"),
    _row(cplx((2, 3, 2)), "ifft", (2, 0), (2, 2), "ortho", case="axes-unsorted"),
    _row(normal((3, 4)), "rfft", (1,), (4,), case="even"),
    _row(normal((3, 5)), "rfft", (1,), (5,), "ortho", case="odd"),
    _row(normal((3, 4)), "rfft", (1, 0), (4, 3), "forward", case="2d-last-axis-0"),
    _row(cplx((3, 3)), "irfft", (1,), (4,), case="even"),
    _row(cplx((3, 3)), "irfft", (1,), (5,), "ortho", case="odd"),
    _row(cplx((4, 3)), "irfft", (0, 1), (4, 4), "forward", case="2d"),
    _row(cplx((2, 3)), "irfft", (1, 0), (3, 3), case="2d-odd-last-axis-0"),
]

test_coverage = coverage_test(ALL_ROWS, module="chainrule.prims.fft")


# --- 2. values vs NumPy -------------------------------------------------------------------------

RNG = np.random.default_rng(0)
XR = RNG.standard_normal((3, 6))
XC = XR + 1j * RNG.standard_normal((3, 6))
X3 = RNG.standard_normal((2, 3, 5))
X3C = X3 + 1j * RNG.standard_normal((2, 3, 5))
NORMS = [None, "backward", "ortho", "forward"]

ONE_D = {"fft": [XR, XC], "ifft": [XR, XC], "rfft": [XR], "irfft": [XR, XC],
         "hfft": [XR, XC], "ihfft": [XR]}
N_D = {"fftn": [X3, X3C], "ifftn": [X3, X3C], "rfftn": [X3], "irfftn": [X3, X3C]}
TWO_D = {"fft2": "fftn", "ifft2": "ifftn", "rfft2": "rfftn", "irfft2": "irfftn"}


def _same(got, want, tol=1e-10):
    assert isinstance(got, np.ndarray), type(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(ONE_D))
@pytest.mark.parametrize("n", [None, 1, 4, 5, 8, 11])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("axis", [-1, 0])
def test_one_dimensional_vs_numpy(name, n, norm, axis):
    for x in ONE_D[name]:
        want = getattr(np.fft, name)(x, n=n, axis=axis, norm=norm)
        _same(getattr(cnp.fft, name)(x, n=n, axis=axis, norm=norm), want)


CASES_ND = [(None, None), ((3, 6), (0, 2)), ((2, 5), (-1, 0)), (None, (1,)), ((4,), (2,)),
            ((1, 2, 7), (0, 1, 2)), (None, (2, 0, 1))]


@pytest.mark.parametrize("name", sorted(N_D))
@pytest.mark.parametrize("s,axes", CASES_ND)
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_n_dimensional_vs_numpy(name, s, axes, norm):
    for x in N_D[name]:
        want = getattr(np.fft, name)(x, s=s, axes=axes, norm=norm)
        _same(getattr(cnp.fft, name)(x, s=s, axes=axes, norm=norm), want)


@pytest.mark.parametrize("name", sorted(TWO_D))
@pytest.mark.parametrize("s", [None, (3, 4), (2, 7)])
def test_two_dimensional_vs_numpy(name, s):
    for x in N_D[TWO_D[name]]:
        _same(getattr(cnp.fft, name)(x, s=s), getattr(np.fft, name)(x, s=s))
        _same(getattr(cnp.fft, name)(x, s=s, axes=(0, 2), norm="ortho"),
              getattr(np.fft, name)(x, s=s, axes=(0, 2), norm="ortho"))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64, np.complex128,
                                   np.int64, np.bool_, np.float16])
@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "fftn", "rfftn", "irfftn",
                                  "hfft", "ihfft"])
def test_dtypes_follow_numpy(dtype, name):
    x = (XC if np.dtype(dtype).kind == "c" else XR * 3).astype(dtype)
    if name in ("rfft", "rfftn", "ihfft") and np.dtype(dtype).kind == "c":
        with pytest.raises(TypeError, match="real input"):
            getattr(cnp.fft, name)(x)
        return
    want = getattr(np.fft, name)(x)
    got = getattr(cnp.fft, name)(x)
    # float16: NumPy scales in float16 (1/n rounded), chainrule in float32
    tol = 2e-3 if dtype == np.float16 else {8: 1e-10, 4: 1e-4}[want.real.dtype.itemsize]
    _same(got, want, tol)


def test_repeated_axes_and_empty_axes_follow_numpy():
    _same(cnp.fft.fftn(XC, axes=(1, 1)), np.fft.fftn(XC, axes=(1, 1)))
    _same(cnp.fft.fftn(X3, s=(4, 3, 2), axes=(0, 2, 0)), np.fft.fftn(X3, s=(4, 3, 2),
                                                                  axes=(0, 2, 0)))
    _same(cnp.fft.rfftn(X3, axes=(1, 2, 1)), np.fft.rfftn(X3, axes=(1, 2, 1)))
    _same(cnp.fft.irfftn(X3C, axes=(2, 2)), np.fft.irfftn(X3C, axes=(2, 2)))
    np.testing.assert_array_equal(cnp.fft.fftn(XR, axes=()), np.fft.fftn(XR, axes=()))
    check_grads(lambda x: cnp.fft.fftn(x, axes=(1, 0, 1)), (XC,), order=1)


def test_s_without_axes_warns_like_numpy():
    with pytest.warns(DeprecationWarning):
        got = cnp.fft.fftn(X3, s=(2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _same(got, np.fft.fftn(X3, s=(2, 4)))
    _same(cnp.fft.irfftn(X3C, s=(4, -1), axes=(0, 1)),
          np.fft.irfftn(X3C, s=(4, -1), axes=(0, 1)))


def test_round_trips():
    for n in (5, 6):
        x = XR[:, :n]
        np.testing.assert_allclose(cnp.fft.irfft(cnp.fft.rfft(x), n), x, atol=1e-12)
        np.testing.assert_allclose(cnp.fft.ifft(cnp.fft.fft(XC)), XC, atol=1e-12)
        np.testing.assert_allclose(cnp.fft.irfftn(cnp.fft.rfftn(X3), X3.shape, (0, 1, 2)), X3,
                                   atol=1e-12)
        np.testing.assert_allclose(cnp.fft.ihfft(cnp.fft.hfft(XC[:, :4], n)),
                                   np.fft.ihfft(np.fft.hfft(XC[:, :4], n)), atol=1e-12)


# --- 3. derivatives -------------------------------------------------------------------------------

GRAD_CASES = [
    ("fft", XC, dict()), ("fft", XR, dict(n=4, norm="ortho")), ("fft", XC, dict(n=9)),
    ("ifft", XC, dict(n=5, axis=0, norm="forward")), ("ifft", XR, dict()),
    ("rfft", XR, dict()), ("rfft", XR, dict(n=5)), ("rfft", XR, dict(n=9, norm="ortho")),
    ("rfft", XR, dict(n=3, axis=0, norm="forward")),
    ("irfft", XC, dict()), ("irfft", XC, dict(n=7)), ("irfft", XC, dict(n=4, norm="ortho")),
    ("irfft", XC, dict(n=15, norm="forward")), ("irfft", XR, dict(n=5)),
    ("hfft", XC, dict(n=7)), ("ihfft", XR, dict(n=5, norm="ortho")),
    ("fftn", X3C, dict(s=(3, 2), axes=(0, 2))), ("ifftn", X3, dict(norm="ortho")),
    ("rfftn", X3, dict()), ("rfftn", X3, dict(s=(4, 3), axes=(2, 1), norm="forward")),
    ("irfftn", X3C, dict()), ("irfftn", X3C, dict(s=(3, 5), axes=(0, 1), norm="ortho")),
    ("fft2", X3C, dict(s=(2, 6))), ("ifft2", X3C, dict()), ("rfft2", X3, dict(s=(4, 5))),
    ("irfft2", X3C, dict(s=(3, 7), norm="forward")),
    ("fftshift", X3C, dict()), ("ifftshift", X3, dict(axes=(0, 2))),
]


@pytest.mark.parametrize("name,x,kw", GRAD_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(GRAD_CASES)])
def test_check_grads(name, x, kw):
    f = lambda a: getattr(cnp.fft, name)(a, **kw)  # noqa: E731
    check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def _vjp(f, x, ct):
    return cr.vjp(f, x)[1](ct)[0]


@pytest.mark.parametrize("m", [4, 5])
@pytest.mark.parametrize("n", [3, 4, 5, 8, 9])
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_rfft_vjp_is_the_adjoint_built_from_unit_vectors(m, n, norm):
    # rfft(x, n) = M^T x with M[j] = np.fft.rfft(e_j, n): the VJP is Re(conj(M) @ ct)
    M = np.fft.rfft(np.eye(m), n=n, norm=norm)
    rng = np.random.default_rng(n)
    ct = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    x = rng.standard_normal(m)
    want = np.real(np.conj(M) @ ct)
    got = _vjp(lambda a: cnp.fft.rfft(a, n=n, norm=norm), x, ct)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # and jacfwd (real input) gives M^T itself
    np.testing.assert_allclose(cr.jacfwd(lambda a: cnp.fft.rfft(a, n=n, norm=norm))(x), M.T,
                               atol=1e-12)


@pytest.mark.parametrize("m", [3, 4, 6])
@pytest.mark.parametrize("n", [2, 4, 5, 7, 10])
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_irfft_vjp_is_the_adjoint_built_from_unit_vectors(m, n, norm):
    # y = irfft(c, n) = A Re(c) + B Im(c) (real-linear; imaginary parts of the zero and
    # Nyquist bins are dropped): the VJP is A^T ct + i B^T ct
    A = np.fft.irfft(np.eye(m), n=n, norm=norm).T
    B = np.fft.irfft(1j * np.eye(m), n=n, norm=norm).T
    rng = np.random.default_rng(m * n)
    ct = rng.standard_normal(n)
    c = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    want = A.T @ ct + 1j * (B.T @ ct)
    got = _vjp(lambda a: cnp.fft.irfft(a, n=n, norm=norm), c, ct)
    assert got.dtype == np.complex128
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    t = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    _, tout = cr.jvp(lambda a: cnp.fft.irfft(a, n=n, norm=norm), (c,), (t,))
    np.testing.assert_allclose(tout, A @ t.real + B @ t.imag, atol=1e-12)


def test_rfftn_and_irfftn_vjps_are_adjoints():
    rng = np.random.default_rng(3)
    for s in [(3, 4), (4, 5), (2, 3)]:
        x = rng.standard_normal(s)
        c = rng.standard_normal((s[0], s[1] // 2 + 1)) * (1 + 0.5j)
        for norm in ["backward", "ortho", "forward"]:
            # <ct, rfftn(t)> == <vjp(ct), t> and the same for irfftn, with exact transforms
            ct = rng.standard_normal(c.shape) + 1j * rng.standard_normal(c.shape)
            t = rng.standard_normal(s)
            lhs = np.real(np.vdot(ct, np.fft.rfftn(t, norm=norm)))
            rhs = np.vdot(_vjp(lambda a: cnp.fft.rfftn(a, norm=norm), x, ct), t).real
            np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
            ct2 = rng.standard_normal(s)
            t2 = rng.standard_normal(c.shape) + 1j * rng.standard_normal(c.shape)
            lhs = np.vdot(ct2, np.fft.irfftn(t2, s=s, axes=(0, 1), norm=norm)).real
            rhs = np.real(np.vdot(_vjp(lambda a: cnp.fft.irfftn(a, s=s, axes=(0, 1),
                                                                 norm=norm), c, ct2), t2))
            np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_closed_form_gradients():
    # Parseval: sum |fft(x)|^2 = n sum |x|^2, so its gradient is 2 n x (grad convention)
    n = XC.shape[1]
    g = cr.grad(lambda z: cnp.sum(cnp.abs(cnp.fft.fft(z)) ** 2))(XC)
    np.testing.assert_allclose(g, 2 * n * XC, rtol=1e-12)
    g = cr.grad(lambda z: cnp.sum(cnp.abs(cnp.fft.fft(z, norm="ortho")) ** 2))(XC)
    np.testing.assert_allclose(g, 2 * XC, rtol=1e-12)
    # sum(real(fft(x))) = n x[0] for real x: gradient n e_0
    g = cr.grad(lambda x: cnp.sum(cnp.real(cnp.fft.fft(x))))(XR[0])
    np.testing.assert_allclose(g, np.eye(6)[0] * 6, atol=1e-12)
    # the zero-frequency bin of irfft's input: only its real part matters
    g = cr.grad(lambda c: cnp.fft.irfft(c, 6)[2])(XC[0, :4])
    assert g[0].imag == 0 and g[-1].imag == 0


def test_float32_gradients_keep_float32():
    x = XR.astype(np.float32)
    g = cr.grad(lambda a: cnp.sum(cnp.abs(cnp.fft.rfft(a, n=7)) ** 2))(x)
    assert g.dtype == np.float32
    want = cr.grad(lambda a: cnp.sum(cnp.abs(cnp.fft.rfft(a, n=7)) ** 2))(XR)
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-4)
    c = XC.astype(np.complex64)
    g = cr.grad(lambda a: cnp.sum(cnp.fft.irfft(a, n=9) ** 2))(c)
    assert g.dtype == np.complex64


def test_higher_order_and_composed_transforms():
    # hessian of a real loss through rfft/irfft vs jacfwd(jacrev), jvp(grad) vs fd
    def loss(x):
        y = cnp.fft.irfft(cnp.fft.rfft(x) * np.exp(-np.arange(4.0)), n=6)
        return cnp.sum(cnp.sin(y) * x)
    x = XR[0]
    H = cr.hessian(loss)(x)
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    eps = 1e-5
    e = np.eye(6)
    fd = np.stack([(cr.grad(loss)(x + eps * e[i]) - cr.grad(loss)(x - eps * e[i])) / (2 * eps)
                   for i in range(6)])
    np.testing.assert_allclose(H, fd, atol=1e-6)


# --- 4. vmap, jit, plain NumPy --------------------------------------------------------------------

BATCH_CASES = [
    ("fft", dict(n=5)), ("ifft", dict(axis=0, norm="ortho")), ("rfft", dict(n=7)),
    ("irfft", dict(n=5)), ("fftn", dict(axes=(0,))), ("rfft2", dict(s=(2, 5))),
    ("irfftn", dict(s=(3, 4), axes=(1, 0))), ("fftshift", dict()), ("ifftshift", dict(axes=0)),
    ("hfft", dict()), ("ihfft", dict(n=4)),
]


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("name,kw", BATCH_CASES, ids=[c[0] for c in BATCH_CASES])
@pytest.mark.parametrize("in_axis", [0, 1, 2])
def test_vmap_vs_loop(name, kw, in_axis):
    real_only = name in ("rfft", "rfft2", "ihfft")
    xs = np.stack([X3[0, :, :4], X3[1, :, :4] * 2, X3[0, :, 1:]], axis=in_axis)
    if not real_only:
        xs = xs + 1j * np.roll(xs, 1)
    f = lambda a: getattr(cnp.fft, name)(a, **kw)  # noqa: E731
    want = np.stack([getattr(np.fft, name)(np.take(xs, i, axis=in_axis), **kw)
                     for i in range(3)])
    _same(cr.vmap(f, in_axes=in_axis)(xs), want)
    # vmap of grad vs a loop of grads
    g = cr.grad(lambda a: cnp.sum(cnp.real(f(a) * np.conj(want[0]))))
    want_g = np.stack([g(np.take(xs, i, axis=in_axis)) for i in range(3)])
    np.testing.assert_allclose(cr.vmap(g, in_axes=in_axis)(xs), want_g, rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("name,x,kw", GRAD_CASES[::2],
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(GRAD_CASES[::2])])
def test_jit_vs_eager(name, x, kw):
    f = lambda a: getattr(cnp.fft, name)(a, **kw)  # noqa: E731
    _same(cr.jit(f)(x), f(x))
    loss = lambda a: cnp.sum(cnp.abs(f(a)) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.jit(cr.grad(loss))(x), cr.grad(loss)(x), rtol=1e-10)
    np.testing.assert_allclose(cr.grad(cr.jit(loss))(x), cr.grad(loss)(x), rtol=1e-10)


def test_jit_source_calls_numpy_fft():
    src = cr.jit(lambda a: cnp.fft.rfft(a, n=7, norm="ortho")).source(XR)
    assert "np.fft.rfftn" in src and "'ortho'" in src


def test_plain_numpy_code_differentiates():
    x = XR[0]
    g = cr.grad(lambda x: np.real(np.fft.fft(x)).sum())(x)
    np.testing.assert_allclose(g, np.eye(6)[0] * 6, atol=1e-12)
    f = lambda x: np.sum(np.abs(np.fft.fftshift(np.fft.rfft(x, n=8))) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(x), cr.grad(lambda x: cnp.sum(cnp.abs(
        cnp.fft.rfft(x, n=8)) ** 2))(x), rtol=1e-12)
    np.testing.assert_allclose(cr.jit(lambda x: np.fft.irfft2(np.fft.rfft2(x),
                                                              s=x.shape[1:]))(X3), X3,
                               atol=1e-12)
    np.testing.assert_allclose(cr.vmap(np.fft.ifft)(XC), np.fft.ifft(XC), atol=1e-12)


# --- 5. frequencies, shifts, errors -------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 8])
@pytest.mark.parametrize("d", [1.0, 0.25])
def test_frequencies_vs_numpy(n, d):
    _same(cnp.fft.fftfreq(n, d), np.fft.fftfreq(n, d))
    _same(cnp.fft.rfftfreq(n, d), np.fft.rfftfreq(n, d))
    _same(cnp.fft.fftfreq(np.int32(n), d=d, device="cpu"), np.fft.fftfreq(n, d))


def test_frequencies_differentiate_in_d():
    n, d = 6, 0.3
    g = cr.grad(lambda d: cnp.sum(cnp.fft.fftfreq(n, d) ** 2))(d)
    np.testing.assert_allclose(g, -2 * np.sum(np.fft.fftfreq(n, d) ** 2) / d, rtol=1e-12)
    g = cr.grad(lambda d: cnp.sum(cnp.fft.rfftfreq(n, d)))(d)
    np.testing.assert_allclose(g, -np.sum(np.fft.rfftfreq(n, d)) / d, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(lambda d: cnp.fft.fftfreq(5, d))(d),
                               np.fft.fftfreq(5, d), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(lambda d: cnp.fft.rfftfreq(5, d))(np.array([1., 2.])),
                               np.stack([np.fft.rfftfreq(5, 1.), np.fft.rfftfreq(5, 2.)]))


@pytest.mark.parametrize("axes", [None, 0, 1, (0, 1), (-1,), (2, 0)])
def test_shifts_vs_numpy(axes):
    x = X3C if axes == (2, 0) else XC[:, :5]
    _same(cnp.fft.fftshift(x, axes), np.fft.fftshift(x, axes))
    _same(cnp.fft.ifftshift(x, axes), np.fft.ifftshift(x, axes))
    _same(cnp.fft.ifftshift(cnp.fft.fftshift(x, axes), axes), x)
    _same(cnp.fft.fftshift(cnp.fft.fftfreq(7)), np.fft.fftshift(np.fft.fftfreq(7)))


def test_errors():
    with pytest.raises(TypeError, match="real input"):
        cnp.fft.rfft(XC)
    with pytest.raises(ValueError, match="Invalid number of FFT data points"):
        cnp.fft.fft(XR, n=0)
    with pytest.raises(ValueError, match="Invalid number of FFT data points"):
        cnp.fft.irfft(XC[:, :1])
    with pytest.raises(TypeError):
        cnp.fft.fft(XR, n=2.5)
    with pytest.raises(ValueError, match="Invalid norm value"):
        cnp.fft.fft(XR, norm="both")
    with pytest.raises(ValueError, match="different lengths"):
        cnp.fft.fftn(X3, s=(2,), axes=(0, 1))
    with pytest.raises(np.exceptions.AxisError):
        cnp.fft.fft(XR, axis=2)
    with pytest.raises(np.exceptions.AxisError):
        cnp.fft.fft(np.float64(1.0))
    with pytest.raises(np.exceptions.AxisError, match="at least one axis"):
        cnp.fft.rfftn(XR, axes=())
    with pytest.raises(TypeError, match="out="):
        cnp.fft.fft(XC, out=np.empty_like(XC))
    with pytest.raises(ValueError, match="n should be an integer"):
        cnp.fft.fftfreq(4.0)
    with pytest.raises(ValueError, match="Device"):
        cnp.fft.rfftfreq(4, device="gpu")
    with pytest.raises(ValueError, match="expected 3"):
        fft_p.abstract_eval(cr.core.get_aval(XC), kind="irfft", axes=(1,), lengths=(4,),
                            norm="backward")
    with pytest.raises(ValueError, match="expected 3"):
        cr.jit(lambda c: fft_p(c, kind="irfft", axes=(1,), lengths=(4,), norm="ortho"))(XC)
    with pytest.raises(TypeError, match="concrete"):
        cr.jit(lambda x, n: cnp.fft.fft(x, n=n))(XR, 4)
