"""The compiler: passes (Program -> Program), code generation for the NumPy backend (with
optional numexpr kernels), and export of standalone modules."""
from .config import options  # noqa: F401
from .fused import fused_p  # noqa: F401
from .passes import (PIPELINE, cse, dce, fold_constants, fuse, optimize, simplify,  # noqa
                     stages, unfuse)
from .codegen import CodegenError, compile_program, generate_source  # noqa: F401
from .standalone import export, export_source  # noqa: F401
