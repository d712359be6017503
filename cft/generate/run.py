"""Step 1's run: every chunk of a plan (``cft.generate.plan``) through one backend that never drains.

One request per problem (``--num_samples`` samples) is pulled lazily, chunk after chunk, into
``cft.inference.drive``, which keeps up to ``--max_in_flight`` requests in the engine or on the
servers (``cft.generate.backend``): the next chunk's requests go in while the current chunk's
longest samples finish, so the engine is never left to drain at a chunk boundary. A chunk's lock
(``chunk_lock``) is taken before its first request goes in; a chunk another live process holds is
skipped, or waited for (``--wait_locked``) while the chunks in flight go on. Each problem's samples
go to the grading pool as they come back; once a chunk's last problem is back, a writer thread
builds its rows (in the chunk's order, whatever order they came back in) and writes the file
atomically, under its lock, while the engine works on the next chunks. A chunk file is written
whole or not at all, so ``kill -9`` loses at most the chunks in flight; a rerun redoes them.

The run stops, saying how many chunks are whole, at the first chunk file that cannot be written
(a full disk: that chunk is named) and when the backend cannot go on (a server down for longer
than ``--server_timeout_s``, an engine that died: the chunks in flight are named and left
absent). SIGTERM: ``graceful_stop``.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from cft.common.cli import say
from cft.common.errors import CftError
from cft.common.jsonio import remove_leftovers, write_results_file
from cft.common.progress import progress_bar
from cft.generate.chunk_lock import ChunkLock, describe
from cft.generate.graceful_stop import GracefulStop, chunk_list
from cft.generate.plan import ChunkJob, Plan, existing_matches
from cft.grading.pool import grade_batch, grading_pool
from cft.inference import Backend, BackendError, Completion, Request, Sample, Trace, drive
from cft.inference.spec import request_seed
from cft.records.chunks import list_chunk_files
from cft.records.solutions import result_row, solution_record


@dataclass
class ChunkReport:
    chunk_id: int
    problems: int
    samples: int
    output_tokens: int
    flight_s: float  # from its first request in to its last problem back (chunks overlap)
    correct: int
    grades: dict
    finish_s: float = 0.0  # grading and writing, after its last problem came back
    written: bool = True  # False: the chunk's lock was taken over meanwhile (see chunk_lock), not written


@dataclass
class RunOutcome:
    reports: list[ChunkReport] = field(default_factory=list)  # chunks generated (and written, unless lost)
    locked: list[int] = field(default_factory=list)  # skipped: another live process holds their lock
    done_elsewhere: list[int] = field(default_factory=list)  # finished by another process meanwhile
    stopped: bool = False  # SIGTERM ended the run before its last chunk
    generate_s: float = 0.0  # wall time from the first request to the last chunk back

    @property
    def written(self) -> list[int]:
        return [r.chunk_id for r in self.reports if r.written]


@dataclass
class _InFlight:
    """A chunk whose requests are going in or out: what has come back of it so far."""
    job: ChunkJob
    lock: ChunkLock
    samples: list[list[Sample] | None]
    grades: list[Future | None]
    seeds: list[int | None]
    started: float = field(default_factory=time.perf_counter)
    back: int = 0


WAIT_POLL_S = 2.0


def _finish_chunk(plan_: Plan, chunk: _InFlight, flight_s: float, backend: dict) -> ChunkReport:
    t0 = time.perf_counter()
    job = chunk.job
    try:
        results, counts = [], {}
        output_tokens = 0
        for k, (q, a, samples, graded, seed) in enumerate(zip(job.questions, job.answers, chunk.samples,
                                                             chunk.grades, chunk.seeds)):
            sols = [solution_record(s.text, g, s.finish_reason, s.num_tokens)
                    for s, g in zip(samples, graded.result()[0])]
            for s in sols:
                counts[s["grade"]] = counts.get(s["grade"], 0) + 1
                output_tokens += s["num_tokens"]
            results.append(result_row(job.start + k, k, q, a, sols, seed))
        written = chunk.lock.held()  # a node cut off past --lock_stale_s may have lost it: then another writes
        if written:
            write_results_file(job.path, plan_.metadata(job, flight_s, output_tokens, backend), results)
    finally:
        chunk.lock.release()
    return ChunkReport(job.chunk_id, len(results), sum(len(s) for s in chunk.samples), output_tokens, flight_s,
                       counts.get("correct", 0), counts, time.perf_counter() - t0, written)


def whole(plan_: Plan) -> str:
    """How many of the run's chunks are whole on disk now, and where."""
    c = plan_.config
    have = [cid for cid in list_chunk_files(c.output_dir, c.spec.name) if cid < plan_.total_chunks]
    return f"{len(have)} of {plan_.total_chunks} chunks are whole in {c.output_dir}"


def _cannot_write(plan_: Plan, job: ChunkJob, path, e: OSError) -> CftError:
    return CftError(f"{path}: cannot write chunk {job.chunk_id:03d} ({e.strerror or e}); stopped there: "
                    f"{whole(plan_)}")


def _locked(plan_: Plan, job: ChunkJob, out: RunOutcome, log, stop: GracefulStop):
    """The chunk's lock, returned by this generator (None: skip the chunk, locked or done meanwhile). While it
    waits for another process's lock it yields None, so that ``drive`` goes on with the chunks in flight."""
    c = plan_.config
    lock = ChunkLock(job.path, c.lock_stale_s)
    waiting = False
    while True:
        try:
            holder = lock.try_acquire()
        except OSError as e:
            raise _cannot_write(plan_, job, lock.path, e) from None
        if holder is None:
            break
        if not c.wait_locked:
            log(f"chunk {job.chunk_id:03d}: skipped, locked by {describe(holder)} ({lock.path}); "
                "--wait_locked waits for it")
            out.locked.append(job.chunk_id)
            return None
        if not waiting:
            log(f"chunk {job.chunk_id:03d}: waiting, locked by {describe(holder)}")
            waiting = True
        until = time.monotonic() + WAIT_POLL_S
        while time.monotonic() < until:
            yield None
            if stop.requested:
                return None
    try:  # the chunk is this process's to write now: what a writer killed with kill -9 left goes
        remove_leftovers(job.path.parent, job.path.name)
    except OSError as e:
        lock.release()
        raise _cannot_write(plan_, job, job.path.parent, e) from None
    if job.path.exists():  # the holder (or a process that ran before us) may have finished it
        why = existing_matches(job.path, plan_.metadata(job))
        if why is None:
            lock.release()
            log(f"chunk {job.chunk_id:03d}: skipped, done by another process")
            out.done_elsewhere.append(job.chunk_id)
            return None
        if job.chunk_id not in plan_.replaced:
            lock.release()
            raise CftError(f"{job.path}: written by another process during this run, but not this run's "
                           f"chunk ({why})")
    return lock


def run(plan_: Plan, backend: Backend, grading_workers: int = 2, log=say, pool=None, term_grace_s: float = 0.0,
        trace: Trace | None = None) -> RunOutcome:
    """Generate, grade and write every chunk of the plan through ``backend``.

    ``pool``: a grading pool started (and warmed, see ``start_grading_pool``) while the engine
    loaded; without one, a pool is started here. ``trace``: records the requests in flight.
    """
    if pool is None:
        with start_grading_pool(grading_workers) as own:
            return run(plan_, backend, grading_workers, log, own, term_grace_s, trace)
    c = plan_.config
    described = backend.describe()
    sampling = c.request_sampling(c.stops())
    seeded = c.backend.sends_seeds(backend)
    out = RunOutcome()
    flight: dict[int, _InFlight] = {}  # chunk id -> chunk in flight
    writes: list[tuple[ChunkJob, Future, ChunkLock]] = []
    bar = progress_bar(total=sum(len(job.questions) for job in plan_.todo), desc=f"problems of {c.spec.name}",
               unit="problem")

    def requests(stop: GracefulStop):
        for job in plan_.todo:
            if stop.requested:
                return
            lock = yield from _locked(plan_, job, out, log, stop)
            if lock is None:
                continue
            n = len(job.questions)
            chunk = flight[job.chunk_id] = _InFlight(job, lock, [None] * n, [None] * n, [None] * n)
            stop.started(job.chunk_id)
            for k, prompt in enumerate(job.prompts):
                if not stop.may_submit(job.chunk_id):
                    return
                if seeded:
                    chunk.seeds[k] = request_seed(c.seed, job.start + k)
                yield Request(job.start + k, prompt=prompt, sampling=dataclasses.replace(sampling, seed=chunk.seeds[k]))

    def on_done(completion: Completion) -> None:
        index = completion.key
        chunk = flight[index // c.chunk_size]
        k = index - chunk.job.start
        samples = [s if s.num_tokens is not None else  # a server that gives no per-sample count (a hosted API)
                   Sample(s.text, s.finish_reason, len(plan_.tokenizer(s.text, add_special_tokens=False).input_ids))
                   for s in completion.samples]
        chunk.samples[k] = samples
        chunk.grades[k] = pool.submit(grade_batch, [([s.text for s in samples], chunk.job.answers[k])], 1)
        chunk.back += 1
        bar.update(1)
        if chunk.back == len(chunk.job.questions):
            del flight[chunk.job.chunk_id]
            stop.ended(chunk.job.chunk_id)
            flight_s = time.perf_counter() - chunk.started
            writes.append((chunk.job, writer.submit(_finish_chunk, plan_, chunk, flight_s, described), chunk.lock))
        collect(block=False)

    def collect(block: bool) -> None:
        while writes and (block or writes[0][1].done()):
            job, fut, _ = writes.pop(0)
            try:
                report = fut.result()
            except OSError as e:
                for _, later, later_lock in writes:  # stop at the first chunk that cannot be written
                    if later.cancel():
                        later_lock.release()
                raise _cannot_write(plan_, job, e.filename or job.path, e) from None
            stop.finished(report.finish_s)
            if not report.written:
                log(f"chunk {job.chunk_id:03d}: not written, its lock was taken over as stale meanwhile "
                    f"(this process was cut off for over {c.lock_stale_s:.0f} s)")
            out.reports.append(_log(report, log))

    with GracefulStop(term_grace_s, log) as stop, ThreadPoolExecutor(1) as writer:
        t0 = time.perf_counter()
        try:
            drive(backend, requests(stop), c.backend.in_flight(backend, c.num_samples), on_done,
                  should_stop=stop.should_stop, trace=trace)
        except BackendError as e:
            in_flight = sorted(flight)
            collect(block=True)  # the chunks already back are written
            raise CftError(f"{e}; stopped with {chunk_list(in_flight)} in flight, left absent: {whole(plan_)} "
                           "(rerun the same command to resume)") from None
        finally:
            out.generate_s = time.perf_counter() - t0
            for chunk in flight.values():  # stopped early: the chunks in flight are left absent
                chunk.lock.release()
            bar.close()
        collect(block=True)
        out.stopped = stop.requested
    return out


def start_grading_pool(workers: int):
    """A grading pool whose workers start importing math-verify now (e.g. while the engine loads)."""
    pool = grading_pool(workers)
    for _ in range(workers):
        pool.submit(grade_batch, [(["\\boxed{1}"], "1")], 1)
    return pool


def _log(r: ChunkReport, log) -> ChunkReport:
    acc = 100 * r.correct / r.samples if r.samples else 0.0
    grades = ", ".join(f"{k} {v}" for k, v in sorted(r.grades.items()))
    log(f"chunk {r.chunk_id:03d}: {r.problems} problems, {r.samples} samples, {r.output_tokens} output tokens, "
        f"{r.flight_s:.1f} s in flight, accuracy {acc:.1f}% ({grades})")
    return r
