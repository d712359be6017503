"""Pass-rate bands for step 3: keep only problems of a chosen difficulty.

A problem's pooled pass rate is its correct samples over all samples of all
models; with ``per_model`` each model's own rate must lie in the band. The band
is inclusive at both ends and applies on top of the keep rule (a problem every
model solves always, or never, is removed whatever the band). PRIME-style
training keeps 0.2-0.8; DAPO-style drops only 0 and 1, which the keep rule
already does for the models together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cft.common.errors import CftError

BELOW_MIN, ABOVE_MAX = "below_min_pass_rate", "above_max_pass_rate"


@dataclass(frozen=True)
class PassBand:
    min_rate: float = 0.0
    max_rate: float = 1.0
    per_model: bool = False

    def __post_init__(self):
        if not 0.0 <= self.min_rate <= self.max_rate <= 1.0:
            raise CftError(f"the pass-rate band needs 0 <= --min_pass_rate ({self.min_rate:g}) <= "
                           f"--max_pass_rate ({self.max_rate:g}) <= 1")

    @property
    def is_open(self) -> bool:
        """Whether the band lets every rate through."""
        return self.min_rate == 0.0 and self.max_rate == 1.0

    def check(self, counts: Sequence[int], sizes: Sequence[int]) -> str | None:
        """None if the problem is in the band, else BELOW_MIN or ABOVE_MAX (each model's correct of its samples)."""
        pairs = list(zip(counts, sizes)) if self.per_model else [(sum(counts), sum(sizes))]
        rates = [c / n if n else 0.0 for c, n in pairs]
        if any(r < self.min_rate for r in rates):
            return BELOW_MIN
        if any(r > self.max_rate for r in rates):
            return ABOVE_MAX
        return None

    def kept_counts(self, n: int) -> range:
        """The correct-of-``n`` counts whose rate lies in the band."""
        return range(math.ceil(self.min_rate * n - 1e-9), math.floor(self.max_rate * n + 1e-9) + 1)

    def describe(self, n: int) -> str:
        """Where the band cuts correct-of-``n``: ``"[0.2, 0.8]: correct 4-12 of 16"``."""
        ks = self.kept_counts(n)
        span = f"correct {ks.start}-{ks.stop - 1} of {n}" if len(ks) else f"none of 0-{n} correct"
        return f"[{self.min_rate:g}, {self.max_rate:g}]: {span}"
