"""Steps 2-5 at full scale: wall time and peak RSS per step, against the I/O floor.

Builds a synthetic but realistic input: N problems (40,000 at --scale 1) with
8 solutions per model of 1-3 KB text each, in chunk files of 1000, with
pass rates spread like a real run (some problems easy for both models, some
hard for both, most in between). Then runs the real scripts, each in its own
process: merge_solutions.py, filter_solutions.py, generate_critique_data.py,
format_critique_data.py, --repeats times. Peak RSS is the sum over a script
and its worker processes (merge runs the two models side by side), sampled
every 20 ms.

The floor, measured in the same run just before and just after each timed
repeat (their mean): one orjson read of every chunk file plus one write of
the same bytes. Targets on this project's 2-core machine: total / floor <= 4,
and peak RSS <= 0.5x the total input bytes.

--compare DIR also runs the scripts of another checkout (say, the code before
a change: ``git worktree add /tmp/before HEAD~3``) in the same repeats,
alternating with this one, and checks that both write the same bytes.

    python bench/postprocess_scale.py [--scale 0.1] [--repeats 3] [--compare DIR] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil

from cft.common.jsonio import sha256_file, write_results_file
from cft.records.chunks import chunk_filename, chunk_range, num_chunks
from cft.records.models import MODELS
from cft.records.solutions import chunk_metadata

ROOT = Path(__file__).resolve().parent.parent

WORDS = ("we let the sum of roots equal so that by the theorem it follows substituting gives "
         "x y n k a b therefore since both sides are positive integer factor prime square "
         "\\frac{1}{2} \\sqrt{3} 2^{n} \\cdot + - = ( ) hence case").split()
SAMPLING = {"n": 8, "temperature": 0.7, "top_p": 0.95, "max_tokens": 3072, "seed": 0, "stop": ["<|im_end|>"]}


def paragraphs(rng: random.Random, count: int = 300) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 110))) + "." for _ in range(count)]


def build(workdir: Path, problems: int, chunk_size: int = 1000, seed: int = 0) -> int:
    """Write the input and both models' chunk files; return the chunk files' total bytes."""
    rng = random.Random(seed)
    paras = paragraphs(rng)
    rows = [{"problem": f"Problem {i}: " + " ".join(rng.choice(WORDS) for _ in range(40)) + "?",
             "answer": str(rng.randint(1, 999)), "solution": "omitted"} for i in range(problems)]
    inp = workdir / "deepscaler_train.json"
    inp.write_bytes(orjson.dumps(rows))
    sha = sha256_file(inp)
    difficulty = [rng.random() for _ in range(problems)]
    total_bytes = 0
    for name, spec in MODELS.items():
        folder = workdir / f"solutions_{spec.alias}"
        folder.mkdir(parents=True, exist_ok=True)
        skill = 0.15 if spec.alias == "qwen25" else -0.05
        for cid in range(num_chunks(problems, chunk_size)):
            start, end = chunk_range(cid, chunk_size, problems)
            results = []
            for i in range(start, end):
                p = min(1.0, max(0.0, 1.2 - 1.4 * difficulty[i] + skill))
                sols = []
                for _ in range(8):
                    ok = rng.random() < p
                    truncated = not ok and rng.random() < 0.05
                    answer = rows[i]["answer"] if ok else str(rng.randint(1, 999))
                    text = "\n\n".join(rng.sample(paras, rng.randint(2, 5)))
                    if not truncated:
                        text += f"\n\nThe final answer is $\\boxed{{{answer}}}$."
                    sols.append({"text": text, "extracted_answer": None if truncated else answer, "correct": ok,
                                 "grade": "correct" if ok else ("no_answer" if truncated else "incorrect"),
                                 "finish_reason": "length" if truncated else "stop",
                                 "num_tokens": len(text) // 4})
                results.append({"index": i, "chunk_index": i - start, "question": rows[i]["problem"],
                                "ground_truth": rows[i]["answer"], "solutions": sols,
                                "num_correct": sum(s["correct"] for s in sols)})
            meta = chunk_metadata(model=name, model_path=spec.weights, chunk_id=cid, chunk_size=chunk_size,
                                  start=start, end=end, num_samples=8, sampling=SAMPLING,
                                  prompt_template=spec.prompt_template, input_file=inp, input_sha256=sha,
                                  input_rows=problems)
            path = folder / chunk_filename(name, cid)
            write_results_file(path, meta, results)
            total_bytes += path.stat().st_size
    return total_bytes


def floor(workdir: Path) -> float:
    """One orjson read of every chunk file plus one write of the same bytes."""
    out = workdir / "floor.tmp"
    t0 = time.perf_counter()
    with open(out, "wb") as f:
        for path in sorted(workdir.glob("solutions_*/*.json")):
            data = orjson.loads(path.read_bytes())
            f.write(orjson.dumps(data))
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - t0
    out.unlink()
    return elapsed


def run_step(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one script run: the script and its workers together."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    tree = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            rss = tree.memory_info().rss
            for child in tree.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    rss += child.memory_info().rss
            peak = max(peak, rss)
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak


def run_steps(work: Path, code: Path, input_bytes: int) -> tuple[float, int]:
    """Steps 2-5 through the scripts in ``code``; prints a row per step; returns total and peak."""
    py = sys.executable
    f = {name: str(work / name) for name in (
        "solutions_qwen25", "solutions_qwen3", "deepscaler_qwen25_solutions.json", "deepscaler_qwen3_solutions.json",
        "deepscaler_train.json", "deepscaler_train_filter.json", "deepscaler_critique.json",
        "deepscaler_critique_formatted.json")}
    steps = [
        ("merge", [py, str(code / "merge_solutions.py"), "--qwen25_dir", f["solutions_qwen25"],
                   "--qwen3_dir", f["solutions_qwen3"], "--output_dir", str(work)]),
        ("filter", [py, str(code / "filter_solutions.py"), "--qwen25_file", f["deepscaler_qwen25_solutions.json"],
                    "--qwen3_file", f["deepscaler_qwen3_solutions.json"], "--original_file",
                    f["deepscaler_train.json"], "--output_file", f["deepscaler_train_filter.json"]]),
        ("critique", [py, str(code / "generate_critique_data.py"), "--filtered_file",
                      f["deepscaler_train_filter.json"], "--output_file", f["deepscaler_critique.json"]]),
        ("format", [py, str(code / "format_critique_data.py"), "--critique_file", f["deepscaler_critique.json"],
                    "--output_file", f["deepscaler_critique_formatted.json"]]),
    ]
    for out in work.glob("deepscaler_*"):  # every run writes fresh files, as a first run does
        if out.name != "deepscaler_train.json":
            out.unlink()
    total, peak = 0.0, 0
    print(f"{'step':10s} {'wall s':>8s} {'peak RSS MB':>12s} {'RSS/input':>10s}   ({code})")
    for name, cmd in steps:
        elapsed, rss = run_step(cmd)
        total += elapsed
        peak = max(peak, rss)
        print(f"{name:10s} {elapsed:8.1f} {rss / 1e6:12.0f} {rss / input_bytes:10.2f}")
    print(f"{'total':10s} {total:8.1f} {peak / 1e6:12.0f} {peak / input_bytes:10.2f}")
    return total, peak


def outputs(work: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(work.glob("deepscaler_*"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of 40,000 problems")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "scale")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (each between two floor measurements)")
    ap.add_argument("--compare", type=Path, default=None, help="another checkout whose scripts run alongside")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    problems = max(1, int(40_000 * args.scale))
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    t0 = time.perf_counter()
    input_bytes = build(work, problems)
    print(f"built {problems} problems x 8 x 2 models: {input_bytes / 1e6:.0f} MB of chunk files "
          f"in {time.perf_counter() - t0:.0f} s")
    codes = [ROOT] + ([args.compare.resolve()] if args.compare else [])
    ratios: dict[Path, list[float]] = {c: [] for c in codes}
    peaks: dict[Path, list[float]] = {c: [] for c in codes}
    digests: dict[Path, dict] = {}
    for repeat in range(args.repeats):
        for code in codes if repeat % 2 == 0 else codes[::-1]:
            before = floor(work)  # the machine's speed drifts: a floor just before and just after each run
            total, peak = run_steps(work, code, input_bytes)
            t_floor = (before + floor(work)) / 2
            ratios[code].append(total / t_floor)
            peaks[code].append(peak / input_bytes)
            digests[code] = outputs(work)
            print(f"repeat {repeat + 1}: floor {t_floor:.1f} s, total / floor {total / t_floor:.2f}\n")
    kept = len(orjson.loads((work / "deepscaler_train_filter.json").read_bytes()))
    print(f"kept {kept} of {problems} problems")
    if args.compare:
        print(f"outputs of {codes[0]} and {codes[1]} byte-identical: {digests[codes[0]] == digests[codes[1]]}")
    for code in codes:
        r, m = ratios[code], peaks[code]
        print(f"{code}: total / floor median {statistics.median(r):.2f} (range {min(r):.2f}-{max(r):.2f}; "
              f"target <= 4), peak RSS / input median {statistics.median(m):.2f} "
              f"(range {min(m):.2f}-{max(m):.2f}; target <= 0.5)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
