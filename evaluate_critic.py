#!/usr/bin/env python3
"""The critic's report card: any model judged as a critic, on step 5's held-out rows and on step-labelled rows.

Outcome: each row of --input_file (step 5's verl rows; default: the held-out file) is sent to the critic as
verl sends it in RL (the row's own prompt), and its verdict is read by cft/reward.py's parser, the reward's
own. Reported: accuracy, accuracy on right and on wrong solutions, F1 for finding wrong ones, the share
with no verdict (counted as not correct), each by source model, by pass band (with step 3's
--filtered_file) and by level or source where the problems have one; with --num_samples K, the majority
verdict and each sample, and the calibration of the share of K saying right (reliability table, ECE).

Step level: ProcessBench-format rows (--step_data: a file, a dataset folder, or Qwen/ProcessBench by Hub
id), each subset reported with ProcessBench's metrics: exact accuracy on erroneous cases, accuracy on
correct ones, and their harmonic mean (F1).

The critic runs in process (--model PATH_OR_ID) or behind an OpenAI-compatible server (--server_url URL,
--api_key_env NAME). Replies are kept in work chunks under --output_dir, written as they finish: a rerun
skips what is done. Writes report.json (the summary), report.md and report.png there; --compare
EARLIER.json prints the difference from an earlier report side by side.

    python evaluate_critic.py --model /models/critic-step-200 --num_samples 4
    python evaluate_critic.py --server_url http://127.0.0.1:8000 --step_data Qwen/ProcessBench
    python evaluate_critic.py --compare before/report.json after/report.json
"""

if __name__ == "__main__":
    from cft.common.reaper import mark_run

    mark_run()  # re-executes this script once with a run marker its processes inherit (cft/common/reaper.py)

from cft.common import cli  # noqa: E402
from cft.evaluate import options  # noqa: E402
from cft.evaluate.run import evaluate  # noqa: E402


def main():
    p = cli.parser(__doc__)
    options.add_arguments(p)
    evaluate(p.parse_args())


if __name__ == "__main__":
    cli.run(main)
