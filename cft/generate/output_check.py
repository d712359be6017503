"""Before a model loads: can the chunk folder take at least one chunk?

One line, naming the folder, when it is a file, sits on a read-only filesystem, cannot be
written, or has less free space than one chunk's estimated size. The estimate is generous
(every solution running to max_tokens at 4 bytes a token, plus its JSON fields), so a run
that passes is not stopped by the first chunk.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cft.common.errors import CftError
from cft.common.summary import human_size

BYTES_PER_TOKEN = 4
SOLUTION_OVERHEAD = 200  # the fields of a solution record, in bytes
ROW_OVERHEAD = 120


def chunk_size_estimate(questions: list[str], answers: list[str], num_samples: int, max_tokens: int) -> int:
    text = sum(len(q.encode()) + len(a.encode()) for q, a in zip(questions, answers))
    per_solution = max_tokens * BYTES_PER_TOKEN + SOLUTION_OVERHEAD
    return text + len(questions) * (ROW_OVERHEAD + num_samples * per_solution) + 4096


def _existing_ancestor(folder: Path) -> Path:
    for p in (folder, *folder.parents):
        if p.exists():
            return p
    return Path("/")


def check_output_dir(folder: str | os.PathLike, need_bytes: int, create: bool) -> None:
    """Refuse a folder that cannot take ``need_bytes``; with ``create``, make it and write a probe file."""
    folder = Path(folder)
    base = _existing_ancestor(folder)
    if not base.is_dir():
        raise CftError(f"{folder}: cannot be the chunk folder, {base} is a file")
    try:
        st = os.statvfs(base)
    except OSError as e:
        raise CftError(f"{base}: cannot inspect the chunk folder ({e.strerror})") from None
    if st.f_flag & os.ST_RDONLY:
        raise CftError(f"{folder}: cannot write chunks, {base} is on a read-only filesystem")
    free = st.f_bavail * st.f_frsize
    if free < need_bytes:
        raise CftError(f"{folder}: {human_size(free)} free, less than one chunk's estimated "
                       f"{human_size(need_bytes)}; free some space or pick another --output_dir")
    if not create:
        if not os.access(base, os.W_OK | os.X_OK):
            raise CftError(f"{folder}: cannot write chunks, {base} is not writable")
        return
    existed = folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write_probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        if not existed:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise CftError(f"{folder}: cannot write chunks ({e.strerror})") from None
