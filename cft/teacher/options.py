"""Step 6's flags, and the checks of their values that come before any file is read.

The teacher's backend flags are ``cft.inference.spec``'s with the role ``teacher``: in process
(``--teacher_model PATH_OR_ID``: one vLLM engine for the run, with the engine flags) or behind an
OpenAI-compatible endpoint (``--teacher_server_url URL``, the key from the environment variable
``--teacher_api_key_env`` names, ``--teacher_server_timeout_s``; ``--teacher_model`` is then the
served model's name, needed where the server lists several). The plain spellings of before
(``--server_url``, ``--api_key_env``, ``--dtype``, ``--seed``, ...) still work.
"""

from __future__ import annotations

import argparse

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.inference import BackendSpec, Sampling, add_backend_arguments

ROLE = "teacher"
TEACHER_HELP = {
    "max_in_flight": "rows in flight at once (default: a local engine's sequence slots / --num_critiques, x2; "
                     "256 with a server)",
    "engine_log": "where vLLM's own output goes (default: logs/engine_teacher.log beside --output_file)",
    "max_model_len": "the engine's context (default: the model's); room for the prompt and --max_tokens",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("files")
    io.add_argument("--formatted_file", default=str(paths.FORMATTED_FILE),
                    help="step 5's training file, JSON or parquet (its _val twin beside it is read too)")
    io.add_argument("--output_file", default=None,
                    help=f"the SFT training rows (JSON Lines); the .parquet, the _val twins, the _doubted.json "
                         f"report and the _work/ folder of chunks go beside it (default: {paths.SFT_FILE.name} "
                         "beside --formatted_file)")
    io.add_argument("--max_rows", type=int, default=None, metavar="N",
                    help="critique only the first N rows of each of the training and held-out files")
    io.add_argument("--chunk_size", type=int, default=256, help="rows per work chunk (each written when whole)")
    io.add_argument("--overwrite", action="store_true",
                    help="replace work chunks of another run (another input, teacher, sampling or mode)")
    # the teacher's backend: --teacher_model, --teacher_server_url, ... (the plain spellings of before too)
    t = add_backend_arguments(p, "teacher", legacy=True, title="teacher", model_help=(
        "the teacher: a local folder or hub id run in process by vLLM; with --teacher_server_url, the name the "
        "server serves (default there: the one model it lists)"), helps=TEACHER_HELP)
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
    cli.add_summary_json(p)


def backend_spec(args: argparse.Namespace) -> BackendSpec:
    """The teacher's backend; with a server, ``--teacher_model`` is the name to ask it for."""
    spec = BackendSpec.from_args(args, ROLE)
    if spec.kind == "server" and spec.served_model_name is None:
        spec.served_model_name = spec.model
    return spec


def check_flags(args: argparse.Namespace) -> None:
    """Flag values, before any file is read (and the defaults that follow the input: outputs beside it)."""
    if args.output_file is None:
        args.output_file = str(paths.beside(args.formatted_file, paths.SFT_FILE.name))
    for name in ("num_critiques", "keep_per_row", "max_tokens", "chunk_size"):
        if getattr(args, name) < 1:
            raise CftError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_rows is not None and args.max_rows < 1:
        raise CftError(f"--max_rows must be at least 1, got {args.max_rows}")
    if args.keep_per_row > args.num_critiques:
        raise CftError(f"--keep_per_row {args.keep_per_row} is more than --num_critiques {args.num_critiques}")
    spec = backend_spec(args)
    if spec.kind == "local" and not spec.model:
        raise CftError("no teacher: give --teacher_model PATH_OR_ID (a local engine) or --teacher_server_url URL")
    if not 0 <= args.temperature or not 0 < args.top_p <= 1:
        raise CftError(f"--temperature must not be negative and --top_p must be in (0, 1]; got {args.temperature}, "
                       f"{args.top_p}")
    spec.check()


def sampling_of(args: argparse.Namespace) -> Sampling:
    return Sampling(n=args.num_critiques, temperature=args.temperature, top_p=args.top_p,
                    max_tokens=args.max_tokens, seed=args.teacher_seed)


def sampling_record(sampling: Sampling, seed_rule: str | None = None) -> dict:
    """The work chunks' ``sampling``, with the rule of the requests' own seeds where they are sent."""
    return {"n": sampling.n, "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens, "seed": sampling.seed, **({"seed_rule": seed_rule} if seed_rule else {})}


def mode_of(args: argparse.Namespace) -> str:
    """The prompt mode the chunks record: blind or reference, with format examples or not."""
    return ("reference" if args.show_reference else "blind") + ("+examples" if args.format_examples else "")
