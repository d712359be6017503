#!/usr/bin/env python3
"""Step 3: keep the problems whose solutions disagree.

A problem is removed when every model got all its samples right, or every model got all
wrong; every other problem is kept, with every original field plus, per model, its solutions,
its correct count and its all-correct/all-wrong flags. The models are the two built in
(--qwen25_file, --qwen3_file), or any number given as --solutions ALIAS=FILE .... Prints
kept/removed counts by reason and each model's pass-rate distribution; --analyze also writes
a histogram PNG and a label report beside the output.

Pass-rate band: --min_pass_rate / --max_pass_rate also remove a problem whose pooled pass
rate (correct samples of all models over all their samples) lies outside the band (inclusive);
with --per_model each model's own rate must lie in it. E.g. 0.2-0.8 keeps PRIME's band.
"""

import time
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import refuse_overwrite, sha256_file
from cft.common.summary import Summary, histogram_line, pct
from cft.curate.filter import ALL_CORRECT, ALL_WRONG, MISSING, filter_files
from cft.curate.pass_band import ABOVE_MAX, BELOW_MIN, PassBand
from cft.records.models import alias_map
from cft.records.problems import load_rows


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--solutions", nargs="+", default=[], metavar="ALIAS=FILE",
                        help="each model's merged solutions (any number of models; default: the two below)")
    parser.add_argument("--qwen25_file", default=str(paths.merged_file("qwen25")), help="merged qwen25 solutions")
    parser.add_argument("--qwen3_file", default=str(paths.merged_file("qwen3")), help="merged qwen3 solutions")
    parser.add_argument("--original_file", default=str(paths.INPUT_FILE), help="the input problem set")
    parser.add_argument("--output_file", default=str(paths.FILTERED_FILE), help="kept problems")
    parser.add_argument("--allow_partial", action="store_true",
                        help="drop problems missing from a model's file instead of stopping")
    parser.add_argument("--analyze", action="store_true",
                        help="also write <output>_analysis.png and <output>_label_report.md")
    parser.add_argument("--min_pass_rate", type=float, default=0.0,
                        help="also remove problems whose pooled pass rate (all models) is below this")
    parser.add_argument("--max_pass_rate", type=float, default=1.0,
                        help="also remove problems whose pooled pass rate (all models) is above this")
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
    files = alias_map(args.solutions, "--solutions") if args.solutions else \
        {"qwen25": args.qwen25_file, "qwen3": args.qwen3_file}
    refuse_overwrite(args.output_file, args.overwrite)
    original = load_rows(args.original_file)
    sha = sha256_file(args.original_file)
    kept, stats = filter_files(original, files, args.output_file, args.allow_partial, args.original_file, sha,
                               band)

    s = Summary("filter")
    s.row("problems in", stats.total, key="problems_in", headline=True)
    s.row("kept", pct(kept, stats.total), key="kept", value=kept, headline=True)
    for reason in (ALL_CORRECT, ALL_WRONG, BELOW_MIN, ABOVE_MAX, MISSING):
        if stats.reasons[reason] or reason in (ALL_CORRECT, ALL_WRONG) or (band and reason in (BELOW_MIN, ABOVE_MAX)):
            s.row(f"removed: {reason}", pct(stats.reasons[reason], stats.total), headline=True)
    s.fact("removed", {reason: n for reason, n in stats.reasons.items() if reason != "kept"})
    for alias in stats.aliases:
        n = stats.num_samples.get(alias, 0)
        s.row(f"{alias} correct-of-{n}, all", histogram_line(stats.hist_all[alias]))
        s.row(f"{alias} correct-of-{n}, kept", histogram_line(stats.hist_kept[alias]))
    s.row(f"pooled correct-of-{stats.pooled_samples}, all", histogram_line(stats.pooled_all))
    s.row(f"pooled correct-of-{stats.pooled_samples}, kept", histogram_line(stats.pooled_kept))
    s.fact("models", list(stats.aliases)).fact("num_samples", stats.num_samples)
    s.fact("correct_hist_all", stats.hist_all).fact("correct_hist_kept", stats.hist_kept)
    s.fact("pooled_samples", stats.pooled_samples).fact("pooled_correct_all", stats.pooled_all)
    s.fact("pooled_correct_kept", stats.pooled_kept)
    s.fact("band", {"min_pass_rate": band.min_rate, "max_pass_rate": band.max_rate, "per_model": band.per_model}
           if band else None)
    if band:
        n = stats.num_samples.get(stats.aliases[0], 0) if band.per_model else stats.pooled_samples
        s.row("band (" + ("each model" if band.per_model else "pooled") + ")", band.describe(n))
    labels = None
    if args.analyze:
        from cft.curate.plots import plot_pass_rates
        from cft.grading.label_report import LabelReport

        stem = Path(args.output_file).stem
        png = plot_pass_rates(stats, Path(args.output_file).with_name(stem + "_analysis.png"))
        s.wrote(png, "plot", headline=False)
        labels = LabelReport.from_files(files.items())
        report = labels.write(png.with_name(stem + "_label_report.md"))
        for label, text in labels.summary_rows():
            s.row(label, text, headline=True)
        s.wrote(report, "label report")
    s.fact("labels", labels.data() if labels else None)
    s.fact("elapsed_s", round(time.perf_counter() - t0, 3))
    s.wrote(args.output_file)
    s.emit(args.summary_json)


if __name__ == "__main__":
    cli.run(main)
