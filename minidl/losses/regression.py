"""MSE, L1 and Huber losses: element-wise errors, mean or sum over all elements, as torch.

With d = prediction − target, each loss is ℓ = mean f(d) over *all* elements
(or the sum, or f(d) itself with reduction "none"), and its backward is
dℓ/dprediction = f′(d)/n (for the mean of n elements) times ``grad_output``.

MSELoss and L1Loss take torch's arguments (size_average=None, reduce=None,
reduction="mean"): ``size_average`` and ``reduce`` are torch's deprecated
spelling of ``reduction`` (see ``legacy_reduction``); leave them None.
"""

from __future__ import annotations

import torch

from minidl.losses.loss import Loss, legacy_reduction


class _ElementwiseLoss(Loss):
    """Shared recipe: keep d; reduce f(d); scale f′(d) by the reduction and ``grad_output``."""

    _diff: torch.Tensor | None = None

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))

    def f(self, d: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def f_prime(self, d: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(input, target)
        self._diff = input - target
        return self._reduce(self.f(self._diff))

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        if self._diff is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        return self._finish_grad(self.f_prime(self._diff), self._diff.numel(), grad_output)


class MSELoss(_ElementwiseLoss):
    """Squared error, as PyTorch's nn.MSELoss: f(d) = d², f′(d) = 2d.

    The mean is over *all* elements: with two output columns it divides by
    2·N, not N.

    Shape: prediction (*), target (*) of the same shape -> scalar ("none": (*)).
    """

    def f(self, d: torch.Tensor) -> torch.Tensor:
        return d * d

    def f_prime(self, d: torch.Tensor) -> torch.Tensor:
        return 2 * d


class L1Loss(_ElementwiseLoss):
    """Absolute error, as PyTorch's nn.L1Loss: f(d) = |d|, f′(d) = sign(d) (0 at d = 0).

    Shape: as MSELoss.
    """

    def f(self, d: torch.Tensor) -> torch.Tensor:
        return d.abs()

    def f_prime(self, d: torch.Tensor) -> torch.Tensor:
        return torch.sign(d)


class HuberLoss(_ElementwiseLoss):
    """Quadratic near 0, linear beyond δ, as PyTorch's nn.HuberLoss.

    Args:
        reduction: as for every loss.
        delta: δ > 0, where the quadratic part ends.

    Shape: as MSELoss.

    f(d) = ½d² where |d| < δ, else δ(|d| − ½δ);  f′(d) = clamp(d, −δ, δ)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta!r}")
        self.delta = float(delta)

    def f(self, d: torch.Tensor) -> torch.Tensor:
        size = d.abs()
        return torch.where(size < self.delta, 0.5 * d * d, self.delta * (size - 0.5 * self.delta))

    def f_prime(self, d: torch.Tensor) -> torch.Tensor:
        return d.clamp(-self.delta, self.delta)

    def __repr__(self) -> str:
        return f"HuberLoss(reduction={self.reduction!r}, delta={self.delta})"
