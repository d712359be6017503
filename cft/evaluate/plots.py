"""The report card's picture (``report.png``): accuracy by source model and by pass band (on right and on wrong
solutions, and overall), the reliability diagram, and the step-level figures per subset; each panel only where
the report has its figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cft.common.jsonio import atomic_open

COLOURS = {"accuracy": "#3a78c2", "accuracy_right": "#5aa469", "accuracy_wrong": "#c0392b",
           "error_acc": "#c0392b", "correct_acc": "#5aa469", "f1": "#3a78c2"}
LABELS = {"accuracy": "all", "accuracy_right": "on right", "accuracy_wrong": "on wrong",
          "error_acc": "erroneous (exact step)", "correct_acc": "correct", "f1": "F1"}


def _bars(ax, table: dict[str, dict], keys: tuple[str, ...], title: str) -> None:
    names = list(table)
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        xs = [i + (j - (len(keys) - 1) / 2) * width for i in range(len(names))]
        ys = [100 * (table[n][key] or 0) for n in names]
        ax.bar(xs, ys, width, color=COLOURS[key], label=LABELS[key])
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n({table[n]['n']})" for n in names], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)


def _reliability(ax, cal: dict) -> None:
    ax.plot([0, 1], [0, 1], color="#888888", ls="--", lw=1)
    xs = [b["confidence"] for b in cal["bins"]]
    ys = [b["observed"] for b in cal["bins"]]
    sizes = [20 + 200 * b["n"] / max(1, max(c["n"] for c in cal["bins"])) for b in cal["bins"]]
    ax.scatter(xs, ys, s=sizes, color="#3a78c2", zorder=3)
    ax.plot(xs, ys, color="#3a78c2", lw=1)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("P(right): share of the K verdicts saying right")
    ax.set_ylabel("share labelled right")
    ax.set_title(f"reliability (ECE {100 * cal['ece']:.1f}%)", fontsize=10)


def plot_report(facts: dict, path: str | Path) -> Path:
    panels = []
    if "accuracy" in facts:
        panels.append(lambda ax: _bars(ax, facts["by_source_model"], ("accuracy", "accuracy_right", "accuracy_wrong"),
                                       "accuracy by source model"))
        if facts.get("by_band"):
            panels.append(lambda ax: _bars(ax, facts["by_band"], ("accuracy", "accuracy_right", "accuracy_wrong"),
                                           "accuracy by pass band"))
        if facts.get("calibration"):
            panels.append(lambda ax: _reliability(ax, facts["calibration"]))
    if facts.get("subsets"):
        panels.append(lambda ax: _bars(ax, facts["subsets"], ("error_acc", "correct_acc", "f1"),
                                       "step level (ProcessBench's metrics)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    for draw, ax in zip(panels, axes[0]):
        draw(ax)
    fig.suptitle(f"critic {facts['model']}, {facts['sampling']['n']} sample(s) per case", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    return path
