"""Grading throughput: cft.grading with 1 worker and with all cores, beside bare math-verify.

Builds N realistic solutions (default 8,000) from the reference solutions of
--problems_file (e.g. MATH-500: bench/problem_file.py) (long chain-of-thought text ending in a box): 8 per problem, half
with the true answer, half with a wrong one boxed at the end. Times, on the
same pairs and in one run:

  bare math-verify   verify(parse("$gold$"), parse(solution)) per pair, in one worker process
  cft 1 worker       cft.grading.grade_batch over a pool of 1 worker process: last-box
                     extraction, gold parsed once per problem, a deadline per solution
  cft all cores      the same over a pool of os.cpu_count() worker processes

Each runs in a fresh spawned pool with math-verify's parse caches empty,
timed from the moment every worker has started (generate_solutions.py starts
its pool while the engine loads; the start is printed apart). Wrong answers
are unique, so no cache carries work from one repeat of a problem to
the next; a problem's four right samples share their answer, as real samples
often do, and cft grades that answer once.

Each repeat runs the three side by side; the speedup of all cores over 1
worker (target >= 1.8 on 2 cores) and 1-worker / bare time (target <= 1.5) are
the medians over the repeats.

    python bench/grading_throughput.py --problems_file FILE [--n 8000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import problem_file
from math_verify import parse, verify

from cft.grading import extract_answer, grade_batch, grading_pool


def build(n: int, rows: list[dict]) -> list[tuple[list[str], str]]:
    rows = [r for r in rows if extract_answer(r["solution"])]
    problems, k = [], 0
    while sum(len(t) for t, _ in problems) < n:
        r = rows[k % len(rows)]
        k += 1
        body = r["solution"]
        boxed = extract_answer(body)
        texts = []
        for j in range(8):
            answer = r["answer"] if j % 2 == 0 else f"{boxed} + {k * 8 + j}"
            texts.append(body.replace(f"\\boxed{{{boxed}}}", f"\\boxed{{{answer}}}") +
                         f"\n\nTherefore, the final answer is $\\boxed{{{answer}}}$.")
        problems.append((texts, r["answer"]))
    return problems


def bare_math_verify(problems) -> list[bool]:
    return [verify(parse(f"${gold}$"), parse(s)) for texts, gold in problems for s in texts]


def _warm(_: int) -> None:
    grade_batch([(["\\boxed{1}"], "1")], 1)
    time.sleep(0.3)  # keep this worker busy so each warm-up lands on another one


def timed_in_pool(workers: int, fn, *args):
    """Run ``fn(*args)`` in a fresh pool of ``workers``, timed once every worker has started.

    As in generate_solutions.py, which starts its pool while the engine
    loads: the workers' start (imports) is not grading throughput. The
    warm-up grades a pair unlike the timed ones, so math-verify's caches
    stay cold. Returns the result, the timed seconds and the start seconds.
    """
    t0 = time.perf_counter()
    with grading_pool(workers) as pool:
        list(pool.map(_warm, range(workers)))
        t1 = time.perf_counter()
        result = fn(pool, *args)
        t2 = time.perf_counter()
    return result, t2 - t1, t1 - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=8_000, help="solutions to grade in each repeat")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of (bare, 1 worker, all cores), each in fresh pools")
    problem_file.add_argument(ap)
    args = ap.parse_args()
    problems = build(args.n, problem_file.load(args.problems_file, ("problem", "answer", "solution")))
    n = sum(len(t) for t, _ in problems)
    chars = sum(len(s) for t, _ in problems for s in t) / n
    cores = os.cpu_count() or 1
    print(f"{n} solutions of {len(problems)} problems, mean {chars:.0f} chars; {cores} cores; "
          f"{args.repeats} repeats")

    expected = [j % 2 == 0 for texts, _ in problems for j in range(len(texts))]
    rows = []  # seconds of (bare, 1 worker, all cores) per repeat: side by side, as the machine drifts
    for r in range(args.repeats):
        bare, t_bare, _ = timed_in_pool(1, lambda pool, p: pool.submit(bare_math_verify, p).result(), problems)
        one, t_one, start_one = timed_in_pool(1, lambda pool, p: grade_batch(p, executor=pool), problems)
        many, t_many, start_many = timed_in_pool(cores, lambda pool, p: grade_batch(p, executor=pool), problems)
        assert one == many, "parallel grading differs from serial"
        ours = [g.correct for gs in one for g in gs]
        rows.append((t_bare, t_one, t_many))
        print(f"repeat {r}: bare math-verify {n / t_bare:6.0f} sol/s (agrees with labels "
              f"{sum(a == b for a, b in zip(bare, expected)) / n:.1%}), cft 1 worker {n / t_one:6.0f} sol/s "
              f"(agrees {sum(a == b for a, b in zip(ours, expected)) / n:.1%}), cft {cores} workers "
              f"{n / t_many:6.0f} sol/s; pool start (not timed) {start_one:.1f} s / {start_many:.1f} s", flush=True)

    med = [statistics.median(col) for col in zip(*rows)]
    print(f"{'bare math-verify':18s} {n / med[0]:8.0f} sol/s (median)")
    print(f"{'cft, 1 worker':18s} {n / med[1]:8.0f} sol/s (median)")
    print(f"{f'cft, {cores} workers':18s} {n / med[2]:8.0f} sol/s (median)")
    print(f"1-worker time / bare math-verify time, median of repeats: "
          f"{statistics.median(one / bare for bare, one, _ in rows):.2f} (target <= 1.5)")
    print(f"speedup, {cores} workers over 1, median of repeats: "
          f"{statistics.median(one / many for _, one, many in rows):.2f} (target >= 1.8 on 2 cores)")


if __name__ == "__main__":
    main()
