"""Grading accuracy on a grading bench (a folder of cases, --bench_dir), beside plain math-verify.

Predictions are graded as the models wrote them: an equivalence pair's
prediction that already holds a ``\\boxed{}``/``\\fbox{}`` is fed as it is,
any other is put in one box (our pipeline grades boxed answers). Solution
cases are fed as they are. Plain math-verify: ``verify(parse("$gold$"),
parse(prediction))``. Ours: ``cft.grading.is_correct``.

Subsets: the equivalence pairs as written; the solution cases with one boxed
answer (what the pipeline grades); the cases whose note says several boxes
form the answer together; the unboxed ones (our rule grades them wrong: no
box, no answer).

``--baseline REV`` also grades with ``cft/grading.py`` as it was at git
revision REV, in the same run (before/after side by side).

The bench folder holds ``equiv_pairs.jsonl`` (rows ``{"pred", "gold", "expected"}``) and
``solution_cases.jsonl`` (rows ``{"solution", "gold", "expected", "note"}``); none ships with the
project (its cases come from other projects' test suites): point --bench_dir at a copy.

    python bench/grading_accuracy.py --bench_dir DIR [--baseline 351c725] [--show_misses]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from math_verify import parse, verify

from cft.grading import is_correct

ROOT = Path(__file__).resolve().parent.parent


def plain_math_verify(pred: str, gold: str) -> bool:
    return bool(verify(parse(f"${gold}$"), parse(pred)))


def as_written(pred: str) -> str:
    return pred if ("\\boxed" in pred or "\\fbox" in pred) else f"\\boxed{{{pred}}}"


def grader_at(rev: str):
    """The module ``cft/grading.py`` as it was at git revision ``rev`` (loaded from ``git show``)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:cft/grading.py"], capture_output=True,
                            text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "grading_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("grading_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench_dir", type=Path, required=True,
                    help="the folder with equiv_pairs.jsonl and solution_cases.jsonl")
    ap.add_argument("--baseline", help="also grade with cft/grading.py at this git revision "
                                       "(one from before the cft/grading package)")
    ap.add_argument("--show_misses", action="store_true")
    args = ap.parse_args()

    def load(name):
        return [json.loads(line) for line in (args.bench_dir / name).read_text().splitlines() if line.strip()]

    pairs = load("equiv_pairs.jsonl")
    sols = load("solution_cases.jsonl")
    multi = [c for c in sols if "several boxes" in c.get("note", "") or "together" in c.get("note", "")]
    boxed = [c for c in sols if "\\boxed" in c["solution"] and c not in multi]
    unboxed = [c for c in sols if "\\boxed" not in c["solution"] and c not in multi]

    graders = {"cft.grading": is_correct}
    if args.baseline:
        graders[f"cft@{args.baseline}"] = grader_at(args.baseline).is_correct
    graders["math-verify"] = lambda text, gold: plain_math_verify(text, gold)

    subsets = [
        ("equivalence pairs, as written", pairs, lambda c: as_written(c["pred"])),
        ("equivalence pairs, every pred boxed (old)", pairs, lambda c: f"\\boxed{{{c['pred']}}}"),
        ("solution cases, boxed single answer", boxed, lambda c: c["solution"]),
        ("solution cases, several boxes (notes)", multi, lambda c: c["solution"]),
        ("solution cases, no box (ours: wrong)", unboxed, lambda c: c["solution"]),
    ]
    print(f"{'subset':44s}" + "".join(f"{name:>20s}" for name in graders))
    for label, cases, text_of in subsets:
        cells = []
        for name, grade in graders.items():
            right = 0
            for case in cases:
                ok = grade(text_of(case), case["gold"]) == case["expected"]
                right += ok
                if args.show_misses and not ok and name == "cft.grading" and "(old)" not in label:
                    print(f"  miss [{label}] {json.dumps(case)[:220]}")
            cells.append(f"{right:4d}/{len(cases):<4d}{100 * right / len(cases):6.1f}%")
        print(f"{label:44s}" + "".join(f"{c:>20s}" for c in cells))


if __name__ == "__main__":
    main()
