"""Step 1's run: generate, grade and write every chunk of a plan (``cft.generate.plan``) with one engine.

Per chunk, all prompts go to the engine in one call; the chunk's grading goes to a process pool and
its file is written by a background thread, while the engine moves on to the next chunk. Each chunk
is generated under its lock (``chunk_lock``); SIGTERM is handled by ``graceful_stop``.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from cft.common.cli import say
from cft.common.errors import CftError
from cft.common.jsonio import write_results_file
from cft.generate.chunk_lock import ChunkLock, describe
from cft.generate.graceful_stop import GracefulStop
from cft.generate.plan import ChunkJob, Plan, existing_matches
from cft.grading.pool import grade_batch, grading_pool
from cft.records.chunks import list_chunk_files
from cft.records.solutions import result_row, solution_record


@dataclass
class ChunkReport:
    chunk_id: int
    problems: int
    samples: int
    output_tokens: int
    generate_s: float
    correct: int
    grades: dict
    finish_s: float = 0.0  # grading and writing, after generation
    written: bool = True  # False: the chunk's lock was taken over meanwhile (see chunk_lock), not written


@dataclass
class RunOutcome:
    reports: list[ChunkReport] = field(default_factory=list)  # chunks generated (and written, unless lost)
    locked: list[int] = field(default_factory=list)  # skipped: another live process holds their lock
    done_elsewhere: list[int] = field(default_factory=list)  # finished by another process meanwhile
    stopped: bool = False  # SIGTERM ended the run before its last chunk

    @property
    def written(self) -> list[int]:
        return [r.chunk_id for r in self.reports if r.written]


WAIT_POLL_S = 2.0


def _finish_chunk(plan_: Plan, job: ChunkJob, samples, grade_parts: list[Future], generate_s: float,
                  lock: ChunkLock) -> ChunkReport:
    t0 = time.perf_counter()
    try:
        grades = [g for part in grade_parts for g in part.result()]
        results, counts = [], {}
        output_tokens = 0
        for k, (q, a, sample_list, grade_list) in enumerate(zip(job.questions, job.answers, samples, grades)):
            sols = [solution_record(s.text, g, s.finish_reason, s.num_tokens)
                    for s, g in zip(sample_list, grade_list)]
            for s in sols:
                counts[s["grade"]] = counts.get(s["grade"], 0) + 1
                output_tokens += s["num_tokens"]
            results.append(result_row(job.start + k, k, q, a, sols))
        written = lock.held()  # a node cut off past --lock_stale_s may have lost it: then another writes
        if written:
            write_results_file(job.path, plan_.metadata(job, generate_s, output_tokens), results)
    finally:
        lock.release()
    return ChunkReport(job.chunk_id, len(results), sum(len(s) for s in samples), output_tokens, generate_s,
                       counts.get("correct", 0), counts, time.perf_counter() - t0, written)


def _cannot_write(plan_: Plan, job: ChunkJob, path, e: OSError) -> CftError:
    c = plan_.config
    have = [cid for cid in list_chunk_files(c.output_dir, c.spec.name) if cid < plan_.total_chunks]
    return CftError(f"{path}: cannot write chunk {job.chunk_id:03d} ({e.strerror or e}); stopped there: "
                    f"{len(have)} of {plan_.total_chunks} chunks are whole in {c.output_dir}")


def _take_lock(plan_: Plan, job: ChunkJob, out: RunOutcome, log, stop: GracefulStop) -> ChunkLock | None:
    """The chunk's lock, or None when the chunk is to be skipped (locked, or done meanwhile)."""
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
        time.sleep(WAIT_POLL_S)
        if stop.requested:
            return None
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


def run(plan_: Plan, llm, params, grading_workers: int = 2, log=say, pool=None,
        term_grace_s: float = 0.0) -> RunOutcome:
    """Generate, grade and write every chunk of the plan with one engine.

    Each chunk is generated under its lock (``chunk_lock``): a chunk another live process holds
    is skipped, or waited for (``config.wait_locked``). A chunk file that cannot be written stops
    the run there, naming it. SIGTERM: see ``graceful_stop`` (``term_grace_s``).

    ``pool``: a grading pool started (and warmed, see ``start_grading_pool``) while
    the engine loaded; without one, a pool is started here.
    """
    if pool is None:
        with start_grading_pool(grading_workers) as own:
            return run(plan_, llm, params, grading_workers, log, own, term_grace_s)
    from cft.inference.engine import generate

    out = RunOutcome()
    pending: list[tuple[ChunkJob, Future, ChunkLock]] = []

    def collect(block: bool) -> None:
        while pending and (block or pending[0][1].done()):
            job, fut, lock = pending.pop(0)
            try:
                report = fut.result()
            except OSError as e:
                for _, later, later_lock in pending:  # stop at the first chunk that cannot be written
                    if later.cancel():
                        later_lock.release()
                raise _cannot_write(plan_, job, e.filename or job.path, e) from None
            stop.finished(report.finish_s)
            if not report.written:
                log(f"chunk {job.chunk_id:03d}: not written, its lock was taken over as stale meanwhile "
                    f"(this process was cut off for over {plan_.config.lock_stale_s:.0f} s)")
            out.reports.append(_log(report, log))

    with GracefulStop(term_grace_s, log) as stop, ThreadPoolExecutor(1) as writer:
        bar = tqdm(plan_.todo, desc=f"chunks of {plan_.config.spec.name}", unit="chunk")
        for job in bar:
            if stop.requested:
                out.stopped = True
                break
            lock = _take_lock(plan_, job, out, log, stop)
            if lock is None:
                continue
            try:
                stop.begin(job.chunk_id)
                t0 = time.perf_counter()
                samples = generate(llm, job.prompts, params, progress=False)
                generate_s = time.perf_counter() - t0
                stop.generated()
                work = [([s.text for s in ss], a) for ss, a in zip(samples, job.answers)]
                step = -(-len(work) // grading_workers)  # one slice per worker, in order
                parts = [pool.submit(grade_batch, work[i:i + step], 1) for i in range(0, len(work), step)]
                pending.append((job, writer.submit(_finish_chunk, plan_, job, samples, parts, generate_s, lock),
                                lock))
            except BaseException:
                if not pending or pending[-1][2] is not lock:
                    lock.release()
                raise
            collect(block=False)
        collect(block=True)
        out.stopped = out.stopped or stop.requested
    return out


def start_grading_pool(workers: int):
    """A grading pool whose workers start importing math-verify now (e.g. while the engine loads)."""
    pool = grading_pool(workers)
    for _ in range(workers):
        pool.submit(grade_batch, [(["\\boxed{1}"], "1")], 1)
    return pool


def _log(r: ChunkReport, log) -> ChunkReport:
    tps = r.output_tokens / r.generate_s if r.generate_s else 0.0
    acc = 100 * r.correct / r.samples if r.samples else 0.0
    grades = ", ".join(f"{k} {v}" for k, v in sorted(r.grades.items()))
    log(f"chunk {r.chunk_id:03d}: {r.problems} problems, {r.samples} samples, {r.output_tokens} output tokens, "
        f"{tps:.0f} tok/s, accuracy {acc:.1f}% ({grades})")
    return r
