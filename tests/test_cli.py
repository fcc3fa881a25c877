"""The command line as a new user meets it: descriptions, one vocabulary of metavars,
``--version``, tables that fit 100 columns, plural forms."""

from __future__ import annotations

import argparse

import pytest

from sim import __version__
from sim.cli import build_parser, main
from sim.cli.common import TABLE_WIDTH, decimals, number_column, plural, table_text

NOT_OURS = {"exercise", "report"}
"""Subcommands whose parsers belong to the teaching module's own owners (no description yet)."""

SAME_NAME_OTHER_MEANING = {
    "--worlds": {"plausible"},  # a count of candidate worlds, elsewhere a plausible folder
    "--out": {"docs", "report"},  # a file to write, elsewhere a folder
}
"""Options whose metavar differs in some commands because the value means something else."""


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every ``sim`` subcommand's parser by name."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_has_a_description_and_a_help_line():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    for name, sub in subcommands().items():
        assert helps.get(name), name
        if name not in NOT_OURS:
            assert sub.description and len(sub.description) > 40, name


def test_the_same_option_has_the_same_metavar_everywhere():
    seen: dict[str, dict[str, str]] = {}
    for name, sub in subcommands().items():
        for action in sub._actions:
            if not action.option_strings or action.nargs == 0 or action.choices:
                continue
            option = max(action.option_strings, key=len)
            if name in SAME_NAME_OTHER_MEANING.get(option, ()):
                continue
            seen.setdefault(option, {})[name] = str(action.metavar)
    for option, metavars in seen.items():
        assert len(set(metavars.values())) == 1, (option, metavars)
    assert seen["--reps"] and set(seen["--reps"].values()) == {"N"}
    assert set(seen["--workers"].values()) == {"W"}


def test_every_option_states_its_default():
    for name, sub in subcommands().items():
        if name in NOT_OURS:
            continue
        for action in sub._actions:
            if (action.option_strings and action.default not in (None, False, [])
                    and action.dest != "help"):
                assert "default" in (action.help or ""), (name, action.option_strings)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sim {__version__}"


def widest(text: str) -> int:
    """The longest line of the text before the lines naming the output folder."""
    return max(len(line) for line in text.split("full table with intervals:")[0].splitlines())


@pytest.mark.parametrize("targets", [["baseline", "pressure_led"], ["--all-policies"]])
def test_the_compare_table_fits_100_columns_and_wide_shows_it_whole(tmp_path, capsys, targets):
    run = [*targets, "--reps", "2", "--days", "10", "--workers", "1"]
    assert main(["compare", *run, "--out", str(tmp_path / "a")]) == 0
    narrow = capsys.readouterr().out
    assert widest(narrow) <= TABLE_WIDTH
    assert main(["compare", *run, "--out", str(tmp_path / "b"), "--wide"]) == 0
    wide = capsys.readouterr().out
    header = next(line for line in wide.splitlines() if line.startswith("scenario"))
    assert all(m in header for m in ("attacks", "open_confrontation"))  # one table, all outcomes
    assert widest(wide) > widest(narrow) or len(targets) == 2


def test_table_text_stacks_parts_that_repeat_the_row_labels():
    headers = ["scenario", *[f"outcome_{i}" for i in range(10)]]
    rows = [["a_long_scenario_name", *["123.4 (-56.7*)"] * 10], ["b", *["1.0 (ref)"] * 10]]
    text = table_text(headers, rows, keep=1)
    assert widest(text) <= TABLE_WIDTH
    assert text.count("a_long_scenario_name") > 1
    assert all(h in text for h in headers)
    assert widest(table_text(headers, rows, keep=1, wide=True)) > TABLE_WIDTH


def test_one_number_format_per_column():
    assert number_column([0.0, 1.0333, 12.9]) == ["0.0", "1.0", "12.9"]
    assert number_column([0.0, 0.5412, 1.0]) == ["0.000", "0.541", "1.000"]
    assert number_column([1.0333, 8.8]) == ["1.03", "8.80"]
    assert decimals([float("nan")]) == 3


def test_plural():
    assert plural(1, "event") == "1 event"
    assert plural(0, "event") == "0 events"
    assert plural(2, "replication") == "2 replications"
    assert plural(3, "box", "boxes") == "3 boxes"
