"""chainrule.tree: the short names of `chainrule.tree_util` (as JAX's ``jax.tree``):
``tree.map(f, t)`` is ``tree_util.tree_map(f, t)``, and so on. Same functions, same semantics.

Example:
  >>> import chainrule as cr
  >>> cr.tree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
  {'a': 2, 'b': (4, 6)}
"""
from .tree_util import (tree_all as all, tree_flatten as flatten,  # noqa: A004, F401
                        tree_flatten_with_path as flatten_with_path,
                        tree_leaves as leaves, tree_leaves_with_path as leaves_with_path,
                        tree_map as map, tree_map_with_path as map_with_path,
                        tree_reduce as reduce, tree_structure as structure,
                        tree_transpose as transpose, tree_unflatten as unflatten)

__all__ = ["all", "flatten", "flatten_with_path", "leaves", "leaves_with_path", "map",
           "map_with_path", "reduce", "structure", "transpose", "unflatten"]
