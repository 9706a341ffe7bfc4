"""Weight initialisation with PyTorch's formulas (fan modes, gains), seedable.

Each function fills a tensor in place and draws from ``generator`` when one
is given, else from torch's global generator, exactly as PyTorch's ``nn.init``
does, so the same seed gives the same weights in minidl and in PyTorch.
"""

from __future__ import annotations

import math

import torch

NONLINEARITIES = ("linear", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (same table as PyTorch's nn.init)."""
    if nonlinearity in ("linear", "conv1d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {NONLINEARITIES}")


def fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    """Fans of a weight of shape (out, in, *kernel), as torch computes them."""
    if tensor.dim() < 2:
        raise ValueError("fan in and fan out need a tensor with at least 2 dimensions")
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: torch.Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported; expected 'fan_in' or 'fan_out'")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(
    tensor: torch.Tensor, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    return tensor.uniform_(a, b, generator=generator)


def normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    return tensor.normal_(mean, std, generator=generator)


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.zero_()


def ones_(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.fill_(1.0)


def kaiming_uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015)."""
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(_fan(tensor, mode))
    return tensor.uniform_(-bound, bound, generator=generator)


def kaiming_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """N(0, std²) with std = gain / sqrt(fan) (He et al., 2015)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return tensor.normal_(0.0, std, generator=generator)


def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return tensor.uniform_(-bound, bound, generator=generator)


def xavier_normal_(
    tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """N(0, std²) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return tensor.normal_(0.0, std, generator=generator)


# Named schemes for layers' ``init=`` argument: how to fill (weight, bias).
INIT_SCHEMES = (
    "default",
    "kaiming_uniform",
    "kaiming_normal",
    "xavier_uniform",
    "xavier_normal",
    "normal",
)


def init_weight_and_bias(
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    scheme: str = "default",
    generator: torch.Generator | None = None,
) -> None:
    """Fill a layer's weight and bias by a named scheme.

    ``default`` is PyTorch's ``nn.Linear``/``Conv1d``'s own: Kaiming-uniform with
    a = √5 (so U(±1/√fan_in)) and a bias U(±1/√fan_in), drawn in the same
    order, so equal seeds give equal weights. ``kaiming_*`` use the ReLU gain,
    ``xavier_*`` gain 1, ``normal`` is N(0, 1/fan_in) (LeCun); all but
    ``default`` start the bias at zero.
    """
    if scheme == "default":
        kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        if bias is not None:
            fan_in, _ = fan_in_and_fan_out(weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            bias.uniform_(-bound, bound, generator=generator)
        return
    if scheme == "kaiming_uniform":
        kaiming_uniform_(weight, nonlinearity="relu", generator=generator)
    elif scheme == "kaiming_normal":
        kaiming_normal_(weight, nonlinearity="relu", generator=generator)
    elif scheme == "xavier_uniform":
        xavier_uniform_(weight, generator=generator)
    elif scheme == "xavier_normal":
        xavier_normal_(weight, generator=generator)
    elif scheme == "normal":
        fan_in, _ = fan_in_and_fan_out(weight)
        weight.normal_(0.0, 1.0 / math.sqrt(fan_in), generator=generator)
    else:
        raise ValueError(f"unknown init {scheme!r}; expected one of {', '.join(INIT_SCHEMES)}")
    if bias is not None:
        bias.zero_()
