"""Primitives for chainrule's linalg functions (being written; see the module's tests)."""
TESTED_IN = "tests/test_linalg.py"
