"""Input rows: the three accepted shapes, normalised to (index, question, answer).

A row's index is its position in the input file. A row with no question or no
answer is an error that names the row; nothing is skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cft.common.errors import CftError
from cft.common.jsonio import read_json_list


@dataclass(frozen=True)
class Problem:
    index: int
    question: str
    answer: str
    prompt: str | None  # the row's own user prompt content, if it has one


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


def answer_of(row: dict) -> str | None:
    """First of ``answer``, ``gt_answer``, ``reward_model.ground_truth``."""
    reward = row.get("reward_model") if isinstance(row.get("reward_model"), dict) else {}
    for value in (row.get("answer"), row.get("gt_answer"), reward.get("ground_truth")):
        if (text := _text(value)) is not None:
            return text
    return None


def to_problem(row: Any, index: int, source: str | Path = "input") -> Problem:
    if not isinstance(row, dict):
        raise CftError(f"{source}: row {index}: expected an object, got {type(row).__name__}")
    question = question_of(row)
    if question is None:
        raise CftError(
            f"{source}: row {index}: no question (looked for question, problem, "
            "extra_info.question, prompt[user].content)"
        )
    answer = answer_of(row)
    if answer is None:
        raise CftError(
            f"{source}: row {index}: no answer (looked for answer, gt_answer, "
            "reward_model.ground_truth)"
        )
    return Problem(index, question, answer, _user_prompt(row))


def load_rows(path: str | Path) -> list[dict]:
    """The raw input rows (every field kept), checked to be a non-empty list."""
    return read_json_list(path, what="problems")


def load_problems(path: str | Path, start: int = 0, end: int | None = None) -> list[Problem]:
    """Normalise rows ``[start, end)`` of the input file; the first bad row is an error."""
    rows = load_rows(path)
    end = len(rows) if end is None else min(end, len(rows))
    return [to_problem(rows[i], i, path) for i in range(start, end)]
