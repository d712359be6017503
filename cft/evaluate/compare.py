"""Two report cards side by side (``evaluate_critic.py --compare``): before and after training, or two critics.

Each figure both reports have (the outcome figures, each sample's, by group, the calibration error, each
step-level subset's) is printed with its value in each and the change in percentage points. What they were
made from comes first; where the two differ in their data (the inputs' hashes), the figures are not of the
same cases, and the table says so.
"""

from __future__ import annotations

from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import read_json
from cft.evaluate.metrics import GROUPS
from cft.evaluate.report import FIGURES, STEP, percent

STEP_FIGURES = ("error_acc", "correct_acc", "f1")


def read_report(path: str | Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict) or data.get("step") != STEP or "model" not in data:
        raise CftError(f"{path}: not a report of evaluate_critic.py (its report.json or --summary_json)")
    return data


def figures(report: dict) -> dict[str, float | None]:
    """Every comparable figure of a report, by a name that says where it is."""
    out: dict[str, float | None] = {}
    if "accuracy" in report:
        out.update({f: report[f] for f in FIGURES})
        if report.get("sampling", {}).get("n", 1) > 1:
            out.update({f"each sample: {f}": report["per_sample"][f] for f in FIGURES})
        for group in GROUPS:
            for name, m in (report.get(f"by_{group}") or {}).items():
                out[f"{group} {name}: accuracy"] = m["accuracy"]
        if report.get("calibration"):
            out["calibration error (ECE)"] = report["calibration"]["ece"]
    for name, m in (report.get("subsets") or {}).items():
        out.update({f"{name}: {f}": m[f] for f in STEP_FIGURES})
    if "average_f1" in report:
        out["step level: average F1"] = report["average_f1"]
    return out


def _change(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None else f"{100 * (b - a):+.1f} pts"


def compare(earlier: dict, later: dict, names: tuple[str, str] = ("earlier", "later")) -> str:
    """The two reports side by side, as printed lines."""
    before, after = figures(earlier), figures(later)
    keys = list(before) + [k for k in after if k not in before]
    rows = [("", *names, "change"),
            ("critic", earlier["model"], later["model"], ""),
            ("samples per case", str(earlier["sampling"]["n"]), str(later["sampling"]["n"]), "")]
    for key, what in (("input_sha256", "outcome data (sha256)"), ("step_data", "step-level data (sha256)")):
        a, b = earlier.get(key), later.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            a, b = (a or {}).get("sha256"), (b or {}).get("sha256")
        if a or b:
            rows.append((what, (a or "-")[:12], (b or "-")[:12],
                         "same" if a == b else "DIFFERENT DATA" if a and b else ""))
    rows += [(k, percent(before.get(k)), percent(after.get(k)), _change(before.get(k), after.get(k)))
             for k in keys]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(f"{r[0].ljust(widths[0])}  {r[1].rjust(widths[1])}  {r[2].rjust(widths[2])}  "
                     f"{r[3].rjust(widths[3])}".rstrip() for r in rows)
