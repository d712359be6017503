"""Re-grade chunk or merged solutions files in place with the current grader (``grade_solutions.py``).

Use case: the grader improved after a 40k x 16 run, and nobody regenerates.
Each file is read row by row, its solutions are graded again in worker
processes (``cft.grading``, each problem's distinct answers once), the cheap
dispute signals are checked (``cft.grading.disputes``), and the file is rewritten
atomically under the same name with ``metadata.grading = {"version":
GRADER_VERSION, ...}``. A file whose metadata already records the current
version (and the same judge, if one is asked) is skipped, so a killed run
resumes at the first file it had not finished. Every verdict that changed is
counted (old -> new grade) and a few are kept as examples.

With a judge (``cft.grading.judge``), the flagged verdicts of a file are put to the
LLM; the solution stays disputed when the judge disagrees with the grader or
gives no clear answer, and the judge's verdict is recorded in ``judge_verdict``.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file, write_results_file
from cft.common.progress import progress_bar
from cft.common.versions import package_versions
from cft.grading.deadline import Deadline, deadline
from cft.grading.disputes import SIGNALS, mark, reason_codes, signals_for
from cft.grading.grader import DEFAULT_TIMEOUT_S, GRADER_VERSION, Grade, grade_problem
from cft.grading.label_report import LabelReport
from cft.records.chunks import scan_chunk_files
from cft.records.solutions import grade_of, num_correct, result_index

WINDOW = 2048  # problems read, graded and written at a time
MAX_EXAMPLES = 20


@dataclass
class RegradeStats:
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: int = 0
    solutions: int = 0
    changes: Counter = field(default_factory=Counter)  # (old grade, new grade) -> count
    examples: list[dict] = field(default_factory=list)
    disputed: Counter = field(default_factory=Counter)  # reason code -> solutions
    disputed_solutions: int = 0
    judged: int = 0
    judge_verdicts: Counter = field(default_factory=Counter)
    judge_s: float = 0.0
    grade_s: float = 0.0

    @property
    def changed(self) -> int:
        return sum(c for (old, new), c in self.changes.items() if old != new)


def is_current(meta: dict, judge_model: str | None = None) -> bool:
    grading = meta.get("grading") if isinstance(meta.get("grading"), dict) else {}
    if grading.get("version") != GRADER_VERSION:
        return False
    return judge_model is None or grading.get("judge_model") == judge_model


def regrade_problem(texts: Sequence[str], truth: str, timeout_s: float | None = DEFAULT_TIMEOUT_S,
                    signals: Sequence[str] = SIGNALS) -> list[tuple[Grade, list[str]]]:
    """New grades of one problem's solutions, each with the dispute signals that fired."""
    grades = grade_problem(texts, truth, timeout_s)
    cache: dict = {}
    out = []
    for text, grade in zip(texts, grades):
        try:
            with deadline(timeout_s):
                reasons = signals_for(text, truth, grade, signals, cache)
        except Deadline:
            reasons = []
        out.append((grade, reasons))
    return out


def _regrade_task(jobs: list[tuple[list[str], str, float | None, tuple[str, ...]]]) -> list:
    return [regrade_problem(*job) for job in jobs]


def _tasks(jobs: list, size: int = 32) -> list[list]:
    return [jobs[i:i + size] for i in range(0, len(jobs), size)]


def _windows(path: Path, rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    window: list[dict] = []
    for row_no, row in enumerate(rows):
        result_index(path, row_no, row)
        window.append(row)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def _apply(path: Path, model: str, rows: list[dict], results: list, stats: RegradeStats,
           report: LabelReport | None, flagged: list | None) -> None:
    for row, per_solution in zip(rows, results):
        for k, (sol, (grade, reasons)) in enumerate(zip(row["solutions"], per_solution)):
            old = grade_of(sol)
            stats.changes[(old, grade.grade)] += 1
            if old != grade.grade and len(stats.examples) < MAX_EXAMPLES:
                stats.examples.append({"file": str(path), "index": row["index"], "solution": k, "old": old,
                                       "new": grade.grade, "old_answer": sol.get("extracted_answer"),
                                       "new_answer": grade.extracted_answer,
                                       "ground_truth": row.get("ground_truth")})
            sol["extracted_answer"], sol["correct"], sol["grade"] = grade.extracted_answer, grade.correct, grade.grade
            sol.pop("judge_verdict", None)
            mark(sol, reasons)
            if reasons and flagged is not None:
                flagged.append((row, sol))
        row["num_correct"] = num_correct(row["solutions"])
        stats.problems += 1
        stats.solutions += len(row["solutions"])
    if flagged is None:  # with a judge, counted after it has spoken
        _count(model, rows, stats, report)


def _count(model: str, rows: list[dict], stats: RegradeStats, report: LabelReport | None) -> None:
    for row in rows:
        for sol in row["solutions"]:
            if sol.get("disputed"):
                stats.disputed_solutions += 1
                stats.disputed.update(reason_codes(sol.get("dispute_reason")))
        if report is not None:
            report.add_row(model, row)


def _graded_windows(path: Path, rows: Iterator[dict], pool: Executor, timeout_s: float | None,
                    signals: tuple[str, ...], bar) -> Iterator[tuple[list[dict], list]]:
    """(rows, results) per window, the next window graded while this one is applied and written."""
    in_flight: deque = deque()
    for window in _windows(path, rows, WINDOW):
        jobs = [([s.get("text") or "" for s in row["solutions"]], str(row.get("ground_truth", "")), timeout_s,
                 signals) for row in window]
        in_flight.append((window, [pool.submit(_regrade_task, task) for task in _tasks(jobs)]))
        if len(in_flight) > 1:
            yield _collect(in_flight.popleft(), bar)
    while in_flight:
        yield _collect(in_flight.popleft(), bar)


def _collect(item, bar) -> tuple[list[dict], list]:
    window, futures = item
    results = [r for fut in futures for r in fut.result()]
    bar.update(len(window))
    return window, results


def regrade_file(path: str | Path, pool: Executor, stats: RegradeStats, report: LabelReport | None = None,
                 timeout_s: float | None = DEFAULT_TIMEOUT_S, signals: Sequence[str] = SIGNALS, judge=None,
                 force: bool = False) -> bool:
    """Re-grade one chunk or merged file in place; False if it was already current (skipped)."""
    path = Path(path)
    meta, rows = open_results_file(path)
    judge_model = judge.model_path if judge is not None else None
    if not force and is_current(meta, judge_model):
        stats.skipped.append(str(path))
        if report is not None:
            report.add_file(path)
        return False
    model = str(meta.get("model") or path.stem)
    t0 = time.perf_counter()
    bar = progress_bar(desc=f"grade {path.name}", unit="problem", mininterval=2)
    signals = tuple(signals)

    def regraded(flagged: list | None) -> Iterator[dict]:
        for window, results in _graded_windows(path, rows, pool, timeout_s, signals, bar):
            _apply(path, model, window, results, stats, report, flagged)
            yield from window

    grading = {"version": GRADER_VERSION, **package_versions(("math-verify",), python=False), "signals": list(signals)}
    try:
        if judge is None:
            write_results_file(path, {**meta, "grading": grading}, regraded(None))
        else:
            flagged: list = []
            all_rows = list(regraded(flagged))
            stats.grade_s += time.perf_counter() - t0
            _ask_judge(judge, flagged, stats)
            _count(model, all_rows, stats, report)
            grading["judge_model"] = judge_model
            write_results_file(path, {**meta, "grading": grading}, all_rows)
    finally:
        bar.close()
    if judge is None:
        stats.grade_s += time.perf_counter() - t0
    stats.files.append(str(path))
    return True


def _ask_judge(judge, flagged: list, stats: RegradeStats) -> None:
    from cft.grading.judge import UNCLEAR, Question

    questions = [Question(str(row.get("question", "")), str(row.get("ground_truth", "")),
                          str(sol.get("extracted_answer"))) for row, sol in flagged]
    t0 = time.perf_counter()
    verdicts = judge.ask(questions)
    stats.judge_s += time.perf_counter() - t0
    stats.judged += len(verdicts)
    for (_, sol), verdict in zip(flagged, verdicts):
        stats.judge_verdicts[verdict] += 1
        sol["judge_verdict"] = verdict
        reasons = reason_codes(sol.get("dispute_reason"))
        if verdict != UNCLEAR and (verdict == "correct") == bool(sol.get("correct")):
            mark(sol, [])  # the judge agrees with the grader: the doubt is settled
        else:
            mark(sol, reasons + [f"judge:{verdict}"])


def input_files(input_dirs: Sequence[str | Path], input_files_: Sequence[str | Path]) -> list[Path]:
    """Chunk files of each folder (``*_chunk_*.json``) and the merged files, in order, each once."""
    out: list[Path] = []
    for folder in input_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise CftError(f"{folder}: not a folder of chunk files")
        found = sorted(path for files in scan_chunk_files(folder).values() for path in files.values())
        if not found:
            raise CftError(f"{folder}: no chunk files (*_chunk_NNN.json)")
        out.extend(found)
    for path in input_files_:
        path = Path(path)
        if not path.is_file():
            raise CftError(f"{path}: file not found")
        out.append(path)
    return list(dict.fromkeys(out))
