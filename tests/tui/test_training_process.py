"""The lab's training process: the same numbers as training in this process, and clean failures."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest
import torch

from minidl.errors import StateDictError
from minidl.train import EpochCompleted, TrainingFinished
from scenarios import load_scenario
from scenarios.shipped import resolve_scenario_path
from tui.cli import main
from tui.session import BoundaryUpdate, EpochsTrained, TrainingPaused, TrainingSession
from tui.training_process import RemoteSession, TrainingProcessError


def short_scenario(epochs: int = 4):
    scenario = load_scenario(resolve_scenario_path("centered_disk"))
    return dataclasses.replace(
        scenario, training=dataclasses.replace(scenario.training, epochs=epochs)
    )


@pytest.fixture
def remote():
    sessions = []

    def start(scenario, **options):
        session = RemoteSession(scenario, **options)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()


def test_remote_run_gives_the_numbers_of_an_in_process_run(remote):
    scenario = short_scenario(4)
    local = TrainingSession(scenario)
    expected = local.run(4, lambda event: None)
    session = remote(scenario)
    assert session.boundary().grid == local.__class__(scenario).boundary().grid  # fresh weights
    events: list[object] = []
    seen_at_finish: list[int] = []

    def emit(event: object) -> None:
        events.append(event)
        if isinstance(event, TrainingFinished):  # the history has arrived by then
            seen_at_finish.append(len(session.history.epochs))

    history = session.run(4, emit)
    assert seen_at_finish == [4]
    assert [e.train_loss for e in history.epochs] == [e.train_loss for e in expected.epochs]
    assert history.final.metrics() == expected.final.metrics()
    relayed = [e for batch in events if isinstance(batch, EpochsTrained) for e in batch.events]
    assert [e.epoch for e in relayed] == [1, 2, 3, 4]
    assert all(isinstance(e, EpochCompleted) for e in relayed)
    assert isinstance(events[-1], TrainingFinished) and events[-1].status == "completed"
    assert any(isinstance(e, BoundaryUpdate) for e in events)
    assert session.epochs_completed == 4 and session.epochs_left == 0
    weights = session.state_dict()
    for key, value in local.experiment.model.state_dict().items():
        assert torch.equal(weights[key], value)


@pytest.mark.parametrize("report_every", [0.0, 1e9])
def test_a_run_always_ends_with_the_map_of_its_last_epoch(report_every):
    """Whether the last epoch was reported at once or with the end, its decision map comes
    last, however long ago the previous map was sent: what a finished run shows never
    depends on timing."""
    session = TrainingSession(short_scenario(5))
    events: list[object] = []
    session.run(5, events.append, report_every=report_every, boundary_every=1e9)
    maps = [e for e in events if isinstance(e, BoundaryUpdate)]
    assert maps and maps[-1].epoch == 5
    assert maps[-1].grid == session.boundary().grid
    assert len(maps) <= 2  # the first epoch's, at once, and the last one's


def test_stop_and_pause_reach_the_child(remote):
    session = remote(short_scenario(10_000))
    first_report = threading.Event()

    def emit(event):
        if isinstance(event, EpochsTrained):
            session.pause()
            first_report.set()

    worker = threading.Thread(target=lambda: session.run(10_000, emit))
    worker.start()
    assert first_report.wait(30)
    assert session.paused
    session.stop()  # also ends the pause
    worker.join(30)
    assert not worker.is_alive()
    assert session.history.status == "stopped"
    assert 0 < session.epochs_completed < 10_000


def test_a_state_dict_that_does_not_fit_is_refused_and_changes_nothing(remote):
    session = remote(short_scenario())
    before = session.state_dict()
    with pytest.raises(StateDictError, match=r"0\.weight"):
        session.load_state_dict({**before, "0.weight": torch.zeros(3, 3)})
    after = session.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())
    doubled = {k: v * 2 for k, v in before.items()}
    assert isinstance(session.load_state_dict(doubled), BoundaryUpdate)
    assert torch.equal(session.state_dict()["0.weight"], doubled["0.weight"])


def test_a_dead_child_is_reported_not_hung_on(remote):
    session = remote(short_scenario())
    session._process.kill()
    session._process.join(5)
    with pytest.raises(TrainingProcessError, match="ended unexpectedly"):
        session.run(1, lambda event: None)


def test_bench_lab_prints_samples_per_second_of_both(tmp_path, capsys):
    from scenarios.schema import save_scenario

    path = tmp_path / "short.toml"
    save_scenario(short_scenario(5), path)
    report = tmp_path / "lab.json"
    assert main(["bench", "--lab", str(path), "--rounds", "1", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "headless (trainer only)" in out and "in the lab" in out
    assert "key press to status line" in out
    cost = json.loads(report.read_text())
    assert cost["epochs"] == 5 and cost["samples_per_run"] == 5 * 1000
    assert len(cost["headless_seconds"]) == len(cost["lab_seconds"]) == 1
    assert cost["timer_lag_ms"] and len(cost["key_to_screen_ms"]) <= 1


def test_step_pauses_after_one_epoch_and_a_new_run_starts_unpaused(remote):
    session = remote(short_scenario(10_000))
    paused_at: list[int] = []
    first_pause = threading.Event()
    second_pause = threading.Event()

    def emit(event):
        if isinstance(event, EpochsTrained) and not paused_at:
            session.pause()
        if isinstance(event, TrainingPaused):
            paused_at.append(event.epochs_completed)
            (second_pause if first_pause.is_set() else first_pause).set()

    worker = threading.Thread(target=lambda: session.run(10_000, emit))
    worker.start()
    assert first_pause.wait(30)
    session.step()  # from a pause: exactly one more epoch, then paused again
    assert second_pause.wait(30)
    assert paused_at[1] == paused_at[0] + 1 and session.paused
    session.stop()
    worker.join(30)
    assert session.epochs_completed == paused_at[1]
    session.pause()  # left paused: the next run must not hang on it
    history = session.run(2, lambda event: None)
    assert history.status == "completed" and session.epochs_completed == paused_at[1] + 2


def test_a_finished_session_continues_when_the_epochs_were_raised_not_for_a_new_setup(remote):
    scenario = short_scenario(3)
    session = remote(scenario)
    session.run(3, lambda event: None)
    assert session.epochs_left == 0
    assert session.continues(scenario)
    assert session.continues(dataclasses.replace(scenario, name="saved", description="mine"))
    # the learning rate may change on the way (tests/tui/test_run_fixes.py); the batches not
    smaller = dataclasses.replace(scenario.training, batch_size=scenario.training.batch_size // 2)
    assert not session.continues(dataclasses.replace(scenario, training=smaller))
    assert not session.continues(scenario.with_overrides(epochs=2))  # fewer than done
    more = scenario.with_overrides(epochs=5)
    assert session.continues(more) and session.epochs_left == 2
    session.run(2, lambda event: None)
    fresh = TrainingSession(more)
    fresh.run(5, lambda event: None)
    assert session.history.final.metrics() == fresh.history.final.metrics()


def test_the_map_resolution_follows_resize_requests(remote):
    session = remote(short_scenario(2), grid_size=(10, 6))
    assert len(session.initial_boundary.grid) == 6
    update = session.resize_boundary(24, 20)  # idle: answered at once
    assert update is not None and len(update.grid) == 20 and len(update.grid[0]) == 24
    boundaries: list[BoundaryUpdate] = []
    session.run(
        2, lambda event: boundaries.append(event) if isinstance(event, BoundaryUpdate) else None
    )
    assert boundaries and all(len(b.grid) == 20 and len(b.grid[0]) == 24 for b in boundaries)


def test_a_killed_process_is_named_as_killed(remote):
    session = remote(short_scenario())
    session._process.kill()
    session._process.join(5)
    assert not session.alive
    with pytest.raises(TrainingProcessError, match="killed by SIGKILL"):
        session.run(1, lambda event: None)
    assert session.resize_boundary(8, 8) is None  # no wait, no error


PROBE = """
from scenarios import load_scenario
from scenarios.shipped import resolve_scenario_path
from tui.training_process import RemoteSession, warm_up

if __name__ == "__main__":
    warm_up()
    scenario = load_scenario(resolve_scenario_path("centered_disk")).with_overrides(epochs=2)
    session = RemoteSession(scenario)
    print(session.run(2, lambda event: None).status)
    session.close()
"""


def test_the_fork_server_ignores_packages_in_the_working_directory(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import tui

    work, bin_dir = tmp_path / "work", tmp_path / "bin"
    for name in ("minidl", "scenarios", "tui"):
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text(
            f"raise SystemExit('imported the {name} of the working directory')\n"
        )
    # run as the installed console script runs: a script elsewhere, the project on the path
    bin_dir.mkdir()
    (bin_dir / "probe.py").write_text(PROBE)
    root = str(Path(tui.__file__).resolve().parent.parent)
    result = subprocess.run(
        [sys.executable, str(bin_dir / "probe.py")],
        cwd=work,
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["completed"]
    assert "working directory" not in result.stderr


def test_a_watched_layer_s_unit_maps_come_with_every_boundary_report(remote):
    from scenarios.build import build_model
    from scenarios.neuron_maps import neuron_maps

    session = remote(short_scenario(3))
    assert session.boundary().unit_maps is None  # nothing watched
    session.watch_units(2, 5, 4)  # the second Linear's 25 units, 5 × 4 cells each
    events: list[object] = []
    session.run(3, events.append)
    reports = [event for event in events if isinstance(event, BoundaryUpdate)]
    assert reports and all(r.unit_layer == 2 for r in reports)
    last = reports[-1]
    assert last.epoch == 3 and last.unit_maps.shape == (25, 4, 5)
    model = build_model(session.scenario.model, 2, 2)
    model.load_state_dict(session.state_dict())
    assert torch.equal(last.unit_maps, neuron_maps(model, 2, 5, 4, last.extent))
    session.watch_units(99, 5, 4)  # not a layer of this model: no maps, no failure
    assert session.boundary().unit_maps is None
    session.watch_units(None)
    assert session.boundary().unit_layer is None
