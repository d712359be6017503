"""Checking one teacher critique against its row's label, and normalising the ones that pass.

A critique is checked as the critic will be trained on it, in this order:

1. **Truncated** (``finish_reason`` ``length``): dropped, whatever it says.
2. **Thinking.** By default a reasoning teacher's ``<think>...</think>`` part is dropped: the
   critique is what follows the last ``</think>`` (a ``<think>`` never closed is dropped as
   ``unclosed_think``). With ``keep_thinking`` the whole text is checked and kept.
3. **The verdict**, by ``cft.reward.parse_verdict`` (the reward's own parser): no verdict
   (``no_verdict``), both verdicts (``conflict``), or the verdict that is not the label
   (``contradicts``): dropped.
4. **The reference** (``--show_reference`` only): a critique that mentions it
   (``cft.teacher.prompts.mentions_reference``) is dropped (``mentions_reference``).
5. **The ending.** A critique in the exact format the reward pays for (``Conclusion: right [END]``
   ending it, the only verdict) is kept as it is (``exact``). A surface slip (another case,
   markdown bold, no colon, no ``[END]``, text after ``[END]``) is rewritten: the text from its
   verdict's ``Conclusion`` on is replaced by ``Conclusion: <label> [END]``, markdown left
   hanging before it is trimmed, and the result must then parse as exact (``rewritten``). The
   same verdict given twice cannot be fixed that way and is dropped (``repeated_verdict``).

So every kept critique ends in exactly ``Conclusion: right [END]`` or ``Conclusion: wrong [END]``,
which ``parse_verdict`` reads as exact, with the row's label. Whitespace around a critique is
stripped (not counted as a rewrite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cft.reward import find_verdicts, parse_verdict
from cft.teacher.prompts import mentions_reference

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
EXACT, REWRITTEN = "exact", "rewritten"
KEPT = (EXACT, REWRITTEN)
DROPPED = ("truncated", "unclosed_think", "no_verdict", "conflict", "contradicts", "mentions_reference",
           "repeated_verdict")
_HANGING = re.compile(r"[\s*_#>]+\Z")  # markdown and space left before a verdict that is cut off


@dataclass(frozen=True)
class Checked:
    outcome: str  # one of KEPT or DROPPED
    verdict: str  # what parse_verdict read: right, wrong, none or conflict ("none" when truncated)
    text: str | None = None  # the critique to train on (kept ones only)

    @property
    def kept(self) -> bool:
        return self.outcome in KEPT


def without_thinking(text: str) -> str | None:
    """The part after the last ``</think>``; the text itself when it has no think tags; None when a
    ``<think>`` is never closed."""
    if THINK_CLOSE in text:
        return text.rsplit(THINK_CLOSE, 1)[1]
    if THINK_OPEN in text:
        return None
    return text


def exact_ending(text: str, verdict: str) -> str | None:
    """``text`` with its slipped ending rewritten to ``Conclusion: <verdict> [END]``; None if the
    result is still not exact (an earlier verdict remains)."""
    start = find_verdicts(text)[-1][0]
    body = _HANGING.sub("", text[:start])
    fixed = (body + "\n\n" if body else "") + f"Conclusion: {verdict} [END]"
    return fixed if parse_verdict(fixed) == (verdict, True) else None


def check(text: str, finish_reason: str, label: str, *, keep_thinking: bool = False,
          show_reference: bool = False) -> Checked:
    """The outcome of one sampled critique of a row labelled ``label`` (see the module docstring)."""
    if finish_reason == "length":
        return Checked("truncated", "none")
    if not keep_thinking:
        text = without_thinking(text)
        if text is None:
            return Checked("unclosed_think", "none")
    text = text.strip()
    verdict, exact = parse_verdict(text)
    if verdict == "none":
        return Checked("no_verdict", verdict)
    if verdict == "conflict":
        return Checked("conflict", verdict)
    if verdict != label:
        return Checked("contradicts", verdict)
    if show_reference and mentions_reference(text):
        return Checked("mentions_reference", verdict)
    if exact:
        return Checked(EXACT, verdict, text)
    fixed = exact_ending(text, verdict)
    if fixed is None:
        return Checked("repeated_verdict", verdict)
    return Checked(REWRITTEN, verdict, fixed)


def distinct_key(text: str) -> str:
    """Two critiques are the same when they differ only in whitespace."""
    return " ".join(text.split())
