"""Atomic file writes, and checkpoints saved with torch and loaded with weights_only=True."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from minidl.errors import CheckpointError


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file through a temporary sibling and rename it into place.

    A crash or an exception mid-write leaves the old file (or none), never
    a truncated one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Save tensors / state dicts with ``torch.save``, atomically."""
    return atomic_write(path, lambda stream: torch.save(obj, stream))


def load(path: str | os.PathLike[str]) -> Any:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs)."""
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"checkpoint {source} does not exist")
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a corrupt file
        raise CheckpointError(
            f"checkpoint {source} is corrupt or not a minidl checkpoint: {error}"
        ) from None
