"""chainrule.scipy.integrate: `odeint`, an adaptive Runge-Kutta ODE solver whose solutions are
differentiable by the adjoint method (reverse mode) and by the tangent system (forward mode).

Contract:
- `odeint(func, y0, t, *args)` follows JAX's `odeint` (func(y, t, *args), y0 a pytree, t an
  increasing 1-d array of output times, results stacked on a leading axis of length len(t)).
- The integration is one primitive, `odeint_p(*ps, y0, ts)`, where `ps` are the arrays func
  closes over followed by the leaves of `args`, y0 is the flattened state and the staged
  func is the param `func_program` ((*ps, y, t) -> dy/dt, flat). Its impl runs a
  Dormand-Prince 5(4) solver written with chainrule primitives and `lax.scan` /
  `lax.while_loop` (staged once per problem and compiled after a few runs).
- JVP: one solve of the state together with its tangent S (dS/dt = f_y S + f_p p_dot,
  S(t0) = y0_dot - f(y0, t0) t0_dot), plus f(y_i, t_i) t_i_dot at the outputs. The step
  size is controlled on the state only (the `n_err` leading components), so the primal
  output of jvp equals odeint's output and the tangent is the exact derivative of the
  discrete solution on the accepted steps.
- Reverse: the adjoint method. Between output times the augmented system (y, a, p_bar)
  runs backwards in time (da/dt = -f_y^T a, dp_bar/dt = -f_p^T a, starting each interval
  from the stored y_i), with the output cotangents added at the output times; the time
  cotangents are <ct_i, f(y_i, t_i)> for i >= 1 and -<a(t0), f(y0, t0)> for t0. It never
  differentiates through the solver's steps; memory is O(len(t)).
- Batching: a batched odeint_p records the vmap levels it runs under (param `levels`); its
  value is the vmapped solver (every example keeps its own step sizes) and its JVP and VJP
  are the vmapped rules, so vmap(grad), grad(vmap), jit of either all use the rules above.
- Every rule is made of binds (odeint_p itself on augmented systems, scan, ordinary
  primitives), so derivatives compose to any order.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np

from .. import lax
from .. import numpy as cnp
from .. import tree_util as tu
from ..compiler import options as compiler_options
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
from ..ir.program import eval_program
from ..lax_control import _as_leaf, _runner, _stage_user, _vmap_program
from ..prims.base import moveaxis0
from ..transforms.api import jvp, vjp, vmap
from ..transforms.staging import _finish, stage_flat

__all__ = ["odeint", "odeint_p"]

TESTED_IN = "tests/test_integrate.py"

# ---------------------------------------------------------------------------------------------
# Dormand-Prince 5(4): nodes, stage coefficients, 5th-order weights and the error weights
# (5th minus embedded 4th order); the last stage is the derivative at the new point (FSAL).

_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_A = ((),
      (1 / 5,),
      (3 / 40, 9 / 40),
      (44 / 45, -56 / 15, 32 / 9),
      (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
      (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656))
_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)

_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0


def _unfused():
    # Programs that the rules vmap are built without `fused` equations: the batching of a
    # fused equation is cached by batch axes only (not the batch size), so one program
    # batched at two sizes (e.g. jacfwd over jacrev) would reuse the wrong one.
    return compiler_options.using(fusion=False)


def _rms(x, n_err):
    if n_err < x.shape[-1]:
        x = x[:n_err]
    return cnp.sqrt(cnp.mean(x * x))


def _combine(y, h, coeffs, ks):
    acc = None
    for c, k in zip(coeffs, ks):
        if c != 0.0:
            acc = k * c if acc is None else acc + k * c
    return y + h * acc


def _dp_step(fun, y, f, t, h, rtol, atol, n_err):
    """One Dormand-Prince step of size h from (t, y) with f = fun(y, t): (y_new,
    fun(y_new, t + h), scaled RMS error estimate)."""
    ks = [f]
    for i in range(1, 6):
        ks.append(fun(_combine(y, h, _A[i], ks), t + _C[i] * h))
    y_new = _combine(y, h, _B, ks)
    f_new = fun(y_new, t + h)
    ks.append(f_new)
    err = _combine(0.0, h, _E, ks)
    scale = atol + rtol * cnp.maximum(cnp.abs(y), cnp.abs(y_new))
    return y_new, f_new, _rms(err / scale, n_err)


def _initial_step(fun, y0, t0, f0, rtol, atol, n_err):
    """A first step size from the size of y0, f0 and an estimate of f's variation (the
    classic rule of Hairer, Norsett and Wanner, for an error estimator of order 4)."""
    scale = atol + rtol * cnp.abs(y0)
    d0, d1 = _rms(y0 / scale, n_err), _rms(f0 / scale, n_err)
    small = (d0 < 1e-5) | (d1 < 1e-5)
    h0 = cnp.where(small, 1e-6, 0.01 * d0 / cnp.where(small, 1.0, d1))
    f1 = fun(y0 + h0 * f0, t0 + h0)
    d2 = _rms((f1 - f0) / scale, n_err) / h0
    dm = cnp.maximum(d1, d2)
    tiny = dm <= 1e-15
    h1 = cnp.where(tiny, cnp.maximum(1e-6, h0 * 1e-3),
                   (0.01 / cnp.where(tiny, 1.0, dm)) ** 0.2)
    return cnp.minimum(100.0 * h0, h1)


def _step_factor(err):
    ok = err > 0
    f = _SAFETY * cnp.where(ok, err, 1.0) ** -0.2
    f = cnp.where(ok, cnp.clip(f, _MIN_FACTOR, _MAX_FACTOR), _MAX_FACTOR)
    return cnp.where(cnp.isnan(err), _MIN_FACTOR, f)


def _solve(fun, y0, ts, *, rtol, atol, mxstep, hmax, n_err):
    """Integrate y' = fun(y, t) from (ts[0], y0), stepping exactly onto every output time.
    Returns (ys of shape (len(ts), n), failed): failed is True when some output time was not
    reached (mxstep steps in one interval, or a step too small to advance t); those outputs
    are NaN."""
    t0 = ts[0]
    f0 = fun(y0, t0)
    h0 = cnp.minimum(_initial_step(fun, y0, t0, f0, rtol, atol, n_err), hmax)
    finite_mx = math.isfinite(mxstep)

    def interval(carry, t_b):
        y, f, h, t, failed = carry

        def cond(s):
            t, _, _, _, k, stuck = s
            go = (t < t_b) & ~stuck & ~failed
            return go & (k < mxstep) if finite_mx else go

        def body(s):
            t, y, f, h, k, _ = s
            last = t + h >= t_b
            h_use = cnp.where(last, t_b - t, h)
            y_new, f_new, err = _dp_step(fun, y, f, t, h_use, rtol, atol, n_err)
            ok = err <= 1.0
            h_next = cnp.minimum(h_use * _step_factor(err), hmax)
            # a step shortened to land on t_b says nothing against the longer one
            h_next = cnp.where(ok & last, cnp.maximum(h_next, h), h_next)
            stuck = ~(t + h_use > t)
            t_new = cnp.where(last, t_b, t + h_use)
            return (cnp.where(ok, t_new, t), cnp.where(ok, y_new, y), cnp.where(ok, f_new, f),
                    h_next, k + 1, stuck)

        t_e, y_e, f_e, h_e, _, _ = lax.while_loop(
            cond, body, (t, y, f, h, np.int64(0), np.bool_(False)))
        failed = failed | (t_e < t_b)
        return (y_e, f_e, h_e, t_e, failed), cnp.where(failed, np.nan, y_e)

    (_, _, _, _, failed), ys = lax.scan(interval, (y0, f0, h0, t0, np.bool_(False)), ts[1:])
    return cnp.concatenate([y0[None], ys]), failed


# ---------------------------------------------------------------------------------------------
# the primitive


odeint_p = Primitive("odeint")


def _fun_of(func_program, ps):
    def fun(y, t):
        return eval_program(func_program, [*ps, y, t])[0]
    return fun


def _base_avals(func_program, n_times):
    *p_avals, y_aval, t_aval = func_program.in_avals
    return p_avals + [y_aval, ShapedArray((n_times,), t_aval.dtype)]


def _solver_program(func_program, n_times, rtol, atol, mxstep, hmax, n_err, levels):
    """The staged solver (ps..., y0, ts) -> (ys, failed), vmapped once per level."""
    key = ("odeint_solver", n_times, rtol, atol, mxstep, hmax, n_err, levels)
    prog = func_program._cache.get(key)
    if prog is None:
        if levels:
            axes, size = levels[-1]
            inner = _solver_program(func_program, n_times, rtol, atol, mxstep, hmax, n_err,
                                    levels[:-1])
            with _unfused():
                prog = _vmap_program(inner, axes, size)
        else:
            def solver(*ops):
                *ps, y0, ts = ops
                return list(_solve(_fun_of(func_program, ps), y0, ts, rtol=rtol, atol=atol,
                                   mxstep=mxstep, hmax=hmax, n_err=n_err))
            with _unfused():
                prog = _finish(stage_flat(solver, _base_avals(func_program, n_times)))
        func_program._cache[key] = prog
    return prog


def _odeint_impl(*ops, func_program, rtol, atol, mxstep, hmax, n_err, levels):
    prog = _solver_program(func_program, ops[-1].shape[-1], rtol, atol, mxstep, hmax, n_err,
                           levels)
    ys, failed = _runner(prog)(*ops)
    if np.any(failed):
        warnings.warn("odeint: the integration stopped before reaching every output time "
                      f"(mxstep={mxstep} steps in one interval, or a step too small to "
                      "advance t); those outputs are NaN. The problem may be stiff or its "
                      "solution may blow up; try a larger mxstep or looser rtol/atol.",
                      RuntimeWarning, stacklevel=2)
    return np.asarray(ys)


def _odeint_abstract(*avals, func_program, rtol, atol, mxstep, hmax, n_err, levels):
    lead = tuple(size for _, size in reversed(levels))
    return ShapedArray(lead + (avals[-1].shape[-1], avals[-2].shape[-1]), avals[-2].dtype)


def _zeros(x):
    # NumPy zeros, not cnp.zeros: arrays created by cnp inside a rule would be lifted into
    # the trace running the rule
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype)


def _is_float(x) -> bool:
    return get_aval(x).dtype.kind in "fc"


def _peel(params):
    """The outermost vmap level of a batched odeint_p and the params without it."""
    axes, size = params["levels"][-1]
    return axes, size, dict(params, levels=params["levels"][:-1])


# --- forward mode ----------------------------------------------------------------------------


def _tangent_program(func_program, nz):
    """(ps..., tangents of the ps with nz[i], w = [y, S], t) -> [f(y, t), f_y S + f_p p_dot]."""
    key = ("odeint_jvp", nz)
    prog = func_program._cache.get(key)
    if prog is None:
        *p_avals, y_aval, t_aval = func_program.in_avals
        n, n_p = y_aval.shape[0], len(p_avals)
        idx = [i for i in range(n_p) if nz[i]]

        def dyn(*a):
            ps, tps, w, t = list(a[:n_p]), a[n_p:-2], a[-2], a[-1]

            def f(y, *pz):
                full = list(ps)
                for i, v in zip(idx, pz):
                    full[i] = v
                return eval_program(func_program, full + [y, t])[0]

            fy, dy = jvp(f, [w[:n], *[ps[i] for i in idx]], [w[n:], *tps])
            return [cnp.concatenate([fy, dy])]

        w_aval = ShapedArray((2 * n,), y_aval.dtype)
        with _unfused():
            prog = _finish(stage_flat(dyn, p_avals + [p_avals[i] for i in idx]
                                      + [w_aval, t_aval]))
        func_program._cache[key] = prog
    return prog


def _odeint_jvp(primals, tangents, **params):
    if params["levels"]:
        return _jvp_batched(primals, tangents, params)
    func_program = params["func_program"]
    *ps, y0, ts = primals
    *tps, ty0, tts = tangents
    nz = tuple(t is not None for t in tps)
    if ty0 is None and tts is None and not any(nz):
        return bind(odeint_p, *primals, **params), None
    n = y0.shape[0]
    fun = _fun_of(func_program, ps)
    s0 = _zeros(y0) if ty0 is None else ty0
    if tts is not None:
        s0 = s0 - fun(y0, ts[0]) * tts[0]
    ws = bind(odeint_p, *ps, *[t for t in tps if t is not None], cnp.concatenate([y0, s0]), ts,
              **dict(params, func_program=_tangent_program(func_program, nz)))
    ys, ss = ws[:, :n], ws[:, n:]
    if tts is not None:
        ss = ss + vmap(fun)(ys, ts) * tts[:, None]
    return ys, ss


def _jvp_batched(primals, tangents, params):
    axes, size, inner = _peel(params)
    nzi = [i for i, t in enumerate(tangents) if t is not None]
    k = len(primals)

    def one(*a):
        ts = [None] * k
        for i, v in zip(nzi, a[k:]):
            ts[i] = v
        out, t_out = _odeint_jvp(list(a[:k]), ts, **inner)
        return out, _zeros(out) if t_out is None else t_out

    return vmap(one, in_axes=tuple(axes) + tuple(axes[i] for i in nzi), axis_size=size)(
        *primals, *[tangents[i] for i in nzi])


# --- reverse mode ----------------------------------------------------------------------------


def _adjoint_program(func_program, fp):
    """(ps..., z = [y, a, p_bar], s) -> dz/ds of the adjoint system in reversed time s = -t:
    [-f(y, t), f_y^T a, f_p^T a] (p over the float ps at positions fp, raveled)."""
    key = ("odeint_adjoint", fp)
    prog = func_program._cache.get(key)
    if prog is None:
        *p_avals, y_aval, t_aval = func_program.in_avals
        n, n_p, dt = y_aval.shape[0], len(p_avals), y_aval.dtype
        m = sum(p_avals[i].size for i in fp)

        def dyn(*a):
            ps, z, s = list(a[:n_p]), a[n_p], a[n_p + 1]
            t = -s

            def f(y, *pf):
                full = list(ps)
                for i, v in zip(fp, pf):
                    full[i] = v
                return eval_program(func_program, full + [y, t])[0]

            fy, f_vjp = vjp(f, z[:n], *[ps[i] for i in fp])
            cts = f_vjp(z[n:2 * n])
            parts = [-fy, cts[0]] + [cnp.ravel(c).astype(dt) for c in cts[1:]]
            return [cnp.concatenate(parts)]

        z_aval = ShapedArray((2 * n + m,), dt)
        with _unfused():
            prog = _finish(stage_flat(dyn, p_avals + [z_aval, t_aval]))
        func_program._cache[key] = prog
    return prog


def _cotangents(vals, ys, ct, params):
    """Cotangents of odeint_p's operands (None for integer ones) for the output cotangent ct."""
    if params["levels"]:
        return _cotangents_batched(vals, ys, ct, params)
    func_program = params["func_program"]
    *ps, y0, ts = vals
    n, dt = y0.shape[0], y0.dtype
    fp = tuple(i for i, p in enumerate(ps) if _is_float(p))
    fun = _fun_of(func_program, ps)
    fs = vmap(fun)(ys, ts)
    adj = _adjoint_program(func_program, fp)
    adj_params = dict(params, func_program=adj, n_err=adj.in_avals[-2].shape[0])
    m = adj_params["n_err"] - 2 * n

    def back(carry, x):
        a, p_bar = carry
        y_i, c_i, t_i, t_prev = x
        a = a + c_i
        zs = bind(odeint_p, *ps, cnp.concatenate([y_i, a, p_bar]), cnp.stack([-t_i, -t_prev]),
                  **adj_params)
        return (zs[1, n:2 * n], zs[1, 2 * n:]), None

    (a, p_bar), _ = lax.scan(back, (_zeros(y0), np.zeros((m,), dt)),
                             (ys[1:], ct[1:], ts[1:], ts[:-1]), reverse=True)
    ts_bar = cnp.concatenate([-cnp.sum(a * fs[0])[None], cnp.sum(ct[1:] * fs[1:], axis=-1)])
    out = [None] * len(ps)
    off = 0
    for i in fp:
        p = ps[i]
        size = get_aval(p).size
        out[i] = cnp.reshape(p_bar[off:off + size], get_aval(p).shape).astype(get_aval(p).dtype)
        off += size
    return out + [a + ct[0], ts_bar]


def _cotangents_batched(vals, ys, ct, params):
    axes, size, inner = _peel(params)
    fl = [i for i, v in enumerate(vals) if _is_float(v)]

    def one(*a):
        g = _cotangents(list(a[:-2]), a[-2], a[-1], inner)
        return [_zeros(a[i]) if g[i] is None else g[i] for i in fl]

    g = vmap(one, in_axes=tuple(axes) + (0, 0), axis_size=size)(*vals, ys, ct)
    out = [None] * len(vals)
    for i, gi in zip(fl, g):
        out[i] = gi if axes[i] is not None else cnp.sum(gi, axis=0)
    return out


def _odeint_reverse(vals, params):
    ys = bind(odeint_p, *vals, **params)
    return ys, lambda ct: _cotangents(vals, ys, ct, params)


# --- batching --------------------------------------------------------------------------------


def _odeint_batch(vals, bdims, **params):
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    vals = [v if b is None else moveaxis0(v, b) for v, b in zip(vals, bdims)]
    axes = tuple(None if b is None else 0 for b in bdims)
    levels = params["levels"] + ((axes, size),)
    return bind(odeint_p, *vals, **dict(params, levels=levels)), 0


odeint_p.impl = _odeint_impl
odeint_p.abstract_eval = _odeint_abstract
odeint_p.jvp = _odeint_jvp
odeint_p.reverse = _odeint_reverse
odeint_p.batch = _odeint_batch


# ---------------------------------------------------------------------------------------------
# odeint


def _cast(x, dt):
    if get_aval(x).dtype == dt:
        return x
    return x.astype(dt) if isinstance(x, Tracer) else np.asarray(x, dt)


def _positive(name, v, allow_zero=False, allow_inf=False):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"odeint: {name} must be a real number, got {v!r}") from None
    if math.isnan(x) or (x < 0 if allow_zero else x <= 0) or (math.isinf(x) and not allow_inf):
        raise ValueError(f"odeint: {name} must be {'>= 0' if allow_zero else '> 0'}"
                         f"{'' if allow_inf else ' and finite'}, got {v!r}")
    return x


def odeint(func: Callable, y0, t, *args, rtol: float = 1.4e-8, atol: float = 1.4e-8,
           mxstep: float = np.inf, hmax: float = np.inf):
    """Solve the ODE y' = func(y, t, *args) from y(t[0]) = y0; the solution at every time of t.

    Dormand-Prince 5(4) with adaptive steps (error estimate scaled by atol + rtol * |y|,
    RMS norm <= 1), stepping exactly onto each output time. Same call convention as JAX's
    `odeint`. scipy.integrate.odeint(func, y0, t, args=(...)) calls func(y, t, *args) in the
    same order (unless tfirst=True) but takes the extra arguments as a tuple keyword and
    flat 1-d states only, and uses LSODA, which also handles stiff problems (this solver is
    explicit: stiff problems need many small steps); solve_ivp calls fun(t, y).

    Derivatives with respect to y0, t, args and arrays func closes over: reverse mode by the
    adjoint method (a backwards solve of the adjoint system between output times, not
    differentiation through the solver's steps), forward mode by solving the tangent system
    along with the state. Both are as accurate as the solves (rtol/atol), to any order.
    Works under jit and vmap (each example of a batch keeps its own step sizes).

    Args:
      func: dynamics func(y, t, *args) -> dy/dt with y's pytree structure and shapes; it
        must be traceable (chainrule.numpy functions, no Python branches on values).
      y0: initial state, an array or a pytree of float arrays (integers become float64;
        complex states are not supported: split them into real and imaginary parts).
      t: 1-d array of output times, non-decreasing, t[0] the initial time (checked when
        concrete; under jit or vmap, outputs after a decrease are NaN).
      *args: extra arrays (pytrees) passed to func.
      rtol, atol: relative and absolute error tolerances (scalars; rtol is raised to 100
        machine epsilons of the computation dtype when smaller).
      mxstep: maximum number of steps between two output times (default unbounded).
      hmax: maximum step size (default unbounded).
    Returns:
      y at the times t: y0's pytree structure, each leaf with a new leading axis of length
      len(t). Outputs the solver could not reach (mxstep steps in one interval, a step too
      small to advance t, e.g. a blow-up) are NaN, with a RuntimeWarning.

    Example:
      >>> ts = np.linspace(0.0, 1.0, 5)
      >>> odeint(lambda y, t, k: -k * y, 1.0, ts, 2.0)     # exp(-2 t)
      >>> grad(lambda k: odeint(lambda y, t: -k * y, 1.0, ts)[-1])(2.0)   # -exp(-2)
    """
    if not callable(func):
        raise TypeError(f"odeint: func must be callable, got {type(func).__name__}")
    rtol = _positive("rtol", rtol, allow_zero=True)
    atol = _positive("atol", atol, allow_zero=True)
    if rtol == 0 and atol == 0:
        raise ValueError("odeint: rtol and atol cannot both be 0")
    mxstep = _positive("mxstep", mxstep, allow_inf=True)
    if math.isfinite(mxstep):
        mxstep = int(mxstep)
    hmax = _positive("hmax", hmax, allow_inf=True)
    leaves, tree = tu.tree_flatten(y0)
    leaves = [_as_leaf(x) for x in leaves]
    dtypes = []
    for x in leaves:
        dt = get_aval(x).dtype
        if dt.kind == "c":
            raise TypeError("odeint: complex states are not supported; integrate the real and "
                            "imaginary parts as separate real arrays")
        if dt.kind not in "fiub":
            raise TypeError(f"odeint: y0 leaves must be numeric arrays, got dtype {dt}")
        dtypes.append(dt if dt.kind == "f" else np.dtype(np.float64))
    t = _as_leaf(t)
    t_dt = get_aval(t).dtype
    if t_dt.kind not in "fiu":
        raise TypeError(f"odeint: t must be a real array, got dtype {t_dt}")
    if get_aval(t).ndim != 1 or get_aval(t).shape[0] == 0:
        raise ValueError(f"odeint: t must be a non-empty 1-d array of times, got shape "
                         f"{get_aval(t).shape}")
    if not isinstance(t, Tracer):
        tv = np.asarray(t, dtype=np.float64)
        if not np.all(np.isfinite(tv)) or np.any(np.diff(tv) < 0):
            raise ValueError("odeint: t must be finite and non-decreasing (to integrate "
                             "backwards, solve z' = -func(z, -s) over s = -t)")
    dt = np.result_type(*dtypes, t_dt if t_dt.kind == "f" else np.float16)
    rtol = max(rtol, 100 * float(np.finfo(dt).eps))
    shapes = [get_aval(x).shape for x in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    n, n_t = sum(sizes), get_aval(t).shape[0]

    def unflatten_rows(flat, lead):
        out, off = [], 0
        for shape, size, d in zip(shapes, sizes, dtypes):
            piece = cnp.reshape(flat[..., off:off + size], lead + shape)
            out.append(piece if piece.dtype == d else piece.astype(d))
            off += size
        return tu.tree_unflatten(tree, out)

    if n == 0:
        return unflatten_rows(np.zeros((n_t, 0), dt), (n_t,))
    ts = _cast(t, dt)
    y_flat = cnp.concatenate([cnp.ravel(_cast(x, dt)) for x in leaves])
    a_leaves, a_tree = tu.tree_flatten(args)
    try:
        a_leaves = [_as_leaf(x) for x in a_leaves]
    except TypeError:
        a_leaves = None
    if a_leaves is None or any(get_aval(x).dtype.kind not in "biufc" for x in a_leaves):
        raise TypeError("odeint: args must be arrays or pytrees of arrays; pass other "
                        "values to func by closing over them")
    n_a = len(a_leaves)

    def call(fun, xs):
        out = fun(unflatten_rows(xs[n_a], ()), xs[n_a + 1], *tu.tree_unflatten(a_tree, xs[:n_a]))
        o_leaves, o_tree = tu.tree_flatten(out)
        if o_tree != tree:
            raise TypeError(f"odeint: func must return a pytree with y0's structure {tree}, "
                            f"got {o_tree}")
        flat = []
        for o, shape in zip(o_leaves, shapes):
            o = cnp.asarray(o)
            if tuple(o.shape) != shape:
                raise TypeError(f"odeint: func returned a leaf of shape {tuple(o.shape)} for a "
                                f"state leaf of shape {shape}; they must be equal")
            flat.append(cnp.ravel(o if o.dtype == dt else o.astype(dt)))
        return cnp.concatenate(flat)

    in_avals = [get_aval(x) for x in a_leaves] + [ShapedArray((n,), dt), ShapedArray((), dt)]
    with _unfused():
        prog, consts, _ = _stage_user(func, in_avals, call, "odeint func")
    ys = bind(odeint_p, *consts, *a_leaves, y_flat, ts, func_program=prog, rtol=rtol,
              atol=atol, mxstep=mxstep, hmax=hmax, n_err=n, levels=())
    return unflatten_rows(ys, (n_t,))
