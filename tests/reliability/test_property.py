"""Property: whatever scenario file or option a user gives, `sim check` and `sim run` either
succeed or end with exit status 2 and one named error line, never a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario import registry

PATHS = [p.generic for p in registry.parameters()]
NAMES = {"<faction>": ["kataib_hezbollah", "badr_organization", "new_group"],
         "<base>": ["tower_22", "erbil", "new_site"], "<weapon>": ["drone", "rocket", "sling"]}

scalars = st.one_of(
    st.integers(min_value=-10**20, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.sampled_from([0, 1, -1, 0.5, 1.5, 1e308, -1e308, "escalatory", "none", "", "Iraq"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (int, dt.date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string


@st.composite
def assignments(draw: st.DrawFn) -> tuple[str, object]:
    """A key path (known, misspelt or unknown) and a value of any type."""
    path = draw(st.one_of(st.sampled_from(PATHS),
                          st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.", min_size=1,
                                  max_size=30)))
    for placeholder, names in NAMES.items():
        if placeholder in path:
            path = path.replace(placeholder, draw(st.sampled_from(names)))
    return path.strip("."), draw(values)


def render(items: list[tuple[str, object]], events: list[tuple[object, str, object]]) -> str:
    lines = ['extends = "baseline"']
    for path, value in items:
        parts = [p for p in path.split(".") if p]
        if not parts:
            continue
        if parts[0] in ("factions", "bases") and len(parts) >= 3:
            lines += [f"[[{parts[0]}]]", f'name = "{parts[1]}"',
                      f"{'.'.join(parts[2:])} = {toml_value(value)}"]
        elif len(parts) == 1:
            lines.insert(1, f"{parts[0]} = {toml_value(value)}")
        else:
            lines += [f"[{'.'.join(parts[:-1])}]", f"{parts[-1]} = {toml_value(value)}"]
    for day, target, value in events:
        lines += ["[[events]]", f"day = {toml_value(day)}", f"set = {json.dumps(target)}",
                  f"value = {toml_value(value)}"]
    return "\n".join(lines) + "\n"


def call(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(assignments(), max_size=4),
       events=st.lists(st.tuples(values, st.sampled_from([*PATHS, "region.gaza", "x"]), values),
                       max_size=2))
def test_any_scenario_file_is_run_or_refused_with_one_named_error(items, events):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.toml"
        path.write_text(render(items, events), encoding="utf-8")
        code, err = call(["check", str(path)])
        assert_clean(code, err)
        if code == 2:
            assert "generated.toml" in err or "(scenario)" in err or "baseline" in err, err
        out = Path(tmp) / "out"
        code_run, err_run = call(["run", str(path), "--reps", "1", "--days", "3", "--out",
                                  str(out)])
        assert_clean(code_run, err_run)
        assert (code_run == 0) == (code == 0)  # run accepts exactly what check accepts
        assert out.exists() == (code_run == 0)
        assert not list(Path(tmp).glob("out.partial"))


option_values = st.one_of(st.integers(min_value=-10**12, max_value=10**12).map(str),
                          st.text(max_size=8), st.sampled_from(["0", "1", "-1", "1e3", "inf"]))
COSTLY_REPS = range(201, 1_000_001)
"""Replication counts the tool accepts but that would take minutes to run here."""


@settings(max_examples=120, deadline=None)
@given(option=st.sampled_from(["--reps", "--days", "--seed", "--workers"]), value=option_values,
       command=st.sampled_from(["run", "compare", "validate"]))
def test_any_option_value_is_used_or_refused_with_one_named_error(option, value, command):
    if option == "--reps" and value.isascii() and value.strip().isdigit() and (
            int(value) in COSTLY_REPS):
        value = str(int(value) % 200 + 1)  # accepted all the same; kept cheap to run
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        scenario = "historical_2023_24" if command == "validate" else "baseline"
        argv = [command, scenario, option, value, "--out", str(out)]
        if option != "--days":
            argv += ["--days", "2"]
        if option != "--reps" and command != "validate":
            argv += ["--reps", "2"]
        if option != "--reps" and command == "validate":
            argv += ["--reps", "20"]
        code, err = call(argv)
        assert "Traceback" not in err, err
        assert code in (0, 2), (code, err)
        if code == 2:
            assert (len(err.strip().splitlines()) == 1 and option.lstrip("-") in err) or (
                "reps" in err), err
