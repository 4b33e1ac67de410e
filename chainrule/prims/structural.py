"""Structural primitives: shape changes, dtype conversion, reductions, scans, concatenation,
padding, indexing and index updates, contraction (dot_general), argsort.

Conventions: arrays are positional arguments, static metadata are keyword parameters
(hashable: ints, tuples, dtypes). Index expressions are encoded statically (see
`encode_index`) with integer-array indices passed as extra positional arguments.
Reductions shared ties equally in their derivatives (max/min); cumprod's derivative divides
by the input (documented caveat: not finite at exact zeros).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..core import Primitive, ShapedArray, Tracer, bind
from .base import fit, moveaxis0
from .elementwise import conj_p


def _prim(name, impl, aval, *, jvp_rules=None, vjp_rules=None, jvp=None, batch=None,
          traits=(), multiple_results=False):
    p = Primitive(name, multiple_results=multiple_results)
    p.impl, p.abstract_eval = impl, aval
    p.jvp_rules, p.vjp_rules, p.jvp, p.batch = jvp_rules, vjp_rules, jvp, batch
    p.traits = frozenset(traits)
    return p


class PerArg:
    """A rule table valid for any number of arguments: entry i is `functools.partial(fn, i)`."""

    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, i):
        return functools.partial(self.fn, i)


def _conj_c(x):
    """conj(x) for complex x (cotangents pull back through conjugated factors)."""
    return conj_p(x) if getattr(x, "dtype", None) is not None and x.dtype.kind == "c" else x


def _zeros(x):
    return np.zeros(x.shape, x.dtype)


# --- dtype conversion -------------------------------------------------------------------------------


def _convert(x, *, dtype):
    return np.asarray(x).astype(dtype, copy=False)


def _convert_jvp(t, ans, x, *, dtype):
    return convert_p(t, dtype=dtype) if np.dtype(dtype).kind in "fc" else None


def _convert_vjp(ct, ans, x, *, dtype):
    if x.dtype.kind not in "fc":
        return None
    if ct.dtype.kind == "c" and x.dtype.kind != "c":
        from .elementwise import real_p
        ct = real_p(ct)
    return convert_p(ct, dtype=x.dtype)


convert_p = _prim("convert_element_type", _convert,
                  lambda x, *, dtype: ShapedArray(x.shape, dtype),
                  jvp_rules=(_convert_jvp,), vjp_rules=(_convert_vjp,),
                  batch=lambda v, b, *, dtype: (convert_p(v[0], dtype=dtype), b[0]),
                  traits=("elementwise",))



def _convert_python_int(x, *, dtype):
    """x, an integer that was a Python int, as the integer dtype, raising OverflowError as
    NumPy does (NEP 50) where a value does not fit: weakly typed jit arguments are converted
    by this, so jit(lambda x, n: x * n)(int8_array, 300) raises as the eager call does."""
    v = np.asarray(x)
    info = np.iinfo(dtype)
    if v.size:
        lo, hi = v.min(), v.max()
        if lo < info.min or hi > info.max:
            bad = int(lo) if lo < info.min else int(hi)
            raise OverflowError(f"Python integer {bad} out of bounds for {np.dtype(dtype).name}")
    return v.astype(dtype)


convert_python_int_p = _prim(
    "convert_python_int", _convert_python_int,
    lambda x, *, dtype: ShapedArray(x.shape, dtype),
    jvp_rules=(None,), vjp_rules=(None,),
    batch=lambda v, b, *, dtype: (convert_python_int_p(v[0], dtype=dtype), b[0]))

# --- shape ---------------------------------------------------------------------------------------------


def _reshape(x, *, shape):
    return np.reshape(x, shape)


def _reshape_batch(vals, bdims, *, shape):
    x = moveaxis0(vals[0], bdims[0])
    return reshape_p(x, shape=(x.shape[0],) + tuple(shape)), 0


def _reshape_aval(x, *, shape):
    if any(d < 0 for d in shape) or math.prod(shape) != math.prod(x.shape):
        raise ValueError(f"reshape: cannot reshape {x.shape} to {shape} (the primitive needs "
                         "an explicit shape of the same size)")
    return ShapedArray(shape, x.dtype)


reshape_p = _prim("reshape", _reshape, _reshape_aval,
                  jvp_rules=(lambda t, ans, x, *, shape: reshape_p(t, shape=shape),),
                  vjp_rules=(lambda ct, ans, x, *, shape: reshape_p(ct, shape=x.shape),),
                  batch=_reshape_batch, traits=("linear", "reshape"))


def _broadcast_to(x, *, shape):
    if getattr(x, "ndim", 1) == 0:
        # a read-only zero-stride view of a scalar; np.broadcast_to costs 5x more
        a = np.asarray(x)
        if a.flags.c_contiguous:
            out = np.ndarray(shape, a.dtype, buffer=a, strides=(0,) * len(shape))
            out.flags.writeable = False
            return out
    return np.broadcast_to(x, shape)


def _broadcast_batch(vals, bdims, *, shape):
    x = moveaxis0(vals[0], bdims[0])
    r = x.ndim - 1
    if r < len(shape):
        x = reshape_p(x, shape=(x.shape[0],) + (1,) * (len(shape) - r) + x.shape[1:])
    return broadcast_to_p(x, shape=(x.shape[0],) + tuple(shape)), 0


broadcast_to_p = _prim(
    "broadcast_to", _broadcast_to, lambda x, *, shape: ShapedArray(shape, x.dtype),
    jvp_rules=(lambda t, ans, x, *, shape: broadcast_to_p(t, shape=shape),),
    vjp_rules=(lambda ct, ans, x, *, shape: fit(ct, x.shape, x.dtype, reduce=True),),
    batch=_broadcast_batch, traits=("linear", "broadcast"))


def _transpose(x, *, perm):
    return np.transpose(x, perm)


def _inv_perm(perm):
    return tuple(int(i) for i in np.argsort(perm))


transpose_p = _prim(
    "transpose", _transpose,
    lambda x, *, perm: ShapedArray(tuple(x.shape[p] for p in perm), x.dtype),
    jvp_rules=(lambda t, ans, x, *, perm: transpose_p(t, perm=perm),),
    vjp_rules=(lambda ct, ans, x, *, perm: transpose_p(ct, perm=_inv_perm(perm)),),
    batch=lambda v, b, *, perm: (transpose_p(moveaxis0(v[0], b[0]),
                                             perm=(0,) + tuple(p + 1 for p in perm)), 0),
    traits=("linear", "transpose"))

# --- reductions -------------------------------------------------------------------------------------


def _reduced_shape(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def expand_reduced(ct, x_shape, axes):
    """Broadcast a reduced value back to the input's shape."""
    if ct.ndim == 0:
        return broadcast_to_p(ct, shape=tuple(x_shape))
    ct = reshape_p(ct, shape=_keepdims_shape(x_shape, axes))
    return broadcast_to_p(ct, shape=tuple(x_shape))


def _reduce_batch(prim):
    def rule(vals, bdims, *, axes):
        x = moveaxis0(vals[0], bdims[0])
        return prim(x, axes=tuple(a + 1 for a in axes)), 0
    return rule


def _reduce_aval(dtype_fn):
    def rule(x, *, axes):
        return ShapedArray(_reduced_shape(x.shape, axes), dtype_fn(x.dtype))
    return rule


def _sum_dtype(dt):
    return np.empty(0, dt).sum().dtype


def _reduce_sum(x, *, axes):
    return np.add.reduce(x, axis=axes)   # np.sum's own call, without its Python wrapper


reduce_sum_p = _prim(
    "reduce_sum", _reduce_sum, _reduce_aval(_sum_dtype),
    jvp_rules=(lambda t, ans, x, *, axes: reduce_sum_p(t, axes=axes),),
    vjp_rules=(lambda ct, ans, x, *, axes: expand_reduced(ct, x.shape, axes),),
    traits=("linear", "reduction"))
reduce_sum_p.batch = _reduce_batch(reduce_sum_p)


def _chooser_rules(prim):
    """Derivative rules of max/min reductions: ties share the derivative equally."""
    from .elementwise import eq_p, convert_c  # noqa: F401

    def weights(ans, x, axes):
        mask = convert_p(eq_p(x, expand_reduced(ans, x.shape, axes)), dtype=x.dtype)
        return mask / expand_reduced(reduce_sum_p(mask, axes=axes), x.shape, axes)

    def jvp(t, ans, x, *, axes):
        return reduce_sum_p(t * weights(ans, x, axes), axes=axes)

    def vjp(ct, ans, x, *, axes):
        return expand_reduced(ct, x.shape, axes) * weights(ans, x, axes)
    prim.jvp_rules, prim.vjp_rules = (jvp,), (vjp,)
    prim.batch = _reduce_batch(prim)


def _reduce_max(x, *, axes):
    return np.maximum.reduce(x, axis=axes)


def _reduce_min(x, *, axes):
    return np.minimum.reduce(x, axis=axes)


reduce_max_p = _prim("reduce_max", _reduce_max, _reduce_aval(lambda d: d),
                     traits=("reduction",))
reduce_min_p = _prim("reduce_min", _reduce_min, _reduce_aval(lambda d: d),
                     traits=("reduction",))
_chooser_rules(reduce_max_p)
_chooser_rules(reduce_min_p)


def _prod_others(x, axes):
    """For each element, the product of the other elements of its reduction group (no division)."""
    n = x.ndim
    keep = [i for i in range(n) if i not in axes]
    perm = tuple(keep) + tuple(axes)
    xt = transpose_p(x, perm=perm)
    kshape = tuple(x.shape[i] for i in keep)
    m = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    flat = reshape_p(xt, shape=kshape + (m,))
    one = np.ones(kshape + (1,), x.dtype)
    k = len(kshape)
    head = getitem_p(flat, idx=(Ellipsis, ("s", None, -1, None)))
    tail = getitem_p(flat, idx=(Ellipsis, ("s", 1, None, None)))
    left = concatenate_p(one, cumprod_p(head, axis=k, reverse=False), axis=k)
    right = concatenate_p(cumprod_p(tail, axis=k, reverse=True), one, axis=k)
    others = reshape_p(left * right, shape=xt.shape)
    return transpose_p(others, perm=_inv_perm(perm))


def _reduce_prod(x, *, axes):
    return np.multiply.reduce(x, axis=axes)


reduce_prod_p = _prim(
    "reduce_prod", _reduce_prod, _reduce_aval(_sum_dtype),
    jvp_rules=(lambda t, ans, x, *, axes: reduce_sum_p(t * _prod_others(x, axes), axes=axes),),
    vjp_rules=(lambda ct, ans, x, *, axes: expand_reduced(ct, x.shape, axes)
               * _conj_c(_prod_others(x, axes)),),
    traits=("reduction",))
reduce_prod_p.batch = _reduce_batch(reduce_prod_p)


def _reduce_all(x, *, axes):
    return np.all(x, axis=axes)


def _reduce_any(x, *, axes):
    return np.any(x, axis=axes)


reduce_and_p = _prim("reduce_and", _reduce_all, _reduce_aval(lambda d: np.dtype(bool)),
                     jvp_rules=(None,), vjp_rules=(None,), traits=("reduction",))
reduce_and_p.batch = _reduce_batch(reduce_and_p)
reduce_or_p = _prim("reduce_or", _reduce_any, _reduce_aval(lambda d: np.dtype(bool)),
                    jvp_rules=(None,), vjp_rules=(None,), traits=("reduction",))
reduce_or_p.batch = _reduce_batch(reduce_or_p)


def _arg_aval(x, *, axis):
    return ShapedArray(_reduced_shape(x.shape, (axis,)), np.intp)


def _arg_batch(prim):
    def rule(vals, bdims, *, axis):
        return prim(moveaxis0(vals[0], bdims[0]), axis=axis + 1), 0
    return rule


def _argmax(x, *, axis):
    return np.argmax(x, axis=axis)


def _argmin(x, *, axis):
    return np.argmin(x, axis=axis)


argmax_p = _prim("argmax", _argmax, _arg_aval, jvp_rules=(None,), vjp_rules=(None,))
argmax_p.batch = _arg_batch(argmax_p)
argmin_p = _prim("argmin", _argmin, _arg_aval, jvp_rules=(None,), vjp_rules=(None,))
argmin_p.batch = _arg_batch(argmin_p)


def _argsort(x, *, axis, descending):
    if descending:
        # stable descending order: reverse, stable sort, map indices back, reverse
        n = x.shape[axis]
        r = np.flip(x, axis)
        idx = np.argsort(r, axis=axis, kind="stable")
        return np.flip(n - 1 - idx, axis)
    return np.argsort(x, axis=axis, kind="stable")


argsort_p = _prim("argsort", _argsort,
                  lambda x, *, axis, descending: ShapedArray(x.shape, np.intp),
                  jvp_rules=(None,), vjp_rules=(None,))
argsort_p.batch = lambda v, b, *, axis, descending: (
    argsort_p(moveaxis0(v[0], b[0]), axis=axis + 1, descending=descending), 0)

# --- cumulative ----------------------------------------------------------------------------------------


def _cum(fn):
    def impl(x, *, axis, reverse):
        if reverse:
            return np.flip(fn(np.flip(x, axis), axis=axis), axis)
        return fn(x, axis=axis)
    return impl


def _cum_batch(prim):
    def rule(vals, bdims, *, axis, reverse):
        return prim(moveaxis0(vals[0], bdims[0]), axis=axis + 1, reverse=reverse), 0
    return rule


cumsum_p = _prim(
    "cumsum", _cum(np.cumsum), lambda x, *, axis, reverse: ShapedArray(x.shape, _sum_dtype(
        x.dtype)),
    jvp_rules=(lambda t, ans, x, *, axis, reverse: cumsum_p(t, axis=axis, reverse=reverse),),
    vjp_rules=(lambda ct, ans, x, *, axis, reverse: cumsum_p(ct, axis=axis,
                                                             reverse=not reverse),),
    traits=("linear",))
cumsum_p.batch = _cum_batch(cumsum_p)


def _cum_shift(x, s, axis, fill, reverse):
    """x moved s places along axis (out[i] = x[i - s], or x[i + s] when reverse), `fill` in
    the places it leaves."""
    n = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = min(s, n)
    pad = np.full(shape, fill, x.dtype)
    if s >= n:
        return pad
    pre = (("s", None, None, None),) * axis
    if reverse:
        return concatenate_p(getitem_p(x, idx=pre + (("s", s, None, None),)), pad, axis=axis)
    return concatenate_p(pad, getitem_p(x, idx=pre + (("s", None, n - s, None),)), axis=axis)


def _linear_recurrence(a, b, axis, reverse):
    """h with h[i] = a[i] * h[i - 1] + b[i] along axis (h[i + 1] when reverse; h = b at the
    start), by recursive doubling: log2(n) steps of elementwise primitives, no division, so
    it is exact where a has zeros and differentiable to any order."""
    n = b.shape[axis]
    s = 1
    while s < n:
        b = b + a * _cum_shift(b, s, axis, 0, reverse)
        if 2 * s < n:
            a = a * _cum_shift(a, s, axis, 1, reverse)
        s *= 2
    return b


def _cumprod_jvp(t, ans, x, *, axis, reverse):
    if type(x) is np.ndarray and x.all():
        # no zero factor: the quotient form (three operations)
        return ans * cumsum_p(t / x, axis=axis, reverse=reverse)
    # dy[i] = x[i] dy[i-1] + y[i-1] t[i]
    return _linear_recurrence(x, _cum_shift(ans, 1, axis, 1, reverse) * t, axis, reverse)


def _cumprod_vjp(ct, ans, x, *, axis, reverse):
    if type(x) is np.ndarray and x.all():
        return cumsum_p(ct * _conj_c(ans), axis=axis, reverse=not reverse) / _conj_c(x)
    # ct_x[j] = y[j-1] * s[j] with s[j] = ct[j] + x[j+1] s[j+1] (the other direction)
    a = _conj_c(_cum_shift(x, 1, axis, 0, not reverse))
    s = _linear_recurrence(a, ct, axis, not reverse)
    return _conj_c(_cum_shift(ans, 1, axis, 1, reverse)) * s


cumprod_p = _prim(
    "cumprod", _cum(np.cumprod), lambda x, *, axis, reverse: ShapedArray(x.shape, _sum_dtype(
        x.dtype)),
    jvp_rules=(_cumprod_jvp,), vjp_rules=(_cumprod_vjp,))
cumprod_p.batch = _cum_batch(cumprod_p)

# --- concatenate and pad -------------------------------------------------------------------------------


def _concatenate(*xs, axis):
    return np.concatenate(xs, axis=axis)


def _concat_aval(*xs, axis):
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return ShapedArray(shape, np.result_type(*(x.dtype for x in xs)))


def _concat_jvp(primals, tangents, *, axis):
    out = concatenate_p(*primals, axis=axis)
    if out.dtype.kind not in "fc":
        return out, None
    ts = [np.zeros(np.shape(p), out.dtype) if t is None else t
          for p, t in zip(primals, tangents)]
    return out, concatenate_p(*ts, axis=axis)


def _concat_vjp(i, ct, ans, *xs, axis):
    start = sum(x.shape[axis] for x in xs[:i])
    idx = (slice(None),) * axis + (slice(start, start + xs[i].shape[axis]),)
    return getitem_p(ct, idx=encode_index(idx)[0])


def _concat_batch(vals, bdims, *, axis):
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    xs = []
    for v, b in zip(vals, bdims):
        if b is None:
            v = broadcast_to_p(v, shape=(size,) + v.shape)
        else:
            v = moveaxis0(v, b)
        xs.append(v)
    return concatenate_p(*xs, axis=axis + 1), 0


concatenate_p = _prim("concatenate", _concatenate, _concat_aval, jvp=_concat_jvp,
                      vjp_rules=PerArg(_concat_vjp), batch=_concat_batch, traits=("linear",))


def _pad(x, v, *, widths):
    return np.pad(x, widths, mode="constant", constant_values=v)


def _pad_aval(x, v, *, widths):
    return ShapedArray(tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, widths)), x.dtype)


def _unpad(ct, widths):
    idx = tuple(slice(lo, d - hi) for (lo, hi), d in zip(widths, ct.shape))
    return getitem_p(ct, idx=encode_index(idx)[0])


def _pad_batch(vals, bdims, *, widths):
    x, v = vals
    bx, bv = bdims
    if bv is not None:
        # a batched pad value: pad with zero, then add the value where padding was
        x = x if bx is not None else None
        size = v.shape[bv]
        if x is None:
            x = broadcast_to_p(vals[0], shape=(size,) + np.shape(vals[0]))
        else:
            x = moveaxis0(x, bx)
        padded = pad_p(x, 0, widths=((0, 0),) + tuple(widths))
        mask = np.pad(np.zeros(x.shape[1:], bool), widths, constant_values=True)
        vv = reshape_p(moveaxis0(v, bv), shape=(size,) + (1,) * len(widths))
        from .elementwise import select_p
        return select_p(mask, vv, padded), 0
    return pad_p(moveaxis0(x, bx), v, widths=((0, 0),) + tuple(widths)), 0


pad_p = _prim(
    "pad", _pad, _pad_aval,
    jvp_rules=(lambda t, ans, x, v, *, widths: pad_p(t, 0.0, widths=widths),
               lambda t, ans, x, v, *, widths: pad_p(np.zeros(x.shape, ans.dtype), t,
                                                      widths=widths)),
    vjp_rules=(lambda ct, ans, x, v, *, widths: _unpad(ct, widths),
               lambda ct, ans, x, v, *, widths:
               reduce_sum_p(ct, axes=tuple(range(ct.ndim)))
               - reduce_sum_p(_unpad(ct, widths), axes=tuple(range(ct.ndim)))),
    batch=_pad_batch, traits=("linear",))

# --- indexing ------------------------------------------------------------------------------------------


def encode_index(idx):
    """Split a normalized index tuple into (static encoding, list of integer index arrays).

    Encoding per element: int, None, Ellipsis, ("s", start, stop, step) for a slice, or
    ("a", j) for the j-th array argument.
    """
    enc, arrays = [], []
    for e in idx:
        if isinstance(e, slice):
            enc.append(("s", e.start, e.stop, e.step))
        elif e is None or e is Ellipsis:
            enc.append(e)
        elif isinstance(e, (int, np.integer)):
            enc.append(int(e))
        else:
            enc.append(("a", len(arrays)))
            arrays.append(e)
    return tuple(enc), arrays


def decode_index(enc, arrays):
    out = []
    for e in enc:
        if type(e) is tuple:
            out.append(slice(e[1], e[2], e[3]) if e[0] == "s" else arrays[e[1]])
        else:
            out.append(e)
    return tuple(out)


def _getitem(x, *arrays, idx):
    return np.asarray(x)[decode_index(idx, arrays)]


def _getitem_aval(x, *arrays, idx):
    dummy = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    fake = [np.zeros(a.shape, a.dtype) for a in arrays]
    return ShapedArray(dummy[decode_index(idx, fake)].shape, x.dtype)


def _getitem_vjp(ct, ans, x, *arrays, idx):
    return scatter_p(np.zeros(x.shape, ct.dtype), ct, *arrays, idx=idx, mode="add")


getitem_p = _prim(
    "getitem", _getitem, _getitem_aval,
    jvp_rules=PerArg(lambda i, t, ans, x, *arrays, idx:
                     getitem_p(t, *arrays, idx=idx) if i == 0 else None),
    vjp_rules=PerArg(lambda i, ct, ans, x, *arrays, idx:
                     _getitem_vjp(ct, ans, x, *arrays, idx=idx) if i == 0 else None),
    traits=("linear0",))

_AT_UFUNC = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}


def _scatter(x, y, *arrays, idx, mode):
    out = np.array(x, copy=True)
    index = decode_index(idx, arrays)
    if mode == "set":
        out[index] = y
    elif not arrays and mode == "add":
        out[index] += y
    else:
        _AT_UFUNC[mode].at(out, index, y)
    return out


def _scatter_aval(x, y, *arrays, idx, mode):
    return ShapedArray(x.shape, x.dtype)


# Repeated indices: an update element j writes x's element pos(j); several j may share one
# pos. set keeps the last write (NumPy's x[I] = v), add sums, multiply multiplies every
# factor, min/max take the extremum over x and every update. The rules below are exact for
# repeats; the extra work they need is skipped when concrete index arrays show no repeats.


def _index_axes(idx, ndim):
    """{array argument number: the axis of x it indexes} for an encoded index."""
    n_consumed = sum(1 for e in idx if e is not None and e is not Ellipsis)
    axes, pos = {}, 0
    for e in idx:
        if e is Ellipsis:
            pos += ndim - n_consumed
        elif e is not None:
            if type(e) is tuple and e[0] == "a":
                axes[e[1]] = pos
            pos += 1
    return axes


def _may_repeat(x_shape, arrays, idx) -> bool:
    """False when the index certainly writes each element of x at most once: no index arrays,
    or concrete ones whose combinations are all distinct. Traced index arrays may repeat."""
    if not arrays:
        return False
    if any(isinstance(a, Tracer) for a in arrays):
        return True
    axes = _index_axes(idx, len(x_shape))
    if len(arrays) == 1:
        flat, dim = np.ravel(arrays[0]), x_shape[axes[0]]
        if flat.size > 1 and dim and flat.min() < 0:
            flat = flat % dim
    else:
        arrs = np.broadcast_arrays(*(np.asarray(a, np.intp) for a in arrays))
        dims = tuple(x_shape[axes[j]] for j in range(len(arrays)))
        dim = math.prod(dims)
        flat = (np.ravel_multi_index(tuple(arrs), dims, mode="wrap").ravel()
                if arrs[0].size > 1 and dim else arrs[0].ravel())
    if flat.size <= 1 or not dim:
        return False
    if dim <= 4 * flat.size:
        return bool(np.bincount(flat, minlength=dim).max() > 1)
    flat = np.sort(flat)
    return bool((flat[1:] == flat[:-1]).any())


def _result_shape(x, arrays, idx):
    return _getitem_aval(x, *arrays, idx=idx).shape


def _to_result(y, shape):
    """The updates y broadcast to the shape x[idx] has."""
    ys = tuple(np.shape(y))
    if ys == tuple(shape):
        return y
    if len(ys) > len(shape):   # NumPy accepts extra leading 1s on the values
        y = reshape_p(y, shape=ys[len(ys) - len(shape):])
    return broadcast_to_p(y, shape=tuple(shape))


def _slice1(v, start, stop):
    return getitem_p(v, idx=(("s", start, stop, None),))


def _flip1(v):
    return getitem_p(v, idx=(("s", None, None, -1),))


def _segment_exclusive_cumprod(v, g, steps):
    """For sorted group ids g, the product of the members of v's group that come before each
    element (1 for a group's first): a segmented scan by doubling, with primitives only."""
    from .elementwise import eq_p, select_p
    n, d = v.shape[0], 1
    while d < steps:
        same = eq_p(_slice1(g, d, None), _slice1(g, None, n - d))
        tail = _slice1(v, d, None)
        v = concatenate_p(_slice1(v, None, d),
                          select_p(same, tail * _slice1(v, None, n - d), tail), axis=0)
        d *= 2
    same = eq_p(_slice1(g, 1, None), _slice1(g, None, n - 1))
    one = np.ones(1, v.dtype)
    return concatenate_p(one, select_p(same, _slice1(v, None, n - 1), one), axis=0)


def _others_product(x, y, arrays, idx):
    """For each update element (shape of x[idx]), the product of the other update factors
    that multiply the same element of x (1 where the element is written once)."""
    res = _result_shape(x, arrays, idx)
    n = math.prod(res)
    yf = reshape_p(_to_result(y, res), shape=(n,))
    if n <= 1:
        return np.ones(res, yf.dtype)
    ids = np.arange(math.prod(np.shape(x)), dtype=np.intp).reshape(np.shape(x))
    pos = reshape_p(getitem_p(ids, *arrays, idx=idx), shape=(n,))
    order = argsort_p(pos, axis=0, descending=False)
    g = getitem_p(pos, order, idx=(("a", 0),))
    ys = getitem_p(yf, order, idx=(("a", 0),))
    steps = n
    if not isinstance(g, Tracer):   # concrete groups: scan only as far as the largest group
        starts = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1], [True])))
        steps = int(np.diff(starts).max())
    left = _segment_exclusive_cumprod(ys, g, steps)
    right = _flip1(_segment_exclusive_cumprod(_flip1(ys), _flip1(g), steps))
    inv = argsort_p(order, axis=0, descending=False)
    return reshape_p(getitem_p(left * right, inv, idx=(("a", 0),)), shape=res)


def _last_writes(x, arrays, idx):
    """Boolean, shape of x[idx]: True for the update elements that a set keeps (the last
    write to each element of x, as the set itself chooses)."""
    from .elementwise import eq_p
    res = _result_shape(x, arrays, idx)
    ids = np.arange(math.prod(res), dtype=np.intp).reshape(res)
    kept = scatter_p(np.full(np.shape(x), -1, np.intp), ids, *arrays, idx=idx, mode="set")
    return eq_p(getitem_p(kept, *arrays, idx=idx), ids)


def _chooser_weights(ans, x, y, arrays, idx, dtype):
    """min/max updates: (in x, in the updates, count) where the first two mark the entries
    equal to the result and count is how many share each element's result (ties share the
    derivative equally, as in the min/max reductions)."""
    from .elementwise import eq_p
    in_x = convert_p(eq_p(x, ans), dtype=dtype)
    in_y = convert_p(eq_p(y, getitem_p(ans, *arrays, idx=idx)), dtype=dtype)
    count = in_x + scatter_p(np.zeros(np.shape(x), dtype), in_y, *arrays, idx=idx, mode="add")
    # a NaN result matches nothing: count 0, and every weight is 0 there
    count = count + convert_p(eq_p(count, 0), dtype=dtype)
    return in_x, in_y, count


def _scatter_jvp(primals, tangents, *, idx, mode):
    x, y, *arrays = primals
    tx, ty = tangents[0], tangents[1]
    out = scatter_p(x, y, *arrays, idx=idx, mode=mode)
    if (tx is None and ty is None) or out.dtype.kind not in "fc":
        return out, None
    dt = out.dtype
    if mode in ("set", "add"):
        # a set of the tangents keeps the same (last) writes as the set of the values
        zx = np.zeros(np.shape(x), dt) if tx is None else tx
        zy = np.zeros(np.shape(y), dt) if ty is None else ty
        return out, scatter_p(zx, zy, *arrays, idx=idx, mode=mode)
    if mode == "multiply":
        # out = x * prod(y_j) at each element: t = tx * prod(y_j) + x * sum_j ty_j * others_j
        t = None if tx is None else scatter_p(tx, y, *arrays, idx=idx, mode="multiply")
        if ty is not None:
            w = getitem_p(x, *arrays, idx=idx) * ty
            if _may_repeat(np.shape(x), arrays, idx):
                w = w * _others_product(x, y, arrays, idx)
            ty_part = scatter_p(np.zeros(np.shape(x), dt), w, *arrays, idx=idx, mode="add")
            t = ty_part if t is None else t + ty_part
        return out, t
    in_x, in_y, count = _chooser_weights(out, x, y, arrays, idx, dt)
    t = None if tx is None else tx * in_x
    if ty is not None:
        ty_part = scatter_p(np.zeros(np.shape(x), dt), ty * in_y, *arrays, idx=idx, mode="add")
        t = ty_part if t is None else t + ty_part
    return out, t / count


def _scatter_vjp(i, ct, ans, x, y, *arrays, idx, mode):
    if i >= 2:
        return None
    if mode == "set":
        if i == 0:
            return scatter_p(ct, 0.0, *arrays, idx=idx, mode="set")
        g = getitem_p(ct, *arrays, idx=idx)
        if _may_repeat(np.shape(x), arrays, idx):
            from .elementwise import select_p
            g = select_p(_last_writes(x, arrays, idx), g, 0.0)
        return g
    if mode == "add":
        return ct if i == 0 else getitem_p(ct, *arrays, idx=idx)
    if mode == "multiply":
        if i == 0:
            return scatter_p(ct, _conj_c(y), *arrays, idx=idx, mode="multiply")
        g = getitem_p(ct * _conj_c(x), *arrays, idx=idx)
        if _may_repeat(np.shape(x), arrays, idx):
            g = g * _conj_c(_others_product(x, y, arrays, idx))
        return g
    in_x, in_y, count = _chooser_weights(ans, x, y, arrays, idx, ct.dtype)
    if i == 0:
        return ct * in_x / count
    return getitem_p(ct / count, *arrays, idx=idx) * in_y


scatter_p = _prim("scatter", _scatter, _scatter_aval, jvp=_scatter_jvp,
                  vjp_rules=PerArg(_scatter_vjp))

# --- contraction ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _dot_dims(xnd, ynd, dims):
    (lc, rc), (lb, rb) = dims
    xf = tuple(i for i in range(xnd) if i not in lc and i not in lb)
    yf = tuple(i for i in range(ynd) if i not in rc and i not in rb)
    return lc, rc, lb, rb, xf, yf


def _is_identity(m) -> bool:
    """True when m is exactly an identity matrix (as jacfwd's and jacrev's bases are). The
    cheap tests reject almost every other matrix at once."""
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 8:
        return False
    n = m.shape[0] - 1
    if m[0, 0] != 1 or m[n, n] != 1 or m[0, n] != 0 or m[n, 0] != 0:
        return False
    return np.count_nonzero(m) == n + 1 and bool(np.all(np.diagonal(m) == 1))


def _dot_general(x, y, *, dims):
    x = np.asarray(x)
    y = np.asarray(y)
    lc, rc, lb, rb, xf, yf = _dot_dims(x.ndim, y.ndim, dims)
    if not lb:
        if len(lc) == 1 and x.ndim <= 2 and y.ndim <= 2:
            # BLAS handles transposed operands without copies
            a = x if lc[0] == x.ndim - 1 else x.T
            b = y if rc[0] == 0 else y.T
            # a product with an exact identity (a basis of jacfwd/jacrev) is a copy of the
            # other factor; non-finite entries keep the BLAS path, where inf * 0 gives NaN
            if _is_identity(b) and np.isfinite(a).all():
                return a.astype(np.result_type(a, b), copy=True)
            if _is_identity(a) and np.isfinite(b).all():
                return b.astype(np.result_type(a, b), copy=True)
            return np.dot(a, b)
        if len(lc) == 1 and lc[0] == x.ndim - 1 and y.ndim == 2:
            # (..., k) x (k, n): one matrix product on x viewed as a matrix
            lead = x.shape[:-1]
            r = np.dot(x.reshape(math.prod(lead), x.shape[-1]), y if rc[0] == 0 else y.T)
            return r.reshape(lead + r.shape[1:])
        return np.tensordot(x, y, axes=(lc, rc))
    xs, ys = x.shape, y.shape
    nb = len(lb)
    if (lb == rb == tuple(range(nb)) and len(lc) == 1 and x.ndim == nb + 2 == y.ndim
            and rc[0] in (nb, nb + 1) and lc[0] in (nb, nb + 1)):
        # stacked matrices with batch dims leading: one matmul on (possibly transposed) views
        a = x if lc[0] == nb + 1 else np.swapaxes(x, -1, -2)
        b = y if rc[0] == nb else np.swapaxes(y, -1, -2)
        return np.matmul(a, b)
    bshape = tuple(xs[i] for i in lb)
    xfs = tuple(xs[i] for i in xf)
    yfs = tuple(ys[i] for i in yf)
    k = math.prod(xs[i] for i in lc)
    b = math.prod(bshape)
    if not lc:
        # batched outer products: a broadcast multiply beats a matmul with k = 1
        x3 = np.transpose(x, lb + xf).reshape(b, math.prod(xfs), 1)
        y3 = np.transpose(y, rb + yf).reshape(b, 1, math.prod(yfs))
        return np.multiply(x3, y3).reshape(bshape + xfs + yfs)
    x3 = np.transpose(x, lb + xf + lc).reshape(b, math.prod(xfs), k)
    y3 = np.transpose(y, rb + rc + yf).reshape(b, k, math.prod(yfs))
    return np.matmul(x3, y3).reshape(bshape + xfs + yfs)


def _dot_aval(x, y, *, dims):
    lc, rc, lb, rb, xf, yf = _dot_dims(x.ndim, y.ndim, dims)
    for a, b_ in zip(lc, rc):
        if x.shape[a] != y.shape[b_]:
            raise ValueError(f"dot_general: contracting dimensions differ in size: "
                             f"{x.shape} axis {a} vs {y.shape} axis {b_}")
    shape = (tuple(x.shape[i] for i in lb) + tuple(x.shape[i] for i in xf)
             + tuple(y.shape[i] for i in yf))
    return ShapedArray(shape, np.result_type(x.dtype, y.dtype))


@functools.lru_cache(maxsize=1024)
def _dot_vjp_plan(xnd, ynd, ctnd, dims, wrt_x):
    """How the VJP of dot_general computes one operand's cotangent: (swap, dims, perm) for
    `dot_general(other, ct)` when swap else `dot_general(ct, other)` with `dims`, then
    `transpose(perm)` when perm is not None. Of the two operand orders, the one whose result
    is already in the operand's axis order is taken (x @ W gives W's cotangent as x.T @ ct, a
    fresh array in W's layout, rather than the transposed view (ct.T @ x).T)."""
    lc, rc, lb, rb, xf, yf = _dot_dims(xnd, ynd, dims)
    nb, nxf = len(lb), len(xf)
    ct_b = tuple(range(nb))
    if wrt_x:          # the other operand is y; ct's axes (batch, x free, y free)
        ct_c, o_c, o_b, own_b, own_free, nd = tuple(range(nb + nxf, ctnd)), yf, rb, lb, xf, xnd
        contracted = [lc[rc.index(a)] for a in sorted(rc)]
    else:              # the other operand is x
        ct_c, o_c, o_b, own_b, own_free, nd = tuple(range(nb, nb + nxf)), xf, lb, rb, yf, ynd
        contracted = [rc[lc.index(a)] for a in sorted(lc)]
    ident = tuple(range(nd))
    plans = []
    for swap in (False, True):
        src = list(own_b) + (contracted + list(own_free) if swap else
                             list(own_free) + contracted)
        perm = tuple(src.index(i) for i in range(nd))
        new_dims = ((o_c, ct_c), (o_b, ct_b)) if swap else ((ct_c, o_c), (ct_b, o_b))
        plans.append((swap, new_dims, None if perm == ident else perm))
    return plans[1] if plans[0][2] is not None and plans[1][2] is None else plans[0]


def _dot_vjp(ct, other, plan):
    swap, new_dims, perm = plan
    if other.dtype.kind == "c":
        other = conj_p(other)
    r = dot_general_p(other, ct, dims=new_dims) if swap else dot_general_p(ct, other,
                                                                            dims=new_dims)
    return r if perm is None else transpose_p(r, perm=perm)


def _dot_vjp_x(ct, ans, x, y, *, dims):
    return _dot_vjp(ct, y, _dot_vjp_plan(x.ndim, y.ndim, ct.ndim, dims, True))


def _dot_vjp_y(ct, ans, x, y, *, dims):
    return _dot_vjp(ct, x, _dot_vjp_plan(x.ndim, y.ndim, ct.ndim, dims, False))


def _shift(t, k=1):
    return tuple(a + k for a in t)


def _dot_batch(vals, bdims, *, dims):
    x, y = vals
    bx, by = bdims
    (lc, rc), (lb, rb) = dims
    if bx is not None and by is not None:
        x, y = moveaxis0(x, bx), moveaxis0(y, by)
        nd = ((_shift(lc), _shift(rc)), ((0,) + _shift(lb), (0,) + _shift(rb)))
        return dot_general_p(x, y, dims=nd), 0
    if bx is not None:
        x = moveaxis0(x, bx)
        nd = ((_shift(lc), rc), (_shift(lb), rb))
        return dot_general_p(x, y, dims=nd), len(lb)
    y = moveaxis0(y, by)
    nd = ((lc, _shift(rc)), (lb, _shift(rb)))
    nxf = x.ndim - len(lc) - len(lb)
    return dot_general_p(x, y, dims=nd), len(lb) + nxf


dot_general_p = _prim(
    "dot_general", _dot_general, _dot_aval,
    jvp_rules=(lambda t, ans, x, y, *, dims: dot_general_p(t, y, dims=dims),
               lambda t, ans, x, y, *, dims: dot_general_p(x, t, dims=dims)),
    vjp_rules=(_dot_vjp_x, _dot_vjp_y), batch=_dot_batch, traits=("bilinear", "new_array"))


def _dot_fold_transpose(in_avals, params, perm):
    """transpose(dot_general(x, y), perm) as one dot_general, when perm keeps each operand's
    free axes in order: ((0, 1), (0, 1)) and dims -> (1, 0) for the swapped product
    dot_general(y, x) (batch axes may be permuted too). Returns (operand order, params) or
    None."""
    lc, rc, lb, rb, xf, yf = _dot_dims(in_avals[0].ndim, in_avals[1].ndim, params["dims"])
    nb, nx, ny = len(lb), len(xf), len(yf)
    perm = tuple(perm)
    head, tail = perm[:nb], perm[nb:]
    if sorted(head) != list(range(nb)):
        return None
    nlb, nrb = tuple(lb[i] for i in head), tuple(rb[i] for i in head)
    if tail == tuple(range(nb, nb + nx + ny)):
        return (0, 1), {"dims": ((lc, rc), (nlb, nrb))}
    if tail == tuple(range(nb + nx, nb + nx + ny)) + tuple(range(nb, nb + nx)):
        return (1, 0), {"dims": ((rc, lc), (nrb, nlb))}
    return None


def _dot_absorb_transpose(in_avals, params, i, perm):
    """dot_general(..., transpose(a, perm), ...) with operand i read as `a` itself: its
    dims renumbered (the same product, on the same data), when perm keeps the operand's free
    axes in order and its batch axes in place. Returns the new params or None."""
    (lc, rc), (lb, rb) = params["dims"]
    c, b = (lc, lb) if i == 0 else (rc, rb)
    free = [j for j in range(in_avals[i].ndim) if j not in c and j not in b]
    mapped = [perm[j] for j in free]
    if mapped != sorted(mapped) or any(perm[j] != j for j in b):
        return None     # free axes reordered, or batch axes moved (off matmul's fast path)
    nc, nb = tuple(perm[j] for j in c), tuple(perm[j] for j in b)
    dims = ((nc, rc), (nb, rb)) if i == 0 else ((lc, nc), (lb, nb))
    return {"dims": dims}


dot_general_p.fold_transpose = _dot_fold_transpose
dot_general_p.absorb_transpose = _dot_absorb_transpose


# --- batching rules of the index primitives -------------------------------------------------------


def _to_front(x, b, size):
    """x with its batch dim at 0; an unbatched x is broadcast (a view, no copy)."""
    if b is None:
        shape = tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)
        return broadcast_to_p(reshape_p(x, shape=(1,) + shape), shape=(size,) + shape)
    return moveaxis0(x, b)


def _batch_size(vals, bdims):
    return next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)


def _is_adv(e):
    return (isinstance(e, int) and not isinstance(e, bool)) or (type(e) is tuple and e[0] == "a")


def _batched_index(enc, arrays, bdims, ndim, size):
    """Index every example of a batch-leading array: (new encoding, new arrays, perm) where
    transposing the gathered result by `perm` (None: identity) gives batch-first layout."""
    n_consumed = sum(1 for e in enc if e is not None and e is not Ellipsis)
    full = []
    for e in enc:
        if e is Ellipsis:
            full.extend([("s", None, None, None)] * (ndim - n_consumed))
        else:
            full.append(e)
    if not any(type(e) is tuple and e[0] == "a" for e in full):
        return (("s", None, None, None),) + tuple(full), [], None
    adv = [i for i, e in enumerate(full) if _is_adv(e)]
    adjacent = adv == list(range(adv[0], adv[-1] + 1))
    shapes = []
    for a, b in zip(arrays, bdims):
        s = tuple(a.shape)
        shapes.append(s[:b] + s[b + 1:] if b is not None else s)
    na = len(np.broadcast_shapes(*shapes)) if shapes else 0
    new_arrays = [np.arange(size).reshape((size,) + (1,) * na)]
    for a, b in zip(arrays, bdims):
        if b is not None:
            a = moveaxis0(a, b)
            ra = a.ndim - 1
            if ra < na:
                a = reshape_p(a, shape=(a.shape[0],) + (1,) * (na - ra) + tuple(a.shape[1:]))
        new_arrays.append(a)
    new_enc = (("a", 0),) + tuple(("a", e[1] + 1) if type(e) is tuple and e[0] == "a" else e
                                  for e in full)
    perm = None
    if adjacent:
        nb = sum(1 for e in full[:adv[0]] if not _is_adv(e))
        if nb:
            n_other = sum(1 for e in full if not _is_adv(e)) + (ndim - n_consumed
                                                              if Ellipsis not in enc else 0)
            total = 1 + na + n_other
            perm = ((0,) + tuple(range(1 + na, 1 + na + nb)) + tuple(range(1, 1 + na))
                    + tuple(range(1 + na + nb, total)))
    return new_enc, new_arrays, perm


def _per_example_index_error(e: IndexError) -> IndexError:
    """NumPy's out-of-bounds message for the batched array, in the axes of one example (the
    batch axis is in front: axis k + 1 of the batch is the user's axis k)."""
    import re
    m = re.match(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)$", str(e))
    if m is None or m.group(2) == "0":
        return e
    return IndexError(f"index {m.group(1)} is out of bounds for axis {int(m.group(2)) - 1} "
                      f"with size {m.group(3)}")


def _getitem_batch(vals, bdims, *, idx):
    x, arrays = vals[0], vals[1:]
    size = _batch_size(vals, bdims)
    x = _to_front(x, bdims[0], size)
    enc, new_arrays, perm = _batched_index(idx, arrays, bdims[1:], x.ndim - 1, size)
    try:
        out = getitem_p(x, *new_arrays, idx=enc)
    except IndexError as e:
        raise _per_example_index_error(e) from None
    return (out if perm is None else transpose_p(out, perm=perm)), 0


def _scatter_batch(vals, bdims, *, idx, mode):
    x, y, arrays = vals[0], vals[1], vals[2:]
    size = _batch_size(vals, bdims)
    x = _to_front(x, bdims[0], size)
    per_x = ShapedArray(x.shape[1:], x.dtype)
    per_arrays = [ShapedArray(a.shape[:b] + a.shape[b + 1:] if b is not None else a.shape,
                              a.dtype) for a, b in zip(arrays, bdims[2:])]
    res_shape = _getitem_aval(per_x, *per_arrays, idx=idx).shape
    enc, new_arrays, perm = _batched_index(idx, arrays, bdims[2:], x.ndim - 1, size)
    y = _to_front(y, bdims[1], size) if bdims[1] is not None else y
    yshape = tuple(np.shape(y)) if not hasattr(y, "shape") else tuple(y.shape)
    if bdims[1] is not None:
        r = len(yshape) - 1
        if r < len(res_shape):
            y = reshape_p(y, shape=(size,) + (1,) * (len(res_shape) - r) + yshape[1:])
    y = broadcast_to_p(y, shape=(size,) + tuple(res_shape))
    if perm is not None:
        y = transpose_p(y, perm=_inv_perm(perm))
    try:
        return scatter_p(x, y, *new_arrays, idx=enc, mode=mode), 0
    except IndexError as e:
        raise _per_example_index_error(e) from None


getitem_p.batch = _getitem_batch
scatter_p.batch = _scatter_batch


# --- lowerings: NumPy expression source for compiler/codegen.py ------------------------------
# lower(arg_sources, params[, in_avals]) -> expression. Helpers named _cr_* are defined by
# compiler/runtime.py. Indexing keeps NumPy's semantics (IndexError out of bounds, no clamping).


def _np_dtype_src(dtype):
    name = np.dtype(dtype).name
    return "np.bool_" if name == "bool" else f"np.{name}"


def _slice_src(e):
    _, a, b, c = e
    s = f"{'' if a is None else a}:{'' if b is None else b}"
    return s if c is None else f"{s}:{c}"


def _index_src(enc, arrays):
    """The index as written inside brackets: `x[1:3, ::-1]`."""
    parts = ["None" if e is None else "..." if e is Ellipsis else
             _slice_src(e) if type(e) is tuple and e[0] == "s" else
             arrays[e[1]] if type(e) is tuple else repr(e) for e in enc]
    return ", ".join(parts) or "()"


def _arr_src(x):
    return x if x.isidentifier() else f"np.asarray({x})"


def _mat_src(x, transposed):
    return f"{x}.T" if transposed else x


def _lower_dot(ins, params, avals):
    """dot_general as NumPy source: one BLAS call where the contraction is a (stacked) matrix
    product of the operands or their transposed views (np.dot / np.matmul, which pass a
    transposed operand to BLAS without copying), else tensordot or transpose+matmul."""
    x, y = ins
    xnd, ynd = avals[0].ndim, avals[1].ndim
    lc, rc, lb, rb, xf, yf = _dot_dims(xnd, ynd, params["dims"])
    nb = len(lb)
    xs, ys = avals[0].shape, avals[1].shape
    if not lb:
        if len(lc) == 1 and xnd <= 2 and ynd <= 2:
            return (f"np.dot({_mat_src(x, xnd == 2 and lc[0] == 0)}, "
                    f"{_mat_src(y, ynd == 2 and rc[0] == 1)})")
        if len(lc) == 1 and lc[0] == xnd - 1 and ynd == 2 and xnd > 2:
            # (..., k) x (k, n) or (n, k): one matrix product on x viewed as a matrix
            m = math.prod(xs[:-1])
            out = tuple(xs[:-1]) + (ys[1 - rc[0]],)
            return (f"np.dot(np.reshape({x}, ({m}, {xs[-1]})), "
                    f"{_mat_src(y, rc[0] == 1)}).reshape({out!r})")
        return f"np.tensordot({x}, {y}, axes=({lc!r}, {rc!r}))"
    batch = tuple(range(nb))
    if (lb == batch and rb == batch and xnd == nb + 2 and ynd == nb + 2 and len(lc) == 1
            and lc[0] in (nb, nb + 1) and rc[0] in (nb, nb + 1)):
        a = x if lc[0] == nb + 1 else f"np.swapaxes({x}, -1, -2)"
        b_ = y if rc[0] == nb else f"np.swapaxes({y}, -1, -2)"
        return f"np.matmul({a}, {b_})"
    size = lambda dims, shape: int(np.prod([shape[i] for i in dims], dtype=np.int64))  # noqa
    b, k = size(lb, xs), size(lc, xs)
    m, n = size(xf, xs), size(yf, ys)
    out = tuple(xs[i] for i in lb) + tuple(xs[i] for i in xf) + tuple(ys[i] for i in yf)
    return (f"np.matmul(np.transpose({x}, {lb + xf + lc!r}).reshape({b}, {m}, {k}), "
            f"np.transpose({y}, {rb + rc + yf!r}).reshape({b}, {k}, {n})).reshape({out!r})")


def _lower_cum(fn):
    def lower(ins, p):
        k = p["axis"]
        if p["reverse"]:
            return f"np.flip(np.{fn}(np.flip({ins[0]}, {k}), axis={k}), {k})"
        return f"np.{fn}({ins[0]}, axis={k})"
    return lower


def _lower_argsort(ins, p):
    x, k = ins[0], p["axis"]
    if p["descending"]:
        return (f"np.flip(np.shape({x})[{k}] - 1 - np.argsort(np.flip({x}, {k}), axis={k}, "
                f"kind='stable'), {k})")
    return f"np.argsort({x}, axis={k}, kind='stable')"


def _lower_scatter(ins, p):
    has_arrays = len(ins) > 2
    mode = "iadd" if p["mode"] == "add" and not has_arrays else p["mode"]
    index = f"np.s_[{_index_src(p['idx'], ins[2:])}]"
    return f"_cr_scatter({ins[0]}, {ins[1]}, {index}, {mode!r})"


convert_p.lower = lambda ins, p: f"{_arr_src(ins[0])}.astype({_np_dtype_src(p['dtype'])})"
reshape_p.lower = lambda ins, p: f"np.reshape({ins[0]}, {tuple(p['shape'])!r})"
broadcast_to_p.lower = lambda ins, p: f"np.broadcast_to({ins[0]}, {tuple(p['shape'])!r})"
transpose_p.lower = lambda ins, p: f"np.transpose({ins[0]}, {tuple(p['perm'])!r})"
reduce_sum_p.lower = lambda ins, p: f"np.add.reduce({ins[0]}, axis={tuple(p['axes'])!r})"
reduce_max_p.lower = lambda ins, p: f"np.maximum.reduce({ins[0]}, axis={tuple(p['axes'])!r})"
reduce_min_p.lower = lambda ins, p: f"np.minimum.reduce({ins[0]}, axis={tuple(p['axes'])!r})"
reduce_prod_p.lower = lambda ins, p: f"np.multiply.reduce({ins[0]}, axis={tuple(p['axes'])!r})"
reduce_and_p.lower = lambda ins, p: f"np.all({ins[0]}, axis={tuple(p['axes'])!r})"
reduce_or_p.lower = lambda ins, p: f"np.any({ins[0]}, axis={tuple(p['axes'])!r})"
argmax_p.lower = lambda ins, p: f"np.argmax({ins[0]}, axis={p['axis']})"
argmin_p.lower = lambda ins, p: f"np.argmin({ins[0]}, axis={p['axis']})"
argsort_p.lower = _lower_argsort
cumsum_p.lower = _lower_cum("cumsum")
cumprod_p.lower = _lower_cum("cumprod")
concatenate_p.lower = lambda ins, p: (f"np.concatenate(({', '.join(ins)}"
                                     f"{',' if len(ins) == 1 else ''}), axis={p['axis']})")
pad_p.lower = lambda ins, p: (f"np.pad({ins[0]}, {tuple(map(tuple, p['widths']))!r}, "
                              f"mode='constant', constant_values={ins[1]})")
getitem_p.lower = lambda ins, p: f"{_arr_src(ins[0])}[{_index_src(p['idx'], ins[1:])}]"
scatter_p.lower = _lower_scatter
dot_general_p.lower = _lower_dot
