"""``label_steps.py``'s work folder: each signal's results, one chunk file per chunk of solutions.

``<labels stem>_work/`` beside the labels file (``deepscaler_step_labels_work/`` by default) holds

- ``verdicts/chunk_<NNN>.json``: the teacher's sampled verdicts of each solution, as written (read and
  voted on when the labels are assembled, so a change of how they are read costs no teacher time);
- ``rollouts/<alias>/chunk_<NNN>.json``: per model whose solutions are labelled, the completer's results of
  each solution's search: for every prefix tested, how many continuations reached the reference, and the
  answers they gave.

Chunks are ``cft.common.work``'s (written atomically when whole, resumed, another run's refused or,
with ``--overwrite``, replaced). A verdict chunk is the same run when the input file, the selection and
cut of the solutions, the teacher, its sampling and the prompt are; a rollout chunk when the input file, the
selection and cut, the completer, its template and sampling and the search are. So a new teacher leaves the
rollouts standing, and a new completer the verdicts.
"""

from __future__ import annotations

from pathlib import Path

from cft.common import work as chunks
from cft.common.work import WorkPlan
from cft.process.inputs import Inputs, Item, Selection

FORMAT_VERSION = 1
COMMON_KEYS = ("format_version", "chunk_size", "num_chunks", "solutions", "input_sha256", "selection")
VERDICT_KEYS = (*COMMON_KEYS, "teacher_model", "sampling", "prompt_version")
ROLLOUT_KEYS = (*COMMON_KEYS, "alias", "completer_model", "prompt_template", "sampling", "search")


def work_dir(labels_file: str | Path) -> Path:
    """``x/name.json`` -> ``x/name_work``."""
    labels_file = Path(labels_file)
    return labels_file.with_name(f"{labels_file.stem}_work")


def _common(inputs: Inputs, items: list[Item], selection: Selection, chunk_size: int) -> dict:
    return {"format_version": FORMAT_VERSION, "chunk_size": chunk_size, "num_chunks": -(-len(items) // chunk_size),
            "solutions": len(items),
            "input_file": str(inputs.file), "input_sha256": inputs.sha256, "selection": selection.record()}


def verdict_plan(inputs: Inputs, selection: Selection, chunk_size: int, labels_file: str | Path, teacher_model: str,
                 sampling: dict, prompt_version: int, overwrite: bool) -> WorkPlan:
    run = {**_common(inputs, inputs.items, selection, chunk_size), "teacher_model": teacher_model,
           "sampling": sampling, "prompt_version": prompt_version}
    return chunks.plan(inputs.items, work_dir(labels_file) / "verdicts", run, VERDICT_KEYS, overwrite,
                       elsewhere="another --labels_file")


def rollout_plan(inputs: Inputs, selection: Selection, chunk_size: int, labels_file: str | Path, alias: str,
                 completer_model: str, template: str, sampling: dict, search: str, overwrite: bool) -> WorkPlan:
    items = inputs.by_alias(alias)
    run = {**_common(inputs, items, selection, chunk_size), "alias": alias, "completer_model": completer_model,
           "prompt_template": template, "sampling": sampling, "search": search}
    return chunks.plan(items, work_dir(labels_file) / "rollouts" / alias, run, ROLLOUT_KEYS, overwrite,
                       elsewhere="another --labels_file")
