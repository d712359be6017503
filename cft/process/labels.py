"""The step-label file: one row per labelled solution, assembled from the work chunks; and what step 4 reads of it.

``assemble`` joins, per solution, the teacher's vote (``cft.process.verdicts.vote`` over its verdict chunk) and
the completer's search (its rollout chunk) by the consensus rule (``cft.process.consensus``), decides whether
a right solution is lucky (``--lucky_rule``), and keeps every signal's evidence with the row, labelled or not.
Nothing is asked of a model here: a change of the lucky rule or of how verdicts are read costs no model time.

``LuckyLabels`` is what step 4 (``generate_critique_data.py --step_labels``) reads: for each labelled
solution, whether it is lucky, and a hash of its text, so labels of another filtered file are refused in one
line rather than applied to the wrong solutions.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import iter_json_list
from cft.common.work import WorkPlan, read_chunk
from cft.process.consensus import LUCKY_RULES, ROLLOUTS, TEACHER, join, lucky, names_a_step
from cft.process.inputs import Inputs, Item
from cft.process.verdicts import vote

BANDS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pass_band(rate: float) -> str:
    for lo, hi in BANDS:
        if rate < hi or hi == 1.0:
            return f"{lo:.2f}-{hi:.2f}"
    return "?"


@dataclass
class Assembled:
    rows: list[dict] = field(default_factory=list)
    status: Counter = field(default_factory=Counter)  # (outcome "right"/"wrong", status) -> solutions
    unparsed: Counter = field(default_factory=Counter)  # verdict reason -> verdicts
    no_vote: Counter = field(default_factory=Counter)  # tie / unparsed -> solutions
    search: Counter = field(default_factory=Counter)  # (outcome, search status) -> solutions
    non_monotonic: int = 0
    rollouts: list[int] = field(default_factory=list)  # continuations per searched solution
    prefixes: list[int] = field(default_factory=list)  # prefixes tested per searched solution
    verdicts: list[int] = field(default_factory=list)  # verdicts per judged solution
    right_by_rule: dict[str, int] = field(default_factory=dict)  # lucky rule -> right solutions it leaves
    lucky_by: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # table -> (key, lucky?) -> n

    @property
    def right(self) -> int:
        return sum(n for (outcome, _), n in self.status.items() if outcome == "right")

    @property
    def lucky(self) -> int:
        return sum(1 for r in self.rows if r["lucky"])

    def share_tables(self) -> dict[str, dict[str, dict]]:
        """Per table (``source_model``, ``pass_band``, ``level``, ``source``): per key, right solutions, lucky ones
        and the share."""
        out = {}
        for table, counts in self.lucky_by.items():
            keys = sorted({k for k, _ in counts})
            out[table] = {k: {"right": counts[(k, False)] + counts[(k, True)], "lucky": counts[(k, True)],
                              "share": round(counts[(k, True)] / (counts[(k, False)] + counts[(k, True)]), 4)}
                          for k in keys if counts[(k, False)] + counts[(k, True)]}
        return out


def _results(work: WorkPlan | None) -> dict[int, dict]:
    if work is None:
        return {}
    out = {}
    for chunk in work.chunks:
        if not chunk.path.exists():
            raise CftError(f"{chunk.path}: missing; rerun to make it")
        _, rows = read_chunk(chunk.path)
        out.update((r["position"], r) for r in rows)
    return out


def assemble(inputs: Inputs, verdict_work: WorkPlan | None, rollout_works: dict[str, WorkPlan] | None,
             lucky_rule: str = "agree") -> Assembled:
    """Every item's label row (chunks read one work at a time)."""
    out = Assembled()
    verdicts = _results(verdict_work)
    searched: dict[int, dict] = {}
    for work in (rollout_works or {}).values():
        searched.update(_results(work))
    kept_by_rule = Counter()
    for item in inputs.items:
        row, teacher, mc = _row(item, verdicts.get(item.position) if verdict_work else None,
                                searched.get(item.position) if rollout_works is not None else None,
                                verdict_work is not None, rollout_works is not None, out)
        outcome = "right" if item.correct else "wrong"
        joined = join(item.correct, **({"teacher": teacher} if verdict_work is not None else {}),
                      **({"rollouts": mc} if rollout_works is not None else {}))
        row.update(label=joined.label, status=joined.status, signals=list(joined.signals),
                   lucky=lucky(item.correct, joined, teacher, mc, lucky_rule))
        out.status[(outcome, joined.status)] += 1
        if item.correct:
            for rule in LUCKY_RULES:
                kept_by_rule[rule] += not lucky(True, joined, teacher, mc, rule)
            keys = {"source_model": item.source_model, "pass_band": pass_band(item.pass_rate), **dict(item.groups)}
            for table, key in keys.items():
                out.lucky_by[table][(key, row["lucky"])] += 1
        out.rows.append(row)
    out.right_by_rule = {rule: kept_by_rule[rule] for rule in LUCKY_RULES}
    return out


def _row(item: Item, verdict: dict | None, search: dict | None, teacher_ran: bool, rollouts_ran: bool,
         out: Assembled) -> tuple[dict, int | None, int | None]:
    n = len(item.spans)
    row = {"index": item.index, "source_model": item.source_model, "solution_index": item.solution_index,
           "question": item.question, "ground_truth": item.ground_truth, "correct": item.correct, "grade": item.grade,
           "text_sha256": text_hash(item.text), "steps": item.steps, "pass_rate": item.pass_rate, **dict(item.groups),
           TEACHER: None, ROLLOUTS: None}
    teacher = mc = None
    if teacher_ran:
        v = vote(verdict["samples"], n)
        teacher = v.vote
        out.verdicts.append(len(v.verdicts))
        out.unparsed.update(v.reasons)
        if v.why_none:
            out.no_vote[v.why_none] += 1
        row[TEACHER] = {"vote": v.vote, "margin": v.margin, "votes": {str(k): c for k, c in v.votes.items()},
                        "verdicts": v.verdicts, "unparsed": v.reasons}
    if rollouts_ran:
        mc = search["first_error"]
        out.search[("right" if item.correct else "wrong", search["status"])] += 1
        out.non_monotonic += bool(search.get("non_monotonic"))
        out.rollouts.append(search["rollouts"])
        out.prefixes.append(len(search["tested"]))
        row[ROLLOUTS] = {"first_error": mc, "status": search["status"], "rollouts": search["rollouts"],
                         "tested": [{k: t[k] for k in ("prefix", "reached", "of")} for t in search["tested"]],
                         "non_monotonic": bool(search.get("non_monotonic"))}
    return row, teacher, mc


# --- what step 4 reads -------------------------------------------------------------------------

class LuckyLabels:
    """The lucky flags of a step-label file, for step 4's draw (``cft.critic.critique_rows.StepLabels``)."""

    def __init__(self, path: str | Path, keep_lucky: bool = False):
        self.path, self.keep_lucky = Path(path), keep_lucky
        if not self.path.is_file():
            raise CftError(f"{self.path}: file not found (label_steps.py's output, --step_labels)")
        self.flags: dict[tuple[int, str, int], tuple[bool, str]] = {}
        for n, row in enumerate(iter_json_list(self.path, what="step labels")):
            try:
                key = (row["index"], row["source_model"], row["solution_index"])
                self.flags[key] = (bool(row["lucky"]), row["text_sha256"])
            except (TypeError, KeyError) as e:
                raise CftError(f"{self.path}: row {n}: not a step-label row (no {e})") from None

    def lucky(self, index: int, model: str, solution_index: int) -> bool | None:
        flag = self.flags.get((index, model, solution_index))
        return None if flag is None else flag[0]

    def holds_back(self, index: int, model: str, solution_index: int, sol: dict, stats) -> bool:
        flag = self.flags.get((index, model, solution_index))
        if flag is None:
            stats.unlabelled[model] += 1
            return False
        if flag[1] != text_hash(sol.get("text") or ""):
            raise CftError(f"{self.path}: problem {index}, {model} solution {solution_index} is labelled for another "
                           "text than the filtered file holds: the step labels are of another run's filtered file "
                           "(rerun label_steps.py on this one)")
        if not flag[0]:
            return False
        if self.keep_lucky:
            stats.kept_lucky[model] += 1
            return False
        stats.held_back_lucky[model] += 1
        return True


def labelled_steps(row: dict) -> bool:
    """Whether a label row has a step label (the rows that become process rows)."""
    return row.get("label") == -1 or names_a_step(row.get("label"))
