"""chainrule.numpy array manipulation (_manip): values, shapes and dtypes against NumPy, the
errors NumPy raises, and derivatives of order 2 in both modes."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float64):
    return np.asarray(RNG.standard_normal(shape)).astype(dtype)


def _same(got, want):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)), type(got)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    got_a, want_a = np.asarray(got), np.asarray(want)
    assert got_a.shape == want_a.shape, (got_a.shape, want_a.shape)
    assert got_a.dtype == want_a.dtype, (got_a.dtype, want_a.dtype)
    if want_a.dtype.kind in "fc":
        np.testing.assert_allclose(got_a, want_a, rtol=1e-6 if want_a.dtype.itemsize <= 4
                                   else 1e-12, atol=0)
    else:
        np.testing.assert_array_equal(got_a, want_a)


def check(name, *args, **kw):
    """cnp.name(*args, **kw) has NumPy's value, shape and dtype."""
    want = getattr(np, name)(*args, **kw)
    got = getattr(cnp, name)(*args, **kw)
    _same(got, want)
    return got


def check_raises(name, *args, **kw):
    """cnp.name raises the same exception type as NumPy does."""
    with pytest.raises(Exception) as info:
        getattr(np, name)(*args, **kw)
    with pytest.raises(info.type):
        getattr(cnp, name)(*args, **kw)


def test_all_exported():
    from chainrule.numpy import _manip
    for name in _manip.__all__:
        assert getattr(cnp, name) is getattr(_manip, name), name


DTYPES = [np.float64, np.float32, np.int64, np.int32, np.bool_, np.complex128]


def sample(shape, dtype):
    x = RNG.standard_normal(shape) * 3
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return np.asarray(x).astype(dtype)


# --- atleast / stacking ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)])
def test_atleast(name, shape):
    check(name, sample(shape, np.float32))
    check(name, sample(shape, np.int64), sample((2,), np.float64))


def test_atleast_scalars_and_empty():
    check("atleast_1d", 3.0)
    check("atleast_2d", [1, 2])
    check("atleast_3d", 5)
    check("atleast_1d")


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), (2, 3)], [(), ()],
                                    [(2, 3, 4), (2, 3, 4)], [(4, 1), (4, 1), (4, 1)]])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_stacks(name, shapes, dtype):
    check(name, [sample(s, dtype) for s in shapes])
    check(name, tuple(sample(s, dtype) for s in shapes))


def test_stacks_mixed():
    check("hstack", [np.ones(2, np.float32), np.arange(3)])
    check("hstack", [np.ones(2, np.float32), [1.5]])
    check("hstack", [rand(2, 3), rand(2, 1)])
    check("vstack", [rand(3), rand(2, 3)])
    check("dstack", [rand(2, 3), rand(2, 3, 2)])
    check("column_stack", [rand(3), rand(3, 2)])
    check("hstack", [rand(3), rand(2)], dtype=np.float32)
    check("vstack", [np.arange(3), np.arange(3)], dtype=np.float64)
    check("hstack", np.ones((2, 3)))
    check("vstack", [np.float32(1.5), np.float32(2.0)])


def test_row_stack_alias():
    assert cnp.row_stack is cnp.vstack


def test_stack_errors():
    check_raises("hstack", (x for x in [np.ones(2)]))
    check_raises("vstack", (x for x in [np.ones(2)]))
    check_raises("hstack", [])
    check_raises("hstack", [np.ones(2)], dtype=np.int64)
    check_raises("vstack", [np.ones(2), np.ones(3)])
    check_raises("hstack", [np.ones((2, 2)), np.ones((3, 2))])
    check_raises("column_stack", [np.ones(2), np.ones(3)])
    check_raises("dstack", [np.ones(2), np.ones(3)])


def test_block():
    check("block", [[1, 2], [3, 4]])
    check("block", [rand(2, 2), rand(2, 3)])
    check("block", [[rand(2, 2), rand(2, 3)], [rand(1, 5)]])
    check("block", [[[rand(2)], [rand(2)]]])
    check("block", rand(3))
    check("block", [rand(2, 3, 2), rand(2, 3, 1)])
    check("block", [np.float32(1.0), np.ones(2, np.float32)])
    check_raises("block", [(1, 2)])
    check_raises("block", [[1], 2])
    check_raises("block", [])
    check_raises("block", [[1, 2], []])


# --- splitting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,ios,axis", [
    ((6,), 3, 0), ((6,), [1, 3], 0), ((4, 6), 2, 1), ((4, 6), [1, 5, 2, -1], 1),
    ((4, 6), 2, -2), ((3, 4), [], 0), ((3, 4), np.array([2]), 1), ((0, 4), 2, 1),
    ((4, 2, 6), [10], 2)])
def test_split(shape, ios, axis):
    x = sample(shape, np.float32)
    check("split", x, ios, axis)
    check("array_split", x, ios, axis)


@pytest.mark.parametrize("n,sections", [(7, 3), (5, 5), (3, 5), (0, 2), (10, 4)])
def test_array_split_uneven(n, sections):
    check("array_split", np.arange(n), sections)
    check("array_split", rand(2, n), sections, axis=1)


def test_hvd_split():
    check("hsplit", rand(6), 3)
    check("hsplit", rand(2, 6), [1, 4])
    check("hsplit", rand(2, 6, 3), 2)
    check("vsplit", rand(4, 3), 2)
    check("vsplit", rand(4, 3, 2), [1])
    check("dsplit", rand(2, 3, 4), 2)
    check("array_split", [1, 2, 3, 4, 5], 2)


def test_split_errors():
    check_raises("split", np.arange(5), 2)
    check_raises("array_split", np.arange(5), 0)
    check_raises("split", np.arange(5), 2, axis=3)
    check_raises("array_split", np.ones((2, 2)), 2, axis=-3)
    check_raises("hsplit", np.array(1.0), 1)
    check_raises("vsplit", np.ones(3), 1)
    check_raises("dsplit", np.ones((3, 3)), 1)


# --- tile and repeat ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3)])
@pytest.mark.parametrize("reps", [1, 2, 0, (2, 1), (1, 3), (2, 2, 2), (3,), (1, 1, 1, 1),
                                  [2, 1, 3]])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_tile(shape, reps, dtype):
    check("tile", sample(shape, dtype), reps)


def test_tile_misc():
    check("tile", [1, 2], 2)
    check("tile", 3.0, (2, 2))
    check_raises("tile", np.ones(3), -1)
    check_raises("tile", np.ones(3), 2.0)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize("reps", [0, 1, 2, 3])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_repeat_int(shape, reps, axis):
    check("repeat", sample(shape, np.float32), reps, axis=axis)
    check("repeat", sample(shape, np.int32), np.int64(reps), axis)


def test_repeat_per_element():
    x = rand(3, 4)
    check("repeat", x, [1, 0, 2], axis=0)
    check("repeat", x, [2, 1, 0, 3], axis=1)
    check("repeat", x, [2], axis=1)
    check("repeat", x, np.arange(12), axis=None)
    check("repeat", [1, 2, 3], [3, 2, 1])
    check("repeat", x.astype(np.float32), np.array([1, 1, 2]), 0)
    check("repeat", x, 1.5)


def test_repeat_errors():
    check_raises("repeat", np.arange(3), [1, 2])
    check_raises("repeat", np.arange(3), -1)
    check_raises("repeat", np.arange(3), [1, -1, 2])
    check_raises("repeat", np.arange(3), 2, axis=1)


# --- flips, rotations, rolls ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, -1), (0, 1, 2), 1])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.complex128])
def test_flip(shape, axis, dtype):
    x = sample(shape, dtype)
    nd = len(shape)
    axes = () if axis is None else axis if isinstance(axis, tuple) else (axis,)
    bad = any(not -nd <= a < nd for a in axes) or len({a % nd for a in axes}) < len(axes) \
        if nd else bool(axes)
    if bad:
        check_raises("flip", x, axis)
    else:
        check("flip", x, axis)


def test_flip_lr_ud():
    check("fliplr", rand(2, 3))
    check("fliplr", rand(2, 3, 4))
    check("flipud", rand(3))
    check("flipud", rand(2, 3).astype(np.float32))
    check("flip", [1, 2, 3])
    check_raises("fliplr", rand(3))
    check_raises("flipud", np.array(1.0))
    check_raises("flip", rand(2, 3), (0, 0))


@pytest.mark.parametrize("k", [-5, -1, 0, 1, 2, 3, 4, 6])
@pytest.mark.parametrize("shape,axes", [((2, 3), (0, 1)), ((2, 3), (1, 0)),
                                        ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 1)),
                                        ((2, 3, 4), (2, 0))])
def test_rot90(k, shape, axes):
    check("rot90", sample(shape, np.float32), k, axes)


def test_rot90_errors():
    check_raises("rot90", rand(3))
    check_raises("rot90", rand(2, 2), 1, (0, 0))
    check_raises("rot90", rand(2, 2), 1, (0, 2))
    check_raises("rot90", rand(2, 2), 1, (0, 1, 2))
    check_raises("rot90", rand(2, 2, 2), 1, (0, 3))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("shift,axis", [(1, None), (-2, None), (7, None), (0, None),
                                        (1, 0), (-3, -1), ((1, 2), (0, -1)), (2, (0, 1)),
                                        ((1, 1), (0, 0)), ((3, -1), None)])
def test_roll(shape, shift, axis):
    x = sample(shape, np.float32)
    try:
        want = np.roll(x, shift, axis)
    except Exception as e:
        with pytest.raises(type(e)):
            cnp.roll(x, shift, axis)
        return
    _same(cnp.roll(x, shift, axis), want)


def test_roll_misc():
    check("roll", np.arange(10).reshape(2, 5), 12, 1)
    check("roll", np.zeros((0, 3)), 1, 0)
    check("roll", [1, 2, 3], 1)
    check_raises("roll", np.arange(4), [[1]])
    check_raises("roll", np.arange(6).reshape(2, 3), (1, 2), (0, 1, 1))


# --- pad ----------------------------------------------------------------------------------------------

PAD_WIDTHS = [0, 1, 3, (1, 2), ((2,),), ((1, 0),), [[0, 2]], 7]


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("shape", [(1,), (2,), (3,), (5,), (2, 3), (3, 1, 4)])
@pytest.mark.parametrize("width", PAD_WIDTHS)
def test_pad_modes(mode, shape, width):
    check("pad", sample(shape, np.float32), width, mode)
    check("pad", sample(shape, np.int64), width, mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("width", [(0, 1), (1, 0), (2, 3), (5, 9), (13, 4)])
def test_pad_reflect_types(mode, n, width):
    x = rand(n)
    check("pad", x, width, mode, reflect_type="even")
    check("pad", x, width, mode, reflect_type="odd")
    check("pad", np.arange(n), width, mode, reflect_type="odd")
    check("pad", rand(2, n), ((1, 3), width), mode, reflect_type="odd")


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("width", [(0, 1), (4, 2), (11, 12)])
def test_pad_wrap_edge_long(n, width):
    check("pad", rand(n, 2), (width, (1, 1)), "wrap")
    check("pad", rand(n, 2), (width, (3, 1)), "edge")


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_dtypes(mode, dtype):
    check("pad", sample((3, 2), dtype), ((4, 1), (2, 3)), mode)
    if mode in ("reflect", "symmetric"):
        check("pad", sample((3, 2), dtype), ((4, 1), (2, 3)), mode, reflect_type="odd")


def test_pad_per_axis_widths():
    x = sample((2, 3, 4), np.float64)
    for mode in ["constant", "edge", "reflect", "symmetric", "wrap"]:
        check("pad", x, ((1, 2), (0, 3), (4, 1)), mode)
        check("pad", x, np.array([[1, 2], [0, 3], [4, 1]]), mode)
        check("pad", x, [[1], [2], [0]], mode)
        check("pad", x, {1: (2, 1), -1: 3}, mode)


def test_pad_constant_values():
    x = sample((2, 3), np.float32)
    check("pad", x, 2, constant_values=1.5)
    check("pad", x, 2, constant_values=(-1, 4))
    check("pad", x, ((1, 2), (3, 1)), constant_values=((1, 2), (3, 4)))
    check("pad", x, ((1, 2), (3, 1)), constant_values=[[7], [8]])
    check("pad", x, 1, constant_values=np.array([5.0]))
    check("pad", np.arange(6).reshape(2, 3), 1, constant_values=2.7)
    check("pad", np.arange(6).reshape(2, 3), 1, constant_values=((1, 2), (3, 4)))
    check("pad", sample((2, 2, 2), np.float64), 1, constant_values=((1, 2), (3, 4), (5, 6)))
    assert cnp.pad(x, 1, "empty").shape == (4, 5)  # NumPy leaves 'empty' uninitialised


def test_pad_other_modes():
    x = np.arange(1.0, 7.0).reshape(2, 3) ** 2
    for mode in ["maximum", "minimum", "mean"]:
        check("pad", x, ((1, 2), (2, 1)), mode)
        check("pad", x, ((1, 2), (2, 1)), mode, stat_length=1)
        check("pad", x, 2, mode, stat_length=((1, 2), (2, 3)))
        check("pad", np.arange(5), (2, 3), mode, stat_length=2)
    check("pad", x, ((1, 2), (2, 1)), "linear_ramp")
    check("pad", x, ((1, 2), (2, 1)), "linear_ramp", end_values=(10.0, -3.0))
    check("pad", np.arange(4), 2, "linear_ramp", end_values=(10, -3))
    check("pad", np.arange(4), (3, 4), "linear_ramp", end_values=(-7, 9))


def test_pad_edge_cases():
    check("pad", np.array(3.0), 2)
    check("pad", np.array(3.0), 2, "edge")
    check("pad", [1, 2, 3], 2, "reflect")
    check("pad", np.zeros((0, 2)), ((0, 0), (1, 1)), "edge")
    check("pad", np.zeros((0, 2)), 1)


def test_pad_errors():
    x = np.arange(3.0)
    check_raises("pad", x, -1)
    check_raises("pad", x, (1, -1))
    check_raises("pad", x, 1.5)
    check_raises("pad", x, [])
    check_raises("pad", x, 2, "foo")
    check_raises("pad", x, 2, "edge", constant_values=3)
    check_raises("pad", x, 2, "constant", reflect_type="odd")
    check_raises("pad", np.ones((2, 2)), ((1, 2), (3, 4), (5, 6)))
    check_raises("pad", np.ones(0), 1, "edge")
    check_raises("pad", np.ones(0), 1, "wrap")


# --- diagonals and triangles --------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 3])
@pytest.mark.parametrize("k", [-4, -1, 0, 2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_diag_1d(n, k, dtype):
    check("diag", sample((n,), dtype), k)
    check("diagflat", sample((n,), dtype), k)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (0, 3)])
@pytest.mark.parametrize("k", [-5, -1, 0, 1, 3])
def test_diag_2d(shape, k):
    check("diag", sample(shape, np.float32), k)
    check("diagflat", sample(shape, np.int32), k)


def test_diag_errors():
    check_raises("diag", np.ones((2, 2, 2)))
    check_raises("diag", np.array(1.0))


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (4, 1, 3, 2)])
@pytest.mark.parametrize("offset", [-2, 0, 1, 5])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (-1, 0), (0, -1), (1, -1)])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_, np.complex64])
@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_diagonal_trace(shape, offset, axes, dtype):
    x = sample(shape, dtype)
    nd = len(shape)
    if axes[0] % nd == axes[1] % nd:
        check_raises("diagonal", x, offset, *axes)
        return
    check("diagonal", x, offset, *axes)
    check("trace", x, offset, *axes)
    check("trace", x, offset, *axes, dtype=np.float64)


def test_diagonal_errors():
    check_raises("diagonal", np.ones(3))
    check_raises("diagonal", np.ones((2, 2)), 0, 1, 1)
    check_raises("diagonal", np.ones((2, 2)), 0, 0, 2)
    check_raises("trace", np.ones(3))
    with pytest.raises(TypeError):
        cnp.trace(np.ones((2, 2)), out=np.zeros(()))


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(3,), (3, 3), (2, 4), (4, 2), (2, 3, 4), (2, 1, 3, 3)])
@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_tril_triu(name, shape, k, dtype):
    check(name, sample(shape, dtype), k)


def test_tril_errors():
    check_raises("tril", np.array(1.0))
    check_raises("triu", np.array(1.0))


# --- take, take_along_axis -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("indices", [0, -1, [1, 0, 1], [[0, 1], [-2, 1]], np.array(1),
                                     np.array([], np.intp)])
def test_take(shape, axis, indices):
    x = sample(shape, np.float32)
    check("take", x, indices, axis)
    check("take", x, indices, axis=axis, mode="raise")


@pytest.mark.parametrize("mode", ["wrap", "clip"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_take_modes(mode, axis):
    x = sample((3, 4), np.int32)
    idx = np.array([[-7, -1, 0], [3, 4, 11]])
    check("take", x, idx, axis, mode=mode)


def test_take_misc():
    check("take", [4, 5, 6], [2, 0])
    check("take", np.arange(3), [True, False])
    check("take", np.arange(3), [1.7])
    check("take", np.zeros((0, 3)), [], 0, mode="wrap")


def test_take_errors():
    x = np.arange(12.0).reshape(3, 4)
    check_raises("take", x, 12)
    check_raises("take", x, [0, 3], axis=0)
    check_raises("take", x, [-5], axis=1)
    check_raises("take", x, 0, axis=2)
    check_raises("take", x, 0, mode="foo")
    check_raises("take", np.zeros((0, 3)), [0], 0, mode="wrap")
    check_raises("take", np.zeros((0, 3)), [0], 0, mode="clip")
    with pytest.raises(TypeError):
        cnp.take(x, 0, out=np.zeros(()))


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_take_along_axis(shape, axis, dtype):
    x = sample(shape, dtype)
    if axis is None:
        idx = RNG.integers(-x.size, x.size, size=(7,))
    else:
        ax = axis % len(shape)
        ishape = list(shape)
        ishape[ax] = 6
        idx = RNG.integers(-shape[ax], shape[ax], size=ishape)
    check("take_along_axis", x, idx, axis)
    if axis is not None and len(shape) > 1:
        b = list(idx.shape)
        b[(ax + 1) % len(shape)] = 1
        check("take_along_axis", x, idx[tuple(slice(0, d) for d in b)], axis=axis)


def test_take_along_axis_errors():
    x = rand(3, 4)
    check_raises("take_along_axis", x, np.zeros((3, 1)), 1)
    check_raises("take_along_axis", x, np.zeros(3, np.intp), 1)
    check_raises("take_along_axis", x, np.zeros((3, 1), np.intp), None)
    check_raises("take_along_axis", x, np.zeros((3, 1), np.intp), 2)
    check_raises("take_along_axis", x, np.full((3, 1), 4), 1)


# --- sort, argsort --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 4), (0, 3)])
@pytest.mark.parametrize("axis", [-1, 0, None, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_, np.complex128])
def test_sort_argsort(shape, axis, dtype):
    x = sample(shape, dtype)
    if dtype in (np.int32, np.bool_):
        x = (x % 3 if dtype is np.int32 else x)  # ties
    if axis is not None and not -len(shape) <= axis < len(shape):
        check_raises("sort", x, axis)
        check_raises("argsort", x, axis)
        return
    check("sort", x, axis)
    check("argsort", x, axis, kind="stable")
    check("sort", x, axis=axis, kind="quicksort")
    check("sort", x, axis=axis, stable=True)
    check("argsort", x, axis=axis, stable=True)


def test_sort_nan_and_ties():
    x = np.array([3.0, np.nan, 1.0, 3.0, -np.inf, 1.0, np.nan])
    check("sort", x)
    check("argsort", x, kind="stable")


def test_sort_descending():
    x = np.array([[3, 1, 2, 1], [0, 5, 5, 4]], np.float32)
    np.testing.assert_array_equal(cnp.sort(x, descending=True), -np.sort(-x, kind="stable"))
    np.testing.assert_array_equal(cnp.argsort(x, axis=1, descending=True),
                                  [[0, 2, 1, 3], [1, 2, 3, 0]])
    np.testing.assert_array_equal(cnp.argsort(x, axis=0, descending=True),
                                  [[0, 1, 1, 1], [1, 0, 0, 0]])


def test_sort_scalar_and_errors():
    check("argsort", np.array(3.0))
    check("sort", np.array(3.0), None)
    check_raises("sort", np.array(3.0))
    check_raises("sort", np.arange(3), kind="foo")
    check_raises("sort", np.arange(3), kind="stable", stable=True)
    check_raises("repeat", np.array(1.0), 2, axis=1)
    check_raises("argsort", np.arange(3), order="x")
    check("sort", [3, 1, 2])


# --- select, append ---------------------------------------------------------------------------------

def test_select():
    x = np.arange(10.0)
    check("select", [x < 3, x > 5], [x, x ** 2])
    check("select", [x < 3, x > 5], [x, x ** 2], 42)
    check("select", [x < 3, x < 5], [np.float32(1), np.ones(10, np.float32)], default=np.nan)
    check("select", [np.array([True, False])], [np.float32(1)], default=np.float32(0))
    check("select", [np.array([True, False])], [np.ones(2, np.float32)])
    check("select", [np.array([[True], [False]]), np.array([True, False, True])],
          [1, 2.5], default=-1)
    check("select", [np.array(True)], [3])
    check("select", [x > 2], [1j * x])


def test_select_errors():
    check_raises("select", [], [])
    check_raises("select", [np.array([True])], [1, 2])
    check_raises("select", [np.array([1])], [np.ones(1)])
    check_raises("select", [np.ones(3, bool)], [np.ones(2)])


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_append(axis):
    a, b = rand(2, 3).astype(np.float32), rand(2, 3)
    check("append", a, b, axis)
    check("append", a, a, axis=axis)
    if axis is None:
        check("append", a, 1.0)
        check("append", [1, 2], [[3], [4]])
        check("append", np.arange(3, dtype=np.int32), 5)


def test_append_errors():
    check_raises("append", np.ones((2, 2)), np.ones(3), 0)
    check_raises("append", np.ones((2, 2)), np.ones((2, 3)), 0)
    check_raises("append", np.ones((2, 2)), np.ones((2, 3)), 2)


# --- index conversions -------------------------------------------------------------------------------

def test_unravel_ravel_index():
    check("unravel_index", 5, (2, 3))
    check("unravel_index", np.array([0, 4, 5]), (2, 3), order="F")
    check("unravel_index", [[1, 7], [3, 0]], (2, 2, 2))
    check("ravel_multi_index", ([1], [2]), (2, 3))
    check("ravel_multi_index", (np.array([1, 1]), np.array([2, 0])), (2, 3), order="F")
    check("ravel_multi_index", (np.array([5, -1]), np.array([2, 7])), (2, 3), mode="wrap")
    check("ravel_multi_index", (np.array([5, -1]), np.array([2, 7])), (2, 3), mode="clip")
    check_raises("unravel_index", 10, (2, 3))
    check_raises("ravel_multi_index", (5, 1), (2, 3))


# --- eager results are plain NumPy arrays ------------------------------------------------------

def test_eager_results_are_numpy():
    x = rand(3, 4)
    for out in [cnp.flip(x), cnp.roll(x, 1), cnp.pad(x, 1, "reflect"), cnp.tile(x, 2),
                cnp.repeat(x, 2), cnp.diag(x[0]), cnp.tril(x), cnp.sort(x), cnp.take(x, [1]),
                cnp.select([x > 0], [x]), cnp.rot90(x), cnp.hstack([x, x])]:
        assert type(out) is np.ndarray


# --- derivatives (order 2, forward and reverse) ---------------------------------------------------

X = np.random.default_rng(1).standard_normal((3, 4))
V = np.random.default_rng(2).standard_normal(5)
T3 = np.random.default_rng(3).standard_normal((2, 3, 4))

GRAD_CASES = {
    "atleast_1d": (lambda x: cnp.atleast_1d(x * x), np.array(0.7)),
    "atleast_2d": (lambda x: cnp.atleast_2d(x * x), V),
    "atleast_3d": (lambda x: cnp.atleast_3d(x * x), X),
    "hstack": (lambda x: cnp.hstack([x, x * x, 2.0]), V),
    "hstack_2d": (lambda x: cnp.hstack([x, x * x]), X),
    "vstack": (lambda x: cnp.vstack([x, x[0] * x[1]]), X),
    "dstack": (lambda x: cnp.dstack([x, x * x]), X),
    "column_stack": (lambda x: cnp.column_stack([x, x * x, np.ones(5)]), V),
    "block": (lambda x: cnp.block([[x, x * x], [np.ones((1, 4)), x[:1]]]), X),
    "split": (lambda x: cnp.split(x * x, [1, 3], axis=1)[1], X),
    "split_all": (lambda x: cnp.concatenate(cnp.split(x * x, 2, axis=1)[::-1], 0), X),
    "array_split": (lambda x: cnp.array_split(x * x, 3)[2], V),
    "hsplit": (lambda x: cnp.hsplit(x * x, 2)[0], X),
    "vsplit": (lambda x: cnp.vsplit(x * x, [1])[1], X),
    "dsplit": (lambda x: cnp.dsplit(x * x, 2)[1], T3),
    "tile": (lambda x: cnp.tile(x * x, (2, 1, 3)), X),
    "tile_1d": (lambda x: cnp.tile(x * x, 3), V),
    "repeat_int": (lambda x: cnp.repeat(x * x, 3, axis=1), X),
    "repeat_per_element": (lambda x: cnp.repeat(x * x, [1, 0, 2], axis=0), X),
    "repeat_flat": (lambda x: cnp.repeat(x * x, 2), X),
    "flip": (lambda x: cnp.flip(x * x, (0, 1)) * x, X),
    "flip_none": (lambda x: cnp.flip(x * x) * x, T3),
    "fliplr": (lambda x: cnp.fliplr(x * x) * x, X),
    "flipud": (lambda x: cnp.flipud(x * x) * x, X),
    "rot90": (lambda x: cnp.rot90(x * x, 1), X),
    "rot90_3": (lambda x: cnp.rot90(x * x, 3, axes=(2, 0)), T3),
    "rot90_2": (lambda x: cnp.rot90(x * x, 2), X),
    "roll": (lambda x: cnp.roll(x * x, (1, -2), (0, 1)) * x, X),
    "roll_flat": (lambda x: cnp.roll(x * x, 5) * x, X),
    "pad_constant": (lambda x: cnp.pad(x * x, ((1, 2), (0, 1)), constant_values=1.5), X),
    "pad_constant_pairs": (lambda x: cnp.pad(x * x, ((1, 2), (0, 1)),
                                             constant_values=((1, 2), (3, 4))), X),
    "pad_constant_traced": (lambda x: cnp.pad(x * x, 1, constant_values=x[0, 1]), X),
    "pad_constant_traced_pairs": (lambda x: cnp.pad(x * x, 1, constant_values=x[:2, :2]), X),
    "pad_edge": (lambda x: cnp.pad(x * x, 2, "edge"), X),
    "pad_reflect": (lambda x: cnp.pad(x * x, (2, 5), "reflect"), X),
    "pad_symmetric": (lambda x: cnp.pad(x * x, (2, 5), "symmetric"), X),
    "pad_reflect_odd": (lambda x: cnp.pad(x * x, (2, 7), "reflect", reflect_type="odd"), X),
    "pad_symmetric_odd": (lambda x: cnp.pad(x * x, (2, 7), "symmetric", reflect_type="odd"),
                          X),
    "pad_wrap": (lambda x: cnp.pad(x * x, (2, 7), "wrap"), X),
    "pad_linear_ramp": (lambda x: cnp.pad(x * x, (2, 3), "linear_ramp", end_values=(1., 2.)),
                        X),
    "pad_mean": (lambda x: cnp.pad(x * x, (2, 3), "mean", stat_length=2), X),
    "pad_maximum": (lambda x: cnp.pad(x * x, (2, 3), "maximum"), X),
    "diag_1d": (lambda x: cnp.diag(x * x, -1), V),
    "diag_2d": (lambda x: cnp.diag(x * x, 1), X),
    "diagflat": (lambda x: cnp.diagflat(x * x, 1), X),
    "diagonal": (lambda x: cnp.diagonal(x * x, 0, 2, 0), T3),
    "diagonal_offset": (lambda x: cnp.diagonal(x * x, -1), X),
    "trace": (lambda x: cnp.trace(x * x, 1), X),
    "trace_3d": (lambda x: cnp.trace(x * x, 0, 1, 2), T3),
    "tril": (lambda x: cnp.tril(x * x, -1), X),
    "triu_stacked": (lambda x: cnp.triu(x * x, 1), T3),
    "take": (lambda x: cnp.take(x * x, [[0, 1], [1, 1]], 1), X),
    "take_flat": (lambda x: cnp.take(x * x, [0, 5, 5, -1]), X),
    "take_wrap": (lambda x: cnp.take(x * x, [5, -7, 1], None, mode="wrap"), X),
    "take_clip": (lambda x: cnp.take(x * x, [5, -7, 1], 0, mode="clip"), X),
    "take_along_axis": (lambda x: cnp.take_along_axis(x * x, np.array([[0, 2, 2]]), 1), X),
    "sort": (lambda x: cnp.sort(x * x, 0), X),
    "sort_last": (lambda x: cnp.sort(x * x), T3),
    "sort_flat": (lambda x: cnp.sort(x * x, None), X),
    "sort_descending": (lambda x: cnp.sort(x * x, descending=True), X),
    "select": (lambda x: cnp.select([x > 0, x < -0.5], [x * x, x], default=x * 3), X),
    "select_scalar_choice": (lambda x: cnp.select([x > 0], [1.0], default=x * x), X),
    "append": (lambda x: cnp.append(x * x, x), X),
    "append_axis": (lambda x: cnp.append(x * x, x[:1], axis=0), X),
    "methods": (lambda x: x.repeat(2, 1).diagonal() * x.take([1, 2, 0]) + x.trace()
                + x[0].take(x.argsort(None)[:3] % 4), X),
    "float32": (lambda x: cnp.pad(cnp.sort(cnp.tile(x * x, 2), None), 2, "reflect"),
                X.astype(np.float32)),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_grads(name):
    import chainrule as cr
    f, x = GRAD_CASES[name]
    cr.test_util.check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def test_grad_dtypes_and_values():
    import chainrule as cr
    x = X.astype(np.float32)
    g = cr.grad(lambda x: cnp.sum(cnp.sort(x, 0) * np.arange(4.0, dtype=np.float32)))(x)
    assert g.dtype == np.float32
    # the derivative of sort follows the permutation
    want = np.zeros_like(x)
    np.put_along_axis(want, np.argsort(x, 0, kind="stable"), np.arange(4.0), 0)
    np.testing.assert_allclose(g, want)
    g = cr.grad(lambda x: cnp.sum(cnp.repeat(x, [1, 0, 3], axis=0)))(X)
    np.testing.assert_allclose(g, np.repeat(np.array([1.0, 0.0, 3.0])[:, None], 4, 1))
    g = cr.grad(lambda x: cnp.sum(cnp.pad(x, 3, "wrap")))(V)
    np.testing.assert_allclose(g, np.bincount(np.arange(-3, 8) % 5).astype(float))
    g = cr.grad(lambda c: cnp.sum(cnp.pad(X, 1, constant_values=c)))(2.0)
    np.testing.assert_allclose(g, 5 * 6 - 3 * 4)


def test_tracer_sort_method():
    import chainrule as cr
    def f(x):
        assert x.sort(0) is None   # in place, as ndarray.sort
        return (x[-1] * np.arange(4.0)).sum()
    g = cr.grad(f)(X)
    want = np.zeros_like(X)
    want[np.argmax(X, 0), np.arange(4)] = np.arange(4.0)
    np.testing.assert_allclose(g, want)
    np.testing.assert_array_equal(cr.jvp(lambda x: x.argsort(axis=0), (X,), (X,))[0],
                                  np.argsort(X, 0))


def test_argsort_has_no_derivative():
    import chainrule as cr
    g = cr.grad(lambda x: cnp.sum(x * cnp.argsort(x)))(V)
    np.testing.assert_allclose(g, np.argsort(V))


# --- nonzero / flatnonzero / argwhere with a static size ---------------------------------------


def _padded(idx, size, fill):
    out = np.full(size, fill, np.int64)
    k = min(size, len(idx))
    out[:k] = idx[:k]
    return out


@pytest.mark.parametrize("size", [0, 2, 3, 7])
def test_nonzero_with_static_size_pads_or_truncates_like_jax(size):
    a = np.array([[0., 3., 0.], [4., 0., 5.]])
    want = [_padded(i, size, -1) for i in np.nonzero(a)]
    for fn in (lambda x: cnp.nonzero(x, size=size, fill_value=-1),
               cr.jit(lambda x: cnp.nonzero(x, size=size, fill_value=-1))):
        got = fn(a)
        assert len(got) == 2
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(cnp.flatnonzero(a, size=size),
                                  _padded(np.flatnonzero(a), size, 0))
    np.testing.assert_array_equal(cr.jit(lambda x: cnp.argwhere(x, size=size))(a),
                                  np.stack([_padded(i, size, 0) for i in np.nonzero(a)], 1)
                                  .reshape(size, 2))


def test_nonzero_with_size_under_vmap_and_grad():
    rows = np.array([[0., 3., 0., 1.], [4., 0., 5., 6.], [0., 0., 0., 0.]])
    got = cr.vmap(lambda r: cnp.flatnonzero(r, size=3, fill_value=9))(rows)
    want = np.stack([_padded(np.flatnonzero(r), 3, 9) for r in rows])
    np.testing.assert_array_equal(got, want)
    # gathering the selected entries differentiates, also under jit
    f = lambda x: (x[cnp.nonzero(x > 0.5, size=2)] ** 2).sum()  # noqa: E731
    x = np.array([0.1, 0.7, 0.2, 0.9, 0.8])
    np.testing.assert_allclose(cr.grad(f)(x), [0, 1.4, 0, 1.8, 0])
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), [0, 1.4, 0, 1.8, 0])


def test_nonzero_size_errors_are_clear():
    with pytest.raises(TypeError, match="size must be a non-negative Python int"):
        cnp.nonzero(np.ones(3), size=2.0)
    with pytest.raises(ValueError, match="fill_value needs size"):
        cnp.nonzero(np.ones(3), fill_value=0)
    with pytest.raises(cr.core.ConcretizationError, match="size="):
        cr.jit(lambda x: cnp.nonzero(x))(np.ones(3))
