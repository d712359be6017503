"""Step 6's input: step 5's verl rows, training and held-out, read and checked before anything slow.

``--formatted_file`` is step 5's training file, JSON or parquet; its ``_val`` twin beside it
(``cft.critic.split.val_path``) is read too, so the SFT rows are split exactly as the RL rows are:
no held-out problem is trained on by either. Each row becomes an ``Item``: the critic's prompt (the
user turn), the label (``reward_model.ground_truth``), and what the SFT row carries about it. A row
without a user prompt or with a label other than right/wrong stops the step with one line naming
the file and the row (``cft.critic.verl_items``, the reader the critic's report card shares).
``max_rows`` keeps the first N rows of each file (the demo's small sample).

The items of both files form one list, training rows first; the work is cut into chunks of that
list (``cft.teacher.work``), and an item's ``position`` is its place in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import sha256_file
from cft.critic.split import VAL_SPLIT, val_path
from cft.critic.verl_items import Item, read_items

__all__ = ["TRAIN_SPLIT", "Inputs", "Item", "read_inputs"]

TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class Inputs:
    train_file: Path
    val_file: Path | None  # None: step 5 held nothing out
    train_sha256: str
    val_sha256: str | None
    items: list[Item]

    def count(self, split: str) -> int:
        return sum(1 for item in self.items if item.split == split)


def read_inputs(formatted_file: str | Path, max_rows: int | None = None, need_reference: bool = False) -> Inputs:
    """Both files' rows as items, checked; hashes of the files as read."""
    train = Path(formatted_file)
    if not train.is_file():
        raise CftError(f"{train}: file not found (step 5's training file, --formatted_file)")
    val = val_path(train)
    files = [(train, TRAIN_SPLIT)] + ([(val, VAL_SPLIT)] if val.is_file() else [])
    items: list[Item] = []
    for path, split in files:
        start = len(items)
        for item in read_items(path, split, max_rows, start):
            if need_reference and not item.ground_truth:
                raise CftError(f"{path}: row {item.position - start}: no extra_info.question_ground_truth, which "
                               "--show_reference gives the teacher")
            items.append(item)
    if not any(item.split == TRAIN_SPLIT for item in items):
        raise CftError(f"{train}: holds no rows")
    return Inputs(train, val if val.is_file() else None, sha256_file(train),
                  sha256_file(val) if val.is_file() else None, items)
