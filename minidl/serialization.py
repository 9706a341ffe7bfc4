"""Atomic file writes, strict JSON, and checkpoints that verify themselves on load.

A checkpoint file is ``torch.save`` of an envelope: the format name and
version, the SHA-256 of the payload, and the payload itself (the saved
object, serialised by ``torch.save`` into bytes). Loading reads both layers
with ``weights_only=True`` and refuses a file whose payload does not match
its checksum, so a flipped bit never loads as different weights.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from minidl.errors import CheckpointError
from minidl.files import UnreadableFile, read_regular_bytes

CHECKPOINT_FORMAT = "minidl-checkpoint"
CHECKPOINT_VERSION = 1
TEMP_SUFFIX = ".minidl-tmp"  # temporary files: .<name>.<pid>.<random>.minidl-tmp
MAX_CHECKPOINT_BYTES = 4 << 30


# --- atomic writes -----------------------------------------------------------------


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other way to read it: set and restore at once
    os.umask(mask)
    return mask


def _temp_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+{re.escape(TEMP_SUFFIX)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_orphans(target: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files of ``target`` left by processes that died mid-write."""
    target = Path(target)
    pattern = _temp_pattern(target)
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and not _alive(int(match.group(1))):
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file through a temporary sibling and rename it into place.

    A crash or an exception mid-write leaves the old file (or none), never a
    truncated one. The temporary file is ``.<name>.<pid>.<random>.minidl-tmp``
    beside the target; a later write of the same target deletes those whose
    process is gone. A new file gets the permissions the umask allows (0644
    under 022), a replaced one keeps its permissions. A symbolic link is
    followed (the file it names is replaced); a directory, pipe or device
    is never replaced: that is an OSError.
    """
    target = Path(path)
    if target.is_symlink():  # replace the file the link points to, keep the link
        target = Path(os.path.realpath(target))
    if target.exists() and not target.is_file():
        raise OSError(
            errno.EINVAL, f"{target} exists and is not a regular file (a directory, pipe or device)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(target)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    handle = os.open(temp, flags, 0o600)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


# --- strict JSON -------------------------------------------------------------------


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def strict_json(document: dict[str, Any]) -> str:
    """JSON every parser accepts: NaN and ±inf become null, listed under "non_finite".

    ``non_finite`` maps the JSON pointer of each such number (e.g.
    ``/epochs/3/train_loss``) to "nan", "inf" or "-inf"; it is always
    present, empty when every number is finite.
    """
    non_finite: dict[str, str] = {}

    def clean(value: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            non_finite[_pointer(path)] = "nan" if math.isnan(value) else str(value)
            return None
        if isinstance(value, dict):
            return {k: clean(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, (*path, i)) for i, v in enumerate(value)]
        return value

    cleaned = clean(document, ())
    cleaned["non_finite"] = non_finite
    return json.dumps(cleaned, indent=2, allow_nan=False) + "\n"


def parse_strict_json(text: str) -> dict[str, Any]:
    """Read ``strict_json`` output back, restoring the numbers listed under "non_finite"."""
    document = json.loads(text)
    for pointer, kind in document.pop("non_finite", {}).items():
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        container: Any = document
        for part in parts[:-1]:
            container = container[int(part)] if isinstance(container, list) else container[part]
        last = parts[-1]
        key = int(last) if isinstance(container, list) else last
        container[key] = float(kind)
    return document


# --- checkpoints -------------------------------------------------------------------


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Save tensors / state dicts with ``torch.save``, atomically, with a checksum.

    The object is serialised in memory first, so a failure to write (a full
    disk) is an ``OSError`` and leaves the old file in place.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    envelope = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    file = io.BytesIO()
    torch.save(envelope, file)
    data = file.getvalue()
    return atomic_write(path, lambda stream: stream.write(data))


def _read_checkpoint_bytes(source: Path) -> bytes:
    try:
        data = read_regular_bytes(source, MAX_CHECKPOINT_BYTES, "checkpoint")
    except UnreadableFile as error:
        raise CheckpointError(str(error)) from None
    if not data:
        raise CheckpointError(f"checkpoint {source} is empty (0 bytes)")
    return data


def _torch_load(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def load(path: str | os.PathLike[str]) -> Any:
    """Load a checkpoint saved by ``save``: ``weights_only=True``, checksum verified.

    Every failure is a ``CheckpointError`` that says what is wrong with the
    file in plain words (torch's own message is not shown: it speaks of
    its internals).
    """
    source = Path(path)
    data = _read_checkpoint_bytes(source)
    unreadable = CheckpointError(
        f"checkpoint {source} is corrupt or not a minidl checkpoint "
        "(it cannot be read as one; it may be damaged or hold other objects than tensors)"
    )
    try:
        envelope = _torch_load(data)
    except Exception:  # torch raises many kinds for a damaged file
        raise unreadable from None
    if not isinstance(envelope, dict) or envelope.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {source} is not a minidl checkpoint (no minidl-checkpoint header); "
            "save it again with minidl.save"
        )
    version = envelope.get("version")
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"checkpoint {source} has format version {version!r}; this minidl reads version "
            f"{CHECKPOINT_VERSION}"
        )
    payload = envelope.get("payload")
    if not isinstance(payload, torch.Tensor) or payload.dtype != torch.uint8:
        raise unreadable
    payload_bytes = payload.numpy().tobytes()
    if hashlib.sha256(payload_bytes).hexdigest() != envelope.get("sha256"):
        raise CheckpointError(
            f"checkpoint {source} is corrupt: its contents do not match the checksum stored "
            "in it (the file was damaged after it was saved)"
        )
    try:
        return _torch_load(payload_bytes)
    except Exception:
        raise unreadable from None
