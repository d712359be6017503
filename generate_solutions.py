#!/usr/bin/env python3
"""Step 1: sample solutions for one model with vLLM, one chunk file per chunk of problems.

Samples --num_samples solutions per problem for the problems of each chunk,
grades each with math-verify, and writes cft_data/solutions_<alias>/
<model>_chunk_<NNN>.json atomically. Everything is checked before the model
loads (input rows, chunk ids, prompt template, existing chunk files). A chunk
whose file exists from the same run is skipped, so a killed job resumes where
it stopped; a chunk file of another run is an error unless --overwrite.

    python generate_solutions.py --model qwen-2.5-math-7b --chunk_id 0 8 16 24 32
"""

import os
from pathlib import Path

from cft import cli, paths
from cft.chunks import chunk_filename
from cft.errors import CftError
from cft.generation import RunConfig, plan, run, start_grading_pool
from cft.models import MODELS, TEMPLATES, get_model
from cft.report import print_summary


def parse_args():
    p = cli.parser(__doc__)
    p.add_argument("--input_file", default=str(paths.INPUT_FILE), help="problem set (JSON list)")
    p.add_argument("--output_dir", default=None, help="chunk folder (default: cft_data/solutions_<alias>)")
    p.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)} (or alias qwen25 / qwen3)")
    p.add_argument("--model_path", default=None, help="local folder or HF id (default: the model's HF id)")
    p.add_argument("--chunk_size", type=int, default=1000, help="problems per chunk")
    p.add_argument("--chunk_id", type=int, nargs="*", default=None,
                   help="chunk ids to run, in order (default: every chunk)")
    p.add_argument("--num_workers", type=int, default=1,
                   help="with --worker_id: this process runs chunks worker_id, worker_id + num_workers, ...")
    p.add_argument("--worker_id", type=int, default=None, help="this worker's number, 0 to num_workers - 1")
    p.add_argument("--num_samples", type=int, default=8, help="solutions per problem")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top_p", type=float, default=0.95)
    p.add_argument("--max_tokens", type=int, default=None, help="default: the model's (3072 for qwen-2.5-math-7b)")
    p.add_argument("--seed", type=int, default=0, help="engine seed")
    p.add_argument("--max_model_len", type=int, default=None, help="default: the model's (4096 for qwen-2.5-math-7b)")
    p.add_argument("--tensor_parallel_size", type=int, default=1)
    p.add_argument("--gpu_memory_utilization", type=float, default=0.9)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--prompt_template", default=None, choices=list(TEMPLATES),
                   help="default: the model's (qwen25-math-cot / qwen3-base-chat)")
    p.add_argument("--grading_workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="processes grading while the engine generates")
    p.add_argument("--enforce_eager", action="store_true", help="skip CUDA graph capture (faster start)")
    p.add_argument("--overwrite", action="store_true", help="replace chunk files of another run")
    p.add_argument("--dry_run", action="store_true", help="check everything and print the plan; load no model")
    return p.parse_args()


def main():
    args = parse_args()
    spec = get_model(args.model)
    config = RunConfig(
        spec=spec, model_path=args.model_path or spec.hf_id, input_file=Path(args.input_file),
        output_dir=Path(args.output_dir) if args.output_dir else paths.solutions_dir(spec.name),
        chunk_size=args.chunk_size, chunk_ids=args.chunk_id, num_samples=args.num_samples,
        temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens or spec.max_tokens,
        seed=args.seed, prompt_template=args.prompt_template or spec.prompt_template,
        max_model_len=args.max_model_len or spec.max_model_len, overwrite=args.overwrite,
        worker=(args.worker_id, args.num_workers) if args.worker_id is not None else None,
    )
    if config.max_model_len and config.max_tokens >= config.max_model_len:
        raise CftError(f"--max_tokens {config.max_tokens} leaves no room for the prompt in "
                       f"--max_model_len {config.max_model_len}")
    work = plan(config)
    print(f"{spec.name}: {work.input_rows} problems, {work.total_chunks} chunks of {config.chunk_size}; "
          f"to run: {[j.chunk_id for j in work.todo]}, already done (skipped): {work.skipped}"
          + (f", replacing: {work.replaced}" if work.replaced else ""), flush=True)
    for cid in work.skipped:
        print(f"chunk {cid:03d}: skipped, {chunk_filename(spec.name, cid)} is done", flush=True)
    reports = []
    if work.todo and not args.dry_run:
        from cft.engine import load_llm, sampling_params

        with start_grading_pool(args.grading_workers) as pool:  # warms up while the engine loads
            llm = load_llm(config.model_path, seed=config.seed, max_model_len=config.max_model_len,
                           tensor_parallel_size=args.tensor_parallel_size,
                           gpu_memory_utilization=args.gpu_memory_utilization, dtype=args.dtype,
                           enforce_eager=args.enforce_eager)
            s = config.sampling()
            params = sampling_params(n=s["n"], temperature=s["temperature"], top_p=s["top_p"],
                                     max_tokens=s["max_tokens"], stop=s["stop"])
            reports = run(work, llm, params, grading_workers=args.grading_workers, pool=pool)
    samples = sum(r.samples for r in reports)
    correct = sum(r.correct for r in reports)
    gen_s = sum(r.generate_s for r in reports)
    tokens = sum(r.output_tokens for r in reports)
    print_summary(f"generate {spec.name}", [
        ("chunks written", [r.chunk_id for r in reports] if reports else "none"),
        ("chunks skipped (done)", work.skipped or "none"),
        ("samples", samples),
        ("accuracy", f"{100 * correct / samples:.1f}%" if samples else "-"),
        ("output tokens", f"{tokens} ({tokens / gen_s:.0f} tok/s)" if gen_s else tokens),
        ("output dir", config.output_dir),
    ])


if __name__ == "__main__":
    cli.run(main)
