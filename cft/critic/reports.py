"""The summaries of steps 4 and 5 (critique rows, verl rows): printed lines and JSON facts
(``cft.common.summary``), kept beside the steps' code; the dataset card reads their facts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cft.common.summary import Summary, pct
from cft.critic.prompt_budget import length_summary


def critique_summary(n: int, stats, draw: dict, tokenizer: str | None, max_prompt_tokens: int | None,
                     analyze: bool, output_file, elapsed_s: float) -> Summary:
    """Step 4's summary: rows and their label mix, the draw, what was skipped or held back, prompt lengths and
    what the budget removed."""
    s = Summary("critique", "critique data")
    s.row("problems", stats.problems, key="problems")
    s.row("critique rows", n, key="rows", headline=True)
    for target in ("right", "wrong"):
        s.row(target, pct(stats.targets[target], n), headline=True)
    s.fact("targets", stats.targets).fact("by_model", stats.by_model)
    s.fact("draw", draw)
    s.row("skipped truncated", stats.skipped_truncated, key="skipped_truncated")
    s.row("skipped duplicate text", stats.skipped_duplicate, key="skipped_duplicate")
    s.row("held back disputed", sum(stats.skipped_disputed.values()), key="held_back_disputed",
          value=stats.skipped_disputed)
    for reason, count in stats.skipped_disputed.most_common():
        s.row(f"  disputed: {reason}", count)
    per_problem = {f"{r}R/{w}W": c for (r, w), c in sorted(stats.per_problem.items())}
    s.fact("rows_per_problem", per_problem).fact("problems_without_rows", stats.no_rows)
    if analyze:
        for model, counts in sorted(stats.by_model.items()):
            total = sum(counts.values())
            s.row(model, f"{total} rows, right {pct(counts['right'], total)}, wrong {pct(counts['wrong'], total)}")
        s.row("rows per problem (right/wrong)", " ".join(f"{k}:{v}" for k, v in per_problem.items()))
        s.row("problems with no usable row", stats.no_rows)
    else:
        s.row("per model", ", ".join(f"{m} {sum(c.values())}" for m, c in sorted(stats.by_model.items())))
    lengths = length_summary(stats.prompt_lengths, stats.length_unit)
    s.fact("prompt_lengths", lengths).fact("tokenizer", tokenizer)
    s.fact("max_prompt_tokens", max_prompt_tokens)
    budget_lines(s, stats, lengths, max_prompt_tokens)
    s.fact("elapsed_s", round(elapsed_s, 3))
    s.wrote(output_file)
    return s


def budget_lines(s: Summary, stats, lengths: dict, budget: int | None) -> None:
    """Prompt lengths, and with a budget what it removed and how it moved the label mix."""
    unit = lengths["unit"]
    if not lengths["rows"]:
        return
    s.row(f"prompt {unit} min/median/p90/max",
          f"{lengths['min']}/{lengths['median']}/{lengths['p90']}/{lengths['max']}")
    if budget is None:
        over = ", ".join(f"{t}: {c}" for t, c in lengths["over"].items())
        s.row(f"rows over N {unit}", over + ("" if unit == "tokens" else
                                              "  (characters; --tokenizer counts tokens as verl does)"))
        return
    removed = sum(stats.over_budget.values())
    s.row("prompt budget", f"{budget} tokens: {removed} solutions over it, not drawn", headline=True)
    for model in sorted({m for m, _ in stats.over_budget}):
        s.row(f"  over budget, {model}",
              ", ".join(f"{t} {stats.over_budget[(model, t)]}" for t in ("right", "wrong")))
    before = stats.unbudgeted
    s.row("without the budget", f"{before.rows} rows, right {pct(before.targets['right'], before.rows)}, "
                                f"wrong {pct(before.targets['wrong'], before.rows)}")
    s.row("with the budget", f"{stats.rows} rows, right {pct(stats.targets['right'], stats.rows)}, "
                             f"wrong {pct(stats.targets['wrong'], stats.rows)}")
    s.fact("over_budget", [{"model": m, "target": t, "solutions": c}
                           for (m, t), c in sorted(stats.over_budget.items())])
    s.fact("without_budget", {"rows": before.rows, "targets": dict(before.targets),
                              "problems_with_rows": before.problems - before.no_rows})



def format_summary(rows: list[dict], val_rows: list[dict], held, val_size, seed: int, analyze: bool,
                   outputs: list[Path], stale: list[Path], elapsed_s: float) -> Summary:
    """Step 5's summary: the training rows and their labels, the held-out problems and rows, the files."""
    labels = Counter(r["answer"] for r in rows)
    s = Summary("format", "verl rows")
    s.row("rows", len(rows), key="rows")
    s.row("right", pct(labels["right"], len(rows)))
    s.row("wrong", pct(labels["wrong"], len(rows)))
    s.brief("training rows", len(rows))
    s.fact("targets", labels).fact("by_source_model", Counter(r["source_model"] for r in rows))
    if val_size:
        val_labels = Counter(r["answer"] for r in val_rows)
        problems = f"{len(held)} problem" + "s" * (len(held) != 1)
        s.row("held out (validation)", f"{problems}, {len(val_rows)} rows, right "
              f"{pct(val_labels['right'], len(val_rows))}, wrong {pct(val_labels['wrong'], len(val_rows))}"
              if held else "none (too few problems): no _val files written")
    s.brief("held out (validation)", f"{len(val_rows)} rows of {len(held)} problem" + "s" * (len(held) != 1))
    s.fact("val_size", val_size).fact("seed", seed).fact("val_problems", len(held))
    s.fact("val_rows", len(val_rows)).fact("val_targets", Counter(r["answer"] for r in val_rows))
    if analyze:
        lengths = sorted(r["prompt_chars"] for r in rows)
        s.row("prompt chars min/median/max", f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}")
        s.row("by source model", ", ".join(f"{m} {n}" for m, n in Counter(r["source_model"] for r in rows).items()))
    for path in outputs if held else outputs[:2]:
        s.wrote(path)
    for path in stale if not held else []:
        s.row("removed (an earlier run's)", path)
    s.fact("elapsed_s", round(elapsed_s, 3))
    return s
