"""Step 1's summary: what a run of generate_solutions.py wrote, skipped, left to others or left undone, with its
samples, accuracy and throughput (``generate_<alias>`` in the pipeline's summary, read by the dataset card)."""

from __future__ import annotations

from cft.common.summary import Summary
from cft.grading.version import GRADER_VERSION
from cft.records.chunks import chunk_filename, format_ranges


def summary(config, work, outcome) -> Summary:
    """``config``: the run (``cft.generate.plan.RunConfig``), ``work`` its plan, ``outcome`` what
    ``cft.generate.run.run`` did (None: nothing was run, a dry run or every chunk done)."""
    spec = config.spec
    reports = outcome.reports if outcome else []
    written = outcome.written if outcome else []
    samples = sum(r.samples for r in reports)
    correct = sum(r.correct for r in reports)
    gen_s = outcome.generate_s if outcome else 0.0
    tokens = sum(r.output_tokens for r in reports)
    step = "_".join(p for p in ("generate", spec.alias, config.who()) if p)  # one per process (workers, tasks)
    s = Summary(step, f"generate {spec.name}")
    s.row("chunks written", written or "none", key="chunks_written", value=written)
    s.row("chunks skipped (done)", work.skipped or "none", key="chunks_skipped", value=work.skipped)
    locked, elsewhere = (outcome.locked, outcome.done_elsewhere) if outcome else ([], [])
    if locked or elsewhere:
        s.row("chunks left to others", f"locked: {locked or 'none'}, done by another process: {elsewhere or 'none'}")
    s.fact("chunks_locked", locked).fact("chunks_done_elsewhere", elsewhere)
    missing = []
    if outcome and outcome.stopped:
        finished = set(written) | set(work.skipped) | set(elsewhere)
        missing = [j.chunk_id for j in work.todo if j.chunk_id not in finished]
        s.row("stopped by SIGTERM", f"chunks not done: {format_ranges(missing)}; rerun the same command "
                                    "(or let the requeued job) do them")
    s.fact("stopped", bool(outcome and outcome.stopped)).fact("chunks_missing", missing)
    s.row("samples", samples, key="samples")
    s.row("accuracy", f"{100 * correct / samples:.1f}%" if samples else "-")
    s.row("output tokens", f"{tokens} ({tokens / gen_s:.0f} tok/s)" if gen_s else tokens)
    s.row("output dir", config.output_dir)
    s.fact("correct", correct).fact("output_tokens", tokens).fact("generate_s", round(gen_s, 3))
    s.fact("max_model_len", work.max_model_len).fact("max_tokens", config.max_tokens)
    s.fact("grader_version", GRADER_VERSION)  # the grader that graded these chunks as they were written
    s.brief(f"generated {spec.alias}", f"{len(written)} chunks written, {len(work.skipped)} already done; "
                                       f"{samples} samples, accuracy "
                                       + (f"{100 * correct / samples:.1f}%" if samples else "-"))
    for cid in written:
        s.output(config.output_dir / chunk_filename(spec.name, cid))
    return s

