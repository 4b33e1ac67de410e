"""chainrule.numpy.linalg: NumPy's linear algebra over chainrule primitives.

Contract:
- Names, signatures, result types (the NumPy 2 named tuples) and errors follow numpy.linalg:
  stacks of matrices (leading batch axes) wherever NumPy takes them, float64 for integer
  input, float32/complex64/complex128 preserved, LinAlgError where NumPy raises it (singular
  matrices in solve/inv/tensorsolve, non positive definite matrices in cholesky).
- Every function is composed from the primitives of `chainrule.prims.linalg` (cholesky,
  triangular_solve, lu, qr, eigh, svd, eig, pinv) and the structural ones, so it is
  differentiable in forward and reverse mode to any order, batchable (vmap) and compilable
  (jit). Derivatives reuse the factorization of the forward pass (solve, inv, det, slogdet
  differentiate through the LU factors).
- Deviations from NumPy, each forced by transforms that see shapes and dtypes only:
  `eig`/`eigvals` always return complex arrays (as in JAX; NumPy returns a real array when
  every eigenvalue happens to be real); `lstsq` under jit/vmap cannot see the rank, and
  returns the residuals as for a full-rank problem.
- Caveats at non-differentiable points are stated per function (norm at 0, repeated
  eigenvalues or singular values, rank changes in pinv/lstsq, gauges of eigenvectors).
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import NamedTuple

import numpy as np

from ..core import ConcretizationError, Tracer
from .. import prims as P
from ..prims import linalg as PL
from . import _manip as M
from . import _products as PR
from . import _reductions as R
from . import _shape as S
from . import _ufuncs as U

LinAlgError = np.linalg.LinAlgError

__all__ = ["LinAlgError", "solve", "inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh",
           "eig", "eigvals", "svd", "svdvals", "qr", "lstsq", "pinv", "matrix_power",
           "matrix_rank", "cond", "norm", "vector_norm", "matrix_norm", "multi_dot",
           "tensorsolve", "tensorinv", "matmul", "tensordot", "vecdot", "outer", "cross",
           "matrix_transpose", "diagonal", "trace", "EigResult", "EighResult", "QRResult",
           "SlogdetResult", "SVDResult"]


class EigResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class QRResult(NamedTuple):
    Q: object
    R: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


# ---------------------------------------------------------------------------------------------
# argument handling


def _arr(x):
    if isinstance(x, Tracer):
        return x
    if type(x) in (list, tuple):
        return M._a(x)
    return np.asarray(x)


def _linalg_dtype(dt) -> np.dtype:
    dt = np.dtype(dt)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    if dt.kind not in "fc" or dt.itemsize not in ((4, 8) if dt.kind == "f" else (8, 16)):
        raise TypeError(f"array type {dt.name} is unsupported in linalg")
    return dt


def _float(x, dtype=None):
    """x as a float32/float64/complex array or tracer (integers become float64)."""
    a = _arr(x)
    dt = _linalg_dtype(a.dtype if dtype is None else dtype)
    return a if a.dtype == dt else U.astype(a, dt)


def _common(*xs):
    """The arguments converted to their common linalg dtype."""
    arrs = [_arr(x) for x in xs]
    dt = arrs[0].dtype
    if any(a.dtype != dt for a in arrs):
        dt = np.result_type(*(a.dtype for a in arrs))
    dt = _linalg_dtype(dt)
    return [a if a.dtype == dt else U.astype(a, dt) for a in arrs]


def _stacked_2d(*arrays):
    for a in arrays:
        if a.ndim < 2:
            raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be at least "
                              "two-dimensional")


def _stacked_square(*arrays):
    for a in arrays:
        if a.shape[-1] != a.shape[-2]:
            raise LinAlgError("Last 2 dimensions of the array must be square")


def _concrete(x):
    """The value of x when it is known (no transform, or grad/jvp), else None (jit, vmap)."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    try:
        return np.asarray(x._trace.concrete(x, "inspection"))
    except ConcretizationError:
        return None


def _H(x):
    x = S.matrix_transpose(x)
    return U.conjugate(x) if x.dtype.kind == "c" else x


def _real_dtype(dt):
    return np.empty(0, dt).real.dtype


def _safe_sqrt(s):
    """sqrt(s) with derivative 0 (not inf/NaN) where s == 0."""
    z = U.equal(s, 0)
    return U.where(z, 0.0, U.sqrt(U.where(z, 1.0, s)))


def _sqabs(x):
    return U.real(x * U.conjugate(x)) if x.dtype.kind == "c" else x * x


# ---------------------------------------------------------------------------------------------
# solving and inverting


def _solve_lu(a, b, check):
    """x with a x = b for a (..., n, n) and b (..., n, k); batch axes broadcast."""
    n = a.shape[-1]
    lu, _, perm = PL.lu_p(a)
    if a.ndim == 2 and b.ndim > 2:
        # one matrix, many right-hand sides: solve them as the columns of one matrix
        nb = b.ndim - 2
        bt = S.moveaxis(b, -2, 0)                               # (n, *batch, k)
        x = PL.lu_solve(lu, perm, S.reshape(bt, (n, -1)), 0, check)
        return S.moveaxis(S.reshape(x, bt.shape), 0, nb)
    if a.shape[:-2] == b.shape[:-2]:
        return PL.lu_solve(lu, perm, b, 0, check)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if tuple(a.shape[:-2]) != batch:
        lu = S.broadcast_to(lu, batch + (n, n))
        perm = S.broadcast_to(perm, batch + (n,))
    if tuple(b.shape[:-2]) != batch:
        b = S.broadcast_to(b, batch + tuple(b.shape[-2:]))
    return PL.lu_solve(lu, perm, b, 0, check)


def solve(a, b):
    """Solve the linear system a @ x = b, as numpy.linalg.solve.

    Computed from the LU factorization of a (partial pivoting); derivatives reuse it.

    Args:
      a: (..., M, M) coefficient matrices.
      b: (M,) vector, or (..., M, K) right-hand sides (batch axes broadcast with a's).
    Returns:
      x with the shape of b broadcast against a's batch axes.
    Raises:
      LinAlgError: a is exactly singular (as NumPy; under jit, when the program runs).

    Example:
      >>> solve(np.array([[3., 1.], [1., 2.]]), np.array([9., 8.]))
      array([2., 3.])
    """
    a, b = _common(a, b)
    _stacked_2d(a)
    _stacked_square(a)
    n = a.shape[-1]
    vector = b.ndim == 1
    b2 = S.reshape(b, (n, 1)) if vector and b.shape[0] == n else b
    if b2.ndim < 2 or b2.shape[-2] != n:
        raise ValueError(f"solve: Input operand 1 has a mismatch in its core dimension 0, with "
                         f"gufunc signature (m,m),(m,n)->(m,n) (size {b.shape[0 if vector else -2]}"
                         f" is different from {n})")
    x = _solve_lu(a, b2, True)
    return x[..., 0] if vector else x


def _inv(a, check):
    n = a.shape[-1]
    eye = np.eye(n, dtype=a.dtype)
    lu, _, perm = PL.lu_p(a)
    b = eye if a.ndim == 2 else S.broadcast_to(eye, tuple(a.shape))
    return PL.lu_solve(lu, perm, b, 0, check)


def inv(a):
    """The inverse of (stacked) square matrices, as numpy.linalg.inv.

    Computed as solve(a, I) from the LU factors; the derivative is -inv(a) @ da @ inv(a),
    obtained through the factorization.

    Args:
      a: (..., M, M) matrices.
    Returns:
      (..., M, M) inverses.
    Raises:
      LinAlgError: a is exactly singular.

    Example:
      >>> inv(np.array([[2., 0.], [0., 4.]]))
      array([[0.5 , 0.  ],
             [0.  , 0.25]])
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    return _inv(a, True)


def _lu_parity(piv):
    n = piv.shape[-1]
    swaps = R.sum(U.not_equal(piv, np.arange(n, dtype=piv.dtype)), axis=-1)
    return 1 - 2 * (swaps % 2)


def det(a):
    """The determinant of (stacked) square matrices, as numpy.linalg.det.

    Computed from the LU factors (product of U's diagonal and the permutation's sign). The
    gradient is the transposed adjugate, det(a) inv(a)^T for invertible a, computed from the
    same LU factors in a form that is also exact (and finite) at singular matrices. Second
    derivatives at exactly singular matrices are not reliable.

    Args:
      a: (..., M, M) matrices.
    Returns:
      (...) determinants.

    Example:
      >>> det(np.array([[1., 2.], [3., 4.]]))
      array(-2.)
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    return PL.det_p(a)


def slogdet(a):
    """Sign and log of the absolute value of the determinant, as numpy.linalg.slogdet.

    For a singular matrix the sign is 0 and logabsdet is -inf (as NumPy). The derivative of
    logabsdet is Re(inv(a))^T-like: d logabsdet = Re tr(inv(a) da).

    Args:
      a: (..., M, M) matrices.
    Returns:
      SlogdetResult(sign, logabsdet): sign is +-1 (real a) or a unit complex number.

    Example:
      >>> slogdet(np.array([[2., 0.], [0., -3.]]))
      SlogdetResult(sign=np.float64(-1.0), logabsdet=np.float64(1.791759469228055))
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    lu, piv, _ = PL.lu_p(a)
    d = M.diagonal(lu, 0, -2, -1)
    ad = U.absolute(d)
    parity = U.astype(_lu_parity(piv), _real_dtype(a.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = R.sum(U.log(ad), axis=-1)
        if a.dtype.kind == "c":
            z = U.equal(ad, 0)
            unit = U.where(z, 0.0, d / U.where(z, 1.0, ad))
            sign = R.prod(unit, axis=-1) * parity
        else:
            sign = R.prod(U.sign(d), axis=-1) * parity
    return SlogdetResult(sign, logdet)


# ---------------------------------------------------------------------------------------------
# factorizations


def cholesky(a, /, *, upper=False):
    """The Cholesky factor of (stacked) Hermitian positive-definite matrices.

    As numpy.linalg.cholesky: only the lower triangle of a is read (the upper one with
    upper=True), and the derivative is that of this function: the gradient lives in the
    triangle that is read. For a function of a symmetric matrix, (g + g^H) / 2 is the
    symmetric gradient.

    Args:
      a: (..., M, M) Hermitian positive-definite matrices.
      upper: return U = L^H (reading the upper triangle) instead of L.
    Returns:
      L (lower triangular) with a = L @ L^H, or U with a = U^H @ U.
    Raises:
      LinAlgError: a is not positive definite.

    Example:
      >>> cholesky(np.array([[4., 2.], [2., 2.]]))
      array([[2., 0.],
             [1., 1.]])
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    if upper:
        return _H(PL.cholesky_p(_H(a)))
    return PL.cholesky_p(a)


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return UPLO == "L"


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of (stacked) Hermitian matrices.

    As numpy.linalg.eigh, reading one triangle (UPLO). Caveats: eigenvectors are defined up
    to sign (real) or phase (complex); for real input the derivative is that of LAPACK's
    output, for complex input only phase-invariant functions of the eigenvectors (|v|^2,
    V diag(f(w)) V^H) have meaningful derivatives. At exactly repeated eigenvalues the
    coupling between the equal ones is dropped: derivatives of functions of the eigenvalues
    (sum(w), sum(f(w)), trace-like quantities) are finite and correct; eigenvector
    derivatives there are not defined, and functions built from the eigenvectors (even
    gauge-invariant ones such as V diag(f(w)) V^H) are differentiated correctly only away
    from exact degeneracy (use expm/sqrtm/pinv, which have their own exact rules).

    Args:
      a: (..., M, M) Hermitian matrices.
      UPLO: "L" reads the lower triangle, "U" the upper one.
    Returns:
      EighResult(eigenvalues (..., M) real, eigenvectors (..., M, M) as columns).

    Example:
      >>> eigh(np.array([[2., 1.], [1., 2.]])).eigenvalues
      array([1., 3.])
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    w, v = PL.eigh_p(a, lower=_uplo(UPLO), eigvals_only=False)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of (stacked) Hermitian matrices, as numpy.linalg.eigvalsh.

    Differentiable everywhere as a symmetric function of the matrix would be: gradients of
    functions of the eigenvalues stay finite at repeated eigenvalues (see `eigh`).

    Args:
      a: (..., M, M) Hermitian matrices.
      UPLO: the triangle that is read ("L" or "U").
    Returns:
      (..., M) real eigenvalues.

    Example:
      >>> eigvalsh(np.eye(2))
      array([1., 1.])
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    return PL.eigh_p(a, lower=_uplo(UPLO), eigvals_only=True)[0]


def eig(a):
    """Eigenvalues and right eigenvectors of (stacked) square matrices.

    As numpy.linalg.eig, except that the results are always complex (NumPy returns real
    arrays when all eigenvalues happen to be real: a dtype no transform can know in advance).
    Eigenvectors have unit norm and their largest component real (LAPACK's normalization);
    their derivative keeps that normalization, so it matches finite differences of NumPy's
    output. Derivatives are not defined at repeated eigenvalues (the coupling between equal
    eigenvalues is dropped, as in `eigh`) nor for defective matrices.

    Args:
      a: (..., M, M) matrices.
    Returns:
      EigResult(eigenvalues (..., M), eigenvectors (..., M, M) as columns), complex.

    Example:
      >>> eig(np.diag([1., 2.])).eigenvalues
      array([1.+0.j, 2.+0.j])
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    w, v = PL.eig_p(a, eigvals_only=False)
    return EigResult(w, v)


def eigvals(a):
    """Eigenvalues of (stacked) square matrices (always complex), as numpy.linalg.eigvals.

    Args:
      a: (..., M, M) matrices.
    Returns:
      (..., M) complex eigenvalues (see `eig` for the dtype and derivative caveats).

    Example:
      >>> eigvals(np.array([[0., -1.], [1., 0.]]))
      array([0.+1.j, 0.-1.j])
    """
    a = _float(a)
    _stacked_2d(a)
    _stacked_square(a)
    return PL.eig_p(a, eigvals_only=True)[0]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition a = U @ diag(S) @ Vh, as numpy.linalg.svd.

    Caveats: singular vectors are defined up to sign (real) or a common phase (complex), so
    for complex input only gauge-invariant functions (U diag(S) Vh, |U|^2, projectors) have
    meaningful derivatives; the extra columns of full_matrices=True are any orthonormal
    complement (their derivative is the minimal rotation, correct for functions of U2 U2^H).
    At exactly repeated singular values the coupling between equal ones is dropped and at
    zero singular values 1/s is taken as 0: derivatives of functions of S alone stay finite
    and correct there; singular-vector derivatives are not defined (functions built from
    the singular vectors are differentiated correctly only away from such points; `pinv`
    has its own exact rule).

    Args:
      a: (..., M, N) matrices.
      full_matrices: U (..., M, M) and Vh (..., N, N) instead of (..., M, K), (..., K, N).
      compute_uv: return only S when False.
      hermitian: a is Hermitian: computed from its eigendecomposition (reads the lower
        triangle).
    Returns:
      SVDResult(U, S, Vh), or S (..., K) descending, K = min(M, N).

    Example:
      >>> svd(np.diag([1., 3.]), compute_uv=False)
      array([3., 1.])
    """
    a = _float(a)
    _stacked_2d(a)
    if hermitian:
        _stacked_square(a)
        if not compute_uv:
            s = U.absolute(eigvalsh(a))
            return M.flip(M.sort(s, axis=-1), axis=-1)
        w, v = eigh(a)
        s = U.absolute(w)
        order = M.flip(M.argsort(s, axis=-1), axis=-1)
        sgn = M.take_along_axis(U.sign(w), order, axis=-1)
        s = M.take_along_axis(s, order, axis=-1)
        u = M.take_along_axis(v, S.expand_dims(order, -2), axis=-1)
        vh = _H(u * S.expand_dims(U.astype(sgn, u.dtype), -2))
        return SVDResult(u, s, vh)
    if not compute_uv:
        return PL.svd_p(a, full_matrices=False, compute_uv=False)[0]
    u, s, vh = PL.svd_p(a, full_matrices=bool(full_matrices), compute_uv=True)
    return SVDResult(u, s, vh)


def svdvals(x, /):
    """The singular values of (stacked) matrices, descending, as numpy.linalg.svdvals.

    Args:
      x: (..., M, N) matrices.
    Returns:
      (..., min(M, N)) real singular values (derivative caveats: see `svd`).

    Example:
      >>> svdvals(np.array([[3., 0.], [0., -4.]]))
      array([4., 3.])
    """
    return svd(x, compute_uv=False)


_QR_MODES = ("reduced", "complete", "r", "raw")


def qr(a, mode="reduced"):
    """QR decomposition a = Q @ R, as numpy.linalg.qr.

    Derivatives are those of LAPACK's output (Householder QR, real diagonal of R), for tall
    and wide matrices; for mode="complete" with M > N the extra columns of Q are any
    orthonormal complement (their derivative is the minimal rotation). mode="raw" has no
    derivative (NotImplementedError when differentiated).

    Args:
      a: (..., M, N) matrices.
      mode: "reduced" (Q (..., M, K), R (..., K, N)), "complete" (Q (..., M, M), R
        (..., M, N)), "r" (R only) or "raw" (LAPACK's (h, tau)).
    Returns:
      QRResult(Q, R); R for mode="r"; (h, tau) for mode="raw".

    Example:
      >>> qr(np.array([[3., 0.], [4., 5.]])).R
      array([[-5., -4.],
             [ 0.,  3.]])
    """
    if mode not in _QR_MODES:
        raise ValueError(f"Unrecognized mode '{mode}'")
    a = _float(a)
    _stacked_2d(a)
    out = PL.qr_p(a, mode=mode)
    if mode == "r":
        return out[0]
    if mode == "raw":
        return tuple(out)
    return QRResult(*out)


# ---------------------------------------------------------------------------------------------
# pseudo-inverse, least squares, rank


_NoValue = object()


def _pinv_rcond(rcond, rtol, shape, dtype):
    if rcond is None:
        if rtol is _NoValue:
            rcond = 1e-15
        elif rtol is None:
            rcond = builtins.max(shape[-2:]) * np.finfo(dtype).eps
        else:
            rcond = rtol
    elif rtol is not _NoValue:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    if np.ndim(rcond) != 0:
        raise TypeError("chainrule's pinv takes a scalar rcond/rtol (the same cutoff for "
                        "every matrix of a stack)")
    return float(rcond)


def pinv(a, rcond=None, hermitian=False, *, rtol=_NoValue):
    """The Moore-Penrose pseudo-inverse, as numpy.linalg.pinv (SVD with a relative cutoff).

    Its derivative is the closed form for a matrix of constant rank (Golub and Pereyra),
    correct also at repeated singular values; where a singular value crosses the cutoff the
    pseudo-inverse jumps and has no derivative.

    Args:
      a: (..., M, N) matrices.
      rcond, rtol: relative cutoff for small singular values (NumPy's defaults: 1e-15, or
        max(M, N) * eps with rtol=None). Scalars only.
      hermitian: a is Hermitian (computed with eigh; reads the lower triangle).
    Returns:
      (..., N, M) pseudo-inverses.

    Example:
      >>> pinv(np.array([[1., 0.], [0., 0.]]))
      array([[1., 0.],
             [0., 0.]])
    """
    a = _float(a)
    _stacked_2d(a)
    rc = _pinv_rcond(rcond, rtol, a.shape, a.dtype)
    return PL.pinv_p(a, rcond=rc, hermitian=bool(hermitian))


def lstsq(a, b, rcond=None):
    """Least-squares solution of a @ x = b, as numpy.linalg.lstsq.

    x = pinv(a, rcond) @ b (the minimum-norm solution, as LAPACK's gelsd), differentiable
    with the pseudo-inverse's derivative (constant rank). Under jit/vmap the rank is not
    known while tracing, so the residuals are returned as for a full-rank problem (shape
    (K,) when M > N); eagerly and under grad/jvp they follow NumPy exactly.

    Args:
      a: (M, N) matrix.
      b: (M,) or (M, K) right-hand sides.
      rcond: cutoff ratio for small singular values (default eps * max(M, N); negative
        values mean machine precision).
    Returns:
      (x, residuals, rank, s): solution (N,) or (N, K), squared residual norms, effective
      rank, singular values of a.

    Example:
      >>> lstsq(np.array([[1., 0.], [0., 1.], [1., 1.]]), np.array([1., 2., 3.]))[0]
      array([1., 2.])
    """
    a, b = _common(a, b)
    if a.ndim != 2:
        raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be two-dimensional")
    if b.ndim not in (1, 2):
        raise LinAlgError(f"{b.ndim}-dimensional array given. Array must be one or "
                          "two-dimensional")
    m, n = a.shape
    if b.shape[0] != m:
        raise LinAlgError("Incompatible dimensions")
    eps = np.finfo(a.dtype).eps
    if rcond is None:
        rcond = eps * builtins.max(m, n)
    elif rcond < 0:
        rcond = eps
    x = PR.matmul(PL.pinv_p(a, rcond=float(rcond), hermitian=False), b)
    if builtins.min(m, n) == 0:
        s = np.zeros((0,), _real_dtype(a.dtype))
        rank = np.int32(0)
    else:
        s = svdvals(a)
        rank = U.astype(R.sum(U.greater(s, rcond * s[0])), np.int32)
    rank_value = _concrete(rank)
    full = rank_value is None or int(rank_value) == n
    if m > n and full:
        r = b - PR.matmul(a, x)
        resid = R.sum(_sqabs(r), axis=0)
        if b.ndim == 1:
            resid = S.reshape(resid, (1,))
    else:
        resid = np.zeros((0,), _real_dtype(a.dtype))
    return x, resid, rank, s


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """The rank of (stacked) matrices by counting singular values above a tolerance, as
    numpy.linalg.matrix_rank. An integer: no derivative.

    Args:
      A: array (a vector or scalar has rank 1 unless all zero).
      tol: absolute threshold (default S.max() * rtol).
      hermitian: A is Hermitian (its eigenvalues give the singular values).
      rtol: relative threshold (default max(M, N) * eps).
    Returns:
      integer rank(s).

    Example:
      >>> matrix_rank(np.array([[1., 2.], [2., 4.]]))
      np.int64(1)
    """
    A = _arr(A)
    if A.ndim < 2:
        nz = R.any(U.not_equal(A, 0))
        return int(nz) if not isinstance(nz, Tracer) else U.astype(nz, np.int64)
    A = P.stop_gradient_p(_float(A))
    s = svd(A, compute_uv=False, hermitian=hermitian)
    if tol is None:
        if rtol is None:
            rtol = builtins.max(A.shape[-2:]) * np.finfo(s.dtype).eps
        else:
            rtol = S.expand_dims(_arr(rtol), -1)
        thresh = R.max(s, axis=-1, keepdims=True) * rtol
    else:
        thresh = S.expand_dims(_arr(tol), -1)
    return R.sum(U.astype(U.greater(s, thresh), np.int64), axis=-1)


def cond(x, p=None):
    """The condition number of (stacked) matrices, as numpy.linalg.cond.

    p None/2/-2 use the singular values; other p use norm(x, p) * norm(inv(x), p). Singular
    matrices give inf (not an error), as NumPy.

    Args:
      x: (..., M, N) matrices (square unless p is None, 2 or -2).
      p: None, 2, -2, "fro", "nuc", 1, -1, inf or -inf.
    Returns:
      (...) condition numbers.

    Example:
      >>> cond(np.diag([1., 10.]))
      array(10.)
    """
    x = _float(x)
    _stacked_2d(x)
    if x.size == 0:
        raise LinAlgError("cond is not defined on empty arrays")
    with np.errstate(all="ignore"):
        if p is None or p == 2 or p == -2:
            s = svdvals(x)
            r = s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
        else:
            _stacked_square(x)
            r = (norm(x, p, axis=(-2, -1)) * norm(_inv(x, False), p, axis=(-2, -1)))
        bad = U.isnan(r)
        if x.ndim > 2:
            bad = U.logical_and(bad, U.logical_not(R.any(U.isnan(x), axis=(-2, -1))))
        else:
            bad = U.logical_and(bad, U.logical_not(R.any(U.isnan(x))))
        return U.where(bad, np.inf, r)


# ---------------------------------------------------------------------------------------------
# norms


def _vector_norm(x, ord, axis, keepdims):
    ax = (axis,)
    if ord == np.inf:
        return R.max(U.absolute(x), axis=ax, keepdims=keepdims)
    if ord == -np.inf:
        return R.min(U.absolute(x), axis=ax, keepdims=keepdims)
    if ord == 0:
        return R.sum(U.astype(U.not_equal(x, 0), _real_dtype(x.dtype)), axis=ax,
                     keepdims=keepdims)
    if ord == 1:
        return R.sum(U.absolute(x), axis=ax, keepdims=keepdims)
    if ord is None or ord == 2:
        return _safe_sqrt(R.sum(_sqabs(x), axis=ax, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    p = float(ord)
    s = R.sum(U.power(U.absolute(x), p), axis=ax, keepdims=keepdims)
    if p > 0:
        z = U.equal(s, 0)
        return U.where(z, 0.0, U.power(U.where(z, 1.0, s), 1.0 / p))
    return U.power(s, 1.0 / p)


def _svd_norm(x, row, col, how):
    y = S.moveaxis(x, (row, col), (-2, -1))
    s = svdvals(y)
    return how(s, axis=-1)


def _matrix_norm(x, ord, row, col):
    if ord == 2:
        return _svd_norm(x, row, col, R.max)
    if ord == -2:
        return _svd_norm(x, row, col, R.min)
    if ord == "nuc":
        return _svd_norm(x, row, col, R.sum)
    if ord in (None, "fro", "f"):
        return _safe_sqrt(R.sum(_sqabs(x), axis=(row, col)))
    if ord in (1, -1):
        red = R.max if ord == 1 else R.min
        return red(R.sum(U.absolute(x), axis=row), axis=col - 1 if col > row else col)
    if ord in (np.inf, -np.inf):
        red = R.max if ord == np.inf else R.min
        return red(R.sum(U.absolute(x), axis=col), axis=row - 1 if row > col else row)
    raise ValueError("Invalid norm order for matrices.")


def norm(x, ord=None, axis=None, keepdims=False):
    """Matrix or vector norm, as numpy.linalg.norm (every ord, axis, keepdims).

    Subgradient convention: the 2-norm (and Frobenius, p-norms with p > 0) at 0 has
    derivative 0 (a finite subgradient, not NaN); max/min-based norms split the derivative
    equally between tied entries; the spectral norms (2, -2, nuc) differentiate through the
    singular values (see `svd`).

    Args:
      x: array.
      ord: vector orders: None/2, inf, -inf, 0, 1, any p; matrix orders: None/"fro", "nuc",
        inf, -inf, 1, -1, 2, -2.
      axis: None (whole array: a vector norm for 1-D, the Frobenius/ord norm for 2-D), an
        int (vector norms) or a pair of ints (matrix norms).
      keepdims: keep the reduced axes with size 1.
    Returns:
      the norm(s), real.

    Example:
      >>> norm(np.array([3., 4.]))
      array(5.)
    """
    x = _arr(x)
    if x.dtype.kind not in "fc":
        x = U.astype(x, np.float64)
    nd = x.ndim
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            r = _safe_sqrt(R.sum(_sqabs(x)))
            return S.reshape(r, (1,) * nd) if keepdims else r
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        try:
            axis = (operator.index(axis),)
        except TypeError as e:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from e
    axis = tuple(R.normalize_axis(a, nd) for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        row, col = axis
        if row == col:
            raise ValueError("Duplicate axes given.")
        r = _matrix_norm(x, ord, row, col)
        if keepdims:
            shape = list(x.shape)
            shape[row] = shape[col] = 1
            r = S.reshape(r, tuple(shape))
        return r
    raise ValueError("Improper number of dimensions to norm.")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector norm over one or several axes (the Array API function of numpy.linalg).

    Args:
      x: array.
      axis: None (all elements), an int, or a tuple of axes treated as one vector.
      keepdims: keep the reduced axes with size 1.
      ord: 2 (default), 1, inf, -inf, 0 or any p (see `norm` for the subgradient at 0).
    Returns:
      the norm(s).

    Example:
      >>> vector_norm(np.ones((2, 2)))
      array(2.)
    """
    x = _arr(x)
    if x.dtype.kind not in "fc":
        x = U.astype(x, np.float64)
    shape = tuple(x.shape)
    if axis is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axis, tuple):
        axes = tuple(R.normalize_axis(a, len(shape)) for a in axis)
    else:
        axes = (R.normalize_axis(axis, len(shape)),)
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    y = S.transpose(x, axes + rest) if axes + rest != tuple(range(len(shape))) else x
    y = S.reshape(y, (math.prod(shape[i] for i in axes),) + tuple(shape[i] for i in rest))
    r = _vector_norm(y, ord, 0, False)
    if keepdims:
        r = S.reshape(r, tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return r


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm over the last two axes (the Array API function of numpy.linalg).

    Args:
      x: (..., M, N) matrices.
      keepdims: keep the two axes with size 1.
      ord: "fro" (default), "nuc", 1, -1, 2, -2, inf, -inf.
    Returns:
      (...) norms.

    Example:
      >>> matrix_norm(np.eye(2), ord="nuc")
      np.float64(2.0)
    """
    x = _arr(x)
    _stacked_2d(x)
    return norm(x, axis=(-2, -1), keepdims=keepdims, ord=ord)


# ---------------------------------------------------------------------------------------------
# products and powers


def matrix_power(a, n):
    """Raise (stacked) square matrices to an integer power, as numpy.linalg.matrix_power.

    Repeated squaring; negative powers invert first (LinAlgError if singular); n = 0 gives
    the identity.

    Args:
      a: (..., M, M) matrices.
      n: the integer exponent.
    Returns:
      (..., M, M) powers.

    Example:
      >>> matrix_power(np.array([[1., 1.], [0., 1.]]), 3)
      array([[1., 3.],
             [0., 1.]])
    """
    a = _arr(a)
    _stacked_2d(a)
    _stacked_square(a)
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    if n == 0:
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), tuple(a.shape))
        return np.array(eye)
    if n < 0:
        a = inv(a)
        n = -n
    if n == 1:
        return a if isinstance(a, Tracer) else np.array(a, copy=True)
    result, z = None, a
    while True:
        if n & 1:
            result = z if result is None else PR.matmul(result, z)
        n >>= 1
        if not n:
            return result
        z = PR.matmul(z, z)


def _chain_order(dims):
    """The optimal parenthesization of a chain of matrices with these dimensions:
    split[i][j] is where the product of matrices i..j splits (dynamic programming)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            best = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, k
            cost[i][j] = best
    return split


def multi_dot(arrays, *, out=None):
    """The product of a chain of matrices in the cheapest order, as numpy.linalg.multi_dot.

    The first argument may be 1-D (a row vector) and the last 1-D (a column vector); the
    others must be 2-D.

    Args:
      arrays: a sequence of at least two arrays.
      out: not supported (must be None).
    Returns:
      the product (its dimensions as numpy.linalg.multi_dot).

    Example:
      >>> multi_dot([np.ones((2, 3)), np.ones((3, 4)), np.ones(4)])
      array([12., 12.])
    """
    if out is not None:
        raise NotImplementedError("multi_dot: out= is not supported by chainrule")
    arrays = [_arr(a) for a in arrays]
    n = len(arrays)
    if n < 2:
        raise ValueError("Expecting at least two arrays.")
    if n == 2:
        return PR.dot(arrays[0], arrays[1])
    first_1d, last_1d = arrays[0].ndim == 1, arrays[-1].ndim == 1
    if first_1d:
        arrays[0] = S.reshape(arrays[0], (1, arrays[0].shape[0]))
    if last_1d:
        arrays[-1] = S.reshape(arrays[-1], (arrays[-1].shape[0], 1))
    for a in arrays:
        if a.ndim != 2:
            raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be "
                              "two-dimensional")
    dims = [arrays[0].shape[0]] + [a.shape[1] for a in arrays]
    split = _chain_order(dims)

    def product(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return PR.dot(product(i, k), product(k + 1, j))

    r = product(0, n - 1)
    if first_1d and last_1d:
        return r[0, 0]
    if first_1d:
        return r[0]
    if last_1d:
        return r[:, 0]
    return r


def tensorsolve(a, b, axes=None):
    """Solve the tensor equation tensordot(a, x, x.ndim) = b for x, as
    numpy.linalg.tensorsolve.

    Args:
      a: coefficient tensor of shape b.shape + Q with prod(Q) == prod(b.shape).
      b: right-hand tensor.
      axes: axes of a to move to the end first.
    Returns:
      x of shape Q.
    Raises:
      LinAlgError: the shapes do not fit, or the reshaped matrix is singular.

    Example:
      >>> tensorsolve(np.eye(4).reshape(2, 2, 4), np.ones((2, 2))).shape
      (4,)
    """
    a, b = _common(a, b)
    an = a.ndim
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = S.transpose(a, order)
    old = tuple(a.shape[-(an - b.ndim):]) if an != b.ndim else ()
    prod = math.prod(old)
    if a.size != prod ** 2:
        raise LinAlgError("Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) "
                          "== prod(a.shape[:b.ndim])")
    x = solve(S.reshape(a, (prod, prod)), S.reshape(b, (-1,)))
    return S.reshape(x, old)


def tensorinv(a, ind=2):
    """The inverse of a tensor for tensordot, as numpy.linalg.tensorinv.

    Args:
      a: tensor with prod(a.shape[:ind]) == prod(a.shape[ind:]).
      ind: number of leading axes in the product.
    Returns:
      tensor of shape a.shape[ind:] + a.shape[:ind].

    Example:
      >>> tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
      (2, 2, 4)
    """
    a = _float(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    old = tuple(a.shape)
    invshape = old[ind:] + old[:ind]
    prod = math.prod(old[ind:])
    return S.reshape(inv(S.reshape(a, (prod, -1))), invshape)


# ---------------------------------------------------------------------------------------------
# Array API members of numpy.linalg


def matmul(x1, x2, /):
    """Matrix product, as numpy.linalg.matmul (= numpy.matmul).

    Example:
      >>> matmul(np.eye(2), np.ones(2))
      array([1., 1.])
    """
    return PR.matmul(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """Tensor dot product, as numpy.linalg.tensordot (= numpy.tensordot).

    Example:
      >>> tensordot(np.ones((2, 3)), np.ones((3, 2)), axes=1).shape
      (2, 2)
    """
    return PR.tensordot(x1, x2, axes)


def vecdot(x1, x2, /, *, axis=-1):
    """Vector dot product along an axis (the first argument conjugated), as
    numpy.linalg.vecdot.

    Example:
      >>> vecdot(np.array([1., 2.]), np.array([3., 4.]))
      np.float64(11.0)
    """
    return PR.vecdot(x1, x2, axis=axis)


def outer(x1, x2, /):
    """Outer product of two vectors, as numpy.linalg.outer (1-D arguments only).

    Example:
      >>> outer(np.array([1., 2.]), np.array([1., 10.]))
      array([[ 1., 10.],
             [ 2., 20.]])
    """
    x1, x2 = _arr(x1), _arr(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1.ndim="
                         f"{x1.ndim} and x2.ndim={x2.ndim}.")
    return PR.outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-element vectors along an axis, as numpy.linalg.cross.

    Example:
      >>> cross(np.array([1., 0., 0.]), np.array([0., 1., 0.]))
      array([0., 0., 1.])
    """
    x1, x2 = _arr(x1), _arr(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(f"Both input arrays must be (arrays of) 3-dimensional vectors, but "
                         f"they are {x1.shape[axis]} and {x2.shape[axis]} dimensional "
                         "instead.")
    a, b = S.moveaxis(x1, axis, -1), S.moveaxis(x2, axis, -1)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = S.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    nd = c.ndim
    return S.moveaxis(c, -1, R.normalize_axis(axis, builtins.max(x1.ndim, x2.ndim, nd)))


def matrix_transpose(x, /):
    """Swap the last two axes, as numpy.linalg.matrix_transpose.

    Example:
      >>> matrix_transpose(np.ones((2, 3))).shape
      (3, 2)
    """
    return S.matrix_transpose(_arr(x))


def diagonal(x, /, *, offset=0):
    """Diagonals of the last two axes, as numpy.linalg.diagonal.

    Example:
      >>> diagonal(np.arange(4.).reshape(2, 2))
      array([0., 3.])
    """
    return M.diagonal(_arr(x), offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the diagonals of the last two axes, as numpy.linalg.trace.

    Example:
      >>> trace(np.eye(3))
      np.float64(3.0)
    """
    return M.trace(_arr(x), offset, -2, -1, dtype)

