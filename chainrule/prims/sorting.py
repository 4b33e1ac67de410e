"""Primitives for chainrule.numpy's sorting, searching and statistics functions.

Three blocks, each with every rule (impl, shape rule, derivatives, batching, lowering):
  argpartition_p(x, kth=, axis=): indices that partition x along `axis` so that the entries
    at positions `kth` (a tuple of non-negative ints) are those of a full sort, smaller ones
    before and larger ones after (NumPy's introselect; no derivative).
  searchsorted_p(a, v, side=): insertion points of v into the sorted last axis of a. `a` has
    shape lead + (n,) and v shape lead + rest: every leading index of a is a separate sorted
    row searched by the matching slice of v (this is how vmap batches a sorted array). The
    output has v's shape and dtype intp (no derivative).
  convolve_p(a, v): full discrete linear convolution over the last axis, as numpy.convolve
    with mode="full"; a and v have the same leading dims (batched rows). Bilinear: the JVP
    convolves each tangent with the other argument, the VJP correlates the cotangent with the
    conjugate of the other argument (the adjoint under Re<a, b>), expressed with convolve_p
    itself, so derivatives of any order need nothing more.
Everything else in the module's user functions (sort, quantiles, histograms, ...) is composed
from these and the structural primitives.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Primitive, ShapedArray
from .base import moveaxis0
from .elementwise import conj_p
from .structural import broadcast_to_p, getitem_p, reshape_p, transpose_p

TESTED_IN = "tests/test_numpy_stats.py"

__all__ = ["argpartition_p", "searchsorted_p", "convolve_p"]


def _prim(name, impl, aval, *, jvp_rules, vjp_rules, batch, lower, traits=()):
    p = Primitive(name)
    p.impl, p.abstract_eval = impl, aval
    p.jvp_rules, p.vjp_rules, p.batch, p.lower = jvp_rules, vjp_rules, batch, lower
    p.traits = frozenset(traits)
    return p


def _broadcast_front(x, b, size):
    """x with its batch dimension first (an unbatched x is broadcast to the batch)."""
    if b is None:
        shape = tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)
        return broadcast_to_p(reshape_p(x, shape=(1,) + shape), shape=(size,) + shape)
    return moveaxis0(x, b)


def _move(x, src, dst):
    """Move axis `src` of x to position `dst` (a transpose primitive, or nothing)."""
    if src == dst:
        return x
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return transpose_p(x, perm=tuple(perm))


# --- argpartition ----------------------------------------------------------------------------


def _argpartition(x, *, kth, axis):
    return np.argpartition(x, kth, axis=axis)


def _argpartition_aval(x, *, kth, axis):
    n = x.shape[axis]
    for k in kth:
        if not 0 <= k < n:
            raise ValueError(f"argpartition: kth(={k}) out of bounds ({n})")
    return ShapedArray(x.shape, np.intp)


def _argpartition_batch(vals, bdims, *, kth, axis):
    return argpartition_p(moveaxis0(vals[0], bdims[0]), kth=kth, axis=axis + 1), 0


argpartition_p = _prim(
    "argpartition", _argpartition, _argpartition_aval, jvp_rules=(None,), vjp_rules=(None,),
    batch=_argpartition_batch,
    lower=lambda ins, p: f"np.argpartition({ins[0]}, {tuple(p['kth'])!r}, axis={p['axis']})")

# --- searchsorted ----------------------------------------------------------------------------


def _searchsorted(a, v, *, side):
    a = np.asarray(a)
    v = np.asarray(v)
    if a.ndim == 1:
        return np.searchsorted(a, v, side=side)
    # one sorted row per leading index: merge each row with its queries by a stable sort
    # (queries first on ties for "left", rows first for "right"); the number of row entries
    # sorted before a query is its insertion point
    n = a.shape[-1]
    r = int(np.prod(a.shape[:-1], dtype=np.int64))
    rows = a.reshape(r, n)
    qs = v.reshape(r, v.size // r if r else 0)
    m = qs.shape[1]
    left = side == "left"
    merged = np.concatenate([qs, rows] if left else [rows, qs], axis=1)
    perm = np.argsort(merged, axis=1, kind="stable")
    from_row = perm >= m if left else perm < n
    before = np.cumsum(from_row, axis=1)
    query = ~from_row
    out = np.empty((r, m), np.intp)
    np.put_along_axis(out, perm[query].reshape(r, m) - (0 if left else n),
                      before[query].reshape(r, m), axis=1)
    return out.reshape(v.shape)


def _searchsorted_aval(a, v, *, side):
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if a.ndim < 1:
        raise ValueError("searchsorted: the sorted array must have at least one dimension")
    lead = a.shape[:-1]
    if tuple(v.shape[:len(lead)]) != lead:
        raise ValueError(f"searchsorted: the queries' leading dims {v.shape[:len(lead)]} must "
                         f"match the sorted rows' {lead}")
    return ShapedArray(v.shape, np.intp)


def _searchsorted_batch(vals, bdims, *, side):
    a, v = vals
    ba, bv = bdims
    if ba is None:
        # the rows are shared: put v's batch dim right after the rows' leading dims
        k = a.ndim - 1
        return searchsorted_p(a, _move(v, bv, k), side=side), k
    size = a.shape[ba]
    a = moveaxis0(a, ba)
    return searchsorted_p(a, _broadcast_front(v, bv, size), side=side), 0


def _searchsorted_lower(ins, p, avals):
    a, v = ins
    side = p["side"]
    if avals[0].ndim == 1:
        return f"np.searchsorted({a}, {v}, side={side!r})"
    lead, n = avals[0].shape[:-1], avals[0].shape[-1]
    r = math.prod(lead)
    vshape = avals[1].shape
    m = math.prod(vshape[len(lead):])
    return (f"np.array([np.searchsorted(row, q, side={side!r}) for row, q in "
            f"zip(np.reshape({a}, ({r}, {n})), np.reshape({v}, ({r}, {m})))], "
            f"dtype=np.intp).reshape({tuple(vshape)!r})")


searchsorted_p = _prim("searchsorted", _searchsorted, _searchsorted_aval,
                       jvp_rules=(None, None), vjp_rules=(None, None),
                       batch=_searchsorted_batch, lower=_searchsorted_lower)

# --- convolve --------------------------------------------------------------------------------


def _convolve(a, v):
    a = np.asarray(a)
    v = np.asarray(v)
    if a.ndim == 1:
        return np.convolve(a, v)
    # batched rows: shift-and-add over the shorter operand (exact for integers)
    if a.shape[-1] < v.shape[-1]:
        a, v = v, a
    n, m = a.shape[-1], v.shape[-1]
    out = np.zeros(a.shape[:-1] + (n + m - 1,), np.result_type(a, v))
    for j in range(m):
        out[..., j:j + n] += a * v[..., j:j + 1]
    return out


def _convolve_aval(a, v):
    if a.ndim < 1 or a.shape[:-1] != v.shape[:-1] or a.ndim != v.ndim:
        raise ValueError(f"convolve: operands of shapes {a.shape} and {v.shape} need the same "
                         "leading dims")
    if a.shape[-1] == 0 or v.shape[-1] == 0:
        raise ValueError("convolve: operands must not be empty")
    shape = a.shape[:-1] + (a.shape[-1] + v.shape[-1] - 1,)
    return ShapedArray(shape, np.result_type(a.dtype, v.dtype))


def _flip_last(x):
    return getitem_p(x, idx=(Ellipsis, ("s", None, None, -1)))


def _conv_vjp(ct, other, n):
    """The cotangent of one operand (length n) of a full convolution with `other`: the
    valid-mode correlation of ct with conj(other), as a full convolution with its flip."""
    o = conj_p(other) if other.dtype.kind == "c" else other
    m = other.shape[-1]
    full = convolve_p(ct, _flip_last(o))
    return getitem_p(full, idx=(Ellipsis, ("s", m - 1, m - 1 + n, None)))


def _convolve_batch(vals, bdims):
    size = next(v.shape[b] for v, b in zip(vals, bdims) if b is not None)
    a, v = (_broadcast_front(x, b, size) for x, b in zip(vals, bdims))
    return convolve_p(a, v), 0


def _convolve_lower(ins, p, avals):
    a, v = ins
    if avals[0].ndim == 1:
        return f"np.convolve({a}, {v})"
    lead = avals[0].shape[:-1]
    n, m = avals[0].shape[-1], avals[1].shape[-1]
    r = math.prod(lead)
    dt = np.result_type(avals[0].dtype, avals[1].dtype).name
    return (f"np.array([np.convolve(x, y) for x, y in zip(np.reshape({a}, ({r}, {n})), "
            f"np.reshape({v}, ({r}, {m})))], dtype=np.dtype({dt!r}))"
            f".reshape({tuple(lead) + (n + m - 1,)!r})")


convolve_p = _prim(
    "convolve", _convolve, _convolve_aval,
    jvp_rules=(lambda t, ans, a, v: convolve_p(t, v), lambda t, ans, a, v: convolve_p(a, t)),
    vjp_rules=(lambda ct, ans, a, v: _conv_vjp(ct, v, a.shape[-1]),
               lambda ct, ans, a, v: _conv_vjp(ct, a, v.shape[-1])),
    batch=_convolve_batch, lower=_convolve_lower, traits=("bilinear",))
