"""Cross-entropy on logits and binary cross-entropy on logits, numerically stable."""

from __future__ import annotations

from typing import ClassVar

import torch

from minidl.errors import ShapeError
from minidl.losses.loss import Loss


class CrossEntropyLoss(Loss):
    """Cross-entropy of logits and class indices, as PyTorch's nn.CrossEntropyLoss.

    Shape: logits z (N, C), class indices y (N,) -> scalar ("none": (N,)).

    Per row, mean (or sum) over rows; logsumexp is shifted by the row
    maximum, so large logits never overflow::

        ℓ = logsumexp(z) − z[y]
        dℓ/dz = softmax(z) − onehot(y)
    """

    target_kind: ClassVar[str] = "index"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._saved: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if prediction.dim() != 2 or target.shape != (prediction.shape[0],):
            raise ShapeError(
                "CrossEntropyLoss expects logits (N, C) and class indices (N,), got "
                f"{tuple(prediction.shape)} and {tuple(target.shape)}"
            )
        if target.is_floating_point():
            raise ShapeError("CrossEntropyLoss expects integer class indices as targets")
        shifted = prediction - prediction.amax(dim=1, keepdim=True)
        log_probabilities = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        self._saved = (log_probabilities, target)
        losses = -log_probabilities.gather(1, target.long().unsqueeze(1)).squeeze(1)
        return self._reduce(losses)

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError("CrossEntropyLoss: backward called before forward")
        log_probabilities, target = self._saved
        grad = torch.exp(log_probabilities)
        grad.scatter_add_(1, target.long().unsqueeze(1), torch.full_like(grad[:, :1], -1.0))
        return self._finish_grad(grad, grad.shape[0], grad_output)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy of logits, element-wise, as PyTorch's nn.BCEWithLogitsLoss.

    Shape: logits z (*), target probabilities t (*) (one column per class for
    the lab's one-hot labels) -> scalar ("none": (*)).

    Stable for any logit z::

        ℓ = max(z, 0) − z·t + log(1 + e^(−|z|))
        dℓ/dz = σ(z) − t
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._saved: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(prediction, target)
        self._saved = (prediction, target)
        losses = (
            prediction.clamp_min(0)
            - prediction * target
            + torch.log1p(torch.exp(-prediction.abs()))
        )
        return self._reduce(losses)

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError("BCEWithLogitsLoss: backward called before forward")
        prediction, target = self._saved
        return self._finish_grad(
            torch.sigmoid(prediction) - target, prediction.numel(), grad_output
        )
