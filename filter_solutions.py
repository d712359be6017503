#!/usr/bin/env python3
"""Step 3: keep the problems whose solutions disagree.

A problem is removed when both models got all samples right, or both got all
wrong; every other problem is kept, with every original field plus each
model's solutions, counts and the four all-correct/all-wrong flags. Prints
kept/removed counts by reason and each model's pass-rate distribution;
--analyze also writes a histogram PNG beside the output.
"""

from pathlib import Path

from cft import cli, paths
from cft.filter import filter_files
from cft.inputs import load_rows
from cft.jsonio import refuse_overwrite, sha256_file
from cft.regions import default_workers
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
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="processes for large inputs (1: one process; the output is the same)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument("--summary_json", default=None, help="also write this summary as JSON")
    args = parser.parse_args()

    refuse_overwrite(args.output_file, args.overwrite)
    original = load_rows(args.original_file)
    sha = sha256_file(args.original_file)
    files = {"qwen25": args.qwen25_file, "qwen3": args.qwen3_file}
    kept, stats = filter_files(original, files, args.output_file, args.allow_partial, args.original_file, sha,
                               args.workers)

    summary = [("problems in", stats.total), ("kept", pct(kept, stats.total))]
    for reason in ("both_all_correct", "both_all_wrong", "missing"):
        if stats.reasons[reason] or reason != "missing":
            summary.append((f"removed: {reason}", pct(stats.reasons[reason], stats.total)))
    for alias in stats.aliases:
        summary.append((f"{alias} correct-of-{stats.num_samples.get(alias, 0)}, all",
                        histogram_line(stats.hist_all[alias])))
        summary.append((f"{alias} correct-of-{stats.num_samples.get(alias, 0)}, kept",
                        histogram_line(stats.hist_kept[alias])))
    data = {"problems": stats.total, "kept": kept, "removed": dict(stats.reasons),
            "outputs": {"filtered": args.output_file}}
    if args.analyze:
        from cft.plots import plot_pass_rates

        png = Path(args.output_file).with_name(Path(args.output_file).stem + "_analysis.png")
        plot_pass_rates(stats, png)
        summary.append(("plot", file_line(png)))
        from cft.label_report import LabelReport

        labels = LabelReport.from_files(files.items())
        report = labels.write(png.with_name(Path(args.output_file).stem + "_label_report.md"))
        summary += labels.summary_rows(report)
        data.update(labels=labels.data(), outputs={**data["outputs"], "plot": png, "label_report": report})
    summary.append(("wrote", file_line(args.output_file)))
    print_summary("filter", summary, json_path=args.summary_json, data=data)


if __name__ == "__main__":
    cli.run(main)
