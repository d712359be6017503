"""The report card's figures, from the critic's replies.

**Outcome cases.** Each of a case's K replies is read by ``cft.reward.parse_verdict`` (right, wrong, or no
verdict: none or both). The case's verdict is the *majority* of its K: the verdict more of them give, no
verdict on a tie (with K = 1, the one reply's). The majority verdicts are counted by
``cft.critic.agreement.Agreement`` (the one implementation of agreement, step 6's too): ``n``,
``accuracy``, ``accuracy_right``, ``accuracy_wrong``, ``f1_wrong`` (F1 for finding wrong solutions) and
``no_verdict_rate``, a case without a verdict counting as not correct; the same over every reply
(``per_sample``: K x n verdicts); and by source model, by pass band, by level and by source (where
known).

**Calibration** (K >= 2): the critic's probability that a solution is right is the share of its K replies
that say right. The reliability table cuts [0, 1] into equal bins (the last one closed); per bin, the
cases, their mean probability (``confidence``) and the share of them labelled right (``observed``). The
expected calibration error is ``sum over bins of (n_bin / n) * |confidence - observed|``.

**Step-level cases** (ProcessBench's metrics, arXiv 2412.06559): a reply's answer is the index in its last
``\\boxed{}`` (``cft.evaluate.prompts``); the case's is the index most of its K replies give (none on a tie
or without any). Per subset: ``error_acc``, the share of erroneous cases (label >= 0) whose answer is exactly
the earliest wrong step; ``correct_acc``, the share of correct cases (label -1) answered -1; ``f1``, their
harmonic mean ``2 * error_acc * correct_acc / (error_acc + correct_acc)``; and ``average_f1``, the mean of
the subsets' F1 (ProcessBench's "Avg.").

Every figure is computed exactly (``fractions.Fraction``) and written as the float nearest it; None where
its cases are none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from fractions import Fraction

from cft.critic.agreement import NONE, RIGHT, Agreement, as_float, as_verdict, ratio
from cft.evaluate.cases import OutcomeCases, StepCases
from cft.evaluate.prompts import parse_step_verdict
from cft.reward import parse_verdict

GROUPS = ("source_model", "band", "level", "source")  # the outcome breakdowns, as the report names them


def majority(votes: Iterable) -> object | None:
    """The value given most often, ignoring None and ``NONE``; None on a tie or with none."""
    counts = Counter(v for v in votes if v is not None and v != NONE).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def outcome_verdicts(replies: list[str]) -> list[str]:
    return [as_verdict(parse_verdict(text)[0]) for text in replies]


def outcome_figures(cases: OutcomeCases, replies: dict[int, list[str]], bins: int) -> dict:
    """Top-level figures (majority verdicts), ``per_sample``, ``by_<group>`` and ``calibration``."""
    cases_agree, samples_agree = Agreement(), Agreement()
    groups: dict[str, dict[str, Agreement]] = {}
    calibration: list[tuple[Fraction, bool]] = []
    k = None
    for item in cases.items:
        verdicts = outcome_verdicts(replies[item.position])
        k = len(verdicts)
        verdict = majority(verdicts) or NONE
        cases_agree.add(item.label, verdict)
        for v in verdicts:
            samples_agree.add(item.label, v)
        for group, name in cases.groups(item).items():
            groups.setdefault(group, {}).setdefault(name, Agreement()).add(item.label, verdict)
        calibration.append((Fraction(verdicts.count(RIGHT), len(verdicts)), item.label == RIGHT))
    out = {**cases_agree.metrics(), "per_sample": samples_agree.metrics()}
    for group in GROUPS:
        if group in groups:
            out[f"by_{group}"] = {name: a.metrics() for name, a in sorted(groups[group].items())}
    out["calibration"] = reliability(calibration, bins) if k and k > 1 else None
    return out


def reliability(pairs: list[tuple[Fraction, bool]], bins: int) -> dict:
    """The reliability table and the expected calibration error of (probability right, labelled right) pairs."""
    table: dict[int, list[tuple[Fraction, bool]]] = {}
    for p, right in pairs:
        table.setdefault(min(int(p * bins), bins - 1), []).append((p, right))
    rows, error = [], Fraction(0)
    for b in sorted(table):
        members = table[b]
        confidence = sum((p for p, _ in members), Fraction(0)) / len(members)
        observed = Fraction(sum(right for _, right in members), len(members))
        error += len(members) * abs(confidence - observed)
        rows.append({"bin": [b / bins, (b + 1) / bins], "n": len(members), "confidence": float(confidence),
                     "observed": float(observed), "gap": float(confidence - observed)})
    return {"method": "share of the K sampled verdicts that say right", "bins": rows,
            "ece": as_float(error / len(pairs)) if pairs else None}


def harmonic(a: Fraction | None, b: Fraction | None) -> Fraction | None:
    if a is None or b is None:
        return None
    return Fraction(0) if a + b == 0 else 2 * a * b / (a + b)


def _step_figures(answers: list[tuple[int, int | None]]) -> tuple[dict, Fraction | None]:
    """ProcessBench's figures of (label, answer) pairs, and the exact F1."""
    errors = [(label, a) for label, a in answers if label != -1]
    corrects = [(label, a) for label, a in answers if label == -1]
    error_acc = ratio(sum(a == label for label, a in errors), len(errors))
    correct_acc = ratio(sum(a == -1 for _, a in corrects), len(corrects))
    f1 = harmonic(error_acc, correct_acc)
    return {"n": len(answers), "errors": len(errors), "corrects": len(corrects), "error_acc": as_float(error_acc),
            "correct_acc": as_float(correct_acc), "f1": as_float(f1),
            "no_verdict_rate": as_float(ratio(sum(a is None for _, a in answers), len(answers)))}, f1


def step_figures(cases: StepCases, replies: dict[int, list[str]]) -> dict:
    """``subsets`` (per subset: the majority answers' figures, and ``per_sample``) and ``average_f1``."""
    by_subset: dict[str, tuple[list, list]] = {s: ([], []) for s in cases.subsets}
    for case in cases.cases:
        answers = [parse_step_verdict(text) for text in replies[case.position]]
        cases_of, samples_of = by_subset[case.subset]
        cases_of.append((case.label, majority(answers)))
        samples_of.extend((case.label, a) for a in answers)
    subsets, f1s = {}, []
    for name, (of_cases, of_samples) in by_subset.items():
        figures, f1 = _step_figures(of_cases)
        subsets[name] = {**figures, "per_sample": _step_figures(of_samples)[0]}
        if f1 is not None:
            f1s.append(f1)
    return {"subsets": subsets, "average_f1": as_float(sum(f1s, Fraction(0)) / len(f1s)) if f1s else None}
