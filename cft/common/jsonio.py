"""JSON files: fast parsing with orjson, atomic writes, one row per line.

Every output is written to a temporary file in the destination folder,
fsync'ed and renamed over the final name, so a crash or ``kill -9`` leaves
either the old file, no file, or the whole new file, never a torn one; a
step with several outputs commits them as one (``atomic_files``).
Lists are written one element per line (``[\\n{...},\\n{...}\\n]``): valid
JSON that ``head`` and ``grep`` can also read. Step 6's SFT rows are JSON Lines (``write_jsonl``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from cft.common.errors import CftError
from cft.common.oserrors import NamedWriter, named

_DUMP_OPTS = orjson.OPT_SERIALIZE_NUMPY
_UMASK = os.umask(0)
os.umask(_UMASK)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=_DUMP_OPTS)


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing, empty, truncated or non-JSON file is a CftError naming it."""
    path = Path(path)
    with _open(path) as f:
        data = f.read()
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
LIST_HEAD = b"[\n"
RESULTS_HEAD = b'{"metadata":'  # + metadata + b",\n" + RESULTS_OPEN
RESULTS_OPEN = b'"results":[\n'


def note(message: str) -> None:
    """A one-line note on stderr (the readers' word that a file takes the slow path)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def row_bytes(line: bytes) -> memoryview:
    """A row line's JSON value (``{...},`` or ``{...}``): without its newline and trailing comma, uncopied."""
    end = len(line)
    while end and line[end - 1] in b"\r\n":
        end -= 1
    if end and line[end - 1] == 44:  # ","
        end -= 1
    return memoryview(line)[:end]


def _row_lines(f: IO[bytes], path: Path, line_no: int, raw: bool, closing: bytes) -> Iterator[Any]:
    """Rows of a list written by ``write_rows`` (one per line), parsed one at a time, up to the
    ``closing`` line (``]``, or ``]}`` in a results file).

    ``raw``: yield ``(row, its JSON bytes)`` pairs, for writers that copy rows unchanged.
    """
    for line in f:
        line_no += 1
        if line[:1] == b"]":  # the closing line; no row line starts with "]"
            if line.rstrip() != closing:
                raise CftError(f"{path}: line {line_no} should close the file with {closing.decode()!r} "
                               "(truncated or corrupt?)")
            return
        value = row_bytes(line)
        try:
            row = orjson.loads(value)
        except orjson.JSONDecodeError as e:
            raise CftError(f"{path}: line {line_no} is not valid JSON (truncated or corrupt?): {e}") from None
        yield (row, value) if raw else row
    raise CftError(f"{path}: ends before its closing ']' (truncated?)")


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 (closed by the caller's generator)
    except FileNotFoundError:
        raise CftError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CftError(f"{path}: is a directory, expected a JSON file") from None
    except OSError as e:
        raise CftError(f"{path}: cannot read ({e.strerror})") from None


def _stream(f: IO[bytes], path: Path, line_no: int, raw: bool, closing: bytes) -> Iterator[Any] | None:
    """The rows after a header of ``line_no`` lines, if the next line is one whole row (our
    layout) or the closing line; else None (``f`` is closed), for the caller to read it whole."""
    first = f.readline()
    if first[:1] != b"]" or first.rstrip() != closing:
        value = row_bytes(first)
        try:
            row = orjson.loads(value)
        except orjson.JSONDecodeError:
            f.close()
            return None
        first_rows = [(row, value) if raw else row]
    else:
        first_rows = []

    def rows() -> Iterator[Any]:
        with f:
            yield from first_rows
            if first_rows:
                yield from _row_lines(f, path, line_no + 1, raw, closing)

    return rows()


def _note_whole(path: Path, what: str) -> None:
    note(f"{path} is not in the one-row-per-line layout: read the whole {what} into memory")


def iter_json_list(path: str | os.PathLike, what: str = "rows") -> Iterator[Any]:
    """The rows of a JSON list file, one at a time.

    Files this package writes hold one row per line, so they stream in
    constant memory; any other layout is parsed whole, with a note.
    A missing, empty or non-JSON file is an error here, before any row.
    """
    path = Path(path)
    f = _open(path)
    rows = _stream(f, path, 1, False, b"]") if f.readline() == LIST_HEAD else None
    if rows is None:
        f.close()
        data = read_json_list(path, what)
        _note_whole(path, what)
        rows = iter(data)
    first = next(rows, None)
    if first is None:
        raise CftError(f"{path}: the list of {what} is empty")
    return itertools.chain([first], rows)


def open_results_file(path: str | os.PathLike, raw: bool = False) -> tuple[dict, Iterator[Any]]:
    """``(metadata, rows)`` of a chunk or merged file (``{"metadata": {...}, "results": [...]}``).

    Rows stream in our layout; any other layout is parsed whole, with a note.
    ``raw``: rows come as ``(row, its JSON bytes)`` pairs (bytes as read in our
    layout, re-serialized otherwise), for writers that copy rows unchanged.
    """
    path = Path(path)
    f = _open(path)
    head = f.readline()
    if head.startswith(RESULTS_HEAD) and head.endswith(b",\n") and f.readline() == RESULTS_OPEN:
        try:
            metadata = orjson.loads(head[len(RESULTS_HEAD):-2])
        except orjson.JSONDecodeError as e:
            f.close()
            raise CftError(f"{path}: metadata is not valid JSON (truncated or corrupt?): {e}") from None
        rows = _stream(f, path, 2, raw, b"]}") if isinstance(metadata, dict) else None
        if rows is not None:
            return metadata, rows
    f.close()
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) \
            or not isinstance(data.get("metadata", {}), dict):
        raise CftError(f"{path}: expected {{'metadata': {{...}}, 'results': [...]}}")
    _note_whole(path, "results file")
    rows = data["results"]
    return data.get("metadata") or {}, iter([(row, dumps(row)) for row in rows] if raw else rows)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary writing; it appears under its name only when the block succeeds."""
    with atomic_files() as files:
        yield files.open(path)


@contextlib.contextmanager
def atomic_files() -> Iterator[AtomicFiles]:
    """Several outputs committed as one: ``files.open(path)`` for each, inside the block.

    Every file is written aside (a hidden ``.<name>.<random>.tmp`` in its own folder); when the
    block ends without an error, all of them are flushed and ``fsync``ed, and only once every one
    is whole on disk are they renamed over their final names, one after another. An error at any
    point (a full disk while writing or syncing, an exception in the block, Ctrl-C) removes the
    temporary files and leaves every final name as it was: the previous outputs, or none, never
    some new files beside old ones. Step 5 writes its JSON and parquet files, training and
    held-out, through one group.

        with atomic_files() as files:
            write_rows(files.open(json_path), rows)
            with pq.ParquetWriter(files.open(parquet_path), schema) as writer:
                ...
    """
    files = AtomicFiles()
    try:
        yield files
        files.commit()
    except BaseException:
        files.abort()
        raise


class AtomicFiles:
    """The files of one ``atomic_files()`` block; see there."""

    def __init__(self) -> None:
        self._open: list[tuple[Path, str, NamedWriter]] = []  # (final path, temporary file, its writer)
        self._remove: list[Path] = []

    def open(self, path: str | os.PathLike) -> IO[bytes]:
        """A binary file that becomes ``path`` when the group commits (its errors name ``path``)."""
        path = Path(path)
        if path.is_dir():  # caught before anything is written (os.replace would refuse at the end)
            raise named(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)), path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # OSErrors name ``path`` (not the temporary file): cft.common.cli prints them as one line
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as e:
            raise named(e, path) from None
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
        writer = NamedWriter(fd, path)
        self._open.append((path, tmp, writer))
        return writer

    def remove(self, path: str | os.PathLike) -> None:
        """At the commit, also remove ``path`` if it exists (an output of an earlier run that this
        one does not write, such as step 5's ``_val`` files when nothing is held out)."""
        self._remove.append(Path(path))

    def commit(self) -> None:
        for path, _, writer in self._open:  # every file whole on disk before the first rename
            writer.flush()
            try:
                os.fsync(writer.fileno())
            except OSError as e:
                raise named(e, path) from None
            writer.close()
        renamed = 0
        try:
            for path, tmp, _ in self._open:
                os.replace(tmp, path)
                renamed += 1
            for path in self._remove:
                path.unlink(missing_ok=True)
        except OSError as e:  # (all but impossible in one folder): once a final name holds a new
            if renamed:  # file, a mix is worse than none, so every final name of the group goes
                for final in [p for p, _, _ in self._open] + self._remove:
                    with contextlib.suppress(OSError):
                        final.unlink(missing_ok=True)
            raise named(e, path) from None
        for folder in dict.fromkeys([p.parent for p, _, _ in self._open] + [p.parent for p in self._remove]):
            _fsync_dir(folder)

    def abort(self) -> None:
        for _, tmp, writer in self._open:
            with contextlib.suppress(OSError, ValueError):
                writer.close()  # (its flush may fail again on a full disk)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def remove_leftovers(folder: str | os.PathLike, name: str) -> list[str]:
    """Remove the hidden temporary files that atomic writes of ``folder/name`` left when their process was
    killed with kill -9 (``.<name>.<random>.tmp``; ``name`` may be a glob such as ``chunk_*.json``). Call it
    only while holding the lock that makes this process the one writer of those names. Returns the names
    removed."""
    removed = []
    for tmp in sorted(Path(folder).glob(f".{name}.*.tmp")):
        try:
            tmp.unlink()
            removed.append(tmp.name)
        except FileNotFoundError:
            pass
    return removed


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_rows(f: IO[bytes], rows: Iterable[Any], encoded: bool = False) -> int:
    """Write ``rows`` to ``f`` as a JSON list, one row per line; returns the count.

    ``encoded``: the rows are already JSON bytes, written as they are.
    """
    n = 0
    f.write(b"[")
    for row in rows:
        f.write(b"\n" if n == 0 else b",\n")
        f.write(row if encoded else dumps(row))
        n += 1
    f.write(b"\n]" if n else b"]")
    return n


def write_jsonl(f: IO[bytes], rows: Iterable[Any]) -> int:
    """Write ``rows`` to ``f`` as JSON Lines (one object per line, each line ended; what SFT trainers read);
    returns the count."""
    n = 0
    for row in rows:
        f.write(dumps(row))
        f.write(b"\n")
        n += 1
    return n


def write_json_list(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Atomically write a JSON list, one row per line; returns the row count."""
    with atomic_open(path) as f:
        n = write_rows(f, rows)
        f.write(b"\n")
    return n


def write_results_file(path: str | os.PathLike, metadata: dict, results: Iterable[Any],
                       encoded: bool = False) -> int:
    """Atomically write ``{"metadata": ..., "results": [...]}`` (chunk and merged files), one row per line.

    ``encoded``: the rows are already JSON bytes (see ``open_results_file(raw=True)``).
    """
    with atomic_open(path) as f:
        f.write(RESULTS_HEAD + dumps(metadata) + b',\n"results":')
        n = write_rows(f, results, encoded)
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
