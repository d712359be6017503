"""The pass-rate picture: per model, how many problems got k of n samples right."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cft.filter import FilterStats
from cft.jsonio import atomic_open


def plot_pass_rates(stats: FilterStats, path: str | Path) -> Path:
    """One panel per model: all problems (grey) and kept ones (blue) per correct-of-n.

    The two ends (0 and n correct) are shaded: a problem there is removed only
    when the other model sits at the same end.
    """
    aliases = stats.aliases
    fig, axes = plt.subplots(1, len(aliases), figsize=(5.5 * len(aliases), 4), sharey=True)
    for ax, alias in zip(axes, aliases):
        n = stats.num_samples.get(alias, 0)
        ks = list(range(n + 1))
        all_counts = [stats.hist_all[alias].get(k, 0) for k in ks]
        kept = [stats.hist_kept[alias].get(k, 0) for k in ks]
        ax.bar(ks, all_counts, color="#c8c8c8", label="all problems")
        ax.bar(ks, kept, color="#3a78c2", width=0.6, label="kept")
        for end in (0, n):
            ax.axvspan(end - 0.5, end + 0.5, color="#f2b134", alpha=0.2, lw=0, zorder=0)
        ax.set_title(f"{alias}: correct out of {n} per problem")
        ax.set_xlabel("correct samples")
        ax.set_xticks(ks)
    axes[0].set_ylabel("problems")
    axes[0].legend(loc="upper center")
    removed = {k: v for k, v in stats.reasons.items() if k != "kept"}
    fig.suptitle(f"{stats.total} problems, kept {stats.reasons.get('kept', 0)}, removed "
                 + ", ".join(f"{k} {v}" for k, v in sorted(removed.items()))
                 + "\n(shaded: all wrong / all right; removed when both models sit at the same end)",
                 fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path
