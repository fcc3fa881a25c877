"""A comparison from Python equals the command's; failures are recorded; a killed one resumes."""

from __future__ import annotations

import json

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
    assert "1 replication(s) failed" in capsys.readouterr().err
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
