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
        momentum: m, weight of the new batch in the running statistics.
        affine: learn γ (weight, ones) and β (bias, zeros).

    Shape: (N, C) or (N, C, L) -> same shape; statistics are over N (and L).

    Attributes:
        weight, bias: γ and β, (C,), or None without ``affine``.
        running_mean, running_var: (C,), used in eval mode.
        num_batches_tracked: how many training batches moved them.

    Forward, with μ and σ² the batch's mean and biased variance in training
    (the running statistics in eval), and n values per feature::

        x̂ = (x − μ) / √(σ² + ε)
        y  = γ·x̂ + β
        running_mean ← (1 − m)·running_mean + m·μ
        running_var  ← (1 − m)·running_var + m·σ²·n/(n − 1)

    Backward (in eval, μ and σ² are constants and dx = g·γ/√(σ² + ε))::

        dγ += Σ g·x̂        dβ += Σ g
        dx = γ/√(σ² + ε) · (g − mean(g) − x̂·mean(g·x̂))
    """

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        integer_argument("num_features", num_features)
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine = affine
        options = {"dtype": dtype, "device": device}
        self.weight = Parameter(torch.ones(num_features, **options)) if affine else None
        self.bias = Parameter(torch.zeros(num_features, **options)) if affine else None
        self.running_mean = torch.zeros(num_features, **options)
        self.running_var = torch.ones(num_features, **options)
        self.num_batches_tracked = torch.tensor(0, dtype=torch.long, device=device)
        self._saved: tuple[torch.Tensor, torch.Tensor, bool] | None = None  # x̂, 1/√(σ²+ε), batch?

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 3) or x.shape[1] != self.num_features:
            c = self.num_features
            raise ShapeError(f"expects input (N, {c}) or (N, {c}, L), got {tuple(x.shape)}")
        dims = (0,) if x.dim() == 2 else (0, 2)
        n = x.numel() // self.num_features
        if self.training:
            if n <= 1:
                raise ShapeError(
                    f"needs more than 1 value per feature in training, got {tuple(x.shape)}"
                )
            var, mean = torch.var_mean(x, dims, correction=0)
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean)
            self.running_var.mul_(1 - m).add_(var * (m * n / (n - 1)))
            self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = torch.rsqrt(var + self.eps)
        x_hat = (x - self._per_feature(mean, x)) * self._per_feature(inv_std, x)
        self._saved = (x_hat, inv_std, self.training)
        if self.weight is None or self.bias is None:
            return x_hat
        return x_hat * self._per_feature(self.weight.data, x) + self._per_feature(self.bias.data, x)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        x_hat, inv_std, batch_statistics = self._saved
        g, per_feature = grad_output, self._per_feature
        self.saved(x_hat, g)  # (checks that g fits)
        dims, n = ((0,) if g.dim() == 2 else (0, 2)), g.numel() // self.num_features
        sum_g, sum_g_x_hat = g.sum(dims), (g * x_hat).sum(dims)
        scale = inv_std  # γ/√(σ² + ε)
        if self.weight is not None and self.bias is not None:
            self.weight.grad.add_(sum_g_x_hat)  # dγ += Σ g·x̂
            self.bias.grad.add_(sum_g)  # dβ += Σ g
            scale = inv_std * self.weight.data
        if not batch_statistics:
            return g * per_feature(scale, g)
        mean_g, mean_g_x_hat = per_feature(sum_g / n, g), per_feature(sum_g_x_hat / n, g)
        return per_feature(scale, g) * (g - mean_g - x_hat * mean_g_x_hat)

    @staticmethod
    def _per_feature(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """(C,) values shaped to broadcast over ``like``: as they are, or (C, 1) for (N, C, L)."""
        return values if like.dim() == 2 else values.unsqueeze(1)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )

    def describe(self) -> str:
        return f"BatchNorm1d({self.num_features})"
