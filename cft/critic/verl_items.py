"""Step 5's verl rows read back, each checked and made an ``Item``: what step 6's teacher and the critic's report
card (``evaluate_critic.py``) need of a row.

A file is JSON (a list file, or JSON Lines) or parquet (read in batches). Each row gives the critic's prompt
(the row's ``prompt`` messages as they are, and the user turn's text), the label
(``reward_model.ground_truth``) and what ``extra_info`` says of the solution. A row without a user prompt
or with a label other than right/wrong stops the reader with one line naming the file and the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import iter_json_list


@dataclass(frozen=True)
class Item:
    position: int  # in the list the step works through
    split: str  # train or val: the step 5 file it came from
    formatted_index: int  # its row in that file
    prompt: str  # the critic's prompt: the user turn's text
    label: str  # right or wrong
    question_index: int | None
    source_model: str | None
    solution_index: int | None  # optional in step 5's rows (files of earlier versions lack it)
    ground_truth: str | None  # the problem's reference answer (--show_reference)
    messages: tuple[dict, ...] = ()  # the row's prompt as it is: what verl gives the critic


def rows_of(path: Path, limit: int | None = None) -> Iterator:
    """The first ``limit`` rows (all: None) of a JSON or parquet file."""
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
                else str(extra["question_ground_truth"]),
                messages=tuple({"role": m.get("role"), "content": m.get("content")} for m in prompt))


def read_items(path: Path, split: str, limit: int | None = None, start: int = 0) -> Iterator[Item]:
    """The rows of one step 5 file as items, checked, at positions from ``start``."""
    for n, row in enumerate(rows_of(path, limit)):
        yield to_item(row, path, n, split, start + n)
