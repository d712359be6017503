"""``label_steps.py``'s summary and its Markdown label report: the labels, the lucky share, the cost.

The summary's facts that the dataset card reads are named in ``FACTS`` (one name for writer and reader).
The report (``<labels stem>_report.md``) is for a person checking the labels: the rules, the counts, the
lucky share by source model, by pass band and by the input's level and source, and a seeded sample of
lucky solutions and of disagreements with each step shown and the signals' evidence beside it.
"""

from __future__ import annotations

import random
from pathlib import Path
from statistics import mean

from cft.common.summary import Summary, pct
from cft.process.consensus import AGREE, DISAGREE, LUCKY_RULES, STATUSES
from cft.process.facts import FACTS, STEP
from cft.process.labels import Assembled
from cft.process.run import RunReport

SAMPLE = 8
SHARE_TITLES = {"source_model": "source model", "pass_band": "pass band (the problem's pass rate)", "level": "level",
                "source": "source"}


def _per(values: list[int]) -> dict | None:
    return {"mean": round(mean(values), 2), "max": max(values), "total": sum(values)} if values else None


def status_table(a: Assembled) -> dict[str, dict[str, int]]:
    return {outcome: {st: a.status[(outcome, st)] for st in STATUSES if a.status[(outcome, st)]}
            for outcome in ("right", "wrong")}


def summary(*, inputs, a: Assembled, report: RunReport, works: dict, settings: dict, teacher_model: str | None,
            completers: dict[str, str], backends: dict[str, dict], written: list[Path], elapsed_s: float) -> Summary:
    s = Summary(STEP, "step labels")
    n = len(inputs.items)
    right = sum(1 for i in inputs.items if i.correct)
    s.row("solutions labelled", f"{n} solutions of {inputs.problems} problems: {right} right, {n - right} wrong",
          key=FACTS.LABELLED, value=n)
    s.row("not labelled", ", ".join(f"{k} {v}" for k, v in sorted(inputs.skipped.items())) or "none",
          key="not_labelled", value=dict(inputs.skipped))
    signals = [name for name, on in (("teacher", teacher_model), ("rollouts", completers)) if on]
    s.fact(FACTS.SIGNALS, signals).fact(FACTS.SETTINGS, settings)
    if teacher_model:
        s.row("teacher", teacher_model + (f" ({backends['teacher']['backend']})" if "teacher" in backends else ""),
              key=FACTS.TEACHER, value=teacher_model)
    for alias, model in completers.items():
        s.row(f"completer of {alias}", model + (f" ({backends[alias]['backend']})" if alias in backends else ""))
    s.fact(FACTS.COMPLETERS, completers)
    for name, work in works.items():
        s.row(f"chunks, {name}", f"{len(report.written.get(name, []))} written, {len(work.skipped)} already done"
              + (f", {len(work.replaced)} of another run replaced" if work.replaced else ""))
    s.fact("chunks", {name: {"written": report.written.get(name, []), "skipped": w.skipped, "replaced": w.replaced}
                      for name, w in works.items()})

    s.section("labels (consensus: " + " and ".join(signals) + ")")
    table = status_table(a)
    for outcome, counts in table.items():
        total = sum(counts.values())
        s.row(f"{outcome} solutions", ", ".join(f"{st} {pct(c, total)}" for st, c in counts.items()) or "none")
    s.fact(FACTS.STATUS, table)
    both = sum(a.status[(o, AGREE)] + a.status[(o, DISAGREE)] for o in ("right", "wrong"))
    if len(signals) == 2:
        agreement = sum(a.status[(o, AGREE)] for o in ("right", "wrong"))
        s.row("signals agree", pct(agreement, both) + " of the solutions both signals labelled", key="agreement",
              value=round(agreement / both, 4) if both else None)
    labelled = sum(1 for r in a.rows if r["label"] is not None)
    s.row("step labels", f"{pct(labelled, n)} of the solutions (the process rows)", key="labelled", value=labelled)
    share = a.lucky / right if right else None
    s.row("lucky right answers", f"{pct(a.lucky, right)} of the right solutions "
          f"(--lucky_rule {settings['lucky_rule']})", key=FACTS.LUCKY, value=a.lucky, headline=True)
    s.fact(FACTS.RIGHT, right).fact(FACTS.SHARE, round(share, 4) if share is not None else None)
    s.fact(FACTS.RULE, settings["lucky_rule"])
    tables = a.share_tables()
    s.fact(FACTS.BY, tables)
    for name, rows in tables.items():
        s.row(f"  by {SHARE_TITLES.get(name, name)}",
              ", ".join(f"{k} {v['lucky']}/{v['right']}" for k, v in rows.items()))
    s.row("right solutions left", ", ".join(f"{rule} {a.right_by_rule[rule]}" for rule in LUCKY_RULES)
          + f" (of {right}, by --lucky_rule)", key=FACTS.RIGHT_BY_RULE, value=a.right_by_rule)
    s.brief("step labels", f"{labelled} of {n} solutions; lucky right answers {pct(a.lucky, right)} "
                           f"(held out of steps 4-6 by default)")

    s.section("cost")
    if teacher_model:
        s.row("verdicts per solution", f"{_per(a.verdicts)['mean'] if a.verdicts else 0} "
              f"({report.verdicts} sampled in this run)", key=FACTS.VERDICTS_PER, value=_per(a.verdicts))
        s.row("verdicts unparsed", ", ".join(f"{k} {v}" for k, v in sorted(a.unparsed.items())) or "none",
              key="verdicts_unparsed", value=dict(a.unparsed))
        s.row("no vote", ", ".join(f"{k} {v}" for k, v in sorted(a.no_vote.items())) or "none", key="no_vote",
              value=dict(a.no_vote))
    if completers:
        per = _per(a.rollouts)
        s.row("rollouts per solution", f"{per['mean']} mean, {per['max']} max ({settings['search']} search, "
              f"{settings['rollouts']} per prefix; {report.rollouts} sampled in this run)" if per else "none",
              key=FACTS.ROLLOUTS_PER, value=per)
        s.fact("prefixes_per_solution", _per(a.prefixes))
        s.row("searches", ", ".join(f"{o} {st} {c}" for (o, st), c in sorted(a.search.items())),
              key="searches", value={f"{o}/{st}": c for (o, st), c in sorted(a.search.items())})
        s.row("non-monotonic", a.non_monotonic, key="non_monotonic")
    if report.cache_known:
        q, h = report.prefix_cache["queries"], report.prefix_cache["hits"]
        s.row("prefix cache", f"{pct(h, q)} of {q} prompt tokens looked up were cached (local engine)",
              key="prefix_cache", value=dict(report.prefix_cache))
    for signal, seconds in report.seconds.items():
        s.row(f"{signal} time", f"{seconds:.1f} s ({report.requests.get(signal, 0)} requests)")
    s.fact("seconds", report.seconds).fact("requests", report.requests).fact("output_tokens", report.output_tokens)
    s.fact("backends", backends)
    for path in written:
        s.wrote(path, headline=path.suffix == ".json")
    s.fact("elapsed_s", round(elapsed_s, 3))
    return s


# --- the Markdown report -----------------------------------------------------------------------

def _steps_md(row: dict) -> list[str]:
    label = row["label"]
    t, r = row.get("teacher") or {}, row.get("rollouts") or {}
    out = []
    for i, step in enumerate(row["steps"]):
        marks = [m for m, hit in (("label", label == i), ("teacher", t.get("vote") == i),
                                  ("rollouts", r.get("first_error") == i)) if hit]
        out.append(f"{i}. " + (f"**[{', '.join(marks)}]** " if marks else "") + " ".join(step.split())[:400])
    return out


def _evidence(row: dict) -> str:
    t, r = row.get("teacher"), row.get("rollouts")
    parts = []
    if t is not None:
        parts.append(f"teacher votes {t['votes'] or '{}'} (unparsed {sum(t['unparsed'].values())})")
    if r is not None:
        parts.append(f"completions: {r['status']}, reached/of by prefix "
                     + ", ".join(f"{x['prefix']}: {x['reached']}/{x['of']}" for x in r["tested"]))
    return "; ".join(parts)


def report_text(a: Assembled, signals: list[str], lucky_rule: str, seed: int = 0) -> str:
    right = a.right
    lines = ["# Step labels: which step went wrong", "",
             f"Signals: {' and '.join(signals)}; lucky rule `{lucky_rule}`. A label is the earliest wrong step, "
             "counted from 0 (-1: none); a right solution with a wrong step is *lucky*, and is kept out of steps "
             "4-6 by default (docs/step-labels.md).", "",
             f"Lucky right answers: **{pct(a.lucky, right)}** of {right} right solutions.", "",
             "Right solutions each lucky rule would leave: "
             + ", ".join(f"`{rule}` {n}" for rule, n in a.right_by_rule.items()) + ".", ""]
    for outcome, counts in status_table(a).items():
        lines.append(f"- {outcome} solutions: " + (", ".join(f"{st} {c}" for st, c in counts.items()) or "none"))
    lines.append("")
    for name, rows in a.share_tables().items():
        lines += [f"## Lucky share by {SHARE_TITLES.get(name, name)}", "", f"| {name} | right | lucky | share |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {k} | {v['right']} | {v['lucky']} | {100 * v['share']:.1f}% |" for k, v in rows.items()]
        lines.append("")
    rng = random.Random(seed)
    for title, rows in (("Lucky solutions", [r for r in a.rows if r["lucky"]]),
                        ("Disagreements", [r for r in a.rows if r["status"] == DISAGREE])):
        picked = sorted(rng.sample(rows, min(SAMPLE, len(rows))), key=lambda r: (r["index"], r["source_model"]))
        lines += [f"## {title} (a sample of {len(picked)} of {len(rows)})", ""]
        for r in picked:
            lines += [f"### Problem {r['index']}, {r['source_model']} solution {r['solution_index']} "
                      f"({r['grade']}; label {r['label']})", "", " ".join(r["question"].split())[:600], "",
                      f"Reference: `{r['ground_truth']}`. {_evidence(r)}", "", *_steps_md(r), ""]
    return "\n".join(lines) + "\n"


def report_path(labels_file: str | Path) -> Path:
    labels_file = Path(labels_file)
    return labels_file.with_name(f"{labels_file.stem}_report.md")
