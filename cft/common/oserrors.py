"""OS errors (a full disk, a read-only folder, a folder where a file should go) as one line naming the path.

A failed ``write()`` or ``fsync()`` raises an ``OSError`` that names no file; ``NamedWriter`` and
``named`` attach the path being written, so ``cft.common.cli.run`` can print ``error: <path>: <reason>``.
"""

from __future__ import annotations

import io
import os


def named(e: OSError, path: str | os.PathLike) -> OSError:
    """``e`` naming ``path`` (not a temporary file's name) as the file it is about."""
    e.filename, e.filename2 = os.fspath(path), None
    return e


class NamedWriter(io.BufferedWriter):
    """A buffered binary file whose write errors name ``path`` (the final name of an atomic write)."""

    def __init__(self, fd: int, path: str | os.PathLike, buffer_size: int = 1 << 20):
        super().__init__(io.FileIO(fd, "wb", closefd=True), buffer_size)
        self.final_path = path

    def write(self, data) -> int:
        try:
            return super().write(data)
        except OSError as e:
            raise named(e, self.final_path) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as e:
            raise named(e, self.final_path) from None


def one_line(e: OSError) -> str:
    """``<path>: <reason>`` for the error line of a script."""
    reason = e.strerror or str(e)
    if e.filename is None:
        return reason
    return f"{e.filename}: {reason}" + (f" (and {e.filename2})" if e.filename2 else "")


def check_writable(path: str | os.PathLike, flag: str) -> None:
    """Refuse, in one line, a file that cannot be written where it is to go (a folder in its place, a missing or
    read-only folder), before a step writes anything else: a step's outputs are committed as one or not at all."""
    from pathlib import Path

    from cft.common.errors import CftError

    path = Path(path)
    if path.is_dir():
        raise CftError(f"{path}: is a folder ({flag} names a file)")
    base = next((p for p in path.parents if p.exists()), Path("/"))
    if not base.is_dir():
        raise CftError(f"{path}: cannot be written, {base} is a file ({flag})")
    if not os.access(base, os.W_OK | os.X_OK):
        raise CftError(f"{path}: cannot be written, {base} is not writable ({flag})")
