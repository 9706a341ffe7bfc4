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
    weighted = [i for i, layer in enumerate(layers) if _weight(layer) is not None]
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
        weights = [layers[i].weight.data for i in weighted]
        # the gradients of the loss, before any clipping in before_update
        grad_norms = _norms([layers[i].weight.grad for i in weighted])
        before = torch._foreach_mul(weights, 1.0) if weights else []  # exact copies
        if before_update is not None:
            before_update()
        optimizer.step()
    update_ratios = (
        _norms(torch._foreach_sub(weights, before)) / _norms(before) if weights else grad_norms
    )
    means, stds = _means_and_stds(outputs)
    # every number read out of torch in one go
    numbers = torch.cat(
        [means, stds, _norms(grad_inputs), grad_norms.double(), update_ratios.double()]
    ).tolist()
    n, w = len(layers), len(weighted)
    mean_of, std_of, grad_input_of = numbers[:n], numbers[n : 2 * n], numbers[2 * n : 3 * n]
    grad_of = dict(zip(weighted, numbers[3 * n : 3 * n + w], strict=True))
    update_of = dict(zip(weighted, numbers[3 * n + w :], strict=True))
    matrices = [i for i in weighted if layers[i].weight.data.dim() >= 2]
    reference = grad_of[matrices[-1]] if matrices else None
    stats = []
    for index, (layer, output) in enumerate(zip(layers, outputs, strict=True)):
        dead, saturated = _activity(layer, output)
        dead_value = None if dead is None else float(dead)
        saturated_value = None if saturated is None else float(saturated)
        ratio = None
        if index in matrices and reference is not None:
            grad = grad_of[index]
            ratio = grad / reference if reference > 0 else (math.inf if grad > 0 else 1.0)
        stats.append(
            LayerStats(
                index=index,
                layer=type(layer).__name__,
                activation_mean=mean_of[index],
                activation_std=std_of[index],
                dead_fraction=dead_value,
                saturated_fraction=saturated_value,
                grad_weight_norm=grad_of.get(index),
                grad_input_norm=grad_input_of[index],
                update_ratio=update_of.get(index),
                gradient_ratio=ratio,
                flags=_flags(dead_value, saturated_value, ratio),
            )
        )
    return value, stats


def _norms(tensors: list[torch.Tensor]) -> torch.Tensor:
    """‖t‖ of every tensor (Frobenius, in its own dtype), as one float64 vector, in one call."""
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    return torch.stack(torch._foreach_norm(tensors)).double()


def _means_and_stds(outputs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population standard deviation of each output (in its dtype), as float64."""
    pairs = [torch.std_mean(o, correction=0) for o in outputs]
    stds = torch.stack([std for std, _ in pairs]).double()
    means = torch.stack([mean for _, mean in pairs]).double()
    return means, stds


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
