#!/usr/bin/env python3
"""Step 3: keep the problems whose solutions disagree.

A problem is removed when both models got all samples right, or both got all
wrong; every other problem is kept, with every original field plus each
model's solutions, counts and the four all-correct/all-wrong flags. Prints
kept/removed counts by reason and each model's pass-rate distribution;
--analyze also writes a histogram PNG beside the output.

Pass-rate band: --min_pass_rate / --max_pass_rate also remove a problem whose pooled pass
rate (correct samples of both models over all their samples) lies outside the band (inclusive);
with --per_model each model's own rate must lie in it. E.g. 0.2-0.8 keeps PRIME's band.
"""

import time
from pathlib import Path

from cft import cli, paths
from cft.errors import CftError
from cft.filter import filter_files
from cft.inputs import load_rows
from cft.jsonio import refuse_overwrite, sha256_file
from cft.pass_band import ABOVE_MAX, BELOW_MIN, PassBand
from cft.report import file_line, histogram_line, pct, print_summary


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--qwen25_file", default=str(paths.merged_file("qwen25")), help="merged qwen25 solutions")
    parser.add_argument("--qwen3_file", default=str(paths.merged_file("qwen3")), help="merged qwen3 solutions")
    parser.add_argument("--original_file", default=str(paths.INPUT_FILE), help="the input problem set")
    parser.add_argument("--output_file", default=str(paths.FILTERED_FILE), help="kept problems")
    parser.add_argument("--allow_partial", action="store_true",
                        help="drop problems missing from a model's file instead of stopping")
    parser.add_argument("--analyze", action="store_true",
                        help="also write <output>_analysis.png and <output>_label_report.md")
    parser.add_argument("--min_pass_rate", type=float, default=0.0,
                        help="also remove problems whose pooled pass rate (both models) is below this")
    parser.add_argument("--max_pass_rate", type=float, default=1.0,
                        help="also remove problems whose pooled pass rate (both models) is above this")
    parser.add_argument("--per_model", action="store_true",
                        help="apply --min/--max_pass_rate to each model's pass rate instead of the pooled one")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    band = PassBand(args.min_pass_rate, args.max_pass_rate, args.per_model)
    if args.per_model and band.is_open:
        raise CftError("--per_model needs --min_pass_rate or --max_pass_rate")
    band = None if band.is_open else band
    refuse_overwrite(args.output_file, args.overwrite)
    original = load_rows(args.original_file)
    sha = sha256_file(args.original_file)
    files = {"qwen25": args.qwen25_file, "qwen3": args.qwen3_file}
    kept, stats = filter_files(original, files, args.output_file, args.allow_partial, args.original_file, sha,
                               band)
    outputs = [args.output_file]

    summary = [("problems in", stats.total), ("kept", pct(kept, stats.total))]
    for reason in ("both_all_correct", "both_all_wrong", BELOW_MIN, ABOVE_MAX, "missing"):
        if stats.reasons[reason] or reason in ("both_all_correct", "both_all_wrong") or \
                (band and reason in (BELOW_MIN, ABOVE_MAX)):
            summary.append((f"removed: {reason}", pct(stats.reasons[reason], stats.total)))
    for alias in stats.aliases:
        summary.append((f"{alias} correct-of-{stats.num_samples.get(alias, 0)}, all",
                        histogram_line(stats.hist_all[alias])))
        summary.append((f"{alias} correct-of-{stats.num_samples.get(alias, 0)}, kept",
                        histogram_line(stats.hist_kept[alias])))
    summary.append((f"pooled correct-of-{stats.pooled_samples}, all", histogram_line(stats.pooled_all)))
    summary.append((f"pooled correct-of-{stats.pooled_samples}, kept", histogram_line(stats.pooled_kept)))
    if band:
        n = stats.num_samples.get(stats.aliases[0], 0) if band.per_model else stats.pooled_samples
        summary.append(("band (" + ("each model" if band.per_model else "pooled") + ")", band.describe(n)))
    labels = None
    if args.analyze:
        from cft.label_report import LabelReport
        from cft.plots import plot_pass_rates

        png = Path(args.output_file).with_name(Path(args.output_file).stem + "_analysis.png")
        plot_pass_rates(stats, png)
        summary.append(("plot", file_line(png)))
        labels = LabelReport.from_files(files.items())
        report = labels.write(png.with_name(Path(args.output_file).stem + "_label_report.md"))
        label_rows = labels.summary_rows(report)
        summary += label_rows
        outputs += [png, report]
    summary.append(("wrote", file_line(args.output_file)))
    print_summary("filter", summary, args.summary_json, {
        "elapsed_s": round(time.perf_counter() - t0, 3), "problems_in": stats.total, "kept": kept,
        "removed": {reason: n for reason, n in stats.reasons.items() if reason != "kept"},
        "num_samples": stats.num_samples, "correct_hist_all": stats.hist_all, "correct_hist_kept": stats.hist_kept,
        "pooled_samples": stats.pooled_samples, "pooled_correct_all": stats.pooled_all,
        "pooled_correct_kept": stats.pooled_kept,
        "band": {"min_pass_rate": band.min_rate, "max_pass_rate": band.max_rate, "per_model": band.per_model}
        if band else None,
        "labels": labels.data() if labels else None,
        "label_summary": label_rows if labels else None,  # the printed lines, for the pipeline's summary
        "outputs": outputs})


if __name__ == "__main__":
    cli.run(main)
