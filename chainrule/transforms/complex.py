"""Wirtinger derivatives: `wirtinger(f)` gives (df/dz, df/dconj(z)) of a scalar function of
complex inputs.

Contract: for z = x + iy, df/dz = (df/dx - i df/dy) / 2 and df/dz̄ = (df/dx + i df/dy) / 2,
elementwise over every input leaf. They are read off reverse mode: the VJP of a scalar output
at cotangent c is conj(df/dz) c + (df/dz̄) conj(c) (the adjoint under the real inner product,
docs/complex.md), so one VJP (c = 1) gives both for a real output and two (c = 1 and c = i)
for a complex one. Built on `vjp` only: it composes with jit, vmap, grad and itself.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from .. import tree_util as tu
from ..core import bind
from .api import (_as_value, _check_callable, _dtype, _norm_argnums, _replace_args, _shape,
                  _split_args, vjp)


def _array(x):
    return np.asarray(x) if isinstance(x, np.generic) else x


def _conj(x):
    from ..prims import conj_p
    return bind(conj_p, x)


def wirtinger(fun: Callable, argnums: int | Sequence[int] = 0,
              has_aux: bool = False) -> Callable:
    """The Wirtinger derivatives (df/dz, df/dconj(z)) of a scalar function of complex inputs.

    For z = x + iy: df/dz = (df/dx - i df/dy) / 2 and df/dz̄ = (df/dx + i df/dy) / 2. A
    holomorphic f has df/dz = f'(z) and df/dz̄ = 0; a real-valued f has df/dz̄ = conj(df/dz),
    and grad(f) = 2 df/dz̄ (docs/complex.md).

    Args:
      fun: a function returning a scalar, real or complex (or (scalar, aux) with has_aux).
      argnums: int or tuple of ints: which positional arguments to differentiate; every
        array in them must be complex (convert real ones with x.astype(complex)).
      has_aux: fun returns (value, aux); the result is then ((dz, dzbar), aux).
    Returns:
      A function with fun's signature returning (dz, dzbar), each shaped like the argument
      (a tuple of them when argnums is a tuple), as grad returns gradients.

    Example:
      >>> wirtinger(lambda z: z * cnp.conj(z))(1 + 2j)   # (1-2j, 1+2j): (conj(z), z)
    """
    _check_callable(fun, "wirtinger")

    @functools.wraps(fun)
    def wf(*args, **kwargs):
        nums, single = _norm_argnums(argnums, len(args), "wirtinger")
        leaves, tree = tu.tree_flatten(_split_args(args, nums))
        leaves = [_as_value(x) for x in leaves]
        for x in leaves:
            if _dtype(x).kind != "c":
                raise TypeError(f"wirtinger requires complex inputs, got {_dtype(x).name}; "
                                "convert them with x.astype(complex) (or use grad for "
                                "real inputs)")

        def f_flat(*xs):
            return fun(*_replace_args(args, nums, tu.tree_unflatten(tree, list(xs))),
                       **kwargs)

        res = vjp(f_flat, *leaves, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        if isinstance(out, (list, tuple, dict)) or _shape(out) != ():
            what = type(out).__name__ if isinstance(out, (list, tuple, dict)) else \
                f"shape {_shape(out)}"
            raise TypeError(f"wirtinger requires a scalar output (shape ()), got {what}. Use "
                            "vjp or jacrev for arrays of outputs.")
        dt = _dtype(out)
        if dt.kind not in "fc":
            raise TypeError(f"wirtinger requires a real or complex output, got {dt.name}")
        g1 = f_vjp(np.ones((), dt))
        if dt.kind == "c":
            gi = f_vjp(np.full((), 1j, dt))
            dz = [0.5 * _conj(a - 1j * b) for a, b in zip(g1, gi)]
            dzbar = [0.5 * (a + 1j * b) for a, b in zip(g1, gi)]
        else:
            dzbar = [0.5 * g for g in g1]
            dz = [_conj(g) for g in dzbar]
        dz = tu.tree_unflatten(tree, [_array(v) for v in dz])
        dzbar = tu.tree_unflatten(tree, [_array(v) for v in dzbar])
        pair = (dz[0], dzbar[0]) if single else (tuple(dz), tuple(dzbar))
        return (pair, res[2]) if has_aux else pair

    return wf
