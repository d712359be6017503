"""Cheap signals that a verdict may be wrong, and the ``disputed`` mark they put on a solution.

Each signal is a short code; a solution's ``dispute_reason`` lists the codes
that fired, comma separated (``several_boxes,second_path``), and, when an LLM
judge was asked (``cft.grading.judge``), ``judge:<its verdict>``. The signals look at
verdicts the grader may have got wrong, mostly right answers graded wrong
(false negatives are what published audits of rule-based graders find most):

- ``contains_truth``: graded incorrect, but the ground truth appears whole in
  the extracted answer (``x = 5 \\text{ or } 5`` for 5; ``5\\sqrt{2}`` for 5
  does not count: the match must stand alone).
- ``several_boxes``: graded incorrect, and the final answer was read from
  several boxes of one sentence.
- ``units``: graded incorrect, and the answer carries words (a unit, a label).
- ``second_path``: plain math-verify, extracting from the whole text its own
  way, disagrees with the verdict (either direction).

``SIGNALS`` is what ``grade_solutions.py`` checks by default (``--signals``
picks others); bench/label_noise.py --signals measures each signal's
precision and recall on a held-out pool with known labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cft.grading.answer_forms import read_form, unwrap_text

if TYPE_CHECKING:  # grading pulls in math-verify; critique and the label report need only reason_codes
    from cft.grading.grader import Grade

CONTAINS_TRUTH, SEVERAL_BOXES, UNITS, SECOND_PATH = "contains_truth", "several_boxes", "units", "second_path"
ALL_SIGNALS = (CONTAINS_TRUTH, SEVERAL_BOXES, UNITS, SECOND_PATH)
# The default: the one signal that found wrong verdicts on the held-out pool (bench/label_noise.py --signals);
# the other three flagged many verdicts there, none of them wrong, and would only hold back good rows.
SIGNALS = (SECOND_PATH,)

_LATEX_SPACE = re.compile(r"\\[,;:! ]|\\quad|\\qquad|~")
_WORDS = re.compile(r"\\(?:text|mbox|textrm|mathrm)\s*\{\s*[A-Za-z]{2,}")


def _contains(answer: str, truth: str) -> bool:
    """Whether ``truth`` stands alone inside ``answer`` (both as plain keys), not as part of a longer number."""
    a, t = _spaced(answer), _spaced(truth)
    if not t or len(a) <= len(t):
        return False
    start = a.find(t)
    while start >= 0:
        before = a[start - 1] if start else ""
        after = a[start + len(t)] if start + len(t) < len(a) else ""
        if not (before.isalnum() or (before and before in ".\\^_{-")) and \
                not (after.isalnum() or (after and after in ".^_}\\")):
            return True
        start = a.find(t, start + 1)
    return False


def _spaced(s: str) -> str:
    """Lower case, ``\\text{}`` unwrapped, LaTeX spacing as one space (word boundaries kept)."""
    return " ".join(_LATEX_SPACE.sub(" ", unwrap_text(s)).replace("$", " ").lower().split())


def second_path(text: str, truth: str, gold: list | None = None) -> bool | None:
    """Plain math-verify's verdict on the whole text (its own extraction); None if it found nothing.
    ``gold``: the truth already parsed by math-verify."""
    from math_verify import parse, verify

    if gold is None:
        gold = parse(f"${truth}$", parsing_timeout=None)
    pred = parse(text, parsing_timeout=None)
    if not gold or not pred:
        return None
    return bool(verify(gold, pred, timeout_seconds=None))


def signals_for(text: str, truth: str, grade: Grade, signals: Sequence[str] = SIGNALS,
                cache: dict | None = None) -> list[str]:
    """The signals that doubt ``grade`` (a verdict on ``text`` against ``truth``), in ``ALL_SIGNALS`` order.

    ``cache``: the second path's verdict per (answer, grade) of one problem, so that samples ending in
    the same answer pay for one math-verify parse of a whole text, not one each.
    """
    from cft.grading.extract import final_boxes
    from cft.grading.grader import CORRECT, INCORRECT

    if grade.grade not in (CORRECT, INCORRECT) or grade.extracted_answer is None:
        return []
    fired = []
    answer = grade.extracted_answer
    if grade.grade == INCORRECT:
        if CONTAINS_TRUTH in signals and _contains(answer, truth):
            fired.append(CONTAINS_TRUTH)
        if SEVERAL_BOXES in signals and len(final_boxes(text)) > 1:
            fired.append(SEVERAL_BOXES)
        if UNITS in signals and (read_form(answer).unit or _WORDS.search(answer)):
            fired.append(UNITS)
    if SECOND_PATH in signals:
        key = (answer, grade.grade)
        if cache is None or key not in cache:
            gold = None
            if cache is not None:
                if "gold" not in cache:
                    from math_verify import parse

                    cache["gold"] = parse(f"${truth}$", parsing_timeout=None)
                gold = cache["gold"]
            other = second_path(text, truth, gold)
            if cache is not None:
                cache[key] = other
        else:
            other = cache[key]
        if other is not None and other != grade.correct:
            fired.append(SECOND_PATH)
    return fired


def mark(solution: dict, reasons: Sequence[str]) -> None:
    """Set or clear ``disputed``/``dispute_reason`` on a solution record."""
    if reasons:
        solution["disputed"] = True
        solution["dispute_reason"] = ",".join(reasons)
    else:
        solution.pop("disputed", None)
        solution.pop("dispute_reason", None)


def reason_codes(reason: str | None) -> list[str]:
    """``"units,judge:correct"`` -> ``["units", "judge:correct"]``."""
    return [r for r in (reason or "").split(",") if r]
