"""Step labels (label_steps.py) on real components, where the right answer is known.

The scripted server (cft.fixtures.step_world.StepServer) stands in for both models where exact labels must be
known: its completions reach the reference exactly when the prefix holds no planted error, and its step verdicts
are noisy. On it: planted first errors are recovered exactly wherever both signals agree, lucky solutions are
found, and steps 4-6 leave them out of the RL and SFT rows with the right/wrong balance kept; step 5 writes the
process rows, which `datasets` loads from the dataset folder and TRL's PRM trainer trains a step on. The real
vLLM engine (kill -9 mid-run, then the rerun) and the real vLLM server (tiny_server) on the tiny model carry the
plumbing: the tiny model writes noise, so its labels are undetermined, and the files say so.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from conftest import (
    ROOT,
    SERVER_KEY,
    SERVER_KEY_ENV,
    error_line,
    kill_all,
    no_key_anywhere,
    run_cmd,
    run_until_written,
    signal_once_written,
    wait_gone,
)

from cft.critic.split import val_path
from cft.fixtures.step_world import StepServer, filtered_rows
from cft.fixtures.vllm_server import free_port, kill_group, wait_for_models
from cft.process.consensus import join, lucky
from cft.process.rows import SCHEMA
from cft.process.search import Search
from cft.process.split import prefix_text, step_spans
from cft.process.verdicts import read_verdict, vote

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ[SERVER_KEY_ENV] = SERVER_KEY  # the key the scripted servers want, read by the code under test
PY = sys.executable
MODELS = {"qwen25": "qwen-2.5-math-7b", "qwen3": "qwen3-4b-base"}
N_PROBLEMS, K, M, NOISE = 16, 4, 4, 0.45


def label_cmd(filtered, labels, *extra) -> list[str]:
    return [PY, str(ROOT / "label_steps.py"), "--filtered_file", str(filtered), "--labels_file", str(labels),
            "--chunk_size", "8", "--num_verdicts", str(K), "--rollouts", str(M), *map(str, extra)]


def ok(r):
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


# --- the parts, one at a time ----------------------------------------------------------------

def test_steps_are_paragraphs_short_pieces_join_and_prefixes_are_the_text_as_written():
    text = "  Let x = 2.\n\n**Step 2:**\nThen x + 1 = 3.\n \n\nSo \\boxed{3}.\n"
    spans = step_spans(text)
    assert [text[s:e] for s, e in spans] == ["Let x = 2.\n\n**Step 2:**\nThen x + 1 = 3.", "So \\boxed{3}."]
    assert prefix_text(text, spans, 0) == "" and prefix_text(text, spans, 1) == text[:text.index("So")]
    assert [text[s:e] for s, e in step_spans(text, "lines", 0)] == [
        "Let x = 2.", "**Step 2:**", "Then x + 1 = 3.", "So \\boxed{3}."]
    one = "3 + 4 = 7. So the answer is \\boxed{7}."
    assert [one[s:e] for s, e in step_spans(one, "sentences", 5)] == ["3 + 4 = 7.", "So the answer is \\boxed{7}."]
    assert prefix_text(one, step_spans(one, "sentences", 5), 1) == "3 + 4 = 7."  # the space is the model's to write


@pytest.mark.parametrize("text, finish, index, reason", [
    ("The error is in paragraph 2. \\boxed{2}", "stop", 2, None),
    ("All steps hold. \\boxed{-1}", "stop", -1, None),
    ("$\\boxed{1}$", "stop", 1, None),
    ("\\boxed{\\text{1}}", "stop", None, "not_an_index"),
    ("<think>maybe \\boxed{0}</think> No error: \\boxed{-1}", "stop", -1, None),
    ("<think>still thinking \\boxed{0}", "stop", None, "unclosed_think"),
    ("\\boxed{2}", "length", None, "truncated"),
    ("Paragraph 2 is wrong.", "stop", None, "no_box"),
    ("\\boxed{paragraph two}", "stop", None, "not_an_index"),
    ("\\boxed{3}", "stop", None, "out_of_range"),
    ("\\boxed{-2}", "stop", None, "out_of_range"),
])
def test_a_verdict_is_read_strictly(text, finish, index, reason):
    assert read_verdict(text, finish, 3) == (index, reason)


def test_the_vote_needs_a_strict_majority_and_records_its_margin():
    def samples(*texts):
        return [{"text": t, "finish_reason": "stop"} for t in texts]

    v = vote(samples("\\boxed{1}", "\\boxed{1}", "\\boxed{-1}", "no box"), 3)
    assert (v.vote, v.margin, v.votes, v.reasons, v.verdicts) == (1, 1, {-1: 1, 1: 1 + 1}, {"no_box": 1},
                                                                 [1, 1, -1, None])
    tie = vote(samples("\\boxed{1}", "\\boxed{0}"), 3)
    assert (tie.vote, tie.why_none) == (None, "tie")
    assert vote(samples("?", "\\boxed{9}"), 3).why_none == "unparsed"


@pytest.mark.parametrize("n", range(2, 13))
def test_binary_search_finds_the_linear_pass_s_first_dead_prefix_in_2_plus_log_n_prefixes(n):
    for correct in (True, False):
        for error in [*range(n - 1), None] if correct else range(n):
            results = {}
            for mode in ("binary", "linear"):
                search, asked = Search(n, correct, mode), 0
                while not search.done:
                    for p in search.pending():
                        search.record(p, 0 if error is not None and p > error else 2)
                        asked += 1
                results[mode] = (search.status, search.first_error, asked)
            assert results["binary"][:2] == results["linear"][:2] == ("clean" if error is None else "error",
                                                                      -1 if error is None else error)
            assert results["binary"][2] <= 2 + math.ceil(math.log2(n)) and results["linear"][2] == n
    unsolved = Search(5, False)
    while not unsolved.done:
        for p in unsolved.pending():
            unsolved.record(p, 0)
    assert (unsolved.status, unsolved.first_error, sorted(unsolved.reached)) == ("unsolved", None, [0])


def test_consensus_and_the_lucky_rules():
    assert join(False, teacher=2, rollouts=2).status == "agree" and join(False, teacher=2, rollouts=2).label == 2
    assert (join(True, teacher=1, rollouts=-1).status, join(True, teacher=1, rollouts=-1).label) == ("disagree", None)
    assert join(True, teacher=None, rollouts=1).status == "undetermined"
    assert join(False, teacher=-1).status == "contradicts_grade" and join(True, rollouts=-1).status == "single"
    doubted = join(True, teacher=1, rollouts=-1)
    assert [lucky(True, doubted, 1, -1, rule) for rule in ("agree", "both", "either")] == [False, False, True]
    both = join(True, teacher=1, rollouts=2)
    assert [lucky(True, both, 1, 2, rule) for rule in ("agree", "both", "either")] == [False, True, True]
    assert lucky(True, join(True, teacher=1, rollouts=1), 1, 1) and not lucky(False, join(False, rollouts=1), None, 1)


# --- cheap checks and bad input, before any model --------------------------------------------

def test_flags_and_bad_input_are_one_line_before_any_model(tmp_path):
    filtered = tmp_path / "filtered.json"
    rows, _ = filtered_rows(2, MODELS, per_model=2)
    filtered.write_bytes(orjson.dumps(rows))
    labels = tmp_path / "labels.json"
    assert "leave no signal" in error_line(run_cmd(label_cmd(filtered, labels, "--no_teacher", "--no_rollouts")))
    assert "no teacher" in error_line(run_cmd(label_cmd(filtered, labels, "--no_rollouts")))
    assert "--max_steps must be at least 2" in error_line(run_cmd(label_cmd(filtered, labels, "--max_steps", "1",
                                                                            "--no_rollouts", "--teacher_model", "x")))
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps([rows[0], {"question": "What?"}]))
    assert f"{bad}: row 1: no index, question or answer" in error_line(
        run_cmd(label_cmd(bad, labels, "--no_rollouts", "--teacher_model", "x")))
    assert "file not found" in error_line(run_cmd(label_cmd(tmp_path / "none.json", labels, "--no_rollouts",
                                                            "--teacher_model", "x")))
    assert not (tmp_path / "labels_work").exists() or not list((tmp_path / "labels_work").rglob("chunk_*"))


def test_solutions_that_cannot_be_labelled_are_counted(tmp_path):
    rows, _ = filtered_rows(1, MODELS, per_model=2)
    long = "\n\n".join(f"Then, {k} + 1 = {k + 1}." for k in range(6)) + "\n\nSo \\boxed{6}."
    rows[0]["qwen25_solutions"] += [
        {"text": "", "correct": False, "grade": "no_answer", "finish_reason": "stop"},
        {"text": "It is 12, I think.\n\nYes, 12.", "correct": False, "grade": "no_answer", "finish_reason": "stop"},
        {"text": "All at once: \\boxed{12}.", "correct": True, "grade": "correct", "finish_reason": "stop"},
        {"text": long, "correct": False, "grade": "incorrect", "finish_reason": "stop"},
        {"text": "cut off mid", "correct": False, "grade": "no_answer", "finish_reason": "length"}]
    filtered = tmp_path / "filtered.json"
    filtered.write_bytes(orjson.dumps(rows))
    with StepServer(noise=0.0) as server:
        r = ok(run_cmd(label_cmd(filtered, tmp_path / "labels.json", "--teacher_server_url", server.url,
                                 "--no_rollouts", "--max_steps", "5", "--summary_json", tmp_path / "s.json")))
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["not_labelled"] == {"empty": 1, "no_box": 1, "one_step": 1, "over_step_cap": 1, "truncated": 1}
    assert summary["solutions"] == 4 and "over_step_cap 1" in r.stdout


# --- the scripted server: exact labels where both signals agree ------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_model):
    """Step 3's file of 16 problems (sums of 3 to 8 numbers), 4 planted solutions per model each, and the truth."""
    d = tmp_path_factory.mktemp("step_world")
    rows, truth = filtered_rows(N_PROBLEMS, MODELS)
    filtered = d / "filtered.json"
    filtered.write_bytes(orjson.dumps(rows))
    return {"dir": d, "filtered": filtered, "truth": truth, "tiny": tiny_model,
            "models": ["--model_path", f"qwen25={tiny_model}", "--model_path", f"qwen3={tiny_model}",
                       "--completer_template", "fewshot-boxed"]}


def scripted_cmd(world, server_url, labels, *extra):
    """Both signals from the scripted server, which wants the test key (the tiny model's tokenizer renders the
    completer's prompts)."""
    return label_cmd(world["filtered"], labels, "--teacher_server_url", server_url, "--teacher_api_key_env",
                     SERVER_KEY_ENV, "--completer_server_url", server_url, "--completer_api_key_env", SERVER_KEY_ENV,
                     *world["models"], *extra)


@pytest.fixture(scope="module")
def scripted(world):
    d = world["dir"] / "scripted"
    with StepServer(noise=NOISE, api_key=SERVER_KEY) as server:
        r = ok(run_cmd(scripted_cmd(world, server.url, d / "labels.json", "--summary_json", d / "summary.json")))
        linear = ok(run_cmd(scripted_cmd(world, server.url, d / "linear.json", "--search", "linear", "--no_teacher",
                                         "--summary_json", d / "linear_summary.json")))
        posts = dict(server.posts)
    return {"dir": d, "r": r, "linear": linear, "posts": posts,
            "labels": orjson.loads((d / "labels.json").read_bytes()),
            "linear_labels": orjson.loads((d / "linear.json").read_bytes()),
            "summary": json.loads((d / "summary.json").read_text()),
            "linear_summary": json.loads((d / "linear_summary.json").read_text())}


def test_planted_first_errors_are_recovered_exactly_where_both_signals_agree(world, scripted):
    rows, truth = scripted["labels"], world["truth"]
    assert len(rows) == scripted["summary"]["solutions"] and len(rows) > 100
    status = Counter()
    for row in rows:
        planted = truth[(row["index"], row["source_model"], row["solution_index"])]
        teacher, rollouts = row["teacher"], row["rollouts"]
        assert sum(teacher["votes"].values()) + sum(teacher["unparsed"].values()) == K
        # the completions are exact: a prefix is dead exactly from the planted error on
        assert rollouts["first_error"] == planted.first_error and not rollouts["non_monotonic"]
        expected = ("agree" if teacher["vote"] == planted.first_error else
                    "undetermined" if teacher["vote"] is None else "disagree")
        assert row["status"] == expected, row
        if row["status"] == "agree":
            assert row["label"] == planted.first_error
        assert row["lucky"] == (planted.lucky and row["status"] == "agree")
        status[row["status"]] += 1
    assert status["agree"] > 0.6 * len(rows) and status["disagree"] and status["undetermined"]  # the noise bites
    planted_lucky = sum(p.lucky for p in truth.values())
    found = sum(r["lucky"] for r in rows)
    assert found > 0.6 * planted_lucky and scripted["summary"]["lucky"] == found
    assert scripted["summary"]["right_solutions"] == sum(r["correct"] for r in rows)
    assert scripted["summary"]["lucky_share"] == round(found / scripted["summary"]["right_solutions"], 4)
    by_model = scripted["summary"]["lucky_by"]["source_model"]
    assert sum(v["lucky"] for v in by_model.values()) == found and set(scripted["summary"]["lucky_by"]) == {
        "source_model", "pass_band", "level"}


def test_binary_search_spends_fewer_rollouts_than_the_linear_pass_for_the_same_labels(scripted):
    binary = {(r["index"], r["source_model"], r["solution_index"]): r for r in scripted["labels"]}
    for row in scripted["linear_labels"]:
        b = binary[(row["index"], row["source_model"], row["solution_index"])]
        assert row["rollouts"]["first_error"] == b["rollouts"]["first_error"]
        n = len(row["steps"])
        assert row["rollouts"]["rollouts"] == M * n and b["rollouts"]["rollouts"] <= M * (2 + math.ceil(math.log2(n)))
        assert row["signals"] == ["rollouts"] and row["teacher"] is None
        assert row["status"] == "single" and row["label"] == row["rollouts"]["first_error"]
    assert scripted["summary"]["rollouts_per_solution"]["mean"] < scripted["linear_summary"]["rollouts_per_solution"][
        "mean"]


def test_the_report_the_summary_and_no_key_anywhere(scripted):
    d, summary = scripted["dir"], scripted["summary"]
    no_key_anywhere(scripted["r"], d)
    report = (d / "labels_report.md").read_text()
    assert f"Lucky right answers: **{summary['lucky']} (" in report and "## Lucky share by source model" in report
    assert "## Disagreements (a sample of" in report
    assert summary["teacher_model"] == "scripted-steps" and set(summary["completers"]) == {"qwen25", "qwen3"}
    assert summary["verdicts_per_solution"]["mean"] == K and summary["status"]["wrong"].get("agree")
    assert "lucky right answers" in [line[0] for line in summary["headline"]]
    chunks = sorted(p.relative_to(d).as_posix() for p in d.rglob("chunk_*.json"))
    assert chunks[0] == "labels_work/rollouts/qwen25/chunk_000.json" and any("verdicts/" in c for c in chunks)


def test_a_rerun_assembles_from_the_chunks_and_another_teacher_is_refused(world, scripted):
    d = scripted["dir"]
    with StepServer(noise=NOISE, api_key=SERVER_KEY) as server:
        r = ok(run_cmd(scripted_cmd(world, server.url, d / "labels.json")))
        assert server.posts == {"completions": 0, "chat": 0}  # nothing asked: every chunk was there
        refused = run_cmd(scripted_cmd(world, server.url, d / "labels.json", "--verdict_temperature", "0.1"))
    assert "verdicts: 3" not in r.stdout and "already done (skipped): [0, 1" in r.stdout
    assert orjson.loads((d / "labels.json").read_bytes()) == scripted["labels"]
    line = error_line(refused)
    assert "verdicts/chunk_000.json: exists but is not this run's chunk (sampling is" in line and "--overwrite" in line


# --- steps 4-6 and the dataset: lucky rows kept out, process rows in -------------------------

def steps_4_to_6(world, scripted, d: Path, server_url: str, *step4) -> dict:
    labels = scripted["dir"] / "labels.json"
    logs = d / "logs"
    logs.mkdir(parents=True)
    (logs / "summary_step_labels.json").write_bytes((scripted["dir"] / "summary.json").read_bytes())
    ok(run_cmd([PY, str(ROOT / "generate_critique_data.py"), "--filtered_file", str(world["filtered"]),
                "--output_file", str(d / "critique.json"), "--step_labels", str(labels), *step4,
                "--summary_json", str(logs / "summary_critique.json")]))
    ok(run_cmd([PY, str(ROOT / "format_critique_data.py"), "--critique_file", str(d / "critique.json"),
                "--output_file", str(d / "formatted.json"), "--val_size", "3", "--step_labels", str(labels),
                "--process_file", str(d / "process.jsonl"), "--summary_json", str(logs / "summary_format.json")]))
    ok(run_cmd([PY, str(ROOT / "create_critique_data.py"), "--formatted_file", str(d / "formatted.json"),
                "--output_file", str(d / "sft.jsonl"), "--teacher_server_url", server_url, "--teacher_api_key_env",
                SERVER_KEY_ENV, "--num_critiques", "2", "--summary_json", str(logs / "summary_sft.json")]))
    verl = [row for p in (d / "formatted.json", val_path(d / "formatted.json")) for row in orjson.loads(p.read_bytes())]
    sft = [json.loads(line) for p in (d / "sft.jsonl", val_path(d / "sft.jsonl"))
           for line in p.read_text().splitlines()]
    return {"dir": d, "logs": logs, "critique": orjson.loads((d / "critique.json").read_bytes()), "verl": verl,
            "sft": sft, "critique_summary": json.loads((logs / "summary_critique.json").read_text())}


@pytest.fixture(scope="module")
def downstream(world, scripted):
    with StepServer(noise=NOISE, api_key=SERVER_KEY) as server:
        held = steps_4_to_6(world, scripted, world["dir"] / "held", server.url)
        kept = steps_4_to_6(world, scripted, world["dir"] / "kept", server.url, "--keep_lucky")
    return {"held": held, "kept": kept}


def test_lucky_solutions_stay_out_of_the_rl_and_sft_rows_and_the_balance_holds(world, scripted, downstream, tmp_path):
    lucky_ones = {(r["index"], r["source_model"], r["solution_index"]) for r in scripted["labels"] if r["lucky"]}
    held = downstream["held"]
    assert lucky_ones and held["critique_summary"]["held_back_lucky"]
    assert sum(held["critique_summary"]["held_back_lucky"].values()) == len(lucky_ones)
    drawn = {(r["index"], r["source_model"], r["solution_index"]) for r in held["critique"]}
    assert not drawn & lucky_ones and all(r["lucky"] is False for r in held["critique"])
    verl = {(v["extra_info"]["question_index"], v["extra_info"]["source_model"], v["extra_info"]["solution_index"])
            for v in held["verl"]}
    assert not verl & lucky_ones and all(v["extra_info"]["lucky"] is False for v in held["verl"])
    sft = {(s["question_index"], s["source_model"], s["solution_index"]) for s in held["sft"]}
    assert sft and not sft & lucky_ones
    # the balance: the same draw as from a filtered file without the lucky solutions
    rows = orjson.loads(world["filtered"].read_bytes())
    for row in rows:
        for alias, name in MODELS.items():
            row[f"{alias}_solutions"] = [s for k, s in enumerate(row[f"{alias}_solutions"])
                                         if (row["index"], name, k) not in lucky_ones]
    (tmp_path / "without.json").write_bytes(orjson.dumps(rows))
    ok(run_cmd([PY, str(ROOT / "generate_critique_data.py"), "--filtered_file", str(tmp_path / "without.json"),
                "--output_file", str(tmp_path / "critique.json")]))
    without = orjson.loads((tmp_path / "critique.json").read_bytes())

    def mix(critique):
        return Counter((r["index"], r["target"]) for r in critique)
    assert mix(held["critique"]) == mix(without)
    assert Counter(r["target"] for r in held["critique"]) == {"right": len(held["critique"]) // 2,
                                                               "wrong": len(held["critique"]) // 2}


def test_keep_lucky_draws_them_marked_down_to_the_sft_rows(scripted, downstream):
    kept = downstream["kept"]
    lucky_ones = {(r["index"], r["source_model"], r["solution_index"]) for r in scripted["labels"] if r["lucky"]}
    marked = {(r["index"], r["source_model"], r["solution_index"]) for r in kept["critique"] if r["lucky"]}
    assert marked and marked <= lucky_ones
    assert {(v["extra_info"]["question_index"], v["extra_info"]["source_model"], v["extra_info"]["solution_index"])
            for v in kept["verl"] if v["extra_info"]["lucky"]} == marked
    assert {(s["question_index"], s["source_model"], s["solution_index"]) for s in kept["sft"] if s["lucky"]} <= marked
    assert any(s["lucky"] for s in kept["sft"]) and kept["critique_summary"]["kept_lucky"]


@pytest.fixture(scope="module")
def dataset(downstream) -> Path:
    """The dataset folder of the run that held the lucky solutions back: rl, sft and process."""
    held = downstream["held"]
    d = held["dir"]
    ok(run_cmd([PY, str(ROOT / "build_dataset.py"), "--rl_file", str(d / "formatted.parquet"), "--sft_file",
                str(d / "sft.parquet"), "--process_file", str(d / "process.parquet"), "--summaries", str(held["logs"]),
                "--output_dir", str(d / "dataset")]))
    return d / "dataset"


def test_the_process_rows_follow_step_5_s_split_and_load_as_the_process_config(world, scripted, downstream, dataset):
    held = downstream["held"]
    d = held["dir"]
    train = [json.loads(line) for line in (d / "process.jsonl").read_text().splitlines()]
    val = [json.loads(line) for line in (d / "process_val.jsonl").read_text().splitlines()]
    assert train == pq.read_table(d / "process.parquet").to_pylist()
    assert pq.read_table(d / "process_val.parquet").schema.equals(SCHEMA)
    labelled = [r for r in scripted["labels"] if r["label"] is not None]
    assert len(train) + len(val) == len(labelled)
    rl_val = {v["extra_info"]["question_index"] for v in orjson.loads(val_path(d / "formatted.json").read_bytes())}
    assert {r["question_index"] for r in val} == rl_val and not {r["question_index"] for r in train} & rl_val
    truth = world["truth"]
    for row in train + val:
        planted = truth[(row["question_index"], row["source_model"], row["solution_index"])]
        assert row["label"] == planted.first_error and row["steps"][:len(row["completions"])] == row["completions"]
        assert row["labels"] == [True] * (len(row["completions"]) - 1) + [planted.first_error == -1]
        assert len(row["completions"]) == (len(row["steps"]) if row["label"] == -1 else row["label"] + 1)
        assert row["problem"] == row["prompt"] and row["final_answer_correct"] == planted.correct
        assert row["lucky"] == planted.lucky and row["signals"] == ["teacher", "rollouts"]
        assert row["rollout_first_error"] == row["label"] == row["teacher_vote"]
    import datasets

    ds = datasets.load_dataset(str(dataset), "process", cache_dir=str(d / "hf_cache"))
    assert set(ds) == {"train", "validation"} and ds["train"].num_rows == len(train)
    assert ds["validation"].to_list() == val
    card = (dataset / "README.md").read_text()
    summary = scripted["summary"]
    assert "### Step labels: which step went wrong (`label_steps.py`)" in card
    assert f"Lucky right answers: {summary['lucky']} of {summary['right_solutions']} right solutions " \
           f"({100 * summary['lucky_share']:.1f}%)" in card
    assert "Step 4 held them back" in card and "| source model | right solutions | lucky | share |" in card
    assert "For `process`, *right* is every step right" in card


def test_trl_s_prm_trainer_trains_a_step_on_the_process_rows(world, dataset, tmp_path):
    """TRL keeps its PRM trainer in trl.experimental.prm up to 1.13.0 (requirements-test.txt); CFT_TRL_PATH may
    point at a folder holding it, added to this subprocess's path only."""
    folder = dataset
    script = f"""
import json, torch, datasets
from transformers import AutoModelForTokenClassification, AutoTokenizer
from trl.experimental.prm import PRMConfig, PRMTrainer
ds = datasets.load_dataset({str(folder)!r}, "process", cache_dir={str(tmp_path / 'hf')!r})
tok = AutoTokenizer.from_pretrained({str(world['tiny'])!r})
model = AutoModelForTokenClassification.from_pretrained({str(world['tiny'])!r}, num_labels=2)
before = model.score.weight.detach().clone()
args = PRMConfig(output_dir={str(tmp_path / 'prm')!r}, max_steps=1, per_device_train_batch_size=4,
                 report_to=[], save_strategy="no", logging_steps=1, use_cpu=True, max_length=512)
trainer = PRMTrainer(model=model, args=args, processing_class=tok, train_dataset=ds["train"])
out = trainer.train()
print(json.dumps({{"steps": trainer.state.global_step, "loss": out.training_loss,
                   "changed": bool((model.score.weight.detach() != before).any())}}))
"""
    env = {**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("CFT_TRL_PATH"), str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    r = subprocess.run([PY, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, ("TRL's PRM trainer (trl==1.13.0, requirements-test.txt) failed or is missing: "
                               + r.stderr[-3000:])
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["steps"] == 1 and math.isfinite(result["loss"]) and result["changed"]


# --- faults: the server dies mid-run; kill -9 of a local run --------------------------------

def test_a_server_that_dies_mid_run_stops_the_step_in_one_line_and_the_rerun_goes_on(world, scripted, tmp_path):
    port = free_port()
    server = subprocess.Popen([PY, "-m", "cft.fixtures.step_world", str(port), "--delay_s", "0.05", "--noise",
                               str(NOISE), "--api_key_env", SERVER_KEY_ENV], stdout=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    labels = tmp_path / "labels.json"
    cmd = scripted_cmd(world, url, labels, "--teacher_server_timeout_s", "2", "--completer_server_timeout_s", "2",
                       "--completer_max_in_flight", "2", "--teacher_max_in_flight", "2")
    try:
        wait_for_models(url, {"Authorization": f"Bearer {SERVER_KEY}"}, server, timeout_s=60)
        r = run_until_written(cmd, tmp_path / "labels_work" / "rollouts" / "qwen25" / "chunk_000.json",
                              lambda: os.kill(server.pid, signal.SIGKILL))
    finally:
        kill_group(server, grace_s=1)
    line = error_line(r)
    whole = len(list((tmp_path / "labels_work" / "rollouts" / "qwen25").glob("chunk_*.json")))
    assert url in line and "gave up" in line and "stopped at chunk" in line and "of 8 chunks are whole" in line
    assert 1 <= whole < 8 and not labels.exists()
    no_key_anywhere(r, tmp_path)
    with StepServer(noise=NOISE, api_key=SERVER_KEY) as again:
        rerun = ok(run_cmd(scripted_cmd(world, again.url, labels)))
    assert f"rollouts/qwen25: 8 chunks of 8; to do: {list(range(whole, 8))}" in rerun.stdout or whole == 8
    no_key_anywhere(rerun, tmp_path)
    assert orjson.loads(labels.read_bytes()) == scripted["labels"]  # the same server gives the same labels


@pytest.fixture(scope="module")
def local_run(world, tmp_path_factory):
    """The tiny model in one local engine as both teacher and completer (the engine opened once), on 6 problems in
    chunks of 2 solutions, one request in flight; killed with kill -9 at a random moment after the first rollout
    chunk lands; then the same command again."""
    d = tmp_path_factory.mktemp("step_labels_local")
    tiny = world["tiny"]
    cmd = label_cmd(world["filtered"], d / "labels.json", "--max_problems", "6", "--chunk_size", "2",
                    "--teacher_model", tiny, "--teacher_max_model_len", "1024", "--teacher_enforce_eager",
                    "--verdict_max_tokens", "16", "--num_verdicts", "2", "--completer_max_model_len", "1024",
                    "--completer_enforce_eager", "--completer_max_tokens", "48", "--completer_max_in_flight", "1",
                    "--teacher_engine_log", d / "engine.log", "--summary_json", d / "summary.json",
                    *world["models"])
    cmd[cmd.index("--rollouts") + 1] = "3"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    jitter = random.Random(os.environ.get("CFT_FAULT_SEED", "13")).uniform(0, 0.3)
    procs = signal_once_written(proc, d / "labels_work" / "rollouts" / "qwen25" / "chunk_000.json", signal.SIGKILL,
                                jitter)
    proc.wait()
    gone_s, orphans = wait_gone(procs, timeout=10.0)
    kill_all(orphans)
    after_kill = {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("chunk_*.json")}
    rerun = run_cmd(cmd)
    return {"dir": d, "cmd": cmd, "procs": procs, "orphans": orphans, "after_kill": after_kill, "rerun": rerun}


def test_kill_9_of_a_local_run_loses_only_chunks_in_flight_and_leaves_no_process(local_run):
    assert len(local_run["procs"]) > 1 and not local_run["orphans"], local_run["orphans"]
    after = local_run["after_kill"]
    rollouts = [n for n in after if "/rollouts/" in n]
    assert after and 1 <= len(rollouts) and len([n for n in after if "/qwen25/" in n]) < len(
        list((local_run["dir"] / "labels_work" / "rollouts" / "qwen25").glob("chunk_*.json"))) + 1
    rerun = ok(local_run["rerun"])
    final = {p.relative_to(local_run["dir"]).as_posix(): p.read_bytes()
             for p in local_run["dir"].rglob("chunk_*.json")}
    assert all(final[n] == data for n, data in after.items())  # resumed, not redone
    assert len(final) > len(after) and "already done (skipped): [0" in rerun.stdout
    assert "vLLM's own output" in rerun.stdout and rerun.stdout.count("vLLM's own output") == 1  # one engine


def test_the_tiny_model_s_labels_are_undetermined_and_say_why(local_run):
    summary = json.loads((local_run["dir"] / "summary.json").read_text())
    rows = orjson.loads((local_run["dir"] / "labels.json").read_bytes())
    assert rows and summary["solutions"] == len(rows)
    # the verdicts were whole before the kill (the teacher runs first): the rerun opened the engine for the rest
    assert summary["backends"] and {b["backend"] for b in summary["backends"].values()} == {"local"}
    for row in rows:  # noise: no verdict parses often; the sums are beyond its answers (0-4): never solved
        assert row["rollouts"]["status"] == "unsolved" and row["label"] is None and not row["lucky"]
        assert 0 in [t["prefix"] for t in row["rollouts"]["tested"]]  # the search came down to the problem alone
    assert summary["prefix_cache"]["hits"] > 0  # the prefixes of one solution share their prompt


def test_the_real_vllm_server_carries_the_completions(world, tiny_server, tmp_path):
    """The completer behind the real vLLM server (the teacher's verdict prompts are longer than its 512 tokens of
    context: the scripted server and the local engine carry the teacher)."""
    r = ok(run_cmd(label_cmd(world["filtered"], tmp_path / "labels.json", "--max_problems", "2", "--no_teacher",
                             "--completer_server_url", tiny_server, "--completer_api_key_env", SERVER_KEY_ENV,
                             "--completer_max_tokens", "24", *world["models"], "--summary_json", tmp_path / "s.json")))
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["backends"]["qwen25"]["backend"] == "server" and summary["backends"]["qwen25"]["vllm"]
    assert summary["completers"] == {"qwen25": str(world["tiny"]), "qwen3": str(world["tiny"])}
    assert sum(summary["status"]["right"].values()) + sum(summary["status"]["wrong"].values()) == summary["solutions"]
    assert summary["rollouts_per_solution"]["total"] > 0
    no_key_anywhere(r, tmp_path)
