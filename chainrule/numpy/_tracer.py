"""Array behaviour of tracers: operators, methods, indexing and `.at`, installed on the
`Tracer` base class so that every trace's tracers behave like arrays. Each method dispatches to
a chainrule.numpy function (NumPy ufuncs applied to tracers dispatch the same way)."""
from __future__ import annotations

import numpy as np

from ..core import Tracer, bind
from .. import prims as P
from . import _ufuncs as U, _reductions as R, _shape as S, _indexing as I


def _operator(f):
    """x.__op__(y) for the chainrule.numpy function f; a one-primitive f is bound directly
    (operators are the hottest calls of traced code)."""
    prim = getattr(f, "prim", None)
    if prim is None:
        return lambda self, other: f(self, other)

    def op(self, other):
        if type(other) in (list, tuple):
            other = U._arr(other)
        return bind(prim, self, other)
    return op


def _swap(f):
    prim = getattr(f, "prim", None)
    if prim is None:
        return lambda self, other: f(other, self)

    def rop(self, other):
        if type(other) in (list, tuple):
            other = U._arr(other)
        return bind(prim, other, self)
    return rop


def _matmul(a, b):
    from ._products import matmul
    return matmul(a, b)


_OPS = {
    "add": U.add, "sub": U.subtract, "mul": U.multiply, "truediv": U.divide,
    "floordiv": U.floor_divide, "mod": U.remainder, "pow": U.power, "matmul": _matmul,
    "and": U.bitwise_and, "or": U.bitwise_or, "xor": U.bitwise_xor,
    "lshift": U.left_shift, "rshift": U.right_shift,
}


def _install():
    T = Tracer
    for name, f in _OPS.items():
        setattr(T, f"__{name}__", _operator(f))
        setattr(T, f"__r{name}__", _swap(f))
    T.__eq__ = lambda self, other: U.equal(self, other)
    T.__ne__ = lambda self, other: U.not_equal(self, other)
    T.__lt__ = lambda self, other: U.less(self, other)
    T.__le__ = lambda self, other: U.less_equal(self, other)
    T.__gt__ = lambda self, other: U.greater(self, other)
    T.__ge__ = lambda self, other: U.greater_equal(self, other)
    T.__neg__ = lambda self: bind(P.neg_p, self)
    T.__pos__ = lambda self: U.positive(self)
    T.__abs__ = lambda self: U.absolute(self)
    T.__invert__ = lambda self: U.invert(self)
    T.__round__ = lambda self, ndigits=None: U.round(self, ndigits or 0)
    T.__divmod__ = lambda self, other: (U.floor_divide(self, other), U.remainder(self, other))
    T.__rdivmod__ = lambda self, other: (U.floor_divide(other, self), U.remainder(other, self))
    T.__getitem__ = lambda self, key: I.getitem(self, key)
    T.__setitem__ = _setitem
    T.at = property(lambda self: I._IndexUpdateHelper(self))
    T.__array_ufunc__ = _array_ufunc
    T.__array_function__ = _array_function

    T.T = property(lambda self: S.transpose(self))
    T.mT = property(lambda self: S.matrix_transpose(self))
    T.real = property(lambda self: U.real(self))
    T.imag = property(lambda self: U.imag(self))
    T.sum = lambda self, axis=None, dtype=None, out=None, keepdims=False, **kw: R.sum(
        self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)
    T.prod = lambda self, axis=None, dtype=None, out=None, keepdims=False, **kw: R.prod(
        self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)
    T.mean = lambda self, axis=None, dtype=None, out=None, keepdims=False, **kw: R.mean(
        self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)
    T.var = lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw: R.var(
        self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kw)
    T.std = lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw: R.std(
        self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kw)
    T.max = lambda self, axis=None, out=None, keepdims=False, **kw: R.max(
        self, axis=axis, out=out, keepdims=keepdims, **kw)
    T.min = lambda self, axis=None, out=None, keepdims=False, **kw: R.min(
        self, axis=axis, out=out, keepdims=keepdims, **kw)
    T.all = lambda self, axis=None, out=None, keepdims=False, *, where=None: R.all(
        self, axis, out, keepdims, where=where)
    T.any = lambda self, axis=None, out=None, keepdims=False, *, where=None: R.any(
        self, axis, out, keepdims, where=where)
    T.argmax = lambda self, axis=None, out=None, keepdims=False: R.argmax(
        self, axis, out, keepdims=keepdims)
    T.argmin = lambda self, axis=None, out=None, keepdims=False: R.argmin(
        self, axis, out, keepdims=keepdims)
    T.cumsum = lambda self, axis=None, dtype=None, out=None: R.cumsum(self, axis, dtype, out)
    T.cumprod = lambda self, axis=None, dtype=None, out=None: R.cumprod(self, axis, dtype, out)
    T.ptp = lambda self, axis=None, out=None, keepdims=False: R.ptp(self, axis, out, keepdims)
    T.reshape = _reshape_method
    T.transpose = lambda self, *axes: S.transpose(
        self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) or
        (len(axes) == 1 and axes[0] is None) else (axes or None))
    T.swapaxes = lambda self, a1, a2: S.swapaxes(self, a1, a2)
    T.squeeze = lambda self, axis=None: S.squeeze(self, axis)
    T.ravel = lambda self, order="C": S.ravel(self, order)
    T.flatten = lambda self, order="C": S.ravel(self, order)
    T.astype = lambda self, dtype, copy=True, **kw: U.astype(self, dtype)
    T.clip = lambda self, min=None, max=None, out=None, **kw: U.clip(self, min, max, out, **kw)
    T.conj = lambda self: U.conjugate(self)
    T.conjugate = lambda self: U.conjugate(self)
    T.round = lambda self, decimals=0, out=None: U.round(self, decimals, out)
    T.copy = lambda self, order="C": self._clone()
    T.dot = lambda self, b, out=None: _call("_products", "dot", self, b)
    T.repeat = lambda self, repeats, axis=None: _call("_manip", "repeat", self, repeats, axis)
    T.diagonal = lambda self, offset=0, axis1=0, axis2=1: _call(
        "_manip", "diagonal", self, offset, axis1, axis2)
    T.trace = lambda self, offset=0, axis1=0, axis2=1, dtype=None, out=None: _call(
        "_manip", "trace", self, offset, axis1, axis2, dtype, out)
    T.take = lambda self, indices, axis=None, out=None, mode=None: _call(
        "_manip", "take", self, indices, axis, out, mode)
    T.sort = _sort_inplace
    T.partition = _partition_inplace
    T.fill = _fill_inplace
    T.put = _put_inplace
    T.resize = _resize_inplace
    for name, alternative in _UNSUPPORTED_INPLACE.items():
        setattr(T, name, property(_unsupported(name, alternative)))
    T.argsort = lambda self, axis=-1, **kw: _call("_manip", "argsort", self, axis, **kw)
    T.nonzero = lambda self: I.nonzero(self)
    T.item = _item
    T.tolist = lambda self: np.asarray(self._trace.concrete(self, "tolist()")).tolist()


def _call(mod, name, *args, **kw):
    import importlib
    m = importlib.import_module(f"chainrule.numpy.{mod}")
    return getattr(m, name)(*args, **kw)


def _reshape_method(self, *shape, order="C"):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return S.reshape(self, shape, order=order)


def _item(self, *args):
    v = np.asarray(self._trace.concrete(self, "item()"))
    return v.item(*args)


def _setitem(self, key, value):
    """x[key] = value, functionalized: x is rebound to x.at[key].set(value)."""
    _check_not_view(self)
    if isinstance(key, Tracer) and key.dtype == np.bool_ and np.ndim(value) == 0:
        # a traced boolean mask with a scalar: a select keeps the shape static
        new = U.where(key, value, self)
    else:
        new = I.scatter(self, key, value, "set")
    if isinstance(new, Tracer):
        self._become(new)
    else:
        raise TypeError("x[idx] = value could not be recorded on the traced array x")


def _check_not_view(self):
    if getattr(self, "_base", None) is not None:
        raise TypeError(
            "x[idx] = value where x is a view of another traced array (made by basic "
            "slicing, reshape, transpose, ...): the write could not reach the array it views, "
            "so it is refused rather than silently lost. Write into the base array instead "
            "(e.g. a[1:3][0] = v -> a[1] = v), or take a copy first (v = a[1:3].copy()).")


# ufunc.reduce / .accumulate through the chainrule.numpy reductions that compute them
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "fmax": "nanmax", "fmin": "nanmin", "logical_and": "all", "logical_or": "any"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _ufunc_target(ufunc):
    """The chainrule function for a NumPy or scipy.special ufunc, or None."""
    from .. import numpy as cnp
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return getattr(cnp, name, None)
    import importlib
    try:
        special = importlib.import_module("scipy.special")
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    if getattr(special, name, None) is ufunc:
        return getattr(importlib.import_module("chainrule.scipy.special"), name, None)
    return None


def _rebind(self, method, new, alternative):
    """An in-place ndarray method, functionalized as x[idx] = value is: self becomes `new`."""
    if getattr(self, "_base", None) is not None:
        raise TypeError(
            f"x.{method}(...) where x is a view of another traced array (made by basic "
            "slicing, reshape, transpose, ...): the change could not reach the array it views, "
            "so it is refused rather than silently lost. Call it on the base array, take a "
            f"copy first (x = x.copy()), or use the functional form: {alternative}.")
    if not isinstance(new, Tracer):
        raise TypeError(f"x.{method}(...) could not be recorded on the traced array x; use "
                        f"the functional form: {alternative}")
    self._become(new)


def _sort_inplace(self, axis=-1, kind=None, order=None, *, stable=None):
    """x.sort(): sorts x in place (returns None), as ndarray.sort."""
    new = _call("_manip", "sort", self, axis, kind, order, stable=stable)
    _rebind(self, "sort", new, "x = chainrule.numpy.sort(x, axis)")


def _partition_inplace(self, kth, axis=-1, kind="introselect", order=None):
    """x.partition(kth): partitions x in place (returns None), as ndarray.partition."""
    new = _call("_stats", "partition", self, kth, axis, kind, order)
    _rebind(self, "partition", new, "x = chainrule.numpy.partition(x, kth, axis)")


def _fill_inplace(self, value):
    """x.fill(value): every element of x set to value, in place (returns None)."""
    _rebind(self, "fill", I.scatter(self, Ellipsis, value, "set"),
            "x = chainrule.numpy.full_like(x, value)")


def _put_inplace(self, indices, values, mode="raise"):
    """x.put(indices, values): x.flat[indices] = values in place (values repeated to the
    number of indices; mode 'raise', 'wrap' or 'clip'), as ndarray.put."""
    alternative = "x = x.ravel().at[indices].set(values).reshape(x.shape)"
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"put: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    ind, vals = S.ravel(U._arr(indices)), S.ravel(U._arr(values))
    n, size = ind.shape[0], self.size
    if n == 0 or vals.shape[0] == 0:
        return
    if mode == "wrap":
        ind = U.remainder(ind, size)
    elif mode == "clip":
        ind = U.clip(ind, 0, size - 1)
    if vals.shape[0] != n:
        vals = I.getitem(vals, np.arange(n) % vals.shape[0])
    new = S.reshape(I.scatter(S.ravel(self), ind, vals, "set"), self.shape)
    _rebind(self, "put", new, alternative)


def _resize_inplace(self, *new_shape, refcheck=True):
    """x.resize(shape): x becomes the given shape in place, its flattened values kept and
    padded with zeros (returns None), as ndarray.resize."""
    if len(new_shape) == 1 and not isinstance(new_shape[0], (int, np.integer)):
        new_shape = new_shape[0]
    new_shape = tuple(int(d) for d in np.atleast_1d(new_shape)) if new_shape != () else ()
    n, flat = int(np.prod(new_shape, dtype=np.int64)), S.ravel(self)
    if n <= self.size:
        flat = I.getitem(flat, slice(0, n))
    else:
        flat = P.concatenate_p(flat, np.zeros(n - self.size, self.dtype), axis=0)
    _rebind(self, "resize", S.reshape(flat, new_shape),
            "x = chainrule.numpy.resize(x, shape) (which repeats x rather than padding "
            "with zeros)")


_UNSUPPORTED_INPLACE = {
    "itemset": "x[idx] = value, or x.at[idx].set(value) (ndarray.itemset was removed in "
               "NumPy 2)",
    "setfield": "x.at[...].set(value) (traced arrays have no fields)",
    "byteswap": "nothing: a traced array's byte order is not observable",
}


def _unsupported(name, alternative):
    def get(self):
        raise AttributeError(f"x.{name} is not supported on traced arrays; use {alternative}")
    return get


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy (and scipy.special) ufuncs called on tracers, and their methods reduce,
    accumulate, outer and at, dispatch to chainrule; out= may name traced arrays (written
    in place, functionalized as x[...] = value is)."""
    from .. import numpy as cnp
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if out is not None:
        out = out if isinstance(out, tuple) else (out,)
        if len(out) != 1 or not isinstance(out[0], Tracer):
            raise TypeError(
                f"numpy.{name}(..., out=...) on traced values: out must be one traced array "
                "(a NumPy array cannot hold traced values); use the returned value instead")
        out = out[0]
    if method == "__call__":
        f = _ufunc_target(ufunc)
        if f is None:
            raise TypeError(f"chainrule has no implementation of {name} for traced values "
                            "(see chainrule.numpy and chainrule.scipy.special)")
        where = kwargs.pop("where", True)
        res = f(*inputs, **kwargs)
        if where is not True:
            if out is None:
                raise TypeError(f"numpy.{name}(..., where=...) without out= leaves the "
                                "masked entries undefined; pass out= or use "
                                "chainrule.numpy.where")
            res = cnp.where(where, res, out)
    elif method == "reduce" and name in _REDUCE:
        kwargs.setdefault("axis", 0)
        res = getattr(cnp, _REDUCE[name])(*inputs, **kwargs)
    elif method == "accumulate" and name in _ACCUMULATE:
        kwargs.setdefault("axis", 0)
        res = getattr(cnp, _ACCUMULATE[name])(*inputs, **kwargs)
    elif method == "outer" and len(inputs) == 2 and _ufunc_target(ufunc) is not None:
        a, b = (cnp.asarray(v) for v in inputs)
        res = _ufunc_target(ufunc)(cnp.reshape(a, cnp.shape(a) + (1,) * cnp.ndim(b)), b,
                                   **kwargs)
    elif method == "at" and name in ("add", "multiply", "maximum", "minimum") \
            and isinstance(inputs[0], Tracer) and not kwargs:
        x, idx = inputs[0], inputs[1]
        vals = inputs[2] if len(inputs) > 2 else None
        mode = {"add": "add", "multiply": "multiply", "maximum": "max", "minimum": "min"}[name]
        _check_not_view(x)
        x._become(I.scatter(x, idx, vals, mode))
        return None
    else:
        raise TypeError(f"numpy.{name}.{method} is not supported on traced values by "
                        "chainrule; use the chainrule.numpy function that computes it (sum, "
                        "prod, max, min, cumsum, cumprod, x.at[idx].add(v), ...)")
    if out is not None:
        _setitem(out, Ellipsis, res)     # out[...] = res, functionalized (and cast)
        return out
    return res


def _array_function(self, func, types, args, kwargs):
    """NumPy functions called on tracers dispatch to chainrule.numpy (plain NumPy code
    differentiates); functions chainrule does not cover raise a clear error."""
    import importlib
    mod = getattr(func, "__module__", "numpy") or "numpy"
    sub = mod.split(".")[1] if mod.startswith("numpy.") else ""
    target = None
    if sub in ("linalg", "fft"):
        try:
            target = getattr(importlib.import_module(f"chainrule.numpy.{sub}"), func.__name__,
                             None)
        except ImportError:
            target = None
    else:
        from .. import numpy as cnp
        target = getattr(cnp, func.__name__, None)
    if target is None or target is func:
        name = f"{mod}.{func.__name__}" if sub else f"numpy.{func.__name__}"
        raise TypeError(f"{name} is not supported on traced values by chainrule; use a "
                        "chainrule.numpy function (or chainrule.pure_callback for code that "
                        "must run on real arrays)")
    return target(*args, **kwargs)


_install()
