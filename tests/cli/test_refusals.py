"""Every bad input `replay` and `compare` meet is refused up front: exit 2, the field named.

Each case builds its scenario (and CSV) here, runs the command in-process,
and checks the exit status, the named field in the one-line error, that no
exception escaped and that no output file was written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import scenarios.build
from tui.cli import main

TEMPLATE = """
name = "probe"
[data]
{data}
[model]
{features}
layers = [{layers}]
[training]
loss = "MSELoss"
optimizer = "SGD"
lr = 0.1
batch_size = {batch_size}
epochs = {epochs}
seed = {seed}
"""

MLP = (
    '{ type = "Linear", out_features = 8 }, { type = "ReLU" }, '
    '{ type = "Linear", out_features = 2 }'
)
BATCHNORM = (
    '{ type = "Linear", out_features = 8 }, { type = "BatchNorm1d" }, { type = "ReLU" }, '
    '{ type = "Linear", out_features = 2 }'
)
CONV = (
    '{ type = "Linear", out_features = 16 }, '
    '{ type = "Unflatten", dim = 1, unflattened_size = [1, 16] }, '
    '{ type = "Conv1d", out_channels = 8, kernel_size = 3, padding = PADDING }, '
    '{ type = "Flatten" }, { type = "Linear", out_features = 2 }'
)


def scenario(
    layers: str = MLP,
    data: str = 'kind = "centered_disk"\nn_train = 100\nn_test = 50',
    features: str = "",
    batch_size: int = 10,
    epochs: int = 2,
    seed: int = 0,
) -> str:
    return TEMPLATE.format(
        data=data, features=features, layers=layers, batch_size=batch_size, epochs=epochs, seed=seed
    )


def refused(capsys, tmp_path: Path, args: list[str], expected: str, command: str = "replay"):
    """Run the command; it must exit 2 with ``expected`` in its error and write no file."""
    out = tmp_path / "out"
    extra = ["--json", str(out / "h.json")]
    if command == "replay":
        extra += ["--csv", str(out / "h.csv")]
    code = main([command, *args, *extra])  # an exception here is a traceback for a user
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err, err
    assert "Traceback" not in err
    assert err.startswith(f"minidl-lab {command}: error: ")
    assert not out.exists()
    return err


def write(tmp_path: Path, text: str, name: str = "probe.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BUILD_ERRORS = {
    "unflatten-dim": (
        '{ type = "Linear", out_features = 4 }, '
        '{ type = "Unflatten", dim = -9, unflattened_size = [2, 2] }, '
        '{ type = "Flatten" }, { type = "Linear", out_features = 2 }',
        "model.layers[1] (Unflatten): dim = -9 does not name a feature dimension of its "
        "input (N, 4); allowed: 1 or -1",
    ),
    "flatten-start": (
        '{ type = "Flatten", start_dim = 5 }, { type = "Linear", out_features = 2 }',
        "model.layers[0] (Flatten): start_dim = 5 does not name a feature dimension",
    ),
    "flatten-order": (
        '{ type = "Linear", out_features = 4 }, '
        '{ type = "Unflatten", dim = 1, unflattened_size = [2, 2] }, '
        '{ type = "Flatten", start_dim = 2, end_dim = 1 }, { type = "Linear", out_features = 2 }',
        "model.layers[2] (Flatten): start_dim = 2 comes after end_dim = 1",
    ),
    "flatten-end-zero": (
        '{ type = "Flatten", start_dim = 1, end_dim = 0 }, { type = "Linear", out_features = 2 }',
        "model.layers[0] (Flatten): end_dim = 0 does not name a feature dimension",
    ),
    "softmax-dim": (
        '{ type = "Linear", out_features = 2 }, { type = "Softmax", dim = 7 }',
        "model.layers[1] (Softmax): dim = 7 does not name a feature dimension",
    ),
    "no-parameters": (
        '{ type = "ReLU" }',
        "model.layers: the model has no parameters to train",
    ),
}


@pytest.mark.parametrize("case", list(BUILD_ERRORS))
def test_arguments_the_layers_refuse_are_reported_by_layer(case, tmp_path, capsys):
    layers, expected = BUILD_ERRORS[case]
    refused(capsys, tmp_path, [str(write(tmp_path, scenario(layers)))], expected)


def test_features_that_are_not_names_are_refused(tmp_path, capsys):
    text = scenario(features='features = [["x1"]]')
    refused(capsys, tmp_path, [str(write(tmp_path, text))], "model.features = [['x1']]: must be")


@pytest.mark.parametrize("command", ["replay", "compare"])
def test_batchnorm_with_a_last_batch_of_one_is_refused_with_sizes_that_work(
    command, tmp_path, capsys
):
    text = scenario(
        BATCHNORM, data='kind = "centered_disk"\nn_train = 1000\nn_test = 100', batch_size=333
    )
    err = refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "training.batch_size = 333: model.layers[1] (BatchNorm1d) cannot normalise a batch of "
        "one sample in training, and with 1000 training points the last batch holds one; "
        "use e.g. batch_size = 332 or 334",
        command,
    )
    assert err.count("\n") == 1  # one line


def test_batchnorm_with_batches_of_one_is_refused(tmp_path, capsys):
    text = scenario(BATCHNORM, batch_size=1)
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "training.batch_size = 1: model.layers[1] (BatchNorm1d) cannot normalise",
    )


def test_batchnorm_after_a_convolution_takes_a_batch_of_one(tmp_path, capsys):
    """BatchNorm1d over (N, C, L) with L > 1 normalises L values per channel: allowed."""
    layers = CONV.replace("PADDING", "1").replace(
        '{ type = "Flatten" }', '{ type = "BatchNorm1d" }, { type = "Flatten" }'
    )
    text = scenario(layers, data='kind = "centered_disk"\nn_train = 21\nn_test = 10')
    assert main(["replay", str(write(tmp_path, text)), "-q"]) == 0


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("seed = 0", "seed = 18446744073709551616", "training.seed = 18446744073709551616"),
        ("seed = 0", f"seed = {2**63}", f"training.seed = {2**63}"),
        ("n_test = 50", "n_test = 50\nseed = 18446744073709551616", "data.seed = 18446744"),
    ],
)
def test_seeds_beyond_64_bits_are_refused_in_the_file(old, new, field, tmp_path, capsys):
    text = scenario().replace(old, new)
    err = refused(capsys, tmp_path, [str(write(tmp_path, text))], field)
    assert "must be an integer >= 0 and <= 9223372036854775807" in err


def test_a_seed_beyond_64_bits_on_the_command_line_is_refused(tmp_path, capsys):
    path = write(tmp_path, scenario())
    refused(
        capsys,
        tmp_path,
        [str(path), "--seed", "18446744073709551616"],
        "--seed = 18446744073709551616: must be an integer >= 0 and <= 9223372036854775807",
    )


def test_compare_refuses_rounds_whose_seeds_overflow(tmp_path, capsys):
    path = write(tmp_path, scenario(seed=2**63 - 1))
    refused(capsys, tmp_path, [str(path), "--rounds", "2"], "--rounds = 2: the seeds", "compare")


def test_epochs_beyond_the_cap_are_refused(tmp_path, capsys):
    text = scenario(epochs=2**63 - 1)
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "training.epochs = 9223372036854775807: must be an integer >= 1 and <= 1000000",
    )
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, scenario())), "--epochs", "1000001"],
        "--epochs = 1000001: must be an integer >= 1 and <= 1000000",
    )


@pytest.mark.parametrize("depth", [3000, 10000])
def test_deeply_nested_toml_is_refused_without_recursion_error(depth, tmp_path, capsys):
    text = scenario() + "\n[extra]\nvalue = " + "[" * depth + "]" * depth + "\n"
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "tables or arrays are nested too deeply (at most 32 levels)",
    )


def test_deeply_nested_dotted_keys_are_refused(tmp_path, capsys):
    text = scenario() + "\n" + ".".join(["k"] * 5000) + " = 1\n"
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "tables or arrays are nested too deeply (at most 32 levels)",
    )


def test_the_lab_command_refuses_a_bad_file_before_opening(tmp_path, capsys):
    text = scenario('{ type = "Flatten", start_dim = 5 }, { type = "Linear", out_features = 2 }')
    assert main(["lab", str(write(tmp_path, text))]) == 2
    assert "model.layers[0] (Flatten): start_dim = 5" in capsys.readouterr().err
    text = scenario('{ type = "Tanh\\u001b[2J" }, { type = "Linear", out_features = 2 }')
    assert main(["lab", str(write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and r"Tanh\x1b[2J" in err


def test_nesting_within_the_bound_is_reported_as_an_ordinary_error(tmp_path, capsys):
    text = scenario() + "\n[extra]\nvalue = " + "[" * 20 + "]" * 20 + "\n"
    refused(capsys, tmp_path, [str(write(tmp_path, text))], "extra: unknown key")


# --- sizes nobody can train -------------------------------------------------------------

GIB = 1 << 30


@pytest.fixture
def eight_gigabytes(monkeypatch):
    """A machine with 8 GiB available, whatever this one has."""
    monkeypatch.setattr(scenarios.build, "available_memory", lambda: 8 * GIB)


def test_a_training_set_too_large_for_memory_is_refused_with_the_estimate(
    eight_gigabytes, tmp_path, capsys
):
    text = scenario(data='kind = "centered_disk"\nn_train = 1000000000\nn_test = 100')
    err = refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "data.n_train: the data would need about ",
    )
    assert "GB of memory to train (1,000,000,000 training and 100 test points" in err
    assert "more than the 8.6 GB this machine has available" in err


def test_layers_too_wide_for_memory_are_refused_before_they_are_allocated(tmp_path, capsys):
    """10**14 weights (400 TB): no machine has that, so the real available memory is used."""
    layers = (
        '{ type = "Linear", out_features = 10000000 }, '
        '{ type = "Linear", out_features = 10000000 }, { type = "Linear", out_features = 2 }'
    )
    text = scenario(layers, data='kind = "centered_disk"\nn_train = 4\nn_test = 4', batch_size=2)
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "model.layers[1] (Linear): the model would need about ",
    )


def test_a_convolution_padded_beyond_memory_is_refused(tmp_path, capsys):
    text = scenario(CONV.replace("PADDING", "1000000000"))
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "model.layers[2] (Conv1d): the model would need about ",
    )


def test_the_estimate_lets_ordinary_scenarios_through(eight_gigabytes, capsys):
    assert main(["replay", "centered_disk_conv1d", "--epochs", "1", "-q"]) in (0, 1)
    assert "error" not in capsys.readouterr().err


# --- files that are not files ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_only_regular_files_are_read_as_scenarios(kind, tmp_path, capsys):
    if kind == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)
        expected = "is not a regular file (a pipe, device or socket)"
    elif kind == "device":
        path = Path("/dev/zero")
        expected = "/dev/zero is not a regular file"
    else:
        path = tmp_path / "folder.toml"
        path.mkdir()
        expected = "folder.toml is a directory, not a file"
    refused(capsys, tmp_path, [str(path)], expected)  # a FIFO would hang here


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_only_regular_files_are_read_as_csv_data(kind, tmp_path, capsys):
    if kind == "fifo":
        csv_path = tmp_path / "points.csv"
        os.mkfifo(csv_path)
    else:
        csv_path = Path("/dev/zero")
    text = scenario(data=f'kind = "csv"\npath = "{csv_path}"')
    err = refused(capsys, tmp_path, [str(write(tmp_path, text))], "data.path = ")
    assert "is not a regular file" in err
    assert stat.S_ISFIFO(os.stat(csv_path).st_mode) or kind == "device"


def test_a_path_too_long_for_the_system_is_refused(tmp_path, capsys):
    refused(capsys, tmp_path, ["a" * 5000], ": File name too long")


def test_an_oversized_scenario_file_is_refused(tmp_path, capsys):
    path = tmp_path / "big.toml"
    path.write_text(scenario() + "#" * (1 << 20))
    refused(capsys, tmp_path, [str(path)], "a scenario file may have at most 1,048,576")


# --- CSV data --------------------------------------------------------------------------


def points_csv(tmp_path: Path, rows: list[str], header: str | None = None, bom: bool = False):
    path = tmp_path / "points.csv"
    text = ("" if header is None else header + "\n") + "\n".join(rows) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8"))
    return path


ROWS = [f"{i / 20},{1 - i / 20},{i % 2}" for i in range(20)]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("²", "line 5: label must be an integer 0..99 written in digits 0-9, got '²'"),
        ("٣", "line 5: label must be an integer 0..99 written in digits 0-9, got '٣'"),
        (str(10**30), f"line 5: label {10**30} is out of range (labels are 0..99)"),
        ("100", "line 5: label 100 is out of range (labels are 0..99)"),
    ],
)
def test_csv_labels_are_parsed_strictly_and_named_at_their_line(
    label, expected, tmp_path, capsys
):
    rows = list(ROWS)
    rows[4] = f"0.5,0.5,{label}"
    csv_path = points_csv(tmp_path, rows)
    text = scenario(data=f'kind = "csv"\npath = "{csv_path}"')
    refused(capsys, tmp_path, [str(write(tmp_path, text))], expected)


def test_a_byte_order_mark_never_eats_the_first_row(tmp_path):
    from scenarios.datasets.csv_points import read_points

    x, _ = read_points(points_csv(tmp_path, ROWS, bom=True))
    assert x.shape == (20, 2) and x[0].tolist() == [0.0, 1.0]
    x, _ = read_points(points_csv(tmp_path, ROWS, header="x1,x2,label", bom=True))
    assert x.shape == (20, 2)


def test_labels_that_skip_a_class_are_refused_at_the_line(tmp_path, capsys):
    rows = [f"{i / 20},{1 - i / 20},{2 * (i % 2)}" for i in range(20)]
    csv_path = points_csv(tmp_path, rows, header="x1,x2,label")
    text = scenario(data=f'kind = "csv"\npath = "{csv_path}"')
    refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        "line 3: label 2 makes 3 classes, but no row has label 1",
    )


def test_a_label_beyond_the_models_outputs_is_named_at_its_csv_line(tmp_path, capsys):
    rows = [f"{i / 20},{1 - i / 20},{i % 8}" for i in range(20)]
    csv_path = points_csv(tmp_path, rows, header="x1,x2,label")
    text = scenario(data=f'kind = "csv"\npath = "{csv_path}"')  # the last layer gives 2
    err = refused(
        capsys,
        tmp_path,
        [str(write(tmp_path, text))],
        f"data.path: {csv_path} line 4: label 2 is out of range for the model, whose last "
        "layer gives 2 outputs (labels 0..1)",
    )
    assert "model.layers" not in err


OPTIMIZER_CLASHES = {
    "nesterov-alone": (
        '{ type = "SGD", nesterov = true }',
        "training.optimizer.nesterov = true: Nesterov momentum requires a momentum > 0 "
        "and zero dampening",
    ),
    "nesterov-dampening": (
        '{ type = "SGD", momentum = 0.9, dampening = 0.5, nesterov = true }',
        "training.optimizer.nesterov = true: Nesterov momentum requires",
    ),
}


@pytest.mark.parametrize("command", ["replay", "compare"])
@pytest.mark.parametrize("case", list(OPTIMIZER_CLASHES))
def test_optimizer_arguments_its_constructor_refuses_are_named_up_front(
    case, command, tmp_path, capsys
):
    optimizer, expected = OPTIMIZER_CLASHES[case]
    text = scenario().replace('optimizer = "SGD"', f"optimizer = {optimizer}")
    refused(capsys, tmp_path, [str(write(tmp_path, text))], expected, command)
