"""Does a run fit the model's context? Checked by the plan, before any engine starts.

The model's own limit comes from its config (``transformers.AutoConfig``): the first of
``max_position_embeddings``, ``n_positions``, ``max_seq_len``, ``seq_length``,
``max_sequence_length`` it has (vLLM derives its own limit from the same fields).
``max_model_len`` is then the smaller of the registry's default and that limit; an explicit
``--max_model_len`` above the limit is refused, as are ``max_tokens`` that leave no room for a
prompt and a prompt that alone fills the context (vLLM would fail the whole chunk on it).
"""

from __future__ import annotations

from cft.common.errors import CftError
from cft.common.hub import from_hub

LIMIT_FIELDS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "max_sequence_length")


def model_context_limit(model_path: str, cached_only: bool = False) -> tuple[int | None, str]:
    """``(limit, field)`` from the model's config; ``(None, "")`` if the config states none (or, with
    ``cached_only``, is neither a local folder nor in the Hub cache). A typo'd path or an unreachable hub id is
    one line, before any GPU work (``cft.common.hub``)."""
    from transformers import AutoConfig

    config = from_hub(AutoConfig.from_pretrained, model_path, "config", cached_only=cached_only)
    if config is None:
        return None, ""
    for source in (config, getattr(config, "text_config", None)):
        for name in LIMIT_FIELDS:
            value = getattr(source, name, None)
            if isinstance(value, int) and value > 0:
                return value, name
    return None, ""


def resolve_max_model_len(model_path: str, given: int | None, registry_default: int | None,
                          cached_only: bool = False) -> int | None:
    """The engine's ``max_model_len``: ``given`` if it fits, else the registry default capped at the model's."""
    limit, name = model_context_limit(model_path, cached_only)
    if given is not None:
        if given <= 0:
            raise CftError(f"--max_model_len must be positive, got {given}")
        if limit is not None and given > limit:
            raise CftError(f"--max_model_len {given} exceeds {model_path}'s context ({name} {limit} in its "
                           f"config.json); pass --max_model_len {limit} or less")
        return given
    if limit is None:
        return registry_default
    return limit if registry_default is None else min(registry_default, limit)


def check_max_tokens(max_tokens: int, given: bool, max_model_len: int | None, model_path: str) -> None:
    if max_model_len is not None and max_tokens >= max_model_len:
        what = f"--max_tokens {max_tokens}" if given else f"the model's default max_tokens {max_tokens}"
        raise CftError(f"{what} leaves no room for the prompt in max_model_len {max_model_len} "
                       f"(for {model_path}); pass a smaller --max_tokens")


def check_prompts_fit(prompt_lengths: list[tuple[str, int]], max_tokens: int, max_model_len: int | None,
                      log=print) -> None:
    """``prompt_lengths``: (row name, prompt tokens). A prompt that fills the context is refused, naming
    its row; prompts that leave fewer than ``max_tokens`` for the answer are counted in a note."""
    if max_model_len is None or not prompt_lengths:
        return
    where, longest = max(prompt_lengths, key=lambda x: x[1])
    if longest >= max_model_len:
        raise CftError(f"{where}: the prompt has {longest} tokens, which leaves no room for an answer in "
                       f"--max_model_len {max_model_len}; raise --max_model_len or drop the row")
    short = sum(1 for _, n in prompt_lengths if n + max_tokens > max_model_len)
    if short:
        log(f"note: {short} of {len(prompt_lengths)} prompts leave fewer than --max_tokens {max_tokens} tokens "
            f"in --max_model_len {max_model_len} (longest: {longest} tokens, {where}); their solutions may "
            f"end early with finish_reason 'length'")
