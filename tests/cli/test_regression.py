"""Regression end to end: the data sets, the metrics, and their expectations through replay."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from minidl.metrics import regression_metrics
from scenarios.datasets import gaussians, plane
from scenarios.datasets.regression import GAUSSIAN_BUMPS
from scenarios.schema import ScenarioError, parse_scenario
from tui.cli import main

PLANE = """
name = "small plane"
[data]
kind = "plane"
n_train = 200
n_test = 100
[model]
layers = [
  {{ type = "Linear", in_features = 2, out_features = 8 }},
  {{ type = "Tanh" }},
  {{ type = "Linear", out_features = {outputs} }},
]
[training]
loss = "{loss}"
optimizer = "Adam"
lr = 0.02
batch_size = 20
epochs = 20
[expect]
{expect}
"""


def scenario_text(
    expect: str = "min_test_r2 = 0.9\nmax_test_mae = 0.2",
    loss: str = "MSELoss",
    outputs: int = 1,
) -> str:
    return PLANE.format(expect=expect, loss=loss, outputs=outputs)


def test_plane_targets_are_the_plane_and_noise_touches_training_targets_only():
    clean = plane(n_train=50, n_test=40, seed=3)
    assert torch.allclose(clean.y_train, clean.x_train.sum(1) - 1.0, atol=1e-15)
    assert torch.allclose(clean.y_test, clean.x_test.sum(1) - 1.0, atol=1e-15)
    noisy = plane(n_train=50, n_test=40, noise=0.1, seed=3)
    assert torch.equal(noisy.x_train, clean.x_train)
    assert torch.equal(noisy.y_test, clean.y_test)
    assert 0.03 < float((noisy.y_train - clean.y_train).std()) < 0.2


def test_gaussians_peak_with_the_sign_of_each_bump():
    centres = torch.tensor([[cx, cy] for cx, cy, _ in GAUSSIAN_BUMPS], dtype=torch.float64)
    data = gaussians(n_train=5, n_test=1)
    from scenarios.datasets.regression import gaussians_surface

    heights = gaussians_surface(centres)
    for height, (_, _, sign) in zip(heights.tolist(), GAUSSIAN_BUMPS, strict=True):
        assert height * sign > 0.99  # each bump's own height is 1; the others add < 0.01
    assert data.y_train.dtype == torch.float64


def test_regression_metrics_by_hand():
    predicted = torch.tensor([[1.0], [2.0], [4.0]])
    targets = torch.tensor([1.0, 3.0, 5.0], dtype=torch.float64)
    metrics = regression_metrics(predicted, targets)
    assert metrics.mse == pytest.approx(2 / 3)
    assert metrics.mae == pytest.approx(2 / 3)
    # Σ(y − ȳ)² = 4 + 0 + 4 = 8; R² = 1 − 2/8
    assert metrics.r2 == pytest.approx(0.75)


def test_replay_writes_regression_metrics_and_meets_expectations(tmp_path, capsys):
    scenario = tmp_path / "plane.toml"
    scenario.write_text(scenario_text())
    json_path, csv_path = tmp_path / "h.json", tmp_path / "h.csv"
    status = main(["replay", str(scenario), "--json", str(json_path), "--csv", str(csv_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "test_r2" in out and "test_mae" in out and "accuracy" not in out
    epochs = json.loads(json_path.read_text())["epochs"]
    assert len(epochs) == 20
    final = epochs[-1]
    assert "test_accuracy" not in final and "f1" not in final
    assert final["test_r2"] >= 0.9 and final["test_mae"] <= 0.2
    assert final["test_mse"] == pytest.approx(final["test_loss"], rel=1e-5)  # MSELoss: the same
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[-1]["test_r2"]) == final["test_r2"]
    assert "test_accuracy" not in rows[0]


def test_unmet_regression_expectation_fails_the_replay(tmp_path, capsys):
    scenario = tmp_path / "plane.toml"
    scenario.write_text(scenario_text(expect="min_test_r2 = 1.0\nmax_test_mae = 0.0"))
    assert main(["replay", str(scenario), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "test_r2" in err and "test_mae" in err


def test_huber_loss_trains_a_regression(tmp_path, capsys):
    scenario = tmp_path / "plane.toml"
    scenario.write_text(scenario_text(loss="HuberLoss"))
    assert main(["replay", str(scenario), "--quiet"]) == 0
    assert "test R²" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"expect": "min_test_accuracy = 0.9"}, "expect.min_test_accuracy", "regression"),
        ({"loss": "CrossEntropyLoss"}, "training.loss", "MSELoss, HuberLoss"),
        ({"outputs": 2}, "model.layers", "regression with one target"),
    ],
)
def test_classification_settings_on_a_regression_are_refused(change, field, words):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(scenario_text(**change))
    assert field in str(caught.value) and words in str(caught.value)


def test_regression_expectations_on_a_classification_are_refused():
    text = Path(__file__).parents[2].joinpath("scenarios", "centered_disk.toml").read_text()
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text + "min_test_r2 = 0.5\n")
    assert "expect.min_test_r2" in str(caught.value)
    assert "regression data sets only" in str(caught.value)


@pytest.mark.parametrize("name", ["regression_plane", "regression_gaussians"])
def test_shipped_regression_scenarios_meet_their_expectations(name, capsys):
    assert main(["replay", name, "--quiet"]) == 0
    assert "expectations met" in capsys.readouterr().out


def test_compare_summarises_regression_metrics(tmp_path, capsys):
    scenario = tmp_path / "plane.toml"
    scenario.write_text(scenario_text())
    json_path = tmp_path / "c.json"
    assert (
        main(["compare", str(scenario), "--rounds", "1", "--epochs", "3", "--json", str(json_path)])
        == 0
    )
    summary = json.loads(json_path.read_text())["summary"]
    assert set(summary) == {
        "train_loss",
        "test_loss",
        "train_r2",
        "test_mse",
        "test_mae",
        "test_r2",
    }
    ours, theirs = summary["test_r2"]["minidl"]["mean"], summary["test_r2"]["torch"]["mean"]
    assert ours == pytest.approx(theirs, rel=1e-4)


CSV_SCENARIO = """
name = "my surface"
[data]
kind = "csv"
target = "continuous"
path = "surface.csv"
test_fraction = 0.25
[model]
layers = [
  { type = "Linear", in_features = 2, out_features = 8 },
  { type = "Tanh" },
  { type = "Linear", out_features = 1 },
]
[training]
loss = "MSELoss"
optimizer = "Adam"
lr = 0.02
batch_size = 20
epochs = 30
[expect]
min_test_r2 = 0.9
"""


def write_surface(folder: Path, rows: int = 200) -> Path:
    generator = torch.Generator().manual_seed(5)
    points = torch.rand(rows, 2, generator=generator, dtype=torch.float64)
    lines = ["x1,x2,height"] + [f"{x!r},{y!r},{2 * x - y!r}" for x, y in points.tolist()]
    path = folder / "surface.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_csv_with_a_continuous_target_trains_a_regression(tmp_path, capsys):
    write_surface(tmp_path)
    scenario = tmp_path / "s.toml"
    scenario.write_text(CSV_SCENARIO)
    json_path = tmp_path / "h.json"
    assert main(["replay", str(scenario), "--quiet", "--json", str(json_path)]) == 0
    final = json.loads(json_path.read_text())["epochs"][-1]
    assert final["test_r2"] >= 0.9 and "test_accuracy" not in final
    loaded = parse_scenario(CSV_SCENARIO, source=str(scenario))
    assert loaded.data.is_regression and (loaded.data.n_train, loaded.data.n_test) == (150, 50)


def test_a_bad_target_is_named_at_its_line(tmp_path):
    path = write_surface(tmp_path)
    lines = path.read_text().splitlines()
    lines[7] = "0.5,0.5,tall"
    path.write_text("\n".join(lines))
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(CSV_SCENARIO, source=str(tmp_path / "s.toml"))
    assert "data.path" in str(caught.value) and "line 8" in str(caught.value)
    assert "'tall'" in str(caught.value)


def test_a_csv_target_kind_must_be_class_or_continuous(tmp_path):
    write_surface(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(CSV_SCENARIO.replace('"continuous"', '"real"'), source=str(tmp_path / "s"))
    assert "data.target" in str(caught.value)


def test_a_csv_regression_survives_saving_the_scenario(tmp_path):
    from scenarios.schema import load_scenario, save_scenario

    write_surface(tmp_path)
    scenario = parse_scenario(CSV_SCENARIO, source=str(tmp_path / "s.toml"))
    again = load_scenario(save_scenario(scenario, tmp_path / "saved.toml"))
    assert again.data.is_regression and again.data.target == "continuous"
    assert again.expect.bounds == (("min_test_r2", 0.9),)
