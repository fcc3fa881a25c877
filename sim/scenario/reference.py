"""Generate ``docs/scenarios.md`` (the scenario file reference) from the schema.

Every key, its type, default, allowed values and description come from the
pydantic models in :mod:`sim.schema`; event paths from ``EVENT_TARGETS``; the
merge rule of ``extends`` from the docstring of :mod:`sim.scenario`. Run
``python -m sim.scenario.reference`` (or ``sim docs``) after changing the schema;
``tests/test_docs.py`` fails while the committed file is out of date.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.scenario import load as scenario_module
from sim.scenario import registry, schema

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
COMMAND = "sim docs"

EXAMPLE = '''\
# my_variant.toml: a variant states only what differs from the file it extends.
extends = "baseline"
description = "Baseline with more pressure and a Gaza truce from day 15."
notes = """
Pressure is raised to 0.6 from the start; a truce lowers the Gaza driver on
day 15; one faction is assumed more tolerant of pressure than in the world file.
"""

[run]
days = 90
replications = 100

[levers.government]
pressure = 0.6

[levers.coalition]
retaliation = "none"

[[factions]]              # patched by name: only tolerance changes
name = "asaib_ahl_al_haq"
tolerance = 0.8

[[events]]                # appended to the inherited events
day = 15
set = "uncertainties.region.gaza"
value = 0.2
note = "truce"

[[events]]
day = 45
set = "bases.harir.open"
value = false
'''

# (heading, TOML key path shown, model class, how it appears in a file)
SECTIONS: tuple[tuple[str, str, type[BaseModel], str], ...] = (
    ("Top level", "", schema.Scenario, "top-level keys"),
    ("run", "run", schema.Run, "table `[run]`"),
    ("levers.government", "levers.government", schema.GovernmentLevers,
     "table `[levers.government]`"),
    ("levers.government.adaptive", "levers.government.adaptive", schema.AdaptiveRule,
     "table `[levers.government.adaptive]`"),
    ("levers.coalition", "levers.coalition", schema.CoalitionLevers,
     "table `[levers.coalition]`"),
    ("levers.coalition.thresholds", "levers.coalition.thresholds",
     schema.RetaliationThresholds, "table `[levers.coalition.thresholds]`"),
    ("uncertainties.region", "uncertainties.region", schema.Region,
     "table `[uncertainties.region]`"),
    ("uncertainties.patron", "uncertainties.patron", schema.Patron,
     "table `[uncertainties.patron]`"),
    ("weapons.&lt;name&gt;", "weapons.<name>", schema.Weapon,
     "one table `[weapons.<name>]` per weapon type"),
    ("factions", "factions.<name>", schema.Faction,
     "array of tables `[[factions]]`, one per faction, patched by `name`"),
    ("bases", "bases.<name>", schema.Base,
     "array of tables `[[bases]]`, one per site, patched by `name`"),
    ("events", "events[n]", schema.Event,
     "array of tables `[[events]]`, appended to inherited events"),
    ("ranges", "ranges[n]", schema.Range,
     "array of tables `[[ranges]]` (exploration), a file's range replacing the inherited "
     "one of the same path"),
    ("strikes", "strikes[n]", schema.Strike,
     "array of tables `[[strikes]]` (documented coalition strikes), appended to inherited "
     "ones"),
    ("mechanisms", "mechanisms", schema.Mechanisms,
     "table `[mechanisms]`"),
    ("mechanisms.escalation_weights", "mechanisms.escalation_weights", schema.EscalationWeights,
     "table `[mechanisms.escalation_weights]`"),
)

XLRM = {
    "levers": "L (levers: what decision makers control)",
    "uncertainties": "X (uncertainties: exogenous conditions)",
    "factions": "X (uncertain world parameters)",
    "bases": "X (uncertain world parameters)",
    "weapons": "X (uncertain world parameters)",
    "mechanisms": "R (relationships: model coefficients, uncertain too)",
}


# ------------------------------------------------------------------ describing


def _strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """Return (inner type, metadata) of an ``Annotated`` type, flattening FieldInfo."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation = args[0]
        for item in args[1:]:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, metadata


def _constraints(metadata: Sequence[Any]) -> list[str]:
    out = []
    for item in metadata:
        for cls, attr, word in ((at.Ge, "ge", "≥"), (at.Gt, "gt", ">"), (at.Le, "le", "≤"),
                                (at.Lt, "lt", "<")):
            if isinstance(item, cls):
                out.append(f"{word} {getattr(item, attr)}")
        if isinstance(item, at.MinLen):
            out.append(f"at least {item.min_length} item(s)")
        pattern = getattr(item, "pattern", None)
        if pattern:
            out.append(f"matches `{pattern}`")
        max_length = getattr(item, "max_length", None)
        if max_length and not isinstance(item, at.MaxLen):
            out.append(f"at most {max_length} characters")
    return out


def type_name(annotation: Any) -> str:
    """A reader's name for a schema type (number, integer, table of ..., ...)."""
    annotation, _ = _strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation is str:
        return "string"
    if annotation is dt.date:
        return "date (YYYY-MM-DD)"
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return "string"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return "table"
    if origin is tuple:
        inner = {type_name(a) for a in args}
        return f"list of {len(args)} {inner.pop() if len(inner) == 1 else 'values'}s"
    if origin is list:
        return f"array of {type_name(args[0])}s"
    if origin is dict:
        return f"table of name → {type_name(args[1])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    return str(annotation)


def allowed(info: FieldInfo) -> str:
    """Allowed values of a field: bounds, patterns, enum members, inner-type bounds."""
    annotation, inner_meta = _strip_annotated(info.annotation)
    parts = _constraints([*info.metadata, *inner_meta])
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        parts.append("one of " + ", ".join(f'`"{m.value}"`' for m in annotation))
    for arg in typing.get_args(annotation):
        _inner, meta = _strip_annotated(arg)
        constraints = _constraints(meta)
        if constraints and typing.get_origin(annotation) is dict and arg is typing.get_args(
                annotation)[0]:
            parts.append("names: " + ", ".join(constraints))
        elif constraints:
            parts.append("each " + ", ".join(constraints))
    return "; ".join(dict.fromkeys(parts)) or "any"


def default(info: FieldInfo) -> str:
    """The default as it would be written in TOML, or *required*."""
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(table of defaults)"
        return f"`{_toml(value)}`"
    if info.default is PydanticUndefined:
        return "**required**"
    return f"`{_toml(info.default)}`"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return f'"{value.value}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def field_table(model: type[BaseModel], prefix: str) -> Iterator[str]:
    """Markdown table of a model's fields."""
    yield "| key | type | default | allowed | meaning |"
    yield "|---|---|---|---|---|"
    for name, info in model.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        annotation, _ = _strip_annotated(info.annotation)
        description = info.description or ""
        if not description and inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            description = (annotation.__doc__ or "").strip().splitlines()[0]
        if not description and typing.get_origin(annotation) is list:
            description = f"See [{name}](#{name})."
        yield (f"| `{key}` | {type_name(info.annotation)} | {default(info)} | "
               f"{_cell(allowed(info))} | {_cell(description)} |")


def event_paths() -> Iterator[str]:
    """Markdown table of every path an event may ``set``, with the value it takes."""
    yield "| `set` | kind | allowed value | meaning |"
    yield "|---|---|---|---|"
    for param in registry.parameters(events=True):
        yield (f"| `{param.generic}` | {param.kind} | {_cell(param.allowed())} | "
               f"{_cell(param.description)} |")


def parameter_table() -> Iterator[str]:
    """Markdown table of the whole parameter registry (generic paths)."""
    yield "| path | kind | allowed | event | meaning |"
    yield "|---|---|---|:-:|---|"
    for param in registry.parameters():
        yield (f"| `{param.generic}` | {param.kind} | {_cell(param.allowed())} | "
               f"{'yes' if param.event else ''} | {_cell(param.description)} |")


def _docstring(obj: Any) -> str:
    """A docstring as Markdown (reStructuredText ``code`` becomes `code`)."""
    return inspect.cleandoc(obj.__doc__ or "").replace("``", "`")


def _merge_rule() -> str:
    """The bullet list of merge rules from sim/scenario.py's module docstring."""
    doc = _docstring(scenario_module)
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Merge rule"))
    out = []
    for line in lines[start + 1:]:
        if out and not line.strip():
            break
        if line.strip():
            out.append(line)
    return "\n".join(out)


# -------------------------------------------------------------------- document


def generate() -> str:
    """The full text of docs/scenarios.md."""
    out: list[str] = [
        "# Scenario files: reference",
        "",
        f"<!-- Generated from sim/scenario/schema.py by `{COMMAND}`; do not edit. -->",
        "",
        "A scenario is a TOML file. It is loaded once, merged with the files it extends,",
        "and validated into frozen objects: unknown keys, wrong types and out-of-range",
        "values are refused with a message naming the file, the key, the value and what",
        "is allowed (check a file with `sim check FILE`). Shipped scenarios live in",
        "`scenarios/`; the world (weapons, factions, bases) is in",
        "`scenarios/world_iraq_2023.toml`, and every shipped scenario extends",
        "`baseline.toml`. Parameter values for named factions and bases are stylised",
        "assumptions for analysis and teaching, not intelligence estimates",
        "(see docs/model.md).",
        "",
        "## Structure (XLRM)",
        "",
        "\n\n".join(_docstring(schema).split("\n\n")[1:3]),
        "",
        "| section | role |",
        "|---|---|",
        *(f"| `{key}` | {role} |" for key, role in XLRM.items()),
        "| outcomes | M (measures: columns of `summary.csv` and `daily.parquet`) |",
        "",
        "## `extends`: how a variant inherits",
        "",
        "`extends = \"baseline\"` (a shipped scenario's name) or `extends = \"other.toml\"`",
        "(a path relative to the extending file) makes a file a variant of another. A copy",
        "of a shipped scenario that extends by name works from any folder. Merge rule:",
        "",
        _merge_rule(),
        "",
        "## Example",
        "",
        "```toml",
        EXAMPLE.rstrip(),
        "```",
        "",
    ]
    for heading, prefix, model, where in SECTIONS:
        out += [f"## {heading}", "", f"{_docstring(model).splitlines()[0]} ({where}.)", ""]
        body = _docstring(model).split("\n\n", 1)
        if len(body) > 1:
            out += [body[1], ""]
        out += [*field_table(model, prefix), ""]
        if model is schema.Event:
            out += ["### Event paths", "",
                    "`set` is a parameter path; `<faction>` and `<base>` stand for the `name` "
                    "of a faction or base defined in the scenario. The event's `day` must lie "
                    "within `run.days`; its `value` must be allowed for the key it sets.", "",
                    *event_paths(), ""]
    out += ["## Parameter paths", "",
            "Every settable value has one dotted path, used by `--set PATH=VALUE`, by events, "
            "by the columns of `summary.csv` and on the teaching page (`sim params` lists "
            "them with a scenario's values). `kind` is its XLRM role.", "",
            *parameter_table(), ""]
    return "\n".join(out).rstrip() + "\n"
