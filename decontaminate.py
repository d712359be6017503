#!/usr/bin/env python3
"""Step 0: remove the problems that copy an evaluation problem (and, with --dedup, duplicates).

Each problem's text is normalised (whitespace, $, \\dfrac/\\frac, \\left/\\right, braces,
case) and compared with every problem of the evaluation sets by rapidfuzz's fuzz.ratio; a score of
--threshold or more removes it, and so does holding 90% of one's word 13-grams (a copy inside a
prompt; --ngram 0 turns this off). The evaluation sets are the field's, by name (--eval_sets, default
all: math500, aime24, aime25, amc23, minerva, olympiadbench, gsm8k, processbench), read with
datasets.load_dataset from the Hugging Face cache (HF_HOME) or the Hub (HF_DATASETS_OFFLINE=1 keeps it
off the network); --against adds local sets (JSON list, JSONL, parquet or a dataset folder), and
--against NAME=PATH reads a named set from a local copy. A set that cannot be loaded stops the step
before any work, or with --skip_unavailable is left out and named in the summary as not checked.
--dedup also removes later copies of a problem within the input (same normalised text, or a MinHash
LSH candidate with fuzz.ratio of --dedup_threshold or more and the same answer), keeping the first.

The input is checked row by row first (a problem and a usable answer in each; a GSM8K-style answer
is read as its final value). The output holds the remaining rows unchanged and in order, so step 1's
indices refer to it; --source_index_field NAME adds each row's position in the input under NAME. The
report (a JSON list) names each removed row, its match, where the match is from and the score.
"""

import time
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import refuse_overwrite, write_json_list
from cft.curate.decontaminate import NGRAM, NGRAM_OVERLAP, clean, input_texts
from cft.curate.eval_sets.load import ALL, NONE, chosen, load_eval_sets
from cft.curate.eval_sets.registry import REGISTRY
from cft.curate.reports import decontaminate_summary
from cft.records.problems import FORMS, input_sha256, load_rows, worked_answers


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--input_file", default=str(paths.INPUT_FILE), help=f"the problem set: {FORMS}")
    parser.add_argument("--output_file", default=str(paths.CLEAN_FILE), help="the problems kept, rows unchanged")
    parser.add_argument("--report_file", default=None,
                        help="removed problems with their matches (default: <output stem>_removed.json)")
    parser.add_argument("--eval_sets", nargs="+", default=[ALL], metavar="NAME",
                        help=f"evaluation sets by name, read from the Hugging Face cache or Hub: {', '.join(REGISTRY)} "
                             f"({ALL}: every one, the default; {NONE}: only --against)")
    parser.add_argument("--against", nargs="+", default=[], metavar="[NAME=]PATH",
                        help="local evaluation sets (.json list, .jsonl, .parquet, a dataset folder); NAME=PATH "
                             "reads the named set of --eval_sets from a local copy")
    parser.add_argument("--skip_unavailable", action="store_true",
                        help="go on without a named set that cannot be loaded (the summary and the card then "
                             "say it was not checked)")
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
    if not chosen(args.eval_sets) and not args.against and not args.dedup:
        raise CftError(f"nothing to do: --eval_sets {NONE} without --against or --dedup")

    start = time.perf_counter()
    rows = load_rows(args.input_file)
    input_texts(rows, args.input_file)  # every row checked before anything slow
    selection = load_eval_sets(args.eval_sets, args.against, args.skip_unavailable)
    kept, removals, stats = clean(rows, selection.sets, args.input_file, args.threshold, args.ngram,
                                  args.ngram_overlap, args.dedup, args.dedup_threshold)
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

    s = decontaminate_summary(stats=stats, selection=selection, input_file=args.input_file,
                              input_sha256=input_sha256(args.input_file), worked_answers=worked_answers(rows),
                              threshold=args.threshold, ngram=args.ngram, ngram_overlap=args.ngram_overlap,
                              dedup=args.dedup, dedup_threshold=args.dedup_threshold, output=output, report=report,
                              elapsed_s=time.perf_counter() - start)
    s.emit(args.summary_json, beside=output)


if __name__ == "__main__":
    cli.run(main)
