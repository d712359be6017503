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

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from side_by_side import local_vs_server, parser, percent, report, spread, step  # noqa: E402


def run_side(formatted: Path, out: Path, teacher: list[str], args) -> dict:
    summary = out / "summary.json"
    step("create_critique_data.py", "--formatted_file", formatted, "--output_file", out / "sft.jsonl", *teacher,
         "--max_rows", args.rows, "--num_critiques", args.num_critiques, "--max_tokens", args.max_tokens,
         "--format_examples", "--summary_json", summary)
    s = json.loads(summary.read_text())
    return {"rate": s["critiques_generated"] / s["generate_s"], "keep_rate": s["keep_rate"],
            "agreement": s["agreement"], "critiques": s["critiques_generated"]}


def main() -> None:
    ap = parser(__doc__, "teacher")
    ap.add_argument("--rows", type=int, default=12, help="step 5 rows critiqued per run")
    ap.add_argument("--num_critiques", type=int, default=4)
    ap.add_argument("--max_tokens", type=int, default=96)
    args = ap.parse_args()
    model, results = local_vs_server(
        args, args.rows, ["--teacher_model"], lambda formatted, out, flags: run_side(formatted, out, flags, args),
        lambda res: f"{res['rate']:.2f} critiques/s ({res['critiques']} critiques), kept "
                    f"{100 * res['keep_rate']:.1f}%, agreement {percent(res['agreement'])}")
    print(f"\nteacher {model}, {args.rows} rows x {args.num_critiques} critiques, max_tokens {args.max_tokens}, "
          f"{args.rounds} rounds")

    def more(rs: list[dict]) -> str:
        agreed = [100 * x["agreement"] for x in rs if x["agreement"] is not None]  # None: no verdict at all
        return (f"kept {spread([100 * x['keep_rate'] for x in rs], '.1f')} %; agreement "
                + (f"{spread(agreed, '.1f')} % in {len(agreed)} of {len(rs)} runs" if agreed else "- (no verdict)"))

    report(results, "critiques", more)


if __name__ == "__main__":
    main()
