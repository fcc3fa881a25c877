"""Execution backends give the same tables row for row: this process, a pool, a Dask cluster."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import assert_same_tables
from pandas.testing import assert_frame_equal

from sim.cli import main
from sim.experiment import backends, runner

DAYS = 20
REPS = 6


@pytest.fixture(scope="module")
def serial(baseline):
    return runner.run(baseline, replications=REPS, days=DAYS, seed=3, backend="serial")


def test_backend_choice(monkeypatch):
    monkeypatch.delenv(backends.SCHEDULER_ENV, raising=False)
    assert backends.make_backend(None, workers=1).name == "serial"
    assert backends.make_backend(None, workers=2).name == "processes"
    with pytest.raises(ValueError, match="scheduler"):
        backends.make_backend("dask")
    with pytest.raises(ValueError, match="allowed"):
        backends.make_backend("threads")


def test_in_process_backend_reports_exceptions_not_raises():
    def fn(x):
        if x == 1:
            raise ValueError("bad")
        return x * 10

    out = dict(backends.InProcess().map(fn, [(0,), (1,), (2,)]))
    assert out[0] == 0 and out[2] == 20 and isinstance(out[1], ValueError)


def test_process_pool_backend_matches_serial(baseline, serial):
    pooled = runner.run(baseline, replications=REPS, days=DAYS, seed=3, backend="processes",
                        workers=2, chunk_size=1)
    assert_same_tables(pooled, serial)


def test_dask_cluster_matches_serial(baseline, serial, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        on_dask = runner.run(baseline, replications=REPS, days=DAYS, seed=3,
                             scheduler=address, chunk_size=2)
        assert on_dask.metadata["backend"] == "dask"
        assert on_dask.metadata["workers"] == 2
        assert_same_tables(on_dask, serial)
        monkeypatch.setenv(backends.SCHEDULER_ENV, address)
        streamed = runner.run(baseline, replications=REPS, days=DAYS, seed=3,
                              out=tmp_path / "run")
        assert streamed.metadata["backend"] == "dask"
        assert_same_tables(streamed, serial)
        monkeypatch.delenv(backends.SCHEDULER_ENV)
        compare = ["compare", "baseline", "pressure_led", "--reps", "3", "--days", str(DAYS)]
        assert main([*compare, "--scheduler", address, "--out", str(tmp_path / "dask")]) == 0
    assert main([*compare, "--workers", "1", "--out", str(tmp_path / "here")]) == 0
    meta = json.loads((tmp_path / "dask" / "metadata.json").read_text())
    assert (meta["backend"], meta["workers"]) == ("dask", 2)
    assert_frame_equal(pd.read_csv(tmp_path / "dask" / "comparison.csv"),
                       pd.read_csv(tmp_path / "here" / "comparison.csv"))
