"""The pass-rate picture: per model, how many problems got k of n samples right."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cft.common.jsonio import atomic_open
from cft.curate.filter import FilterStats


def plot_pass_rates(stats: FilterStats, path: str | Path) -> Path:
    """One panel per model: all problems (grey) and kept ones (blue) per correct-of-n.

    The two ends (0 and n correct) are shaded: a problem there is removed only
    when every other model sits at the same end. A last panel shows the pooled
    correct count of all models, and where a pass-rate band (``stats.band``) cuts it.
    """
    aliases = stats.aliases
    fig, axes = plt.subplots(1, len(aliases) + 1, figsize=(5.5 * (len(aliases) + 1), 4), sharey=True)
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
    _pooled_panel(axes[-1], stats)
    axes[0].set_ylabel("problems")
    axes[0].legend(loc="upper center")
    removed = {k: v for k, v in stats.reasons.items() if k != "kept"}
    fig.suptitle(f"{stats.total} problems, kept {stats.reasons.get('kept', 0)}, removed "
                 + ", ".join(f"{k} {v}" for k, v in sorted(removed.items()))
                 + "\n(shaded: all wrong / all right; removed when every model sits at the same end)",
                 fontsize=9)
    fig.tight_layout()
    fig.subplots_adjust(top=0.82)
    path = Path(path)
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path


def _pooled_panel(ax, stats: FilterStats) -> None:
    """Pooled correct-of-n over all models, all and kept; the band's edges as dashed lines."""
    n = stats.pooled_samples
    ks = list(range(n + 1))
    ax.bar(ks, [stats.pooled_all.get(k, 0) for k in ks], color="#c8c8c8", label="all problems")
    ax.bar(ks, [stats.pooled_kept.get(k, 0) for k in ks], color="#3a78c2", width=0.6, label="kept")
    band = stats.band
    title = f"all models: correct out of {n} per problem"
    if band is not None and not band.per_model:
        kept = band.kept_counts(n)
        for edge in (kept.start - 0.5, kept.stop - 0.5):
            ax.axvline(edge, color="#c0392b", ls="--", lw=1.2)
        ax.axvspan(-0.5, kept.start - 0.5, color="#c0392b", alpha=0.08, lw=0)
        ax.axvspan(kept.stop - 0.5, n + 0.5, color="#c0392b", alpha=0.08, lw=0)
        title += f"\nband {band.describe(n)} (outside: red)"
    elif band is not None:
        title += f"\nband per model [{band.min_rate:g}, {band.max_rate:g}]"
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("correct samples, all models")
    ax.set_xticks(ks if n <= 20 else ks[::max(1, n // 16)])
