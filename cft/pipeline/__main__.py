"""``python -m cft.pipeline``: ``run`` (the pipeline; ``run_full_pipeline.sh`` execs it), ``model`` (a model's
name and alias, for shell scripts), ``summary`` (the closing summary of given step summaries)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cft.common import cli
from cft.common.errors import CftError
from cft.pipeline import __doc__ as PACKAGE_DOC


def run(argv: list[str]) -> int:
    from cft.pipeline.options import parse
    from cft.pipeline.run import run_pipeline
    from cft.pipeline.runner import StepFailed

    sys.stdout.reconfigure(line_buffering=True)  # our lines in order with the steps' (a log file, a pipe)
    options = parse(argv)
    try:
        return run_pipeline(options, argv)
    except StepFailed as e:
        print(f"\npipeline stopped: {e}", file=sys.stderr)
        return e.code
    except CftError as e:
        print(f"pipeline stopped: {cli.fold(str(e))}", file=sys.stderr)
        return 1


def main() -> int:
    if sys.argv[1:2] == ["run"]:
        return run(sys.argv[2:])
    ap = argparse.ArgumentParser(prog="python -m cft.pipeline", description=PACKAGE_DOC,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the pipeline: run_full_pipeline.sh's flags (python -m cft.pipeline run --help)")
    m = sub.add_parser("model", help="print a model's name and alias")
    m.add_argument("name")
    m.add_argument("--register_model", action="append", default=[])
    s = sub.add_parser("summary", help="join step summaries into one, and print their headlines")
    s.add_argument("output")
    s.add_argument("wall_s", type=float)
    s.add_argument("files", nargs="*")
    st = sub.add_parser("slurm-status", help="the jobs of run_full_pipeline.sh --slurm: each step's state, the failed "
                                             "tasks and their logs (exit 0: all completed, 1: one failed, 2: running)")
    st.add_argument("data_dir", type=Path)
    st.add_argument("--wait", action="store_true", help="wait until every job has ended, printing each change")
    st.add_argument("--poll_s", type=float, default=10.0, help="with --wait: seconds between looks")
    args = ap.parse_args()
    if args.command == "slurm-status":
        from cft.pipeline.slurm import status

        return status(args.data_dir, args.wait, args.poll_s)
    if args.command == "model":
        from cft.records.models import get_model, register_from_args

        register_from_args(args)
        spec = get_model(args.name)
        print(spec.name, spec.alias)
    else:
        from cft.pipeline.summaries import pipeline_summary

        pipeline_summary(args.files, args.output, args.wall_s)
    return 0


if __name__ == "__main__":
    cli.run(main)
