"""Step labels: the binary search over a solution's prefixes against the linear pass over every prefix, side by
side: rollouts per solution, the completions' wall time, the same labels; and the local engine's prefix-cache hits.

Each round runs ``label_steps.py --no_teacher`` twice on the same solutions, once with ``--search binary`` and
once with ``--search linear`` (the rounds alternate which goes first), in two settings:

1. **Exact**: the scripted server (``cft.fixtures.step_world``), whose continuations reach the reference exactly
   when the prefix holds no planted error, with ``--delay_s`` seconds per request (a server's latency). Both
   searches must give every solution its planted first error.
2. **A real model** in a local vLLM engine (default: the demo's SmolLM2-135M-Instruct; ``--model_path``
   another), on the same planted solutions written as one paragraph (``--splitter sentences``, step 1's
   few-shot template). A small model's completions are noisy, so the searches need not agree: the share of
   solutions they label alike is measured, with the share the linear pass finds non-monotonic (a dead prefix
   followed by an alive one, which bisection assumes away).

A side's time is its completions' seconds (the step's ``seconds.rollouts``: from the first request to the last
continuation; the engine's start excluded). Printed per setting: rollouts per solution (mean), requests,
seconds (median and range over the rounds), the labels alike, and the prefix-cache hits (local engine: the share
of prompt tokens looked up that vLLM found cached).

    python bench/step_labels.py [--rounds 3] [--local_rounds 1] [--problems 24] [--local_problems 6] [--rollouts 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"qwen25": "qwen-2.5-math-7b", "qwen3": "qwen3-4b-base"}
SEARCHES = ("binary", "linear")


def label(filtered: Path, out: Path, search: str, args: list[str]) -> dict:
    summary = out.with_name(f"{out.stem}_summary.json")
    cmd = [sys.executable, str(ROOT / "label_steps.py"), "--filtered_file", str(filtered), "--labels_file", str(out),
           "--no_teacher", "--search", search, "--summary_json", str(summary), *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"label_steps.py failed: {r.stderr[-2000:]}")
    s = json.loads(summary.read_text())
    rows = orjson.loads(out.read_bytes())
    return {"rollouts": s["rollouts_per_solution"]["mean"], "requests": s["requests"].get("rollouts", 0),
            "seconds": s["seconds"].get("rollouts", 0.0), "cache": s.get("prefix_cache"),
            "non_monotonic": s["non_monotonic"], "solutions": len(rows),
            "labels": {(r["index"], r["source_model"], r["solution_index"]): r["rollouts"]["first_error"]
                       for r in rows}}


def compare(name: str, filtered: Path, folder: Path, args: list[str], rounds: int, truth: dict | None) -> None:
    runs: dict[str, list[dict]] = {s: [] for s in SEARCHES}
    for k in range(rounds):
        for search in SEARCHES if k % 2 == 0 else SEARCHES[::-1]:
            runs[search].append(label(filtered, folder / f"{search}_{k}.json", search, args))
    print(f"\n== {name} ==")
    print(f"  {'search':7} {'solutions':>9} {'rollouts/solution':>17} {'requests':>8}  seconds (median, range)"
          f"   prefix cache hits")
    for search, rs in runs.items():
        secs = [r["seconds"] for r in rs]
        cache = rs[-1]["cache"]
        hits = f"{100 * cache['hits'] / cache['queries']:.1f}% of {cache['queries']} tokens" if cache and \
            cache["queries"] else "-"
        print(f"  {search:7} {rs[0]['solutions']:>9} {statistics.median(r['rollouts'] for r in rs):>17.2f} "
              f"{statistics.median(r['requests'] for r in rs):>8.0f}  {statistics.median(secs):7.1f} "
              f"({min(secs):.1f}-{max(secs):.1f})   {hits}")
    b, lin = runs["binary"][-1], runs["linear"][-1]
    alike = sum(b["labels"][key] == v for key, v in lin["labels"].items())
    print(f"  same labels: {alike} of {len(lin['labels'])} solutions; linear pass non-monotonic: "
          f"{lin['non_monotonic']}; binary/linear rollouts: {b['rollouts'] / lin['rollouts']:.2f}")
    if truth is not None:
        exact = {s: sum(runs[s][-1]["labels"][key] == truth[key].first_error for key in runs[s][-1]["labels"])
                 for s in SEARCHES}
        print("  planted first error found: " + ", ".join(f"{s} {n}/{b['solutions']}" for s, n in exact.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the scripted setting")
    ap.add_argument("--local_rounds", type=int, default=1, help="rounds of the local setting (minutes each on CPU)")
    ap.add_argument("--problems", type=int, default=24, help="problems of the scripted setting (8 solutions each)")
    ap.add_argument("--local_problems", type=int, default=6, help="problems of the local setting (4 solutions each)")
    ap.add_argument("--rollouts", type=int, default=4, help="continuations per prefix")
    ap.add_argument("--delay_s", type=float, default=0.05, help="the scripted server's seconds per request")
    ap.add_argument("--model_path", default=None, help="the local setting's completer (default: the demo model)")
    ap.add_argument("--max_tokens", type=int, default=48, help="tokens per continuation in the local setting")
    ap.add_argument("--no_local", action="store_true", help="the scripted setting only")
    args = ap.parse_args()
    from cft.fixtures.step_world import StepServer, filtered_rows
    from cft.fixtures.tiny_model import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="bench_step_labels_") as tmp:
        tmp = Path(tmp)
        tokenizer = build_tiny_model(tmp / "tiny")  # the scripted setting's prompts are rendered with its tokenizer
        rows, truth = filtered_rows(args.problems, MODELS)
        (tmp / "filtered.json").write_bytes(orjson.dumps(rows))
        with StepServer(noise=0.0, delay_s=args.delay_s) as server:
            compare(f"scripted server ({args.problems} problems, {args.rollouts} rollouts per prefix, "
                    f"{args.delay_s} s per request)", tmp / "filtered.json", tmp / "scripted",
                    ["--completer_server_url", server.url, "--model_path", f"qwen25={tokenizer}", "--model_path",
                     f"qwen3={tokenizer}", "--completer_template", "fewshot-boxed", "--rollouts", args.rollouts],
                    args.rounds, truth)
        if args.no_local:
            return
        from cft.fixtures.demo_model import ensure_demo_model

        model = Path(args.model_path) if args.model_path else ensure_demo_model()
        rows, truth = filtered_rows(args.local_problems, MODELS, per_model=2, sep=" ")
        (tmp / "local.json").write_bytes(orjson.dumps(rows))
        compare(f"local engine, {model.name} ({args.local_problems} problems, {args.rollouts} rollouts per prefix, "
                f"{args.max_tokens} tokens each)", tmp / "local.json", tmp / "local",
                ["--model_path", f"qwen25={model}", "--model_path", f"qwen3={model}", "--completer_template",
                 "fewshot-boxed", "--splitter", "sentences", "--rollouts", args.rollouts, "--completer_dtype",
                 "float32", "--completer_enforce_eager", "--completer_max_model_len", "1024",
                 "--completer_max_tokens", args.max_tokens, "--completer_engine_log", tmp / "engine.log"],
                args.local_rounds, None)


if __name__ == "__main__":
    main()
