"""grade_solutions.py on a synthetic merged file of N problems x 8 solutions (default 40,000 x 8).

The rows are bench/realistic_pool.py's: a competition set's problems (--problems_file, e.g. MATH-500)
cycled to N, each solution the problem's worked solution with a final sentence in a form models
write (right or wrong), mean about 600 characters. Every solution carries a
stale verdict ("incorrect", as if graded by an older grader), so every file
is re-graded. Prints the wall time, solutions per second and the changed
verdicts, for the dispute signals on (the default) and, with
``--no_signals_too``, off. Also the CPU time of the script and its workers:
on a shared machine the wall time depends on the neighbours, the CPU time
divided by the workers is what otherwise idle cores would take.

    python bench/regrade_scale.py --problems_file FILE [--problems 40000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import problem_file
from realistic_pool import build, load_problems

from cft.common.jsonio import write_results_file
from cft.records.solutions import result_row

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "regrade_scale"


def write_merged(path: Path, n: int, problems: list[dict]) -> int:
    cycled = [problems[i % len(problems)] for i in range(n)]
    rows, sols = build(cycled, 0, skill={"qwen25": 0.5})

    def results():
        for i, per in enumerate(sols["qwen25"]):
            records = [{"text": s["text"], "extracted_answer": None, "correct": False, "grade": "incorrect",
                        "finish_reason": s["finish_reason"], "num_tokens": len(s["text"]) // 4} for s in per]
            yield result_row(i, i, rows[i]["problem"], rows[i]["answer"], records)

    meta = {"model": "qwen-2.5-math-7b", "model_path": "synthetic", "num_samples": 8}
    return write_results_file(path, meta, results())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=40000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no_signals_too", action="store_true", help="also time a run without dispute signals")
    problem_file.add_argument(ap)
    args = ap.parse_args()
    problems = load_problems(args.problems_file)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"merged_{args.problems}x8.json"
    variants = [("signals on", [])] + ([("signals off", ["--signals"])] if args.no_signals_too else [])
    for name, extra in variants:
        t0 = time.perf_counter()
        write_merged(path, args.problems, problems)
        build_s = time.perf_counter() - t0
        summary = OUT / "summary.json"
        t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([sys.executable, str(ROOT / "grade_solutions.py"), "--input_file", str(path), "--workers",
                            str(args.workers), "--report", str(OUT / "label_report.md"), "--summary_json",
                            str(summary), *extra], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        if r.returncode:
            raise SystemExit(r.stderr[-3000:])
        data = json.loads(summary.read_text())
        print(f"{name}: {data['problems']} problems x 8 = {data['solutions']} solutions "
              f"({path.stat().st_size / 2**20:.0f} MB, built in {build_s:.0f} s): grade_solutions.py {wall:.0f} s wall "
              f"({data['solutions'] / wall:.0f} solutions/s, {args.workers} workers); changed {data['changed']}, "
              f"disputed {data['disputed']} {data['disputed_by_reason']}; CPU {cpu:.0f} s (script and workers): "
              f"{cpu / args.workers:.0f} s on {args.workers} otherwise idle cores, "
              f"{data['solutions'] / (cpu / args.workers):.0f} solutions/s", flush=True)


if __name__ == "__main__":
    main()
