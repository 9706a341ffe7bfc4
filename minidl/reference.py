"""The PyTorch twin of a minidl model: the one module of minidl that imports torch.nn.

``torch_twin(model)`` builds the equivalent ``torch.nn`` module with the
weights copied, so both start identical; ``torch_loss`` and
``torch_optimizer`` do the same for losses and optimizers. Used by the
parity tests, the comparison and the benchmark — never by training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from minidl.events import EpochCompleted
from minidl.history import History
from minidl.layers import (
    ELU,
    FEATURES,
    GELU,
    BatchNorm1d,
    Conv1d,
    Dropout,
    FeatureMap,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    Unflatten,
)
from minidl.losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, Loss, MSELoss
from minidl.metrics import (
    ClassificationMetrics,
    RegressionMetrics,
    classification_metrics,
    regression_metrics,
)
from minidl.module import Module
from minidl.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    Optimizer,
    RMSprop,
    StepLR,
)
from minidl.train import Trainer


class TwinError(TypeError):
    """A minidl object that has no PyTorch twin."""


def _options(module: Module) -> dict[str, Any]:
    parameters = module.parameters()
    if not parameters:
        return {}
    return _tensor_options(parameters[0].data)


def _tensor_options(tensor: torch.Tensor) -> dict[str, Any]:
    return {"dtype": tensor.dtype, "device": tensor.device}


_MODULE_TWINS: dict[type, Callable[[Any], nn.Module]] = {
    Linear: lambda m: nn.Linear(
        m.in_features, m.out_features, bias=m.bias is not None, **_options(m)
    ),
    Conv1d: lambda m: nn.Conv1d(
        m.in_channels,
        m.out_channels,
        m.kernel_size,
        stride=m.stride,
        padding=m.padding,
        dilation=m.dilation,
        groups=m.groups,
        bias=m.bias is not None,
        padding_mode=m.padding_mode,
        **_options(m),
    ),
    BatchNorm1d: lambda m: nn.BatchNorm1d(
        m.num_features,
        eps=m.eps,
        momentum=m.momentum,
        affine=m.affine,
        track_running_stats=m.track_running_stats,
        bias=m.bias is not None or not m.affine,
        **(_options(m) if m.running_mean is None else _tensor_options(m.running_mean)),
    ),
    Dropout: lambda m: nn.Dropout(m.p),
    ReLU: lambda m: nn.ReLU(),
    Tanh: lambda m: nn.Tanh(),
    Sigmoid: lambda m: nn.Sigmoid(),
    SiLU: lambda m: nn.SiLU(),
    LeakyReLU: lambda m: nn.LeakyReLU(m.negative_slope),
    ELU: lambda m: nn.ELU(m.alpha),
    GELU: lambda m: nn.GELU(approximate=m.approximate),
    Softmax: lambda m: nn.Softmax(dim=m.dim),
    Identity: lambda m: nn.Identity(),
    FeatureMap: lambda m: TorchFeatureMap(m.features),
    Flatten: lambda m: nn.Flatten(m.start_dim, m.end_dim),
    Unflatten: lambda m: nn.Unflatten(m.dim, m.unflattened_size),
}


def _build(module: Module) -> nn.Module:
    if isinstance(module, Sequential):
        return nn.Sequential(*(_build(child) for child in module))
    factory = _MODULE_TWINS.get(type(module))
    if factory is None:
        raise TwinError(f"{type(module).__name__} has no PyTorch twin")
    return factory(module)


def torch_twin(model: Module, copy_weights: bool = True) -> nn.Module:
    """The torch.nn equivalent of ``model``, same weights, same train/eval mode.

    With ``copy_weights=False`` the twin keeps torch's own initial weights
    (the benchmark uses it to measure memory without the copy).
    """
    twin = _build(model)
    if copy_weights:
        with torch.no_grad():
            twin.load_state_dict(model.state_dict())
    twin.train(model.training)
    return twin


def torch_loss(loss: Loss, dtype: torch.dtype | None = None) -> nn.Module:
    """The torch.nn loss equivalent to a minidl loss (its class weights in ``dtype``).

    minidl's losses convert their weights to the input's dtype at each call;
    torch's need them in that dtype already.
    """
    if isinstance(loss, HuberLoss):
        return nn.HuberLoss(reduction=loss.reduction, delta=loss.delta)
    for ours, theirs in (
        (MSELoss, nn.MSELoss),
        (L1Loss, nn.L1Loss),
        (CrossEntropyLoss, nn.CrossEntropyLoss),
        (BCEWithLogitsLoss, nn.BCEWithLogitsLoss),
    ):
        if type(loss) is ours:
            return theirs(reduction=loss.reduction, **_loss_options(loss)).to(dtype)
    raise TwinError(f"{type(loss).__name__} has no PyTorch twin")


def _loss_options(loss: Loss) -> dict[str, Any]:
    """The arguments beyond ``reduction`` that a loss has, as torch names them."""
    if isinstance(loss, CrossEntropyLoss):
        return {
            "weight": loss.weight,
            "ignore_index": loss.ignore_index,
            "label_smoothing": loss.label_smoothing,
        }
    if isinstance(loss, BCEWithLogitsLoss):
        return {"weight": loss.weight, "pos_weight": loss.pos_weight}
    return {}


def torch_optimizer(optimizer: Optimizer, parameters: Any) -> torch.optim.Optimizer:
    """The torch.optim equivalent of ``optimizer`` over the twin's ``parameters``."""
    if isinstance(optimizer, SGD):
        return torch.optim.SGD(
            parameters,
            lr=optimizer.lr,
            momentum=optimizer.momentum,
            dampening=optimizer.dampening,
            nesterov=optimizer.nesterov,
            weight_decay=optimizer.weight_decay,
            maximize=optimizer.maximize,
        )
    if isinstance(optimizer, Adam):  # AdamW too
        kind = torch.optim.AdamW if isinstance(optimizer, AdamW) else torch.optim.Adam
        return kind(
            parameters,
            lr=optimizer.lr,
            betas=optimizer.betas,
            eps=optimizer.eps,
            weight_decay=optimizer.weight_decay,
            amsgrad=optimizer.amsgrad,
            maximize=optimizer.maximize,
            foreach=False,
        )
    if isinstance(optimizer, RMSprop):
        return torch.optim.RMSprop(
            parameters,
            lr=optimizer.lr,
            alpha=optimizer.alpha,
            eps=optimizer.eps,
            weight_decay=optimizer.weight_decay,
            momentum=optimizer.momentum,
            centered=optimizer.centered,
            maximize=optimizer.maximize,
            foreach=False,
        )
    raise TwinError(f"{type(optimizer).__name__} has no PyTorch twin")


def torch_train_step(
    twin: nn.Module,
    loss: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    target: torch.Tensor,
) -> float:
    """One classic torch.nn + autograd + torch.optim step; returns the loss value."""
    with torch.enable_grad():
        optimizer.zero_grad()
        value = loss(twin(x), target)
        result = value.item()
        value.backward()
        optimizer.step()
    return result


class TorchFeatureMap(nn.Module):
    """The features of minidl.FeatureMap, computed with torch ops (autograd differentiates)."""

    def __init__(self, features: tuple[str, ...]) -> None:
        super().__init__()
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([FEATURES[name][0](x[:, 0], x[:, 1]) for name in self.features], dim=1)


class SeededDropout(nn.Module):
    """Inverted dropout drawing its masks from a given generator, like minidl.Dropout.

    torch.nn.Dropout draws from the global generator; to follow a minidl
    model mask for mask, the twin draws the same Bernoulli numbers from a
    generator in the same state.
    """

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0
        mask = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * mask.div_(1 - self.p)


def torch_scheduler(
    scheduler: LRScheduler, optimizer: torch.optim.Optimizer
) -> torch.optim.lr_scheduler.LRScheduler:
    """The torch.optim.lr_scheduler equivalent of a minidl scheduler."""
    if isinstance(scheduler, StepLR):
        return torch.optim.lr_scheduler.StepLR(optimizer, scheduler.step_size, scheduler.gamma)
    if isinstance(scheduler, ExponentialLR):
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, scheduler.gamma)
    if isinstance(scheduler, CosineAnnealingLR):
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, scheduler.T_max, scheduler.eta_min
        )
    raise TwinError(f"{type(scheduler).__name__} has no PyTorch twin")


class TwinTrainer:
    """The PyTorch twin of a minidl ``Trainer``, for side-by-side runs.

    Built from a trainer before it trains (or at any point: it copies the
    weights and the batch-order and dropout generators as they are then),
    it trains torch.nn + autograd + torch.optim on exactly the same batches
    in the same order and evaluates like the trainer, so both histories
    can be compared epoch by epoch.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.source = trainer
        self.model = torch_twin(trainer.model)
        dropouts = [m for m in trainer.model.modules() if isinstance(m, Dropout)]
        twins = [m for m in self.model.modules() if isinstance(m, nn.Dropout)]
        # one twin generator per minidl generator: layers sharing one keep sharing it
        generators: dict[int, torch.Generator] = {}
        for ours, twin_dropout in zip(dropouts, twins, strict=True):
            source = ours.generator if ours.generator is not None else torch.default_generator
            if id(source) not in generators:
                generators[id(source)] = torch.Generator()
                generators[id(source)].set_state(source.get_state())
            _replace_module(self.model, twin_dropout, SeededDropout(ours.p, generators[id(source)]))
        self.loss = torch_loss(trainer.loss, trainer.model.parameters()[0].dtype)
        self.optimizer = torch_optimizer(trainer.optimizer, self.model.parameters())
        self.scheduler = (
            None
            if trainer.scheduler is None
            else torch_scheduler(trainer.scheduler, self.optimizer)
        )
        self.generator = torch.Generator()
        self.generator.set_state(trainer._generator.get_state())
        self.history = History()

    def run(self, epochs: int, on_event: Callable[[EpochCompleted], None] | None = None) -> History:
        source = self.source
        previous_threads = torch.get_num_threads()
        if source.threads is not None:
            torch.set_num_threads(source.threads)
        try:
            # autograd must record even when called from minidl's inference-mode loop
            with torch.inference_mode(False):
                for _ in range(epochs):
                    event = self._train_epoch(len(self.history.epochs) + 1)
                    self.history.epochs.append(event)
                    if on_event is not None:
                        on_event(event)
        finally:
            torch.set_num_threads(previous_threads)
        self.history.status = "completed"
        return self.history

    def _train_epoch(self, epoch: int) -> EpochCompleted:
        source = self.source
        x_all, t_all = source._x_train, source._t_train
        n = x_all.shape[0]
        if source.shuffle:
            order = torch.randperm(n, generator=self.generator)
            x_all, t_all = x_all[order], t_all[order]
        self.model.train()
        total = 0.0
        started = time.perf_counter()
        for x, target in zip(
            x_all.split(source.batch_size), t_all.split(source.batch_size), strict=True
        ):
            with torch.enable_grad():
                self.optimizer.zero_grad()
                value = self.loss(self.model(x), target)
                item = value.item()
                value.backward()
                if source.clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(self.model.parameters(), source.clip_grad_norm)
                self.optimizer.step()
            total += item * x.shape[0]
        seconds = time.perf_counter() - started
        if self.scheduler is not None:
            self.scheduler.step()
        _, train = self._evaluate(source._x_train, source._t_train, source.data.y_train)
        test_loss, test = self._evaluate(source._x_test, source._t_test, source.data.y_test)
        return EpochCompleted.report(epoch, total, n, seconds, train, test_loss, test)

    def _evaluate(
        self, x: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor
    ) -> tuple[float, ClassificationMetrics | RegressionMetrics]:
        self.model.eval()
        with torch.no_grad():
            prediction = self.model(x)
            value = self.loss(prediction, targets).item()
        self.model.train()
        if self.source.is_regression:
            return value, regression_metrics(prediction, labels)
        predicted = prediction.argmax(dim=1)
        return value, classification_metrics(predicted, labels, self.source.data.num_classes)


def _replace_module(root: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for name, child in root.named_children():
        if child is old:
            setattr(root, name, new)
            return
        _replace_module(child, old, new)
