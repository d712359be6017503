"""Step 6, create_critique_data.py, on real components: the verdict table; a local vLLM engine on the tiny
model, killed with kill -9 after its first chunk and rerun; the shared real vLLM OpenAI server (tiny_server)
writing the same schema; the server killed mid-run (a proxy process in front of it, kill -9); the API key
nowhere in what the step prints or writes; cheap checks before any engine.

The tiny random model writes noise, never a verdict, so nothing it writes is kept. Where a test needs
critiques with verdicts (keeping, rewriting, the audit, the doubted report), the real server's replies pass
through a proxy that replaces each choice's text with a canned critique (``helpers.canned_critique``): that is
the only stub, and only for what no real model here can write.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import orjson
import pyarrow.parquet as pq
import pytest
from conftest import (
    ROOT,
    SERVER_KEY_ENV,
    error_line,
    kill_all,
    no_key_anywhere,
    run_cmd,
    signal_once_written,
    wait_gone,
)
from helpers import canned_critique, write_formatted
from servers import FaultProxy, proxy_process

from cft.critic.critique_rows import critique_prompt
from cft.critic.split import val_path
from cft.generate.chunk_lock import ChunkLock
from cft.reward import parse_verdict
from cft.teacher.prompts import mentions_reference, teacher_messages, teacher_prompt
from cft.teacher.sft_rows import SCHEMA
from cft.teacher.verdicts import KEPT, check

SCRIPT = ROOT / "create_critique_data.py"
K = 3


def teacher_cmd(formatted, output, *extra) -> list[str]:
    return [sys.executable, str(SCRIPT), "--formatted_file", str(formatted), "--output_file", str(output),
            "--chunk_size", "2", "--num_critiques", str(K), "--max_tokens", "32", *map(str, extra)]


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def chunks_of(output) -> dict[str, bytes]:
    folder = output.with_name(f"{output.stem}_work")
    return {p.name: p.read_bytes() for p in sorted(folder.glob("chunk_*.json"))}


# --- the verdict table: one critique against its label ---------------------------------------

EXACT_END = "It is 3.\n\nConclusion: right [END]"
CASES = [  # (critique, finish_reason, label, flags, outcome, the critique kept)
    (EXACT_END, "stop", "right", {}, "exact", EXACT_END),
    (f"  {EXACT_END}\n\n", "stop", "right", {}, "exact", EXACT_END),
    ("It is 3.\n\n**Conclusion:** right", "stop", "right", {}, "rewritten", EXACT_END),
    ("It is 3. conclusion: Right [END]", "stop", "right", {}, "rewritten", EXACT_END),
    ("It is 3.\n\nConclusion: right [END] Hope this helps!", "stop", "right", {}, "rewritten", EXACT_END),
    ("It is 3.\n\n*Conclusion: right.*", "stop", "right", {}, "rewritten", EXACT_END),
    ("It is 3.\nConclusion: right\n\nConclusion: right [END]", "stop", "right", {}, "repeated_verdict", None),
    ("It is 4.\n\nConclusion: wrong [END]", "stop", "right", {}, "contradicts", None),
    (EXACT_END, "length", "right", {}, "truncated", None),
    ("I think it is fine.", "stop", "right", {}, "no_verdict", None),
    ("So: Conclusion: right/wrong [END]", "stop", "right", {}, "no_verdict", None),  # the echoed instruction
    ("Conclusion: right. Or rather Conclusion: wrong [END]", "stop", "right", {}, "conflict", None),
    ("<think>Conclusion: wrong? No.</think>\n" + EXACT_END, "stop", "right", {}, "exact", EXACT_END),
    ("<think>Conclusion: wrong? No.</think>\n" + EXACT_END, "stop", "right", {"keep_thinking": True}, "conflict",
     None),
    ("<think>Hmm.</think>\n" + EXACT_END, "stop", "right", {"keep_thinking": True}, "exact",
     "<think>Hmm.</think>\n" + EXACT_END),
    ("<think>Let me see: 3 + 0 is", "stop", "right", {}, "unclosed_think", None),
    ("The reference answer is 3, so: Conclusion: right [END]", "stop", "right", {"show_reference": True},
     "mentions_reference", None),
    ("It matches the Ground  Truth.\n\nConclusion: right [END]", "stop", "right", {"show_reference": True},
     "mentions_reference", None),
    ("The reference answer is 3, so: Conclusion: right [END]", "stop", "right", {}, "exact",
     "The reference answer is 3, so: Conclusion: right [END]"),
    ("Working it out gives 3, as the student has.\n\nConclusion: right [END]", "stop", "right",
     {"show_reference": True}, "exact", "Working it out gives 3, as the student has.\n\nConclusion: right [END]"),
    ("Wrong sum: 2 + 2 is 4, not 5.\n\nConclusion: Wrong", "stop", "wrong", {}, "rewritten",
     "Wrong sum: 2 + 2 is 4, not 5.\n\nConclusion: wrong [END]"),
]


@pytest.mark.parametrize("text, finish, label, flags, outcome, kept", CASES)
def test_verdict_table(text, finish, label, flags, outcome, kept):
    checked = check(text, finish, label, **flags)
    assert (checked.outcome, checked.text) == (outcome, kept)
    if checked.outcome in KEPT:  # every kept critique is what the reward pays in full
        assert parse_verdict(checked.text) == (label, True)


def test_what_the_teacher_is_asked():
    prompt = critique_prompt("What is 1 + 1?", "It is 2. \\boxed{2}")
    assert teacher_messages(prompt) == [{"role": "user", "content": prompt}]  # blind: the critic's own prompt
    reference = teacher_prompt(prompt, "2")
    assert reference.startswith(prompt.removesuffix("Critique:")) and reference.endswith("\n\nCritique:")
    assert "the reference answer to this question is 2." in reference and "Do not mention" in reference
    shots = teacher_messages(prompt, examples=True)
    assert [m["role"] for m in shots] == ["user", "assistant", "user", "assistant", "user"]
    assert [parse_verdict(m["content"]) for m in shots[1:4:2]] == [("right", True), ("wrong", True)]
    assert shots[-1] == {"role": "user", "content": prompt}
    assert all(mentions_reference(t) for t in ("per the reference", "the answer key", "Expected answer: 2"))
    assert not any(mentions_reference(t) for t in ("the answer is 2", "preferences", "referee"))


# --- cheap checks, before any engine ---------------------------------------------------------

@pytest.fixture(scope="module")
def formatted(tmp_path_factory):
    """Step 5's files for 12 rows (6 problems): 8 training rows, 4 held out."""
    return write_formatted(tmp_path_factory.mktemp("teacher_input"), 12)


def test_flags_and_rows_checked_first(formatted, tmp_path):
    out = tmp_path / "sft.jsonl"
    assert "no teacher" in error_line(run_cmd(teacher_cmd(formatted, out)))
    assert "--keep_per_row 5 is more than --num_critiques 3" in error_line(
        run_cmd(teacher_cmd(formatted, out, "--teacher_model", "x", "--keep_per_row", "5")))
    bad = tmp_path / "bad.json"
    rows = orjson.loads(formatted.read_bytes())
    bad.write_bytes(orjson.dumps([rows[0], {**rows[1], "prompt": []}]))
    assert f"{bad}: row 1: no user prompt" in error_line(run_cmd(teacher_cmd(bad, out, "--teacher_model", "x")))
    bad.write_bytes(orjson.dumps([{**rows[0], "reward_model": {"style": "rule", "ground_truth": "7"}}]))
    assert "row 0: reward_model.ground_truth is '7'" in error_line(
        run_cmd(teacher_cmd(bad, out, "--teacher_model", "x")))
    bad.write_bytes(orjson.dumps([{**rows[0], "extra_info": {}}]))
    assert "no extra_info.question_ground_truth" in error_line(
        run_cmd(teacher_cmd(bad, out, "--teacher_model", "x", "--show_reference")))
    assert "file not found" in error_line(run_cmd(teacher_cmd(tmp_path / "none.json", out, "--teacher_model", "x")))
    assert not (tmp_path / "sft_work").exists() or not list((tmp_path / "sft_work").iterdir())


def test_a_second_process_on_the_folder_is_refused(formatted, tmp_path):
    out = tmp_path / "sft.jsonl"
    folder = tmp_path / "sft_work"
    folder.mkdir()
    lock = ChunkLock(folder / "run")
    assert lock.try_acquire() is None
    try:
        line = error_line(run_cmd(teacher_cmd(formatted, out, "--teacher_model", "x")))
    finally:
        lock.release()
    assert "another process" in line and f"pid {os.getpid()}" in line


# --- the local engine: kill -9 after the first chunk, then the rerun -------------------------

# Long enough that the 11 chunks after the first take seconds once the engine has warmed up: 11 s here at 192
# tokens, 3.9 s at 64, where on a CI machine all 12 were once done before the kill landed.
LOCAL_MAX_TOKENS = 192


@pytest.fixture(scope="module")
def local_run(tiny_model, tmp_path_factory):
    """24 rows in 12 chunks through a local engine on the tiny model, one row in flight at a time; the main
    process killed with kill -9 at a random moment after the first chunk lands; then the same command again."""
    d = tmp_path_factory.mktemp("teacher_local")
    formatted = write_formatted(d / "in", 24)
    out = d / "sft.jsonl"
    cmd = teacher_cmd(formatted, out, "--teacher_model", tiny_model, "--max_model_len", "512", "--enforce_eager",
                      "--max_tokens", str(LOCAL_MAX_TOKENS), "--max_in_flight", "1", "--engine_log", d / "engine.log",
                      "--summary_json", d / "summary.json")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    jitter = random.Random(os.environ.get("CFT_FAULT_SEED", "13")).uniform(0, 0.3)
    procs = signal_once_written(proc, out.with_name("sft_work") / "chunk_000.json", signal.SIGKILL, jitter)
    proc.wait()
    gone_s, orphans = wait_gone(procs, timeout=10.0)
    kill_all(orphans)
    after_kill = chunks_of(out)
    temporary = [p.name for p in d.rglob("*.tmp")]
    planted = [out.with_name("sft_work") / ".chunk_011.json.k9x1.tmp", out.with_name(f".{out.name}.k9x1.tmp")]
    for p in planted:  # what a kill -9 mid-write leaves, whenever this one landed
        p.write_bytes(b'{"meta')
    rerun = run_cmd(cmd)
    return {"dir": d, "formatted": formatted, "out": out, "cmd": cmd, "after_kill": after_kill, "rerun": rerun,
            "orphans": orphans, "procs": procs, "temporary": temporary,
            "left_after_rerun": [p.name for p in d.rglob("*.tmp")]}


def test_kill_9_loses_only_chunks_in_flight_and_leaves_no_process(local_run):
    assert len(local_run["procs"]) > 1  # the engine's processes were there to be reaped
    assert not local_run["orphans"], f"processes outlived the step by 10 s: {local_run['orphans']}"
    # a kill -9 mid-write may leave one hidden temporary chunk, never read as a chunk; the rerun removes it
    assert all(n.startswith(".chunk_") for n in local_run["temporary"]) and len(local_run["temporary"]) <= 1
    assert not local_run["left_after_rerun"]
    assert all(n in local_run["rerun"].stdout for n in [*local_run["temporary"], ".sft.jsonl.k9x1.tmp"])
    after = local_run["after_kill"]
    assert 1 <= len(after) < 12
    for name, data in after.items():  # every chunk there is whole
        meta = orjson.loads(data)["metadata"]
        assert name == f"chunk_{meta['chunk_id']:03d}.json"
    rerun = local_run["rerun"]
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    skipped = sorted(int(n[6:9]) for n in after)
    assert f"already done (skipped): {skipped}" in rerun.stdout
    final = chunks_of(local_run["out"])
    assert len(final) == 12 and all(final[n] == data for n, data in after.items())  # resumed, not redone


def test_local_run_outputs(local_run, tiny_model):
    out, summary = local_run["out"], json.loads((local_run["dir"] / "summary.json").read_text())
    assert summary["critiques_sampled"] == 24 * K and summary["input_rows"] == {"train": 18, "val": 6}
    assert summary["chunks_skipped"] and summary["chunks_written"]
    assert sum(summary["outcomes"].values()) == 24 * K
    assert summary["teacher_model"] == str(tiny_model) and summary["backend"]["backend"] == "local"
    for data in chunks_of(out).values():
        chunk = orjson.loads(data)
        assert chunk["metadata"]["sampling"]["n"] == K and chunk["metadata"]["mode"] == "blind"
        for row in chunk["results"]:
            assert len(row["samples"]) == K
            assert all(s["finish_reason"] in ("stop", "length") and s["num_tokens"] <= LOCAL_MAX_TOKENS
                       for s in row["samples"])
    # the noise of the tiny model gives no verdict: nothing kept, and the files say so (a schema, no rows)
    assert pq.read_table(out.with_suffix(".parquet")).schema.equals(SCHEMA)
    assert jsonl(out) == pq.read_table(out.with_suffix(".parquet")).to_pylist()
    assert orjson.loads(out.with_name("sft_doubted.json").read_bytes()) == [] and summary["doubted"] == 0
    assert "teacher agreement" in [line[0] for line in summary["headline"]]


def test_another_runs_chunks_are_refused(local_run):
    r = run_cmd([*local_run["cmd"], "--temperature", "0.5"])
    line = error_line(r)
    assert "chunk_000.json: exists but is not this run's chunk (sampling is" in line and "--overwrite" in line
    assert "vLLM's own output" not in r.stdout  # refused before any engine


# --- the server ------------------------------------------------------------------------------

def test_server_writes_what_the_local_engine_writes_and_keeps_verified_critiques(tiny_server, tiny_model, formatted,
                                                                                 local_run, tmp_path):
    out = tmp_path / "sft.jsonl"
    with FaultProxy(tiny_server, replies=canned_critique) as proxy:
        r = run_cmd(teacher_cmd(formatted, out, "--server_url", proxy.url, "--api_key_env", SERVER_KEY_ENV,
                                "--keep_per_row", "2", "--summary_json", tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr[-3000:]
    no_key_anywhere(r, tmp_path)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["backend"] == {"backend": "server", "model": str(tiny_model), "urls": [proxy.url],
                                  "per_request_seeds": True, "vllm": True}

    # the same chunk schema as the local path
    local = orjson.loads(next(iter(chunks_of(local_run["out"]).values())))
    for data in chunks_of(out).values():
        chunk = orjson.loads(data)
        assert chunk["metadata"].keys() == local["metadata"].keys()
        for row in chunk["results"]:
            assert row.keys() == local["results"][0].keys()
            assert [s.keys() for s in row["samples"]] == [local["results"][0]["samples"][0].keys()] * K

    # what was kept: per row, the exact critique and the rewritten one; none of row 5, which is doubted
    verl_rows = {"train": orjson.loads(formatted.read_bytes()), "val": orjson.loads(val_path(formatted).read_bytes())}
    for split, path in (("train", out), ("val", val_path(out))):
        rows = jsonl(path)
        assert rows == pq.read_table(path.with_suffix(".parquet")).to_pylist()
        assert pq.read_table(path.with_suffix(".parquet")).schema.equals(SCHEMA)
        expected = [(v["extra_info"]["index"], k) for v in verl_rows[split] for k in (0, 1)
                    if v["extra_info"]["question_index"] != 2 or v["extra_info"]["solution_index"] != 2]
        assert [(r["formatted_index"], r["sample_index"]) for r in rows] == expected
        for row in rows:
            v = verl_rows[split][row["formatted_index"]]
            assert row["messages"][0] == {"role": "user", "content": v["prompt"][0]["content"]}
            assert row["messages"][1]["role"] == "assistant"
            assert parse_verdict(row["messages"][1]["content"]) == (row["label"], True)
            assert row["verdict_format"] == ("exact", "rewritten")[row["sample_index"]]
            assert (row["label"], row["source_model"], row["question_index"], row["solution_index"], row["split"]) \
                == (v["answer"], v["extra_info"]["source_model"], v["extra_info"]["question_index"],
                    v["extra_info"]["solution_index"], split)
            assert row["teacher_model"] == str(tiny_model)
    doubted = orjson.loads(out.with_name("sft_doubted.json").read_bytes())
    assert [(d["question_index"], d["label"], [c["verdict"] for c in d["critiques"]]) for d in doubted] == \
        [(2, "wrong", ["right"] * K)]
    assert "What is 5 + 3?" in doubted[0]["prompt"]

    # the audit: 11 rows x (2 agree, 1 contradicts) + row 5's 3 contradictions
    assert summary["outcomes"] == {"exact": 11, "rewritten": 11, "contradicts": 14}
    assert summary["agreement"] == round(22 / 36, 4) and summary["doubted"] == 1 and summary["kept"] == 22
    assert summary["agreement_by_label"]["wrong"] == {"critiques": 18, "agrees": 10, "contradicts": 8,
                                                      "no verdict": 0, "agreement": round(10 / 18, 4)}
    assert summary["agreement_by_source_model"]["qwen-2.5-math-7b"]["agreement"] == round(12 / 18, 4)
    assert summary["rows"] + summary["val_rows"] == 22
    assert "teacher agreement" in r.stdout or "agreement" in r.stdout


def test_server_killed_mid_run(tiny_server, formatted, tmp_path):
    """The server dies (kill -9 of the proxy process the step talks to) after the first chunk: the step stops
    with one line naming the chunk and how many chunks are whole; the rerun, on the server itself, goes on."""
    out = tmp_path / "sft.jsonl"
    args = ("--api_key_env", SERVER_KEY_ENV, "--server_timeout_s", "3", "--max_in_flight", "1")
    with proxy_process(tiny_server, delay_s=0.3) as (url, proxy):
        proc = subprocess.Popen(teacher_cmd(formatted, out, "--server_url", url, *args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        first = tmp_path / "sft_work" / "chunk_000.json"
        deadline = time.monotonic() + 300
        while not first.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proxy.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=120)
    r = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    line = error_line(r)
    whole = len(chunks_of(out))
    assert 1 <= whole < 6
    assert url in line and "gave up" in line and f"stopped at chunk {whole:03d}" in line
    assert f"{whole} of 6 chunks are whole in {tmp_path / 'sft_work'}" in line
    assert not out.exists()
    no_key_anywhere(r, tmp_path)
    rerun = run_cmd(teacher_cmd(formatted, out, "--server_url", tiny_server, *args))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"already done (skipped): {list(range(whole))}" in rerun.stdout and len(chunks_of(out)) == 6
    no_key_anywhere(rerun, tmp_path)


def test_reference_mode_through_the_server(tiny_server, formatted, tmp_path):
    """--show_reference: the teacher's prompt carries the reference answer; a critique that mentions the reference
    is dropped; the SFT row's user turn is the critic's prompt, without the note. (The proxy sends the real server
    a short prompt instead, and cans the critiques.)"""
    asked = {}

    def replies(body, k):
        prompt = body["messages"][-1]["content"]
        i = int(prompt.split("What is ")[1].split(" +")[0])
        asked[i] = prompt
        label = "wrong" if i % 2 else "right"
        return (f"The reference answer agrees. Conclusion: {label} [END]" if k == 0
                else f"Working it out: {i} + 3 = {i + 3}.\n\nConclusion: {label} [END]")

    def short(body):  # the note makes the prompt longer than the tiny model's 512 tokens of context
        return {**body, "messages": [{"role": "user", "content": "Critique:"}]}

    out = tmp_path / "sft.jsonl"
    with FaultProxy(tiny_server, replies=replies, forward=short) as proxy:
        r = run_cmd(teacher_cmd(formatted, out, "--server_url", proxy.url, "--api_key_env", SERVER_KEY_ENV,
                                "--num_critiques", "2", "--show_reference", "--summary_json", tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["outcomes"] == {"mentions_reference": 12, "exact": 12} and summary["mode"] == "reference"
    assert all(f"the reference answer to this question is {i + 3}." in asked[i] for i in range(12))
    for row in jsonl(out) + jsonl(val_path(out)):
        assert "reference" not in row["messages"][0]["content"] and row["sample_index"] == 1


def test_backend_flags_are_the_specs_with_the_old_spellings_and_outputs_follow_the_input(tmp_path):
    """Step 6's teacher flags come from cft.inference.spec with the role prefix (--teacher_server_url, ...); the
    plain spellings of before parse to the same values; the outputs default beside --formatted_file."""
    import argparse

    from cft.teacher import options

    def parse(*argv):
        p = argparse.ArgumentParser()
        options.add_arguments(p)
        args = p.parse_args(["--formatted_file", str(tmp_path / "run" / "f.json"), *argv])
        options.check_flags(args)
        return args, options.backend_spec(args)

    os.environ.setdefault("CFT_TEST_TEACHER_KEY", "x")
    old, old_spec = parse("--server_url", "http://127.0.0.1:9", "--api_key_env", "CFT_TEST_TEACHER_KEY",
                          "--server_seeds", "--max_in_flight", "3", "--seed", "5", "--teacher_model", "m")
    new, new_spec = parse("--teacher_server_url", "http://127.0.0.1:9", "--teacher_api_key_env",
                          "CFT_TEST_TEACHER_KEY", "--teacher_server_seeds", "--teacher_max_in_flight", "3",
                          "--teacher_seed", "5", "--teacher_model", "m")
    assert old_spec == new_spec and new_spec.kind == "server" and new_spec.served_model_name == "m"
    assert (new_spec.server_seeds, new_spec.max_in_flight, new_spec.seed) == (True, 3, 5)
    assert new.output_file == str(tmp_path / "run" / "deepscaler_critique_sft.jsonl")
    local, spec = parse("--teacher_model", "some/model", "--dtype", "float32", "--enforce_eager")
    assert spec.kind == "local" and spec.engine_kwargs()["dtype"] == "float32" and spec.enforce_eager
