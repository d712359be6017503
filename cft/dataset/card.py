"""The dataset card, ``README.md``: the Hub's YAML head, then how every number was made, in plain words.

The head (``huggingface_hub.DatasetCardData``) lists each config's data files by split, the
splits' row counts (``dataset_info``: ``datasets`` checks them when it loads the folder, so a
card that miscounts fails to load), the licence, task categories, size category and tags. The
body is written from the files themselves (rows and labels per split, counted here) and from
the run's record (``cft.dataset.provenance``: the step summaries and the solutions' metadata).
Where the record says nothing, the card says it was not recorded; it never fills a gap with a
default or a guess.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from cft.common.summary import pct
from cft.critic.critique_rows import INSTRUCTION
from cft.dataset.configs import TRAIN, VALIDATION
from cft.dataset.folder import SplitFile
from cft.dataset.provenance import Provenance, get
from cft.dataset.public import is_local, model_name, scrub

TASK_CATEGORIES = ["text-generation"]
TAGS = ["math", "critique", "verifier", "synthetic", "reinforcement-learning", "verl", "cft"]
UNKNOWN_LICENSE = "unknown"
_SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def size_category(rows: int) -> str:
    """The Hub's size category of a dataset of ``rows`` rows."""
    return next((name for limit, name in _SIZES if rows < limit), "n>1B")


def card_data(items: list[SplitFile], license: str | None, pretty_name: str):
    from huggingface_hub import DatasetCardData

    configs, infos = {}, {}
    for item in items:
        name = item.config.name
        configs.setdefault(name, {"config_name": name, "data_files": []})["data_files"].append(
            {"split": item.split, "path": item.path})
        infos.setdefault(name, {"config_name": name, "splits": []})["splits"].append(
            {"name": item.split, "num_bytes": item.num_bytes, "num_examples": item.rows})
    first = next(iter(configs.values()))
    first["default"] = True
    per_config = {}
    for item in items:
        per_config[item.config.name] = per_config.get(item.config.name, 0) + item.rows
    return DatasetCardData(
        license=license or UNKNOWN_LICENSE, task_categories=TASK_CATEGORIES,
        size_categories=[size_category(max(per_config.values()))], tags=TAGS, pretty_name=pretty_name,
        configs=list(configs.values()), dataset_info=list(infos.values()))


def card_text(items: list[SplitFile], prov: Provenance, license: str | None, pretty_name: str) -> str:
    """The whole card: ``---`` YAML ``---`` then the body."""
    head = card_data(items, license, pretty_name).to_yaml()
    return f"---\n{head}\n---\n\n" + "\n".join(body(items, prov, license, pretty_name)) + "\n"


# --- the body ----------------------------------------------------------------------------------

def body(items: list[SplitFile], prov: Provenance, license: str | None, pretty_name: str) -> Iterable[str]:
    yield f"# {pretty_name}"
    yield ""
    yield ("Critique data for math. Each row holds a math problem, one solution to it that a language model "
           "wrote, and the question a critic answers: *is this solution right?* Its label (`right` or `wrong`) "
           "says whether the solution's final answer equals the problem's ground-truth answer, as an automatic "
           "grader (math-verify) found; no person read the solutions or checked the labels. The rows were made "
           "by the `cft` pipeline; this card was written by its `build_dataset.py` from the run's own record.")
    yield ""
    yield from splits_section(items)
    yield from fields_section(items)
    yield "## How the data was made"
    yield ""
    if not prov.summaries:
        yield (f"Not recorded: this folder was built without the run's step summaries ({prov.unused}), so "
               "this card cannot tell how the rows were made: which models wrote the solutions, how they were "
               "graded, what was removed. Only the counts above, read from the files, are known.")
        yield ""
    else:
        yield ("Every number here comes from the run's step summaries (`--summary_json`, kept whole in "
               "`manifest.json` with each step's command line) or from the solutions files' metadata.")
        yield ""
        for section in (input_section, decontamination_section, models_section, grading_section,
                        labels_section, filter_section, draw_section, budget_section, split_section):
            yield from section(prov)
        yield from teacher_section(prov, items)
        yield from critic_section(prov, items)
    yield from limitations_section(items, prov)
    yield from license_section(license)
    yield "## Files and integrity"
    yield ""
    yield ("`manifest.json`, written last, lists every file of this folder with its size, sha256 and row "
           "count, the package versions, the git commit of the code (when built from a checkout), and each "
           "step's command line and summary. To check a copy of the folder against it:")
    yield ""
    yield "```bash\npython build_dataset.py --verify path/to/this/folder\n```"
    yield ""


def splits_section(items: list[SplitFile]) -> Iterable[str]:
    yield "## Configs and splits"
    yield ""
    yield "| config | split | file | rows | right | wrong |"
    yield "|---|---|---|---:|---:|---:|"
    for item in items:
        right, wrong = item.labels.get("right", 0), item.labels.get("wrong", 0)
        yield f"| `{item.config.name}` | {item.split} | `{item.path}` | {item.rows} | {pct(right, item.rows)} | " \
              f"{pct(wrong, item.rows)} |"
    yield ""
    yield "Rows and labels are counted in the files themselves."
    yield ""
    names = list(dict.fromkeys(item.config.name for item in items))
    for name in names:
        config = next(item.config for item in items if item.config.name == name)
        splits = [item.split for item in items if item.config.name == name]
        yield f"- `{name}`: {config.what}"
        if VALIDATION in splits:
            yield ("  `validation` holds whole problems: no solution of a validation problem is in `train`, "
                   "so validation accuracy measures judging problems the critic has not seen.")
        else:
            yield "  There is no `validation` split: the step held out no problem."
    yield ""
    yield "```python"
    yield "from datasets import load_dataset"
    yield ""
    for name in names:
        splits = [item.split for item in items if item.config.name == name]
        yield f'ds = load_dataset("path/to/this/folder", "{name}")  # or its Hub id; ' + \
              ", ".join(f'ds["{s}"]' for s in splits)
    yield "```"
    yield ""


def fields_section(items: list[SplitFile]) -> Iterable[str]:
    yield "## Fields"
    yield ""
    for config in dict.fromkeys(item.config for item in items):
        yield f"- `{config.name}`: {config.fields}."
    yield ""
    yield "The critique prompt is, word for word, with the problem and the solution in place:"
    yield ""
    yield f"```\n{INSTRUCTION}\n\nQuestion: <question>\n\nStudent's solution:\n<solution>\n\nCritique:\n```"
    yield ""


def not_recorded(step: str) -> str:
    return f"Not recorded (no summary of step `{step}` in this run's record)."


def from_step(title: str, step: str):
    """A section written from one step's summary: ``title``, then the body given the summary, or, where the
    run's record has none, a line saying so."""
    def wrap(body: Callable[[dict], Iterable[str]]) -> Callable[[Provenance], Iterable[str]]:
        @functools.wraps(body)
        def section(prov: Provenance) -> Iterable[str]:
            yield title
            yield ""
            summary = prov.step(step)
            if summary is None:
                yield not_recorded(step)
                yield ""
            else:
                yield from body(summary)
        return section
    return wrap


def input_section(prov: Provenance) -> Iterable[str]:
    yield "### Input"
    yield ""
    step0 = prov.step("decontaminate")
    if step0 and step0.get("input_file"):
        yield (f"- Step 0 read `{base_name(step0['input_file'])}`: {step0.get('problems_in', '?')} problems, "
               f"sha256 `{step0.get('input_sha256', 'not recorded')}`.")
    sources = {(m.get("input_file"), m.get("input_sha256"), m.get("input_rows")) for m in prov.models}
    for file, sha, rows in sorted(sources, key=str):
        if step0 and sha and sha == step0.get("input_sha256"):
            yield "- Solutions were generated for that file as it is (step 0 removed nothing from it)."
            continue
        yield (f"- Solutions were generated for `{base_name(file) if file else 'not recorded'}`"
               + (f": {rows} problems" if rows is not None else "") + f", sha256 `{sha or 'not recorded'}`.")
    if not sources and not (step0 and step0.get("input_file")):
        yield "- " + not_recorded("merge")
    yield ""


def decontamination_section(prov: Provenance) -> Iterable[str]:
    yield "### Step 0: decontamination"
    yield ""
    s = prov.step("decontaminate")
    if s is None:
        yield not_recorded("decontaminate")
    elif s.get("skipped"):
        yield ("Skipped (`--no_decontaminate`): the problems were not checked against any evaluation set, so "
               "some may copy a benchmark's problems.")
    else:
        sets = s.get("eval_sets") or {}
        contaminated = s.get("contaminated") or {}
        total = s.get("problems_in")
        rule = f"fuzz.ratio >= {s.get('threshold', '?')}"
        if s.get("ngram"):
            rule += f" or {s['ngram']}-gram overlap" + (f" >= {s['ngram_overlap']}" if "ngram_overlap" in s else "")
        details = s.get("eval_set_details") or {}
        if sets:
            yield "Problems matching an evaluation set (" + rule + ") were removed:"
            yield ""
            for name, size in sets.items():
                d = details.get(name) or {}
                source = d.get("source")
                source = source and (f"`{base_name(source)}`, a local copy" if is_local(source) else f"`{source}`")
                where = (f", read from {source}" if source else "") + \
                    (f", problems sha256 `{d['problems_sha256']}`" if d.get("problems_sha256") else "")
                yield f"- `{name}` ({size} problems{where}): {contaminated.get(name, 'not recorded')} removed"
        else:
            yield "No evaluation set was checked."
        yield ""
        not_checked = s.get("not_checked") or {}
        if not_checked:
            yield "Not checked against: " + ", ".join(f"`{name}` ({scrub(why)})"
                                                      for name, why in not_checked.items()) + "."
            yield ""
        if s.get("dedup"):
            yield (f"Duplicates within the input (fuzz.ratio >= {s.get('dedup_threshold', '?')} with the same "
                   f"answer): {s.get('duplicates', 'not recorded')} removed.")
        else:
            yield "Duplicates within the input were not looked for (`--dedup` not given)."
        yield ""
        yield f"In all, {s.get('removed', '?')} of {total} problems were removed, {s.get('kept', '?')} kept."
    yield ""


def models_section(prov: Provenance) -> Iterable[str]:
    yield "### Models and sampling (step 1)"
    yield ""
    if not prov.models:
        yield (not_recorded("merge") if prov.step("merge") is None else
               "Not recorded: the merged solutions files that step 2's summary names are gone, and their "
               "metadata is what names each model's weights and sampling.")
        yield ""
        return
    merged = get(prov.step("merge"), "models", default={}) or {}
    yield ("A *model* is the pipeline's name for a slot; *weights* are what actually wrote the solutions "
           "(any weights can fill a slot).")
    yield ""
    yield "| model | weights | prompt template | samples per problem | temperature | top_p | max_tokens | seed " \
          "| problems | solutions graded correct |"
    yield "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for m in prov.models:
        sampling = m.get("sampling") or {}
        grades = get(merged, m.get("model", ""), "grades", default={}) or {}
        solutions = get(merged, m.get("model", ""), "solutions")
        correct = pct(grades.get("correct", 0), solutions) if solutions else "not recorded"
        yield (f"| `{m.get('model', '?')}` | `{model_name(m.get('model_path'))}` | "
               f"{m.get('prompt_template', 'not recorded')} | {m.get('num_samples', '?')} | "
               f"{sampling.get('temperature', '?')} | {sampling.get('top_p', '?')} | "
               f"{sampling.get('max_tokens', '?')} | {sampling.get('seed', '?')} | "
               f"{get(merged, m.get('model', ''), 'problems', default='?')} | {correct} |")
    yield ""
    engines = {", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items()) for m in prov.models}
    for line in sorted(engines):
        yield f"Generated with {line}." if line else "Package versions not recorded."
    yield ""


def grading_section(prov: Provenance) -> Iterable[str]:
    yield "### Grading"
    yield ""
    yield ("Each solution's final answer (the content of its last `\\boxed{}`) was compared with the ground "
           "truth by math-verify, with a deadline per solution. No box, or a box cut off by `max_tokens`, "
           "is graded `no_answer`; a comparison past the deadline is `timeout`; both count as wrong.")
    yield ""
    regraded = {m.get("grading", {}).get("version") for m in prov.models if m.get("grading")}
    at_generation = {s.get("grader_version") for _, s in prov.steps("generate") if s.get("grader_version")}
    mv = {get(m, "versions", "math-verify") for m in prov.models} - {None}
    if regraded:
        yield f"- Re-graded with `grade_solutions.py`, grader version {', '.join(sorted(map(str, regraded)))}."
    elif at_generation:
        yield f"- Graded as generated, grader version {', '.join(sorted(at_generation))}."
    else:
        yield ("- Grader version: not recorded (the solutions were graded as they were generated, and no "
               "generation summary of this run records the grader's version).")
    yield f"- math-verify {', '.join(sorted(mv))}." if mv else "- math-verify version: not recorded."
    yield ""


def labels_section(prov: Provenance) -> Iterable[str]:
    yield "### Label report (step 3)"
    yield ""
    labels = get(prov.step("filter"), "labels")
    if not labels:
        yield "Not recorded (step 3 ran without `--analyze`, or its summary is missing)."
        yield ""
        return
    yield "Verdicts of every solution of every problem, before the keep rule:"
    yield ""
    for model, grades in (labels.get("grades") or {}).items():
        total = sum(grades.values())
        yield f"- `{model}`: {total} verdicts: " + ", ".join(f"{g} {pct(n, total)}" for g, n in
                                                            sorted(grades.items(), key=lambda kv: -kv[1]))
    yield ""
    disputed = labels.get("disputed") or {}
    checked = any(get(m, "grading", "signals") for m in prov.models)
    if disputed:
        yield "Disputed verdicts (a second signal doubts the grade), by reason: " + \
              ", ".join(f"`{reason}` {n}" for reason, n in disputed.items()) + "."
    elif checked:
        yield "Disputed verdicts: none (the dispute signals of `grade_solutions.py` ran and none fired)."
    else:
        yield ("Disputed verdicts: not measured. The dispute signals run when `grade_solutions.py` re-grades "
               "the solutions, which this run did not do, so the absence of disputes says nothing.")
    top = labels.get("top_incorrect") or []
    if top:
        yield ""
        yield ("The answers most often graded incorrect (a right answer the grader cannot read would show "
               "here, many times): " + "; ".join(f"`{t.get('extracted_answer')}` for truth `{t.get('ground_truth')}`"
                                                  f" ({t.get('count')}x)" for t in top[:5]) + ".")
    yield ""


@from_step("### Step 3: which problems were kept", "filter")
def filter_section(s: dict) -> Iterable[str]:
    band = s.get("band")
    if band:
        where = "each model's" if band.get("per_model") else "the pooled"
        yield (f"Rule: a problem is kept when {where} pass rate (solutions graded correct) lies in "
               f"[{band.get('min_pass_rate')}, {band.get('max_pass_rate')}] and the models neither all solved "
               "nor all failed it.")
    else:
        yield ("Rule: a problem is removed when every model solved every sample, or every model failed every "
               "sample; every other problem is kept (no pass-rate band).")
    yield ""
    removed = s.get("removed") or {}
    yield (f"{s.get('problems_in', '?')} problems in, {s.get('kept', '?')} kept; removed: "
           + (", ".join(f"{reason} {n}" for reason, n in removed.items()) if removed else "none") + ".")
    yield ""


@from_step("### Step 4: the critique draw", "critique")
def draw_section(s: dict) -> Iterable[str]:
    draw = s.get("draw")
    if draw:
        yield (f"Up to {draw.get('max_samples_per_question')} solutions per kept problem, drawn with seed "
               f"{draw.get('seed')} from all models' solutions, balanced between right and wrong where a "
               "problem has both, never the same solution twice. Truncated solutions "
               + ("were included" if draw.get("include_truncated") else "were skipped")
               + "; disputed ones " + ("were included." if draw.get("include_disputed") else "were held back."))
    else:
        yield "The draw's settings were not recorded (a summary from an older version); its counts follow."
    yield ""
    held = s.get("held_back_disputed") or {}
    yield (f"{s.get('rows', '?')} rows from {s.get('problems', '?')} problems; skipped: truncated "
           f"{s.get('skipped_truncated', '?')}, duplicate text {s.get('skipped_duplicate', '?')}, disputed "
           f"{sum(held.values()) if isinstance(held, dict) else held}; problems with no usable row: "
           f"{s.get('problems_without_rows', '?')}.")
    per = s.get("rows_per_problem")
    if per:
        yield "Rows per problem (right/wrong): " + ", ".join(f"{k} {v}" for k, v in per.items()) + "."
    yield ""


@from_step("### Step 4: the prompt budget", "critique")
def budget_section(s: dict) -> Iterable[str]:
    budget = s.get("max_prompt_tokens")
    lengths = s.get("prompt_lengths") or {}
    unit = lengths.get("unit", "characters")
    if budget:
        over = s.get("over_budget") or []
        removed = sum(o.get("solutions", 0) for o in over)
        tokenizer = base_name(s.get("tokenizer") or "not recorded")
        yield (f"Only solutions whose critique prompt fits {budget} tokens of `{tokenizer}`'s chat template"
               f" (counted as verl counts them, so verl's `data.max_prompt_length={budget}` keeps every "
               f"row) were drawn: {removed} solutions were over it and not drawn"
               + (" (" + ", ".join(f"{o.get('model')} {o.get('target')} {o.get('solutions')}" for o in over) + ")"
                  if over else "") + ".")
        before = s.get("without_budget") or {}
        if before:
            bt = before.get("targets") or {}
            now = s.get("targets") or {}
            yield (f"Without the budget the draw would have given {before.get('rows')} rows, right "
                   f"{pct(bt.get('right', 0), before.get('rows', 0))}; with it, {s.get('rows')} rows, right "
                   f"{pct(now.get('right', 0), s.get('rows') or 0)}.")
    else:
        yield ("No prompt budget: rows were not limited by prompt length. verl drops every row over its "
               "`data.max_prompt_length` at load time.")
    if lengths:
        yield ""
        yield (f"Prompt lengths in {unit}: min {lengths.get('min')}, median {lengths.get('median')}, max "
               f"{lengths.get('max')}" + (", rows over " + ", ".join(f"{k}: {v}" for k, v in
                                                                     (lengths.get('over') or {}).items())
                                          if lengths.get("over") else "") + ".")
    yield ""


@from_step("### Step 5: the held-out split", "format")
def split_section(s: dict) -> Iterable[str]:
    size = s.get("val_size")
    how = (f"{size} of the problems" if isinstance(size, float) else f"{size} problems") if size else "none"
    problems = s.get("val_problems", 0)
    yield (f"Held out: {how} (`--val_size {size}`, seed {s.get('seed')}): {problems} problem"
           + "s" * (problems != 1) + f", {s.get('val_rows', 0)} rows: every row of a held-out problem, and "
           "only those.")
    yield ""


def teacher_section(prov: Provenance, items: list[SplitFile]) -> Iterable[str]:
    """Step 6, when it ran: the teacher, the rows it covered of those available, what it kept, and its agreement
    with the labels."""
    s = prov.step("sft")
    if s is None:
        return
    yield "### Step 6: the teacher's critiques (`sft`)"
    yield ""
    available = {item.split: item.rows for item in items if item.config.name == "rl"}
    asked = s.get("input_rows") or {}
    covered = s.get("rows_covered") or {}
    parts = []
    for split, key in ((TRAIN, "train"), (VALIDATION, "val")):
        if key in asked and split in available:
            parts.append(f"{asked[key]} of the {available[split]} `rl` {split} rows, {covered.get(key, '?')} of "
                         "them with a kept critique")
    if parts:
        limit = f" (`--max_rows {s['max_rows']}`: the first rows of each file)" if s.get("max_rows") else ""
        yield f"Coverage: the teacher critiqued {' and '.join(parts)}{limit}."
        yield ""
    sampling = s.get("sampling") or {}
    agreement = s.get("agreement")
    yield (f"Teacher: `{model_name(s.get('teacher_model'))}`, {sampling.get('n', '?')} critiques per row "
           f"(temperature {sampling.get('temperature', '?')}, at most {sampling.get('max_tokens', '?')} tokens), "
           f"prompt mode `{s.get('mode', 'not recorded')}`. A critique was kept only where its verdict, read by "
           "the reward's own parser, is the row's label; at most "
           f"{s.get('keep_per_row', '?')} distinct critiques per row. Kept: {s.get('kept', '?')} of "
           f"{s.get('critiques_sampled', '?')} sampled; endings rewritten to the exact format: "
           f"{(s.get('outcomes') or {}).get('rewritten', 0)}.")
    yield ""
    yield ("The teacher's agreement with the labels (when it gave a verdict): "
           + (f"{100 * agreement:.1f}%" if isinstance(agreement, float) else "not recorded") + "; by label: "
           + (", ".join(f"{label} {100 * row['agreement']:.1f}%" for label, row in
                        (s.get("agreement_by_label") or {}).items() if isinstance(row.get("agreement"), float))
              or "not recorded")
           + f". Rows where every critique contradicted the label: {s.get('doubted', 'not recorded')}.")
    yield ""


def critic_section(prov: Provenance, items: list[SplitFile]) -> Iterable[str]:
    """The critic's report card (``evaluate_critic.py``), when one was left beside the data: the critic, the rows it
    was judged on, and its figures, as its report gives them."""
    s = prov.step("evaluate")
    if s is None or s.get("accuracy") is None and s.get("average_f1") is None:
        return
    from cft.common.jsonio import sha256_file

    def pc(value) -> str:
        return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "not recorded"

    yield "## A critic judged on these rows"
    yield ""
    sampling = s.get("sampling") or {}
    critic = f"`{model_name(s.get('model'))}`, {sampling.get('n', '?')} verdict(s) per case"
    if s.get("accuracy") is not None:
        val = next((i for i in items if i.config.name == "rl" and i.split == VALIDATION), None)
        same = val is not None and (s.get("input_sha256") == sha256_file(val.source) or (
            base_name(s.get("input_file", "")).rsplit(".", 1)[0] == val.source.stem and s.get("n") == val.rows))
        where = (f"{s.get('n')} of the {val.rows} `rl` validation rows" if same else
                 f"{s.get('n')} rows of `{base_name(s.get('input_file', 'not recorded'))}`")
        yield (f"`evaluate_critic.py` judged {critic}, on {where}, with the prompt the rows give and the reward's "
               f"verdict parser: accuracy {pc(s.get('accuracy'))} (on right solutions {pc(s.get('accuracy_right'))}, "
               f"on wrong ones {pc(s.get('accuracy_wrong'))}), F1 for finding wrong solutions {pc(s.get('f1_wrong'))}, "
               f"no verdict {pc(s.get('no_verdict_rate'))}.")
        yield ""
    if s.get("average_f1") is not None:
        step_data = s.get("step_data") or {}
        subsets = ", ".join(f"{name} {pc(m.get('f1'))}" for name, m in (s.get("subsets") or {}).items())
        source = str(step_data.get("source", "not recorded"))
        yield (f"On step-labelled rows (`{base_name(source) if is_local(source) else source}`), its F1 as ProcessBench "
               f"computes it: {subsets}; average {pc(s.get('average_f1'))}.")
        yield ""


def limitations_section(items: list[SplitFile], prov: Provenance) -> Iterable[str]:
    yield "## Known limitations"
    yield ""
    yield ("- A label checks only the final answer against the ground truth, not the reasoning: a solution "
           "that reaches the right answer by wrong steps is labelled `right`, and a right answer in a form the "
           "grader cannot read is labelled `wrong`.")
    yield "- The ground truth is the input's; an error in it becomes a wrong label."
    yield "- No person reviewed the solutions or the labels."
    step0 = prov.step("decontaminate")
    if step0 and not step0.get("skipped") and (step0.get("eval_sets") or step0.get("not_checked")):
        checked = ", ".join(f"`{n}`" for n in step0.get("eval_sets") or {}) or "no evaluation set"
        missing = ", ".join(f"`{n}`" for n in step0.get("not_checked") or {})
        yield (f"- Decontamination covers only {checked}" + (f"; not checked against {missing}" if missing else "")
               + "; a problem of another benchmark may remain.")
    elif step0 is None or step0.get("skipped"):
        yield "- Decontamination: not recorded or not done; the problems may include benchmark problems."
    yield ("- The solutions are model-generated (synthetic): they carry the style and the errors of the models "
           "that wrote them.")
    if any(i.config.name == "sft" for i in items):
        yield ("- The `sft` critiques are a teacher model's: each one's verdict agrees with the label, but its "
               "reasoning was not checked, and it can reach the right verdict for a wrong reason.")
    val = [i for i in items if i.split == VALIDATION]
    if any(i.rows < 1000 for i in val):
        small = min(i.rows for i in val)
        yield f"- The validation split is small ({small} rows): accuracy on it is a coarse estimate."
    small = [f"{i.rows} `{i.config.name}`" for i in items if i.split == TRAIN and i.rows < 1000]
    if small:
        yield f"- Small: {' and '.join(small)} training rows."
    yield ""


def license_section(license: str | None) -> Iterable[str]:
    yield "## Licence"
    yield ""
    if license:
        yield (f"`{license}`, as chosen by whoever built this folder (`build_dataset.py --license`). The terms "
               "of the input problem set and of the models that wrote the solutions still apply to their parts.")
    else:
        yield ("Unknown: the folder was built without `--license`. The rows are made of the input problem set, "
               "whose licence binds what may be done with them, and of text the models generated, whose terms "
               "may restrict its use (some model licences restrict training other models on their outputs). "
               "Until a licence is set, others cannot know whether they may use this data; set one with "
               "`build_dataset.py --license ID` (a Hub licence identifier) before publishing.")
    yield ""


def base_name(path: str) -> str:
    """A file's name without the folders of the machine that made it."""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
