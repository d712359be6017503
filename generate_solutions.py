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

Up to --max_in_flight requests (one per problem) are kept in the engine across
chunk boundaries, so it never drains between chunks. The engine is an
in-process vLLM engine, or, with --server_url, OpenAI-compatible servers
(vllm serve, SGLang, a hosted API) that are checked before any chunk is taken.

    python generate_solutions.py --model qwen-2.5-math-7b --chunk_id 0 8 16 24 32
    python generate_solutions.py --model qwen25 --server_url http://127.0.0.1:8000 --api_key_env VLLM_API_KEY
"""

if __name__ == "__main__":
    from cft.common.reaper import mark_run

    mark_run()  # re-executes this script once with a run marker its processes inherit (cft/common/reaper.py)

import contextlib  # noqa: E402

from cft.common import cli  # noqa: E402
from cft.generate.backend import describe_line  # noqa: E402
from cft.generate.graceful_stop import EXIT_CODE  # noqa: E402
from cft.generate.options import add_arguments  # noqa: E402
from cft.generate.output_check import check_output_dir, chunk_size_estimate  # noqa: E402
from cft.generate.plan import RunConfig, plan  # noqa: E402
from cft.generate.report import summary  # noqa: E402
from cft.generate.run import run, start_grading_pool, whole  # noqa: E402
from cft.inference.spec import open_backend  # noqa: E402
from cft.records.chunks import chunk_filename  # noqa: E402


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
    if work.todo and args.dry_run and config.backend.kind == "server":
        with open_backend(config.backend) as backend:  # a dry run checks the servers too
            print(describe_line(backend, config), flush=True)
    elif work.todo and not args.dry_run:
        try:
            outcome = generate(config, work, args)
        except KeyboardInterrupt:  # Ctrl-C: say what is done, so the user knows what a rerun resumes
            raise KeyboardInterrupt(f"{whole(work)}; rerun the same command to resume") from None
    # a summary beside the chunk folder by default (logs/summary_generate_<alias>[_worker<k>|_chunk<first>].json,
    # one per process); a dry run writes one only where asked
    s = summary(config, work, outcome)
    s.emit(args.summary_json, beside=None if args.dry_run else config.output_dir)
    return EXIT_CODE if outcome and outcome.stopped else 0


def generate(config, work, args):
    """Run the plan's chunks: the servers are checked before the grading pool starts; a local engine loads
    while the pool warms up."""
    from cft.common.reaper import start_reaper

    engine_log = config.engine_log(args.log_dir)  # unless --engine_log: one per process, beside the run's data
    with contextlib.ExitStack() as stack:
        start_reaper()  # before any process of the run starts
        if config.backend.kind == "server":
            backend = stack.enter_context(open_backend(config.backend))
        pool = stack.enter_context(start_grading_pool(args.grading_workers))  # warms up while an engine loads
        if config.backend.kind != "server":
            backend = stack.enter_context(open_backend(config.backend, max_model_len=work.max_model_len,
                                                       engine_log=engine_log))
        print(describe_line(backend, config), flush=True)
        return run(work, backend, grading_workers=args.grading_workers, pool=pool, term_grace_s=args.term_grace_s)


if __name__ == "__main__":
    cli.run(main)
