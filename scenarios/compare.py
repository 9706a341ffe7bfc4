"""minidl against its PyTorch twin on one scenario, over several seeded rounds.

Each round builds the scenario with one seed (data, initial weights and
batch order), trains minidl and its twin (same weights, same batches), and
keeps both histories. The summary gives mean ± std over rounds per metric
and framework, the time per epoch of each, and the largest relative
difference between the two per-epoch loss curves.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from minidl.history import History
from minidl.reference import TwinTrainer
from scenarios.build import build_experiment
from scenarios.schema import Scenario

METRICS = (
    "train_loss",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
    "precision",
    "recall",
    "f1",
)
REGRESSION_METRICS = ("train_loss", "test_loss", "train_r2", "test_mse", "test_mae", "test_r2")


@dataclass(frozen=True)
class RoundResult:
    seed: int
    minidl: History
    torch: History

    @property
    def max_loss_difference(self) -> float:
        """Largest |minidl − torch| / |torch| over the per-epoch train and test losses of
        the epochs both completed (NaN when minidl completed none)."""
        worst = math.nan
        for ours, theirs in zip(self.minidl.epochs, self.torch.epochs, strict=False):
            for name in ("train_loss", "test_loss"):
                a, b = getattr(ours, name), getattr(theirs, name)
                difference = abs(a - b) / abs(b) if b else abs(a - b)
                worst = difference if math.isnan(worst) else max(worst, difference)
        return worst

    def seconds_per_epoch(self, framework: str) -> float:
        """Mean training time of an epoch (NaN when there is none)."""
        history = self.minidl if framework == "minidl" else self.torch
        seconds = [e.seconds for e in history.epochs]
        return statistics.fmean(seconds) if seconds else math.nan


@dataclass(frozen=True)
class Summary:
    """mean and std over rounds (std 0 for one round)."""

    mean: float
    std: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return cls(math.nan, math.nan)
        return cls(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)

    def __str__(self) -> str:
        if math.isnan(self.mean):
            return "—"  # no round completed an epoch
        return f"{self.mean:.4f} ± {self.std:.4f}"


def compare_round(scenario: Scenario, seed: int) -> RoundResult:
    """Train minidl and its twin from the same start on the same batches."""
    experiment = build_experiment(scenario.with_overrides(seed=seed))
    twin = TwinTrainer(experiment.trainer)  # built before training: identical start
    ours = experiment.trainer.run(scenario.training.epochs)
    # the twin trains as far as minidl went, and the epoch where minidl diverged: does it too?
    theirs = twin.run(len(ours.epochs) + (ours.diverged is not None))
    return RoundResult(seed, ours, theirs)


def compare(
    scenario: Scenario,
    rounds: int,
    on_round: Callable[[RoundResult], None] | None = None,
) -> list[RoundResult]:
    """``rounds`` rounds with seeds training.seed, training.seed + 1, …"""
    results = []
    for index in range(rounds):
        result = compare_round(scenario, scenario.training.seed + index)
        results.append(result)
        if on_round is not None:
            on_round(result)
    return results


def summarize(results: list[RoundResult]) -> dict[str, dict[str, Summary]]:
    """metric -> framework -> Summary of the final epoch's values over rounds."""
    table: dict[str, dict[str, Summary]] = {}
    regression = any(r.minidl.final is not None and r.minidl.final.is_regression for r in results)
    for metric in REGRESSION_METRICS if regression else METRICS:
        table[metric] = {
            framework: Summary.of(
                [
                    getattr(getattr(r, framework).final, metric)
                    for r in results
                    if getattr(r, framework).final is not None
                ]
            )
            for framework in ("minidl", "torch")
        }
    return table
