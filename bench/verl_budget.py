"""Rows verl 0.9.1 keeps at data.max_prompt_length, with and without step 4's prompt budget.

On cft.fixtures.long_solutions (generated worked solutions of chain-of-thought lengths, long
ones more often wrong): step 4 without a budget and with --max_prompt_tokens N, step 5, then
verl's own RLHFDataset (its dataset factory, filter_overlong_prompts on, the tokenizer's chat
template) on each parquet. Needs verl (requirements-test.txt) and a tokenizer with a chat
template (default: the demo model's, built by `python -m cft.fixtures.demo_model`).

    python bench/verl_budget.py [--tokenizer DIR] [--max_prompt_length 1024] [--problems 40]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from cft.critic.critique_rows import write_critique
from cft.critic.prompt_budget import PromptCounter, length_summary
from cft.critic.verl_rows import format_file
from cft.fixtures.demo_model import DEFAULT_DIR
from cft.fixtures.long_solutions import write_filtered


def verl_kept(parquet: Path, tokenizer: str, max_prompt_length: int) -> Counter:
    """The labels of the rows verl's RLHFDataset keeps."""
    import verl
    from hydra import compose, initialize_config_dir
    from verl.trainer.ppo.utils import create_rl_dataset
    from verl.utils import hf_tokenizer

    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=[
            f"data.max_prompt_length={max_prompt_length}", "data.filter_overlong_prompts=True"])
    dataset = create_rl_dataset([str(parquet)], cfg.data, hf_tokenizer(tokenizer), None)
    return Counter(row["target"] for row in dataset.dataframe)


def mix(targets: Counter) -> str:
    n = sum(targets.values())
    return f"{n} rows, right {targets['right']} ({100 * targets['right'] / n:.1f}%), wrong {targets['wrong']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default=str(DEFAULT_DIR))
    ap.add_argument("--max_prompt_length", type=int, default=1024)
    ap.add_argument("--problems", type=int, default=40)
    args = ap.parse_args()

    counter = PromptCounter(args.tokenizer)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        filtered = write_filtered(tmp / "filtered.json", problems=args.problems)
        for name, budget in (("no budget", None), (f"budget {args.max_prompt_length}", args.max_prompt_length)):
            critique = tmp / f"critique_{budget}.json"
            n, stats = write_critique(filtered, critique, counter=counter, max_prompt_tokens=budget)
            parquet = tmp / f"formatted_{budget}.parquet"
            format_file(critique, parquet.with_suffix(".json"), parquet)
            kept = verl_kept(parquet, args.tokenizer, args.max_prompt_length)
            results.append((name, n, kept, stats))

    print(f"\n== verl RLHFDataset at max_prompt_length={args.max_prompt_length}, tokenizer {args.tokenizer} ==")
    for name, _, kept, stats in results:
        s = length_summary(stats.prompt_lengths, stats.length_unit)
        print(f"  {name:<12}: step 4 wrote {mix(stats.targets)}; prompt tokens median {s['median']}, "
              f"p90 {s['p90']}, max {s['max']}")
        print(f"  {'':<12}  verl keeps {mix(kept)}")
        if stats.unbudgeted is not None:
            over = {f"{m} {t}": c for (m, t), c in sorted(stats.over_budget.items())}
            print(f"  {'':<12}  solutions over the budget: {sum(over.values())} {over}")
            print(f"  {'':<12}  the same draw without it: {mix(stats.unbudgeted.targets)}")


if __name__ == "__main__":
    main()
