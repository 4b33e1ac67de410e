"""Every primitive of chainrule, one block each; `ALL` is the explicit list.

Import order matters only here: `base` first (rule builders), then the blocks.
"""
from . import base  # noqa: F401  (imports structural and elementwise)
from .elementwise import *  # noqa: F401,F403
from .structural import *  # noqa: F401,F403
from .collective import *  # noqa: F401,F403
from . import linalg, fft, special, sorting  # noqa: F401  (own tables: see TESTED_IN)
from ..core import primitives as _registry

ALL = list(_registry.values())
