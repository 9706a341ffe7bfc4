"""Per-layer health headless: replay --layers, layer expectations, the Sigmoid/BatchNorm pair."""

from __future__ import annotations

import csv
import json

import pytest

from minidl.health import VANISHING_RATIO
from scenarios.schema import ScenarioError, parse_scenario
from tui.cli import main

SMALL = """
name = "small relu"
[data]
kind = "centered_disk"
n_train = 100
n_test = 50
[model]
layers = [
  {{ type = "Linear", in_features = 2, out_features = 8 }},
  {{ type = "ReLU" }},
  {{ type = "Linear", out_features = 2 }},
]
[training]
loss = "MSELoss"
optimizer = "SGD"
lr = 0.1
batch_size = 30
epochs = 3
[expect]
{expect}
"""


def test_layers_json_holds_each_epoch_end_every_layer_and_the_thresholds(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SMALL.format(expect="max_dead_fraction = 1.0"))
    path = tmp_path / "layers.json"
    assert main(["replay", str(scenario), "--quiet", "--layers", str(path)]) == 0
    document = json.loads(path.read_text())
    assert document["thresholds"]["vanishing_ratio"] == VANISHING_RATIO
    epochs = document["epochs"]
    # 100 rows in batches of 30: 4 steps, the last one observed
    assert [(e["epoch"], e["step"], e["epoch_end"]) for e in epochs] == [
        (1, 4, True),
        (2, 4, True),
        (3, 4, True),
    ]
    layers = epochs[-1]["layers"]
    assert [layer["layer"] for layer in layers] == ["Linear", "ReLU", "Linear"]
    assert layers[1]["dead_fraction"] is not None and layers[0]["dead_fraction"] is None
    assert layers[2]["gradient_ratio"] == 1.0
    assert layers[0]["update_ratio"] > 0 and layers[1]["grad_weight_norm"] is None


def test_layers_csv_has_one_row_per_epoch_and_layer(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SMALL.format(expect=""))
    path = tmp_path / "layers.csv"
    assert main(["replay", str(scenario), "--quiet", "--layers", str(path)]) == 0
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 3
    assert [row["layer"] for row in rows[:3]] == ["Linear", "ReLU", "Linear"]
    assert rows[1]["grad_weight_norm"] == "" and float(rows[0]["grad_weight_norm"]) > 0


def test_layers_follow_the_epochs_override(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SMALL.format(expect=""))
    path = tmp_path / "layers.json"
    assert main(["replay", str(scenario), "--quiet", "--epochs", "2", "--layers", str(path)]) == 0
    assert [e["epoch"] for e in json.loads(path.read_text())["epochs"]] == [1, 2]


def test_a_dead_network_fails_max_dead_fraction(tmp_path, capsys):
    # a huge learning rate kills most ReLU units within an epoch
    text = SMALL.format(expect="max_dead_fraction = 0.0").replace("lr = 0.1", "lr = 50.0")
    scenario = tmp_path / "s.toml"
    scenario.write_text(text)
    assert main(["replay", str(scenario), "--quiet"]) == 1
    assert "largest dead fraction" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("expect", "field"),
    [
        ("max_dead_fraction = 1.5", "expect.max_dead_fraction"),
        ("min_gradient_ratio = -1", "expect.min_gradient_ratio"),
        ("max_dead_fractoin = 0.5", "expect.max_dead_fractoin"),
    ],
)
def test_bad_layer_expectations_are_named(expect, field):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SMALL.format(expect=expect))
    assert field in str(caught.value)


def test_deep_sigmoid_shows_vanishing_gradients_in_its_first_layer(tmp_path, capsys):
    path = tmp_path / "layers.json"
    assert main(["replay", "deep_sigmoid", "--layers", str(path)]) == 0
    out = capsys.readouterr().out
    assert "layer 0 (Linear): vanishing gradients" in out
    for epoch in json.loads(path.read_text())["epochs"]:
        first = epoch["layers"][0]
        assert first["gradient_ratio"] < VANISHING_RATIO
        assert any(flag.startswith("vanishing gradients") for flag in first["flags"])


def test_the_same_network_with_batchnorm_does_not(tmp_path, capsys):
    path = tmp_path / "layers.json"
    assert main(["replay", "deep_sigmoid_batchnorm", "--layers", str(path)]) == 0
    assert "vanishing" not in capsys.readouterr().out
    for epoch in json.loads(path.read_text())["epochs"]:
        ratios = [layer["gradient_ratio"] for layer in epoch["layers"] if layer["gradient_ratio"]]
        assert min(ratios) >= VANISHING_RATIO
        assert not any("vanishing" in flag for layer in epoch["layers"] for flag in layer["flags"])


def test_layer_expectations_survive_saving_the_scenario(tmp_path):
    from scenarios.schema import load_scenario, save_scenario

    scenario = parse_scenario(
        SMALL.format(expect="max_dead_fraction = 0.5\nmin_gradient_ratio = 0.01")
    )
    path = save_scenario(scenario, tmp_path / "saved.toml")
    again = load_scenario(path)
    assert again.expect.layer_bounds == (("max_dead_fraction", 0.5), ("min_gradient_ratio", 0.01))
    assert again.expect.bounds == ()
