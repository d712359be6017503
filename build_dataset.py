#!/usr/bin/env python3
"""The last step: one folder that datasets.load_dataset reads as it is, with a dataset card and a manifest.

Builds cft_data/dataset/ from step 5's parquet files and the run's step summaries
(cft_data/logs/summary_*.json, as run_full_pipeline.sh leaves them):

    data/rl/train.parquet, data/rl/validation.parquet   hard links to step 5's files (else copies)
    README.md                                           the dataset card, written from the run
    manifest.json                                       written last: sizes, sha256, rows, versions,
                                                        the git commit, each step's command and summary

    datasets.load_dataset("cft_data/dataset", "rl")  ->  train and validation

The folder is built aside and renamed into place whole. --verify FOLDER checks a folder against its
manifest instead, and names the first file that is missing or differs; a folder without a valid
manifest is incomplete. docs/publishing.md: putting the folder on the Hub, and reading it from verl
and TRL.
"""

import time

from cft.common import cli, paths
from cft.dataset.build import build
from cft.dataset.configs import CONFIGS
from cft.dataset.manifest import verify
from cft.dataset.report import dataset_summary


def main():
    parser = cli.parser(__doc__)
    for config in CONFIGS:
        parser.add_argument(f"--{config.flag}", default=None, metavar="PARQUET",
                            help=f"the training file of the '{config.name}' config (its _val twin is the validation "
                                 f"split) (default, when no file is given: {config.train_file}, left out if absent)")
    parser.add_argument("--summaries", default=None, metavar="DIR",
                        help="folder of the run's summary_<step>.json files, which the card is written from "
                             "(default: logs/ beside the rl training file, where each step leaves its summary)")
    parser.add_argument("--output_dir", default=None,
                        help="the dataset folder (default: dataset/ beside the rl training file)")
    parser.add_argument("--license", default=None, metavar="ID",
                        help="the data's licence, a Hub licence identifier (default: the card says it is unknown)")
    parser.add_argument("--pretty_name", default=None, help="the card's title (default: from the input file's name)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset folder")
    parser.add_argument("--verify", default=None, metavar="FOLDER",
                        help="only check FOLDER against its manifest.json (exit 1 naming the first file that differs)")
    cli.add_summary_json(parser)
    args = parser.parse_args()

    if args.verify:
        n = verify(args.verify)
        print(f"ok: {args.verify}: {n} files match its manifest.json (size and sha256)")
        return

    t0 = time.perf_counter()
    files = {c.name: getattr(args, c.flag) for c in CONFIGS}
    rl_file = files["rl"] or CONFIGS[0].train_file
    summaries = args.summaries or paths.logs_beside(rl_file)
    output = args.output_dir or paths.beside(rl_file, "dataset")
    built = build(output, files, summaries, args.license, args.pretty_name, args.overwrite)
    dataset_summary(built, args.license, time.perf_counter() - t0).emit(args.summary_json, beside=output)


if __name__ == "__main__":
    cli.run(main)
