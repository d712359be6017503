"""Step 3: keep the problems whose solutions disagree.

A problem is removed when both models answered all of its samples correctly,
or both answered all incorrectly; every other problem is kept (one model
mixed, or the two models on opposite sides). Kept rows carry every field of
the original input row plus ``index``, each model's solutions and counts, and
the four all-correct / all-wrong flags.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from cft.errors import CftError
from cft.inputs import to_problem
from cft.jsonio import open_results_file, write_json_list
from cft.pass_band import PassBand
from cft.solutions import result_index

KEPT, BOTH_ALL_CORRECT, BOTH_ALL_WRONG, MISSING = "kept", "both_all_correct", "both_all_wrong", "missing"


@dataclass
class FilterStats:
    aliases: tuple[str, str]
    total: int = 0
    reasons: Counter = field(default_factory=Counter)
    # per alias: histogram of num_correct over all problems, and over kept ones
    hist_all: dict[str, Counter] = field(default_factory=dict)
    hist_kept: dict[str, Counter] = field(default_factory=dict)
    num_samples: dict[str, int] = field(default_factory=dict)
    # pooled correct samples of both models per problem: over all problems, and over kept ones
    pooled_all: Counter = field(default_factory=Counter)
    pooled_kept: Counter = field(default_factory=Counter)
    pooled_samples: int = 0
    band: PassBand | None = None


def open_merged(path: str | Path, alias: str, original_file: str | Path | None = None,
                original_sha: str | None = None) -> tuple[dict, Iterator[dict]]:
    """A merged solutions file as (metadata, result rows streamed in index order).

    Refuses a file generated from another input (its metadata's input hash).
    """
    meta, rows = open_results_file(path)
    if original_sha and meta.get("input_sha256") and meta["input_sha256"] != original_sha:
        raise CftError(
            f"{path}: {alias} solutions were generated from another input "
            f"(sha256 {meta['input_sha256'][:12]}..., {original_file} is {original_sha[:12]}...)"
        )
    return meta, _checked(path, rows)


def _checked(path, rows: Iterator[dict]) -> Iterator[dict]:
    """Rows with a valid, strictly increasing index (merge writes them sorted, each once)."""
    last = -1
    for row_no, row in enumerate(rows):
        index = result_index(path, row_no, row)
        if index <= last:
            what = "is negative" if index < 0 else f"appears twice or out of order (after {last})"
            raise CftError(f"{path}: index {index} {what}")
        last = index
        yield row


def _num_correct(row: dict) -> int:
    return sum(1 for s in row["solutions"] if s.get("correct"))


def decide(correct_a: int, n_a: int, correct_b: int, n_b: int, band: PassBand | None = None) -> str:
    """The keep rule: removed when both all-correct or both all-wrong; then, if given, the pass-rate band."""
    if n_a and n_b and correct_a == n_a and correct_b == n_b:
        return BOTH_ALL_CORRECT
    if correct_a == 0 and correct_b == 0:
        return BOTH_ALL_WRONG
    return (band.check(correct_a, n_a, correct_b, n_b) if band else None) or KEPT


def filter_rows(original: list, results: dict[str, Iterator[dict]], allow_partial: bool = False,
                original_file: str | Path = "original", progress: bool = True,
                band: PassBand | None = None) -> tuple[Iterator[dict], FilterStats]:
    """Kept rows (a generator) and the stats it fills as it runs.

    ``results`` maps each alias (``qwen25``, ``qwen3``) to its result rows in
    increasing index order (``open_merged``); the three files are walked in
    lockstep, so memory holds one row of each. ``band``: a pass-rate band
    applied on top of the keep rule.
    """
    total = len(original)
    a, b = tuple(results)
    stats = FilterStats((a, b), band=band)
    for alias in results:
        stats.hist_all[alias], stats.hist_kept[alias] = Counter(), Counter()
    heads = {alias: next(rows, None) for alias, rows in results.items()}

    def take(alias: str, index: int) -> dict | None:
        """The row of ``index`` from ``alias``'s stream, or None if the stream has no such row."""
        head = heads[alias]
        if head is None or head["index"] > index:
            return None
        heads[alias] = next(results[alias], None)
        return head

    def rows_out() -> Iterator[dict]:
        rows = tqdm(original, desc="filter", unit="problem", mininterval=2, disable=not progress)
        for index, row in enumerate(rows):
            stats.total += 1
            pair = [take(a, index), take(b, index)]
            if pair[0] is None or pair[1] is None:
                who = a if pair[0] is None else b
                if not allow_partial:
                    raise CftError(
                        f"problem {index} is missing from the {who} solutions "
                        "(merge all chunks first, or pass --allow_partial)"
                    )
                stats.reasons[MISSING] += 1
                continue
            truth = to_problem(row, index, original_file).answer
            for alias, res in zip((a, b), pair):
                if str(res.get("ground_truth", truth)) != truth:
                    raise CftError(
                        f"problem {index}: {alias} solutions were graded against "
                        f"{res.get('ground_truth')!r}, but {original_file} row {index} has answer "
                        f"{truth!r}: solutions of another input?"
                    )
            counts = [_num_correct(r) for r in pair]
            sizes = [len(r["solutions"]) for r in pair]
            for alias, c, n in zip((a, b), counts, sizes):
                stats.hist_all[alias][c] += 1
                stats.num_samples[alias] = max(stats.num_samples.get(alias, 0), n)
            stats.pooled_all[sum(counts)] += 1
            stats.pooled_samples = max(stats.pooled_samples, sum(sizes))
            reason = decide(counts[0], sizes[0], counts[1], sizes[1], band)
            stats.reasons[reason] += 1
            if reason != KEPT:
                continue
            stats.pooled_kept[sum(counts)] += 1
            for alias, c in zip((a, b), counts):
                stats.hist_kept[alias][c] += 1
            out = dict(row)
            out["index"] = index
            for alias, res in zip((a, b), pair):
                out[f"{alias}_solutions"] = res["solutions"]
            for alias, c in zip((a, b), counts):
                out[f"{alias}_num_correct"] = c
            for alias, c, n in zip((a, b), counts, sizes):
                out[f"{alias}_all_correct"] = n > 0 and c == n
                out[f"{alias}_all_wrong"] = c == 0
            yield out
        for alias, head in heads.items():
            if head is not None and head["index"] >= total:
                raise CftError(
                    f"{alias} solutions have index {head['index']}, but {original_file} has only "
                    f"{total} rows: solutions of another input?"
                )
            if head is not None:
                raise CftError(f"{alias} solutions: index {head['index']} is out of order")

    return rows_out(), stats


def filter_files(original: list, files: dict[str, str | Path], output_file: str | Path,
                 allow_partial: bool = False, original_file: str | Path = "original",
                 original_sha: str | None = None, band: PassBand | None = None) -> tuple[int, FilterStats]:
    """Step 3 from files to file; returns the kept count and the stats."""
    results = {alias: open_merged(path, alias, original_file, original_sha)[1] for alias, path in files.items()}
    rows, stats = filter_rows(original, results, allow_partial, original_file, band=band)
    return write_json_list(output_file, rows), stats
