"""The evaluation sets of one step-0 run: the registry's by name, and local ones (``--against``).

A registered set (``cft.curate.eval_sets.registry``) is read with ``datasets.load_dataset`` from its Hub id,
config and split(s): from the user's cache (``HF_HOME``), or the Hub unless ``HF_DATASETS_OFFLINE=1``.
``--against NAME=PATH`` reads a registered set from a local copy instead (a JSON list, JSONL or parquet
file, or a dataset folder such as ``hf download ID --repo-type dataset --local-dir PATH`` leaves), with
the registry's fields. ``--against PATH`` adds a set of one's own, named by its file stem (or folder name),
the problem of each row in any input shape the pipeline accepts.

A registered set that cannot be loaded is ``Unavailable``: step 0 stops on it, or with
``skip_unavailable`` goes on and records it as not checked. A set that loads but lacks the registry's
problem or answer field is an error naming the set and the field, whatever ``skip_unavailable`` says.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from cft.common.errors import CftError
from cft.curate.eval_sets.registry import REGISTRY, EvalSetSpec
from cft.records.problems import LoadFailed, load_dataset_split, question_of, reason, rows_of_file

ALL, NONE = "all", "none"


@dataclass(frozen=True)
class EvalSet:
    name: str
    source: str                   # the Hub id, folder or file it was read from
    problems: list[str]
    registered: str | None = None  # the registry's name for it, if it is a registered set
    detail: dict = field(default_factory=dict)  # config, splits, fingerprint

    @property
    def problems_sha256(self) -> str:
        """sha256 of the problem texts in order, as a JSON list of strings (orjson, UTF-8)."""
        return hashlib.sha256(orjson.dumps(self.problems)).hexdigest()

    def record(self) -> dict:
        """What the summary and the card say of the set."""
        return {"source": str(self.source), **self.detail, "rows": len(self.problems),
                "problems_sha256": self.problems_sha256}


class Unavailable(CftError):
    """A registered set that could not be loaded (offline and not cached, or not reachable)."""

    def __init__(self, spec: EvalSetSpec, why: str):
        self.name, self.why = spec.name, why
        super().__init__(
            f"evaluation set {spec.name} ({spec.hub_id}) cannot be loaded: {why}. Pass a local copy with "
            f"--against {spec.name}=PATH (a file, or a folder from `hf download {spec.hub_id} --repo-type dataset "
            f"--local-dir PATH`), leave it out of --eval_sets, or go on without it with --skip_unavailable")


@dataclass
class Selection:
    sets: list[EvalSet]
    not_checked: dict[str, str]  # registered set -> why it was not checked

    def record(self) -> dict:
        return {s.name: s.record() for s in self.sets}


def _problem(value: object, where: str) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise CftError(f"{where}: no problem text (got {type(value).__name__ if value is not None else 'null'})")


def _check_fields(spec: EvalSetSpec, source: str, fields: list[str]) -> None:
    for want, what in ((spec.problem_field, "problem"), (spec.answer_field, "answer")):
        if want and want not in fields:
            raise CftError(f"evaluation set {spec.name} ({source}): no field '{want}' (the registry reads its "
                           f"{what} from '{want}'; this copy has {', '.join(fields) or 'no fields'})")


def _from_dataset(spec: EvalSetSpec, path: str) -> EvalSet:
    """A registered set from the Hub (``path`` is its id) or a dataset folder; a load that fails raises
    ``Unavailable`` for the Hub, CftError for a folder."""
    problems: list[str] = []
    fingerprints = []
    for split in spec.splits:
        try:
            ds = load_dataset_split(path, spec.config, split, what=f"evaluation set ({spec.name})")
        except LoadFailed as e:
            if path == spec.hub_id:
                raise Unavailable(spec, e.why) from None
            raise
        _check_fields(spec, path, list(ds.column_names))
        problems += [_problem(v, f"evaluation set {spec.name} ({path}): split {split}: row {i}")
                     for i, v in enumerate(ds[spec.problem_field])]
        fingerprints.append(ds._fingerprint)
    return EvalSet(spec.name, path, problems, spec.name,
                   {"config": spec.config or "default", "splits": list(spec.splits), "fingerprints": fingerprints})


def _from_file(path: Path, name: str, spec: EvalSetSpec | None) -> EvalSet:
    problems = []
    for where, row in rows_of_file(path):
        at = f"{path}: {where}"
        if not isinstance(row, dict):
            raise CftError(f"{at}: expected an object, got {type(row).__name__}")
        if spec is not None:
            _check_fields(spec, str(path), list(row))
            problems.append(_problem(row[spec.problem_field], at))
        elif (question := question_of(row)) is not None:
            problems.append(question)
        else:
            raise CftError(f"{at}: no problem (looked for question, problem, extra_info.question, "
                           "prompt[user].content)")
    if not problems:
        raise CftError(f"{path}: no problems in this evaluation set")
    return EvalSet(name, str(path), problems, spec.name if spec else None)


def _from_folder(path: Path, name: str) -> EvalSet:
    """A dataset folder of one's own: every split, each row's problem in any input shape."""
    import datasets

    try:
        loaded = datasets.load_dataset(str(path))
    except Exception as e:  # noqa: BLE001 - datasets raises many kinds
        raise CftError(f"{path}: cannot load this dataset folder: {reason(e)}") from None
    problems = []
    for split, ds in loaded.items():
        for i, row in enumerate(ds):
            if (question := question_of(row)) is None:
                raise CftError(f"{path}: split {split}: row {i}: no problem (looked for question, problem, "
                               "extra_info.question, prompt[user].content)")
            problems.append(question)
    if not problems:
        raise CftError(f"{path}: no problems in this evaluation set")
    return EvalSet(name, str(path), problems, None, {"splits": list(loaded)})


def load_local(item: str) -> EvalSet:
    """One ``--against`` item: ``NAME=PATH`` (a registered set's local copy, or a set named NAME) or ``PATH``."""
    name, eq, path_text = item.partition("=")
    if not eq or not name or "/" in name:
        name, path_text = "", item
    path = Path(path_text)
    spec = REGISTRY.get(name)
    if not path.exists():
        raise CftError(f"{path}: file not found")
    if path.is_dir():
        if spec is not None:
            return _from_dataset(spec, str(path))
        return _from_folder(path, name or path.name)
    return _from_file(path, name or path.stem, spec)


def chosen(names: list[str]) -> list[str]:
    """The registered sets ``--eval_sets`` names (``all``: every one; ``none``: no one), in registry order."""
    unknown = [n for n in names if n not in REGISTRY and n not in (ALL, NONE)]
    if unknown:
        raise CftError(f"--eval_sets: no evaluation set named {', '.join(unknown)} (known: "
                       f"{', '.join(REGISTRY)}, or {ALL} / {NONE})")
    if NONE in names and len(names) > 1:
        raise CftError(f"--eval_sets {NONE} goes alone")
    if ALL in names:
        return list(REGISTRY)
    return [n for n in REGISTRY if n in names]


def load_eval_sets(names: list[str], against: list[str] = (), skip_unavailable: bool = False,
                   log=lambda line: print(line, file=sys.stderr, flush=True)) -> Selection:
    """The sets of one run: ``--against`` items first read (local, cheap), then the registered sets named
    (``chosen(names)``) not given a local copy, from the cache or the Hub."""
    local = [load_local(item) for item in against]
    covered = {s.registered for s in local if s.registered}
    hub, not_checked = [], {}
    for name in chosen(names):
        if name in covered:
            continue
        spec = REGISTRY[name]
        try:
            hub.append(_from_dataset(spec, spec.hub_id))
        except Unavailable as e:
            if not skip_unavailable:
                raise
            not_checked[name] = f"cannot be loaded: {e.why}"
            log(f"note: evaluation set {name} ({spec.hub_id}) cannot be loaded ({e.why}); not checked against it "
                "(--skip_unavailable)")
    sets = hub + local
    checked = {s.registered for s in sets if s.registered}
    for name in REGISTRY:
        if name not in checked and name not in not_checked:
            not_checked[name] = "left out of --eval_sets"
    names_used = Counter(s.name for s in sets)
    sets = [replace(s, name=f"{s.name}#{k}") if names_used[s.name] > 1 and not s.registered else s
            for k, s in enumerate(sets)]
    for s in sets:
        log(f"evaluation set {s.name}: {len(s.problems)} problems from {s.source}")
    return Selection(sets, not_checked)
