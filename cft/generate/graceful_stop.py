"""SIGTERM during step 1 (Slurm preemption or time limit, a pipeline stopping).

With a grace period (``--term_grace_s``: the seconds between SIGTERM and the SIGKILL that
follows it), the chunk in flight is finished when the chunks before it say it should end in
time; the run then stops before the next chunk. Otherwise, or when no chunk has finished yet to
estimate from, it stops at once, and the chunk in flight is left absent: chunk files are written
whole or not at all, so a rerun or the requeued job redoes exactly the missing chunks. If the
chunk overruns its estimate, an alarm stops the run before the grace ends.
"""

from __future__ import annotations

import signal
import statistics
import time

EXIT_CODE = 128 + signal.SIGTERM
MARGIN_S = 5.0  # kept back from the grace for the engine's shutdown


class GracefulStop:
    def __init__(self, grace_s: float, log=print):
        self.grace_s = grace_s
        self.log = log
        self.requested = False
        self.generate_s: list[float] = []
        self.finish_s: list[float] = []
        self.chunk_id: int | None = None
        self.chunk_start = 0.0
        self._old = {}

    def __enter__(self) -> GracefulStop:
        self._old = {sig: signal.signal(sig, h) for sig, h in ((signal.SIGTERM, self._on_term),
                                                             (signal.SIGALRM, self._on_alarm))}
        return self

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def begin(self, chunk_id: int) -> None:
        self.chunk_id, self.chunk_start = chunk_id, time.monotonic()

    def generated(self) -> None:
        self.generate_s.append(time.monotonic() - self.chunk_start)
        self.chunk_id = None

    def finished(self, seconds: float) -> None:
        self.finish_s.append(seconds)

    def seconds_left(self) -> float | None:
        """Estimated seconds until the chunk in flight is written; None without a finished chunk to go by."""
        if self.chunk_id is None or not self.generate_s:
            return None
        finish = statistics.median(self.finish_s) if self.finish_s else 0.0
        return max(0.0, statistics.median(self.generate_s) - (time.monotonic() - self.chunk_start)) + finish

    def _on_term(self, signum, frame) -> None:
        if self.requested:
            return  # already finishing; the alarm bounds it
        left = self.seconds_left()
        if self.grace_s > 0 and left is not None and left + MARGIN_S <= self.grace_s:
            self.requested = True
            self.log(f"SIGTERM: finishing chunk {self.chunk_id:03d} (about {left:.0f} s left of a "
                     f"{self.grace_s:.0f} s grace), then stopping")
            signal.setitimer(signal.ITIMER_REAL, max(0.1, self.grace_s - MARGIN_S))
            return
        if self.chunk_id is None:  # between chunks (or waiting for a lock): stop before the next one
            self.requested = True
            self.log("SIGTERM: stopping before the next chunk")
            return
        why = "no finished chunk to estimate from" if left is None else f"about {left:.0f} s left"
        self.log(f"SIGTERM: stopping now; chunk {self.chunk_id:03d} is left absent ({why}, "
                 f"grace {self.grace_s:.0f} s)")
        raise SystemExit(EXIT_CODE)

    def _on_alarm(self, signum, frame) -> None:
        self.log("SIGTERM grace is running out: stopping now; the chunk in flight is left absent")
        raise SystemExit(EXIT_CODE)
