#!/usr/bin/env python3
"""Step 2: merge each model's chunk files into one solutions file.

Reads cft_data/solutions_<alias>/ for each model (by default the two built in: qwen25 and qwen3)
and writes cft_data/deepscaler_<alias>_solutions.json, results sorted by index. --chunk_dir
ALIAS=DIR ... names the folders instead, for any number of models (a model registered in
another run is found by the names of its chunk files). A missing, duplicate, overlapping,
truncated or mismatched chunk stops the merge and is named; --allow_partial merges what is
there and lists the gaps. The number of chunks comes from --input_file when given, else from
the chunks' metadata, else from the chunks themselves.
"""
import time

from cft.common import cli, paths
from cft.common.jsonio import refuse_overwrite
from cft.common.reaper import guard_spawned_children
from cft.common.workers import default_workers
from cft.curate.merge import merge_models
from cft.curate.reports import merge_summary
from cft.records.chunks import chunk_model
from cft.records.models import DEFAULT_MODELS, add_register_flag, alias_map, find_model, get_model, register_from_args
from cft.records.problems import input_sha256, load_rows


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--chunk_dir", nargs="+", default=[], metavar="ALIAS=DIR",
                        help="each model's chunk folder (any number of models; default: --models' folders)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="models to merge from their default folders, when no --chunk_dir is given")
    parser.add_argument("--qwen25_dir", default=str(paths.solutions_dir("qwen25")),
                        help="chunk files of qwen-2.5-math-7b")
    parser.add_argument("--qwen3_dir", default=str(paths.solutions_dir("qwen3")),
                        help="chunk files of qwen3-4b-base")
    parser.add_argument("--output_dir", default=str(paths.DATA_DIR),
                        help="where deepscaler_<alias>_solutions.json go")
    parser.add_argument("--input_file", default=None,
                        help="the problem set the chunks were generated from: gives the number of chunks "
                             "and checks the chunks' input hash")
    parser.add_argument("--allow_partial", action="store_true", help="merge despite missing chunks, listing them")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="processes (the models merge side by side; 1: one after the other)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing merged files")
    add_register_flag(parser)
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    register_from_args(args)
    if args.chunk_dir:
        dirs = alias_map(args.chunk_dir, "--chunk_dir")
    else:
        seed_dirs = {"qwen25": args.qwen25_dir, "qwen3": args.qwen3_dir}  # the two built-in models' flags
        dirs = {spec.alias: seed_dirs.get(spec.alias) or paths.solutions_dir(spec.alias)
                for spec in map(get_model, args.models)}
    jobs = []
    for alias, folder in dirs.items():
        spec = find_model(alias)
        output = paths.merged_file(alias, args.output_dir)
        refuse_overwrite(output, args.overwrite)
        jobs.append((spec.name if spec else chunk_model(folder), folder, output))
    input_rows = input_sha = None
    if args.input_file:
        input_rows, input_sha = len(load_rows(args.input_file)), input_sha256(args.input_file)

    if args.workers > 1 and len(jobs) > 1:
        guard_spawned_children()  # its worker processes die with it, even on kill -9 (cft/common/reaper.py)
    merged = merge_models(jobs, args.allow_partial, args.workers, input_rows, input_sha)

    merge_summary(merged, time.perf_counter() - t0).emit(args.summary_json, beside=merged[0].output if merged else None)


if __name__ == "__main__":
    cli.run(main)
