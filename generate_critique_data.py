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

from cft.common import cli, paths
from cft.common.jsonio import refuse_overwrite
from cft.common.summary import Summary, pct
from cft.critic.critique_rows import write_critique
from cft.critic.prompt_budget import PromptCounter, length_summary
from cft.records.models import add_register_flag, register_from_args


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
    add_register_flag(parser)
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    register_from_args(args)
    refuse_overwrite(args.output_file, args.overwrite)
    counter = PromptCounter(args.tokenizer) if args.tokenizer else None
    n, stats = write_critique(args.filtered_file, args.output_file, args.max_samples_per_question, args.seed,
                              args.include_truncated, args.include_disputed, counter, args.max_prompt_tokens)

    s = Summary("critique", "critique data")
    s.row("problems", stats.problems, key="problems")
    s.row("critique rows", n, key="rows", headline=True)
    for target in ("right", "wrong"):
        s.row(target, pct(stats.targets[target], n), headline=True)
    s.fact("targets", stats.targets).fact("by_model", stats.by_model)
    s.fact("draw", {"max_samples_per_question": args.max_samples_per_question, "seed": args.seed,
                    "include_truncated": args.include_truncated, "include_disputed": args.include_disputed})
    s.row("skipped truncated", stats.skipped_truncated, key="skipped_truncated")
    s.row("skipped duplicate text", stats.skipped_duplicate, key="skipped_duplicate")
    s.row("held back disputed", sum(stats.skipped_disputed.values()), key="held_back_disputed",
          value=stats.skipped_disputed)
    for reason, count in stats.skipped_disputed.most_common():
        s.row(f"  disputed: {reason}", count)
    per_problem = {f"{r}R/{w}W": c for (r, w), c in sorted(stats.per_problem.items())}
    s.fact("rows_per_problem", per_problem).fact("problems_without_rows", stats.no_rows)
    if args.analyze:
        for model, counts in sorted(stats.by_model.items()):
            total = sum(counts.values())
            s.row(model, f"{total} rows, right {pct(counts['right'], total)}, wrong {pct(counts['wrong'], total)}")
        s.row("rows per problem (right/wrong)", " ".join(f"{k}:{v}" for k, v in per_problem.items()))
        s.row("problems with no usable row", stats.no_rows)
    else:
        s.row("per model", ", ".join(f"{m} {sum(c.values())}" for m, c in sorted(stats.by_model.items())))
    lengths = length_summary(stats.prompt_lengths, stats.length_unit)
    s.fact("prompt_lengths", lengths).fact("tokenizer", args.tokenizer)
    s.fact("max_prompt_tokens", args.max_prompt_tokens)
    budget_lines(s, stats, lengths, args.max_prompt_tokens)
    s.fact("elapsed_s", round(time.perf_counter() - t0, 3))
    s.wrote(args.output_file)
    s.emit(args.summary_json)


def budget_lines(s: Summary, stats, lengths: dict, budget: int | None) -> None:
    """Prompt lengths, and with a budget what it removed and how it moved the label mix."""
    unit = lengths["unit"]
    if not lengths["rows"]:
        return
    s.row(f"prompt {unit} min/median/p90/max",
          f"{lengths['min']}/{lengths['median']}/{lengths['p90']}/{lengths['max']}")
    if budget is None:
        over = ", ".join(f"{t}: {c}" for t, c in lengths["over"].items())
        s.row(f"rows over N {unit}", over + ("" if unit == "tokens" else
                                              "  (characters; --tokenizer counts tokens as verl does)"))
        return
    removed = sum(stats.over_budget.values())
    s.row("prompt budget", f"{budget} tokens: {removed} solutions over it, not drawn", headline=True)
    for model in sorted({m for m, _ in stats.over_budget}):
        s.row(f"  over budget, {model}",
              ", ".join(f"{t} {stats.over_budget[(model, t)]}" for t in ("right", "wrong")))
    before = stats.unbudgeted
    s.row("without the budget", f"{before.rows} rows, right {pct(before.targets['right'], before.rows)}, "
                                f"wrong {pct(before.targets['wrong'], before.rows)}")
    s.row("with the budget", f"{stats.rows} rows, right {pct(stats.targets['right'], stats.rows)}, "
                             f"wrong {pct(stats.targets['wrong'], stats.rows)}")
    s.fact("over_budget", [{"model": m, "target": t, "solutions": c}
                           for (m, t), c in sorted(stats.over_budget.items())])
    s.fact("without_budget", {"rows": before.rows, "targets": dict(before.targets),
                              "problems_with_rows": before.problems - before.no_rows})


if __name__ == "__main__":
    cli.run(main)
