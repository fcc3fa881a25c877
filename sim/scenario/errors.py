"""Scenario errors: one line that names the file, the key, the bad value and what is allowed.

:class:`ScenarioError` is what every problem with a scenario becomes, whether it
comes from a file, a ``--set`` option, an override or an event.
:func:`from_validation_error` turns pydantic's report into that one line.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel, ValidationError

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(missing)"})()
"""Stands for a value that is absent (a required key not given)."""
NAMED_LISTS = ("factions", "bases")

Origins = dict[tuple[str, ...], Path]
"""Which file set each key path (for errors in files that extend others)."""


class ScenarioError(ValueError):
    """A scenario that cannot be used, with where and why.

    Attributes:
        file: the file (or "(override)", "(--set)") the bad value came from.
        key: the dotted key path.
        value: the bad value (``MISSING`` when a required key is absent).
        allowed: what is allowed instead.

    """

    def __init__(self, file: Path | str, key: str, value: Any, allowed: str) -> None:
        self.file, self.key, self.value, self.allowed = str(file), key, value, allowed
        shown = "(missing)" if value is MISSING else _short(repr(value))
        super().__init__(f"{show_path(file)}: {key} = {shown}: {allowed}")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def show_path(path: Path | str) -> str:
    """A path relative to the working directory when it is below it."""
    text = str(path)
    if text.startswith("("):
        return text
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def from_validation_error(exc: ValidationError, data: dict, origins: Origins, file: Path | str,
                          root: type[BaseModel]) -> ScenarioError:
    """The first problem pydantic found, as a :class:`ScenarioError`.

    Args:
        exc: pydantic's error.
        data: the merged data that was validated.
        origins: which file set each key (empty for overrides).
        file: the file (or label) to name when no origin is known.
        root: the schema class validated (``Scenario``).

    """
    error = exc.errors()[0]
    if not error["loc"] and error["type"] == "value_error":
        key, value, allowed = _model_error(data, error["msg"])
        loc = tuple(key.split("."))
        below = {f for k, f in origins.items() if k[:len(loc)] == loc}
        where = file if Path(str(file)).resolve() in below else origin(origins, loc, file)
        return ScenarioError(where, key, value, allowed)
    loc = _named_loc(data, error["loc"])
    if error["type"] in ("missing", "too_short") and loc and loc[-1].isdigit():
        loc = loc[:-1]  # a list too short: show the whole value
        error = {**error, "type": "too_short", "input": lookup(data, loc)}
    value = error.get("input", MISSING) if error["type"] != "missing" else MISSING
    return ScenarioError(origin(origins, loc, file), key_of(loc, origins), value,
                         _allowed(error, loc, root))


def origin(origins: Origins, path: tuple, default: Path | str) -> Path | str:
    """The file that set ``path`` (or the nearest key above it)."""
    for n in range(len(path), 0, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return default


def key_of(loc: tuple[str, ...], origins: Origins) -> str:
    """A key path as shown to users (events, strikes and ranges numbered within their own
    file).
    """
    if len(loc) >= 2 and loc[0] in ("events", "strikes", "ranges") and loc[1].isdigit():
        number = origins.get((loc[0], loc[1], "#"), Path(str(int(loc[1]) + 1)))
        return ".".join([f"{loc[0]}[{number}]", *loc[2:]])
    return ".".join(loc) if loc else "(top level)"


def lookup(data: Any, loc: tuple[str, ...]) -> Any:
    """The raw value at a key path (faction and base entries addressed by name)."""
    node: Any = data
    for part in loc:
        if isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part),
                        node[int(part)] if part.isdigit() and int(part) < len(node) else None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return MISSING
        if node is None:
            return MISSING
    return node


def _model_error(data: dict, msg: str) -> tuple[str, Any, str]:
    """Split a whole-scenario check ("factions.x.weapons: unknown ...") into key, value, why."""
    msg = msg.removeprefix("Value error, ")
    key, sep, why = msg.partition(": ")
    if not sep or " " in key:
        return "(scenario)", MISSING, msg
    return key, lookup(data, tuple(key.split("."))), why


def _named_loc(data: dict, loc: tuple) -> tuple[str, ...]:
    """Turn pydantic's list indices into faction/base names."""
    out: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, int) and out and out[-1] in NAMED_LISTS and isinstance(node, list):
            item = node[part] if part < len(node) else {}
            out.append(str(item.get("name", part)) if isinstance(item, dict) else str(part))
        else:
            out.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _allowed(error: dict, loc: tuple[str, ...], root: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        fields = _fields_at(root, loc[:-1])
        return f"unknown key; allowed keys here: {', '.join(fields)}" if fields else "unknown key"
    if kind == "missing":
        return "required key is missing"
    bounds = _bounds(root, loc)
    if kind == "too_short":
        return f"too few items{bounds}"
    msg = (error["msg"].replace("Input should be", "must be").replace("Value error, ", "")
           .replace("String should", "must"))
    if kind == "finite_number":
        msg = "must be a finite number"
    return f"{msg}{bounds}"


def _walk(root: type[BaseModel], loc: tuple[str, ...]) -> tuple[Any, str | None]:
    """Follow a key path through the schema; return (model class, last field name)."""
    cls: Any = root
    field: str | None = None
    skip = False
    for part in loc:
        if skip:
            skip = False
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None, None
        if part not in cls.model_fields:
            return cls, part
        field = part
        annotation = cls.model_fields[part].annotation
        if typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
            skip = True
        cls = annotation
    return cls, field


def _fields_at(root: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    cls, _ = _walk(root, loc) if loc else (root, None)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return list(cls.model_fields)
    return []


def _bounds(root: type[BaseModel], loc: tuple[str, ...]) -> str:
    owner, _ = _walk(root, loc[:-1]) if len(loc) > 1 else (root, None)
    if not (isinstance(owner, type) and issubclass(owner, BaseModel)) or not loc:
        return ""
    info = owner.model_fields.get(loc[-1])
    return field_bounds(info) if info is not None else ""


def field_bounds(info: Any) -> str:
    """' (allowed: <type>, >= a and <= b)' for a pydantic field."""
    parts = []
    for item in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if isinstance(item, (at.Ge, at.Gt, at.Le, at.Lt)) and hasattr(item, attr):
                parts.append(f"{word} {getattr(item, attr)}")
    kind = getattr(info.annotation, "__name__", str(info.annotation))
    if isinstance(info.annotation, types.UnionType):
        kind = str(info.annotation)
    return f" (allowed: {kind}{', ' + ' and '.join(parts) if parts else ''})"
