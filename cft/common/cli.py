"""What every script shares: one-line errors instead of tracebacks."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Callable

from cft.common.errors import CftError
from cft.common.oserrors import one_line

_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def fold(message: str) -> str:
    """``message`` on one line: a library's multi-line text (transformers', vLLM's) joined with spaces."""
    return _NEWLINES.sub(" ", message.strip())


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def run(main: Callable[[], object]) -> None:
    """Call ``main``; a CftError or an OSError becomes ``error: <message>`` on stderr and exit code 1.

    SIGTERM (``kill``, Slurm's cancel, a pipeline stopping) unwinds like Ctrl-C, so the
    vLLM engine shuts down its worker processes instead of leaving them orphaned.
    """
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = main()
    except CftError as e:
        print(f"error: {fold(str(e))}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:  # a full disk, a read-only folder, a folder in a file's place: one line naming it
        print(f"error: {fold(one_line(e))}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as e:  # a step may say what is done: KeyboardInterrupt("3 of 6 chunks are whole")
        print("interrupted" + (f": {fold(str(e))}" if str(e) else ""), file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def say(message: str) -> None:
    """A progress line on stdout, flushed at once (logs are often files: each line as it happens)."""
    print(message, flush=True)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the docstring's layout and shows each flag's default once: not where its help already says it, and
    not an empty one (None, an off switch)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False) or action.default is argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose --help is the script's docstring plus each flag's default."""
    return argparse.ArgumentParser(description=doc, formatter_class=HelpFormatter)


def add_summary_json(parser: argparse.ArgumentParser) -> None:
    """The ``--summary_json FILE`` flag every step takes (see ``cft.common.summary.write_summary_json``)."""
    parser.add_argument("--summary_json", default=None, metavar="FILE",
                        help="also write the step's summary (counts, timings, outputs) as JSON to FILE")
