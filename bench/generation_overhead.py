"""Generation overhead: generate_solutions.py's path against a bare LLM.generate, one engine, one run.

Same prompts, same sampling parameters, same engine:

  bare   LLM.generate on each chunk's prompts, outputs discarded
  ours   cft.generate.run.run: the same generate call per chunk, plus grading in a
         process pool and the atomic chunk-file writes in a background thread
         (the pool starts while the engine loads, as in generate_solutions.py)

Rounds alternate (bare, ours, bare, ours, ...) after a warm-up; each round's
throughput ratio ours / bare (output tokens per second) is printed, and their
median last (target >= 0.97): on a shared machine the speed drifts between
rounds by more than the effect measured, so the two runs of a round sit side
by side and the median drops the rounds a neighbour disturbed.

Default: the tiny random-weight CPU model built on the fly; --model_path runs
a real model (on a GPU machine, e.g. Qwen/Qwen2.5-Math-7B with --template
qwen25-math-cot --max_tokens 1024).

    python bench/generation_overhead.py [--problems 200] [--chunk_size 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cft.curate.eval_sets import MATH500


def grading_cpu(pool) -> float:
    """CPU seconds (user + system) the grading pool's worker processes have used so far."""
    import psutil

    total = 0.0
    for pid in list(pool._processes):  # ProcessPoolExecutor keeps no public list of its workers
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help="default: a tiny CPU model built in a temp folder")
    ap.add_argument("--template", default="fewshot-boxed")
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--chunk_size", type=int, default=50)
    ap.add_argument("--num_samples", type=int, default=8)
    ap.add_argument("--max_tokens", type=int, default=64)
    ap.add_argument("--max_model_len", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--grading_workers", type=int, default=2)
    ap.add_argument("--enforce_eager", action="store_true")
    args = ap.parse_args()

    from cft.fixtures.tiny_model import build_tiny_model
    from cft.generate.plan import RunConfig, plan
    from cft.generate.run import run, start_grading_pool
    from cft.inference.engine import generate, load_llm, sampling_params
    from cft.records.models import get_model, get_template

    work = Path(tempfile.mkdtemp(prefix="gen_overhead_"))
    model_path = args.model_path or str(build_tiny_model(work / "tiny"))
    rows = [json.loads(line) for line in MATH500.read_text().splitlines() if line.strip()]
    rows = (rows * (args.problems // len(rows) + 1))[: args.problems]
    inp = work / "input.json"
    inp.write_text(json.dumps([{"problem": r["problem"], "answer": r["answer"]} for r in rows]))
    max_model_len = args.max_model_len or (4096 if args.model_path else 2048)

    def config(out: Path) -> RunConfig:
        return RunConfig(spec=get_model("qwen25"), model_path=model_path, input_file=inp, output_dir=out,
                         chunk_size=args.chunk_size, chunk_ids=None, num_samples=args.num_samples,
                         temperature=0.7, top_p=0.95, max_tokens=args.max_tokens, seed=0,
                         prompt_template=args.template, max_model_len=max_model_len)

    pool = start_grading_pool(args.grading_workers)  # as generate_solutions.py: warmed while the engine loads
    llm = load_llm(model_path, seed=0, max_model_len=max_model_len, enforce_eager=args.enforce_eager)
    params = sampling_params(n=args.num_samples, temperature=0.7, top_p=0.95, max_tokens=args.max_tokens,
                             stop=list(get_template(args.template).stop))
    jobs = plan(config(work / "probe")).todo
    generate(llm, jobs[0].prompts[:8], params, progress=False)  # warm-up

    rounds = []  # (bare tok/s, ours tok/s) of each round: the two runs of a round are adjacent in time
    shares = []  # grading workers' CPU seconds / (wall seconds x cores) of each "ours" run
    for r in range(args.rounds):
        t0 = time.perf_counter()
        tokens = sum(s.num_tokens for job in jobs for ss in generate(llm, job.prompts, params, progress=False)
                     for s in ss)
        bare = tokens / (time.perf_counter() - t0)

        out = work / f"round{r}"
        work_plan = plan(config(out))
        cpu0 = grading_cpu(pool)
        t0 = time.perf_counter()
        reports = run(work_plan, llm, params, grading_workers=args.grading_workers, log=lambda *_: None,
                      pool=pool).reports
        wall = time.perf_counter() - t0
        ours = sum(rep.output_tokens for rep in reports) / wall
        grading_share = (grading_cpu(pool) - cpu0) / (wall * (os.cpu_count() or 1))
        assert len(list(out.glob("*.json"))) == len(jobs)
        rounds.append((bare, ours))
        shares.append(grading_share)
        print(f"round {r}: bare {bare:7.0f} tok/s, generate_solutions path {ours:7.0f} tok/s, "
              f"ratio {ours / bare:.3f}; grading used {grading_share:.1%} of the machine's CPU time",
              flush=True)

    ratios = sorted(ours / bare for bare, ours in rounds)
    median = statistics.median(ratios)
    print(f"model {model_path}; {args.problems} problems x {args.num_samples} samples, "
          f"{len(jobs)} chunks, {args.rounds} rounds")
    print(f"bare LLM.generate      : {statistics.median(b for b, _ in rounds):9.0f} output tok/s (median)")
    print(f"generate_solutions path: {statistics.median(o for _, o in rounds):9.0f} output tok/s (median)")
    print(f"round ratios: {' '.join(f'{x:.3f}' for x in ratios)}")
    print(f"grading workers' share of the machine's CPU time during the runs: median {statistics.median(shares):.1%}")
    print(f"throughput ratio ours / bare, median of rounds: {median:.3f} (target >= 0.97)")
    pool.shutdown()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
