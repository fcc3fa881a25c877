"""The parameter registry: every settable value of a scenario, named by one dotted path.

One name per value, used everywhere: in ``--set PATH=VALUE`` and :func:`override`,
in ``[[events]] set = PATH``, in the columns of ``summary.csv``, in error messages,
in the generated docs and on the teaching page. Paths follow the scenario file:

* ``levers.government.pressure``, ``levers.coalition.retaliation``;
* ``uncertainties.region.gaza``, ``uncertainties.patron.signal``;
* ``mechanisms.tension_rate``, ``mechanisms.escalation_weights.gaza``;
* ``factions.<name>.hostility``, ``factions.<name>.weapons.<weapon>``;
* ``bases.<name>.open``, ``weapons.<name>.lethality``; ``run.days``.

Each :class:`Parameter` carries its kind (lever, uncertainty, coefficient or run, the
XLRM split), its type and bounds (read from the schema's field constraints), whether
a scheduled event may set it, and its description.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import functools
import inspect
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from sim.scenario.schema import Frozen, Scenario

Kind = Literal["lever", "uncertainty", "coefficient", "run"]
KINDS: tuple[str, ...] = ("lever", "uncertainty", "coefficient", "run")
SECTION_KIND: dict[str, str] = {
    "run": "run", "levers": "lever", "uncertainties": "uncertainty", "mechanisms": "coefficient",
    "weapons": "uncertainty", "factions": "uncertainty", "bases": "uncertainty",
}
"""The kind of every value under a top-level section (a field may say otherwise)."""
TEXT_FIELDS = frozenset({"name", "label", "home_area", "description", "notes", "kind", "events",
                         "strikes", "syria_area", "ranges"})
"""Fields that are names or prose, not parameters."""
WORLD_SECTIONS = ("factions", "bases", "weapons")
GOVERNMENT_LEVERS: tuple[str, ...] = tuple(
    f"levers.government.{name}" for name in ("accommodation", "appeasement", "persuasion",
                                             "pressure"))
"""The paths of the Iraqi government's four levers (each from 0 to 1)."""


class UnknownParameter(KeyError):
    """A path that names no parameter; the message suggests the nearest paths."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Parameter:
    """One settable value: its path, kind, type, bounds and meaning.

    ``value`` is the value in the scenario the parameter was read from (the schema
    default in the generic list, or None where the schema has none).
    """

    path: str
    kind: str
    type: str
    low: Any = None
    high: Any = None
    choices: tuple[str, ...] = ()
    event: bool = False
    description: str = ""
    value: Any = None
    owner: type[BaseModel] | None = None
    field: str = ""

    @property
    def generic(self) -> str:
        """The path with faction, base and weapon names replaced by placeholders."""
        parts = self.path.split(".")
        if parts[0] in WORLD_SECTIONS and len(parts) > 2:
            parts[1] = f"<{parts[0][:-1]}>"
            if parts[0] == "factions" and len(parts) == 4 and parts[2] == "weapons":
                parts[3] = "<weapon>"
        return ".".join(parts)

    def allowed(self) -> str:
        """What values are allowed, in words ("a number >= 0.0 and <= 1.0")."""
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        if self.type == "boolean":
            return "true or false"
        noun = {"number": "a number", "integer": "a whole number", "date": "a date YYYY-MM-DD"}
        bounds = [f"{word} {bound}" for word, bound in ((">=", self.low), ("<=", self.high))
                  if bound is not None]
        return noun[self.type] + (" " + " and ".join(bounds) if bounds else "")

    def check(self, value: Any) -> Any:
        """The value as the schema would store it.

        Raises:
            ValueError: with a message saying what is allowed.

        """
        if isinstance(value, bool) and self.type != "boolean":
            raise ValueError(f"{self.path} is not a switch; allowed: {self.allowed()}")
        try:
            return _adapter(self.owner, self.field, self.path.rpartition(".")[2]).validate_python(
                value)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].replace("Input should be", "must be")
            raise ValueError(f"{msg} (allowed: {self.allowed()})") from None


@functools.cache
def _adapter(owner: type[BaseModel] | None, field: str, key: str) -> TypeAdapter:
    """A validator for one field (or one entry of a dict field such as a faction's weapons)."""
    assert owner is not None
    info = owner.model_fields[field]
    annotation: Any = info.annotation
    if typing.get_origin(annotation) is dict:
        return TypeAdapter(typing.get_args(annotation)[1], config={"strict": True,
                                                                   "allow_inf_nan": False})
    if info.metadata:
        annotation = typing.Annotated[annotation, *info.metadata]
    strict = not (inspect.isclass(info.annotation) and issubclass(info.annotation, enum.Enum))
    return TypeAdapter(annotation, config={"strict": strict, "allow_inf_nan": False})


# ------------------------------------------------------------------ the walk


def parameters(scenario: Scenario | None = None, kind: str | None = None,
               events: bool = False) -> list[Parameter]:
    """Every settable value, in schema order.

    Args:
        scenario: read names and current values from this scenario; None gives the
            generic list (``factions.<faction>.hostility``) with schema defaults.
        kind: only parameters of this kind (lever, uncertainty, coefficient, run).
        events: only the values a scheduled event may set.

    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    found = _walk(Scenario, scenario, "", "")
    return [p for p in found if (kind is None or p.kind == kind) and (p.event or not events)]


def _walk(cls: type[BaseModel], instance: Any, prefix: str, kind: str) -> Iterator[Parameter]:
    for name, info in cls.model_fields.items():
        if name in TEXT_FIELDS:
            continue
        path = f"{prefix}.{name}" if prefix else name
        here = _extra(info).get("kind") or kind or SECTION_KIND.get(name, "")
        annotation = info.annotation
        value = getattr(instance, name) if instance is not None else None
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if _is_model(annotation):
            yield from _walk(annotation, value, path, here)
        elif origin is list and _is_model(args[0]):
            for item in value if value is not None else [None]:
                key = item.name if item is not None else f"<{name[:-1]}>"
                yield from _walk(args[0], item, f"{path}.{key}", here)
        elif origin is dict and _is_model(args[1]):
            for key, item in (value.items() if value is not None else [(f"<{name[:-1]}>", None)]):
                yield from _walk(args[1], item, f"{path}.{key}", here)
        elif origin is dict:
            inner, metadata = _strip(args[1])
            for key, item in (value.items() if value is not None else [("<weapon>", None)]):
                yield _scalar(f"{path}.{key}", here, inner, metadata, info, item, cls, name)
        else:
            default = value if instance is not None else _default(info)
            yield _scalar(path, here, annotation, info.metadata, info, default, cls, name)


def _scalar(path: str, kind: str, annotation: Any, metadata: list[Any], info: FieldInfo,
            value: Any, owner: type[BaseModel], field: str) -> Parameter:
    low = high = None
    for item in metadata:
        if isinstance(item, (at.Ge, at.Gt)):
            low = getattr(item, "ge", getattr(item, "gt", None))
        elif isinstance(item, (at.Le, at.Lt)):
            high = getattr(item, "le", getattr(item, "lt", None))
    choices: tuple[str, ...] = ()
    if annotation is bool:
        kind_of = "boolean"
    elif annotation is int:
        kind_of = "integer"
    elif annotation is float:
        kind_of = "number"
    elif annotation is dt.date:
        kind_of = "date"
    elif inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        kind_of, choices = "choice", tuple(str(m.value) for m in annotation)
        value = str(value.value) if isinstance(value, enum.Enum) else value
    else:
        raise TypeError(f"{path}: the registry has no type for {annotation!r}")
    return Parameter(path, kind, kind_of, low, high, choices, bool(_extra(info).get("event")),
                     info.description or "", value, owner, field)


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _is_model(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, Frozen)


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *more = typing.get_args(annotation)
        for item in more:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, metadata


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    default = info.default
    if isinstance(default, enum.Enum):
        return str(default.value)
    return None if repr(default) == "PydanticUndefined" else default


# ---------------------------------------------------------------- look-ups


def parameter(path: str, scenario: Scenario | None = None) -> Parameter:
    """The parameter at ``path`` (concrete for a scenario, or generic).

    Raises:
        UnknownParameter: naming the nearest known paths.

    """
    table = {p.path: p for p in parameters(scenario)}
    if path in table:
        return table[path]
    if scenario is None:
        generic = {p.generic: p for p in table.values()}
        if path in generic:
            return generic[path]
    raise UnknownParameter(unknown_message(path, list(table)))


def integer_paths(scenario: Scenario, paths: Sequence[str]) -> list[bool]:
    """Which of ``paths`` take whole numbers (one walk of the registry for all of them)."""
    table = {p.path: p for p in parameters(scenario)}
    return [(table[p] if p in table else parameter(p, scenario)).type == "integer"
            for p in paths]


def unknown_message(path: str, known: list[str]) -> str:
    """'unknown parameter path ...' with the nearest paths, or the keys allowed at its parent."""
    close = difflib.get_close_matches(path, known, n=3, cutoff=0.75)
    if close:
        return f"unknown parameter path; did you mean {', '.join(close)}?"
    parent = path.rpartition(".")[0]
    below = sorted({p[len(parent) + 1:].split(".")[0] for p in known if p.startswith(parent + ".")})
    if parent and below:
        return f"unknown parameter path; allowed after '{parent}.': {', '.join(below)}"
    heads = sorted({p.split(".")[0] for p in known})
    return f"unknown parameter path; paths start with {', '.join(heads)} (see `sim params`)"


def value_of(scenario: Scenario, path: str) -> Any:
    """The scenario's value at ``path``."""
    return parameter(path, scenario).value


def set_in(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in a scenario's plain data (``Scenario.model_dump()``), in place.

    Faction and base entries are addressed by ``name``; dict entries (weapons) by key.

    Raises:
        UnknownParameter: when the path does not lead to a value.

    """
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        if not isinstance(node, (dict, list)):
            raise UnknownParameter(f"unknown parameter path at '{'.'.join(parts[:i + 1])}'")
    if not isinstance(node, dict) or parts[-1] not in node:
        raise UnknownParameter("unknown parameter path")
    node[parts[-1]] = value


def summary_values(scenario: Scenario) -> dict[str, Any]:
    """The levers and uncertainties outside the world lists, by path (summary columns)."""
    return {p.path: p.value for p in parameters(scenario)
            if p.kind in ("lever", "uncertainty") and p.path.split(".")[0] not in WORLD_SECTIONS}


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``PATH=VALUE`` (as given to ``--set``); VALUE is read as a TOML value.

    ``0.5``, ``true``, ``12`` and ``2023-11-01`` become a number, a switch, a whole
    number and a date; anything that is not a TOML value (``escalatory``) stays text.

    Raises:
        ValueError: when there is no ``=`` or no path.

    """
    import tomllib

    path, sep, raw = text.partition("=")
    path, raw = path.strip(), raw.strip()
    if not sep or not path:
        raise ValueError(f"{text!r}: expected PATH=VALUE, e.g. levers.government.pressure=0.6")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value
