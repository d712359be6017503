"""SIGTERM during step 1 (Slurm preemption or time limit, a pipeline stopping).

Chunks overlap in the engine: the next chunk's requests go in while the current one's last
samples finish, so a few chunks are in flight at once, each since its first request went in. On
SIGTERM no new chunk is started. With a grace period (``--term_grace_s``: the seconds between
SIGTERM and the SIGKILL that follows it), each chunk in flight is estimated to be written at
``median chunk time in flight - its time in flight so far + median grading and writing time``,
from the chunks finished before it; the chunks that should be written within the grace are
finished (the older ones: a chunk started later ends later) and the run stops when they are,
leaving the others absent. Without a grace, without a finished chunk to estimate from, or when no
chunk in flight fits, the run stops at once and every chunk in flight is left absent: chunk files
are written whole or not at all, so a rerun or the requeued job redoes exactly the missing chunks.
With no chunk in flight (before the first, or waiting for a lock), the run stops before the next.
If the chunks kept overrun their estimate, an alarm stops the run before the grace ends.
"""

from __future__ import annotations

import signal
import statistics
import time

EXIT_CODE = 128 + signal.SIGTERM
MARGIN_S = 5.0  # kept back from the grace for the engine's shutdown


def chunk_list(ids) -> str:
    return ", ".join(f"chunk {cid:03d}" for cid in ids)


class GracefulStop:
    def __init__(self, grace_s: float, log=print):
        self.grace_s = grace_s
        self.log = log
        self.requested = False
        self.keep: list[int] = []  # after SIGTERM: the chunks in flight being finished
        self.in_flight: dict[int, float] = {}  # chunk id -> when its first request went in (in start order)
        self.flight_s: list[float] = []  # finished chunks: first request in -> last problem back
        self.finish_s: list[float] = []  # finished chunks: grading and writing after that
        self._old = {}

    def __enter__(self) -> GracefulStop:
        self._old = {sig: signal.signal(sig, h) for sig, h in ((signal.SIGTERM, self._on_term),
                                                             (signal.SIGALRM, self._on_alarm))}
        return self

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def started(self, chunk_id: int) -> None:
        """The chunk's first request goes in."""
        self.in_flight[chunk_id] = time.monotonic()

    def ended(self, chunk_id: int) -> None:
        """The chunk's last problem is back (its grading and writing follow)."""
        self.flight_s.append(time.monotonic() - self.in_flight.pop(chunk_id))

    def finished(self, seconds: float) -> None:
        """A chunk was graded and written, ``seconds`` after its last problem came back."""
        self.finish_s.append(seconds)

    def may_submit(self, chunk_id: int) -> bool:
        """Whether requests of this (started) chunk may still go in."""
        return not self.requested or chunk_id in self.keep

    def should_stop(self) -> bool:
        """After SIGTERM, once no chunk being finished is in flight."""
        return self.requested and not any(cid in self.in_flight for cid in self.keep)

    def seconds_left(self) -> dict[int, float] | None:
        """Estimated seconds until each chunk in flight is written; None without a finished chunk to go by."""
        if not self.flight_s:
            return None
        flight = statistics.median(self.flight_s)
        finish = statistics.median(self.finish_s) if self.finish_s else 0.0
        now = time.monotonic()
        return {cid: max(0.0, flight - (now - t)) + finish for cid, t in self.in_flight.items()}

    def _on_term(self, signum, frame) -> None:
        if self.requested:
            return  # already finishing; the alarm bounds it
        self.requested = True
        if not self.in_flight:
            self.log("SIGTERM: stopping before the next chunk")
            return
        left = self.seconds_left()
        if self.grace_s > 0 and left is not None:
            self.keep = [cid for cid, s in left.items() if s + MARGIN_S <= self.grace_s]
        if self.keep:
            dropped = [cid for cid in self.in_flight if cid not in self.keep]
            self.log(f"SIGTERM: finishing {chunk_list(self.keep)} (about {max(left[c] for c in self.keep):.0f} s "
                     f"left of a {self.grace_s:.0f} s grace), then stopping"
                     + (f"; {chunk_list(dropped)} left absent" if dropped else ""))
            signal.setitimer(signal.ITIMER_REAL, max(0.1, self.grace_s - MARGIN_S))
            return
        why = ("no grace" if self.grace_s <= 0 else "no finished chunk to estimate from" if left is None
               else f"about {min(left.values()):.0f} s left")
        self.log(f"SIGTERM: stopping now; {chunk_list(self.in_flight)} left absent ({why}, "
                 f"grace {self.grace_s:.0f} s)")
        raise SystemExit(EXIT_CODE)

    def _on_alarm(self, signum, frame) -> None:
        self.log(f"SIGTERM grace is running out: stopping now; {chunk_list(self.in_flight) or 'no chunk'} in "
                 "flight left absent")
        raise SystemExit(EXIT_CODE)
