"""Step 6's input: step 5's verl rows, training and held-out, read and checked before anything slow.

``--formatted_file`` is step 5's training file, JSON or parquet; its ``_val`` twin beside it
(``cft.critic.split.val_path``) is read too, so the SFT rows are split exactly as the RL rows are:
no held-out problem is trained on by either. Each row becomes an ``Item``: the critic's prompt (the
user turn), the label (``reward_model.ground_truth``), and what the SFT row carries about it. A row
without a user prompt or with a label other than right/wrong stops the step with one line naming
the file and the row. ``max_rows`` keeps the first N rows of each file (the demo's small sample).

The items of both files form one list, training rows first; the work is cut into chunks of that
list (``cft.teacher.work``), and an item's ``position`` is its place in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import iter_json_list, sha256_file
from cft.critic.split import VAL_SPLIT, val_path

TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class Item:
    position: int  # in the list of both files' rows, training first
    split: str  # train or val: the step 5 file it came from
    formatted_index: int  # its row in that file
    prompt: str  # the critic's prompt
    label: str  # right or wrong
    question_index: int | None
    source_model: str | None
    solution_index: int | None  # optional in step 5's rows (files of earlier versions lack it)
    ground_truth: str | None  # the problem's reference answer (--show_reference)
    lucky: bool | None = None  # a right answer with a wrong step (step labels; kept by step 4's --keep_lucky)


@dataclass(frozen=True)
class Inputs:
    train_file: Path
    val_file: Path | None  # None: step 5 held nothing out
    train_sha256: str
    val_sha256: str | None
    items: list[Item]

    def count(self, split: str) -> int:
        return sum(1 for item in self.items if item.split == split)


def _rows(path: Path, limit: int | None):
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise CftError(f"{path}: not a parquet file (truncated or corrupt?): {e}") from None
        with pf:
            rows = (row for batch in pf.iter_batches(batch_size=1024) for row in batch.to_pylist())
            yield from islice(rows, limit)
        return
    yield from islice(iter_json_list(path, what="verl rows"), limit)


def to_item(row, path: Path, row_number: int, split: str, position: int) -> Item:
    where = f"{path}: row {row_number}"
    if not isinstance(row, dict):
        raise CftError(f"{where}: expected a verl row (an object)")
    prompt = row.get("prompt")
    content = next((m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"), None) \
        if isinstance(prompt, list) else None
    if not isinstance(content, str) or not content.strip():
        raise CftError(f"{where}: no user prompt (prompt: [{{\"role\": \"user\", \"content\": ...}}]); is this "
                       "step 5's output?")
    label = (row.get("reward_model") or {}).get("ground_truth")
    if label not in ("right", "wrong"):
        raise CftError(f"{where}: reward_model.ground_truth is {label!r}, expected right or wrong")
    extra = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
    index = extra.get("index")
    return Item(position=position, split=split, formatted_index=index if isinstance(index, int) else row_number,
                prompt=content, label=label, question_index=extra.get("question_index"),
                source_model=extra.get("source_model"), solution_index=extra.get("solution_index"),
                ground_truth=None if extra.get("question_ground_truth") is None
                else str(extra["question_ground_truth"]), lucky=extra.get("lucky"))


def read_inputs(formatted_file: str | Path, max_rows: int | None = None, need_reference: bool = False) -> Inputs:
    """Both files' rows as items, checked; hashes of the files as read."""
    train = Path(formatted_file)
    if not train.is_file():
        raise CftError(f"{train}: file not found (step 5's training file, --formatted_file)")
    val = val_path(train)
    files = [(train, TRAIN_SPLIT)] + ([(val, VAL_SPLIT)] if val.is_file() else [])
    items: list[Item] = []
    for path, split in files:
        for n, row in enumerate(_rows(path, max_rows)):
            item = to_item(row, path, n, split, len(items))
            if need_reference and not item.ground_truth:
                raise CftError(f"{path}: row {n}: no extra_info.question_ground_truth, which --show_reference "
                               "gives the teacher")
            items.append(item)
    if not any(item.split == TRAIN_SPLIT for item in items):
        raise CftError(f"{train}: holds no rows")
    return Inputs(train, val if val.is_file() else None, sha256_file(train),
                  sha256_file(val) if val.is_file() else None, items)
