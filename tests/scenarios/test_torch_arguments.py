"""Scenario files and the lab's layer panel take the torch arguments minidl's classes take."""

from __future__ import annotations

import pytest
import torch

import minidl
from minidl.reference import TwinTrainer
from scenarios import ScenarioError, parse_scenario
from scenarios.build import build_experiment
from scenarios.schema import load_scenario, parse_document, save_scenario, scenario_to_document
from tui.widgets.model_panel import parse_arguments

TEXT = """
name = "torch arguments"
[data]
kind = "centered_disk"
n_train = 64
n_test = 32
[model]
layers = [
  { type = "Linear", in_features = 2, out_features = 16 },
  { type = "Unflatten", dim = 1, unflattened_size = [1, 16] },
  { type = "Conv1d", out_channels = 8, kernel_size = 3, padding = "same", dilation = 2 },
  { type = "BatchNorm1d", momentum = "none", bias = false },
  { type = "ReLU" },
  { type = "Conv1d", out_channels=4, kernel_size=3, groups=4, padding=1, padding_mode="reflect" },
  { type = "Flatten" },
  { type = "Linear", out_features = 2 },
]
[training]
loss = { type = "CrossEntropyLoss", weight = [1.0, 3.0], ignore_index = 1, label_smoothing = 0.1 }
optimizer = { type = "SGD", momentum = 0.9, maximize = false }
lr = 0.05
batch_size = 16
epochs = 1
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text)
    return error.value.problems


def test_a_file_with_torch_arguments_builds_the_layers_it_names():
    experiment = build_experiment(parse_scenario(TEXT))
    conv, norm, grouped = experiment.model[2], experiment.model[3], experiment.model[5]
    assert (conv.padding, conv.dilation, conv.output_length(16)) == ("same", 2, 16)
    assert norm.momentum is None and norm.bias is None and norm.weight is not None
    assert (grouped.groups, grouped.padding_mode) == (4, "reflect")
    loss = experiment.loss
    assert torch.equal(loss.weight, torch.tensor([1.0, 3.0]))
    assert (loss.ignore_index, loss.label_smoothing) == (1, 0.1)
    history = experiment.trainer.run(1)
    assert history.status == "completed" and history.final.train_loss > 0


def test_a_saved_file_keeps_the_torch_arguments(tmp_path):
    scenario = parse_scenario(TEXT)
    again = load_scenario(save_scenario(scenario, tmp_path / "s.toml"))
    assert scenario_to_document(again) == scenario_to_document(scenario)
    assert again.model.layers[3].kwargs == {"momentum": "none", "bias": False}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'padding = "same"',
            'padding = "full"',
            """model.layers[2].padding = 'full': Conv1d: must be an integer >= 0, "same" or""",
        ),
        (
            'padding = "same", dilation = 2',
            'padding = "same", stride = 2',
            "model.layers[2] (Conv1d): padding='same' is not supported for strided convolutions",
        ),
        (
            'momentum = "none"',
            "momentum = 2",
            'model.layers[3].momentum = 2: BatchNorm1d: must be a number in [0, 1], or "none"',
        ),
        (
            "weight = [1.0, 3.0]",
            "weight = [1.0, 3.0, 1.0]",
            "training.loss.weight: gives 3 values; the data has 2 classes",
        ),
        (
            "groups=4",
            "groups=3",
            "model.layers[5] (Conv1d): in_channels (8) and out_channels (4) must both be "
            "divisible by groups (3)",
        ),
    ],
)
def test_bad_torch_arguments_are_named(old, new, expected):
    assert old in TEXT
    found = problems(TEXT.replace(old, new))
    assert any(p.startswith(expected) for p in found), found


def test_the_layer_panel_takes_the_issue_example():
    typed = parse_arguments("Conv1d", 'out_channels=8, kernel_size=3, padding="same", dilation=2')
    assert typed == {"out_channels": 8, "kernel_size": 3, "padding": "same", "dilation": 2}
    document = parse_scenario(TEXT)
    layers = scenario_to_document(document)["model"]["layers"]
    layers[2] = {"type": "Conv1d", **typed}
    text_document = {**scenario_to_document(document)}
    text_document["model"] = {**text_document["model"], "layers": layers}
    scenario = parse_document(text_document)
    assert scenario.model.layers[2].kwargs == typed
    assert isinstance(build_experiment(scenario).model[2], minidl.Conv1d)


def test_the_pytorch_twin_follows_a_float64_run_with_the_torch_arguments():
    scenario = parse_scenario(TEXT.replace("epochs = 1", 'epochs = 1\ndtype = "float64"'))
    experiment = build_experiment(scenario)
    twin = TwinTrainer(experiment.trainer)
    ours, theirs = experiment.trainer.run(1), twin.run(1)
    assert abs(ours.final.train_loss - theirs.final.train_loss) <= 1e-9 * theirs.final.train_loss
