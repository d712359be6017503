"""Progress of long work: tqdm's bar on a terminal, plain lines every so often anywhere else.

A bar redraws itself with carriage returns, which a log file (a Slurm job's ``--output``, a
pipeline's ``tee``, a ``nohup`` log) keeps as one long line of redraws. When the stream is not a
terminal, ``progress_bar()`` writes one plain line when it starts, then at most one every
``CFT_PROGRESS_S`` seconds (default 30), and one when it ends::

    problems of qwen-2.5-math-7b: 120/1000 (12%), 01:02 elapsed, 1.93 problem/s, about 07:35 left
"""

from __future__ import annotations

import io
import os
import sys

from tqdm import tqdm

LINE_EVERY_S = float(os.environ.get("CFT_PROGRESS_S") or 30)
PLAIN = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%), {elapsed} elapsed, {rate_fmt}, about {remaining} left"
PLAIN_NO_TOTAL = "{desc}: {n_fmt}, {elapsed} elapsed, {rate_fmt}"


class PlainLines(io.TextIOBase):
    """What tqdm writes, as whole lines: each redraw (``\\r`` + text) becomes the text and a newline."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, s: str) -> int:
        text = s.replace("\r", "").rstrip()
        if text.strip():
            self.stream.write(text + "\n")
            self.stream.flush()
        return len(s)

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(iterable=None, *, file=None, **kw) -> tqdm:
    """``tqdm(iterable, **kw)`` on a terminal (``file``, default stderr); elsewhere plain lines every
    ``LINE_EVERY_S`` seconds (a ``mininterval`` given here is raised to that)."""
    stream = file if file is not None else sys.stderr
    if is_terminal(stream):
        return tqdm(iterable, file=stream, **kw)
    kw.pop("position", None)  # (cursor moves between bars: nothing a file can show)
    total = kw.get("total", len(iterable) if hasattr(iterable, "__len__") else None)
    kw["mininterval"] = max(kw.get("mininterval") or 0, LINE_EVERY_S)
    kw.setdefault("maxinterval", max(10.0, kw["mininterval"] * 10))
    return tqdm(iterable, file=PlainLines(stream), bar_format=PLAIN if total else PLAIN_NO_TOTAL,
                dynamic_ncols=False, ascii=True, **kw)
