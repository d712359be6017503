"""Problem text in a canonical spelling, for matching problems against each other.

Two copies of one problem often differ only in how they are typed: spaces,
``$`` delimiters, ``\\dfrac`` for ``\\frac``, ``\\left(`` for ``(``, braces
around single-character arguments, letter case. ``normalize_problem`` removes
those differences so that fuzzy matching and hashing compare the problem, not
its typesetting. It is for comparing texts only; nothing written to a file is
normalised.
"""

from __future__ import annotations

import re
import unicodedata

# LaTeX spellings that typeset the same thing (longest first where one is a prefix of another)
_SAME = [
    (r"\dfrac", r"\frac"), (r"\tfrac", r"\frac"), (r"\cfrac", r"\frac"),
    (r"\dbinom", r"\binom"), (r"\tbinom", r"\binom"),
    (r"\leqslant", r"\le"), (r"\geqslant", r"\ge"), (r"\leq", r"\le"), (r"\geq", r"\ge"),
    (r"\neq", r"\ne"), (r"\lvert", "|"), (r"\rvert", "|"), (r"\vert", "|"),
    (r"\lbrace", "("), (r"\rbrace", ")"), (r"\{", "("), (r"\}", ")"),
    (r"\$", ""), ("$", ""), (r"\(", " "), (r"\)", " "), (r"\[", " "), (r"\]", " "),
]
# commands that only change spacing, size or font: dropped (their argument, if any, stays)
_DROP = re.compile(
    r"\\(?:left|right|bigl|bigr|biggl|biggr|bigg|big|displaystyle|textstyle|"
    r"mathrm|mathbf|mathit|textbf|textit|text|mbox|operatorname|quad|qquad)(?![a-z])"
    r"|\\[,;:! ]|~"
)
_COMMAND = re.compile(r"(\\[a-z]+)")
_SPACE = re.compile(r"\s+")
# a space next to anything that is not a letter or digit carries no meaning ("x + 1" is "x+1")
_SPACE_BY_SYMBOL = re.compile(r" (?=[^0-9a-z ])|(?<=[^0-9a-z ]) ")


def normalize_problem(text: str) -> str:
    """``text`` in a canonical spelling: NFKC, lower case, LaTeX spellings unified, no ``$``,
    no braces, no sizing or spacing commands, spaces collapsed and dropped around symbols."""
    text = unicodedata.normalize("NFKC", text).lower()  # first: "\\FRAC" is "\\frac" too
    for old, new in _SAME:
        text = text.replace(old, new)
    text = _DROP.sub(" ", text)
    text = _COMMAND.sub(r"\1 ", text).replace("{", "").replace("}", "")  # "\\frac{a}{b}", "\\frac ab": "\\frac ab"
    text = _SPACE.sub(" ", text).strip()
    return _SPACE_BY_SYMBOL.sub("", text)


_WORD = re.compile(r"[0-9a-z]+|\\[a-z]+")


def tokens(normalized: str) -> list[str]:
    """Words, numbers and LaTeX commands of a normalised text, symbols left out (for n-grams)."""
    return _WORD.findall(normalized)
