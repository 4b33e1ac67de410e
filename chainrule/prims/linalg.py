"""Linear-algebra primitives: factorizations and matrix functions, one block each.

Primitives: cholesky, triangular_solve, lu, lu_pivots_to_permutation, det, qr, eigh, svd,
eig, pinv, expm, sqrtm, sylvester. Everything else in `chainrule.numpy.linalg` and
`chainrule.scipy.linalg` (solve, inv, det, slogdet, lstsq, norm, ...) is composed from these
and the structural primitives.

Contract:
- Every primitive takes stacks of matrices: the last two axes are the matrix, leading axes
  are batch axes, identical across the array arguments (the user namespaces broadcast).
- Rules are written with primitives and reuse the factorization of the forward pass: the
  derivative of a solve is a solve with the same triangular factor, never a new factorization
  and never an explicit inverse. Primitives with a "values only" mode (eigvalsh, svdvals,
  qr(mode="r")) compute the full factorization once when they are differentiated.
- Functions that read one triangle (cholesky, eigh, triangular_solve) are differentiated as
  the function NumPy computes: perturbing the unread triangle changes nothing, so gradients
  live in the triangle that is read (a symmetric direction gives the usual derivative).
- Gauges: eigenvectors and singular vectors are defined up to sign (real) or phase (complex).
  For real input the JVP is the derivative of LAPACK's output (its sign is locally
  constant). For complex input eigh/svd use the gauge Im diag(V^H dV) = 0, so only
  gauge-invariant functions (|v|^2, U diag(s) V^H, projectors) have meaningful derivatives;
  eig follows LAPACK's own normalization (unit norm, largest component real).
- Degenerate spectra: the coupling 1/(w_j - w_i) between exactly equal eigenvalues (or
  singular values) is taken as 0, so derivatives of functions of the eigenvalues (singular
  values) alone stay finite and correct there; eigenvector derivatives at an exact
  degeneracy are not defined and come out as the minimal-norm choice (so even
  gauge-invariant functions of the vectors are right only away from degeneracy).
- Singular input: `triangular_solve(check=True)` raises LinAlgError on an exactly zero
  diagonal (what NumPy's solve/inv do); derivative rules use check=False. `det` has its
  own rules: its derivative is the adjugate, computed from the LU factors in a form that is
  exact at singular matrices too (where det(A) inv(A) is not defined).
"""
from __future__ import annotations

import numpy as np

from ..core import Primitive, ShapedArray
from .base import moveaxis0
from .elementwise import and_p, conj_p, div_p, eq_p, imag_p, ne_p, real_p, rem_p, select_p
from .structural import (argmax_p, argsort_p, broadcast_to_p, concatenate_p, convert_p,
                         dot_general_p, getitem_p, reduce_prod_p, reduce_sum_p, reshape_p,
                         transpose_p)

TESTED_IN = "tests/test_linalg.py"

__all__ = ["cholesky_p", "triangular_solve_p", "lu_p", "lu_pivots_to_permutation_p", "det_p",
           "qr_p",
           "eigh_p", "svd_p", "eig_p", "pinv_p", "expm_p", "sqrtm_p", "sylvester_p",
           "lu_solve", "permute_rows"]


def _prim(name, impl, aval, *, multiple_results=False):
    p = Primitive(name, multiple_results=multiple_results)
    p.impl, p.abstract_eval = impl, aval
    return p


# ---------------------------------------------------------------------------------------------
# helpers used by the rules (primitives only)


def _mT(x):
    n = x.ndim
    return transpose_p(x, perm=tuple(range(n - 2)) + (n - 1, n - 2))


def _cj(x):
    return conj_p(x) if x.dtype.kind == "c" else x


def _H(x):
    return _mT(_cj(x))


def _mm(x, y):
    """Batched matrix product of two stacks with the same batch axes."""
    nb = x.ndim - 2
    b = tuple(range(nb))
    return dot_general_p(x, y, dims=(((nb + 1,), (nb,)), (b, b)))


def _tril(x, k=0):
    m, n = x.shape[-2:]
    return select_p(np.tri(m, n, k, dtype=bool), x, 0.0)


def _triu(x, k=0):
    m, n = x.shape[-2:]
    return select_p(~np.tri(m, n, k - 1, dtype=bool), x, 0.0)


def _diag(x):
    """The main diagonal of each matrix, as the last axis."""
    k = min(x.shape[-2:])
    r = np.arange(k)
    return getitem_p(x, r, r, idx=(Ellipsis, ("a", 0), ("a", 1)))


def _diag_embed(d):
    """Diagonal matrices with diagonal d (..., n) -> (..., n, n)."""
    n = d.shape[-1]
    row = reshape_p(d, shape=tuple(d.shape[:-1]) + (1, n))
    return select_p(np.eye(n, dtype=bool), row, 0.0)


def _col(x):
    """x (..., n) as (..., 1, n): scales the columns of a matrix by broadcasting."""
    return reshape_p(x, shape=tuple(x.shape[:-1]) + (1, x.shape[-1]))


def _row(x):
    """x (..., n) as (..., n, 1): scales the rows of a matrix by broadcasting."""
    return reshape_p(x, shape=tuple(x.shape) + (1,))


def _coldot(x, y):
    """sum_i conj(x[..., i, j]) y[..., i, j]: the inner products of matching columns."""
    return reduce_sum_p(_cj(x) * y, axes=(x.ndim - 2,))


def _cols(x, start, stop):
    return getitem_p(x, idx=(Ellipsis, ("s", start, stop, None)))


def _rows(x, start, stop):
    return getitem_p(x, idx=(Ellipsis, ("s", start, stop, None), ("s", None, None, None)))


def _safe_inv(x):
    """1/x, with 0 where x == 0 (zero-safe in value and in derivative)."""
    z = eq_p(x, 0)
    return select_p(z, 0.0, div_p(1.0, select_p(z, 1.0, x)))


def _gap_inv(w):
    """F[..., i, j] = 1 / (w_j - w_i), and 0 where w_i == w_j (diagonal included)."""
    d = _col(w) - _row(w)
    return _safe_inv(d)


def _herm(x, lower):
    """The Hermitian matrix that a routine reading one triangle of x sees: the read
    triangle, its conjugate mirrored, and the real part of the diagonal."""
    n = x.shape[-1]
    t = _tril(x, -1) if lower else _triu(x, 1)
    off = t + _H(t)
    d = real_p(x) if x.dtype.kind == "c" else x
    return select_p(np.eye(n, dtype=bool), d, off)


def _herm_adjoint(c, lower):
    """The adjoint (for the real inner product Re <a, b>) of `_herm`."""
    n = c.shape[-1]
    mask = np.tri(n, n, -1, dtype=bool)
    d = real_p(c) if c.dtype.kind == "c" else c
    s = c + _H(c)
    return select_p(mask if lower else mask.T, s, select_p(np.eye(n, dtype=bool), d, 0.0))


def _trisolve(a, b, lower, trans=0, unit=False, check=False):
    return triangular_solve_p(a, b, lower=lower, trans=trans, unit_diagonal=unit, check=check)


def _trisolve_right(a, b, lower, trans=0, unit=False):
    """X with X op(T) = B, T the triangle of a (op: 0 none, 1 transpose, 2 adjoint)."""
    if trans == 2:
        return _H(_trisolve(a, _H(b), lower, 0, unit))
    return _mT(_trisolve(a, _mT(b), lower, 1 - trans, unit))


def _batch_index_arrays(batch):
    nb = len(batch)
    return [np.arange(d).reshape((1,) * i + (d,) + (1,) * (nb - i)) for i, d in
            enumerate(batch)]


def permute_rows(x, perm):
    """x[..., perm, :] per matrix: rows of each matrix of x (..., n, k) gathered by the
    matching permutation of perm (..., n)."""
    batch = tuple(x.shape[:-2])
    arrays = _batch_index_arrays(batch) + [perm]
    idx = tuple(("a", i) for i in range(len(arrays))) + (("s", None, None, None),)
    return getitem_p(x, *arrays, idx=idx)


def lu_solve(lu, perm, b, trans=0, check=False):
    """Solve op(A) x = b from A's LU factors (A[perm] = L U); b (..., n, k) with the batch
    axes of lu. trans: 0 A, 1 A^T, 2 A^H."""
    if trans == 0:
        y = _trisolve(lu, permute_rows(b, perm), True, 0, True)
        return _trisolve(lu, y, False, 0, False, check)
    y = _trisolve(lu, b, False, trans, False, check)
    y = _trisolve(lu, y, True, trans, True)
    return permute_rows(y, argsort_p(perm, axis=perm.ndim - 1, descending=False))


def _solve(a, b, trans=0):
    """op(a) x = b for stacks with equal batch axes (used by rules: no singularity check)."""
    lu, _, perm = lu_p(a)
    return lu_solve(lu, perm, b, trans)


def _broadcast_batch(vals, bdims):
    """Every value with its batch axis at 0 (unbatched ones broadcast)."""
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    out = []
    for v, b in zip(vals, bdims):
        if b is None:
            shape = tuple(v.shape)
            v = broadcast_to_p(reshape_p(v, shape=(1,) + shape), shape=(size,) + shape)
        else:
            v = moveaxis0(v, b)
        out.append(v)
    return out


def _batch_rule(prim):
    def rule(vals, bdims, **params):
        out = prim(*_broadcast_batch(vals, bdims), **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)
    return rule


def _square(name, a):
    if len(a.shape) < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected a stack of square matrices (..., n, n), got shape "
                         f"{tuple(a.shape)}")


def _inexact_dtype(dt):
    dt = np.dtype(dt)
    return dt if dt.kind in "fc" else np.dtype(np.float64)


def _real_dtype(dt):
    return np.empty(0, dt).real.dtype


def _complex_dtype(dt):
    return np.result_type(dt, np.complex64)


# ---------------------------------------------------------------------------------------------
# cholesky: A = L L^H, reading the lower triangle of A


def _cholesky(a):
    return np.linalg.cholesky(a)


def _cholesky_aval(a):
    _square("cholesky", a)
    return ShapedArray(a.shape, a.dtype)


def _phi(x):
    """The lower triangle of x with its diagonal halved."""
    n = x.shape[-1]
    return select_p(np.tri(n, n, -1, dtype=bool), x,
                    select_p(np.eye(n, dtype=bool), 0.5 * x, 0.0))


def _cholesky_jvp(t, ans, a):
    dh = _herm(t, True)
    z = _trisolve(ans, _H(_trisolve(ans, dh, True)), True)   # L^-1 dH L^-H
    return _mm(ans, _phi(z))


def _cholesky_vjp(ct, ans, a):
    n_ = _phi(_mm(_H(ans), ct))
    w = _trisolve(ans, n_, True, 2)                          # L^-H N
    return _herm_adjoint(_trisolve_right(ans, w, True), True)  # L^-H N L^-1


cholesky_p = _prim("cholesky", _cholesky, _cholesky_aval)
cholesky_p.jvp_rules = (_cholesky_jvp,)
cholesky_p.vjp_rules = (_cholesky_vjp,)
cholesky_p.batch = _batch_rule(cholesky_p)
cholesky_p.lower = "np.linalg.cholesky"


# ---------------------------------------------------------------------------------------------
# triangular_solve: op(T) X = B with T the lower/upper triangle of a


def _triangular_solve(a, b, *, lower, trans, unit_diagonal, check):
    import math
    import scipy.linalg.blas
    a, b = np.asarray(a), np.asarray(b)
    dt = np.result_type(a.dtype, b.dtype, np.float32)
    if a.dtype != dt:
        a = a.astype(dt)
    if b.dtype != dt:
        b = b.astype(dt)
    if check and not unit_diagonal and a.size:
        if not np.diagonal(a, axis1=-2, axis2=-1).all():
            raise np.linalg.LinAlgError("Singular matrix")
    if b.size == 0:
        return np.zeros(b.shape, dt)
    batch = a.shape[:-2]
    n = a.shape[-1]
    if n <= 32 and math.prod(batch) >= 16:
        # many small systems: one vectorized LAPACK call beats a loop of BLAS calls
        t = np.tril(a) if lower else np.triu(a)
        if unit_diagonal:
            t[..., np.arange(n), np.arange(n)] = 1
        if trans:
            t = np.swapaxes(t, -1, -2)
            if trans == 2:
                t = t.conj()
        try:
            return np.linalg.solve(t, b)
        except np.linalg.LinAlgError:
            pass  # an exactly singular T: fall through to BLAS (inf/nan, as trsm gives)
    trsm = getattr(scipy.linalg.blas, {"float32": "s", "float64": "d", "complex64": "c",
                                       "complex128": "z"}[dt.name] + "trsm")
    if not batch:
        return trsm(1.0, a, b, lower=lower, trans_a=trans, diag=unit_diagonal)
    out = np.empty(b.shape, dt)
    for i in np.ndindex(*batch):
        out[i] = trsm(1.0, a[i], b[i], lower=lower, trans_a=trans, diag=unit_diagonal)
    return out


def _trisolve_aval(a, b, *, lower, trans, unit_diagonal, check):
    _square("triangular_solve", a)
    if (len(b.shape) != len(a.shape) or tuple(b.shape[:-2]) != tuple(a.shape[:-2])
            or b.shape[-2] != a.shape[-1]):
        raise ValueError(f"triangular_solve: b must have shape (..., {a.shape[-1]}, k) with the "
                         f"batch axes of a {tuple(a.shape)}, got {tuple(b.shape)}")
    return ShapedArray(b.shape, np.result_type(a.dtype, b.dtype, np.float32))


def _tri_mask(a, lower, unit):
    return _tril(a, -1 if unit else 0) if lower else _triu(a, 1 if unit else 0)


def _op(x, trans):
    return x if trans == 0 else _mT(x) if trans == 1 else _H(x)


def _trisolve_jvp(primals, tangents, *, lower, trans, unit_diagonal, check):
    a, b = primals
    ta, tb = tangents
    p = dict(lower=lower, trans=trans, unit_diagonal=unit_diagonal)
    x = triangular_solve_p(a, b, check=check, **p)
    if ta is None and tb is None:
        return x, None
    rhs = None
    if ta is not None:
        rhs = -_mm(_op(_tri_mask(ta, lower, unit_diagonal), trans), x)
    if tb is not None:
        rhs = tb if rhs is None else rhs + tb
    return x, triangular_solve_p(a, rhs, check=False, **p)


def _trisolve_ct(a, ct, lower, trans, unit):
    """op(T)^-H ct."""
    if trans == 0:
        return _trisolve(a, ct, lower, 2, unit)
    if trans == 2:
        return _trisolve(a, ct, lower, 0, unit)
    if a.dtype.kind != "c":
        return _trisolve(a, ct, lower, 0, unit)
    return conj_p(_trisolve(a, _cj(ct), lower, 0, unit))


def _trisolve_reverse(vals, params):
    a, b = vals
    x = triangular_solve_p(a, b, **params)
    lower, trans, unit = params["lower"], params["trans"], params["unit_diagonal"]

    def bwd(ct):
        cb = _trisolve_ct(a, ct, lower, trans, unit)
        if trans == 0:
            m = _mm(cb, _H(x))
        elif trans == 1:
            m = _mm(_cj(x), _mT(cb))
        else:
            m = _mm(x, _H(cb))
        return [-_tri_mask(m, lower, unit), cb]

    return x, bwd


def _trisolve_batch(vals, bdims, **params):
    a, b = vals
    ba, bb = bdims
    if ba is None:
        # one matrix, a batch of right-hand sides: fold the batch into the columns
        b = moveaxis0(b, bb)
        size, rest = b.shape[0], tuple(b.shape[1:])
        nd = len(rest)
        perm = tuple(range(1, nd)) + (0, nd)
        bt = transpose_p(b, perm=perm)                  # (..., n, B, k)
        folded = reshape_p(bt, shape=rest[:-1] + (size * rest[-1],))
        out = triangular_solve_p(a, folded, **params)
        return reshape_p(out, shape=rest[:-1] + (size, rest[-1])), nd - 1
    a, b = _broadcast_batch(vals, bdims)
    return triangular_solve_p(a, b, **params), 0


triangular_solve_p = _prim("triangular_solve", _triangular_solve, _trisolve_aval)
triangular_solve_p.jvp = _trisolve_jvp
triangular_solve_p.reverse = _trisolve_reverse
triangular_solve_p.batch = _trisolve_batch


# ---------------------------------------------------------------------------------------------
# lu: A[perm] = L U with partial pivoting (LAPACK getrf); outputs (lu, pivots, perm)


def _lu(a):
    import math
    import warnings
    import scipy.linalg
    a = np.asarray(a)
    n = a.shape[-1]
    batch = a.shape[:-2]
    count = math.prod(batch)
    if a.size == 0:
        piv = np.zeros(batch + (n,), np.int32)
        return [np.array(a, copy=True), piv, piv.copy()]
    if n <= 16 and count >= 16:
        # many small matrices: right-looking elimination vectorized over the batch, with
        # LAPACK's pivot choice (largest |re| + |im| in the column, first one on ties)
        lu = np.array(a.reshape((count, n, n)), dtype=np.result_type(a.dtype, np.float32))
        piv = np.empty((count, n), np.int32)
        rows = np.arange(count)
        for k in range(n):
            col = lu[:, k:, k]
            mag = np.abs(col.real) + np.abs(col.imag) if col.dtype.kind == "c" else np.abs(col)
            p = k + np.argmax(mag, axis=1)
            piv[:, k] = p
            row_k = lu[rows, k, :].copy()
            lu[rows, k, :] = lu[rows, p, :]
            lu[rows, p, :] = row_k
            d = lu[:, k, k]
            lu[:, k + 1:, k] /= np.where(d == 0, 1, d)[:, None]
            lu[:, k + 1:, k + 1:] -= lu[:, k + 1:, k, None] * lu[:, k, None, k + 1:]
        lu = lu.reshape(a.shape)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # singular input is fine here (det, slogdet)
            lu, piv = scipy.linalg.lu_factor(a, check_finite=False)
        piv = piv.astype(np.int32, copy=False).reshape(count, n)
    if count == 1:
        perm = list(range(n))
        for i, j in enumerate(piv[0].tolist()):
            perm[i], perm[j] = perm[j], perm[i]
        perm = np.array([perm], np.int32)
    else:
        perm = np.broadcast_to(np.arange(n, dtype=np.int32), (count, n)).copy()
        rows = np.arange(count)
        for i in range(n):
            j = piv[:, i]
            tmp = perm[rows, i].copy()
            perm[rows, i] = perm[rows, j]
            perm[rows, j] = tmp
    return [lu, piv.reshape(batch + (n,)), perm.reshape(batch + (n,))]


def _lu_aval(a):
    _square("lu", a)
    piv = ShapedArray(tuple(a.shape[:-1]), np.int32)
    return [ShapedArray(a.shape, a.dtype), piv, piv]


def _lu_factors(lu):
    n = lu.shape[-1]
    eye = np.eye(n, dtype=lu.dtype)
    return select_p(np.tri(n, n, -1, dtype=bool), lu, eye), _triu(lu)


def _lu_jvp(primals, tangents):
    a, = primals
    t, = tangents
    lu, piv, perm = out = lu_p(a)
    if t is None:
        return out, None
    l_, u_ = _lu_factors(lu)
    y = _trisolve(lu, permute_rows(t, perm), True, 0, True)     # L^-1 P dA
    x = _trisolve_right(lu, y, False)                           # L^-1 P dA U^-1
    return out, [_mm(l_, _tril(x, -1)) + _mm(_triu(x), u_), None, None]


def _lu_reverse(vals, params):
    a, = vals
    lu, piv, perm = out = lu_p(a)

    def bwd(cts):
        c = cts[0]
        l_, u_ = _lu_factors(lu)
        y = _tril(_mm(_H(l_), _tril(c, -1)), -1) + _triu(_mm(_triu(c), _H(u_)))
        z = _trisolve(lu, y, True, 2, True)                     # L^-H Y
        w = _trisolve_right(lu, z, False, 2)                    # L^-H Y U^-H
        inv = argsort_p(perm, axis=perm.ndim - 1, descending=False)
        return [permute_rows(w, inv)]

    return out, bwd


lu_p = _prim("lu", _lu, _lu_aval, multiple_results=True)
lu_p.jvp = _lu_jvp
lu_p.reverse = _lu_reverse
lu_p.batch = _batch_rule(lu_p)


def _pivots_to_permutation(piv):
    piv = np.asarray(piv)
    n = piv.shape[-1]
    flat = piv.reshape(-1, n)
    perm = np.broadcast_to(np.arange(n, dtype=np.int32), flat.shape).copy()
    rows = np.arange(flat.shape[0])
    for i in range(n):
        j = flat[:, i]
        tmp = perm[rows, i].copy()
        perm[rows, i] = perm[rows, j]
        perm[rows, j] = tmp
    return perm.reshape(piv.shape)


lu_pivots_to_permutation_p = _prim(
    "lu_pivots_to_permutation", _pivots_to_permutation,
    lambda piv: ShapedArray(piv.shape, np.int32))
lu_pivots_to_permutation_p.jvp_rules = (None,)
lu_pivots_to_permutation_p.vjp_rules = (None,)
lu_pivots_to_permutation_p.batch = _batch_rule(lu_pivots_to_permutation_p)


# ---------------------------------------------------------------------------------------------
# det: the determinant from the LU factors; its derivative is the adjugate, computed from the
# same factors in a form that stays finite at singular matrices


def _det(a):
    return np.asarray(np.linalg.det(a))


def _det_aval(a):
    _square("det", a)
    return ShapedArray(tuple(a.shape[:-2]), a.dtype)


def _det_parts(a):
    """From one LU factorization: (lu, perm, U' (U with exact zero pivots set to 1), the
    pivots u, the permutation's sign, det(U), e) where e_k = prod_{j != k} u_j at the zero
    pivots and 0 elsewhere. Then adj(U) = det(U) U'^-1 + U'^-1 diag(e) U'^-1 (exact for any
    rank: only a single zero pivot gives a nonzero e) and adj(A) = sign adj(U) L^-1 P."""
    lu, piv, perm = lu_p(a)
    n = a.shape[-1]
    u = _diag(lu)
    eye = np.eye(n, dtype=bool)
    zero = eq_p(u, 0)
    lu1 = select_p(and_p(eye, _col(zero)), 1.0, lu)
    swaps = reduce_sum_p(convert_p(ne_p(piv, np.arange(n, dtype=np.int32)), dtype=np.int32),
                         axes=(piv.ndim - 1,))
    sign = convert_p(1 - 2 * rem_p(swaps, 2), dtype=_real_dtype(a.dtype))
    det_u = reduce_prod_p(u, axes=(u.ndim - 1,))
    others = reduce_prod_p(select_p(eye, 1.0, _col(u)), axes=(u.ndim,))
    e = select_p(zero, others, 0.0)
    return lu, perm, lu1, sign, det_u, e


def _det_jvp(primals, tangents):
    a, = primals
    t, = tangents
    lu, perm, lu1, sign, det_u, e = _det_parts(a)
    out = det_u * sign
    if t is None:
        return out, None
    b = _trisolve(lu1, permute_rows(t, perm), True, 0, True)       # L^-1 P dA
    x = _trisolve_right(lu1, b, False)                               # ... U'^-1
    y = _trisolve(lu1, x, False)                                     # U'^-1 ...
    last = (x.ndim - 2,)
    tr = reduce_sum_p(_diag(x), axes=last)
    return out, sign * (det_u * tr + reduce_sum_p(e * _diag(y), axes=last))


def _det_reverse(vals, params):
    a, = vals
    lu, perm, lu1, sign, det_u, e = _det_parts(a)
    out = det_u * sign

    def bwd(ct):
        n = a.shape[-1]
        eye = np.broadcast_to(np.eye(n, dtype=lu.dtype), tuple(lu.shape))
        z = _trisolve(lu1, eye, False)                               # U'^-1
        adj_u = _row(_row(det_u)) * z + _mm(z * _col(e), z)
        m = _trisolve_right(lu1, adj_u, True, 0, True)               # adj(U) L^-1
        inv = argsort_p(perm, axis=perm.ndim - 1, descending=False)
        adj = _mT(permute_rows(_mT(m), inv))                          # ... P
        return [_row(_row(ct * sign)) * _H(adj)]

    return out, bwd


det_p = _prim("det", _det, _det_aval)
det_p.jvp = _det_jvp
det_p.reverse = _det_reverse
det_p.batch = _batch_rule(det_p)
det_p.lower = lambda ins, p: f"np.asarray(np.linalg.det({ins[0]}))"


# ---------------------------------------------------------------------------------------------
# qr: A = Q R (Householder, LAPACK geqrf); modes "reduced", "complete", "r", "raw"


_QR_MODES = ("reduced", "complete", "r", "raw")


def _qr(a, *, mode):
    out = np.linalg.qr(a, mode=mode)
    return [out] if mode == "r" else list(out)


def _qr_aval(a, *, mode):
    if mode not in _QR_MODES:
        raise ValueError(f"qr: unrecognized mode {mode!r} (expected one of {_QR_MODES})")
    if len(a.shape) < 2:
        raise ValueError(f"qr: expected a stack of matrices, got shape {tuple(a.shape)}")
    *batch, m, n = a.shape
    batch = tuple(batch)
    k = min(m, n)
    if mode == "raw":
        return [ShapedArray(batch + (n, m), a.dtype), ShapedArray(batch + (k,), a.dtype)]
    r = ShapedArray(batch + ((m if mode == "complete" else k), n), a.dtype)
    if mode == "r":
        return [r]
    return [ShapedArray(batch + (m, m if mode == "complete" else k), a.dtype), r]


def _qr_raw_error(*args, **kwargs):
    raise NotImplementedError("qr(mode='raw') has no derivative in chainrule (the Householder "
                              "reflectors are an internal representation); use "
                              "mode='reduced' or 'complete'")


def _skew_of(c):
    """The skew-Hermitian part Q^H dQ determined by C = Q^H dA R^-1: its strictly lower
    triangle is C's, and its diagonal keeps R's diagonal real."""
    lo = _tril(c, -1)
    om = lo - _H(lo)
    if c.dtype.kind == "c":
        n = c.shape[-1]
        om = om + select_p(np.eye(n, dtype=bool), 1j * imag_p(c), 0.0)
    return om


def _qr_square_jvp(q, r, t):
    """(dQ, dR) for A = Q R with Q (m, n) orthonormal, R (n, n) upper, m >= n."""
    b = _trisolve_right(r, t, False)        # dA R^-1
    c = _mm(_H(q), b)
    d = c - _skew_of(c)                     # dR R^-1 (upper triangular)
    return b - _mm(q, d), _mm(d, r)


def _qr_square_ct(q, r, cq, cr):
    """The cotangent of A for A = Q R (m >= n, reduced) from cotangents of Q and R."""
    m_ = _mm(cr, _H(r)) - _mm(_H(q), cq)
    up = _triu(m_, 1)
    n_ = up + _H(up)
    d = real_p(m_) if m_.dtype.kind == "c" else m_
    n_ = select_p(np.eye(m_.shape[-1], dtype=bool), d, n_)
    return _trisolve_right(r, cq + _mm(q, n_), False, 2)     # (cQ + Q N) R^-H


def _qr_full(a, mode):
    """Q and R as the derivative rules need them (Q and R of a full-Q mode, else reduced)."""
    if mode in ("reduced", "complete"):
        return qr_p(a, mode=mode)
    return qr_p(a, mode="reduced")


def _qr_jvp(primals, tangents, *, mode):
    if mode == "raw":
        _qr_raw_error()
    a, = primals
    t, = tangents
    m, n = a.shape[-2:]
    q, r = _qr_full(a, mode)
    out = [r] if mode == "r" else [q, r]
    if t is None:
        return out, None
    if m >= n:
        q1 = _cols(q, 0, n)
        r1 = _rows(r, 0, n)
        dq, dr = _qr_square_jvp(q1, r1, t)
        if mode == "complete" and m > n:
            q2 = _cols(q, n, None)
            dq = concatenate_p(dq, -_mm(q1, _mm(_H(dq), q2)), axis=dq.ndim - 1)
            dr = concatenate_p(dr, np.zeros(tuple(dr.shape[:-2]) + (m - n, n), dr.dtype),
                               axis=dr.ndim - 2)
    else:
        y = _cols(a, m, None)
        tx, ty = _cols(t, 0, m), _cols(t, m, None)
        dq, dr1 = _qr_square_jvp(q, _cols(r, 0, m), tx)
        dr2 = _mm(_H(dq), y) + _mm(_H(q), ty)
        dr = concatenate_p(dr1, dr2, axis=dr1.ndim - 1)
    return out, ([dr] if mode == "r" else [dq, dr])


def _qr_reverse(vals, params):
    mode = params["mode"]
    if mode == "raw":
        _qr_raw_error()
    a, = vals
    m, n = a.shape[-2:]
    q, r = _qr_full(a, mode)
    out = [r] if mode == "r" else [q, r]

    def bwd(cts):
        cq, cr = (None, cts[0]) if mode == "r" else cts
        if cq is None:
            cq = np.zeros(q.shape, q.dtype)
        if m >= n:
            q1 = _cols(q, 0, n)
            cq1 = _cols(cq, 0, n)
            if mode == "complete" and m > n:
                q2 = _cols(q, n, None)
                cq1 = cq1 - _mm(q2, _mm(_H(_cols(cq, n, None)), q1))
            return [_qr_square_ct(q1, _rows(r, 0, n), cq1, _rows(cr, 0, n))]
        y = _cols(a, m, None)
        cr1, cr2 = _cols(cr, 0, m), _cols(cr, m, None)
        cx = _qr_square_ct(q, _cols(r, 0, m), cq + _mm(y, _H(cr2)), cr1)
        return [concatenate_p(cx, _mm(q, cr2), axis=cx.ndim - 1)]

    return out, bwd


def _qr_lower(ins, p):
    call = f"np.linalg.qr({ins[0]}, mode={p['mode']!r})"
    return f"[{call}]" if p["mode"] == "r" else call


qr_p = _prim("qr", _qr, _qr_aval, multiple_results=True)
qr_p.jvp = _qr_jvp
qr_p.reverse = _qr_reverse
qr_p.batch = _batch_rule(qr_p)
qr_p.lower = _qr_lower


# ---------------------------------------------------------------------------------------------
# eigh: Hermitian eigendecomposition A = V diag(w) V^H, reading one triangle


def _eigh(a, *, lower, eigvals_only, driver=None):
    if driver is not None:
        import scipy.linalg
        out = scipy.linalg.eigh(a, lower=lower, eigvals_only=eigvals_only, driver=driver,
                                check_finite=False)
        return [out] if eigvals_only else list(out)
    uplo = "L" if lower else "U"
    if eigvals_only:
        return [np.linalg.eigvalsh(a, UPLO=uplo)]
    return list(np.linalg.eigh(a, UPLO=uplo))


_EIGH_DRIVERS = (None, "ev", "evd", "evr", "evx")


def _eigh_aval(a, *, lower, eigvals_only, driver=None):
    if driver not in _EIGH_DRIVERS:
        raise ValueError(f"eigh: unknown driver {driver!r} (expected one of {_EIGH_DRIVERS})")
    _square("eigh", a)
    w = ShapedArray(tuple(a.shape[:-1]), _real_dtype(a.dtype))
    return [w] if eigvals_only else [w, ShapedArray(a.shape, a.dtype)]


def _eigh_jvp(primals, tangents, *, lower, eigvals_only, driver=None):
    a, = primals
    t, = tangents
    w, v = eigh_p(a, lower=lower, eigvals_only=False, driver=driver)
    out = [w] if eigvals_only else [w, v]
    if t is None:
        return out, None
    k = _mm(_H(v), _mm(_herm(t, lower), v))
    dk = _diag(k)
    dw = real_p(dk) if dk.dtype.kind == "c" else dk
    if eigvals_only:
        return out, [dw]
    return out, [dw, _mm(v, _gap_inv(w) * k)]


def _eigh_reverse(vals, params):
    a, = vals
    lower, only = params["lower"], params["eigvals_only"]
    w, v = eigh_p(a, lower=lower, eigvals_only=False, driver=params.get("driver"))

    def bwd(cts):
        g = _diag_embed(cts[0])
        if not only:
            g = g + _gap_inv(w) * _mm(_H(v), cts[1])
        return [_herm_adjoint(_mm(v, _mm(g, _H(v))), lower)]

    return ([w] if only else [w, v]), bwd


eigh_p = _prim("eigh", _eigh, _eigh_aval, multiple_results=True)
eigh_p.jvp = _eigh_jvp
eigh_p.reverse = _eigh_reverse
eigh_p.batch = _batch_rule(eigh_p)


# ---------------------------------------------------------------------------------------------
# svd: A = U diag(s) V^H


def _svd(a, *, full_matrices, compute_uv):
    if not compute_uv:
        return [np.linalg.svd(a, compute_uv=False)]
    return list(np.linalg.svd(a, full_matrices=full_matrices))


def _svd_aval(a, *, full_matrices, compute_uv):
    if len(a.shape) < 2:
        raise ValueError(f"svd: expected a stack of matrices, got shape {tuple(a.shape)}")
    *batch, m, n = a.shape
    batch = tuple(batch)
    k = min(m, n)
    s = ShapedArray(batch + (k,), _real_dtype(a.dtype))
    if not compute_uv:
        return [s]
    mu, nv = (m, n) if full_matrices else (k, k)
    return [ShapedArray(batch + (m, mu), a.dtype), s, ShapedArray(batch + (nv, n), a.dtype)]


def _svd_parts(a, full_matrices):
    u, s, vh = svd_p(a, full_matrices=full_matrices, compute_uv=True)
    k = s.shape[-1]
    v = _H(vh)
    return u, s, vh, _cols(u, 0, k), _cols(v, 0, k), v


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    a, = primals
    t, = tangents
    m, n = a.shape[-2:]
    u, s, vh, u1, v1, v = _svd_parts(a, full_matrices and compute_uv)
    out = [u, s, vh] if compute_uv else [s]
    if t is None:
        return out, None
    k = s.shape[-1]
    dp = _mm(_H(u1), _mm(t, v1))
    dd = _diag(dp)
    ds = real_p(dd) if dd.dtype.kind == "c" else dd
    if not compute_uv:
        return out, [ds]
    f = _gap_inv(s * s)
    s_inv = _safe_inv(s)
    dph = _H(dp)
    om_u = f * (dp * _col(s) + _row(s) * dph)
    om_v = f * (_row(s) * dp + dph * _col(s))
    if dp.dtype.kind == "c":
        om_u = om_u + _diag_embed(1j * imag_p(dd) * s_inv)
    du = _mm(u1, om_u)
    dv = _mm(v1, om_v)
    if m > k:
        du = du + (_mm(t, v1) - _mm(u1, dp)) * _col(s_inv)
    if n > k:
        dv = dv + (_mm(_H(t), u1) - _mm(v1, dph)) * _col(s_inv)
    if full_matrices and m > k:
        u2 = _cols(u, k, None)
        du = concatenate_p(du, -_mm(u1, _mm(_H(du), u2)), axis=du.ndim - 1)
    if full_matrices and n > k:
        v2 = _cols(v, k, None)
        dv = concatenate_p(dv, -_mm(v1, _mm(_H(dv), v2)), axis=dv.ndim - 1)
    return out, [du, ds, _H(dv)]


def _svd_reverse(vals, params):
    a, = vals
    full, cuv = params["full_matrices"], params["compute_uv"]
    m, n = a.shape[-2:]
    u, s, vh, u1, v1, v = _svd_parts(a, full and cuv)
    out = [u, s, vh] if cuv else [s]

    def bwd(cts):
        k = s.shape[-1]
        if not cuv:
            return [_mm(u1 * _col(cts[0]), _H(v1))]
        cu, cs, cvh = cts
        cv = _H(cvh)
        cu1, cv1 = _cols(cu, 0, k), _cols(cv, 0, k)
        if full and m > k:
            u2 = _cols(u, k, None)
            cu1 = cu1 - _mm(u2, _mm(_H(_cols(cu, k, None)), u1))
        if full and n > k:
            v2 = _cols(v, k, None)
            cv1 = cv1 - _mm(v2, _mm(_H(_cols(cv, k, None)), v1))
        f = _gap_inv(s * s)
        s_inv = _safe_inv(s)
        g = _mm(_H(u1), cu1)
        kv = _mm(_H(v1), cv1)
        j, jv = f * g, f * kv
        gam = _diag_embed(cs) + (j + _H(j)) * _col(s) + _row(s) * (jv + _H(jv))
        if g.dtype.kind == "c":
            gam = gam + _diag_embed(1j * imag_p(_diag(g)) * s_inv)
        ca = _mm(u1, _mm(gam, _H(v1)))
        if m > k:
            ca = ca + _mm((cu1 - _mm(u1, g)) * _col(s_inv), _H(v1))
        if n > k:
            ca = ca + _mm(u1, _row(s_inv) * _H(cv1 - _mm(v1, kv)))
        return [ca]

    return out, bwd


def _svd_lower(ins, p):
    if not p["compute_uv"]:
        return f"[np.linalg.svd({ins[0]}, compute_uv=False)]"
    return f"np.linalg.svd({ins[0]}, full_matrices={p['full_matrices']!r})"


svd_p = _prim("svd", _svd, _svd_aval, multiple_results=True)
svd_p.jvp = _svd_jvp
svd_p.reverse = _svd_reverse
svd_p.batch = _batch_rule(svd_p)
svd_p.lower = _svd_lower


# ---------------------------------------------------------------------------------------------
# eig: general eigendecomposition A V = V diag(w), complex outputs


def _eig(a, *, eigvals_only):
    a = np.asarray(a)
    dt = np.result_type(a.dtype, np.complex64)
    if eigvals_only:
        return [np.linalg.eigvals(a).astype(dt, copy=False)]
    w, v = np.linalg.eig(a)
    return [w.astype(dt, copy=False), v.astype(dt, copy=False)]


def _eig_aval(a, *, eigvals_only):
    _square("eig", a)
    dt = _complex_dtype(a.dtype)
    w = ShapedArray(tuple(a.shape[:-1]), dt)
    return [w] if eigvals_only else [w, ShapedArray(a.shape, dt)]


def _pick(mask, x):
    """x[k_j, j] for each column j, where mask[..., i, j] is i == k_j."""
    return reduce_sum_p(select_p(mask, x, 0.0), axes=(x.ndim - 2,))


def _largest(v):
    """One-hot mask (..., n, n) of the largest-modulus entry of each column, and that
    entry's value (real: LAPACK makes it so)."""
    n = v.shape[-1]
    k = argmax_p(real_p(v * conj_p(v)), axis=v.ndim - 2)          # (..., n)
    mask = eq_p(_row(np.arange(n)), _col(k))                        # [i, j]: i == k_j
    return mask, real_p(_pick(mask, v))


def _eig_jvp(primals, tangents, *, eigvals_only):
    a, = primals
    t, = tangents
    w, v = eig_p(a, eigvals_only=False)
    out = [w] if eigvals_only else [w, v]
    if t is None:
        return out, None
    kk = _solve(v, _mm(t, v))                                        # V^-1 dA V
    dw = _diag(kk)
    if eigvals_only:
        return out, [dw]
    dv = _mm(v, _gap_inv(w) * kk)
    dv = dv - v * _col(real_p(_coldot(v, dv)))                     # keep unit norm
    mask, top = _largest(v)
    theta = imag_p(_pick(mask, dv)) / top
    return out, [dw, dv - 1j * v * _col(theta)]                     # keep v[k_j, j] real


def _eig_reverse(vals, params):
    a, = vals
    only = params["eigvals_only"]
    w, v = eig_p(a, eigvals_only=False)

    def bwd(cts):
        g = _diag_embed(cts[0])
        if not only:
            cv = cts[1]
            mask, top = _largest(v)
            phase = imag_p(_coldot(cv, v)) / top
            cv = cv + select_p(mask, 1j * _col(phase), 0.0)
            cv = cv - v * _col(real_p(_coldot(v, cv)))
            g = g + conj_p(_gap_inv(w)) * _mm(_H(v), cv)
        ca = _solve(v, _mm(g, _H(v)), trans=2)                       # V^-H G V^H
        return [ca if a.dtype.kind == "c" else real_p(ca)]

    return ([w] if only else [w, v]), bwd


eig_p = _prim("eig", _eig, _eig_aval, multiple_results=True)
eig_p.jvp = _eig_jvp
eig_p.reverse = _eig_reverse
eig_p.batch = _batch_rule(eig_p)


# ---------------------------------------------------------------------------------------------
# pinv: the Moore-Penrose pseudo-inverse (SVD with a relative cutoff)


def _pinv(a, *, rcond, hermitian):
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian)


def _pinv_aval(a, *, rcond, hermitian):
    if len(a.shape) < 2:
        raise ValueError(f"pinv: expected a stack of matrices, got shape {tuple(a.shape)}")
    if hermitian:
        _square("pinv(hermitian=True)", a)
    return ShapedArray(tuple(a.shape[:-2]) + (a.shape[-1], a.shape[-2]), a.dtype)


def _pinv_jvp(t, x, a, *, rcond, hermitian):
    # d(A+) = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X   (constant rank)
    if hermitian:
        t = _herm(t, True)
    th = _H(t)
    xth = _mm(_H(x), th)                                            # X^H dA^H
    t2 = _mm(x, xth - _mm(_mm(xth, a), x))
    tx = _mm(th, _H(x))                                             # dA^H X^H
    t3 = _mm(tx - _mm(x, _mm(a, tx)), x)
    return t2 + t3 - _mm(x, _mm(t, x))


def _pinv_vjp(ct, x, a, *, rcond, hermitian):
    xh, cth = _H(x), _H(ct)
    p1 = _mm(cth, _mm(x, xh))                                       # ct^H X X^H
    p1 = p1 - _mm(a, _mm(x, p1))                                    # (I - A X) ...
    p2 = _mm(_mm(xh, x), cth)                                       # X^H X ct^H
    p2 = p2 - _mm(_mm(p2, x), a)                                    # ... (I - X A)
    g = p1 + p2 - _mm(xh, _mm(ct, xh))
    return _herm_adjoint(g, True) if hermitian else g


pinv_p = _prim("pinv", _pinv, _pinv_aval)
pinv_p.jvp_rules = (_pinv_jvp,)
pinv_p.vjp_rules = (_pinv_vjp,)
pinv_p.batch = _batch_rule(pinv_p)
pinv_p.lower = lambda ins, p: (f"np.linalg.pinv({ins[0]}, rcond={p['rcond']!r}, "
                               f"hermitian={p['hermitian']!r})")


# ---------------------------------------------------------------------------------------------
# expm: the matrix exponential (scaling and squaring, SciPy); its Frechet derivative is the
# upper-right block of expm([[A, E], [0, A]]), so every order reuses this primitive.


def _expm(a):
    import scipy.linalg
    a = np.asarray(a)
    if a.size == 0:
        return np.array(a, copy=True)
    return scipy.linalg.expm(a)


def _same_square(name):
    def rule(a):
        _square(name, a)
        return ShapedArray(a.shape, a.dtype)
    return rule


def _block_frechet(prim, a, e):
    """Upper-right block of prim([[a, e], [0, a]]): the Frechet derivative of a primary
    matrix function at a in the direction e."""
    n = a.shape[-1]
    dt = np.result_type(a.dtype, e.dtype)
    z = np.zeros(tuple(a.shape), dt)
    top = concatenate_p(a, e, axis=a.ndim - 1)
    bottom = concatenate_p(z, a, axis=a.ndim - 1)
    big = prim(concatenate_p(top, bottom, axis=a.ndim - 2))
    return getitem_p(big, idx=(Ellipsis, ("s", None, n, None), ("s", n, None, None)))


expm_p = _prim("expm", _expm, _same_square("expm"))
expm_p.jvp_rules = (lambda t, ans, a: _block_frechet(expm_p, a, t),)
expm_p.vjp_rules = (lambda ct, ans, a: _block_frechet(expm_p, _H(a), ct),)
expm_p.batch = _batch_rule(expm_p)


# ---------------------------------------------------------------------------------------------
# sqrtm: the principal square root (Schur method, SciPy); X dX + dX X = dA is a Sylvester
# equation


def _sqrtm(a):
    import scipy.linalg
    a = np.asarray(a)
    if a.size == 0:
        return np.array(a, copy=True)
    x = scipy.linalg.sqrtm(a)
    if x.dtype.kind == "c" and a.dtype.kind != "c":
        raise ValueError("sqrtm: the principal square root of this real matrix is complex (it "
                         "has negative real eigenvalues); pass a complex matrix, e.g. "
                         "sqrtm(a.astype(complex))")
    return x.astype(a.dtype, copy=False)


sqrtm_p = _prim("sqrtm", _sqrtm, _same_square("sqrtm"))
sqrtm_p.jvp_rules = (lambda t, ans, a: sylvester_p(ans, ans, t),)
sqrtm_p.vjp_rules = (lambda ct, ans, a: sylvester_p(_H(ans), _H(ans), ct),)
sqrtm_p.batch = _batch_rule(sqrtm_p)


# ---------------------------------------------------------------------------------------------
# sylvester: X with A X + X B = Q (Bartels-Stewart, SciPy)


def _sylvester(a, b, q):
    import scipy.linalg
    a, b, q = np.asarray(a), np.asarray(b), np.asarray(q)
    dt = np.result_type(a.dtype, b.dtype, q.dtype, np.float32)
    if q.size == 0:
        return np.zeros(q.shape, dt)
    return scipy.linalg.solve_sylvester(a, b, q).astype(dt, copy=False)


def _sylvester_aval(a, b, q):
    _square("sylvester (a)", a)
    _square("sylvester (b)", b)
    want = tuple(a.shape[:-2]) + (a.shape[-1], b.shape[-1])
    if tuple(b.shape[:-2]) != tuple(a.shape[:-2]) or tuple(q.shape) != want:
        raise ValueError(f"sylvester: shapes a {tuple(a.shape)}, b {tuple(b.shape)}, q "
                         f"{tuple(q.shape)} do not fit A X + X B = Q (q must be {want})")
    return ShapedArray(q.shape, np.result_type(a.dtype, b.dtype, q.dtype, np.float32))


def _sylvester_jvp(primals, tangents):
    a, b, q = primals
    ta, tb, tq = tangents
    x = sylvester_p(a, b, q)
    rhs = tq
    if ta is not None:
        rhs = -_mm(ta, x) if rhs is None else rhs - _mm(ta, x)
    if tb is not None:
        rhs = -_mm(x, tb) if rhs is None else rhs - _mm(x, tb)
    if rhs is None:
        return x, None
    return x, sylvester_p(a, b, rhs)


def _sylvester_reverse(vals, params):
    a, b, q = vals
    x = sylvester_p(a, b, q)

    def bwd(ct):
        cq = sylvester_p(_H(a), _H(b), ct)
        return [-_mm(cq, _H(x)), -_mm(_H(x), cq), cq]

    return x, bwd


sylvester_p = _prim("sylvester", _sylvester, _sylvester_aval)
sylvester_p.jvp = _sylvester_jvp
sylvester_p.reverse = _sylvester_reverse
sylvester_p.batch = _batch_rule(sylvester_p)
