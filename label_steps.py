#!/usr/bin/env python3
"""Step labels: which step of each solution went wrong, from a teacher's verdicts and Monte Carlo completions.

Reads step 3's kept problems (--filtered_file) and labels every solution step 4 could draw: it is cut into
steps (paragraphs by default), a teacher names the earliest wrong step (--num_verdicts samples, voted), and a
completer continues the problem's prompt plus the solution's first steps (--rollouts continuations per prefix,
graded against the reference), a binary search finding the first prefix from which no continuation reaches the
answer. Where the two agree, that step is the label. A solution graded right that has a wrong step is lucky:
step 4 (--step_labels) leaves it out of the critique rows, so steps 5 and 6 never see it, and step 5
(--step_labels) writes the labelled solutions as process rows (TRL's stepwise supervision, ProcessBench's format).

Writes the labels (a list file, one row per solution, with every signal's evidence), a Markdown report for a
person (_report.md) and, as it goes, the work chunks (_work/): a rerun resumes them, and a killed run (even
kill -9) leaves no process behind.

    python label_steps.py --teacher_model /models/Qwen2.5-72B-Instruct --teacher_tensor_parallel_size 8 \\
        --model_path qwen25=/models/Qwen2.5-Math-7B --model_path qwen3=/models/Qwen3-4B-Base
    python label_steps.py --teacher_server_url http://127.0.0.1:8000 --completer_server_url http://127.0.0.1:8001 \\
        --completer_model Qwen/Qwen2.5-Math-7B
"""

if __name__ == "__main__":
    from cft.common.reaper import mark_run

    mark_run()  # re-executes this script once with a run marker its processes inherit (cft/common/reaper.py)

from cft.common import cli  # noqa: E402
from cft.process import options  # noqa: E402
from cft.process.step import label_steps  # noqa: E402


def main():
    p = cli.parser(__doc__)
    options.add_arguments(p)
    args = p.parse_args()
    label_steps(args).emit(args.summary_json, beside=args.labels_file)


if __name__ == "__main__":
    cli.run(main)
