"""Shared pytest set-up: the primitive-table parametrization and its fixtures."""
import pytest

import primtable
from chainrule.transforms import batching


def pytest_generate_tests(metafunc):
    primtable.parametrize(metafunc)


@pytest.fixture
def no_loop_fallback(monkeypatch):
    """Fail when vmap falls back to its Python loop: every primitive must have a batch rule."""
    def loop(self, prim, vals, bdims, params):
        raise AssertionError(f"vmap fell back to a Python loop for `{prim.name}` (no batch rule)")
    monkeypatch.setattr(batching.BatchTrace, "loop", loop)
