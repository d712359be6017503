#!/usr/bin/env python3
"""Step 2: merge each model's chunk files into one solutions file.

Reads cft_data/solutions_qwen25/ and cft_data/solutions_qwen3/ and writes
cft_data/deepscaler_qwen25_solutions.json and deepscaler_qwen3_solutions.json,
results sorted by index. A missing, duplicate, overlapping, truncated or
mismatched chunk stops the merge and is named; --allow_partial merges what is
there and lists the gaps. The number of chunks comes from --input_file when
given, else from the chunks' metadata, else from the chunks themselves.
"""
import time

from cft import cli, paths
from cft.inputs import load_rows
from cft.jsonio import refuse_overwrite, sha256_file
from cft.merge import default_workers, merge_models
from cft.models import MODELS, get_model
from cft.reaper import guard_spawned_children
from cft.report import file_line, histogram_line, pct, print_summary


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--qwen25_dir", default=str(paths.solutions_dir("qwen25")),
                        help="chunk files of qwen-2.5-math-7b")
    parser.add_argument("--qwen3_dir", default=str(paths.solutions_dir("qwen3")),
                        help="chunk files of qwen3-4b-base")
    parser.add_argument("--output_dir", default=str(paths.DATA_DIR),
                        help="where deepscaler_<alias>_solutions.json go")
    parser.add_argument("--input_file", default=None,
                        help="the problem set the chunks were generated from: gives the number of chunks "
                             "and checks the chunks' input hash")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="models to merge")
    parser.add_argument("--allow_partial", action="store_true", help="merge despite missing chunks, listing them")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="processes (the models merge side by side; 1: one after the other)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing merged files")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    t0 = time.perf_counter()
    input_rows = input_sha = None
    if args.input_file:
        input_rows, input_sha = len(load_rows(args.input_file)), sha256_file(args.input_file)
    dirs = {"qwen25": args.qwen25_dir, "qwen3": args.qwen3_dir}
    jobs = []
    for name in args.models:
        spec = get_model(name)
        output = paths.merged_file(spec.name, args.output_dir)
        refuse_overwrite(output, args.overwrite)
        jobs.append((spec, dirs[spec.alias], output))

    if args.workers > 1 and len(jobs) > 1:
        guard_spawned_children()  # its worker processes die with it, even on kill -9 (cft/reaper.py)
    summaries = merge_models(jobs, args.allow_partial, args.workers, input_rows, input_sha)
    for (spec, _, _), s in zip(jobs, summaries):
        truncated = f"{s.truncated} ({100 * s.truncated / s.solutions:.1f}%)" if s.solutions else "0"
        print_summary(f"merged {spec.name}", [
            ("chunks", f"{s.chunks_merged} of {s.chunks_expected}"
                       + (f", MISSING {len(s.missing_chunks)}: {s.missing_chunks}" if s.missing_chunks else "")),
            ("problems", s.problems),
            ("solutions", s.solutions),
            ("grades", ", ".join(f"{g} {pct(n, s.solutions)}" for g, n in s.grades.most_common())),
            ("truncated (length)", truncated),
            ("correct-of-n per problem", histogram_line(s.num_correct_hist)),
            *(("note", n) for n in s.notes),
            ("wrote", file_line(s.output)),
        ])
    if args.summary_json:
        from cft.report import write_summary_json

        write_summary_json(args.summary_json, "merge", {
            "elapsed_s": round(time.perf_counter() - t0, 3),
            "models": {s.model: {"chunks_expected": s.chunks_expected, "chunks_merged": s.chunks_merged,
                                 "missing_chunks": s.missing_chunks, "problems": s.problems,
                                 "solutions": s.solutions, "grades": s.grades, "truncated": s.truncated,
                                 "num_correct_hist": s.num_correct_hist, "notes": s.notes, "output": s.output}
                       for s in summaries},
            "outputs": [s.output for s in summaries],
        })


if __name__ == "__main__":
    cli.run(main)
