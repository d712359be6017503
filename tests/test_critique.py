"""Step 4: balanced, seeded, duplicate-free critique rows with the exact instruction."""

import subprocess
import sys

import orjson
import pytest

from cft.common.errors import CftError
from cft.critic.critique_rows import INSTRUCTION, critique_prompt, critique_rows


def sol(text, correct, finish="stop"):
    return {"text": text, "extracted_answer": "x", "correct": correct,
            "grade": "correct" if correct else "incorrect", "finish_reason": finish, "num_tokens": 5}


def problem(index, q25, q3):
    """q25/q3: lists of booleans (right/wrong) per sample."""
    return {"problem": f"Question {index}?", "answer": "7", "index": index,
            "qwen25_solutions": [sol(f"q25 p{index} s{i} {c}", c) for i, c in enumerate(q25)],
            "qwen3_solutions": [sol(f"q3 p{index} s{i} {c}", c) for i, c in enumerate(q3)]}


def test_exact_instruction_and_layout():
    assert INSTRUCTION == (
        "You are a mathematics expert. A student is trying to solve a question. Please explain briefly "
        "whether his answer is correct or not. Finally, conclude your judgement with "
        "'Conclusion: right/wrong [END]'")
    assert critique_prompt("Q?", "S.") == f"{INSTRUCTION}\n\nQuestion: Q?\n\nStudent's solution:\nS.\n\nCritique:"


def test_balanced_both_models_no_repeats():
    filtered = [problem(i, [True, False] * 4, [False, True, True, False, False, True, False, False])
                for i in range(30)]
    rows, stats = critique_rows(filtered, max_samples=4, seed=0)
    rows = list(rows)
    assert len(rows) == 120
    for i in range(30):
        mine = [r for r in rows if r["index"] == i]
        assert sorted(r["target"] for r in mine) == ["right", "right", "wrong", "wrong"]
        assert len({(r["source_model"], r["solution_index"]) for r in mine}) == 4
        assert len({r["solution"] for r in mine}) == 4
        for r in mine:
            assert r["prompt"] == critique_prompt(r["question"], r["solution"])
            assert r["ground_truth"] == "7" and r["question"] == f"Question {i}?"
            src = "qwen25" if r["source_model"] == "qwen-2.5-math-7b" else "qwen3"
            assert filtered[i][f"{src}_solutions"][r["solution_index"]]["text"] == r["solution"]
            assert (r["target"] == "right") == filtered[i][f"{src}_solutions"][r["solution_index"]]["correct"]
    # drawn from both models, not one
    assert {r["source_model"] for r in rows} == {"qwen-2.5-math-7b", "qwen3-4b-base"}
    assert min(sum(c.values()) for c in stats.by_model.values()) >= 40
    assert stats.targets == {"right": 60, "wrong": 60}


def test_one_sided_problem_fills_with_what_it_has():
    # qwen25 all wrong, qwen3 has one right: 1 right + 3 wrong
    rows = list(critique_rows([problem(0, [False] * 8, [True] + [False] * 7)], max_samples=4)[0])
    assert sorted(r["target"] for r in rows) == ["right", "wrong", "wrong", "wrong"]
    # only 2 distinct solutions in all: 2 rows, never a repeat
    p = problem(1, [True], [False])
    assert len(list(critique_rows([p], max_samples=4)[0])) == 2


def test_duplicate_texts_are_used_once():
    p = problem(0, [True] * 4, [False] * 4)
    for s in p["qwen25_solutions"]:
        s["text"] = "same right text"
    rows = list(critique_rows([p], max_samples=4)[0])
    assert [r["solution"] for r in rows].count("same right text") == 1
    assert len(rows) == 4


def test_seeded_and_order_independent():
    filtered = [problem(i, [True, False, True, False], [False, True, False, True]) for i in range(10)]
    a = list(critique_rows(filtered, seed=1)[0])
    b = list(critique_rows(list(reversed(filtered)), seed=1)[0])
    c = list(critique_rows(filtered, seed=2)[0])
    key = lambda r: (r["index"], r["source_model"], r["solution_index"])
    assert sorted(map(key, a)) == sorted(map(key, b))
    assert sorted(map(key, a)) != sorted(map(key, c))


def test_truncated_skipped_unless_asked():
    p = problem(0, [True, False], [False, True])
    for s in p["qwen25_solutions"] + p["qwen3_solutions"]:
        s["finish_reason"] = "length"
    p["qwen3_solutions"][1]["finish_reason"] = "stop"
    rows, stats = critique_rows([p])
    rows = list(rows)
    assert [r["solution_index"] for r in rows] == [1] and stats.skipped_truncated == 3
    assert len(list(critique_rows([p], include_truncated=True)[0])) == 4


def test_bad_arguments():
    with pytest.raises(CftError):
        list(critique_rows([problem(0, [True], [False])], max_samples=0)[0])
    with pytest.raises(CftError, match="no <model>_solutions"):
        list(critique_rows([{"problem": "q", "answer": "1", "index": 0}])[0])


def test_the_problem_set_given_as_filtered_problems_is_named(tmp_path):
    """Step 4 run on the raw problem set: the error names the file, the row and what is missing."""
    from conftest import ROOT

    inp = tmp_path / "deepscaler_train.json"
    inp.write_bytes(orjson.dumps([{"problem": "What is 1 + 1?", "answer": "2"}]))
    r = subprocess.run([sys.executable, str(ROOT / "generate_critique_data.py"), "--filtered_file", str(inp),
                        "--output_file", str(tmp_path / "c.json")], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"error: {inp}: row 0: not a filtered problem (no index); is this step 3's output" in r.stderr, r.stderr


def test_cli_analyze(tmp_path):
    from conftest import ROOT

    inp = tmp_path / "filtered.json"
    inp.write_bytes(orjson.dumps([problem(i, [True, False] * 4, [False] * 8) for i in range(5)]))
    out = tmp_path / "critique.json"
    r = subprocess.run([sys.executable, str(ROOT / "generate_critique_data.py"), "--filtered_file", str(inp),
                        "--output_file", str(out), "--max_samples_per_question", "6", "--analyze"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = orjson.loads(out.read_bytes())
    assert len(rows) == 30
    assert set(rows[0]) == {"index", "question", "solution", "ground_truth", "target", "prompt",
                            "source_model", "solution_index", "extracted_answer"}
    assert "qwen-2.5-math-7b" in r.stdout and "qwen3-4b-base" in r.stdout and "3R/3W:5" in r.stdout
