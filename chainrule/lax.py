"""chainrule.lax: lower-level operations with JAX's names: structured control flow (cond,
switch, while_loop, fori_loop, scan, map, select), the named-axis collectives used inside vmap
(psum, pmean, pmax, pmin, all_gather, axis_index) and stop_gradient."""
from __future__ import annotations

from .core import bind
from . import tree_util as tu
from .prims.collective import psum_p, pmean_p, pmax_p, pmin_p, all_gather_p, axis_index
from .transforms.custom import stop_gradient
from .lax_control import cond, switch, while_loop, fori_loop, scan, map, select  # noqa: A004

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "stop_gradient",
           "cond", "switch", "while_loop", "fori_loop", "scan", "map", "select"]


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


def all_gather(x, axis_name):
    """Every example's x stacked along a new leading axis, seen by every example."""
    return _tree(all_gather_p, x, axis_name)
