"""Loading scenario files: TOML, ``extends``, merging and clear error messages.

Merge rule for ``extends = "other.toml"`` (path relative to the extending file):

* tables merge deeply: a variant states only the keys that differ;
* ``factions`` and ``bases`` are patched by ``name``: an entry with a known name
  changes only the keys it states; an entry with a new name is added;
* ``events`` are appended to the events of the file extended;
* any other value (numbers, strings, other lists) replaces the inherited one;
* ``name``, ``description``, ``notes`` and ``kind`` belong to each file and are
  not inherited; ``name`` defaults to the file name without ``.toml``.

Every problem is raised as :class:`ScenarioError`, whose message names the file,
the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel, TypeAdapter, ValidationError

from sim.scenario.schema import Event, Scenario, event_value_type

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
NAMED_LISTS = ("factions", "bases")
OWN_KEYS = ("name", "description", "notes", "kind")

Origins = dict[tuple[str, ...], Path]


class ScenarioError(ValueError):
    """A scenario file that cannot be used, with where and why."""

    def __init__(self, file: Path | str, key: str, value: Any, allowed: str) -> None:
        self.file, self.key, self.value, self.allowed = str(file), key, value, allowed
        shown = "(missing)" if value is _MISSING else repr(value)
        super().__init__(f"{_show(file)}: {key} = {shown}: {allowed}")


_MISSING = object()


def _show(path: Path | str) -> str:
    """Show a path relative to the working directory when it is below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Loaded:
    """A validated scenario and the files it was built from (child last)."""

    scenario: Scenario
    sources: tuple[Path, ...]

    @property
    def source_hash(self) -> str:
        """SHA-256 over the bytes of every source file, in order."""
        digest = hashlib.sha256()
        for path in self.sources:
            digest.update(path.read_bytes())
        return digest.hexdigest()


def resolve_path(name_or_path: str | Path) -> Path:
    """Find a scenario file from a path or a shipped scenario name.

    Args:
        name_or_path: a path to a TOML file, or the name of a file in ``scenarios/``.

    Raises:
        ScenarioError: when no such file exists.

    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if candidate.is_file():
            return candidate
        raise ScenarioError(candidate, "(file)", str(name_or_path),
                            "no such file; give the path of a scenario .toml file "
                            "or the name of a shipped scenario")
    for folder in (Path("scenarios"), SCENARIO_DIR):
        path = folder / f"{name_or_path}.toml"
        if path.is_file():
            return path
    names = ", ".join(p.stem for p in shipped_scenarios())
    raise ScenarioError(
        name_or_path, "(scenario)", str(name_or_path), f"no such file or shipped scenario; "
        f"shipped: {names}"
    )


def shipped_scenarios(kind: str | None = None) -> list[Path]:
    """Return the shipped scenario files (those with a ``description``), sorted by name.

    Args:
        kind: only scenarios of this kind ("policy" or "replay"); None for all.

    """
    found = []
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        if "description" in raw and kind in (None, raw.get("kind", "policy")):
            found.append(path)
    return found


def load(name_or_path: str | Path) -> Scenario:
    """Load, merge and validate a scenario file; see :func:`load_with_sources`."""
    return load_with_sources(name_or_path).scenario


def load_with_sources(name_or_path: str | Path) -> Loaded:
    """Load, merge and validate a scenario file.

    Args:
        name_or_path: a path, or the name of a shipped scenario.

    Returns:
        The validated scenario and its source files.

    Raises:
        ScenarioError: on any problem, naming file, key, value and what is allowed.

    """
    path = resolve_path(name_or_path)
    data, origins, sources = _read(path.resolve(), ())
    data.setdefault("name", path.stem)
    origins.setdefault(("name",), path)
    scenario = _validate(data, origins, path)
    _check_events(scenario, data, origins)
    return Loaded(scenario, tuple(sources))


def _read(path: Path, chain: tuple[Path, ...]) -> tuple[dict, Origins, list[Path]]:
    if path in chain:
        cycle = " -> ".join(_show(p) for p in (*chain, path))
        raise ScenarioError(chain[-1], "extends", path.name, f"cyclic extends ({cycle})")
    if not path.is_file():
        where = chain[-1] if chain else path
        raise ScenarioError(where, "extends" if chain else "(file)", path.name,
                            f"no such file ({_show(path)}); extends takes a path relative "
                            "to the extending file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", str(exc), "the file must be valid TOML") from None
    parent = raw.pop("extends", None)
    own = {key: raw.pop(key) for key in OWN_KEYS if key in raw}
    if parent is None:
        data, origins, sources = {}, {}, []
    elif not isinstance(parent, str):
        raise ScenarioError(path, "extends", parent, "a file name (string) such as 'world.toml'")
    else:
        data, origins, sources = _read((path.parent / parent).resolve(), (*chain, path))
    for key in OWN_KEYS:
        data.pop(key, None)
    _merge(data, raw, origins, path, ())
    for key, value in own.items():
        data[key] = value
        origins[(key,)] = path
    return data, origins, [*sources, path]


def _merge(base: dict, over: dict, origins: Origins, file: Path, prefix: tuple) -> None:
    for key, value in over.items():
        here = (*prefix, key)
        if not prefix and key in NAMED_LISTS and isinstance(value, list):
            base[key] = _patch_named(base.get(key, []), value, origins, file, key)
        elif not prefix and key == "events" and isinstance(value, list):
            start = len(base.get("events", []))
            base["events"] = [*base.get("events", []), *value]
            for i in range(len(value)):
                origins[("events", str(start + i))] = file
                origins[("events", str(start + i), "#")] = Path(str(i + 1))
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, origins, file, here)
        else:
            base[key] = copy.deepcopy(value)
            _mark(origins, here, value, file)


def _patch_named(items: list, patches: list, origins: Origins, file: Path, kind: str) -> list:
    items = copy.deepcopy(items)
    for i, patch in enumerate(patches):
        if not isinstance(patch, dict) or not isinstance(patch.get("name"), str):
            raise ScenarioError(file, f"{kind}[{i + 1}].name", patch.get("name", _MISSING)
                                if isinstance(patch, dict) else patch,
                                f"every entry of [[{kind}]] needs a string 'name'")
        name = patch["name"]
        match = next((item for item in items if item.get("name") == name), None)
        if match is None:
            items.append(copy.deepcopy(patch))
            _mark(origins, (kind, name), patch, file)
        else:
            _merge(match, patch, origins, file, (kind, name))
    return items


def _mark(origins: Origins, path: tuple, value: Any, file: Path) -> None:
    origins[path] = file
    if isinstance(value, dict):
        for key, sub in value.items():
            _mark(origins, (*path, key), sub, file)


def _origin(origins: Origins, path: tuple, default: Path) -> Path:
    for n in range(len(path), 0, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return default


# ------------------------------------------------------------------ validation


def _validate(data: dict, origins: Origins, path: Path) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        if not error["loc"] and error["type"] == "value_error":
            key, value, allowed = _model_error(data, error["msg"])
            loc = tuple(key.split("."))
            below = {f for k, f in origins.items() if k[:len(loc)] == loc}
            file = path if path.resolve() in below else _origin(origins, loc, path)
            raise ScenarioError(file, key, value, allowed) from None
        loc = _named_loc(data, error["loc"])
        if error["type"] in ("missing", "too_short") and loc and loc[-1].isdigit():
            loc = loc[:-1]  # a list or tuple too short: show the whole value
            error = {**error, "type": "too_short", "input": _lookup(data, loc)}
        file = _origin(origins, loc, path)
        value = error.get("input", _MISSING) if error["type"] != "missing" else _MISSING
        raise ScenarioError(file, _key(loc, origins), value, _allowed(error, loc)) from None


def _model_error(data: dict, msg: str) -> tuple[str, Any, str]:
    """Split a whole-scenario check ("factions.x.weapons: unknown ...") into key, value, why."""
    msg = msg.removeprefix("Value error, ")
    key, sep, why = msg.partition(": ")
    if not sep or " " in key:
        return "(scenario)", _MISSING, msg
    value = _lookup(data, tuple(key.split(".")))
    return key, value, why


def _lookup(data: dict, loc: tuple[str, ...]) -> Any:
    """The raw value at a key path (faction and base entries addressed by name)."""
    node: Any = data
    for part in loc:
        if isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part),
                        node[int(part)] if part.isdigit() and int(part) < len(node) else None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return _MISSING
        if node is None:
            return _MISSING
    return node


def _named_loc(data: dict, loc: tuple) -> tuple[str, ...]:
    """Turn pydantic's list indices into faction/base names and event numbers."""
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


def _key(loc: tuple[str, ...], origins: Origins) -> str:
    if len(loc) >= 2 and loc[0] == "events":
        number = origins.get(("events", loc[1], "#"), Path(loc[1]))
        return ".".join([f"events[{number}]", *loc[2:]])
    return ".".join(loc) if loc else "(top level)"


def _allowed(error: dict, loc: tuple[str, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        fields = _fields_at(loc[:-1])
        return f"unknown key; allowed keys here: {', '.join(fields)}" if fields else "unknown key"
    if kind == "missing":
        return "required key is missing"
    bounds = _bounds(loc)
    if kind == "too_short":
        return f"too few items{bounds}"
    msg = (error["msg"].replace("Input should be", "must be").replace("Value error, ", "")
           .replace("String should", "must"))
    return f"{msg}{bounds}"


def _walk(loc: tuple[str, ...]) -> tuple[Any, str | None]:
    """Follow a key path through the schema; return (model class, last field name)."""
    cls: Any = Scenario
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
        origin = typing.get_origin(annotation)
        if origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
            skip = True
        cls = annotation
    return cls, field


def _fields_at(loc: tuple[str, ...]) -> list[str]:
    cls, _ = _walk(loc) if loc else (Scenario, None)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return list(cls.model_fields)
    return []


def _bounds(loc: tuple[str, ...]) -> str:
    owner, _ = _walk(loc[:-1]) if len(loc) > 1 else (Scenario, None)
    if not (isinstance(owner, type) and issubclass(owner, BaseModel)) or not loc:
        return ""
    info = owner.model_fields.get(loc[-1])
    if info is None:
        return ""
    return _field_bounds(info)


def _field_bounds(info: Any) -> str:
    """' (allowed: <type>, >= a and <= b)' for a pydantic field."""
    parts = []
    for item in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if isinstance(item, (at.Ge, at.Gt, at.Le, at.Lt)) and hasattr(item, attr):
                parts.append(f"{word} {getattr(item, attr)}")
    kind = getattr(info.annotation, "__name__", str(info.annotation))
    if isinstance(info.annotation, types.UnionType):
        kind = str(info.annotation)
    if typing.get_origin(info.annotation) is tuple:
        kind = f"a list of {len(typing.get_args(info.annotation))} numbers"
    return f" (allowed: {kind}{', ' + ' and '.join(parts) if parts else ''})"


def _check_events(scenario: Scenario, data: dict, origins: Origins) -> None:
    horizon = scenario.run.days
    for i, event in enumerate(scenario.events):
        loc = ("events", str(i))
        file = _origin(origins, loc, Path("?"))
        key = _key(loc, origins)
        if event.day > horizon:
            raise ScenarioError(file, f"{key}.day", event.day,
                                f"the day must be within the horizon 1..{horizon} (run.days)")
        try:
            cls, field = event_value_type(data, event.set)
        except ValueError as exc:
            raise ScenarioError(file, f"{key}.set", event.set, str(exc)) from None
        _check_event_value(event, cls, field, file, key)


def _check_event_value(event: Event, cls: type[BaseModel], field: str, file: Path,
                       key: str) -> None:
    info = cls.model_fields[field]
    annotation = info.annotation
    if info.metadata:
        annotation = typing.Annotated[annotation, *info.metadata]
    adapter = TypeAdapter(annotation)
    if isinstance(event.value, bool) and info.annotation is not bool:
        raise ScenarioError(file, f"{key}.value", event.value, f"{event.set} is not a switch")
    try:
        adapter.validate_python(event.value)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"].replace("Input should be", "must be")
        raise ScenarioError(file, f"{key}.value", event.value,
                            f"{event.set}: {msg}{_field_bounds(info)}") from None


# -------------------------------------------------------------------- overrides


def override(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """Return a copy of ``scenario`` with dotted-path values replaced, re-validated.

    Paths address nested tables (``levers.government.pressure``), named factions
    and bases (``factions.kataib_hezbollah.hostility``) and weapons
    (``weapons.rocket.hit_probability``).

    Raises:
        ScenarioError: when a path is unknown or a value is not allowed.

    """
    data = scenario.model_dump(mode="python")
    for path, value in changes.items():
        parts = path.split(".")
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = next((x for x in node if x.get("name") == part), None)
            elif isinstance(node, dict):
                node = node.get(part)
            if node is None:
                raise ScenarioError("(override)", path, value,
                                    f"unknown key path at '{'.'.join(parts[:i + 1])}'")
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ScenarioError("(override)", path, value, "unknown key path")
        node[parts[-1]] = value
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = _named_loc(data, error["loc"])
        raise ScenarioError("(override)", ".".join(loc), error.get("input"),
                            _allowed(error, loc)) from None
