"""Step 4's prompt budget: token counts as verl's chat template gives them, the draw from what fits
(balanced where it can be), and the summary of what the budget removed."""

import json
import subprocess
import sys

import orjson
import pytest
from conftest import ROOT

from cft.common.errors import CftError
from cft.critic.critique_rows import critique_prompt, critique_rows
from cft.critic.prompt_budget import CharCounter, PromptCounter, length_summary


def sol(text, correct):
    return {"text": text, "extracted_answer": "x", "correct": correct, "finish_reason": "stop"}


def problem(index, long_wrong=True):
    """Two short right and two short wrong solutions per model, plus long ones (wrong by default)."""
    long = "Let me expand every term once more. " * 80
    return {"problem": f"What is {index} + 3?", "answer": str(index + 3), "index": index,
            "qwen25_solutions": [sol(f"short right {index} a", True), sol(f"short wrong {index} a", False),
                                 sol(f"{long} long {index} a", not long_wrong),
                                 sol(f"{long} long {index} b", not long_wrong)],
            "qwen3_solutions": [sol(f"short right {index} b", True), sol(f"short wrong {index} b", False),
                                sol(f"{long} long {index} c", not long_wrong)]}


def test_counts_are_the_chat_template_with_a_generation_prompt(tiny_model):
    counter = PromptCounter(tiny_model)
    tok = counter.tokenizer
    prompts = [critique_prompt("What is 1 + 1?", "It is \\boxed{2}."), critique_prompt("Q?", "x " * 300)]
    expected = [len(tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                            tokenize=True)["input_ids"]) for p in prompts]
    assert counter.tokens(prompts) == expected
    rendered = tok.apply_chat_template([{"role": "user", "content": prompts[0]}], add_generation_prompt=True,
                                       tokenize=False)
    assert rendered.endswith("<|im_start|>assistant\n")  # the generation prompt is counted
    assert expected[0] == len(tok(rendered, add_special_tokens=False)["input_ids"])


def test_tokenizer_without_chat_template_is_an_error(tiny_model, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    tok.chat_template = None
    tok.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(CftError, match="has no chat template"):
        PromptCounter(tmp_path)


def test_budget_draws_from_what_fits_and_reports_what_it_removed(tiny_model):
    counter = PromptCounter(tiny_model)
    filtered = [problem(i) for i in range(6)]
    short_max = max(counter.tokens([critique_prompt(p["problem"], s["text"]) for p in filtered
                                    for s in p["qwen25_solutions"] + p["qwen3_solutions"] if "short" in s["text"]]))
    rows, stats = critique_rows(filtered, max_samples=4, seed=0, counter=counter, max_prompt_tokens=short_max)
    rows = list(rows)
    assert len(rows) == 24 and all("short" in r["solution"] for r in rows)
    for i in range(6):  # still two right and two wrong per problem: the short ones
        assert sorted(r["target"] for r in rows if r["index"] == i) == ["right", "right", "wrong", "wrong"]
    assert stats.over_budget == {("qwen-2.5-math-7b", "wrong"): 12, ("qwen3-4b-base", "wrong"): 6}
    assert max(stats.prompt_lengths) <= short_max and len(stats.prompt_lengths) == 24 and stats.length_unit == "tokens"
    assert stats.unbudgeted.rows == 24 and stats.unbudgeted.targets == {"right": 12, "wrong": 12}


def test_budget_shifts_the_label_mix_where_balance_cannot_hold(tiny_model):
    counter = PromptCounter(tiny_model)
    long = "Let me expand every term once more. " * 80
    filtered = [{"problem": f"What is {i} + 3?", "answer": str(i + 3), "index": i, "qwen3_solutions": [],
                 "qwen25_solutions": [sol(f"short wrong {i}", False), sol(f"{long} right {i}", True),
                                      sol(f"{long} wrong {i}", False)]} for i in range(4)]
    short = max(counter.tokens([critique_prompt(p["problem"], p["qwen25_solutions"][0]["text"]) for p in filtered]))
    rows, stats = critique_rows(filtered, max_samples=2, seed=0, counter=counter, max_prompt_tokens=short)
    assert [r["target"] for r in rows] == ["wrong"] * 4  # only the short (wrong) solution of each problem fits
    assert stats.unbudgeted.targets == {"right": 4, "wrong": 4}
    assert stats.over_budget == {("qwen-2.5-math-7b", "right"): 4, ("qwen-2.5-math-7b", "wrong"): 4}


def test_without_a_budget_the_draw_is_unchanged(tiny_model):
    filtered = [problem(i) for i in range(5)]
    plain, _ = critique_rows(filtered, max_samples=4, seed=3)
    counted, stats = critique_rows(filtered, max_samples=4, seed=3, counter=PromptCounter(tiny_model))
    assert list(plain) == list(counted)
    assert stats.unbudgeted is None and len(stats.prompt_lengths) == 20


def test_budget_needs_a_tokenizer():
    with pytest.raises(CftError, match="--max_prompt_tokens needs --tokenizer"):
        critique_rows([problem(0)], max_prompt_tokens=1024)


def test_length_summary():
    s = length_summary(list(range(1, 5001)), "tokens")
    assert (s["min"], s["median"], s["max"], s["over"]) == (1, 2501, 5000, {1024: 3976, 2048: 2952, 4096: 904})
    assert CharCounter().tokens(["abc", ""]) == [3, 0]


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "generate_critique_data.py"), *map(str, args)],
                          capture_output=True, text=True)


def test_cli_reports_the_budget(tiny_model, tmp_path):
    src = tmp_path / "filtered.json"
    src.write_bytes(orjson.dumps([problem(i) for i in range(6)]))
    out = tmp_path / "critique.json"
    r = run("--filtered_file", src, "--output_file", out, "--tokenizer", tiny_model, "--max_prompt_tokens", 300,
            "--summary_json", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    assert "prompt budget" in r.stdout and "300 tokens: 18 solutions over it" in r.stdout
    assert "over budget, qwen-2.5-math-7b" in r.stdout and "right 0, wrong 12" in r.stdout
    assert "without the budget" in r.stdout and "with the budget" in r.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["rows"] == 24 and data["max_prompt_tokens"] == 300 and data["prompt_lengths"]["max"] <= 300
    assert {(x["model"], x["target"]): x["solutions"] for x in data["over_budget"]} == {
        ("qwen-2.5-math-7b", "wrong"): 12, ("qwen3-4b-base", "wrong"): 6}
    assert data["without_budget"]["targets"] == {"right": 12, "wrong": 12}

    r = run("--filtered_file", src, "--output_file", out, "--overwrite")  # no tokenizer: characters
    assert r.returncode == 0, r.stderr
    assert "prompt chars min/median/p90/max" in r.stdout and "rows over N chars" in r.stdout

    r = run("--filtered_file", src, "--output_file", tmp_path / "x.json", "--max_prompt_tokens", 300)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == (  # (after a reader's note on the layout)
        "error: --max_prompt_tokens needs --tokenizer (tokens are counted with its chat template) and a positive count")
    assert not (tmp_path / "x.json").exists()
