"""chainrule: automatic differentiation of NumPy-style Python.

    import chainrule as cr
    import chainrule.numpy as cnp
    cr.grad(lambda x: cnp.sum(cnp.tanh(x) ** 2))(np.ones(3))
"""
from . import core, tree_util, tree  # noqa: F401
from . import prims  # noqa: F401
from . import numpy  # noqa: F401  (installs array behaviour on tracers)
from .transforms.api import (grad, value_and_grad, vjp, jvp, linearize, jacfwd, jacrev,  # noqa
                             jacobian, hessian, vmap, float0)
from .transforms.custom import (custom_jvp, custom_vjp, checkpoint, remat,  # noqa: F401
                                stop_gradient)
from .transforms.staging import (jit, make_program, eval_shape, block_until_ready,  # noqa: F401
                                 disable_jit)
from .transforms.complex import wirtinger  # noqa: F401
from . import ir, compiler, debug  # noqa: F401
from .debug import pure_callback, ShapeDtypeStruct  # noqa: F401
from .compiler import export  # noqa: F401
from . import extend, test_util, lax  # noqa: F401
from .lax import psum, pmean, pmax, pmin, all_gather, axis_index  # noqa: F401
from .config import NaNError, debug_nans_mode as debug_nans  # noqa: F401

__version__ = "0.1.0"
