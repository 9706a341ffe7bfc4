"""What the lab's live drawing costs: one scenario trained headless and in the lab.

``minidl-lab bench --lab`` runs the scenario alternately with the bare
trainer (as ``replay`` does) and in the lab driven by Textual's pilot at
120×36, charts, boundary map and log all live, and reports samples per
second of each. During the lab runs it also measures how the interface
answers: the lag of a 20 ms timer on the UI's event loop, and the time from
a key press (pause) until the status line says the training process has
paused, a round trip through it (the terminal paints it at the next frame).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from scenarios.build import build_experiment
from scenarios.schema import Scenario

LAB_SIZE = (120, 36)
TIMER_SECONDS = 0.02


@dataclass
class LabCost:
    scenario: str
    epochs: int
    samples_per_run: int
    headless_seconds: list[float] = field(default_factory=list)
    lab_seconds: list[float] = field(default_factory=list)
    timer_lag_ms: list[float] = field(default_factory=list)
    key_to_screen_ms: list[float] = field(default_factory=list)

    @property
    def headless_rate(self) -> float:
        return self.samples_per_run / statistics.median(self.headless_seconds)

    @property
    def lab_rate(self) -> float:
        return self.samples_per_run / statistics.median(self.lab_seconds)


def train_headless(scenario: Scenario) -> float:
    """Seconds the shared trainer takes for the scenario's epochs, nothing drawn."""
    trainer = build_experiment(scenario).trainer
    started = time.perf_counter()
    trainer.run(scenario.training.epochs)
    return time.perf_counter() - started


async def train_in_lab(scenario: Scenario, cost: LabCost, probe_key: bool) -> float:
    """Seconds from the Train key to the end of the run, in the lab under the pilot.

    The training process is started first (a reset), as it is long before a
    user's first key press; the run is then timed from the key to the end.
    With ``probe_key``, a pause is pressed mid-run and the time until the
    status line shows it is recorded; the pause itself is not counted.
    """
    from tui.app import MinidlLab

    app = MinidlLab(scenario)
    async with app.run_test(size=LAB_SIZE) as pilot:
        await pilot.press("r")  # the worker starts the training process
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.session is None:
            raise RuntimeError(f"the lab could not start a training process: {app.last_detail}")
        lags: list[float] = []
        expected = [time.perf_counter() + TIMER_SECONDS]

        def tick() -> None:
            now = time.perf_counter()
            lags.append(max(0.0, now - expected[0]) * 1e3)
            expected[0] = now + TIMER_SECONDS

        timer = app.set_interval(TIMER_SECONDS, tick)
        started = time.perf_counter()
        paused_for = 0.0
        await pilot.press("t")
        probed = not probe_key
        while app.running:
            await asyncio.sleep(0.01)
            if not probed and app.session is not None and app.session.epochs_completed > 0:
                probed = True
                pressed = time.perf_counter()
                app.simulate_key("p")  # through the bindings, like a key from the terminal
                while "paused" not in str(app.query_one("#status").content):
                    await asyncio.sleep(0.001)
                cost.key_to_screen_ms.append((time.perf_counter() - pressed) * 1e3)
                app.simulate_key("p")
                while app.session.paused:
                    await asyncio.sleep(0.001)
                paused_for = time.perf_counter() - pressed
        elapsed = time.perf_counter() - started - paused_for
        if app.session is None or len(app.session.history.epochs) != scenario.training.epochs:
            raise RuntimeError(f"the lab did not train every epoch: {app.last_detail}")
        timer.stop()
        cost.timer_lag_ms.extend(lags)
    return elapsed


def measure_lab_cost(scenario: Scenario, rounds: int = 3) -> LabCost:
    """Alternate headless and lab runs ``rounds`` times (after one of each to warm up)."""
    experiment = build_experiment(scenario)
    samples = scenario.training.epochs * len(experiment.data.y_train)
    cost = LabCost(scenario.name, scenario.training.epochs, samples)
    train_headless(scenario)
    asyncio.run(train_in_lab(scenario, LabCost(scenario.name, 0, 0), probe_key=False))
    for _ in range(rounds):
        cost.headless_seconds.append(train_headless(scenario))
        cost.lab_seconds.append(asyncio.run(train_in_lab(scenario, cost, probe_key=True)))
    return cost
