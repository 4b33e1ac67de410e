"""chainrule.scipy.optimize: `minimize` (SciPy's BFGS and L-BFGS-B driven by chainrule
gradients) whose solution is differentiable with respect to the parameters by implicit
differentiation.

Contract:
- `minimize(fun, x0, args, ...)` has SciPy's signature and returns an `OptimizeResult`
  (SciPy's class, registered as a pytree). x0 may be a pytree; SciPy sees the flattened
  vector. fun (and jac) are staged once into a program, so arrays they close over (and
  traced values: grad, jvp, jit, vmap) become explicit parameters; the objective and its
  gradient are compiled to NumPy code for SciPy. Code that cannot be staged (a Python branch
  on a value) still runs eagerly, but then nothing about the call may be traced.
- Under jit or vmap the SciPy run is a `pure_callback` (vmap: one run per example).
- The solution x*(theta) (theta = the numeric leaves of args and the arrays fun closes over)
  goes through `argmin_p`, whose value is x* and whose derivatives come from the optimality
  condition g(x*, theta) = grad_x f = 0 restricted to the free variables (those not on an
  active bound): dx* = -H^-1 (dg/dtheta) dtheta on the free variables, 0 on the others.
- The Hessian solves are `hessian_solve_p(b, free, x, *theta)` = M b with
  M = P (P H P + I - P)^-1 P, H = dg/dx at (x, theta), P = diag(free). Its impl forms H from
  Hessian-vector products (one vmapped evaluation of the staged HVP) and solves densely for
  n <= _DENSE_MAX variables, else runs conjugate gradients on HVPs. Its own JVP
  (dv = M (db - (dH) v)) and VJP (b_bar = M v_bar, (x, theta)_bar = -d(H v)^T b_bar) use it
  again, so implicit derivatives compose to any order, also under jit and vmap.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import scipy.optimize as _sopt

from .. import numpy as cnp
from .. import tree_util as tu
from ..compiler import optimize, options as compiler_options
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
from ..debug import ShapeDtypeStruct, pure_callback
from ..ir.program import eval_program
from ..lax_control import _runner, _stage_user, _vmap_program
from ..prims.base import moveaxis0
from ..transforms.api import jvp, vjp, vmap, value_and_grad
from ..transforms.batching import move_to
from ..transforms.custom import stop_gradient
from ..transforms.staging import _finish, stage_flat

__all__ = ["minimize", "OptimizeResult", "argmin_p", "hessian_solve_p"]

TESTED_IN = "tests/test_optimize.py"

OptimizeResult = _sopt.OptimizeResult

_METHODS = {"BFGS": "BFGS", "L-BFGS-B": "L-BFGS-B"}
_DENSE_MAX = 1000      # larger problems solve with CG on Hessian-vector products
_CG_TOL = 1e-12


def _unfused():
    # The programs these rules vmap are built without `fused` equations: the batching of a
    # fused equation is cached by batch axes only (not the batch size), so one program
    # batched at two sizes (e.g. jacfwd over jacrev) would reuse the wrong one.
    return compiler_options.using(fusion=False)


def _zeros(x):
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype)


def _is_float(x) -> bool:
    return get_aval(x).dtype.kind == "f"


def _g(grad_program, x, theta):
    return eval_program(grad_program, [*theta, x])[0]


def _hvp(grad_program, x, theta, v):
    return jvp(lambda x_: _g(grad_program, x_, theta), (x,), (v,))[1]


def _broadcast_batch(vals, bdims, force):
    """Batched operands at axis 0; those at positions `force` are broadcast when unbatched."""
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    out, axes = [], []
    for i, (v, b) in enumerate(zip(vals, bdims)):
        if b is None and i not in force:
            out.append(v)
            axes.append(None)
        else:
            out.append(move_to(v, b, 0, size) if b is None else moveaxis0(v, b))
            axes.append(0)
    return out, axes, size


# ---------------------------------------------------------------------------------------------
# hessian_solve_p(b, free, x, *theta): the masked Hessian solve


hessian_solve_p = Primitive("hessian_solve")


def _hessian_program(grad_program):
    """(theta..., x) -> H with H[..., i, j] = d g_i / d x_j (leading batch dims kept)."""
    prog = grad_program._cache.get("hessian")
    if prog is None:
        *t_avals, x_aval = grad_program.in_avals
        n = x_aval.shape[-1]
        lead = x_aval.shape[:-1]

        def hess(*a):
            theta, x = a[:-1], a[-1]
            basis = np.broadcast_to(np.eye(n, dtype=x_aval.dtype)[:, None, :],
                                    (n, int(np.prod(lead, dtype=np.int64)), n))
            basis = np.ascontiguousarray(basis).reshape((n,) + lead + (n,))
            cols = vmap(lambda v: _hvp(grad_program, x, theta, v))(basis)
            return [cnp.moveaxis(cols, 0, -1)]

        prog = grad_program._cache["hessian"] = _finish(stage_flat(hess, grad_program.in_avals))
    return prog


def _hvp_program(grad_program):
    prog = grad_program._cache.get("hvp")
    if prog is None:
        x_aval = grad_program.in_avals[-1]

        def hvp(*a):
            return [_hvp(grad_program, a[-2], a[:-2], a[-1])]

        prog = grad_program._cache["hvp"] = _finish(stage_flat(
            hvp, grad_program.in_avals + [x_aval]))
    return prog


def _dense_solve(b, free, x, theta, grad_program):
    h = np.asarray(_runner(_hessian_program(grad_program))(*theta, x)[0])
    h = h * free[..., :, None] * free[..., None, :]
    idx = np.arange(h.shape[-1])
    h[..., idx, idx] += 1.0 - free
    try:
        v = np.linalg.solve(h, (free * b)[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.full(b.shape, np.nan, b.dtype)
    return v


def _cg_solve(b, free, x, theta, grad_program):
    hvp = _runner(_hvp_program(grad_program))
    n = b.shape[-1]

    def op(v):
        return free * np.asarray(hvp(*theta, x, free * v)[0]) + (1.0 - free) * v

    def dot(u, w):
        return np.sum(u * w, axis=-1, keepdims=True)

    r = free * b
    v, p, rr = np.zeros_like(r), r.copy(), dot(r, r)
    thr = _CG_TOL ** 2 * rr
    bad = np.zeros(rr.shape, bool)
    for _ in range(10 * n + 10):
        active = (rr > thr) & ~bad
        if not active.any():
            break
        ap = op(p)
        pap = dot(p, ap)
        bad |= active & ~(pap > 0)
        active &= ~bad
        alpha = np.where(active, rr / np.where(active, pap, 1.0), 0.0)
        v = v + alpha * p
        r = r - alpha * ap
        rr_new = dot(r, r)
        beta = np.where(active, rr_new / np.where(active, rr, 1.0), 0.0)
        p = np.where(active, r + beta * p, p)
        rr = np.where(active, rr_new, rr)
    return np.where(bad, np.nan, v)


def _hsolve_impl(b, free, x, *theta, grad_program):
    b, free, x = np.asarray(b), np.asarray(free), np.asarray(x)
    solve = _dense_solve if b.shape[-1] <= _DENSE_MAX else _cg_solve
    with np.errstate(all="ignore"):
        v = solve(b, free, x, theta, grad_program)
    return np.asarray(free * v, b.dtype)


def _hsolve_jvp(primals, tangents, *, grad_program):
    b, free, x, *theta = primals
    tb, _, tx, *ttheta = tangents
    v = bind(hessian_solve_p, *primals, grad_program=grad_program)
    rhs = tb
    idx = [i for i, t in enumerate(ttheta) if t is not None]
    if tx is not None or idx:
        def hv(x_, *th):
            full = list(theta)
            for i, t in zip(idx, th):
                full[i] = t
            return _hvp(grad_program, x_, full, v)

        _, dhv = jvp(hv, (x, *[theta[i] for i in idx]),
                     (_zeros(x) if tx is None else tx, *[ttheta[i] for i in idx]))
        rhs = -dhv if rhs is None else rhs - dhv
    if rhs is None:
        return v, None
    return v, bind(hessian_solve_p, rhs, free, x, *theta, grad_program=grad_program)


def _hsolve_reverse(vals, params):
    grad_program = params["grad_program"]
    b, free, x, *theta = vals
    v = bind(hessian_solve_p, *vals, **params)

    def bwd(ct):
        b_bar = bind(hessian_solve_p, ct, free, x, *theta, **params)
        fl = [i for i, t in enumerate(theta) if _is_float(t)]

        def hv(x_, *th):
            full = list(theta)
            for i, t in zip(fl, th):
                full[i] = t
            return _hvp(grad_program, x_, full, v)

        _, f_vjp = vjp(hv, x, *[theta[i] for i in fl])
        g = f_vjp(-b_bar)
        out = [b_bar, None, g[0]] + [None] * len(theta)
        for i, gi in zip(fl, g[1:]):
            out[3 + i] = gi
        return out

    return v, bwd


def _hsolve_batch(vals, bdims, *, grad_program):
    vals, axes, size = _broadcast_batch(vals, bdims, force=(0, 1, 2))
    with _unfused():
        prog = _vmap_program(grad_program, tuple(axes[3:]) + (0,), size)
    return bind(hessian_solve_p, *vals, grad_program=prog), 0


hessian_solve_p.impl = _hsolve_impl
hessian_solve_p.abstract_eval = lambda b, free, x, *theta, grad_program: ShapedArray(b.shape,
                                                                                     b.dtype)
hessian_solve_p.jvp = _hsolve_jvp
hessian_solve_p.reverse = _hsolve_reverse
hessian_solve_p.batch = _hsolve_batch


# ---------------------------------------------------------------------------------------------
# argmin_p(x, free, *theta): the solution, with its implicit derivative


argmin_p = Primitive("minimize_solution")


def _argmin_impl(x, free, *theta, grad_program):
    return np.array(x)


def _theta_rhs(grad_program, x, theta, idx, ts):
    """d g(x, theta) along the tangents ts of theta[idx] (x fixed)."""
    def gt(*th):
        full = list(theta)
        for i, t in zip(idx, th):
            full[i] = t
        return _g(grad_program, x, full)
    return jvp(gt, tuple(theta[i] for i in idx), tuple(ts))[1]


def _argmin_jvp(primals, tangents, *, grad_program):
    x, free, *theta = primals
    out = bind(argmin_p, *primals, grad_program=grad_program)
    idx = [i for i, t in enumerate(tangents[2:]) if t is not None]
    if not idx:
        return out, None
    # g and H are evaluated at `out`, not x: out is x*(theta) to enclosing transforms too
    rhs = _theta_rhs(grad_program, out, theta, idx, [tangents[2 + i] for i in idx])
    return out, bind(hessian_solve_p, -rhs, free, out, *theta, grad_program=grad_program)


def _argmin_reverse(vals, params):
    grad_program = params["grad_program"]
    x, free, *theta = vals
    out = bind(argmin_p, *vals, **params)

    def bwd(ct):
        w = bind(hessian_solve_p, ct, free, out, *theta, **params)
        fl = [i for i, t in enumerate(theta) if _is_float(t)]

        def gt(*th):
            full = list(theta)
            for i, t in zip(fl, th):
                full[i] = t
            return _g(grad_program, out, full)

        _, f_vjp = vjp(gt, *[theta[i] for i in fl])
        g = f_vjp(-w)
        res = [None, None] + [None] * len(theta)
        for i, gi in zip(fl, g):
            res[2 + i] = gi
        return res

    return out, bwd


def _argmin_batch(vals, bdims, *, grad_program):
    vals, axes, size = _broadcast_batch(vals, bdims, force=(0, 1))
    with _unfused():
        prog = _vmap_program(grad_program, tuple(axes[2:]) + (0,), size)
    return bind(argmin_p, *vals, grad_program=prog), 0


argmin_p.impl = _argmin_impl
argmin_p.abstract_eval = lambda x, free, *theta, grad_program: ShapedArray(x.shape, x.dtype)
argmin_p.jvp = _argmin_jvp
argmin_p.reverse = _argmin_reverse
argmin_p.batch = _argmin_batch
argmin_p.lower = lambda ins, params: ins[0]


# ---------------------------------------------------------------------------------------------
# OptimizeResult as a pytree: array-valued fields are children, the rest (message, hess_inv
# operators) static


def _result_flatten(r):
    keys = sorted(r)
    dyn = [k for k in keys if not isinstance(r[k], str)
           and all(_is_array_leaf(v) for v in tu.tree_leaves(r[k]))]
    static = tuple((k, r[k]) for k in keys if k not in dyn)
    return [r[k] for k in dyn], (tuple(dyn), static)


def _result_unflatten(aux, children):
    dyn, static = aux
    r = OptimizeResult(dict(static))
    r.update(zip(dyn, children))
    return r


try:
    tu.register_pytree_node(OptimizeResult, _result_flatten, _result_unflatten)
except ValueError:  # already registered (module reloaded)
    pass


# ---------------------------------------------------------------------------------------------
# minimize


def _is_array_leaf(x) -> bool:
    return isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex))


def _parse_bounds(bounds, n):
    lb, ub = np.full(n, -np.inf), np.full(n, np.inf)
    if bounds is None:
        return lb, ub
    if isinstance(bounds, _sopt.Bounds):
        lb = np.broadcast_to(np.asarray(bounds.lb, float), (n,)).copy()
        ub = np.broadcast_to(np.asarray(bounds.ub, float), (n,)).copy()
    else:
        try:
            pairs = list(bounds)
            ok = len(pairs) == n and all(len(p) == 2 for p in pairs)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"minimize: bounds must be a scipy.optimize.Bounds or a sequence "
                             f"of {n} (min, max) pairs, one per element of the flattened x0 "
                             "(None for no bound)")
        for i, (lo, hi) in enumerate(pairs):
            lb[i] = -np.inf if lo is None else float(lo)
            ub[i] = np.inf if hi is None else float(hi)
    if np.any(lb > ub):
        raise ValueError("minimize: every lower bound must be <= its upper bound")
    return lb, ub


def _free_mask(x, lb, ub):
    """1.0 for the variables off their bounds, 0.0 for those on a bound (treated as active)."""
    with np.errstate(invalid="ignore"):
        at_lb = np.isfinite(lb) & (x <= lb + 1e-10 * np.maximum(1.0, np.abs(lb)))
        at_ub = np.isfinite(ub) & (x >= ub - 1e-10 * np.maximum(1.0, np.abs(ub)))
    return np.where(at_lb | at_ub, 0.0, 1.0)


def _scipy_run(obj, x0, method, lb, ub, tol, options):
    kw = dict(jac=True, method=method, tol=tol, options=options)
    if method == "L-BFGS-B":
        kw["bounds"] = _sopt.Bounds(lb, ub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # line-search overflow probes
        return _sopt.minimize(obj, x0, **kw)


_FIELDS = ("x", "fun", "jac", "free", "nit", "nfev", "njev", "status", "success")


def _summary(res, lb, ub):
    x = np.asarray(res.x, np.float64)
    return dict(x=x, fun=np.asarray(res.fun, np.float64), jac=np.asarray(res.jac, np.float64),
                free=_free_mask(x, lb, ub), nit=np.int64(res.get("nit", 0)),
                nfev=np.int64(res.get("nfev", 0)), njev=np.int64(res.get("njev", 0)),
                status=np.int64(res.status), success=np.bool_(res.success))


def minimize(fun: Callable, x0: Any, args: Any = (), method: str = "BFGS", jac=None,
             bounds=None, tol: float | None = None, options: dict | None = None):
    """Minimize a scalar function with SciPy (BFGS or L-BFGS-B) using chainrule gradients;
    the solution is differentiable with respect to `args` (and arrays fun closes over).

    SciPy's signature and result. The gradient is chainrule's value_and_grad of fun unless
    `jac` is given (True: fun returns (value, gradient); a callable: jac(x, *args)).

    Derivatives of the solution x*(theta), theta = args, by implicit differentiation of the
    optimality condition grad_x f(x*, theta) = 0: dx*/dtheta = -H^-1 d(grad_x f)/dtheta with
    H the Hessian at x* (from Hessian-vector products; a dense solve up to 1000 variables,
    else conjugate gradients), in forward and reverse mode, to any order. Assumptions: x* is
    a strict local minimum (H nonsingular; positive definite for the CG solve) and, with
    bounds, the active set is locally constant: variables on a bound (within 1e-10) have zero
    derivative and the others are solved for on the free subspace. The derivative is as
    accurate as x* (tighten `tol` for accurate derivatives). No derivative flows to x0.
    `result.fun` is differentiable too; `result.jac` is not (it is SciPy's final gradient).

    Under jit or vmap the SciPy run is a pure_callback (vmap: one run per example), the result
    is differentiable as above, and `message` is a fixed text (use `status` and `success`).

    Args:
      fun: f(x, *args) -> scalar, x with x0's pytree structure.
      x0: initial guess, an array or pytree of float arrays (SciPy sees the flattened
        float64 vector: leaves in tree order, each raveled).
      args: extra arguments of fun (a tuple; anything else is wrapped in one). Numeric
        leaves are differentiable parameters; other leaves are passed through as constants.
      method: "BFGS" or "L-BFGS-B" (case-insensitive).
      jac: None (chainrule's gradient), True (fun returns (f, grad)) or a callable
        jac(x, *args) returning the gradient with x0's structure.
      bounds: L-BFGS-B only: a scipy.optimize.Bounds or one (min, max) pair per element of
        the flattened x0 (None: unbounded).
      tol, options: passed to scipy.optimize.minimize.
    Returns:
      An OptimizeResult (SciPy's class, a pytree) with x (x0's structure and dtypes), fun,
      jac, nit, nfev, njev, status, success, message (and hess_inv when not traced).

    Example:
      >>> a = np.array([[3.0, 1.0], [1.0, 2.0]])
      >>> f = lambda x, b: 0.5 * x @ a @ x - b @ x
      >>> minimize(f, np.zeros(2), args=(np.ones(2),)).x          # solve(a, [1, 1])
      >>> jacobian(lambda b: minimize(f, np.zeros(2), args=(b,)).x)(np.ones(2))   # inv(a)
    """
    if not callable(fun):
        raise TypeError(f"minimize: fun must be callable, got {type(fun).__name__}")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ValueError(f"minimize: method {method!r} is not supported; use one of "
                         f"{sorted(_METHODS)}")
    method = _METHODS[method.upper()]
    if not (jac is None or jac is False or jac is True or callable(jac)):
        raise TypeError("minimize: jac must be None, True or a callable jac(x, *args)")
    if jac is False:
        jac = None
    if bounds is not None and method != "L-BFGS-B":
        raise ValueError(f"minimize: method {method} does not take bounds; use "
                         "method='L-BFGS-B'")
    if options is not None and not isinstance(options, dict):
        raise TypeError("minimize: options must be a dict")
    if not isinstance(args, tuple):
        args = (args,)

    x_leaves, x_tree = tu.tree_flatten(x0)
    if not x_leaves:
        raise ValueError("minimize: x0 has no elements")
    x_dtypes, x_shapes = [], []
    for x in x_leaves:
        if not _is_array_leaf(x):
            raise TypeError(f"minimize: x0 leaves must be arrays, got {type(x).__name__}")
        dt = get_aval(x).dtype
        if dt.kind == "c":
            raise TypeError("minimize: complex x0 is not supported; optimize over the real "
                            "and imaginary parts separately")
        if dt.kind not in "biuf":
            raise TypeError(f"minimize: x0 leaves must be numeric, got dtype {dt}")
        x_dtypes.append(dt if dt.kind == "f" else np.dtype(np.float64))
        x_shapes.append(get_aval(x).shape)
    sizes = [int(np.prod(s, dtype=np.int64)) for s in x_shapes]
    n = sum(sizes)
    if n == 0:
        raise ValueError("minimize: x0 has no elements")
    lb, ub = _parse_bounds(bounds, n)

    def unravel(flat, cast=True):
        out, off = [], 0
        for shape, size, dt in zip(x_shapes, sizes, x_dtypes):
            piece = cnp.reshape(flat[off:off + size], shape)
            out.append(piece.astype(dt) if cast and piece.dtype != dt else piece)
            off += size
        return tu.tree_unflatten(x_tree, out)

    def ravel(tree, what):
        leaves, t = tu.tree_flatten(tree)
        if t != x_tree:
            raise TypeError(f"minimize: {what} must have x0's structure {x_tree}, got {t}")
        parts = []
        for leaf, shape in zip(leaves, x_shapes):
            leaf = cnp.asarray(leaf)
            if tuple(leaf.shape) != shape:
                raise TypeError(f"minimize: {what} has a leaf of shape {tuple(leaf.shape)} "
                                f"where x0 has {shape}")
            parts.append(cnp.ravel(leaf).astype(np.float64))
        return cnp.concatenate(parts) if len(parts) > 1 else parts[0]

    def scalar(f):
        f = cnp.asarray(f)
        if f.size != 1 or f.dtype.kind not in "biuf":
            raise TypeError(f"minimize: fun must return a real scalar, got shape "
                            f"{tuple(f.shape)} and dtype {f.dtype}")
        return cnp.reshape(f, ()).astype(np.float64)

    a_leaves, a_tree = tu.tree_flatten(args)
    dyn_pos = [i for i, a in enumerate(a_leaves) if _is_array_leaf(a)]
    theta_args = [cnp.asarray(a_leaves[i]) if not isinstance(a_leaves[i], Tracer)
                  else a_leaves[i] for i in dyn_pos]
    n_a = len(theta_args)

    def user_args(vals):
        full = list(a_leaves)
        for i, v in zip(dyn_pos, vals):
            full[i] = v
        return tu.tree_unflatten(a_tree, full)

    def value_and_gradient(xf, vals):
        x, a = unravel(xf), user_args(vals)
        if jac is True:
            out = fun(x, *a)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("minimize: with jac=True, fun must return (value, gradient)")
            return scalar(out[0]), ravel(out[1], "the gradient returned by fun")
        if callable(jac):
            return scalar(fun(x, *a)), ravel(jac(x, *a), "the gradient returned by jac")
        val, g = value_and_grad(lambda z: scalar(fun(unravel(z), *a)))(xf)
        return val, g

    in_avals = [get_aval(a) for a in theta_args] + [ShapedArray((n,), np.float64)]
    try:
        with _unfused():
            vg_prog, consts, _ = _stage_user(
                None, in_avals, lambda _, xs: list(value_and_gradient(xs[-1], xs[:-1])),
                "minimize fun")
    except Exception as err:
        if any(isinstance(v, Tracer) for v in theta_args + x_leaves):
            raise TypeError(f"minimize: fun could not be traced ({err}); under grad, jvp, "
                            "jit or vmap it must be written with chainrule.numpy functions "
                            "(no Python branches on values: use cnp.where or lax.cond)") \
                from err
        return _minimize_eager(value_and_gradient, x_leaves, unravel, method, lb, ub, tol,
                               options, theta_args)
    theta = list(consts) + theta_args
    x_start = cnp.concatenate([cnp.ravel(stop_gradient(x)).astype(np.float64)
                               for x in x_leaves]) if len(x_leaves) > 1 else \
        cnp.ravel(stop_gradient(x_leaves[0])).astype(np.float64)
    theta_sg = [stop_gradient(t) for t in theta]

    def run(x_init, *th):
        vg = _runner(vg_prog)

        def obj(xf):
            f, g = vg(*th, xf)
            return float(f), np.asarray(g, np.float64)

        res = _scipy_run(obj, np.asarray(x_init, np.float64), method, lb, ub, tol, options)
        return res, _summary(res, lb, ub)

    if not any(isinstance(v, Tracer) for v in [x_start] + theta_sg):
        res, s = run(x_start, *theta_sg)
        extra = {k: res[k] for k in res if k not in _FIELDS}
        extra["message"] = str(res.message)
    else:
        specs = {k: ShapeDtypeStruct((n,) if k in ("x", "jac", "free") else (),
                                     np.bool_ if k == "success" else
                                     np.float64 if k in ("x", "fun", "jac", "free")
                                     else np.int64) for k in _FIELDS}
        s = pure_callback(lambda *a: run(*a)[1], specs, x_start, *theta_sg)
        extra = {"message": "not available under jit or vmap: see status and success"}
    x_flat = s["x"]
    if any(isinstance(t, Tracer) and _is_float(t) for t in theta):
        gprog = optimize(vg_prog.replace(outs=vg_prog.outs[1:]), fusion=False)
        x_flat = bind(argmin_p, x_flat, s["free"], *theta, grad_program=gprog)
        f_val = eval_program(vg_prog, [*theta, x_flat])[0]
    else:
        f_val = s["fun"]
    result = OptimizeResult(x=unravel(x_flat), fun=f_val, jac=unravel(s["jac"], cast=False),
                            nit=s["nit"], nfev=s["nfev"], njev=s["njev"], status=s["status"],
                            success=s["success"], **extra)
    return result


def _minimize_eager(value_and_gradient, x_leaves, unravel, method, lb, ub, tol, options,
                    theta_args):
    """The SciPy run for a fun that cannot be staged: called eagerly, nothing traced."""
    def obj(xf):
        f, g = value_and_gradient(np.asarray(xf, np.float64), theta_args)
        if isinstance(f, Tracer) or isinstance(g, Tracer):
            raise TypeError("minimize: fun depends on traced values but could not be staged; "
                            "write it with chainrule.numpy functions (no Python branches on "
                            "values: use cnp.where or lax.cond)")
        return float(f), np.asarray(g, np.float64)

    x_start = np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in x_leaves])
    res = _scipy_run(obj, x_start, method, lb, ub, tol, options)
    out = OptimizeResult({k: res[k] for k in res})
    out["x"] = unravel(np.asarray(res.x, np.float64))
    out["jac"] = unravel(np.asarray(res.jac, np.float64), cast=False)
    out["fun"] = np.asarray(res.fun, np.float64)
    out["message"] = str(res.message)
    return out
