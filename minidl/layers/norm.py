"""`BatchNorm1d`: normalise each feature over the batch, with running statistics for eval."""

from __future__ import annotations

import torch

from minidl.errors import ShapeError
from minidl.layers.arguments import integer_argument
from minidl.module import Module
from minidl.parameter import Parameter


class BatchNorm1d(Module):
    """y = γ·(x − μ)/√(σ² + ε) + β per feature, as PyTorch's nn.BatchNorm1d.

    In training μ and σ² are the batch's (σ² biased) and the running
    statistics move by ``momentum`` towards them, the running variance
    towards the *unbiased* batch variance, exactly as PyTorch does. In eval
    the running statistics are used. Backward goes through the batch
    statistics in training mode.

    Args:
        num_features: C, the number of features (channels).
        eps: added to the variance.
        momentum: weight of the new batch in the running statistics.
        affine: learn γ (weight, ones) and β (bias, zeros).

    Shape: (N, C) or (N, C, L) -> same shape.
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
        self.num_features, self.eps, self.momentum, self.affine = (
            num_features,
            eps,
            momentum,
            affine,
        )
        options = {"dtype": dtype, "device": device}
        self.weight = Parameter(torch.ones(num_features, **options)) if affine else None
        self.bias = Parameter(torch.zeros(num_features, **options)) if affine else None
        self.running_mean = torch.zeros(num_features, **options)
        self.running_var = torch.ones(num_features, **options)
        self.num_batches_tracked = torch.tensor(0, dtype=torch.long, device=device)
        self._saved: tuple[torch.Tensor, torch.Tensor, bool] | None = None

    def _dims(self, x: torch.Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if x.dim() not in (2, 3) or x.shape[1] != self.num_features:
            raise ShapeError(
                f"expects input (N, {self.num_features}) or (N, {self.num_features}, L), "
                f"got {tuple(x.shape)}"
            )
        if x.dim() == 2:
            return (0,), (1, self.num_features)
        return (0, 2), (1, self.num_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims, shape = self._dims(x)
        count = x.numel() // self.num_features
        if self.training:
            if count <= 1:
                raise ShapeError(
                    f"needs more than 1 value per feature in training, got {tuple(x.shape)}"
                )
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(mean, alpha=m)
            self.running_var.mul_(1 - m).add_(var * (count / (count - 1)), alpha=m)
            self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = torch.rsqrt(var + self.eps)
        x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        self._saved = (x_hat, inv_std, self.training)
        if not self.affine:
            return x_hat
        return x_hat * self.weight.data.reshape(shape) + self.bias.data.reshape(shape)

    def backward(self, grad_output: torch.Tensor) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError(f"{self.describe()}: backward called before forward")
        x_hat, inv_std, batch_statistics = self._saved
        if grad_output.shape != x_hat.shape:
            raise ShapeError(
                f"{self.describe()}: grad_output {tuple(grad_output.shape)} does not match "
                f"the forward shape {tuple(x_hat.shape)}"
            )
        dims, shape = self._dims(x_hat)
        if self.affine:
            for parameter, value in (
                (self.weight, (grad_output * x_hat).sum(dim=dims)),
                (self.bias, grad_output.sum(dim=dims)),
            ):
                buffer, accumulate = parameter.grad_buffer()
                buffer.add_(value) if accumulate else buffer.copy_(value)
            g_hat = grad_output * self.weight.data.reshape(shape)
        else:
            g_hat = grad_output
        scale = inv_std.reshape(shape)
        if not batch_statistics:
            return g_hat * scale
        # through the batch mean and variance:
        # dx = (1/√(σ²+ε)) · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂))
        mean_g = g_hat.mean(dim=dims, keepdim=True)
        mean_gx = (g_hat * x_hat).mean(dim=dims, keepdim=True)
        return scale * (g_hat - mean_g - x_hat * mean_gx)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )

    def describe(self) -> str:
        return f"BatchNorm1d({self.num_features})"
