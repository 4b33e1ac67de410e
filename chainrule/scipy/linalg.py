"""chainrule.scipy.linalg: SciPy's linear algebra, differentiable, batchable, compilable.

Contract:
- Names, argument order, defaults and results follow scipy.linalg (e.g. cholesky returns
  the upper factor by default; cho_factor/lu_factor return the packed (factor, flag) /
  (lu, piv) pairs that cho_solve/lu_solve take). Like SciPy 1.17, functions take stacks of
  matrices (leading batch axes).
- Every function is composed from the primitives of `chainrule.prims.linalg` (cholesky,
  triangular_solve, lu, lu_pivots_to_permutation, eigh, expm, sqrtm, sylvester), so it is
  differentiable to any order in forward and reverse mode, batchable and compilable.
  Solves with a stored factorization (cho_solve, lu_solve) differentiate in both the factor
  and the right-hand side. expm and sqrtm are differentiated exactly (Frechet derivatives),
  not through an eigendecomposition.
- `overwrite_*` flags are accepted and ignored (results are always new arrays).
  `check_finite` raises ValueError for inf/NaN input whenever the values are known (eagerly
  and under grad/jvp); under jit/vmap it cannot look at the values and does nothing.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import LinAlgWarning

from ..core import Tracer
from ..prims import linalg as PL
from .. import numpy as cnp
from ..numpy import linalg as nla
from ..numpy import _manip as M
from ..numpy import _shape as S
from ..numpy import _ufuncs as U

__all__ = ["cholesky", "cho_factor", "cho_solve", "solve_triangular", "lu_factor",
           "lu_solve", "expm", "sqrtm", "block_diag", "eigh", "solve_sylvester", "inv",
           "det", "solve", "lu", "svd", "svdvals", "eigvalsh", "norm", "expm_frechet",
           "LinAlgError"]

LinAlgError = np.linalg.LinAlgError


def _checked(a, check_finite, name="a"):
    a = nla._float(a)
    if check_finite:
        v = nla._concrete(a)
        if v is not None and not np.isfinite(v).all():
            raise ValueError("array must not contain infs or NaNs")
    return a


def _square(a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Input array is expected to be square but has the shape: "
                         f"{tuple(a.shape)}.")


def _rhs(b, n):
    """b as a stack of matrices (..., n, k) and whether it was a vector."""
    if b.ndim == 1:
        if b.shape[0] != n:
            raise ValueError(f"shapes of a (..., {n}, {n}) and b {tuple(b.shape)} are "
                             "incompatible")
        return S.reshape(b, (n, 1)), True
    if b.shape[-2] != n:
        raise ValueError(f"shapes of a (..., {n}, {n}) and b {tuple(b.shape)} are incompatible")
    return b, False


def _with_batch(a_parts, b, solve_fn):
    """Run solve_fn(*a_parts, b) with a's batch axes broadcast against b's (one matrix and
    many right-hand sides are solved as columns of one matrix)."""
    a0 = a_parts[0]
    n = a0.shape[-1]
    if a0.ndim == 2 and b.ndim > 2:
        nb = b.ndim - 2
        bt = S.moveaxis(b, -2, 0)
        x = solve_fn(*a_parts, S.reshape(bt, (n, -1)))
        return S.moveaxis(S.reshape(x, bt.shape), 0, nb)
    batch = np.broadcast_shapes(a0.shape[:-2], b.shape[:-2])
    parts = [S.broadcast_to(p, batch + tuple(p.shape[a0.ndim - 2:]))
             if tuple(p.shape[:a0.ndim - 2]) != batch else p for p in a_parts]
    if tuple(b.shape[:-2]) != batch:
        b = S.broadcast_to(b, batch + tuple(b.shape[-2:]))
    return solve_fn(*parts, b)


def _common_dtype(a, b):
    dt = nla._linalg_dtype(np.result_type(a.dtype, b.dtype))
    return (a if a.dtype == dt else U.astype(a, dt)), (b if b.dtype == dt else U.astype(b, dt))


# ---------------------------------------------------------------------------------------------
# Cholesky


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of Hermitian positive-definite matrices, as scipy.linalg.cholesky.

    Reads only the triangle it returns (upper by default), and is differentiated as that
    function (the gradient lives in the triangle read).

    Args:
      a: (..., M, M) Hermitian positive-definite matrices.
      lower: return L with a = L L^H (reading the lower triangle) instead of U with
        a = U^H U (reading the upper one).
      overwrite_a: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      the triangular factor(s).
    Raises:
      LinAlgError: a is not positive definite.

    Example:
      >>> cholesky(np.array([[4., 2.], [2., 2.]]))
      array([[2., 1.],
             [0., 1.]])
    """
    a = _checked(a, check_finite)
    _square(a)
    return nla.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factorization packed for cho_solve, as scipy.linalg.cho_factor.

    Args:
      a: (..., M, M) Hermitian positive-definite matrices.
      lower: factor in the lower triangle (else the upper one).
      overwrite_a: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      (c, lower): c holds the factor in one triangle and a's own entries in the other (as
      LAPACK leaves them).

    Example:
      >>> c, low = cho_factor(np.array([[4., 2.], [2., 2.]]))
      >>> cho_solve((c, low), np.array([2., 1.]))
      array([0.5, 0. ])
    """
    a = _checked(a, check_finite)
    _square(a)
    n = a.shape[-1]
    f = nla.cholesky(a, upper=not lower)
    mask = np.tri(n, n, 0, dtype=bool)
    return U.where(mask if lower else mask.T, f, a), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve a x = b from a's packed Cholesky factorization, as scipy.linalg.cho_solve.

    Differentiable in the factor c (through its triangle) and in b.

    Args:
      c_and_lower: (c, lower) as returned by cho_factor.
      b: (M,) or (..., M, K) right-hand sides.
      overwrite_b: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      the solution x, shaped like b (with broadcast batch axes).

    Example:
      >>> cho_solve(cho_factor(np.eye(2) * 4.), np.array([4., 8.]))
      array([1., 2.])
    """
    c, lower = c_and_lower
    c = _checked(c, check_finite)
    b = _checked(b, check_finite)
    c, b = _common_dtype(c, b)
    _square(c)
    b2, vector = _rhs(b, c.shape[-1])

    def run(f, rhs):
        if lower:
            y = PL.triangular_solve_p(f, rhs, lower=True, trans=0, unit_diagonal=False,
                                      check=False)
            return PL.triangular_solve_p(f, y, lower=True, trans=2, unit_diagonal=False,
                                         check=False)
        y = PL.triangular_solve_p(f, rhs, lower=False, trans=2, unit_diagonal=False,
                                  check=False)
        return PL.triangular_solve_p(f, y, lower=False, trans=0, unit_diagonal=False,
                                     check=False)

    x = _with_batch([c], b2, run)
    return x[..., 0] if vector else x


# ---------------------------------------------------------------------------------------------
# triangular and LU solves


_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """Solve op(a) x = b for triangular a, as scipy.linalg.solve_triangular.

    Reads only the triangle given by `lower` (and not the diagonal with unit_diagonal); the
    gradient in a lives in that triangle. The derivative is another triangular solve with
    the same matrix.

    Args:
      a: (..., M, M) triangular matrices.
      b: (M,) or (..., M, K) right-hand sides.
      trans: 0/"N" (a x = b), 1/"T" (a^T x = b), 2/"C" (a^H x = b).
      lower: use the lower triangle (default: upper).
      unit_diagonal: assume ones on the diagonal.
      overwrite_b: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      x, shaped like b (with broadcast batch axes).
    Raises:
      LinAlgError: a has an exactly zero diagonal entry.

    Example:
      >>> solve_triangular(np.array([[2., 1.], [0., 4.]]), np.array([4., 8.]))
      array([1., 2.])
    """
    if trans not in _TRANS:
        raise ValueError(f"Unknown trans value {trans!r}: expected 0, 1, 2, 'N', 'T' or 'C'")
    a = _checked(a, check_finite)
    b = _checked(b, check_finite)
    a, b = _common_dtype(a, b)
    _square(a)
    b2, vector = _rhs(b, a.shape[-1])
    t = _TRANS[trans]
    x = _with_batch([a], b2, lambda f, rhs: PL.triangular_solve_p(
        f, rhs, lower=bool(lower), trans=t, unit_diagonal=bool(unit_diagonal), check=True))
    return x[..., 0] if vector else x


def lu_factor(a, overwrite_a=False, check_finite=True):
    """LU factorization with partial pivoting, packed for lu_solve, as
    scipy.linalg.lu_factor (square matrices).

    Differentiable in a (the derivative of the packed factors, for fixed pivots: pivoting
    changes where two candidate pivots tie, where the factors jump).

    Args:
      a: (..., M, M) matrices.
      overwrite_a: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      (lu, piv): L (unit diagonal, not stored) and U packed in one matrix, and LAPACK's
      0-based pivot indices (row i was interchanged with row piv[i]). An exactly singular
      matrix gives a LinAlgWarning (as SciPy) when the values are known.

    Example:
      >>> lu, piv = lu_factor(np.array([[1., 2.], [3., 4.]]))
      >>> piv
      array([1, 1], dtype=int32)
    """
    a = _checked(a, check_finite)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"chainrule's lu_factor takes square matrices, got shape "
                         f"{tuple(a.shape)}")
    lu, piv, _ = PL.lu_p(a)
    v = nla._concrete(lu)
    if v is not None:
        d = np.diagonal(v, axis1=-2, axis2=-1).reshape(-1, v.shape[-1])
        zero = np.nonzero(~d.all(axis=0))[0]
        if zero.size:
            warnings.warn(f"Diagonal number {zero[0] + 1} is exactly zero. Singular matrix.",
                          LinAlgWarning, stacklevel=2)
    return lu, piv


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve op(a) x = b from a's LU factorization, as scipy.linalg.lu_solve.

    Differentiable in the packed factors and in b (the pivots are integers).

    Args:
      lu_and_piv: (lu, piv) as returned by lu_factor.
      b: (M,) or (..., M, K) right-hand sides.
      trans: 0 (a x = b), 1 (a^T x = b) or 2 (a^H x = b).
      overwrite_b: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      x, shaped like b (with broadcast batch axes).

    Example:
      >>> a = np.array([[1., 2.], [3., 4.]])
      >>> lu_solve(lu_factor(a), np.array([5., 11.]))
      array([1., 2.])
    """
    lu, piv = lu_and_piv
    if trans not in _TRANS:
        raise ValueError(f"Unknown trans value {trans!r}: expected 0, 1 or 2")
    lu = _checked(lu, check_finite)
    b = _checked(b, check_finite)
    lu, b = _common_dtype(lu, b)
    _square(lu)
    piv = piv if isinstance(piv, Tracer) else np.asarray(piv)
    if tuple(piv.shape) != tuple(lu.shape[:-1]):
        raise ValueError(f"lu_solve: piv has shape {tuple(piv.shape)}, expected "
                         f"{tuple(lu.shape[:-1])}")
    perm = PL.lu_pivots_to_permutation_p(piv)
    b2, vector = _rhs(b, lu.shape[-1])
    t = _TRANS[trans]
    x = _with_batch([lu, perm], b2, lambda f, p, rhs: PL.lu_solve(f, p, rhs, t))
    return x[..., 0] if vector else x


def solve_sylvester(a, b, q):
    """Solve the Sylvester equation a x + x b = q, as scipy.linalg.solve_sylvester.

    Differentiable in a, b and q (each derivative is another Sylvester solve).

    Args:
      a: (..., M, M), b: (..., N, N), q: (..., M, N).
    Returns:
      x (..., M, N).

    Example:
      >>> solve_sylvester(np.eye(2), np.eye(2), np.eye(2) * 4.)
      array([[2., 0.],
             [0., 2.]])
    """
    a, b, q = nla._common(a, b, q)
    _square(a)
    _square(b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2])
    a, b, q = (x if tuple(x.shape[:-2]) == batch else S.broadcast_to(x, batch + x.shape[-2:])
               for x in (a, b, q))
    return PL.sylvester_p(a, b, q)


# ---------------------------------------------------------------------------------------------
# matrix functions


def expm(A):
    """The matrix exponential, as scipy.linalg.expm (Pade scaling and squaring).

    Differentiated exactly: the derivative in direction E is the Frechet derivative, the
    upper-right block of expm([[A, E], [0, A]]) (and the gradient uses A^H), so every order
    is available.

    Args:
      A: (..., M, M) matrices.
    Returns:
      (..., M, M) exponentials.

    Example:
      >>> expm(np.zeros((2, 2)))
      array([[1., 0.],
             [0., 1.]])
    """
    A = nla._float(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise LinAlgError("Last 2 dimensions of the array must be square")
    return PL.expm_p(A)


def sqrtm(A, disp=True, blocksize=64):
    """The principal matrix square root, as scipy.linalg.sqrtm (Schur method).

    Differentiated exactly: dX solves X dX + dX X = dA (a Sylvester equation). The root
    (and its derivative) is not defined for matrices with eigenvalues on the closed negative
    real axis; a real matrix whose root is complex raises ValueError (pass a complex
    matrix), because the result dtype must not depend on the values.

    Args:
      A: (..., M, M) matrices.
      disp: as SciPy: when False also return the error estimate ||X X - A||_F / ||A||_F.
      blocksize: ignored.
    Returns:
      X, or (X, errest) when disp is False.

    Example:
      >>> sqrtm(np.array([[4., 0.], [0., 9.]]))
      array([[2., 0.],
             [0., 3.]])
    """
    A = nla._float(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"Input array is expected to be square but has the shape: "
                         f"{tuple(A.shape)}.")
    X = PL.sqrtm_p(A)
    if disp:
        return X
    err = nla.norm(cnp.matmul(X, X) - A, "fro", axis=(-2, -1)) / nla.norm(
        A, "fro", axis=(-2, -1))
    return X, err


def block_diag(*arrs):
    """A block-diagonal matrix from the given blocks, as scipy.linalg.block_diag.

    0-d and 1-d arguments are treated as (1, 1) and (1, N) blocks.

    Args:
      *arrs: blocks (at most 2-D).
    Returns:
      a 2-D array with the blocks on its diagonal, of the blocks' common dtype.

    Example:
      >>> block_diag(np.ones((1, 1)), 2 * np.ones((2, 2)))
      array([[1., 0., 0.],
             [0., 2., 2.],
             [0., 2., 2.]])
    """
    if not arrs:
        arrs = ([],)
    blocks = [nla._arr(a) for a in arrs]
    bad = [k for k, a in enumerate(blocks) if a.ndim > 2]
    if bad:
        raise ValueError(f"arguments in the following positions have dimension greater than "
                         f"2: {bad}")
    blocks = [S.reshape(a, (1,) * (2 - a.ndim) + tuple(a.shape)) for a in blocks]
    dt = np.result_type(*(a.dtype for a in blocks))
    cols = sum(a.shape[1] for a in blocks)
    rows, c = [], 0
    for a in blocks:
        a = a if a.dtype == dt else U.astype(a, dt)
        rows.append(M.pad(a, ((0, 0), (c, cols - c - a.shape[1]))))
        c += a.shape[1]
    return S.concatenate(rows, axis=0) if len(rows) > 1 else rows[0]


# ---------------------------------------------------------------------------------------------
# eigenproblems


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix, or of the generalized
    problem with a Hermitian positive-definite b, as scipy.linalg.eigh.

    The generalized problem is reduced with b's Cholesky factor L (type 1: a v = w b v;
    type 2: a b v = w v; type 3: b a v = w v), as LAPACK does; eigenvectors are normalized
    as in SciPy (v^H b v = I for types 1 and 2, v^H b^-1 v = I for type 3). The LAPACK
    driver is SciPy's ("evr" by default for the standard problem; the generalized one runs
    "evd" on the reduced matrix, as "gvd" does), so eigenvector signs match SciPy's.
    Derivative caveats are those of numpy.linalg.eigh (gauge of the eigenvectors, exactly
    repeated eigenvalues).

    Args:
      a: (..., M, M) Hermitian matrices (one triangle is read, see `lower`).
      b: optional (..., M, M) Hermitian positive-definite matrices.
      lower: read the lower (default) or upper triangles of a and b.
      eigvals_only: return the eigenvalues only.
      overwrite_a, overwrite_b: ignored.
      type: the generalized problem type (1, 2 or 3).
      check_finite: raise ValueError for inf/NaN input (when the values are known).
      subset_by_index: (lo, hi) inclusive range of eigenvalue indices to return.
      subset_by_value: (lo, hi): return the eigenvalues in the half-open interval (lo, hi];
        the number of them depends on the values, so this needs concrete values (not jit or
        vmap).
      driver: "ev", "evd", "evr" or "evx" (standard problem), "gv", "gvd" or "gvx"
        (generalized); None: SciPy's default.
    Returns:
      w, or (w, v) with eigenvectors as columns.

    Example:
      >>> eigh(np.array([[2., 1.], [1., 2.]]), eigvals_only=True)
      array([1., 3.])
    """
    if type not in (1, 2, 3):
        raise ValueError(f"'type' keyword only accepts 1, 2, and 3, got {type!r}")
    if subset_by_index is not None and subset_by_value is not None:
        raise ValueError("Either index or value subset can be requested.")
    a = _checked(a, check_finite)
    _square(a)
    lower = bool(lower)
    std = {None: "evr", "ev": "ev", "evd": "evd", "evr": "evr", "evx": "evx"}
    gen = {None: "evd", "gv": "ev", "gvd": "evd", "gvx": "evx"}
    table = std if b is None else gen
    if driver not in table:
        raise ValueError(f"eigh: driver {driver!r} is not valid for the "
                         f"{'standard' if b is None else 'generalized'} problem; choose one of "
                         f"{[k for k in table if k]}")
    drv = table[driver]
    if b is None:
        out = PL.eigh_p(a, lower=lower, eigvals_only=bool(eigvals_only), driver=drv)
        w, v = (out[0], None) if eigvals_only else out
    else:
        b = _checked(b, check_finite)
        _square(b)
        a, b = _common_dtype(a, b)
        if b.shape[-1] != a.shape[-1]:
            raise ValueError(f"wrong b dimensions {tuple(b.shape)}, should be "
                             f"{tuple(a.shape)}")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = a if tuple(a.shape[:-2]) == batch else S.broadcast_to(a, batch + a.shape[-2:])
        b = b if tuple(b.shape[:-2]) == batch else S.broadcast_to(b, batch + b.shape[-2:])
        L = nla.cholesky(b, upper=False) if lower else nla._H(nla.cholesky(b, upper=True))
        ah = PL._herm(a, lower)

        def tri(x, trans=0):
            return PL.triangular_solve_p(L, x, lower=True, trans=trans, unit_diagonal=False,
                                         check=False)

        if type == 1:
            c = tri(nla._H(tri(ah)))                 # L^-1 A L^-H
        else:
            c = cnp.matmul(nla._H(L), cnp.matmul(ah, L))   # L^H A L
        w, y = PL.eigh_p(c, lower=lower, eigvals_only=False, driver=drv)
        v = None if eigvals_only else (cnp.matmul(L, y) if type == 3 else tri(y, 2))
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        n = a.shape[-1]
        if not (0 <= lo <= hi < n):
            raise ValueError(f"Requested eigenvalue indices are not valid. Valid range is "
                             f"[0, {n - 1}] and start <= end, but start={lo}, end={hi} is "
                             "given")
        w = w[..., lo:hi + 1]
        v = None if v is None else v[..., lo:hi + 1]
    elif subset_by_value is not None:
        lo, hi = subset_by_value
        wv = nla._concrete(w)
        if wv is None:
            raise ValueError("eigh: subset_by_value selects a value-dependent number of "
                             "eigenvalues, which jit/vmap cannot trace; use subset_by_index")
        if wv.ndim != 1:
            raise ValueError("eigh: subset_by_value takes a single matrix (no batch axes)")
        keep = np.nonzero((wv > lo) & (wv <= hi))[0]
        w = w[keep]
        v = None if v is None else v[:, keep]
    return w if eigvals_only else (w, v)


# ---------------------------------------------------------------------------------------------
# thin wrappers with SciPy's signatures


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """The inverse of square matrices, as scipy.linalg.inv (general matrices: `assume_a`
    other than None/"general" is not supported).

    Example:
      >>> inv(np.array([[2., 0.], [0., 4.]]))
      array([[0.5 , 0.  ],
             [0.  , 0.25]])
    """
    if assume_a not in (None, "general", "gen"):
        raise NotImplementedError("chainrule's scipy.linalg.inv supports assume_a=None only")
    a = _checked(a, check_finite)
    _square(a)
    return nla.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """The determinant of square matrices, as scipy.linalg.det (see numpy.linalg.det).

    Example:
      >>> det(np.array([[1., 2.], [3., 4.]]))
      array(-2.)
    """
    a = _checked(a, check_finite)
    _square(a)
    return nla.det(a)


_SOLVE_KINDS = {None: "gen", "general": "gen", "gen": "gen", "diagonal": "diagonal",
                "tridiagonal": "gen", "banded": "gen", "upper triangular": "upper",
                "lower triangular": "lower", "symmetric": "sym", "sym": "sym",
                "hermitian": "her", "her": "her", "positive definite": "pos", "pos": "pos"}


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """Solve a @ x = b for square a, as scipy.linalg.solve.

    assume_a selects what is read from a: "sym"/"her"/"pos" read one triangle (see `lower`),
    "upper triangular"/"lower triangular" one triangle, "diagonal" the diagonal; the others
    (None, "gen", "tridiagonal", "banded") use all of a with an LU factorization (for a
    matrix that has the assumed structure this is the same solution). Derivatives are those
    of the function that reads what is named.

    Args:
      a: (..., N, N) matrices.
      b: (N,) or (..., N, K) right-hand sides.
      lower: with "sym"/"her"/"pos", read the lower triangle (default: upper).
      overwrite_a, overwrite_b: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
      assume_a: the structure of a (see above).
      transposed: solve a^T x = b (real a only, as SciPy).
    Returns:
      x, shaped like b (with broadcast batch axes).
    Raises:
      LinAlgError: a is exactly singular (or not positive definite for "pos").

    Example:
      >>> solve(np.array([[3., 1.], [1., 2.]]), np.array([9., 8.]))
      array([2., 3.])
    """
    if assume_a not in _SOLVE_KINDS:
        raise ValueError(f"{assume_a!r} is not a recognized matrix structure")
    kind = _SOLVE_KINDS[assume_a]
    a = _checked(a, check_finite)
    b = _checked(b, check_finite)
    a, b = _common_dtype(a, b)
    _square(a)
    if transposed:
        if a.dtype.kind == "c":
            raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b "
                                      "for complex a (transposed=True)")
        a = S.matrix_transpose(a)
        lower = not lower
    n = a.shape[-1]
    b2, vector = _rhs(b, n)
    if kind == "pos":
        x = cho_solve(cho_factor(a, lower=lower, check_finite=False), b2, check_finite=False)
    elif kind in ("upper", "lower"):
        x = _with_batch([a], b2, lambda f, rhs: PL.triangular_solve_p(
            f, rhs, lower=kind == "lower", trans=0, unit_diagonal=False, check=True))
    elif kind == "diagonal":
        d = M.diagonal(a, 0, -2, -1)
        dv = nla._concrete(d)
        if dv is not None and not dv.all():
            raise LinAlgError("Singular matrix")
        x = b2 / S.expand_dims(d, -1)
    else:
        if kind in ("sym", "her"):
            t = PL._tril(a) if lower else PL._triu(a)
            strict = PL._tril(a, -1) if lower else PL._triu(a, 1)
            mirror = S.matrix_transpose(strict)
            if kind == "her" and a.dtype.kind == "c":
                mirror = U.conjugate(mirror)
                t = U.where(np.eye(n, dtype=bool), U.real(t), t)
            a = t + mirror
        x = nla._solve_lu(a, b2, True)
    return x[..., 0] if vector else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """LU decomposition with partial pivoting a = P @ L @ U, as scipy.linalg.lu (square
    matrices).

    Args:
      a: (..., M, M) matrices.
      permute_l: return (P @ L, U).
      overwrite_a: ignored.
      check_finite: raise ValueError for inf/NaN input (when the values are known).
      p_indices: return the permutation as row indices p (a = L[p] @ U) instead of P.
    Returns:
      (P, L, U), (p, L, U) or (P @ L, U).

    Example:
      >>> P, L, U = lu(np.array([[1., 2.], [3., 4.]]))
      >>> U
      array([[3.        , 4.        ],
             [0.        , 0.66666667]])
    """
    a = _checked(a, check_finite)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"chainrule's lu takes square matrices, got shape {tuple(a.shape)}")
    n = a.shape[-1]
    f, _, perm = PL.lu_p(a)
    low = PL._tril(f, -1) + np.eye(n, dtype=f.dtype)
    up = PL._triu(f)
    inv = cnp.argsort(perm, axis=-1)
    if p_indices and not permute_l:
        return U.astype(inv, np.int32), low, up   # SciPy's dtype for p
    pmat = U.astype(U.equal(S.expand_dims(inv, -1), np.arange(n)), f.dtype)
    if permute_l:
        return cnp.matmul(pmat, low), up
    return pmat, low, up


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """Singular value decomposition, as scipy.linalg.svd (see numpy.linalg.svd for the
    derivative caveats). Computed with LAPACK's gesdd; lapack_driver="gesvd" is accepted and
    gives the same factorization up to the signs of singular vectors.

    Returns:
      (U, s, Vh), or s when compute_uv is False.

    Example:
      >>> svd(np.diag([1., 3.]), compute_uv=False)
      array([3., 1.])
    """
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f'lapack_driver must be "gesdd" or "gesvd", not "{lapack_driver}"')
    a = _checked(a, check_finite)
    out = nla.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def svdvals(a, overwrite_a=False, check_finite=True):
    """Singular values, descending, as scipy.linalg.svdvals.

    Example:
      >>> svdvals(np.array([[3., 0.], [0., -4.]]))
      array([4., 3.])
    """
    return nla.svdvals(_checked(a, check_finite))


def eigvalsh(a, b=None, *, lower=True, overwrite_a=False, overwrite_b=False, type=1,
             check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """Eigenvalues of a Hermitian (or generalized Hermitian-definite) problem, as
    scipy.linalg.eigvalsh: `eigh(..., eigvals_only=True)`.

    Example:
      >>> eigvalsh(np.array([[2., 1.], [1., 2.]]))
      array([1., 3.])
    """
    return eigh(a, b, lower=lower, eigvals_only=True, type=type, check_finite=check_finite,
                subset_by_index=subset_by_index, subset_by_value=subset_by_value,
                driver=driver)


def norm(a, ord=None, axis=None, keepdims=False, check_finite=True):
    """Matrix or vector norm, as scipy.linalg.norm (= numpy.linalg.norm, with its
    subgradient 0 at 0).

    Example:
      >>> norm(np.array([3., 4.]))
      array(5.)
    """
    return nla.norm(_checked(a, check_finite), ord=ord, axis=axis, keepdims=keepdims)


def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
    """The Frechet derivative of the matrix exponential at A in the direction E, as
    scipy.linalg.expm_frechet: the upper-right block of expm([[A, E], [0, A]]).

    Differentiable in A and E (to any order).

    Args:
      A, E: (..., N, N) matrices.
      method: ignored (SciPy's "SPS" and "blockEnlarge" give the same result).
      compute_expm: also return expm(A).
      check_finite: raise ValueError for inf/NaN input (when the values are known).
    Returns:
      (expm(A), L) or L.

    Example:
      >>> expm_frechet(np.zeros((2, 2)), np.eye(2), compute_expm=False)
      array([[1., 0.],
             [0., 1.]])
    """
    A = _checked(A, check_finite)
    E = _checked(E, check_finite)
    A, E = _common_dtype(A, E)
    _square(A)
    if tuple(E.shape) != tuple(A.shape):
        raise ValueError(f"expected A and E to be the same shape, got {tuple(A.shape)} and "
                         f"{tuple(E.shape)}")
    n = A.shape[-1]
    top = S.concatenate([A, E], axis=-1)
    bottom = S.concatenate([np.zeros(tuple(A.shape), A.dtype), A], axis=-1)
    big = PL.expm_p(S.concatenate([top, bottom], axis=-2))
    frechet = big[..., :n, n:]
    return (big[..., :n, :n], frechet) if compute_expm else frechet
