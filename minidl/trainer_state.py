"""A trainer checkpoint is checked whole before anything is restored: a bad one changes nothing."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from minidl.errors import StateDictError
from minidl.events import EpochCompleted, Status


class CheckedCheckpoint(NamedTuple):
    """The parts of a trainer checkpoint that the trainer restores itself, once checked."""

    epochs: list[EpochCompleted]
    status: Status
    scheduler: dict[str, float | int] | None
    dropout_generators: list[Any]


def check_checkpoint(state: Any, dropout_generators: int, has_scheduler: bool) -> CheckedCheckpoint:
    """Check every part of a trainer ``state_dict`` but the model's and the optimizer's.

    ``dropout_generators`` is how many seeded dropout layers the model has and
    ``has_scheduler`` whether the trainer has a scheduler; a mismatch raises
    StateDictError naming the part.
    """
    if not isinstance(state, dict):
        raise StateDictError(f"trainer checkpoint must be a dict, got {type(state).__name__}")
    missing = [
        key
        for key in ("model", "optimizer", "scheduler", "shuffle_generator", "history")
        if key not in state
    ]
    if missing:
        raise StateDictError(f"trainer checkpoint lacks {', '.join(missing)}")
    saved_generators = state.get("dropout_generators", [])
    if not isinstance(saved_generators, list) or len(saved_generators) != dropout_generators:
        count = len(saved_generators) if isinstance(saved_generators, list) else 0
        raise StateDictError(
            f"trainer checkpoint holds {count} dropout "
            f"generators, the model has {dropout_generators}"
        )
    if (state["scheduler"] is not None) != has_scheduler:
        raise StateDictError("trainer checkpoint and trainer disagree on having a scheduler")
    epochs, status = _checked_history(state["history"])
    scheduler_state = None
    if has_scheduler:
        scheduler_state = _checked_scheduler_state(state["scheduler"])
    _check_generator_state(state["shuffle_generator"], "shuffle generator")
    for index, saved in enumerate(saved_generators):
        _check_generator_state(saved, f"dropout generator {index}")
    return CheckedCheckpoint(epochs, status, scheduler_state, saved_generators)


def _checked_history(history: Any) -> tuple[list[EpochCompleted], Status]:
    """The epochs and status of a saved history, or StateDictError saying what is wrong."""
    try:
        epochs = [EpochCompleted.from_dict(e) for e in history["epochs"]]
        status = history["status"]
    except (KeyError, TypeError) as error:
        raise StateDictError(f"trainer checkpoint has a malformed history: {error}") from None
    if status not in ("running", "completed", "stopped", "diverged"):
        raise StateDictError(f"trainer checkpoint has an unknown history status {status!r}")
    return epochs, status


def _checked_scheduler_state(saved: Any) -> dict[str, float | int]:
    try:
        return {"base_lr": float(saved["base_lr"]), "last_epoch": int(saved["last_epoch"])}
    except (KeyError, TypeError, ValueError) as error:
        raise StateDictError(f"trainer checkpoint has a malformed scheduler: {error}") from None


def _check_generator_state(saved: Any, what: str) -> None:
    """Try a saved generator state on a scratch generator, so a bad one changes nothing."""
    if not isinstance(saved, torch.Tensor) or saved.dtype != torch.uint8:
        raise StateDictError(f"trainer checkpoint: the {what} state is not a byte tensor")
    try:
        torch.Generator().set_state(saved)
    except (RuntimeError, ValueError, TypeError):
        raise StateDictError(f"trainer checkpoint: the {what} state is corrupt") from None
