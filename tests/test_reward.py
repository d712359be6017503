"""cft/reward.py: the scoring table, loaded by path with the standard library alone, and through
verl 0.9.1's own loader (get_custom_reward_fn) and reward worker (RewardLoopWorker, as the trainer
runs it, less Ray)."""

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT

REWARD = ROOT / "cft" / "reward.py"

# (response, label, score, verdict, format_ok) under the default reward_kwargs
CASES = [
    ("The student adds correctly and boxes 7.\n\nConclusion: right [END]", "right", 1.0, "right", 1.0),
    ("He forgot the second root.\nConclusion: wrong [END]", "wrong", 1.0, "wrong", 1.0),
    ("Fine.\nConclusion: right [END]\n\n  ", "right", 1.0, "right", 1.0),  # whitespace after [END]
    ("Conclusion:right[END]", "right", 1.0, "right", 1.0),  # spacing inside the line may vary
    ("Looks right to me. Conclusion: wrong [END]", "right", 0.0, "wrong", 1.0),
    ("Conclusion: right [END]", "wrong", 0.0, "right", 1.0),
    ("conclusion: Right [END]", "right", 0.5, "right", 0.0),  # case
    ("**Conclusion:** right [END]", "right", 0.5, "right", 0.0),  # markdown bold
    ("**Conclusion: wrong**", "wrong", 0.5, "wrong", 0.0),  # bold, no [END]
    ("Conclusion: right", "right", 0.5, "right", 0.0),  # no [END]
    ("Conclusion: right [END] And here is why, once more...", "right", 0.5, "right", 0.0),  # text after [END]
    ("Conclusion: right [END]\nConclusion: right [END]", "right", 0.5, "right", 0.0),  # the same verdict twice
    ("**Conclusion:** wrong", "right", -0.5, "wrong", 0.0),
    ("Conclusion: right", "wrong", -0.5, "right", 0.0),
    ("The method is sound but I am not sure.", "right", -1.0, "none", 0.0),
    ("", "wrong", -1.0, "none", 0.0),
    ("I must end with 'Conclusion: right/wrong [END]'.", "right", -1.0, "none", 0.0),  # the echoed instruction
    ("Conclusion: right [END] Conclusion: wrong [END]", "right", -1.0, "conflict", 0.0),
    ("Conclusion: wrong [END]\nOn reflection... Conclusion: right [END]", "wrong", -1.0, "conflict", 0.0),
    ("Conclusion: right [END] Conclusion: wrong [END]", "wrong", -1.0, "conflict", 0.0),
]


def load_by_path():
    spec = importlib.util.spec_from_file_location("critique_reward", REWARD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("response, label, score, verdict, format_ok", CASES)
def test_scoring_table(response, label, score, verdict, format_ok):
    got = load_by_path().compute_score("deepscaler_critique", response, label, extra_info={})
    assert got == {"score": score, "acc": float(verdict == label), "format_ok": format_ok, "verdict": verdict}


def test_rules_hold_on_every_label():
    scores = {}
    for response, label, _, verdict, format_ok in CASES:
        s = load_by_path().compute_score("deepscaler_critique", response, label)["score"]
        kind = "none" if verdict in ("none", "conflict") else ("correct" if verdict == label else "wrong")
        scores.setdefault((label, kind, bool(format_ok)), []).append(s)
    for label in ("right", "wrong"):
        best = min(scores[(label, "correct", True)])
        others = [s for (lab, kind, exact), v in scores.items() if lab == label and (kind, exact) != ("correct", True)
                  for s in v]
        assert best > max(others)  # the correct verdict in the asked format scores strictly highest
        assert max(scores[(label, "none", False)]) <= min(  # abstaining never pays more than a wrong verdict
            s for (lab, kind, _), v in scores.items() if lab == label and kind == "wrong" for s in v)


def test_reward_kwargs_change_the_scores_within_the_rules():
    score = load_by_path().compute_score
    kw = {"format_penalty": 0.2, "no_verdict_score": -0.3, "correct_score": 2.0}
    assert score("deepscaler_critique", "conclusion: right", "right", **kw)["score"] == pytest.approx(1.8)
    assert score("deepscaler_critique", "nothing", "right", **kw)["score"] == -0.3
    with pytest.raises(ValueError, match="abstaining would pay more"):
        score("deepscaler_critique", "x", "right", no_verdict_score=0.0)  # above wrong_score - format_penalty
    with pytest.raises(ValueError, match="must not be negative"):
        score("deepscaler_critique", "x", "right", format_penalty=-1, no_verdict_score=-1)
    with pytest.raises(ValueError, match="unknown reward_kwargs"):
        score("deepscaler_critique", "x", "right", format_penalti=0.1)
    with pytest.raises(ValueError, match="not 'right' or 'wrong'"):
        score("deepscaler_critique", "Conclusion: right [END]", "42")


def test_loads_from_its_path_with_the_standard_library_only(tmp_path):
    """verl's reward workers do not have the repository on their path: -S drops site-packages too."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('r', {str(REWARD)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.compute_score('deepscaler_critique', 'Conclusion: wrong [END]', 'wrong')['score'])\n"
        "assert not [k for k in sys.modules if k == 'cft' or k.startswith('cft.')]\n"
        "m.compute_score('openai/gsm8k', '#### 4', '4')\n"
    )
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.stdout.strip() == "1.0"
    assert "scores data_source 'deepscaler_critique' only; got 'openai/gsm8k'" in r.stderr
    assert "verl" in r.stderr and "not importable" in r.stderr


# --- through verl 0.9.1 ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def verl_config(tiny_model):
    pytest.importorskip("verl", reason="verl is a test requirement: `make test` installs requirements-test.txt")
    from verl_command import compose_readme_config

    return compose_readme_config(model=tiny_model)


def test_verl_loads_it_and_its_reward_worker_scores_the_table(verl_config, tiny_model):
    import numpy as np
    import torch
    from transformers import AutoTokenizer
    from verl import DataProto
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker
    from verl.trainer.ppo.reward import get_custom_reward_fn

    assert get_custom_reward_fn(verl_config) is not None  # verl reads our path from reward.custom_reward_function
    worker = RewardLoopWorker(verl_config)  # loads the tokenizer, our reward and the "naive" reward manager
    assert type(worker.reward_manager).__name__ == "NaiveRewardManager"

    tok = AutoTokenizer.from_pretrained(tiny_model)
    prompt = tok("Critique: is 2 + 2 = 4?")["input_ids"]
    width = max(len(tok(r)["input_ids"]) for r, *_ in CASES) + 1
    prompts, responses, masks = [], [], []
    for response, *_ in CASES:
        ids = tok(response)["input_ids"] + [tok.eos_token_id]  # a rollout ends with EOS, decoded away
        responses.append(ids + [tok.pad_token_id] * (width - len(ids)))
        prompts.append(prompt)
        masks.append([1] * len(prompt) + [1] * len(ids) + [0] * (width - len(ids)))
    data = DataProto.from_dict(
        tensors={"prompts": torch.tensor(prompts), "responses": torch.tensor(responses),
                 "attention_mask": torch.tensor(masks)},
        non_tensors={"data_source": np.array(["deepscaler_critique"] * len(CASES), dtype=object),
                     "reward_model": np.array([{"style": "rule", "ground_truth": c[1]} for c in CASES], dtype=object),
                     "extra_info": np.array([{"split": "val", "index": i} for i in range(len(CASES))], dtype=object)})
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))

    for (response, label, score, verdict, format_ok), out in zip(CASES, outputs):
        assert out["reward_score"] == score, response
        info = out["reward_extra_info"]
        assert (info["verdict"], info["format_ok"], info["acc"]) == (verdict, format_ok, float(verdict == label))


def test_reward_kwargs_reach_it_through_verls_config(tiny_model):
    pytest.importorskip("verl", reason="verl is a test requirement: `make test` installs requirements-test.txt")
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl_command import compose_readme_config

    penalty = "+reward.custom_reward_function.reward_kwargs.format_penalty=0.25"
    cfg = compose_readme_config(model=tiny_model, extra=[penalty])
    fn = get_custom_reward_fn(cfg)
    assert fn(data_source="deepscaler_critique", solution_str="conclusion: right", ground_truth="right",
              extra_info={})["score"] == 0.75


def test_other_data_sources_go_to_verls_default_score():
    pytest.importorskip("verl", reason="verl is a test requirement: `make test` installs requirements-test.txt")
    score = load_by_path().compute_score
    assert score("openai/gsm8k", "So the total is 18.\n#### 18", "18")["score"] == 1.0
    assert score("openai/gsm8k", "#### 17", "18")["score"] == 0.0
    assert set(score("openai/gsm8k", "#### 17", "18")) >= {"score", "acc", "format_ok", "verdict"}
