"""Shared fixtures and the ``needs_shared_data`` skip rule."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # tests never need a display

from riskscope.io.shared import shared_data_dir  # noqa: E402

# Fixture files and the scripts that build them are data, not tests; --doctest-modules would
# otherwise import those scripts (and clash on their module names).
collect_ignore = ["data"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shared_data_dir() is not None:
        return
    skip = pytest.mark.skip(reason="../shared/data not found (set RISKSCOPE_SHARED_DATA)")
    for item in items:
        if "needs_shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared_data() -> Path:
    """The shared real-data folder (tests using it must be marked needs_shared_data)."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data not found")
    return path


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own RISKSCOPE_* settings must not change what the tests see.
    import os

    for key in list(os.environ):
        if key.startswith("RISKSCOPE_") and key != "RISKSCOPE_SHARED_DATA":
            monkeypatch.delenv(key, raising=False)
