"""JSON files: fast parsing with orjson, atomic writes, one row per line.

Every output is written to a temporary file in the destination folder,
fsync'ed and renamed over the final name, so a crash or ``kill -9`` leaves
either the old file, no file, or the whole new file, never a torn one.
Lists are written one element per line (``[\\n{...},\\n{...}\\n]``): valid
JSON that ``head`` and ``grep`` can also read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from cft.errors import CftError
from cft.oserrors import NamedWriter, named

_DUMP_OPTS = orjson.OPT_SERIALIZE_NUMPY
_UMASK = os.umask(0)
os.umask(_UMASK)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=_DUMP_OPTS)


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing, empty, truncated or non-JSON file is a CftError naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CftError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CftError(f"{path}: is a directory, expected a JSON file") from None
    except OSError as e:
        raise CftError(f"{path}: cannot read ({e.strerror})") from None
    if len(data) < 4096 and not data.strip():  # (no strip() copy of a large file)
        raise CftError(f"{path}: file is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise CftError(f"{path}: not valid JSON (truncated or corrupt?): {e}") from None


def read_json_list(path: str | os.PathLike, what: str = "rows") -> list:
    data = read_json(path)
    if not isinstance(data, list):
        raise CftError(f"{path}: expected a JSON list of {what}, got {type(data).__name__}")
    if not data:
        raise CftError(f"{path}: the list of {what} is empty")
    return data


READ_BUFFER = 4 << 20  # rows are tens of KB; a large buffer makes line reads cheap


def parse_row(line: bytes) -> Any:
    """One row line of a file in our layout (``{...},`` or ``{...}``), parsed without copying it."""
    end = len(line)
    while end and line[end - 1] in b"\r\n":
        end -= 1
    if end and line[end - 1] == 44:  # ","
        end -= 1
    return orjson.loads(memoryview(line)[:end])


def is_closing_line(line: bytes) -> bool:
    """The ``]`` (list) or ``]}`` (results file) line after the last row; no row line starts with ``]``."""
    return line[:1] == b"]"


def _row_lines(f: IO[bytes], path: Path, line_no: int) -> Iterator[Any]:
    """Rows of a list written by ``write_rows`` (one per line), parsed one at a time."""
    for raw in f:
        line_no += 1
        if is_closing_line(raw):
            return
        try:
            yield parse_row(raw)
        except orjson.JSONDecodeError as e:
            raise CftError(f"{path}: line {line_no} is not valid JSON (truncated or corrupt?): {e}") from None
    raise CftError(f"{path}: ends before its closing ']' (truncated?)")


def _streamable(f: IO[bytes], prefix: bytes) -> tuple[bool, list]:
    """Whether ``f`` opens with ``prefix`` lines then a one-line row (our layout); the row read, if any."""
    for expected in prefix.splitlines(keepends=True):
        if f.readline() != expected:
            return False, []
    pos = f.tell()
    first = f.readline()
    if is_closing_line(first):
        return True, []
    try:
        return True, [parse_row(first)]
    except orjson.JSONDecodeError:
        f.seek(pos)
        return False, []


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 (closed by the caller's generator)
    except FileNotFoundError:
        raise CftError(f"{path}: file not found") from None


def iter_json_list(path: str | os.PathLike, what: str = "rows") -> Iterator[Any]:
    """The rows of a JSON list file, one at a time.

    Files this package writes hold one row per line, so they stream in
    constant memory; any other layout is parsed whole (``read_json_list``).
    A missing, empty or non-JSON file is an error here, before any row.
    """
    path = Path(path)
    f = _open(path)
    ok, first = _streamable(f, b"[\n")
    if not ok:
        f.close()
        return iter(read_json_list(path, what))
    if not first:
        f.close()
        raise CftError(f"{path}: the list of {what} is empty")

    def rows() -> Iterator[Any]:
        with f:
            yield first[0]
            yield from _row_lines(f, path, 2)

    return rows()


def open_results_file(path: str | os.PathLike) -> tuple[dict, Iterator[dict]]:
    """``(metadata, rows)`` of a chunk or merged file; rows stream when the layout allows."""
    path = Path(path)
    f = _open(path)
    head = f.readline()
    if head.startswith(b'{"metadata":') and head.endswith(b",\n"):
        ok, first = _streamable(f, b'"results":[\n')
        if ok:
            try:
                metadata = orjson.loads(head[len(b'{"metadata":'):-2])
            except orjson.JSONDecodeError as e:
                f.close()
                raise CftError(f"{path}: metadata is not valid JSON: {e}") from None

            def rows() -> Iterator[dict]:
                with f:
                    yield from first
                    yield from _row_lines(f, path, 3)

            return metadata, rows()
    f.close()
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise CftError(f"{path}: expected {{'metadata': {{...}}, 'results': [...]}}")
    return data.get("metadata") or {}, iter(data["results"])


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, start_from: str | os.PathLike | None = None) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary writing; it appears under its name only when the block succeeds.

    ``start_from``: a file in the same folder that becomes the start of the
    new file (moved, not copied); writes append to it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # OSErrors name ``path`` (not the temporary file): cft.cli prints them as one line
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise named(e, path) from None
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        if start_from is not None:
            os.close(fd)
            os.chmod(start_from, 0o666 & ~_UMASK)
            os.replace(start_from, tmp)
            fd = os.open(tmp, os.O_WRONLY)
            os.lseek(fd, 0, os.SEEK_END)
        with NamedWriter(fd, path) as f:
            yield f
            f.flush()
            try:
                os.fsync(f.fileno())
                os.replace(tmp, path)
            except OSError as e:
                raise named(e, path) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_rows(f: IO[bytes], rows: Iterable[Any], encode: Callable[[Any], Any] = dumps) -> int:
    """Write ``rows`` to ``f`` as a JSON list, one row per line; returns the count.

    ``encode`` turns a row into its JSON bytes (rows already serialized pass through).
    """
    n = 0
    f.write(b"[")
    for row in rows:
        f.write(b"\n" if n == 0 else b",\n")
        f.write(encode(row))
        n += 1
    f.write(b"\n]" if n else b"]")
    return n


def write_json_list(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Atomically write a JSON list, one row per line; returns the row count."""
    with atomic_open(path) as f:
        n = write_rows(f, rows)
        f.write(b"\n")
    return n


def write_results_file(path: str | os.PathLike, metadata: dict, results: Iterable[Any]) -> int:
    """Atomically write ``{"metadata": ..., "results": [...]}`` (chunk and merged files)."""
    with atomic_open(path) as f:
        f.write(b'{"metadata":')
        f.write(dumps(metadata))
        f.write(b',\n"results":')
        n = write_rows(f, results)
        f.write(b"}\n")
    return n


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def refuse_overwrite(path: str | os.PathLike, overwrite: bool) -> None:
    if Path(path).exists() and not overwrite:
        raise CftError(f"{path}: already exists; pass --overwrite to replace it")
