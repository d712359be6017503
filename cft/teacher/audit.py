"""The label audit, a by-product of checking the critiques: how often the teacher agrees with the labels.

Every sampled critique is counted once, by its row's label and by the row's source model (the model
that wrote the solution): it *agrees* when its verdict is the label, *contradicts* when it is the
other verdict, and has *no verdict* when it was truncated, never closed its thinking, gave none or
gave both. The agreement rate is agrees / (agrees + contradicts): how often the teacher, when it
commits, sides with the grader. The counting is ``cft.critic.agreement``'s, which the critic's report
card (``evaluate_critic.py``) shares.

A row whose critiques all contradict its label (every one of the K, none without a verdict) is
*doubted*: the teacher, asked K times, never agreed with the grader. Those rows go to the doubted
report (``..._doubted.json``) with their critiques, as a second opinion on the grade: a wrong
label, a grader that misread an answer, or a teacher that cannot solve the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cft.critic.agreement import Agreement, as_float, as_verdict
from cft.teacher.inputs import Item
from cft.teacher.verdicts import Checked

AGREES, CONTRADICTS, NO_VERDICT = "agrees", "contradicts", "no verdict"  # the summary's keys


@dataclass
class Audit:
    by_source: dict[str, Agreement] = field(default_factory=dict)  # the counts (cft.critic.agreement), by source
    doubted: list[dict] = field(default_factory=list)

    def add(self, item: Item, samples: list[dict], checked: list[Checked]) -> None:
        counts = self.by_source.setdefault(item.source_model or "(unknown)", Agreement())
        verdicts = [as_verdict(c.verdict) for c in checked]
        for verdict in verdicts:
            counts.add(item.label, verdict)
        if verdicts and all(v in ("right", "wrong") and v != item.label for v in verdicts):
            self.doubted.append(doubted_row(item, samples, checked))

    @property
    def total(self) -> Agreement:
        return Agreement.total(self.by_source.values())

    @property
    def by_label(self) -> dict[str, Agreement]:
        total = self.total
        return {label: total.only(label) for label in sorted({lab for lab, _ in total.counts})}

    @staticmethod
    def table(groups: dict[str, Agreement]) -> dict[str, dict]:
        """Per group: its counts and agreement rate, as the summary's JSON records them."""
        return {name: {"critiques": a.n, AGREES: a.agrees, CONTRADICTS: a.contradicts, NO_VERDICT: a.no_verdict,
                       "agreement": None if rate(a) is None else round(rate(a), 4)}
                for name, a in sorted(groups.items())}


def rate(a: Agreement) -> float | None:
    """Step 6's agreement: agrees / (agrees + contradicts)."""
    return as_float(a.agreement())


def doubted_row(item: Item, samples: list[dict], checked: list[Checked]) -> dict:
    """One row of the doubted report: the row as step 5 has it, and every critique with its verdict."""
    return {"split": item.split, "formatted_index": item.formatted_index, "question_index": item.question_index,
            "source_model": item.source_model, "solution_index": item.solution_index, "label": item.label,
            "ground_truth": item.ground_truth, "prompt": item.prompt,
            "critiques": [{"verdict": c.verdict, "text": s["text"]} for s, c in zip(samples, checked)]}


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
