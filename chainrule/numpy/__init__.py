"""chainrule.numpy: NumPy's API over chainrule primitives.

Every function here is composed from primitives, so it is differentiable (forward and reverse
mode, any order), batchable and stageable. With no transform active, results are plain NumPy
arrays. NumPy 2 semantics: float64 by default, NEP 50 promotion, broadcasting, IndexError for
out-of-bounds integer indices.
"""
from numpy import (pi, e, inf, nan, newaxis, float16, float32, float64, complex64,  # noqa: F401
                   complex128, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
                   bool_, dtype, finfo, iinfo, result_type, promote_types, can_cast,
                   issubdtype, floating, integer, inexact, complexfloating, number,
                   signedinteger, unsignedinteger, ndarray, double, single, cdouble,
                   csingle, int_, uint, object_, generic, flexible, character)

from ._ufuncs import *  # noqa: F401,F403
from ._ufuncs import round, abs, pow  # noqa: F401
from ._reductions import *  # noqa: F401,F403
from ._reductions import sum, max, min, all, any  # noqa: F401
from ._shape import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._indexing import at, nonzero, flatnonzero, argwhere  # noqa: F401
from ._products import *  # noqa: F401,F403
from ._manip import *  # noqa: F401,F403
from ._vectorize import *  # noqa: F401,F403
from ._stats import *  # noqa: F401,F403
from ._more import *  # noqa: F401,F403
from ._more import divmod  # noqa: F401
from ._sets import *  # noqa: F401,F403
from . import linalg, fft  # noqa: F401
from . import _tracer  # noqa: F401  (installs array behaviour on tracers)

bool = bool_  # noqa: A001
