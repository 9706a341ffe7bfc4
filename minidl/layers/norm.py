"""`BatchNorm1d`: normalise each feature over the batch, with running statistics for eval."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.layers.arguments import integer_argument
from minidl.module import Module
from minidl.parameter import Parameter


class BatchNorm1d(Module):
    """Normalises each feature (channel) over the batch, as PyTorch's nn.BatchNorm1d.

    Args:
        num_features: C, the number of features (channels).
        eps: ε, added to the variance.
        momentum: m, weight of the new batch in the running statistics;
            ``None`` makes them the cumulative average of all batches
            (m = 1 / num_batches_tracked).
        affine: learn γ (weight, ones) and, with ``bias``, β (bias, zeros).
        track_running_stats: keep running statistics for eval; without them
            eval mode normalises with the batch's statistics too.
        device, dtype: where and how the parameters and statistics are made.
        bias: learn β (keyword-only, as in torch); only with ``affine``.

    Shape: (N, C) or (N, C, L) -> same shape; statistics are over N (and L).
    An empty batch (N = 0) gives an empty output and moves no statistics.

    Attributes:
        weight, bias: γ and β, (C,), or None.
        running_mean, running_var: (C,), used in eval mode (None when not tracked).
        num_batches_tracked: how many training batches were seen (None when not tracked).

    Forward, with μ and σ² the batch's mean and biased variance in training
    (the running statistics in eval), and n values per feature::

        x̂ = (x − μ) / √(σ² + ε)
        y  = γ·x̂ + β
        running_mean ← (1 − m)·running_mean + m·μ
        running_var  ← (1 − m)·running_var + m·σ²·n/(n − 1)

    Backward (normalising with the running statistics, μ and σ² are
    constants and dx = g·γ/√(σ² + ε))::

        dγ += Σ g·x̂        dβ += Σ g
        dx = γ/√(σ² + ε) · (g − mean(g) − x̂·mean(g·x̂))
    """

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        integer_argument("num_features", num_features)
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"momentum must lie in [0, 1] or be None, got {momentum!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        options = {"dtype": dtype, "device": device}
        self.weight = Parameter(torch.ones(num_features, **options)) if affine else None
        self.bias = Parameter(torch.zeros(num_features, **options)) if affine and bias else None
        self.running_mean: torch.Tensor | None = None
        self.running_var: torch.Tensor | None = None
        self.num_batches_tracked: torch.Tensor | None = None
        if track_running_stats:
            self.running_mean = torch.zeros(num_features, **options)
            self.running_var = torch.ones(num_features, **options)
            self.num_batches_tracked = torch.tensor(0, dtype=torch.long, device=device)
        self._saved: tuple[torch.Tensor, torch.Tensor, bool] | None = None  # x̂, 1/√(σ²+ε), batch?

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input
        if x.dim() not in (2, 3) or x.shape[1] != self.num_features:
            c = self.num_features
            raise ShapeError(f"expects input (N, {c}) or (N, {c}, L), got {tuple(x.shape)}")
        dims = (0,) if x.dim() == 2 else (0, 2)
        n = x.numel() // self.num_features
        batch_statistics = self.training or self.running_mean is None
        if self.training and n == 1:
            raise ShapeError(
                f"needs more than 1 value per feature in training, got {tuple(x.shape)}"
            )
        if batch_statistics and n > 0:
            var, mean = torch.var_mean(x, dims, correction=0)
        elif batch_statistics:  # an empty batch: nothing to normalise, no statistics
            mean, var = x.new_zeros(self.num_features), x.new_ones(self.num_features)
        else:
            mean, var = self.running_mean, self.running_var
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if n > 1:
                self._track(mean, var, n)
        inv_std = torch.rsqrt(var + self.eps)
        x_hat = (x - self._per_feature(mean, x)) * self._per_feature(inv_std, x)
        self._saved = (x_hat, inv_std, batch_statistics)
        y = x_hat
        if self.weight is not None:
            y = y * self._per_feature(self.weight.data, x)
        if self.bias is not None:
            y = y + self._per_feature(self.bias.data, x)
        return y

    def _track(self, mean: torch.Tensor, var: torch.Tensor, n: int) -> None:
        """Move the running statistics towards the batch's (m a tensor op when cumulative)."""
        assert self.running_mean is not None and self.running_var is not None
        assert self.num_batches_tracked is not None
        m: float | torch.Tensor
        if self.momentum is None:  # the cumulative average: m = 1 / (batches seen so far)
            m = 1 / self.num_batches_tracked.to(self.running_mean.dtype)
        else:
            m = self.momentum
        self.running_mean.mul_(1 - m).add_(m * mean)
        self.running_var.mul_(1 - m).add_(var * (m * n / (n - 1)))

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        x_hat, inv_std, batch_statistics = self._saved
        g, per_feature = grad_output, self._per_feature
        self.saved(x_hat, g)  # (checks that g fits)
        dims, n = ((0,) if g.dim() == 2 else (0, 2)), g.numel() // self.num_features
        sum_g, sum_g_x_hat = g.sum(dims), (g * x_hat).sum(dims)
        scale = inv_std  # γ/√(σ² + ε)
        if self.weight is not None:
            self.weight.grad.add_(sum_g_x_hat)  # dγ += Σ g·x̂
            scale = inv_std * self.weight.data
        if self.bias is not None:
            self.bias.grad.add_(sum_g)  # dβ += Σ g
        if not batch_statistics or n == 0:
            return g * per_feature(scale, g)
        mean_g, mean_g_x_hat = per_feature(sum_g / n, g), per_feature(sum_g_x_hat / n, g)
        return per_feature(scale, g) * (g - mean_g - x_hat * mean_g_x_hat)

    @staticmethod
    def _per_feature(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """(C,) values shaped to broadcast over ``like``: as they are, or (C, 1) for (N, C, L)."""
        return values if like.dim() == 2 else values.unsqueeze(1)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )

    def describe(self) -> str:
        return f"BatchNorm1d({self.num_features})"
