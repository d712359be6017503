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

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import refuse_overwrite
from cft.curate.filter import filter_files, recorded_input
from cft.curate.pass_band import PassBand
from cft.curate.reports import filter_summary
from cft.records.models import alias_map
from cft.records.problems import input_sha256, load_rows


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--solutions", nargs="+", default=[], metavar="ALIAS=FILE",
                        help="each model's merged solutions (any number of models; default: the two below)")
    parser.add_argument("--qwen25_file", default=str(paths.merged_file("qwen25")), help="merged qwen25 solutions")
    parser.add_argument("--qwen3_file", default=str(paths.merged_file("qwen3")), help="merged qwen3 solutions")
    parser.add_argument("--original_file", default=None,
                        help="the problem set the solutions were generated from (default: the one their metadata "
                             f"names, step 0's clean file when generation read it; else {paths.INPUT_FILE})")
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
    if args.original_file is None:
        args.original_file = str(recorded_input(files) or paths.INPUT_FILE)
    original = load_rows(args.original_file)
    sha = input_sha256(args.original_file)
    kept, stats = filter_files(original, files, args.output_file, args.allow_partial, args.original_file, sha,
                               band)

    s = filter_summary(kept, stats, band, files, args.output_file, args.analyze, time.perf_counter() - t0)
    s.emit(args.summary_json, beside=args.output_file)


if __name__ == "__main__":
    cli.run(main)
