#!/usr/bin/env python3
"""Step 5: turn critique rows into verl training rows.

Writes cft_data/deepscaler_critique_formatted.json and a .parquet beside it,
which verl's RL dataset loader reads as it is: the critique prompt as the user
turn, "right"/"wrong" as the rule-based reward's ground truth.

--val_size holds out whole problems (a fraction below 1, or a count), chosen with --seed: all
their rows go to <output>_val.json and _val.parquet (extra_info.split "val"), for verl's
data.val_files. --val_size 0 writes the training files only (and, with --overwrite, removes the
_val files of an earlier run, which would not belong with these).

All the files are written aside and renamed only once every one is whole: a failure (a full
disk) leaves the previous files or none, never a mix.
"""

import time
from collections import Counter
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import refuse_overwrite
from cft.common.summary import Summary, pct
from cft.critic.split import DEFAULT_VAL_SIZE, format_split, val_path, val_size_arg


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
    outputs = [Path(args.output_file), parquet, val_path(args.output_file), val_path(parquet)]
    for path in outputs[:2] if not args.val_size else outputs:
        refuse_overwrite(path, args.overwrite)
    stale = [p for p in outputs[2:] if p.exists()]
    if not args.val_size and stale and not args.overwrite:
        raise CftError(f"{stale[0]}: held-out rows of an earlier run, which would not belong with these "
                       "(--val_size 0); pass --overwrite to remove them")
    rows, val_rows, held = format_split(args.critique_file, args.output_file, parquet, args.val_size,
                                        args.seed, args.split)

    labels = Counter(r["answer"] for r in rows)
    s = Summary("format", "verl rows")
    s.row("rows", len(rows), key="rows")
    s.row("right", pct(labels["right"], len(rows)))
    s.row("wrong", pct(labels["wrong"], len(rows)))
    s.brief("training rows", len(rows))
    s.fact("targets", labels).fact("by_source_model", Counter(r["source_model"] for r in rows))
    if args.val_size:
        val_labels = Counter(r["answer"] for r in val_rows)
        problems = f"{len(held)} problem" + "s" * (len(held) != 1)
        s.row("held out (validation)", f"{problems}, {len(val_rows)} rows, right "
              f"{pct(val_labels['right'], len(val_rows))}, wrong {pct(val_labels['wrong'], len(val_rows))}"
              if held else "none (too few problems): no _val files written")
    s.brief("held out (validation)", f"{len(val_rows)} rows of {len(held)} problem" + "s" * (len(held) != 1))
    s.fact("val_size", args.val_size).fact("seed", args.seed).fact("val_problems", len(held))
    s.fact("val_rows", len(val_rows)).fact("val_targets", Counter(r["answer"] for r in val_rows))
    if args.analyze:
        lengths = sorted(r["prompt_chars"] for r in rows)
        s.row("prompt chars min/median/max", f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}")
        s.row("by source model", dict(Counter(r["source_model"] for r in rows)))
    for path in outputs if held else outputs[:2]:
        s.wrote(path)
    for path in stale if not held else []:
        s.row("removed (an earlier run's)", path)
    s.fact("elapsed_s", round(time.perf_counter() - t0, 3))
    s.emit(args.summary_json)


if __name__ == "__main__":
    cli.run(main)
