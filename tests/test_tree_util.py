"""Tests for chainrule.tree_util (pytrees with JAX semantics)."""

import collections
import copy
import dataclasses
from typing import Any, NamedTuple

import pytest

from chainrule import tree_util as tu
from chainrule.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    all_leaves,
    broadcast_prefix,
    flatten_up_to,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    register_static,
    tree_all,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_reduce,
    tree_structure,
    tree_transpose,
    tree_unflatten,
    treedef_is_leaf,
)


class Leafy:
    """An unregistered class: must be treated as a leaf."""

    def __init__(self, v):
        self.v = v


Point = collections.namedtuple("Point", ["x", "y"])


class TPoint(NamedTuple):
    a: Any
    b: Any


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "tree",
    [
        1,
        (),
        [],
        {},
        None,
        (1, 2.0, "s"),
        [1, [2, [3, (4,)]]],
        {"b": 1, "a": (2, 3), "c": {"z": [4], "y": None}},
        (None, [None, 1], {"k": None}),
        Point(1, (2, 3)),
        TPoint(a=[1], b={"q": 2}),
        collections.OrderedDict([("z", 1), ("a", 2)]),
        collections.defaultdict(list, {"b": 1, "a": [2]}),
        (Leafy(1), [Leafy(2)]),
    ],
)
def test_round_trip(tree):
    leaves, treedef = tree_flatten(tree)
    rebuilt = tree_unflatten(treedef, leaves)
    assert type(rebuilt) is type(tree)
    assert tree_structure(rebuilt) == treedef
    assert tree_leaves(rebuilt) == leaves
    assert treedef.num_leaves == len(leaves)
    if not any(isinstance(x, Leafy) for x in leaves):
        assert rebuilt == tree


def test_flatten_order_and_counts():
    tree = (1, [2, (3, 4)], {"b": 6, "a": 5})
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4, 5, 6]
    # nodes: outer tuple, 1, list, 2, inner tuple, 3, 4, dict, 5, 6
    assert treedef.num_nodes == 10
    assert treedef.num_leaves == 6
    assert tree_leaves(tree) == leaves


def test_unregistered_objects_and_subclasses_are_leaves():
    class MyDict(dict):
        pass

    class MyList(list):
        pass

    md, ml, obj = MyDict(a=1), MyList([1, 2]), Leafy(3)
    leaves, treedef = tree_flatten([md, ml, obj, "str", b"bytes", 3.5])
    assert leaves[0] is md and leaves[1] is ml and leaves[2] is obj
    assert len(leaves) == 6
    assert treedef == tree_structure([0] * 6)


def test_unflatten_leaf_count_errors():
    treedef = tree_structure((1, 2))
    with pytest.raises(ValueError, match="Too few leaves"):
        treedef.unflatten([1])
    with pytest.raises(ValueError, match="Too many leaves"):
        treedef.unflatten([1, 2, 3])
    # any iterable works
    assert treedef.unflatten(iter([5, 6])) == (5, 6)
    assert tree_structure(7).unflatten(["x"]) == "x"


def test_unflatten_builds_fresh_containers():
    t = [1, [2]]
    leaves, treedef = tree_flatten(t)
    a = treedef.unflatten(leaves)
    b = treedef.unflatten(leaves)
    assert a == b and a is not b and a[1] is not b[1]


# ---------------------------------------------------------------- dicts


def test_dict_children_sorted_and_rebuilt_sorted():
    d = {"b": 1, "c": 2, "a": 3}
    leaves, treedef = tree_flatten(d)
    assert leaves == [3, 1, 2]
    rebuilt = treedef.unflatten(leaves)
    assert rebuilt == d
    assert list(rebuilt) == ["a", "b", "c"]  # JAX rebuilds with sorted key order
    # insertion order does not matter for structure
    assert tree_structure({"a": 0, "b": 0}) == tree_structure({"b": 0, "a": 0})
    assert tree_structure({"a": 0}) != tree_structure({"b": 0})


def test_dict_int_keys_sorted_numerically():
    assert tree_leaves({10: "ten", 2: "two", 1: "one"}) == ["one", "two", "ten"]


def test_dict_unsortable_keys_error():
    with pytest.raises(TypeError, match="sortable"):
        tree_flatten({1: 0, "a": 0})


def test_ordered_dict_keeps_insertion_order():
    od = collections.OrderedDict([("z", 1), ("a", 2)])
    leaves, treedef = tree_flatten(od)
    assert leaves == [1, 2]
    rebuilt = treedef.unflatten([10, 20])
    assert type(rebuilt) is collections.OrderedDict
    assert list(rebuilt.items()) == [("z", 10), ("a", 20)]
    # key order is part of the structure, and OrderedDict differs from dict
    assert treedef != tree_structure(collections.OrderedDict([("a", 2), ("z", 1)]))
    assert treedef != tree_structure({"z": 1, "a": 2})


def test_defaultdict_keeps_factory():
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    leaves, treedef = tree_flatten(dd)
    assert leaves == [2, 1]
    rebuilt = treedef.unflatten([3, 4])
    assert type(rebuilt) is collections.defaultdict
    assert rebuilt.default_factory is list
    assert dict(rebuilt) == {"a": 3, "b": 4}
    assert rebuilt["missing"] == []
    assert treedef != tree_structure(collections.defaultdict(set, {"b": 1, "a": 2}))
    assert treedef != tree_structure({"b": 1, "a": 2})


# ---------------------------------------------------------------- None


def test_none_is_a_node_with_no_children():
    assert tree_leaves(None) == []
    assert tree_leaves([None, 1, (None,)]) == [1]
    leaves, treedef = tree_flatten(None)
    assert leaves == [] and treedef.num_leaves == 0 and treedef.num_nodes == 1
    assert treedef.unflatten([]) is None
    assert tree_map(lambda x: x * 2, {"a": None, "b": 3}) == {"a": None, "b": 6}
    # None differs from a leaf and from an empty tuple
    assert tree_structure(None) != tree_structure(1)
    assert tree_structure(None) != tree_structure(())
    assert repr(tree_structure([None, 1])) == "PyTreeDef([None, *])"


def test_is_leaf_can_make_none_a_leaf():
    leaves, treedef = tree_flatten([None, 1], is_leaf=lambda x: x is None)
    assert leaves == [None, 1]
    assert treedef == tree_structure([0, 0])
    assert tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]


# ---------------------------------------------------------------- namedtuple


def test_namedtuple_keeps_type_and_differs_from_tuple():
    p = Point(1, (2, 3))
    leaves, treedef = tree_flatten(p)
    assert leaves == [1, 2, 3]
    rebuilt = treedef.unflatten([4, 5, 6])
    assert type(rebuilt) is Point and rebuilt == Point(4, (5, 6))
    assert treedef != tree_structure((1, (2, 3)))
    assert tree_structure(TPoint(1, 2)) != tree_structure(Point(1, 2))
    assert repr(tree_structure(Point(1, 2))) == "PyTreeDef(Point(x=*, y=*))"
    assert tree_map(lambda v: v + 1, TPoint(1, 2)) == TPoint(2, 3)


# ---------------------------------------------------------------- treedef


def test_treedef_repr():
    assert repr(tree_structure((1, {"a": 2, "b": None}))) == "PyTreeDef((*, {'a': *, 'b': None}))"
    assert repr(tree_structure(1)) == "PyTreeDef(*)"
    assert repr(tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tree_structure(())) == "PyTreeDef(())"
    assert repr(tree_structure([1, [2]])) == "PyTreeDef([*, [*]])"


def test_treedef_equality_and_hash():
    a = tree_structure((1, [2, 3], {"k": 4}))
    b = tree_structure(("x", ["y", "z"], {"k": None.__class__}))
    c = tree_structure((1, (2, 3), {"k": 4}))  # list vs tuple
    d = tree_structure((1, [2, 3, 4], {"k": 4}))
    assert a == b and hash(a) == hash(b)
    assert a != c and a != d
    assert not (a == c)
    cache = {a: "hit"}
    assert cache[b] == "hit"
    assert c not in cache and d not in cache
    assert len({a, b, c, d}) == 3
    assert a != (1, [2, 3], {"k": 4})  # not equal to non-treedefs
    assert tree_structure([1, 2]) != tree_structure([[1], 2])


def test_treedef_immutable_and_not_constructible():
    td = tree_structure((1, 2))
    with pytest.raises(AttributeError):
        td.num_leaves = 5
    with pytest.raises(AttributeError):
        td._children = ()
    with pytest.raises(TypeError):
        PyTreeDef()
    assert copy.copy(td) is td and copy.deepcopy(td) is td


def test_treedef_children_and_node_data():
    td = tree_structure((1, [2, 3], None))
    kids = td.children()
    assert kids == [tree_structure(0), tree_structure([0, 0]), tree_structure(None)]
    assert tree_structure(1).children() == []
    assert tree_structure(None).children() == []
    assert td.node_data() == (tuple, None)
    assert tree_structure({"b": 0, "a": 0}).node_data() == (dict, ("a", "b"))
    assert tree_structure(1).node_data() is None


def test_treedef_is_leaf():
    assert treedef_is_leaf(tree_structure(1))
    assert treedef_is_leaf(tree_structure(None))  # JAX: num_nodes == 1
    assert not treedef_is_leaf(tree_structure((1,)))
    assert not treedef_is_leaf(tree_structure([1, 2]))


def test_compose():
    outer = tree_structure([0, 0])
    inner = tree_structure((0, {"a": 0}))
    composed = outer.compose(inner)
    assert composed == tree_structure([(0, {"a": 0}), (0, {"a": 0})])
    assert composed.num_leaves == 4


# ---------------------------------------------------------------- custom nodes


class Box:
    def __init__(self, value, label):
        self.value = value
        self.label = label

    def __eq__(self, other):
        return isinstance(other, Box) and (self.value, self.label) == (other.value, other.label)


register_pytree_node(
    Box,
    lambda b: ((b.value,), b.label),
    lambda label, children: Box(children[0], label),
)


@register_pytree_node_class
class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def tree_flatten(self):
        return (self.a, self.b), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        assert isinstance(children, tuple)
        return cls(*children)


def test_register_pytree_node():
    tree = [Box((1, 2), "lbl"), 3]
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1, 2, 3]
    rebuilt = treedef.unflatten([4, 5, 6])
    assert rebuilt == [Box((4, 5), "lbl"), 6]
    # aux data is part of the structure
    assert tree_structure(Box(1, "x")) != tree_structure(Box(1, "y"))
    assert tree_structure(Box(1, "x")) == tree_structure(Box(9, "x"))
    assert hash(tree_structure(Box(1, "x"))) == hash(tree_structure(Box(9, "x")))
    assert repr(tree_structure(Box(1, "x"))) == "PyTreeDef(CustomNode(Box['x'], [*]))"


def test_register_duplicate_raises():
    with pytest.raises(ValueError, match="Duplicate"):
        register_pytree_node(Box, lambda b: ((), None), lambda a, c: None)
    with pytest.raises(ValueError):
        register_pytree_node(tuple, lambda b: ((), None), lambda a, c: None)
    with pytest.raises(ValueError):
        register_pytree_node_class(Pair)


def test_register_pytree_node_class():
    p = Pair(1, [2, 3])
    leaves, treedef = tree_flatten(p)
    assert leaves == [1, 2, 3]
    q = treedef.unflatten([7, 8, 9])
    assert isinstance(q, Pair) and q.a == 7 and q.b == [8, 9]
    assert tree_map(lambda x: -x, p).b == [-2, -3]


def test_registration_after_leaf_use_takes_effect():
    class Late:
        def __init__(self, x):
            self.x = x

    obj = Late(5)
    assert tree_leaves([obj]) == [obj]  # cached as a leaf type
    register_pytree_node(Late, lambda o: ((o.x,), None), lambda a, c: Late(*c))
    assert tree_leaves([obj]) == [5]


def test_register_static():
    @register_static
    @dataclasses.dataclass(frozen=True)
    class Config:
        name: str

    tree = {"cfg": Config("a"), "w": 1.0}
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1.0]
    assert treedef.unflatten([2.0]) == {"cfg": Config("a"), "w": 2.0}
    assert treedef != tree_structure({"cfg": Config("b"), "w": 1.0})
    assert treedef == tree_structure({"cfg": Config("a"), "w": 5.0})


# ---------------------------------------------------------------- dataclasses


@register_dataclass
@dataclasses.dataclass
class Linear:
    w: Any
    b: Any
    act: str = dataclasses.field(default="relu", metadata=dict(static=True))


@dataclasses.dataclass(frozen=True)
class Explicit:
    x: Any
    y: Any
    tag: str


register_dataclass(Explicit, data_fields=["x", "y"], meta_fields=["tag"])


def test_register_dataclass_inferred_fields():
    m = Linear(w=[1, 2], b=3, act="tanh")
    leaves, treedef = tree_flatten(m)
    assert leaves == [1, 2, 3]
    m2 = treedef.unflatten([4, 5, 6])
    assert m2 == Linear(w=[4, 5], b=6, act="tanh")
    # static field participates in equality/hash of the treedef
    same = tree_structure(Linear(w=[0, 0], b=0, act="tanh"))
    other = tree_structure(Linear(w=[0, 0], b=0, act="relu"))
    assert treedef == same and hash(treedef) == hash(same)
    assert treedef != other
    assert {treedef: 1}.get(other) is None
    assert tree_map(lambda v: v * 10, m) == Linear(w=[10, 20], b=30, act="tanh")


def test_register_dataclass_explicit_fields():
    e = Explicit(x=1, y=(2,), tag="t")
    leaves, treedef = tree_flatten(e)
    assert leaves == [1, 2]
    assert treedef.unflatten([3, 4]) == Explicit(3, (4,), "t")
    assert tree_structure(Explicit(0, (0,), "u")) != treedef
    paths = [keystr(p) for p, _ in tree_leaves_with_path(e)]
    assert paths == [".x", ".y[0]"]


def test_register_dataclass_decorator_factory_and_returns_class():
    @register_dataclass(data_fields=["a"], meta_fields=["n"])
    @dataclasses.dataclass
    class D:
        a: Any
        n: int

    assert isinstance(D, type)
    assert tree_leaves(D(a=[1, 2], n=3)) == [1, 2]
    assert tree_structure(D(1, 3)) != tree_structure(D(1, 4))


def test_register_dataclass_validation():
    @dataclasses.dataclass
    class Bad:
        a: Any
        b: Any

    with pytest.raises(ValueError):
        register_dataclass(Bad, data_fields=["a"], meta_fields=["a", "b"])
    with pytest.raises(ValueError):
        register_dataclass(Bad, data_fields=["a"], meta_fields=[])  # missing "b"

    class NotDC:
        pass

    with pytest.raises(TypeError):
        register_dataclass(NotDC)
    with pytest.raises(ValueError, match="Duplicate"):
        register_dataclass(Linear)


# ---------------------------------------------------------------- tree_map & co


def test_tree_map_single_and_multiple():
    t1 = {"a": (1, 2), "b": [3]}
    t2 = {"a": (10, 20), "b": [30]}
    t3 = {"a": (100, 200), "b": [300]}
    assert tree_map(lambda x: x + 1, t1) == {"a": (2, 3), "b": [4]}
    assert tree_map(lambda x, y, z: x + y + z, t1, t2, t3) == {"a": (111, 222), "b": [333]}


def test_tree_map_structure_mismatch_message():
    t1 = {"a": (1, 2), "b": [3]}
    bad = {"a": (1, 2, 3), "b": [3]}
    with pytest.raises(ValueError) as ei:
        tree_map(lambda x, y: x, t1, bad)
    msg = str(ei.value)
    assert repr(tree_structure(t1)) in msg
    assert repr(tree_structure(bad)) in msg
    assert "['a']" in msg  # where they differ
    # a prefix is *not* accepted by tree_map
    with pytest.raises(ValueError):
        tree_map(lambda x, y: x, (1, 2), (1, (2, 3)))
    with pytest.raises(ValueError):
        tree_map(lambda x, y: x, [1, 2], (1, 2))


def test_tree_map_is_leaf():
    tree = [(1, 2), (3, 4)]
    out = tree_map(lambda t: sum(t), tree, is_leaf=lambda x: isinstance(x, tuple))
    assert out == [3, 7]
    out = tree_map(lambda x: "none" if x is None else x, [None, 1], is_leaf=lambda x: x is None)
    assert out == ["none", 1]


def test_tree_reduce_and_all():
    assert tree_reduce(lambda a, b: a + b, [1, (2, {"x": 3})]) == 6
    assert tree_reduce(lambda a, b: a + b, [1, 2], 10) == 13
    assert tree_reduce(lambda a, b: a + b, [], 0) == 0
    with pytest.raises(TypeError):
        tree_reduce(lambda a, b: a + b, [])
    assert tree_all([True, {"a": 1}, None])
    assert not tree_all([True, (0,)])
    assert tree_all([])


def test_all_leaves():
    assert all_leaves([1, "a", Leafy(2)])
    assert not all_leaves([1, (2,)])
    assert not all_leaves([None])
    assert all_leaves([None, 1], is_leaf=lambda x: x is None)


def test_tree_transpose():
    outer = tree_structure([0, 0, 0])
    inner = tree_structure({"a": 0, "b": 0})
    tree = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    out = tree_transpose(outer, inner, tree)
    assert out == {"a": [1, 3, 5], "b": [2, 4, 6]}
    # inferred inner treedef
    assert tree_transpose(outer, None, tree) == out
    # round trip
    assert tree_transpose(inner, outer, out) == tree
    with pytest.raises(TypeError):
        tree_transpose(outer, tree_structure((0, 0)), tree)


# ---------------------------------------------------------------- paths


def test_flatten_with_path_and_keystr():
    tree = {"b": [10, Point(x=20, y=None)], "a": (30,)}
    pairs, treedef = tree_flatten_with_path(tree)
    assert treedef == tree_structure(tree)
    assert [leaf for _, leaf in pairs] == tree_leaves(tree) == [30, 10, 20]
    paths = [p for p, _ in pairs]
    assert paths[0] == (DictKey("a"), SequenceKey(0))
    assert paths[2] == (DictKey("b"), SequenceKey(1), GetAttrKey("x"))
    assert [keystr(p) for p in paths] == ["['a'][0]", "['b'][0]", "['b'][1].x"]
    assert keystr(paths[2], simple=True, separator="/") == "b/1/x"
    assert keystr(()) == ""


def test_paths_custom_node_and_is_leaf():
    pairs, _ = tree_flatten_with_path([Box((1, 2), "l")])
    assert [p for p, _ in pairs] == [
        (SequenceKey(0), FlattenedIndexKey(0), SequenceKey(0)),
        (SequenceKey(0), FlattenedIndexKey(0), SequenceKey(1)),
    ]
    assert keystr(pairs[1][0]) == "[0][<flat index 0>][1]"
    pairs, _ = tree_flatten_with_path({"x": (1, 2)}, is_leaf=lambda t: isinstance(t, tuple))
    assert pairs == [((DictKey("x"),), (1, 2))]


def test_tree_map_with_path():
    tree = {"w": [1, 2], "b": 3}
    out = tree_map_with_path(lambda p, x: (keystr(p), x), tree)
    assert out == {"b": ("['b']", 3), "w": [("['w'][0]", 1), ("['w'][1]", 2)]}
    out = tree_map_with_path(lambda p, x, y: x + y, tree, {"w": [10, 20], "b": 30})
    assert out == {"b": 33, "w": [11, 22]}
    with pytest.raises(ValueError):
        tree_map_with_path(lambda p, x, y: x, tree, {"w": [1], "b": 3})


def test_key_entries_are_hashable_values():
    assert SequenceKey(1) == SequenceKey(1) and hash(DictKey("a")) == hash(DictKey("a"))
    assert str(SequenceKey(3)) == "[3]"
    assert str(DictKey("k")) == "['k']"
    assert str(GetAttrKey("w")) == ".w"


# ---------------------------------------------------------------- prefixes


def test_flatten_up_to():
    params = {"w": 1, "b": (2, 3)}
    x = [4, 5]
    assert flatten_up_to(tree_structure((0, 0)), (params, x)) == [params, x]
    assert flatten_up_to(tree_structure((0, [0, 0])), (params, x)) == [params, 4, 5]
    assert flatten_up_to(tree_structure(0), (params, x)) == [(params, x)]
    assert flatten_up_to(tree_structure((None, 0)), (None, x)) == [x]
    full = (params, x)
    assert flatten_up_to(tree_structure(full), full) == tree_leaves(full)
    # method form
    assert tree_structure([0, 0]).flatten_up_to([(1,), 2]) == [(1,), 2]


def test_flatten_up_to_dict_prefix_matches_ordered_dict():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    assert flatten_up_to(tree_structure({"a": 0, "b": 0}), od) == [2, 1]


def test_flatten_up_to_errors():
    with pytest.raises(ValueError) as ei:
        flatten_up_to(tree_structure((0, [0, 0])), ({"w": 1}, [4, 5, 6]))
    msg = str(ei.value)
    assert "[1]" in msg  # path of the mismatch
    assert "PyTreeDef((*, [*, *]))" in msg  # prefix structure
    assert "PyTreeDef(({'w': *}, [*, *, *]))" in msg  # full structure
    assert "length 2" in msg and "length 3" in msg

    with pytest.raises(ValueError, match="tuple"):
        flatten_up_to(tree_structure((0, 0)), [1, 2])  # list vs tuple
    with pytest.raises(ValueError, match="keys"):
        flatten_up_to(tree_structure({"a": 0}), {"b": 1})
    with pytest.raises(ValueError, match="leaf"):
        flatten_up_to(tree_structure((0, 0)), 5)  # leaf where node expected
    with pytest.raises(ValueError, match=r"at \['x'\]: expected tuple of length 2, got list"):
        flatten_up_to(tree_structure({"x": (0, 0)}), {"x": [1, 2]})
    with pytest.raises(ValueError, match=r"at \['x'\]\[1\]\[0\]: expected a leaf|at \['x'\]\[1\]: expected"):
        flatten_up_to(tree_structure({"x": (0, [0])}), {"x": (1, (2,))})
    # None in a prefix treedef is a node and only matches None
    with pytest.raises(ValueError, match="None"):
        flatten_up_to(tree_structure((None, 0)), ({"w": 1}, 2))


def test_broadcast_prefix_in_axes_semantics():
    args = ({"w": 1, "b": 2}, [3, 4])
    none_leaf = lambda x: x is None  # noqa: E731
    assert broadcast_prefix((None, 0), args, is_leaf=none_leaf) == [None, None, 0, 0]
    assert broadcast_prefix(0, args) == [0, 0, 0, 0]
    assert broadcast_prefix(({"w": 1, "b": None}, [0, 2]), args, is_leaf=none_leaf) == [None, 1, 0, 2]
    assert broadcast_prefix(None, args, is_leaf=none_leaf) == [None] * 4
    # a prefix leaf over an empty subtree contributes nothing
    assert broadcast_prefix((0, 1), ((), [5])) == [1]
    # without is_leaf, None is a node: only matches None subtrees
    assert broadcast_prefix((None, 0), (None, [3, 4])) == [0, 0]


def test_broadcast_prefix_errors():
    with pytest.raises(ValueError):
        broadcast_prefix((0, 0, 0), (1, 2))
    with pytest.raises(ValueError):
        broadcast_prefix([0, 0], (1, 2))
    with pytest.raises(ValueError):
        broadcast_prefix((None, 0), ({"w": 1}, 2))  # None is a node without is_leaf
    with pytest.raises(ValueError):
        broadcast_prefix({"a": 0}, {"a": 1, "b": 2})


# ---------------------------------------------------------------- misc


def test_namespace_exports():
    for name in tu.__all__:
        assert hasattr(tu, name), name


def test_flatten_does_not_call_is_leaf_when_none_given_and_calls_it_on_root():
    seen = []

    def is_leaf(x):
        seen.append(x)
        return False

    tree = (1, [2])
    tree_flatten(tree, is_leaf=is_leaf)
    assert seen[0] is tree and len(seen) == 4
