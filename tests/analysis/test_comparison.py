"""A comparison from Python equals the command's; failures are recorded; a killed one resumes."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim
from sim.analysis.comparison import ComparisonError
from sim.cli import main
from sim.experiment import runner
from sim.experiment.plan import replication_seeds
from sim.experiment.store import PARTIAL, RunStore
from sim.model import model as model_module

ARGS = ["baseline", "gaza_truce", "--reps", "4", "--days", "15", "--seed", "3"]
RUN_CHUNK = runner.run_chunk


@pytest.fixture(scope="module")
def from_cli(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "cmp"
    assert main(["compare", *ARGS, "--workers", "1", "--out", str(out)]) == 0
    return out


def test_python_api_returns_the_tables_the_command_writes(from_cli, tmp_path):
    result = sim.compare(["baseline", "gaza_truce"], replications=4, days=15, seed=3)
    assert result.folder is None and result.reference == "baseline"
    written = pd.read_csv(from_cli / "comparison.csv", keep_default_na=False, na_values=[""])
    assert_frame_equal(result.table.fillna({"significant": ""}),
                       written.fillna({"significant": ""}), check_dtype=False)
    summary = pd.read_csv(from_cli / "summary.csv")
    assert_frame_equal(result.summary().reset_index(drop=True), summary, check_dtype=False)
    streamed = sim.compare(["baseline", "gaza_truce"], replications=4, days=15, seed=3,
                           out=tmp_path / "py")
    assert_frame_equal(streamed.table, result.table)
    assert (tmp_path / "py" / "gaza_truce" / "metadata.json").exists()


def test_set_applies_to_every_scenario(tmp_path):
    result = sim.compare(["baseline", "pressure_led"], replications=2, days=5,
                         changes={"levers.coalition.retaliation": "none"})
    for run in result.runs.values():
        assert str(run.scenario.levers.coalition.retaliation) == "none"
    assert (result.scenarios()["levers.coalition.retaliation"] == "none").all()


def test_bad_targets_raise_comparison_errors():
    with pytest.raises(ComparisonError, match="is not among"):
        sim.compare(["baseline"], reference="pressure_led", replications=2, days=3)
    with pytest.raises(ComparisonError, match="at least 2"):
        sim.compare(["baseline"], replications=1, days=3)


def failing_chunk(spec, label, entry, index, jobs, days, dirs=None, *engine_and_tables):
    """run_chunk in which gaza_truce's replication 1 raises."""
    real = model_module.simulate
    bad = dict(jobs).get(1) if label == "gaza_truce" else None

    def simulate(spec, seed, days=None):
        if seed == bad:
            raise RuntimeError("injected failure")
        return real(spec, seed, days)

    model_module.simulate = simulate
    try:
        return RUN_CHUNK(spec, label, entry, index, jobs, days, dirs, *engine_and_tables)
    finally:
        model_module.simulate = real


def test_a_failed_replication_is_listed_and_the_pairs_drop_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "run_chunk", failing_chunk)
    out = tmp_path / "cmp"
    assert main(["compare", *ARGS, "--workers", "1", "--out", str(out)]) == 1
    assert "1 replication failed" in capsys.readouterr().err
    failures = pd.read_csv(out / "failures.csv")
    assert failures[["scenario", "replication"]].values.tolist() == [["gaza_truce", 1]]
    assert (out / "gaza_truce" / "failures.csv").exists()
    table = pd.read_csv(out / "comparison.csv")
    assert (table["n_pairs"] <= 3).all() and (table.loc[table.metric == "attacks", "n"]
                                              .tolist() == [3, 3])
    assert "failed" in (out / "comparison.md").read_text()


def test_an_interrupted_comparison_resumes_to_the_same_tables(from_cli, tmp_path, monkeypatch):
    out = tmp_path / "cmp"
    from sim.analysis.comparison import Options, pick_reference, plan_for, resolve_targets

    found = resolve_targets(["baseline", "gaza_truce"])
    chosen = pick_reference(found, None)
    plan = plan_for(found, chosen, Options(replications=4, seed=3, days=15), workers=1)
    extra = {"command": "test", "reference": "baseline", "reused": {},
             "order": ["baseline", "gaza_truce"], "set": {}}
    store = RunStore.create(out, plan, "comparison", extra)
    first = plan.tasks()[0]
    store.write_chunk(runner.run_chunk(plan.entries[0].scenario, "baseline", 0, first.chunk,
                                       list(first.jobs), plan.days, store.table_dirs(0)))
    store.close()
    assert (out.with_name(out.name + PARTIAL)).exists()
    ran = []
    real = model_module.simulate
    monkeypatch.setattr(model_module, "simulate",
                        lambda spec, seed, days=None: ran.append(seed) or real(spec, seed, days))
    assert main(["compare", "--resume", str(out), "--workers", "1"]) == 0
    assert len(ran) == 8 - len(first.jobs)  # only the chunks missing
    assert_frame_equal(pd.read_csv(out / "comparison.csv"),
                       pd.read_csv(from_cli / "comparison.csv"))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seeds"] == replication_seeds(3, 4)
    assert not (out / "chunks").exists() and not (out / "plan.json").exists()


def test_resume_tells_a_run_from_a_comparison(tmp_path, baseline, capsys):
    from sim.experiment.plan import Entry, make_plan

    out = tmp_path / "run"
    RunStore.create(out, make_plan([Entry("baseline", baseline)], 2, 1, 3), "run").close()
    assert main(["compare", "--resume", str(out)]) == 2
    assert "sim run --resume" in capsys.readouterr().err


# ------------------------------------------------- comparison.md and differences.png


@pytest.mark.parametrize(("metric", "low", "high", "expected"), [
    ("attacks", -30.0, -20.0, "better"), ("attacks", 5.0, 9.0, "worse"),
    ("deaths", 0.1, 0.4, "worse"), ("strikes", -4.0, -2.0, "better"),
    ("clashes", 1.0, 6.0, "worse"), ("open_confrontation", 0.5, 1.0, "worse"),
    ("min_stability", 0.01, 0.03, "better"), ("min_stability", -0.2, -0.1, "worse"),
    ("syria_share", 0.01, 0.03, "neutral"), ("syria_share", -0.03, -0.01, "neutral"),
    ("attacks", -30.0, 2.0, "unclear"), ("min_stability", -0.01, 0.02, "unclear"),
    ("deaths", float("nan"), float("nan"), "unclear"),
])
def test_differences_are_coloured_by_direction(metric, low, high, expected):
    from sim.analysis import plots

    colours = {"better": plots.BETTER_COLOUR, "worse": plots.WORSE_COLOUR,
               "neutral": plots.NEUTRAL_COLOUR, "unclear": plots.UNCLEAR_COLOUR}
    assert plots.difference_colour(metric, low, high) == colours[expected]


def test_differences_are_ordered_by_effect_best_first():
    from sim.analysis import plots

    part = pd.DataFrame({"scenario": ["a", "b", "c"], "diff": [5.0, -20.0, float("nan")]})
    assert plots.effect_order(part, "attacks") == ["b", "a", "c"]  # fewer attacks first
    part = pd.DataFrame({"scenario": ["a", "b"], "diff": [-0.1, 0.05]})
    assert plots.effect_order(part, "min_stability") == ["b", "a"]  # higher stability first


def test_comparison_md_has_settings_a_section_per_outcome_and_no_negative_counts(from_cli):
    from sim.analysis import glossary
    from sim.model.outcomes import SUMMARY_METRICS

    text = (from_cli / "comparison.md").read_text()
    sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    assert "Settings" in sections
    settings = sections["Settings"]
    for column in ("accommodation", "appeasement", "persuasion", "pressure", "retaliation",
                   "force protection"):
        assert f"| {column} " in settings
    assert "| gaza_truce |" in settings and "dated event(s)" in settings
    for name in ("weekly_attacks.png", "stability.png", "differences.png"):
        assert f"]({name})" in text
    assert "clipped" in text
    for metric in SUMMARY_METRICS:
        assert metric in sections, metric
        rows = [line.split("|") for line in sections[metric].splitlines()
                if line.startswith("| baseline") or line.startswith("| gaza_truce")]
        assert len(rows) == 2, metric
        if glossary.metric(metric).low == 0:
            for row in rows:
                bound = row[4].strip().strip("[]").split(",")[0]
                assert bound == "-" or float(bound) >= 0, (metric, row)


def test_outcome_rows_clip_a_count_interval_at_zero():
    from sim.analysis.comparison_markdown import outcome_rows

    table = pd.DataFrame([
        {"scenario": "baseline", "metric": "deaths", "reference": "baseline", "n": 5,
         "mean": 0.2, "ci_low": -0.35, "ci_high": 0.75, "diff": 0.0, "diff_ci_low": 0.0,
         "diff_ci_high": 0.0, "n_pairs": 5, "significant": ""},
        {"scenario": "other", "metric": "deaths", "reference": "baseline", "n": 5,
         "mean": 0.0, "ci_low": 0.0, "ci_high": 0.0, "diff": -0.2, "diff_ci_low": -0.75,
         "diff_ci_high": 0.35, "n_pairs": 5, "significant": ""}])
    rows = outcome_rows(table, "deaths")
    assert rows["95% interval"].tolist() == ["[0.000, 0.750]", "[0.000, 0.000]"]
    assert rows["paired 95% interval"].tolist() == ["", "[-0.750, +0.350]"]  # not clipped
    assert rows["clear?"].tolist() == ["", "no"]
