"""Primitives for chainrule's special functions (being written; see the module's tests)."""
TESTED_IN = "tests/test_special.py"
