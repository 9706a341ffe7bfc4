"""Cross-entropy on logits and binary cross-entropy on logits, numerically stable."""

from __future__ import annotations

from typing import ClassVar

import torch

from minidl.errors import ShapeError
from minidl.losses.loss import Loss, legacy_reduction


class CrossEntropyLoss(Loss):
    """Cross-entropy of softmax(logits) against class indices or probabilities, as torch's.

    Args:
        weight: w, (C,), a weight per class (ones if None).
        size_average, reduce: torch's deprecated spelling of ``reduction``.
        ignore_index: rows whose class index is this count for nothing
            (neither in the sum nor in the mean's denominator).
        reduction: "mean", "sum" or "none".
        label_smoothing: ε in [0, 1]: the target is mixed with the uniform
            distribution, (1 − ε)·target + ε/C.

    Shape: logits (N, C), (N, C, d1, …) or unbatched (C,); targets are class
    indices (N,), (N, d1, …) or () (integers), or probabilities of the
    logits' shape (floats). "none" gives one loss per row: (N, d1, …) or ().

    The class dimension is moved last, so every position is a row z of C
    logits. With log p = z − logsumexp(z) (shifted by the row maximum: large
    logits never overflow) and a row of target weights a::

        a_c = (1 − ε)·w_y·[c = y] + ε/C·w_c    (index y; a = 0 if y is ignored)
        a_c = ((1 − ε)·t_c + ε/C)·w_c           (probabilities t)
        ℓ   = −Σ_c a_c·log p_c
        dℓ/dz = (Σ_c a_c)·p − a

    "mean" divides the sum of ℓ by Σ w_y over the rows not ignored (index
    targets) or by the number of rows (probabilities), as torch does.
    """

    target_kind: ClassVar[str] = "index"

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))
        if weight is not None and (not isinstance(weight, torch.Tensor) or weight.dim() != 1):
            raise ValueError("CrossEntropyLoss: weight must be a 1-D tensor, one value per class")
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
        self.weight, self.ignore_index = weight, int(ignore_index)
        self.label_smoothing = float(label_smoothing)
        # log p, a, the mean's denominator, the logits' shape
        self._saved: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Size] | None = None

    @staticmethod
    def _rows(values: torch.Tensor, classes: int) -> torch.Tensor:
        """(N, C, d1, …) -> (N·d1·…, C); unbatched (C,) -> (1, C)."""
        return (
            values.reshape(1, classes)
            if values.dim() == 1
            else values.movedim(1, -1).reshape(-1, classes)
        )

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if input.dim() == 0:
            raise ShapeError(
                "CrossEntropyLoss expects logits (N, C), (N, C, d1, …) or (C,), got ()"
            )
        classes = input.shape[0] if input.dim() == 1 else input.shape[1]
        w = None if self.weight is None else self.weight.to(input)  # None: all ones
        if w is not None and w.shape != (classes,):
            raise ShapeError(f"CrossEntropyLoss: weight {tuple(w.shape)} for {classes} classes")
        z = self._rows(input, classes)
        shifted = z - z.amax(dim=1, keepdim=True)
        log_p = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        eps = self.label_smoothing
        if target.is_floating_point() and target.shape == input.shape:  # probabilities
            if self.ignore_index != -100:
                raise ValueError("CrossEntropyLoss: ignore_index needs class-index targets")
            a = self._rows(target, classes) * (1 - eps) + eps / classes
            if w is not None:
                a = a * w
            denominator = torch.tensor(float(z.shape[0]), dtype=z.dtype, device=z.device)
            loss_shape = target.shape[:1] + target.shape[2:] if input.dim() > 1 else ()
        else:
            index_shape = input.shape[:1] + input.shape[2:] if input.dim() > 1 else ()
            if target.shape != index_shape or target.is_floating_point():
                raise ShapeError(
                    "CrossEntropyLoss expects class indices (integers) of shape "
                    f"{tuple(index_shape)} or probabilities of shape {tuple(input.shape)} for "
                    f"logits {tuple(input.shape)}, got {target.dtype} {tuple(target.shape)}"
                )
            y = target.reshape(-1, 1).long()
            kept = y != self.ignore_index  # (M, 1)
            y = y * kept  # class 0 for the ignored rows: their a is 0
            kept = kept.to(z.dtype)  # 1, or 0 where ignored
            w_y = kept if w is None else w[y] * kept  # w_y, 0 where ignored
            a = torch.zeros_like(z).scatter_(1, y, w_y)  # w_y at column y
            if eps != 0:  # (1 − ε)·w_y at column y, + ε/C·w_c everywhere
                a = a * (1 - eps) + kept * (eps / classes) * (1 if w is None else w)
            denominator = w_y.sum()
            loss_shape = target.shape
        losses = -(a * log_p).sum(dim=1)  # ℓ = −Σ a·log p
        self._saved = (log_p, a, denominator, input.shape)
        if self.reduction == "mean":
            return losses.sum() / denominator
        if self.reduction == "sum":
            return losses.sum()
        return losses.reshape(loss_shape)

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError("CrossEntropyLoss: backward called before forward")
        log_p, a, denominator, shape = self._saved
        grad = a.sum(dim=1, keepdim=True) * torch.exp(log_p) - a  # dℓ/dz = (Σ a)·p − a
        if self.reduction == "mean":
            grad = grad / denominator
        if grad_output is not None:
            if isinstance(grad_output, torch.Tensor) and self.reduction == "none":
                grad_output = grad_output.reshape(-1, 1)  # one loss per row
            grad = grad * grad_output
        if len(shape) == 1:
            return grad.reshape(shape)
        return grad.reshape(shape[:1] + shape[2:] + shape[1:2]).movedim(-1, 1)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits, element-wise, as PyTorch's nn.BCEWithLogitsLoss.

    Args:
        weight: w, a weight per element, broadcast over the input.
        size_average, reduce: torch's deprecated spelling of ``reduction``.
        reduction: "mean", "sum" or "none".
        pos_weight: q, the weight of the positive term, broadcast over the
            last dimension (one per class).

    Shape: input (*) and target (*) of the same shape, the target holding
    probabilities (one column per class for the lab's one-hot labels).

    With softplus(−z) = log(1 + e^(−z)), computed as max(−z, 0) + log(1 + e^(−|z|))
    so that it is stable for any logit z, and l = 1 + (q − 1)·t::

        ℓ = w·[(1 − t)·z + l·softplus(−z)]
        dℓ/dz = w·[(1 − t) + l·(σ(z) − 1)]     (= w·(σ(z) − t) without q)

    "mean" divides by the number of elements.
    """

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: torch.Tensor | None = None,
    ) -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))
        for name, value in (("weight", weight), ("pos_weight", pos_weight)):
            if value is not None and not isinstance(value, torch.Tensor):
                raise ValueError(f"BCEWithLogitsLoss: {name} must be a tensor or None")
        self.weight, self.pos_weight = weight, pos_weight
        self._saved: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self._check_same_shape(input, target)
        z, t = input, target
        self._saved = (z, t)
        softplus = (-z).clamp_min(0) + torch.log1p(torch.exp(-z.abs()))  # log(1 + e^(−z))
        if self.pos_weight is None:
            losses = (1 - t) * z + softplus
        else:
            losses = (1 - t) * z + (1 + (self.pos_weight.to(z) - 1) * t) * softplus
        if self.weight is not None:
            losses = losses * self.weight.to(z)
        return self._reduce(losses)

    def backward(self, grad_output: torch.Tensor | float | None = None) -> torch.Tensor:
        if self._saved is None:
            raise RuntimeError("BCEWithLogitsLoss: backward called before forward")
        z, t = self._saved
        if self.pos_weight is None:
            grad = torch.sigmoid(z) - t
        else:
            grad = (1 - t) + (1 + (self.pos_weight.to(z) - 1) * t) * (torch.sigmoid(z) - 1)
        if self.weight is not None:
            grad = grad * self.weight.to(z)
        return self._finish_grad(grad, z.numel(), grad_output)

    def __repr__(self) -> str:
        return f"BCEWithLogitsLoss(reduction={self.reduction!r})"
