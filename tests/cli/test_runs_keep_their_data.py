"""A run ended by a signal, a closed pipe or divergence keeps every completed epoch.

The signal cases run `python -m tui replay` as a user's shell would and
check the exit status, the stderr (no traceback) and that --json/--csv hold
exactly the epochs printed before the stop.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.cli import main, printable

LONG = """
name = "long"
[data]
kind = "centered_disk"
n_train = 200
n_test = 100
[model]
layers = [
  { type = "Linear", out_features = 8 },
  { type = "Tanh" },
  { type = "Linear", out_features = 2 },
]
[training]
loss = "MSELoss"
optimizer = "SGD"
lr = 0.1
batch_size = 20
epochs = EPOCHS
"""

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, epochs: int, *extra: str) -> tuple[subprocess.Popen[str], Path, Path]:
    path = tmp_path / "long.toml"
    path.write_text(LONG.replace("EPOCHS", str(epochs)))
    json_path, csv_path = tmp_path / "h.json", tmp_path / "h.csv"
    outputs = ["--json", str(json_path), "--csv", str(csv_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "replay", str(path), *outputs, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return process, json_path, csv_path


def read_outputs(json_path: Path, csv_path: Path) -> tuple[dict, list[dict]]:
    document = json.loads(json_path.read_text(), parse_constant=_refuse_constant)
    rows = list(csv.DictReader(csv_path.read_text().splitlines()))
    return document, rows


def _refuse_constant(name: str):
    raise AssertionError(f"not strict JSON: {name}")


@pytest.mark.parametrize(("name", "status"), [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_during_training_writes_the_completed_epochs(name, status, tmp_path):
    process, json_path, csv_path = start(tmp_path, 1_000_000)
    assert process.stdout is not None
    for line in process.stdout:  # wait until training is under way
        if line.startswith("epoch ") and line.split()[1].startswith("5/"):
            break
    process.send_signal(getattr(signal, name))
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert "Traceback" not in err
    assert "training interrupted at epoch" in err and "complete epochs kept" in err
    document, rows = read_outputs(json_path, csv_path)
    assert document["status"] == "stopped"
    kept = len(document["epochs"])
    assert kept >= 5 and len(rows) == kept
    assert [e["epoch"] for e in document["epochs"]] == list(range(1, kept + 1))
    assert f"{kept} complete epochs kept" in err


@pytest.mark.parametrize("delay", [0.0, 0.5, 1.0])
def test_ctrl_c_during_start_up_exits_130_quietly(delay, tmp_path):
    process, _, _ = start(tmp_path, 1_000_000)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)  # while the interpreter starts or torch is imported
    _, err = process.communicate(timeout=120)
    # killed by SIGINT before Python's own handler exists, the shell shows 130 as well
    assert process.returncode == 130 or (delay == 0.0 and process.returncode == -signal.SIGINT)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip() in ("", "minidl-lab: interrupted (signal 2)") or (
        "complete epochs kept" in err
    )


def test_a_closed_stdout_still_writes_the_files(tmp_path):
    process, json_path, csv_path = start(tmp_path, 300)
    assert process.stdout is not None and process.stderr is not None
    lines = [process.stdout.readline() for _ in range(3)]  # as `| head -3`
    assert all(line.startswith("epoch ") for line in lines)
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    document, rows = read_outputs(json_path, csv_path)
    assert document["status"] == "completed" and len(document["epochs"]) == 300
    assert len(rows) == 300


def test_compare_with_a_closed_stdout_still_writes_its_json(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(LONG.replace("EPOCHS", "2"))
    json_path = tmp_path / "c.json"
    command = ["compare", str(path), "--rounds", "3", "--json", str(json_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("long: minidl and its PyTorch twin")
    process.stdout.close()  # as `| head -1`
    err = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err
    document = json.loads(json_path.read_text(), parse_constant=_refuse_constant)
    assert len(document["rounds"]) == 3


def test_a_diverged_run_writes_strict_json_naming_the_non_finite_numbers(tmp_path, capsys):
    path = tmp_path / "diverge.toml"
    path.write_text(LONG.replace("EPOCHS", "3").replace("lr = 0.1", "lr = 1e30"))
    json_path = tmp_path / "h.json"
    assert main(["replay", str(path), "--json", str(json_path), "-q"]) == 1
    text = json_path.read_text()
    assert "Infinity" not in text and "NaN" not in text
    document = json.loads(text, parse_constant=_refuse_constant)
    assert document["status"] == "diverged"
    assert document["diverged"]["loss"] is None
    assert document["non_finite"]["/diverged/loss"] in ("nan", "inf", "-inf")

    from minidl.history import History

    restored = History.from_json(json_path)  # reads the numbers back as they were
    assert restored.diverged is not None
    assert not math.isfinite(restored.diverged.loss)


def test_finite_runs_list_no_non_finite_numbers(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(LONG.replace("EPOCHS", "2"))
    json_path = tmp_path / "h.json"
    main(["replay", str(path), "--json", str(json_path), "-q"])
    assert json.loads(json_path.read_text())["non_finite"] == {}


def test_exports_honour_the_umask(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(LONG.replace("EPOCHS", "2"))
    previous = os.umask(0o022)
    try:
        main(["replay", str(path), "--json", str(tmp_path / "h.json"), "-q"])
        main(["replay", str(path), "--csv", str(tmp_path / "h.csv"), "-q"])
        main(["compare", str(path), "--rounds", "1", "--json", str(tmp_path / "c.json")])
        os.umask(0o077)
        main(["replay", str(path), "--json", str(tmp_path / "private.json"), "-q"])
    finally:
        os.umask(previous)
    for name in ("h.json", "h.csv", "c.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600
    json.loads((tmp_path / "c.json").read_text(), parse_constant=_refuse_constant)


def test_outputs_never_replace_pipes_or_directories_and_follow_links(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(LONG.replace("EPOCHS", "1"))
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    assert main(["replay", str(path), "--json", str(pipe), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--json {pipe}: no process reads from that pipe" in err
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)  # still a pipe
    assert main(["replay", str(path), "--csv", str(tmp_path), "-q"]) == 2
    assert tmp_path.is_dir()
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert main(["replay", str(path), "--csv", str(link), "-q"]) == 0
    assert link.is_symlink() and real.read_text().startswith("epoch,train_loss")


ANSI_TOML = r"evil\u001b[2J\u001b]0;owned\u0007\u202ename"  # TOML escapes: the name holds them
ANSI_SHOWN = r"evil\x1b[2J\x1b]0;owned\x07\u202ename"


def test_control_characters_in_names_and_messages_are_escaped(tmp_path, capsys):
    path = tmp_path / "ansi.toml"
    path.write_text(LONG.replace("EPOCHS", "1").replace('name = "long"', f'name = "{ANSI_TOML}"'))
    for args in (
        ["replay", str(path), "-q"],
        ["replay", str(path)],
        ["compare", str(path), "--rounds", "1"],
    ):
        main(args)
        captured = capsys.readouterr()
        shown = captured.out + captured.err
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown, args
        assert ANSI_SHOWN in shown, args
    bad = tmp_path / "bad.toml"
    bad.write_text(LONG.replace("EPOCHS", "1").replace('"Tanh"', r'"Tanh\u001b[31m"'))
    assert main(["replay", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and r"Tanh\x1b[31m" in err


def test_the_scenario_list_escapes_what_it_shows(monkeypatch, tmp_path, capsys):
    import scenarios.shipped
    from tui.replay import list_scenarios

    path = tmp_path / "x.toml"
    described = LONG.replace("EPOCHS", "1")
    described = described.replace("[data]", 'description = "a\\u001b[5mb"\n[data]')
    path.write_text(described)
    broken = tmp_path / "y.toml"
    broken.write_text('"k\\u001b[7m" = 1\n')  # an unknown key: the error quotes it
    monkeypatch.setattr(
        scenarios.shipped, "shipped_scenarios", lambda: {"n\x1b[1m": path, "broken": broken}
    )
    assert list_scenarios() == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert r"n\x1b[1m" in out and r"a\x1b[5mb" in out and r"k\x1b[7m" in out


def test_printable_escapes_controls_and_keeps_text():
    assert printable("plain ünïcode ✓") == "plain ünïcode ✓"
    assert printable("a\x1b[31mb\x9bc\x00") == "a\\x1b[31mb\\x9bc\\x00"
    assert printable("two\nlines") == "two\nlines"
    assert printable("two\nlines", keep_newlines=False) == "two\\x0alines"
