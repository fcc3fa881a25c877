"""`sim report` writes a self-contained handout of a run, comparison, worlds or validation folder."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sim.analysis import glossary
from sim.cli import main
from sim.experiment import runner
from sim.experiment.results import read_run
from sim.scenario.load import load
from sim.teach import report

DATE = re.compile(r"^\d{1,2} [A-Z][a-z]{2} 20\d\d$")
IMAGE = 'src="data:image/png;base64,'


def _self_contained(html: str) -> None:
    assert "http://" not in html and "https://" not in html


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    runner.run(load("gaza_truce"), replications=3, seed=1, days=20).write(out)
    return out


def test_report_of_a_small_run(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    assert "run handout written" in capsys.readouterr().out
    html = (run_dir / "report.html").read_text()
    assert "gaza_truce" in html and "from 17 Oct 2023" in html
    assert "lever: pressure" in html and "uncertainty: Gaza" in html
    assert "lever: coalition retaliation" in html and "lever: force protection" in html
    assert "event: day 8 (24 Oct 2023)" in html and "uncertainties.region.gaza" in html
    assert "95% interval of the mean" in html and "90% of replications" in html
    assert "7-day rolling mean" in html
    assert html.count(IMAGE) == 3
    assert "Glossary" in html
    for metric in report.KEY_METRICS:  # every metric shown is explained
        assert glossary.METRICS[metric].meaning.split("(")[0].strip() in html
    _self_contained(html)


def test_the_outcomes_table_shows_the_weekly_rate_with_its_spread():
    summary = pd.DataFrame({"weekly_attack_rate": [10.4, 11.2, 11.9, 12.6],
                            "deaths": [0, 0, 0, 1]})
    rate, deaths = report.outcome_rows(summary, ("weekly_attack_rate", "deaths"), days=120)
    assert rate[2] == "11.5" and rate[4] == "11.6"  # mean, median
    low, high = (float(x) for x in rate[5].split(" to "))
    assert 10.4 < low < 10.8 and 12.3 < high < 12.6  # the 5th-95th percentile, not [11, 11]
    assert deaths[3].startswith("[0.00,")  # a count's interval is clipped at zero


def test_the_daily_figure_has_calendar_dates_with_the_year(run_dir):
    daily = read_run(run_dir).daily
    fig = report.band_figure(daily, "attacks", "Daily attacks", "attacks per day", rolling=7)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert labels and all(DATE.match(label) for label in labels), labels
    (line,) = fig.axes[0].get_lines()
    values = line.get_ydata()
    assert len(set(values)) > 5  # smoothed: not an integer staircase


def test_report_of_a_comparison(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "baseline", "pressure_led", "--reps", "3", "--days", "20",
                 "--workers", "1", "--out", str(out)]) == 0
    assert report.folder_kind(out) == "comparison"
    target = tmp_path / "handout.html"
    assert main(["report", str(out), "--out", str(target)]) == 0
    html = target.read_text()
    assert "Comparison with <code>baseline</code>" in html
    assert "<th>pressure</th>" in html and "<td>0.80</td>" in html  # the lever settings
    assert "<th>retaliation</th>" in html and "<th>force protection</th>" in html
    assert "Clear differences from baseline" in html and "The comparison table" in html
    assert html.count(IMAGE) == 3  # weekly attacks, stability, differences
    assert "Glossary" in html and "paired difference" in html
    _self_contained(html)


def test_report_of_a_comparison_across_worlds(tmp_path):
    pd.DataFrame({"mechanisms.w_hostility": [4.0, 6.0]}).to_parquet(tmp_path / "worlds.parquet")
    out = tmp_path / "worlds"
    assert main(["compare", "baseline", "pressure_led", "--worlds",
                 str(tmp_path / "worlds.parquet"), "--reps", "3", "--days", "20", "--workers",
                 "1", "--out", str(out)]) == 0
    assert report.folder_kind(out) == "worlds"
    html = report.render_folder(out)
    assert "across\n2 plausible worlds" in html and "Robust conclusions" in html
    assert "Fragile conclusions" in html and "<td>0.80</td>" in html
    assert html.count(IMAGE) == 1 and "Glossary" in html
    _self_contained(html)


def test_report_of_a_validation(run_dir, tmp_path):
    from sim.analysis.record import load_record
    from sim.analysis.validate import validate

    out = validate(read_run(run_dir), load_record()).write(tmp_path / "val")
    assert report.folder_kind(out) == "validation"
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "Validation of <code>gaza_truce</code>" in html
    assert "Patterns and targets" in html and "Coverage and error by window" in html
    assert "24 Oct 2023" in html and "2023-10-24" not in html  # dates, not ISO strings
    assert html.count(IMAGE) == 1  # validation.png
    assert "Glossary" in html and "calibration window" in html and "null model" in html
    _self_contained(html)


def test_report_refuses_a_folder_that_is_not_a_result(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run, comparison or validation folder" in capsys.readouterr().err
    (tmp_path / "metadata.json").write_text("{}")
    with pytest.raises(report.NotAResultFolder):
        report.folder_kind(tmp_path)
