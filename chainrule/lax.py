"""chainrule.lax: lower-level operations with JAX's names: structured control flow (cond,
switch, while_loop, fori_loop, scan, map, select), the named-axis collectives used inside vmap
(psum, pmean, pmax, pmin, all_gather, axis_index) and stop_gradient."""
from __future__ import annotations

import numbers
import operator

import numpy as np

from .core import Tracer, bind
from . import tree_util as tu
from .prims.collective import psum_p, pmean_p, pmax_p, pmin_p, all_gather_p, axis_index
from .prims.structural import reshape_p, transpose_p
from .transforms.custom import stop_gradient
from .lax_control import cond, switch, while_loop, fori_loop, scan, map, select  # noqa: A004

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "stop_gradient",
           "cond", "switch", "while_loop", "fori_loop", "scan", "map", "select",
           "dynamic_slice", "dynamic_update_slice", "dynamic_slice_in_dim",
           "dynamic_index_in_dim", "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim"]


def _tree(prim, x, axis_name):
    return tu.tree_map(lambda v: bind(prim, v, axis_name=axis_name), x)


def psum(x, axis_name):
    """Sum of x over the named vmap axis; every example gets the total (pytrees allowed).

    Example:
      >>> vmap(lambda v: v / psum(v, "i"), axis_name="i")(np.ones(4))   # [0.25] * 4
    """
    return _tree(psum_p, x, axis_name)


def pmean(x, axis_name):
    """Mean of x over the named vmap axis."""
    return _tree(pmean_p, x, axis_name)


def pmax(x, axis_name):
    """Maximum of x over the named vmap axis."""
    return _tree(pmax_p, x, axis_name)


def pmin(x, axis_name):
    """Minimum of x over the named vmap axis."""
    return _tree(pmin_p, x, axis_name)


def all_gather(x, axis_name, *, axis: int = 0, tiled: bool = False):
    """Every example's x, gathered over the named vmap axis and seen by every example.

    Args:
      x: an array (or pytree of arrays).
      axis_name: the vmap axis name, or a tuple of names (gathered as one axis of their
        sizes' product, the last name varying fastest).
      axis: where the gathered examples go in the result (negative counts from the end).
      tiled: False: stack them along a new axis `axis` (size n); True: concatenate them
        along x's existing axis `axis` (its size times n).
    Returns:
      x's shape with a new axis of size n at `axis`, or (tiled) with axis `axis` n times
      longer.

    Example:
      >>> vmap(lambda v: all_gather(v, "i", axis=1), axis_name="i")(np.ones((4, 2))).shape
      (4, 2, 4)
    """
    names = axis_name if isinstance(axis_name, tuple) else (axis_name,)

    def one(v):
        shape = tuple(np.shape(v))
        nd = len(shape)
        try:
            ax = operator.index(axis)
        except TypeError:
            raise TypeError(f"all_gather: axis must be an integer, got "
                            f"{type(axis).__name__}") from None
        rank = nd if tiled else nd + 1
        if not -rank <= ax < rank:
            what = "an axis of x" if tiled else "a position in the result"
            raise ValueError(f"all_gather: axis {axis} is out of range: it must be {what}, "
                             f"between {-rank} and {rank - 1} for x of shape {shape}"
                             + (" (tiled=True needs x to have an axis)" if tiled and not nd
                                else ""))
        ax %= rank
        g = v
        for name in reversed(names):
            g = bind(all_gather_p, g, axis_name=name)
        lead = tuple(np.shape(g))[:len(names)]
        n = int(np.prod(lead))
        if len(names) != 1:
            g = reshape_p(g, shape=(n,) + shape)
        # g: (n, *shape); move the gathered axis to its place
        perm = list(range(1, nd + 1))
        perm.insert(ax, 0)
        if perm != list(range(nd + 1)):
            g = transpose_p(g, perm=tuple(perm))
        if tiled:
            g = reshape_p(g, shape=shape[:ax] + (n * shape[ax],) + shape[ax + 1:])
        return g

    return tu.tree_map(one, x)


# ---------------------------------------------------------------------------------------------
# dynamic slicing: slices whose start is a traced integer (inside jit, scan or fori_loop
# bodies). JAX's semantics: the start indices are clamped so that the slice lies inside the
# operand, after a negative start is counted from the end once (this is lax's definition of
# the operation, not an out-of-bounds index, so it does not raise). Built on indexing and `.at[]` updates, so every transform applies.

def _starts(operand, start_indices, sizes, what):
    from . import numpy as cnp
    shape = cnp.shape(operand)
    starts = list(start_indices) if not _is_array_like(start_indices) else \
        [start_indices[i] for i in range(cnp.shape(start_indices)[0])]
    if len(starts) != len(shape) or len(sizes) != len(shape):
        raise TypeError(f"{what}: operand of shape {shape} needs {len(shape)} start indices "
                        f"and sizes, got {len(starts)} start indices and {len(sizes)} sizes")
    out = []
    for k, (st, size, dim) in enumerate(zip(starts, sizes, shape)):
        if not isinstance(size, numbers.Integral) or not 0 <= size <= dim:
            raise TypeError(f"{what}: the size along axis {k} must be an int between 0 and "
                            f"the operand's size {dim}, got {size!r}")
        dt = getattr(st, "dtype", None) or np.result_type(st)
        if np.dtype(dt).kind not in "iu":
            raise TypeError(f"{what}: start indices must be integers, got dtype {dt} for axis "
                            f"{k}")
        if isinstance(st, Tracer):
            out.append(cnp.clip(cnp.where(st < 0, st + dim, st), 0, dim - size))
        else:
            st = int(st)
            out.append(min(max(st + dim if st < 0 else st, 0), dim - size))
    return shape, out


def _is_array_like(x) -> bool:
    return isinstance(x, (Tracer, np.ndarray))


def dynamic_slice(operand, start_indices, slice_sizes):
    """operand[s0:s0+n0, s1:s1+n1, ...] for start indices s that may be traced; a negative
    start counts from the end, then each start is clamped to [0, dim - n] (JAX's
    lax.dynamic_slice semantics).

    Example:
      >>> dynamic_slice(np.arange(10.0), (8,), (3,))   # clamped start 7: [7., 8., 9.]
    """
    from . import numpy as cnp
    x = cnp.asarray(operand)
    sizes = tuple(slice_sizes)
    shape, starts = _starts(x, start_indices, sizes, "dynamic_slice")
    static = tuple(slice(st, st + n) for st, n in zip(starts, sizes)
                   if not isinstance(st, Tracer))
    if len(static) == len(shape):
        return x[static]
    for k, (st, n) in enumerate(zip(starts, sizes)):
        if isinstance(st, Tracer):
            x = cnp.take(x, st + cnp.arange(n), axis=k)
        elif (st, n) != (0, shape[k]):
            x = x[(slice(None),) * k + (slice(st, st + n),)]
    return x


def dynamic_update_slice(operand, update, start_indices):
    """operand with update written at start_indices (traced starts allowed, each clamped to
    [0, dim - update's size] as in JAX's lax.dynamic_update_slice); update is cast to
    operand's dtype.

    Example:
      >>> dynamic_update_slice(np.zeros(5), np.ones(2), (4,))   # [0., 0., 0., 1., 1.]
    """
    from . import numpy as cnp
    from .numpy._indexing import scatter
    x = cnp.asarray(operand)
    u = cnp.asarray(update)
    if cnp.ndim(u) != cnp.ndim(x):
        raise TypeError(f"dynamic_update_slice: update of shape {cnp.shape(u)} must have the "
                        f"operand's rank {cnp.ndim(x)} (operand shape {cnp.shape(x)})")
    sizes = cnp.shape(u)
    shape, starts = _starts(x, start_indices, sizes, "dynamic_update_slice")
    if not any(isinstance(st, Tracer) for st in starts):
        return scatter(x, tuple(slice(st, st + n) for st, n in zip(starts, sizes)), u, "set")
    nd = len(shape)
    idx = tuple(cnp.reshape(st + cnp.arange(n), (n,) + (1,) * (nd - 1 - k))
                if isinstance(st, Tracer) else
                np.arange(st, st + n).reshape((n,) + (1,) * (nd - 1 - k))
                for k, (st, n) in enumerate(zip(starts, sizes)))
    return scatter(x, idx, u, "set")


def _in_dim(operand, axis, value, fill):
    from . import numpy as cnp
    nd = cnp.ndim(operand)
    if not -nd <= axis < nd:
        raise ValueError(f"axis {axis} is out of bounds for an operand of rank {nd}")
    axis %= nd
    out = [fill(k) for k in range(nd)]
    out[axis] = value
    return axis, out


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """dynamic_slice along one axis: the other axes are kept whole."""
    from . import numpy as cnp
    shape = cnp.shape(operand)
    axis, starts = _in_dim(operand, axis, start_index, lambda k: 0)
    sizes = list(shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """The slice of size 1 at a (traced) index along axis; keepdims=False drops that axis."""
    from . import numpy as cnp
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    if keepdims:
        return out
    return cnp.squeeze(out, axis=axis % cnp.ndim(operand))


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """dynamic_update_slice along one axis (update spans the other axes whole)."""
    axis, starts = _in_dim(operand, axis, start_index, lambda k: 0)
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """Write update (with or without the size-1 axis) at a (traced) index along axis."""
    from . import numpy as cnp
    nd = cnp.ndim(operand)
    u = cnp.asarray(update)
    if cnp.ndim(u) == nd - 1:
        u = cnp.expand_dims(u, axis % nd if -nd <= axis < nd else axis)
    return dynamic_update_slice_in_dim(operand, u, index, axis)
