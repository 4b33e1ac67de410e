"""jit(f)(x) equals f(x) evaluated eagerly, bit for bit (signs of zeros, NaN positions), under
every kernel policy: regressions found by testing jit against eager evaluation."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.compiler import options

KERNELS = ["numpy", "numexpr", "auto"]


@pytest.fixture(params=KERNELS)
def kernel(request):
    old = options.kernel
    options.kernel = request.param
    yield request.param
    options.kernel = old


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    if a.dtype.kind in "fc":
        for part in ((a.real, b.real), (a.imag, b.imag)) if a.dtype.kind == "c" else ((a, b),):
            np.testing.assert_array_equal(np.isnan(part[0]), np.isnan(part[1]))
            np.testing.assert_array_equal(np.signbit(part[0]), np.signbit(part[1]))


def check(f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = f(*args)
        got = cr.jit(f)(*args)
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for w, g in zip(want, got):
            assert_same(w, g)
    else:
        assert_same(want, got)


# --- simplifier: only IEEE identities ----------------------------------------------------------

Z = np.array([np.inf + 1j, 1 + np.inf * 1j, np.nan + 0j, -0.0 - 0.0j, 2 - 3j])
F = np.array([-0.0, 0.0, -np.inf, np.inf, np.nan, 1.5, -2.0])


@pytest.mark.parametrize("f", [
    lambda x: x * 1, lambda x: 1 * x, lambda x: x / 1, lambda x: x * True,
    lambda x: cnp.multiply(x, 1), lambda x: x * 1.0, lambda x: x / 1.0, lambda x: x ** 1,
    lambda x: x + 0.0, lambda x: x - 0.0, lambda x: x + (-0.0), lambda x: 0.0 + x,
    lambda x: -(-x), lambda x: x + 0, lambda x: x - 0])
@pytest.mark.parametrize("x", [Z, Z.astype(np.complex64), F, F.astype(np.float32)],
                         ids=["c128", "c64", "f64", "f32"])
def test_unit_identities(kernel, f, x):
    check(f, x)


# --- power: NumPy's fast paths for a scalar exponent -------------------------------------------

P = np.array([-np.inf, -0.0, 0.0, np.inf, np.nan, -2.0, 2.0, 3e-300, 1e200, 0.1, 7.0])


@pytest.mark.parametrize("e", [2, 0.5, -1, 1, 0, 2.0, -1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_power_constant_exponent(kernel, e, dtype):
    with np.errstate(over="ignore"):
        x = P.astype(dtype)
    check(lambda x: (x * 2) ** e, x)
    check(lambda x: cnp.power(x * 2, e) + 1, np.tile(x, 300))


@pytest.mark.parametrize("e", [0.5, 2.0, -1.0])
def test_power_array_exponent(kernel, e):
    # a constant array exponent takes NumPy's general loop (SVML or C pow: the same up to
    # the last bit, so here values where pow is exact), not the scalar fast path
    x = np.array([-np.inf, -0.0, 0.0, np.inf, np.nan, -2.0, 2.0, 4.0])
    full = np.full(x.shape, e)
    check(lambda x: (x * 2) ** full, x)
    check(lambda x: (x * 2) ** cnp.full(x.shape, e), x)
    check(lambda x, p: (x * 2) ** p, x, e)


# --- numexpr constants out of an integer kernel's range ----------------------------------------

@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_out_of_range_int_comparison(kernel, dtype):
    x = np.arange(-3, 1000, dtype=dtype)
    check(lambda x: (x * 2) < 2 ** 40, x)
    check(lambda x: cnp.where(x + 1 == 2 ** 33, 1, 0), x)
    check(lambda x: (x - 1) != -2 ** 63, x)


# --- results are distinct arrays, and never overwritten while reachable ------------------------

def test_repeated_output_is_a_separate_array(kernel):
    x = np.ones(3)
    o1, o2 = cr.jit(lambda x: (x * 2, x * 2))(x)
    o1[0] = 99
    assert_same(o2, np.full(3, 2.0))
    a, b, c = cr.jit(lambda x: (x + 1, x + 1, cr.lax.stop_gradient(x + 1)))(x)
    a[0] = 99
    b[1] = 98
    assert_same(c, np.full(3, 2.0))
    assert a[1] == 2 and b[0] == 2
    p, q = cr.jit(lambda x: (x, x))(x)
    p[0] = 99
    assert q[0] == 1 and x[0] == 1


def test_reused_output_not_held_by_weakref(kernel):
    import weakref
    old = options.reuse_outputs, options.reuse_min_bytes
    options.reuse_outputs, options.reuse_min_bytes = True, 1 << 10
    try:
        x = np.ones((2000, 1000))
        for f in (cr.jit(lambda x: x * 2 + 1),
                  cr.jit(lambda xs: cr.lax.scan(lambda c, x: (c + x, x * 2.0),
                                                np.zeros(1000), xs))):
            ref = weakref.ref(cr.tree_util.tree_leaves(f(x))[-1])
            first = None if ref() is None else ref().copy()
            f(x + 1)
            assert ref() is None or np.array_equal(ref(), first)
    finally:
        options.reuse_outputs, options.reuse_min_bytes = old


# --- export: the standalone module computes what jit computes ----------------------------------

def exported(f, *args):
    """The function of cr.export(f, *args), imported from a temporary directory in a fresh
    namespace (NumPy only)."""
    import importlib.util
    import sys
    import tempfile
    src = cr.export(f, *args, name="g")
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/exported_{abs(hash(src))}.py"
        with open(path, "w") as fh:
            fh.write(src)
        spec = importlib.util.spec_from_file_location(f"exported_{abs(hash(src))}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    assert "chainrule" not in src.replace("chainrule.export", "")
    assert not any(k.startswith("chainrule") for k in vars(mod) if k != "__name__")
    del sys
    return mod.g


def check_export(f, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = cr.tree_util.tree_leaves(cr.jit(f)(*args))
        got = exported(f, *args)(*cr.tree_util.tree_leaves(args))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert_same(w, g)


# --- logaddexp: one formula eagerly, under jit and exported ------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logaddexp(kernel, dtype):
    r = np.random.default_rng(0)
    x = np.log(r.uniform(0.3, 0.7, 5000))
    y = np.log1p(-np.exp(x))              # logaddexp(x, y) is near 0: cancellation
    x = np.concatenate([x, [np.inf, -np.inf, np.inf, np.nan, 0.0, -0.0]]).astype(dtype)
    y = np.concatenate([y, [np.inf, -np.inf, -np.inf, 1.0, -0.0, -0.0]]).astype(dtype)
    f = lambda x, y: cnp.logaddexp(x * 2, y + y) - 1
    check(f, x, y)
    check(lambda x: cnp.logaddexp(0.0, x), x)
    check(lambda x, y: cnp.logaddexp(x, y), x, y)
    check_export(f, x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert_same(exported(f, x, y)(x, y)[0], f(x, y))


# --- export of cond, switch and while_loop -----------------------------------------------------

def test_export_control_flow():
    from chainrule import lax
    x = np.array([-0.0, 0.5, 2.0, np.inf])

    def loop(x, n):
        return lax.while_loop(lambda c: c[1] < n,
                              lambda c: (c[0] * 1.5 + cnp.sin(c[0]), c[1] + 1), (x, 0))

    def branch(p, x):
        return lax.cond(p > 0, lambda x: x * 2, lambda x: cnp.cos(x) - 1, x)

    def switch(i, x):
        return lax.switch(i, [lambda x: x + 1, lambda x: (x * x, x)[0], lambda x: -x], x)

    def nested(x):
        def body(c):
            v, k = c
            v = lax.cond(k % 2 == 0, lambda v: v * 0.5, lambda v: v + 1.0, v)
            return v, k + 1
        return lax.while_loop(lambda c: c[1] < 7, body, (x, 0))[0]

    def unchanged(p, x):
        return lax.cond(p > 0, lambda x: x, lambda x: x + 1, x), x

    for n in (0, 3):
        check(loop, x, n)
        check_export(loop, x, n)
    for p in (-1.0, 1.0):
        check(branch, p, x)
        check_export(branch, p, x)
        out = exported(unchanged, p, x)(p, x)
        out[0][0] = 99
        assert x[0] == 0
    for i in (-1, 0, 1, 2, 5):
        check(switch, i, x)
        check_export(switch, i, x)
    check(nested, x)
    check_export(nested, x)


# --- Python int arguments that do not fit the array's integer dtype ----------------------

@pytest.mark.parametrize("dt,n", [(np.int8, 300), (np.int8, -129), (np.uint8, -1),
                                  (np.uint8, 256), (np.int16, 2**15), (np.int32, 2**40),
                                  (np.uint64, -1)])
def test_out_of_range_python_int_argument_raises_as_numpy(dt, n):
    import re
    x = np.ones(3, dt)
    ops = [lambda x, n: x * n, lambda x, n: x + n, lambda x, n: cnp.maximum(x, n)]
    for op in ops:
        with pytest.raises(OverflowError) as eager:
            op(x, n)
        with pytest.raises(OverflowError, match=re.escape(str(eager.value))):
            cr.jit(op)(x, n)


@pytest.mark.parametrize("dt,n", [(np.int8, 127), (np.int8, -128), (np.uint8, 255),
                                  (np.uint8, 0), (np.int32, -2**31)])
def test_in_range_python_int_argument_matches_eager(dt, n):
    x = np.arange(3).astype(dt)
    f = cr.jit(lambda x, n: x * n + n)
    with np.errstate(all="ignore"):
        want = x * n + n
    got = f(x, n)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    # a later call with an out-of-range value raises (same trace, checked at run time)
    with pytest.raises(OverflowError, match="out of bounds"):
        f(x, 10**12)
