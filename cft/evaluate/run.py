"""``evaluate_critic.py`` from flags to report: checks, cases, the work, the figures, the files.

In order: the flags (no file read), the cases (every row checked, the earlier report of ``--compare`` read),
the critic's name (a server without ``--model`` is asked for it), the output folder (one process at a time:
``.run.lock``), the work plans (chunks already there are skipped, so a finished evaluation reruns without
the model), the model (opened only when a chunk is left to do), the figures, and the report's three files,
each written atomically. With ``--compare EARLIER LATER`` nothing but the comparison is done.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from pathlib import Path

from cft.common import jsonio, paths
from cft.common.errors import CftError
from cft.common.summary import write_summary_json
from cft.evaluate import options
from cft.evaluate.cases import OutcomeCases, StepCases, add_pass_rates, read_outcome, read_step_cases
from cft.evaluate.compare import compare, read_report
from cft.evaluate.metrics import outcome_figures, step_figures
from cft.evaluate.prompts import PROMPT_VERSION
from cft.evaluate.report import summary, write_markdown
from cft.evaluate.work import OUTCOME, STEPS, plan, replies, request_for, run_record, work_dir
from cft.inference import open_backend
from cft.inference.chunked import ChunkRun, run_chunks

REPORT_FILES = ("report.json", "report.md", "report.png")


def read_cases(args: argparse.Namespace) -> tuple[OutcomeCases | None, StepCases | None]:
    """The outcome cases (``--input_file``, or the default held-out file when no input is named) and the
    step-level cases (``--step_data``), checked."""
    outcome = None
    input_file = args.input_file or (None if args.step_data else options.DEFAULT_INPUT)
    if input_file is not None:
        outcome = read_outcome(input_file, args.max_cases)
        beside = paths.beside(input_file, paths.FILTERED_FILE.name)
        filtered = args.filtered_file or (beside if beside.is_file() else None)
        if filtered is not None:
            add_pass_rates(outcome, filtered, options.bands(args.band_edges))
    steps = read_step_cases(args.step_data, args.step_config, args.step_subsets, args.max_cases) \
        if args.step_data else None
    return outcome, steps


def model_slug(model: str) -> str:
    """A folder name for a model: a local folder's name, a hub id with ``/`` as ``__``."""
    name = Path(model).name if Path(model).is_dir() else model.replace("/", "__")
    return re.sub(r"[^\w.+-]", "_", name) or "critic"


def plans(args, outcome: OutcomeCases | None, steps: StepCases | None, output_dir: Path, model: str,
          sampling: dict) -> dict:
    """The work plan of each kind of case there is."""
    out = {}
    if outcome is not None:
        out[OUTCOME] = plan(OUTCOME, outcome.items, output_dir, run_record(
            OUTCOME, rows=len(outcome.items), chunk_size=args.chunk_size, max_cases=args.max_cases,
            input_name=str(outcome.file), input_sha256=outcome.sha256, model=model, sampling=sampling,
            prompt_version=None), args.overwrite)
    if steps is not None:
        out[STEPS] = plan(STEPS, steps.cases, output_dir, run_record(
            STEPS, rows=len(steps.cases), chunk_size=args.chunk_size, max_cases=args.max_cases,
            input_name=steps.source, input_sha256=steps.sha256, model=model, sampling=sampling,
            prompt_version=PROMPT_VERSION), args.overwrite)
    return out


def evaluate(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    options.check_flags(args)
    if options.compare_only(args):
        earlier, later = (read_report(path) for path in args.compare)
        print(compare(earlier, later, (Path(args.compare[0]).name, Path(args.compare[1]).name)), flush=True)
        return
    earlier = read_report(args.compare[0]) if args.compare else None
    outcome, steps = read_cases(args)
    spec = options.backend_spec(args)
    sampling = options.sampling_of(args)
    record = options.sampling_record(sampling, spec.server_seeds)
    with contextlib.ExitStack() as stack:
        backend = None
        if spec.kind == "server" and not spec.served_model_name:  # the name the chunks record: ask the server
            backend = stack.enter_context(open_backend(spec))
        model = backend.model if backend is not None else spec.served_model_name or spec.model
        output_dir = Path(args.output_dir or options.data_dir(args) / options.OUTPUT_FOLDER / model_slug(model))
        output_dir.mkdir(parents=True, exist_ok=True)
        stack.enter_context(_lock(output_dir))
        for kind in (OUTCOME, STEPS):
            jsonio.remove_leftovers(work_dir(output_dir, kind), "chunk_*.json")
        for name in REPORT_FILES:
            jsonio.remove_leftovers(output_dir, name)
        works = plans(args, outcome, steps, output_dir, model, record)
        for kind, work in works.items():
            print(f"{kind} cases: {len(work.chunks)} chunks of {args.chunk_size}; to do: "
                  f"{[c.chunk_id for c in work.todo]}, already done (skipped): {work.skipped}", flush=True)
        runs = {kind: ChunkRun() for kind in works}
        backend_info = None
        if any(w.todo for w in works.values()):
            if backend is None:
                backend = stack.enter_context(open_backend(
                    spec, engine_log=options.data_dir(args) / "logs" / "engine_eval.log"))
            backend_info = backend.describe()
            seeds = spec.sends_seeds(backend)
            for kind, work in works.items():
                runs[kind] = run_chunks(work, backend, request_for(kind, sampling, seeds),
                                        max_in_flight=spec.in_flight(backend, args.num_samples),
                                        desc=f"{kind} cases", noun="replies")
        outcome_fig = outcome_figures(outcome, replies(works[OUTCOME]), args.calibration_bins) if outcome else None
        steps_fig = step_figures(steps, replies(works[STEPS])) if steps else None
        s = summary(model=model, backend=backend_info, sampling=record, prompt_version=PROMPT_VERSION,
                    outcome=outcome_fig, outcome_source=outcome and {
                        "input_file": str(outcome.file), "input_sha256": outcome.sha256,
                        "filtered_file": outcome.filtered_file and str(outcome.filtered_file),
                        "band_edges": args.band_edges},
                    steps=steps_fig, step_source=steps and {
                        "source": steps.source, "config": steps.config, "sha256": steps.sha256,
                        "subsets": steps.subsets, "prompt_version": PROMPT_VERSION},
                    run=_run_facts(works, runs), elapsed_s=time.perf_counter() - t0)
        write_report(s, output_dir)
    # by hand, the summary of an outcome evaluation is also left beside its input (logs/summary_evaluate.json),
    # where build_dataset.py finds it and the dataset card cites the report
    s.emit(args.summary_json, beside=outcome.file if outcome is not None else None)
    if earlier is not None:
        print(f"\n== compared with {args.compare[0]} ==\n" + compare(earlier, s.data(), ("earlier", "now")),
              flush=True)


def _run_facts(works: dict, runs: dict[str, ChunkRun]) -> dict:
    done = {kind: r for kind, r in runs.items() if r.written}
    return {"chunks": {kind: {"written": runs[kind].written, "skipped": w.skipped, "replaced": w.replaced}
                       for kind, w in works.items()},
            "cases": sum(sum(len(w.chunks[c].items) for c in runs[kind].written) for kind, w in works.items()),
            "samples": sum(r.samples for r in done.values()),
            "output_tokens": sum(r.output_tokens for r in done.values()),
            "generate_s": round(sum(r.generate_s for r in done.values()), 3)}


def write_report(s, output_dir: Path) -> None:
    """``report.md``, ``report.png`` and ``report.json`` (the summary's JSON, listing all three) in the folder."""
    from cft.evaluate.plots import plot_report

    md, png, js = (output_dir / name for name in ("report.md", "report.png", "report.json"))
    s.fact("report_md", str(md)).fact("report_png", str(png))
    write_markdown(s.data(), md)
    plot_report(s.data(), png)
    s.wrote(md, "report").wrote(png, "plot").output(js)
    s.row("report JSON", js)
    write_summary_json(js, s.data())


@contextlib.contextmanager
def _lock(folder: Path):
    from cft.generate.chunk_lock import ChunkLock, describe

    lock = ChunkLock(folder / "run")
    holder = lock.try_acquire()
    if holder is not None:
        raise CftError(f"{folder}: another process ({describe(holder)}) is evaluating into this folder ({lock.path})")
    try:
        yield
    finally:
        lock.release()
