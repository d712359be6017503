"""``label_steps.py``'s model work: the teacher's verdicts and the completer's searches, chunk by chunk.

Each signal runs over its work folder's chunks to do (``cft.process.work``) through one ``cft.inference``
backend, kept full by ``cft.inference.drive``; a chunk's file is written once every solution in it is done,
so a kill loses at most the chunks in flight.

- **Verdicts**: one request per solution, ``--num_verdicts`` samples of the teacher's chat reply
  (``cft.inference.chunked.run_chunks``, as step 6's critiques).
- **Rollouts**: a solution's search (``cft.process.search``) asks for one prefix at a time (the linear pass:
  all at once); each request holds ``--rollouts`` continuations, graded as they come back (the prefix and the
  continuation together, against the reference, by ``cft.grading``), and the answer sends the search's next
  prefix. Solutions are started in chunk order as room frees in the backend, so many searches run at once
  and the engine stays full while each waits on its own answers.

Requests carry their own seeds (``cft.inference.request_seed``: the solution's position and the prefix) only
to a backend that honours them and only with ``--*_server_seeds``. A backend that gives up stops the run with
one line (``cft.common.work.stopped_message``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from dataclasses import replace as with_

from cft.common.errors import CftError
from cft.common.progress import progress_bar
from cft.common.work import Chunk, WorkPlan, stopped_message, write_chunk
from cft.grading.extract import extract_answer
from cft.grading.grader import GroundTruth, grade_solution
from cft.inference import Backend, BackendError, Completion, Request, Sampling, drive, request_seed
from cft.inference.chunked import run_chunks
from cft.process.completer import Completer
from cft.process.search import Search
from cft.process.split import prefix_text
from cft.process.verdicts import verdict_messages


@dataclass
class RunReport:
    written: dict[str, list[int]] = field(default_factory=dict)  # work folder name -> chunks written
    verdicts: int = 0  # verdicts sampled
    rollouts: int = 0  # continuations sampled
    requests: dict[str, int] = field(default_factory=dict)  # signal -> requests sent
    output_tokens: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # signal -> seconds of generation
    prefix_cache: dict[str, int] = field(default_factory=lambda: {"queries": 0, "hits": 0})
    cache_known: bool = False

    def count(self, signal: str, seconds: float) -> None:
        self.seconds[signal] = self.seconds.get(signal, 0.0) + seconds

    def add_cache(self, before: dict | None, after: dict | None) -> None:
        """The prefix cache's lookups and hits between two readings (a local engine's)."""
        if before is not None and after is not None:
            self.cache_known = True
            for k in ("queries", "hits"):
                self.prefix_cache[k] += after[k] - before[k]


class Chunks:
    """The results of the chunks to do, each chunk written (and announced) once all its solutions are in."""

    def __init__(self, work: WorkPlan, name: str, backend: Backend, report: RunReport, bar):
        self.work, self.name, self.backend, self.report, self.bar = work, name, backend, report, bar
        self.pending: dict[int, list[dict]] = {c.chunk_id: [] for c in work.todo}

    def add(self, chunk: Chunk, result: dict) -> None:
        results = self.pending[chunk.chunk_id]
        results.append(result)
        self.bar.update(1)
        if len(results) == len(chunk.items):
            tokens = sum(r.get("output_tokens") or 0 for r in results)
            write_chunk(self.work, chunk, results, {"output_tokens": tokens, "backend": self.backend.describe()})
            del self.pending[chunk.chunk_id]
            self.report.written.setdefault(self.name, []).append(chunk.chunk_id)
            self.bar.write(f"{self.name} chunk {chunk.chunk_id:03d}: {len(chunk.items)} solutions written to "
                           f"{chunk.path.relative_to(self.work.folder.parent)}")

    def drive(self, requests: Iterator[Request | None], max_in_flight: int, on_done: Callable[[Completion], None],
              signal: str) -> None:
        t0 = time.perf_counter()
        cache0 = self.backend.prefix_cache()
        try:
            drive(self.backend, requests, max_in_flight, on_done)
        except BackendError as e:
            self.bar.close()
            raise CftError(stopped_message(e, list(self.pending), [self.work])) from None
        finally:
            self.report.count(signal, time.perf_counter() - t0)
        self.report.add_cache(cache0, self.backend.prefix_cache())
        self.bar.close()


def _seed(sampling: Sampling, key: str, seed_rule: str | None) -> Sampling:
    return with_(sampling, seed=request_seed(sampling.seed, key, seed_rule) if seed_rule else None)


def run_verdicts(work: WorkPlan, backend: Backend, sampling: Sampling, max_in_flight: int, report: RunReport,
                 seed_rule: str | None = None) -> None:
    """The teacher's verdicts of every solution of ``work.todo``."""
    if not work.todo:
        return

    def request_for(item, key: str) -> Request:
        return Request(key, messages=verdict_messages(item.question, item.steps),
                       sampling=_seed(sampling, str(item.position), seed_rule))

    cache0 = backend.prefix_cache()
    done = run_chunks(work, backend, request_for, max_in_flight=max_in_flight, desc="solutions judged",
                      noun="verdicts")
    report.written["verdicts"] = done.written
    report.verdicts += done.samples
    report.output_tokens += done.output_tokens
    report.requests["teacher"] = sum(len(c.items) for c in work.chunks if c.chunk_id in done.written)
    report.count("teacher", done.generate_s)
    report.add_cache(cache0, backend.prefix_cache())


@dataclass
class _Searching:
    chunk: Chunk
    item: object
    search: Search
    tested: dict[int, dict] = field(default_factory=dict)
    output_tokens: int = 0


def run_rollouts(work: WorkPlan, completer: Completer, backend: Backend, search_mode: str, max_in_flight: int,
                 report: RunReport, seed_rule: str | None = None, grade_timeout_s: float = 5.0) -> None:
    """The completer's search over the prefixes of every solution of ``work.todo``."""
    if not work.todo:
        return
    completer.load([item for chunk in work.todo for item in chunk.items])
    golds: dict[int, GroundTruth] = {}
    graded: dict[int, dict] = {}  # problem index -> extracted answer -> its grade
    active: dict[int, _Searching] = {}
    ready: deque[tuple[int, int]] = deque()  # (position, prefix) to send
    keys: dict[str, tuple[int, int]] = {}
    bar = progress_bar(total=sum(len(c.items) for c in work.todo), desc=f"solutions searched ({completer.alias})",
                       unit="solution")
    chunks = Chunks(work, f"rollouts/{completer.alias}", backend, report, bar)
    todo = ((chunk, item) for chunk in work.todo for item in chunk.items)

    def request(position: int, prefix: int) -> Request:
        state = active[position]
        key = f"rollouts/{completer.alias} chunk {state.chunk.chunk_id:03d} solution {position} prefix {prefix}"
        keys[key] = (position, prefix)
        prompt = completer.prompt(state.item, prefix)
        seed = request_seed(completer.sampling.seed or 0, f"{position}:{prefix}", seed_rule) if seed_rule else None
        return Request(key, prompt=prompt, sampling=completer.request_sampling(prompt, seed))

    def requests() -> Iterator[Request | None]:
        while True:
            if ready:
                yield request(*ready.popleft())
                continue
            nxt = next(todo, None)
            if nxt is not None:
                chunk, item = nxt
                state = active[item.position] = _Searching(chunk, item, Search(len(item.spans), item.correct,
                                                                              search_mode))
                ready.extend((item.position, p) for p in state.search.pending())
                continue
            if not active:
                return
            yield None

    def on_done(c: Completion) -> None:
        position, prefix = keys.pop(c.key)
        state = active[position]
        item = state.item
        gold = golds.get(item.index) or golds.setdefault(item.index, GroundTruth(item.ground_truth, grade_timeout_s))
        head = prefix_text(item.text, list(item.spans), prefix)
        by_answer = graded.setdefault(item.index, {})  # samples of a problem often end in the same answer
        grades = []
        for sample in c.samples:
            text = head + sample.text
            answer = extract_answer(text)
            if answer not in by_answer:
                by_answer[answer] = grade_solution(text, gold, grade_timeout_s)
            grades.append(by_answer[answer])
        reached = sum(g.correct for g in grades)
        state.tested[prefix] = {"prefix": prefix, "reached": reached, "of": len(c.samples),
                                "answers": [g.extracted_answer for g in grades],
                                "truncated": sum(s.finish_reason == "length" for s in c.samples)}
        state.output_tokens += c.output_tokens or 0
        report.rollouts += len(c.samples)
        report.output_tokens += c.output_tokens or 0
        report.requests["rollouts"] = report.requests.get("rollouts", 0) + 1
        state.search.record(prefix, reached)
        ready.extend((position, p) for p in state.search.pending())
        if state.search.done:
            del active[position]
            s = state.search
            chunks.add(state.chunk, {
                "position": position, "steps": len(item.spans), "correct": item.correct, "status": s.status,
                "first_dead": s.first_dead, "first_error": s.first_error, "non_monotonic": s.non_monotonic,
                "rollouts": sum(t["of"] for t in state.tested.values()), "output_tokens": state.output_tokens,
                "tested": [state.tested[p] for p in sorted(state.tested)]})

    chunks.drive(requests(), max_in_flight, on_done, "rollouts")
