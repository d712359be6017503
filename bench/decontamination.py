"""Step 0 at scale, and what the n-gram check adds to fuzz.ratio.

The evaluation set is a file (--problems_file: MATH-500 in its raw shape, or any set with problem
and answer; bench/problem_file.py), read by step 0's own loader for local sets
(cft.curate.eval_sets.load), as `decontaminate.py --against math500=FILE` reads it.

Part 1, speed and counts: a 40,000-problem synthetic input (bench/synthetic_problems.py: new
problems made from the set's sentences, plus injected copies of its problems, duplicates,
near-duplicates and one-number variants) through cft.curate.decontaminate.clean, decontamination against
the set (reading the rows and normalising them included) and --dedup timed apart, --repeats
times; medians and ranges, and per injected kind how many rows were removed (a base problem or a
variant removed is a false removal).

Part 2, the n-gram check: the set's even rows are the evaluation set, its odd rows clean
problems of the same style and topics. Contaminated inputs are the even rows respelled, wrapped
in a prompt (DeepScaleR's, Qwen's and DAPO's instructions around the problem, as a row that has
only a prompt gives it), and reworded (one or two small wording changes). Clean inputs are the
odd rows as they are and wrapped the same way, and 2,000 synthetic problems made from the set's
sentences with new numbers. For fuzz.ratio alone and with each n-gram setting: contaminated rows
caught, and clean rows removed.

    python bench/decontamination.py --problems_file FILE [--n 40000] [--repeats 3] [--skip_speed] [--skip_ngram]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import problem_file
from synthetic_problems import SHARES, build, respell, reword

from cft.curate.decontaminate import EvalSet, clean, find_contaminated
from cft.curate.eval_sets.load import load_local
from cft.curate.normalize import normalize_problem, tokens

WRAPPERS = [
    "{p} Let's think step by step and output the final answer within \\boxed{{}}.",
    "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{{}}.<|im_end|>\n"
    "<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n",
    "Solve the following math problem step by step. The last line of your response should be of the form "
    "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n{p}\n\n"
    "Remember to put your answer on its own line after \"Answer:\".",
]
NGRAM_SETTINGS = [(8, 0.5), (8, 0.7), (13, 0.5), (13, 0.7), (13, 0.9)]


def speed(n: int, repeats: int, problems_file: Path) -> None:
    rows, labels = build(n, problem_file.load(problems_file))
    eval_sets = [load_local(f"math500={problems_file}")]
    print(f"== part 1: {len(rows)} synthetic problems against {problems_file.name} ({len(eval_sets[0].problems)}), "
          f"{repeats} repeats ==")
    times: dict[str, list[float]] = {"decontaminate_s": [], "dedup_s": [], "total_s": []}
    for r in range(repeats):
        t0 = time.perf_counter()
        kept, removals, stats = clean(rows, eval_sets, "synthetic", dedup=True, progress=False)
        times["total_s"].append(time.perf_counter() - t0)
        times["decontaminate_s"].append(stats.decontaminate_s)
        times["dedup_s"].append(stats.dedup_s)
        print(f"  repeat {r + 1}: decontaminate {stats.decontaminate_s:.1f} s, dedup {stats.dedup_s:.1f} s, "
              f"total {times['total_s'][-1]:.1f} s")
    for key, values in times.items():
        print(f"  {key:16s} median {statistics.median(values):6.1f}  range {min(values):.1f}-{max(values):.1f}")
    removed = Counter((labels[x.index] or "base", x.method) for x in removals)
    injected = Counter(label or "base" for label in labels)
    print(f"  kept {len(kept)}, removed {len(removals)}: contaminated {stats.contaminated['math500']}, "
          f"duplicates {stats.duplicates}")
    for kind in ["base", *SHARES]:
        by = {m: c for (k, m), c in removed.items() if k == kind}
        print(f"  {kind:24s} injected {injected[kind]:6d}  removed {sum(by.values()):6d}  {by or ''}")


def ngram_study(problems_file: Path) -> None:
    rng = random.Random(1)
    rows = problem_file.load(problems_file)
    evals = [r["problem"] for r in rows[0::2]]
    others = [r["problem"] for r in rows[1::2]]
    eval_set = [EvalSet("even-rows", str(problems_file), evals)]
    positives = {
        "respelled": [respell(p, rng) for p in evals],
        "wrapped": [rng.choice(WRAPPERS).format(p=p) for p in evals],
        "reworded x1": [reword(respell(p, rng), rng) for p in evals],
        "reworded x2": [reword(reword(respell(p, rng), rng), rng) for p in evals],
    }
    synthetic, labels = build(2000, rows, seed=7)
    negatives = {
        "other rows": others,
        "other, wrapped": [rng.choice(WRAPPERS).format(p=p) for p in others],
        "synthetic": [r["problem"] for r, label in zip(synthetic, labels) if label is None],
    }
    print(f"\n== part 2: n-gram check; evaluation set: {len(evals)} problems of {problems_file.name} (even rows) ==")
    configs = [("fuzz.ratio >= 95 only", 0, 0.5)]
    configs += [(f"+ {n}-gram overlap >= {o}", n, o) for n, o in NGRAM_SETTINGS]
    header = ["config"] + [f"{k} ({len(v)})" for k, v in positives.items()] + \
             [f"{k} ({len(v)})" for k, v in negatives.items()]
    print("  caught (contaminated kinds) | removed (clean kinds)")
    print("  " + " | ".join(header))
    base_caught = base_false = None
    for name, n, overlap in configs:
        found = {k: find_contaminated([normalize_problem(t) for t in v], eval_set, 95.0, n, overlap, v,
                                      progress=False) for k, v in {**positives, **negatives}.items()}
        caught = {k: len(found[k]) for k in positives}
        false = {k: len(found[k]) for k in negatives}
        total_caught, total_false = sum(caught.values()), sum(false.values())
        # a synthetic problem that holds a whole evaluation problem with other numbers: a grey zone
        numbers_aside = sum(_masked(r.match) in _masked(r.problem) for r in found["synthetic"])
        extra = f"   (synthetic: {numbers_aside} hold a whole evaluation problem, numbers aside)" if n else ""
        if base_caught is None:
            base_caught, base_false = total_caught, total_false
        else:
            extra += f"   -> {total_caught - base_caught:+d} caught, {total_false - base_false:+d} false removals"
        print("  " + " | ".join([name] + [str(c) for c in caught.values()] + [str(f) for f in false.values()]) + extra)


def _masked(text: str) -> str:
    return " ".join("#" if t.isdigit() else t for t in tokens(normalize_problem(text)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip_speed", action="store_true")
    parser.add_argument("--skip_ngram", action="store_true")
    problem_file.add_argument(parser)
    args = parser.parse_args()
    if not args.skip_speed:
        speed(args.n, args.repeats, args.problems_file)
    if not args.skip_ngram:
        ngram_study(args.problems_file)


if __name__ == "__main__":
    main()
