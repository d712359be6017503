#!/usr/bin/env python3
"""Step 0: remove the problems that copy an evaluation problem (and, with --dedup, duplicates).

Each problem's text is normalised (whitespace, $, \\dfrac/\\frac, \\left/\\right, braces,
case) and compared with every problem of the evaluation sets by rapidfuzz's fuzz.ratio; a
score of --threshold or more removes it, and so does holding 90% of one's word 13-grams (a copy
inside a prompt; --ngram 0 turns this off). The shipped sets (cft/curate/eval_sets/: MATH-500) are always
used unless --no_default_sets; --against adds more (JSON list, JSONL or parquet, with the
problem in any input shape the pipeline accepts). --dedup also removes later copies of a
problem within the input (same normalised text, or a MinHash LSH candidate with fuzz.ratio of
--dedup_threshold or more and the same answer), keeping the first.

The output holds the remaining rows unchanged and in order, so step 1's indices refer to it;
--source_index_field NAME adds each row's position in the input under NAME. The report (a JSON
list) names each removed row, its match, where the match is from and the score.
"""

import time
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import refuse_overwrite, sha256_file, write_json_list
from cft.common.summary import Summary, pct
from cft.curate.decontaminate import NGRAM, NGRAM_OVERLAP, clean, load_eval_sets
from cft.curate.eval_sets import DEFAULT_EVAL_SETS
from cft.records.problems import load_rows


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--input_file", default=str(paths.INPUT_FILE), help="the problem set (a JSON list)")
    parser.add_argument("--output_file", default=str(paths.CLEAN_FILE), help="the problems kept, rows unchanged")
    parser.add_argument("--report_file", default=None,
                        help="removed problems with their matches (default: <output stem>_removed.json)")
    parser.add_argument("--against", nargs="+", default=[], metavar="FILE",
                        help="more evaluation sets (.json list, .jsonl, .parquet), beside the shipped ones")
    parser.add_argument("--no_default_sets", action="store_true",
                        help=f"do not use the shipped evaluation sets ({', '.join(p.name for p in DEFAULT_EVAL_SETS)})")
    parser.add_argument("--threshold", type=float, default=95.0,
                        help="fuzz.ratio (0-100) of normalised texts at or above which a problem is contaminated")
    parser.add_argument("--ngram", type=int, default=NGRAM,
                        help="also remove a problem holding --ngram_overlap of an evaluation problem's word "
                             "n-grams, e.g. a copy inside a prompt (0: off; bench/RESULTS.md has what it catches)")
    parser.add_argument("--ngram_overlap", type=float, default=NGRAM_OVERLAP, help="share of n-grams for --ngram")
    parser.add_argument("--dedup", action="store_true", help="also remove duplicates within the input")
    parser.add_argument("--dedup_threshold", type=float, default=95.0,
                        help="fuzz.ratio at or above which two problems with the same answer are duplicates")
    parser.add_argument("--source_index_field", default=None, metavar="NAME",
                        help="add each kept row's position in the input file under this field")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    if not 0 <= args.threshold <= 100 or not 0 <= args.dedup_threshold <= 100:
        raise CftError("--threshold and --dedup_threshold are fuzz.ratio scores between 0 and 100")
    if not 0 < args.ngram_overlap <= 1:
        raise CftError("--ngram_overlap is a share between 0 (exclusive) and 1")
    output = Path(args.output_file)
    report = Path(args.report_file) if args.report_file else output.with_name(output.stem + "_removed.json")
    if output.resolve() == Path(args.input_file).resolve():
        raise CftError(f"{output}: the output would replace the input; choose another --output_file")
    for path in (output, report):
        refuse_overwrite(path, args.overwrite)
    sets = [] if args.no_default_sets else list(DEFAULT_EVAL_SETS)
    eval_sets = load_eval_sets(sets + args.against)
    if not eval_sets and not args.dedup:
        raise CftError("nothing to do: --no_default_sets without --against or --dedup")

    start = time.perf_counter()
    rows = load_rows(args.input_file)
    kept, removals, stats = clean(rows, eval_sets, args.input_file, args.threshold, args.ngram, args.ngram_overlap,
                                  args.dedup, args.dedup_threshold)
    if not kept:
        raise CftError(f"{args.input_file}: every one of its {len(rows)} problems would be removed "
                       f"(first: row {removals[0].index} matches {removals[0].match_source} "
                       f"row {removals[0].match_index}); nothing written")
    if args.source_index_field:
        name = args.source_index_field
        out_rows = ({**rows[i], name: i} for i in kept)
    else:
        out_rows = (rows[i] for i in kept)
    write_json_list(output, out_rows)
    write_json_list(report, (r.row() for r in removals))

    s = Summary("decontaminate")
    s.row("problems in", stats.total, key="problems_in")
    s.row("kept", pct(stats.kept, stats.total), key="kept", value=stats.kept)
    s.fact("removed", stats.total - stats.kept)
    s.fact("input_file", args.input_file).fact("input_sha256", sha256_file(args.input_file))
    for name, size in stats.eval_sets.items():
        s.row(f"removed: matches {name}", f"{pct(stats.contaminated[name], stats.total)}  ({size} problems, "
              f"fuzz.ratio >= {args.threshold:g}"
              + (f" or {args.ngram}-gram overlap >= {args.ngram_overlap:g}" if args.ngram else "") + ")")
    s.fact("contaminated", {name: stats.contaminated[name] for name in stats.eval_sets})
    s.fact("eval_sets", stats.eval_sets)
    if args.dedup:
        s.row("removed: duplicates", f"{pct(stats.duplicates, stats.total)}  (exact {stats.methods['exact']}, near "
              f"{stats.methods['minhash']}, fuzz.ratio >= {args.dedup_threshold:g} and same answer)")
    s.fact("duplicates", stats.duplicates).fact("methods", dict(stats.methods))
    s.fact("threshold", args.threshold).fact("ngram", args.ngram).fact("dedup", args.dedup)
    s.fact("ngram_overlap", args.ngram_overlap).fact("dedup_threshold", args.dedup_threshold)
    why = [f"{n} match {name}" for name, n in s.facts["contaminated"].items()]
    why += [f"{stats.duplicates} duplicates"] if args.dedup else []
    s.brief("step 0 removed", f"{stats.total - stats.kept} of {stats.total} ({', '.join(why)}); list: {report}")
    s.row("time: decontaminate", f"{stats.decontaminate_s:.1f} s" + (f", dedup {stats.dedup_s:.1f} s"
                                                                      if args.dedup else ""))
    s.fact("decontaminate_s", stats.decontaminate_s).fact("dedup_s", stats.dedup_s)
    s.fact("elapsed_s", time.perf_counter() - start).fact("report", report)
    s.wrote(report, "report", headline=False).wrote(output, headline=False)
    s.emit(args.summary_json)


if __name__ == "__main__":
    cli.run(main)
