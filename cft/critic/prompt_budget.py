"""Critique prompt lengths as verl counts them, and the budget that keeps rows verl would drop out.

verl's ``RLHFDataset`` (0.9.x, ``data.filter_overlong_prompts=True``) keeps a row when
``tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True)`` has
at most ``data.max_prompt_length`` tokens, and silently drops it otherwise (also when the chat
template raises). Our rows' ``prompt`` is one user message holding the critique prompt, so
``PromptCounter.tokens`` makes the same call on the same message: a budget of N here and
``data.max_prompt_length=N`` there keep the same rows. Without a tokenizer, lengths are
characters (``CharCounter``): a summary of the distribution, never a budget.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

from cft.common.errors import CftError

REPORT_THRESHOLDS = (1024, 2048, 4096)


def messages(prompt: str) -> list[dict]:
    """The chat verl builds from one of our rows: its ``prompt`` field."""
    return [{"role": "user", "content": prompt}]


class PromptCounter:
    """Token counts of critique prompts with a tokenizer's chat template and a generation prompt."""

    unit = "tokens"

    def __init__(self, tokenizer_path: str | Path):
        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
        except (OSError, ValueError) as e:
            raise CftError(f"--tokenizer {tokenizer_path}: cannot load a tokenizer ({e})") from None
        if not getattr(self.tokenizer, "chat_template", None):
            raise CftError(f"--tokenizer {tokenizer_path}: the tokenizer has no chat template, so verl's "
                           "RLHFDataset could not build (and would drop) every prompt")
        self.path = str(tokenizer_path)

    def tokens(self, prompts: Sequence[str]) -> list[int]:
        """The token count of each prompt, in one batched call of the chat template."""
        if not prompts:
            return []
        try:
            out = self.tokenizer.apply_chat_template([messages(p) for p in prompts], add_generation_prompt=True,
                                                     tokenize=True)
        except Exception as e:  # noqa: BLE001 - a template error: verl would drop the row, we stop
            raise CftError(f"--tokenizer {self.path}: its chat template failed on a critique prompt ({e})") \
                from None
        ids = out["input_ids"] if not isinstance(out, list) else out
        return [len(x) for x in ids]


class CharCounter:
    """Prompt lengths in characters, when no tokenizer is given."""

    unit = "chars"

    def tokens(self, prompts: Sequence[str]) -> list[int]:
        return [len(p) for p in prompts]


def length_summary(lengths: list[int], unit: str, thresholds: Sequence[int] = REPORT_THRESHOLDS) -> dict:
    """Median, percentiles and how many exceed each threshold (in ``unit``)."""
    xs = sorted(lengths)
    if not xs:
        return {"unit": unit, "rows": 0}

    def q(p: float) -> int:
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    return {"unit": unit, "rows": len(xs), "min": xs[0], "median": q(0.5), "p90": q(0.9), "p99": q(0.99),
            "max": xs[-1], "over": {t: len(xs) - bisect_right(xs, t) for t in thresholds}}
