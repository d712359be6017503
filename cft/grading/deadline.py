"""A wall-clock deadline for one grading call, by ``signal.setitimer`` in the main thread.

math-verify's own timeouts use signals too, and work only in a process's main thread: grading
runs in worker processes (``cft.grading.pool``), each grading in its main thread under this
deadline. In another thread the deadline is not armed (the call runs unbounded).
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Deadline(BaseException):
    """Raised by the alarm; a BaseException so math-verify's ``except Exception`` lets it pass."""


@contextlib.contextmanager
def deadline(seconds: float | None):
    """Raise ``Deadline`` in the block after ``seconds`` (None or 0: no deadline)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise Deadline()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
