"""The critic's report card through an OpenAI-compatible server against a local engine, side by side.

Each round runs ``evaluate_critic.py`` twice on the same step 5 rows, with the same model, engine settings
and sampling: once with ``--model`` (an in-process vLLM engine) and once with ``--server_url`` (vLLM's
OpenAI server on 127.0.0.1, started once by this benchmark with the same engine settings, its start not
counted); the rounds alternate which side goes first. The rows are made by steps 4 and 5 themselves from
solutions of realistic length (``cft/fixtures/math500.py``), and each run is the real command with its
default flags (cases in flight, chunks). A side's rate is cases / the step's ``generate_s`` (from the first
request to the last reply: the engine's start and the report excluded). Printed: each side's median rate
and range, the median and range of the per-round ratio server / local, and each side's accuracy and share
without a verdict.

The default model is the demo's (SmolLM2-135M-Instruct); ``--model_path`` takes another.

    python bench/critic_eval_throughput.py [--rounds 3] [--cases 16] [--num_samples 2] [--max_tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from teacher_throughput import ENGINE, make_rows, percent, spread  # noqa: E402


def run_side(formatted: Path, out: Path, critic: list[str], args) -> dict:
    subprocess.run([sys.executable, str(ROOT / "evaluate_critic.py"), "--input_file", formatted, "--output_dir",
                    out, *critic, "--max_cases", str(args.cases), "--num_samples", str(args.num_samples),
                    "--max_tokens", str(args.max_tokens), "--summary_json", out / "summary.json"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = json.loads((out / "summary.json").read_text())
    return {"rate": s["cases"] / s["generate_s"], "cases": s["cases"], "accuracy": s["accuracy"],
            "no_verdict": s["no_verdict_rate"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help="the critic (default: the demo's SmolLM2-135M-Instruct)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", type=int, default=16, help="step 5 rows evaluated per run")
    ap.add_argument("--num_samples", type=int, default=2)
    ap.add_argument("--max_tokens", type=int, default=64)
    args = ap.parse_args()
    from cft.fixtures.demo_model import ensure_demo_model
    from cft.fixtures.vllm_server import vllm_server

    model = Path(args.model_path) if args.model_path else ensure_demo_model()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # what the local backend sets, for the server too
    with tempfile.TemporaryDirectory(prefix="cft-bench-critic-") as tmp:
        tmp = Path(tmp)
        formatted = make_rows(tmp / "input", args.cases)
        server_flags = ("--enforce-eager", "--max-model-len", "2048", "--dtype", "float32")
        with vllm_server(model, tmp / "server.log", server_flags) as url:
            sides = {"local": ["--model", str(model), *ENGINE], "server": ["--server_url", url]}
            results: dict[str, list[dict]] = {"local": [], "server": []}
            for r in range(args.rounds):
                for side in (("local", "server") if r % 2 == 0 else ("server", "local")):
                    res = run_side(formatted, tmp / f"{side}_{r}", sides[side], args)
                    results[side].append(res)
                    print(f"round {r} {side}: {res['rate']:.2f} cases/s ({res['cases']} cases), accuracy "
                          f"{percent(res['accuracy'])}, no verdict {percent(res['no_verdict'])}", flush=True)
    print(f"\ncritic {model}, {args.cases} cases x {args.num_samples} samples, max_tokens {args.max_tokens}, "
          f"{args.rounds} rounds")
    for side, rs in results.items():
        print(f"{side:6s}: cases/s {spread([x['rate'] for x in rs])}; accuracy "
              f"{spread([100 * (x['accuracy'] or 0) for x in rs], '.1f')} %; no verdict "
              f"{spread([100 * x['no_verdict'] for x in rs], '.1f')} %")
    ratios = [s["rate"] / loc["rate"] for s, loc in zip(results["server"], results["local"])]
    print(f"server / local cases per second: {spread(ratios, '.3f')}")


if __name__ == "__main__":
    main()
