"""The report card: the step's summary (``report.json`` is its JSON, ``--summary_json`` too), the Markdown
table a person reads (``report.md``) and the plot (``report.png``, ``cft.evaluate.plots``).

The JSON's keys are the contract (``docs/file-formats.md``): at its top level the outcome figures of
``cft.evaluate.metrics`` (``n``, ``accuracy``, ``accuracy_right``, ``accuracy_wrong``, ``f1_wrong``,
``no_verdict_rate``, ``counts``, ``per_sample``, ``by_source_model``, ``by_band``, ``by_level``,
``by_source``, ``calibration``), the step-level figures (``subsets``: per subset ``error_acc``,
``correct_acc``, ``f1``, ...; ``average_f1``) and what they were made from (``model``, ``backend``,
``sampling``, ``prompt_version``, ``input_file`` and ``input_sha256``, ``step_data``).
"""

from __future__ import annotations

from pathlib import Path

from cft.common.summary import Summary
from cft.evaluate.metrics import GROUPS

STEP = "evaluate"
TITLES = {"source_model": "by source model", "band": "by pass band (pooled pass rate of the problem)",
          "level": "by level", "source": "by source"}
FIGURES = ("accuracy", "accuracy_right", "accuracy_wrong", "f1_wrong", "no_verdict_rate")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def outcome_line(m: dict) -> str:
    """``73.3% of 30 (right 80.0%, wrong 66.7%; F1 finding wrong 71.4%; no verdict 3.3%)``."""
    return (f"{percent(m['accuracy'])} of {m['n']} (right {percent(m['accuracy_right'])}, wrong "
            f"{percent(m['accuracy_wrong'])}; F1 finding wrong {percent(m['f1_wrong'])}; no verdict "
            f"{percent(m['no_verdict_rate'])})")


def subset_line(m: dict) -> str:
    return (f"erroneous {percent(m['error_acc'])} of {m['errors']}, correct {percent(m['correct_acc'])} of "
            f"{m['corrects']}, F1 {percent(m['f1'])} (no verdict {percent(m['no_verdict_rate'])})")


def summary(*, model: str, backend: dict | None, sampling: dict, prompt_version: int, outcome: dict | None,
            outcome_source: dict | None, steps: dict | None, step_source: dict | None, run: dict,
            elapsed_s: float) -> Summary:
    """The report card as the step's summary. ``outcome``/``steps``: ``cft.evaluate.metrics``' figures (None:
    not evaluated); ``*_source``: what they were made from; ``run``: the work (chunks, samples, time)."""
    s = Summary(STEP, "the critic's report card")
    k = sampling["n"]
    s.row("critic", model + (f" ({backend['backend']})" if backend else " (no chunk to do)"), key="model",
          value=model)
    s.row("sampling", f"{k} per case, temperature {sampling['temperature']:g}, top_p {sampling['top_p']:g}, "
          f"max_tokens {sampling['max_tokens']}", key="sampling", value=sampling)
    s.fact("num_samples", k).fact("backend", backend).fact("prompt_version", prompt_version)
    if outcome is not None:
        s.row("cases", f"{outcome['n']} from {outcome_source['input_file']} (sha256 "
              f"{outcome_source['input_sha256'][:12]})")
        for key, value in outcome_source.items():
            s.fact(key, value)
        s.row("accuracy" + (" (majority)" if k > 1 else ""), outcome_line(outcome))
        for key, value in outcome.items():
            s.fact(key, value)
        if k > 1:
            s.row("accuracy (each sample)", outcome_line(outcome["per_sample"]))
        for group in GROUPS:
            table = outcome.get(f"by_{group}")
            if table:
                s.section(TITLES[group])
                for name, m in table.items():
                    s.row(f"  {name}", outcome_line(m))
        cal = outcome.get("calibration")
        if cal:
            s.section(f"calibration ({cal['method']})")
            s.row("expected calibration error", percent(cal["ece"]))
            for b in cal["bins"]:
                s.row(f"  P(right) {b['bin'][0]:.2f}-{b['bin'][1]:.2f}", f"{b['n']} cases: mean {b['confidence']:.3f}, "
                      f"labelled right {b['observed']:.3f}")
        s.brief("critic accuracy", f"{outcome_line(outcome)}; {model}")
    if steps is not None:
        s.section("step level (ProcessBench's metrics)")
        s.row("data", f"{step_source['source']}" + (f" ({step_source['config']})" if step_source["config"] else "")
              + f", sha256 {step_source['sha256'][:12]}")
        s.fact("step_data", step_source)
        for name, m in steps["subsets"].items():
            s.row(f"  {name}", subset_line(m))
        s.row("average F1", percent(steps["average_f1"]))
        s.fact("subsets", steps["subsets"]).fact("average_f1", steps["average_f1"])
        s.brief("critic step level", f"average F1 {percent(steps['average_f1'])} over "
                f"{len(steps['subsets'])} subsets ({', '.join(steps['subsets'])})")
    s.section("run")
    if run["generate_s"]:
        s.row("cases per second", f"{run['cases'] / run['generate_s']:.2f} ({run['cases']} cases, {run['samples']} "
              f"samples in {run['generate_s']:.1f} s, {run['output_tokens']} output tokens)")
    for key, value in run.items():
        s.fact(key, value)
    s.fact("elapsed_s", round(elapsed_s, 3))
    return s


def markdown(facts: dict) -> str:
    """``report.md``: the report's figures as Markdown tables, with what they were made from."""
    sampling = facts["sampling"]
    lines = ["# The critic's report card", "",
             f"- critic: `{facts['model']}`" + (f" ({facts['backend']['backend']})" if facts.get("backend") else ""),
             f"- sampling: {sampling['n']} per case, temperature {sampling['temperature']:g}, top_p "
             f"{sampling['top_p']:g}, max_tokens {sampling['max_tokens']}, seed {sampling['seed']}",
             f"- step-level prompt version: {facts['prompt_version']}"]
    if "accuracy" in facts:
        lines += [f"- outcome cases: `{facts['input_file']}` (sha256 `{facts['input_sha256']}`), the rows' own "
                  "prompts, verdicts read by `cft/reward.py`"]
        if facts.get("filtered_file"):
            lines += [f"- pass rates: `{facts['filtered_file']}`"]
    if "step_data" in facts:
        d = facts["step_data"]
        lines += [f"- step-level cases: `{d['source']}`" + (f" config `{d['config']}`" if d["config"] else "")
                  + f" (sha256 `{d['sha256']}`)"]
    if "accuracy" in facts:
        head = "| | n | accuracy | on right | on wrong | F1 finding wrong | no verdict |"
        rule = "|---|--:|--:|--:|--:|--:|--:|"

        def row(name: str, m: dict) -> str:
            return f"| {name} | {m['n']} | " + " | ".join(percent(m[f]) for f in FIGURES) + " |"

        lines += ["", "## Outcome: is the solution right?", "", head, rule,
                  row("majority verdict" if sampling["n"] > 1 else "all cases", facts)]
        if sampling["n"] > 1:
            lines.append(row("each sample", facts["per_sample"]))
        for group in GROUPS:
            if facts.get(f"by_{group}"):
                lines += ["", f"### {TITLES[group].capitalize()}", "", head, rule]
                lines += [row(name, m) for name, m in facts[f"by_{group}"].items()]
        cal = facts.get("calibration")
        if cal:
            lines += ["", "## Calibration", "", f"Confidence: the {cal['method']}. Expected calibration error: "
                      f"{percent(cal['ece'])}.", "", "| P(right) | cases | mean P(right) | labelled right |",
                      "|---|--:|--:|--:|"]
            lines += [f"| {b['bin'][0]:.2f}-{b['bin'][1]:.2f} | {b['n']} | {b['confidence']:.3f} | "
                      f"{b['observed']:.3f} |" for b in cal["bins"]]
    if "subsets" in facts:
        lines += ["", "## Step level: which step went wrong (ProcessBench's metrics)", "",
                  "| subset | cases | erroneous | correct | error acc | correct acc | F1 | no verdict |",
                  "|---|--:|--:|--:|--:|--:|--:|--:|"]
        lines += [f"| {name} | {m['n']} | {m['errors']} | {m['corrects']} | {percent(m['error_acc'])} | "
                  f"{percent(m['correct_acc'])} | {percent(m['f1'])} | {percent(m['no_verdict_rate'])} |"
                  for name, m in facts["subsets"].items()]
        lines += ["", f"Average F1: {percent(facts['average_f1'])}."]
    return "\n".join(lines) + "\n"


def write_markdown(facts: dict, path: str | Path) -> Path:
    from cft.common.jsonio import atomic_open

    with atomic_open(path) as f:
        f.write(markdown(facts).encode())
    return Path(path)
