"""Checkpoints: atomic saves, weights_only loads, clear errors that change nothing, exact resume."""

from __future__ import annotations

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
