"""The cases of the report card, read and checked before any model runs.

- **Outcome cases**: the rows of one file in step 5's format (``cft.critic.verl_items``), each an ``Item``
  with its prompt messages, label and source model; the file's sha256 as read. With step 3's filtered file,
  each case's problem gets its pooled pass rate (correct samples of all models over all samples), its band
  (``cft.curate.pass_band``: the first band of ``--band_edges`` that holds the rate) and its ``level`` and
  ``source`` where the input rows had them. A case whose problem is not in the filtered file is in the group
  ``(not in the filtered file)``; a problem whose answer there is not the row's reference answer stops the
  step (the rows were not drawn from that file).
- **Step-level cases** (``StepCase``): ProcessBench's format, ``problem``, ``steps`` (a list of strings) and
  ``label`` (the index of the earliest wrong step, or -1 when every step is right), read by
  ``datasets.load_dataset``: from a JSON, JSON Lines or parquet file (one subset, named after the file), a
  dataset folder or a Hub id (``Qwen/ProcessBench``: its four splits ``gsm8k``, ``math``, ``olympiadbench``,
  ``omnimath``, each a subset; this project's dataset folder: its ``process`` config, by ``--step_config``). A Hub id is
  looked up only where the Hub answers (one line at once where it does not). The data's hash is the file's
  sha256, or for a dataset the sha256 of its rows as read.

Every row is checked; a bad one stops the step with one line naming the source, the subset and the row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from cft.common.errors import CftError
from cft.common.jsonio import iter_json_list, sha256_file
from cft.critic.verl_items import Item, read_items, rows_of
from cft.curate.pass_band import PassBand
from cft.records.models import model_field_alias
from cft.records.problems import answer_of
from cft.records.solutions import num_correct

NOT_FILTERED = "(not in the filtered file)"
UNKNOWN = "(unknown)"


@dataclass
class OutcomeCases:
    file: Path
    sha256: str
    items: list[Item]
    filtered_file: Path | None = None
    band_of: dict[int, str] = field(default_factory=dict)  # question index -> band
    level_of: dict[int, str] = field(default_factory=dict)  # question index -> level, where the input has one
    source_of: dict[int, str] = field(default_factory=dict)  # question index -> source, where it has one

    def groups(self, item: Item) -> dict[str, str]:
        """The item's group in each breakdown of the report (``source_model``, ``band``, ``level``, ``source``)."""
        qi = item.question_index
        out = {"source_model": item.source_model or UNKNOWN}
        if self.filtered_file is not None:
            out["band"] = self.band_of.get(qi, NOT_FILTERED)
            if self.level_of:
                out["level"] = self.level_of.get(qi, UNKNOWN)
            if self.source_of:
                out["source"] = self.source_of.get(qi, UNKNOWN)
        return out


def band_label(band: PassBand) -> str:
    """``0.25-0.5``: the band's pass rates (a rate on an edge is in the lower band); the labels sort in order."""
    return f"{band.min_rate:g}-{band.max_rate:g}"


def read_outcome(path: str | Path, max_cases: int | None) -> OutcomeCases:
    """The rows of one step 5 file as cases, checked."""
    path = Path(path)
    if not path.is_file():
        raise CftError(f"{path}: file not found (step 5's verl rows, --input_file)")
    first = next(rows_of(path, 1), None)
    if isinstance(first, dict) and "steps" in first and "problem" in first:
        raise CftError(f"{path}: row 0 is a ProcessBench-format row (problem, steps, label); pass the file as "
                       "--step_data")
    split = "val" if path.stem.endswith("_val") else "train"
    items = list(read_items(path, split, max_cases))
    if not items:
        raise CftError(f"{path}: holds no rows")
    return OutcomeCases(path, sha256_file(path), items)


def add_pass_rates(cases: OutcomeCases, filtered_file: str | Path, bands: list[PassBand]) -> None:
    """Each case's band, level and source, from step 3's filtered file (streamed; only the cases' problems kept)."""
    filtered_file = Path(filtered_file)
    if not filtered_file.is_file():
        raise CftError(f"{filtered_file}: file not found (step 3's filtered problems, --filtered_file)")
    wanted: dict[int, str | None] = {item.question_index: item.ground_truth for item in cases.items
                                     if isinstance(item.question_index, int)}
    for n, row in enumerate(iter_json_list(filtered_file, what="filtered problems")):
        index = row.get("index") if isinstance(row, dict) else None
        if index not in wanted:
            continue
        truth = answer_of(row)
        if wanted[index] is not None and truth is not None and str(truth) != wanted[index]:
            raise CftError(f"{filtered_file}: row {n}: problem {index}'s answer is {truth!r}, but the rows of "
                           f"{cases.file} give {wanted[index]!r}: not the filtered file those rows were drawn from")
        pools = [v for k, v in row.items() if model_field_alias(k) and isinstance(v, list)]
        counts, sizes = [num_correct(p) for p in pools], [len(p) for p in pools]
        cases.band_of[index] = next((band_label(b) for b in bands
                                     if b.check(counts, sizes) is None), NOT_FILTERED)
        for key, table in (("level", cases.level_of), ("source", cases.source_of)):
            if row.get(key) is not None:
                table[index] = str(row[key])
    cases.filtered_file = filtered_file


# --- step-level cases -------------------------------------------------------------------------

@dataclass(frozen=True)
class StepCase:
    position: int  # in the list of every subset's cases, subsets in order
    subset: str
    row: int  # its row in its subset
    id: str | None
    problem: str
    steps: tuple[str, ...]
    label: int  # the earliest wrong step's index, or -1
    generator: str | None  # the model that wrote the solution, where the row says


@dataclass
class StepCases:
    source: str
    config: str | None
    sha256: str
    subsets: list[str]
    cases: list[StepCase]


def to_step_case(row, where: str, subset: str, row_number: int, position: int) -> StepCase:
    if not isinstance(row, dict):
        raise CftError(f"{where}: expected an object with problem, steps and label")
    problem, steps, label = row.get("problem"), row.get("steps"), row.get("label")
    if not isinstance(problem, str) or not problem.strip():
        raise CftError(f"{where}: no problem (a non-empty string)")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise CftError(f"{where}: steps must be a non-empty list of strings")
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        raise CftError(f"{where}: label must be the index of the earliest wrong step (0-{len(steps) - 1}) or -1, "
                       f"got {label!r}")
    return StepCase(position, subset, row_number, None if row.get("id") is None else str(row["id"]), problem,
                    tuple(steps), label, row.get("generator"))


def _rows_hash(rows: list[tuple[str, dict]]) -> str:
    h = hashlib.sha256()
    for subset, row in rows:
        h.update(orjson.dumps([subset, row.get("problem"), row.get("steps"), row.get("label")]))
        h.update(b"\n")
    return h.hexdigest()


def _load(*args, what: str, **kw):
    """``datasets.load_dataset(*args, **kw)``, its failure in one line."""
    import datasets

    try:
        return datasets.load_dataset(*args, **kw)
    except Exception as e:  # noqa: BLE001 (datasets raises many kinds)
        raise CftError(f"--step_data {what}: {' '.join(str(e).split())}") from None


def _dataset_rows(source: str, config: str | None, subsets: list[str] | None,
                  max_cases: int | None) -> tuple[list[str], list[tuple[str, dict]]]:
    """The rows of each chosen split of a dataset folder or Hub id."""
    import datasets

    if not Path(source).is_dir():
        from cft.common.hub import hub_unreachable

        why = hub_unreachable()
        if why is not None:
            raise CftError(f"--step_data {source}: not a file or folder here, and the Hub cannot be asked for it "
                           f"({why}); pass a local copy")
    try:
        names = datasets.get_dataset_split_names(source, config)
    except Exception as e:  # noqa: BLE001
        raise CftError(f"--step_data {source}: cannot read its splits: {' '.join(str(e).split())}") from None
    chosen = subsets or names
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise CftError(f"--step_data {source}: no split {', '.join(unknown)}; it has {', '.join(names)}")
    rows: list[tuple[str, dict]] = []
    for subset in chosen:
        ds = _load(source, config, split=subset, what=f"{source} [{subset}]")
        rows.extend((subset, row) for row in ds.select(range(min(max_cases or len(ds), len(ds)))))
    return chosen, rows


def read_step_cases(source: str, config: str | None = None, subsets: list[str] | None = None,
                    max_cases: int | None = None) -> StepCases:
    """ProcessBench-format cases from a file, a dataset folder or a Hub id, checked."""
    path = Path(source)
    if path.is_file():
        if subsets and subsets != [path.stem]:
            raise CftError(f"--step_data {source} is one file, one subset ({path.stem}); drop --step_subsets")
        names = [path.stem]
        builder = "parquet" if path.suffix == ".parquet" else "json"  # a JSON list or JSON Lines
        ds = _load(builder, data_files=str(path), split="train", what=source)
        rows = [(path.stem, row) for row in ds.select(range(min(max_cases or len(ds), len(ds))))]
        sha = sha256_file(path)
    else:
        names, rows = _dataset_rows(source, config, subsets, max_cases)
        sha = _rows_hash(rows)
    cases, seen = [], dict.fromkeys(names, 0)
    for subset, row in rows:
        where = f"{source} [{subset}] row {seen[subset]}"
        cases.append(to_step_case(row, where, subset, seen[subset], len(cases)))
        seen[subset] += 1
    if not cases:
        raise CftError(f"--step_data {source}: holds no rows")
    return StepCases(source, config, sha, names, cases)
