"""A filtered file (step 3's output) with solutions of realistic length, for tests and benchmarks
of the prompt budget; no model needed.

The problems are the first ``problems`` of MATH-500 (``data/eval/math500.jsonl``). Each of two
models has ``samples`` solutions per problem. A solution's text is one to four MATH-500 reference
solutions (of problems of the same level) joined, so the critique prompts have lengths like a
math model's chain of thought: about 550 tokens at the median with SmolLM2's tokenizer, with a
long tail past 1,024. Labels are drawn with the relation seen in real generations, that long
solutions are more often wrong: right with probability 0.85 - 0.6 * min(1, characters / 2000),
from 0.85 for a short solution down to 0.25. That relation is built in here; on real data,
measure it.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from cft.jsonio import write_json_list

MATH500 = Path(__file__).resolve().parent.parent / "data" / "eval" / "math500.jsonl"


def p_right(text: str) -> float:
    return 0.85 - 0.6 * min(1.0, len(text) / 2000)


def load_math500(path: Path = MATH500) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def filtered_rows(problems: int = 40, samples: int = 8, seed: int = 0) -> list[dict]:
    """``problems`` filtered rows with ``samples`` solutions from each of the two models."""
    rows = load_math500()
    by_level: dict[int, list[str]] = {}
    for r in rows:
        by_level.setdefault(r["level"], []).append(r["solution"])
    rng = random.Random(seed)
    out = []
    for index, row in enumerate(rows[:problems]):
        entry = {"index": index, "problem": row["problem"], "answer": row["answer"]}
        for alias in ("qwen25", "qwen3"):
            sols = []
            for _ in range(samples):
                parts = rng.randint(1, 4)
                text = "\n\n".join(rng.sample(by_level[row["level"]], parts))
                right = rng.random() < p_right(text)
                sols.append({"text": text, "extracted_answer": row["answer"] if right else "0", "correct": right,
                             "grade": "correct" if right else "incorrect", "finish_reason": "stop",
                             "num_tokens": len(text) // 3})
            entry[f"{alias}_solutions"] = sols
            entry[f"{alias}_num_correct"] = sum(s["correct"] for s in sols)
        out.append(entry)
    return out


def write_filtered(path: str | Path, problems: int = 40, samples: int = 8, seed: int = 0) -> Path:
    write_json_list(path, filtered_rows(problems, samples, seed))
    return Path(path)
