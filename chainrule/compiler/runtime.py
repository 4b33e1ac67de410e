"""Run-time helpers that lowerings may call, as source text needing only NumPy.

A lowering's expression may call a helper named `_cr_<name>`; code generation then defines
the helper in the generated module (exec'd for jit, written out by `export`).
"""
from __future__ import annotations

HELPERS = {
    "_cr_scatter": '''\
def _cr_scatter(x, y, index, mode):
    """x with x[index] updated by y: mode "set", "iadd" (x[index] += y, no repeated
    indices), or "add"/"multiply"/"min"/"max" (ufunc.at: repeated indices accumulate)."""
    out = np.array(x, copy=True)
    if mode == "set":
        out[index] = y
    elif mode == "iadd":
        out[index] += y
    else:
        ufunc = {"add": np.add, "multiply": np.multiply, "min": np.minimum,
                 "max": np.maximum}[mode]
        ufunc.at(out, index, y)
    return out
''',
    "_cr_load": '''\
def _cr_load(text):
    """An array stored inline as base64 of its .npy bytes."""
    import base64
    import io
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)
''',
}


def needed(source: str) -> list[str]:
    """The helpers a piece of generated source refers to."""
    return [name for name in HELPERS if name + "(" in source]
