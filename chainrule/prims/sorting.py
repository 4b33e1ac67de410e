"""Primitives for chainrule.numpy's sorting, searching and statistics functions (being
written; see the module's tests)."""
TESTED_IN = "tests/test_numpy_stats.py"
