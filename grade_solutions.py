#!/usr/bin/env python3
"""Re-grade solutions files in place with the current grader, without a GPU.

Takes chunk files (--input_dir, every *_chunk_NNN.json of each folder) or
merged files (--input_file); with neither, the two merged files in cft_data/.
Each file is graded again in worker processes over all cores, the cheap
dispute signals are checked (a solution they doubt is marked "disputed" with
its "dispute_reason"), and the file is rewritten atomically under its name
with metadata.grading.version. A file already graded by this grader version
is skipped, so a killed run resumes where it stopped (--force redoes it).
Prints every verdict that changed (counts by old -> new grade, and examples)
and writes a label report (verdict counts, the most frequent incorrect
(answer, ground truth) pairs, a random sample of right and wrong verdicts).

--judge_model PATH asks an LLM through vLLM, for the flagged verdicts only,
whether the final answer matches the reference; a solution stays disputed
when the judge disagrees with the grader (or gives no clear answer).
"""

import time
from pathlib import Path

from cft import cli, paths
from cft.disputes import ALL_SIGNALS, SIGNALS
from cft.errors import CftError
from cft.grading import DEFAULT_TIMEOUT_S, GRADER_VERSION, grading_pool
from cft.label_report import LabelReport
from cft.merge import default_workers
from cft.regrade import RegradeStats, input_files, regrade_file
from cft.report import pct, print_summary


def main():
    p = cli.parser(__doc__)
    p.add_argument("--input_dir", nargs="+", default=[], help="folders of chunk files to re-grade")
    p.add_argument("--input_file", nargs="+", default=[], help="merged solutions files to re-grade")
    p.add_argument("--workers", type=int, default=default_workers(), help="grading processes")
    p.add_argument("--timeout_s", type=float, default=DEFAULT_TIMEOUT_S, help="grading deadline per solution")
    p.add_argument("--signals", nargs="*", default=list(SIGNALS), choices=ALL_SIGNALS,
                   help="dispute signals to check (none: no disputes)")
    p.add_argument("--force", action="store_true", help="re-grade files already graded by this grader version")
    p.add_argument("--judge_model", help="an LLM (local path or id) asked about the flagged verdicts, via vLLM")
    p.add_argument("--judge_max_model_len", type=int, default=2048, help="the judge's context length")
    p.add_argument("--judge_dtype", default="auto", help="the judge's dtype (float32 on CPUs without bf16)")
    p.add_argument("--judge_enforce_eager", action="store_true", help="no CUDA graphs / torch.compile for the judge")
    p.add_argument("--report", default=str(paths.DATA_DIR / "label_report.md"), help="label report (Markdown)")
    p.add_argument("--seed", type=int, default=0, help="seed of the report's random sample")
    p.add_argument("--examples", type=int, default=10, help="changed verdicts to print")
    cli.add_summary_json(p)
    args = p.parse_args()

    if not args.input_dir and not args.input_file:
        args.input_file = [str(f) for f in (paths.merged_file("qwen25"), paths.merged_file("qwen3")) if f.exists()]
        if not args.input_file:
            raise CftError("nothing to grade: give --input_dir or --input_file (no merged files in cft_data/)")
    if args.workers < 1:
        raise CftError(f"--workers must be at least 1, got {args.workers}")
    files = input_files(args.input_dir, args.input_file)

    judge = None
    if args.judge_model:
        from cft.judge import Judge

        judge = Judge(args.judge_model, max_model_len=args.judge_max_model_len, dtype=args.judge_dtype,
                      enforce_eager=args.judge_enforce_eager, seed=args.seed)

    stats, report = RegradeStats(), LabelReport(args.seed)
    t0 = time.perf_counter()
    with grading_pool(args.workers) as pool:
        for path in files:
            regrade_file(path, pool, stats, report, args.timeout_s, args.signals, judge, args.force)
    elapsed = time.perf_counter() - t0
    report_path = report.write(args.report)

    rows = [("grader version", GRADER_VERSION), ("files re-graded", len(stats.files)),
            ("files skipped (already current)", len(stats.skipped)), ("problems", stats.problems),
            ("solutions", stats.solutions), ("verdicts changed", pct(stats.changed, stats.solutions))]
    for (old, new), count in sorted(stats.changes.items(), key=lambda kv: -kv[1]):
        if old != new:
            rows.append((f"  {old} -> {new}", count))
    for ex in stats.examples[:args.examples]:
        rows.append((f"  e.g. {Path(ex['file']).name} #{ex['index']}.{ex['solution']}",
                     f"{ex['old']} -> {ex['new']}: {ex['old_answer']!r} -> {ex['new_answer']!r} "
                     f"(truth {ex['ground_truth']!r})"))
    rows.append(("disputed", pct(stats.disputed_solutions, stats.solutions)))
    for reason, count in stats.disputed.most_common():
        rows.append((f"  {reason}", count))
    if judge is not None:
        per_k = 1000 * stats.judge_s / stats.judged if stats.judged else 0.0
        rows.append(("judged", f"{stats.judged} in {stats.judge_s:.1f} s ({per_k:.1f} s per 1000): "
                     + ", ".join(f"{v} {c}" for v, c in stats.judge_verdicts.most_common())))
    rows += report.summary_rows(report_path)
    rate = stats.solutions / stats.grade_s if stats.grade_s else 0.0
    rows.append(("time", f"{elapsed:.1f} s ({rate:.0f} solutions/s, {args.workers} workers)"))
    print_summary("grade", rows, json_path=args.summary_json, data={
        "grader_version": GRADER_VERSION, "files": stats.files, "skipped": stats.skipped,
        "problems": stats.problems, "solutions": stats.solutions, "changed": stats.changed,
        "changes": {f"{old}->{new}": c for (old, new), c in stats.changes.items() if old != new},
        "examples": stats.examples, "disputed": stats.disputed_solutions, "disputed_by_reason": dict(stats.disputed),
        "judged": stats.judged, "judge_verdicts": dict(stats.judge_verdicts), "judge_s": stats.judge_s,
        "grade_s": stats.grade_s, "elapsed_s": elapsed, "labels": report.data(),
        "outputs": {"files": stats.files, "report": str(report_path)}})


if __name__ == "__main__":
    cli.run(main)
