"""Products of chainrule.numpy: dot, vdot, matmul, inner, outer, tensordot, kron, einsum,
einsum_path, matvec, vecmat, vecdot.

Contract: every product is one `dot_general` primitive (plus reshapes, transposes, index
takes and sums), so it is differentiable, batchable and stageable. Shapes, broadcasting, dtype
promotion and shape-mismatch errors follow NumPy 2. Python scalars are converted as by
`numpy.asarray` (NumPy's products do not treat them as weak). Broadcasting of size-1
dimensions never materialises a broadcast array: a size-1 axis that meets a larger one is
squeezed out, and the other operand carries that axis as a free dimension.

einsum is planned once per (subscripts, shapes, optimize): NumPy's `einsum_path` validates
the subscripts (so errors match `numpy.einsum(..., optimize=True)`) and chooses a pairwise
order; each pair is then contracted by a single `dot_general`, whose output order is tracked,
with one transpose at the end.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Tracer, bind
from .. import prims as P
from ..prims.structural import encode_index
from ._reductions import normalize_axis
from ._ufuncs import _arr, _no_out, astype, conjugate, multiply

__all__ = ["dot", "vdot", "matmul", "inner", "outer", "tensordot", "kron", "einsum",
           "einsum_path", "matvec", "vecmat", "vecdot"]


def _operand(x):
    """A tracer or a NumPy array (lists are stacked, scalars become 0-d arrays)."""
    if isinstance(x, Tracer):
        return x
    if type(x) in (list, tuple):
        x = _arr(x)
        if isinstance(x, Tracer):
            return x
    return np.asarray(x)


def _fmt(shape):
    """A shape written as NumPy writes it in error messages: (3,) and (2,3)."""
    return "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _conj(x):
    return conjugate(x) if x.dtype.kind == "c" else x


def _dot_general(x, y, lc, rc, lb=(), rb=()):
    return bind(P.dot_general_p, x, y, dims=((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb))))


# --- dot, vdot, inner, outer, tensordot, kron -----------------------------------------------------


def dot(a, b, out=None):
    """Dot product of two arrays, as numpy.dot.

    1-D with 1-D is the inner product, 2-D with 2-D the matrix product, a 0-d operand
    multiplies, N-D with 1-D sums over the last axis of `a`, and N-D with M-D sums over the
    last axis of `a` and the second-to-last of `b`.

    Args:
      a, b: arrays, scalars or tracers.

    Returns:
      The product, of dtype ``result_type(a, b)``.

    Example:
      >>> dot([[1., 2.], [3., 4.]], [1., 1.])
      array([3., 7.])
    """
    if out is not None:
        _no_out(out, "dot")
    if not isinstance(a, (np.ndarray, Tracer)):
        a = _operand(a)
    if not isinstance(b, (np.ndarray, Tracer)):
        b = _operand(b)
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        return multiply(a, b)
    jb = 0 if len(sb) == 1 else len(sb) - 2
    if sa[-1] != sb[jb]:
        raise ValueError(f"shapes {_fmt(sa)} and {_fmt(sb)} not aligned: {sa[-1]} "
                         f"(dim {len(sa) - 1}) != {sb[jb]} (dim {jb})")
    dims = _DOT_DIMS.get((len(sa), jb))
    if dims is None:
        dims = _DOT_DIMS[len(sa), jb] = (((len(sa) - 1,), (jb,)), ((), ()))
    return bind(P.dot_general_p, a, b, dims=dims)


_DOT_DIMS: dict = {}  # (a.ndim, contracted axis of b) -> dot_general dims of `dot`


def vdot(a, b, /):
    """Dot product of the flattened arrays, conjugating the first, as numpy.vdot.

    Args:
      a, b: arrays with the same number of elements.

    Returns:
      A scalar: ``sum(conj(a).ravel() * b.ravel())``.

    Example:
      >>> vdot([[1., 2.], [3., 4.]], [[1., 0.], [0., 1.]])
      np.float64(5.0)
    """
    a, b = _operand(a), _operand(b)
    na, nb = a.size, b.size
    if na != nb:
        raise ValueError(f"cannot reshape array of size {nb} into shape ({na},)")
    a = _conj(a)
    if a.shape != (na,):
        a = bind(P.reshape_p, a, shape=(na,))
    if b.shape != (nb,):
        b = bind(P.reshape_p, b, shape=(nb,))
    return _dot_general(a, b, (0,), (0,))


def inner(a, b, /):
    """Inner product over the last axes, as numpy.inner (a 0-d operand multiplies).

    Args:
      a, b: arrays whose last axes have the same length.

    Returns:
      An array of shape ``a.shape[:-1] + b.shape[:-1]``.

    Example:
      >>> inner([1., 2.], [[1., 0.], [0., 1.], [1., 1.]])
      array([1., 2., 3.])
    """
    a, b = _operand(a), _operand(b)
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        sbt = sb[:-2] + (sb[-1], sb[-2]) if len(sb) >= 2 else sb
        jb = max(len(sb) - 2, 0)
        raise ValueError(f"shapes {_fmt(sa)} and {_fmt(sbt)} not aligned: {sa[-1]} "
                         f"(dim {len(sa) - 1}) != {sb[-1]} (dim {jb})")
    return _dot_general(a, b, (len(sa) - 1,), (len(sb) - 1,))


def outer(a, b, out=None):
    """Outer product of the flattened arrays, as numpy.outer.

    Args:
      a, b: arrays (flattened first).

    Returns:
      An array of shape ``(a.size, b.size)``.

    Example:
      >>> outer([1., 2.], [1., 10., 100.]).shape
      (2, 3)
    """
    _no_out(out, "outer")
    a, b = _operand(a), _operand(b)
    a = bind(P.reshape_p, a, shape=(a.size if a.shape else 1,)) if a.ndim != 1 else a
    b = bind(P.reshape_p, b, shape=(b.size if b.shape else 1,)) if b.ndim != 1 else b
    return _dot_general(a, b, (), ())


def _tensordot_axes(axes, na, nb):
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        return list(range(na - n, na)) if n > 0 else [], list(range(n)) if n > 0 else []
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise TypeError("axes must be an integer or a pair of sequences of axes") from None
    axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
    axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError("shape-mismatch for sum")
    return ([normalize_axis(i, na) for i in axes_a], [normalize_axis(i, nb) for i in axes_b])


def tensordot(a, b, axes=2):
    """Sum products over the given axes, as numpy.tensordot.

    Args:
      a, b: arrays.
      axes: an int N (the last N axes of `a` with the first N of `b`) or a pair of
        sequences (axes of `a`, axes of `b`) of the same length.

    Returns:
      An array whose axes are the free axes of `a`, then the free axes of `b`.

    Example:
      >>> tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5)), axes=2).shape
      (2, 5)
    """
    a, b = _operand(a), _operand(b)
    sa, sb = a.shape, b.shape
    if isinstance(axes, (int, np.integer)) and axes > min(len(sa), len(sb)):
        raise ValueError("shape-mismatch for sum")
    lc, rc = _tensordot_axes(axes, len(sa), len(sb))
    if any(sa[i] != sb[j] for i, j in zip(lc, rc)):
        raise ValueError("shape-mismatch for sum")
    return _dot_general(a, b, lc, rc)


def kron(a, b):
    """Kronecker product, as numpy.kron (the operand with fewer axes gets leading 1s).

    Args:
      a, b: arrays.

    Returns:
      An array of shape ``a.shape * b.shape`` (elementwise, after padding).

    Example:
      >>> kron(np.eye(2), np.ones((2, 2))).shape
      (4, 4)
    """
    a, b = _operand(a), _operand(b)
    if not a.shape or not b.shape:
        return multiply(a, b)
    n = max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + a.shape
    sb = (1,) * (n - b.ndim) + b.shape
    a = bind(P.reshape_p, a, shape=tuple(d for s in sa for d in (s, 1)))
    b = bind(P.reshape_p, b, shape=tuple(d for s in sb for d in (1, s)))
    return bind(P.reshape_p, multiply(a, b), shape=tuple(x * y for x, y in zip(sa, sb)))


# --- generic labelled contraction -----------------------------------------------------------------
#
# Operands carry lists of labels (letters, or ints for broadcast dimensions). A plan is a flat
# list of steps over a list of values:
#   ("reshape", i, shape) ("transpose", i, perm) ("take", i, enc, arrays) ("sum", i, axes)
#   ("dot", i, j, dims): contract values i < j, remove both, append the result
#   ("last", i): move value i to the end


def _label_sizes(labels, shapes):
    """The size of each label: its size other than 1 if it has one (size-1 axes broadcast)."""
    sizes = {}
    for ls, sh in zip(labels, shapes):
        for lab, d in zip(ls, sh):
            if d != 1:
                sizes[lab] = d
            else:
                sizes.setdefault(lab, 1)
    return sizes


@functools.lru_cache(maxsize=512)
def _plan(in_labels, shapes, out_labels, path):
    """The steps contracting operands labelled `in_labels` to `out_labels` along `path`."""
    steps = []
    sizes = _label_sizes(in_labels, shapes)
    ops = []
    for i, (ls, sh) in enumerate(zip(in_labels, shapes)):
        # broadcasting: a size-1 axis whose label is larger elsewhere is squeezed out
        keep = [p for p, lab in enumerate(ls) if not (sh[p] == 1 and sizes[lab] != 1)]
        if len(keep) != len(ls):
            steps.append(("reshape", i, tuple(sh[p] for p in keep)))
        ops.append([ls[p] for p in keep])
    out_set = set(out_labels)
    for i, ls in enumerate(ops):
        ops[i] = _take_diagonals(steps, i, ls, sizes)
        others = set(out_set)
        for j, lj in enumerate(ops):
            if j != i:
                others.update(lj)
        ops[i] = _sum_unneeded(steps, i, ops[i], others)
    for inds in path:
        group = sorted(inds)
        if len(group) == 1:
            steps.append(("last", group[0]))
            ops.append(ops.pop(group[0]))
            continue
        # fold a group left to right; each pair's result goes to the end of the list
        _contract_pair(steps, ops, group[0], group[1], out_set)
        rest = [k - (k > group[0]) - (k > group[1]) for k in group[2:]]
        while rest:
            k = rest.pop(0)
            _contract_pair(steps, ops, k, len(ops) - 1, out_set)
            rest = [r - (r > k) for r in rest]
    while len(ops) > 1:
        _contract_pair(steps, ops, 0, 1, out_set)
    ls = _sum_unneeded(steps, 0, ops[0], out_set)
    perm = tuple(ls.index(lab) for lab in out_labels)
    if perm != tuple(range(len(ls))):
        steps.append(("transpose", 0, perm))
    return tuple(steps)


def _take_diagonals(steps, i, ls, sizes):
    """Steps taking the diagonal of every label repeated within operand i; its new labels."""
    counts = {}
    for lab in ls:
        counts[lab] = counts.get(lab, 0) + 1
    reps = [lab for lab in counts if counts[lab] > 1]
    if not reps:
        return ls
    singles = [lab for lab in ls if counts[lab] == 1]
    perm = [ls.index(lab) for lab in singles]
    for lab in reps:
        perm += [p for p, x in enumerate(ls) if x == lab]
    if perm != list(range(len(ls))):
        steps.append(("transpose", i, tuple(perm)))
    index = [slice(None)] * len(singles)
    for r, lab in enumerate(reps):
        shape = [1] * len(reps)
        shape[r] = sizes[lab]
        ar = np.arange(shape[r], dtype=np.intp).reshape(shape)
        index += [ar] * counts[lab]
    enc, arrays = encode_index(tuple(index))
    steps.append(("take", i, enc, tuple(arrays)))
    return singles + reps


def _sum_unneeded(steps, i, ls, needed):
    axes = tuple(p for p, lab in enumerate(ls) if lab not in needed)
    if axes:
        steps.append(("sum", i, axes))
    return [lab for lab in ls if lab in needed]


def _contract_pair(steps, ops, i, j, out_set):
    """Steps contracting ops[i] with ops[j] (one dot_general); updates the label lists."""
    if i > j:
        i, j = j, i
    needed = set(out_set)
    for k, lk in enumerate(ops):
        if k != i and k != j:
            needed.update(lk)
    lx = _sum_unneeded(steps, i, ops[i], needed | set(ops[j]))
    ly = _sum_unneeded(steps, j, ops[j], needed | set(lx))
    shared = [lab for lab in lx if lab in ly]
    batch = [lab for lab in shared if lab in needed]
    contract = [lab for lab in shared if lab not in needed]
    dims = ((tuple(lx.index(lab) for lab in contract), tuple(ly.index(lab) for lab in contract)),
            (tuple(lx.index(lab) for lab in batch), tuple(ly.index(lab) for lab in batch)))
    steps.append(("dot", i, j, dims))
    out = batch + [lab for lab in lx if lab not in ly] + [lab for lab in ly if lab not in lx]
    del ops[j], ops[i]
    ops.append(out)


def _run(plan, vals):
    vals = list(vals)
    for step in plan:
        kind, i = step[0], step[1]
        if kind == "dot":
            j = step[2]
            r = bind(P.dot_general_p, vals[i], vals[j], dims=step[3])
            del vals[j], vals[i]
            vals.append(r)
        elif kind == "reshape":
            vals[i] = bind(P.reshape_p, vals[i], shape=step[2])
        elif kind == "transpose":
            vals[i] = bind(P.transpose_p, vals[i], perm=step[2])
        elif kind == "take":
            vals[i] = bind(P.getitem_p, vals[i], *step[3], idx=step[2])
        elif kind == "sum":
            vals[i] = bind(P.reduce_sum_p, vals[i], axes=step[2])
        else:
            vals.append(vals.pop(i))
    return vals[0]


def _contract(operands, in_labels, out_labels, path):
    """Contract labelled operands to `out_labels` (dtype: the operands' result type)."""
    in_labels = tuple(tuple(ls) for ls in in_labels)
    shapes = tuple(tuple(x.shape) for x in operands)
    plan = _plan(in_labels, shapes, tuple(out_labels), path)
    dtype = np.result_type(*(x.dtype for x in operands))
    # like NumPy, compute in the common dtype (sums of small ints widen; cast back at the end)
    r = _run(plan, [x if x.dtype == dtype else astype(x, dtype) for x in operands])
    return r if r.dtype == dtype else astype(r, dtype)


def _batch_labels(n):
    """Labels of n broadcast (batch) dimensions, aligned from the right."""
    return list(range(-n, 0))


def _broadcast_error(shapes, cores, out_core):
    parts = []
    for s, c in zip(shapes, cores):
        remapped = list(s[:len(s) - c]) + ["newaxis"] * len(out_core)
        parts.append(f"{_fmt(s)}->{_fmt(remapped)}")
    return ValueError(f"operands could not be broadcast together with remapped shapes "
                      f"[original->remapped]: {' '.join(parts)}  and requested shape "
                      f"{_fmt(out_core)}")


def _gufunc(name, sig, x1, x2, core1, core2, core_out):
    """A two-operand contraction with gufunc semantics: `core1`, `core2`, `core_out` label
    the trailing (core) axes; the leading axes broadcast."""
    ops = (x1, x2)
    for k, (x, core) in enumerate(zip(ops, (core1, core2))):
        if x.ndim < len(core):
            raise ValueError(f"{name}: Input operand {k} does not have enough dimensions (has "
                             f"{x.ndim}, gufunc core with signature {sig} requires "
                             f"{len(core)})")
    size = dict(zip(core1, x1.shape[x1.ndim - len(core1):]))
    for d, (lab, n) in enumerate(zip(core2, x2.shape[x2.ndim - len(core2):])):
        if lab in size and size[lab] != n:
            raise ValueError(f"{name}: Input operand 1 has a mismatch in its core dimension "
                             f"{d}, with gufunc signature {sig} (size {n} is different from "
                             f"{size[lab]})")
        size[lab] = n
    b1, b2 = x1.shape[:x1.ndim - len(core1)], x2.shape[:x2.ndim - len(core2)]
    try:
        bshape = np.broadcast_shapes(b1, b2)
    except ValueError:
        raise _broadcast_error((x1.shape, x2.shape), (len(core1), len(core2)),
                               tuple(size[lab] for lab in core_out)) from None
    nb = len(bshape)
    labels = (_batch_labels(len(b1)) + list(core1), _batch_labels(len(b2)) + list(core2))
    out = _batch_labels(nb) + list(core_out)
    return _contract(ops, labels, out, ((0, 1),))


# --- matmul and the NumPy 2 vector/matrix products ------------------------------------------------

_MATMUL_SIG = "(n?,k),(k,m?)->(n?,m?)"


def matmul(x1, x2, /, out=None):
    """Matrix product with broadcasting of stacked matrices, as numpy.matmul (``@``).

    A 1-D first operand is a row vector and a 1-D second operand a column vector (the added
    axis is removed from the result); leading (batch) axes broadcast.

    Args:
      x1, x2: arrays of at least one dimension.

    Returns:
      An array of shape ``broadcast(batch1, batch2) + (n, m)`` (n or m absent for 1-D
      operands).

    Example:
      >>> matmul(np.ones((5, 2, 3)), np.ones((3, 4))).shape
      (5, 2, 4)
    """
    _no_out(out, "matmul")
    a, b = _operand(x1), _operand(x2)
    na, nb = a.ndim, b.ndim
    for k, n in enumerate((na, nb)):
        if n == 0:
            raise ValueError(f"matmul: Input operand {k} does not have enough dimensions (has "
                             f"0, gufunc core with signature {_MATMUL_SIG} requires 1)")
    ka, kb = a.shape[-1], b.shape[-2 if nb >= 2 else 0]
    if ka != kb:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature {_MATMUL_SIG} (size {kb} is different from "
                         f"{ka})")
    if nb == 1:
        return _dot_general(a, b, (na - 1,), (0,))
    if na == 1:
        return _dot_general(a, b, (0,), (nb - 2,))
    if nb == 2:  # (..., n, k) @ (k, m): the batch axes of x1 are free axes of one contraction
        return _dot_general(a, b, (na - 1,), (0,))
    if a.shape[:-2] == b.shape[:-2]:
        batch = tuple(range(na - 2))
        return _dot_general(a, b, (na - 1,), (nb - 2,), batch, batch)
    return _gufunc("matmul", _MATMUL_SIG, a, b, "nk", "km", "nm")


def matvec(x1, x2, /, out=None):
    """Matrix-vector product over the last axes, broadcasting the rest, as numpy.matvec.

    Args:
      x1: matrices, shape ``(..., m, n)``.
      x2: vectors, shape ``(..., n)``.

    Returns:
      An array of shape ``(..., m)``.

    Example:
      >>> matvec(np.ones((4, 2, 3)), np.ones(3)).shape
      (4, 2)
    """
    _no_out(out, "matvec")
    return _gufunc("matvec", "(m,n),(n)->(m)", _operand(x1), _operand(x2), "mn", "n", "m")


def vecmat(x1, x2, /, out=None):
    """Vector-matrix product over the last axes, conjugating the vector, as numpy.vecmat.

    Args:
      x1: vectors, shape ``(..., n)`` (conjugated).
      x2: matrices, shape ``(..., n, m)``.

    Returns:
      An array of shape ``(..., m)``.

    Example:
      >>> vecmat(np.ones(3), np.ones((4, 3, 2))).shape
      (4, 2)
    """
    _no_out(out, "vecmat")
    return _gufunc("vecmat", "(n),(n,m)->(m)", _conj(_operand(x1)), _operand(x2), "n", "nm",
                   "m")


def vecdot(x1, x2, /, out=None, *, axis=-1):
    """Vector dot product along `axis`, conjugating `x1`, broadcasting the rest, as
    numpy.vecdot.

    Args:
      x1, x2: arrays whose `axis` axes have the same length.
      axis: the axis holding the vectors (in both operands).

    Returns:
      ``sum(conj(x1) * x2, axis=axis)`` with the other axes broadcast.

    Example:
      >>> vecdot(np.ones((4, 3)), np.ones(3))
      array([3., 3., 3., 3.])
    """
    _no_out(out, "vecdot")
    x1, x2 = _operand(x1), _operand(x2)
    sig = "(n),(n)->()"
    for k, x in enumerate((x1, x2)):
        if x.ndim == 0:
            raise ValueError(f"vecdot: Input operand {k} does not have enough dimensions (has "
                             f"0, gufunc core with signature {sig} requires 1)")
    moved = []
    for x in (x1, x2):
        ax = normalize_axis(axis, x.ndim)
        if ax != x.ndim - 1:
            perm = tuple(i for i in range(x.ndim) if i != ax) + (ax,)
            x = bind(P.transpose_p, x, perm=perm)
        moved.append(x)
    return _gufunc("vecdot", sig, _conj(moved[0]), moved[1], "n", "n", "")


# --- einsum --------------------------------------------------------------------------------------

_SYMBOLS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sublist_to_str(sub):
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        else:
            s = int(s)
            if not 0 <= s < len(_SYMBOLS):
                raise ValueError(f"subscript is not within the valid range [0, "
                                 f"{len(_SYMBOLS)})")
            out.append(_SYMBOLS[s])
    return "".join(out)


def _split_args(args):
    """(subscripts string, operands) from einsum's two calling conventions."""
    if not args:
        raise ValueError("No input operands")
    if isinstance(args[0], str):
        return args[0].replace(" ", ""), list(args[1:])
    operands, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(args) % 2 == 1:
        out = operands.pop()
        if len(subs) < len(operands):
            out, operands = None, operands + [out]
    if len(subs) != len(operands):
        raise ValueError("Number of einsum subscripts must be equal to the number of operands.")
    s = ",".join(_sublist_to_str(x) for x in subs)
    if out is not None:
        s += "->" + _sublist_to_str(out)
    return s, operands


def _term_labels(term, ndim, n_ell):
    """Labels of one subscript term: letters, and ints -k..-1 for its broadcast dims."""
    if "..." not in term:
        return list(term)
    head, tail = term.split("...")
    e = ndim - len(head) - len(tail)
    return list(head) + list(range(-e, 0)) + list(tail)


def _numpy_optimize(optimize):
    if optimize is True:
        return "greedy"
    if isinstance(optimize, tuple):
        return list(optimize)
    return optimize


@functools.lru_cache(maxsize=512)
def _einsum_spec(subscripts, shapes, optimize):
    """(input labels, output labels, pairwise path) for einsum; validates like NumPy."""
    dummies = [np.broadcast_to(np.zeros(()), s) for s in shapes]
    path = np.einsum_path(subscripts, *dummies, optimize=_numpy_optimize(optimize))[0][1:]
    ins, _, out = subscripts.partition("->")
    terms = ins.split(",")
    n_ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                 if "..." in t), default=0)
    labels = tuple(tuple(_term_labels(t, len(s), n_ell)) for t, s in zip(terms, shapes))
    if "->" in subscripts:
        out_labels = _term_labels(out, n_ell + len(out.replace("...", "")), n_ell)
    else:
        letters = ins.replace("...", "").replace(",", "")
        out_labels = (_batch_labels(n_ell)
                      + sorted(c for c in set(letters) if letters.count(c) == 1))
    return labels, tuple(out_labels), tuple(tuple(p) for p in path)


def einsum(*operands, out=None, optimize=True, dtype=None, order="K", casting="safe"):
    """Einstein summation, as numpy.einsum (any valid subscripts).

    Supports explicit ('ij,jk->ik') and implicit ('ij,jk') output, ellipsis broadcasting,
    repeated indices within an operand (diagonals), indices summed in a single operand, and
    the sublist calling convention ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. The pairwise
    contraction order comes from ``numpy.einsum_path`` (`optimize`: True/'greedy',
    'optimal', False for left to right, or an explicit path).

    Args:
      subscripts: the subscripts string, followed by the operands.
      optimize: how to choose the contraction order.
      dtype: if given, operands are converted to it first.

    Returns:
      The contraction, of dtype ``result_type(*operands)``.

    Example:
      >>> einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
      (2, 4)
    """
    _no_out(out, "einsum")
    subscripts, ops = _split_args(operands)
    ops = [_operand(x) for x in ops]
    if dtype is not None:
        ops = [astype(x, dtype) for x in ops]
    key = tuple(optimize) if isinstance(optimize, list) else optimize
    shapes = tuple(tuple(x.shape) for x in ops)
    labels, out_labels, path = _einsum_spec(subscripts, shapes, key)
    return _contract(ops, labels, out_labels, path)


def einsum_path(subscripts, *operands, optimize="greedy"):
    """The contraction order and a report, as numpy.einsum_path (uses only the shapes).

    Args:
      subscripts: the einsum subscripts (or the sublist form).
      optimize: 'greedy', 'optimal', False or an explicit path.

    Returns:
      ``(path, report string)``, as NumPy returns them.

    Example:
      >>> einsum_path("ij,jk,kl", np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5)))[0]
      ['einsum_path', (1, 2), (0, 1)]
    """
    args = [subscripts, *operands]
    if not isinstance(subscripts, str):
        subscripts, ops = _split_args(args)
    else:
        ops = list(operands)
    dummies = [np.broadcast_to(np.zeros((), x.dtype), x.shape) for x in map(_operand, ops)]
    return np.einsum_path(subscripts, *dummies, optimize=optimize)
