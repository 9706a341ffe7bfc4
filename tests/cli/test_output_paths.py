"""Output paths of replay and compare are checked before training; pipes are written directly."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from minidl.train import Trainer
from tui.cli import main

SCENARIO = """
name = "small"
[data]
kind = "centered_disk"
n_train = 60
n_test = 30
[model]
layers = [{ type = "Linear", out_features = 4 }, { type = "Tanh" },
          { type = "Linear", out_features = 2 }]
[training]
loss = "MSELoss"
optimizer = "SGD"
lr = 0.1
batch_size = 20
epochs = 2
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the output paths were checked")

    monkeypatch.setattr(Trainer, "run", refuse)


def cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return {
        "folder": (str(tmp_path), f"{tmp_path}: is a folder: give a file name"),
        "missing folder": (
            str(tmp_path / "nowhere" / "x.json"),
            f"folder {tmp_path / 'nowhere'} does not exist",
        ),
        "file as folder": (str(a_file / "x.json"), f"{a_file} is a file, not a folder"),
    }


@pytest.mark.parametrize("case", ["folder", "missing folder", "file as folder"])
@pytest.mark.parametrize(
    ("command", "option"),
    [("replay", "--json"), ("replay", "--csv"), ("replay", "--layers"), ("compare", "--json")],
)
def test_a_path_that_cannot_be_written_is_refused_before_training(
    case, command, option, scenario, tmp_path, capsys, no_training
):
    path, expected = cases(tmp_path)[case]
    extra = ["--rounds", "1"] if command == "compare" else ["-q"]
    assert main([command, str(scenario), option, path, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"minidl-lab {command}: error: {option} {path}: "), err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "nowhere").exists()  # never created silently


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_a_folder_without_write_permission_is_refused_before_training(
    scenario, tmp_path, capsys, no_training
):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    assert main(["replay", str(scenario), "--json", str(folder / "h.json"), "-q"]) == 2
    assert "permission denied" in capsys.readouterr().err


def test_a_pipe_such_as_dev_stdout_is_written_directly(scenario, capsys):
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(os.fdopen(read_end, "rb").read()))
    reader.start()
    try:
        # what /dev/stdout names when the output is piped: the pipe, through /proc
        code = main(["replay", str(scenario), "--json", f"/proc/self/fd/{write_end}", "-q"])
    finally:
        os.close(write_end)
        reader.join(10)
    assert code == 0, capsys.readouterr().err
    document = json.loads(received[0])
    assert [e["epoch"] for e in document["epochs"]] == [1, 2]
    assert "minidl-tmp" not in capsys.readouterr().err
