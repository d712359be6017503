"""The problem set as users keep it, and its rows normalised to (index, question, answer).

A problem set (``--input_file`` of every step that reads it) is one of:

- a JSON list (``.json``, or any other name), as DeepScaleR ships it;
- JSON Lines (``.jsonl``, ``.ndjson``): one row per line, blank lines skipped;
- parquet (``.parquet``, ``.pq``), as verl's own preprocessing writes it;
- a dataset folder in the Hub's layout (``DIR``, ``DIR:SPLIT`` or ``DIR:CONFIG:SPLIT``; the only split
  when none is named), read by ``datasets.load_dataset``;
- a Hub dataset with its split, ``OWNER/NAME[@REVISION][:CONFIG]:SPLIT`` (for example
  ``agentica-org/DeepScaleR-Preview-Dataset:train``), read by ``datasets.load_dataset`` from the user's
  cache (``HF_HOME``; ``HF_DATASETS_OFFLINE=1`` keeps it off the network).

A row's index is its position in that list or split. A file is identified by its sha256; a Hub dataset
by the sha256 of its id, config, split, revision and ``datasets`` fingerprint (which follows the
revision's data files); a folder by the sha256 of its config, split and files (``input_sha256``). Chunk
metadata and every resume check compare it.

Rows are checked where they enter (``to_problem``): a row with no question, no answer, an empty
answer, or an answer too long to be one (over ``MAX_ANSWER_CHARS``) is an error that names the row;
nothing is skipped silently. A GSM8K-style answer (the worked solution, ``<<48/2=24>>`` notes and
all, ending ``#### 72``) is read as its final value (``72``): ``answer_of`` and ``to_problem`` give the
value, and ``worked_answers`` counts such rows for the step's summary.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cft.common.errors import CftError
from cft.common.jsonio import read_json_list, sha256_file

MAX_ANSWER_CHARS = 1000  # a final answer is a value or an expression; a longer one is a solution or a slip
ANSWER_FIELDS = ("answer", "gt_answer", "reward_model.ground_truth")
QUESTION_FIELDS = ("question", "problem", "extra_info.question", "prompt[user].content")
_WORKED = "####"  # GSM8K: "<worked solution>\n#### <final value>"
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_HUB = re.compile(r"^(?P<id>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w./-]+))?"
                  r"(?::(?P<first>[\w.-]+))(?::(?P<second>[\w.-]+))?$")
FORMS = ("a JSON list, .jsonl or .parquet file, a dataset folder (DIR[:SPLIT]), "
         "or a Hub dataset as OWNER/NAME[@REVISION][:CONFIG]:SPLIT")


@dataclass(frozen=True)
class Problem:
    index: int
    question: str
    answer: str
    prompt: str | None  # the row's own user prompt content, if it has one


# --- row shapes ---

def _text(value: Any) -> str | None:
    """A usable text field: a non-empty string, or a number (answers like 42 in some dumps)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _user_prompt(row: dict) -> str | None:
    prompt = row.get("prompt")
    if isinstance(prompt, str):
        return _text(prompt)
    if isinstance(prompt, list):
        for message in prompt:
            if isinstance(message, dict) and message.get("role") == "user":
                return _text(message.get("content"))
    return None


def question_of(row: dict) -> str | None:
    """First of ``question``, ``problem``, ``extra_info.question``, the user prompt content."""
    extra = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
    for value in (row.get("question"), row.get("problem"), extra.get("question")):
        if (text := _text(value)) is not None:
            return text
    return _user_prompt(row)


def _raw_answer(row: dict) -> tuple[str, Any] | None:
    """The first answer field that holds text, else the first one present (not null): its name and value."""
    reward = row.get("reward_model") if isinstance(row.get("reward_model"), dict) else {}
    present = [(name, value) for name, value in zip(
        ANSWER_FIELDS, (row.get("answer"), row.get("gt_answer"), reward.get("ground_truth"))) if value is not None]
    return next((f for f in present if _text(f[1]) is not None), present[0] if present else None)


def final_value(text: str) -> str:
    """A GSM8K-style answer's final value (what follows the last ``####``, thousands commas dropped);
    any other answer as it is."""
    if _WORKED not in text:
        return text
    value = text.rsplit(_WORKED, 1)[1].strip()
    return value.replace(",", "") if _THOUSANDS.match(value) else value


def answer_of(row: dict) -> str | None:
    """First of ``answer``, ``gt_answer``, ``reward_model.ground_truth`` that holds text, read as its final
    value (a GSM8K ``... #### 72`` answer gives ``72``); None if there is none."""
    reward = row.get("reward_model") if isinstance(row.get("reward_model"), dict) else {}
    for value in (row.get("answer"), row.get("gt_answer"), reward.get("ground_truth")):
        if (text := _text(value)) is not None:
            return _text(final_value(text))
    return None


def is_worked(row: dict) -> bool:
    """Whether the row's answer is a GSM8K-style worked solution (read as its final value)."""
    found = _raw_answer(row)
    return found is not None and isinstance(found[1], str) and _WORKED in found[1]


def worked_answers(rows: list) -> int:
    """How many rows have a GSM8K-style answer, read as its final value."""
    return sum(isinstance(r, dict) and is_worked(r) for r in rows)


def to_problem(row: Any, index: int, source: str | Path = "input") -> Problem:
    """The row's question and final answer; an error naming the row if either is missing or unusable."""
    where = f"{source}: row {index}"
    if not isinstance(row, dict):
        raise CftError(f"{where}: expected an object, got {type(row).__name__}")
    question = question_of(row)
    if question is None:
        raise CftError(f"{where}: no question (looked for {', '.join(QUESTION_FIELDS)})")
    found = _raw_answer(row)
    if found is None:
        raise CftError(f"{where}: no answer (looked for {', '.join(ANSWER_FIELDS)})")
    field, value = found
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise CftError(f"{where}: the answer ({field}) is a {type(value).__name__}, not a text or a number")
    if isinstance(value, str) and not value.strip():
        raise CftError(f"{where}: the answer ({field}) is empty")
    answer = final_value(str(value))
    if not answer:
        raise CftError(f"{where}: the answer ({field}) is a worked solution with nothing after its '####'")
    if len(answer) > MAX_ANSWER_CHARS:
        raise CftError(f"{where}: the answer ({field}) is {len(answer):,} characters, too long to be a final "
                       f"answer (at most {MAX_ANSWER_CHARS:,}); is a solution in the answer field?")
    return Problem(index, question, answer, _user_prompt(row))


# --- the problem set's forms ---

@dataclass(frozen=True)
class Source:
    """Where a problem set is: ``kind`` is "file", "folder" or "hub"."""

    kind: str
    path: str                  # the file, the folder, or the Hub id
    config: str | None = None
    split: str | None = None
    revision: str | None = None


def parse_source(spec: str | Path) -> Source:
    """The form of ``spec`` (see the module's docstring); an error naming it if it is none of them."""
    text = str(spec)
    path = Path(text)
    if path.is_file():
        return Source("file", text)
    if path.is_dir():
        return Source("folder", text)
    parts = text.split(":")
    for k in (1, 2):
        if len(parts) > k and Path(":".join(parts[:-k])).is_dir():
            tail = parts[-k:]
            return Source("folder", ":".join(parts[:-k]), config=tail[0] if k == 2 else None, split=tail[-1])
    m = _HUB.match(text)
    if m and path.suffix.lower() not in (".json", ".jsonl", ".ndjson", ".parquet", ".pq"):
        second = m.group("second")
        return Source("hub", m.group("id"), config=m.group("first") if second else None,
                      split=second or m.group("first"), revision=m.group("revision"))
    raise CftError(f"{text}: file not found (a problem set is {FORMS})")


def resolve_source(spec: str | Path) -> str:
    """``spec`` with a local file or folder made absolute, a Hub dataset as it is (for commands run elsewhere)."""
    source = parse_source(spec)
    if source.kind == "hub":
        return str(spec)
    suffix = str(spec)[len(source.path):]  # ":SPLIT" of a folder
    return str(Path(source.path).resolve()) + suffix


def rows_of_file(path: str | Path) -> Iterator[tuple[str, Any]]:
    """``(where, row)`` for each row of a JSON list, JSONL or parquet file; ``where`` names the row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise CftError(f"{path}: file not found")
    if suffix in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except (pa.ArrowException, OSError) as e:
            raise CftError(f"{path}: not a readable parquet file: {e}") from None
        yield from ((f"row {i}", row) for i, row in enumerate(rows))
    elif suffix in (".jsonl", ".ndjson"):
        with open(path, "rb") as f:
            row_no = 0
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    raise CftError(f"{path}: line {line_no}: not valid JSON: {e}") from None
                yield f"row {row_no} (line {line_no})", row
                row_no += 1
    else:
        yield from ((f"row {i}", row) for i, row in enumerate(read_json_list(path, what="problems")))


class LoadFailed(CftError):
    """``datasets.load_dataset`` failed: offline and not cached, not found, no such config or split..."""

    def __init__(self, path: str, what: str, why: str):
        self.why = why
        super().__init__(f"{path}: cannot load this {what}: {why}")


def load_dataset_split(path: str, config: str | None = None, split: str | None = None,
                       revision: str | None = None, what: str = "dataset"):
    """One split of a dataset folder or Hub dataset through ``datasets.load_dataset``; with no split, the
    only one. A load that fails is ``LoadFailed``, naming ``path`` and the first line of the reason.

    A local folder is read afresh each time: ``datasets`` keys its cache of a folder whose card lists
    ``configs`` by the card, not the files, and would serve the old rows after a file changes in place
    (huggingface/datasets#6465 is the Hub's side of it)."""
    import datasets

    local = Path(path).is_dir()
    try:
        loaded = datasets.load_dataset(path, config, split=split, revision=revision,
                                       download_mode="force_redownload" if local else None)
    except Exception as e:  # noqa: BLE001 - datasets raises many kinds (offline, not found, bad config)
        raise LoadFailed(path, what, reason(e)) from None
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            raise CftError(f"{path}: has splits {', '.join(loaded)}; name one as {path}:SPLIT")
        loaded = next(iter(loaded.values()))
    return loaded


def reason(error: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message, and its cause's."""
    def line(e: BaseException) -> str:
        lines = str(e).strip().splitlines()
        return f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")

    text = line(error) + (f" ({line(error.__cause__)})" if error.__cause__ is not None else "")
    return text if len(text) <= 300 else text[:297] + "..."


@functools.lru_cache(maxsize=4)
def _dataset(source: Source):
    return load_dataset_split(source.path, source.config, source.split, source.revision, "problem set")


def load_rows(spec: str | Path) -> list[dict]:
    """The raw rows of the problem set (every field kept), checked to be a non-empty list."""
    source = parse_source(spec)
    if source.kind == "file":
        rows = [row for _, row in rows_of_file(source.path)]
    else:
        rows = _dataset(source).to_list()
    if not rows:
        raise CftError(f"{spec}: the list of problems is empty")
    return rows


def input_sha256(spec: str | Path) -> str:
    """The problem set's identity: a file's sha256, or for a dataset the sha256 of its id or folder, config,
    split, revision and ``datasets`` fingerprint (which changes with its data files)."""
    source = parse_source(spec)
    if source.kind == "file":
        return sha256_file(source.path)
    ds = _dataset(source)
    identity = {"config": ds.info.config_name or source.config, "split": str(ds.split or source.split)}
    if source.kind == "hub":  # the fingerprint follows the revision's data files
        identity.update(path=source.path, revision=source.revision, fingerprint=ds._fingerprint)
    else:  # a folder: its files' contents (the fingerprint does not follow a file changed in place)
        identity.update(files=folder_digest(source.path))
    return hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).hexdigest()


def folder_digest(folder: str | Path) -> str:
    """sha256 over a folder's files (relative path and sha256 of each, in order), hidden ones left out."""
    root = Path(folder)
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if not any(part.startswith(".") for part in rel.parts):
            h.update(f"{rel.as_posix()}\0{sha256_file(path)}\n".encode())
    return h.hexdigest()


def load_problems(path: str | Path, start: int = 0, end: int | None = None) -> list[Problem]:
    """Normalise rows ``[start, end)`` of the problem set; the first bad row is an error."""
    rows = load_rows(path)
    end = len(rows) if end is None else min(end, len(rows))
    return [to_problem(rows[i], i, path) for i in range(start, end)]
