"""``label_steps.py``'s flags, and the checks of their values that come before any file is read.

Two models, each declared by ``cft.inference.spec`` with its role's prefix: the teacher
(``--teacher_model`` / ``--teacher_server_url``, the same flags as step 6's teacher) and the completer
(``--completer_model`` / ``--completer_server_url``; by default each solution's generator, from
``--model_path ALIAS=PATH`` or the registry). Either signal can be left out (``--no_teacher``,
``--no_rollouts``), not both.
"""

from __future__ import annotations

import argparse
from dataclasses import replace as with_

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.inference import BackendSpec, Sampling, add_backend_arguments
from cft.process.consensus import LUCKY_RULES
from cft.process.inputs import SELECTIONS, Selection
from cft.process.search import SEARCHES
from cft.process.split import DEFAULT_MAX_STEPS, DEFAULT_MIN_CHARS, DEFAULT_SPLITTER, SPLITTERS
from cft.records.models import add_register_flag, alias_map
from cft.records.prompts import TEMPLATES
from cft.teacher.options import backend_spec as teacher_backend_spec

# a local engine keeps vLLM's stats, so the summary can report its prefix-cache hits
ENGINE_ARGS = {"disable_log_stats": False}


def add_arguments(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("files")
    io.add_argument("--filtered_file", default=str(paths.FILTERED_FILE), help="step 3's kept problems")
    io.add_argument("--labels_file", default=str(paths.STEP_LABELS_FILE),
                    help="the step labels (a list file); the _report.md and the _work/ folder of chunks go beside it")
    io.add_argument("--max_problems", type=int, default=None, metavar="N",
                    help="label only the solutions of the first N problems (a sample)")
    io.add_argument("--solutions", choices=SELECTIONS, default="all",
                    help="which solutions to label: all (wrong ones give the process rows their wrong steps), or "
                         "only the right ones (enough to find the lucky ones) or the wrong ones")
    io.add_argument("--include_truncated", action="store_true",
                    help="also label solutions cut off at max_tokens (as step 4's flag: pass both or neither)")
    io.add_argument("--include_disputed", action="store_true",
                    help="also label solutions whose verdict is disputed (as step 4's flag)")
    io.add_argument("--chunk_size", type=int, default=64, help="solutions per work chunk (each written when whole)")
    io.add_argument("--overwrite", action="store_true",
                    help="replace work chunks of another run (another input, selection, model, sampling or search)")
    add_register_flag(p)
    st = p.add_argument_group("steps")
    st.add_argument("--splitter", choices=list(SPLITTERS), default=DEFAULT_SPLITTER,
                    help="how a solution is cut into steps: paragraphs (blank lines, as ProcessBench), lines, or "
                         "sentences")
    st.add_argument("--min_step_chars", type=int, default=DEFAULT_MIN_CHARS, metavar="N",
                    help="a piece shorter than this joins the step before it")
    st.add_argument("--max_steps", type=int, default=DEFAULT_MAX_STEPS, metavar="N",
                    help="a solution of more steps is not labelled (counted)")

    t = add_backend_arguments(p, "teacher", title="teacher (step verdicts)", model_help=(
        "the teacher: a local folder or hub id run in process by vLLM; with --teacher_server_url, the name the "
        "server serves (default there: the one model it lists)"))
    t.add_argument("--no_teacher", action="store_true", help="no teacher: label by the completions alone")
    t.add_argument("--num_verdicts", type=int, default=4, metavar="K", help="verdicts sampled per solution")
    t.add_argument("--verdict_temperature", type=float, default=0.7, help="the teacher's sampling temperature")
    t.add_argument("--verdict_max_tokens", type=int, default=2048, help="tokens per verdict at most (longer: unparsed)")

    c = add_backend_arguments(p, "completer", title="completer (Monte Carlo continuations)", model_help=(
        "one model to continue every solution: a local folder or hub id, or with --completer_server_url the name "
        "the server serves (default: each solution's own generator, --model_path or the registry's weights)"))
    c.add_argument("--no_rollouts", action="store_true", help="no completions: label by the teacher alone")
    c.add_argument("--model_path", action="append", default=[], metavar="ALIAS=PATH",
                   help="the weights of a generator, as its continuer (repeatable; default: the registry's)")
    c.add_argument("--completer_template", choices=list(TEMPLATES), default=None,
                   help="the prompt template continuations start from (default: each generator's registered one: "
                        "pass step 1's --prompt_template where it was another)")
    c.add_argument("--rollouts", type=int, default=8, metavar="M", help="continuations per prefix tested")
    c.add_argument("--completer_temperature", type=float, default=0.7, help="the completer's sampling temperature")
    c.add_argument("--completer_top_p", type=float, default=0.95, help="the completer's nucleus sampling")
    c.add_argument("--completer_max_tokens", type=int, default=2048,
                   help="tokens per continuation at most (less where the prompt leaves less room)")
    c.add_argument("--search", choices=SEARCHES, default="binary",
                   help="binary: bisect for the earliest dead prefix; linear: every prefix, at once")

    lb = p.add_argument_group("labels")
    lb.add_argument("--lucky_rule", choices=LUCKY_RULES, default="agree",
                    help="which right solutions are lucky: agree (both signals name the same wrong step), both "
                         "(both name one), either (either does)")
    cli.add_summary_json(p)


def selection_of(args: argparse.Namespace) -> Selection:
    return Selection(args.splitter, args.min_step_chars, args.max_steps, args.solutions, args.max_problems,
                     args.include_truncated, args.include_disputed)


def teacher_spec(args: argparse.Namespace) -> BackendSpec | None:
    if args.no_teacher:
        return None
    spec = teacher_backend_spec(args)
    return with_(spec, engine_args={**ENGINE_ARGS, **spec.engine_args})


def verdict_sampling(args: argparse.Namespace) -> Sampling:
    return Sampling(n=args.num_verdicts, temperature=args.verdict_temperature, top_p=0.95,
                    max_tokens=args.verdict_max_tokens, seed=args.teacher_seed)


def rollout_sampling(args: argparse.Namespace) -> Sampling:
    return Sampling(n=args.rollouts, temperature=args.completer_temperature, top_p=args.completer_top_p,
                    max_tokens=args.completer_max_tokens, seed=args.completer_seed)


def weights_of(args: argparse.Namespace) -> dict[str, str]:
    return alias_map(args.model_path, "--model_path")


def check_flags(args: argparse.Namespace) -> None:
    """Flag values, before any file is read."""
    if args.no_teacher and args.no_rollouts:
        raise CftError("--no_teacher and --no_rollouts leave no signal to label the steps by")
    for name in ("num_verdicts", "verdict_max_tokens", "rollouts", "completer_max_tokens", "chunk_size"):
        if getattr(args, name) < 1:
            raise CftError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_steps < 2:
        raise CftError(f"--max_steps must be at least 2 (a step to locate among others), got {args.max_steps}")
    if args.min_step_chars < 0:
        raise CftError(f"--min_step_chars must not be negative, got {args.min_step_chars}")
    if args.max_problems is not None and args.max_problems < 1:
        raise CftError(f"--max_problems must be at least 1, got {args.max_problems}")
    for name in ("verdict_temperature", "completer_temperature"):
        if getattr(args, name) < 0:
            raise CftError(f"--{name} must not be negative, got {getattr(args, name)}")
    if not 0 < args.completer_top_p <= 1:
        raise CftError(f"--completer_top_p must be in (0, 1], got {args.completer_top_p}")
    spec = teacher_spec(args)
    if spec is not None:
        if spec.kind == "local" and not spec.model:
            raise CftError("no teacher: give --teacher_model PATH_OR_ID (a local engine) or --teacher_server_url "
                           "URL, or --no_teacher")
        spec.check()
    weights_of(args)
    if not args.no_rollouts:
        completer = BackendSpec.from_args(args, "completer", model=args.completer_model or "<generator>")
        completer.check()
