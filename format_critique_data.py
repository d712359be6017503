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
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import refuse_overwrite
from cft.critic.reports import format_summary
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

    format_summary(rows, val_rows, held, args.val_size, args.seed, args.analyze, outputs, stale,
                   time.perf_counter() - t0).emit(args.summary_json, beside=args.output_file)


if __name__ == "__main__":
    cli.run(main)
