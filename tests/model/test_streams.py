"""Named random streams: uniform, independent, and aligned across scenarios draw by draw."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.experiment.plan import replication_seeds
from sim.model.model import IraqModel
from sim.model.streams import Streams, counter, uniforms
from sim.scenario.load import override

SEEDS = np.array(replication_seeds(99, 4000), dtype=np.uint64)
DAYS = np.arange(1, 121)


def grid(stream="attack", entity="kataib_hezbollah", slot=0):
    return uniforms(SEEDS[:, None], counter(stream, entity, DAYS[None, :], slot))


def test_uniforms_are_uniform_on_the_unit_interval():
    u = grid().ravel()
    assert 0.0 <= u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert stats.chisquare(np.histogram(u, bins=50)[0]).pvalue > 0.001


@pytest.mark.parametrize(("a", "b"), [
    ({"slot": 0}, {"slot": 1}),
    ({"stream": "attack"}, {"stream": "clash"}),
    ({"entity": "kataib_hezbollah"}, {"entity": "harakat_al_nujaba"}),
])
def test_neighbouring_coordinates_are_uncorrelated(a, b):
    x, y = grid(**a).ravel(), grid(**b).ravel()
    assert abs(np.corrcoef(x, y)[0, 1]) < 4 / np.sqrt(len(x))


def test_consecutive_days_and_seeds_are_uncorrelated():
    u = grid()
    limit = 4 / np.sqrt(u.size)
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < limit
    assert abs(np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]) < limit


def test_a_table_is_a_pure_function_of_seed_and_coordinates():
    a = Streams(7).table("attack", "x", 30, 8)
    assert len(a) == 30 * 8 and a == Streams(7).table("attack", "x", 30, 8)
    assert a != Streams(8).table("attack", "x", 30, 8)
    assert Streams(7).table("attack", "x", 10, 8) == a[:80]  # the horizon does not shift draws
    narrow = Streams(7).table("attack", "x", 30, 3)
    assert all(narrow[3 * d:3 * d + 3] == a[8 * d:8 * d + 3] for d in range(30))
    assert a[8 * 4 + 2] == uniforms(7, counter("attack", "x", 5, 2))  # day 5, slot 2


def test_another_factions_change_leaves_a_factions_draws_and_attacks_unchanged(baseline):
    """The faction's own stream does not depend on what others do: with every other
    faction unable to attack, Badr's attacks on the first day are the same draw for draw."""
    quiet = override(baseline, {f"factions.{f.name}.teams": 0 for f in baseline.factions[:4]})
    for seed in replication_seeds(3, 20):
        a, b = IraqModel(baseline, seed=seed, days=1), IraqModel(quiet, seed=seed, days=1)
        assert a.militias[4].draws == b.militias[4].draws
        a.step()
        b.step()
        assert a.militias[4].attacks_today == b.militias[4].attacks_today


def test_adding_a_faction_leaves_the_others_draws_unchanged(baseline):
    extra = baseline.factions[0].model_copy(update={"name": "new_group"})
    bigger = baseline.model_copy(update={"factions": [*baseline.factions, extra]})
    a, b = IraqModel(baseline, seed=5, days=10), IraqModel(bigger, seed=5, days=10)
    for old, new in zip(a.militias, b.militias, strict=False):
        assert old.draws == new.draws and old.clash_draws == new.clash_draws
    assert b.militias[-1].draws != b.militias[0].draws
