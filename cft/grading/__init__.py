"""Grading: is a solution's final answer the ground truth? And how sure are we of each verdict?

- ``extract``: the final answer of a text (its last box, or the boxes its final sentence joins);
- ``answer_forms``: what carries no value in an answer (units, choice labels, percent signs);
- ``grader``: the comparison, built on math-verify, under a ``deadline``; ``pool``: many at once;
- ``disputes``: cheap signals that a verdict may be wrong; ``judge``: an LLM's second opinion;
- ``regrade``: re-grading solutions files in place (``grade_solutions.py``);
- ``label_report``: the Markdown report a person reads to check the labels.

The public API is importable from here (``from cft.grading import is_correct``). It is loaded on
first use, so importing a submodule that needs no math-verify (``cft.grading.disputes``'s
``reason_codes``, the label report) does not pay for math-verify and sympy.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "extract_answer": "extract", "final_boxes": "extract",
    "Grade": "grader", "GroundTruth": "grader", "grade_solution": "grader", "grade_problem": "grader",
    "is_correct": "grader", "GRADER_VERSION": "grader", "GRADES": "grader", "DEFAULT_TIMEOUT_S": "grader",
    "CORRECT": "grader", "INCORRECT": "grader", "NO_ANSWER": "grader", "TIMEOUT": "grader",
    "grade_batch": "pool", "grading_pool": "pool",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'cft.grading' has no attribute {name!r}")
    return getattr(importlib.import_module(f"cft.grading.{module}"), name)
