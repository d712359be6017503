"""``label_steps.py``'s input: the solutions of step 3's kept problems that step 4 could draw, cut into steps.

Each solution step 4 may draw (``cft.critic.critique_rows.usable_solutions``: truncated, disputed and
repeated texts left out, as step 4 leaves them out) becomes an ``Item``, in the filtered file's order
(problem, then model field, then solution). A solution the step cannot label is counted under its
reason and left out, never labelled by a guess:

- ``empty``: no text;
- ``no_box``: no final answer in ``\\boxed{}``: nothing says where the solution ends;
- ``one_step``: a single step once split (nothing to locate);
- ``over_step_cap``: more steps than ``--max_steps``;
- ``not_selected``: left out by ``--solutions right`` or ``wrong``.

A problem's pass rate (its correct solutions over all its solutions, every model together) and its
``level`` and ``source`` fields, where the input has them, go with each item for the lucky-share tables.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import iter_json_list, sha256_file
from cft.critic.critique_rows import CritiqueStats, usable_solutions
from cft.grading.extract import BOX_RE
from cft.process.split import step_spans, steps_of
from cft.records.models import model_field_alias, source_name
from cft.records.problems import answer_of, question_of, to_problem

EMPTY, NO_BOX, ONE_STEP, OVER_CAP, NOT_SELECTED = "empty", "no_box", "one_step", "over_step_cap", "not_selected"
SELECTIONS = ("all", "right", "wrong")
GROUP_FIELDS = ("level", "source")  # input fields the lucky share is also reported by, where rows have them


@dataclass(frozen=True)
class Selection:
    """Which solutions are labelled and how they are cut: recorded with every work chunk."""
    splitter: str
    min_step_chars: int
    max_steps: int
    solutions: str = "all"
    max_problems: int | None = None
    include_truncated: bool = False
    include_disputed: bool = False

    def record(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Item:
    position: int  # in the list of items
    index: int  # the problem's row in the input
    alias: str  # the model field's alias (<alias>_solutions)
    source_model: str
    solution_index: int
    question: str
    ground_truth: str
    text: str
    correct: bool
    grade: str
    spans: tuple[tuple[int, int], ...]
    pass_rate: float
    groups: tuple[tuple[str, str], ...]  # (field, value) of GROUP_FIELDS the row has
    row_prompt: str | None  # the input row's own user prompt (the from-input template)

    @property
    def steps(self) -> list[str]:
        return steps_of(self.text, list(self.spans))

    @property
    def name(self) -> str:
        return f"problem {self.index}, {self.source_model} solution {self.solution_index}"


@dataclass
class Inputs:
    file: Path
    sha256: str
    items: list[Item]
    problems: int
    skipped: Counter  # reason -> solutions not labelled
    aliases: list[str]  # the model fields' aliases, in order

    def by_alias(self, alias: str) -> list[Item]:
        return [item for item in self.items if item.alias == alias]


def read_inputs(filtered_file: str | Path, selection: Selection) -> Inputs:
    path = Path(filtered_file)
    if not path.is_file():
        raise CftError(f"{path}: file not found (step 3's filtered problems, --filtered_file)")
    items: list[Item] = []
    skipped: Counter = Counter()
    aliases: dict[str, None] = {}
    stats = CritiqueStats()
    problems = 0
    rows = iter_json_list(path, what="filtered problems")
    for row_no, row in enumerate(islice(rows, selection.max_problems)):
        where = f"{path}: row {row_no}"
        if not isinstance(row, dict):
            raise CftError(f"{where}: expected an object")
        index = row.get("index")
        if not isinstance(index, int) or question_of(row) is None or answer_of(row) is None:
            raise CftError(f"{where}: no index, question or answer (is this step 3's filtered file?)")
        problem = to_problem(row, row_no, path)
        problems += 1
        fields = [k for k in row if model_field_alias(k) and isinstance(row[k], list)]
        every = [s for k in fields for s in row[k] if isinstance(s, dict)]
        pass_rate = sum(1 for s in every if s.get("correct")) / len(every) if every else 0.0
        groups = tuple((f, str(row[f])) for f in GROUP_FIELDS if row.get(f) not in (None, ""))
        by_name = {source_name(model_field_alias(k)): model_field_alias(k) for k in fields}
        for model, usable in usable_solutions(row, selection.include_truncated, selection.include_disputed, stats):
            alias = by_name[model]
            aliases.setdefault(alias)
            for k, sol in usable:
                if not isinstance(sol, dict):
                    raise CftError(f"{where}: {alias}_solutions[{k}] is not a solution object")
                correct = bool(sol.get("correct"))
                text = sol.get("text") or ""
                reason = None
                if (selection.solutions == "right" and not correct) or (selection.solutions == "wrong" and correct):
                    reason = NOT_SELECTED
                elif not text.strip():
                    reason = EMPTY
                elif not BOX_RE.search(text):
                    reason = NO_BOX
                spans = () if reason else tuple(step_spans(text, selection.splitter, selection.min_step_chars))
                if not reason and len(spans) < 2:
                    reason = ONE_STEP
                elif not reason and len(spans) > selection.max_steps:
                    reason = OVER_CAP
                if reason:
                    skipped[reason] += 1
                    continue
                items.append(Item(len(items), index, alias, model, k, problem.question, problem.answer, text, correct,
                                  sol.get("grade") or ("correct" if correct else "incorrect"), spans,
                                  round(pass_rate, 4), groups, problem.prompt))
    for reason, count in (("truncated", stats.skipped_truncated), ("duplicate", stats.skipped_duplicate),
                          ("disputed", sum(stats.skipped_disputed.values()))):
        if count:
            skipped[reason] += count
    if not problems:
        raise CftError(f"{path}: holds no problems")
    return Inputs(path, sha256_file(path), items, problems, skipped, list(aliases))
