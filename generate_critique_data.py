#!/usr/bin/env python3
"""Step 4: turn graded solutions into right/wrong critique rows.

For each kept problem, draws up to --max_samples_per_question solutions from
both models (seeded), balanced between right and wrong where the problem has
both, never the same solution twice, and writes one critique row each: the
fixed critique instruction, the question and the student's solution.
Truncated solutions are skipped unless --include_truncated.
"""
import time

from cft import cli, paths
from cft.critique import write_critique
from cft.jsonio import refuse_overwrite
from cft.report import file_line, pct, print_summary


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--filtered_file", default=str(paths.FILTERED_FILE), help="step 3 output")
    parser.add_argument("--output_file", default=str(paths.CRITIQUE_FILE), help="critique rows")
    parser.add_argument("--max_samples_per_question", type=int, default=4, help="rows per problem at most")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw")
    parser.add_argument("--include_truncated", action="store_true",
                        help="also use solutions cut off at max_tokens")
    parser.add_argument("--include_disputed", action="store_true",
                        help="also use solutions whose verdict is disputed (see grade_solutions.py)")
    parser.add_argument("--analyze", action="store_true",
                        help="print the right/wrong ratio overall, per model and per problem")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    refuse_overwrite(args.output_file, args.overwrite)
    n, stats = write_critique(args.filtered_file, args.output_file, args.max_samples_per_question, args.seed,
                              args.include_truncated, include_disputed=args.include_disputed)

    summary = [
        ("problems", stats.problems),
        ("critique rows", n),
        ("right", pct(stats.targets["right"], n)),
        ("wrong", pct(stats.targets["wrong"], n)),
        ("skipped truncated", stats.skipped_truncated),
        ("skipped duplicate text", stats.skipped_duplicate),
        ("held back disputed", sum(stats.skipped_disputed.values())),
    ]
    summary += [(f"  disputed: {reason}", count) for reason, count in stats.skipped_disputed.most_common()]
    if args.analyze:
        for model, counts in sorted(stats.by_model.items()):
            total = sum(counts.values())
            summary.append((model, f"{total} rows, right {pct(counts['right'], total)}, wrong "
                                   + pct(counts["wrong"], total)))
        per_problem = {f"{r}R/{w}W": c for (r, w), c in sorted(stats.per_problem.items())}
        summary.append(("rows per problem (right/wrong)",
                        " ".join(f"{k}:{v}" for k, v in per_problem.items())))
        summary.append(("problems with no usable row", stats.no_rows))
    else:
        summary.append(("per model", ", ".join(
            f"{m} {sum(c.values())}" for m, c in sorted(stats.by_model.items()))))
    summary.append(("wrote", file_line(args.output_file)))
    print_summary("critique data", summary, args.summary_json, {
        "elapsed_s": round(time.perf_counter() - t0, 3), "problems": stats.problems, "rows": n,
        "targets": stats.targets, "by_model": stats.by_model,
        "rows_per_problem": {f"{r}R/{w}W": c for (r, w), c in sorted(stats.per_problem.items())},
        "problems_without_rows": stats.no_rows, "skipped_truncated": stats.skipped_truncated,
        "skipped_duplicate": stats.skipped_duplicate, "held_back_disputed": stats.skipped_disputed,
        "outputs": [args.output_file]})


if __name__ == "__main__":
    cli.run(main)
