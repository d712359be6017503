"""The report card's flags, and the checks of their values that come before any file is read.

The critic is run through ``cft.inference.spec`` (role none, its model named by ``--model``): in process
(``--model PATH_OR_ID``, with the engine flags) or behind OpenAI-compatible servers (``--server_url URL``;
``--model`` is then the served model's name, needed where a server lists several).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.critic.split import val_path
from cft.curate.pass_band import PassBand
from cft.inference import BackendSpec, Sampling, add_backend_arguments

MODEL_FLAG = "--model"
DEFAULT_INPUT = val_path(paths.FORMATTED_FILE)  # step 5's held-out rows
OUTPUT_FOLDER = "critic_eval"  # beside the input: critic_eval/<the model's name>/
DEFAULT_BAND_EDGES = (0.25, 0.5, 0.75)
BACKEND_HELP = {"engine_log": "where vLLM's own output goes (default: logs/engine_eval.log beside the input)"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("what to evaluate on")
    io.add_argument("--input_file", default=None, metavar="FILE",
                    help="step 5's verl rows, JSON or parquet: the held-out file, the training file or any file in "
                         f"its format (default, when --step_data is not given either: {DEFAULT_INPUT})")
    io.add_argument("--filtered_file", default=None, metavar="FILE",
                    help="step 3's filtered problems, for each problem's pass rate (the bands) and its level and "
                         f"source where the input has them (default: {paths.FILTERED_FILE.name} beside --input_file "
                         "where it exists)")
    io.add_argument("--band_edges", type=float, nargs="+", default=list(DEFAULT_BAND_EDGES), metavar="RATE",
                    help="where the pass-rate bands of the report are cut (pooled correct samples of all models)")
    io.add_argument("--step_data", default=None, metavar="SOURCE",
                    help="ProcessBench-format rows (problem, steps, label: the earliest wrong step's index, or -1) "
                         "for the step-level evaluation: a JSON, JSON Lines or parquet file, a dataset folder, or a "
                         "Hub id (Qwen/ProcessBench)")
    io.add_argument("--step_config", default=None, metavar="NAME",
                    help="the config of --step_data's dataset (this project's dataset folder: process)")
    io.add_argument("--step_subsets", nargs="+", default=None, metavar="SPLIT",
                    help="the splits of --step_data to evaluate, each reported apart (default: all; ProcessBench: "
                         "gsm8k math olympiadbench omnimath)")
    io.add_argument("--max_cases", type=int, default=None, metavar="N",
                    help="evaluate only the first N cases of --input_file and of each step-level subset")
    out = p.add_argument_group("the report")
    out.add_argument("--output_dir", default=None, metavar="DIR",
                     help="where report.json, report.md, report.png and the work chunks go (default: "
                          f"{OUTPUT_FOLDER}/<the model's name> beside --input_file, else beside a local --step_data, "
                          "else in the data root)")
    out.add_argument("--compare", nargs="+", default=None, metavar="REPORT.json",
                     help="print the difference from an earlier report side by side; with two reports (earlier, "
                          "later), only that: nothing is run")
    out.add_argument("--chunk_size", type=int, default=256, help="cases per work chunk (each written when whole)")
    out.add_argument("--overwrite", action="store_true",
                     help="replace work chunks of another run (another input, model, sampling or prompt)")
    add_backend_arguments(p, model_help=(
        "the critic: a local folder or hub id run in process by vLLM; with --server_url, the name the server serves "
        "(default there: the one model it lists)"), model_flag_name=MODEL_FLAG, title="the critic",
        helps=BACKEND_HELP)
    s = p.add_argument_group("sampling")
    s.add_argument("--num_samples", type=int, default=1, metavar="K",
                   help="verdicts sampled per case: the majority verdict and each sample are both reported, and the "
                        "share of K that say right gives the calibration")
    s.add_argument("--temperature", type=float, default=None,
                   help="sampling temperature (default: 0, greedy, with one sample; 1.0 with --num_samples above 1)")
    s.add_argument("--top_p", type=float, default=1.0, help="nucleus sampling")
    s.add_argument("--max_tokens", type=int, default=1024, help="tokens per critique at most")
    s.add_argument("--calibration_bins", type=int, default=10, metavar="N",
                   help="equal-width bins of the reliability table")
    cli.add_summary_json(p)


def compare_only(args: argparse.Namespace) -> bool:
    """``--compare EARLIER LATER``: two reports side by side, no model run."""
    return bool(args.compare) and len(args.compare) == 2


def data_dir(args: argparse.Namespace) -> Path:
    """The folder of the run's data: the outcome input's, else a local ``--step_data``'s, else the data root."""
    source = args.input_file or (None if args.step_data else DEFAULT_INPUT)
    if source is None and Path(args.step_data).exists():
        source = args.step_data
    return Path(source).parent if source is not None else paths.DATA_DIR


def backend_spec(args: argparse.Namespace) -> BackendSpec:
    """The critic's backend; with a server, ``--model`` is the name to ask it for."""
    spec = BackendSpec.from_args(args, model_flag_name=MODEL_FLAG)
    if spec.kind == "server" and spec.served_model_name is None:
        spec.served_model_name = spec.model
    return spec


def temperature(args: argparse.Namespace) -> float:
    if args.temperature is not None:
        return args.temperature
    return 0.0 if args.num_samples == 1 else 1.0


def check_flags(args: argparse.Namespace) -> None:
    """Flag values, before any file is read."""
    if args.compare and len(args.compare) > 2:
        raise CftError(f"--compare takes one report (compared with this run's) or two; got {len(args.compare)}")
    if compare_only(args):
        return
    for name in ("num_samples", "max_tokens", "chunk_size", "calibration_bins"):
        if getattr(args, name) < 1:
            raise CftError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_cases is not None and args.max_cases < 1:
        raise CftError(f"--max_cases must be at least 1, got {args.max_cases}")
    if temperature(args) < 0 or not 0 < args.top_p <= 1:
        raise CftError(f"--temperature must not be negative and --top_p must be in (0, 1]; got {args.temperature}, "
                       f"{args.top_p}")
    bands(args.band_edges)
    if args.step_subsets and not args.step_data:
        raise CftError("--step_subsets needs --step_data")
    spec = backend_spec(args)
    if spec.kind == "local" and not spec.model:
        raise CftError(f"no critic: give {MODEL_FLAG} PATH_OR_ID (a local engine) or --server_url URL")
    spec.check()


def bands(edges: list[float]) -> list[PassBand]:
    """The pass-rate bands the edges cut [0, 1] into, in order (a rate on an edge goes to the lower band)."""
    cuts = [0.0, *edges, 1.0]
    if any(b <= a for a, b in zip(cuts, cuts[1:])):
        raise CftError(f"--band_edges must rise strictly between 0 and 1, got {' '.join(f'{e:g}' for e in edges)}")
    return [PassBand(a, b) for a, b in zip(cuts, cuts[1:])]


def sampling_of(args: argparse.Namespace) -> Sampling:
    return Sampling(n=args.num_samples, temperature=temperature(args), top_p=args.top_p, max_tokens=args.max_tokens,
                    seed=args.seed)


def sampling_record(sampling: Sampling, server_seeds: bool) -> dict:
    """The work chunks' and the report's ``sampling``, with the rule of the requests' own seeds where sent."""
    return {"n": sampling.n, "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens, "seed": sampling.seed,
            **({"seed_rule": "sha256"} if server_seeds else {})}
