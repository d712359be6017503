"""Step 0's summary: what was kept and removed, against which evaluation sets, and which were not checked.

The JSON facts (``--summary_json``) name every set checked under ``eval_sets`` (rows) and
``eval_set_details`` (where it was read from, its config and splits, its rows and the sha256 of its
problem texts), the removals per set under ``contaminated`` (a problem in several sets counts once, for the
first), and under ``not_checked`` every registered set that was not checked and why; the dataset card
(``cft.dataset.card``) reads them, and the pipeline's closing summary shows the "not checked against" line.
"""

from __future__ import annotations

from pathlib import Path

from cft.common.summary import Summary, pct
from cft.curate.decontaminate import CleanStats
from cft.curate.eval_sets.load import Selection


def summary(*, stats: CleanStats, selection: Selection, input_file: str, input_sha256: str, worked_answers: int,
            threshold: float, ngram: int, ngram_overlap: float, dedup: bool, dedup_threshold: float,
            output: Path, report: Path, elapsed_s: float) -> Summary:
    s = Summary("decontaminate")
    s.row("problems in", stats.total, key="problems_in")
    s.row("kept", pct(stats.kept, stats.total), key="kept", value=stats.kept)
    s.fact("removed", stats.total - stats.kept)
    s.fact("input_file", input_file).fact("input_sha256", input_sha256)
    if worked_answers:
        s.row("answers read after '####'", f"{worked_answers} (GSM8K-style worked solutions: the final value is "
              "the ground truth)")
    s.fact("worked_answers", worked_answers)
    rule = f"fuzz.ratio >= {threshold:g}" + (f" or {ngram}-gram overlap >= {ngram_overlap:g}" if ngram else "")
    for name, size in stats.eval_sets.items():
        s.row(f"removed: matches {name}", f"{pct(stats.contaminated[name], stats.total)}  ({size} problems, {rule})")
    s.fact("contaminated", {name: stats.contaminated[name] for name in stats.eval_sets})
    s.fact("eval_sets", stats.eval_sets).fact("eval_set_details", selection.record())
    missing = selection.not_checked
    failed = [name for name, why in missing.items() if why.startswith("cannot")]
    left_out = [name for name in missing if name not in failed]
    s.row("not checked against", "; ".join(
        [", ".join(failed) + " (cannot be loaded)"] * bool(failed)
        + [", ".join(left_out) + " (left out of --eval_sets)"] * bool(left_out)) or "none")
    s.fact("not_checked", missing)
    if dedup:
        s.row("removed: duplicates", f"{pct(stats.duplicates, stats.total)}  (exact {stats.methods['exact']}, near "
              f"{stats.methods['minhash']}, fuzz.ratio >= {dedup_threshold:g} and same answer)")
    s.fact("duplicates", stats.duplicates).fact("methods", dict(stats.methods))
    s.fact("threshold", threshold).fact("ngram", ngram).fact("dedup", dedup)
    s.fact("ngram_overlap", ngram_overlap).fact("dedup_threshold", dedup_threshold)
    why = [f"{n} match {name}" for name, n in s.facts["contaminated"].items()]
    why += [f"{stats.duplicates} duplicates"] if dedup else []
    s.brief("step 0 removed", f"{stats.total - stats.kept} of {stats.total} ({', '.join(why) or 'no set checked'}); "
            f"list: {report}")
    if missing:
        s.brief("step 0 not checked against", ", ".join(missing))
    s.row("time: decontaminate", f"{stats.decontaminate_s:.1f} s" + (f", dedup {stats.dedup_s:.1f} s"
                                                                      if dedup else ""))
    s.fact("decontaminate_s", stats.decontaminate_s).fact("dedup_s", stats.dedup_s)
    s.fact("elapsed_s", elapsed_s).fact("report", report)
    s.wrote(report, "report", headline=False).wrote(output, headline=False)
    return s
