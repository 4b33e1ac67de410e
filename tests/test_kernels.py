"""Fused kernels and generated code (compiler/kernels.py, codegen.py, staging.py's call path).

numexpr programs are checked operation by operation against the NumPy code for the same
program on inputs full of special values (signed zeros, infinities, NaN, subnormals, huge
values): exactly for IEEE-exact operations, to a few ulps for transcendental functions (the C
library's against NumPy's SIMD versions); the cost model's choices; the blocked NumPy
kernels and output-buffer reuse (values, and never aliasing a result the caller holds).
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.compiler import kernels, options, passes
from chainrule.prims.elementwise import zmul_p, _zmul
from chainrule.transforms import staging

needs_numexpr = pytest.mark.skipif(not kernels.available(),
                                   reason="numexpr is not installed or failed its self-test")

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.7, -2.5, 100.0, 1e300, -1e300, 1e-310,
           np.inf, -np.inf, np.nan]


def grid(dtype, n_random=48, seed=0):
    """(x, y): every pair of special values plus random normals, as two flat arrays."""
    s = np.array(SPECIAL, dtype=np.float64)
    x, y = np.meshgrid(s, s)
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((2, n_random)) * 3
    with np.errstate(over="ignore"):
        return (np.concatenate([x.ravel(), r[0]]).astype(dtype),
                np.concatenate([y.ravel(), r[1]]).astype(dtype))


def run_both(f, *args):
    """(source under kernel="numexpr", its result, the result of the NumPy code)."""
    with options.using(kernel="numexpr"):
        jf = cr.jit(f)
        src = jf.source(*args)
        with np.errstate(all="ignore"):
            got = jf(*args)
    with options.using(kernel="numpy"):
        with np.errstate(all="ignore"):
            want = cr.jit(f)(*args)
    return src, got, want


def assert_same(got, want, exact):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, want)
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(np.isinf(got[ok]), np.isinf(want[ok]))
    if exact:
        np.testing.assert_array_equal(got[ok], want[ok])
    else:
        tol = 1e-6 if got.dtype in (np.float32, np.complex64) else 1e-13
        fin = ok & np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=tol, atol=1e-300)


# --- every operation against NumPy -------------------------------------------------------------

EXACT_BINARY = [cnp.add, cnp.subtract, cnp.multiply, cnp.divide, cnp.copysign, cnp.nextafter,
                cnp.fmod, cnp.maximum, cnp.minimum]
ROUNDED_BINARY = [cnp.power, cnp.arctan2, cnp.hypot]
EXACT_UNARY = [cnp.negative, cnp.sqrt, cnp.absolute, cnp.floor, cnp.ceil, cnp.trunc, cnp.rint,
               cnp.sign]
ROUNDED_UNARY = [cnp.sin, cnp.cos, cnp.tan, cnp.arcsin, cnp.arccos, cnp.arctan, cnp.sinh,
                 cnp.cosh, cnp.tanh, cnp.arcsinh, cnp.arccosh, cnp.arctanh, cnp.exp,
                 cnp.expm1, cnp.log, cnp.log1p, cnp.log2, cnp.log10]
PREDICATES = [cnp.isnan, cnp.isinf, cnp.isfinite, cnp.signbit]
COMPARISONS = [cnp.less, cnp.less_equal, cnp.greater, cnp.greater_equal, cnp.equal,
               cnp.not_equal]


def _name(f):
    return f.__name__


@needs_numexpr
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", EXACT_BINARY + ROUNDED_BINARY, ids=_name)
def test_binary_operations_match_numpy(op, dtype):
    x, y = grid(dtype)
    src, got, want = run_both(lambda a, b: -op(a, b), x, y)
    assert "one numexpr program" in src, src
    assert_same(got, want, exact=op in EXACT_BINARY)


@needs_numexpr
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", EXACT_UNARY + ROUNDED_UNARY, ids=_name)
def test_unary_operations_match_numpy(op, dtype):
    x, _ = grid(dtype)
    src, got, want = run_both(lambda a: -op(a), x)
    assert "one numexpr program" in src, src
    assert_same(got, want, exact=op in EXACT_UNARY)


@needs_numexpr
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", PREDICATES + COMPARISONS, ids=_name)
def test_predicates_and_comparisons_match_numpy(op, dtype):
    x, y = grid(dtype)
    f = (lambda a, b: cnp.logical_not(op(a))) if op in PREDICATES else \
        (lambda a, b: cnp.logical_not(op(a, b)))
    src, got, want = run_both(f, x, y)
    assert "one numexpr program" in src, src
    assert_same(got, want, exact=True)


@needs_numexpr
def test_where_logical_bitwise_casts_and_weak_scalars():
    x, y = grid(np.float32)
    i = np.arange(-20, 20, dtype=np.int64)
    j = (i * 7) % 5
    cases = [
        (lambda a, b: cnp.where(a > b, a * 2.0, b - 1.0), (x, y)),           # float32 stays
        (lambda a, b: cnp.logical_xor(a > 0, cnp.logical_or(b < 0, a == b)), (x, y)),
        (lambda a, b: cnp.logical_and(~(a > 0), b != 0.5), (x, y)),
        (lambda a, b: (a & b) | (a ^ 3), (i, j)),
        (lambda a, b: ~a + b * 3 - 1, (i, j)),
        (lambda a, b: a / b + 1.0, (i, j + 1)),                             # int / int: float64
        (lambda a, b: a.astype(np.float64) * b, (x, y.astype(np.float64))),  # float32 -> 64
        (lambda a, b: a * 2.5 + b, (x[:40], i)),                            # f32 + i64: f64
    ]
    for f, args in cases:
        src, got, want = run_both(f, *args)
        assert "one numexpr program" in src, src
        assert_same(got, want, exact=True)


@needs_numexpr
def test_complex_arithmetic_parts_and_conjugates():
    rng = np.random.default_rng(1)
    z = (rng.standard_normal(30) + 1j * rng.standard_normal(30))
    w = (rng.standard_normal(30) + 1j * rng.standard_normal(30))
    # complex products may round differently (NumPy's SIMD loops use fused multiply-adds)
    src, got, want = run_both(lambda a, b: cnp.conj(a * b - a) + 2.0 * b, z, w)
    assert "one numexpr program" in src, src
    assert_same(got, want, exact=False)
    src, got, want = run_both(lambda a, b: cnp.real(a * b) - cnp.imag(a) * 3.0, z, w)
    assert "one numexpr program" in src, src
    assert_same(got, want, exact=False)
    src, got, want = run_both(lambda a, b: cnp.conj(a + b) - a, z, w)
    assert_same(got, want, exact=True)


@needs_numexpr
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_safe_multiply_is_elementwise_and_exact(dtype):
    x, y = grid(dtype)
    src, got, want = run_both(lambda a, b: -zmul_p(a, b), x, y)
    assert "one numexpr program" in src, src
    with np.errstate(all="ignore"):
        p = x * y
        ref = -np.where(np.isnan(p) & ((x == 0) | (y == 0)), 0, p).astype(dtype)
    # the elementwise definition, bit for bit (signed zeros included)
    assert_same(got, ref, exact=True)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    # 0 * inf and 0 * nan are 0; everything else as NumPy's (and _zmul's) product
    assert_same(got, want, exact=True)
    finite = np.isfinite(x) & np.isfinite(y)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got[finite], -_zmul(x[finite], y[finite]))


# --- programs: shared values, registers, broadcasts, reductions --------------------------------


@needs_numexpr
def test_long_gradient_kernel_is_one_program_and_matches():
    def f(x):
        for i in range(25):
            x = cnp.sin(x) * 0.9 + cnp.tanh(x) if i % 2 == 0 else cnp.cos(x) + cnp.exp(x) * 0.1
        return x.sum()
    x = np.random.default_rng(1).normal(size=10)
    g = cr.grad(f)
    src, got, want = run_both(g, x)
    assert src.count("= _ne") == 1, src
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(got, g(x), rtol=1e-13)
    with options.using(kernel="auto"):          # long kernel, 10 elements: numexpr wins
        assert "one numexpr program" in cr.jit(g).source(x)


@needs_numexpr
def test_registers_are_reused_and_too_many_live_values_fall_back():
    def chain(x):
        for _ in range(400):
            x = x * 1.0001 + 0.5
        return x
    x = np.linspace(-1, 1, 7)
    src, got, want = run_both(chain, x)
    assert "one numexpr program" in src
    regs = {int(t[1:]) for t in src.replace(";", " ").replace("(", " ").replace(",", " ").split()
            if t.startswith("r") and t[1:].isdigit()}
    assert len(regs) <= 4, sorted(regs)
    assert_same(got, want, exact=True)

    def wide(x):
        ts = [x * float(i) for i in range(300)]   # 300 live values, 300 constants
        return sum(ts[1:], ts[0])
    src, got, want = run_both(wide, x)
    assert "numexpr" not in src                  # over numexpr's 255 registers: NumPy code
    np.testing.assert_array_equal(got, want)


@needs_numexpr
def test_broadcasts_scalars_literals_and_reductions():
    rng = np.random.default_rng(2)
    x, b, c = rng.standard_normal((6, 5)), rng.standard_normal(5), np.float64(0.3)
    cases = [
        (lambda x, b, c: cnp.tanh(x * 2.0 + b) * c - x, (x, b, c)),
        (lambda x, b, c: cnp.broadcast_to(b, (6, 5)) * c + 1.0, (x, b, c)),   # all inputs small
        (lambda x, b, c: cnp.sum(cnp.exp(x) * b, axis=0), (x, b, c)),
        (lambda x, b, c: cnp.max(x * b - c, axis=1, keepdims=True), (x, b, c)),
        (lambda x, b, c: cnp.sum(cnp.broadcast_to(1.0, x.shape) * x - b), (x, b, c)),
    ]
    for f, args in cases:
        src, got, want = run_both(f, *args)
        assert "numexpr program" in src, src
        assert_same(got, want, exact=False)


@needs_numexpr
def test_results_are_fresh_arrays():
    x = np.linspace(0, 1, 9)
    with options.using(kernel="numexpr"):
        f = cr.jit(lambda v: cnp.sin(v) * 2.0 + v)
        a, b = f(x), f(x)
    assert a is not b and not np.shares_memory(a, b) and not np.shares_memory(a, x)


def test_without_numexpr_everything_runs_as_numpy(monkeypatch):
    monkeypatch.setattr(kernels, "_SELF_TEST", [False])
    x = np.linspace(-1, 1, 5)
    g = cr.grad(lambda v: cnp.sum(cnp.sin(v) * cnp.exp(v)))
    with options.using(kernel="numexpr"):
        jg = cr.jit(g)
        src = jg.source(x)
        np.testing.assert_allclose(jg(x), g(x), rtol=1e-14)
    assert "numexpr" not in src


# --- the cost model -----------------------------------------------------------------------------


@needs_numexpr
def test_cost_model_choices():
    def w1(x):
        for i in range(25):
            x = cnp.sin(x) * 0.9 + cnp.tanh(x) if i % 2 == 0 else cnp.cos(x) + cnp.exp(x) * 0.1
        return x

    def plan_for(f, n, dtype=np.float64):
        prog = passes.fuse(staging_raw(f, np.ones(n, dtype)))
        sub = [e for e in prog.eqns if e.prim.name == "fused"][0].params["program"]
        with options.using(kernel="auto"):
            return kernels.plan(sub, {v: f"v{i}" for i, v in enumerate(sub.in_vars)},
                                lambda v: "_k")

    long_small = plan_for(w1, 10)
    assert long_small is not None and long_small.cost[0] < long_small.cost[1] / 5
    assert plan_for(w1, 100_000) is None                       # SIMD math wins on long arrays
    assert plan_for(lambda v: v * v + v * 2.0, 1 << 20, np.float32) is None
    assert plan_for(lambda v: v * v + v, 4) is None            # two cheap calls: NumPy
    with options.using(numexpr_min_size=100):
        assert plan_for(w1, 10) is None


def staging_raw(f, *args):
    old, staging.config.optimize = staging.config.optimize, False
    try:
        return cr.make_program(f)(*args)
    finally:
        staging.config.optimize = old


@needs_numexpr
def test_measure_costs_returns_a_usable_table():
    table = kernels.measure_costs(repeat=1)
    assert set(table) >= {"numpy", "numexpr", "numpy_call", "numexpr_call"}
    for side in ("numpy", "numexpr"):
        assert {("arith", "d"), ("sin", "f")} <= set(table[side])
        assert all(v >= 0 and np.isfinite(v) for v in table[side].values())



# --- the jitted call path -----------------------------------------------------------------------


def test_fast_call_path_keys_on_shapes_and_dtypes():
    traces = []

    def f(x, y):
        traces.append(1)
        return {"s": cnp.sin(x) * y, "t": (x + y,)}
    jf = cr.jit(f)
    a, b = np.linspace(0, 1, 4), np.linspace(1, 2, 4)
    for _ in range(3):
        out = jf(a, b)
    assert len(traces) == 1 and len(jf._fast) == 1
    np.testing.assert_allclose(out["s"], np.sin(a) * b, rtol=1e-15)
    np.testing.assert_array_equal(out["t"][0], a + b)
    out = jf(a.astype(np.float32), b.astype(np.float32))       # new dtypes: a new trace
    assert len(traces) == 2 and out["s"].dtype == np.float32
    out = jf(a[:3], b[:3])                                      # new shapes
    assert len(traces) == 3 and out["t"][0].shape == (3,)
    sub = a.view(type("Sub", (np.ndarray,), {}))                # a subclass: the general path
    out = jf(sub, b)
    assert len(traces) == 3 and len(jf._fast) == 3
    np.testing.assert_array_equal(out["t"][0], a + b)
    single = cr.jit(lambda x: x * 2.0)
    single(a)
    r = single(a)
    assert type(r) is np.ndarray and not np.shares_memory(r, a)


def test_fast_call_path_respects_debug_nans():
    jf = cr.jit(lambda x: cnp.log(x) * 2.0)
    x = np.ones(3)
    jf(x)
    jf(x)
    with cr.debug_nans(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match="log"):
            jf(-x)
    with np.errstate(invalid="ignore"):
        assert np.isnan(jf(-x)).all()


def test_fast_call_path_under_transforms():
    jf = cr.jit(lambda x: cnp.sum(cnp.sin(x) ** 2))
    x = np.linspace(0, 1, 5)
    jf(x)
    jf(x)                                   # the fast entry exists: transforms still trace
    np.testing.assert_allclose(cr.grad(jf)(x), 2 * np.sin(x) * np.cos(x), rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(jf)(np.stack([x, x])), [jf(x)] * 2, rtol=1e-15)


# --- blocked NumPy kernels and result slots -----------------------------------------------------

SMALL_BLOCKS = dict(kernel="numpy", block_min_bytes=1, block_bytes=3 * 8 * 7, reuse_min_bytes=1)


def run_blocked(f, *args):
    """(source with tiny blocks, its result, the unfused eager result)."""
    with options.using(**SMALL_BLOCKS):
        jf = cr.jit(f)
        src = jf.source(*args)
        got = jf(*args)
    with np.errstate(all="ignore"):
        want = f(*args)
    return src, got, want


def test_blocked_kernels_match_eager_bit_for_bit():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((23, 7))               # 23 rows: the last block is partial
    col, row, s = rng.standard_normal((23, 1)), rng.standard_normal(7), np.float64(0.7)
    x32 = x.astype(np.float32)
    cases = [
        (lambda x: x * x + x * 2.0, (x,)),
        (lambda x, c, r, s: cnp.tanh(x * c + r) * s - x, (x, col, row, s)),
        (lambda x, c: cnp.where(x > c, cnp.exp(x), -x) + cnp.broadcast_to(c, x.shape), (x, col)),
        (lambda x, r: cnp.broadcast_to(1.5, x.shape) * x + r * 2.0, (x, row)),
        (lambda x: (x * 2.0 + 1.0).astype(np.float32) * 3.0, (x,)),
        (lambda x: x * x + x * 2.0, (x32,)),
        (lambda x: cnp.sin(x) * x - cnp.cos(x), (rng.standard_normal(61),)),       # 1-D
        (lambda x: cnp.sqrt(cnp.abs(x)) * x + 1.0, (rng.standard_normal((9, 4, 3)),)),  # 3-D
    ]
    for f, args in cases:
        src, got, want = run_blocked(f, *args)
        assert "blocks of" in src and "for " in src, src
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_blocked_gradient_with_zero_safe_products():
    x = np.random.default_rng(4).standard_normal((31, 5))
    g = cr.grad(lambda v: cnp.sum(cnp.where(v > 0, cnp.sqrt(cnp.abs(v)), 0.0) * v))
    src, got, want = run_blocked(g, x)
    assert "blocks of" in src
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).all()


def test_blocked_kernel_golden():
    x = np.ones((40, 3))
    with options.using(**SMALL_BLOCKS):
        src = cr.jit(lambda x: x * x + x * 2.0).source(x)
    body = "\n".join(ln.strip() for ln in src.splitlines()[1:])
    assert body == """# fused kernel: multiply multiply add; 6 blocks of 7 rows
v1 = _cr_take(_slot0, (40, 3), np.float64)
v2 = _cr_take(_slot1, (7, 3), np.float64)
v3 = _cr_take(_slot2, (7, 3), np.float64)
for v4 in range(0, 40, 7):
v5 = v4 + 7
v6 = v2[:40 - v4]
v7 = v3[:40 - v4]
v8 = v0[v4:v5]
np.multiply(v8, v8, out=v6)
np.multiply(v8, 2.0, out=v7)
np.add(v6, v7, out=v1[v4:v5])
_slot0.append(v1)
_slot1.append(v2)
_slot2.append(v3)
return [v1]""", src


def test_result_slots_never_alias_what_the_caller_holds():
    x = np.random.default_rng(5).standard_normal((20, 6))
    with options.using(**SMALL_BLOCKS):
        f = cr.jit(lambda v: cnp.sin(v) * 2.0 + v)
        want = np.sin(x) * 2.0 + x
        r1 = f(x)
        r2 = f(x)                                  # r1 is held: a new array
        assert not np.shares_memory(r1, r2)
        addr = r2.ctypes.data
        del r2
        r3 = f(x)                                  # r2 was dropped: its memory is reused
        assert r3.ctypes.data == addr
        view = r3[:3]
        del r3
        r4 = f(x * 0.5)                            # a view keeps r3 alive: not reused
        assert not np.shares_memory(r4, view)
        np.testing.assert_array_equal(view, want[:3])
        r4.flags.writeable = False
        addr = r4.ctypes.data
        del r4
        r5 = f(x)                                  # read-only now: not written into
        assert r5.ctypes.data != addr
        held = [r5]
        del r5
        r6 = f(x)                                  # held by a list
        assert not np.shares_memory(r6, held[0])
        y = x
        for _ in range(3):                         # feeding results back in
            y = f(y)
        np.testing.assert_allclose(y, (lambda v: np.sin(v) * 2.0 + v)(
            (lambda v: np.sin(v) * 2.0 + v)((lambda v: np.sin(v) * 2.0 + v)(x))), rtol=1e-14)
        for r in (r1, held[0], r6):
            np.testing.assert_array_equal(r, want)


def test_result_slots_off_and_export():
    x = np.random.default_rng(6).standard_normal((20, 6))
    with options.using(**SMALL_BLOCKS, reuse_outputs=False):
        src = cr.jit(lambda v: v * 3.0 - v * v).source(x)
    assert "_cr_take" not in src and "np.empty((20, 6), np.float64)" in src
    with options.using(**SMALL_BLOCKS):
        mod = cr.compiler.export(lambda v: v * 3.0 - v * v, x)
    assert "_cr_take" not in mod and "blocks of" in mod
    ns = {}
    exec(mod, ns)
    np.testing.assert_array_equal(ns["f"](x)[0], x * 3.0 - x * x)


# --- results never alias arguments or constants -------------------------------------------------


def test_view_results_do_not_alias_arguments_or_constants():
    x = np.arange(6.0).reshape(2, 3)
    c = np.linspace(0, 1, 6)
    cases = [lambda v: v.reshape(-1), lambda v: v.T, lambda v: v[0], lambda v: v[:, 1:],
             lambda v: cnp.broadcast_to(v, (4, 2, 3)), lambda v: cnp.real(v),
             lambda v: (c.reshape(2, 3), v * 2.0)]
    for f in cases:
        jf = cr.jit(f)
        got = jf(x)
        for g, w in zip(cr.tree_util.tree_leaves(got), cr.tree_util.tree_leaves(f(x))):
            np.testing.assert_array_equal(g, w)
            assert not np.shares_memory(g, x) and not np.shares_memory(g, c)
    # a view of a new array is returned as it is (no copy)
    src = cr.jit(lambda v: (v * 2.0).reshape(-1)).source(x)
    assert "_cr_fresh(" in src
    mod = cr.compiler.export(lambda v: v.T, x)
    ns = {}
    exec(mod, ns)
    r = ns["f"](x)[0]
    np.testing.assert_array_equal(r, x.T)
    assert not np.shares_memory(r, x)


# --- scan loops in the generated source ---------------------------------------------------------

lax = cr.lax


def close_trees(a, b, rtol=1e-13):
    la, lb = cr.tree_util.tree_leaves(a), cr.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape, (x.dtype, y.dtype, x.shape, y.shape)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-300)


def test_scan_loops_match_eager():
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((5, 3))
    W = rng.standard_normal((3, 3))
    cases = [
        lambda xs: lax.scan(lambda c, x: (cnp.tanh(c @ W + x), c * 2.0), xs[0], xs),
        lambda xs: lax.scan(lambda c, x: (c + x, c), xs[0] * 0, xs, reverse=True),
        lambda xs: lax.scan(lambda c, x: ((c[1], c[0]), x), (xs[0], xs[1]), xs),  # swap
        lambda xs: lax.scan(lambda c, x: ((c[0] + 1, c[1] * x), 0.0), (0, xs[0]), xs),
        lambda xs: lax.scan(lambda c, x: (x, c), xs[0], xs),                  # carry = slice
        lambda xs: lax.scan(lambda c, x: (W[0], x), xs[0], xs),              # carry = const
        lambda xs: lax.scan(lambda c, x: (c, x), xs[0], xs[:0]),             # no steps
        lambda xs: lax.scan(lambda c, x: lax.scan(lambda d, y: (d + y * c, d), c, x), 1.0, xs),
        lambda xs: lax.scan(lambda c, x: (c + cnp.sum(x), None), 0.0, xs, length=5),
        lambda xs: lax.scan(lambda c, x: (c + x, None), W[1], xs),          # accumulates
        lambda xs: lax.scan(lambda c, x: (c * x, None), xs[2], xs),         # into copies
    ]
    xs0, W0 = xs.copy(), W.copy()
    import re
    src = cr.jit(cases[0]).source(xs)           # the y c * 2.0 is written into ys[i]
    assert re.search(r"np\.multiply\(v\d+, 2\.0, out=v\d+\[v\d+\]\)", src), src
    for f in cases:
        jf = cr.jit(f)
        src = jf.source(xs)
        assert "body inlined" in src, src
        close_trees(jf(xs), f(xs))
        close_trees(jf(xs), f(xs))                # again: result slots reused
    np.testing.assert_array_equal(xs, xs0)        # nothing written into inputs or constants
    np.testing.assert_array_equal(W, W0)


def test_scan_results_never_alias_inputs():
    xs = np.random.default_rng(8).standard_normal((4, 3))
    for f in (lambda xs: lax.scan(lambda c, x: (x, c), xs[0], xs)[0],
              lambda xs: lax.scan(lambda c, x: (c, x), xs[1], xs[:0])[0],
              lambda xs: lax.scan(lambda c, x: (c, x), xs, xs)[0]):
        r = cr.jit(f)(xs)
        assert not np.shares_memory(r, xs)


def test_scan_rnn_gradient_and_in_place_accumulation():
    rng = np.random.default_rng(9)
    H, D, T, B = 6, 4, 7, 3
    Wh, Wx, b = rng.standard_normal((H, H)) / 3, rng.standard_normal((D, H)) / 2, rng.normal(
        size=H) * 0.1
    xs, h0 = rng.standard_normal((T, B, D)), np.zeros((B, H))

    def loss(p, xs, h0):
        Wh, Wx, b = p

        def cell(h, x):
            return cnp.tanh(h @ Wh + x @ Wx + b), None
        h, _ = lax.scan(cell, h0, xs)
        return cnp.sum(h * h)

    def loss_loop(p, xs, h0):
        Wh, Wx, b = p
        h = h0
        for x in xs:
            h = cnp.tanh(h @ Wh + x @ Wx + b)
        return cnp.sum(h * h)

    g = cr.jit(cr.grad(loss))
    src = g.source((Wh, Wx, b), xs, h0)
    assert src.count("body inlined") == 2
    # the gradient accumulators are updated in place in the backward loop
    assert any("out=" in ln and ln.split("out=")[1].rstrip(")") in ln.split("(")[1]
               for ln in src.splitlines() if "np.add(" in ln), src
    close_trees(g((Wh, Wx, b), xs, h0), cr.grad(loss_loop)((Wh, Wx, b), xs, h0), rtol=1e-12)
    close_trees(g((Wh, Wx, b), xs, h0), cr.grad(loss)((Wh, Wx, b), xs, h0), rtol=1e-12)


def test_scan_exports_standalone():
    xs = np.random.default_rng(10).standard_normal((6, 2))
    f = lambda xs: lax.scan(lambda c, x: (c * 0.5 + cnp.sin(x), c), xs[0], xs)   # noqa: E731
    mod = cr.compiler.export(f, xs)
    ns = {}
    exec(mod, ns)
    close_trees(ns["f"](xs), cr.tree_util.tree_leaves(f(xs)))


@needs_numexpr
def test_numexpr_kernels_are_safe_to_call_from_several_threads():
    import threading
    import numexpr

    def f(x):
        for _ in range(10):
            x = cnp.sin(x) * 0.5 + cnp.cos(x) * x
        return x
    xs = [np.random.default_rng(i).standard_normal(1000) for i in range(4)]
    want = [f(x) for x in xs]
    old = numexpr.set_num_threads(1)         # numexpr's serial path, run without the GIL
    try:
        with options.using(kernel="numexpr"):
            jf = cr.jit(f)
            assert "numexpr program" in jf.source(xs[0])
        bad = []

        def work(k):
            for _ in range(500):
                if not np.allclose(jf(xs[k]), want[k], rtol=1e-12):
                    bad.append(k)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        numexpr.set_num_threads(old)
    assert not bad


def test_scan_carry_through_an_identity_kernel_is_not_owned():
    xs = np.random.default_rng(11).standard_normal((4, 3))
    sg = cr.lax.stop_gradient
    f = lambda xs: lax.scan(lambda c, x: (sg(sg(x)), c + 1.0), xs[0], xs)   # noqa: E731
    for kernel in ("auto", "numexpr", "numpy"):
        with options.using(kernel=kernel):
            r = cr.jit(f)(xs)
        assert not np.shares_memory(r[0], xs)
        np.testing.assert_array_equal(r[0], xs[-1])
        np.testing.assert_array_equal(r[1], np.concatenate([xs[:1], xs[:-1]]) + 1.0)
