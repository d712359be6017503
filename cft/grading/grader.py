"""Grading a solution against a ground truth, built on math-verify.

The final answer (``cft.grading.extract``) is compared with the ground truth: a
solution with no boxed answer is wrong (``no_answer``). The ground truth is parsed
as LaTeX (a bare ``\\frac{1}{2}`` or ``(1,3]`` is wrapped in ``$...$``).

Each solution's grading runs under a wall-clock deadline (``signal.setitimer``
in the calling process's main thread); a pathological answer is graded
``timeout`` and counts as wrong, never a hang. math-verify's own per-call
alarms are switched off so the two do not fight. Use ``grade_batch`` (worker
processes) to grade many solutions in parallel.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from latex2sympy2_extended.logic import And
from latex2sympy2_extended.sets import FiniteSet
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from math_verify.grader import INVERSE_RELATIONS, sympy_expr_eq
from sympy import And as SympyAnd
from sympy import Basic, Eq, Expr, Float, Interval, Mul, Ne, Rational, Symbol, Union, simplify
from sympy.core.relational import Relational

from cft.grading.answer_forms import Form, read_form
from cft.grading.deadline import Deadline, deadline
from cft.grading.extract import BOX_RE, extract_answer
from cft.grading.version import GRADER_VERSION  # noqa: F401  (here for its users; bump it there)

# math-verify warns once that its own timeout is off; ours replaces it.
logging.getLogger("math_verify").setLevel(logging.ERROR)

CORRECT, INCORRECT, NO_ANSWER, TIMEOUT = "correct", "incorrect", "no_answer", "timeout"
GRADES = (CORRECT, INCORRECT, NO_ANSWER, TIMEOUT)
DEFAULT_TIMEOUT_S = 5.0

_GOLD_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
_PRED_CONFIG = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


@dataclass(frozen=True)
class Grade:
    extracted_answer: str | None
    grade: str

    @property
    def correct(self) -> bool:
        return self.grade == CORRECT


def _with_percent(form: Form) -> str:
    return form.text + "\\%" if form.percent else form.text


class GroundTruth:
    """A ground truth parsed once, for grading all of a problem's solutions."""

    def __init__(self, text: str, timeout_s: float | None = DEFAULT_TIMEOUT_S):
        self.text = str(text)
        boxed = extract_answer(self.text) if BOX_RE.search(self.text) else None  # a reference solution's box
        self.form = read_form(boxed or self.text)
        self.integer = None if self.form.percent else _integer(self.form.text)
        self.timeout_s = timeout_s
        self._parsed: list | None = None
        self._bare: list | None = None
        self._exact: list | None = None

    @property
    def parsed(self) -> list:
        """math-verify's parse, made on first use (an integer truth against integer answers needs none),
        under its own deadline; a parse that ran out of time is empty (nothing matches it)."""
        if self._parsed is None:
            self._parsed = []  # stays empty if the deadline (ours or the caller's) interrupts the parse
            parsed: list = []
            # inside a grading call its deadline already runs (a second timer would cancel it)
            own = None if signal.getitimer(signal.ITIMER_REAL)[0] > 0 else self.timeout_s
            with contextlib.suppress(Deadline) if own else contextlib.nullcontext(), deadline(own):
                parsed = _parse(_with_percent(self.form), _GOLD_CONFIG)
            self._parsed = parsed
        return self._parsed

    @property
    def bare(self) -> list:
        """Parsed without its percent sign (``50\\%`` as 50)."""
        if self._bare is None:
            self._bare = _parse(self.form.text, _GOLD_CONFIG) if self.form.percent else self.parsed
        return self._bare

    def exact_values(self) -> list:
        """The exact numbers this ground truth may stand for (``\\frac{1}{7}``; ``50\\%``: 50 and 1/2);
        empty when it is not an exact number (a decimal, an expression, a set)."""
        if self._exact is None:
            self._exact = []
            if "." not in self.form.text:
                for expr in self.parsed[:1] + (self.bare[:1] if self.form.percent else []):
                    value = _doit(expr)
                    if isinstance(value, Expr) and value.is_number and not value.has(Float):
                        self._exact.append(value)
        return self._exact


def _doit(expr):
    try:
        return expr.doit() if isinstance(expr, Basic) else expr
    except Exception:  # noqa: BLE001 (sympy raises anything)
        return expr


def _parse(answer: str, config) -> list:
    return parse(f"${answer}$", extraction_config=config, parsing_timeout=None)


def _integer(s: str) -> str | None:
    """A canonical form of a plain integer literal (``-007`` -> ``-7``), or None for anything else."""
    m = _INTEGER.fullmatch(s)
    if m is None:
        return None
    digits = m.group(2).lstrip("0") or "0"
    return f"-{digits}" if m.group(1) == "-" and digits != "0" else digits


def _verify(gold: list, pred: list) -> bool:
    return bool(gold) and bool(pred) and verify(gold, pred, timeout_seconds=None, allow_set_relation_comp=True)


def _matches(answer: str, gold: GroundTruth) -> bool:
    pred, want = read_form(answer), gold.form
    if pred.empty or want.empty:  # \emptyset, "no solution", "none"
        return pred.empty and want.empty
    if pred.choice and want.choice:  # (B) 14 against B, or against (B) 14
        return pred.choice == want.choice
    if pred.choice_only or want.choice_only:
        return False
    if pred.plain == want.plain or pred.written == want.written:
        return True
    if gold.integer is not None and not pred.percent and (integer := _integer(pred.text)) is not None:
        return integer == gold.integer  # two integer literals: no need for math-verify
    if not gold.parsed:
        return False
    parsed = _parse(_with_percent(pred), _PRED_CONFIG)
    if _verify(gold.parsed, parsed) or _equivalent_relations(gold.parsed, parsed) \
            or _equal_expressions(gold.parsed, parsed):
        return _exact_enough(pred, gold)
    if pred.percent or want.percent:  # 12\% against 12: the number without its sign
        bare = _parse(pred.text, _PRED_CONFIG) if pred.percent else parsed
        if _verify(gold.bare, bare):
            return _exact_enough(pred, gold)
    return False


FLOAT_REPR_TOLERANCE = 1e-12
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_INTEGER = re.compile(r"([+-]?)\s*(\d+)")


def _exact_enough(pred: Form, gold: GroundTruth) -> bool:
    """False for a decimal that only approximates an exact ground truth (0.142857 for \\frac{1}{7}),
    which math-verify's 6-digit rounding lets through; True otherwise. A decimal as long as a
    double's repr (1.4142135623730951 for \\sqrt{2}: within 1e-12) is that number, not a rounding."""
    if _DECIMAL.fullmatch(pred.text) is None or not gold.exact_values():
        return True
    value = Rational(pred.text)
    written = [value, value / 100] if pred.percent else [value]
    for exact in gold.exact_values():
        for v in written:
            if exact.is_rational and exact == v:
                return True
            with contextlib.suppress(TypeError, ValueError):
                if abs(float(exact) - float(v)) <= FLOAT_REPR_TOLERANCE * max(1.0, abs(float(exact))):
                    return True
    return False


def _relation_like(expr) -> bool:
    if isinstance(expr, Relational):
        return True
    return isinstance(expr, (And, SympyAnd, FiniteSet)) and len(expr.args) > 0 and \
        all(isinstance(a, Relational) for a in expr.args)


def _solution_set(expr, symbol):
    if isinstance(expr, FiniteSet):  # x < 2 or x > 5
        parts = [_solution_set(a, symbol) for a in expr.args]
        return Union(*parts)
    return expr.as_set()


def _first_expr(parsed: list):
    return next((p for p in parsed if isinstance(p, Basic)), None)


def _equivalent_relations(gold_parsed: list, pred_parsed: list) -> bool:
    """Inequalities with the same solutions: ``3 \\ge 2x > 1`` and ``1 < 2x \\le 3``; ``x<2 or x>5`` and
    ``(-\\infty,2)\\cup(5,\\infty)``; ``11x+16y\\ge 200`` and ``5.5x+8y\\ge 100`` (a positive multiple)."""
    g, p = _first_expr(gold_parsed), _first_expr(pred_parsed)
    if g is None or p is None:
        return False
    try:
        if _relation_like(p) and isinstance(g, Interval | Union) and len(p.free_symbols) == 1:
            return sympy_expr_eq(g, _solution_set(p, next(iter(p.free_symbols))), 6, 15)
        if not (_relation_like(g) and _relation_like(p)) or g.free_symbols != p.free_symbols:
            return False
        if len(g.free_symbols) == 1:
            symbol = next(iter(g.free_symbols))
            return sympy_expr_eq(_solution_set(g, symbol), _solution_set(p, symbol), 6, 15)
        if isinstance(g, Relational) and isinstance(p, Relational) and not isinstance(g, Eq | Ne):
            dp = p.lhs - p.rhs
            if type(g) is not type(p):
                if INVERSE_RELATIONS.get(type(g)) is not type(p):
                    return False
                dp = -dp
            ratio = simplify((g.lhs - g.rhs) / dp)
            return bool(ratio.is_number and ratio.is_positive)
    except Exception:  # noqa: BLE001 (sympy raises anything on odd input)
        return False
    return False


def _equal_expressions(gold_parsed: list, pred_parsed: list) -> bool:
    """``x+0`` and ``x``: math-verify compares a bare symbol by name only; here by value, for
    expressions with a variable (not words, which parse as products of letters)."""
    g, p = _first_expr(gold_parsed), _first_expr(pred_parsed)
    if not (isinstance(g, Expr) and isinstance(p, Expr)) or not (isinstance(g, Symbol) or isinstance(p, Symbol)):
        return False
    if _wordlike(g) or _wordlike(p) or not (g.free_symbols or p.free_symbols):
        return False
    try:
        return simplify(g - p) == 0
    except Exception:  # noqa: BLE001
        return False


def _wordlike(expr) -> bool:
    return isinstance(expr, Mul) and all(isinstance(a, Symbol) for a in expr.args)


def grade_solution(
    text: str, ground_truth: str | GroundTruth, timeout_s: float | None = DEFAULT_TIMEOUT_S
) -> Grade:
    """Grade one solution text: extracted answer and one of ``GRADES``."""
    return _grade_answer(extract_answer(text), ground_truth, timeout_s)


def _grade_answer(answer: str | None, ground_truth: str | GroundTruth, timeout_s: float | None) -> Grade:
    if answer is None:
        return Grade(None, NO_ANSWER)
    try:
        with deadline(timeout_s):
            gold = ground_truth if isinstance(ground_truth, GroundTruth) else GroundTruth(ground_truth, None)
            ok = _matches(answer, gold)
    except Deadline:
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

