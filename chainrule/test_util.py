"""Numerical checks of derivatives: `check_grads` (finite-difference JVPs in random directions,
the inner-product test of VJPs, recursively to any order), `check_jvp`, `check_vjp`."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import tree_util as tu
from .transforms.api import jvp, vjp

_DEFAULT_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.complex128): 1e-5,
                np.dtype(np.float32): 2e-3, np.dtype(np.complex64): 2e-3,
                np.dtype(np.float16): 1e-1}
_DEFAULT_EPS = {np.dtype(np.float64): 1e-4, np.dtype(np.complex128): 1e-4,
                np.dtype(np.float32): 1e-3, np.dtype(np.complex64): 1e-3,
                np.dtype(np.float16): 1e-1}


def _inexact(x):
    return np.asarray(x).dtype.kind in "fc"


def _rand_like(rng, x):
    x = np.asarray(x)
    if x.dtype.kind == "c":
        v = rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)
    else:
        v = rng.standard_normal(x.shape)
    return np.asarray(v, dtype=x.dtype)


def _tree_rand(rng, tree):
    return tu.tree_map(lambda x: _rand_like(rng, x) if _inexact(x) else
                       np.zeros(np.shape(x), np.asarray(x).dtype), tree)


def _axpy(a, x, y):
    return tu.tree_map(lambda xi, yi: (yi + a * xi).astype(np.asarray(yi).dtype)
                       if _inexact(yi) else yi, x, y)


def _inner(x, y):
    return sum(float(np.real(np.vdot(np.asarray(a), np.asarray(b))))
               for a, b in zip(tu.tree_leaves(x), tu.tree_leaves(y))
               if _inexact(a) and _inexact(b))


def _tol(tree, given):
    if given is not None:
        return given
    dts = [np.asarray(x).dtype for x in tu.tree_leaves(tree) if _inexact(x)]
    return max((_DEFAULT_TOL.get(d, 1e-5) for d in dts), default=1e-5)


def _eps(tree, given):
    if given is not None:
        return given
    dts = [np.asarray(x).dtype for x in tu.tree_leaves(tree) if _inexact(x)]
    return max((_DEFAULT_EPS.get(d, 1e-4) for d in dts), default=1e-4)


def _assert_close(a, b, atol, rtol, what):
    for x, y in zip(tu.tree_leaves(a), tu.tree_leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind not in "fc" or (y.dtype.kind not in "fc"):
            continue
        if x.shape != y.shape:
            raise AssertionError(f"{what}: shapes differ: {x.shape} vs {y.shape}")
        if not np.allclose(x, y, atol=atol, rtol=rtol, equal_nan=True):
            err = np.max(np.abs(x - y)) if x.size else 0.0
            raise AssertionError(f"{what}: max abs difference {err:.3g} exceeds "
                                 f"atol={atol:g}, rtol={rtol:g}\n  got:      {x}\n  "
                                 f"expected: {y}")


def numerical_jvp(f: Callable, primals, tangents, eps: float):
    """Central finite difference (f(x + eps t) - f(x - eps t)) / (2 eps)."""
    fp = f(*_axpy(eps, tangents, primals))
    fm = f(*_axpy(-eps, tangents, primals))
    return tu.tree_map(lambda a, b: (np.asarray(a) - np.asarray(b)) / (2 * eps)
                       if _inexact(a) else np.zeros(np.shape(a)), fp, fm)


def check_jvp(f: Callable, args, atol=None, rtol=None, eps=None, rng=None):
    """Check jvp(f) against central finite differences in a random direction."""
    rng = rng or np.random.default_rng(0)
    args = tuple(args)
    tangents = _tree_rand(rng, args)
    tol_a = _tol(args, atol)
    tol_r = _tol(args, rtol)
    e = _eps(args, eps)
    out, t_out = jvp(f, args, tangents)
    _assert_close(out, f(*args), tol_a, tol_r, "jvp primal output vs f")
    _assert_close(t_out, numerical_jvp(f, args, tangents, e), tol_a, tol_r,
                  "jvp tangent vs finite differences")


def check_vjp(f: Callable, args, atol=None, rtol=None, eps=None, rng=None):
    """Inner-product check: <ct, J t> (finite differences) == <J^T ct, t>."""
    rng = rng or np.random.default_rng(1)
    args = tuple(args)
    tol_a = _tol(args, atol)
    tol_r = _tol(args, rtol)
    e = _eps(args, eps)
    out, f_vjp = vjp(f, *args)
    _assert_close(out, f(*args), tol_a, tol_r, "vjp primal output vs f")
    tangents = _tree_rand(rng, args)
    ct = _tree_rand(rng, out)
    ct_in = f_vjp(ct)
    lhs = _inner(ct_in, tangents)
    rhs = _inner(ct, numerical_jvp(f, args, tangents, e))
    scale = max(1.0, abs(lhs), abs(rhs))
    if not abs(lhs - rhs) <= tol_a * scale + tol_r * abs(rhs):
        raise AssertionError(f"vjp inner-product check failed: <J^T ct, t> = {lhs:.10g} but "
                             f"<ct, J t> (finite differences) = {rhs:.10g}")


def check_grads(f: Callable, args: Sequence, order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check f's derivatives numerically, recursing to `order`.

    Args:
      f: a function of arrays (pytrees) returning arrays (pytrees).
      args: the positional arguments (a tuple).
      order: highest derivative order to check (1 = first derivatives).
      modes: "fwd" checks jvp against finite differences; "rev" checks vjp by the
        inner-product test (and, with both, jvp and vjp must agree).
      atol, rtol, eps: tolerances and finite-difference step (defaults depend on dtype).
    Raises:
      AssertionError describing the first mismatch.

    Example:
      >>> check_grads(cnp.tanh, (np.array([0.3, -1.2]),), order=2)
    """
    args = tuple(args)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grads modes must be 'fwd' and/or 'rev', got {m!r}")
    rng = np.random.default_rng(order)
    if "fwd" in modes:
        check_jvp(f, args, atol, rtol, eps, rng)
        if order > 1:
            t = _tree_rand(rng, args)

            def f_jvp(*a):
                return jvp(f, a, t)[1]
            check_grads(f_jvp, args, order - 1, modes, atol, rtol, eps)
    if "rev" in modes:
        check_vjp(f, args, atol, rtol, eps, rng)
        if order > 1:
            out = f(*args)
            ct = _tree_rand(rng, out)

            def f_vjp(*a):
                return vjp(f, *a)[1](ct)
            check_grads(f_vjp, args, order - 1, modes, atol, rtol, eps)
    if "fwd" in modes and "rev" in modes:
        # jvp and vjp must agree exactly (up to rounding): <ct, J t> both ways
        t = _tree_rand(rng, args)
        out, t_out = jvp(f, args, t)
        ct = _tree_rand(rng, out)
        lhs = _inner(ct, t_out)
        rhs = _inner(vjp(f, *args)[1](ct), t)
        tol = _tol(args, atol)
        if not abs(lhs - rhs) <= tol * max(1.0, abs(lhs), abs(rhs)):
            raise AssertionError(f"jvp and vjp disagree: <ct, J t> = {lhs:.12g} by jvp, "
                                 f"<J^T ct, t> = {rhs:.12g} by vjp")
