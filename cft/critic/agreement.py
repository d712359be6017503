"""Verdicts against labels, counted once: the one implementation of agreement, shared by step 6's label audit
(``cft.teacher.audit``) and the critic's report card (``cft.evaluate``).

An ``Agreement`` counts verdicts by (label, verdict): the label is the solution's grade (``right`` or
``wrong``); the verdict is what ``cft.reward.parse_verdict`` read, ``right`` or ``wrong``, and anything
else (none, both verdicts, a truncated or unread critique) counts as *no verdict*. A verdict *agrees*
when it is the label and *contradicts* when it is the other one. From the counts:

- ``agreement``: agrees / (agrees + contradicts), how often the judge sides with the label when it
  commits (step 6's teacher agreement);
- ``accuracy``: agrees / all, a verdict missing counting as not correct (the reward pays it least);
  ``accuracy_on(label)`` the same among the solutions of one label (accuracy on right and on wrong
  solutions);
- ``f1(positive)``: F1 for finding the solutions labelled ``positive`` (``wrong``: the critic's job),
  ``2 tp / (2 tp + fp + fn)`` where a missing verdict on a ``positive`` solution is a miss (fn);
- ``no_verdict_rate``: the share without a verdict.

Rates are exact fractions (``fractions.Fraction``), None where nothing is counted; ``metrics()`` gives them as
floats, each the float nearest the exact rate, so a test can state its expected values as fractions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from cft.reward import LABELS

RIGHT, WRONG = LABELS
NONE = "none"  # no verdict, both verdicts, or a critique not read
VERDICTS = (RIGHT, WRONG, NONE)


def as_verdict(verdict: str | None) -> str:
    """``right``, ``wrong``, or ``none`` for anything else (``conflict``, None)."""
    return verdict if verdict in LABELS else NONE


def ratio(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class Agreement:
    counts: Counter = field(default_factory=Counter)  # (label, verdict) -> how many

    def add(self, label: str, verdict: str | None, n: int = 1) -> Agreement:
        self.counts[(label, as_verdict(verdict))] += n
        return self

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(self.counts + other.counts)

    @classmethod
    def total(cls, parts: Iterable[Agreement]) -> Agreement:
        return sum(parts, cls())

    def only(self, label: str) -> Agreement:
        """The counts of the solutions labelled ``label``."""
        return Agreement(Counter({k: v for k, v in self.counts.items() if k[0] == label}))

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def labelled(self, label: str) -> int:
        return sum(v for (lab, _), v in self.counts.items() if lab == label)

    @property
    def agrees(self) -> int:
        return sum(v for (lab, verdict), v in self.counts.items() if verdict == lab)

    @property
    def no_verdict(self) -> int:
        return sum(v for (_, verdict), v in self.counts.items() if verdict == NONE)

    @property
    def contradicts(self) -> int:
        return self.n - self.agrees - self.no_verdict

    def agreement(self) -> Fraction | None:
        return ratio(self.agrees, self.agrees + self.contradicts)

    def accuracy(self) -> Fraction | None:
        return ratio(self.agrees, self.n)

    def accuracy_on(self, label: str) -> Fraction | None:
        return self.only(label).accuracy()

    def no_verdict_rate(self) -> Fraction | None:
        return ratio(self.no_verdict, self.n)

    def f1(self, positive: str = WRONG) -> Fraction | None:
        """F1 for finding the solutions labelled ``positive``; None where there is none and none was called so."""
        tp = self.counts[(positive, positive)]
        fp = sum(v for (lab, verdict), v in self.counts.items() if verdict == positive and lab != positive)
        fn = self.labelled(positive) - tp
        return ratio(2 * tp, 2 * tp + fp + fn)

    def metrics(self) -> dict:
        """The report card's figures: ``n``, ``accuracy``, ``accuracy_right``, ``accuracy_wrong``, ``f1_wrong``,
        ``no_verdict_rate`` (floats, None where undefined) and ``counts`` (label -> verdict -> how many)."""
        return {"n": self.n, "accuracy": as_float(self.accuracy()),
                "accuracy_right": as_float(self.accuracy_on(RIGHT)),
                "accuracy_wrong": as_float(self.accuracy_on(WRONG)), "f1_wrong": as_float(self.f1(WRONG)),
                "no_verdict_rate": as_float(self.no_verdict_rate()),
                "counts": {label: {v: self.counts[(label, v)] for v in VERDICTS} for label in LABELS
                           if self.labelled(label)}}
