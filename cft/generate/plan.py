"""Step 1's plan: everything that can fail before a GPU is touched, cheapest first.

``plan`` checks the flags, reads the input, checks the chunk ids and every row of the chunks to run,
hashes the input and decides, per chunk, whether an existing file is this run's (skip), another run's
(error unless overwrite) or absent (run). Only then, and only if a chunk is left to run, does it read
the model's config (its context, maybe from a hub) and tokenizer, and render and measure every prompt
(with the tokenizer's chat template where the template asks for one). So a bad row, a chunk id out of
range or a foreign chunk file is named in one line on a machine with no hub access or a mistyped
``--model_path``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cft.common import paths
from cft.common.cli import say
from cft.common.engine_log import process_log
from cft.common.errors import CftError
from cft.generate.context_fit import check_max_tokens, check_prompts_fit, resolve_max_model_len
from cft.generate.options import SamplingOptions, option_values
from cft.grading.version import GRADER_VERSION
from cft.inference.spec import BackendSpec
from cft.records.chunks import chunk_filename, chunk_range, format_ranges, list_chunk_files, num_chunks
from cft.records.models import ModelSpec, get_model, register_from_args
from cft.records.problems import input_sha256, load_rows, to_problem
from cft.records.prompts import get_template, load_tokenizer, render_prompts
from cft.records.solutions import RUN_KEYS, chunk_metadata, load_chunk


@dataclass(kw_only=True)
class RunConfig(SamplingOptions):
    """One run of step 1: the sampling options (``cft.generate.options``), the backend
    (``cft.inference.spec.BackendSpec``: the weights, engine or servers, seed, requests in flight) and what
    to run.

    ``max_tokens`` None is the model's default; the backend's ``max_model_len`` None is resolved by ``plan``
    against the model's own context limit.
    """
    spec: ModelSpec
    backend: BackendSpec
    input_file: Path
    output_dir: Path
    chunk_size: int
    chunk_ids: list[int] | None = None
    prompt_template: str | None = None
    overwrite: bool = False
    worker: tuple[int, int] | None = None  # (worker_id, num_workers): chunks id, id + n, ...
    skip_past_end: bool = False  # chunk ids past the last chunk: skipped, not refused
    wait_locked: bool = False
    lock_stale_s: float = 300.0
    dry_run: bool = False  # no Hub lookup: the model's config and tokenizer only from a folder or the cache

    def __post_init__(self) -> None:
        self.max_tokens_given = self.max_tokens is not None
        if self.max_tokens is None:
            self.max_tokens = self.spec.max_tokens
        if self.prompt_template is None:
            self.prompt_template = self.spec.prompt_template

    @property
    def model_path(self) -> str:
        return self.backend.model

    @property
    def seed(self) -> int:
        return self.backend.seed

    @classmethod
    def from_args(cls, args) -> RunConfig:
        """The run a parsed generate_solutions.py command line asks for (flags: ``cft.generate.options``)."""
        register_from_args(args)
        spec = get_model(args.model)
        # step 1 seeds each problem's request on a server (``request_seed``: the problem's index is its key)
        backend = BackendSpec.from_args(args, model=args.model_path or spec.weights, server_seeds=True)
        return cls(spec=spec, backend=backend, input_file=Path(args.input_file),
                   output_dir=Path(args.output_dir) if args.output_dir else paths.solutions_dir(spec.alias),
                   chunk_size=args.chunk_size, chunk_ids=args.chunk_id, prompt_template=args.prompt_template,
                   overwrite=args.overwrite, wait_locked=args.wait_locked, lock_stale_s=args.lock_stale_s,
                   worker=(args.worker_id, args.num_workers) if args.worker_id is not None else None,
                   skip_past_end=args.skip_past_end,
                   dry_run=args.dry_run, **option_values(args, SamplingOptions))

    def stops(self) -> list[str]:
        return list(get_template(self.prompt_template).stop)

    def engine_log(self, log_dir: str | os.PathLike | None = None) -> Path:
        """The local engine's log unless --engine_log: one file per process in ``log_dir`` (default: ``logs/``
        beside the chunk folder), ``engine_<alias>[_worker<id> | _chunk<first>[+<more>]][_job..._attempt<n>].log``
        (``cft.common.engine_log.process_log``)."""
        return process_log(log_dir or Path(self.output_dir).parent / "logs", "engine", self.spec.alias, self.who())

    def who(self) -> str:
        """Which part of the model's chunks this process runs: ``worker<id>``, ``chunk<first>[+<more>]``, or ""
        (all of them); it names the process's engine log and summary, so processes side by side never share one."""
        ids = self.chunk_ids or []
        return (f"worker{self.worker[0]}" if self.worker else
                f"chunk{ids[0]:03d}" + (f"+{len(ids) - 1}" if len(ids) > 1 else "") if ids else "")

    def sampling(self) -> dict:
        """The chunk metadata's ``sampling``."""
        return self.sampling_record(self.stops(), self.seed)


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
    tokenizer: object = None  # --model_path's, loaded when a chunk is left to run

    def metadata(self, job: ChunkJob, elapsed_s: float = 0.0, output_tokens: int = 0,
                 backend: dict | None = None) -> dict:
        c = self.config
        return chunk_metadata(model=c.spec.name, model_path=c.model_path, chunk_id=job.chunk_id,
                              chunk_size=c.chunk_size, start=job.start, end=job.end,
                              num_samples=c.num_samples, sampling=c.sampling(),
                              prompt_template=c.prompt_template, input_file=c.input_file,
                              input_sha256=self.input_sha256, input_rows=self.input_rows,
                              elapsed_s=elapsed_s, output_tokens=output_tokens, backend=backend,
                              grader_version=GRADER_VERSION)


def existing_matches(path: Path, expected: dict) -> str | None:
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



def plan(config: RunConfig, log=say) -> Plan:
    # 1. flags (the backend's too: a server's URL and key variable, not yet the server) and the input's rows
    if config.chunk_size <= 0:
        raise CftError(f"--chunk_size must be positive, got {config.chunk_size}")
    if config.num_samples <= 0:
        raise CftError(f"--num_samples must be positive, got {config.num_samples}")
    if config.max_tokens <= 0:
        raise CftError(f"--max_tokens must be positive, got {config.max_tokens}")
    get_template(config.prompt_template)
    config.backend.check()
    rows = load_rows(config.input_file)
    total = num_chunks(len(rows), config.chunk_size)
    ids = list(range(total)) if config.chunk_ids is None else list(dict.fromkeys(config.chunk_ids))
    if config.worker is not None:
        worker_id, workers = config.worker
        if not 0 <= worker_id < workers:
            raise CftError(f"--worker_id {worker_id} must be in 0-{workers - 1} for --num_workers {workers}")
        ids = [cid for cid in ids if cid % workers == worker_id]
    if config.skip_past_end and any(cid >= total for cid in ids):
        log(f"chunk(s) {format_ranges(sorted(c for c in ids if c >= total))} past the last chunk of "
            f"{config.input_file} ({len(rows)} problems make {total} chunks): nothing to do (--skip_past_end)")
        ids = [cid for cid in ids if cid < total]
    ranges = {cid: chunk_range(cid, config.chunk_size, len(rows)) for cid in ids}  # raises with the chunk count
    problems_of = {cid: [to_problem(rows[i], i, config.input_file) for i in range(start, end)]
                   for cid, (start, end) in ranges.items()}
    # 2. the chunk files already there; those past this run's last chunk (a run of another --chunk_size) are
    # another run's whatever they hold: refused, or removed with --overwrite (merge would stop on them)
    result = Plan(config, input_sha256(config.input_file), len(rows), total, [], [])
    beyond = {cid: path for cid, path in list_chunk_files(config.output_dir, config.spec.name).items() if cid >= total}
    if beyond and not config.overwrite:
        first = min(beyond)
        raise CftError(f"{beyond[first]}: chunk {first} of another run ({len(rows)} problems in chunks of "
                       f"{config.chunk_size} make {total} chunks); pass --overwrite to remove the {len(beyond)} such "
                       "file(s), or use another --output_dir")
    if beyond and not config.dry_run:
        for path in beyond.values():
            path.unlink(missing_ok=True)
        log(f"removed {len(beyond)} chunk file(s) of another run past this run's {total} chunks "
            f"(--overwrite): {format_ranges(sorted(beyond))}")
    pending = []
    for cid, (start, end) in ranges.items():
        problems = problems_of[cid]
        path = config.output_dir / chunk_filename(config.spec.name, cid)
        job = ChunkJob(cid, start, end, path, [p.question for p in problems], [p.answer for p in problems], [])
        if path.exists():
            why = existing_matches(path, result.metadata(job))
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
    # 3. the model: its config (its context; maybe a hub lookup), then its tokenizer, loaded once. A dry run
    # reads them only from a folder or the Hub cache, and otherwise says what it did not check.
    cached_only = config.dry_run
    result.max_model_len = resolve_max_model_len(config.model_path, config.backend.max_model_len,
                                                 config.spec.max_model_len, cached_only)
    tokenizer = result.tokenizer = load_tokenizer(config.model_path, cached_only)
    if tokenizer is None:
        log(f"dry run: {config.model_path} is neither a local folder nor in the Hub cache, so its context and the "
            "prompts' lengths are not checked (a dry run makes no Hub lookup)")
        result.todo = [job for job, _ in pending]
        return result
    check_max_tokens(config.max_tokens, config.max_tokens_given, result.max_model_len, config.model_path)
    problems_all = [p for _, problems in pending for p in problems]
    prompts = render_prompts(config.prompt_template, problems_all, tokenizer, config.model_path,
                             str(config.input_file))
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    check_prompts_fit([(f"{config.input_file}: row {p.index}", n) for p, n in zip(problems_all, lengths)],
                      config.max_tokens, result.max_model_len, log=log)
    offset = 0
    for job, problems in pending:
        job.prompts = prompts[offset:offset + len(problems)]
        offset += len(problems)
        result.todo.append(job)
    return result
