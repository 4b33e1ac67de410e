"""vectorize and apply_along_axis, built on vmap: the loop over examples is one batched
evaluation, not a Python loop."""
from __future__ import annotations

import functools
import re

import numpy as np

from .. import tree_util as tu
from ._shape import broadcast_to, moveaxis, reshape, shape as _shape
from ._creation import asarray

__all__ = ["vectorize", "apply_along_axis"]

_DIM = r"\w+"
_CORE = rf"(?:{_DIM}(?:,{_DIM})*)?"
_ARGS = rf"\({_CORE}\)(?:,\({_CORE}\))*"
_SIG = re.compile(rf"^{_ARGS}->{_ARGS}$")


def _parse_signature(sig):
    s = sig.replace(" ", "")
    if not _SIG.match(s):
        raise ValueError(f"not a valid gufunc signature: {sig!r}")
    ins, outs = s.split("->")
    parse = lambda part: [tuple(d for d in grp.split(",") if d)
                          for grp in re.findall(r"\(([^)]*)\)", part)]
    return parse(ins), parse(outs)


def _vmap():
    from ..transforms.api import vmap
    return vmap


def vectorize(pyfunc=None, *, excluded=None, signature=None, otypes=None, doc=None,
              cache=False):
    """Vectorize a function written for single elements (or for core dims given by a
    generalized-ufunc `signature` such as "(n),(n)->()"), by vmap over the loop dimensions.

    Example:
      >>> dot = vectorize(cnp.dot, signature="(n),(n)->()")
      >>> dot(np.ones((4, 3)), np.ones(3)).shape   # (4,)
    """
    if pyfunc is None:
        return functools.partial(vectorize, excluded=excluded, signature=signature)
    excluded = set(excluded or ())
    parsed = _parse_signature(signature) if signature is not None else None

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        static_kw = {k: v for k, v in kwargs.items() if k in excluded}
        dyn_kw = {k: v for k, v in kwargs.items() if k not in excluded}
        excl_pos = {i for i in excluded if isinstance(i, int)}
        dyn_idx = [i for i in range(len(args)) if i not in excl_pos]
        kw_names = list(dyn_kw)
        dyn = [asarray(args[i]) for i in dyn_idx] + [asarray(dyn_kw[k]) for k in kw_names]
        if parsed is None:
            in_core = [()] * len(dyn)
        else:
            in_core = parsed[0]
            if len(in_core) != len(dyn):
                raise TypeError(f"wrong number of positional arguments: expected "
                                f"{len(in_core)}, got {len(dyn)}")
        sizes = {}
        loop_shapes = []
        for a, core in zip(dyn, in_core):
            s = _shape(a)
            if len(s) < len(core):
                raise ValueError(f"input with shape {s} does not have enough dimensions for "
                                 f"its core dimensions {core}")
            cs = s[len(s) - len(core):] if core else ()
            for d, n in zip(core, cs):
                if sizes.setdefault(d, n) != n:
                    raise ValueError(f"inconsistent size for core dimension {d!r}: "
                                     f"{sizes[d]} vs {n}")
            loop_shapes.append(s[:len(s) - len(core)])
        loop = np.broadcast_shapes(*loop_shapes) if loop_shapes else ()
        n = int(np.prod(loop, dtype=np.int64))
        flat = []
        for a, core in zip(dyn, in_core):
            s = _shape(a)
            cs = tuple(s[len(s) - len(core):]) if core else ()
            flat.append(reshape(broadcast_to(a, loop + cs), (n,) + cs))

        def one(*xs):
            pos = list(args)
            for i, x in zip(dyn_idx, xs[:len(dyn_idx)]):
                pos[i] = x
            kw = dict(static_kw)
            kw.update(zip(kw_names, xs[len(dyn_idx):]))
            return pyfunc(*pos, **kw)

        if n == 0:
            raise ValueError("vectorize over an empty loop dimension is not supported")
        out = _vmap()(one)(*flat)
        leaves, tree = tu.tree_flatten(out)
        if parsed is not None:
            out_core = parsed[1]
            if len(out_core) != len(leaves):
                raise ValueError(f"wrong number of outputs from pyfunc: expected "
                                 f"{len(out_core)}, got {len(leaves)}")
        if parsed is not None:
            for k, (leaf, core) in enumerate(zip(leaves, parsed[1])):
                cs = tuple(_shape(leaf)[1:])
                if len(cs) != len(core):
                    raise ValueError(f"output {k} of pyfunc has {len(cs)} core dimension(s) "
                                     f"{cs} but the signature {signature!r} says {core}")
                for d, m in zip(core, cs):
                    if sizes.setdefault(d, m) != m:
                        raise ValueError(f"inconsistent size for core dimension {d!r}: "
                                         f"{sizes[d]} vs {m} (output {k})")
        res = [reshape(leaf, loop + tuple(_shape(leaf)[1:])) for leaf in leaves]
        return tu.tree_unflatten(tree, res)

    return wrapped


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """Apply func1d to 1-D slices along `axis` (one batched evaluation via vmap); the
    function's output dimensions replace `axis`, as in numpy.apply_along_axis."""
    arr = asarray(arr)
    nd = len(_shape(arr))
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension "
                                      f"{nd}")
    axis %= nd
    moved = moveaxis(arr, axis, -1)
    loop = _shape(moved)[:-1]
    n = int(np.prod(loop, dtype=np.int64))
    flat = reshape(moved, (n, _shape(moved)[-1]))
    out = _vmap()(lambda row: asarray(func1d(row, *args, **kwargs)))(flat)
    out_core = _shape(out)[1:]
    out = reshape(out, loop + out_core)
    # the function's output dims go where `axis` was
    k = len(out_core)
    src = list(range(len(loop), len(loop) + k))
    dst = list(range(axis, axis + k))
    return moveaxis(out, src, dst) if k else out
