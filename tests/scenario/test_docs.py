"""The generated scenario reference stays in sync with the schema; docs/model.md covers it."""

from __future__ import annotations

import re
from pathlib import Path

from sim import cli
from sim.scenario import reference as docgen
from sim.scenario import registry, schema
from sim.scenario.load import load

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_scenarios_md_is_up_to_date():
    committed = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    assert committed == docgen.generate(), (
        "docs/scenarios.md is out of date with the schema; regenerate it with "
        "`sim docs` and commit the result")


def test_every_schema_key_is_documented():
    text = docgen.generate()
    for _heading, prefix, model, _where in docgen.SECTIONS:
        for name in model.model_fields:
            key = f"{prefix}.{name}" if prefix else name
            assert f"`{key}`" in text, key
    for param in registry.parameters():
        assert f"`{param.generic}`" in text, param.generic


def test_every_nested_model_has_a_section():
    documented = {model for _h, _p, model, _w in docgen.SECTIONS}
    seen: set[type] = set()
    stack: list[type] = [schema.Scenario]
    while stack:
        model = stack.pop()
        seen.add(model)
        for info in model.model_fields.values():
            for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
                if isinstance(candidate, type) and issubclass(candidate, schema.Frozen) \
                        and candidate not in seen:
                    stack.append(candidate)
    wrappers = {schema.Levers, schema.Uncertainties}  # only hold other sections
    assert seen - wrappers <= documented


def test_documented_example_is_a_valid_scenario(tmp_path):
    path = tmp_path / "my_variant.toml"
    path.write_text(docgen.EXAMPLE, encoding="utf-8")  # extends the shipped baseline by name
    spec = load(path)
    assert spec.levers.government.pressure == 0.6
    assert spec.faction("asaib_ahl_al_haq").tolerance == 0.8


def test_sim_docs_check_mode(tmp_path, capsys):
    out = tmp_path / "scenarios.md"
    assert cli.main(["docs", "--out", str(out), "--check"]) == 1
    assert "sim docs" in capsys.readouterr().err
    assert cli.main(["docs", "--out", str(out)]) == 0
    assert cli.main(["docs", "--out", str(out), "--check"]) == 0


def test_sim_docs_command(tmp_path):
    out = tmp_path / "ref.md"
    assert cli.main(["docs", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == docgen.generate()


def test_model_md_states_every_mechanism_default():
    """docs/model.md gives each coefficient with its current default."""
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    missing = []
    for name, info in schema.Mechanisms.model_fields.items():
        value = info.default
        if value is None or repr(value) == "PydanticUndefined":
            continue  # a nested table (escalation weights): checked below
        shown = re.escape(repr(value))
        if not re.search(rf"`{name}`[^\n]*?(?<![\d.]){shown}(?![\d.])", text):
            missing.append(f"{name} = {value}")
    assert not missing, f"docs/model.md lacks or misstates: {missing}"


def test_model_md_states_lever_defaults():
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    for lever in ("accommodation", "appeasement", "persuasion", "pressure"):
        value = schema.GovernmentLevers.model_fields[lever].default
        assert f"| {lever} | {value} |" in text, f"docs/model.md: default of {lever} is {value}"


def test_model_md_states_the_escalation_weights():
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    for name, info in schema.EscalationWeights.model_fields.items():
        assert re.search(rf"`escalation_weights\.{name}`[^\n]*?{re.escape(repr(info.default))}",
                         text), name
