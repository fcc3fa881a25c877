"""docs/odd.md, the ODD description of the model, names every model coefficient.

A coefficient added to ``Mechanisms`` (or ``EscalationWeights``) without a mention
in docs/odd.md fails here, as does a missing ODD section.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.scenario import registry
from sim.scenario.load import load
from sim.scenario.mechanisms import Mechanisms
from sim.scenario.schema import Frozen

ODD = Path(__file__).resolve().parents[2] / "docs" / "odd.md"
SECTIONS = ("Purpose and patterns", "Entities, state variables and scales",
            "Process overview and scheduling", "Design concepts", "Initialisation",
            "Input data", "Submodels")
"""The seven ODD sections (Grimm et al. 2020), numbered 1 to 7 in this order."""


@pytest.fixture(scope="module")
def text() -> str:
    return ODD.read_text(encoding="utf-8")


def doc_name(path: str) -> str:
    """How docs/odd.md names a coefficient: ``foil_rate``, ``escalation_weights.gaza``."""
    parts = path.split(".")
    return ".".join(parts[1:]) if parts[0] == "mechanisms" else parts[-1]


def mechanism_names(model: type[Frozen] = Mechanisms, prefix: str = "") -> set[str]:
    """Every field of Mechanisms, nested models as ``<field>.<subfield>``."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Frozen):
            names |= mechanism_names(annotation, f"{prefix}{name}.")
        else:
            names.add(f"{prefix}{name}")
    return names


def test_every_coefficient_is_named_in_backticks(text):
    coefficients = registry.parameters(load("baseline"), kind="coefficient")
    names = {doc_name(p.path) for p in coefficients}
    assert len(names) >= 60, "the registry walk found too few coefficients"
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"docs/odd.md does not name these coefficients: {missing}"


def test_registry_walk_covers_every_mechanisms_field():
    # the walk above is the check: make sure it sees every field of the class
    walked = {doc_name(p.path) for p in registry.parameters(load("baseline"), kind="coefficient")
              if p.path.startswith("mechanisms.")}
    assert mechanism_names() <= walked


def test_the_seven_odd_sections_are_there_in_order(text):
    positions = []
    for number, title in enumerate(SECTIONS, start=1):
        match = re.search(rf"^## {number}\.? {re.escape(title)}\s*$", text, flags=re.MULTILINE)
        assert match, f"docs/odd.md has no heading '## {number} {title}'"
        positions.append(match.start())
    assert positions == sorted(positions)
