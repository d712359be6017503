"""Grading many solutions in worker processes.

math-verify's timeouts need a process's main thread (``cft.grading.deadline``), so solutions are
graded in a pool of spawned processes, not threads; 'spawn' also keeps the pool safe beside vLLM.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

from cft.grading.grader import DEFAULT_TIMEOUT_S, Grade, grade_problem


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
    ``executor`` (see ``grading_pool``) to avoid starting processes per call; ``workers`` then
    says how many processes it has (default: the cores), to size its tasks.
    """
    jobs = [(list(texts), gt, timeout_s) for texts, gt in problems]
    if executor is None and (workers == 1 or len(jobs) <= 1):
        return [_grade_problem_args(j) for j in jobs]
    if executor is not None:
        return list(executor.map(_grade_problem_args, jobs, chunksize=_chunksize(len(jobs), workers)))
    with grading_pool(workers) as pool:
        return list(pool.map(_grade_problem_args, jobs, chunksize=_chunksize(len(jobs), workers)))


def _chunksize(n: int, workers: int | None) -> int:
    """Problems per task: about 16 tasks a worker, so the last ones leave little imbalance."""
    return max(1, min(64, n // (16 * (workers or os.cpu_count() or 1)) or 1))


def grading_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool for ``grade_batch``; forkserver-free 'spawn' keeps it safe beside vLLM."""
    return ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn")
    )
