"""``minidl-lab compare`` on a run that diverges: a plain report, not a traceback."""

from __future__ import annotations

import json
import re

from scenarios.shipped import resolve_scenario_path
from tui.cli import main


def test_a_run_that_diverges_in_its_first_epoch_is_reported(tmp_path, capsys):
    # classic_blocks_tanh with lr 1 gives NaN within its first epoch, in both frameworks
    text = resolve_scenario_path("classic_blocks_tanh").read_text()
    scenario = tmp_path / "diverges.toml"
    scenario.write_text(re.sub(r"(?m)^lr = .*$", "lr = 1.0", text))
    json_path = tmp_path / "c.json"
    command = ["compare", str(scenario), "--rounds", "2", "--epochs", "3", "--json"]
    assert main([*command, str(json_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines at spaces
    assert out.count("minidl diverged at epoch 1, step 7") == 2
    assert "PyTorch's train loss in that epoch: nan" in out
    assert re.search(r"ms per epoch \(training\) │ — │", out) and "nan ± nan" not in out
    report = json.loads(json_path.read_text())
    for round_ in report["rounds"]:
        assert round_["minidl"]["epochs"] == [] and round_["minidl"]["status"] == "diverged"
        assert len(round_["torch"]["epochs"]) == 1  # the epoch where minidl diverged
        assert round_["max_loss_difference"] is None  # no epoch to compare
    assert report["ms_per_epoch"]["minidl"] is None and report["ms_per_epoch"]["torch"] > 0
