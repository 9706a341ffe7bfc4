from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

TINY = """
name = "tiny"
[data]
kind = "centered_disk"
n_train = 200
n_test = 100
[model]
layers = [
  { type = "Linear", in_features = 2, out_features = 16 },
  { type = "Tanh" },
  { type = "Linear", out_features = 2 },
]
[training]
loss = "MSELoss"
optimizer = { type = "SGD", momentum = 0.9 }
lr = 0.1
batch_size = 20
epochs = 4
[expect]
min_train_accuracy = 0.0
"""


def write(tmp_path: Path, text: str, name: str = "tiny.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=300
    )


def test_help_describes_every_command_and_option():
    top = run_cli("--help")
    assert top.returncode == 0
    assert "replay" in top.stdout and "scenarios" in top.stdout
    replay = run_cli("replay", "--help")
    assert replay.returncode == 0
    for option in ("--epochs", "--seed", "--json", "--csv", "--quiet", "Exit status"):
        assert option in replay.stdout


def test_no_arguments_prints_help():
    result = run_cli()
    assert result.returncode == 0 and "usage: minidl-lab" in result.stdout


def test_replay_prints_one_line_per_epoch_without_a_tty_and_exits_0(tmp_path):
    result = run_cli("replay", str(write(tmp_path, TINY)))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert "tiny: completed after 4 epochs" in result.stdout
    assert "Traceback" not in result.stderr


def test_failed_expectation_exits_1_and_says_by_how_much(tmp_path, capsys):
    path = write(tmp_path, TINY.replace("min_train_accuracy = 0.0", "min_test_accuracy = 1.0"))
    assert main(["replay", str(path), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "1 expectation(s) FAILED" in captured.out
    assert "expectation failed: test_accuracy = " in captured.err
    assert "(expected >= 1.0): FAILED by" in captured.err


def test_invalid_file_exits_2_naming_the_field_without_traceback(tmp_path):
    result = run_cli("replay", str(write(tmp_path, TINY.replace("lr = 0.1", "lr = -5"))))
    assert result.returncode == 2
    assert "training.lr = -5: must be a finite number > 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_arguments_exit_2(tmp_path):
    assert run_cli("replay", str(write(tmp_path, TINY)), "--epochs", "0").returncode == 2
    assert run_cli("replay", str(tmp_path / "nope.toml")).returncode == 2


def test_overrides_and_outputs(tmp_path, capsys):
    path = write(tmp_path, TINY)
    json_path, csv_path = tmp_path / "out" / "h.json", tmp_path / "h.csv"
    json_path.parent.mkdir()  # a missing folder is refused, never created
    code = main(
        [
            "replay",
            str(path),
            "--epochs",
            "2",
            "--seed",
            "5",
            "--json",
            str(json_path),
            "--csv",
            str(csv_path),
            "-q",
        ]
    )
    assert code == 0
    data = json.loads(json_path.read_text())
    assert data["status"] == "completed" and len(data["epochs"]) == 2
    assert csv_path.read_text().splitlines()[0].startswith("epoch,train_loss,")
    assert len(csv_path.read_text().splitlines()) == 3
    out = capsys.readouterr().out
    assert out.startswith("tiny: completed, 2 epochs") and "expectations met" in out
    # the seed changes the run, the same seed reproduces it exactly
    main(
        [
            "replay",
            str(path),
            "--epochs",
            "2",
            "--seed",
            "6",
            "--json",
            str(tmp_path / "b.json"),
            "-q",
        ]
    )
    main(
        [
            "replay",
            str(path),
            "--epochs",
            "2",
            "--seed",
            "5",
            "--json",
            str(tmp_path / "c.json"),
            "-q",
        ]
    )
    other = json.loads((tmp_path / "b.json").read_text())
    same = json.loads((tmp_path / "c.json").read_text())

    def numbers(d):
        return [
            {k: v for k, v in e.items() if k not in ("seconds", "samples_per_second")}
            for e in d["epochs"]
        ]

    assert numbers(same) == numbers(data)
    assert numbers(other) != numbers(data)


def test_diverging_run_exits_1_and_says_where(tmp_path, capsys):
    path = write(tmp_path, TINY.replace("lr = 0.1", "lr = 1e30"))
    assert main(["replay", str(path), "-q"]) == 1
    err = capsys.readouterr().err
    assert re.search(
        r"training diverged: loss (nan|inf) at epoch 1, step \d+ \(that step was not applied\)", err
    )
    assert "train_accuracy: no completed epoch to judge (needs >= 0.0)" in err


def test_shipped_scenarios_are_found_by_name(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert "centered_disk" in out and "quarter_circle" in out
    assert main(["replay", "centered_disk", "--epochs", "1", "-q"]) == 1  # 1 epoch is not enough
    assert "centered_disk: completed, 1 epochs" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["centered_disk", "quarter_circle"])
def test_cli_replays_the_shipped_scenarios_to_their_expectations(name, capsys):
    assert main(["replay", name, "-q"]) == 0
    assert "expectations met" in capsys.readouterr().out


def test_a_file_without_expectations_says_so_rather_than_met(tmp_path, capsys):
    path = write(tmp_path, TINY.replace("[expect]\nmin_train_accuracy = 0.0\n", ""))
    assert main(["replay", str(path), "--epochs", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny: completed, 1 epochs") and out.rstrip().endswith(
        ": no expectations"
    )
    assert "met" not in out
    assert main(["replay", str(path), "--epochs", "1"]) == 0
    assert "no expectations in the file: nothing to check" in capsys.readouterr().out
