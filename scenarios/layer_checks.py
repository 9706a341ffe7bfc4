"""Expectations on per-layer health, judged on the last completed epoch's statistics.

A scenario's ``[expect]`` may bound the health ``minidl.health`` reports at
the end of the final epoch (so CI can catch a dead or vanishing network):

- ``max_dead_fraction``: no ReLU layer has more dead units than this;
- ``max_saturated_fraction``: no Tanh/Sigmoid layer has more saturated outputs;
- ``min_gradient_ratio``: every weight matrix gets at least this fraction of
  the last one's gradient norm (no vanishing gradients below the bound);
- ``max_first_gradient_ratio``: the first weight matrix gets at most this
  fraction (the network *does* show vanishing gradients at its input).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass

from minidl.health import THRESHOLDS, LayerStats, LayerStatsComputed
from minidl.serialization import atomic_write_text, strict_json


def _largest(field: str) -> Callable[[tuple[LayerStats, ...]], float | None]:
    def measure(layers: tuple[LayerStats, ...]) -> float | None:
        values = [getattr(layer, field) for layer in layers if getattr(layer, field) is not None]
        return max(values) if values else None

    return measure


def _smallest_ratio(layers: tuple[LayerStats, ...]) -> float | None:
    values = [layer.gradient_ratio for layer in layers if layer.gradient_ratio is not None]
    return min(values) if values else None


def _first_ratio(layers: tuple[LayerStats, ...]) -> float | None:
    values = [layer.gradient_ratio for layer in layers if layer.gradient_ratio is not None]
    return values[0] if values else None


# expectation key -> (what it measures, "min" or "max", how to measure it)
LAYER_EXPECTATIONS: dict[str, tuple[str, str, Callable[[tuple[LayerStats, ...]], float | None]]] = {
    "max_dead_fraction": ("largest dead fraction", "max", _largest("dead_fraction")),
    "max_saturated_fraction": (
        "largest saturated fraction",
        "max",
        _largest("saturated_fraction"),
    ),
    "min_gradient_ratio": ("smallest gradient ratio", "min", _smallest_ratio),
    "max_first_gradient_ratio": ("first layer's gradient ratio", "max", _first_ratio),
}


@dataclass(frozen=True)
class LayerExpectationResult:
    key: str
    bound: float
    actual: float | None
    passed: bool

    def describe(self) -> str:
        what, direction, _ = LAYER_EXPECTATIONS[self.key]
        sign = ">=" if direction == "min" else "<="
        if self.actual is None:
            return f"{what}: no layer statistics to judge (needs {sign} {self.bound})"
        verdict = "ok" if self.passed else f"FAILED by {abs(self.actual - self.bound):.4g}"
        return f"{what} = {self.actual:.4g} (expected {sign} {self.bound}): {verdict}"


def check_layer_expectations(
    bounds: tuple[tuple[str, float], ...], final: LayerStatsComputed | None
) -> list[LayerExpectationResult]:
    """Judge the final epoch's layer statistics (None: every bound fails)."""
    results = []
    for key, bound in bounds:
        _, direction, measure = LAYER_EXPECTATIONS[key]
        actual = None if final is None else measure(final.layers)
        passed = actual is not None and (actual >= bound if direction == "min" else actual <= bound)
        results.append(LayerExpectationResult(key, bound, actual, passed))
    return results


CSV_FIELDS = (
    "epoch",
    "step",
    "index",
    "layer",
    "activation_mean",
    "activation_std",
    "dead_fraction",
    "saturated_fraction",
    "grad_weight_norm",
    "grad_input_norm",
    "update_ratio",
    "gradient_ratio",
    "flags",
)


def layer_statistics_text(path: str | os.PathLike[str], epochs: list[LayerStatsComputed]) -> str:
    """Each epoch's last-step layer statistics: CSV for a ``.csv`` path, strict JSON otherwise.

    JSON holds the thresholds the flags used; CSV has one row per epoch and
    layer, empty where a number does not apply, flags joined by "; ".
    """
    if os.fspath(path).lower().endswith(".csv"):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for event in epochs:
            for layer in event.layers:
                row = layer.to_dict()
                row["flags"] = "; ".join(layer.flags)
                writer.writerow(
                    {
                        "epoch": event.epoch,
                        "step": event.step,
                        **{k: repr(v) if isinstance(v, float) else v for k, v in row.items()},
                    }
                )
        return buffer.getvalue()
    document = {"thresholds": THRESHOLDS, "epochs": [event.to_dict() for event in epochs]}
    return strict_json(document)


def write_layer_statistics(path: str | os.PathLike[str], epochs: list[LayerStatsComputed]) -> None:
    """``layer_statistics_text`` written to ``path`` atomically."""
    atomic_write_text(path, layer_statistics_text(path, epochs))
