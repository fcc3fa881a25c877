"""Loading scenario files: TOML, ``extends``, merging, overrides, and clear error messages.

Merge rule for ``extends = "other"`` (a shipped scenario's name, or a path relative
to the extending file such as ``"other.toml"``):

* tables merge deeply: a variant states only the keys that differ;
* ``factions`` and ``bases`` are patched by ``name``: an entry with a known name
  changes only the keys it states; an entry with a new name is added;
* ``events`` are appended to the events of the file extended;
* any other value (numbers, strings, other lists) replaces the inherited one;
* ``name``, ``description``, ``notes`` and ``kind`` belong to each file and are
  not inherited; ``name`` defaults to the file name without ``.toml``.

A bare name (``baseline``) always means the shipped file in ``scenarios/``; a file of
your own is used only when given as a path (``./baseline.toml``, ``my/variant.toml``).
Every problem is raised as :class:`~sim.scenario.errors.ScenarioError`, whose message
names the file, the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.scenario import registry
from sim.scenario.errors import (
    NAMED_LISTS,
    Origins,
    ScenarioError,
    from_validation_error,
    key_of,
    origin,
    show_path,
)
from sim.scenario.schema import Event, Scenario

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
OWN_KEYS = ("name", "description", "notes", "kind")
APPENDED_LISTS = ("events", "strikes", "ranges")
"""Lists a file appends to those of the file it extends (in order)."""
MAX_FILE_BYTES = 1_000_000
"""Largest scenario file read (a shipped one is under 10 kB)."""
MAX_EXTENDS = 20
"""Longest chain of ``extends`` (the shipped chain is 4 files)."""
MAX_DEPTH = 12
"""Deepest nesting of tables and arrays in a file (the schema needs 4)."""
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
OLD_EVENT_HEADS = {"government": "levers.government", "coalition": "levers.coalition",
                   "region": "uncertainties.region", "patron": "uncertainties.patron",
                   "faction": "factions", "base": "bases"}
"""Event paths of earlier versions, for a hint in the error message."""


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


def is_shipped_name(text: str | Path) -> bool:
    """Whether ``text`` is a bare name (no folder, no ``.toml``) rather than a path."""
    text = str(text)
    return bool(_NAME.match(text)) and not text.endswith(".toml") and "/" not in text


def resolve_path(name_or_path: str | Path) -> Path:
    """Find a scenario file: a bare name means the shipped file, anything else a path.

    Raises:
        ScenarioError: when no such file exists.

    """
    if is_shipped_name(name_or_path):
        path = SCENARIO_DIR / f"{name_or_path}.toml"
        if path.is_file():
            return path
        names = ", ".join(p.stem for p in shipped_scenarios())
        raise ScenarioError("(scenario)", "(scenario)", str(name_or_path),
                            f"no shipped scenario of that name; shipped: {names}; a file of "
                            "your own must be given as a path (e.g. ./my_scenario.toml)")
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    raise ScenarioError(candidate, "(file)", str(name_or_path),
                        "no such file; give the path of a scenario .toml file or the name "
                        "of a shipped scenario (see `sim list`)")


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
        name_or_path: a shipped scenario's name, or the path of a TOML file.

    Returns:
        The validated scenario and its source files.

    Raises:
        ScenarioError: on any problem, naming file, key, value and what is allowed.

    """
    path = resolve_path(name_or_path)
    data, origins, sources = _read(path.resolve(), ())
    data.setdefault("name", path.stem if re.match(r"^[a-z][a-z0-9_]*$", path.stem) else "")
    origins.setdefault(("name",), path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, data, origins, path, Scenario) from None
    return Loaded(checked_events(scenario, origins, path), tuple(sources))


def override(scenario: Scenario, changes: Mapping[str, Any], source: str = "(override)",
             ) -> Scenario:
    """Return a copy of ``scenario`` with values replaced by parameter path, re-validated.

    Args:
        scenario: the scenario to change (it is not modified).
        changes: parameter path -> new value, e.g. ``{"levers.government.pressure": 0.6,
            "factions.kataib_hezbollah.tolerance": 0.3}`` (``sim params`` lists the paths).
        source: how error messages name where the changes came from.

    Raises:
        ScenarioError: when a path is unknown or a value is not allowed.

    """
    data = scenario.model_dump(mode="python")
    known = {p.path for p in registry.parameters(scenario)}
    for path, value in changes.items():
        if path not in known:
            raise ScenarioError(source, path, value, registry.unknown_message(path, sorted(known)))
        registry.set_in(data, path, value)
    try:
        changed = Scenario.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, data, {}, source, Scenario) from None
    return checked_events(changed, {}, source, horizon=False)


# ------------------------------------------------------------------ reading


def _read(path: Path, chain: tuple[Path, ...]) -> tuple[dict, Origins, list[Path]]:
    if path in chain:
        cycle = " -> ".join(show_path(p) for p in (*chain, path))
        raise ScenarioError(chain[-1], "extends", path.name, f"cyclic extends ({cycle})")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(chain[-1], "extends", path.name, f"extends chain longer than "
                            f"{MAX_EXTENDS} files; extend a file nearer the world file")
    raw = _parse(path, chain)
    parent = raw.pop("extends", None)
    own = {key: raw.pop(key) for key in OWN_KEYS if key in raw}
    if parent is None:
        data, origins, sources = {}, {}, []
    elif not isinstance(parent, str) or not parent:
        raise ScenarioError(path, "extends", parent, "a shipped scenario's name such as "
                            "'baseline', or a file name such as 'world.toml'")
    else:
        data, origins, sources = _read(_parent_path(path, parent), (*chain, path))
    for key in OWN_KEYS:
        data.pop(key, None)
    _merge(data, raw, origins, path, (), bool(chain) or parent is not None)
    for key, value in own.items():
        data[key] = value
        origins[(key,)] = path
    return data, origins, [*sources, path]


def _parent_path(path: Path, parent: str) -> Path:
    if is_shipped_name(parent):
        shipped = SCENARIO_DIR / f"{parent}.toml"
        if shipped.is_file():
            return shipped.resolve()
        raise ScenarioError(path, "extends", parent, "no shipped scenario or world file of that "
                            f"name; shipped: {', '.join(p.stem for p in SCENARIO_DIR.glob('*.toml'))}")
    target = (path.parent / parent).resolve()
    if not target.is_file():
        hint = ""
        if (SCENARIO_DIR / Path(parent).name).is_file():
            hint = f"; to extend the shipped file write extends = \"{Path(parent).stem}\""
        raise ScenarioError(path, "extends", parent, f"no such file ({show_path(target)}); "
                            f"extends takes a path relative to the extending file{hint}")
    return target


def _parse(path: Path, chain: tuple[Path, ...]) -> dict:
    """Read one TOML file, refusing what is not a small UTF-8 TOML text."""
    where = chain[-1] if chain else path
    if not path.is_file():
        raise ScenarioError(where, "extends" if chain else "(file)", path.name,
                            f"no such file ({show_path(path)})")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(path, "(file)", f"{size} bytes", f"a scenario file must be under "
                                f"{MAX_FILE_BYTES // 1000} kB")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "(file)", f"byte {exc.start}", "not a UTF-8 text file; save "
                            "the scenario as UTF-8 TOML") from None
    except OSError as exc:
        raise ScenarioError(path, "(file)", path.name, f"cannot be read ({exc.strerror})") from None
    if "\x00" in text:
        raise ScenarioError(path, "(file)", "NUL byte", "not a text file")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "(syntax)", str(exc), "the file must be valid TOML") from None
    except RecursionError:
        raise ScenarioError(path, "(syntax)", "nesting", f"tables or arrays nested too deeply "
                            f"(at most {MAX_DEPTH} levels)") from None
    depth = _depth(raw)
    if depth > MAX_DEPTH:
        raise ScenarioError(path, "(syntax)", f"{depth} levels", f"tables or arrays nested too "
                            f"deeply (at most {MAX_DEPTH} levels)")
    return raw


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level + 1)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level + 1)
    return level


def _merge(base: dict, over: dict, origins: Origins, file: Path, prefix: tuple,
           variant: bool) -> None:
    for key, value in over.items():
        here = (*prefix, key)
        if not prefix and key in (*NAMED_LISTS, *APPENDED_LISTS) and isinstance(value, list):
            if variant and not value:
                raise ScenarioError(file, key, value, f"an empty list changes nothing in a file "
                                    f"that extends another ({key} are patched by name or "
                                    "appended, never removed); delete the line, or give the "
                                    "entries to change")
            if key == "ranges":
                _patch_ranges(base, value, origins, file)
            elif key in APPENDED_LISTS:
                _append_events(base, value, origins, file, key)
            else:
                base[key] = _patch_named(base.get(key, []), value, origins, file, key)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, origins, file, here, variant)
        else:
            base[key] = copy.deepcopy(value)
            _mark(origins, here, value, file)


def _append_events(base: dict, events: list, origins: Origins, file: Path,
                   key: str = "events") -> None:
    start = len(base.get(key, []))
    base[key] = [*base.get(key, []), *copy.deepcopy(events)]
    for i in range(len(events)):
        origins[(key, str(start + i))] = file
        origins[(key, str(start + i), "#")] = Path(str(i + 1))


def _patch_ranges(base: dict, ranges: list, origins: Origins, file: Path) -> None:
    """Ranges are keyed by path: a file's range replaces the inherited one of its path."""
    given = {r.get("path"): r for r in ranges if isinstance(r, dict)}
    kept = [r for r in base.get("ranges", []) if not isinstance(r, dict)
            or r.get("path") not in given]
    base["ranges"] = kept
    _append_events(base, ranges, origins, file, "ranges")


def _patch_named(items: list, patches: list, origins: Origins, file: Path, kind: str) -> list:
    items = copy.deepcopy(items)
    seen: set[str] = set()
    for i, patch in enumerate(patches):
        if not isinstance(patch, dict) or not isinstance(patch.get("name"), str):
            value = patch.get("name", "(missing)") if isinstance(patch, dict) else patch
            raise ScenarioError(file, f"{kind}[{i + 1}].name", value,
                                f"every entry of [[{kind}]] needs a string 'name'")
        name = patch["name"]
        if name in seen:
            raise ScenarioError(file, f"{kind}.{name}", name, f"this name appears twice in "
                                f"[[{kind}]] of one file; give each {kind[:-1]} once (merge "
                                "the two entries)")
        seen.add(name)
        match = next((item for item in items if item.get("name") == name), None)
        if match is None:
            items.append(copy.deepcopy(patch))
            _mark(origins, (kind, name), patch, file)
        else:
            _merge(match, patch, origins, file, (kind, name), False)
    return items


def _mark(origins: Origins, path: tuple, value: Any, file: Path) -> None:
    origins[path] = file
    if isinstance(value, dict):
        for key, sub in value.items():
            _mark(origins, (*path, key), sub, file)


# ------------------------------------------------------------------- events


def checked_events(scenario: Scenario, origins: Origins, default: Path | str,
                   horizon: bool = True) -> Scenario:
    """The scenario with each event's value checked against the parameter it sets.

    Args:
        scenario: the validated scenario.
        origins: which file set each key (for messages).
        default: the file (or label) named when no origin is known.
        horizon: refuse events after ``run.days`` (a file's own events must fit its
            horizon; an override that shortens the horizon leaves later events unused).

    Raises:
        ScenarioError: for a day beyond the horizon, a path no event may set, or a value
            the parameter does not allow.

    """
    settable = {p.path: p for p in registry.parameters(scenario, events=True)}
    every = [p.path for p in registry.parameters(scenario)]
    events = []
    for i, event in enumerate(scenario.events):
        loc = ("events", str(i))
        file, key = origin(origins, loc, default), key_of(loc, origins)
        if horizon and event.day > scenario.run.days:
            raise ScenarioError(file, f"{key}.day", event.day, f"the day must be within the "
                                f"horizon 1..{scenario.run.days} (run.days)")
        param = settable.get(event.set)
        if param is None:
            raise ScenarioError(file, f"{key}.set", event.set, _event_path_hint(event.set, every,
                                                                                 settable))
        try:
            value = param.check(event.value)
        except ValueError as exc:
            raise ScenarioError(file, f"{key}.value", event.value, f"{event.set}: {exc}") from None
        value = str(value.value) if param.type == "choice" and hasattr(value, "value") else value
        events.append(event if value == event.value and type(value) is type(event.value)
                      else Event(day=event.day, set=event.set, value=value, note=event.note))
    return checked_ranges(scenario.model_copy(update={"events": events}), origins, default)


def checked_ranges(scenario: Scenario, origins: Origins, default: Path | str) -> Scenario:
    """The scenario, with each range checked against its parameter: a number of the
    registry (not ``run.*``), both ends within the parameter's bounds.

    Raises:
        ScenarioError: naming the file, the range's key, the value and what is allowed.

    """
    known = {p.path: p for p in registry.parameters(scenario)}
    for i, item in enumerate(scenario.ranges):
        loc = ("ranges", str(i))
        file, key = origin(origins, loc, default), key_of(loc, origins)
        param = known.get(item.path)
        if param is None or param.type not in ("number", "integer") or item.path.startswith(
                "run."):
            allowed = ("a number of the parameter registry (`sim params`)" if param is None
                       else f"a number; {item.path} is a {param.type}")
            raise ScenarioError(file, f"{key}.path", item.path, allowed)
        for end in ("low", "high"):
            value = getattr(item, end)
            if (param.low is not None and value < param.low) or (
                    param.high is not None and value > param.high):
                raise ScenarioError(file, f"{key}.{end}", value,
                                    f"{item.path} allows {param.allowed()}")
    return scenario


def _event_path_hint(path: str, every: list[str], settable: Mapping[str, Any]) -> str:
    head, _, rest = path.partition(".")
    if head in OLD_EVENT_HEADS:
        new = f"{OLD_EVENT_HEADS[head]}.{rest}"
        if new in settable:
            return f"event paths are parameter paths now; write set = \"{new}\""
    if path in every:
        return ("this parameter cannot change during a run; events may set: "
                + ", ".join(sorted({p.generic for p in settable.values()})))
    return registry.unknown_message(path, sorted(settable))

