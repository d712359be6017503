"""What the throughput benchmarks of steps that run a model share: a step run through an in-process engine and
through vLLM's OpenAI server on 127.0.0.1, same model and engine settings, rounds alternating which goes first;
and the rows the step reads, made by steps 4 and 5 themselves from solutions of realistic length."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ("--max_model_len", "2048", "--dtype", "float32", "--enforce_eager")
SERVER_ENGINE = ("--enforce-eager", "--max-model-len", "2048", "--dtype", "float32")  # ENGINE, in vLLM's spelling


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


def parser(doc: str, role: str) -> argparse.ArgumentParser:
    """A benchmark's flags: ``--model_path`` (the ``role``'s model) and ``--rounds``; it adds its own."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_path", default=None, help=f"the {role} (default: the demo's SmolLM2-135M-Instruct)")
    ap.add_argument("--rounds", type=int, default=3)
    return ap


def local_vs_server(args, rows: int, local_flags: list[str], run_side: Callable[[Path, Path, list[str]], dict],
                    line: Callable[[dict], str]) -> tuple[Path, dict[str, list[dict]]]:
    """The model (``args.model_path``, else the demo's) and, in a temporary folder, step 5's rows (``make_rows``)
    and ``run_side(rows file, output folder, the step's model flags)`` for the local engine (``local_flags`` +
    ``ENGINE``) and the server (``--server_url``), ``args.rounds`` times each, alternating; prints
    ``line(result)`` per run. Returns the model and each side's results."""
    from cft.fixtures.demo_model import ensure_demo_model
    from cft.fixtures.vllm_server import vllm_server

    model = Path(args.model_path) if args.model_path else ensure_demo_model()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # what the local backend sets, for the server too
    results: dict[str, list[dict]] = {"local": [], "server": []}
    with tempfile.TemporaryDirectory(prefix="cft-bench-") as tmp:
        tmp = Path(tmp)
        formatted = make_rows(tmp / "input", rows)
        with vllm_server(model, tmp / "server.log", SERVER_ENGINE) as url:
            sides = {"local": [*local_flags, str(model), *ENGINE], "server": ["--server_url", url]}
            for r in range(args.rounds):
                for side in (("local", "server") if r % 2 == 0 else ("server", "local")):
                    res = run_side(formatted, tmp / f"{side}_{r}", sides[side])
                    results[side].append(res)
                    print(f"round {r} {side}: {line(res)}", flush=True)
    return model, results


def percent(value: float | None) -> str:
    return "- (no verdict)" if value is None else f"{100 * value:.1f}%"


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"median {statistics.median(values):{fmt}} (range {min(values):{fmt}}-{max(values):{fmt}})"


def report(results: dict[str, list[dict]], unit: str, more: Callable[[list[dict]], str]) -> None:
    """Each side's median rate (``unit`` per second) and range, ``more(its results)``, and server / local."""
    for side, rs in results.items():
        print(f"{side:6s}: {unit}/s {spread([x['rate'] for x in rs])}; {more(rs)}")
    ratios = [s["rate"] / loc["rate"] for s, loc in zip(results["server"], results["local"])]
    print(f"server / local {unit} per second: {spread(ratios, '.3f')}")
