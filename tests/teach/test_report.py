from __future__ import annotations

import re

from sim.cli import main
from sim.experiment import runner
from sim.scenario.load import load


def test_report_of_a_small_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    runner.run(load("gaza_truce"), replications=3, seed=1, days=30).write(run_dir)
    assert main(["report", str(run_dir)]) == 0
    html = (run_dir / "report.html").read_text()
    assert "gaza_truce" in html
    assert "lever: pressure" in html and "uncertainty: Gaza" in html
    assert "event: day 8" in html and "uncertainties.region.gaza" in html
    assert "95% interval" in html and "injuries_day28" in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3
    assert "http://" not in html and "https://" not in html  # self-contained


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
