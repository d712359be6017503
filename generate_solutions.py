#!/usr/bin/env python3
"""Step 1: sample solutions for one model with vLLM, one chunk file per chunk of problems.

Samples --num_samples solutions per problem for the problems of each chunk,
grades each with math-verify, and writes cft_data/solutions_<alias>/
<model>_chunk_<NNN>.json atomically. Everything is checked before the model
loads (input rows, chunk ids, prompt template, the model's context, existing
chunk files, room in the output folder). A chunk whose file exists from the same
run is skipped, so a killed job resumes where it stopped; a chunk file of another
run is an error unless --overwrite. A chunk another live process is generating
(its lock file) is skipped, or waited for with --wait_locked. If this process is
killed, even with kill -9, a watchdog ends the engine's processes with it.

    python generate_solutions.py --model qwen-2.5-math-7b --chunk_id 0 8 16 24 32
"""

if __name__ == "__main__":
    from cft.reaper import mark_run

    mark_run()  # re-executes this script once with a run marker its processes inherit (cft/reaper.py)

from cft import cli  # noqa: E402
from cft.chunks import chunk_filename, format_ranges  # noqa: E402
from cft.gen_options import add_arguments  # noqa: E402
from cft.generation import RunConfig, plan, run, start_grading_pool  # noqa: E402
from cft.graceful_stop import EXIT_CODE  # noqa: E402
from cft.output_check import check_output_dir, chunk_size_estimate  # noqa: E402
from cft.report import print_summary  # noqa: E402


def main():
    p = cli.parser(__doc__)
    add_arguments(p)
    args = p.parse_args()
    config = RunConfig.from_args(args)
    spec = config.spec
    work = plan(config)
    print(f"{spec.name}: {work.input_rows} problems, {work.total_chunks} chunks of {config.chunk_size}, "
          f"max_model_len {work.max_model_len}, max_tokens {config.max_tokens}; "
          f"to run: {[j.chunk_id for j in work.todo]}, already done (skipped): {work.skipped}"
          + (f", replacing: {work.replaced}" if work.replaced else ""), flush=True)
    for cid in work.skipped:
        print(f"chunk {cid:03d}: skipped, {chunk_filename(spec.name, cid)} is done", flush=True)
    if work.todo:
        biggest = max(work.todo, key=lambda j: len(j.questions))
        check_output_dir(config.output_dir, create=not args.dry_run,
                         need_bytes=chunk_size_estimate(biggest.questions, biggest.answers, config.num_samples,
                                                        config.max_tokens))
    outcome = None
    if work.todo and not args.dry_run:
        from cft.engine import load_llm, sampling_params
        from cft.reaper import start_reaper

        start_reaper()  # before any process of the run starts
        with start_grading_pool(args.grading_workers) as pool:  # warms up while the engine loads
            llm = load_llm(config.model_path, seed=config.seed, max_model_len=work.max_model_len,
                           **config.engine_kwargs())
            params = sampling_params(**config.vllm_sampling(config.stops()))
            outcome = run(work, llm, params, grading_workers=args.grading_workers, pool=pool,
                          term_grace_s=args.term_grace_s)
    reports = outcome.reports if outcome else []
    samples = sum(r.samples for r in reports)
    correct = sum(r.correct for r in reports)
    gen_s = sum(r.generate_s for r in reports)
    tokens = sum(r.output_tokens for r in reports)
    rows = [
        ("chunks written", outcome.written if outcome and outcome.written else "none"),
        ("chunks skipped (done)", work.skipped or "none"),
    ]
    if outcome and (outcome.locked or outcome.done_elsewhere):
        rows.append(("chunks left to others", f"locked: {outcome.locked or 'none'}, done by another process: "
                                               f"{outcome.done_elsewhere or 'none'}"))
    missing = []
    if outcome and outcome.stopped:
        finished = set(outcome.written) | set(work.skipped) | set(outcome.done_elsewhere)
        missing = [j.chunk_id for j in work.todo if j.chunk_id not in finished]
        rows.append(("stopped by SIGTERM", f"chunks not done: {format_ranges(missing)}; rerun the same command "
                                           "(or let the requeued job) do them"))
    rows += [
        ("samples", samples),
        ("accuracy", f"{100 * correct / samples:.1f}%" if samples else "-"),
        ("output tokens", f"{tokens} ({tokens / gen_s:.0f} tok/s)" if gen_s else tokens),
        ("output dir", config.output_dir),
    ]
    print_summary(f"generate {spec.name}", rows, json_path=args.summary_json, data={
        "chunks_written": outcome.written if outcome else [], "chunks_skipped": work.skipped,
        "chunks_locked": outcome.locked if outcome else [],
        "chunks_done_elsewhere": outcome.done_elsewhere if outcome else [],
        "stopped": bool(outcome and outcome.stopped), "chunks_missing": missing,
        "samples": samples, "correct": correct, "output_tokens": tokens, "generate_s": round(gen_s, 3),
        "max_model_len": work.max_model_len, "max_tokens": config.max_tokens,
        "outputs": [str(config.output_dir / chunk_filename(spec.name, c)) for c in
                    (outcome.written if outcome else [])],
    })
    return EXIT_CODE if outcome and outcome.stopped else 0


if __name__ == "__main__":
    cli.run(main)
