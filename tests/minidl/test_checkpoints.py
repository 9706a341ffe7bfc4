"""Checkpoints: atomic saves, weights_only loads, clear errors that change nothing, exact resume."""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import minidl
from scenarios import parse_scenario
from scenarios.build import build_experiment

SCENARIO = """
name = "resume"
[data]
kind = "centered_disk"
n_train = 200
n_test = 100
[model]
layers = [
  { type = "Linear", out_features = 16 },
  { type = "BatchNorm1d" },
  { type = "ReLU" },
  { type = "Dropout", p = 0.2 },
  { type = "Linear", out_features = 2 },
]
[training]
loss = "CrossEntropyLoss"
optimizer = { type = "Adam", amsgrad = true }
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5 }
clip_grad_norm = 5.0
lr = 0.01
batch_size = 32
epochs = 6
"""


def fresh_trainer():
    return build_experiment(parse_scenario(SCENARIO)).trainer


def test_resuming_from_a_checkpoint_continues_exactly(tmp_path):
    whole = fresh_trainer().run(6)

    first = fresh_trainer()
    first.run(3)
    path = minidl.save(first.state_dict(), tmp_path / "run.ckpt")
    resumed = fresh_trainer()
    resumed.load_state_dict(minidl.load(path))
    history = resumed.run(3)

    assert [e.metrics() for e in history.epochs] == [e.metrics() for e in whole.epochs]
    assert resumed.optimizer.lr == 0.01 * 0.5**3


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "model.ckpt"
    minidl.save({"w": torch.ones(2)}, target)
    with pytest.raises(Exception, match="pickle"):
        minidl.save({"w": lambda: 0}, target)  # fails while writing
    assert torch.equal(minidl.load(target)["w"], torch.ones(2))  # the old file survived
    assert [p.name for p in tmp_path.iterdir()] == ["model.ckpt"]


def test_corrupt_or_missing_checkpoints_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(minidl.CheckpointError, match=r"bad\.ckpt is corrupt"):
        minidl.load(bad)
    with pytest.raises(minidl.CheckpointError, match="does not exist"):
        minidl.load(tmp_path / "nope.ckpt")


class Payload:
    """Stands for any object a pickle could smuggle in."""


def test_loading_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"x": Payload()}, path)  # not an allowed type under weights_only
    with pytest.raises(minidl.CheckpointError, match="corrupt or not a minidl checkpoint"):
        minidl.load(path)


def test_a_mismatched_checkpoint_names_the_key_and_changes_nothing(tmp_path):
    trainer = fresh_trainer()
    trainer.run(1)
    state = trainer.state_dict()
    state["model"]["0.weight"] = torch.zeros(17, 2)
    target = fresh_trainer()
    before = {k: v.clone() for k, v in target.model.state_dict().items()}
    with pytest.raises(minidl.StateDictError, match=r"0\.weight: shape \(17, 2\)"):
        target.load_state_dict(state)
    after = target.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert target.epochs_completed == 0


def test_an_optimizer_mismatch_rolls_the_model_back():
    trainer = fresh_trainer()
    trainer.run(1)
    state = trainer.state_dict()
    state["optimizer"]["type"] = "SGD"
    target = fresh_trainer()
    before = {k: v.clone() for k, v in target.model.state_dict().items()}
    with pytest.raises(minidl.StateDictError, match="state dict is from SGD"):
        target.load_state_dict(state)
    after = target.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


# --- integrity: checksums, plain messages, temporary files, permissions ----------------


def _same(a, b) -> bool:
    """Equal down to every tensor's bits and every plain value."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return a == b or (a != a and b != b)  # NaN equals NaN here


def test_no_flipped_bit_loads_as_different_weights(tmp_path):
    trainer = fresh_trainer()
    trainer.run(1)
    state = trainer.state_dict()
    path = minidl.save(state, tmp_path / "run.ckpt")
    original = path.read_bytes()
    reference = minidl.load(path)
    assert _same(reference, state)
    refused = loaded_same = 0
    flips = 600
    for index in range(flips):
        position = index * len(original) // flips
        damaged = bytearray(original)
        damaged[position] ^= 1 << (index % 8)
        target = tmp_path / "damaged.ckpt"
        target.write_bytes(bytes(damaged))
        try:
            loaded = minidl.load(target)
        except minidl.CheckpointError as error:
            refused += 1
            message = str(error)
            assert "\x1b" not in message and "weights_only" not in message, message
            continue
        assert _same(loaded, reference), f"bit {index % 8} of byte {position} changed the state"
        loaded_same += 1  # a flip in a byte torch's zip reader never looks at
    assert refused + loaded_same == flips and refused > flips // 2


def test_a_checksum_mismatch_is_named(tmp_path):
    path = minidl.save({"w": torch.arange(1000.0)}, tmp_path / "w.ckpt")
    data = bytearray(path.read_bytes())
    weight_at = data.index(struct.pack("<f", 777.0))  # the bytes of one weight
    data[weight_at] ^= 0x01  # 777.0 becomes 777.00006: a silently different weight
    path.write_bytes(bytes(data))
    with pytest.raises(minidl.CheckpointError, match="corrupt") as error:
        minidl.load(path)
    assert "w.ckpt" in str(error.value)


def test_empty_files_directories_and_pipes_get_plain_messages(tmp_path):
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    with pytest.raises(minidl.CheckpointError, match=r"empty\.ckpt is empty \(0 bytes\)"):
        minidl.load(empty)
    folder = tmp_path / "folder.ckpt"
    folder.mkdir()
    with pytest.raises(minidl.CheckpointError, match=r"folder\.ckpt is a directory, not a file"):
        minidl.load(folder)
    pipe = tmp_path / "pipe.ckpt"
    os.mkfifo(pipe)
    with pytest.raises(minidl.CheckpointError, match="is not a regular file"):
        minidl.load(pipe)  # never waits for a writer


def test_torch_internals_stay_out_of_the_messages(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"x": Payload()}, path)
    plain = tmp_path / "plain.ckpt"
    torch.save({"w": torch.ones(2)}, plain)  # a torch file, not a minidl checkpoint
    for source, expected in ((path, "corrupt or not a minidl checkpoint"), (plain, "no minidl")):
        with pytest.raises(minidl.CheckpointError) as error:
            minidl.load(source)
        message = str(error.value)
        assert expected in message
        for internal in ("\x1b", "weights_only", "WeightsUnpickler", "torch.serialization"):
            assert internal not in message, message


def test_a_newer_format_version_is_refused_by_number(tmp_path):
    from minidl import serialization

    path = tmp_path / "future.ckpt"
    envelope = {
        "format": serialization.CHECKPOINT_FORMAT,
        "version": 99,
        "sha256": "",
        "payload": torch.zeros(1, dtype=torch.uint8),
    }
    torch.save(envelope, path)
    with pytest.raises(minidl.CheckpointError, match="version 99; this minidl reads version 1"):
        minidl.load(path)


def test_an_orphaned_temporary_file_is_recognisable_and_removed_by_the_next_save(tmp_path):
    from minidl import serialization

    target = tmp_path / "run.ckpt"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    orphan = tmp_path / f".run.ckpt.{dead.pid}.0badc0de{serialization.TEMP_SUFFIX}"
    orphan.write_bytes(b"half a checkpoint")
    alive = tmp_path / f".run.ckpt.{os.getpid()}.0badc0de{serialization.TEMP_SUFFIX}"
    alive.write_bytes(b"a save under way in this process")
    other = tmp_path / f".other.ckpt.{dead.pid}.0badc0de{serialization.TEMP_SUFFIX}"
    other.write_bytes(b"another target's")
    minidl.save({"w": torch.ones(2)}, target)
    assert not orphan.exists()
    assert alive.exists() and other.exists()  # a live writer's file, another target's file


def test_a_save_killed_midway_leaves_only_a_recognisable_temporary_file(tmp_path):
    script = (
        "import os, signal, minidl\n"
        "from minidl import serialization\n"
        "real = os.replace\n"
        "def die(*args):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "serialization.os.replace = die\n"
        f"minidl.save({{'w': __import__('torch').ones(3)}}, {str(tmp_path / 'k.ckpt')!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".k.ckpt.")
    assert leftovers[0].endswith(".minidl-tmp")
    minidl.save({"w": torch.ones(3)}, tmp_path / "k.ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["k.ckpt"]


def test_written_files_honour_the_umask(tmp_path):
    from scenarios.schema import save_scenario

    previous = os.umask(0o022)
    try:
        checkpoint = minidl.save({"w": torch.ones(2)}, tmp_path / "a.ckpt")
        scenario = save_scenario(parse_scenario(SCENARIO), tmp_path / "s.toml")
        os.umask(0o027)
        group = minidl.save({"w": torch.ones(2)}, tmp_path / "b.ckpt")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o644
    assert stat.S_IMODE(scenario.stat().st_mode) == 0o644
    assert stat.S_IMODE(group.stat().st_mode) == 0o640
    os.chmod(checkpoint, 0o600)  # a file made private stays private when saved again
    minidl.save({"w": torch.zeros(2)}, checkpoint)
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600


def test_a_full_disk_is_an_os_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    from minidl import serialization

    target = minidl.save({"w": torch.ones(2)}, tmp_path / "w.ckpt")

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        minidl.save({"w": torch.zeros(2)}, target)
    monkeypatch.undo()
    assert torch.equal(minidl.load(target)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["w.ckpt"]


# --- atomic Trainer.load_state_dict ---------------------------------------------------------


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize(
    ("part", "damage", "message"),
    [
        ("shuffle_generator", lambda s: torch.zeros(3, dtype=torch.uint8), "shuffle generator"),
        ("shuffle_generator", lambda s: "not a state", "shuffle generator state is not a byte"),
        ("dropout_generators", lambda s: [torch.zeros(3, dtype=torch.uint8)], "dropout gen"),
        ("scheduler", lambda s: {"base_lr": "x", "last_epoch": 1}, "malformed scheduler"),
        ("history", lambda s: {"epochs": [], "status": "exploded"}, "unknown history status"),
        ("history", lambda s: {"epochs": [{"epoch": 1}]}, "malformed history"),
    ],
)
def test_a_corrupt_part_leaves_the_whole_trainer_unchanged(part, damage, message):
    trainer = fresh_trainer()
    trainer.run(2)
    state = trainer.state_dict()
    state[part] = damage(state[part])
    target = fresh_trainer()
    target.run(1)
    weights, optimizer = _weights(target), target.optimizer.state_dict()
    lr, generator = target.optimizer.lr, target._generator.get_state()
    with pytest.raises(minidl.StateDictError, match=message):
        target.load_state_dict(state)
    assert all(torch.equal(weights[k], v) for k, v in _weights(target).items())
    assert _same(target.optimizer.state_dict(), optimizer) and target.optimizer.lr == lr
    assert torch.equal(target._generator.get_state(), generator)
    assert target.epochs_completed == 1
    # and the trainer still trains
    assert target.run(1).epochs[-1].epoch == 2
