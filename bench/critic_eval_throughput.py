"""The critic's report card through an OpenAI-compatible server against a local engine, side by side.

Each round runs ``evaluate_critic.py`` twice on the same step 5 rows, with the same model, engine settings
and sampling: once with ``--model`` (an in-process vLLM engine) and once with ``--server_url`` (vLLM's
OpenAI server on 127.0.0.1, started once by this benchmark with the same engine settings, its start not
counted); the rounds alternate which side goes first. The rows are made by steps 4 and 5 themselves from
solutions of realistic length (``cft/fixtures/long_solutions.py``), and each run is the real command with its
default flags (cases in flight, chunks). A side's rate is cases / the step's ``generate_s`` (from the first
request to the last reply: the engine's start and the report excluded). Printed: each side's median rate
and range, the median and range of the per-round ratio server / local, and each side's accuracy and share
without a verdict.

The default model is the demo's (SmolLM2-135M-Instruct); ``--model_path`` takes another.

    python bench/critic_eval_throughput.py [--rounds 3] [--cases 16] [--num_samples 2] [--max_tokens 64]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import ROOT, local_vs_server, parser, percent, report, spread  # noqa: E402


def run_side(formatted: Path, out: Path, critic: list[str], args) -> dict:
    subprocess.run([sys.executable, str(ROOT / "evaluate_critic.py"), "--input_file", formatted, "--output_dir",
                    out, *critic, "--max_cases", str(args.cases), "--num_samples", str(args.num_samples),
                    "--max_tokens", str(args.max_tokens), "--summary_json", out / "summary.json"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = json.loads((out / "summary.json").read_text())
    return {"rate": s["cases"] / s["generate_s"], "cases": s["cases"], "accuracy": s["accuracy"],
            "no_verdict": s["no_verdict_rate"]}


def main() -> None:
    ap = parser(__doc__, "critic")
    ap.add_argument("--cases", type=int, default=16, help="step 5 rows evaluated per run")
    ap.add_argument("--num_samples", type=int, default=2)
    ap.add_argument("--max_tokens", type=int, default=64)
    args = ap.parse_args()
    model, results = local_vs_server(
        args, args.cases, ["--model"], lambda formatted, out, flags: run_side(formatted, out, flags, args),
        lambda res: f"{res['rate']:.2f} cases/s ({res['cases']} cases), accuracy {percent(res['accuracy'])}, "
                    f"no verdict {percent(res['no_verdict'])}")
    print(f"\ncritic {model}, {args.cases} cases x {args.num_samples} samples, max_tokens {args.max_tokens}, "
          f"{args.rounds} rounds")
    report(results, "cases", lambda rs: f"accuracy {spread([100 * (x['accuracy'] or 0) for x in rs], '.1f')} %; "
           f"no verdict {spread([100 * x['no_verdict'] for x in rs], '.1f')} %")


if __name__ == "__main__":
    main()
