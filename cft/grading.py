"""Grading a solution against a ground truth, built on math-verify.

The final answer is the content of the LAST top-level ``\\boxed{...}`` (or
``\\fbox{...}``) in the text, braces matched, a box inside a box unwrapped. A
solution with no boxed answer is wrong (``no_answer``); there is no fall-back
to "the last number in the text". The ground truth is parsed as LaTeX (a bare
``\\frac{1}{2}`` or ``(1,3]`` is wrapped in ``$...$``).

Each solution's grading runs under a wall-clock deadline (``signal.setitimer``
in the calling process's main thread); a pathological answer is graded
``timeout`` and counts as wrong, never a hang. math-verify's own per-call
alarms are switched off so the two do not fight. Use ``grade_batch`` (worker
processes) to grade many solutions in parallel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

# math-verify warns once that its own timeout is off; ours replaces it.
logging.getLogger("math_verify").setLevel(logging.ERROR)

CORRECT, INCORRECT, NO_ANSWER, TIMEOUT = "correct", "incorrect", "no_answer", "timeout"
GRADES = (CORRECT, INCORRECT, NO_ANSWER, TIMEOUT)
DEFAULT_TIMEOUT_S = 5.0

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_GOLD_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
_PRED_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


@dataclass(frozen=True)
class Grade:
    extracted_answer: str | None
    grade: str

    @property
    def correct(self) -> bool:
        return self.grade == CORRECT


# --- extraction -------------------------------------------------------------


def _box_spans(text: str) -> Iterator[tuple[int, int]]:
    """(content_start, content_end) of each top-level box, in order."""
    pos = 0
    while (m := _BOX_RE.search(text, pos)) is not None:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            depth += c == "{"
            depth -= c == "}"
            i += 1
        if depth:  # unclosed box (cut off by max_tokens): no answer here
            return
        yield m.end(), i - 1
        pos = i


def extract_answer(text: str) -> str | None:
    """The content of the last top-level ``\\boxed{}``/``\\fbox{}``, or None."""
    if not text:
        return None
    spans = list(_box_spans(text))
    if not spans:
        return None
    last = spans[-1]
    answer = text[last[0] : last[1]].strip()
    while True:  # a box inside a box: \boxed{\boxed{5}}
        inner = list(_box_spans(answer))
        if len(inner) == 1 and answer.startswith(("\\boxed", "\\fbox")) and inner[0][1] == len(answer) - 1:
            answer = answer[inner[0][0] : inner[0][1]].strip()
        else:
            break
    return answer or None


# --- normalisation that math-verify leaves to the caller ---------------------

_TEXT_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|textup)\s*\{([^{}]*)\}")
_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?[.:]?$")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree")
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|\\,|,\\!|\\!)(?=\d{3}\b)")
_SPACES = re.compile(r"\s+|\\[,;:! ]|\\quad|\\qquad")
_INTEGER = re.compile(r"([+-]?)\s*(\d+)")


def _unwrap_text(s: str) -> str:
    prev = None
    while prev != s:
        prev, s = s, _TEXT_WRAP.sub(r"\1", s)
    return s


def _clean(answer: str) -> str:
    """Strip wrappers that carry no value: $...$, \\text{}, degree signs, {,} separators."""
    s = answer.strip().strip("$").strip()
    s = _DEGREE.sub("", s)
    s = _THOUSANDS.sub("", s)
    s = _unwrap_text(s)
    s = s.replace("\\%", "").replace("%", "").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return s.strip().rstrip(".").strip()


def _plain(answer: str) -> str:
    """A comparison key for text answers: no spaces, no braces, lower case."""
    return _SPACES.sub("", _clean(answer)).replace("{", "").replace("}", "").lower()


def _choice(answer: str) -> str | None:
    m = _CHOICE.match(_SPACES.sub("", _clean(answer)))
    return m.group(1).upper() if m else None


# --- grading ------------------------------------------------------------------


class _Deadline(BaseException):
    """Raised by the alarm; a BaseException so math-verify's ``except Exception`` lets it pass."""


@contextlib.contextmanager
def _deadline(seconds: float | None):
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise _Deadline()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class GroundTruth:
    """A ground truth parsed once, for grading all of a problem's solutions."""

    def __init__(self, text: str, timeout_s: float | None = DEFAULT_TIMEOUT_S):
        self.text = str(text)
        self.cleaned = _clean(self.text)
        self.plain = _plain(self.text)
        self.choice = _choice(self.text)
        self.integer = _integer(self.cleaned)
        self.parsed: list = []
        with contextlib.suppress(_Deadline), _deadline(timeout_s):
            self.parsed = _parse(self.cleaned, _GOLD_CONFIG)


def _parse(answer: str, config) -> list:
    return parse(f"${answer}$", extraction_config=config, parsing_timeout=None)


def _integer(s: str) -> str | None:
    """A canonical form of a plain integer literal (``-007`` -> ``-7``), or None for anything else."""
    m = _INTEGER.fullmatch(s)
    if m is None:
        return None
    digits = m.group(2).lstrip("0") or "0"
    return f"-{digits}" if m.group(1) == "-" and digits != "0" else digits


def _matches(answer: str, gold: GroundTruth) -> bool:
    cleaned = _clean(answer)
    if _plain(cleaned) == gold.plain:
        return True
    if gold.integer is not None and (integer := _integer(cleaned)) is not None:
        return integer == gold.integer  # two integer literals: no need for math-verify
    if gold.choice is not None:
        return _choice(cleaned) == gold.choice
    if not gold.parsed:
        return False
    pred = _parse(cleaned, _PRED_CONFIG)
    return bool(pred) and verify(gold.parsed, pred, timeout_seconds=None)


def grade_solution(
    text: str, ground_truth: str | GroundTruth, timeout_s: float | None = DEFAULT_TIMEOUT_S
) -> Grade:
    """Grade one solution text: extracted answer and one of ``GRADES``."""
    return _grade_answer(extract_answer(text), ground_truth, timeout_s)


def _grade_answer(answer: str | None, ground_truth: str | GroundTruth, timeout_s: float | None) -> Grade:
    if answer is None:
        return Grade(None, NO_ANSWER)
    try:
        with _deadline(timeout_s):
            gold = ground_truth if isinstance(ground_truth, GroundTruth) else GroundTruth(ground_truth, None)
            ok = _matches(answer, gold)
    except _Deadline:
        return Grade(answer, TIMEOUT)
    return Grade(answer, CORRECT if ok else INCORRECT)


def is_correct(text: str, ground_truth: str, timeout_s: float | None = DEFAULT_TIMEOUT_S) -> bool:
    """True when the last boxed answer in ``text`` is equivalent to ``ground_truth``."""
    return grade_solution(text, ground_truth, timeout_s).correct


def grade_problem(
    texts: Sequence[str], ground_truth: str, timeout_s: float | None = DEFAULT_TIMEOUT_S
) -> list[Grade]:
    """Grade all solutions of one problem, parsing the ground truth once.

    Samples of one problem often end in the same answer: each distinct
    extracted answer is checked once and its grade reused (a timeout too, so
    a pathological answer costs one deadline, not eight).
    """
    gold = GroundTruth(ground_truth, timeout_s)
    by_answer: dict[str | None, Grade] = {}
    grades = []
    for text in texts:
        answer = extract_answer(text)
        if answer not in by_answer:
            by_answer[answer] = _grade_answer(answer, gold, timeout_s)
        grades.append(by_answer[answer])
    return grades


def _grade_problem_args(args: tuple[Sequence[str], str, float | None]) -> list[Grade]:
    return grade_problem(*args)


def grade_batch(
    problems: Iterable[tuple[Sequence[str], str]],
    workers: int | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    executor: ProcessPoolExecutor | None = None,
) -> list[list[Grade]]:
    """Grade ``(solution_texts, ground_truth)`` per problem, in worker processes.

    ``workers=1`` grades in this process (no pool). Pass a long-lived
    ``executor`` (see ``grading_pool``) to avoid starting processes per call.
    """
    jobs = [(list(texts), gt, timeout_s) for texts, gt in problems]
    if executor is None and (workers == 1 or len(jobs) <= 1):
        return [_grade_problem_args(j) for j in jobs]
    if executor is not None:
        chunksize = _chunksize(len(jobs), getattr(executor, "_max_workers", 8))
        return list(executor.map(_grade_problem_args, jobs, chunksize=chunksize))
    with grading_pool(workers) as pool:
        return list(pool.map(_grade_problem_args, jobs, chunksize=_chunksize(len(jobs), workers)))


def _chunksize(n: int, workers: int | None) -> int:
    """Problems per task: about 16 tasks a worker, so the last ones leave little imbalance."""
    return max(1, min(64, n // (16 * (workers or os.cpu_count() or 1)) or 1))


def grading_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool for ``grade_batch``; forkserver-free 'spawn' keeps it safe beside vLLM."""
    import multiprocessing

    return ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")
    )
