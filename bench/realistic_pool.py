"""A held-out pool of answer forms that models write, with known right/wrong labels.

Problems, ground truths and worked solutions are a competition set's (--problems_file, e.g. MATH-500:
bench/problem_file.py). For
each problem and model slot, 8 solutions: the reference solution's reasoning
with its final sentence rewritten in a form models use, right or wrong by
construction. Right forms: the truth as given, \\dfrac, spacing, ``x = ``
before the box, a unit after an integer (``\\text{ cm}``, ``\\text{ units}^2``),
``\\$``, a degree sign, thousands separators, an exact terminating decimal,
``a/b``, ``\\left(...\\right)`` tuples, several boxes for a list (any order),
choice letters written ``(B)`` or ``\\text{B}``, an inequality for an interval,
"The final answer is $...$. I hope it is correct." after the box. Wrong
forms: off-by-one and sign errors, swapped fractions, a digit changed, an
approximate decimal of an exact fraction, a hedge of two boxes ("$\\boxed{7}$
or $\\boxed{8}$"), a list missing an element, a cut-off solution without a
box. Each problem gets its own share of right samples per model, so problems
are mixed, all right or all wrong as in real runs.

These forms were written for this pool, not taken from the grading tests or
the grading bench; run it with ``bench/label_noise.py``.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction
from pathlib import Path

import problem_file

ROOT = Path(__file__).resolve().parent.parent

UNITS = [r"\text{ cm}", r"\text{ units}", r"\text{ square units}", r"\text{ m}^2", r"\text{ inches}",
         r"\text{ cm}^3", r"\text{ dollars}", r"\text{ degrees}", r"\mbox{ ways}"]
_BOX = re.compile(r"\\boxed\{")


def load_problems(path: str | Path) -> list[dict]:
    return problem_file.load(path, ("problem", "answer", "solution"))


def _body(solution: str) -> str:
    """The reference solution up to its final box's sentence."""
    m = list(_BOX.finditer(solution))
    if not m:
        return solution
    cut = solution.rfind(".", 0, m[-1].start())
    return solution[: cut + 1] if cut > 0 else solution[: m[-1].start()]


def _int(gt: str) -> int | None:
    s = gt.replace("{,}", ",").strip()
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", s):
        s = s.replace(",", "")
    return int(s) if re.fullmatch(r"-?\d+", s) else None


def _frac(gt: str) -> Fraction | None:
    m = re.fullmatch(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}", gt.strip())
    if not m:
        return None
    return Fraction(int(m.group(2)), int(m.group(3))) * (-1 if m.group(1) else 1)


def _terminating(f: Fraction) -> bool:
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def right_forms(gt: str, problem: str) -> list[str]:
    """Final answers (box contents, or whole final sentences starting with '@') equal to ``gt``."""
    forms = [gt, gt.replace(r"\frac", r"\dfrac"), f" {gt} ", "@$x = \\boxed{" + gt + "}$"]
    n = _int(gt)
    if n is not None:
        forms += [f"{n}{random.choice(UNITS)}", f"{n}.0", f"\\${n}" if "$" in problem or "dollar" in problem
                  else f"{n}", f"{n}^\\circ" if "degree" in problem or "angle" in problem else f"{n}"]
        if abs(n) >= 1000:
            forms += [f"{n:,}".replace(",", "{,}"), f"{n:,}"]
        if "percent" in problem:
            forms += [f"{n}\\%"]
    f = _frac(gt)
    if f is not None:
        forms += [f"{f.numerator}/{f.denominator}"]
        if _terminating(f):
            forms += [str(float(f))]
    if re.fullmatch(r"\\text\{\(?([A-E])\)?\}", gt) or re.fullmatch(r"\(?[A-E]\)?", gt):
        letter = re.search(r"[A-E]", gt).group(0)
        forms += [f"({letter})", f"\\text{{({letter})}}", f"\\textbf{{({letter})}}", letter]
    if (gt.startswith(r"\left(") and gt.endswith(r"\right)")) or \
            (re.fullmatch(r"\([^()\[\]]*\)", gt) and "," in gt and "infty" not in gt):
        inner = gt.removeprefix(r"\left(").removesuffix(r"\right)").strip("() ")
        forms += [f"({inner})", f"\\left({inner}\\right)"]
    m = re.fullmatch(r"([\(\[])\s*(-?\d+)\s*,\s*(-?\d+)\s*([\)\]])", gt)
    if m and "interval" in problem and int(m.group(2)) < int(m.group(3)):
        lo = "<" if m.group(1) == "(" else r"\le"
        hi = "<" if m.group(4) == ")" else r"\le"
        forms += [f"{m.group(2)} {lo} x {hi} {m.group(3)}"]
    parts = [p.strip() for p in gt.split(",")]
    if len(parts) in (2, 3) and all(re.fullmatch(r"-?\d+|\\frac\{\d+\}\{\d+\}", p) for p in parts) \
            and not gt.startswith(("(", "[", r"\left")):
        shuffled = parts[:]
        random.shuffle(shuffled)
        forms += ["@The solutions are " + " and ".join(f"$\\boxed{{{p}}}$" for p in shuffled) + ".",
                  "@So $x = " + "$ or $x = ".join(f"\\boxed{{{p}}}" for p in parts) + "$."]
    forms += ["@The final answer is $\\boxed{" + gt + "}$. I hope it is correct."]
    return forms


def wrong_forms(gt: str) -> list[str]:
    """Final answers that differ from ``gt``."""
    forms = []
    n = _int(gt)
    if n is not None:
        forms += [str(n + 1), str(n - 1), str(2 * n + 1), str(-n) if n else "1", f"{n + 10}{random.choice(UNITS)}",
                  "@It is $\\boxed{" + str(n + 1) + "}$ or $\\boxed{" + str(n) + "}$."]
    f = _frac(gt)
    if f is not None and f != 0:
        forms += [f"\\frac{{{f.denominator}}}{{{f.numerator}}}", f"\\frac{{{f.numerator}}}{{{f.denominator + 1}}}"]
        if not _terminating(f):
            forms += [f"{float(f):.4f}", f"{float(f):.6f}"]
    value_end = min([gt.find(w) for w in ("\\text", "\\mbox", "_") if w in gt] or [len(gt)])
    digits = [i for i, c in enumerate(gt[:value_end]) if c.isdigit()]
    if digits:
        i = random.choice(digits)
        forms.append(gt[:i] + str((int(gt[i]) + random.randint(1, 8)) % 10) + gt[i + 1:])
    if r"\sqrt" in gt:
        forms.append(gt.replace(r"\sqrt", r"\sqrt[3]", 1))
    parts = [p.strip() for p in gt.split(",")]
    if len(parts) in (2, 3) and not gt.startswith(("(", "[", r"\left")):
        forms.append(", ".join(parts[:-1]))
    letter = re.fullmatch(r"\\text\{\(?([A-E])\)?\}|\(?([A-E])\)?", gt)
    if letter:
        own = letter.group(1) or letter.group(2)
        forms = [f"({c})" for c in "ABCDE" if c != own]
    if not forms:
        forms = [gt + "+1", "0" if gt.strip() != "0" else "1"]
    return [f for f in forms if f.replace(" ", "") != gt.replace(" ", "") and (n is None or _int(f) != n)]


def solution_text(body: str, form: str) -> str:
    if form.startswith("@"):
        return f"{body}\n\n{form[1:]}"
    return f"{body}\n\nTherefore, the final answer is $\\boxed{{{form}}}$."


def build(problems: list[dict], seed: int = 0, n: int = 8,
          skill: dict[str, float] | None = None) -> tuple[list[dict], dict[str, list[list[dict]]]]:
    """(input rows, per model alias: per problem the solutions with their true label in ``_right``)."""
    random.seed(seed)
    skill = skill or {"qwen25": 0.55, "qwen3": 0.45}
    rows = [{"problem": p["problem"], "answer": p["answer"]} for p in problems]
    out: dict[str, list[list[dict]]] = {alias: [] for alias in skill}
    for p in problems:
        body = _body(p.get("solution", ""))
        rights, wrongs = right_forms(p["answer"], p["problem"]), wrong_forms(p["answer"])
        for alias, base in skill.items():
            rate = min(1.0, max(0.0, random.gauss(base, 0.35)))
            sols = []
            for _ in range(n):
                if random.random() < 0.03:  # cut off at max_tokens, no box
                    cut = body[: len(body) // 2].replace("\\boxed", "")
                    sols.append({"text": cut, "finish_reason": "length", "_right": False})
                    continue
                right = random.random() < rate
                form = random.choice(rights if right else wrongs)
                sols.append({"text": solution_text(body, form), "finish_reason": "stop", "_right": right})
            out[alias].append(sols)
    return rows, out
