"""chainrule.scipy: SciPy-compatible functions built on chainrule primitives."""
from . import special, stats, linalg, integrate, optimize  # noqa: F401
