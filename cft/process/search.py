"""Monte Carlo step labels: which prefixes of a solution can still reach the reference answer.

Prefix ``i`` is the problem's prompt and the solution's first ``i`` steps (``cft.process.split``). A completer
model continues it ``M`` times (``--rollouts``); each continuation, with the prefix, is graded against the
reference. A prefix is *alive* when at least one continuation reaches the reference, *dead* when none does
(Math-Shepherd's hard estimate). The first dead prefix ``d`` marks step ``d - 1`` as the earliest wrong step:
before it the problem could still be solved, after it no longer.

What the solution's own grade says: a wrong solution's whole text (prefix ``n``) is dead; a right one's is
alive. A right solution has a wrong step only if some prefix before the last is dead.

Prefix 0, the problem alone, is tested first by both searches: when it is dead the completer cannot solve the
problem at all, and what it fails to do from a longer prefix says nothing about the steps (*unsolved*: no
label from the completions).

**Binary search** (the default, as OmegaPRM): assuming a dead prefix stays dead once more steps are added,
the earliest dead prefix is bisected between an alive and a dead end: at most ``2 + ceil(log2 n)`` prefixes
instead of ``n``, one round at a time:

- a wrong solution: the dead end is ``n``; bisect ``(0, n)``;
- a right solution: prefix ``n - 1`` next; alive means no dead prefix at all (*clean*), dead makes it the dead
  end.

**Linear** (``--search linear``): every prefix ``0..n-1`` at once, in one round, the earliest dead one after
the problem alone taken; it also sees a dead prefix followed by an alive one (*non-monotonic*), which
bisection assumes away. The two give the same labels wherever that assumption holds; the benchmark
(``bench/step_labels.py``) runs both on the same solutions.
"""

from __future__ import annotations

BINARY, LINEAR = "binary", "linear"
SEARCHES = (BINARY, LINEAR)
ERROR, CLEAN, UNSOLVED = "error", "clean", "unsolved"


class Search:
    """The search over one solution's prefixes: ``pending()`` says which to test next, ``record`` takes a
    result; ``done`` when ``status`` is known (a result that comes after is kept, and changes nothing)."""

    def __init__(self, n_steps: int, correct: bool, mode: str = BINARY):
        if n_steps < 2:
            raise ValueError("a search needs at least two steps")
        self.n, self.correct, self.mode = n_steps, correct, mode
        self.reached: dict[int, int] = {}  # prefix -> continuations that reached the reference
        self.asked: set[int] = set()
        self.status: str | None = None
        self.first_dead: int | None = None
        self.lo, self.hi = 0, n_steps  # binary: lo alive, hi dead
        self._queue = list(range(n_steps)) if mode == LINEAR else [0]

    @property
    def done(self) -> bool:
        return self.status is not None

    def alive(self, prefix: int) -> bool:
        return self.reached[prefix] > 0

    def pending(self) -> list[int]:
        """Prefixes to send now (none while an answer is awaited or once done)."""
        out = [] if self.done else [p for p in self._queue if p not in self.asked]
        self.asked.update(out)
        self._queue = []
        return out

    def record(self, prefix: int, reached: int) -> None:
        self.reached[prefix] = reached
        if self.done:
            return
        if self.mode == LINEAR:
            if len(self.reached) == self.n:
                dead = [p for p in range(self.n) if not self.alive(p)]
                self._finish(dead[0] if dead else None if self.correct else self.n)
            return
        if prefix == 0:
            if not self.alive(0):
                return self._finish(0)
            if self.correct:
                self._queue = [self.n - 1]
                return
        elif self.correct and prefix == self.n - 1 and self.hi == self.n:
            if self.alive(prefix):
                return self._finish(None)
            self.hi = prefix
        elif self.alive(prefix):
            self.lo = prefix
        else:
            self.hi = prefix
        if self.hi - self.lo > 1:
            self._queue = [(self.lo + self.hi) // 2]
        else:
            self._finish(self.hi)

    def _finish(self, first_dead: int | None) -> None:
        self.first_dead = first_dead
        self.status = CLEAN if first_dead is None else UNSOLVED if first_dead == 0 else ERROR

    @property
    def first_error(self) -> int | None:
        """The earliest wrong step by the completions: -1 when clean, None when unsolved."""
        if self.status == CLEAN:
            return -1
        return None if self.status == UNSOLVED else self.first_dead - 1

    @property
    def non_monotonic(self) -> bool:
        """A dead prefix followed by an alive one (seen only where both were tested)."""
        tested = sorted(self.reached)
        return any(not self.alive(a) and self.alive(b) for a, b in zip(tested, tested[1:]))


def replay(n_steps: int, correct: bool, mode: str, reached: dict[int, int]) -> Search:
    """The search as a chunk's recorded results make it (each prefix's count, asked in the search's order)."""
    search = Search(n_steps, correct, mode)
    while not search.done:
        asked = search.pending()
        missing = [p for p in asked if p not in reached]
        if missing:
            raise KeyError(missing[0])
        for p in asked:
            search.record(p, reached[p])
    return search
