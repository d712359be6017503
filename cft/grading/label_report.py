"""A report on the right/wrong labels of solutions files, for a human to check the grader.

Verdict counts by grade and by model, the most frequent (extracted answer,
ground truth) pairs graded incorrect (where false negatives hide: a right
answer the grader cannot read shows up many times), disputed solutions by
reason, and a small seeded random sample of right and wrong verdicts written
as a readable Markdown file for a spot check.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from cft.common.jsonio import atomic_open, open_results_file
from cft.grading.disputes import reason_codes
from cft.records.solutions import grade_of

TOP_PAIRS = 20
SAMPLE_PER_LABEL = 10
_TAIL_CHARS = 600


class LabelReport:
    def __init__(self, seed: int = 0, top: int = TOP_PAIRS, sample: int = SAMPLE_PER_LABEL):
        self.top, self.sample_size = top, sample
        self.grades: dict[str, Counter] = defaultdict(Counter)  # model -> grade -> count
        self.incorrect_pairs: Counter = Counter()  # (extracted answer, ground truth) -> count
        self.disputed: Counter = Counter()  # reason code -> count
        self.samples: dict[bool, list[dict]] = {True: [], False: []}
        self._seen = {True: 0, False: 0}
        self._rng = random.Random(seed)

    def add_row(self, model: str, row: dict) -> None:
        truth = str(row.get("ground_truth", ""))
        for k, sol in enumerate(row.get("solutions") or []):
            grade = grade_of(sol)
            self.grades[model][grade] += 1
            if grade == "incorrect":
                self.incorrect_pairs[(sol.get("extracted_answer"), truth)] += 1
            if sol.get("disputed"):
                self.disputed.update(reason_codes(sol.get("dispute_reason")) or ["(no reason)"])
            if grade in ("correct", "incorrect"):
                self._offer(grade == "correct", model, row, k, sol, truth)

    def _offer(self, label: bool, model: str, row: dict, k: int, sol: dict, truth: str) -> None:
        """Reservoir sampling: every verdict of a label has the same chance to be shown."""
        self._seen[label] += 1
        pick = len(self.samples[label]) if len(self.samples[label]) < self.sample_size else \
            self._rng.randrange(self._seen[label])
        if pick < self.sample_size:
            item = {"model": model, "index": row.get("index"), "solution": k, "question": row.get("question", ""),
                    "ground_truth": truth, "extracted_answer": sol.get("extracted_answer"),
                    "grade": sol.get("grade"), "disputed": sol.get("dispute_reason") if sol.get("disputed") else None,
                    "tail": (sol.get("text") or "")[-_TAIL_CHARS:]}
            if pick < len(self.samples[label]):
                self.samples[label][pick] = item
            else:
                self.samples[label].append(item)

    def add_file(self, path: str | Path, model: str | None = None) -> None:
        meta, rows = open_results_file(path)
        model = model or str(meta.get("model") or Path(path).stem)
        for row in rows:
            if isinstance(row, dict):
                self.add_row(model, row)

    @classmethod
    def from_files(cls, files: Iterable[tuple[str, str | Path]], seed: int = 0) -> LabelReport:
        report = cls(seed)
        for model, path in files:
            report.add_file(path, model)
        return report

    def top_incorrect(self) -> list[tuple[tuple[str | None, str], int]]:
        return self.incorrect_pairs.most_common(self.top)

    def summary_rows(self) -> list[tuple[str, object]]:
        """Summary lines: ``labels <model>`` (verdicts by grade), disputed reasons, the top incorrect pairs."""
        rows: list[tuple[str, object]] = []
        for model, counts in sorted(self.grades.items()):
            total = sum(counts.values())
            rows.append((f"labels {model}", f"{total} verdicts: " + ", ".join(
                f"{g} {c}" for g, c in sorted(counts.items(), key=lambda kv: -kv[1]))))
        if self.disputed:
            rows.append(("labels disputed", ", ".join(f"{r} {c}" for r, c in self.disputed.most_common())))
        for rank, ((answer, truth), count) in enumerate(self.top_incorrect()[:5], 1):
            rows.append((f"labels incorrect #{rank}", f"{count}x {_short(answer)} vs truth {_short(truth)}"))
        return rows

    def data(self) -> dict:
        """The report's figures as plain JSON (for --summary_json)."""
        return {"grades": {m: dict(c) for m, c in self.grades.items()}, "disputed": dict(self.disputed),
                "top_incorrect": [{"extracted_answer": a, "ground_truth": t, "count": c}
                                  for (a, t), c in self.top_incorrect()]}

    def write(self, path: str | Path) -> Path:
        """The whole report as Markdown, written atomically."""
        lines = ["# Label report", "", "## Verdicts by model and grade", "", "| model | grade | count |",
                 "|---|---|---|"]
        for model, counts in sorted(self.grades.items()):
            lines += [f"| {model} | {g} | {c} |" for g, c in sorted(counts.items())]
        lines += ["", f"## The {self.top} most frequent (extracted answer, ground truth) pairs graded incorrect", "",
                  "| count | extracted answer | ground truth |", "|---|---|---|"]
        lines += [f"| {c} | `{_cell(a)}` | `{_cell(t)}` |" for (a, t), c in self.top_incorrect()]
        if self.disputed:
            lines += ["", "## Disputed solutions by reason", ""]
            lines += [f"- {r}: {c}" for r, c in self.disputed.most_common()]
        for label, name in ((True, "right"), (False, "wrong")):
            lines += ["", f"## A random sample of {name} verdicts ({len(self.samples[label])} of "
                          f"{self._seen[label]})", ""]
            for item in self.samples[label]:
                lines += [f"### {item['model']}, problem {item['index']}, solution {item['solution']}: "
                          f"{item['grade']}" + (f" (disputed: {item['disputed']})" if item["disputed"] else ""),
                          "", f"- question: {_short(item['question'], 300)}",
                          f"- ground truth: `{_cell(item['ground_truth'])}`",
                          f"- extracted answer: `{_cell(item['extracted_answer'])}`", "",
                          "```text", "..." + item["tail"].replace("```", "'''"), "```", ""]
        path = Path(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as f:
            f.write(("\n".join(lines) + "\n").encode())
        return path


def _short(s: object, n: int = 60) -> str:
    s = str(s).replace("\n", " ")
    return s if len(s) <= n else s[: n - 3] + "..."


def _cell(s: object) -> str:
    return _short(s, 120).replace("|", "\\|").replace("`", "'")
