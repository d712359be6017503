"""Wrong targets in the critique rows of a held-out pool with known labels, through steps 2-5.

The pool is bench/realistic_pool.py's (the --problems_file set's problems, e.g. MATH-500's; 8 solutions per
problem and model slot, answer forms that models write, each right or wrong by
construction). Its solutions are graded as step 1 would grade them, by each
grader in turn (``--baseline REV``: cft/grading.py at a git revision; and the
current one), written as chunk files, then merged, filtered, drawn into
critique rows and formatted by the default scripts. A critique row's target is
wrong when it says "right" for a wrong solution or "wrong" for a right one.
The ``+ grade_solutions`` variant runs ``grade_solutions.py`` on the chunk
files before the merge, so disputed solutions are held back.

It also prints, per dispute signal, how many verdicts it flags and how many of
those are in fact wrong (precision), and the share of wrong verdicts flagged
(recall).

    python bench/label_noise.py --problems_file FILE [--baseline 351c725] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import problem_file
from grading_accuracy import grader_at
from realistic_pool import build, load_problems

from cft.common.jsonio import sha256_file, write_results_file
from cft.grading import grade_problem
from cft.grading.disputes import ALL_SIGNALS, signals_for
from cft.grading.regrade import regrade_problem
from cft.records.models import get_model
from cft.records.solutions import chunk_metadata, result_row, solution_record

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "label_noise"
CHUNK = 100


def write_pool(work: Path, rows: list[dict], sols: dict, grade) -> Path:
    """Input file and graded chunk files under ``work``; returns the input path."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    input_file = work / "input.json"
    input_file.write_text(json.dumps(rows))
    sha = sha256_file(input_file)
    for alias, per_problem in sols.items():
        spec = get_model(alias)
        folder = work / f"solutions_{alias}"
        for cid, start in enumerate(range(0, len(rows), CHUNK)):
            end = min(start + CHUNK, len(rows))
            results = []
            for i in range(start, end):
                texts = [s["text"] for s in per_problem[i]]
                grades = grade(texts, rows[i]["answer"])
                records = [solution_record(s["text"], g, s["finish_reason"], 100)
                           for s, g in zip(per_problem[i], grades)]
                results.append(result_row(i, i - start, rows[i]["problem"], rows[i]["answer"], records))
            meta = chunk_metadata(model=spec.name, model_path="pool", chunk_id=cid, chunk_size=CHUNK, start=start,
                                  end=end, num_samples=8, sampling={"n": 8}, prompt_template="pool",
                                  input_file=input_file, input_sha256=sha, input_rows=len(rows))
            write_results_file(folder / f"{spec.name}_chunk_{cid:03d}.json", meta, results)
    return input_file


def run(cmd: list[str]) -> None:
    r = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=ROOT)
    if r.returncode:
        raise SystemExit(f"{cmd[0]} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def steps_2_to_5(work: Path, input_file: Path, regrade: bool) -> Path:
    if regrade:
        run(["grade_solutions.py", "--input_dir", str(work / "solutions_qwen25"), str(work / "solutions_qwen3"),
             "--report", str(work / "label_report.md"), "--workers", "2"])
    run(["merge_solutions.py", "--qwen25_dir", str(work / "solutions_qwen25"), "--qwen3_dir",
         str(work / "solutions_qwen3"), "--output_dir", str(work), "--overwrite"])
    run(["filter_solutions.py", "--qwen25_file", str(work / "deepscaler_qwen25_solutions.json"), "--qwen3_file",
         str(work / "deepscaler_qwen3_solutions.json"), "--original_file", str(input_file), "--output_file",
         str(work / "filter.json"), "--overwrite"])
    run(["generate_critique_data.py", "--filtered_file", str(work / "filter.json"), "--output_file",
         str(work / "critique.json"), "--overwrite"])
    run(["format_critique_data.py", "--critique_file", str(work / "critique.json"), "--output_file",
         str(work / "formatted.json"), "--overwrite"])
    return work / "formatted.json"


def critique_wrong_targets(critique: Path, sols: dict) -> tuple[int, int, Counter]:
    rows = json.loads(critique.read_text())
    wrong, kinds = 0, Counter()
    for row in rows:
        alias = get_model(row["source_model"]).alias
        truth = sols[alias][row["index"]][row["solution_index"]]["_right"]
        if (row["target"] == "right") != truth:
            wrong += 1
            kinds[f"{row['target']} for a {'right' if truth else 'wrong'} solution"] += 1
    return len(rows), wrong, kinds


def signal_table(rows: list[dict], sols: dict, name: str, grade_fn=None) -> None:
    """Each signal's precision and recall on the verdicts of ``grade_fn`` (default: the current grader)."""
    flagged, hits, wrong_verdicts, total = Counter(), Counter(), 0, 0
    any_flag = any_hit = 0
    for per_problem in sols.values():
        for i, problem in enumerate(per_problem):
            texts = [s["text"] for s in problem]
            if grade_fn is None:
                graded = regrade_problem(texts, rows[i]["answer"], 5.0, ALL_SIGNALS)
            else:
                graded = [(g, signals_for(t, rows[i]["answer"], g, ALL_SIGNALS))
                          for t, g in zip(texts, grade_fn(texts, rows[i]["answer"]))]
            for s, (grade, reasons) in zip(problem, graded):
                total += 1
                is_wrong = grade.correct != s["_right"]
                wrong_verdicts += is_wrong
                for r in reasons:
                    flagged[r] += 1
                    hits[r] += is_wrong
                any_flag += bool(reasons)
                any_hit += bool(reasons) and is_wrong
    print(f"\n{name}: verdicts {total}, wrong verdicts {wrong_verdicts} ({100 * wrong_verdicts / total:.2f}%)")
    print(f"{'signal':16s} {'flagged':>8s} {'of them wrong':>14s} {'precision':>10s} {'recall':>8s}")
    for r in ALL_SIGNALS:
        print(f"{r:16s} {flagged[r]:8d} {hits[r]:14d} {100 * hits[r] / max(1, flagged[r]):9.1f}% "
              f"{100 * hits[r] / max(1, wrong_verdicts):7.1f}%")
    print(f"{'any':16s} {any_flag:8d} {any_hit:14d} {100 * any_hit / max(1, any_flag):9.1f}% "
          f"{100 * any_hit / max(1, wrong_verdicts):7.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", help="also grade with cft/grading.py at this git revision "
                                       "(one from before the cft/grading package)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--signals", action="store_true", help="also print each dispute signal's precision/recall")
    ap.add_argument("--signals_only", action="store_true", help="only the signal tables (no steps 2-5)")
    problem_file.add_argument(ap)
    args = ap.parse_args()
    problems = load_problems(args.problems_file)

    graders = {}
    if args.baseline:
        old = grader_at(args.baseline)
        graders[f"grader@{args.baseline}"] = (lambda texts, gt, m=old: m.grade_problem(texts, gt), False)
    graders["current grader"] = (grade_problem, False)
    graders["current + grade_solutions"] = (grade_problem, True)

    print(f"{'seed':>4s}  {'variant':34s} {'rows':>6s} {'wrong targets':>14s}  kinds")
    for seed in args.seeds:
        rows, sols = build(problems, seed)
        for name, (grade, regrade) in graders.items():
            if args.signals_only:
                break
            work = OUT / f"seed{seed}" / name.replace(" ", "_").replace("@", "_").replace("+", "plus")
            input_file = write_pool(work, rows, sols, grade)
            steps_2_to_5(work, input_file, regrade)
            n, wrong, kinds = critique_wrong_targets(work / "critique.json", sols)
            print(f"{seed:4d}  {name:34s} {n:6d} {wrong:6d} ({100 * wrong / max(1, n):4.2f}%)  {dict(kinds)}",
                  flush=True)
        if args.signals:
            signal_table(rows, sols, "current grader")
            if args.baseline:
                signal_table(rows, sols, f"grader@{args.baseline}", graders[f"grader@{args.baseline}"][0])


if __name__ == "__main__":
    main()
