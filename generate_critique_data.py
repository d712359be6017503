#!/usr/bin/env python3
"""Step 4: turn graded solutions into right/wrong critique rows.

For each kept problem, draws up to --max_samples_per_question solutions from
both models (seeded), balanced between right and wrong where the problem has
both, never the same solution twice, and writes one critique row each: the
fixed critique instruction, the question and the student's solution.
Truncated solutions are skipped unless --include_truncated.

With --tokenizer (the policy model's folder) and --max_prompt_tokens N, rows are drawn only
from solutions whose critique prompt fits N tokens, counted as verl's RLHFDataset counts them
(the chat template with a generation prompt): set verl's data.max_prompt_length to N and it
keeps every row. The summary shows what the budget removed, by label and model, and the label
mix with and without it. Without a budget it shows the prompt lengths (tokens with
--tokenizer, characters without) and how many rows exceed 1024, 2048 and 4096.
"""
import time

from cft import cli, paths
from cft.critique import write_critique
from cft.jsonio import refuse_overwrite
from cft.prompt_budget import PromptCounter, length_summary
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
    parser.add_argument("--tokenizer", default=None,
                        help="tokenizer (model folder) of the model verl will train: prompt lengths in its tokens")
    parser.add_argument("--max_prompt_tokens", type=int, default=None,
                        help="draw only solutions whose critique prompt fits this many tokens "
                             "(verl's data.max_prompt_length; needs --tokenizer)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    refuse_overwrite(args.output_file, args.overwrite)
    counter = PromptCounter(args.tokenizer) if args.tokenizer else None
    n, stats = write_critique(args.filtered_file, args.output_file, args.max_samples_per_question, args.seed,
                              args.include_truncated, args.include_disputed, counter, args.max_prompt_tokens)

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
    lengths = length_summary(stats.prompt_lengths, stats.length_unit)
    summary += budget_lines(stats, lengths, args.max_prompt_tokens)
    summary.append(("wrote", file_line(args.output_file)))
    data = {"elapsed_s": round(time.perf_counter() - t0, 3), "problems": stats.problems, "rows": n,
            "targets": stats.targets, "by_model": stats.by_model,
            "rows_per_problem": {f"{r}R/{w}W": c for (r, w), c in sorted(stats.per_problem.items())},
            "problems_without_rows": stats.no_rows, "skipped_truncated": stats.skipped_truncated,
            "skipped_duplicate": stats.skipped_duplicate, "held_back_disputed": stats.skipped_disputed,
            "prompt_lengths": lengths, "tokenizer": args.tokenizer, "max_prompt_tokens": args.max_prompt_tokens,
            "outputs": [args.output_file]}
    if stats.unbudgeted is not None:
        data["over_budget"] = [{"model": m, "target": t, "solutions": c}
                               for (m, t), c in sorted(stats.over_budget.items())]
        data["without_budget"] = {"rows": stats.unbudgeted.rows, "targets": dict(stats.unbudgeted.targets),
                                  "problems_with_rows": stats.unbudgeted.problems - stats.unbudgeted.no_rows}
    print_summary("critique data", summary, args.summary_json, data)


def budget_lines(stats, lengths: dict, budget: int | None) -> list[tuple[str, object]]:
    """Prompt lengths, and with a budget what it removed and how it moved the label mix."""
    unit = lengths["unit"]
    if not lengths["rows"]:
        return []
    lines = [(f"prompt {unit} min/median/p90/max",
              f"{lengths['min']}/{lengths['median']}/{lengths['p90']}/{lengths['max']}")]
    if budget is None:
        over = ", ".join(f"{t}: {c}" for t, c in lengths["over"].items())
        lines.append((f"rows over N {unit}", over + ("" if unit == "tokens" else
                                                     "  (characters; --tokenizer counts tokens as verl does)")))
        return lines
    removed = sum(stats.over_budget.values())
    lines.append(("prompt budget", f"{budget} tokens: {removed} solutions over it, not drawn"))
    for model in sorted({m for m, _ in stats.over_budget}):
        lines.append((f"  over budget, {model}", ", ".join(
            f"{t} {stats.over_budget[(model, t)]}" for t in ("right", "wrong"))))
    before = stats.unbudgeted
    lines.append(("without the budget", f"{before.rows} rows, right {pct(before.targets['right'], before.rows)}, "
                                         f"wrong {pct(before.targets['wrong'], before.rows)}"))
    lines.append(("with the budget", f"{stats.rows} rows, right {pct(stats.targets['right'], stats.rows)}, "
                                      f"wrong {pct(stats.targets['wrong'], stats.rows)}"))
    return lines


if __name__ == "__main__":
    cli.run(main)
