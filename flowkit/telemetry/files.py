"""Private files under the telemetry home: created 0600 in folders 0700, never through a
symlink, and appended in whole lines only.

Whatever the umask, a file flowkit creates here is readable by its owner alone, and a
folder flowkit creates (the home itself included) is ``rwx------``. A symlink at a path
flowkit writes is refused (``O_NOFOLLOW``), so nothing is ever written through one. An
append that fails part way (a full disk) is truncated back to where it started, so no
reader ever sees a torn line.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from pathlib import Path

__all__ = ["SymlinkRefused", "append_lines", "make_private_dir", "open_private"]

logger = logging.getLogger("flowkit.telemetry")

_warned: set[str] = set()


class SymlinkRefused(OSError):
    """A telemetry file's path is a symlink: nothing is written through it."""


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents as ``0700`` folders (existing ones untouched).

    :raises OSError: when a folder cannot be created.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)  # the umask cleared bits of mode: set them all


def open_private(path: Path, flags: int) -> int:
    """Open ``path`` with ``flags`` plus ``O_CREAT | O_NOFOLLOW | O_CLOEXEC``, as ``0600``
    when it is created, creating its folder (``0700``) when missing.

    :returns: the file descriptor.
    :raises SymlinkRefused: when ``path`` is a symlink (a warning is logged once per path).
    :raises OSError: when the file cannot be opened.
    """
    all_flags = flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, all_flags, 0o600)
    except FileNotFoundError:
        make_private_dir(path.parent)
        fd = os.open(path, all_flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            key = str(path)
            if key not in _warned:
                _warned.add(key)
                logger.warning("telemetry refuses to write through the symlink %s", path)
            raise SymlinkRefused(errno.ELOOP, "refusing to follow a symlink", str(path)) from exc
        raise
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)  # created under a lax umask, or left so by an older flowkit
    except OSError:
        os.close(fd)
        raise
    return fd


def append_lines(fd: int, data: bytes) -> None:
    """Append ``data`` (whole lines, ending with a newline) to the end of ``fd``.

    Written with as few ``write`` calls as the OS allows; when a write fails, the file is
    truncated back to its size before the call, so no partial line is left behind.

    :raises OSError: when the data could not be written (the file is then unchanged).
    """
    start = os.lseek(fd, 0, os.SEEK_END)
    view = memoryview(data)
    try:
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "no progress writing telemetry lines")
            view = view[written:]
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise
