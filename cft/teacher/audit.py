"""The label audit, a by-product of checking the critiques: how often the teacher agrees with the labels.

Every sampled critique is counted once, by its row's label and by the row's source model (the model
that wrote the solution): it *agrees* when its verdict is the label, *contradicts* when it is the
other verdict, and has *no verdict* when it was truncated, never closed its thinking, gave none or
gave both. The agreement rate is agrees / (agrees + contradicts): how often the teacher, when it
commits, sides with the grader.

A row whose critiques all contradict its label (every one of the K, none without a verdict) is
*doubted*: the teacher, asked K times, never agreed with the grader. Those rows go to the doubted
report (``..._doubted.json``) with their critiques, as a second opinion on the grade: a wrong
label, a grader that misread an answer, or a teacher that cannot solve the problem.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cft.teacher.inputs import Item
from cft.teacher.verdicts import Checked

AGREES, CONTRADICTS, NO_VERDICT = "agrees", "contradicts", "no verdict"


def stance(checked: Checked, label: str) -> str:
    if checked.verdict not in ("right", "wrong"):
        return NO_VERDICT
    return AGREES if checked.verdict == label else CONTRADICTS


def rate(counts: Counter) -> float | None:
    committed = counts[AGREES] + counts[CONTRADICTS]
    return counts[AGREES] / committed if committed else None


@dataclass
class Audit:
    by_label: dict[str, Counter] = field(default_factory=dict)
    by_source: dict[str, Counter] = field(default_factory=dict)
    doubted: list[dict] = field(default_factory=list)

    def add(self, item: Item, samples: list[dict], checked: list[Checked]) -> None:
        stances = [stance(c, item.label) for c in checked]
        for s in stances:
            self.by_label.setdefault(item.label, Counter())[s] += 1
            self.by_source.setdefault(item.source_model or "(unknown)", Counter())[s] += 1
        if stances and all(s == CONTRADICTS for s in stances):
            self.doubted.append(doubted_row(item, samples, checked))

    @property
    def total(self) -> Counter:
        return sum(self.by_label.values(), Counter())

    def table(self, groups: dict[str, Counter]) -> dict[str, dict]:
        """Per group: its counts and agreement rate, as the summary's JSON records them."""
        return {name: {"critiques": sum(c.values()), AGREES: c[AGREES], CONTRADICTS: c[CONTRADICTS],
                       NO_VERDICT: c[NO_VERDICT], "agreement": None if rate(c) is None else round(rate(c), 4)}
                for name, c in sorted(groups.items())}


def doubted_row(item: Item, samples: list[dict], checked: list[Checked]) -> dict:
    """One row of the doubted report: the row as step 5 has it, and every critique with its verdict."""
    return {"split": item.split, "formatted_index": item.formatted_index, "question_index": item.question_index,
            "source_model": item.source_model, "solution_index": item.solution_index, "label": item.label,
            "ground_truth": item.ground_truth, "prompt": item.prompt,
            "critiques": [{"verdict": c.verdict, "text": s["text"]} for s, c in zip(samples, checked)]}


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
