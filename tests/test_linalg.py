"""Linear algebra: the primitive table of chainrule.prims.linalg, and every public function of
chainrule.numpy.linalg and chainrule.scipy.linalg.

1. ALL_ROWS: each primitive (and the interesting parameter combinations) through the shared
   table tests (values vs NumPy/SciPy in float64 and float32, shape rule, check_grads order
   2 fwd+rev, zero derivatives, vmap vs a loop for several in_axes, vmap(grad), jit).
2. CASES: each public function on well-conditioned inputs (real, complex, stacked): value vs
   NumPy/SciPy, check_grads order 2 fwd+rev (of a gauge-invariant function of the outputs
   where eigen/singular vectors or Q are involved), vmap vs a loop, jit vs eager, and plain
   NumPy code on traced values (np.linalg.* dispatches to chainrule).
3. Degenerate and error cases: repeated eigenvalues and singular values, norm at 0,
   singular matrices, unsupported modes.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.linalg as csl
from chainrule.prims import linalg as PL
from chainrule.test_util import check_grads
from primtable import Row, coverage_test, normal, cplx, args_of
from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401  (table tests)
                       test_zero_derivative, test_vmap, test_vmap_grad, test_jit)

la = cnp.linalg


# --- domains ------------------------------------------------------------------------------------


def spd(n=4, complex_=False):
    """Hermitian positive-definite matrices A A^H + n I (well conditioned)."""
    def make(rng):
        a = rng.standard_normal((n, n))
        if complex_:
            a = a + 1j * rng.standard_normal((n, n))
        return a @ a.conj().T + n * np.eye(n)
    return make


def tri(n=4, lower=True, complex_=False):
    """Triangular-dominant matrices (the other triangle holds noise that must be ignored)."""
    def make(rng):
        a = rng.standard_normal((n, n))
        if complex_:
            a = a + 1j * rng.standard_normal((n, n))
        return a + 3 * np.eye(n) * np.sign(rng.standard_normal(n) + 0.1)
    return make


def gen(n=4, complex_=False):
    """Generic square matrices, comfortably invertible."""
    def make(rng):
        a = rng.standard_normal((n, n)) + 2.5 * np.eye(n)
        if complex_:
            a = a + 1j * rng.standard_normal((n, n))
        return a
    return make


def real_spectrum(n=4):
    """Non-symmetric real matrices with well separated real eigenvalues."""
    def make(rng):
        return np.diag(1.5 * np.arange(1, n + 1)) + 0.2 * rng.standard_normal((n, n))
    return make


def complex_pairs(rng):
    """A real matrix with a complex-conjugate eigenvalue pair and two real eigenvalues."""
    a = np.array([[0.1, -2.0, 0.3, 0.1], [1.5, 0.2, 0.1, 0.0],
                  [0.2, 0.1, 3.0, 0.5], [0.1, 0.3, -0.4, 4.5]])
    return a + 0.05 * rng.standard_normal((4, 4))


def piv(n=5):
    return lambda rng: np.array([rng.integers(i, n) for i in range(n)], np.int32)


# --- references ---------------------------------------------------------------------------------


def ref_perm(p):
    perm = list(range(len(p)))
    for i, j in enumerate(p):
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, np.int32)


def ref_lu(a):
    lu, p = sl.lu_factor(a)
    return [lu, p.astype(np.int32), ref_perm(p)]


def ref_eig(a):
    w, v = np.linalg.eig(a)
    dt = np.result_type(a.dtype, np.complex64)
    return [w.astype(dt), v.astype(dt)]


def ref_trisolve(lower, trans, unit):
    return lambda a, b: sl.solve_triangular(a, b, trans=trans, lower=lower,
                                            unit_diagonal=unit)


def ref_sylvester(a, b, q):
    return sl.solve_sylvester(a, b, q).astype(np.result_type(a, b, q))


# --- 1. the primitive table -----------------------------------------------------------------------

F32 = {"float32": dict(rtol=2e-4, atol=2e-5)}


def _tri_row(lower, trans, unit, check=False, complex_=False, case=""):
    return Row(PL.triangular_solve_p,
               args_of(tri(4, lower, complex_), cplx((4, 3)) if complex_ else normal((4, 3))),
               ref_trisolve(lower, trans, unit),
               dict(lower=lower, trans=trans, unit_diagonal=unit, check=check), diff=(0, 1),
               case=case, value_tol=F32)


ALL_ROWS = [
    Row(PL.cholesky_p, args_of(spd()), np.linalg.cholesky, diff=(0,), value_tol=F32),
    Row(PL.cholesky_p, args_of(spd(3, True)), np.linalg.cholesky, diff=(0,), case="complex",
        value_tol=F32),
    _tri_row(True, 0, False, check=True),
    _tri_row(False, 1, True, case="upper-T-unit"),
    _tri_row(True, 2, False, complex_=True, case="complex-C"),
    _tri_row(False, 0, False, complex_=True, case="complex-upper"),
    Row(PL.lu_p, args_of(normal((4, 4))), ref_lu, diff=(0,), value_tol=F32),
    Row(PL.lu_p, args_of(cplx((3, 3))), ref_lu, diff=(0,), case="complex", value_tol=F32),
    Row(PL.lu_pivots_to_permutation_p, args_of(piv()), ref_perm),
    Row(PL.det_p, args_of(normal((4, 4))), np.linalg.det, diff=(0,), value_tol=F32),
    Row(PL.det_p, args_of(cplx((3, 3))), np.linalg.det, diff=(0,), case="complex",
        value_tol=F32),
    Row(PL.qr_p, args_of(normal((5, 3))), lambda a: list(np.linalg.qr(a)),
        dict(mode="reduced"), diff=(0,), value_tol=F32),
    Row(PL.qr_p, args_of(normal((3, 5))), lambda a: list(np.linalg.qr(a)),
        dict(mode="reduced"), diff=(0,), case="wide", value_tol=F32),
    Row(PL.qr_p, args_of(normal((4, 4))), lambda a: list(np.linalg.qr(a, "complete")),
        dict(mode="complete"), diff=(0,), case="complete", value_tol=F32),
    Row(PL.qr_p, args_of(normal((5, 3))), lambda a: [np.linalg.qr(a, "r")],
        dict(mode="r"), diff=(0,), case="r", value_tol=F32),
    Row(PL.eigh_p, args_of(normal((4, 4))), lambda a: list(np.linalg.eigh(a)),
        dict(lower=True, eigvals_only=False), diff=(0,), value_tol=F32),
    Row(PL.eigh_p, args_of(normal((4, 4))), lambda a: [np.linalg.eigvalsh(a, "U")],
        dict(lower=False, eigvals_only=True), diff=(0,), case="values-upper", value_tol=F32),
    Row(PL.svd_p, args_of(normal((5, 3))),
        lambda a: list(np.linalg.svd(a, full_matrices=False)),
        dict(full_matrices=False, compute_uv=True), diff=(0,), value_tol=F32),
    Row(PL.svd_p, args_of(normal((4, 4))), lambda a: list(np.linalg.svd(a)),
        dict(full_matrices=True, compute_uv=True), diff=(0,), case="full-square",
        value_tol=F32),
    Row(PL.svd_p, args_of(normal((3, 5))), lambda a: [np.linalg.svd(a, compute_uv=False)],
        dict(full_matrices=False, compute_uv=False), diff=(0,), case="values",
        value_tol=F32),
    Row(PL.eig_p, args_of(real_spectrum()), ref_eig, dict(eigvals_only=False), diff=(0,),
        value_tol=F32),
    Row(PL.eig_p, args_of(lambda rng: real_spectrum()(rng) + 0.3j * rng.standard_normal(
        (4, 4))), ref_eig, dict(eigvals_only=False), diff=(0,), case="complex",
        value_tol=F32),
    Row(PL.eig_p, args_of(complex_pairs), ref_eig, dict(eigvals_only=False), diff=(0,),
        case="complex-pairs", value_tol=F32),
    Row(PL.eig_p, args_of(normal((4, 4))), lambda a: ref_eig(a)[:1],
        dict(eigvals_only=True), diff=(0,), case="values", value_tol=F32),
    Row(PL.pinv_p, args_of(normal((5, 3))), lambda a: np.linalg.pinv(a, rcond=1e-15),
        dict(rcond=1e-15, hermitian=False), diff=(0,), value_tol=F32),
    Row(PL.pinv_p, args_of(spd()), lambda a: np.linalg.pinv(a, 1e-15, hermitian=True),
        dict(rcond=1e-15, hermitian=True), diff=(0,), case="hermitian", value_tol=F32),
    Row(PL.expm_p, args_of(lambda rng: 0.5 * rng.standard_normal((4, 4))), sl.expm,
        diff=(0,), value_tol=F32),
    Row(PL.expm_p, args_of(lambda rng: 0.4 * cplx((3, 3))(rng)), sl.expm, diff=(0,),
        case="complex", value_tol=F32),
    Row(PL.sqrtm_p, args_of(lambda rng: spd()(rng) + 0.5 * rng.standard_normal((4, 4))),
        sl.sqrtm, diff=(0,), value_tol={"float32": dict(rtol=2e-3, atol=2e-4)}),
    Row(PL.sylvester_p, args_of(spd(3), spd(2), normal((3, 2))), ref_sylvester,
        diff=(0, 1, 2), value_tol=F32),
]

test_coverage = coverage_test(ALL_ROWS, module="chainrule.prims.linalg")


# --- 2. public functions --------------------------------------------------------------------------


def _H(x):
    return cnp.conj(cnp.swapaxes(x, -1, -2))


def eigh_inv(out):
    """Gauge-invariant content of (w, V): w, |V|^2 and V diag(w) V^H."""
    w, v = out
    return w, cnp.abs(v) ** 2, cnp.matmul(v * w[..., None, :], _H(v))


def svd_inv(out):
    u, s, vh = out
    k = s.shape[-1]
    u1, vh1 = u[..., :, :k], vh[..., :k, :]
    res = [s, cnp.abs(u1) ** 2, cnp.abs(vh1) ** 2, cnp.matmul(u1 * s[..., None, :], vh1)]
    if u.shape[-1] > k:
        u2 = u[..., :, k:]
        res.append(cnp.matmul(u2, _H(u2)))
    if vh.shape[-2] > k:
        vh2 = vh[..., k:, :]
        res.append(cnp.matmul(_H(vh2), vh2))
    return res


def qr_inv(out):
    q, r = out
    k = min(q.shape[-2], r.shape[-1])
    res = [r, q[..., :, :k]]
    if q.shape[-1] > k:
        q2 = q[..., :, k:]
        res.append(cnp.matmul(q2, _H(q2)))
    return res


def tuple_of(out):
    return tuple(out) if isinstance(out, (tuple, list)) else out


class Case:
    """One public function on example arguments.

    fn(ns, *args): the call written once for a namespace (ns.linalg is numpy.linalg or
    chainrule.numpy.linalg; scipy.linalg or chainrule.scipy.linalg for scipy cases).
    post(out): a gauge-invariant function of chainrule's output, for derivative checks.
    """

    def __init__(self, name, fn, make, diff=None, post=None, scipy=False, grad=True,
                 vmap=True, tol=None, complex_out=False):
        self.name, self.fn, self.make = name, fn, make
        self.complex_out = complex_out   # always complex, where NumPy may return real
        self.diff, self.post, self.scipy = diff, post, scipy
        self.grad, self.vmap, self.tol = grad, vmap, tol or {}

    def args(self, seed=0):
        return tuple(self.make(np.random.default_rng(seed)))

    def ours(self, *args):
        return self.fn(_OURS_SP if self.scipy else _OURS_NP, *args)

    def ref(self, *args):
        return self.fn(_REF_SP if self.scipy else np, *args)


class _NS:
    def __init__(self, linalg):
        self.linalg = linalg


_OURS_NP, _OURS_SP, _REF_SP = cnp, _NS(csl), _NS(sl)


def A(n=4, c=False):
    return gen(n, c)


def mk(*makers):
    return lambda rng: tuple(m(rng) for m in makers)


CASES = [
    Case("solve", lambda m, a, b: m.linalg.solve(a, b), mk(A(), normal((4, 2)))),
    Case("solve-vector", lambda m, a, b: m.linalg.solve(a, b), mk(A(), normal((4,)))),
    Case("solve-stacked", lambda m, a, b: m.linalg.solve(a, b),
         mk(lambda r: np.stack([A()(r), A()(r)]), normal((4,)))),
    Case("solve-bcast", lambda m, a, b: m.linalg.solve(a, b),
         mk(A(), normal((2, 4, 3)))),
    Case("solve-complex", lambda m, a, b: m.linalg.solve(a, b), mk(A(3, True), cplx((3, 2)))),
    Case("inv", lambda m, a: m.linalg.inv(a), mk(A())),
    Case("inv-complex-stacked", lambda m, a: m.linalg.inv(a),
         mk(lambda r: np.stack([A(3, True)(r), A(3, True)(r)]))),
    Case("det", lambda m, a: m.linalg.det(a), mk(normal((4, 4)))),
    Case("det-complex-stacked", lambda m, a: m.linalg.det(a), mk(cplx((2, 3, 3)))),
    Case("slogdet", lambda m, a: tuple(m.linalg.slogdet(a)), mk(normal((4, 4)))),
    Case("slogdet-complex", lambda m, a: tuple(m.linalg.slogdet(a)), mk(cplx((3, 3)))),
    Case("cholesky", lambda m, a: m.linalg.cholesky(a), mk(spd())),
    Case("cholesky-upper-complex", lambda m, a: m.linalg.cholesky(a, upper=True),
         mk(spd(3, True))),
    Case("eigh", lambda m, a: tuple(m.linalg.eigh(a)), mk(normal((4, 4)))),
    Case("eigh-U-complex", lambda m, a: tuple(m.linalg.eigh(a, "U")), mk(spd(3, True)),
         post=eigh_inv),
    Case("eigvalsh", lambda m, a: m.linalg.eigvalsh(a), mk(normal((2, 4, 4)))),
    Case("eig", lambda m, a: tuple(m.linalg.eig(a)), mk(real_spectrum()),
         complex_out=True),
    Case("eig-complex", lambda m, a: tuple(m.linalg.eig(a)),
         mk(lambda r: real_spectrum()(r) + 0.3j * r.standard_normal((4, 4)))),
    Case("eigvals", lambda m, a: m.linalg.eigvals(a), mk(complex_pairs), complex_out=True),
    Case("svd", lambda m, a: tuple(m.linalg.svd(a, full_matrices=False)), mk(normal((5, 3)))),
    Case("svd-full-tall", lambda m, a: tuple(m.linalg.svd(a)), mk(normal((5, 3))),
         post=svd_inv),
    Case("svd-full-wide-complex", lambda m, a: tuple(m.linalg.svd(a)), mk(cplx((3, 4))),
         post=svd_inv),
    Case("svd-values", lambda m, a: m.linalg.svd(a, compute_uv=False), mk(normal((2, 3, 5)))),
    Case("svd-hermitian", lambda m, a: tuple(m.linalg.svd(a, hermitian=True)),
         mk(lambda r: spd()(r) - 6 * np.eye(4)), post=svd_inv),
    Case("svdvals", lambda m, a: m.linalg.svdvals(a), mk(cplx((4, 3)))),
    Case("qr", lambda m, a: tuple(m.linalg.qr(a)), mk(normal((5, 3)))),
    Case("qr-complete-tall", lambda m, a: tuple(m.linalg.qr(a, "complete")),
         mk(normal((5, 3))), post=qr_inv),
    Case("qr-complex-wide", lambda m, a: tuple(m.linalg.qr(a)), mk(cplx((3, 4))),
         post=lambda o: (cnp.abs(o[0]) ** 2, cnp.matmul(o[0], o[1]))),
    Case("qr-r", lambda m, a: m.linalg.qr(a, "r"), mk(normal((2, 4, 3)))),
    Case("lstsq", lambda m, a, b: m.linalg.lstsq(a, b), mk(normal((6, 3)), normal((6, 2)))),
    Case("lstsq-vector-wide", lambda m, a, b: m.linalg.lstsq(a, b),
         mk(normal((3, 5)), normal((3,))), vmap=False),
    Case("pinv", lambda m, a: m.linalg.pinv(a), mk(normal((2, 5, 3)))),
    Case("pinv-hermitian", lambda m, a: m.linalg.pinv(a, hermitian=True), mk(spd())),
    Case("matrix_power-3", lambda m, a: m.linalg.matrix_power(a, 3), mk(normal((4, 4)))),
    Case("matrix_power-neg", lambda m, a: m.linalg.matrix_power(a, -2), mk(A())),
    Case("matrix_power-0", lambda m, a: m.linalg.matrix_power(a, 0), mk(normal((4, 4))),
         grad=False),
    Case("matrix_rank", lambda m, a: m.linalg.matrix_rank(a),
         mk(lambda r: normal((5, 2))(r) @ normal((2, 4))(r)), grad=False),
    Case("cond", lambda m, a: m.linalg.cond(a), mk(normal((4, 4)))),
    Case("cond-fro", lambda m, a: m.linalg.cond(a, "fro"), mk(A())),
    Case("cond-1", lambda m, a: m.linalg.cond(a, 1), mk(A())),
    Case("norm", lambda m, x: m.linalg.norm(x), mk(normal((3, 4)))),
    Case("norm-complex", lambda m, x: m.linalg.norm(x), mk(cplx((3, 4)))),
    Case("norm-vec-3", lambda m, x: m.linalg.norm(x, 3, axis=1), mk(normal((3, 4)))),
    Case("norm-vec-inf", lambda m, x: m.linalg.norm(x, np.inf, axis=0, keepdims=True),
         mk(normal((3, 4)))),
    Case("norm-vec-1", lambda m, x: m.linalg.norm(x, 1, axis=-1), mk(cplx((3, 4)))),
    Case("norm-vec-0.5", lambda m, x: m.linalg.norm(x, 0.5, axis=-1), mk(normal((3, 4)))),
    Case("norm-vec-neg1", lambda m, x: m.linalg.norm(x, -1, axis=-1), mk(normal((3, 4)))),
    Case("norm-vec-0", lambda m, x: m.linalg.norm(x, 0, axis=-1), mk(normal((3, 4))),
         grad=False),
    Case("norm-fro", lambda m, x: m.linalg.norm(x, "fro", axis=(0, 2)), mk(normal((3, 2, 4)))),
    Case("norm-nuc", lambda m, x: m.linalg.norm(x, "nuc"), mk(normal((3, 4)))),
    Case("norm-2", lambda m, x: m.linalg.norm(x, 2, axis=(2, 1), keepdims=True),
         mk(normal((2, 3, 4)))),
    Case("norm--2", lambda m, x: m.linalg.norm(x, -2), mk(cplx((3, 3)))),
    Case("norm-mat-1", lambda m, x: m.linalg.norm(x, 1), mk(normal((3, 4)))),
    Case("norm-mat-inf", lambda m, x: m.linalg.norm(x, -np.inf, axis=(1, 0)),
         mk(normal((3, 4)))),
    Case("vector_norm", lambda m, x: m.linalg.vector_norm(x, axis=(0, 2), keepdims=True),
         mk(normal((3, 2, 4)))),
    Case("matrix_norm", lambda m, x: m.linalg.matrix_norm(x, ord=2), mk(normal((2, 3, 4)))),
    Case("multi_dot", lambda m, a, b, c, d: m.linalg.multi_dot([a, b, c, d]),
         mk(normal((5,)), normal((5, 2)), normal((2, 6)), normal((6, 3)))),
    Case("multi_dot-3", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]),
         mk(normal((4, 2)), normal((2, 6)), normal((6,)))),
    Case("tensorsolve", lambda m, a, b: m.linalg.tensorsolve(a, b),
         mk(lambda r: (np.eye(6) * 3 + r.standard_normal((6, 6))).reshape(2, 3, 6),
            normal((2, 3)))),
    Case("tensorinv", lambda m, a: m.linalg.tensorinv(a, ind=1),
         mk(lambda r: (np.eye(4) * 3 + r.standard_normal((4, 4))).reshape(4, 2, 2))),
    Case("matmul", lambda m, a, b: m.linalg.matmul(a, b), mk(normal((2, 3)), normal((3,)))),
    Case("tensordot", lambda m, a, b: m.linalg.tensordot(a, b, axes=1),
         mk(normal((2, 3)), normal((3, 2)))),
    Case("vecdot", lambda m, a, b: m.linalg.vecdot(a, b), mk(cplx((2, 3)), cplx((3,)))),
    Case("outer", lambda m, a, b: m.linalg.outer(a, b), mk(normal((3,)), normal((2,)))),
    Case("cross", lambda m, a, b: m.linalg.cross(a, b, axis=0),
         mk(normal((3, 2)), normal((3, 2)))),
    Case("matrix_transpose", lambda m, a: m.linalg.matrix_transpose(a), mk(normal((2, 3, 4)))),
    Case("diagonal", lambda m, a: m.linalg.diagonal(a, offset=1), mk(normal((2, 3, 4)))),
    Case("trace", lambda m, a: m.linalg.trace(a), mk(normal((2, 3, 3)))),
    # SciPy
    Case("sp.cholesky", lambda m, a: m.linalg.cholesky(a), mk(spd()), scipy=True),
    Case("sp.cholesky-lower-complex", lambda m, a: m.linalg.cholesky(a, lower=True),
         mk(spd(3, True)), scipy=True),
    Case("sp.cho_solve", lambda m, a, b: m.linalg.cho_solve(m.linalg.cho_factor(a), b),
         mk(spd(), normal((4, 2))), scipy=True),
    Case("sp.cho_solve-lower-vec", lambda m, a, b: m.linalg.cho_solve(
        m.linalg.cho_factor(a, lower=True), b), mk(spd(3, True), cplx((3,))), scipy=True),
    Case("sp.cho_factor", lambda m, a: m.linalg.cho_factor(a)[0], mk(spd()), scipy=True),
    Case("sp.solve_triangular", lambda m, a, b: m.linalg.solve_triangular(a, b),
         mk(tri(4, False), normal((4, 2))), scipy=True),
    Case("sp.solve_triangular-lower-T-unit", lambda m, a, b: m.linalg.solve_triangular(
        a, b, trans="T", lower=True, unit_diagonal=True), mk(tri(), normal((4,))), scipy=True),
    Case("sp.solve_triangular-C-complex", lambda m, a, b: m.linalg.solve_triangular(
        a, b, trans=2), mk(tri(3, False, True), cplx((3, 2))), scipy=True),
    Case("sp.lu_factor", lambda m, a: tuple(m.linalg.lu_factor(a)), mk(normal((4, 4))),
         scipy=True),
    Case("sp.lu_solve", lambda m, a, b: m.linalg.lu_solve(m.linalg.lu_factor(a), b),
         mk(normal((4, 4)), normal((4, 2))), scipy=True),
    Case("sp.lu_solve-T", lambda m, a, b: m.linalg.lu_solve(m.linalg.lu_factor(a), b, 1),
         mk(normal((4, 4)), normal((4,))), scipy=True),
    Case("sp.lu_solve-C-complex", lambda m, a, b: m.linalg.lu_solve(
        m.linalg.lu_factor(a), b, trans=2), mk(cplx((3, 3)), cplx((3, 2))), scipy=True),
    Case("sp.expm", lambda m, a: m.linalg.expm(a),
         mk(lambda r: 0.5 * r.standard_normal((4, 4))), scipy=True),
    Case("sp.expm-complex-stacked", lambda m, a: m.linalg.expm(a),
         mk(lambda r: 0.4 * cplx((2, 3, 3))(r)), scipy=True),
    Case("sp.sqrtm", lambda m, a: m.linalg.sqrtm(a),
         mk(lambda r: spd()(r) + 0.5 * r.standard_normal((4, 4))), scipy=True),
    Case("sp.sqrtm-complex", lambda m, a: m.linalg.sqrtm(a), mk(spd(3, True)), scipy=True),
    Case("sp.block_diag", lambda m, a, b, c: m.linalg.block_diag(a, b, c),
         mk(normal((2, 2)), normal((3,)), normal((1, 3))), scipy=True),
    # SciPy's default driver (syevr) may flip an eigenvector's sign under a tiny
    # perturbation, so derivatives are checked on gauge-invariant functions
    Case("sp.eigh", lambda m, a: m.linalg.eigh(a), mk(normal((4, 4))), scipy=True,
         post=eigh_inv),
    Case("sp.eigh-values-upper", lambda m, a: m.linalg.eigh(a, lower=False,
                                                             eigvals_only=True),
         mk(normal((4, 4))), scipy=True),
    Case("sp.eigh-generalized", lambda m, a, b: m.linalg.eigh(a, b), mk(normal((4, 4)), spd()),
         scipy=True),
    Case("sp.eigh-generalized-type2-upper", lambda m, a, b: m.linalg.eigh(
        a, b, type=2, lower=False), mk(normal((3, 3)), spd(3)), scipy=True),
    Case("sp.eigh-generalized-type3-complex", lambda m, a, b: m.linalg.eigh(
        a, b, type=3), mk(spd(3, True), spd(3, True)), scipy=True, post=eigh_inv),
    Case("sp.eigh-subset", lambda m, a: m.linalg.eigh(a, subset_by_index=(1, 2)),
         mk(normal((4, 4))), scipy=True, post=eigh_inv),
    Case("sp.solve_sylvester", lambda m, a, b, q: m.linalg.solve_sylvester(a, b, q),
         mk(spd(3), spd(2), normal((3, 2))), scipy=True),
    Case("sp.solve", lambda m, a, b: m.linalg.solve(a, b), mk(A(), normal((4, 2))), scipy=True),
    Case("sp.solve-pos-lower", lambda m, a, b: m.linalg.solve(a, b, lower=True, assume_a="pos"),
         mk(spd(), normal((4,))), scipy=True),
    Case("sp.solve-sym", lambda m, a, b: m.linalg.solve(a, b, assume_a="sym"),
         mk(lambda r: spd()(r) + np.tril(normal((4, 4))(r), -1), normal((4, 2))), scipy=True),
    Case("sp.solve-her-complex", lambda m, a, b: m.linalg.solve(a, b, assume_a="her",
                                                                 lower=True),
         mk(lambda r: spd(3, True)(r) + np.triu(cplx((3, 3))(r)), cplx((3, 2))), scipy=True),
    Case("sp.solve-upper-triangular", lambda m, a, b: m.linalg.solve(
        a, b, assume_a="upper triangular"), mk(tri(4, False), normal((4,))), scipy=True),
    Case("sp.solve-diagonal", lambda m, a, b: m.linalg.solve(a, b, assume_a="diagonal"),
         mk(tri(), normal((4, 2))), scipy=True),
    Case("sp.solve-transposed", lambda m, a, b: m.linalg.solve(a, b, transposed=True),
         mk(A(), normal((4, 2))), scipy=True),
    Case("sp.lu", lambda m, a: m.linalg.lu(a), mk(normal((4, 4))), scipy=True),
    Case("sp.lu-permute_l", lambda m, a: m.linalg.lu(a, permute_l=True), mk(cplx((3, 3))),
         scipy=True),
    Case("sp.lu-p_indices", lambda m, a: m.linalg.lu(a, p_indices=True), mk(normal((4, 4))),
         scipy=True),
    Case("sp.svd", lambda m, a: m.linalg.svd(a), mk(normal((4, 3))), scipy=True,
         post=svd_inv),
    Case("sp.svdvals", lambda m, a: m.linalg.svdvals(a), mk(normal((3, 4))), scipy=True),
    Case("sp.eigvalsh-generalized", lambda m, a, b: m.linalg.eigvalsh(a, b),
         mk(normal((4, 4)), spd()), scipy=True),
    Case("sp.norm", lambda m, a: m.linalg.norm(a, "nuc"), mk(normal((3, 4))), scipy=True),
    Case("sp.expm_frechet", lambda m, a, e: m.linalg.expm_frechet(a, e),
         mk(lambda r: 0.5 * r.standard_normal((3, 3)), normal((3, 3))), scipy=True),
    Case("sp.inv", lambda m, a: m.linalg.inv(a), mk(A()), scipy=True),
    Case("sp.det", lambda m, a: m.linalg.det(a), mk(normal((3, 3))), scipy=True),
]

_IDS = [c.name for c in CASES]


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [y for o in out for y in _leaves(o)]
    return [out]


def _same(got, want, rtol=1e-9, atol=1e-11, what=""):
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w), f"{what}: {len(g)} outputs, expected {len(w)}"
    for x, y in zip(g, w):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, f"{what}: shape {x.shape} != {y.shape}"
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=what)


def _dtype_ok(got, want, case):
    for x, y in zip(_leaves(got), _leaves(want)):
        x, y = np.asarray(x), np.asarray(y)
        if case.complex_out and y.dtype.kind == "f":
            assert x.dtype == np.result_type(y.dtype, np.complex64)   # always complex
        elif x.dtype.kind in "fc":
            assert x.dtype == y.dtype, f"{case.name}: dtype {x.dtype}, reference {y.dtype}"


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_case_value(case):
    args = case.args()
    got, want = case.ours(*args), case.ref(*args)
    _same(got, want, **case.tol, what=case.name)
    _dtype_ok(got, want, case)
    for x in _leaves(got):
        assert isinstance(x, (np.ndarray, np.generic, int, bool)), type(x)


def _float_positions(args):
    return tuple(i for i, a in enumerate(args) if np.asarray(a).dtype.kind in "fc")


def _diff_fn(case, args):
    pos = case.diff if case.diff is not None else _float_positions(args)

    def f(*vals):
        full = list(args)
        for p, v in zip(pos, vals):
            full[p] = v
        out = case.ours(*full)
        if case.post is not None:
            out = case.post(out)
        return [o for o in _leaves(out) if np.dtype(o.dtype).kind in "fc"]
    return f, [args[p] for p in pos]


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.name for c in CASES
                                                                    if c.grad])
def test_case_grads(case):
    f, primals = _diff_fn(case, case.args())
    check_grads(f, primals, order=2, modes=("fwd", "rev"))


B = 3


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("case", [c for c in CASES if c.vmap], ids=[c.name for c in CASES
                                                                    if c.vmap])
def test_case_vmap(case):
    examples = [case.args(s) for s in range(B)]
    stacked = [np.stack(xs) for xs in zip(*examples)]
    got = cr.vmap(lambda *a: case.ours(*a))(*stacked)
    want = [case.ours(*e) for e in examples]
    g = _leaves(got)
    for k, gk in enumerate(g):
        _same(gk, np.stack([np.asarray(_leaves(w)[k]) for w in want]), what=f"vmap {case.name}")


@pytest.mark.usefixtures("no_loop_fallback")
@pytest.mark.parametrize("case", [c for c in CASES if c.vmap and c.grad],
                         ids=[c.name for c in CASES if c.vmap and c.grad])
def test_case_vmap_grad(case):
    examples = [case.args(s) for s in range(B)]
    f0, p0 = _diff_fn(case, examples[0])
    rng = np.random.default_rng(5)
    weights = [rng.standard_normal(np.shape(o)) for o in f0(*p0)]
    pos = case.diff if case.diff is not None else _float_positions(examples[0])

    def g(*args):
        def scalar(*vals):
            full = list(args)
            for p, v in zip(pos, vals):
                full[p] = v
            out = case.ours(*full)
            if case.post is not None:
                out = case.post(out)
            outs = [o for o in _leaves(out) if np.dtype(o.dtype).kind in "fc"]
            return sum(cnp.sum(cnp.real(o * w)) for o, w in zip(outs, weights))
        return cr.grad(scalar, argnums=tuple(range(len(pos))))(*[args[p] for p in pos])

    stacked = [np.stack(xs) for xs in zip(*examples)]
    got = cr.vmap(g)(*stacked)
    want = [g(*e) for e in examples]
    for k in range(len(pos)):
        _same(got[k], np.stack([w[k] for w in want]), rtol=1e-8, atol=1e-10,
              what=f"vmap(grad) {case.name}")


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_case_jit(case):
    args = case.args()
    _same(cr.jit(lambda *a: case.ours(*a))(*args), case.ours(*args), what=f"jit {case.name}")


_NP_CASES = [c for c in CASES if not c.scipy]


@pytest.mark.parametrize("case", _NP_CASES, ids=[c.name for c in _NP_CASES])
def test_plain_numpy_dispatch(case):
    """The same call written against numpy works on traced values (under jit it gives
    NumPy's value; under grad it differentiates like chainrule's)."""
    args = case.args()
    want = case.ref(*args)
    got = cr.jit(lambda *a: case.fn(np, *a))(*args)
    _same(got, want, rtol=1e-8, atol=1e-10, what=f"np dispatch {case.name}")


def test_grad_of_plain_numpy_det():
    a = gen()(np.random.default_rng(0))
    g = cr.grad(lambda x: np.linalg.det(x))(a)
    np.testing.assert_allclose(g, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-10)
    h = cr.grad(lambda x: np.sum(np.linalg.solve(x, np.ones(4)) ** 2))(a)
    x = np.linalg.solve(a, np.ones(4))
    np.testing.assert_allclose(h, -2 * np.outer(np.linalg.solve(a.T, x), x), rtol=1e-10)


# --- 3. specific properties ----------------------------------------------------------------------


def test_derivatives_match_closed_forms():
    rng = np.random.default_rng(1)
    a = gen()(rng)
    t = rng.standard_normal((4, 4))
    ai = np.linalg.inv(a)
    _, dinv = cr.jvp(la.inv, (a,), (t,))
    np.testing.assert_allclose(dinv, -ai @ t @ ai, rtol=1e-10, atol=1e-12)
    _, dld = cr.jvp(lambda x: la.slogdet(x)[1], (a,), (t,))
    np.testing.assert_allclose(dld, np.trace(ai @ t), rtol=1e-10)
    s = spd()(rng)
    w, v = np.linalg.eigh(s)
    ts = t + t.T
    _, dw = cr.jvp(la.eigvalsh, (s,), (ts,))
    np.testing.assert_allclose(dw, np.diag(v.T @ ts @ v), rtol=1e-10)
    e = 0.3 * rng.standard_normal((4, 4))
    _, dexp = cr.jvp(csl.expm, (e,), (t,))
    fd = (sl.expm(e + 1e-6 * t) - sl.expm(e - 1e-6 * t)) / 2e-6
    np.testing.assert_allclose(dexp, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dexp, sl.expm_frechet(e, t, compute_expm=False), rtol=1e-9)


def test_factorization_reused_in_derivatives():
    """grad(det), grad(solve) and grad(slogdet) each run one LU factorization: their rules
    solve with the stored factors."""
    a = gen()(np.random.default_rng(2))
    calls = []
    impl = PL.lu_p.impl
    try:
        PL.lu_p.impl = lambda x: calls.append(1) or impl(x)
        cr.grad(la.det)(a)
        assert len(calls) == 1
        calls.clear()
        cr.grad(lambda x: cnp.sum(la.solve(x, np.ones((4, 2)))))(a)
        assert len(calls) == 1
        calls.clear()
        cr.jvp(lambda x: la.slogdet(x)[1], (a,), (a,))
        assert len(calls) == 1
    finally:
        PL.lu_p.impl = impl


def _adjugate(a):
    n = a.shape[0]
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                     for j in range(n)] for i in range(n)])
    return cof.T


@pytest.mark.parametrize("a", [np.ones((3, 3)), np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]),
                               np.array([[0.0, 1], [0, 1]]), np.diag([1.0, 0, 2, 3]),
                               np.diag([0.0, 0, 2])], ids=["rank1", "rank2", "zero-pivot",
                                                           "diag", "rank1-diag"])
def test_det_gradient_at_singular_matrices_is_the_adjugate(a):
    want = _adjugate(a).T
    np.testing.assert_allclose(cr.grad(la.det)(a), want, atol=1e-12)
    t = np.random.default_rng(0).standard_normal(a.shape)
    np.testing.assert_allclose(cr.jvp(la.det, (a,), (t,))[1], np.sum(want * t), atol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(la.det))(a), want, atol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(la.det))(np.stack([a, a])), [want, want],
                               atol=1e-12)
    check_grads(la.det, (a,), order=1)


def test_repeated_eigenvalues():
    """At exactly repeated eigenvalues, derivatives of functions of the eigenvalues are
    finite and equal the closed forms (grad sum(w) = I, grad sum(w^2) = 2 A)."""
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((4, 4)))
    cases = [np.eye(4), q @ np.diag([1.0, 1.0, 1.0, 3.0]) @ q.T,
             np.diag([2.0, 2.0, -1.0, -1.0])]
    for a in cases:
        a = (a + a.T) / 2
        g = cr.grad(lambda x: cnp.sum(la.eigvalsh(x)))(a)
        np.testing.assert_allclose(g, np.eye(4), atol=1e-12)
        g2 = cr.grad(lambda x: cnp.sum(la.eigh(x)[0] ** 2))(a)
        # the function reads the lower triangle: d/dA of ||tril-symmetrized A||_F^2
        want = 2 * a * (np.tri(4) + np.tri(4, k=-1))
        np.testing.assert_allclose(g2, want, atol=1e-10)
        _, t = cr.jvp(lambda x: la.eigh(x), (a,), (np.ones((4, 4)),))
        assert all(np.isfinite(np.asarray(x)).all() for x in t)
        assert np.isfinite(cr.hessian(lambda x: cnp.sum(la.eigvalsh(x)))(a)).all()


def test_repeated_and_zero_singular_values():
    rng = np.random.default_rng(4)
    u, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    v, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    for s in ([2.0, 2.0, 2.0], [3.0, 1.0, 1.0], [2.0, 1.0, 0.0]):
        a = u[:, :3] @ np.diag(s) @ v.T
        g = cr.grad(lambda x: cnp.sum(la.svdvals(x) ** 2))(a)
        np.testing.assert_allclose(g, 2 * a, atol=1e-10)
        for f in (lambda x: la.norm(x, "nuc"), lambda x: cnp.sum(la.svd(x)[1])):
            g = cr.grad(f)(a)
            assert np.isfinite(g).all()
            if min(s) > 0:
                np.testing.assert_allclose(g, u[:, :3] @ v.T, atol=1e-10)
        assert all(np.isfinite(np.asarray(x)).all()
                   for x in cr.jvp(la.svd, (a,), (rng.standard_normal((5, 3)),))[1])


def test_pinv_derivative_at_repeated_singular_values():
    """pinv's closed-form derivative is right where an SVD-based one would break down."""
    q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((5, 3)))
    t = np.random.default_rng(6).standard_normal((5, 3))
    _, d = cr.jvp(la.pinv, (2 * q,), (t,))
    fd = (np.linalg.pinv(2 * q + 1e-6 * t) - np.linalg.pinv(2 * q - 1e-6 * t)) / 2e-6
    np.testing.assert_allclose(d, fd, rtol=1e-6, atol=1e-8)
    check_grads(la.pinv, (2 * q,), order=2)


@pytest.mark.parametrize("fn", [
    lambda x: la.norm(x), lambda x: la.norm(x, "fro"), lambda x: la.norm(x, 3, axis=1),
    lambda x: la.vector_norm(x), lambda x: la.norm(x[0]), lambda x: la.norm(x + 0j)])
def test_norm_at_zero_has_zero_subgradient(fn):
    z = np.zeros((2, 3))
    g = cr.grad(lambda x: cnp.sum(fn(x)))(z)
    assert np.isfinite(g).all() and not g.any()
    _, t = cr.jvp(fn, (z,), (np.ones((2, 3)),))
    assert np.isfinite(t).all() and not np.any(t)


def test_singular_input_like_numpy():
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    for f in (la.inv, lambda a: la.solve(a, np.ones(2)), lambda a: csl.solve_triangular(
            np.triu(a) - np.diag([0.0, 4.0]), np.ones(2)), lambda a: la.matrix_power(a, -1),
            lambda a: la.tensorsolve(a, np.ones(2))):
        with pytest.raises(np.linalg.LinAlgError):
            f(s)
        with pytest.raises(np.linalg.LinAlgError):
            cr.jit(f)(s)       # raised when the compiled program runs
        with pytest.raises(np.linalg.LinAlgError):
            cr.grad(lambda a: cnp.sum(f(a)))(s)
    with pytest.raises(np.linalg.LinAlgError):
        la.cholesky(-np.eye(3))
    assert la.det(s) == 0.0 and np.linalg.det(s) == 0.0
    sign, logdet = la.slogdet(s)
    assert sign == 0.0 and logdet == -np.inf
    assert la.cond(s, 1) == np.linalg.cond(s, 1) == np.inf
    x, res, rank, sv = la.lstsq(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]), np.ones(3))
    want = np.linalg.lstsq(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]), np.ones(3))
    _same((x, res, sv), (want[0], want[1], want[3]))
    assert rank == want[2] == 1 and res.shape == (0,)


def test_errors():
    with pytest.raises(np.linalg.LinAlgError, match="at least two-dimensional"):
        la.inv(np.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        la.det(np.ones((2, 3)))
    with pytest.raises(TypeError, match="float16"):
        la.inv(np.eye(2, dtype=np.float16))
    with pytest.raises(ValueError, match="UPLO"):
        la.eigh(np.eye(2), "X")
    with pytest.raises(ValueError, match="Unrecognized mode"):
        la.qr(np.eye(2), "economic")
    with pytest.raises(ValueError, match="Invalid norm order"):
        la.norm(np.ones(3), "fro")
    with pytest.raises(ValueError, match="Invalid norm order for matrices"):
        la.norm(np.ones((2, 2)), 3)
    with pytest.raises(TypeError, match="exponent must be an integer"):
        la.matrix_power(np.eye(2), 1.5)
    with pytest.raises(ValueError, match="infs or NaNs"):
        csl.cholesky(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="negative real eigenvalues"):
        csl.sqrtm(np.diag([-1.0, 1.0]))
    np.testing.assert_allclose(csl.sqrtm(np.diag([-1.0, 1.0]) + 0j), [[1j, 0], [0, 1]])
    with pytest.raises(NotImplementedError, match="raw"):
        cr.grad(lambda a: cnp.sum(la.qr(a, "raw")[0]))(np.eye(3))
    with pytest.raises(ValueError, match="jit/vmap"):
        cr.jit(lambda a: csl.eigh(a, subset_by_value=(0, 1)))(np.eye(2))


def test_qr_raw_values_vmap_jit():
    a = np.random.default_rng(7).standard_normal((3, 5, 4))
    want = np.linalg.qr(a, "raw")
    _same(la.qr(a, "raw"), want)
    _same(cr.vmap(lambda x: la.qr(x, "raw"))(a), want)
    _same(cr.jit(lambda x: la.qr(x, "raw"))(a), want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_many_small_matrices(dtype):
    """Stacks of many small matrices take vectorized paths (LU, triangular solves): same
    factors and pivots as LAPACK, singular members included."""
    rng = np.random.default_rng(14)
    a = rng.standard_normal((40, 5, 5))
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal(a.shape)
    a = a.astype(dtype)
    a[3] = 1.0
    a[7, :, 2] = 0.0
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    with pytest.warns(sl.LinAlgWarning, match="exactly zero"):
        lu, p = csl.lu_factor(a)
    with pytest.warns(sl.LinAlgWarning):
        lu_ref, p_ref = sl.lu_factor(a)
    _same(lu, lu_ref, **tol)
    np.testing.assert_array_equal(p, p_ref)
    _same(la.det(a), np.linalg.det(a), **tol)
    b = rng.standard_normal((40, 5, 2)).astype(dtype)
    ok = np.array([i not in (3, 7) for i in range(40)])
    _same(la.solve(a[ok], b[ok]), np.linalg.solve(a[ok], b[ok]), **tol)
    with pytest.raises(np.linalg.LinAlgError):
        la.solve(a, b)
    t = a + 4 * np.eye(5, dtype=dtype)
    for lower, trans, unit in [(True, 0, False), (False, 1, True), (True, 2, False)]:
        _same(csl.solve_triangular(t, b, trans, lower, unit),
              sl.solve_triangular(t, b, trans, lower, unit), **tol)


def test_float32_preserved():
    a = (gen()(np.random.default_rng(8))).astype(np.float32)
    for f in (la.inv, la.det, la.pinv, la.eigvalsh, la.svdvals, csl.expm,
              lambda x: la.solve(x, np.ones(4, np.float32)), lambda x: la.qr(x)[1]):
        assert np.asarray(f(a)).dtype == np.float32
    g = cr.grad(lambda x: la.slogdet(x)[1])(a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.linalg.inv(a.astype(np.float64)).T, rtol=1e-4)


def test_integer_input_becomes_float64():
    a = np.array([[2, 1], [1, 3]])
    assert la.inv(a).dtype == np.float64
    assert la.cholesky(a).dtype == np.float64
    np.testing.assert_allclose(la.det(a), 5.0)


def test_lstsq_under_jit_assumes_full_rank():
    a = np.random.default_rng(9).standard_normal((6, 3))
    b = np.random.default_rng(10).standard_normal(6)
    got = cr.jit(la.lstsq)(a, b)
    _same(got, np.linalg.lstsq(a, b))


def test_second_order_through_compositions():
    """hessian of log det of an SPD matrix: d2/dA2 <E, .> = -tr(A^-1 E A^-1 E)."""
    a = spd()(np.random.default_rng(11))
    e = np.random.default_rng(12).standard_normal((4, 4))
    e = e + e.T

    def f(t):
        return la.slogdet(a + t * e)[1]
    h = cr.grad(cr.grad(f))(0.0)
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(h, -np.trace(ai @ e @ ai @ e), rtol=1e-9)
    hc = cr.grad(cr.grad(lambda t: cnp.sum(cnp.log(cnp.diagonal(la.cholesky(a + t * e))))))
    np.testing.assert_allclose(2 * hc(0.0), h, rtol=1e-9)


def test_jit_of_grad_and_export():
    a = gen()(np.random.default_rng(13))

    def loss(x):
        return la.slogdet(x)[1] + cnp.sum(la.solve(x, np.ones(4)) ** 2) + la.norm(
            csl.expm(0.1 * x))
    g = cr.grad(loss)(a)
    _same(cr.jit(cr.grad(loss))(a), g)
    src = cr.export(cr.grad(loss), a)
    ns = {}
    exec(compile(src, "<export>", "exec"), ns)
    fname = [k for k, v in ns.items() if callable(v) and not k.startswith("_")
             and getattr(v, "__module__", None) is None][-1]
    _same(ns[fname](a)[0], g)


_EXPORTED = {
    "cholesky": la.cholesky, "triangular_solve": lambda x: csl.solve_triangular(x, x),
    "lu": lambda x: csl.lu_factor(x)[0], "lu_pivots_to_permutation": lambda x: csl.lu_solve(
        csl.lu_factor(x), x), "det": la.det, "qr": lambda x: la.qr(x)[0],
    "eigh": lambda x: la.eigh(x)[1], "eigh-evr": lambda x: csl.eigh(x)[1],
    "svd": lambda x: la.svd(x)[2], "eig": lambda x: la.eig(x)[1], "pinv": la.pinv,
    "expm": csl.expm, "sqrtm": csl.sqrtm, "sylvester": lambda x: csl.solve_sylvester(x, x, x),
}


@pytest.mark.parametrize("name", sorted(_EXPORTED))
def test_export_standalone(name):
    """Each primitive lowers to code that cr.export can write as a NumPy/SciPy-only module."""
    s = spd()(np.random.default_rng(15))
    f = _EXPORTED[name]
    src = cr.export(f, s, name="f")
    ns = {}
    exec(compile(src, "<export>", "exec"), ns)
    _same(ns["f"](s)[0], f(s))
