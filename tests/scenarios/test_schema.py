from __future__ import annotations

import pytest

from scenarios import ScenarioError, parse_scenario
from scenarios.shipped import shipped_scenarios

VALID = """
name = "t"
[data]
kind = "centered_disk"
n_train = 100
n_test = 50
[model]
layers = [
  { type = "Linear", in_features = 2, out_features = 8 },
  { type = "ReLU" },
  { type = "Linear", out_features = 2 },
]
[training]
loss = "MSELoss"
optimizer = "SGD"
lr = 0.1
batch_size = 10
epochs = 3
[expect]
min_test_accuracy = 0.5
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text)
    return error.value.problems


def test_a_valid_file_gives_a_typed_scenario():
    s = parse_scenario(VALID)
    assert s.data.kind == "centered_disk" and s.data.n_train == 100 and s.data.noise == 0.0
    assert [layer.type for layer in s.model.layers] == ["Linear", "ReLU", "Linear"]
    assert s.model.layers[0].kwargs == {"in_features": 2, "out_features": 8}
    assert s.training.lr == 0.1 and s.training.batch_size == 10 and s.training.epochs == 3
    assert s.training.optimizer.type == "SGD" and s.training.dtype == "float32"
    assert s.expect.as_dict() == {"min_test_accuracy": 0.5}


def test_names_are_case_insensitive_and_tables_carry_arguments():
    text = VALID.replace('optimizer = "SGD"', 'optimizer = { type = "sgd", momentum = 0.9 }')
    text = text.replace('"ReLU"', '"relu"')
    s = parse_scenario(text)
    assert s.training.optimizer.type == "SGD" and s.training.optimizer.kwargs == {"momentum": 0.9}
    assert s.model.layers[1].type == "ReLU"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '{ type = "ReLU" }',
            '{ type = "Swish" }',
            "model.layers[1].type = 'Swish': unknown layer; allowed: Linear, ReLU, Tanh, Sigmoid",
        ),
        (
            'loss = "MSELoss"',
            'loss = "Hinge"',
            "training.loss.type = 'Hinge': unknown loss; allowed: MSELoss",
        ),
        (
            'optimizer = "SGD"',
            'optimizer = "Lion"',
            "training.optimizer.type = 'Lion': unknown optimizer; allowed: SGD",
        ),
        (
            "out_features = 8",
            "out_features = 0",
            "model.layers[0].out_features = 0: Linear: must be an integer > 0",
        ),
        (
            "out_features = 8",
            "out_features = -3",
            "model.layers[0].out_features = -3: Linear: must be an integer > 0",
        ),
        ("lr = 0.1", "lr = -0.1", "training.lr = -0.1: must be a finite number > 0"),
        ("lr = 0.1", "lr = 0", "training.lr = 0: must be a finite number > 0"),
        ("lr = 0.1", 'lr = "fast"', "training.lr = 'fast': must be a finite number > 0"),
        ("lr = 0.1", "lr = nan", "training.lr = nan: must be a finite number > 0"),
        (
            "batch_size = 10",
            "batch_size = 101",
            "training.batch_size = 101: is larger than the training set (data.n_train = 100)",
        ),
        ("epochs = 3", "epochs = 2.5", "training.epochs = 2.5: must be an integer >= 1"),
        (
            'kind = "centered_disk"',
            'kind = "moons"',
            "data.kind = 'moons': unknown data set; allowed: quarter_circle, centered_disk",
        ),
        ("n_test = 50", "noise = 2", "data.noise = 2: must be a number in [0, 1]"),
        ("lr = 0.1", "lr = 0.1\nlearning_rate = 0.1", "training.learning_rate: unknown key"),
        ("n_test = 50", "n_tset = 50", "data.n_tset: unknown key; did you mean 'n_test'?"),
        (
            "min_test_accuracy = 0.5",
            "min_test_acc = 0.5",
            "expect.min_test_acc: unknown key; did you mean 'min_test_accuracy'?",
        ),
        (
            "min_test_accuracy = 0.5",
            "min_test_accuracy = 1.5",
            "expect.min_test_accuracy = 1.5: must be a number in [0, 1]",
        ),
        (
            '{ type = "ReLU" }',
            '{ type = "ReLU", inplace = true }',
            "model.layers[1].inplace: ReLU takes no argument 'inplace' (allowed: none)",
        ),
        (
            'optimizer = "SGD"',
            'optimizer = { type = "SGD", lr = 0.1 }',
            "training.optimizer.lr: is set in [training], not on the optimizer",
        ),
        (
            'optimizer = "SGD"',
            'optimizer = { type = "SGD", momentum = -1 }',
            "training.optimizer.momentum = -1: SGD: must be a finite number >= 0",
        ),
    ],
)
def test_each_invalid_field_is_named_with_its_value_and_what_is_allowed(old, new, expected):
    assert old in VALID
    found = problems(VALID.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_widths_that_do_not_chain_name_the_layer():
    text = VALID.replace(
        '{ type = "Linear", out_features = 2 }',
        '{ type = "Linear", in_features = 9, out_features = 2 }',
    )
    assert problems(text) == [
        "model.layers[2] (Linear): in_features = 9 does not chain: "
        "the previous layer gives 8 features"
    ]


def test_first_layer_must_take_the_two_inputs():
    text = VALID.replace("in_features = 2", "in_features = 3")
    assert problems(text) == [
        "model.layers[0] (Linear): in_features = 3 does not chain: the input has 2 features"
    ]


def test_last_width_must_equal_the_number_of_classes():
    text = VALID.replace(
        '{ type = "Linear", out_features = 2 }', '{ type = "Linear", out_features = 3 }'
    )
    assert problems(text) == [
        "model.layers: the last layer gives (3,) outputs, but the data has 2 classes "
        "(the last width must be 2)"
    ]


def test_missing_sections_and_fields_are_all_reported_at_once():
    found = problems('name = "x"\n[training]\nlr = 0.1\n')
    assert "data: missing table" in found
    assert "model: missing table" in found
    assert any(p.startswith("training.loss: missing") for p in found)
    assert any(p.startswith("training.batch_size: missing") for p in found)
    assert any(p.startswith("training.epochs: missing") for p in found)


def test_toml_syntax_errors_give_the_line():
    with pytest.raises(ScenarioError, match=r"not valid TOML: .*line 3"):
        parse_scenario('name = "x"\n[data]\nkind = \n')


def test_error_message_names_the_source_file(tmp_path):
    from scenarios import load_scenario

    path = tmp_path / "bad.toml"
    path.write_text(VALID.replace("lr = 0.1", "lr = -1"))
    with pytest.raises(ScenarioError, match=r"bad\.toml: training\.lr = -1"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"scenario file .*missing\.toml does not exist"):
        load_scenario(tmp_path / "missing.toml")


def test_overrides_validate_their_values():
    s = parse_scenario(VALID)
    assert s.with_overrides(epochs=7, seed=3).training.epochs == 7
    assert s.with_overrides(seed=3).data.seed == 3 == s.with_overrides(seed=3).training.seed
    with pytest.raises(ScenarioError, match="--epochs = 0"):
        s.with_overrides(epochs=0)


def test_every_shipped_scenario_parses():
    shipped = shipped_scenarios()
    assert {"quarter_circle", "centered_disk"} <= set(shipped)
    for path in shipped.values():
        from scenarios import load_scenario

        assert load_scenario(path).expect.bounds, path


def test_a_saved_scenario_reads_back_equal(tmp_path):
    from dataclasses import replace

    from scenarios import load_scenario
    from scenarios.schema import save_scenario

    for path in shipped_scenarios().values():
        original = load_scenario(path)
        target = tmp_path / f"{original.name}.toml"
        save_scenario(original, target)
        again = load_scenario(target)
        assert replace(again, source=None) == replace(original, source=None)


BREADTH = """
name = "breadth"
[data]
kind = "centered_disk"
n_train = 100
n_test = 50
[model]
layers = [
  { type = "Linear", out_features = 12, init = "xavier_uniform" },
  { type = "BatchNorm1d", momentum = 0.2 },
  { type = "LeakyReLU", negative_slope = 0.1 },
  { type = "Unflatten", dim = 1, unflattened_size = [1, 12] },
  { type = "Conv1d", out_channels = 3, kernel_size = 3, stride = 2, padding = 1 },
  { type = "ELU", alpha = 0.5 },
  { type = "Flatten" },
  { type = "Dropout", p = 0.1 },
  { type = "GELU", approximate = "tanh" },
  { type = "Linear", out_features = 2 },
  { type = "Identity" },
]
[training]
loss = { type = "HuberLoss", delta = 0.5 }
optimizer = { type = "AdamW", betas = [0.8, 0.99], weight_decay = 0.01 }
scheduler = { type = "CosineAnnealingLR", T_max = 10 }
clip_grad_norm = 1.0
lr = 0.01
batch_size = 10
epochs = 2
"""


def test_every_new_name_is_accepted_with_its_arguments():
    from scenarios.build import build_experiment

    scenario = parse_scenario(BREADTH)
    experiment = build_experiment(scenario)
    kinds = [type(m).__name__ for m in experiment.model]
    assert kinds == [
        "Linear", "BatchNorm1d", "LeakyReLU", "Unflatten", "Conv1d", "ELU",
        "Flatten", "Dropout", "GELU", "Linear", "Identity",
    ]  # fmt: skip
    assert experiment.model[4].in_channels == 1 and experiment.model[9].in_features == 18
    assert experiment.optimizer.betas == (0.8, 0.99)
    assert experiment.trainer.run(2).status == "completed"
    for loss in ("L1Loss", "CrossEntropyLoss", "BCEWithLogitsLoss", "MSELoss"):
        parse_scenario(BREADTH.replace('{ type = "HuberLoss", delta = 0.5 }', f'"{loss}"'))
    for optimizer in ('"Adam"', '{ type = "RMSprop", centered = true, momentum = 0.5 }', '"SGD"'):
        parse_scenario(
            BREADTH.replace(
                '{ type = "AdamW", betas = [0.8, 0.99], weight_decay = 0.01 }', optimizer
            )
        )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("p = 0.1", "p = 1.5", "model.layers[7].p = 1.5: Dropout: must be a number in [0, 1]"),
        (
            "kernel_size = 3",
            "kernel_size = 0",
            "model.layers[4].kernel_size = 0: Conv1d: must be an integer > 0",
        ),
        ("kernel_size = 3, ", "", "model.layers[4].kernel_size: missing (required by Conv1d)"),
        (
            "momentum = 0.2",
            "momentum = 2",
            "model.layers[1].momentum = 2: BatchNorm1d: must be a number in [0, 1]",
        ),
        (
            'approximate = "tanh"',
            'approximate = "fast"',
            "model.layers[8].approximate = 'fast': GELU: must be one of 'none', 'tanh'",
        ),
        (
            "betas = [0.8, 0.99]",
            "betas = [0.8]",
            "training.optimizer.betas = [0.8]: AdamW: must be a list of two numbers",
        ),
        (
            "T_max = 10",
            "T_max = 0",
            "training.scheduler.T_max = 0: CosineAnnealingLR: must be an integer > 0",
        ),
        (
            "clip_grad_norm = 1.0",
            "clip_grad_norm = -1",
            "training.clip_grad_norm = -1: must be a finite number > 0",
        ),
        (
            "delta = 0.5",
            "delta = 0",
            "training.loss.delta = 0: HuberLoss: must be a finite number > 0",
        ),
        (
            '{ type = "Flatten" }',
            '{ type = "Flatten", axis = 1 }',
            "model.layers[6].axis: Flatten takes no argument 'axis'",
        ),
    ],
)
def test_wrong_arguments_of_new_names_are_refused_naming_layer_and_argument(old, new, expected):
    assert old in BREADTH
    found = problems(BREADTH.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_conv_without_a_sequence_input_is_explained():
    text = BREADTH.replace('  { type = "Unflatten", dim = 1, unflattened_size = [1, 12] },\n', "")
    assert problems(text) == [
        "model.layers[3] (Conv1d): needs input (N, channels, length) but the previous layer "
        "gives (12,); put an Unflatten before it"
    ]


def test_csv_scenario_reads_the_file_relative_to_the_scenario(tmp_path):
    from scenarios import load_scenario
    from scenarios.build import run_scenario

    rows = [f"{(i * 7 % 40) / 40},{(i * 13 % 40) / 40},{int(i % 40 >= 20)}" for i in range(80)]
    (tmp_path / "mine.csv").write_text("\n".join(rows) + "\n")
    text = VALID.replace(
        'kind = "centered_disk"\nn_train = 100\nn_test = 50',
        'kind = "csv"\npath = "mine.csv"\ntest_fraction = 0.25',
    )
    (tmp_path / "s.toml").write_text(text)
    scenario = load_scenario(tmp_path / "s.toml")
    assert scenario.data.n_train == 60 and scenario.data.n_test == 20
    assert scenario.data.num_classes == 2
    assert run_scenario(scenario).status == "completed"
    (tmp_path / "mine.csv").write_text("0.1,0.2,0\n0.5,oops,1\n")
    with pytest.raises(ScenarioError, match=r"data\.path = 'mine\.csv': .*mine\.csv line 2"):
        load_scenario(tmp_path / "s.toml")
