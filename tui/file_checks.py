"""Plain words about a path the user typed: can the lab write there, or read from there?

The lab's file dialogs ask these before they close, so a folder, a device, a
missing folder or a name the system refuses is said in the dialog, in words,
and the text typed stays there to be fixed. Nothing here creates or changes a
file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# errno -> what it means for the user, in words
_ERRNO_WORDS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.ELOOP: "too many symbolic links",
    errno.EBUSY: "the file is busy",
    errno.EXDEV: "it is on another file system",
    errno.ENXIO: "no process reads from that pipe",
}


def os_words(error: OSError) -> str:
    """An OSError as a few plain words, without its number, Python's spelling or an
    internal path (a temporary file's)."""
    if error.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[error.errno]
    text = error.strerror or type(error).__name__
    return text[:1].lower() + text[1:]


def _expand(typed: str) -> Path:
    return Path(typed).expanduser()


def shortened(typed: str, most: int = 60) -> str:
    """A path as typed, its middle cut (…) when longer than ``most`` characters."""
    if len(typed) <= most:
        return typed
    half = (most - 1) // 2
    return typed[:half] + "…" + typed[-half:]


def write_problem(typed: str, path: Path | None = None) -> str | None:
    """Why a file cannot be written at ``path`` (default: what was typed), or None.

    A folder, a device or pipe, a missing folder (never created silently), a
    folder the user may not write in, and a name the system refuses are named.
    """
    try:
        target = path if path is not None else _expand(typed)
        shown = shortened(typed if path is None else str(path))
        if target.is_dir():
            return f"{shown} is a folder: give a file name"
        if target.exists() and not target.is_file():
            return f"{shown} is not a regular file (a device, pipe or socket): give a file name"
        folder = target.parent
        place = shortened(str(folder))
        if not folder.exists():
            return f"folder {place} does not exist: create it first or choose another"
        if not folder.is_dir():
            return f"{place} is a file, not a folder"
        if target.exists() and not os.access(target, os.W_OK):
            return f"cannot write {shown}: permission denied"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"cannot write in folder {place}: permission denied"
    except OSError as error:
        return f"cannot write {shortened(typed)}: {os_words(error)}"
    except (RuntimeError, ValueError):  # an unknown ~user, a NUL character
        return f"cannot write {shortened(typed)}: not a usable file name"
    return None


def read_problem(typed: str) -> str | None:
    """Why the file typed cannot be read, or None: missing, a folder, not a regular file."""
    shown = shortened(typed)
    try:
        source = _expand(typed)
        if source.is_dir():
            return f"{shown} is a folder, not a file"
        if not source.exists():
            return f"no file named {shown}"
        if not source.is_file():
            return f"{shown} is not a regular file (a device, pipe or socket)"
        if not os.access(source, os.R_OK):
            return f"cannot read {shown}: permission denied"
    except OSError as error:
        return f"cannot read {shown}: {os_words(error)}"
    except (RuntimeError, ValueError):
        return f"cannot read {shown}: not a usable file name"
    return None


def exists(path: Path) -> bool:
    """Whether ``path`` exists; False where the system refuses to look."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False
