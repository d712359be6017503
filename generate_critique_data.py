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
from cft.critic.critique_rows import write_critique
from cft.critic.prompt_budget import PromptCounter
from cft.critic.reports import critique_summary
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

    draw = {"max_samples_per_question": args.max_samples_per_question, "seed": args.seed,
            "include_truncated": args.include_truncated, "include_disputed": args.include_disputed}
    critique_summary(n, stats, draw, args.tokenizer, args.max_prompt_tokens, args.analyze, args.output_file,
                     time.perf_counter() - t0).emit(args.summary_json, beside=args.output_file)


if __name__ == "__main__":
    cli.run(main)
