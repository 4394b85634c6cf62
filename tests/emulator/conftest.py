"""Fixtures for the KubeFATE emulator tests (helpers live in ``emu_helpers.py``).

The emulator runs as a subprocess (``kubefate_emulator.testing.run_emulator``). Tests that install
clusters need the reference charts and examples in ``../shared`` (beside the checkout) and skip without.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from emu_helpers import FAST, SHARED, Emulator, run_emulator, shared_available


@pytest.fixture
def shared() -> Path:
    if not shared_available():
        pytest.skip("reference KubeFATE charts/examples not available at ../shared/kubefate (read-only test data)")
    return SHARED


@pytest.fixture(scope="session")
def emu():
    """One emulator shared by the tests that do not change its options (time limit 20 s)."""
    with run_emulator(time_limit=20, **FAST) as emulator:
        yield emulator


@pytest.fixture
def start():
    """Start a dedicated emulator with extra options: ``emu = start(fail_module=["python"])``."""
    stack = []

    def _start(*args, **kwargs) -> Emulator:
        options = {**FAST, **kwargs}
        context = run_emulator(*args, **options)
        emulator = context.__enter__()
        stack.append(context)
        return emulator

    yield _start
    while stack:
        stack.pop().__exit__(None, None, None)


def pytest_collection_modifyitems(config, items):
    """Mark the emulator tests: ``charts`` when they need ../shared, ``slow`` when they start their own."""
    here = Path(__file__).parent
    for item in items:
        if here not in item.path.parents:
            continue
        if "shared" in item.fixturenames:
            item.add_marker(pytest.mark.charts)
        if "start" in item.fixturenames:
            item.add_marker(pytest.mark.slow)
