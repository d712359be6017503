"""What the critic is asked, and how its answer is read.

- **Outcome cases** (step 5's rows): the row's own ``prompt`` messages, exactly what verl gives the critic in
  RL, and the verdict read by ``cft.reward.parse_verdict``, the reward's own parser.
- **Step-level cases** (ProcessBench's format): the problem and the solution's steps, each in numbered tags
  (``<paragraph_0>`` ...), as ProcessBench asks its critics (arXiv 2412.06559): find the earliest paragraph with
  an error, or answer -1 when there is none, and put the index in ``\\boxed{}``. The answer is the last
  ``\\boxed{}`` of the reply, read as a whole number; a reply without one, or with anything else in it, has no
  verdict (counted as not correct).

``PROMPT_VERSION`` changes whenever the step-level prompt's words do; the report and the work chunks record it.
"""

from __future__ import annotations

import re

PROMPT_VERSION = 1

STEP_INSTRUCTION = (
    "Check the solution one paragraph at a time. If some paragraph has an error (a wrong calculation, a false "
    "claim, a step that does not follow), find the earliest such paragraph and give its index; if every "
    "paragraph is correct, give -1. End your reply with that index, and nothing else, in \\boxed{}."
)
_BOXED = re.compile(r"\\boxed\s*\{([^{}]*)\}")
_INDEX = re.compile(r"[+-]?\d+")


def step_prompt(problem: str, steps: list[str] | tuple[str, ...]) -> str:
    tagged = "\n\n".join(f"<paragraph_{i}>\n{step}\n</paragraph_{i}>" for i, step in enumerate(steps))
    return (f"Here is a math problem and a proposed solution, split into paragraphs, each in numbered tags "
            f"(counted from 0).\n\n[Problem]\n\n{problem}\n\n[Solution]\n\n{tagged}\n\n{STEP_INSTRUCTION}")


def parse_step_verdict(text: str) -> int | None:
    """The index in the reply's last ``\\boxed{}``; None where there is no box or no whole number in it."""
    boxes = _BOXED.findall(text or "")
    if not boxes:
        return None
    content = boxes[-1].strip().strip("$").strip()
    return int(content) if _INDEX.fullmatch(content) else None
