"""Step 6's teacher through an OpenAI-compatible server against a local engine, side by side, and the share kept.

Each round runs ``create_critique_data.py`` twice on the same step 5 rows, with the same model, engine
settings and sampling: once with ``--teacher_model`` (an in-process vLLM engine) and once with
``--server_url`` (vLLM's OpenAI server on 127.0.0.1, started once by this benchmark with the same
engine settings, its start not counted); the rounds alternate which side goes first. The rows are
made by steps 4 and 5 themselves from solutions of realistic length (``cft/fixtures/long_solutions.py``), and
each run is the real command with its default flags (rows in flight, chunks), so the data arrives as
it does in use. A side's rate is critiques / the step's ``generate_s`` (from the first request to
the last critique: the engine's start and the assembly excluded). Printed: each side's median rate
and range, the median and range of the per-round ratio server / local, and each side's keep rate
(kept critiques / sampled) and teacher agreement.

The default model is the demo's (SmolLM2-135M-Instruct, with ``--format_examples``, as the demo runs
it); ``--model_path`` takes another.

    python bench/teacher_throughput.py [--rounds 3] [--rows 12] [--num_critiques 4] [--max_tokens 96]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ("--max_model_len", "2048", "--dtype", "float32", "--enforce_eager")


def step(script: str, *args) -> None:
    subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_rows(folder: Path, rows: int) -> Path:
    """Step 5's training file of about ``rows`` rows, through steps 4 and 5 on realistic solutions."""
    from cft.fixtures.long_solutions import write_filtered

    filtered = write_filtered(folder / "filtered.json", problems=max(1, rows // 4) + 4)
    step("generate_critique_data.py", "--filtered_file", filtered, "--output_file", folder / "critique.json")
    step("format_critique_data.py", "--critique_file", folder / "critique.json", "--output_file",
         folder / "formatted.json", "--val_size", "0")
    return folder / "formatted.json"


def run_side(side: str, formatted: Path, out: Path, teacher: list[str], args) -> dict:
    summary = out.with_name(f"{out.stem}_summary.json")
    step("create_critique_data.py", "--formatted_file", formatted, "--output_file", out, *teacher,
         "--max_rows", args.rows, "--num_critiques", args.num_critiques, "--max_tokens", args.max_tokens,
         "--format_examples", "--summary_json", summary)
    s = json.loads(summary.read_text())
    return {"rate": s["critiques_generated"] / s["generate_s"], "keep_rate": s["keep_rate"],
            "agreement": s["agreement"], "critiques": s["critiques_generated"]}


def percent(value: float | None) -> str:
    return "- (no verdict)" if value is None else f"{100 * value:.1f}%"


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"median {statistics.median(values):{fmt}} (range {min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help="the teacher (default: the demo's SmolLM2-135M-Instruct)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=12, help="step 5 rows critiqued per run")
    ap.add_argument("--num_critiques", type=int, default=4)
    ap.add_argument("--max_tokens", type=int, default=96)
    args = ap.parse_args()
    from cft.fixtures.demo_model import ensure_demo_model
    from cft.fixtures.vllm_server import vllm_server

    model = Path(args.model_path) if args.model_path else ensure_demo_model()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # what the local backend sets, for the server too
    with tempfile.TemporaryDirectory(prefix="cft-bench-teacher-") as tmp:
        tmp = Path(tmp)
        formatted = make_rows(tmp / "input", args.rows)
        server_flags = ("--enforce-eager", "--max-model-len", "2048", "--dtype", "float32")
        with vllm_server(model, tmp / "server.log", server_flags) as url:
            sides = {"local": ["--teacher_model", str(model), *ENGINE], "server": ["--server_url", url]}
            results: dict[str, list[dict]] = {"local": [], "server": []}
            for r in range(args.rounds):
                for side in (("local", "server") if r % 2 == 0 else ("server", "local")):
                    res = run_side(side, formatted, tmp / f"{side}_{r}" / "sft.jsonl", sides[side], args)
                    results[side].append(res)
                    print(f"round {r} {side}: {res['rate']:.2f} critiques/s ({res['critiques']} critiques), "
                          f"kept {100 * res['keep_rate']:.1f}%, agreement {percent(res['agreement'])}", flush=True)
    print(f"\nteacher {model}, {args.rows} rows x {args.num_critiques} critiques, max_tokens {args.max_tokens}, "
          f"{args.rounds} rounds")
    for side, rs in results.items():
        agreed = [100 * x["agreement"] for x in rs if x["agreement"] is not None]  # None: no verdict at all
        print(f"{side:6s}: critiques/s {spread([x['rate'] for x in rs])}; kept "
              f"{spread([100 * x['keep_rate'] for x in rs], '.1f')} %; agreement "
              + (f"{spread(agreed, '.1f')} % in {len(agreed)} of {len(rs)} runs" if agreed else "- (no verdict)"))
    ratios = [s["rate"] / loc["rate"] for s, loc in zip(results["server"], results["local"])]
    print(f"server / local critiques per second: {spread(ratios, '.3f')}")


if __name__ == "__main__":
    main()
