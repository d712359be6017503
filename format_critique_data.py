#!/usr/bin/env python3
"""Step 5: turn critique rows into verl training rows.

Writes cft_data/deepscaler_critique_formatted.json and a .parquet beside it,
which verl's RL dataset loader reads as it is: the critique prompt as the user
turn, "right"/"wrong" as the rule-based reward's ground truth.
"""

import time
from collections import Counter
from pathlib import Path

from cft import cli, paths
from cft.jsonio import refuse_overwrite
from cft.report import file_line, pct, print_summary
from cft.verl_format import format_file


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--critique_file", default=str(paths.CRITIQUE_FILE), help="step 4 output")
    parser.add_argument("--output_file", default=str(paths.FORMATTED_FILE),
                        help="verl rows (JSON; the .parquet goes beside it)")
    parser.add_argument("--split", default="train", help="extra_info.split")
    parser.add_argument("--analyze", action="store_true", help="print label balance and prompt lengths")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    parquet = Path(args.output_file).with_suffix(".parquet")
    refuse_overwrite(args.output_file, args.overwrite)
    refuse_overwrite(parquet, args.overwrite)
    rows = format_file(args.critique_file, args.output_file, parquet, args.split)

    labels = Counter(r["answer"] for r in rows)
    summary = [("rows", len(rows)), ("right", pct(labels["right"], len(rows))),
               ("wrong", pct(labels["wrong"], len(rows)))]
    if args.analyze:
        lengths = sorted(r["prompt_chars"] for r in rows)
        summary.append(("prompt chars min/median/max",
                        f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}"))
        summary.append(("by source model", dict(Counter(r["source_model"] for r in rows))))
    summary += [("wrote", file_line(args.output_file)), ("wrote", file_line(parquet))]
    print_summary("verl rows", summary, args.summary_json, {
        "elapsed_s": round(time.perf_counter() - t0, 3), "rows": len(rows), "labels": labels,
        "by_source_model": Counter(r["source_model"] for r in rows), "outputs": [args.output_file, parquet]})


if __name__ == "__main__":
    cli.run(main)
