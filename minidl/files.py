"""Reading user files safely: regular files only, bounded in size, never blocking.

A FIFO opened for reading waits for a writer forever and ``/dev/zero``
never ends, so paths are opened without blocking and checked to be plain
files before a byte is read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class UnreadableFile(ValueError):
    """A path that is not a readable regular file of acceptable size; says why."""


def _short(path: Path) -> str:
    """The path for a message, cut in the middle when it is too long to be useful."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:100]}…{text[-60:]}"


def read_regular_bytes(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; raise UnreadableFile otherwise."""
    source = Path(path)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UnreadableFile(f"{what} {source} does not exist") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{what} {source} is a directory, not a file") from None
    except OSError as error:
        reason = error.strerror or errno.errorcode.get(error.errno or 0, "error")
        raise UnreadableFile(f"cannot read {_short(source)}: {reason}") from None
    except ValueError:  # a NUL in the path
        raise UnreadableFile(f"cannot read {_short(source)}: the path holds a NUL") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableFile(f"{what} {source} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(
                f"{source} is not a regular file (a pipe, device or socket); "
                f"give the path of a {what} on disk"
            )
        if info.st_size > max_bytes:
            raise UnreadableFile(
                f"{source} is {info.st_size:,} bytes; a {what} may have at most {max_bytes:,}"
            )
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:  # grew while being read
                raise UnreadableFile(f"{source}: a {what} may have at most {max_bytes:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise UnreadableFile(f"cannot read {source}: {error.strerror or error}") from None
    finally:
        os.close(fd)


def read_regular_text(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> str:
    """The UTF-8 text of a regular file (a leading byte-order mark is dropped)."""
    data = read_regular_bytes(path, max_bytes, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"{Path(path)} is not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from None
