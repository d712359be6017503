"""The LLM judge's cost per 1000 verdicts (grade_solutions.py --judge_model), on the CPU demo model.

Asks the judge about N (problem, reference, final answer) questions from the
held-out pool (bench/realistic_pool.py: the --problems_file set, e.g. MATH-500; half right and
half wrong answers), in one batch as grade_solutions.py does, and prints the
wall time per 1000 verdicts, the tokens, and how often its verdict matched the
pool's label (SmolLM2-135M is far too small to judge well: the figure is the
cost; the agreement only says the mechanics work).

    python bench/judge_cost.py --problems_file FILE [--model PATH (default: the demo model)] [--n 300]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

import problem_file

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--n", type=int, default=300)
    problem_file.add_argument(ap)
    args = ap.parse_args()
    from realistic_pool import build, load_problems

    from cft.grading import extract_answer
    from cft.grading.judge import Judge, Question

    model = args.model or subprocess.run([sys.executable, "-m", "cft.fixtures.demo_model"], capture_output=True,
                                         text=True, check=True, cwd=ROOT).stdout.strip().splitlines()[-1]
    rows, sols = build(load_problems(args.problems_file)[: args.n], 0, skill={"qwen25": 0.5})
    rng = random.Random(0)
    questions, labels = [], []
    for i, per in enumerate(sols["qwen25"]):
        sol = rng.choice([s for s in per if s["finish_reason"] == "stop"] or per)
        questions.append(Question(rows[i]["problem"], rows[i]["answer"], str(extract_answer(sol["text"]))))
        labels.append("correct" if sol["_right"] else "incorrect")
    judge = Judge(model, max_model_len=2048, dtype="float32", enforce_eager=True)
    judge.ask(questions[:4])  # warm-up, not timed
    judge.seconds = judge.prompt_tokens = judge.output_tokens = 0
    verdicts = judge.ask(questions)
    n = len(verdicts)
    agree = sum(v == label for v, label in zip(verdicts, labels))
    unclear = sum(v == "unclear" for v in verdicts)
    print(f"judge {model}: {n} verdicts in {judge.seconds:.1f} s = {1000 * judge.seconds / n:.0f} s per 1000 verdicts; "
          f"{judge.prompt_tokens / n:.0f} prompt + {judge.output_tokens / n:.1f} output tokens per verdict; "
          f"agrees with the label {agree}/{n}, unclear {unclear}")


if __name__ == "__main__":
    main()
