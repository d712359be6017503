"""Step 3: keep the problems whose solutions disagree.

A problem is removed when every model answered all of its samples correctly,
or every model answered all incorrectly; every other problem is kept (a model
mixed, or the models on opposite sides). Any number of models (two by default).
Kept rows carry every field of the original input row plus ``index``, and per
model (by alias) its solutions, its count of correct ones, and its all-correct
and all-wrong flags.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file, write_json_list
from cft.common.progress import progress_bar
from cft.curate.pass_band import PassBand
from cft.records.problems import parse_source, to_problem
from cft.records.solutions import num_correct, result_index

KEPT, ALL_CORRECT, ALL_WRONG, MISSING = "kept", "all_correct", "all_wrong", "missing"


@dataclass
class FilterStats:
    aliases: tuple[str, ...]
    total: int = 0
    reasons: Counter = field(default_factory=Counter)
    # per alias: histogram of num_correct over all problems, and over kept ones
    hist_all: dict[str, Counter] = field(default_factory=dict)
    hist_kept: dict[str, Counter] = field(default_factory=dict)
    num_samples: dict[str, int] = field(default_factory=dict)
    # pooled correct samples of all models per problem: over all problems, and over kept ones
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
        recorded = f" (their metadata names {meta['input_file']})" if meta.get("input_file") else ""
        raise CftError(
            f"{path}: {alias} solutions were generated from another input "
            f"(sha256 {meta['input_sha256'][:12]}..., {original_file} is {original_sha[:12]}...); pass "
            f"--original_file with the problem set they were generated from{recorded}"
        )
    return meta, _checked(path, rows)


def recorded_input(files: dict[str, str | Path]) -> str | None:
    """The problem set the merged files' metadata names, where it still exists and every file names the same one
    (step 0's clean file when generation read it): the default ``--original_file``."""
    named = set()
    for path in files.values():
        try:
            meta, rows = open_results_file(path)
        except CftError:
            return None  # the step reads the file again and says what is wrong with it
        close = getattr(rows, "close", None)
        if close:
            close()
        named.add(meta.get("input_file"))
    found = named.pop() if len(named) == 1 else None
    try:
        return found and parse_source(found) and found  # a file or folder still there, or a Hub dataset
    except CftError:
        return None


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


def decide(counts: Sequence[int], sizes: Sequence[int], band: PassBand | None = None) -> str:
    """The keep rule, for each model's correct count of its samples: removed when every model got all its
    samples right, or every model got all wrong; then, if given, the pass-rate band."""
    if all(n and c == n for c, n in zip(counts, sizes)):
        return ALL_CORRECT
    if not any(counts):
        return ALL_WRONG
    return (band.check(counts, sizes) if band else None) or KEPT


def filter_rows(original: list, results: dict[str, Iterator[dict]], allow_partial: bool = False,
                original_file: str | Path = "original", progress: bool = True,
                band: PassBand | None = None) -> tuple[Iterator[dict], FilterStats]:
    """Kept rows (a generator) and the stats it fills as it runs.

    ``results`` maps each alias (``qwen25``, ``qwen3``, any number of models) to its result rows in
    increasing index order (``open_merged``); the files are walked in lockstep, so memory holds one
    row of each. ``band``: a pass-rate band applied on top of the keep rule.
    """
    if not results:
        raise CftError("no solutions files to filter")
    total = len(original)
    aliases = tuple(results)
    stats = FilterStats(aliases, band=band)
    for alias in aliases:
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
        rows = progress_bar(original, desc="filter", unit="problem", mininterval=2, disable=not progress)
        for index, row in enumerate(rows):
            stats.total += 1
            found = [take(alias, index) for alias in aliases]
            if None in found:
                who = aliases[found.index(None)]
                if not allow_partial:
                    raise CftError(
                        f"problem {index} is missing from the {who} solutions "
                        "(merge all chunks first, or pass --allow_partial)"
                    )
                stats.reasons[MISSING] += 1
                continue
            truth = to_problem(row, index, original_file).answer
            for alias, res in zip(aliases, found):
                if str(res.get("ground_truth", truth)) != truth:
                    raise CftError(
                        f"problem {index}: {alias} solutions were graded against "
                        f"{res.get('ground_truth')!r}, but {original_file} row {index} has answer "
                        f"{truth!r}: solutions of another input?"
                    )
            counts = [num_correct(r["solutions"]) for r in found]
            sizes = [len(r["solutions"]) for r in found]
            for alias, c, n in zip(aliases, counts, sizes):
                stats.hist_all[alias][c] += 1
                stats.num_samples[alias] = max(stats.num_samples.get(alias, 0), n)
            stats.pooled_all[sum(counts)] += 1
            stats.pooled_samples = max(stats.pooled_samples, sum(sizes))
            reason = decide(counts, sizes, band)
            stats.reasons[reason] += 1
            if reason != KEPT:
                continue
            stats.pooled_kept[sum(counts)] += 1
            for alias, c in zip(aliases, counts):
                stats.hist_kept[alias][c] += 1
            out = dict(row)
            out["index"] = index
            for alias, res in zip(aliases, found):
                out[f"{alias}_solutions"] = res["solutions"]
            for alias, c in zip(aliases, counts):
                out[f"{alias}_num_correct"] = c
            for alias, c, n in zip(aliases, counts, sizes):
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
