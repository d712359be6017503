"""What the run recorded about how its files were made: the steps' summaries and the solutions' metadata.

``run_full_pipeline.sh`` leaves each step's summary in ``<data_dir>/logs/summary_<step>.json``
(``--summary_json``); the merged solutions files (step 2) carry the models, weights, sampling,
input hash and package versions in their ``metadata``. The card and the manifest are written
from these, and from nothing else: a fact no summary holds is reported as not recorded.

Summaries are tied to the files they describe by counts: a config's step summary (``rows``,
``val_rows``) must count the rows its parquet files hold, and at least one config's must be there.
When one does not (summaries left from another run), none of them is used: the card then says it
cannot tell how the rows were made, rather than describe them with another run's numbers. Readers
are liberal: any field may be missing, and a summary that is not JSON is left out with a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cft.common.jsonio import note, open_results_file

# the order of the pipeline; other steps (re-grading, later steps) follow in name order
STEP_ORDER = ("decontaminate", "generate", "merge", "grade", "filter", "critique", "format", "sft", "evaluate")
OWN_STEP = "dataset"  # this builder's own summary, never an input


def _rank(name: str) -> tuple[int, str]:
    for i, step in enumerate(STEP_ORDER):
        if name == step or name.startswith(step + "_"):
            return i, name
    return len(STEP_ORDER), name


@dataclass
class Provenance:
    folder: Path | None  # where the summaries were looked for
    summaries: dict[str, dict] = field(default_factory=dict)  # step name -> its summary, in pipeline order
    models: list[dict] = field(default_factory=list)  # each merged solutions file's metadata (+ "file")
    unused: str | None = None  # why the summaries found were not used

    def step(self, name: str) -> dict | None:
        return self.summaries.get(name)

    def steps(self, prefix: str) -> list[tuple[str, dict]]:
        """Summaries of ``prefix`` or ``prefix_*`` (``generate_qwen25``, ...)."""
        return [(n, s) for n, s in self.summaries.items() if n == prefix or n.startswith(prefix + "_")]


def read_summaries(folder: str | os.PathLike | None) -> dict[str, dict]:
    """``summary_<step>.json`` files of ``folder``, by step, in pipeline order (this builder's own left out)."""
    if folder is None or not Path(folder).is_dir():
        return {}
    found = {}
    for path in sorted(Path(folder).glob("summary_*.json")):
        name = path.stem.removeprefix("summary_")
        if name == OWN_STEP:
            continue
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as e:
            note(f"{path}: not a step summary, left out ({e})")
            continue
        if isinstance(data, dict):
            found[name] = data
    return dict(sorted(found.items(), key=lambda item: _rank(item[0])))


def mismatch(summaries: dict[str, dict], step: str, train_rows: int, val_rows: int) -> str | None:
    """Why ``step``'s summary does not describe files of ``train_rows`` and ``val_rows`` rows (None: it does,
    or there is none)."""
    summary = summaries.get(step)
    if summary is None:
        return None
    recorded = (summary.get("rows"), summary.get("val_rows", 0))
    if recorded != (train_rows, val_rows):
        return (f"summary_{step}.json counts {recorded[0]} training and {recorded[1]} held-out rows, the files "
                f"hold {train_rows} and {val_rows}: the summaries are of another run")
    return None


def solutions_metadata(summaries: dict[str, dict]) -> list[dict]:
    """The metadata of each merged solutions file that step 2's summary names and that still exists."""
    files = [Path(p) for p in (summaries.get("merge") or {}).get("outputs", []) if isinstance(p, str)]
    found = []
    for path in files:
        if not path.is_file():
            continue
        try:
            metadata, rows = open_results_file(path)
        except Exception as e:  # noqa: BLE001  (a file we cannot read is one we cannot describe)
            note(f"{path}: metadata unreadable, left out of the card ({e})")
            continue
        close = getattr(rows, "close", None)
        if close:
            close()
        found.append({**metadata, "file": str(path)})
    return found


def gather(folder: str | os.PathLike | None, checks: list[tuple[str, int, int]]) -> Provenance:
    """The run's record, if its summaries describe these files: ``checks`` holds, per config, its
    step and the training and held-out rows its files hold."""
    summaries = read_summaries(folder)
    prov = Provenance(Path(folder) if folder else None)
    if not summaries:
        prov.unused = f"no step summaries in {folder}" if folder else "no step summaries given"
        return prov
    reasons = [r for step, train, val in checks if (r := mismatch(summaries, step, train, val))]
    if not reasons and not any(step in summaries for step, _, _ in checks):
        reasons = [" and ".join(f"summary_{step}.json" for step, _, _ in checks) + f" missing from {folder}, so "
                   "nothing ties the summaries there to these files"]
    if reasons:
        prov.unused = reasons[0]
        return prov
    prov.summaries = summaries
    prov.models = solutions_metadata(summaries)
    return prov


def get(data: Any, *keys: str, default: Any = None) -> Any:
    """``data[k1][k2]...``, or ``default`` where any level is missing (summaries of older versions)."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data
