"""What step 1 says about where its requests go (the backend itself is ``cft.inference.spec``'s).

Step 1's backend is built from its flags by ``cft.inference.spec`` like every step's: an in-process
vLLM engine on ``--model_path``, or OpenAI-compatible servers (``--server_url``). Either way the
prompts are the plan's, rendered by ``cft.generate.plan`` with ``--model_path``'s tokenizer, so a
server is sent byte for byte what the local engine would get. On a server each problem's request
carries its own seed, ``request_seed(seed, index)`` (the chunk file records it on the problem's row,
``seed``): a problem's samples then depend on neither the order nor the company its request is sent
in, and re-sending one problem draws the same samples. The local engine samples with its engine seed.
"""

from __future__ import annotations

from cft.inference import Backend


def describe_line(backend: Backend, config) -> str:
    """One line saying where the requests go; a note when they are too few to fill the engine, or when a server
    serves a model of another name than the tokenizer's (--model_path) the prompts are rendered with."""
    d = backend.describe()
    where = (f"server {', '.join(d['urls'])} (model {d['model']})" if d["backend"] == "server"
             else f"local vLLM engine ({backend.capacity} sequences at once: max_num_seqs {d['max_num_seqs']}, "
                  f"KV cache of {d.get('kv_cache_tokens')} tokens)")
    num_samples = config.num_samples
    max_in_flight = config.backend.in_flight(backend, num_samples)
    line = f"backend: {where}; up to {max_in_flight} requests in flight ({num_samples} samples each)"
    if d["backend"] == "server" and d["model"] != config.model_path:
        line += (f"; note: prompts are rendered with the tokenizer of {config.model_path}: make sure the servers' "
                 f"{d['model']} is that model")
    capacity = backend.capacity
    if capacity is not None and max_in_flight * num_samples < capacity:
        line += (f"; note: {max_in_flight * num_samples} sequences leave part of the engine's {capacity} slots "
                 "empty, raise --max_in_flight to fill it")
    return line
