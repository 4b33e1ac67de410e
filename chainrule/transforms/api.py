"""The user-facing transforms, with JAX's signatures and semantics: grad, value_and_grad, vjp,
jvp, linearize, jacfwd, jacrev, hessian, vmap.

Every transform takes and returns pytrees. Inputs that are Python scalars or lists become
NumPy arrays (float64 by default). Zero derivatives come back as arrays of zeros.
Complex numbers (docs/complex.md): cotangents are adjoints under the real inner product
Re(sum(conj(a) * b)), so grad of a real f of complex z is df/dx + i df/dy = 2 df/dconj(z)
(PyTorch's convention, the conjugate of JAX's); holomorphic=True gives f'(z) as JAX does.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from ..core import Tracer, axis_env, is_inexact_dtype, trace_stack, tracing
from .. import tree_util as tu
from .forward import JVPTrace, JVPTracer
from .reverse import IDX, RTrace, RTracer, backward
from .batching import BatchTrace, BatchTracer, move_to

float0 = np.dtype([("float0", np.void, 0)])


# ---------------------------------------------------------------------------------------------
# helpers


def _check_callable(fun, name):
    if not callable(fun):
        raise TypeError(f"{name} expects a callable as its first argument, got "
                        f"{type(fun).__name__}")


def _as_value(x):
    if isinstance(x, (Tracer, np.ndarray)):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    if isinstance(x, (bool, int, float, complex)):
        return np.asarray(x)
    try:
        return np.asarray(x)
    except Exception:
        raise TypeError(f"argument of type {type(x).__name__} is not a valid array "
                        "(expected arrays, Python scalars, or pytrees of them)") from None


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _norm_argnums(argnums, nargs, name):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{name}: argnums must not be empty")
    out = []
    for a in nums:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{name}: argnums={argnums} is out of range for a function "
                             f"called with {nargs} positional argument(s)")
        out.append(int(a) % nargs)
    return tuple(out), single


def _check_diff_inputs(leaves, name, allow_int=False, holomorphic=False):
    for x in leaves:
        dt = _dtype(x)
        if holomorphic and dt.kind != "c":
            raise TypeError(f"{name} with holomorphic=True requires complex inputs, got "
                            f"{dt.name}")
        if not allow_int and dt.kind not in "fc":
            raise TypeError(
                f"{name} requires real- or complex-valued (floating point) inputs to "
                f"differentiate, got an input of dtype {dt.name}. Convert it with "
                "x.astype(float) (or pass allow_int=True to get float0 zeros for it).")


_ONES = {}


def _one(dt):
    """grad's seed cotangent: a NumPy scalar (immutable, so it can be shared and even
    returned, and arithmetic on it takes NumPy's fast scalar path)."""
    o = _ONES.get(dt)
    if o is None:
        o = _ONES[dt] = dt.type(1)
    return o


def _zeros_like(x):
    dt = _dtype(x)
    if dt.kind not in "fc":
        return np.zeros(_shape(x), float0)
    return np.zeros(_shape(x), dt)


def _conj(x):
    from ..core import bind
    from ..prims import conj_p
    return bind(conj_p, x)


def _check_out_dtypes(leaves, name, holomorphic):
    """jacfwd/jacrev output dtypes, as JAX checks them."""
    for y in leaves:
        dt = _dtype(y)
        if holomorphic and dt.kind != "c":
            raise TypeError(f"{name} with holomorphic=True requires complex outputs, got "
                            f"{dt.name}")
        if not holomorphic and dt.kind == "c" and name == "jacrev":
            raise TypeError(
                "jacrev requires real-valued outputs: the derivative of a complex output "
                "that is not holomorphic is not a complex matrix. Pass holomorphic=True for "
                "holomorphic functions, use jacfwd for real inputs, cr.wirtinger for the "
                "Wirtinger derivatives, or vjp directly (docs/complex.md).")


def _split_args(args, argnums):
    return [args[i] for i in argnums]


def _replace_args(args, argnums, new):
    args = list(args)
    for i, v in zip(argnums, new):
        args[i] = v
    return args


def _unwrap_r(trace, x):
    return x._val if isinstance(x, RTracer) and x._trace is trace else x


def _seed(trace, x, ct):
    """(node, output index, cotangent) for an output leaf that depends on the inputs."""
    if isinstance(x, RTracer) and x._trace is trace:
        return (x._node, x._k, ct)
    return None


# ---------------------------------------------------------------------------------------------
# reverse mode


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Evaluate `fun` and return its value and a function computing vector-Jacobian products.

    Args:
      fun: a function of arrays (pytrees of arrays) returning arrays (pytrees).
      *primals: the point at which to differentiate.
      has_aux: when True, fun returns (output, aux) and aux is returned as a third value.
    Returns:
      (out, f_vjp) or (out, f_vjp, aux), where f_vjp(ct) returns a tuple with one cotangent
      per primal, each of the primal's structure. With complex values, f_vjp is the adjoint
      under Re(sum(conj(a) * b)): Re<f_vjp(ct), t> = Re<ct, J t> for every tangent t, so a
      holomorphic f gives conj(f'(z)) * ct (docs/complex.md).

    Example:
      >>> y, f_vjp = vjp(cnp.sin, 0.5); f_vjp(1.0)   # (cos(0.5),)
    """
    _check_callable(fun, "vjp")
    leaves, in_tree = tu.tree_flatten(primals)
    leaves = [_as_value(x) for x in leaves]
    trace = RTrace()
    tracers = [trace.new_input(x) if is_inexact_dtype(_dtype(x)) else x for x in leaves]
    leaf_nodes = [t._node if isinstance(t, RTracer) else None for t in tracers]
    with tracing(trace):
        out = fun(*tu.tree_unflatten(in_tree, tracers))
    if has_aux:
        out, aux = _split_aux(out, "vjp")
    out_leaves, out_tree = tu.tree_flatten(out)
    out_vals = [_unwrap_r(trace, o) for o in out_leaves]

    def f_vjp(ct):
        ct_leaves, ct_tree = tu.tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: the cotangent's structure {ct_tree} does not match the "
                             f"output's structure {out_tree}")
        seeds = []
        for o, v, c in zip(out_leaves, out_vals, ct_leaves):
            c = _as_value(c)
            if _shape(c) != _shape(v):
                raise ValueError(f"vjp: cotangent of shape {_shape(c)} for an output of "
                                 f"shape {_shape(v)}; they must match")
            s = _seed(trace, o, c)
            if s is not None:
                seeds.append(s)
        cts = backward(trace.tape, seeds)
        res = []
        for node, x in zip(leaf_nodes, leaves):
            g = cts[node[IDX]] if node is not None else None
            res.append(_zeros_like(x) if g is None else g)
        return tu.tree_unflatten(in_tree, res)

    out_primal = tu.tree_unflatten(out_tree, out_vals)
    if has_aux:
        return out_primal, f_vjp, _strip(trace, aux)
    return out_primal, f_vjp


def _split_aux(out, name):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{name} with has_aux=True requires the function to return a pair "
                        f"(output, aux), got {type(out).__name__}")
    return out[0], out[1]


def _strip(trace, tree):
    return tu.tree_map(lambda x: _unwrap_r(trace, x), tree)


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False) -> Callable:
    """A function returning both fun's value and its gradient with respect to `argnums`.

    Args:
      fun: a function returning a scalar (or (scalar, aux) with has_aux=True).
      argnums: which positional argument(s) to differentiate; an int gives that argument's
        gradient, a tuple gives a tuple of gradients.
      has_aux: fun returns (value, aux); the result is then ((value, aux), grad).
      holomorphic: fun is holomorphic in complex inputs (and has a complex output): the
        gradient is then f'(z), as in JAX. Without it, a real output of complex inputs gets
        df/dx + i df/dy (docs/complex.md).
      allow_int: integer inputs get float0 zero gradients instead of an error.
    Returns:
      A function with fun's signature returning (value, grad).

    Example:
      >>> value_and_grad(lambda x: (x ** 2).sum())(np.ones(3))   # (3.0, [2., 2., 2.])
    """
    _check_callable(fun, "value_and_grad")

    int_argnum = type(argnums) is int

    def finish(trace, out):
        aux = None
        if has_aux:
            out, aux = _split_aux(out, "grad")
            aux = _strip(trace, aux)
        if isinstance(out, (list, tuple, dict)) or _shape(out) != ():
            raise TypeError(
                f"grad requires a scalar output (shape ()), got "
                f"{'a ' + type(out).__name__ if isinstance(out, (list, tuple, dict)) else 'shape ' + str(_shape(out))}."
                " Use jacrev/jacfwd for the Jacobian, or vjp for products with it.")
        dt = _dtype(out)
        if dt.kind == "c" and not holomorphic:
            raise TypeError("grad requires a real-valued output; for holomorphic functions "
                            "use grad(f, holomorphic=True), for the Wirtinger derivatives of "
                            "a complex-valued function cr.wirtinger(f)")
        if holomorphic and dt.kind != "c":
            raise TypeError(f"grad with holomorphic=True requires a complex output, got "
                            f"{dt.name}")
        if dt.kind not in "fc":
            raise TypeError(f"grad requires a floating point output, got {dt.name}")
        value = _unwrap_r(trace, out)
        s = _seed(trace, out, _one(dt))
        return value, aux, backward(trace.tape, [s] if s is not None else [])

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        if int_argnum and 0 <= argnums < len(args) and not holomorphic:
            a = args[argnums]
            if type(a) is np.ndarray and a.dtype.kind == "f":
                # fast path: one real array argument
                trace = RTrace()
                t = trace.new_input(a)
                leaf = t._node  # held apart: a write x[i] = v inside fun rebinds t
                new_args = list(args)
                new_args[argnums] = t
                trace_stack.append(trace)
                try:
                    out = fun(*new_args, **kwargs)
                finally:
                    trace_stack.pop()
                if (not has_aux and out.__class__ is RTracer and out._trace is trace
                        and out._val.shape == () and out._val.dtype.kind == "f"):
                    # the usual case: a real scalar that depends on the input
                    value = out._val
                    cts = backward(trace.tape, [(out._node, out._k, _one(value.dtype))])
                    g = cts[leaf[IDX]]
                    return value, (np.zeros(a.shape, a.dtype) if g is None else g)
                value, aux, cts = finish(trace, out)
                g = cts[leaf[IDX]]
                g = np.zeros(a.shape, a.dtype) if g is None else g
                return ((value, aux), g) if has_aux else (value, g)
        nums, single = _norm_argnums(argnums, len(args), "grad")
        dyn = _split_args(args, nums)
        leaves, tree = tu.tree_flatten(dyn)
        leaves = [_as_value(x) for x in leaves]
        _check_diff_inputs(leaves, "grad", allow_int, holomorphic)
        trace = RTrace()
        tracers = [trace.new_input(x) if is_inexact_dtype(_dtype(x)) else x for x in leaves]
        leaf_nodes = [t._node if isinstance(t, RTracer) else None for t in tracers]
        new_args = _replace_args(args, nums, tu.tree_unflatten(tree, tracers))
        with tracing(trace):
            out = fun(*new_args, **kwargs)
        value, aux, cts = finish(trace, out)
        grads = []
        for node, x in zip(leaf_nodes, leaves):
            g = cts[node[IDX]] if node is not None else None
            grads.append(_zeros_like(x) if g is None else g)
        if holomorphic:
            # the cotangent of a holomorphic f at ct = 1 is conj(f'(z)) (see vjp)
            grads = [_conj(g) for g in grads]
        g_tree = tu.tree_unflatten(tree, grads)
        g_out = g_tree[0] if single else tuple(g_tree)
        if has_aux:
            return (value, aux), g_out
        return value, g_out

    return vg


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False) -> Callable:
    """The gradient of a scalar function with respect to argument(s) `argnums` (reverse mode).

    Args:
      fun: a function returning a scalar (or (scalar, aux) with has_aux=True).
      argnums: int or tuple of ints: which positional arguments to differentiate.
      has_aux: fun returns (value, aux); the result is then (grad, aux).
      holomorphic, allow_int: see value_and_grad.
    Returns:
      A function with fun's signature returning the gradient, shaped like the argument(s).

    Example:
      >>> grad(lambda x: cnp.sum(x ** 2))(np.array([1., 2.]))   # array([2., 4.])
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        if has_aux:
            (_, aux), gr = vg(*args, **kwargs)
            return gr, aux
        return vg(*args, **kwargs)[1]

    return g


# ---------------------------------------------------------------------------------------------
# forward mode


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Evaluate fun at `primals` and its Jacobian-vector product with `tangents` (forward mode).

    Args:
      fun: a function of arrays (pytrees) returning arrays (pytrees).
      primals: a tuple or list with one entry per positional argument.
      tangents: the same structure, shapes and dtypes as primals.
      has_aux: fun returns (output, aux); aux is returned as a third value.
    Returns:
      (primal_out, tangent_out) (and aux).

    Example:
      >>> jvp(cnp.sin, (0.0,), (1.0,))   # (0.0, 1.0)
    """
    _check_callable(fun, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists with one entry per "
                        f"positional argument, got {type(primals).__name__} and "
                        f"{type(tangents).__name__}")
    p_leaves, p_tree = tu.tree_flatten(tuple(primals))
    t_leaves, t_tree = tu.tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: primal and tangent structures differ: {p_tree} vs {t_tree}")
    trace = JVPTrace()
    ins = []
    for p, t in zip(p_leaves, t_leaves):
        p, t = _as_value(p), _as_value(t)
        pd, td = _dtype(p), _dtype(t)
        if _shape(p) != _shape(t):
            raise ValueError(f"jvp: tangent of shape {_shape(t)} for a primal of shape "
                             f"{_shape(p)}; each tangent must have its primal's shape")
        if pd.kind in "fc":
            if td != pd:
                if td.kind in "fc" and np.ndim(t) == 0 and not hasattr(tangents, "dtype") and \
                        isinstance(t, np.ndarray) and t.dtype == np.float64 and pd.kind == "f":
                    t = t.astype(pd)  # a Python float tangent for a float32 primal
                else:
                    raise TypeError(f"jvp: tangent dtype {td.name} does not match primal dtype "
                                    f"{pd.name}; tangents must have their primal's dtype")
            ins.append(JVPTracer(trace, p, t))
        else:
            if td != float0 and td != pd:
                raise TypeError(f"jvp: the tangent of an integer primal ({pd.name}) must have "
                                f"dtype float0 (or {pd.name}), got {td.name}")
            ins.append(p)
    with tracing(trace):
        out = fun(*tu.tree_unflatten(p_tree, ins))
    if has_aux:
        out, aux = _split_aux(out, "jvp")
    out_leaves, out_tree = tu.tree_flatten(out)
    po, to = [], []
    for o in out_leaves:
        if isinstance(o, JVPTracer) and o._trace is trace:
            po.append(o.primal)
            to.append(o.tangent)
        else:
            po.append(o)
            to.append(_zeros_like(o))
    res = tu.tree_unflatten(out_tree, po), tu.tree_unflatten(out_tree, to)
    if has_aux:
        aux = tu.tree_map(lambda x: x.primal if isinstance(x, JVPTracer) and x._trace is trace
                          else x, aux)
        return res + (aux,)
    return res


def linearize(fun: Callable, *primals, has_aux: bool = False):
    """fun's value at primals and its JVP there as a staged linear function.

    The primal computation runs once, now; the tangent computation is recorded as a Program
    (a partial evaluation: known primal values become constants), so calling f_jvp does not
    re-run fun.

    Args:
      fun: a function of arrays (pytrees); with has_aux, returning (output, aux).
      primals: the point to linearize at.
      has_aux: fun returns a pair (output, aux); aux is returned as a third value, not
        differentiated.

    Returns:
      (out, f_jvp) with f_jvp(*tangents) == jvp(fun, primals, tangents)[1]; with has_aux,
      (out, f_jvp, aux).

    Example:
      >>> y, f_jvp = linearize(cnp.sin, 0.5); f_jvp(2.0)   # 2 cos(0.5)
    """
    from .staging import StageTrace
    from ..ir.program import Program
    from ..core import get_aval
    _check_callable(fun, "linearize")
    p_leaves, p_tree = tu.tree_flatten(tuple(primals))
    p_leaves = [_as_value(x) for x in p_leaves]
    st = StageTrace()
    t_in = [st.new_input(get_aval(x)) if is_inexact_dtype(_dtype(x)) else
            np.zeros(_shape(x), float0) for x in p_leaves]
    in_vars = [t._var for t in t_in if not isinstance(t, np.ndarray)]
    with tracing(st):
        res = jvp(fun, tu.tree_unflatten(p_tree, p_leaves), tu.tree_unflatten(p_tree, t_in),
                  has_aux=has_aux)
    out, t_out = res[0], res[1]
    t_leaves, t_tree = tu.tree_flatten(t_out)
    atoms = [st.atom(t) for t in t_leaves]
    prog = Program(st.const_vars, st.consts, [v for _, v in st.captured] +
                   in_vars, st.eqns, atoms)
    captured = [x for x, _ in st.captured]
    from ..compiler import optimize
    prog = optimize(prog)
    from .staging import jit_p
    from ..core import bind

    def f_jvp(*tangents):
        tl, tt = tu.tree_flatten(tuple(tangents))
        if tt != p_tree:
            raise ValueError(f"linearize: tangent structure {tt} does not match the primals' "
                             f"{p_tree}")
        for t, p in zip(tl, p_leaves):
            if _shape(t) != _shape(p):
                raise ValueError(f"linearize: tangent of shape {_shape(t)} for a primal of "
                                 f"shape {_shape(p)}")
        ins = [_as_value(t) for t, p in zip(tl, p_leaves) if is_inexact_dtype(_dtype(p))]
        res = bind(jit_p, *captured, *ins, program=prog)
        return tu.tree_unflatten(t_tree, res)

    f_jvp.program = prog
    return (out, f_jvp, res[2]) if has_aux else (out, f_jvp)


# ---------------------------------------------------------------------------------------------
# vmap


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None) -> Callable:
    """Vectorize fun over a batch axis of its arguments.

    Args:
      fun: a function of arrays (pytrees).
      in_axes: an int, None, or a pytree prefix of the positional arguments (tuple with one
        entry per argument) giving the batch axis of each input (None: not batched).
        Negative axes count from the end. Keyword arguments are always batched along axis 0.
      out_axes: int, None or pytree prefix of the output: where the batch axis goes.
      axis_name: a name for the batch axis, for collectives (psum, pmean, ...).
      axis_size: the batch size, required only when no input is batched.
    Returns:
      The batched function.

    Example:
      >>> vmap(cnp.dot)(np.ones((4, 3)), np.ones((4, 3))).shape   # (4,)
    """
    _check_callable(fun, "vmap")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if not kwargs:
            size = _plain_batch_size(args, in_axes)
            if size is not None and (axis_size is None or axis_size == size):
                # fast path: every argument one NumPy array with a non-negative in_axes entry
                trace = BatchTrace(axis_name, size)
                axes = in_axes if type(in_axes) is tuple else (in_axes,) * len(args)
                ins = [x if ax is None else BatchTracer(trace, x, ax)
                       for x, ax in zip(args, axes)]
                return _vmap_run(fun, trace, ins, {}, axis_name, out_axes, size)
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap in_axes must be an int, None, or a tuple with one entry "
                             f"per positional argument; got a tuple of length {len(in_axes)} "
                             f"for {len(args)} positional arguments")
        leaves, tree = tu.tree_flatten(args)
        flat_axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        try:
            if len(leaves) == len(args) and all(type(a) is np.ndarray for a in args) and all(
                    a is None or type(a) is int for a in flat_axes):
                axes = flat_axes  # every argument is one array: the prefix is the axes
            else:
                axes = tu.broadcast_prefix(flat_axes, args, is_leaf=lambda x: x is None)
        except ValueError as e:
            raise ValueError(f"vmap in_axes specification must be a tree prefix of the "
                             f"positional arguments: {e}") from None
        k_leaves, k_tree = tu.tree_flatten(kwargs)
        axes = list(axes) + [0] * len(k_leaves)
        # unmapped leaves pass through unchanged (a Python scalar stays weakly typed and
        # hashable, e.g. for an inner jit's static argument), as in JAX
        leaves = [x if ax is None else _as_value(x) for x, ax in zip(leaves + k_leaves, axes)]
        sizes = {}
        norm_axes = []
        for x, ax in zip(leaves, axes):
            if ax is None:
                norm_axes.append(None)
                continue
            if not isinstance(ax, (int, np.integer)):
                raise TypeError(f"vmap in_axes entries must be int or None, got {ax!r}")
            nd = len(_shape(x))
            if not -nd <= ax < nd:
                raise ValueError(f"vmap was requested to map its argument along axis {ax}, "
                                 f"which implies that its rank should be at least {ax + 1 if ax >= 0 else -ax}, "
                                 f"but is only {nd} (its shape is {_shape(x)})")
            ax = int(ax) % nd
            norm_axes.append(ax)
            sizes.setdefault(_shape(x)[ax], []).append((_shape(x), ax))
        if len(sizes) > 1:
            detail = "; ".join(f"size {s} from argument(s) with shape/axis "
                               f"{', '.join(f'{sh}/{a}' for sh, a in v)}"
                               for s, v in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for the mapped axis: {detail}")
        if sizes:
            size = next(iter(sizes))
            if axis_size is not None and axis_size != size:
                raise ValueError(f"vmap axis_size={axis_size} does not match the mapped size "
                                 f"{size}")
        elif axis_size is not None:
            size = axis_size
        else:
            raise ValueError("vmap needs at least one batched input (in_axes not all None), "
                             "or axis_size")
        trace = BatchTrace(axis_name, size)
        ins = [x if ax is None else BatchTracer(trace, x, ax) for x, ax in zip(leaves, norm_axes)]
        n_pos = len(leaves) - len(k_leaves)
        new_args = tu.tree_unflatten(tree, ins[:n_pos])
        new_kwargs = tu.tree_unflatten(k_tree, ins[n_pos:])
        return _vmap_run(fun, trace, new_args, new_kwargs, axis_name, out_axes, size)

    return batched


def _plain_batch_size(args, in_axes):
    """The batch size when every argument is one NumPy array and in_axes (an int, or a tuple
    with one int or None per argument) holds no negative or out-of-range axis and the mapped
    sizes agree; else None (the general path, which also raises the errors)."""
    if type(in_axes) is tuple:
        if len(in_axes) != len(args):
            return None
        axes = in_axes
    elif type(in_axes) is int:
        axes = (in_axes,) * len(args)
    else:
        return None
    size = None
    for x, ax in zip(args, axes):
        if type(x) is not np.ndarray:
            return None
        if ax is None:
            continue
        if type(ax) is not int or not 0 <= ax < x.ndim:
            return None
        n = x.shape[ax]
        if size is None:
            size = n
        elif n != size:
            return None
    return size


def _vmap_run(fun, trace, args, kwargs, axis_name, out_axes, size):
    """Run fun on the batch tracers and move each output's batch axis to its out_axes."""
    if axis_name is not None:
        axis_env.append((axis_name, trace))
    trace_stack.append(trace)
    try:
        out = fun(*args, **kwargs)
    finally:
        trace_stack.pop()
        if axis_name is not None:
            axis_env.pop()
    if (out.__class__ is BatchTracer and out._trace is trace and type(out_axes) is int
            and 0 <= out_axes < out.val.ndim):
        return move_to(out.val, out.bdim, out_axes, size)  # one batched array
    out_leaves, out_tree = tu.tree_flatten(out)
    try:
        oaxes = tu.broadcast_prefix(out_axes, out, is_leaf=lambda x: x is None)
    except ValueError as e:
        raise ValueError(f"vmap out_axes specification must be a tree prefix of the "
                         f"output: {e}") from None
    res = []
    for o, oa in zip(out_leaves, oaxes):
        is_b = isinstance(o, BatchTracer) and o._trace is trace
        if oa is None:
            if is_b:
                raise ValueError("vmap has out_axes=None for an output that depends on the "
                                 "batched inputs; it would have to be the same for every "
                                 "example. Use an int out_axes for it.")
            res.append(o)
            continue
        v = o.val if is_b else _as_value(o)
        bd = o.bdim if is_b else None
        nd = len(_shape(v)) + (0 if is_b else 1)
        if not -nd <= oa < nd:
            raise ValueError(f"vmap out_axes={oa} is out of range for an output of rank "
                             f"{nd}")
        res.append(move_to(v, bd, int(oa) % nd, size))
    return tu.tree_unflatten(out_tree, res)


# ---------------------------------------------------------------------------------------------
# Jacobians


def _std_basis(leaves):
    """An identity over the concatenated flat leaves, split per leaf: list of (N,)+shape."""
    sizes = [int(np.prod(_shape(x), dtype=np.int64)) for x in leaves]
    n = sum(sizes)
    dt = np.result_type(*[_dtype(x) for x in leaves]) if leaves else np.float64
    eye = np.eye(n, dtype=dt)
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        out.append(eye[:, start:start + s].reshape((n,) + _shape(x)).astype(_dtype(x)))
        start += s
    return out, n


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:
    """The Jacobian of fun by forward mode: one batched JVP (vmap over basis tangents).

    Returns:
      A function returning, for each output leaf, an array of shape out_shape + in_shape
      (nested as output tree of argument trees when argnums is a tuple).

    Example:
      >>> jacfwd(lambda x: x ** 3)(np.array([1., 2.]))   # diag([3., 12.])
    """
    _check_callable(fun, "jacfwd")

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        nums, single = _norm_argnums(argnums, len(args), "jacfwd")
        dyn = _split_args(args, nums)
        leaves, tree = tu.tree_flatten(dyn)
        leaves = [_as_value(x) for x in leaves]
        _check_diff_inputs(leaves, "jacfwd", holomorphic=holomorphic)
        if not holomorphic and any(_dtype(x).kind == "c" for x in leaves):
            raise TypeError(
                "jacfwd requires real-valued inputs: a tangent basis of real directions "
                "cannot give the gradient convention for complex inputs. Pass "
                "holomorphic=True for holomorphic functions, use jacrev (or grad) for "
                "real-valued functions of complex inputs, cr.wirtinger, or jvp directly "
                "(docs/complex.md).")

        def f_flat(*xs):
            a = _replace_args(args, nums, tu.tree_unflatten(tree, xs))
            return fun(*a, **kwargs)

        basis, n = _std_basis(leaves)

        def push(*ts):
            return jvp(f_flat, tuple(leaves), ts, has_aux=has_aux)

        if n:
            res = vmap(push, in_axes=0, out_axes=0)(*basis)
            y, jt = res[0], res[1]
            if has_aux:
                aux = tu.tree_map(lambda a: a[0] if hasattr(a, "shape") and _shape(a) else a,
                                  res[2])
            y_leaves, y_tree = tu.tree_flatten(y)
            oshapes = [_shape(yl)[1:] for yl in y_leaves]
            jt_leaves = tu.tree_leaves(jt)
        else:
            # no input elements: one unbatched JVP gives the outputs; each Jacobian is empty
            res = push(*[np.zeros(_shape(x), _dtype(x)) for x in leaves])
            y, jt = res[0], res[1]
            if has_aux:
                aux = res[2]
            y_leaves, y_tree = tu.tree_flatten(y)
            oshapes = [_shape(yl) for yl in y_leaves]
            jt_leaves = [np.zeros((0,) + _shape(yl), _dtype(t))
                         for yl, t in zip(y_leaves, tu.tree_leaves(jt))]
        _check_out_dtypes(y_leaves, "jacfwd", holomorphic)
        outs = []
        for oshape, j in zip(oshapes, jt_leaves):
            # j: (n,) + out_shape -> out_shape + (n,), split n into the input leaves
            jm = _moveaxis_last(j)
            per_in, start = [], 0
            for x in leaves:
                s = int(np.prod(_shape(x), dtype=np.int64))
                part = jm[(Ellipsis, slice(start, start + s))]
                per_in.append(part.reshape(oshape + _shape(x)))
                start += s
            outs.append(_arg_struct(tree, per_in, single))
        result = tu.tree_unflatten(y_tree, outs)
        return (result, aux) if has_aux else result

    return jac


def _moveaxis_last(j):
    from .. import numpy as cnp
    return cnp.moveaxis(j, 0, -1)


def _arg_struct(tree, per_in, single):
    t = tu.tree_unflatten(tree, per_in)
    return t[0] if single else tuple(t)


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False) -> Callable:
    """The Jacobian of fun by reverse mode: one batched VJP (vmap over basis cotangents).

    Returns:
      Like jacfwd: for each output leaf, an array of shape out_shape + in_shape.

    Example:
      >>> jacrev(lambda x: x ** 3)(np.array([1., 2.]))   # diag([3., 12.])
    """
    _check_callable(fun, "jacrev")

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        nums, single = _norm_argnums(argnums, len(args), "jacrev")
        dyn = _split_args(args, nums)
        leaves, tree = tu.tree_flatten(dyn)
        leaves = [_as_value(x) for x in leaves]
        _check_diff_inputs(leaves, "jacrev", allow_int, holomorphic)

        def f_flat(*xs):
            a = _replace_args(args, nums, tu.tree_unflatten(tree, xs))
            return fun(*a, **kwargs)

        res = vjp(f_flat, *leaves, has_aux=has_aux)
        y, f_vjp = res[0], res[1]
        y_leaves, y_tree = tu.tree_flatten(y)
        _check_out_dtypes(y_leaves, "jacrev", holomorphic)
        basis, m = _std_basis(y_leaves)

        def pull(*cts):
            return f_vjp(tu.tree_unflatten(y_tree, list(cts)))

        grads = vmap(pull)(*basis) if m else [np.zeros((0,) + _shape(x), _dtype(x))
                                              for x in leaves]
        if holomorphic:
            # row k of the VJP basis is conj(J[k, :]) (see vjp)
            grads = [_conj(g) for g in grads]
        outs, start = [], 0
        for yl in y_leaves:
            s = int(np.prod(_shape(yl), dtype=np.int64))
            per_in = []
            for g, x in zip(grads, leaves):
                part = g[start:start + s]
                per_in.append(part.reshape(_shape(yl) + _shape(x)))
            start += s
            outs.append(_arg_struct(tree, per_in, single))
        result = tu.tree_unflatten(y_tree, outs)
        return (result, res[2]) if has_aux else result

    return jac


jacobian = jacrev


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable:
    """The Hessian of a scalar function: jacfwd(jacrev(fun)).

    Example:
      >>> hessian(lambda x: cnp.sum(x ** 3))(np.array([1., 2.]))   # diag([6., 12.])
    """
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)
