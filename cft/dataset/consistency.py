"""Files of one run, or refused: the ``sft`` rows must critique the ``rl`` rows they sit beside.

Step 6 reads step 5's files and records, on each SFT row, the problem (``question_index``) and the
row of step 5's file it critiques (``formatted_index``, a position in the training or held-out
file, by the row's ``split``). When step 5 was rerun with another split and step 6 was not, the SFT
rows describe files that are gone: an SFT training row may then critique a problem the ``rl``
validation split holds, and the card's promise that no held-out problem is trained on would be
false. ``check`` reads the two columns it needs from each file and stops in one line naming both
files and the first row that disagrees, before the folder is touched.
"""

from __future__ import annotations

import pyarrow.parquet as pq

from cft.common.errors import CftError
from cft.dataset.folder import SplitFile

RERUN = "step 6 was run on another split than step 5's files: rerun create_critique_data.py with --overwrite"


def _rl_problems(item: SplitFile) -> list[int]:
    """Each row's problem, in the file's order (``extra_info.question_index``)."""
    table = pq.read_table(item.source, columns=["extra_info"])
    return [row["question_index"] for row in table.column("extra_info").to_pylist()]


def check(items: list[SplitFile]) -> None:
    """Stop when the ``sft`` config's rows do not critique the ``rl`` config's rows (see the module's doc)."""
    rl = {i.split: i for i in items if i.config.name == "rl"}
    sft = [i for i in items if i.config.name == "sft"]
    if not rl or not sft:
        return
    problems = {split: _rl_problems(item) for split, item in rl.items()}
    held_out = set(problems.get("validation", []))
    for item in sft:
        table = pq.read_table(item.source, columns=["question_index", "formatted_index", "split"])
        for n, row in enumerate(table.to_pylist()):
            rl_split = "train" if row["split"] == "train" else "validation"
            rows = problems.get(rl_split)
            where = f"{item.source}: SFT row {n} (problem {row['question_index']})"
            if row["split"] == "train" and row["question_index"] in held_out:
                raise CftError(f"{where} trains on a problem that {rl['validation'].source} holds out: {RERUN}")
            if rows is None or not 0 <= row["formatted_index"] < len(rows) or \
                    rows[row["formatted_index"]] != row["question_index"]:
                rl_file = rl[rl_split].source if rl_split in rl else f"no {rl_split} split of the rl rows"
                raise CftError(f"{where} critiques row {row['formatted_index']} of {rl_file}, which holds another "
                               f"problem there or no such row: {RERUN}")
