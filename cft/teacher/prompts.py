"""What the teacher is asked, and what counts as a critique mentioning the reference answer.

**Blind** (the default): the teacher gets exactly the prompt the critic will get, step 5's user turn
(step 4's fixed instruction, the question, the student's solution, ``Critique:``), as one user
message: the model's own chat template renders it (vLLM's ``enqueue_chat`` locally, a server's
``/v1/chat/completions``). So a kept critique is one the critic could have written from what it sees.

**Reference** (``--show_reference``): the same prompt, with a note before its closing ``Critique:``
that gives the reference answer and asks the teacher to check the work itself and never mention the
reference. The training row's user turn is still the critic's prompt, without the note. A critique
that *mentions the reference* anyway is dropped: one that contains, in any case, one of
``REFERENCE_WORDS`` (``reference``, ``ground truth``, ``answer key``, ...) as a whole word or phrase.
Writing the reference answer's value is not a mention: a critique that works the problem out
arrives at it.

**Format examples** (``--format_examples``): two worked critiques, one of a right and one of a wrong
solution, each ending in the exact format, go before the row as earlier turns of the chat. Small
teachers that ignore the instruction's format (the demo's SmolLM2-135M writes no verdict at all
without them) then mostly keep to it. The training row's user turn is still the critic's prompt alone.
"""

from __future__ import annotations

import re

from cft.critic.critique_rows import critique_prompt

PROMPT_VERSION = 1  # recorded in each work chunk: a change of these texts makes earlier chunks another run's
CRITIQUE_CUE = "Critique:"
REFERENCE_NOTE = (
    "(For you alone: the reference answer to this question is {answer}. Check the student's work yourself "
    "and explain your judgement from the mathematics only. Do not mention, cite or allude to a reference "
    "answer, an answer key or a ground truth: write as if you had worked the problem out on your own.)"
)
REFERENCE_WORDS = ("reference", "references", "ground truth", "ground-truth", "answer key", "expected answer",
                   "official answer", "known answer")
_MENTION = re.compile(r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in REFERENCE_WORDS) + r")\b",
                      re.IGNORECASE)


FORMAT_EXAMPLES = (
    ("What is 7 + 5?", "7 + 5 = 12. The answer is \\boxed{12}.",
     "The student adds 7 and 5 and gets 12. 7 + 5 is indeed 12, so the final answer is correct.\n\n"
     "Conclusion: right [END]"),
    ("What is 6 times 4?", "6 times 4 is 6 + 4 = 10. The answer is \\boxed{10}.",
     "The student added 6 and 4 instead of multiplying them. 6 times 4 is 24, not 10, so the final answer is "
     "wrong.\n\nConclusion: wrong [END]"),
)


def teacher_prompt(critic_prompt: str, reference: str | None = None) -> str:
    """The user turn the teacher gets: the critic's prompt, with the reference note when ``reference`` is given."""
    if reference is None:
        return critic_prompt
    note = REFERENCE_NOTE.format(answer=reference)
    head = critic_prompt.removesuffix(CRITIQUE_CUE).rstrip()
    return f"{head}\n\n{note}\n\n{CRITIQUE_CUE}"


def teacher_messages(critic_prompt: str, reference: str | None = None, examples: bool = False) -> list[dict]:
    """The chat the teacher continues: the format examples (if asked for), then the row's prompt."""
    shots = [turn for question, solution, critique in FORMAT_EXAMPLES if examples
             for turn in ({"role": "user", "content": critique_prompt(question, solution)},
                          {"role": "assistant", "content": critique})]
    return [*shots, {"role": "user", "content": teacher_prompt(critic_prompt, reference)}]


def mentions_reference(text: str) -> bool:
    """Whether a critique mentions the reference answer (see the module docstring)."""
    return _MENTION.search(text) is not None
