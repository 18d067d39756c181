"""Durable, all-or-nothing file writes: a crash or an error mid-write never leaves a half
file at the destination, and an existing file there stays untouched until the new one is
complete on disk."""
from __future__ import annotations

import os
import secrets
import stat
from typing import Callable

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], None],
                 who: str = "ember.save") -> None:
    """Create ``path`` atomically with ``write(temporary_path)``.

    ``write`` fills a new temporary file in the destination's directory; it is then
    fsync'ed and renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows), and
    the directory is fsync'ed so the rename survives a power loss. On any error the
    temporary file is removed, an existing file at ``path`` is untouched, and the exception
    propagates.
    """
    path = os.fsdecode(path)
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"{who}: parent directory {directory} does not exist")
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask apply as for open().
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    mode = stat.S_IMODE(os.stat(tmp).st_mode)
    try:
        write(tmp)
        os.chmod(tmp, mode)     # a writer may replace the file (safetensors does): 0o600
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:          # platforms without directory handles (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
