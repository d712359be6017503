"""A synthetic DeepScaleR-sized problem set with known contamination and duplicates.

The base problems are new texts made from an evaluation set's sentences that hold a number (the set is
a file the caller passes, e.g. MATH-500: bench/problem_file.py): two or three sentences from different
problems, every number replaced by a random one, with a random integer answer. They share the set's
words, LaTeX and topics but copy none of its problems. Into them go,
at random positions (each copy after its original):

  contaminated_exact     an evaluation problem as it is                   -> removed by decontamination
  contaminated_respelled an evaluation problem respelled (spaces, $,      -> removed by decontamination
                         \\dfrac, \\left, braces, \\leq)
  exact_dup              an earlier base problem again, same answer       -> removed by --dedup (exact)
  respelled_dup          an earlier base problem respelled, same answer   -> removed by --dedup (exact after
                                                                             normalisation)
  near_dup               an earlier base problem respelled, with one word -> removed by --dedup (near) if its
                         dropped or changed, same answer                     fuzz.ratio is still >= 95
  variant                an earlier base problem with one number changed  -> kept (another problem)
                         and another answer

``build(n, evals)`` returns the rows (raw DeepScaleR shape) and each row's label (None for a base
problem); ``evals`` are the evaluation set's rows (``problem``, ``answer``). The same ``seed`` and set
give the same file.

    python bench/synthetic_problems.py OUTPUT --problems_file FILE [--n 40000] [--seed 0]
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson
import problem_file

SHARES = {"contaminated_exact": 0.005, "contaminated_respelled": 0.01, "exact_dup": 0.02, "respelled_dup": 0.01,
          "near_dup": 0.01,
          "variant": 0.01}
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z$])")
_NUMBER = re.compile(r"\d+")


def respell(text: str, rng: random.Random) -> str:
    """The same problem typed differently: only what ``cft.curate.normalize`` treats as spelling."""
    out = text.replace("\\frac", "\\dfrac") if rng.random() < 0.7 else text.replace("\\dfrac", "\\frac")
    out = re.sub(r"\s*([=+<>])\s*", r" \1 " if rng.random() < 0.5 else r"\1", out)
    out = re.sub(r"\^(\w)", r"^{\1}", out) if rng.random() < 0.5 else out
    out = out.replace("\\leq", "\\le").replace("\\geq", "\\ge")
    out = out.replace("(", "\\left(").replace(")", "\\right)") if rng.random() < 0.3 else out
    out = out.replace(". ", ".  ") if rng.random() < 0.5 else out.replace(", ", " , ")
    return out.upper() if rng.random() < 0.05 else (out + " " if rng.random() < 0.5 else " " + out)


_SWAPS = [(" the ", " "), ("Find ", "Determine "), ("What is ", "Compute "), (" is ", " equals "),
          ("?", "."), (", ", " "), (" of ", " for ")]


def reword(text: str, rng: random.Random) -> str:
    """One small wording change: a word dropped or swapped, or a punctuation mark changed."""
    for old, new in rng.sample(_SWAPS, len(_SWAPS)):
        if old in text:
            return text.replace(old, new, 1)
    return text + " Explain."


def _change_one_number(text: str, rng: random.Random) -> str | None:
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return None
    m = rng.choice(numbers)
    return text[:m.start()] + str(int(m.group()) + rng.randint(1, 9)) + text[m.end():]


def build(n: int, evals: list[dict], seed: int = 0) -> tuple[list[dict], list[str | None]]:
    rng = random.Random(seed)
    sentences = [(k, s) for k, row in enumerate(evals) for s in _SENTENCE.split(row["problem"])
                 if len(s) > 20 and _NUMBER.search(s)]
    injected = {label: int(share * n) for label, share in SHARES.items()}
    n_base = n - sum(injected.values())
    rows: list[dict] = []
    for i in range(n_base):
        parts, used = [], set()
        while len(parts) < rng.choice((2, 3)):
            k, s = rng.choice(sentences)
            if k not in used:
                used.add(k)
                parts.append(_NUMBER.sub(lambda _: str(rng.randint(2, 999)), s))
        rows.append({"problem": " ".join(parts), "answer": str(rng.randint(0, 10_000)), "id": f"syn-{i}"})
    keyed = [(float(i), row, None) for i, row in enumerate(rows)]  # (position key, row, label)
    originals = rng.sample(range(n_base), sum(count for label, count in injected.items()
                                               if not label.startswith("contaminated")))
    for label, count in injected.items():
        for c in range(count):
            if label.startswith("contaminated"):
                src = rng.choice(evals)
                text = src["problem"] if label == "contaminated_exact" else respell(src["problem"], rng)
                keyed.append((rng.uniform(0, n_base), {"problem": text, "answer": src["answer"],
                                                       "id": f"{label}-{c}"}, label))
                continue
            j = originals.pop()
            base = rows[j]
            if label == "exact_dup":
                row = dict(base, id=f"{label}-{c}")
            elif label == "respelled_dup":
                row = dict(base, problem=respell(base["problem"], rng), id=f"{label}-{c}")
            elif label == "near_dup":
                row = dict(base, problem=reword(respell(base["problem"], rng), rng), id=f"{label}-{c}")
            else:
                while _change_one_number(base["problem"], rng) is None:  # a base problem with a number
                    j = rng.randrange(n_base)
                    base = rows[j]
                row = dict(base, problem=_change_one_number(base["problem"], rng),
                           answer=str(int(base["answer"]) + 1), id=f"{label}-{c}")
            keyed.append((rng.uniform(j + 0.01, n_base), row, label))
    keyed.sort(key=lambda t: t[0])
    rows = [row for _, row, _ in keyed]
    labels = [label for _, _, label in keyed]
    return rows, labels


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", help="where to write the JSON list")
    parser.add_argument("--n", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=0)
    problem_file.add_argument(parser)
    args = parser.parse_args()
    rows, labels = build(args.n, problem_file.load(args.problems_file), args.seed)
    Path(args.output).write_bytes(orjson.dumps(rows))
    print(f"{len(rows)} rows; injected: " + ", ".join(f"{k} {labels.count(k)}" for k in SHARES))
