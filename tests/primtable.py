"""The shared primitive-table harness: `Row`, argument domains, and the standard tests.

A test file with a table of its own imports the tests and names its rows `ALL_ROWS`;
`conftest.pytest_generate_tests` parametrizes the tests over that module's rows:

    from primtable import Row, normal, unif, args_of, coverage_test
    from primtable import (test_value, test_shape_rule, test_grads,  # noqa: F401
                           test_zero_derivative, test_vmap, test_vmap_grad, test_jit)
    ALL_ROWS = [Row(P.solve_p, ...), ...]
    test_coverage = coverage_test(ALL_ROWS, module="chainrule.prims.linalg", exempt={...})

A row gives the primitive, a function making example arguments from a seeded RNG (domains
chosen where the operation is smooth: no ties, no kinks, no branch cuts), a NumPy/SciPy
reference, the static params, and which argument positions are differentiable (empty: the
primitive has no derivative, its outputs are constants).

The tests, each parametrized over the rows:
  1. test_value: value (and dtype) vs the reference, in float64 and float32.
  2. test_shape_rule: `abstract_eval` on the avals vs the real output's shape and dtype.
  3. test_grads: check_grads order 2, fwd and rev, in the differentiable arguments (finite
     differences in random directions plus the JVP/VJP inner-product check).
  4. test_zero_derivative: non-differentiable (float) arguments get zero tangents/gradients.
  5. test_vmap: vmap vs a loop + np.stack, batch axis 0, 1, -1 and partly unbatched (fails if
     vmap falls back to its Python loop).
  6. test_vmap_grad: vmap(grad(sum(prim * w))) vs a loop, for the differentiable rows.
  7. test_jit: jit(prim) vs eager (the staged path).
`coverage_test(rows, module)` makes a test that fails when a primitive defined in `module`
has no row.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pytest

import chainrule as cr
import chainrule.prims as P
from chainrule.core import get_aval, primitives as REGISTRY
from chainrule.test_util import check_grads


@dataclasses.dataclass
class Row:
    prim: Any
    make: Callable[[np.random.Generator], tuple]  # example arguments
    ref: Callable[..., Any]                        # NumPy/SciPy reference, same arguments
    params: dict = dataclasses.field(default_factory=dict)
    diff: tuple = ()                               # differentiable argument positions
    grad_tol: dict = dataclasses.field(default_factory=dict)  # atol/rtol/eps for check_grads
    case: str = ""                                 # id suffix of an extra (non-table) case
    batch_pending: str = ""                        # known-missing batch rule (strict xfail)
    float32: bool = True                           # also check values/shape rule in float32
    value_tol: dict = dataclasses.field(default_factory=dict)  # {"float64"/"float32": tol}

    @property
    def name(self) -> str:
        return self.prim.name

    @property
    def id(self) -> str:
        return f"{self.name}[{self.case}]" if self.case else self.name

    def args(self, seed: int = 0) -> tuple:
        return tuple(self.make(np.random.default_rng(seed)))



# --- argument domains ----------------------------------------------------------------------------

S = (3, 4)   # shape of a first argument
SB = (4,)    # shape of a second argument (broadcasts against S)


def normal(shape=S):
    return lambda rng: rng.standard_normal(shape)


def unif(lo, hi, shape=S):
    return lambda rng: rng.uniform(lo, hi, shape)


def away0(shape=S, lo=0.3, hi=2.0):
    """Values with |x| in [lo, hi], either sign (away from the kink/pole at 0)."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def offint(shape=S):
    """Values at least 0.2 away from every integer (floor/ceil/... are locally constant)."""
    return lambda rng: rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def distinct(shape):
    """Distinct values (gaps >= 0.1): no ties for max/min/sort/argmax."""
    n = int(np.prod(shape))
    return lambda rng: (rng.permutation(n) * 0.1 + rng.uniform(0, 0.02, n)).reshape(shape) - 1


def cplx(shape=S):
    return lambda rng: rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def intvals(shape=S, lo=-2, hi=3):
    """Integer-valued floats: comparisons see equal elements too."""
    return lambda rng: rng.integers(lo, hi, shape).astype(np.float64)


def ints(shape=S, lo=0, hi=100):
    return lambda rng: rng.integers(lo, hi, shape)


def bools(shape=S):
    return lambda rng: rng.random(shape) < 0.5


def with_specials(shape=S):
    def make(rng):
        x = rng.standard_normal(shape)
        x[0, 0], x[1, 2], x[2, 1], x[0, 3] = np.nan, np.inf, -np.inf, -0.0
        return x
    return make


def args_of(*makers):
    return lambda rng: tuple(m(rng) for m in makers)



# --- helpers -------------------------------------------------------------------------------------


def _is_float(a) -> bool:
    return np.asarray(a).dtype.kind in "fc"


def _to32(a):
    a = np.asarray(a)
    if a.dtype == np.float64:
        return a.astype(np.float32)
    if a.dtype == np.complex128:
        return a.astype(np.complex64)
    return a


def _outs(prim, out):
    return list(out) if prim.multiple_results else [out]


def _assert_same(got, want, rtol=1e-10, atol=1e-12, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def _call_with(row, args, positions):
    """f(*vals) = prim(args with `positions` replaced by vals)."""
    def f(*vals):
        full = list(args)
        for p, v in zip(positions, vals):
            full[p] = v
        return row.prim(*full, **row.params)
    return f


def _rows(rows, pred=lambda r: True):
    return [pytest.param(r, id=r.id) for r in rows if pred(r)]


def _has_float_args(r):
    return any(_is_float(a) for a in r.args())



# --- 1. values -----------------------------------------------------------------------------------


def _dtype_params(rows):
    """(row, dtype): float64 for every row, float32 too where a row has float arguments."""
    return [pytest.param(r, dt, id=f"{r.id}-{dt}") for r in rows
            for dt in (("float64", "float32") if _has_float_args(r) and r.float32
                       else ("float64",))]


def test_value(row, dtype):
    args = row.args()
    if dtype == "float32":
        args = tuple(_to32(a) for a in args)
    out = row.prim(*args, **row.params)
    want = row.ref(*args)
    for o, w in zip(_outs(row.prim, out), _outs(row.prim, want)):
        assert isinstance(o, np.ndarray), f"eager result is {type(o).__name__}, not ndarray"
        w = np.asarray(w)
        assert o.dtype == w.dtype, f"dtype {o.dtype} but NumPy gives {w.dtype}"
        tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
        tol.update(row.value_tol.get(dtype, {}))
        _assert_same(o, w, what=f"{row.id} value", **tol)


# --- 2. shape rule -------------------------------------------------------------------------------


def test_shape_rule(row, dtype):
    args = row.args()
    if dtype == "float32":
        args = tuple(_to32(a) for a in args)
    assert row.prim.abstract_eval is not None, f"`{row.name}` has no shape rule"
    aval = row.prim.abstract_eval(*[get_aval(a) for a in args], **row.params)
    out = row.prim(*args, **row.params)
    avals = list(aval) if row.prim.multiple_results else [aval]
    outs = _outs(row.prim, out)
    assert len(avals) == len(outs)
    for a, o in zip(avals, outs):
        assert a == get_aval(o), f"shape rule gives {a}, real output is {get_aval(o)}"


# --- 3. derivatives -------------------------------------------------------------------------------


def test_grads(row):
    args = row.args()
    f = _call_with(row, args, row.diff)
    check_grads(f, [args[i] for i in row.diff], order=2, modes=("fwd", "rev"), **row.grad_tol)


# --- 4. zero derivatives --------------------------------------------------------------------------


def _nondiff_float(r):
    return [i for i, a in enumerate(r.args()) if _is_float(a) and i not in r.diff]


def test_zero_derivative(row):
    args = row.args()
    pos = _nondiff_float(row)
    if not pos:
        # integer/boolean arguments only: jvp takes float0 tangents and gives a zero tangent
        tans = [np.zeros(np.shape(a), cr.float0) for a in args]
        out, t = cr.jvp(_call_with(row, args, range(len(args))), args, tans)
        assert np.shape(t) == np.shape(out) and np.asarray(t).dtype == cr.float0
        return
    f = _call_with(row, args, pos)
    primals = [args[i] for i in pos]
    rng = np.random.default_rng(7)
    tans = [(rng.standard_normal(np.shape(p)) * (1 + 1j if np.iscomplexobj(p) else 1))
            .astype(np.asarray(p).dtype) for p in primals]
    out, t = cr.jvp(f, primals, tans)
    for o, ti in zip(_outs(row.prim, out), _outs(row.prim, t)):
        ti = np.asarray(ti)
        assert ti.shape == np.shape(o)
        if ti.dtype != cr.float0:
            assert not np.any(ti), f"jvp through non-differentiable input gives {ti}"

    def total(*vals):
        outs = _outs(row.prim, f(*vals))
        s = 0.0
        for o in outs:
            o = P.convert_p(P.real_p(o) if np.dtype(o.dtype).kind == "c" else o,
                            dtype=np.dtype(np.float64))
            s = s + P.reduce_sum_p(o, axes=tuple(range(len(o.shape))))
        return s

    grads = cr.grad(total, argnums=tuple(range(len(pos))))(*primals)
    for g, p in zip(grads, primals):
        assert np.shape(g) == np.shape(p)
        assert not np.any(g), f"grad through non-differentiable input gives {g}"


# --- 5. vmap --------------------------------------------------------------------------------------

B = 3  # batch size


def _in_axes_specs(row):
    """(id, in_axes) pairs: batch axis 0, 1, -1, and some arguments unbatched."""
    nds = [np.ndim(a) for a in row.args()]
    n = len(nds)
    specs = [("axis0", (0,) * n),
             ("axis1", tuple(1 if d >= 1 else 0 for d in nds)),
             ("axis-1", (-1,) * n)]
    if n >= 2:
        specs.append(("first-only", (0,) + (None,) * (n - 1)))
        specs.append(("rest-only", (None,) + (-1,) * (n - 1)))
    if n >= 3:
        specs.append(("second-only", (None, 0) + (None,) * (n - 2)))
    return specs


def _vmap_params(rows, pred=lambda r: True):
    out = []
    for r in rows:
        if not pred(r):
            continue
        marks = ([pytest.mark.xfail(reason=r.batch_pending, strict=True)]
                 if r.batch_pending else [])
        for sid, axes in _in_axes_specs(r):
            out.append(pytest.param(r, axes, id=f"{r.id}-{sid}", marks=marks))
    return out


def _batch(row, in_axes):
    """(stacked arguments for vmap, per-example argument tuples)."""
    examples = [row.args(seed) for seed in range(B)]
    stacked, per = [], [list(e) for e in examples]
    for j, ax in enumerate(in_axes):
        if ax is None:
            stacked.append(examples[0][j])
            for e in per:
                e[j] = examples[0][j]
        else:
            stacked.append(np.stack([e[j] for e in examples], axis=ax))
    return stacked, per


def _stack_outs(results, multiple):
    if multiple:
        return [np.stack(o) for o in zip(*results)]
    return [np.stack(results)]


@pytest.mark.usefixtures("no_loop_fallback")
def test_vmap(row, in_axes):
    stacked, per = _batch(row, in_axes)
    want = _stack_outs([row.prim(*a, **row.params) for a in per], row.prim.multiple_results)
    got = cr.vmap(lambda *a: row.prim(*a, **row.params), in_axes=in_axes)(*stacked)
    for g, w in zip(_outs(row.prim, got), want):
        assert np.asarray(g).dtype == w.dtype
        _assert_same(g, w, what=f"vmap {row.id} in_axes={in_axes}")


# --- 6. vmap of grad ------------------------------------------------------------------------------


def _grad_fn(row, weights):
    """g(*args) = grad of sum(real(prim(*args) * w)) in the differentiable arguments."""
    diff = row.diff

    def g(*args):
        def scalar(*dvals):
            full = list(args)
            for p, v in zip(diff, dvals):
                full[p] = v
            out = _outs(row.prim, row.prim(*full, **row.params))
            s = 0.0
            for o, w in zip(out, weights):
                o = P.mul_p(o, w)
                if np.dtype(o.dtype).kind == "c":
                    o = P.real_p(o)
                s = s + P.reduce_sum_p(o, axes=tuple(range(len(o.shape))))
            return s
        return cr.grad(scalar, argnums=tuple(range(len(diff))))(*[args[p] for p in diff])
    return g


@pytest.mark.usefixtures("no_loop_fallback")
def test_vmap_grad(row, in_axes):
    stacked, per = _batch(row, in_axes)
    rng = np.random.default_rng(11)
    weights = [rng.standard_normal(np.shape(o))
               for o in _outs(row.prim, row.prim(*per[0], **row.params))]
    g = _grad_fn(row, weights)
    want = [np.stack(gs) for gs in zip(*[g(*a) for a in per])]
    got = cr.vmap(g, in_axes=in_axes)(*stacked)
    assert len(got) == len(want)
    for gi, wi in zip(got, want):
        _assert_same(gi, wi, rtol=1e-9, atol=1e-11, what=f"vmap(grad({row.id}))")


# --- 7. jit vs eager ------------------------------------------------------------------------------


def test_jit(row):
    args = row.args()
    want = _outs(row.prim, row.prim(*args, **row.params))
    got = _outs(row.prim, cr.jit(lambda *a: row.prim(*a, **row.params))(*args))
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == w.dtype
        _assert_same(g, w, what=f"jit({row.id})")



# --- parametrization (called by conftest.pytest_generate_tests) ----------------------------------

def _is_diff(r):
    return bool(r.diff)


def _zero_pred(r):
    return not r.diff or _nondiff_float(r)


_PARAMS = {
    "test_value": ("row,dtype", _dtype_params),
    "test_shape_rule": ("row,dtype", _dtype_params),
    "test_grads": ("row", lambda rows: _rows(rows, _is_diff)),
    "test_zero_derivative": ("row", lambda rows: _rows(rows, _zero_pred)),
    "test_vmap": ("row,in_axes", _vmap_params),
    "test_vmap_grad": ("row,in_axes", lambda rows: _vmap_params(rows, _is_diff)),
    "test_jit": ("row", _rows),
}
TABLE_TESTS = tuple(_PARAMS)


def parametrize(metafunc) -> None:
    """Parametrize one of the table tests over `ALL_ROWS` of the module that collects it."""
    name = metafunc.function.__name__
    if name not in _PARAMS or metafunc.function.__module__ != __name__:
        return
    rows = getattr(metafunc.module, "ALL_ROWS", None)
    if rows is None:
        raise RuntimeError(f"{metafunc.module.__name__} imports the table tests but defines "
                           "no ALL_ROWS")
    argnames, make = _PARAMS[name]
    metafunc.parametrize(argnames, make(list(rows)))


# --- coverage -------------------------------------------------------------------------------------

def coverage_test(all_rows: list, module: str, exempt: dict | None = None):
    """A test: every primitive defined in `module` has a row in `all_rows` or an `exempt`
    entry (name -> reason), and no row or entry names a primitive defined elsewhere."""
    exempt = dict(exempt or {})

    def test_coverage():
        import importlib
        importlib.import_module(module)
        names = {n for n, p in REGISTRY.items() if getattr(p, "module", None) == module}
        rows = {r.name for r in all_rows}
        missing = sorted(n for n in names if n not in rows and n not in exempt)
        assert not missing, f"primitives of {module} with no row (and not exempt): {missing}"
        stale = sorted(n for n in rows | set(exempt) if n not in names)
        assert not stale, f"rows/exempt entries for primitives not defined in {module}: {stale}"
        both = sorted(rows & set(exempt))
        assert not both, f"primitives both with a row and exempt: {both}"
    return test_coverage
