"""minidl: a small deep-learning framework with every backward written by hand.

PyTorch tensors are its storage and arithmetic, nothing more: no autograd,
no torch.nn, no torch.optim (``minidl.reference`` alone builds PyTorch twins
for comparison). The API follows PyTorch's::

    model = minidl.Sequential(minidl.Linear(2, 25), minidl.ReLU(), minidl.Linear(25, 2))
    loss = minidl.MSELoss()
    optimizer = minidl.SGD(model.parameters(), lr=0.1)
    prediction = model(x)
    value = loss(prediction, target)
    optimizer.zero_grad()
    model.backward(loss.backward())
    optimizer.step()
"""

from minidl import init
from minidl.data import ClassificationData, RegressionData, one_hot
from minidl.engine import StepEngine
from minidl.errors import CheckpointError, MinidlError, ShapeError, StateDictError
from minidl.events import EpochCompleted, TrainingDiverged, TrainingFinished, TrainingStopped
from minidl.history import History
from minidl.layers import (
    ELU,
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
    confusion_matrix,
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
    clip_grad_norm_,
)
from minidl.parameter import Parameter
from minidl.serialization import atomic_write, atomic_write_text, load, save
from minidl.train import Trainer

__all__ = [
    "ELU",
    "GELU",
    "SGD",
    "Adam",
    "AdamW",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CheckpointError",
    "ClassificationData",
    "ClassificationMetrics",
    "Conv1d",
    "CosineAnnealingLR",
    "CrossEntropyLoss",
    "Dropout",
    "EpochCompleted",
    "ExponentialLR",
    "FeatureMap",
    "Flatten",
    "History",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LRScheduler",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MinidlError",
    "Module",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "RegressionData",
    "RegressionMetrics",
    "Sequential",
    "ShapeError",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "StepEngine",
    "StepLR",
    "Tanh",
    "Trainer",
    "TrainingDiverged",
    "TrainingFinished",
    "TrainingStopped",
    "Unflatten",
    "atomic_write",
    "atomic_write_text",
    "classification_metrics",
    "clip_grad_norm_",
    "confusion_matrix",
    "init",
    "load",
    "one_hot",
    "regression_metrics",
    "save",
]
