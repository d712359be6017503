"""Step 4: graded solutions -> "is this solution right?" critique rows.

For each kept problem, up to ``max_samples`` solutions are drawn from both
models' pools: balanced between right and wrong where the problem has both,
alternating between the models within each label, never the same solution
twice (same model and sample, or the same text). Truncated solutions are
skipped unless asked for. The draw is seeded per problem, so it does not
depend on the order of the file.

With step labels (``label_steps.py``, read by ``cft.process.labels``), a right solution whose steps
hold a wrong one (lucky) leaves the pools before the draw, so the draw balances what is left just as it
balances any problem: lucky right answers never become right rows, and the right/wrong balance holds.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Protocol

from cft.common.errors import CftError
from cft.common.jsonio import iter_json_list, write_json_list
from cft.common.progress import progress_bar
from cft.critic.prompt_budget import CharCounter, PromptCounter
from cft.grading.disputes import reason_codes
from cft.records.models import model_field_alias, source_name
from cft.records.problems import answer_of, question_of

COUNT_BATCH = 64  # problems whose prompts are counted in one tokenizer call

INSTRUCTION = (
    "You are a mathematics expert. A student is trying to solve a question. Please explain "
    "briefly whether his answer is correct or not. Finally, conclude your judgement with "
    "'Conclusion: right/wrong [END]'"
)


def critique_prompt(question: str, solution: str) -> str:
    return f"{INSTRUCTION}\n\nQuestion: {question}\n\nStudent's solution:\n{solution}\n\nCritique:"


@dataclass
class CritiqueStats:
    problems: int = 0
    rows: int = 0
    targets: Counter = field(default_factory=Counter)
    by_model: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    per_problem: Counter = field(default_factory=Counter)  # (n_right, n_wrong) -> problems
    skipped_truncated: int = 0
    skipped_duplicate: int = 0
    no_rows: int = 0
    skipped_disputed: Counter = field(default_factory=Counter)  # dispute reason code -> solutions held back
    over_budget: Counter = field(default_factory=Counter)  # (model, target) -> solutions over the prompt budget
    prompt_lengths: list[int] = field(default_factory=list)  # of the rows drawn, in length_unit
    length_unit: str = "chars"
    unbudgeted: CritiqueStats | None = None  # the same draw without the prompt budget, for comparison
    held_back_lucky: Counter = field(default_factory=Counter)  # model -> lucky right solutions held back
    kept_lucky: Counter = field(default_factory=Counter)  # model -> lucky right solutions drawable (--keep_lucky)
    unlabelled: Counter = field(default_factory=Counter)  # model -> usable solutions the step labels do not cover


class StepLabels(Protocol):
    """What step 4 asks of ``label_steps.py``'s labels (``cft.process.labels.LuckyLabels``)."""

    def holds_back(self, index: int, model: str, solution_index: int, sol: dict, stats: CritiqueStats) -> bool: ...

    def lucky(self, index: int, model: str, solution_index: int) -> bool | None: ...


def _solution_fields(row: dict) -> list[str]:
    fields = [k for k in row if model_field_alias(k) and isinstance(row[k], list)]
    if not fields:
        raise CftError(f"row {row.get('index')}: no <model>_solutions field (is this a filtered file?)")
    return fields


def _interleave(groups: list[list[tuple]], limit: int) -> list[tuple]:
    """Round-robin across the per-model lists (one of each model in turn), the first ``limit`` items."""
    out: list[tuple] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
        if len(out) >= limit:
            break
    return out[:limit]


def _fitting(candidates: list[tuple], question: str, fits: Callable[[list[str]], list[bool]],
             stats: CritiqueStats) -> list[tuple]:
    """The candidates whose critique prompt ``fits`` (the prompt budget); the others are counted."""
    ok = fits([critique_prompt(question, sol.get("text", "")) for _, _, sol in candidates]) if candidates else []
    for (model, _, sol), keep in zip(candidates, ok):
        if not keep:
            stats.over_budget[(model, "right" if sol.get("correct") else "wrong")] += 1
    return [c for c, keep in zip(candidates, ok) if keep]


def usable_solutions(row: dict, include_truncated: bool, include_disputed: bool, stats: CritiqueStats
                     ) -> Iterator[tuple[str, list[tuple[int, dict]]]]:
    """Per model of a filtered problem (its name), the ``(solution index, solution)`` pairs a draw may use:
    truncated ones (unless ``include_truncated``), disputed ones (unless ``include_disputed``) and a text
    already seen in the problem are left out and counted in ``stats``."""
    seen_texts: set[str] = set()
    for field_name in _solution_fields(row):
        usable = []
        for i, sol in enumerate(row[field_name]):
            if sol.get("finish_reason") == "length" and not include_truncated:
                stats.skipped_truncated += 1
                continue
            if sol.get("disputed") and not include_disputed:
                stats.skipped_disputed.update(reason_codes(sol.get("dispute_reason")) or ["(no reason)"])
                continue
            text = sol.get("text", "")
            key = text.strip() if text[:1].isspace() or text[-1:].isspace() else text
            if key in seen_texts:
                stats.skipped_duplicate += 1
                continue
            seen_texts.add(key)
            usable.append((i, sol))
        yield source_name(model_field_alias(field_name)), usable


def draw(row: dict, max_samples: int, seed: int, include_truncated: bool,
         stats: CritiqueStats, include_disputed: bool = False,
         fits: Callable[[list[str]], list[bool]] | None = None,
         step_labels: StepLabels | None = None) -> list[dict]:
    """The critique rows of one filtered problem (disputed solutions left out unless ``include_disputed``);
    with ``fits`` (the prompt budget), drawn only from the solutions whose critique prompts it accepts; with
    ``step_labels``, lucky right solutions are held back (or, with its ``keep_lucky``, drawn and marked), and
    every row says whether its solution is lucky."""
    index = row.get("index")
    question, truth = question_of(row), answer_of(row)
    if question is None or truth is None or not isinstance(index, int):
        raise CftError(f"filtered row {index}: no index, question or answer")
    rng = random.Random(f"{seed}:{index}")
    pools: dict[bool, list[list[tuple]]] = {True: [], False: []}
    for model, usable in usable_solutions(row, include_truncated, include_disputed, stats):
        by_label: dict[bool, list[tuple]] = {True: [], False: []}
        for i, sol in usable:
            if step_labels is not None and step_labels.holds_back(index, model, i, sol, stats):
                continue
            by_label[bool(sol.get("correct"))].append((model, i, sol))
        if fits is not None:
            by_label = {label: _fitting(items, question, fits, stats) for label, items in by_label.items()}
        for label, items in by_label.items():
            rng.shuffle(items)
            pools[label].append(items)
    for groups in pools.values():
        rng.shuffle(groups)  # which model leads the round-robin
    n_right_all, n_wrong_all = (sum(len(g) for g in pools[label]) for label in (True, False))

    half = max_samples // 2 + (max_samples % 2 and rng.random() < 0.5)
    n_right = min(n_right_all, half)
    n_wrong = min(n_wrong_all, max_samples - n_right)
    n_right = min(n_right_all, max_samples - n_wrong)
    chosen = [(c, "right") for c in _interleave(pools[True], n_right)] + \
        [(c, "wrong") for c in _interleave(pools[False], n_wrong)]
    rng.shuffle(chosen)

    stats.problems += 1
    stats.per_problem[(n_right, n_wrong)] += 1
    stats.no_rows += not chosen
    out = []
    for (model, solution_index, sol), target in chosen:
        stats.rows += 1
        stats.targets[target] += 1
        stats.by_model[model][target] += 1
        out.append({
            "index": index,
            "question": question,
            "solution": sol.get("text", ""),
            "ground_truth": truth,
            "target": target,
            "prompt": critique_prompt(question, sol.get("text", "")),
            "source_model": model,
            "solution_index": solution_index,
            "extracted_answer": sol.get("extracted_answer"),
            **({"lucky": step_labels.lucky(index, model, solution_index)} if step_labels is not None else {}),
        })
    return out


def critique_rows(filtered: Iterable[dict], max_samples: int = 4, seed: int = 0,
                  include_truncated: bool = False, include_disputed: bool = False,
                  counter: PromptCounter | None = None, max_prompt_tokens: int | None = None,
                  where: str = "filtered", step_labels: StepLabels | None = None
                  ) -> tuple[Iterator[dict], CritiqueStats]:
    """The critique rows of every filtered problem, and their stats (complete once the rows are read).

    ``counter`` measures the rows' prompts (tokens as verl counts them; characters without it).
    With ``max_prompt_tokens`` (which needs ``counter``), rows are drawn only from solutions whose
    prompt fits, and ``stats.unbudgeted`` holds the same draw without the budget.
    """
    if max_samples < 1:
        raise CftError(f"--max_samples_per_question must be at least 1, got {max_samples}")
    if max_prompt_tokens is not None and (counter is None or max_prompt_tokens < 1):
        raise CftError("--max_prompt_tokens needs --tokenizer (tokens are counted with its chat template) "
                       "and a positive count")
    measure = counter or CharCounter()
    stats = CritiqueStats(length_unit=measure.unit)
    counted: dict[str, int] = {}  # prompt -> tokens, for the problems in hand
    fits = None
    if max_prompt_tokens is not None:
        stats.unbudgeted = CritiqueStats()

        def fits(prompts: list[str]) -> list[bool]:
            return [counted[p] <= max_prompt_tokens for p in prompts]

    def rows() -> Iterator[dict]:
        problems = enumerate(progress_bar(filtered, desc="critique", unit="problem", mininterval=2))
        while batch := list(islice(problems, COUNT_BATCH)):
            counted.clear()
            if fits is not None:  # every candidate prompt of the batch in one call: the tokenizer's threads
                prompts = list(dict.fromkeys(p for _, row in batch for p in _candidate_prompts(row)))
                counted.update(zip(prompts, measure.tokens(prompts)))
            drawn: list[dict] = []
            for row_no, row in batch:
                if not isinstance(row, dict):
                    raise CftError(f"{where} row {row_no}: expected an object")
                missing = [name for name, value in (("index", row.get("index")), ("question", question_of(row)),
                                                     ("answer", answer_of(row))) if value is None]
                if missing:
                    raise CftError(f"{where} row {row_no}: not a filtered problem (no {', '.join(missing)}); is "
                                   "this step 3's output (filter_solutions.py)?")
                drawn += draw(row, max_samples, seed, include_truncated, stats, include_disputed, fits, step_labels)
                if stats.unbudgeted is not None:
                    draw(row, max_samples, seed, include_truncated, stats.unbudgeted, include_disputed,
                         step_labels=step_labels)
            prompts = [r["prompt"] for r in drawn]
            stats.prompt_lengths.extend([counted[p] for p in prompts] if fits else measure.tokens(prompts))
            yield from drawn

    return rows(), stats


def _candidate_prompts(row: object) -> Iterator[str]:
    """The critique prompt of every solution of a filtered row (none for a malformed row: draw names it)."""
    if not isinstance(row, dict) or question_of(row) is None:
        return
    question = question_of(row)
    for key, value in row.items():
        if model_field_alias(key) and isinstance(value, list):
            yield from (critique_prompt(question, sol.get("text", "")) for sol in value if isinstance(sol, dict))


def write_critique(filtered_file: str | Path, output_file: str | Path, max_samples: int = 4, seed: int = 0,
                   include_truncated: bool = False, include_disputed: bool = False,
                   counter: PromptCounter | None = None, max_prompt_tokens: int | None = None,
                   step_labels: StepLabels | None = None) -> tuple[int, CritiqueStats]:
    """Step 4 from file to file; returns the row count and the stats."""
    rows, stats = critique_rows(iter_json_list(filtered_file, what="filtered problems"), max_samples, seed,
                                include_truncated, include_disputed, counter, max_prompt_tokens,
                                where=f"{filtered_file}:", step_labels=step_labels)
    return write_json_list(output_file, rows), stats
