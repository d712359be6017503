"""The held-out split of step 5: whole problems go to validation, chosen with a seed.

``--val_size`` is a fraction of the problems (below 1) or a count of problems (a whole number
of at least 1); 0 writes no held-out files. Every row of a held-out problem (all its critique
rows, right and wrong) goes to the files whose names end in ``_val.json`` / ``_val.parquet``
beside the training files, so no solution of a validation problem is ever trained on.

The default, 0.05, keeps 95% of the problems for training and gives verl a validation set that
grows with the data: about 750 problems (3,000 rows) from DeepScaleR's ~15k disagreeing
problems, enough to read accuracy to about a point, and at least one problem on a small run.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import atomic_files, iter_json_list
from cft.critic.verl_rows import format_rows, to_verl, write_verl

DEFAULT_VAL_SIZE = 0.05
VAL_SPLIT = "val"


def val_size_arg(text: str) -> float | int:
    """argparse type of ``--val_size``: a fraction in [0, 1), or a whole count of problems."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must not be negative")
    if value < 1:
        return value
    if value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r}: a count of problems must be a whole number "
                                         "(a fraction must be below 1)")
    return int(value)


def val_path(path: str | Path) -> Path:
    """``x/name.json`` -> ``x/name_val.json`` (likewise for .parquet)."""
    path = Path(path)
    return path.with_name(f"{path.stem}_val{path.suffix}")


def held_out(problems: set[int], val_size: float | int, seed: int) -> set[int]:
    """The problems (question indices) chosen for validation.

    A fraction takes round(fraction x problems) of them, at least one when the fraction is above
    0 and there are two or more problems; a count takes that many. Training keeps at least one.
    The choice depends on the seed and the set of problems only, not on the order of the rows.
    """
    n = len(problems)
    if isinstance(val_size, int) and not isinstance(val_size, bool) and val_size >= 1:
        k = val_size
        if k >= n:
            raise CftError(f"--val_size {val_size}: the critique rows hold {n} problems, so holding out "
                           f"{k} leaves none to train on")
    else:
        if not 0 <= val_size < 1:
            raise CftError(f"--val_size {val_size}: expected a fraction below 1 or a count of problems")
        k = round(val_size * n)
        if val_size > 0 and n >= 2:
            k = min(max(k, 1), n - 1)
    return set(random.Random(seed).sample(sorted(problems), k)) if k else set()


def problems_of(critique_file: str | Path) -> set[int]:
    """The question index of every critique row; each row is checked as step 5 will format it."""
    problems: set[int] = set()
    for position, row in enumerate(iter_json_list(critique_file, what="critique rows")):
        index = to_verl(row, position, where=f"{critique_file}: critique row")["extra_info"]["question_index"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise CftError(f"{critique_file}: critique row {position}: index is {index!r}, expected the problem's "
                           "number")
        problems.add(index)
    return problems


def format_split(critique_file: str | Path, json_path: str | Path, parquet_path: str | Path,
                 val_size: float | int, seed: int = 0, split: str = "train"
                 ) -> tuple[list[dict], list[dict], set[int]]:
    """Step 5 with a held-out split: ``(train summary rows, val summary rows, held-out problems)``.

    The critique file is read three times as a stream (problems, training rows, held-out rows),
    so memory stays small. Rows are checked on the first read, before any file is written.
    All four files are committed as one (``cft.common.jsonio.atomic_files``): a failure leaves
    the previous set or none. With no held-out problem (``val_size`` 0, or too few problems),
    the ``_val`` files are not written, and those of an earlier run are removed in the same
    commit, so the training files never stand beside another run's held-out ones.
    """
    val = held_out(problems_of(critique_file), val_size, seed) if val_size else set()

    def side(keep_val: bool) -> Iterator[dict]:
        rows = iter_json_list(critique_file, what="critique rows")
        return (r for r in rows if (r["index"] in val) == keep_val)

    val_rows = []
    with atomic_files() as files:
        if val:
            val_rows = write_verl(format_rows(side(True), VAL_SPLIT), val_path(json_path), val_path(parquet_path),
                                  files=files)
        else:
            files.remove(val_path(json_path))
            files.remove(val_path(parquet_path))
        train_rows = write_verl(format_rows(side(False), split), json_path, parquet_path, files=files)
    return train_rows, val_rows, val
