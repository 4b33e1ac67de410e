"""Primitives for chainrule's fft functions (being written; see the module's tests)."""
TESTED_IN = "tests/test_fft.py"
