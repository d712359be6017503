"""Joining the two signals into one step label, and which right solutions are lucky.

Each signal names the earliest wrong step (an index from 0), -1 for none, or nothing (``None``: the teacher's
verdicts gave no vote, or the completer never solved the problem from its start). The solution's own grade is a
third fact: a wrong final answer means some step is wrong, so "no wrong step" is not a label a wrong solution
can take.

The label (``join``), with the signals that ran:

- **both ran**: where both name the same step (or, for a right solution, both name none), that is the label
  (``agree``). Where they name different steps, or one names a step and the other none, there is no label
  (``disagree``); where one named nothing, none either (``undetermined``). Both signals' evidence is kept
  with every row, labelled or not, and each status is counted.
- **one ran** (``--no_teacher`` or ``--no_rollouts``): its step is the label (``single``), or nothing
  (``undetermined``).
- a label of -1 for a wrong solution is refused (``contradicts_grade``): the teacher overlooked the error
  its final answer proves.

**Lucky** right solutions (graded right, with a wrong step) by ``--lucky_rule``:

- ``agree`` (the default): the label names a step: both signals found the same wrong step (or the one
  signal that ran found one);
- ``both``: both signals name a wrong step, the same or not;
- ``either``: either signal names one (the strictest: the teacher's doubt alone is enough).

Completions often recover from a wrong step (a later step repairs it, or the continuation redoes the work),
so on right solutions the teacher names steps the completions do not: those solutions are ``disagree``, and
under the default rule they stay right rows. ``rules_kept`` counts the right solutions each rule would leave.
"""

from __future__ import annotations

from dataclasses import dataclass

AGREE, DISAGREE, UNDETERMINED, SINGLE, CONTRADICTS_GRADE = (
    "agree", "disagree", "undetermined", "single", "contradicts_grade")
STATUSES = (AGREE, SINGLE, DISAGREE, UNDETERMINED, CONTRADICTS_GRADE)
LUCKY_RULES = ("agree", "both", "either")
TEACHER, ROLLOUTS = "teacher", "rollouts"
_SKIPPED = object()  # a signal that did not run


@dataclass(frozen=True)
class Joined:
    label: int | None  # the earliest wrong step, -1 for none, None where there is no label
    status: str
    signals: tuple[str, ...]  # the signals that ran


def join(correct: bool, teacher: int | None | object = _SKIPPED, rollouts: int | None | object = _SKIPPED
         ) -> Joined:
    """The label of one solution from the signals that ran (see the module's doc). Pass a signal only if it ran."""
    ran = {name: value for name, value in ((TEACHER, teacher), (ROLLOUTS, rollouts)) if value is not _SKIPPED}
    signals = tuple(ran)
    if not ran:
        raise ValueError("no signal ran")
    values = list(ran.values())
    if any(v is None for v in values):
        return Joined(None, UNDETERMINED, signals)
    if len(values) == 2 and values[0] != values[1]:
        return Joined(None, DISAGREE, signals)
    label = values[0]
    if label == -1 and not correct:
        return Joined(None, CONTRADICTS_GRADE, signals)
    return Joined(label, AGREE if len(values) == 2 else SINGLE, signals)


def names_a_step(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def lucky(correct: bool, joined: Joined, teacher=None, rollouts=None, rule: str = "agree") -> bool:
    """Whether a solution graded right has a wrong step under ``rule`` (``teacher``/``rollouts``: each signal's
    step, None where it named none or did not run)."""
    if not correct:
        return False
    if rule == "agree" or len(joined.signals) == 1:
        return names_a_step(joined.label)
    named = [names_a_step(teacher) if TEACHER in joined.signals else None,
             names_a_step(rollouts) if ROLLOUTS in joined.signals else None]
    return all(named) if rule == "both" else any(named)
