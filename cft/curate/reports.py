"""The summaries of steps 0, 2 and 3 (decontaminate, merge, filter): what each wrote, as printed lines and JSON
facts (``cft.common.summary``), kept beside the steps' code; the dataset card reads their facts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cft.common.summary import Summary, histogram_line, pct
from cft.curate.filter import ALL_CORRECT, ALL_WRONG, MISSING
from cft.curate.pass_band import ABOVE_MAX, BELOW_MIN

if TYPE_CHECKING:  # (step 0's modules import rapidfuzz and numpy: not for steps 2 and 3)
    from cft.curate.decontaminate import CleanStats
    from cft.curate.eval_sets.load import Selection


def decontaminate_summary(*, stats: CleanStats, selection: Selection, input_file: str, input_sha256: str,
                          worked_answers: int, threshold: float, ngram: int, ngram_overlap: float, dedup: bool,
                          dedup_threshold: float, output: Path, report: Path, elapsed_s: float) -> Summary:
    """Step 0's summary: kept and removed, against which evaluation sets, and which were not checked.

    The JSON facts name every set checked under ``eval_sets`` (rows) and ``eval_set_details`` (where it
    was read from, its config and splits, its rows and the sha256 of its problem texts), the removals per
    set under ``contaminated`` (a problem in several sets counts once, for the first), and under
    ``not_checked`` every registered set not checked and why; the dataset card reads them, and the
    pipeline's closing summary shows the "not checked against" line."""
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


def merge_summary(merged, elapsed_s: float) -> Summary:
    """Step 2's summary: per model, the chunks merged of those expected, problems, solutions, grades and the
    correct-of-n histogram (``models``, read by the dataset card)."""
    s = Summary("merge")
    models = {}
    for m in merged:
        s.section(f"merged {m.model}")
        s.row("chunks", f"{m.chunks_merged} of {m.chunks_expected}"
              + (f", MISSING {len(m.missing_chunks)}: {m.missing_chunks}" if m.missing_chunks else ""))
        s.row("problems", m.problems)
        s.row("solutions", m.solutions)
        s.row("grades", ", ".join(f"{g} {pct(n, m.solutions)}" for g, n in m.grades.most_common()))
        s.row("truncated (length)", pct(m.truncated, m.solutions))
        s.row("correct-of-n per problem", histogram_line(m.num_correct_hist))
        for note in m.notes:
            s.row("note", note)
        s.wrote(m.output)
        models[m.model] = {"chunks_expected": m.chunks_expected, "chunks_merged": m.chunks_merged,
                           "missing_chunks": m.missing_chunks, "problems": m.problems, "solutions": m.solutions,
                           "grades": m.grades, "truncated": m.truncated, "num_correct_hist": m.num_correct_hist,
                           "notes": m.notes, "output": m.output}
    s.fact("models", models).fact("elapsed_s", round(elapsed_s, 3))
    return s


def filter_summary(kept: int, stats, band, files: dict, output_file, analyze: bool, elapsed_s: float) -> Summary:
    """Step 3's summary: problems kept and removed by reason, the correct-of-n histograms (all and kept), the
    pass-rate band, and with ``analyze`` the plot and the label report."""
    s = Summary("filter")
    s.row("problems in", stats.total, key="problems_in", headline=True)
    s.row("kept", pct(kept, stats.total), key="kept", value=kept, headline=True)
    for reason in (ALL_CORRECT, ALL_WRONG, BELOW_MIN, ABOVE_MAX, MISSING):
        if stats.reasons[reason] or reason in (ALL_CORRECT, ALL_WRONG) or (band and reason in (BELOW_MIN, ABOVE_MAX)):
            s.row(f"removed: {reason}", pct(stats.reasons[reason], stats.total), headline=True)
    s.fact("removed", {reason: n for reason, n in stats.reasons.items() if reason != "kept"})
    for alias in stats.aliases:
        n = stats.num_samples.get(alias, 0)
        s.row(f"{alias} correct-of-{n}, all", histogram_line(stats.hist_all[alias]))
        s.row(f"{alias} correct-of-{n}, kept", histogram_line(stats.hist_kept[alias]))
    s.row(f"pooled correct-of-{stats.pooled_samples}, all", histogram_line(stats.pooled_all))
    s.row(f"pooled correct-of-{stats.pooled_samples}, kept", histogram_line(stats.pooled_kept))
    s.fact("models", list(stats.aliases)).fact("num_samples", stats.num_samples)
    s.fact("correct_hist_all", stats.hist_all).fact("correct_hist_kept", stats.hist_kept)
    s.fact("pooled_samples", stats.pooled_samples).fact("pooled_correct_all", stats.pooled_all)
    s.fact("pooled_correct_kept", stats.pooled_kept)
    s.fact("band", {"min_pass_rate": band.min_rate, "max_pass_rate": band.max_rate, "per_model": band.per_model}
           if band else None)
    if band:
        n = stats.num_samples.get(stats.aliases[0], 0) if band.per_model else stats.pooled_samples
        s.row("band (" + ("each model" if band.per_model else "pooled") + ")", band.describe(n))
    labels = None
    if analyze:
        from cft.curate.plots import plot_pass_rates
        from cft.grading.label_report import LabelReport

        stem = Path(output_file).stem
        png = plot_pass_rates(stats, Path(output_file).with_name(stem + "_analysis.png"))
        s.wrote(png, "plot", headline=False)
        labels = LabelReport.from_files(files.items())
        report = labels.write(png.with_name(stem + "_label_report.md"))
        for label, text in labels.summary_rows():
            s.row(label, text, headline=True)
        s.wrote(report, "label report")
    s.fact("labels", labels.data() if labels else None)
    s.fact("elapsed_s", round(elapsed_s, 3))
    s.wrote(output_file)
    return s
