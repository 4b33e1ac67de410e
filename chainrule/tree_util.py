"""Pytrees: nested containers of leaves, with JAX's ``jax.tree_util`` names and semantics.

Contract
--------
* A *pytree* is either a **node** or a **leaf**. Nodes are instances of the
  built-in node types below or of a type registered with
  :func:`register_pytree_node` (or one of its helpers). Every other object
  (numbers, strings, arrays, arbitrary instances) is a **leaf**.
* Node types are matched by *exact* type: a subclass of ``dict`` or ``list``
  is a leaf unless it is registered itself. The exception is namedtuples
  (any ``tuple`` subclass with ``_fields``), which are nodes that keep their type.
* Built-in nodes and the order of their children:

  - ``tuple`` / ``list``: positional order.
  - ``dict``: children ordered by **sorted** keys; unflattening builds a dict
    whose insertion order is the sorted key order (as JAX does).
  - ``None``: a node with **zero** children (so ``tree_leaves([None, 1]) == [1]``).
  - namedtuples: field order, the namedtuple type is kept.
  - ``collections.OrderedDict``: insertion order (key order is part of the structure).
  - ``collections.defaultdict``: sorted keys; ``default_factory`` is kept in the structure.

* :class:`PyTreeDef` describes the structure (everything except the leaves).
  It is immutable, hashable and compared with ``==`` (usable as a cache key);
  two treedefs are equal iff they have the same node types, the same auxiliary
  data (dict keys, static fields, ...) and equal children.
* ``is_leaf`` (where accepted) is called on every subtree before it is
  inspected; when it returns True the subtree is treated as a leaf, even if it
  is ``None`` or a container.
* Functions taking several trees (:func:`tree_map`, :func:`tree_map_with_path`)
  require all trees to have *exactly* the same structure and raise
  ``ValueError`` naming both structures otherwise. Prefix matching is provided
  separately by :func:`flatten_up_to` and :func:`broadcast_prefix`.
* Registered ``flatten_func(x) -> (children, aux_data)``; ``aux_data`` must be
  hashable and comparable with ``==`` since it becomes part of the treedef.
  ``unflatten_func(aux_data, children) -> x`` receives children as a tuple.

This module depends only on the Python standard library.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Any, Callable, Hashable, Iterable, Sequence, TypeVar

__all__ = [
    "PyTreeDef",
    "SequenceKey",
    "DictKey",
    "GetAttrKey",
    "FlattenedIndexKey",
    "KeyEntry",
    "KeyPath",
    "Partial",
    "all_leaves",
    "broadcast_prefix",
    "flatten_up_to",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_static",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
    "treedef_is_leaf",
]

PyTree = Any
_T = TypeVar("_T", bound=type)


# --------------------------------------------------------------------------
# Key path entries
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """Path entry for the ``idx``-th element of a tuple or list."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class DictKey:
    """Path entry for the value stored under ``key`` in a mapping."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """Path entry for attribute ``name`` (namedtuple and dataclass fields)."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class FlattenedIndexKey:
    """Path entry for the ``key``-th child of a custom node registered without keys."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


KeyEntry = Any
KeyPath = tuple


def keystr(keys: Sequence[KeyEntry], *, simple: bool = False, separator: str = "") -> str:
    """Render a key path as a string.

    Args:
      keys: a key path, e.g. from :func:`tree_flatten_with_path`.
      simple: if True render each entry as its bare index/key/name.
      separator: string placed between entries.
    Returns:
      The path as a string.
    Example:
      >>> keystr((DictKey('a'), SequenceKey(0), GetAttrKey('w')))
      "['a'][0].w"
    """
    fn = _simple_keystr if simple else str
    return separator.join(fn(k) for k in keys)


def _simple_keystr(k: KeyEntry) -> str:
    if isinstance(k, SequenceKey):
        return str(k.idx)
    if isinstance(k, (DictKey, FlattenedIndexKey)):
        return str(k.key)
    if isinstance(k, GetAttrKey):
        return k.name
    return str(k)


# --------------------------------------------------------------------------
# Node specs and registry
# --------------------------------------------------------------------------


class _NodeSpec:
    """How one node type is flattened, rebuilt, keyed and printed (internal)."""

    __slots__ = ("type", "flatten", "unflatten", "flatten_with_keys", "child_key", "fmt", "name")

    def __init__(self, type_, flatten, unflatten, flatten_with_keys, child_key, fmt, name):
        self.type = type_
        self.flatten = flatten  # x -> (children, aux)
        self.unflatten = unflatten  # (aux, list_of_children) -> x
        self.flatten_with_keys = flatten_with_keys  # x -> ([(key, child)], aux)
        self.child_key = child_key  # (aux, i) -> key entry (used in error messages)
        self.fmt = fmt  # (aux, [child strs]) -> str
        self.name = name

    def __repr__(self) -> str:
        return f"<node spec {self.name}>"


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError as e:
        raise TypeError(
            f"pytree dict keys must be mutually sortable, got keys {list(d)!r}"
        ) from e


def _seq_keys(x, aux):
    return [(SequenceKey(i), c) for i, c in enumerate(x)], aux


def _fmt_items(keys, strs) -> str:
    return "{" + ", ".join(f"{k!r}: {s}" for k, s in zip(keys, strs)) + "}"


def _fmt_tuple(aux, strs) -> str:
    if len(strs) == 1:
        return f"({strs[0]},)"
    return "(" + ", ".join(strs) + ")"


def _dict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], keys


def _dict_flatten_with_keys(x):
    keys = _sorted_keys(x)
    return [(DictKey(k), x[k]) for k in keys], keys


def _odict_flatten(x):
    keys = tuple(x)
    return [x[k] for k in keys], keys


def _odict_flatten_with_keys(x):
    keys = tuple(x)
    return [(DictKey(k), x[k]) for k in keys], keys


def _ddict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], (x.default_factory, keys)


def _ddict_flatten_with_keys(x):
    keys = _sorted_keys(x)
    return [(DictKey(k), x[k]) for k in keys], (x.default_factory, keys)


_NoneType = type(None)

_TUPLE_SPEC = _NodeSpec(
    tuple,
    lambda x: (x, None),
    lambda aux, ch: tuple(ch),
    lambda x: _seq_keys(x, None),
    lambda aux, i: SequenceKey(i),
    _fmt_tuple,
    "tuple",
)
_LIST_SPEC = _NodeSpec(
    list,
    lambda x: (x, None),
    lambda aux, ch: ch,  # ``ch`` is always a freshly built list
    lambda x: _seq_keys(x, None),
    lambda aux, i: SequenceKey(i),
    lambda aux, strs: "[" + ", ".join(strs) + "]",
    "list",
)
_DICT_SPEC = _NodeSpec(
    dict,
    _dict_flatten,
    lambda keys, ch: dict(zip(keys, ch)),
    _dict_flatten_with_keys,
    lambda keys, i: DictKey(keys[i]),
    _fmt_items,
    "dict",
)
_NONE_SPEC = _NodeSpec(
    _NoneType,
    lambda x: ((), None),
    lambda aux, ch: None,
    lambda x: ([], None),
    lambda aux, i: FlattenedIndexKey(i),
    lambda aux, strs: "None",
    "None",
)
_ODICT_SPEC = _NodeSpec(
    collections.OrderedDict,
    _odict_flatten,
    lambda keys, ch: collections.OrderedDict(zip(keys, ch)),
    _odict_flatten_with_keys,
    lambda keys, i: DictKey(keys[i]),
    lambda keys, strs: f"OrderedDict({_fmt_items(keys, strs)})",
    "OrderedDict",
)
_DDICT_SPEC = _NodeSpec(
    collections.defaultdict,
    _ddict_flatten,
    lambda aux, ch: collections.defaultdict(aux[0], zip(aux[1], ch)),
    _ddict_flatten_with_keys,
    lambda aux, i: DictKey(aux[1][i]),
    lambda aux, strs: f"defaultdict({aux[0]!r}, {_fmt_items(aux[1], strs)})",
    "defaultdict",
)

# Authoritative registry: exact type -> spec.
_registry: dict[type, _NodeSpec] = {
    s.type: s for s in (_TUPLE_SPEC, _LIST_SPEC, _DICT_SPEC, _NONE_SPEC, _ODICT_SPEC, _DDICT_SPEC)
}
# Lookup cache: registry entries + classified types (namedtuple spec, or None for leaf types).
_cache: dict[type, _NodeSpec | None] = dict(_registry)
_cache_get = _cache.get
_CACHE_LIMIT = 4096
_MISSING: Any = object()


def _namedtuple_spec(t: type) -> _NodeSpec:
    fields = tuple(t._fields)
    return _NodeSpec(
        t,
        lambda x: (x, None),
        lambda aux, ch: t(*ch),
        lambda x: ([(GetAttrKey(f), c) for f, c in zip(fields, x)], None),
        lambda aux, i: GetAttrKey(fields[i]),
        lambda aux, strs: f"{t.__name__}(" + ", ".join(f"{f}={s}" for f, s in zip(fields, strs)) + ")",
        t.__name__,
    )


def _classify(t: type) -> _NodeSpec | None:
    """Slow path of the type lookup: namedtuple detection, result cached."""
    spec = _registry.get(t)
    if spec is None and issubclass(t, tuple) and hasattr(t, "_fields"):
        spec = _namedtuple_spec(t)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
        _cache.update(_registry)
    _cache[t] = spec
    return spec


def _spec_of(x: Any) -> _NodeSpec | None:
    t = type(x)
    spec = _cache_get(t, _MISSING)
    if spec is _MISSING:
        spec = _classify(t)
    return spec


# --------------------------------------------------------------------------
# PyTreeDef
# --------------------------------------------------------------------------

_new = object.__new__
_osa = object.__setattr__


class PyTreeDef:
    """Immutable, hashable description of a pytree's structure (everything but the leaves)."""

    __slots__ = ("_spec", "_aux", "_children", "_num_leaves", "_num_nodes", "_hash")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("PyTreeDef cannot be constructed directly; use tree_structure/tree_flatten")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PyTreeDef is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PyTreeDef is immutable")

    @property
    def num_leaves(self) -> int:
        """Number of leaves in the described tree."""
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """Number of nodes (leaves and containers, including ``None``) in the described tree."""
        return self._num_nodes

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        """Build a pytree with this structure from ``leaves``.

        Args:
          leaves: iterable with exactly ``num_leaves`` elements.
        Returns:
          The rebuilt pytree.
        Example:
          >>> tree_structure((0, {'a': 0})).unflatten([1, 2])
          (1, {'a': 2})
        """
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self._num_leaves:
            raise ValueError(
                f"{'Too many' if len(leaves) > self._num_leaves else 'Too few'} leaves for {self!r}; "
                f"expected {self._num_leaves}, got {len(leaves)}"
            )
        if self._spec is None:
            return leaves[0]
        return _build(self, iter(leaves))

    def children(self) -> list[PyTreeDef]:
        """Treedefs of the immediate children (empty for leaves and ``None``).

        Returns:
          List of child treedefs.
        Example:
          >>> tree_structure((1, [2, 3])).children()
          [PyTreeDef(*), PyTreeDef([*, *])]
        """
        return list(self._children)

    def node_data(self) -> tuple[type, Any] | None:
        """Return ``(node_type, aux_data)`` of the root node, or None for a leaf.

        Returns:
          The root's node type and auxiliary data, or None.
        Example:
          >>> tree_structure({'b': 1, 'a': 2}).node_data()
          (<class 'dict'>, ('a', 'b'))
        """
        if self._spec is None:
            return None
        return (self._spec.type, self._aux)

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """Return the treedef obtained by replacing every leaf of ``self`` with ``inner``.

        Args:
          inner: treedef substituted at each leaf.
        Returns:
          The composed treedef.
        Example:
          >>> tree_structure((0, 0)).compose(tree_structure([0]))
          PyTreeDef(([*], [*]))
        """
        if self._spec is None:
            return inner
        return _make(self._spec, self._aux, [c.compose(inner) for c in self._children])

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        """Same as :func:`flatten_up_to` ``(self, tree)``."""
        return flatten_up_to(self, tree)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return (
            self._spec is other._spec
            and self._num_nodes == other._num_nodes
            and self._num_leaves == other._num_leaves
            and self._aux == other._aux
            and self._children == other._children
        )

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            spec = self._spec
            h = hash((None if spec is None else spec.type, self._aux, self._children))
            _osa(self, "_hash", h)
        return h

    def __copy__(self) -> PyTreeDef:
        return self

    def __deepcopy__(self, memo: Any) -> PyTreeDef:
        return self

    def _str(self) -> str:
        if self._spec is None:
            return "*"
        return self._spec.fmt(self._aux, [c._str() for c in self._children])

    def __repr__(self) -> str:
        return f"PyTreeDef({self._str()})"

    __str__ = __repr__


class _TreeDefBuilder:
    """Same slot layout as PyTreeDef but with plain attribute assignment (internal).

    Nodes are filled in as a builder and then relabelled as PyTreeDef via
    ``__class__`` assignment, which is much cheaper than ``object.__setattr__``
    per field and keeps PyTreeDef itself immutable.
    """

    __slots__ = ("_spec", "_aux", "_children", "_num_leaves", "_num_nodes", "_hash")


def _finish(td: Any, spec: _NodeSpec | None, aux: Any, children: tuple, nl: int, nn: int) -> PyTreeDef:
    td._spec = spec
    td._aux = aux
    td._children = children
    td._num_leaves = nl
    td._num_nodes = nn
    td._hash = None
    td.__class__ = PyTreeDef
    return td


def _make(spec: _NodeSpec | None, aux: Any, children: list) -> PyTreeDef:
    nl = 0
    nn = 1
    for c in children:
        nl += c._num_leaves
        nn += c._num_nodes
    return _finish(_new(_TreeDefBuilder), spec, aux, tuple(children), nl, nn)


_LEAF = _finish(_new(_TreeDefBuilder), None, None, (), 1, 1)


def _build(node: PyTreeDef, it) -> Any:
    spec = node._spec
    if spec is None:
        return next(it)
    return spec.unflatten(node._aux, [next(it) if c is _LEAF else _build(c, it) for c in node._children])


# --------------------------------------------------------------------------
# Flattening
# --------------------------------------------------------------------------


def _flatten(x: Any, leaves: list) -> PyTreeDef:
    t = type(x)
    spec = _cache_get(t, _MISSING)
    if spec is _MISSING:
        spec = _classify(t)
    if spec is None:
        leaves.append(x)
        return _LEAF
    children, aux = spec.flatten(x)
    defs = []
    nl = 0
    nn = 1
    for c in children:
        # inline the common "child is a leaf" case to save a recursive call
        if _cache_get(type(c), _MISSING) is None:
            leaves.append(c)
            defs.append(_LEAF)
            nl += 1
            nn += 1
        else:
            d = _flatten(c, leaves)
            defs.append(d)
            nl += d._num_leaves
            nn += d._num_nodes
    td = _new(_TreeDefBuilder)
    td._spec = spec
    td._aux = aux
    td._children = tuple(defs)
    td._num_leaves = nl
    td._num_nodes = nn
    td._hash = None
    td.__class__ = PyTreeDef
    return td


def _flatten_il(x: Any, leaves: list, is_leaf: Callable[[Any], bool]) -> PyTreeDef:
    if is_leaf(x):
        leaves.append(x)
        return _LEAF
    t = type(x)
    spec = _cache_get(t, _MISSING)
    if spec is _MISSING:
        spec = _classify(t)
    if spec is None:
        leaves.append(x)
        return _LEAF
    children, aux = spec.flatten(x)
    return _make(spec, aux, [_flatten_il(c, leaves, is_leaf) for c in children])


def _leaves(x: Any, out: list) -> None:
    t = type(x)
    spec = _cache_get(t, _MISSING)
    if spec is _MISSING:
        spec = _classify(t)
    if spec is None:
        out.append(x)
        return
    for c in spec.flatten(x)[0]:
        if _cache_get(type(c), _MISSING) is None:
            out.append(c)
        else:
            _leaves(c, out)


def _leaves_il(x: Any, out: list, is_leaf: Callable[[Any], bool]) -> None:
    if is_leaf(x):
        out.append(x)
        return
    spec = _spec_of(x)
    if spec is None:
        out.append(x)
        return
    for c in spec.flatten(x)[0]:
        _leaves_il(c, out, is_leaf)


def tree_flatten(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Flatten a pytree into its leaves (depth-first, left to right) and its structure.

    Args:
      tree: the pytree.
      is_leaf: optional predicate; subtrees for which it returns True are leaves.
    Returns:
      ``(leaves, treedef)``.
    Example:
      >>> tree_flatten((1, {'b': 2, 'a': None}))
      ([1, 2], PyTreeDef((*, {'a': None, 'b': *})))
    """
    leaves: list = []
    if is_leaf is None:
        treedef = _flatten(tree, leaves)
    else:
        treedef = _flatten_il(tree, leaves, is_leaf)
    return leaves, treedef


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> PyTree:
    """Rebuild a pytree from a treedef and its leaves.

    Args:
      treedef: the structure, e.g. from :func:`tree_flatten`.
      leaves: iterable of exactly ``treedef.num_leaves`` leaves.
    Returns:
      The pytree.
    Example:
      >>> tree_unflatten(tree_structure([0, (0, 0)]), [1, 2, 3])
      [1, (2, 3)]
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """Return the leaves of a pytree, in flattening order.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      List of leaves.
    Example:
      >>> tree_leaves([1, None, {'x': 2}])
      [1, 2]
    """
    out: list = []
    if is_leaf is None:
        _leaves(tree, out)
    else:
        _leaves_il(tree, out, is_leaf)
    return out


def tree_structure(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """Return the treedef of a pytree.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      The :class:`PyTreeDef`.
    Example:
      >>> tree_structure((1, [2]))
      PyTreeDef((*, [*]))
    """
    return tree_flatten(tree, is_leaf)[1]


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Return True if the treedef has a single node (a leaf, ``None`` or an empty container), as in JAX.

    Args:
      treedef: a treedef.
    Returns:
      ``treedef.num_nodes == 1``.
    Example:
      >>> treedef_is_leaf(tree_structure(1)), treedef_is_leaf(tree_structure((1,)))
      (True, False)
    """
    return treedef._num_nodes == 1


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Return True if every element of ``iterable`` is a leaf.

    Args:
      iterable: objects to test.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      Whether all elements are leaves (``None`` is a node, hence not a leaf).
    Example:
      >>> all_leaves([1, 2.0]), all_leaves([1, (2,)])
      (True, False)
    """
    if is_leaf is None:
        return all(_spec_of(x) is None for x in iterable)
    return all(is_leaf(x) or _spec_of(x) is None for x in iterable)


def _structure_mismatch(name: str, i: int, first: PyTreeDef, other: PyTreeDef) -> ValueError:
    msg = (
        f"{name}: all trees must have the same structure, but tree 0 has structure {first} "
        f"and tree {i} has structure {other}"
    )
    diff = _treedef_diff(first, other, ())
    if diff is not None:
        path, a, b = diff
        msg += f"; first difference at {keystr(path) or '<root>'}: {a} vs {b}"
    return ValueError(msg)


def _check_rest(name, treedef, rest, is_leaf) -> list[list]:
    out = []
    for i, r in enumerate(rest, 1):
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise _structure_mismatch(name, i, treedef, r_def)
        out.append(r_leaves)
    return out


def tree_map(
    f: Callable[..., Any],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[[Any], bool] | None = None,
) -> PyTree:
    """Apply ``f`` leafwise to one or more pytrees of identical structure.

    Args:
      f: function of ``1 + len(rest)`` leaves.
      tree: the first pytree; its structure is the output structure.
      *rest: further pytrees with exactly the same structure as ``tree``.
      is_leaf: optional predicate marking extra leaves (applied to every tree).
    Returns:
      A pytree with ``f(leaf, *rest_leaves)`` at each leaf.
    Raises:
      ValueError: if any tree in ``rest`` has a different structure.
    Example:
      >>> tree_map(lambda a, b: a + b, {'x': 1, 'y': (2,)}, {'x': 10, 'y': (20,)})
      {'x': 11, 'y': (22,)}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = _check_rest("tree_map", treedef, rest, is_leaf)
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_reduce(
    f: Callable[[Any, Any], Any],
    tree: PyTree,
    initializer: Any = _MISSING,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Reduce the leaves of a pytree with a binary function (``functools.reduce``).

    Args:
      f: binary function ``f(acc, leaf)``.
      tree: the pytree.
      initializer: optional initial accumulator.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      The reduced value.
    Example:
      >>> tree_reduce(lambda a, b: a + b, [1, (2, 3)], 10)
      16
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _MISSING:
        return functools.reduce(f, leaves)
    return functools.reduce(f, leaves, initializer)


def tree_all(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Return True if all leaves are truthy.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      ``all(tree_leaves(tree))``.
    Example:
      >>> tree_all([True, {'a': 1}]), tree_all([True, 0])
      (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: PyTree
) -> PyTree:
    """Turn an outer-of-inner pytree into an inner-of-outer pytree.

    Args:
      outer_treedef: structure of the outer level.
      inner_treedef: structure of the inner level (None: inferred from the first outer leaf).
      pytree_to_transpose: tree with structure ``outer_treedef.compose(inner_treedef)``.
    Returns:
      The transposed tree, with structure ``inner_treedef.compose(outer_treedef)``.
    Raises:
      TypeError: if the tree's structure is not the composition of the two treedefs.
    Example:
      >>> tree_transpose(tree_structure([0, 0]), tree_structure((0, 0)), [(1, 2), (3, 4)])
      ([1, 3], [2, 4])
    """
    flat, treedef = tree_flatten(pytree_to_transpose)
    if inner_treedef is None:
        subtrees = flatten_up_to(outer_treedef, pytree_to_transpose)
        if not subtrees:
            raise ValueError("tree_transpose: cannot infer inner_treedef when outer_treedef has no leaves")
        inner_treedef = tree_structure(subtrees[0])
    expected = outer_treedef.compose(inner_treedef)
    if treedef != expected:
        raise TypeError(f"tree_transpose: tree structure mismatch:\n{treedef}\n!=\n{expected}")
    n_in = inner_treedef._num_leaves
    n_out = outer_treedef._num_leaves
    transposed = [
        outer_treedef.unflatten([flat[i * n_in + j] for i in range(n_out)]) for j in range(n_in)
    ]
    return inner_treedef.unflatten(transposed)


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------


def _flatten_with_path(x, path, out, is_leaf) -> PyTreeDef:
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return _LEAF
    spec = _spec_of(x)
    if spec is None:
        out.append((path, x))
        return _LEAF
    keyed, aux = spec.flatten_with_keys(x)
    return _make(spec, aux, [_flatten_with_path(c, path + (k,), out, is_leaf) for k, c in keyed])


def tree_flatten_with_path(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """Flatten a pytree, pairing each leaf with its key path.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      ``([(path, leaf), ...], treedef)``; each path is a tuple of key entries.
    Example:
      >>> tree_flatten_with_path({'a': [5]})[0]
      [((DictKey(key='a'), SequenceKey(idx=0)), 5)]
    """
    out: list = []
    treedef = _flatten_with_path(tree, (), out, is_leaf)
    return out, treedef


def tree_leaves_with_path(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> list[tuple[KeyPath, Any]]:
    """Return ``(path, leaf)`` pairs of a pytree.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      List of ``(path, leaf)``.
    Example:
      >>> [keystr(p) for p, _ in tree_leaves_with_path((1, {'k': 2}))]
      ['[0]', "[1]['k']"]
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(
    f: Callable[..., Any],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[[Any], bool] | None = None,
) -> PyTree:
    """Like :func:`tree_map` but ``f`` also receives each leaf's key path first.

    Args:
      f: function ``f(path, leaf, *rest_leaves)``.
      tree: the first pytree.
      *rest: further pytrees with exactly the same structure.
      is_leaf: optional predicate marking extra leaves.
    Returns:
      The mapped pytree.
    Example:
      >>> tree_map_with_path(lambda p, x: keystr(p), {'a': 1})
      {'a': "['a']"}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = _check_rest("tree_map_with_path", treedef, rest, is_leaf)
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


# --------------------------------------------------------------------------
# Prefix matching
# --------------------------------------------------------------------------


def _node_desc(spec: _NodeSpec | None, aux: Any, n_children: int, x: Any = _MISSING) -> str:
    if spec is None:
        return "a leaf" if x is _MISSING else f"a leaf of type {type(x).__name__}"
    if spec is _NONE_SPEC:
        return "None"
    if spec in (_DICT_SPEC, _ODICT_SPEC):
        return f"{spec.name} with keys {list(aux)!r}"
    if spec is _DDICT_SPEC:
        return f"defaultdict with keys {list(aux[1])!r}"
    if spec in (_TUPLE_SPEC, _LIST_SPEC) or spec.type not in _registry:
        return f"{spec.name} of length {n_children}"
    return f"{spec.name} node with aux data {aux!r} and {n_children} children"


def _td_desc(td: PyTreeDef) -> str:
    return _node_desc(td._spec, td._aux, len(td._children))


def _treedef_diff(a: PyTreeDef, b: PyTreeDef, path: tuple):
    """First place where two treedefs differ: ``(path, desc_a, desc_b)`` or None."""
    if a._spec is not b._spec or a._aux != b._aux or len(a._children) != len(b._children):
        return path, _td_desc(a), _td_desc(b)
    for i, (ca, cb) in enumerate(zip(a._children, b._children)):
        if ca != cb:
            return _treedef_diff(ca, cb, path + (a._spec.child_key(a._aux, i),))
    return None


class _PrefixMismatch(Exception):
    def __init__(self, expected: str, got: str):
        super().__init__(expected, got)
        self.expected = expected
        self.got = got
        self.path: list = []


def _up_to(node: PyTreeDef, x: Any, out: list) -> None:
    spec = node._spec
    if spec is None:
        out.append(x)
        return
    xspec = _spec_of(x)
    if xspec is spec:
        children, aux = spec.flatten(x)
        children = list(children)
        if aux != node._aux or len(children) != len(node._children):
            raise _PrefixMismatch(_td_desc(node), _node_desc(xspec, aux, len(children), x))
    elif spec is _DICT_SPEC and isinstance(x, dict):
        # a plain-dict prefix also matches OrderedDict / defaultdict with the same keys
        if set(x) != set(node._aux):
            raise _PrefixMismatch(_td_desc(node), f"{type(x).__name__} with keys {list(x)!r}")
        children = [x[k] for k in node._aux]
    else:
        if xspec is None:
            got = _node_desc(None, None, 0, x)
        else:
            c, aux = xspec.flatten(x)
            got = _node_desc(xspec, aux, len(list(c)), x)
        raise _PrefixMismatch(_td_desc(node), got)
    for i, (cn, cx) in enumerate(zip(node._children, children)):
        try:
            _up_to(cn, cx, out)
        except _PrefixMismatch as e:
            e.path.append(spec.child_key(node._aux, i))
            raise


def flatten_up_to(treedef: PyTreeDef, tree: PyTree) -> list[PyTree]:
    """Return the subtrees of ``tree`` found at the leaf positions of the prefix ``treedef``.

    Args:
      treedef: a structure that must be a prefix of ``tree``'s structure.
      tree: the full pytree.
    Returns:
      List of ``treedef.num_leaves`` subtrees, in leaf order.
    Raises:
      ValueError: if ``tree`` does not have ``treedef`` as a prefix; the message
        shows both structures and the path of the first mismatch.
    Example:
      >>> flatten_up_to(tree_structure((0, 0)), ({'w': 1}, [2, 3]))
      [{'w': 1}, [2, 3]]
    """
    out: list = []
    try:
        _up_to(treedef, tree, out)
    except _PrefixMismatch as e:
        where = keystr(tuple(reversed(e.path))) or "<root>"
        try:
            full = repr(tree_structure(tree))
        except Exception:  # e.g. unsortable dict keys
            full = f"<unavailable for {type(tree).__name__}>"
        raise ValueError(
            f"tree does not match the prefix structure at {where}: expected {e.expected}, "
            f"got {e.got}.\n  prefix structure: {treedef}\n  full tree structure: {full}"
        ) from None
    return out


def broadcast_prefix(
    prefix_tree: PyTree, full_tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> list[Any]:
    """For each leaf of ``full_tree``, return the leaf of ``prefix_tree`` whose subtree covers it.

    ``is_leaf`` applies to ``prefix_tree`` only. With ``is_leaf=lambda x: x is None``
    a ``None`` in the prefix is a leaf covering a whole subtree, which gives
    JAX's ``vmap(in_axes=...)`` semantics (``None`` = "not mapped"); without it,
    ``None`` is a node and only matches ``None`` in ``full_tree``.

    Args:
      prefix_tree: pytree whose structure is a prefix of ``full_tree``'s.
      full_tree: the full pytree.
      is_leaf: optional predicate marking extra leaves of ``prefix_tree``.
    Returns:
      List with one entry per leaf of ``full_tree``.
    Raises:
      ValueError: if ``prefix_tree`` is not a prefix of ``full_tree``.
    Example:
      >>> broadcast_prefix((None, 0), ({'w': 1, 'b': 2}, 3), is_leaf=lambda x: x is None)
      [None, None, 0]
    """
    prefix_leaves, prefix_def = tree_flatten(prefix_tree, is_leaf)
    subtrees = flatten_up_to(prefix_def, full_tree)
    result: list = []
    for p, sub in zip(prefix_leaves, subtrees):
        n = 1 if _spec_of(sub) is None else _flatten(sub, [])._num_leaves
        result.extend([p] * n)
    return result


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------


def _custom_fmt(name: str):
    return lambda aux, strs: f"CustomNode({name}[{aux!r}], [{', '.join(strs)}])"


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]],
    unflatten_func: Callable[[Hashable, tuple], Any],
    flatten_with_keys_func: Callable[[Any], tuple[Iterable[tuple[KeyEntry, Any]], Hashable]]
    | None = None,
) -> None:
    """Register ``nodetype`` as a pytree node type.

    Args:
      nodetype: the class (matched exactly, not its subclasses).
      flatten_func: ``x -> (children, aux_data)``; ``aux_data`` must be hashable.
      unflatten_func: ``(aux_data, children_tuple) -> x``.
      flatten_with_keys_func: optional ``x -> ([(key, child), ...], aux_data)`` for
        key paths; default keys are :class:`FlattenedIndexKey`.
    Returns:
      None.
    Raises:
      ValueError: if ``nodetype`` is already registered.
    Example:
      >>> class Box:
      ...     def __init__(self, v): self.v = v
      >>> register_pytree_node(Box, lambda b: ((b.v,), None), lambda aux, ch: Box(*ch))
    """
    if not isinstance(nodetype, type):
        raise TypeError(f"register_pytree_node expects a type, got {nodetype!r}")
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype!r}")

    def unflatten(aux, ch):
        return unflatten_func(aux, tuple(ch))

    if flatten_with_keys_func is None:

        def fwk(x):
            children, aux = flatten_func(x)
            return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux

        child_key = lambda aux, i: FlattenedIndexKey(i)  # noqa: E731
    else:
        fwk = flatten_with_keys_func
        child_key = lambda aux, i: FlattenedIndexKey(i)  # noqa: E731

    name = nodetype.__name__
    spec = _NodeSpec(nodetype, flatten_func, unflatten, fwk, child_key, _custom_fmt(name), name)
    _registry[nodetype] = spec
    _cache[nodetype] = spec


def register_pytree_node_class(cls: _T) -> _T:
    """Class decorator registering ``cls`` via its ``tree_flatten`` method and ``tree_unflatten`` classmethod.

    Args:
      cls: class defining ``tree_flatten(self) -> (children, aux)`` and
        classmethod ``tree_unflatten(cls, aux, children)``.
    Returns:
      ``cls`` unchanged.
    Example:
      >>> @register_pytree_node_class
      ... class Pair:
      ...     def __init__(self, a, b): self.a, self.b = a, b
      ...     def tree_flatten(self): return (self.a, self.b), None
      ...     @classmethod
      ...     def tree_unflatten(cls, aux, ch): return cls(*ch)
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(
    nodetype: _T | None = None,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> Any:
    """Register a dataclass-like type whose data fields are children and meta fields are static aux data.

    When both field lists are None, ``nodetype`` must be a dataclass: its
    ``init=True`` fields with ``metadata=dict(static=True)`` are meta fields and
    the rest are data fields. If only one list is given, the other is inferred
    from the dataclass's remaining ``init`` fields. Meta field values become part
    of the treedef (must be hashable). Instances are rebuilt with
    ``nodetype(**fields)``. Usable as ``@register_dataclass`` or
    ``register_dataclass(data_fields=..., meta_fields=...)(cls)``.

    Args:
      nodetype: the class (None: return a decorator).
      data_fields: names of child (pytree) fields.
      meta_fields: names of static fields.
    Returns:
      ``nodetype`` (or a decorator when ``nodetype`` is None).
    Example:
      >>> @register_dataclass
      ... @dataclasses.dataclass
      ... class Linear:
      ...     w: Any
      ...     act: str = dataclasses.field(default='relu', metadata=dict(static=True))
    """
    if nodetype is None:
        return lambda cls: register_dataclass(cls, data_fields, meta_fields)
    if isinstance(data_fields, str) or isinstance(meta_fields, str):
        raise TypeError("register_dataclass: data_fields/meta_fields must be sequences of names")
    is_dc = dataclasses.is_dataclass(nodetype)
    if data_fields is None or meta_fields is None:
        if not is_dc:
            raise TypeError(
                f"register_dataclass: {nodetype!r} is not a dataclass, so both data_fields "
                "and meta_fields must be given"
            )
        init_fields = [f for f in dataclasses.fields(nodetype) if f.init]
        if data_fields is None and meta_fields is None:
            meta = [f.name for f in init_fields if f.metadata.get("static", False)]
            data = [f.name for f in init_fields if not f.metadata.get("static", False)]
        elif data_fields is None:
            meta = list(meta_fields)  # type: ignore[arg-type]
            data = [f.name for f in init_fields if f.name not in meta]
        else:
            data = list(data_fields)
            meta = [f.name for f in init_fields if f.name not in data]
    else:
        data, meta = list(data_fields), list(meta_fields)
    overlap = set(data) & set(meta)
    if overlap or len(set(data)) != len(data) or len(set(meta)) != len(meta):
        raise ValueError(
            f"register_dataclass: duplicate or overlapping fields: data={data}, meta={meta}"
        )
    if is_dc:
        init_names = {f.name for f in dataclasses.fields(nodetype) if f.init}
        if set(data) | set(meta) != init_names:
            raise ValueError(
                f"register_dataclass: data_fields {data} and meta_fields {meta} must cover exactly "
                f"the init fields of {nodetype.__name__}: {sorted(init_names)}"
            )
    data_t, meta_t = tuple(data), tuple(meta)

    def flatten(x):
        return [getattr(x, n) for n in data_t], tuple(getattr(x, n) for n in meta_t)

    def flatten_with_keys(x):
        return (
            [(GetAttrKey(n), getattr(x, n)) for n in data_t],
            tuple(getattr(x, n) for n in meta_t),
        )

    def unflatten(aux, ch):
        kwargs = dict(zip(meta_t, aux))
        kwargs.update(zip(data_t, ch))
        return nodetype(**kwargs)

    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype!r}")
    name = nodetype.__name__
    spec = _NodeSpec(
        nodetype,
        flatten,
        unflatten,
        flatten_with_keys,
        lambda aux, i: GetAttrKey(data_t[i]),
        _custom_fmt(name),
        name,
    )
    _registry[nodetype] = spec
    _cache[nodetype] = spec
    return nodetype


def register_static(cls: _T) -> _T:
    """Register ``cls`` as a node with no children: instances are stored in the treedef itself.

    Instances must be hashable and comparable with ``==``.

    Args:
      cls: the class.
    Returns:
      ``cls`` unchanged.
    Example:
      >>> @register_static
      ... class Tag(str): pass
      >>> tree_leaves([Tag('x'), 1])
      [1]
    """
    register_pytree_node(cls, lambda x: ((), x), lambda aux, ch: aux)
    return cls


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: the function is part of the structure, the
    bound positional and keyword arguments are its children, so a Partial can be passed to
    and returned from transformed functions (as JAX's ``jax.tree_util.Partial``).

    Example:
      >>> import operator
      >>> add = Partial(operator.add, 1.0)
      >>> tree_leaves(add), add(2.0)
      ([1.0], 3.0)
    """

    def __new__(cls, func, *args, **kw):
        # Partial(Partial(f, a), b) keeps one level (functools.partial flattens plain
        # partials itself; a Partial's func must stay the user's function, not a Partial)
        if isinstance(func, Partial):
            args = func.args + args
            kw = {**func.keywords, **kw}
            func = func.func
        return super().__new__(cls, func, *args, **kw)


def _partial_flatten(p):
    keys = tuple(sorted(p.keywords))
    return (p.args, tuple(p.keywords[k] for k in keys)), (p.func, keys)


def _partial_unflatten(aux, children):
    func, keys = aux
    args, kwvals = children
    return Partial(func, *args, **dict(zip(keys, kwvals)))


register_pytree_node(Partial, _partial_flatten, _partial_unflatten)
