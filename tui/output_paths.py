"""The files a command writes (``--json``, ``--csv``, ``--layers``), checked before it runs.

A run can take minutes, so a path it could not write at the end is refused
at the start: a folder, a folder that does not exist (never created
silently), one that does not take a new file. A regular file is written
atomically at the end (temp file + rename); a pipe or a device such as
``/dev/stdout`` is opened at the start and written directly.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from minidl.serialization import TEMP_SUFFIX, atomic_write_text
from tui.file_checks import os_words


class OutputPathError(ValueError):
    """A path a command cannot write; the message names the option and the path."""


@dataclass
class Output:
    """Where one option's text goes: a regular file (atomic) or an open pipe or device."""

    option: str
    path: str
    stream: int | None = None  # a file descriptor, for a pipe or a device

    def write(self, text: str) -> None:
        """Write the text; OSError says why not (in words, by ``os_words``)."""
        if self.stream is None:
            atomic_write_text(self.path, text)
            return
        data = text.encode("utf-8")
        try:
            while data:
                data = data[os.write(self.stream, data) :]
        finally:
            self.close()

    def close(self) -> None:
        if self.stream is not None:
            os.close(self.stream)
            self.stream = None


def open_output(option: str, path: str) -> Output:
    """Check that ``path`` can be written and open it if it is a pipe or a device.

    Raises OutputPathError naming the option and the path.
    """

    def refuse(why: str) -> OutputPathError:
        return OutputPathError(f"{option} {path}: {why}")

    try:
        target = Path(path)
        if target.is_dir():
            raise refuse("is a folder: give a file name")
        if target.exists() and not target.is_file():
            return _open_stream(option, path, refuse)
        folder = target.parent
        if not folder.exists():
            raise refuse(f"folder {folder} does not exist: create it first")
        if not folder.is_dir():
            raise refuse(f"{folder} is a file, not a folder")
        _try_a_file_in(folder, target.name)
    except OutputPathError:
        raise
    except OSError as error:
        raise refuse(os_words(error)) from None
    except ValueError:  # a NUL character
        raise refuse("not a usable file name") from None
    return Output(option, path)


def _try_a_file_in(folder: Path, name: str) -> None:
    """Create and delete a temporary file beside the target: the one sure test that the
    folder takes a new file (permissions, a read-only or full file system, /proc)."""
    probe = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    probe.unlink()


def _open_stream(option: str, path: str, refuse: Callable[[str], OutputPathError]) -> Output:
    """A pipe or a device, opened now: a pipe nobody reads is refused rather than waited on."""
    try:
        kind = os.stat(path).st_mode
        if not (stat.S_ISFIFO(kind) or stat.S_ISCHR(kind)):
            raise refuse("is not a regular file, a pipe or a device (a socket?)")
        stream = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        os.set_blocking(stream, True)
    except OSError as error:
        raise refuse(os_words(error)) from None
    return Output(option, path, stream)


def open_outputs(paths: dict[str, str | None]) -> dict[str, Output]:
    """Every option given ({'--json': 'h.json', '--csv': None}), checked and opened in
    order; on a refusal, those opened already are closed again."""
    opened: dict[str, Output] = {}
    try:
        for option, path in paths.items():
            if path:
                opened[option] = open_output(option, path)
    except OutputPathError:
        for output in opened.values():
            output.close()
        raise
    return opened
