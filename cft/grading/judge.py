"""A second opinion from an LLM on doubtful verdicts (``grade_solutions.py --judge_model``).

The judge sees the problem, the reference answer and the student's final
answer (the extracted one, not the whole solution: short prompts, and the
question is only whether two answers agree) and replies yes or no. Any model
vLLM serves works: an instruct or chat model through its tokenizer's chat
template, a base model (no chat template) through a plain completion prompt.
Greedy decoding, a few tokens. The judge's backend comes from its flags (``--judge_model``,
``--judge_server_url``, ... : ``cft.inference.spec`` with the role ``judge``): an in-process vLLM
engine (build it under ``if __name__ == "__main__":``) or OpenAI-compatible servers (asked with
chat messages, their own chat template applied). Every question of a batch is in flight at once
through ``drive``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

CORRECT, INCORRECT, UNCLEAR = "correct", "incorrect", "unclear"

INSTRUCTION = (
    "You check answers to math problems. Decide whether the student's final answer is mathematically "
    "equivalent to the reference answer (same value or set, in any notation; units and wording do not "
    "matter; an approximation of an exact value does not count). Reply with one word: yes or no."
)
_YES_NO = re.compile(r"\b(yes|no|correct|incorrect|right|wrong|true|false)\b", re.I)
_VERDICTS = {"yes": CORRECT, "correct": CORRECT, "right": CORRECT, "true": CORRECT,
             "no": INCORRECT, "incorrect": INCORRECT, "wrong": INCORRECT, "false": INCORRECT}


@dataclass(frozen=True)
class Question:
    problem: str
    reference: str
    answer: str


def user_message(q: Question, max_problem_chars: int = 2000) -> str:
    problem = q.problem if len(q.problem) <= max_problem_chars else q.problem[:max_problem_chars] + " ..."
    return (f"{INSTRUCTION}\n\nProblem: {problem}\nReference answer: {q.reference}\n"
            f"Student's final answer: {q.answer}\nEquivalent (yes or no)?")


def parse_verdict(reply: str) -> str:
    """The first yes/no-like word of the reply, as correct/incorrect; unclear without one."""
    m = _YES_NO.search(reply or "")
    return _VERDICTS[m.group(1).lower()] if m else UNCLEAR


class Judge:
    """A model answering yes/no questions, through the backend ``spec`` describes."""

    def __init__(self, spec, *, max_tokens: int = 4, engine_log=None):
        from cft.inference import Sampling, open_backend

        self.model_path = str(spec.model or spec.served_model_name or "")
        self.tokenizer = None
        if spec.kind == "local":
            from cft.records.prompts import load_tokenizer

            self.tokenizer = load_tokenizer(self.model_path)
        self.chat = self.tokenizer is None or bool(getattr(self.tokenizer, "chat_template", None))
        self.backend = open_backend(spec, engine_log=engine_log)
        self.sampling = Sampling(n=1, temperature=0.0, top_p=1.0, max_tokens=max_tokens, stop=("\n",))
        self.seconds = 0.0
        self.prompt_tokens = 0
        self.output_tokens = 0

    def request(self, key: int, q: Question):
        """A chat request (a server, or a local model with a chat template), else a plain completion prompt."""
        from cft.inference import Request

        if self.tokenizer is None:
            return Request(key, messages=[{"role": "user", "content": user_message(q)}], sampling=self.sampling)
        return Request(key, prompt=self.prompt(q), sampling=self.sampling)

    def prompt(self, q: Question) -> str:
        if self.chat:
            return self.tokenizer.apply_chat_template([{"role": "user", "content": user_message(q)}],
                                                      tokenize=False, add_generation_prompt=True)
        return user_message(q) + "\nAnswer:"

    def ask(self, questions: list[Question]) -> list[str]:
        """A verdict (correct / incorrect / unclear) per question, in order."""
        if not questions:
            return []
        from cft.common.progress import progress_bar
        from cft.inference import drive

        replies = {}
        bar = progress_bar(total=len(questions), desc="judge", unit="verdict", disable=len(questions) <= 50)

        def on_done(c) -> None:
            replies[c.key] = c
            bar.update(1)

        t0 = time.perf_counter()
        drive(self.backend, (self.request(i, q) for i, q in enumerate(questions)), len(questions), on_done)
        self.seconds += time.perf_counter() - t0
        bar.close()
        done = [replies[i] for i in range(len(questions))]
        self.prompt_tokens += sum(c.prompt_tokens or 0 for c in done)
        self.output_tokens += sum(c.output_tokens or 0 for c in done)
        return [parse_verdict(c.samples[0].text) for c in done]
