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

from cft.chunks import chunk_filename, chunk_range, num_chunks
from cft.errors import CftError
from cft.grading import grade_batch, grading_pool
from cft.inputs import load_rows, to_problem
from cft.jsonio import sha256_file, write_results_file
from cft.models import ModelSpec, chat_messages, get_template, raw_prompt
from cft.solutions import RUN_KEYS, chunk_metadata, load_chunk, result_row, solution_record


@dataclass
class RunConfig:
    spec: ModelSpec
    model_path: str
    input_file: Path
    output_dir: Path
    chunk_size: int
    chunk_ids: list[int] | None
    num_samples: int
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    prompt_template: str
    max_model_len: int | None
    overwrite: bool = False
    worker: tuple[int, int] | None = None  # (worker_id, num_workers): chunks id, id + n, ...

    def sampling(self) -> dict:
        return {"n": self.num_samples, "temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "seed": self.seed,
                "stop": list(get_template(self.prompt_template).stop)}


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


def render_prompts(template: str, problems, model_path: str, where: str) -> list[str]:
    spec = get_template(template)
    if not spec.chat:
        return [raw_prompt(template, p.question, p.prompt, f"{where}: row {p.index}") for p in problems]
    tokenizer = load_tokenizer(model_path)
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


def plan(config: RunConfig) -> Plan:
    if config.chunk_size <= 0:
        raise CftError(f"--chunk_size must be positive, got {config.chunk_size}")
    if config.num_samples <= 0:
        raise CftError(f"--num_samples must be positive, got {config.num_samples}")
    get_template(config.prompt_template)
    rows = load_rows(config.input_file)
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
    result = Plan(config, sha, len(rows), total, [], [])
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
    # one pass over every chunk's problems, so the tokenizer loads once
    prompts = render_prompts(config.prompt_template, [p for _, problems in pending for p in problems],
                             config.model_path, str(config.input_file))
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


def _finish_chunk(plan_: Plan, job: ChunkJob, samples, grade_parts: list[Future], generate_s: float) -> ChunkReport:
    grades = [g for part in grade_parts for g in part.result()]
    results, counts = [], {}
    output_tokens = 0
    for k, (q, a, sample_list, grade_list) in enumerate(zip(job.questions, job.answers, samples, grades)):
        sols = [solution_record(s.text, g, s.finish_reason, s.num_tokens) for s, g in zip(sample_list, grade_list)]
        for s in sols:
            counts[s["grade"]] = counts.get(s["grade"], 0) + 1
            output_tokens += s["num_tokens"]
        results.append(result_row(job.start + k, k, q, a, sols))
    write_results_file(job.path, plan_.metadata(job, generate_s, output_tokens), results)
    return ChunkReport(job.chunk_id, len(results), sum(len(s) for s in samples), output_tokens, generate_s,
                       counts.get("correct", 0), counts)


def run(plan_: Plan, llm, params, grading_workers: int = 2, log=print, pool=None) -> list[ChunkReport]:
    """Generate, grade and write every chunk of the plan with one engine.

    ``pool``: a grading pool started (and warmed, see ``start_grading_pool``) while
    the engine loaded; without one, a pool is started here.
    """
    if pool is None:
        with start_grading_pool(grading_workers) as own:
            return run(plan_, llm, params, grading_workers, log, own)
    from cft.engine import generate

    reports: list[ChunkReport] = []
    with ThreadPoolExecutor(1) as writer:
        pending: list[Future] = []
        bar = tqdm(plan_.todo, desc=f"chunks of {plan_.config.spec.name}", unit="chunk")
        for job in bar:
            t0 = time.perf_counter()
            samples = generate(llm, job.prompts, params, progress=False)
            generate_s = time.perf_counter() - t0
            work = [([s.text for s in ss], a) for ss, a in zip(samples, job.answers)]
            step = -(-len(work) // grading_workers)  # one slice per worker, in order
            parts = [pool.submit(grade_batch, work[i:i + step], 1) for i in range(0, len(work), step)]
            pending.append(writer.submit(_finish_chunk, plan_, job, samples, parts, generate_s))
            while pending and pending[0].done():
                reports.append(_log(pending.pop(0).result(), log))
        for fut in pending:
            reports.append(_log(fut.result(), log))
    return reports


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
