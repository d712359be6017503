"""Step 1: sample and grade solutions for one model, chunk by chunk.

``plan`` does everything that can fail before a GPU is touched: reads and
hashes the input, checks every row of the chunks to run, renders every prompt
(with the tokenizer's chat template where the template asks for one) and
decides, per chunk, whether an existing file is this run's (skip), another
run's (error unless overwrite) or absent (run). ``run`` then loads the engine
once and, per chunk, generates all prompts in one call; the chunk's grading
goes to a process pool and its file is written by a background thread, while
the engine moves on to the next chunk.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from cft import paths
from cft.chunk_lock import ChunkLock, describe
from cft.chunks import chunk_filename, chunk_range, list_chunk_files, num_chunks
from cft.context_fit import check_max_tokens, check_prompts_fit, resolve_max_model_len
from cft.errors import CftError
from cft.gen_options import EngineOptions, SamplingOptions, option_values
from cft.graceful_stop import GracefulStop
from cft.grading import grade_batch, grading_pool
from cft.inputs import load_rows, to_problem
from cft.jsonio import sha256_file, write_results_file
from cft.models import ModelSpec, chat_messages, get_model, get_template, raw_prompt
from cft.solutions import RUN_KEYS, chunk_metadata, load_chunk, result_row, solution_record


@dataclass(kw_only=True)
class RunConfig(SamplingOptions, EngineOptions):
    """One run of step 1: the sampling and engine options (``cft.gen_options``) plus what to run.

    ``max_tokens`` None is the model's default; ``max_model_len`` None is resolved by ``plan``
    against the model's own context limit.
    """
    spec: ModelSpec
    model_path: str
    input_file: Path
    output_dir: Path
    chunk_size: int
    chunk_ids: list[int] | None = None
    prompt_template: str | None = None
    overwrite: bool = False
    worker: tuple[int, int] | None = None  # (worker_id, num_workers): chunks id, id + n, ...
    wait_locked: bool = False
    lock_stale_s: float = 300.0

    def __post_init__(self) -> None:
        self.max_tokens_given = self.max_tokens is not None
        if self.max_tokens is None:
            self.max_tokens = self.spec.max_tokens
        if self.prompt_template is None:
            self.prompt_template = self.spec.prompt_template

    @classmethod
    def from_args(cls, args) -> RunConfig:
        """The run a parsed generate_solutions.py command line asks for (flags: ``gen_options``)."""
        spec = get_model(args.model)
        return cls(spec=spec, model_path=args.model_path or spec.hf_id, input_file=Path(args.input_file),
                   output_dir=Path(args.output_dir) if args.output_dir else paths.solutions_dir(spec.name),
                   chunk_size=args.chunk_size, chunk_ids=args.chunk_id, prompt_template=args.prompt_template,
                   overwrite=args.overwrite, wait_locked=args.wait_locked, lock_stale_s=args.lock_stale_s,
                   worker=(args.worker_id, args.num_workers) if args.worker_id is not None else None,
                   **option_values(args, SamplingOptions, EngineOptions))

    def stops(self) -> list[str]:
        return list(get_template(self.prompt_template).stop)

    def sampling(self) -> dict:
        """The chunk metadata's ``sampling``."""
        return self.sampling_record(self.stops())


@dataclass
class ChunkJob:
    chunk_id: int
    start: int
    end: int
    path: Path
    questions: list[str]
    answers: list[str]
    prompts: list[str]


@dataclass
class Plan:
    config: RunConfig
    input_sha256: str
    input_rows: int
    total_chunks: int
    todo: list[ChunkJob]
    skipped: list[int]
    replaced: list[int] = field(default_factory=list)
    max_model_len: int | None = None  # the engine's: resolved against the model's own limit

    def metadata(self, job: ChunkJob, elapsed_s: float = 0.0, output_tokens: int = 0) -> dict:
        c = self.config
        return chunk_metadata(model=c.spec.name, model_path=c.model_path, chunk_id=job.chunk_id,
                              chunk_size=c.chunk_size, start=job.start, end=job.end,
                              num_samples=c.num_samples, sampling=c.sampling(),
                              prompt_template=c.prompt_template, input_file=c.input_file,
                              input_sha256=self.input_sha256, input_rows=self.input_rows,
                              elapsed_s=elapsed_s, output_tokens=output_tokens)


def load_tokenizer(model_path: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model_path)
    except Exception as e:  # a typo'd path or an unreachable hub id: say so before any GPU work
        raise CftError(f"cannot load the tokenizer of {model_path!r}: {e}") from None


def render_prompts(template: str, problems, tokenizer, model_path: str, where: str) -> list[str]:
    spec = get_template(template)
    if not spec.chat:
        return [raw_prompt(template, p.question, p.prompt, f"{where}: row {p.index}") for p in problems]
    if not getattr(tokenizer, "chat_template", None):
        raise CftError(f"{model_path}: the tokenizer has no chat template, which prompt template "
                       f"{template} needs; pick a raw one (--prompt_template fewshot-boxed or from-input)")
    return [tokenizer.apply_chat_template(chat_messages(template, p.question), tokenize=False,
                                          add_generation_prompt=True) for p in problems]


def _existing_matches(path: Path, expected: dict) -> str | None:
    """None if the chunk file at ``path`` is this run's; else why not."""
    try:
        meta, rows = load_chunk(path)
    except CftError as e:
        return str(e)
    for key in RUN_KEYS + ("chunk_id", "start_index", "end_index"):
        if meta.get(key) != expected[key]:
            return f"{key} is {meta.get(key)!r}, this run has {expected[key]!r}"
    if len(rows) != expected["end_index"] - expected["start_index"]:
        return f"holds {len(rows)} rows, expected {expected['end_index'] - expected['start_index']}"
    return None


def plan(config: RunConfig, log=None) -> Plan:
    log = log or _say
    if config.chunk_size <= 0:
        raise CftError(f"--chunk_size must be positive, got {config.chunk_size}")
    if config.num_samples <= 0:
        raise CftError(f"--num_samples must be positive, got {config.num_samples}")
    get_template(config.prompt_template)
    rows = load_rows(config.input_file)  # local checks first, then the model's config (maybe a hub id)
    max_model_len = resolve_max_model_len(config.model_path, config.max_model_len, config.spec.max_model_len)
    check_max_tokens(config.max_tokens, config.max_tokens_given, max_model_len, config.model_path)
    total = num_chunks(len(rows), config.chunk_size)
    ids = list(range(total)) if config.chunk_ids is None else list(dict.fromkeys(config.chunk_ids))
    if config.worker is not None:
        worker_id, workers = config.worker
        if not 0 <= worker_id < workers:
            raise CftError(f"--worker_id {worker_id} must be in 0-{workers - 1} for --num_workers {workers}")
        ids = [cid for cid in ids if cid % workers == worker_id]
    for cid in ids:
        chunk_range(cid, config.chunk_size, len(rows))  # raises with the number of chunks
    sha = sha256_file(config.input_file)
    result = Plan(config, sha, len(rows), total, [], [], max_model_len=max_model_len)
    pending = []
    for cid in ids:
        start, end = chunk_range(cid, config.chunk_size, len(rows))
        problems = [to_problem(rows[i], i, config.input_file) for i in range(start, end)]
        path = config.output_dir / chunk_filename(config.spec.name, cid)
        job = ChunkJob(cid, start, end, path, [p.question for p in problems], [p.answer for p in problems], [])
        if path.exists():
            why = _existing_matches(path, result.metadata(job))
            if why is None:
                result.skipped.append(cid)
                continue
            if not config.overwrite:
                raise CftError(f"{path}: exists but is not this run's chunk ({why}); "
                               "pass --overwrite to replace it, or use another --output_dir")
            result.replaced.append(cid)
        pending.append((job, problems))
    if not pending:
        return result
    # one pass over every chunk's problems, so the tokenizer loads once
    problems_all = [p for _, problems in pending for p in problems]
    tokenizer = load_tokenizer(config.model_path)
    prompts = render_prompts(config.prompt_template, problems_all, tokenizer, config.model_path,
                             str(config.input_file))
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    check_prompts_fit([(f"{config.input_file}: row {p.index}", n) for p, n in zip(problems_all, lengths)],
                      config.max_tokens, max_model_len, log=log)
    offset = 0
    for job, problems in pending:
        job.prompts = prompts[offset:offset + len(problems)]
        offset += len(problems)
        result.todo.append(job)
    return result


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
        why = _existing_matches(job.path, plan_.metadata(job))
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


def _say(message: str) -> None:
    print(message, flush=True)  # logs are often files: each line as it happens


def run(plan_: Plan, llm, params, grading_workers: int = 2, log=_say, pool=None,
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
    from cft.engine import generate

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
