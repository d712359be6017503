"""Our files and docs/training.md's training command, checked by verl 0.9.1 itself.

- docs/training.md's `python -m verl.trainer.main_ppo` overrides compose verl's own `ppo_trainer` config
  and pass verl's `validate_config`, as `main_ppo` runs them;
- steps 4 and 5 on solutions of realistic length (cft.fixtures.long_solutions) with the prompt budget,
  loaded by verl's RLHFDataset through its dataset factory, with `filter_overlong_prompts` on and
  the tiny model's chat template: no row is dropped when the budget is `max_prompt_length`;
- without the budget, verl drops exactly the rows whose prompt we count over it;
- docs/training.md's SFT command (`verl.trainer.sft_trainer`) composes verl's own `sft_trainer_engine` config,
  whose model, engine, optimizer, checkpoint and profiler configs build as verl's SFTTrainer builds them, and
  verl's MultiTurnSFTDataset reads step 6's parquet files with that config, the loss on the critique alone.
"""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from verl_command import SFT, compose_readme_config, readme_command

from cft.common import paths
from cft.critic.split import val_path

pytest.importorskip("verl", reason="verl is a test requirement: `make test` installs requirements-test.txt")
# verl's validate_config instantiates its dataclasses through hydra, which warns about that since 1.4
pytestmark = pytest.mark.filterwarnings("ignore:hydra.utils.instantiate:UserWarning")


@pytest.fixture(scope="module")
def cfg(tiny_model):
    return compose_readme_config(model=tiny_model)


def test_readme_command_is_verls_own_config(cfg):
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    args = readme_command()
    for arg in args:  # each override landed where verl reads it, with the value given
        key, value = arg.split("=", 1)
        value = value.replace("$PWD", str(ROOT))
        if value != "$MODEL":
            assert str(OmegaConf.select(cfg, key, throw_on_missing=True)) == value, key
    keys = [a.split("=", 1)[0] for a in args]
    for needed in ("data.train_files", "data.val_files", "data.max_prompt_length", "data.filter_overlong_prompts",
                   "reward.custom_reward_function.path", "reward.custom_reward_function.name",
                   "actor_rollout_ref.model.path", "actor_rollout_ref.rollout.n", "algorithm.adv_estimator"):
        assert needed in keys
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.data.filter_overlong_prompts is True
    # the files the demo (and step 5 by default) writes, and the reward verl will load
    parquet = paths.FORMATTED_FILE.with_suffix(".parquet")
    assert (cfg.data.train_files, cfg.data.val_files) == (str(parquet), str(val_path(parquet)))
    assert cfg.reward.custom_reward_function.path == str(ROOT / "cft" / "reward.py")
    fn = get_custom_reward_fn(cfg)
    assert fn(data_source="deepscaler_critique", solution_str="Conclusion: right [END]",
              ground_truth="right")["score"] == 1.0


def test_a_key_verl_ignores_or_rejects_would_fail(tiny_model):
    """What the test above guards against: a misspelt key stops the composition; the pre-0.9 top-level
    custom_reward_function.* keys compose but verl 0.9.1's trainer never reads them."""
    from hydra.errors import ConfigCompositionException
    from verl.trainer.ppo.reward import get_custom_reward_fn

    with pytest.raises(ConfigCompositionException):
        compose_readme_config(model=tiny_model, extra=["data.max_prompt_len=1024"])
    legacy = [a.replace("reward.custom_reward_function", "custom_reward_function") for a in readme_command()
              if a.startswith("reward.custom_reward_function")]
    old = compose_readme_config(model=tiny_model, extra=["reward.custom_reward_function.path=null", *legacy])
    assert get_custom_reward_fn(old) is None
    assert not [a for a in readme_command() if a.startswith("custom_reward_function")]


def run_step(script, *args):
    r = subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def verl_dataset(cfg, tiny_model, parquet):
    from verl.trainer.ppo.utils import create_rl_dataset
    from verl.utils import hf_tokenizer

    return create_rl_dataset([str(parquet)], cfg.data, hf_tokenizer(str(tiny_model)), None, is_train=True)


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    from cft.fixtures.long_solutions import write_filtered

    return write_filtered(tmp_path_factory.mktemp("verl_fixture") / "filtered.json", problems=16)


def test_verl_keeps_every_row_of_the_budget(cfg, tiny_model, filtered, tmp_path):
    budget = cfg.data.max_prompt_length
    critique, formatted = tmp_path / "critique.json", tmp_path / "formatted.json"
    run_step("generate_critique_data.py", "--filtered_file", filtered, "--output_file", critique,
             "--tokenizer", tiny_model, "--max_prompt_tokens", budget, "--summary_json", tmp_path / "c.json")
    summary = json.loads((tmp_path / "c.json").read_text())
    assert sum(x["solutions"] for x in summary["over_budget"]) > 20  # the budget binds on this fixture
    assert summary["prompt_lengths"]["max"] <= budget and summary["rows"] > 40
    run_step("format_critique_data.py", "--critique_file", critique, "--output_file", formatted,
             "--val_size", "0.25")
    train, val = formatted.with_suffix(".parquet"), val_path(formatted.with_suffix(".parquet"))
    for parquet in (train, val):
        rows = pq.read_table(parquet).num_rows
        assert rows > 0 and len(verl_dataset(cfg, tiny_model, parquet)) == rows, parquet
    problems = [{r["extra_info"]["question_index"] for r in pq.read_table(p).to_pylist()} for p in (train, val)]
    assert len(problems[1]) == 4 and not problems[0] & problems[1]  # 25% of 16 problems, whole


def test_without_the_budget_verl_drops_exactly_what_we_count_over(cfg, tiny_model, filtered, tmp_path):
    from cft.critic.prompt_budget import PromptCounter

    budget = cfg.data.max_prompt_length
    critique, formatted = tmp_path / "critique.json", tmp_path / "formatted.json"
    out = run_step("generate_critique_data.py", "--filtered_file", filtered, "--output_file", critique,
                   "--tokenizer", tiny_model)
    assert "rows over N tokens" in out and "1024: " in out
    run_step("format_critique_data.py", "--critique_file", critique, "--output_file", formatted, "--val_size", "0")
    rows = pq.read_table(formatted.with_suffix(".parquet")).to_pylist()
    counts = PromptCounter(tiny_model).tokens([r["prompt"][0]["content"] for r in rows])
    ours = {r["extra_info"]["index"] for r, n in zip(rows, counts) if n <= budget}
    kept = verl_dataset(cfg, tiny_model, formatted.with_suffix(".parquet"))
    theirs = {row["extra_info"]["index"] for row in kept.dataframe}
    assert 0 < len(theirs) < len(rows)  # verl drops some here, silently
    assert theirs == ours


def test_readme_sft_command_reads_step_6s_files(tiny_model, tiny_server, tmp_path):
    """Step 6 through the real server, its critiques canned where the tiny model writes noise (see
    tests/test_teacher.py), into a folder laid out as the doc's $PWD; then verl's own SFT config and dataset."""
    from conftest import SERVER_KEY_ENV, run_cmd
    from helpers import canned_critique, write_formatted
    from omegaconf import OmegaConf
    from servers import FaultProxy
    from verl.utils.config import omega_conf_to_dataclass
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    formatted = write_formatted(tmp_path / "in", 12)
    out = tmp_path / "cft_data" / paths.SFT_FILE.name
    with FaultProxy(tiny_server, replies=canned_critique) as proxy:
        r = run_cmd([sys.executable, str(ROOT / "create_critique_data.py"), "--formatted_file", str(formatted),
                     "--output_file", str(out), "--server_url", proxy.url, "--api_key_env", SERVER_KEY_ENV,
                     "--num_critiques", "2", "--max_tokens", "16"])
    assert r.returncode == 0, r.stderr[-3000:]

    cfg = compose_readme_config(tiny_model, root=tmp_path, command=SFT)
    for arg in readme_command(SFT):  # each override landed where verl reads it
        key, value = arg.split("=", 1)
        got, value = OmegaConf.select(cfg, key, throw_on_missing=True), value.replace("$PWD", str(tmp_path))
        if value != "$MODEL":
            assert got == float(value) if isinstance(got, float) else str(got) == value, key
    parquet = out.with_suffix(".parquet")
    assert (cfg.data.train_files, cfg.data.val_files) == (str(parquet), str(val_path(parquet)))
    model = omega_conf_to_dataclass(cfg.model)  # as verl's SFTTrainer._build_config does
    for part in ("engine", "optim", "checkpoint", "profiler"):
        omega_conf_to_dataclass(cfg[part])
    for path in (cfg.data.train_files, cfg.data.val_files):
        rows = pq.read_table(path).to_pylist()
        dataset = MultiTurnSFTDataset(parquet_files=path, tokenizer=model.tokenizer, config=cfg.data)
        assert rows and len(dataset) == len(rows)
        item = dataset[0]
        trained = model.tokenizer.decode(item["input_ids"][item["loss_mask"].bool()])
        assert trained.startswith(rows[0]["messages"][1]["content"])  # the critique (and its end of turn)
