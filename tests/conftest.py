"""Shared fixtures: paths of shipped scenarios and a helper that writes TOML files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sim.scenario.load import load
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def baseline_path() -> Path:
    """The shipped baseline scenario (absolute path)."""
    return SCENARIOS / "baseline.toml"


@pytest.fixture
def write_toml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to ``tmp_path / name`` and return the path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The shipped baseline scenario, loaded once."""
    return load("baseline")
