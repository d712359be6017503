"""The summary of ``grade_solutions.py``: files re-graded or skipped, verdicts changed (with examples), disputes,
the judge's verdicts and the label report, as printed lines and JSON facts (``cft.common.summary``)."""

from __future__ import annotations

from pathlib import Path

from cft.common.summary import Summary, pct
from cft.grading.version import GRADER_VERSION


def grade_summary(stats, report, report_path, judge, examples: int, workers: int, elapsed: float) -> Summary:
    s = Summary("grade")
    s.row("grader version", GRADER_VERSION, key="grader_version")
    s.row("files re-graded", len(stats.files), key="files", value=stats.files)
    s.row("files skipped (already current)", len(stats.skipped), key="skipped", value=stats.skipped)
    s.row("problems", stats.problems, key="problems")
    s.row("solutions", stats.solutions, key="solutions")
    s.row("verdicts changed", pct(stats.changed, stats.solutions), key="changed", value=stats.changed, headline=True)
    for (old, new), count in sorted(stats.changes.items(), key=lambda kv: -kv[1]):
        if old != new:
            s.row(f"  {old} -> {new}", count)
    s.fact("changes", {f"{old}->{new}": c for (old, new), c in stats.changes.items() if old != new})
    for ex in stats.examples[:examples]:
        s.row(f"  e.g. {Path(ex['file']).name} #{ex['index']}.{ex['solution']}",
              f"{ex['old']} -> {ex['new']}: {ex['old_answer']!r} -> {ex['new_answer']!r} "
              f"(truth {ex['ground_truth']!r})")
    s.fact("examples", stats.examples)
    s.row("disputed", pct(stats.disputed_solutions, stats.solutions), key="disputed", value=stats.disputed_solutions,
          headline=True)
    for reason, count in stats.disputed.most_common():
        s.row(f"  {reason}", count)
    s.fact("disputed_by_reason", dict(stats.disputed))
    if judge is not None:
        per_k = 1000 * stats.judge_s / stats.judged if stats.judged else 0.0
        s.row("judged", f"{stats.judged} in {stats.judge_s:.1f} s ({per_k:.1f} s per 1000): "
              + ", ".join(f"{v} {c}" for v, c in stats.judge_verdicts.most_common()))
    s.fact("judged", stats.judged).fact("judge_verdicts", dict(stats.judge_verdicts)).fact("judge_s", stats.judge_s)
    for label, text in report.summary_rows():
        s.row(label, text)
    s.fact("labels", report.data())
    s.wrote(report_path, "label report")
    rate = stats.solutions / stats.grade_s if stats.grade_s else 0.0
    s.row("time", f"{elapsed:.1f} s ({rate:.0f} solutions/s, {workers} workers)")
    s.fact("grade_s", stats.grade_s).fact("elapsed_s", elapsed)
    for path in stats.files:
        s.output(path)
    return s
