"""Tests for chainrule.numpy products: dot, vdot, matmul, inner, outer, tensordot, kron, einsum,
einsum_path, matvec, vecmat, vecdot. Values, shapes and dtypes against NumPy; errors like
NumPy's; derivatives of order 2 in both modes; the einsum contraction order."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import prims as P
from chainrule.test_util import check_grads

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float64):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if dtype.kind == "c":
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)
    if dtype.kind == "b":
        return RNG.random(shape) > 0.5
    return RNG.integers(-4, 5, size=shape).astype(dtype)


def assert_same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    tol = 1e-4 if want.dtype in (np.float32, np.complex64) else 1e-10
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


# --- values ------------------------------------------------------------------------------------

DOT_SHAPES = [((), ()), ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
              ((2, 3), (3, 4)), ((2, 5, 3), (3,)), ((2, 5, 3), (4, 3, 2)), ((3,), (2, 3, 4)),
              ((0, 3), (3, 2)), ((2, 0), (0, 3))]
DTYPE_PAIRS = [(np.float64, np.float64), (np.float32, np.float32), (np.int64, np.int64),
               (np.int32, np.float32), (np.float32, np.float64), (np.int8, np.int8),
               (np.complex128, np.float64), (np.bool_, np.bool_)]


@pytest.mark.parametrize("sa,sb", DOT_SHAPES)
@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_dot(sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.dot(a, b), np.dot(a, b))


def test_dot_scalars_and_lists():
    assert_same(cnp.dot(2.0, np.ones(3, np.float32)), np.dot(2.0, np.ones(3, np.float32)))
    assert_same(cnp.dot([[1, 2], [3, 4]], [1, 1]), np.dot([[1, 2], [3, 4]], [1, 1]))
    assert_same(cnp.dot(3, 4), np.dot(3, 4))


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                 ((5, 2, 3), (3,)), ((3,), (5, 3, 4)), ((5, 1, 2, 3), (6, 3, 4)),
                 ((1, 2, 3), (5, 3, 4)), ((5, 2, 3), (1, 3, 4)), ((2, 1, 1, 3), (1, 4, 3, 2)),
                 ((1, 1, 2, 3), (3, 4)), ((0, 2, 3), (3, 4)), ((4, 2, 0), (4, 0, 3)),
                 ((1, 3), (3, 1))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_matmul(sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.matmul(a, b), np.matmul(a, b))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (4, 3)), ((2, 5, 3), (3,)),
                                   ((2, 3), ()), ((), (4, 3)), ((2, 4, 3), (5, 2, 3))])
@pytest.mark.parametrize("da,db", DTYPE_PAIRS[:5])
def test_inner(sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.inner(a, b), np.inner(a, b))


@pytest.mark.parametrize("sa,sb", [((3,), (4,)), ((2, 3), (4,)), ((), (2, 2)), ((0,), (3,))])
@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_outer(sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.outer(a, b), np.outer(a, b))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3, 2)), ((), ()), ((2, 2), (4,))])
@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_vdot(sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.vdot(a, b), np.vdot(a, b))


def test_vdot_conjugates_first():
    a, b = rand(2, 3, dtype=np.complex128), rand(6, dtype=np.complex64)
    assert_same(cnp.vdot(a, b), np.vdot(a, b))
    assert_same(cnp.vdot(b, a), np.vdot(b, a))


TENSORDOT_CASES = [((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 5), 1), ((2, 3), (4, 5), 0),
                   ((2, 3, 4), (3, 4, 5), ([1, 2], [0, 1])),
                   ((2, 3, 4), (4, 3, 5), ((2, 1), (0, 1))),
                   ((2, 3, 4), (5, 3), (1, 1)), ((2, 3, 4), (3, 4, 5), ((-1,), (-2,))),
                   ((3,), (3,), 1), ((2, 3), (2, 3), 2), ((2, 3), (3, 2), ([0, 1], [1, 0]))]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT_CASES)
@pytest.mark.parametrize("da,db", DTYPE_PAIRS[:5])
def test_tensordot(sa, sb, axes, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.tensordot(a, b, axes), np.tensordot(a, b, axes))


@pytest.mark.parametrize("sa,sb", [((2,), (3,)), ((2, 3), (4, 5)), ((2, 3), (4,)), ((3,), (2, 2)),
                                   ((), (2, 3)), ((2, 1, 3), (2, 2)), ((2, 3), ())])
@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_kron(sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(cnp.kron(a, b), np.kron(a, b))


GUFUNC_CASES = {
    "matvec": [((2, 3), (3,)), ((5, 2, 3), (3,)), ((2, 3), (5, 3)), ((5, 1, 2, 3), (4, 3)),
               ((1, 2, 3), (5, 3))],
    "vecmat": [((3,), (3, 2)), ((5, 3), (3, 2)), ((3,), (5, 3, 2)), ((5, 1, 3), (4, 3, 2))],
    "vecdot": [((3,), (3,)), ((4, 3), (3,)), ((3,), (4, 3)), ((5, 1, 3), (4, 3)),
               ((2, 3), (2, 3))],
}


@pytest.mark.parametrize("name,sa,sb", [(n, a, b) for n, cases in GUFUNC_CASES.items()
                                        for a, b in cases])
@pytest.mark.parametrize("da,db", [(np.float64, np.float64), (np.float32, np.float32),
                                   (np.int32, np.float64), (np.complex128, np.complex128)])
def test_matvec_vecmat_vecdot(name, sa, sb, da, db):
    a, b = rand(*sa, dtype=da), rand(*sb, dtype=db)
    assert_same(getattr(cnp, name)(a, b), getattr(np, name)(a, b))


@pytest.mark.parametrize("axis", [0, 1, -2])
def test_vecdot_axis(axis):
    a, b = rand(3, 4, dtype=np.complex128), rand(3, 4)
    assert_same(cnp.vecdot(a, b, axis=axis), np.vecdot(a, b, axis=axis))


EINSUM_CASES = [
    ("ii->", [(4, 4)]),                                # trace
    ("ii", [(4, 4)]),                                  # implicit trace
    ("ii->i", [(4, 4)]),                               # diagonal
    ("iji->j", [(3, 2, 3)]),                           # diagonal of non-adjacent axes, summed
    ("iij->ji", [(3, 3, 2)]),                          # diagonal, transposed
    ("iijj->ij", [(2, 2, 3, 3)]),                      # two diagonals
    ("ijij->", [(2, 3, 2, 3)]),
    ("ij->", [(2, 3)]),                                # full sum
    ("ij->j", [(2, 3)]),                               # partial sum
    ("ij->ji", [(2, 3)]),                              # transpose
    ("ij", [(2, 3)]),                                  # implicit identity
    ("ji", [(2, 3)]),                                  # implicit transpose
    ("ij,jk->ik", [(2, 3), (3, 4)]),                   # matmul
    ("ij,jk", [(2, 3), (3, 4)]),                       # implicit matmul
    ("ij,kj->ik", [(2, 3), (4, 3)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),          # batch matmul
    ("bij,bjk->bki", [(5, 2, 3), (5, 3, 4)]),
    ("i,j->ij", [(2,), (3,)]),                         # outer
    ("i,j", [(2,), (3,)]),
    ("i,i->", [(3,), (3,)]),                           # inner
    ("i,i->i", [(3,), (3,)]),                          # elementwise product
    ("i,i", [(3,), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,j->i", [(2, 3), (3,)]),                       # matvec
    ("ij,k->", [(2, 3), (4,)]),                        # indices only in one operand
    ("ij,jk->", [(2, 3), (3, 4)]),
    ("ijk,jl->il", [(2, 3, 4), (3, 5)]),               # k summed in the first operand alone
    ("...ij,...jk->...ik", [(5, 2, 3), (5, 3, 4)]),    # ellipsis batch matmul
    ("...ij,...jk", [(6, 1, 2, 3), (5, 3, 4)]),        # ellipsis broadcasting, implicit
    ("...ij,jk->...ik", [(2, 3), (3, 4)]),             # empty ellipsis
    ("i...->...", [(3, 2, 4)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),           # broadcast size-1
    ("ij...,jk...->ik...", [(2, 3, 5), (3, 4, 1)]),
    ("i...i->...", [(3, 4, 3)]),                       # diagonal with ellipsis
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),        # 3-operand chain
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 5)]),
    ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 5), (5, 2)]),  # 4-operand chain
    ("ab,bc,cd,da->", [(2, 3), (3, 4), (4, 5), (5, 2)]),   # ring (trace of product)
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("ijk,ikl,ilm->ijm", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),  # batch shared by three
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),  # attention scores
    ("bhqk,bhkd->bqhd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),                   # explicit-label broadcasting
    ("ab,bA", [(2, 3), (3, 4)]),                       # implicit order: uppercase first
    ("Ab,bc->cA", [(2, 3), (3, 4)]),
    ("i,->i", [(3,), ()]),                             # scalar operand
    (",->", [(), ()]),
    ("ij,jk,k->i", [(20, 30), (30, 40), (40,)]),       # greedy: matrix-vector first
    ("ii,ij,jj->ij", [(3, 3), (3, 3), (3, 3)]),
    ("a,b,c,d->abcd", [(2,), (3,), (2,), (1,)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),                   # zero size
    ("ij,jk->ik", [(2, 0), (0, 4)]),
]


@pytest.mark.parametrize("subscripts,shapes", EINSUM_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.complex128])
def test_einsum(subscripts, shapes, dtype):
    ops = [rand(*s, dtype=dtype) for s in shapes]
    assert_same(cnp.einsum(subscripts, *ops), np.einsum(subscripts, *ops, optimize=True))


def test_einsum_count():
    assert len(EINSUM_CASES) >= 25


@pytest.mark.parametrize("dtypes", [(np.int8, np.int8), (np.bool_, np.bool_),
                                    (np.int32, np.float32), (np.float32, np.float64),
                                    (np.uint8, np.int16), (np.complex64, np.float32)])
@pytest.mark.parametrize("subscripts", ["ij,jk->ik", "ii,ij->j", "ij,k->", "ij->"])
def test_einsum_mixed_dtypes(dtypes, subscripts):
    shapes = [(3, 3), (3, 3)] if subscripts.count(",") else [(3, 3)]
    if subscripts == "ij,k->":
        shapes = [(3, 3), (4,)]
    ops = [rand(*s, dtype=d) for s, d in zip(shapes, dtypes)]
    assert_same(cnp.einsum(subscripts, *ops), np.einsum(subscripts, *ops))


@pytest.mark.parametrize("optimize", [True, False, "greedy", "optimal",
                                      ["einsum_path", (1, 2), (0, 1)],
                                      ["einsum_path", (0, 1, 2)]])
def test_einsum_optimize(optimize):
    ops = [rand(2, 3), rand(3, 4), rand(4, 5)]
    assert_same(cnp.einsum("ij,jk,kl->il", *ops, optimize=optimize),
                np.einsum("ij,jk,kl->il", *ops))


def test_einsum_sublist_format():
    a, b = rand(2, 3), rand(3, 4)
    assert_same(cnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), np.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    assert_same(cnp.einsum(a, [0, 1], b, [1, 2]), np.einsum(a, [0, 1], b, [1, 2]))
    c = rand(5, 2, 3)
    assert_same(cnp.einsum(c, [Ellipsis, 0, 1], [1, Ellipsis]),
                np.einsum(c, [Ellipsis, 0, 1], [1, Ellipsis]))


def test_einsum_spaces_lists_and_dtype():
    a = [[1, 2], [3, 4]]
    assert_same(cnp.einsum("ij, jk -> ik", a, a), np.einsum("ij,jk->ik", a, a))
    b = rand(2, 2, dtype=np.float32)
    assert_same(cnp.einsum("ij,jk->ik", b, b, dtype=np.float64),
                np.einsum("ij,jk->ik", b, b, dtype=np.float64))


def test_einsum_path_passthrough():
    ops = [rand(2, 3), rand(3, 4), rand(4, 5)]
    for opt in ["greedy", "optimal"]:
        got, report = cnp.einsum_path("ij,jk,kl->il", *ops, optimize=opt)
        want, want_report = np.einsum_path("ij,jk,kl->il", *ops, optimize=opt)
        assert got == want and report == want_report


def _dot_shapes(monkeypatch):
    """Record the operand shapes of every dot_general evaluated."""
    seen = []
    impl = P.dot_general_p.impl

    def spy(x, y, **params):
        seen.append((np.shape(x), np.shape(y)))
        return impl(x, y, **params)
    monkeypatch.setattr(P.dot_general_p, "impl", spy)
    return seen


def test_einsum_greedy_order_matters(monkeypatch):
    # matrix-matrix-vector: contracting the vector first never forms the 20x40 product
    seen = _dot_shapes(monkeypatch)
    ops = [rand(20, 30), rand(30, 40), rand(40)]
    assert_same(cnp.einsum("ij,jk,k->i", *ops), np.einsum("ij,jk,k->i", *ops))
    assert seen == [((30, 40), (40,)), ((20, 30), (30,))]
    seen.clear()
    assert_same(cnp.einsum("ij,jk,k->i", *ops, optimize=False), np.einsum("ij,jk,k->i", *ops))
    assert [set(s) for s in seen] == [{(20, 30), (30, 40)}, {(20, 40), (40,)}]


def test_one_dot_general_per_pair(monkeypatch):
    seen = _dot_shapes(monkeypatch)
    ops = [rand(2, 3, 4), rand(2, 4, 5), rand(2, 5, 3)]
    cnp.einsum("ijk,ikl,ilm->ijm", *ops)
    assert len(seen) == 2
    seen.clear()
    cnp.matmul(rand(5, 1, 2, 3), rand(6, 3, 4))  # broadcast without materialising
    assert seen == [((5, 2, 3), (6, 3, 4))]


# --- errors --------------------------------------------------------------------------------------

ERROR_CASES = [
    ("dot", [(2, 3), (4, 5)], {}), ("dot", [(3,), (4,)], {}), ("dot", [(2, 3), (2,)], {}),
    ("matmul", [(), (3,)], {}), ("matmul", [(3,), ()], {}), ("matmul", [(3,), (4,)], {}),
    ("matmul", [(2, 3), (4, 5)], {}), ("matmul", [(2, 3, 4), (3, 4, 5)], {}),
    ("matmul", [(2, 2, 3), (3, 3, 4)], {}),
    ("inner", [(2, 3), (4, 5)], {}), ("inner", [(3,), (4,)], {}),
    ("inner", [(2, 3, 4), (3, 4, 5)], {}),
    ("vdot", [(3,), (4,)], {}), ("vdot", [(2, 3), (4, 5)], {}),
    ("tensordot", [(2, 3), (4, 5)], {"axes": 1}),
    ("tensordot", [(2, 3, 4), (3, 4, 5)], {"axes": 3}),
    ("tensordot", [(2, 3), (3, 5)], {"axes": ([1], [0, 1])}),
    ("tensordot", [(2, 3), (3, 5)], {"axes": ([0], [0])}),
    ("matvec", [(3,), (3,)], {}), ("matvec", [(2, 3), (4,)], {}),
    ("vecmat", [(3,), (3,)], {}), ("vecmat", [(3,), (4, 2)], {}),
    ("vecdot", [(), (3,)], {}), ("vecdot", [(3,), (4,)], {}), ("vecdot", [(2, 3), (4, 3)], {}),
]


@pytest.mark.parametrize("name,shapes,kw", ERROR_CASES)
def test_errors_match_numpy(name, shapes, kw):
    ops = [np.ones(s) for s in shapes]
    with pytest.raises(ValueError) as want:
        getattr(np, name)(*ops, **kw)
    with pytest.raises(ValueError) as got:
        getattr(cnp, name)(*ops, **kw)
    assert str(got.value) == str(want.value)


EINSUM_ERRORS = [
    ("ij,jk->ik", [(2, 3), (4, 5)]), ("ij,jk", [(2, 3)]), ("ij", [(2, 3), (3,)]),
    ("ijk", [(2, 3)]), ("i", [(2, 3)]), ("ij->k", [(2, 3)]), ("ij->ii", [(2, 3)]),
    ("i..j", [(2, 3)]), ("i1", [(2, 3)]), ("ij->i->j", [(2, 3)]), ("ii->i", [(2, 3)]),
    ("...ij,...jk", [(2, 2, 3), (3, 3, 4)]),
]


@pytest.mark.parametrize("subscripts,shapes", EINSUM_ERRORS)
def test_einsum_errors_match_numpy(subscripts, shapes):
    ops = [np.ones(s) for s in shapes]
    with pytest.raises(ValueError) as want:
        np.einsum(subscripts, *ops, optimize=True)
    with pytest.raises(ValueError) as got:
        cnp.einsum(subscripts, *ops)
    assert str(got.value) == str(want.value)


def test_tensordot_too_many_axes():
    # NumPy raises IndexError from deep inside here; a clear ValueError is better
    with pytest.raises(ValueError, match="shape-mismatch for sum"):
        cnp.tensordot(np.ones((2, 3)), np.ones((3, 5)), 3)
    with pytest.raises(IndexError):
        cnp.tensordot(np.ones((2, 3)), np.ones((3, 5)), ([5], [0]))


def test_out_argument_rejected():
    with pytest.raises(TypeError):
        cnp.dot(np.ones(2), np.ones(2), out=np.empty(()))


# --- under transforms ----------------------------------------------------------------------------


def test_matmul_operator_on_tracers():
    a, b = rand(4, 2, 3), rand(3, 5)
    g = cr.grad(lambda a: cnp.sum((a @ b) ** 2))(a)
    np.testing.assert_allclose(g, 2 * np.einsum("bij,kj->bik", a @ b, b))
    g = cr.grad(lambda b: cnp.sum(b.T @ b))(b)
    np.testing.assert_allclose(g, 2 * b @ np.ones((5, 5)))


def test_einsum_jvp_value():
    a, b, ta = rand(3, 3), rand(3, 4), rand(3, 3)
    out, t = cr.jvp(lambda a: cnp.einsum("ii,ij->j", a, b), (a,), (ta,))
    assert_same(out, np.einsum("ii,ij->j", a, b))
    assert_same(t, np.einsum("ii,ij->j", ta, b))


def test_float32_stays_float32_under_grad():
    a, b = rand(2, 3, dtype=np.float32), rand(3, 4, dtype=np.float32)
    g = cr.grad(lambda a: cnp.sum(cnp.einsum("ij,jk->ik", a, b)))(a)
    assert g.dtype == np.float32


GRAD_CASES = [
    ("dot", lambda a, b: cnp.dot(a, b), [(2, 3), (3, 4)]),
    ("dot_nd", lambda a, b: cnp.dot(a, b), [(2, 5, 3), (4, 3, 2)]),
    ("dot_vec", lambda a, b: cnp.dot(a, b), [(3,), (3,)]),
    ("dot_scalar", lambda a, b: cnp.dot(a, b), [(), (3,)]),
    ("matmul", lambda a, b: cnp.matmul(a, b), [(2, 3), (3, 4)]),
    ("matmul_batched", lambda a, b: cnp.matmul(a, b), [(5, 2, 3), (5, 3, 4)]),
    ("matmul_bcast", lambda a, b: cnp.matmul(a, b), [(2, 1, 2, 3), (3, 3, 4)]),
    ("matmul_vec", lambda a, b: cnp.matmul(a, b), [(3,), (5, 3, 4)]),
    ("matmul_op", lambda a, b: a @ b, [(4, 2, 3), (3,)]),
    ("tensordot", lambda a, b: cnp.tensordot(a, b), [(2, 3, 4), (3, 4, 5)]),
    ("tensordot_axes", lambda a, b: cnp.tensordot(a, b, ((2, 0), (0, 1))), [(2, 3, 4), (4, 2)]),
    ("kron", lambda a, b: cnp.kron(a, b), [(2, 3), (3, 2)]),
    ("kron_nd", lambda a, b: cnp.kron(a, b), [(2,), (2, 3)]),
    ("vdot", lambda a, b: cnp.vdot(a, b), [(2, 3), (6,)]),
    ("inner", lambda a, b: cnp.inner(a, b), [(2, 3), (4, 3)]),
    ("outer", lambda a, b: cnp.outer(a, b), [(2, 2), (3,)]),
    ("matvec", lambda a, b: cnp.matvec(a, b), [(4, 2, 3), (3,)]),
    ("vecmat", lambda a, b: cnp.vecmat(a, b), [(3,), (4, 3, 2)]),
    ("vecdot", lambda a, b: cnp.vecdot(a, b), [(4, 3), (1, 3)]),
    ("einsum_matmul", lambda a, b: cnp.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    ("einsum_batch", lambda a, b: cnp.einsum("bij,bjk->bki", a, b), [(2, 2, 3), (2, 3, 4)]),
    ("einsum_trace", lambda a: cnp.einsum("ii", a), [(3, 3)]),
    ("einsum_diag", lambda a, b: cnp.einsum("ii,ij->ij", a, b), [(3, 3), (3, 2)]),
    ("einsum_diag3", lambda a: cnp.einsum("iji->ij", a), [(3, 2, 3)]),
    ("einsum_sumout", lambda a, b: cnp.einsum("ijk,jl->il", a, b), [(2, 3, 4), (3, 5)]),
    ("einsum_ellipsis", lambda a, b: cnp.einsum("...ij,...jk", a, b), [(2, 1, 2, 3), (3, 3, 2)]),
    ("einsum_chain", lambda a, b, c: cnp.einsum("ij,jk,k->i", a, b, c), [(2, 3), (3, 4), (4,)]),
    ("einsum_ring", lambda a, b, c, d: cnp.einsum("ab,bc,cd,da->", a, b, c, d),
     [(2, 3), (3, 2), (2, 2), (2, 2)]),
    ("einsum_square", lambda a: cnp.einsum("ij,ij->", a, a), [(2, 3)]),
]


@pytest.mark.parametrize("name,f,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grads(name, f, shapes):
    args = [rand(*s) for s in shapes]
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,f,shapes", [c for c in GRAD_CASES if c[0] in
                                           ("dot", "matmul_batched", "vdot", "einsum_batch",
                                            "kron", "vecdot")])
def test_grads_complex(name, f, shapes):
    args = [rand(*s, dtype=np.complex128) for s in shapes]
    check_grads(f, args, order=2, modes=("fwd", "rev"))


VMAP_CASES = [
    ("matmul", lambda a, b: cnp.matmul(a, b), [(4, 2, 3), (3, 5)], (0, None)),
    ("matmul_bcast", lambda a, b: a @ b, [(4, 2, 1, 2, 3), (3, 3, 5)], (0, None)),
    ("dot", lambda a, b: cnp.dot(a, b), [(2, 4, 3), (3, 4)], (1, 1)),
    ("einsum_diag", lambda a, b: cnp.einsum("ii,ij->j", a, b), [(4, 3, 3), (3, 2)], (0, None)),
    ("einsum_chain", lambda a, b: cnp.einsum("ij,jk,k->i", a, b, b[0]), [(3, 4), (5, 4, 4)],
     (None, 0)),
    ("vdot", lambda a, b: cnp.vdot(a, b), [(4, 2, 3), (4, 6)], (0, 0)),
    ("kron", lambda a, b: cnp.kron(a, b), [(4, 2, 2), (3,)], (0, None)),
    ("vecdot", lambda a, b: cnp.vecdot(a, b), [(3, 4), (1, 3)], (1, None)),
    ("grad_einsum", cr.grad(lambda a, b: cnp.einsum("ij,jk->", a, b)), [(4, 2, 3), (3, 2)],
     (0, None)),
]


@pytest.mark.parametrize("name,f,shapes,in_axes", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_loop(name, f, shapes, in_axes):
    args = [rand(*s) for s in shapes]
    n = next(a.shape[ax] for a, ax in zip(args, in_axes) if ax is not None)
    want = np.stack([f(*[a if ax is None else np.take(a, i, axis=ax)
                         for a, ax in zip(args, in_axes)]) for i in range(n)])
    np.testing.assert_allclose(cr.vmap(f, in_axes=in_axes)(*args), want, rtol=1e-12, atol=1e-12)


def test_product_with_an_exact_identity_is_exact_and_keeps_ieee_semantics():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((9, 12))
    I12, I9 = np.eye(12), np.eye(9)
    np.testing.assert_array_equal(cnp.dot(A, I12), A)
    np.testing.assert_array_equal(cnp.matmul(I9, A), A)
    assert cnp.dot(A, I12) is not A
    assert cnp.dot(A, np.eye(12, dtype=np.float32)).dtype == np.float64
    # non-finite entries: the same NaN pattern as BLAS (inf * 0 = NaN)
    B = A.copy()
    B[2, 3] = np.inf
    np.testing.assert_array_equal(np.isnan(cnp.dot(B, I12)), np.isnan(np.dot(B, I12)))
    # almost an identity: the ordinary product
    J = I12.copy()
    J[5, 6] = 1e-3
    np.testing.assert_allclose(cnp.dot(A, J), A @ J, rtol=1e-14)
    # the Jacobian of a linear map built on the identity basis is the map itself
    np.testing.assert_array_equal(cr.jacfwd(lambda x: cnp.dot(A, x))(np.ones(12)), A)
    np.testing.assert_array_equal(cr.jacrev(lambda x: cnp.dot(A, x))(np.ones(12)), A)
