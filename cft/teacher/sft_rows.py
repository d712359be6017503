"""Step 6's outputs, assembled from the work chunks: SFT rows (JSON Lines and parquet, training and
held-out) and the doubted report, committed as one set.

Per input row, each sampled critique is checked (``cft.teacher.verdicts.check``) and counted in the
audit (``cft.teacher.audit``); the first ``keep_per_row`` distinct kept ones become SFT rows, in the
order they were sampled. A row is::

    {"messages": [{"role": "user", "content": <the critic's prompt>},
                  {"role": "assistant", "content": <the critique>}],
     "label": "right" | "wrong", "teacher_model": str, "source_model": str, "question_index": int,
     "solution_index": int | null, "formatted_index": int, "sample_index": int, "split": "train" | "val",
     "verdict_format": "exact" | "rewritten", "lucky": bool | null}

``lucky`` is step 5's ``extra_info.lucky``: true only for a right answer with a wrong step that step 4 drew
because it was asked to (``--keep_lucky``); by default such solutions never reach step 5.

``messages`` is what verl's ``MultiTurnSFTDataset`` reads (``data.messages_key=messages``), TRL's
conversational format, and the ``messages`` layout of LLaMA-Factory's sharegpt-style and ms-swift's
datasets. Training rows go to ``<output>.jsonl`` and ``.parquet``, held-out rows (from step 5's
``_val`` file) to ``<output>_val.jsonl`` and ``_val.parquet``; the doubted report to
``<output>_doubted.json``. All are written aside and renamed once every one is whole
(``cft.common.jsonio.atomic_files``); when no held-out row is kept, an earlier run's ``_val`` files
are removed in the same commit, so the set never mixes two runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from cft.common.jsonio import atomic_files, write_jsonl, write_rows
from cft.common.parquet import write_parquet
from cft.critic.split import split_files
from cft.teacher.audit import Audit
from cft.teacher.inputs import TRAIN_SPLIT, Inputs
from cft.teacher.verdicts import check, distinct_key
from cft.teacher.work import WorkPlan, read_chunk

_TEXT = pa.string()
SCHEMA = pa.schema([
    ("messages", pa.list_(pa.struct([("role", _TEXT), ("content", _TEXT)]))),
    ("label", _TEXT),
    ("teacher_model", _TEXT),
    ("source_model", _TEXT),
    ("question_index", pa.int64()),
    ("solution_index", pa.int64()),
    ("formatted_index", pa.int64()),
    ("sample_index", pa.int64()),
    ("split", _TEXT),
    ("verdict_format", _TEXT),
    ("lucky", pa.bool_()),
])


def output_paths(output_file: str | Path) -> dict[str, Path]:
    """Every file of the set: train/val JSONL and parquet, and the doubted report."""
    jsonl = Path(output_file)
    return {**split_files(jsonl), "doubted": jsonl.with_name(f"{jsonl.stem}_doubted.json")}


@dataclass
class Assembled:
    rows: dict[str, list[dict]] = field(default_factory=lambda: {"train": [], "val": []})
    outcomes: Counter = field(default_factory=Counter)  # check outcome -> sampled critiques
    spare: int = 0  # kept critiques beyond keep_per_row, or repeating one already kept
    duplicates: int = 0
    rows_covered: Counter = field(default_factory=Counter)  # split -> input rows with at least one kept critique
    audit: Audit = field(default_factory=Audit)

    @property
    def sampled(self) -> int:
        return sum(self.outcomes.values())


def assemble(work: WorkPlan, inputs: Inputs, teacher_model: str, keep_per_row: int, keep_thinking: bool,
             show_reference: bool) -> Assembled:
    """Check every critique of every chunk and build the SFT rows (chunks are read one at a time)."""
    out = Assembled()
    items = {item.position: item for item in inputs.items}
    for chunk in work.chunks:
        _, results = read_chunk(chunk.path)
        for result in results:
            item = items[result["position"]]
            samples = result["samples"]
            checked = [check(s["text"], s["finish_reason"], item.label, keep_thinking=keep_thinking,
                             show_reference=show_reference) for s in samples]
            out.audit.add(item, samples, checked)
            seen: set[str] = set()
            for k, c in enumerate(checked):
                out.outcomes[c.outcome] += 1
                if not c.kept:
                    continue
                key = distinct_key(c.text)
                if key in seen:
                    out.duplicates += 1
                    continue
                if len(seen) >= keep_per_row:
                    out.spare += 1
                    continue
                seen.add(key)
                out.rows[item.split].append({
                    "messages": [{"role": "user", "content": item.prompt}, {"role": "assistant", "content": c.text}],
                    "label": item.label, "teacher_model": teacher_model, "source_model": item.source_model,
                    "question_index": item.question_index, "solution_index": item.solution_index,
                    "formatted_index": item.formatted_index, "sample_index": k, "split": item.split,
                    "verdict_format": c.outcome, "lucky": item.lucky})
            out.rows_covered[item.split] += bool(seen)
    return out


def write_outputs(assembled: Assembled, output_file: str | Path) -> list[Path]:
    """Write the set as one commit; returns the files written (the ``_val`` ones only when rows were kept)."""
    paths = output_paths(output_file)
    written = []
    with atomic_files() as files:
        for split in (TRAIN_SPLIT, "val"):
            rows = assembled.rows[split]
            jsonl, parquet = paths[f"{split}_jsonl"], paths[f"{split}_parquet"]
            if split != TRAIN_SPLIT and not rows:
                files.remove(jsonl)
                files.remove(parquet)
                continue
            write_jsonl(files.open(jsonl), rows)
            write_parquet(files.open(parquet), rows, SCHEMA, f"{split} SFT rows")
            written += [jsonl, parquet]
        f = files.open(paths["doubted"])
        write_rows(f, assembled.audit.doubted)
        f.write(b"\n")
        written.append(paths["doubted"])
    return written
