"""Per-chunk advisory locks, so two processes never both generate a chunk unknowingly.

The lock of ``<model>_chunk_<NNN>.json`` is ``.<model>_chunk_<NNN>.json.lock`` beside it: a
JSON record of its holder (``host``, ``boot_id``, ``pid``, ``pid_start``, ``start_time``,
``owner``). It is created whole, by ``link()`` of a written temporary file, which fails if the
lock exists (atomic on local filesystems and on NFS), and the holder refreshes its mtime every
``heartbeat_s`` from a thread.

A lock is stale, and is taken over, when its holder is dead:
- on this machine (same ``boot_id``): its pid is gone, or now belongs to a later process;
- on another machine: its heartbeat is older than ``stale_s``. "Now" is read from the folder's
  own clock (the mtime of a file just written there), so clock skew between nodes does not
  count. A node that is alive but cut off for longer than ``stale_s`` loses its locks; it
  checks the lock is still its own before writing a chunk, and drops the chunk if not.

Taking over happens under a second lock (``.lock.break``), after re-reading that the stale
record is still the one judged stale, so two processes taking over at once cannot remove a
fresh lock between them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

BREAK_STALE_S = 60.0  # a takeover takes milliseconds; a break lock this old was left by a dead process


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return socket.gethostname()


def _pid_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None if no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"  # alive, start time unknown (no /proc)
    return stat.rsplit(")", 1)[1].split()[19]


BOOT_ID = _boot_id()
HOST = socket.gethostname()


def describe(info: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("start_time", 0)))
    return f"host {info.get('host')} pid {info.get('pid')} since {started}"


class ChunkLock:
    def __init__(self, chunk_path: str | os.PathLike, stale_s: float = 300.0, heartbeat_s: float | None = None):
        chunk_path = Path(chunk_path)
        self.path = chunk_path.with_name(f".{chunk_path.name}.lock")
        self.stale_s = stale_s
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else max(1.0, min(30.0, stale_s / 4))
        self.owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- holder's side ------------------------------------------------------------
    def try_acquire(self) -> dict | None:
        """Take the lock: None if taken, else the live holder's record (a stale one is taken over)."""
        for _ in range(5):
            if self._create():
                self._thread = threading.Thread(target=self._heartbeat, daemon=True, name=f"lock {self.path.name}")
                self._thread.start()
                return None
            info, mtime = self.read()
            if info is None:
                continue  # released meanwhile: try again
            if not self.is_stale(info, mtime):
                return info
            self._break(info)
        return self.read()[0] or {"host": "?", "pid": "?"}

    def held(self) -> bool:
        """Whether the lock file is still this holder's (a cut-off node's lock may have been taken over)."""
        info, _ = self.read()
        return info is not None and info.get("owner") == self.owner

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.held():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def _create(self) -> bool:
        record = {"host": HOST, "boot_id": BOOT_ID, "pid": os.getpid(), "pid_start": _pid_start(os.getpid()),
                  "start_time": time.time(), "owner": self.owner}
        tmp = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(record) + "\n")
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if self.held():
                with contextlib.suppress(OSError):
                    os.utime(self.path)

    # --- everyone's side ----------------------------------------------------------
    def read(self) -> tuple[dict | None, float]:
        """The lock's record and mtime; (None, 0) if there is no lock."""
        try:
            st = self.path.stat()
            info = json.loads(self.path.read_text() or "{}")
        except FileNotFoundError:
            return None, 0.0
        except (OSError, ValueError):
            info = {}
        return (info if isinstance(info, dict) else {}), st.st_mtime

    def folder_now(self) -> float:
        """The folder's clock: the mtime of a file just written there."""
        probe = self.path.with_name(f"{self.path.name}.now.{uuid.uuid4().hex}")
        probe.write_bytes(b"")
        try:
            return probe.stat().st_mtime
        finally:
            os.unlink(probe)

    def is_stale(self, info: dict, mtime: float) -> bool:
        if info.get("boot_id") == BOOT_ID and isinstance(info.get("pid"), int):
            start = _pid_start(info["pid"])
            return start is None or (start != "?" and start != info.get("pid_start"))
        return self.folder_now() - mtime > self.stale_s  # another machine (or an unreadable record)

    def _break(self, judged: dict) -> None:
        brk = self.path.with_name(self.path.name + ".break")
        try:
            fd = os.open(brk, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if self.folder_now() - brk.stat().st_mtime > BREAK_STALE_S:
                    os.unlink(brk)
            time.sleep(0.1)
            return
        os.close(fd)
        try:
            info, _ = self.read()
            if info is not None and info.get("owner") == judged.get("owner"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        finally:
            os.unlink(brk)
