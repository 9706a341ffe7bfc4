"""Per-layer health: what each layer's activations, gradients and updates look like.

Every few steps (and on the last step of each epoch) the trainer runs one
training step through ``observed_step`` instead of its step engine. That
step is the eager step, layer by layer — the same torch calls in the same
order, so the numbers are exactly those of an ordinary step — and on the
way it keeps, per layer of the top-level ``Sequential``:

- the mean and standard deviation of the layer's output on the batch;
- for ReLU, the fraction of *dead* units: those that output 0 for every
  sample of the batch (no gradient flows through them);
- for Tanh and Sigmoid, the fraction of *saturated* outputs (|tanh| > 0.99,
  σ < 0.01 or σ > 0.99), where the derivative is nearly 0;
- ‖∂L/∂W‖ of the layer's weight and ‖∂L/∂x‖ of its input (Frobenius norms);
- the update-to-weight ratio ‖ΔW‖/‖W‖ of the optimizer step;
- the gradient ratio ‖∂L/∂W‖ / ‖∂L/∂W_out‖ against the last weight matrix.

From these it flags, in words, vanishing or exploding gradients and dead
or saturated layers, by the thresholds below. No layer keeps statistics
code: everything is computed here from what the layers already return.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from minidl.layers.activations import ReLU, Sigmoid, Tanh
from minidl.layers.sequential import Sequential
from minidl.losses.loss import Loss
from minidl.module import Module

VANISHING_RATIO = 1e-2
"""A weight matrix whose ‖∂L/∂W‖ is below this fraction of the last weight matrix's
(100 times smaller) gets the flag "vanishing gradients": it barely learns."""

EXPLODING_RATIO = 1e2
"""A weight matrix whose ‖∂L/∂W‖ is above this multiple of the last weight matrix's
(100 times larger) gets the flag "exploding gradients"."""

DEAD_FRACTION = 0.5
"""A ReLU layer with more than this fraction of dead units (0 on the whole batch)
is flagged "dead layer"."""

SATURATED_FRACTION = 0.5
"""A Tanh or Sigmoid layer with more than this fraction of saturated outputs is
flagged "saturated layer"."""

TANH_SATURATION = 0.99
"""|tanh(x)| above this is saturated: its derivative 1 − tanh² is below 0.02."""

SIGMOID_SATURATION = 0.01
"""σ(x) below this or above 1 − this is saturated: its derivative σ(1 − σ) is below 0.0099."""

DEFAULT_EVERY = 10
"""Steps between two observed steps when the caller does not choose."""

THRESHOLDS = {
    "vanishing_ratio": VANISHING_RATIO,
    "exploding_ratio": EXPLODING_RATIO,
    "dead_fraction": DEAD_FRACTION,
    "saturated_fraction": SATURATED_FRACTION,
    "tanh_saturation": TANH_SATURATION,
    "sigmoid_saturation": SIGMOID_SATURATION,
}


@dataclass(frozen=True)
class LayerStats:
    """One layer's health on one observed step (None where a number does not apply)."""

    index: int
    layer: str
    activation_mean: float
    activation_std: float
    dead_fraction: float | None  # ReLU only
    saturated_fraction: float | None  # Tanh and Sigmoid only
    grad_weight_norm: float | None  # layers with a weight
    grad_input_norm: float
    update_ratio: float | None  # ‖ΔW‖ / ‖W‖ of this step's update
    gradient_ratio: float | None  # ‖∂L/∂W‖ / ‖∂L/∂W_out‖, weight matrices only
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["flags"] = list(self.flags)
        return values


@dataclass(frozen=True)
class LayerStatsComputed:
    """Every layer's health at one observed step; ``epoch_end`` marks an epoch's last step."""

    epoch: int
    step: int
    epoch_end: bool
    layers: tuple[LayerStats, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "epoch_end": self.epoch_end,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _norm(tensor: torch.Tensor) -> torch.Tensor:
    """‖tensor‖ (Frobenius) as a 0-dim float64 tensor: read out with the others at once."""
    return torch.linalg.vector_norm(tensor, dtype=torch.float64)


def _weight(layer: Module) -> torch.Tensor | None:
    weight = getattr(layer, "weight", None)
    return None if weight is None else weight.data


def _activity(
    layer: Module, output: torch.Tensor
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(dead fraction, saturated fraction) of a layer's output on the batch, as 0-dim tensors."""
    if isinstance(layer, ReLU):
        per_unit = output.reshape(output.shape[0], -1)
        return (per_unit == 0).all(dim=0).mean(dtype=torch.float64), None
    if isinstance(layer, Tanh):
        return None, (output.abs() > TANH_SATURATION).mean(dtype=torch.float64)
    if isinstance(layer, Sigmoid):
        low, high = SIGMOID_SATURATION, 1 - SIGMOID_SATURATION
        return None, ((output < low) | (output > high)).mean(dtype=torch.float64)
    return None, None


def _flags(dead: float | None, saturated: float | None, ratio: float | None) -> tuple[str, ...]:
    flags = []
    if ratio is not None and ratio < VANISHING_RATIO:
        flags.append(f"vanishing gradients (‖∂L/∂W‖ < {VANISHING_RATIO:g} × the last layer's)")
    if ratio is not None and ratio > EXPLODING_RATIO:
        flags.append(f"exploding gradients (‖∂L/∂W‖ > {EXPLODING_RATIO:g} × the last layer's)")
    if dead is not None and dead > DEAD_FRACTION:
        flags.append(f"dead layer ({dead:.0%} of units output 0, more than {DEAD_FRACTION:.0%})")
    if saturated is not None and saturated > SATURATED_FRACTION:
        flags.append(
            f"saturated layer ({saturated:.0%} of outputs saturated, "
            f"more than {SATURATED_FRACTION:.0%})"
        )
    return tuple(flags)


def layers_of(model: Module) -> list[Module]:
    """The layers health is reported for: a Sequential's children, or the model itself."""
    return list(model) if isinstance(model, Sequential) else [model]


def observed_step(
    model: Module,
    loss: Loss,
    optimizer: Any,
    x: torch.Tensor,
    target: torch.Tensor,
    before_update: Callable[[], object] | None = None,
    skip_non_finite: bool = False,
) -> tuple[float, list[LayerStats] | None]:
    """One eager training step, layer by layer, returning the loss and every layer's health.

    The calls are those of ``StepEngine``'s eager step (zero_grad, forward,
    loss, backward, ``before_update``, optimizer step), so training goes on
    exactly as without observation. With ``skip_non_finite`` a NaN or
    infinite loss applies no update and returns no statistics.
    """
    layers = layers_of(model)
    with torch.inference_mode(False):
        optimizer.zero_grad()
        outputs = []
        h = x
        for layer in layers:  # Sequential.forward, one layer at a time
            h = layer(h)
            outputs.append(h)
        value = float(loss(h, target))
        if skip_non_finite and not math.isfinite(value):
            return value, None
        grad_inputs: list[torch.Tensor] = [h] * len(layers)
        g = loss.backward()
        for index in reversed(range(len(layers))):  # Sequential.backward
            g = layers[index].backward(g)
            grad_inputs[index] = g
        weights = [_weight(layer) for layer in layers]
        # the gradients of the loss, before any clipping in before_update
        grad_norms = [
            None if w is None else _norm(layer.weight.grad)
            for w, layer in zip(weights, layers, strict=True)
        ]
        before = [None if w is None else w.clone() for w in weights]
        if before_update is not None:
            before_update()
        optimizer.step()
    # every number as a 0-dim tensor first, then all read out in one go
    nan = torch.tensor(math.nan, dtype=torch.float64)
    rows = []
    for index, (layer, output) in enumerate(zip(layers, outputs, strict=True)):
        dead, saturated = _activity(layer, output)
        std, mean = torch.std_mean(output.double(), correction=0)
        weight, old = weights[index], before[index]
        update = nan if weight is None or old is None else _norm(weight - old) / _norm(old)
        grad = grad_norms[index]
        rows.append(
            torch.stack(
                [
                    mean,
                    std,
                    nan if dead is None else dead,
                    nan if saturated is None else saturated,
                    nan if grad is None else grad,
                    _norm(grad_inputs[index]),
                    update,
                ]
            )
        )
    table = torch.stack(rows).tolist()
    matrices = [i for i, w in enumerate(weights) if w is not None and w.dim() >= 2]
    reference = table[matrices[-1]][4] if matrices else None
    stats = []
    for index, layer in enumerate(layers):
        mean, std, dead, saturated, grad, grad_input, update = table[index]
        ratio = None
        if index in matrices and reference is not None:
            ratio = grad / reference if reference > 0 else (math.inf if grad > 0 else 1.0)
        dead_value = None if math.isnan(dead) else dead
        saturated_value = None if math.isnan(saturated) else saturated
        has_weight = weights[index] is not None
        stats.append(
            LayerStats(
                index=index,
                layer=type(layer).__name__,
                activation_mean=mean,
                activation_std=std,
                dead_fraction=dead_value,
                saturated_fraction=saturated_value,
                grad_weight_norm=grad if has_weight else None,
                grad_input_norm=grad_input,
                update_ratio=update if has_weight else None,
                gradient_ratio=ratio,
                flags=_flags(dead_value, saturated_value, ratio),
            )
        )
    return value, stats


__all__ = [
    "DEAD_FRACTION",
    "DEFAULT_EVERY",
    "EXPLODING_RATIO",
    "SATURATED_FRACTION",
    "SIGMOID_SATURATION",
    "TANH_SATURATION",
    "THRESHOLDS",
    "VANISHING_RATIO",
    "LayerStats",
    "LayerStatsComputed",
    "layers_of",
    "observed_step",
]
