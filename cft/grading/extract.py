"""The final answer of a solution: its last box, or the last boxes its final sentence joins.

The final answer is the content of the LAST top-level ``\\boxed{...}`` (or
``\\fbox{...}``) in the text, braces matched, a box inside a box unwrapped. A
solution with no box has no final answer; there is no fall-back to "the last
number in the text". Pure string work: no math-verify here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


def _box_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(command_start, content_start, content_end) of each top-level box, in order."""
    pos = 0
    while (m := BOX_RE.search(text, pos)) is not None:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            depth += c == "{"
            depth -= c == "}"
            i += 1
        if depth:  # unclosed box (cut off by max_tokens): no answer here
            return
        yield m.start(), m.end(), i - 1
        pos = i


# What may stand between two boxes that state one answer together: math delimiters, spacing,
# "and"/"or"/commas (bare or in \text{}), and a variable naming the next value (x_2 =).
_GAP_NOISE = re.compile(r"\$|\\[()\[\]]|\\quad|\\qquad|\\[,;:! ]|~|&|\\\\")
_GAP_TEXT = re.compile(r"\\(?:text|textrm|mbox|mathrm)\s*\{([^{}]*)\}")
_GAP_NAME = re.compile(r"(?:[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?\s*=\s*)$")
_GAP_JOIN = re.compile(r"(?:[,;]?\s*(?:and|or)?|,\s*(?:and|or)\s*)\s*,?", re.I)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _joins(gap: str) -> bool:
    """Whether the text between two boxes joins them into one answer (``$\\boxed{2}$ and $\\boxed{3}$``)."""
    if len(gap) > 80:
        return False
    g = _GAP_TEXT.sub(r" \1 ", gap)
    g = _GAP_NOISE.sub(" ", g).strip()
    g = _GAP_NAME.sub("", g).strip()
    if not g and _BLANK_LINE.search(gap):
        return False  # two boxes in two paragraphs, nothing joining them
    return _GAP_JOIN.fullmatch(g) is not None


def _unbox(answer: str) -> str:
    """``\\boxed{\\boxed{7}}`` -> ``7``."""
    while True:
        inner = list(_box_spans(answer))
        if len(inner) == 1 and answer.startswith(("\\boxed", "\\fbox")) and inner[0][2] == len(answer) - 1:
            answer = answer[inner[0][1] : inner[0][2]].strip()
        else:
            return answer


def final_boxes(text: str) -> list[str]:
    """The contents of the boxes that state the final answer: the last box, with the boxes just
    before it that its sentence joins to it ("$\\boxed{2}$ and $\\boxed{3}$", "x=\\boxed{5} or x=\\boxed{-5}")."""
    if not text:
        return []
    spans = list(_box_spans(text))
    if not spans:
        return []
    chosen = [spans[-1]]
    for prev in reversed(spans[:-1]):
        if not _joins(text[prev[2] + 1 : chosen[0][0]]):
            break
        chosen.insert(0, prev)
    contents = []
    for _, start, end in chosen:
        content = _unbox(text[start:end].strip())
        if content and (not contents or contents[-1] != content):
            contents.append(content)
    return contents


def extract_answer(text: str) -> str | None:
    """The final answer: the last top-level ``\\boxed{}``/``\\fbox{}``, or the last boxes of the final
    sentence joined by "and", "or" or commas (as ``2, 3``); None without a box."""
    contents = final_boxes(text)
    if not contents:
        return None
    return contents[0] if len(contents) == 1 else ", ".join(contents)


# --- grading ------------------------------------------------------------------
