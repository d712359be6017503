#!/usr/bin/env python3
"""Step 5: turn critique rows into verl training rows.

Writes cft_data/deepscaler_critique_formatted.json and a .parquet beside it,
which verl's RL dataset loader reads as it is: the critique prompt as the user
turn, "right"/"wrong" as the rule-based reward's ground truth.

--val_size holds out whole problems (a fraction below 1, or a count), chosen with --seed: all
their rows go to <output>_val.json and _val.parquet (extra_info.split "val"), for verl's
data.val_files. --val_size 0 writes the training files only.
"""

import time
from collections import Counter
from pathlib import Path

from cft import cli, paths
from cft.jsonio import refuse_overwrite
from cft.report import file_line, pct, print_summary
from cft.split import DEFAULT_VAL_SIZE, format_split, val_path, val_size_arg
from cft.verl_format import format_file


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--critique_file", default=str(paths.CRITIQUE_FILE), help="step 4 output")
    parser.add_argument("--output_file", default=str(paths.FORMATTED_FILE),
                        help="verl rows (JSON; the .parquet goes beside it)")
    parser.add_argument("--split", default="train", help="extra_info.split of the training rows")
    parser.add_argument("--val_size", type=val_size_arg, default=DEFAULT_VAL_SIZE,
                        help="problems held out for validation: a fraction below 1, or a count (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out choice")
    parser.add_argument("--analyze", action="store_true", help="print label balance and prompt lengths")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    parquet = Path(args.output_file).with_suffix(".parquet")
    outputs = [Path(args.output_file), parquet]
    if args.val_size:
        outputs += [val_path(args.output_file), val_path(parquet)]
    for path in outputs:
        refuse_overwrite(path, args.overwrite)
    if args.val_size:
        rows, val_rows, held = format_split(args.critique_file, args.output_file, parquet, args.val_size,
                                            args.seed, args.split)
    else:
        rows, val_rows, held = format_file(args.critique_file, args.output_file, parquet, args.split), [], set()

    labels = Counter(r["answer"] for r in rows)
    summary = [("rows", len(rows)), ("right", pct(labels["right"], len(rows))),
               ("wrong", pct(labels["wrong"], len(rows)))]
    if args.val_size:
        val_labels = Counter(r["answer"] for r in val_rows)
        problems = f"{len(held)} problem" + "s" * (len(held) != 1)
        summary.append(("held out (validation)", f"{problems}, {len(val_rows)} rows, right "
                        f"{pct(val_labels['right'], len(val_rows))}, wrong {pct(val_labels['wrong'], len(val_rows))}"
                        if held else "none (too few problems): no _val files written"))
    if args.analyze:
        lengths = sorted(r["prompt_chars"] for r in rows)
        summary.append(("prompt chars min/median/max",
                        f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}"))
        summary.append(("by source model", dict(Counter(r["source_model"] for r in rows))))
    written = outputs if held else outputs[:2]
    summary += [("wrote", file_line(p)) for p in written]
    print_summary("verl rows", summary, args.summary_json, {
        "elapsed_s": round(time.perf_counter() - t0, 3), "rows": len(rows), "targets": labels,
        "by_source_model": Counter(r["source_model"] for r in rows), "val_size": args.val_size, "seed": args.seed,
        "val_problems": len(held), "val_rows": len(val_rows), "val_targets": Counter(r["answer"] for r in val_rows),
        "outputs": written})


if __name__ == "__main__":
    cli.run(main)
