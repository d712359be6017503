"""Step 0: remove problems that copy an evaluation problem, and duplicates within the input.

Contamination: each input problem's normalised text (``cft.curate.normalize``) is
compared with every evaluation problem by rapidfuzz's ``fuzz.ratio``; a problem
scoring ``threshold`` (default 95, as OpenThoughts) or more against any of them
is removed. An n-gram check (on by default) also removes a problem that holds
90% of an evaluation problem's word 13-grams: a copy wrapped in a prompt or
instructions, which ``fuzz.ratio`` scores low.

Duplicates (``dedup``): the first occurrence of a problem is kept; a later row
is removed when its normalised text is the same (a hash), or when MinHash LSH
(datasketch) proposes an earlier kept row whose ``fuzz.ratio`` is at least
``dedup_threshold`` and whose normalised answer is the same (a problem with
other numbers and another answer is another problem).

Rows are never changed: the output holds the input's rows that were not
removed, in order, with every field as it was.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from cft.common.progress import progress_bar
from cft.curate.eval_sets.load import EvalSet
from cft.curate.normalize import normalize_problem, tokens
from cft.records.problems import to_problem

__all__ = ["EvalSet", "Removal", "clean", "find_contaminated", "find_duplicates", "input_texts"]

CONTAMINATED, DUPLICATE = "contaminated", "duplicate"
# the n-gram check's setting: of those measured (bench/decontamination.py), the only one that removed
# no clean problem, for 96% of the extra catch of the loosest
NGRAM, NGRAM_OVERLAP = 13, 0.9
BLOCK = 2048  # input problems per rapidfuzz call: bounds the score matrix (BLOCK x eval problems)


def input_texts(rows: list, source: str | Path) -> tuple[list[str], list[str]]:
    """Each input row's problem and final answer, checked as every step checks them where they enter
    (``cft.records.problems.to_problem``): the first row without a usable problem or answer is an error."""
    problems = [to_problem(row, i, source) for i, row in enumerate(rows)]
    return [p.question for p in problems], [p.answer for p in problems]


@dataclass(frozen=True)
class Removal:
    """One removed input row and why: the problem it matched and how closely."""

    index: int            # the row's position in the input file
    reason: str           # CONTAMINATED or DUPLICATE
    problem: str
    match: str            # the evaluation problem, or the kept input problem it duplicates
    match_source: str     # the evaluation set's name, or "input"
    match_index: int      # the match's row in its evaluation set, or its input position
    score: float          # fuzz.ratio of the normalised texts (0-100), or n-gram containment x 100
    method: str           # "fuzz", "ngram", "exact" or "minhash"

    def row(self) -> dict:
        return {"index": self.index, "reason": self.reason, "problem": self.problem, "match": self.match,
                "match_source": self.match_source, "match_index": self.match_index,
                "score": round(self.score, 2), "method": self.method}


class NgramIndex:
    """Word n-grams of the evaluation problems, to find input problems that hold most of one's.

    An evaluation problem of fewer than n tokens is indexed by its (n // 2)-grams; one of
    fewer than n // 2 tokens is left to ``fuzz.ratio`` (a few words recur in unrelated problems).
    """

    def __init__(self, normalized: list[str], n: int):
        self.owners: dict[tuple, list[int]] = {}
        self.lengths: set[int] = set()
        self.sizes = []
        for j, text in enumerate(normalized):
            toks = tokens(text)
            m = n if len(toks) >= n else n // 2
            grams = _grams(toks, m) if m >= 1 else set()
            self.sizes.append(len(grams))
            if grams:
                self.lengths.add(m)
            for g in grams:
                self.owners.setdefault(g, []).append(j)

    def best(self, normalized: str) -> tuple[int, float]:
        """The evaluation problem with the largest share of its n-grams in ``normalized``, and that share."""
        toks = tokens(normalized)
        hits: Counter = Counter()
        for m in self.lengths:
            for g in _grams(toks, m) & self.owners.keys():  # the intersection runs in C; hits are few
                for j in self.owners[g]:
                    hits[j] += 1
        if not hits:
            return -1, 0.0
        return max(((j, c / self.sizes[j]) for j, c in hits.items()), key=lambda t: t[1])


def _grams(toks: list[str], m: int) -> set[tuple]:
    return set(zip(*(toks[k:] for k in range(m))))  # the m-token windows, built in C


def find_contaminated(normalized: list[str], eval_sets: list[EvalSet], threshold: float = 95.0,
                      ngram: int = NGRAM, ngram_overlap: float = NGRAM_OVERLAP, problems: list[str] | None = None,
                      progress: bool = True) -> list[Removal]:
    """Input rows whose normalised problem matches an evaluation problem (in input order); a problem that
    is in several sets is reported as the first set's (in ``eval_sets`` order).

    ``fuzz.ratio >= threshold`` against any evaluation problem; with ``ngram > 0``, also a row
    that holds at least ``ngram_overlap`` of some evaluation problem's word ``ngram``-grams.
    """
    problems = problems if problems is not None else normalized
    # each distinct normalised evaluation problem once, owned by its first set and row (sets share problems:
    # ProcessBench's come from GSM8K, MATH and OlympiadBench)
    first: dict[str, tuple[EvalSet, int]] = {}
    for s in eval_sets:
        for j, text in enumerate(s.problems):
            first.setdefault(normalize_problem(text), (s, j))
    eval_norm, owners = list(first), list(first.values())
    index = NgramIndex(eval_norm, ngram) if ngram > 0 else None
    found = []
    bar = progress_bar(total=len(normalized), desc="decontaminate", unit="problem", mininterval=2, disable=not progress)
    for start in range(0, len(normalized), BLOCK):
        block = normalized[start:start + BLOCK]
        scores = process.cdist(block, eval_norm, scorer=fuzz.ratio, score_cutoff=threshold, dtype=np.float32,
                               workers=-1)
        best = scores.argmax(axis=1)
        for k, text in enumerate(block):
            j, score, method = int(best[k]), float(scores[k, best[k]]), "fuzz"
            if score < threshold and index is not None:
                j, share = index.best(text)
                score, method = 100 * share, "ngram"
                if share < ngram_overlap:
                    continue
            elif score < threshold:
                continue
            s, row = owners[j]
            found.append(Removal(start + k, CONTAMINATED, problems[start + k], s.problems[row], s.name, row,
                                 score, method))
        bar.update(len(block))
    bar.close()
    return found


def _shingles(text: str, k: int = 5) -> list[bytes]:
    data = text.encode()
    return [data[i:i + k] for i in range(max(len(data) - k + 1, 1))]


def find_duplicates(normalized: list[str], answers: list[str | None], threshold: float = 95.0,
                    skip: set[int] = frozenset(), problems: list[str] | None = None, num_perm: int = 64,
                    lsh_threshold: float = 0.5, progress: bool = True) -> list[Removal]:
    """Rows that repeat an earlier kept row (in input order); rows in ``skip`` are ignored.

    Exact: the same normalised text. Near: a MinHash LSH candidate (character 5-gram shingles)
    among the earlier kept rows with ``fuzz.ratio >= threshold`` and the same normalised answer
    (or no answer on either side).
    """
    from datasketch import MinHash, MinHashLSH

    problems = problems if problems is not None else normalized
    norm_answers = [normalize_problem(a) if a is not None else None for a in answers]
    first_of: dict[bytes, int] = {}
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
    # one MinHash per row, sharing one set of permutations; crc32 (C) hashes the shingles, and
    # datasketch mixes each hash before permuting it
    rows = [i for i in range(len(normalized)) if i not in skip]
    sketches = MinHash.generator((_shingles(normalized[i]) for i in rows), num_perm=num_perm, hashfunc=zlib.crc32)
    found = []
    for i, sketch in progress_bar(zip(rows, sketches), total=len(rows), desc="dedup", unit="problem", mininterval=2,
                          disable=not progress):
        text = normalized[i]
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        if key in first_of:
            j = first_of[key]
            found.append(Removal(i, DUPLICATE, problems[i], problems[j], "input", j, 100.0, "exact"))
            continue
        best, best_score = -1, 0.0
        for j in lsh.query(sketch):
            if norm_answers[i] is not None and norm_answers[j] is not None and norm_answers[i] != norm_answers[j]:
                continue
            score = fuzz.ratio(text, normalized[j], score_cutoff=threshold)
            if score > best_score or (score == best_score and score and j < best):
                best, best_score = j, score
        if best >= 0 and best_score >= threshold:
            found.append(Removal(i, DUPLICATE, problems[i], problems[best], "input", best, best_score, "minhash"))
            continue
        first_of[key] = i
        lsh.insert(i, sketch)
    return found


@dataclass
class CleanStats:
    total: int = 0
    kept: int = 0
    eval_sets: dict[str, int] = field(default_factory=dict)   # evaluation set -> its problem count
    contaminated: Counter = field(default_factory=Counter)    # evaluation set -> removed
    methods: Counter = field(default_factory=Counter)         # "fuzz", "ngram", "exact", "minhash" -> removed
    duplicates: int = 0
    decontaminate_s: float = 0.0
    dedup_s: float = 0.0


def clean(rows: list, eval_sets: list[EvalSet], source: str | Path = "input", threshold: float = 95.0,
          ngram: int = NGRAM, ngram_overlap: float = NGRAM_OVERLAP, dedup: bool = False, dedup_threshold: float = 95.0,
          progress: bool = True) -> tuple[list[int], list[Removal], CleanStats]:
    """The kept row positions, every removal (in input order), and the counts."""
    t0 = time.perf_counter()
    questions, answers = input_texts(rows, source)
    normalized = [normalize_problem(q) for q in questions]
    stats = CleanStats(total=len(rows), eval_sets={s.name: len(s.problems) for s in eval_sets})
    removals = find_contaminated(normalized, eval_sets, threshold, ngram, ngram_overlap, questions, progress) \
        if eval_sets else []
    stats.decontaminate_s = time.perf_counter() - t0
    if dedup:
        t0 = time.perf_counter()
        removals += find_duplicates(normalized, answers, dedup_threshold, {r.index for r in removals}, questions,
                                    progress=progress)
        stats.dedup_s = time.perf_counter() - t0
        removals.sort(key=lambda r: r.index)
    for r in removals:
        stats.methods[r.method] += 1
        if r.reason == CONTAMINATED:
            stats.contaminated[r.match_source] += 1
        else:
            stats.duplicates += 1
    gone = {r.index for r in removals}
    kept = [i for i in range(len(rows)) if i not in gone]
    stats.kept = len(kept)
    return kept, removals, stats
