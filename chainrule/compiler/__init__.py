"""The compiler: passes (Program -> Program) and code generation for the NumPy backend."""
from .codegen import compile_program, generate_source  # noqa: F401
from .passes import optimize  # noqa: F401
