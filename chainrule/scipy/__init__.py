"""chainrule.scipy: SciPy-compatible functions built on chainrule primitives."""
from . import special  # noqa: F401
