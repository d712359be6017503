"""Step 6's summary: what the teacher wrote, what was kept and why the rest was not, and the label audit.

The keep rate is kept critiques / sampled critiques. Surface slips rewritten into the exact ending
are counted (``rewritten``) beside those that were exact; each reason a critique was dropped has its
count. The audit (``cft.teacher.audit``) gives the agreement with the labels overall, by label and by
source model; the pipeline's closing summary shows the agreement, the rows and the doubted rows.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cft.common.summary import Summary, pct
from cft.critic.agreement import Agreement
from cft.teacher.audit import percent, rate
from cft.teacher.inputs import Inputs
from cft.teacher.run import RunReport
from cft.teacher.sft_rows import Assembled
from cft.teacher.verdicts import DROPPED, EXACT, REWRITTEN
from cft.teacher.work import WorkPlan


def _agreement_line(a: Agreement) -> str:
    return (f"{percent(rate(a))} ({a.agrees} of {a.agrees + a.contradicts} with a verdict; "
            f"{a.no_verdict} without one)")


def summary(*, inputs: Inputs, work: WorkPlan, report: RunReport, assembled: Assembled, teacher_model: str,
            backend: dict | None, written: list[Path], doubted_file: Path, keep_per_row: int,
            keep_thinking: bool, elapsed_s: float) -> Summary:
    a = assembled
    s = Summary("sft", "critique fine-tuning rows (step 6)")
    train, val = a.rows["train"], a.rows["val"]
    n_train, n_val = inputs.count("train"), inputs.count("val")
    s.row("teacher", teacher_model + (f" ({backend['backend']})" if backend else " (no chunk to do)"))
    s.row("input rows", f"{n_train} training, {n_val} held out" + (
        f" (first {work.run['max_rows']} of each file)" if work.run["max_rows"] else ""))
    s.row("chunks", f"{len(report.written)} written, {len(work.skipped)} already done"
          + (f", {len(work.replaced)} of another run replaced" if work.replaced else ""))
    s.fact("chunks_written", report.written).fact("chunks_skipped", work.skipped)
    s.fact("chunks_replaced", work.replaced)
    sampled = a.sampled
    kept = len(train) + len(val)
    s.row("critiques sampled", f"{sampled} ({work.run['sampling']['n']} per row)", key="critiques_sampled",
          value=sampled)
    keep_rate = percent(kept / sampled if sampled else None)
    passed = a.outcomes[EXACT] + a.outcomes[REWRITTEN]
    s.row("passed the check", f"{passed}: {a.outcomes[EXACT]} as written, {a.outcomes[REWRITTEN]} with a slipped "
          "ending rewritten to 'Conclusion: <label> [END]'", key="passed", value=passed)
    drops = {k: a.outcomes[k] for k in DROPPED if a.outcomes[k]}
    s.row("dropped", ", ".join(f"{k} {v}" for k, v in drops.items()) or "none")
    s.row("kept (SFT rows)", f"{kept} of {sampled} sampled ({keep_rate}): "
          f"{len(train)} training, {len(val)} held out; not kept: {a.spare} beyond --keep_per_row {keep_per_row}, "
          f"{a.duplicates} repeating one kept", key="kept", value=kept)
    s.row("rows with a kept critique", f"{pct(a.rows_covered['train'], n_train)} training, "
          f"{pct(a.rows_covered['val'], n_val)} held out")
    s.fact("rows", len(train)).fact("val_rows", len(val))
    s.fact("targets", Counter(r["label"] for r in train)).fact("val_targets", Counter(r["label"] for r in val))
    s.fact("outcomes", dict(a.outcomes)).fact("spare", a.spare).fact("duplicates", a.duplicates)
    s.fact("keep_rate", round(kept / sampled, 4) if sampled else None)
    s.fact("max_rows", work.run["max_rows"]).fact("rows_covered", dict(a.rows_covered))
    s.fact("input_rows", {"train": n_train, "val": n_val})

    s.section("label audit (the teacher's verdicts against the labels)")
    total = a.audit.total
    s.row("agreement", _agreement_line(total), key="agreement",
          value=None if rate(total) is None else round(rate(total), 4))
    for label, counts in sorted(a.audit.by_label.items()):
        s.row(f"  labelled {label}", _agreement_line(counts))
    for model, counts in sorted(a.audit.by_source.items()):
        s.row(f"  solutions of {model}", _agreement_line(counts))
    s.fact("agreement_by_label", a.audit.table(a.audit.by_label))
    s.fact("agreement_by_source_model", a.audit.table(a.audit.by_source))
    k = work.run["sampling"]["n"]
    s.row(f"rows whose {k} critiques all contradict the label", f"{len(a.audit.doubted)} (listed in {doubted_file})",
          key="doubted", value=len(a.audit.doubted))

    by_label = ", ".join(f"{label} {percent(rate(c))}" for label, c in sorted(a.audit.by_label.items()))
    s.brief("teacher agreement", f"{percent(rate(total))} with the labels ({by_label}); {teacher_model}")
    s.brief("SFT rows", f"{len(train)} training, {len(val)} held out; kept {kept} of {sampled} critiques "
                        f"({keep_rate}; {a.outcomes[REWRITTEN]} endings rewritten)")
    s.brief("doubted rows", f"{len(a.audit.doubted)}: {doubted_file.name}")

    s.section("teacher run")
    if report.generate_s:
        s.row("critiques per second", f"{report.samples / report.generate_s:.2f} "
              f"({report.samples} in {report.generate_s:.0f} s, {report.output_tokens} output tokens)")
    s.fact("critiques_generated", report.samples).fact("output_tokens", report.output_tokens)
    s.fact("generate_s", round(report.generate_s, 3))
    s.fact("teacher_model", teacher_model).fact("backend", backend).fact("sampling", work.run["sampling"])
    s.fact("mode", work.run["mode"]).fact("keep_per_row", keep_per_row).fact("keep_thinking", keep_thinking)
    s.row("work folder", work.folder)
    for path in written:
        s.wrote(path, headline=path.suffix == ".parquet")
    s.fact("elapsed_s", round(elapsed_s, 3))
    return s
