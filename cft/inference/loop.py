"""The in-flight loop: keep a backend full from a lazy stream of requests.

``drive`` tops the backend up to ``max_in_flight`` requests, waits for some to
finish, hands each to ``on_done`` (in the caller's thread) and tops up again,
so the engine never drains between the caller's batches (chunks): as soon as a
request finishes, the next one, from whichever chunk, takes its place.

``requests`` may yield None: nothing is ready to submit yet (a caller
waiting for a lock, say). ``drive`` then collects completions (or sleeps
``POLL_S`` when none is in flight) and asks again.

``should_stop`` is asked before each top-up; once it is true, ``drive``
returns at once, submitting and handing back nothing more. Requests still in
flight stay in the backend: ``drive(backend, (), ...)`` collects them,
``backend.close()`` drops them.

A ``Trace`` records (time, requests in flight, sequences in flight) after
each top-up and each wait, from which ``empty_slot_share`` computes the time-weighted
share of the engine's sequence slots left empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cft.inference.types import Backend, Completion, Request

POLL_S = 0.2  # longest wait between looks at should_stop
_END = object()


@dataclass
class Trace:
    points: list[tuple[float, int, int]] = field(default_factory=list)  # (monotonic s, requests, sequences)

    def record(self, backend: Backend) -> None:
        self.points.append((time.monotonic(), backend.in_flight, backend.sequences_in_flight))

    def empty_slot_share(self, capacity: int) -> float:
        """The time-weighted share of ``capacity`` sequence slots left empty between the first and last point
        (each point's count holds until the next)."""
        span = self.points[-1][0] - self.points[0][0] if self.points else 0.0
        if span <= 0:
            return 0.0
        filled = sum(min(seqs, capacity) * (t1 - t0) for (t0, _, seqs), (t1, _, _) in zip(self.points, self.points[1:]))
        return 1.0 - filled / (capacity * span)


def drive(backend: Backend, requests: Iterable[Request], max_in_flight: int, on_done: Callable[[Completion], None],
          should_stop: Callable[[], bool] | None = None, trace: Trace | None = None) -> bool:
    """Run ``requests`` (pulled one at a time, as room frees; None: none ready yet) through ``backend``, at most
    ``max_in_flight`` at once, calling ``on_done`` on each completion as it comes. Returns True if ``should_stop``
    ended it early, False once every request has come back."""
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
    pending = iter(requests)
    exhausted = False
    while True:
        if should_stop is not None and should_stop():
            return True
        while not exhausted and backend.in_flight < max_in_flight:
            request = next(pending, _END)
            if request is _END:
                exhausted = True
            elif request is None:
                break
            else:
                backend.submit(request)
        if trace is not None:
            trace.record(backend)
        if backend.in_flight == 0:
            if exhausted:
                return False
            time.sleep(POLL_S)
            continue
        done = backend.wait(POLL_S)
        if trace is not None:
            trace.record(backend)
        for completion in done:
            on_done(completion)
