#!/usr/bin/env python3
"""Step 0: remove the problems that copy an evaluation problem (and, with --dedup, duplicates).

Each problem's text is normalised (whitespace, $, \\dfrac/\\frac, \\left/\\right, braces,
case) and compared with every problem of the evaluation sets by rapidfuzz's fuzz.ratio; a
score of --threshold or more removes it, and so does holding 90% of one's word 13-grams (a copy
inside a prompt; --ngram 0 turns this off). The shipped sets (data/eval/: MATH-500) are always
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

from cft import cli, paths
from cft.decontaminate import DEFAULT_EVAL_SETS, NGRAM, NGRAM_OVERLAP, clean, load_eval_sets
from cft.errors import CftError
from cft.inputs import load_rows
from cft.jsonio import refuse_overwrite, write_json_list
from cft.report import file_line, pct, print_summary

CLEAN_FILE = paths.DATA_DIR / "deepscaler_train_clean.json"


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--input_file", default=str(paths.INPUT_FILE), help="the problem set (a JSON list)")
    parser.add_argument("--output_file", default=str(CLEAN_FILE), help="the problems kept, rows unchanged")
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
    elapsed = time.perf_counter() - start

    summary = [("problems in", stats.total), ("kept", pct(stats.kept, stats.total))]
    for name, size in stats.eval_sets.items():
        summary.append((f"removed: matches {name}", f"{pct(stats.contaminated[name], stats.total)}"
                                                    f"  ({size} problems, fuzz.ratio >= {args.threshold:g}"
                                                    + (f" or {args.ngram}-gram overlap >= {args.ngram_overlap:g}"
                                                       if args.ngram else "") + ")"))
    if args.dedup:
        summary.append(("removed: duplicates", f"{pct(stats.duplicates, stats.total)}  (exact {stats.methods['exact']},"
                                               f" near {stats.methods['minhash']}, fuzz.ratio >= "
                                               f"{args.dedup_threshold:g} and same answer)"))
    timing = f"{stats.decontaminate_s:.1f} s"
    if args.dedup:
        timing += f", dedup {stats.dedup_s:.1f} s"
    summary += [("time: decontaminate", timing), ("report", file_line(report)), ("wrote", file_line(output))]
    print_summary("decontaminate", summary, json_path=args.summary_json, data={
        "problems_in": stats.total, "kept": stats.kept, "removed": stats.total - stats.kept,
        "contaminated": {name: stats.contaminated[name] for name in stats.eval_sets},
        "eval_sets": stats.eval_sets, "duplicates": stats.duplicates, "methods": dict(stats.methods),
        "threshold": args.threshold, "ngram": args.ngram, "dedup": args.dedup,
        "decontaminate_s": stats.decontaminate_s, "dedup_s": stats.dedup_s, "elapsed_s": elapsed,
        "report": report, "outputs": [output, report],
    })


if __name__ == "__main__":
    cli.run(main)
