"""The summary of ``build_dataset.py``: rows per config and split, where the data files came from, what the
card was written from, the licence and the folder's files."""

from __future__ import annotations

from cft.common.summary import Summary, pct


def dataset_summary(built, license: str | None, elapsed_s: float) -> Summary:
    """``built``: what ``cft.dataset.build.build`` made."""
    s = Summary("dataset", "dataset folder")
    for item in built.items:
        labels = ", ".join(f"{label} {pct(n, item.rows)}" for label, n in item.labels.items())
        s.row(f"{item.config.name} {item.split}", f"{item.rows} rows ({labels})")
    for config, why in built.left_out:
        s.row(f"{config.name}", f"left out: {why}")
    s.fact("configs", {c: {i.split: i.rows for i in built.items if i.config.name == c}
                       for c in dict.fromkeys(i.config.name for i in built.items)})
    s.row("data files", built.placement, key="placement")
    described = "the run's summaries" if built.prov.summaries else f"the files only ({built.prov.unused})"
    s.row("card written from", described, key="described_from")
    s.row("licence", license or "unknown (--license not given)", key="license", value=license)
    splits = "; ".join(f"{c} " + ", ".join(f"{split} {n}" for split, n in v.items())
                       for c, v in s.facts["configs"].items())
    s.brief("dataset", f"{built.output}: {splits} rows ({built.placement})")
    s.brief("check it", f"python build_dataset.py --verify {built.output}")
    s.wrote(built.output / "README.md", "card", headline=False)
    s.wrote(built.output / "manifest.json", "manifest", headline=False)
    for item in built.items:
        s.output(built.output / item.path)
    s.fact("elapsed_s", round(elapsed_s, 3))
    s.row("time", f"{s.facts['elapsed_s']:.1f} s")
    return s
