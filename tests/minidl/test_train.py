from __future__ import annotations

import csv
import io
import json
import math

import pytest
import torch

import minidl
from minidl.events import EpochCompleted, TrainingDiverged, TrainingFinished, TrainingStopped
from scenarios.datasets import centered_disk


def make_trainer(batch_size=32, lr=0.1, seed=0, n_train=200, dtype=torch.float32, momentum=0.0):
    data = centered_disk(n_train=n_train, n_test=100, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    model = minidl.Sequential(
        minidl.Linear(2, 16, generator=generator),
        minidl.ReLU(),
        minidl.Linear(16, 2, generator=generator),
    ).to(dtype=dtype)
    optimizer = minidl.SGD(model.parameters(), lr=lr, momentum=momentum)
    return minidl.Trainer(model, minidl.MSELoss(), optimizer, data, batch_size, shuffle_seed=seed)


def test_events_arrive_once_per_epoch_then_a_finish():
    events = []
    history = make_trainer().run(3, on_event=events.append)
    assert [type(e) for e in events] == [EpochCompleted] * 3 + [TrainingFinished]
    assert [e.epoch for e in events[:3]] == [1, 2, 3]
    assert events[-1] == TrainingFinished("completed", 3)
    assert history.status == "completed" and len(history.epochs) == 3
    for event in events[:3]:
        assert 0 <= event.test_accuracy <= 1 and 0 <= event.f1 <= 1
        assert event.seconds > 0 and event.samples_per_second == pytest.approx(200 / event.seconds)


def test_loss_falls_and_accuracy_beats_chance():
    history = make_trainer(lr=0.1, momentum=0.9).run(100)
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    assert history.final.test_accuracy > 0.75


def test_same_setup_twice_gives_a_bit_identical_history():
    first = make_trainer().run(5)
    second = make_trainer().run(5)
    assert [e.metrics() for e in first.epochs] == [e.metrics() for e in second.epochs]


def test_two_runs_of_three_epochs_equal_one_run_of_six():
    trainer = make_trainer()
    trainer.run(3)
    split = trainer.run(3)
    whole = make_trainer().run(6)
    assert [e.metrics() for e in split.epochs] == [e.metrics() for e in whole.epochs]


def test_train_loss_is_the_mean_of_the_batch_losses():
    trainer = make_trainer(batch_size=200, lr=1e-9)  # one batch, weights barely move
    model, loss = trainer.model, trainer.loss
    x = trainer._x_train
    with torch.no_grad():
        expected = loss(model(x), trainer._t_train).item()
    trainer.shuffle = False
    history = trainer.run(1)
    assert history.final.train_loss == pytest.approx(expected, rel=1e-6)


def test_a_stop_request_takes_effect_within_one_batch():
    trainer = make_trainer(batch_size=10)  # 20 batches per epoch
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) > 25  # during the 2nd epoch, before its 6th batch

    events = []
    history = trainer.run(10, on_event=events.append, should_stop=should_stop)
    assert history.status == "stopped"
    assert history.stopped == TrainingStopped(epoch=2, step=6)
    assert len(history.epochs) == 1
    assert events[-2:] == [TrainingStopped(2, 6), TrainingFinished("stopped", 1)]


def test_nan_loss_ends_as_diverged_without_touching_the_weights():
    trainer = make_trainer(lr=1e30, batch_size=200)
    history = trainer.run(5)
    assert history.status == "diverged"
    diverged = history.diverged
    assert isinstance(diverged, TrainingDiverged)
    assert not math.isfinite(diverged.loss)
    assert (diverged.epoch, diverged.step) == (len(history.epochs) + 1, 1)


def test_infinite_input_is_reported_as_divergence_at_its_step():
    trainer = make_trainer(batch_size=50)
    trainer.shuffle = False
    trainer._x_train[120, 0] = math.inf  # batch 3
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    history = trainer.run(2)
    assert history.status == "diverged"
    assert (history.diverged.epoch, history.diverged.step) == (1, 3)
    after = trainer.model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)  # steps 1-2 applied


def test_history_writes_json_and_csv(tmp_path):
    history = make_trainer().run(2)
    history.to_json(tmp_path / "h.json")
    history.to_csv(tmp_path / "h.csv")
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["status"] == "completed" and len(data["epochs"]) == 2
    assert data["epochs"][1]["test_accuracy"] == history.epochs[1].test_accuracy
    rows = list(csv.DictReader(io.StringIO((tmp_path / "h.csv").read_text())))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[0]["train_loss"]) == history.epochs[0].train_loss
    again = minidl.History.from_json(tmp_path / "h.json")
    assert again == history


def test_float64_training_keeps_float64():
    trainer = make_trainer(dtype=torch.float64)
    trainer.run(1)
    assert trainer._x_train.dtype == torch.float64
    assert all(p.data.dtype == torch.float64 for p in trainer.model.parameters())


def test_batch_size_larger_than_the_data_is_refused():
    with pytest.raises(ValueError, match="batch_size 500 is larger than the training set"):
        make_trainer(batch_size=500)
