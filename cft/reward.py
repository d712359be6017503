"""The critique reward for verl: is the critic's verdict on the student's solution the right one?

verl 0.9.x loads this file by path (``reward.custom_reward_function.path=<repo>/cft/reward.py``,
``reward.custom_reward_function.name=compute_score``), in reward workers that do not have the
repository on their path: so this module uses the standard library only and imports nothing
from ``cft``.

The critic is asked to end with ``Conclusion: right [END]`` or ``Conclusion: wrong [END]``.
Every ``Conclusion: right|wrong`` in the response counts as a verdict, found leniently (any case,
markdown bold or italics, with or without the colon and ``[END]``); the echoed instruction
``Conclusion: right/wrong`` is not a verdict. The response is in the *exact format* when it ends
with one verdict written exactly ``Conclusion: right [END]`` or ``Conclusion: wrong [END]``
(spaces or tabs around the words may vary; any whitespace after ``[END]`` changes nothing) and
holds no other verdict.

| response                                       | score                            | default |
|------------------------------------------------|----------------------------------|---------|
| correct verdict, exact format                  | correct_score                    |     1.0 |
| correct verdict, a surface slip (*)            | correct_score - format_penalty   |     0.5 |
| wrong verdict, exact format                    | wrong_score                      |     0.0 |
| wrong verdict, a surface slip (*)              | wrong_score - format_penalty     |    -0.5 |
| no verdict, or conflicting verdicts            | no_verdict_score                 |    -1.0 |

(*) a surface slip: the verdict is there and unambiguous, but not in the exact format: another
case (``conclusion: Right``), markdown (``**Conclusion:** wrong``), a missing ``[END]``, text
after ``[END]``, or the same verdict given more than once. A slip never scores above the exact
format (``format_penalty >= 0``); the correct verdict with a slip still beats any wrong verdict
under the defaults, so what the critic judges matters more than how it writes it.

The rules hold for any ``reward_kwargs`` (a violation raises ``ValueError``):
``correct_score > wrong_score``, ``format_penalty >= 0`` and
``no_verdict_score <= wrong_score - format_penalty``, so abstaining, or hedging with both
verdicts, never pays more than committing to the wrong one.

Set them in verl with, for example,
``+reward.custom_reward_function.reward_kwargs.format_penalty=0.2`` (the ``+``: verl's config
has no ``reward_kwargs`` key until one is added).

The returned dict holds ``score`` and what verl logs beside it: ``acc`` (1.0 when the verdict
is the label, else 0.0), ``format_ok`` (1.0 for the exact format, else 0.0) and ``verdict``
(``right``, ``wrong``, ``none`` or ``conflict``; strings are kept in verl's dumps and left out
of its means).

Rows of any other ``data_source`` go to verl's ``default_compute_score`` when verl is
importable (so mixed datasets keep working); without verl they raise ``ValueError``.
"""

from __future__ import annotations

import difflib
import re

DATA_SOURCE = "deepscaler_critique"
LABELS = ("right", "wrong")
DEFAULTS = {"correct_score": 1.0, "wrong_score": 0.0, "format_penalty": 0.5, "no_verdict_score": -1.0}

# A verdict anywhere, leniently: "Conclusion" in any case, markdown emphasis around it or the
# word, an optional colon, then right or wrong as a whole word (not the instruction's "right/wrong").
_VERDICT = re.compile(r"conclusion[\s*_]*:?[\s*_]*(right|wrong)\b(?![ \t]*/)", re.IGNORECASE)
# The exact format, ending the response: "Conclusion: right [END]" (whitespace after it is fine).
_EXACT_END = re.compile(r"(?<![\w*_])Conclusion:[ \t]*(right|wrong)[ \t]*\[END\]\s*\Z")


def find_verdicts(text: str) -> list[tuple[int, str]]:
    """``(offset, verdict)`` of every verdict in ``text``, in order, as ``parse_verdict`` finds them (the offset
    is where its ``Conclusion`` starts; step 6 rewrites a teacher's slipped ending from there)."""
    return [(m.start(), m.group(1).lower()) for m in _VERDICT.finditer(text)]


def parse_verdict(text: str) -> tuple[str, bool]:
    """``(verdict, exact_format)``: verdict is right, wrong, none or conflict."""
    found = [verdict for _, verdict in find_verdicts(text)]
    if not found:
        return "none", False
    if len(set(found)) > 1:
        return "conflict", False
    exact = len(found) == 1 and _EXACT_END.search(text) is not None
    return found[0], exact


def _settings(kwargs: dict) -> dict[str, float]:
    # verl's reward managers may pass extras of their own (reward_router_address, ...): those are
    # ignored, but a misspelt setting must not go unnoticed.
    for key in set(kwargs) - set(DEFAULTS):
        near = difflib.get_close_matches(key, DEFAULTS, n=1, cutoff=0.75)
        if near or key.endswith(("_score", "_penalty")):
            raise ValueError(f"cft/reward.py: unknown reward_kwargs {key!r}"
                             + (f" (did you mean {near[0]!r}?)" if near else f"; known: {sorted(DEFAULTS)}"))
    s = {k: float(kwargs.get(k, v)) for k, v in DEFAULTS.items()}
    if not s["correct_score"] > s["wrong_score"]:
        raise ValueError(f"cft/reward.py: correct_score ({s['correct_score']}) must be above "
                         f"wrong_score ({s['wrong_score']})")
    if s["format_penalty"] < 0:
        raise ValueError(f"cft/reward.py: format_penalty ({s['format_penalty']}) must not be negative")
    if s["no_verdict_score"] > s["wrong_score"] - s["format_penalty"]:
        raise ValueError(f"cft/reward.py: no_verdict_score ({s['no_verdict_score']}) must not be above "
                         f"wrong_score - format_penalty ({s['wrong_score'] - s['format_penalty']}), "
                         "or abstaining would pay more than a wrong verdict")
    return s


def critique_score(solution_str: str, ground_truth: str, **kwargs) -> dict:
    """The score of one critique ``solution_str`` (the model's response) against ``ground_truth``."""
    s = _settings(kwargs)
    label = str(ground_truth).strip().lower()
    if label not in LABELS:
        raise ValueError(f"cft/reward.py: ground_truth {ground_truth!r} is not 'right' or 'wrong'")
    verdict, exact = parse_verdict(solution_str or "")
    if verdict in LABELS:
        score = s["correct_score"] if verdict == label else s["wrong_score"]
        if not exact:
            score -= s["format_penalty"]
    else:
        score = s["no_verdict_score"]
    return {"score": score, "acc": float(verdict == label), "format_ok": float(exact), "verdict": verdict}


def _default_score(data_source, solution_str, ground_truth, extra_info, kwargs) -> dict:
    try:
        from verl.utils.reward_score import default_compute_score
    except ImportError:
        raise ValueError(f"cft/reward.py scores data_source {DATA_SOURCE!r} only; got {data_source!r}, "
                         "and verl (whose default_compute_score would score it) is not importable") from None
    result = default_compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    if isinstance(result, dict):
        out = dict(result)
        out.setdefault("acc", float(out["score"]))
    else:
        out = {"score": float(result), "acc": float(result)}
    # the same keys on every row: verl's validation requires each logged key on every sample
    out.setdefault("format_ok", None)
    out.setdefault("verdict", None)
    return out


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> dict:
    """verl's custom reward entry point; see the module docstring for the scores."""
    if data_source == DATA_SOURCE:
        return critique_score(solution_str, ground_truth, **kwargs)
    extra = {k: v for k, v in kwargs.items() if k not in DEFAULTS}
    return _default_score(data_source, solution_str, ground_truth, extra_info, extra)
