"""Determinism: same scenario and seed give identical tables, serially or in parallel."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import assert_same_tables
from pandas.testing import assert_frame_equal

from sim.experiment import runner
from sim.experiment.plan import replication_seeds
from sim.model.model import simulate
from sim.scenario.load import load, override

SIM = Path(__file__).resolve().parents[2] / "sim"
DAYS = 40


def test_same_seed_same_tables(baseline):
    a = runner.run(baseline, replications=2, days=DAYS, seed=11)
    b = runner.run(baseline, replications=2, days=DAYS, seed=11)
    assert_same_tables(a, b)
    assert a.metadata["seeds"] == b.metadata["seeds"]


def test_one_replication_replays_from_its_seed(baseline):
    result = runner.run(baseline, replications=2, days=DAYS, seed=11)
    seed = int(result.summary.loc[1, "seed"])
    again = simulate(baseline, seed, days=DAYS)
    mine = result.daily[result.daily["replication"] == 1].drop(columns=["scenario",
                                                                         "replication"])
    assert_frame_equal(mine.reset_index(drop=True), pd.DataFrame(again.daily))


def test_workers_do_not_change_results(baseline):
    serial = runner.run(baseline, replications=4, days=DAYS, workers=1)
    parallel = runner.run(baseline, replications=4, days=DAYS, workers=2)
    assert_same_tables(serial, parallel)


def test_different_seeds_differ(baseline):
    a = runner.run(baseline, replications=2, days=DAYS, seed=1)
    b = runner.run(baseline, replications=2, days=DAYS, seed=2)
    assert a.metadata["seeds"] != b.metadata["seeds"]
    assert not a.events.equals(b.events)
    assert not a.daily["attacks"].equals(b.daily["attacks"])


def test_replications_within_a_run_differ(baseline):
    result = runner.run(baseline, replications=3, days=DAYS)
    assert result.summary["seed"].nunique() == 3
    by_rep = [g["attacks"].to_numpy() for _, g in result.daily.groupby("replication")]
    assert not (by_rep[0] == by_rep[1]).all() or not (by_rep[1] == by_rep[2]).all()


def test_common_random_numbers_across_scenarios(baseline):
    pressure = load("pressure_led")
    truce = load("gaza_truce")
    seeds = [runner.run(spec, replications=3, days=3).summary["seed"].tolist()
             for spec in (baseline, pressure, truce)]
    assert seeds[0] == seeds[1] == seeds[2]
    assert seeds[0] == replication_seeds(baseline.run.seed, 3)


def test_replication_seeds_do_not_depend_on_how_many():
    assert replication_seeds(5, 10)[:4] == replication_seeds(5, 4)
    assert len(set(replication_seeds(5, 100))) == 100


def test_identical_scenarios_give_identical_outcomes(baseline):
    """Common random numbers: a lever change that does nothing leaves every table unchanged."""
    same = override(baseline, {"levers.government.pressure":
                                baseline.levers.government.pressure})
    a = runner.run(baseline, replications=2, days=20)
    b = runner.run(same, replications=2, days=20)
    assert_frame_equal(a.daily, b.daily)


# -------------------------------------------------------- no global generators

NP_RANDOM = re.compile(r"\b(?:np|numpy)\.random\.(\w+)")
ALLOWED_NP = {"SeedSequence", "default_rng", "Generator"}
IMPORT_RANDOM = re.compile(r"^\s*(?:import\s+random\b|from\s+random\s+import\b)", re.M)
BARE_RANDOM = re.compile(r"(?<![\w.])random\.\w+")
FROM_NP_RANDOM = re.compile(r"^\s*from\s+numpy\.random\s+import\s+(.+)$", re.M)


def sources() -> list[Path]:
    paths = sorted(SIM.rglob("*.py"))
    assert paths, "no sources found"
    return paths


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.name)
def test_no_global_random_generators(path):
    text = path.read_text(encoding="utf-8")
    bad = [m.group(0) for m in NP_RANDOM.finditer(text) if m.group(1) not in ALLOWED_NP]
    for m in FROM_NP_RANDOM.finditer(text):
        names = {n.strip().split(" as ")[0] for n in m.group(1).strip("()").split(",")}
        bad += [f"from numpy.random import {n}" for n in names - ALLOWED_NP]
    bad += IMPORT_RANDOM.findall(text)
    bad += BARE_RANDOM.findall(text)
    assert not bad, (f"{path.name} uses a global random generator: {bad}; draw from the "
                     "replication's named streams (sim.model.streams) instead")


def test_source_scan_catches_global_generators():
    sample = "x = np.random.uniform()\nimport random\ny = random.random()\nz = self.model.random.random()\n"
    assert [m.group(1) for m in NP_RANDOM.finditer(sample)] == ["uniform"]
    assert IMPORT_RANDOM.findall(sample) == ["import random"]
    assert BARE_RANDOM.findall(sample) == ["random.random"]
