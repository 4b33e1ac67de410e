"""chainrule.scipy.integrate: `odeint`, an adaptive Runge-Kutta ODE solver whose solutions are
differentiable by the discrete adjoint (reverse mode) and by the tangent system (forward mode).

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
- Reverse: the discrete adjoint, the transpose of the linearization the JVP integrates. The
  forward pass also returns each interval's first step size (param `with_h`: one more
  column). `odeint_adjoint_p(*ps, ys, hs, ts, ct)` then takes the intervals last first:
  it re-solves [t_i, t_{i+1}] forward from the stored y_i (same steps as the forward pass),
  recording each accepted step's (y, t, h), and pulls the adjoint back through those steps
  (a VJP of one Dormand-Prince step each), adding ct_i at the output times. The state is
  never integrated backwards in time (which amplifies errors by ~exp(|f_y| dt) on decaying
  problems: the continuous adjoint of JAX's odeint fails there). The time cotangents are
  <ct_i, f(y_i, t_i)> for i >= 1 and -<a(t0), f(y0, t0)> for t0. Memory: the outputs plus
  one interval's accepted steps (n + 2 numbers each, in buffers of a power of two that grow
  and are remembered per problem); cost: about one more forward solve and a VJP per stage.
  Its impl runs on arrays (one staged, compiled sweep, also under jit and vmap); its JVP and
  reverse rules (second-order derivatives) differentiate the same computation written as a
  while loop per interval (`_adjoint_generic`): O(steps) when values are known (eager, under
  grad/jvp), O(steps^2) per interval when staged (jit of a second derivative).
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
from ..core import ConcretizationError, Primitive, ShapedArray, Tracer, bind, get_aval
from ..ir.program import eval_program
from ..lax_control import _as_leaf, _runner, _stage_user, _vmap_program
from ..prims.base import moveaxis0
from ..transforms.api import jvp, vjp, vmap
from ..transforms.staging import _finish, stage_flat

__all__ = ["odeint", "odeint_p", "odeint_adjoint_p"]

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


def _attempt(fun, t, y, f, h, t_b, rtol, atol, hmax, n_err, frozen=False):
    """One attempted step towards t_b: (ok, t, y, f after it, next h, stuck, h used); a
    rejected step (ok False) leaves t, y and f as they were. frozen: the step-size control
    (error estimate, next h) carries no derivative, so derivatives of the result are those of
    the solution on the accepted steps."""
    last = t + h >= t_b
    h_use = cnp.where(last, t_b - t, h)
    y_new, f_new, err = _dp_step(fun, y, f, t, h_use, rtol, atol, n_err)
    if frozen:
        err = lax.stop_gradient(err)
    ok = err <= 1.0
    h_next = cnp.minimum(h_use * _step_factor(err), hmax)
    # a step shortened to land on t_b says nothing against the longer one
    h_next = cnp.where(ok & last, cnp.maximum(h_next, h), h_next)
    if frozen:
        h_next = lax.stop_gradient(h_next)
    stuck = ~(t + h_use > t)
    t_new = cnp.where(last, t_b, t + h_use)
    return (ok, cnp.where(ok, t_new, t), cnp.where(ok, y_new, y), cnp.where(ok, f_new, f),
            h_next, stuck, h_use)


def _solve(fun, y0, ts, *, rtol, atol, mxstep, hmax, n_err):
    """Integrate y' = fun(y, t) from (ts[0], y0), stepping exactly onto every output time.
    Returns (ys of shape (len(ts), n), hs, failed): hs[i] is the step size the solver tries
    first on [ts[i], ts[i+1]] (hs[-1] the one it would try next); failed is True when some
    output time was not reached (mxstep steps in one interval, or a step too small to advance
    t); those outputs are NaN."""
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
            _, t, y, f, h, stuck, _ = _attempt(fun, t, y, f, h, t_b, rtol, atol, hmax, n_err)
            return t, y, f, h, k + 1, stuck

        t_e, y_e, f_e, h_e, _, _ = lax.while_loop(
            cond, body, (t, y, f, h, np.int64(0), np.bool_(False)))
        failed = failed | (t_e < t_b)
        return (y_e, f_e, h_e, t_e, failed), (cnp.where(failed, np.nan, y_e), h)

    (_, _, h_e, _, failed), (ys, hs) = lax.scan(interval, (y0, f0, h0, t0, np.bool_(False)),
                                                ts[1:])
    return (cnp.concatenate([y0[None], ys]), cnp.concatenate([hs, h_e[None]]), failed)


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


def _solver_program(func_program, n_times, rtol, atol, mxstep, hmax, n_err, with_h, levels):
    """The staged solver (ps..., y0, ts) -> (ys, failed), vmapped once per level; with_h: ys
    has one more column, the solver's first step size on each interval (`_solve`'s hs)."""
    key = ("odeint_solver", n_times, rtol, atol, mxstep, hmax, n_err, with_h, levels)
    prog = func_program._cache.get(key)
    if prog is None:
        if levels:
            axes, size = levels[-1]
            inner = _solver_program(func_program, n_times, rtol, atol, mxstep, hmax, n_err,
                                    with_h, levels[:-1])
            with _unfused():
                prog = _vmap_program(inner, axes, size)
        else:
            def solver(*ops):
                *ps, y0, ts = ops
                ys, hs, failed = _solve(_fun_of(func_program, ps), y0, ts, rtol=rtol,
                                        atol=atol, mxstep=mxstep, hmax=hmax, n_err=n_err)
                if with_h:
                    ys = cnp.concatenate([ys, hs[:, None]], axis=1)
                return [ys, failed]
            with _unfused():
                prog = _finish(stage_flat(solver, _base_avals(func_program, n_times)))
        func_program._cache[key] = prog
    return prog


def _odeint_impl(*ops, func_program, rtol, atol, mxstep, hmax, n_err, with_h, levels):
    prog = _solver_program(func_program, ops[-1].shape[-1], rtol, atol, mxstep, hmax, n_err,
                           with_h, levels)
    ys, failed = _runner(prog)(*ops)
    if np.any(failed):
        warnings.warn("odeint: the integration stopped before reaching every output time "
                      f"(mxstep={mxstep} steps in one interval, or a step too small to "
                      "advance t); those outputs are NaN. The problem may be stiff or its "
                      "solution may blow up; try a larger mxstep or looser rtol/atol.",
                      RuntimeWarning, stacklevel=2)
    return np.asarray(ys)


def _odeint_abstract(*avals, func_program, rtol, atol, mxstep, hmax, n_err, with_h, levels):
    lead = tuple(size for _, size in reversed(levels))
    return ShapedArray(lead + (avals[-1].shape[-1], avals[-2].shape[-1] + with_h),
                       avals[-2].dtype)


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
    ys, ss = ws[:, :n], ws[:, n:2 * n]
    if tts is not None:
        ss = ss + vmap(fun)(ys, ts) * tts[:, None]
    if params["with_h"]:       # the step sizes: piecewise constant, no derivative
        return (cnp.concatenate([ys, ws[:, 2 * n:]], axis=1),
                cnp.concatenate([ss, _zeros(ws[:, 2 * n:])], axis=1))
    return ys, ss


def _jvp_batched(primals, tangents, params, rule=None):
    """rule (default `_odeint_jvp`) for a batched primitive, vmapped over its outermost
    level."""
    rule = _odeint_jvp if rule is None else rule
    axes, size, inner = _peel(params)
    nzi = [i for i, t in enumerate(tangents) if t is not None]
    k = len(primals)

    def one(*a):
        ts = [None] * k
        for i, v in zip(nzi, a[k:]):
            ts[i] = v
        out, t_out = rule(list(a[:k]), ts, **inner)
        return out, _zeros(out) if t_out is None else t_out

    return vmap(one, in_axes=tuple(axes) + tuple(axes[i] for i in nzi), axis_size=size)(
        *primals, *[tangents[i] for i in nzi])


# --- reverse mode ----------------------------------------------------------------------------
# The discrete adjoint: the transpose of the linearization of the accepted steps (the same
# linearization the JVP integrates), one output interval at a time from the stored outputs.
# The state is never integrated backwards (that amplifies errors by exp(|f_y| dt) on decaying
# problems). odeint_adjoint_p(*ps, ys, hs, ts, ct) -> [a, p_bar]: a = sum_{i>=1} (dy_i/dy0)^T
# ct_i and p_bar = sum_{i>=1} (dy_i/dp)^T ct_i (p the float ps, raveled), on the solver's
# steps with the step-size control held fixed; hs is the solver's first step size on each
# interval, so re-solving an interval from ys[i] repeats the forward pass's steps.

odeint_adjoint_p = Primitive("odeint_adjoint")

_FIRST_CAP = 32


def _float_ps(ps) -> tuple:
    return tuple(i for i, p in enumerate(ps) if _is_float(p))


def _with(ps, fp, pf):
    full = list(ps)
    for i, v in zip(fp, pf):
        full[i] = v
    return full


def _concrete(x) -> bool:
    if not isinstance(x, Tracer):
        return True
    try:
        x._trace.concrete(x, "check")
    except ConcretizationError:
        return False
    return True


def _flat_p(cts, dt):
    return cnp.concatenate([cnp.ravel(c).astype(dt) for c in cts]) if cts else np.zeros((0,), dt)


def _step_vjp(func_program, ps, fp, y, t, h, a):
    """(a^T dy'/dy, a^T dy'/dp) for the accepted step y -> y' of size h from (t, y)."""
    def step(y, *pf):
        fun = _fun_of(func_program, _with(ps, fp, pf))
        ks = [fun(y, t)]
        for i in range(1, 6):
            ks.append(fun(_combine(y, h, _A[i], ks), t + _C[i] * h))
        return _combine(y, h, _B, ks)

    _, pull = vjp(step, y, *[ps[i] for i in fp])
    return pull(a)


def _adjoint_solve(func_program, ps, ys, hs, ts, ct, *, rtol, atol, mxstep, hmax, n_err, cap):
    """The adjoint sweep on arrays: for each interval, last first, re-solve it forward from
    ys[i] recording the accepted steps' (y, t, h) (at most cap of them), then pull the
    adjoint back through them. Returns ([a, p_bar], the most accepted steps in an interval;
    the result is valid when that is <= cap)."""
    fp = _float_ps(ps)
    fun = _fun_of(func_program, ps)
    n, dt = ys.shape[1], ys.dtype
    m = sum(get_aval(ps[i]).size for i in fp)
    finite_mx = math.isfinite(mxstep)

    def interval(carry, x):
        a, pb, most = carry
        y, h, t_a, t_b, c = x
        a = a + c

        def cond(s):
            t, _, _, _, k, _, stuck = s[:7]
            go = (t < t_b) & ~stuck
            return go & (k < mxstep) if finite_mx else go

        def body(s):
            t, y, f, h, k, j, _, ybuf, tbuf, hbuf = s
            # a rejected attempt does not advance j: the next attempt overwrites its row
            i = cnp.minimum(j, cap - 1)
            ok, t2, y2, f2, h2, stuck, h_use = _attempt(fun, t, y, f, h, t_b, rtol, atol,
                                                        hmax, n_err)
            ybuf = lax.dynamic_update_index_in_dim(ybuf, y, i, 0)
            tbuf = lax.dynamic_update_index_in_dim(tbuf, t, i, 0)
            hbuf = lax.dynamic_update_index_in_dim(hbuf, h_use, i, 0)
            return (t2, y2, f2, h2, k + 1, j + ok.astype(np.int64), stuck, ybuf, tbuf, hbuf)

        s = lax.while_loop(cond, body, (t_a, y, fun(y, t_a), h, np.int64(0), np.int64(0),
                                        np.bool_(False), np.zeros((cap, n), dt),
                                        np.zeros((cap,), dt), np.zeros((cap,), dt)))
        j, ybuf, tbuf, hbuf = s[5], s[7], s[8], s[9]

        def back(s):
            j, a, pb = s
            j = j - 1
            g = _step_vjp(func_program, ps, fp,
                          lax.dynamic_index_in_dim(ybuf, j, 0, keepdims=False),
                          lax.dynamic_index_in_dim(tbuf, j, 0, keepdims=False),
                          lax.dynamic_index_in_dim(hbuf, j, 0, keepdims=False), a)
            return j, g[0], pb + _flat_p(g[1:], dt) if m else pb

        _, a, pb = lax.while_loop(lambda s: s[0] > 0, back, (cnp.minimum(j, cap), a, pb))
        return (a, pb, cnp.maximum(most, j)), None

    (a, pb, most), _ = lax.scan(interval, (np.zeros((n,), dt), np.zeros((m,), dt), np.int64(0)),
                                (ys[:-1], hs[:-1], ts[:-1], ts[1:], ct[1:]), reverse=True)
    return [cnp.concatenate([a, pb]), most]


def _adjoint_avals(func_program, n_times):
    *p_avals, y_aval, t_aval = func_program.in_avals
    n = y_aval.shape[0]
    rows, times = ShapedArray((n_times, n), y_aval.dtype), ShapedArray((n_times,), t_aval.dtype)
    return p_avals + [rows, times, times, rows]


def _adjoint_sweep_program(func_program, n_times, rtol, atol, mxstep, hmax, n_err, cap, levels):
    key = ("odeint_adjoint_sweep", n_times, rtol, atol, mxstep, hmax, n_err, cap, levels)
    prog = func_program._cache.get(key)
    if prog is None:
        if levels:
            axes, size = levels[-1]
            inner = _adjoint_sweep_program(func_program, n_times, rtol, atol, mxstep, hmax,
                                           n_err, cap, levels[:-1])
            with _unfused():
                prog = _vmap_program(inner, axes, size)
        else:
            def sweep(*ops):
                *ps, ys, hs, ts, ct = ops
                return _adjoint_solve(func_program, ps, ys, hs, ts, ct, rtol=rtol, atol=atol,
                                      mxstep=mxstep, hmax=hmax, n_err=n_err, cap=cap)
            with _unfused():
                prog = _finish(stage_flat(sweep, _adjoint_avals(func_program, n_times)))
        func_program._cache[key] = prog
    return prog


def _adjoint_impl(*ops, func_program, rtol, atol, mxstep, hmax, n_err, levels):
    n_times = ops[-2].shape[-1]
    cap_key = ("odeint_adjoint_cap", n_times, rtol, atol, mxstep, hmax, n_err, levels)
    cap = func_program._cache.get(cap_key, _FIRST_CAP)
    while True:
        prog = _adjoint_sweep_program(func_program, n_times, rtol, atol, mxstep, hmax, n_err,
                                      cap, levels)
        out, most = _runner(prog)(*ops)
        most = int(np.max(most))
        if most <= cap:
            break
        cap = 1 << (most - 1).bit_length()    # too many steps for the buffers: grow, redo
    func_program._cache[cap_key] = cap
    return np.asarray(out)


def _adjoint_abstract(*avals, func_program, rtol, atol, mxstep, hmax, n_err, levels):
    lead = tuple(size for _, size in reversed(levels))
    p_avals = func_program.in_avals[:-2]
    m = sum(a.size for a in p_avals if a.dtype.kind in "fc")
    return ShapedArray(lead + (avals[-1].shape[-1] + m,), avals[-1].dtype)


def _interval_map(fun, y, h, t_a, t_b, *, rtol, atol, mxstep, hmax, n_err):
    """y at t_b from y at t_a by the solver's steps (first step size h), as a differentiable
    function of y, the ps and the times with the step-size control held fixed."""
    finite_mx = math.isfinite(mxstep)

    def cond(s):
        t, _, _, _, k, stuck = s
        go = (t < t_b) & ~stuck
        return go & (k < mxstep) if finite_mx else go

    def body(s):
        t, y, f, h, k, _ = s
        _, t, y, f, h, stuck, _ = _attempt(fun, t, y, f, h, t_b, rtol, atol, hmax, n_err,
                                           frozen=True)
        return t, y, f, h, k + 1, stuck

    return lax.while_loop(cond, body, (t_a, y, fun(y, t_a), h, np.int64(0), np.bool_(False)))[1]


def _adjoint_generic(ops, params):
    """odeint_adjoint_p's value as a composition of differentiable operations (vjp of
    `_interval_map` on each interval): what its JVP and reverse rules differentiate."""
    func_program = params["func_program"]
    *ps, ys, hs, ts, ct = ops
    fp = _float_ps(ps)
    n, dt = get_aval(ys).shape[-1], get_aval(ys).dtype
    m = sum(get_aval(ps[i]).size for i in fp)
    kw = {k: params[k] for k in ("rtol", "atol", "mxstep", "hmax", "n_err")}
    hs = lax.stop_gradient(hs)

    def one(a, pb, y, h, t_a, t_b, c):
        a = a + c

        def phi(y, *pf):
            return _interval_map(_fun_of(func_program, _with(ps, fp, pf)), y, h, t_a, t_b, **kw)

        g = vjp(phi, y, *[ps[i] for i in fp])[1](a)
        return g[0], (pb + _flat_p(g[1:], dt) if m else pb)

    a, pb = np.zeros((n,), dt), np.zeros((m,), dt)
    n_t = get_aval(ts).shape[0]
    if all(_concrete(x) for x in ops):
        # values known (eager, or under grad/jvp): each interval's loop differentiates with
        # its trip count known, storing one carry per step
        for i in reversed(range(n_t - 1)):
            a, pb = one(a, pb, ys[i], hs[i], ts[i], ts[i + 1], ct[i + 1])
    else:
        (a, pb), _ = lax.scan(lambda c, x: (one(*c, *x), None), (a, pb),
                              (ys[:-1], hs[:-1], ts[:-1], ts[1:], ct[1:]), reverse=True)
    return cnp.concatenate([a, pb])


def _adjoint_diff(vals):
    """Positions of odeint_adjoint_p's operands that carry a derivative (hs does not)."""
    return [i for i, v in enumerate(vals) if _is_float(v) and i != len(vals) - 3]


def _adjoint_jvp(primals, tangents, **params):
    if params["levels"]:
        return _jvp_batched(primals, tangents, params, _adjoint_jvp)
    nzi = [i for i in _adjoint_diff(primals) if tangents[i] is not None]
    if not nzi:
        return bind(odeint_adjoint_p, *primals, **params), None

    def g(*d):
        return _adjoint_generic(_with(primals, nzi, d), params)

    return jvp(g, [primals[i] for i in nzi], [tangents[i] for i in nzi])


def _adjoint_cts(vals, ct, params):
    if params["levels"]:
        return _batched_cts(_adjoint_cts, vals, [ct], params)
    fl = _adjoint_diff(vals)

    def g(*d):
        return _adjoint_generic(_with(vals, fl, d), params)

    gs = vjp(g, *[vals[i] for i in fl])[1](ct)
    out = [None] * len(vals)
    for i, gi in zip(fl, gs):
        out[i] = gi
    return out


def _adjoint_reverse(vals, params):
    out = bind(odeint_adjoint_p, *vals, **params)
    return out, lambda ct: _adjoint_cts(vals, ct, params)


def _cotangents(vals, out, ct, params):
    """Cotangents of odeint_p's operands (None for integer ones) for the output cotangent ct;
    out is odeint_p's output with the step-size column (with_h)."""
    if params["levels"]:
        return _batched_cts(_cotangents, vals, [out, ct], params)
    func_program = params["func_program"]
    *ps, y0, ts = vals
    n, dt = y0.shape[0], y0.dtype
    ys, hs = out[:, :n], out[:, n]
    fp = _float_ps(ps)
    fs = vmap(_fun_of(func_program, ps))(ys, ts)
    if get_aval(ts).shape[0] > 1:
        adj = bind(odeint_adjoint_p, *ps, ys, hs, ts, ct,
                   **{k: params[k] for k in ("func_program", "rtol", "atol", "mxstep", "hmax",
                                             "n_err", "levels")})
        a, p_bar = adj[:n], adj[n:]
    else:
        a, p_bar = _zeros(y0), None
    ts_bar = cnp.concatenate([-cnp.sum(a * fs[0])[None], cnp.sum(ct[1:] * fs[1:], axis=-1)])
    res = [None] * len(ps)
    off = 0
    for i in fp:
        aval = get_aval(ps[i])
        res[i] = (_zeros(ps[i]) if p_bar is None else
                  cnp.reshape(p_bar[off:off + aval.size], aval.shape).astype(aval.dtype))
        off += aval.size
    return res + [a + ct[0], ts_bar]


def _batched_cts(rule, vals, extras, params):
    """rule(vals, *extras, params) (a list of cotangents, None for integer operands) for a
    batched primitive: vmapped over its outermost level; extras are batched on axis 0."""
    axes, size, inner = _peel(params)
    fl = [i for i, v in enumerate(vals) if _is_float(v)]

    def one(*a):
        k = len(vals)
        g = rule(list(a[:k]), *a[k:], inner)
        return [_zeros(a[i]) if g[i] is None else g[i] for i in fl]

    g = vmap(one, in_axes=tuple(axes) + (0,) * len(extras), axis_size=size)(*vals, *extras)
    out = [None] * len(vals)
    for i, gi in zip(fl, g):
        out[i] = gi if axes[i] is not None else cnp.sum(gi, axis=0)
    return out


def _odeint_reverse(vals, params):
    n = get_aval(vals[-2]).shape[-1]
    if params["with_h"]:      # (under an outer transform) the step sizes get no cotangent
        out = bind(odeint_p, *vals, **params)
        return out, lambda ct: _cotangents(vals, out, ct[..., :n], params)
    out = bind(odeint_p, *vals, **dict(params, with_h=True))
    return out[..., :n], lambda ct: _cotangents(vals, out, ct, params)


# --- batching --------------------------------------------------------------------------------


def _batch_rule(prim):
    def batch(vals, bdims, **params):
        size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
        vals = [v if b is None else moveaxis0(v, b) for v, b in zip(vals, bdims)]
        axes = tuple(None if b is None else 0 for b in bdims)
        levels = params["levels"] + ((axes, size),)
        return bind(prim, *vals, **dict(params, levels=levels)), 0
    return batch


odeint_p.impl = _odeint_impl
odeint_p.abstract_eval = _odeint_abstract
odeint_p.jvp = _odeint_jvp
odeint_p.reverse = _odeint_reverse
odeint_p.batch = _batch_rule(odeint_p)

odeint_adjoint_p.impl = _adjoint_impl
odeint_adjoint_p.abstract_eval = _adjoint_abstract
odeint_adjoint_p.jvp = _adjoint_jvp
odeint_adjoint_p.reverse = _adjoint_reverse
odeint_adjoint_p.batch = _batch_rule(odeint_adjoint_p)


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

    Derivatives with respect to y0, t, args and arrays func closes over: forward mode by
    solving the tangent system along with the state, reverse mode by the discrete adjoint
    (each output interval is re-solved forward from its stored start and the adjoint is
    pulled back through its accepted steps; the state is never integrated backwards, so
    decaying and stiff-ish problems get accurate gradients). Both are the exact derivative
    of the computed solution on its accepted steps (step-size control held fixed), so grad
    equals jvp to rounding, and they approximate the true derivative as well as the solve
    does (rtol/atol); to any order. Reverse mode stores the outputs and, for one interval at
    a time, its accepted steps (len(y0) + 2 numbers a step). Works under jit and vmap (each
    example of a batch keeps its own step sizes).

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
              atol=atol, mxstep=mxstep, hmax=hmax, n_err=n, with_h=False, levels=())
    return unflatten_rows(ys, (n_t,))
