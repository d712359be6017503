"""Grading accuracy on data/grading-bench, beside plain math-verify.

Plain math-verify: ``verify(parse("$gold$"), parse(pred))`` with the prediction
put in ``\\boxed{}`` (equivalence pairs) or taken as is (solution cases).
Ours: ``cft.grading.is_correct``. Solution cases are reported for the boxed
single-answer subset (what the pipeline grades), the several-boxes cases and
the unboxed ones (which our last-box rule grades wrong by design) apart.

    python bench/grading_accuracy.py [--bench_dir data/grading-bench] [--show_misses]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from math_verify import parse, verify

from cft.grading import is_correct

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "grading-bench"


def plain_math_verify(pred: str, gold: str) -> bool:
    return bool(verify(parse(f"${gold}$"), parse(pred)))


def score(cases, ours, theirs, show_misses: bool, label: str):
    n_ours = n_theirs = 0
    for case in cases:
        ok_ours = ours(case) == case["expected"]
        n_ours += ok_ours
        n_theirs += theirs(case) == case["expected"]
        if show_misses and not ok_ours:
            print(f"  miss [{label}] {json.dumps(case)[:200]}")
    return n_ours, n_theirs, len(cases)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench_dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--show_misses", action="store_true")
    args = ap.parse_args()

    def load(name):
        return [json.loads(line) for line in (args.bench_dir / name).read_text().splitlines() if line.strip()]

    pairs = load("equiv_pairs.jsonl")
    sols = load("solution_cases.jsonl")
    multi = [c for c in sols if "several boxes" in c.get("note", "") or "together" in c.get("note", "")]
    boxed = [c for c in sols if "\\boxed" in c["solution"] and c not in multi]
    unboxed = [c for c in sols if "\\boxed" not in c["solution"] and c not in multi]

    rows = [
        ("equivalence pairs (pred boxed)",) + score(
            pairs,
            lambda c: is_correct(f"\\boxed{{{c['pred']}}}", c["gold"]),
            lambda c: plain_math_verify(f"\\boxed{{{c['pred']}}}", c["gold"]),
            args.show_misses, "pair"),
        ("solution cases, boxed single answer",) + score(
            boxed, lambda c: is_correct(c["solution"], c["gold"]),
            lambda c: plain_math_verify(c["solution"], c["gold"]), args.show_misses, "boxed"),
        ("solution cases, several boxes",) + score(
            multi, lambda c: is_correct(c["solution"], c["gold"]),
            lambda c: plain_math_verify(c["solution"], c["gold"]), False, "multi"),
        ("solution cases, no box (ours: wrong by design)",) + score(
            unboxed, lambda c: is_correct(c["solution"], c["gold"]),
            lambda c: plain_math_verify(c["solution"], c["gold"]), False, "unboxed"),
    ]
    print(f"{'subset':48s} {'cft.grading':>14s} {'math-verify':>14s}")
    for name, ours, theirs, n in rows:
        print(f"{name:48s} {ours:4d}/{n:<4d}{100 * ours / n:5.1f}% {theirs:4d}/{n:<4d}{100 * theirs / n:5.1f}%")
    o, t, n = rows[0][1:]
    print(f"ratio on equivalence pairs (cft.grading / math-verify accuracy): {o / t:.3f}")


if __name__ == "__main__":
    main()
