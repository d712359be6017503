"""The teacher's step verdicts: what it is asked, how each answer is read, and the vote.

The teacher is asked what the critic's report card asks a critic of a ProcessBench case
(``cft.evaluate.prompts.step_prompt``, after ProcessBench's critic prompt, arXiv 2412.06559): the problem and
the solution's steps, each in ``<paragraph_i>`` tags numbered from 0, and the index of the earliest wrong
step, or -1 when every step is right, in ``\\boxed{}`` at the end. One user message, rendered by the
teacher's own chat template (vLLM's ``enqueue_chat`` locally, a server's ``/v1/chat/completions``). So a
teacher labels steps exactly as a critic is scored on them.

A verdict is read strictly (``read_verdict``): a reasoning teacher's ``<think>`` part is dropped, then the
last ``\\boxed{}`` must hold a whole number (as the report card reads it,
``cft.evaluate.prompts.parse_step_verdict``) from -1 to the last step's index. Anything else is unparsed and
counted under its reason (``truncated``, ``unclosed_think``, ``no_box``, ``not_an_index``,
``out_of_range``), never guessed.

The vote (``vote``) is the index most verdicts name, when strictly more name it than any other index;
a tie gives no vote (``tie``). Its margin is the top count minus the next.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cft.evaluate.prompts import PROMPT_VERSION as REPORT_CARD_PROMPT_VERSION
from cft.evaluate.prompts import parse_step_verdict, step_prompt
from cft.grading.extract import BOX_RE
from cft.teacher.verdicts import without_thinking

# the report card's prompt, and its version, which each verdict chunk records: a change of its words makes
# earlier chunks another run's
PROMPT_VERSION = REPORT_CARD_PROMPT_VERSION
NO_BOX, NOT_AN_INDEX, OUT_OF_RANGE, TRUNCATED, UNCLOSED_THINK = (
    "no_box", "not_an_index", "out_of_range", "truncated", "unclosed_think")
UNPARSED = (TRUNCATED, UNCLOSED_THINK, NO_BOX, NOT_AN_INDEX, OUT_OF_RANGE)
TIE = "tie"


def verdict_messages(question: str, steps: list[str]) -> list[dict]:
    return [{"role": "user", "content": step_prompt(question, steps)}]


def read_verdict(text: str, finish_reason: str, n_steps: int) -> tuple[int | None, str | None]:
    """``(index, None)``, or ``(None, reason)`` for a verdict that names no step (see the module's doc)."""
    if finish_reason == "length":
        return None, TRUNCATED
    answer_part = without_thinking(text)
    if answer_part is None:
        return None, UNCLOSED_THINK
    if not BOX_RE.search(answer_part):
        return None, NO_BOX
    index = parse_step_verdict(answer_part)
    if index is None:
        return None, NOT_AN_INDEX
    if not -1 <= index < n_steps:
        return None, OUT_OF_RANGE
    return index, None


@dataclass(frozen=True)
class Vote:
    verdicts: list[int | None]  # each sampled verdict's index (None: unparsed)
    reasons: dict[str, int]  # unparsed verdicts by reason
    votes: dict[int, int]  # index -> verdicts naming it
    vote: int | None  # the index of the vote, None where no verdict parsed or the top is tied
    margin: int  # the top count minus the next (0 on a tie or with no verdict)

    @property
    def why_none(self) -> str | None:
        if self.vote is not None:
            return None
        return TIE if self.votes else "unparsed"


def vote(samples: list[dict], n_steps: int) -> Vote:
    """The vote of a solution's sampled verdicts (``samples``: ``text`` and ``finish_reason`` each)."""
    read = [read_verdict(s["text"], s["finish_reason"], n_steps) for s in samples]
    verdicts = [index for index, _ in read]
    reasons = Counter(reason for _, reason in read if reason)
    counts = Counter(v for v in verdicts if v is not None)
    ranked = counts.most_common()
    top = ranked[0][1] if ranked else 0
    second = ranked[1][1] if len(ranked) > 1 else 0
    winner = ranked[0][0] if ranked and top > second else None
    return Vote(verdicts, dict(reasons), dict(sorted(counts.items())), winner, top - second if winner is not None
                else 0)
