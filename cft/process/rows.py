"""The ``process`` rows: every solution with a step label, in the two shapes trainers and benchmarks read.

One row per labelled solution (a label row whose ``label`` is a step index or -1; disagreements and the
undetermined stay in the step-label file), holding both:

- **TRL's stepwise supervision** (the PRM trainer, ``trl.experimental.prm.PRMTrainer``): ``prompt`` (the
  problem), ``completions`` (the steps up to and including the first wrong one; all of them when none is
  wrong) and ``labels`` (one bool per completion: true for a right step, false for the wrong one);
- **ProcessBench's** (arXiv 2412.06559): ``id``, ``generator``, ``problem``, ``steps`` (every step),
  ``final_answer_correct`` and ``label`` (the earliest wrong step's index, or -1);

and where it came from: ``question_index``, ``source_model``, ``solution_index``, ``grade``, ``lucky``,
``signals`` and ``status`` (which signals made the label, and how: ``agree`` or ``single``), each signal's
evidence (``teacher_vote``, ``teacher_margin``, ``teacher_verdicts``; ``rollout_first_error``,
``rollout_prefixes`` and ``rollout_reached``: each tested prefix and how many of ``rollouts_per_prefix``
continuations reached the reference), and ``split``.

Step 5 writes them (``format_critique_data.py --step_labels``) beside its verl rows, split as they are:
the rows of a problem step 5 holds out go to the ``_val`` files, every other labelled problem's to the
training files (a problem step 4 drew no row from is trained on by no config, so it cannot leak). The
training and held-out files, JSON Lines and parquet, join step 5's own set in one commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from cft.common.errors import CftError
from cft.common.jsonio import AtomicFiles, iter_json_list, write_jsonl
from cft.common.parquet import write_parquet
from cft.critic.split import VAL_SPLIT, split_files
from cft.process.labels import labelled_steps

_TEXT, _INT, _BOOL = pa.string(), pa.int64(), pa.bool_()
SCHEMA = pa.schema([
    ("prompt", _TEXT), ("completions", pa.list_(_TEXT)), ("labels", pa.list_(_BOOL)),
    ("id", _TEXT), ("generator", _TEXT), ("problem", _TEXT), ("steps", pa.list_(_TEXT)),
    ("final_answer_correct", _BOOL), ("label", _INT),
    ("question_index", _INT), ("source_model", _TEXT), ("solution_index", _INT), ("grade", _TEXT),
    ("lucky", _BOOL), ("signals", pa.list_(_TEXT)), ("status", _TEXT),
    ("teacher_vote", _INT), ("teacher_margin", _INT), ("teacher_verdicts", pa.list_(_INT)),
    ("rollout_first_error", _INT), ("rollout_prefixes", pa.list_(_INT)), ("rollout_reached", pa.list_(_INT)),
    ("rollouts_per_prefix", _INT),
    ("split", _TEXT),
])


def process_row(row: dict, split: str) -> dict:
    """One label row with a step label as a process row."""
    steps, label = list(row["steps"]), row["label"]
    upto = len(steps) if label == -1 else label + 1
    teacher, rollouts = row.get("teacher") or {}, row.get("rollouts") or {}
    tested = rollouts.get("tested") or []
    return {
        "prompt": row["question"], "completions": steps[:upto], "labels": [True] * (upto - 1) + [label == -1],
        "id": f"{row['index']}-{row['source_model']}-{row['solution_index']}", "generator": row["source_model"],
        "problem": row["question"], "steps": steps, "final_answer_correct": bool(row["correct"]), "label": label,
        "question_index": row["index"], "source_model": row["source_model"], "solution_index": row["solution_index"],
        "grade": row.get("grade"), "lucky": bool(row.get("lucky")), "signals": list(row.get("signals") or []),
        "status": row.get("status"), "teacher_vote": teacher.get("vote"), "teacher_margin": teacher.get("margin"),
        "teacher_verdicts": teacher.get("verdicts"), "rollout_first_error": rollouts.get("first_error"),
        "rollout_prefixes": [t["prefix"] for t in tested] if rollouts else None,
        "rollout_reached": [t["reached"] for t in tested] if rollouts else None,
        "rollouts_per_prefix": tested[0]["of"] if tested else None,
        "split": split,
    }


def process_rows(labels_file: str | Path, held_out: set[int], split: str = "train") -> dict[str, list[dict]]:
    """The process rows of a step-label file, by split: ``split`` (training) and ``val`` (``held_out``
    problems)."""
    out: dict[str, list[dict]] = {split: [], VAL_SPLIT: []}
    for n, row in enumerate(iter_json_list(labels_file, what="step labels")):
        if not isinstance(row, dict) or "label" not in row or "steps" not in row:
            raise CftError(f"{labels_file}: row {n}: not a step-label row (label_steps.py's output)")
        if labelled_steps(row):
            side = VAL_SPLIT if row["index"] in held_out else split
            out[side].append(process_row(row, side))
    return out


def write_process(files: AtomicFiles, rows: dict[str, list[dict]], process_file: str | Path, split: str = "train"
                  ) -> list[Path]:
    """The process files in ``files``' commit: training always, held-out where rows are held out (an earlier
    run's ``_val`` files removed otherwise). Returns the files written."""
    paths, written = split_files(process_file), []
    for side, key in ((split, "train"), (VAL_SPLIT, "val")):
        jsonl, parquet = paths[f"{key}_jsonl"], paths[f"{key}_parquet"]
        if side == VAL_SPLIT and not rows[side]:
            files.remove(jsonl)
            files.remove(parquet)
            continue
        write_jsonl(files.open(jsonl), rows[side])
        write_parquet(files.open(parquet), rows[side], SCHEMA, f"{key} process rows")
        written += [jsonl, parquet]
    return written


class ProcessRows:
    """Step 5's ``also``: the process rows of ``labels_file``, split as step 5 splits (``format_split``)."""

    def __init__(self, labels_file: str | Path, process_file: str | Path, split: str = "train"):
        self.labels_file, self.process_file, self.split = Path(labels_file), Path(process_file), split
        self.rows: dict[str, list[dict]] = {}
        self.written: list[Path] = []

    def paths(self, val_size) -> list[Path]:
        """The files a run may write (the ``_val`` ones only with a held-out split)."""
        p = split_files(self.process_file)
        return [p["train_jsonl"], p["train_parquet"]] + ([p["val_jsonl"], p["val_parquet"]] if val_size else [])

    def __call__(self, files: AtomicFiles, held_out: set[int]) -> None:
        self.rows = process_rows(self.labels_file, held_out, self.split)
        self.written = write_process(files, self.rows, self.process_file, self.split)


def label_counts(rows: Iterable[dict]) -> dict[str, int]:
    """Rows with every step right (``-1``) and with a wrong step (``wrong_step``)."""
    counts = Counter("-1" if r["label"] == -1 else "wrong_step" for r in rows)
    return {"-1": counts["-1"], "wrong_step": counts["wrong_step"]}
