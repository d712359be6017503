"""Generation overhead: generate_solutions.py's path against a bare LLM.generate, one engine, one run.

Same prompts, same sampling parameters, same engine:

  bare   LLM.generate on each chunk's prompts, outputs discarded
  ours   cft.generation.run: the same generate call per chunk, plus grading in a
         process pool and the atomic chunk-file writes in a background thread
         (the pool starts while the engine loads, as in generate_solutions.py)

Rounds alternate (bare, ours, bare, ours, ...) after a warm-up, and the
throughput ratio ours / bare (output tokens per second) is printed last;
target >= 0.97. Default: the tiny random-weight CPU model built on the fly;
--model_path runs a real model (on a GPU machine, e.g. Qwen/Qwen2.5-Math-7B
with --template qwen25-math-cot --max_tokens 1024).

    python bench/generation_overhead.py [--problems 200] [--chunk_size 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MATH500 = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "math500.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help="default: a tiny CPU model built in a temp folder")
    ap.add_argument("--template", default="fewshot-boxed")
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--chunk_size", type=int, default=50)
    ap.add_argument("--num_samples", type=int, default=8)
    ap.add_argument("--max_tokens", type=int, default=64)
    ap.add_argument("--max_model_len", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--grading_workers", type=int, default=2)
    ap.add_argument("--enforce_eager", action="store_true")
    args = ap.parse_args()

    from cft.engine import generate, load_llm, sampling_params
    from cft.generation import RunConfig, plan, run, start_grading_pool
    from cft.models import get_model, get_template
    from cft.tiny_model import build_tiny_model

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

    bare_t = bare_tok = ours_t = ours_tok = 0.0
    for r in range(args.rounds):
        t0 = time.perf_counter()
        for job in jobs:
            bare_tok += sum(s.num_tokens for ss in generate(llm, job.prompts, params, progress=False) for s in ss)
        bare_t += time.perf_counter() - t0

        out = work / f"round{r}"
        work_plan = plan(config(out))
        t0 = time.perf_counter()
        reports = run(work_plan, llm, params, grading_workers=args.grading_workers, log=lambda *_: None,
                      pool=pool)
        ours_t += time.perf_counter() - t0
        ours_tok += sum(rep.output_tokens for rep in reports)
        assert len(list(out.glob("*.json"))) == len(jobs)

    bare_tps, ours_tps = bare_tok / bare_t, ours_tok / ours_t
    print(f"model {model_path}; {args.problems} problems x {args.num_samples} samples, "
          f"{len(jobs)} chunks, {args.rounds} rounds each")
    print(f"bare LLM.generate      : {bare_tps:9.0f} output tok/s ({bare_tok:.0f} tokens, {bare_t:.1f} s)")
    print(f"generate_solutions path: {ours_tps:9.0f} output tok/s ({ours_tok:.0f} tokens, {ours_t:.1f} s)")
    print(f"throughput ratio ours / bare: {ours_tps / bare_tps:.3f} (target >= 0.97)")
    pool.shutdown()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
