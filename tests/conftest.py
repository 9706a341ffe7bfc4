"""Shared test helpers: torch autograd is the oracle for every gradient."""

from __future__ import annotations

import torch

TOLERANCE = 1e-10  # max relative error against autograd, float64


def rel_error(actual: torch.Tensor, expected: torch.Tensor, scale: float = 0.0) -> float:
    """max |a - e| / max |e|: the largest error relative to the tensor's scale.

    Element-wise relative errors blow up on entries that are ~0 by
    cancellation, so the error is measured against the tensor's largest
    magnitude instead, or against ``scale`` when the result is itself the
    cancellation of larger terms (e.g. BatchNorm's input gradient on a
    batch of two, which is zero but for ε).
    """
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(expected.abs().max().item(), scale)
    diff = (actual - expected).abs().max().item()
    return diff / scale if scale > 0 else diff


def autograd_grads(torch_module: torch.nn.Module, x: torch.Tensor, grad_output: torch.Tensor):
    """Input gradient and parameter gradients of ``torch_module`` at ``x``, via autograd."""
    x = x.detach().clone().requires_grad_(True)
    torch_module.zero_grad()
    with torch.enable_grad():
        out = torch_module(x)
        out.backward(grad_output)
    return out.detach(), x.grad, {n: p.grad for n, p in torch_module.named_parameters()}
