#!/usr/bin/env python3
"""Step 2: merge each model's chunk files into one solutions file.

Reads cft_data/solutions_qwen25/ and cft_data/solutions_qwen3/ and writes
cft_data/deepscaler_qwen25_solutions.json and deepscaler_qwen3_solutions.json,
results sorted by index. A missing, duplicate, overlapping, truncated or
mismatched chunk stops the merge and is named; --allow_partial merges what is
there and lists the gaps.
"""
from cft import cli, paths
from cft.jsonio import refuse_overwrite
from cft.merge import merge_models
from cft.models import MODELS, get_model
from cft.reaper import guard_spawned_children
from cft.regions import default_workers
from cft.report import file_line, histogram_line, pct, print_summary


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--qwen25_dir", default=str(paths.solutions_dir("qwen25")),
                        help="chunk files of qwen-2.5-math-7b")
    parser.add_argument("--qwen3_dir", default=str(paths.solutions_dir("qwen3")),
                        help="chunk files of qwen3-4b-base")
    parser.add_argument("--output_dir", default=str(paths.DATA_DIR),
                        help="where deepscaler_<alias>_solutions.json go")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="models to merge")
    parser.add_argument("--allow_partial", action="store_true", help="merge despite missing chunks, listing them")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="processes (the models merge side by side; 1: one after the other)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing merged files")
    args = parser.parse_args()

    dirs = {"qwen25": args.qwen25_dir, "qwen3": args.qwen3_dir}
    jobs = []
    for name in args.models:
        spec = get_model(name)
        output = paths.merged_file(spec.name, args.output_dir)
        refuse_overwrite(output, args.overwrite)
        jobs.append((spec, dirs[spec.alias], output))

    if args.workers > 1 and len(jobs) > 1:
        guard_spawned_children()  # its worker processes die with it, even on kill -9 (cft/reaper.py)
    for (spec, _, _), s in zip(jobs, merge_models(jobs, args.allow_partial, args.workers)):
        truncated = f"{s.truncated} ({100 * s.truncated / s.solutions:.1f}%)" if s.solutions else "0"
        print_summary(f"merged {spec.name}", [
            ("chunks", f"{s.chunks_merged} of {s.chunks_expected}"
                       + (f", MISSING {len(s.missing_chunks)}: {s.missing_chunks}" if s.missing_chunks else "")),
            ("problems", s.problems),
            ("solutions", s.solutions),
            ("grades", ", ".join(f"{g} {pct(n, s.solutions)}" for g, n in s.grades.most_common())),
            ("truncated (length)", truncated),
            ("correct-of-n per problem", histogram_line(s.num_correct_hist)),
            ("wrote", file_line(s.output)),
        ])


if __name__ == "__main__":
    cli.run(main)
