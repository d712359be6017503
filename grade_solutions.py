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

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.oserrors import check_writable
from cft.common.workers import default_workers
from cft.grading import DEFAULT_TIMEOUT_S, grading_pool
from cft.grading.disputes import ALL_SIGNALS, SIGNALS
from cft.grading.label_report import LabelReport
from cft.grading.regrade import RegradeStats, input_files, regrade_file
from cft.grading.report import grade_summary
from cft.inference.spec import BackendSpec, add_backend_arguments
from cft.records.models import DEFAULT_MODELS, get_model


def main():
    p = cli.parser(__doc__)
    p.add_argument("--input_dir", nargs="+", default=[], help="folders of chunk files to re-grade")
    p.add_argument("--input_file", nargs="+", default=[], help="merged solutions files to re-grade")
    p.add_argument("--workers", type=int, default=default_workers(), help="grading processes")
    p.add_argument("--timeout_s", type=float, default=DEFAULT_TIMEOUT_S, help="grading deadline per solution")
    p.add_argument("--signals", nargs="*", default=list(SIGNALS), choices=ALL_SIGNALS,
                   help="dispute signals to check (none: no disputes)")
    p.add_argument("--force", action="store_true", help="re-grade files already graded by this grader version")
    add_backend_arguments(p, "judge", defaults={"max_model_len": 2048}, title="the LLM judge", model_help=(
        "an LLM (local path or hub id, run by vLLM; with --judge_server_url, the served name) asked about the "
        "flagged verdicts"))
    p.add_argument("--report", default=None,
                   help="label report, Markdown (default: label_report.md beside the first input; vLLM's own output "
                        "of a local judge goes to logs/engine_judge.log beside it)")
    p.add_argument("--seed", type=int, default=0, help="seed of the report's random sample")
    p.add_argument("--examples", type=int, default=10, help="changed verdicts to print")
    cli.add_summary_json(p)
    args = p.parse_args()

    if not args.input_dir and not args.input_file:
        defaults = [paths.merged_file(get_model(name).alias) for name in DEFAULT_MODELS]
        args.input_file = [str(f) for f in defaults if f.exists()]
        if not args.input_file:
            raise CftError("nothing to grade: give --input_dir or --input_file (no merged files in cft_data/)")
    if args.workers < 1:
        raise CftError(f"--workers must be at least 1, got {args.workers}")
    files = input_files(args.input_dir, args.input_file)
    # the report beside the data, and a place to write it, before any file is re-graded (one step, one commit)
    first = Path(args.input_dir[0]) / "x" if args.input_dir else Path(args.input_file[0])
    report_file = Path(args.report) if args.report else paths.beside(first.parent, "label_report.md") \
        if args.input_dir else paths.beside(first, "label_report.md")
    check_writable(report_file, "--report")

    judge_spec = BackendSpec.from_args(args, "judge")
    if judge_spec.kind == "server" and judge_spec.served_model_name is None:
        judge_spec.served_model_name = judge_spec.model
    asked = judge_spec.model or judge_spec.server_url
    if asked:
        judge_spec.check()
    judge = None
    if asked:
        from cft.grading.judge import Judge

        judge = Judge(judge_spec, engine_log=paths.logs_beside(report_file) / "engine_judge.log")

    stats, report = RegradeStats(), LabelReport(args.seed)
    t0 = time.perf_counter()
    with grading_pool(args.workers) as pool:
        for path in files:
            regrade_file(path, pool, stats, report, args.timeout_s, args.signals, judge, args.force)
    elapsed = time.perf_counter() - t0
    report_path = report.write(report_file)

    s = grade_summary(stats, report, report_path, judge, args.examples, args.workers, elapsed)
    s.emit(args.summary_json, beside=report_file)


if __name__ == "__main__":
    cli.run(main)
