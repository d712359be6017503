"""A solution cut into steps: paragraphs by default (as ProcessBench), or lines, or sentences.

A step is a stretch of the solution's own text, stripped of the whitespace around it; its span
(start and end in the text) is kept too, so a prefix of the solution (``prefix_text``: the text up to
the start of step ``i``) is the solution as the model wrote it, not a re-joined copy.

- ``paragraphs``: pieces between blank lines (``\\n`` followed by a line of only whitespace);
- ``lines``: pieces between line breaks;
- ``sentences``: pieces after ``.``, ``!`` or ``?`` followed by whitespace, and between line breaks
  (for short solutions on one line, such as the demo's few-shot ones).

A piece shorter than ``min_chars`` characters (``**Step 2:**``, ``$$x = 3$$``, ``Done.``) is too short to
judge alone: it is merged into the step before it (the first piece into the one after it). The split is
stored with each labelled row, so every later reader sees the same steps.
"""

from __future__ import annotations

import re

SPLITTERS = {
    "paragraphs": re.compile(r"\n[ \t\r\f\v]*\n\s*"),
    "lines": re.compile(r"\n\s*"),
    "sentences": re.compile(r"(?<=[.!?])\s+|\n\s*"),
}
DEFAULT_SPLITTER = "paragraphs"
DEFAULT_MIN_CHARS = 12
DEFAULT_MAX_STEPS = 40


def step_spans(text: str, splitter: str = DEFAULT_SPLITTER, min_chars: int = DEFAULT_MIN_CHARS
               ) -> list[tuple[int, int]]:
    """``(start, end)`` of each step of ``text`` (whitespace around a step left out), short pieces merged."""
    pieces, pos = [], 0
    for m in [*SPLITTERS[splitter].finditer(text), None]:
        start, end = pos, (m.start() if m else len(text))
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            pieces.append([start + lead, start + len(piece.rstrip())])
        pos = m.end() if m else len(text)
    merged: list[list[int]] = []
    for span in pieces:
        if merged and (span[1] - span[0] < min_chars or merged[-1][1] - merged[-1][0] < min_chars):
            merged[-1][1] = span[1]  # a short piece joins the step before it; a short first step takes the next
        else:
            merged.append(span)
    return [(s, e) for s, e in merged]


def steps_of(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[s:e] for s, e in spans]


def prefix_text(text: str, spans: list[tuple[int, int]], i: int) -> str:
    """The solution's first ``i`` steps as written, with the break before step ``i`` (line breaks kept, spaces
    and tabs at its end dropped, which a tokenizer would rather see the model write); ``""`` for ``i`` 0."""
    if i <= 0:
        return ""
    end = spans[i][0] if i < len(spans) else len(text)
    return text[:end].rstrip(" \t")
