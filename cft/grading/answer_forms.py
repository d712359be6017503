"""How models write a final answer, reduced to what math-verify compares.

``read_form(answer)`` takes the text of a final box and separates what carries
no value from the value itself: ``$``/``\\(`` wrappers, a trailing period,
``\\dfrac``, ``{,}`` thousands separators, a unit written as text
(``48\\,\\text{m}^2``), a multiple-choice label before a value
(``\\textbf{(B) } 14``), a percent sign (kept as a flag: ``12\\%`` is 12 or
0.12 depending on the reference), degree signs, and the ways of saying "the
empty set" (``\\emptyset``, "no solution", "none"). Everything here is string
work; the comparison itself is math-verify's (``cft.grading``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|textup|mbox|operatorname)\s*\{([^{}]*)\}")
_MATH_WRAP = re.compile(r"^(?:\$+|\\\(|\\\[)\s*(.*?)\s*(?:\$+|\\\)|\\\])$", re.S)
_TRAILING = re.compile(r"(?:\s|\\[,;:! ]|\\quad|\\qquad|\\\\|[.;,])+$")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\circ\b")
_NUMBER_DEGREE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree)")
_TRIG = re.compile(r"\\(?:sin|cos|tan|sec|csc|cot)\b")
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|\\,|,\\!|\\!)(?=\d{3}\b)")
_PERCENT = re.compile(r"\s*(?:\\?%|\\text\s*\{\s*(?:percent|\\%)\s*\})\s*$")
# a unit written as text after a value: 48\,\text{m}^2, 6 \text{ cm}, 30\mbox{ square units}
_UNIT = re.compile(
    r"^(?P<value>.*?(?:[\d}]|\\pi))(?:\s|\\[,;:! ]|~)*"
    r"\\(?:text|textrm|mathrm|mbox|rm)\s*\{\s*(?P<unit>[A-Za-z][A-Za-z .]*?)\s*\}"
    r"(?:\s*\^\s*(?:\{\s*[23]\s*\}|[23]))?$",
    re.S,
)
_NOT_UNITS = {"and", "or", "i", "e"}
# (B) 14, \textbf{(B) } 14, \text{(C)}\ 5: a choice label, then the value
_CHOICE_VALUE = re.compile(r"^\(\s*([A-E])\s*\)(?:\s|\\[,;:! ]|~)*(.*)$", re.S)
_CHOICE_ONLY = re.compile(r"^\(?([A-E])\)?[.:]?$|^\(([a-e])\)$")
_IN_SET = re.compile(r"^[A-Za-z]\s*\\in\s*")
_ARC = re.compile(r"\\a(sin|cos|tan|sec|csc|cot)\b")
_PY_POW = re.compile(r"\*\*")
_PY_SQRT = re.compile(r"(?<![\\A-Za-z])sqrt\s*\(([^()]*)\)")
_UNICODE = str.maketrans({"≥": "\\ge ", "≤": "\\le ", "≠": "\\ne ", "−": "-", "×": "\\times ", "·": "\\cdot ",
                          "π": "\\pi ", "∞": "\\infty ", "∪": "\\cup ", "∅": "\\emptyset "})
_SPACES = re.compile(r"\s+|\\[,;:! ]|\\quad|\\qquad|~")
_EMPTY = re.compile(
    r"(?:\\emptyset|\\varnothing|\\o|\\\{\\\}|\{\}|\\left\\\{\\right\\\}|none|"
    r"(?:there(?:is|are))?no(?:real|integer|possible|such)?(?:solutions?|roots?|values?|answers?)"
    r"(?:exists?)?)"
)


@dataclass(frozen=True)
class Form:
    """A final answer as written, and its value."""

    text: str  # the value, for math-verify (units, choice label, percent sign removed)
    plain: str  # a key for text answers: no spaces, no braces, lower case
    written: str  # the same key for the answer as written (units and labels kept)
    choice: str | None = None  # the choice letter the answer names, upper case
    choice_only: bool = False  # the letter is the whole answer (no value after it)
    percent: bool = False  # written with a percent sign
    empty: bool = False  # the empty set, "no solution", "none"
    unit: str | None = None  # the unit text removed, if any


def unwrap_text(s: str) -> str:
    prev = None
    while prev != s:
        prev, s = s, _TEXT_WRAP.sub(r"\1", s)
    return s


def _strip_wrappers(s: str) -> str:
    s = s.replace("\\displaystyle", "").strip()
    prev = None
    while prev != s:
        prev = s
        if (m := _MATH_WRAP.match(s)) is not None and "$" not in m.group(1) and "\\(" not in m.group(1):
            s = m.group(1)
        s = _TRAILING.sub("", s).strip()
    return s


def _degrees(s: str) -> str:
    """``30^\\circ`` -> ``30``; inside a trig function, ``90°`` -> ``(90\\pi/180)``."""
    if _TRIG.search(s):
        s = _NUMBER_DEGREE.sub(r"(\1\\cdot\\frac{\\pi}{180})", s)
    return _DEGREE.sub("", s)


def _pythonish(s: str) -> str:
    """``2**(1/4)``, ``sqrt(3)``: Python-style answers into LaTeX."""
    if "**" in s:
        s = _PY_POW.sub("^", s)
    if "sqrt" in s:
        s = _PY_SQRT.sub(r"\\sqrt{\1}", s)
    return s


def plain_key(s: str) -> str:
    return _SPACES.sub("", unwrap_text(s)).replace("{", "").replace("}", "").lower()


def read_form(answer: str) -> Form:
    """Split a final answer into its value and the marks around it (see the module doc)."""
    s = _strip_wrappers(answer.translate(_UNICODE))
    written = plain_key(s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = _THOUSANDS.sub("", s)
    s = _ARC.sub(r"\\arc\1", s)
    s = _pythonish(s)
    s = _degrees(s)

    choice, choice_only = None, False
    unwrapped = unwrap_text(s).strip()
    if (m := _CHOICE_ONLY.match(_SPACES.sub("", unwrapped))) is not None:
        choice, choice_only = (m.group(1) or m.group(2)).upper(), True
    elif (m := _CHOICE_VALUE.match(unwrapped)) is not None and m.group(2).strip():
        choice, s = m.group(1), m.group(2).strip()

    percent = False
    if (m := _PERCENT.search(s)) is not None and m.start() > 0:
        percent, s = True, s[: m.start()].strip()

    unit = None
    m = _UNIT.match(s)
    if m is not None and m.group("unit").lower() not in _NOT_UNITS and re.search(r"\d|\\pi", m.group("value")):
        unit, s = m.group("unit").strip(), m.group("value").strip()
        s = _TRAILING.sub("", s).strip()
    s = _IN_SET.sub("", s)

    empty = bool(_EMPTY.fullmatch(_SPACES.sub("", unwrap_text(s)).lower().rstrip(".")))
    return Form(text=s, plain=plain_key(s), written=written, choice=choice, choice_only=choice_only,
                percent=percent, empty=empty, unit=unit)
