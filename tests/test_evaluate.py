"""The critic's report card, evaluate_critic.py, on real components.

A scripted OpenAI-compatible server of our own (``servers.ScriptedServer``) plays a critic whose verdicts are
known case by case: each outcome case's K = 3 replies follow one of the patterns below, so its majority
verdict, each sample's verdict and the share saying right are known, and every figure of the report
(accuracy, on right and on wrong, F1, no verdict, by source model, by pass band, by level, calibration) is
asserted to its exact value. The same server answers ProcessBench-format cases, loaded offline through
``datasets`` from a folder in the Hub's layout (``Qwen/ProcessBench``, two of its subsets) written by the test,
with ProcessBench's figures asserted per subset. The real vLLM engine and server on the tiny model run the
plumbing (their noise gives no verdict). Cheap checks come before any model.
"""

from __future__ import annotations

import json
import os
import re
import sys
from fractions import Fraction

import orjson
import pytest
from conftest import ROOT, SERVER_KEY, SERVER_KEY_ENV, error_line, no_key_anywhere, run_cmd
from servers import ScriptedServer

from cft.common.jsonio import write_json_list
from cft.critic.agreement import Agreement
from cft.critic.critique_rows import critique_prompt
from cft.critic.verl_rows import format_rows, write_verl
from cft.evaluate.metrics import majority, reliability
from cft.evaluate.prompts import parse_step_verdict, step_prompt

SCRIPT = ROOT / "evaluate_critic.py"
K = 3
MODELS = ("qwen-2.5-math-7b", "qwen3-4b-base")

# --- the scripted critic ------------------------------------------------------------------------------------
# A pattern: the label, the K replies' verdicts (R right, W wrong with a surface slip the reward's parser still
# reads, N none, C both verdicts), whether the majority verdict is the label, whether it is no verdict, and the
# model whose solutions get it (the critic does well on the first model's, badly on the second's).
PATTERNS = {
    "right_sure": ("right", "RRR", True, False, 0),
    "right_mostly": ("right", "RWR", True, False, 1),
    "right_missed": ("right", "WWN", False, False, 1),
    "wrong_sure": ("wrong", "WWW", True, False, 0),
    "wrong_mostly": ("wrong", "WRW", True, False, 1),
    "wrong_missed": ("wrong", "RRR", False, False, 1),
    "wrong_torn": ("wrong", "RWC", False, True, 1),
}
N_CASES = 40  # case i: problem i // 4; right for even i, wrong for odd; j = i // 2
RIGHT_CYCLE = ("right_sure", "right_sure", "right_sure", "right_mostly", "right_missed")  # by j % 5
WRONG_CYCLE = ("wrong_sure", "wrong_mostly", "wrong_missed", "wrong_torn")  # by j % 4
PASSED = [1, 2, 3, 4, 5, 6, 7, 7, 3, 2]  # problem q's correct samples of 8 (pooled over two models)
BAND = ["0-0.25", "0-0.25", "0.25-0.5", "0.25-0.5", "0.5-0.75", "0.5-0.75", "0.75-1", "0.75-1", "0.25-0.5",
        "0-0.25"]  # the band of PASSED[q] / 8, by hand (a rate on an edge is in the lower band)


def pattern(i: int) -> str:
    j = i // 2
    return RIGHT_CYCLE[j % 5] if i % 2 == 0 else WRONG_CYCLE[j % 4]


def reply_text(code: str, k: int) -> str:
    return {"R": f"Adding again gives the same sum (sample {k}).\n\nConclusion: right [END]",
            "W": f"The sum is off by one (sample {k}).\n\n**Conclusion:** wrong",
            "N": f"I cannot tell (sample {k}).",
            "C": "Conclusion: right at first sight, but on a second look Conclusion: wrong [END]"}[code]


# ProcessBench-format cases: (subset, label, the K replies' answers; None: no box)
STEP_CASES = [
    ("gsm8k", -1, (-1, -1, -1)), ("gsm8k", -1, (-1, 2, -1)), ("gsm8k", -1, (1, 1, None)),
    ("gsm8k", 1, (1, 1, 1)), ("gsm8k", 2, (1, 1, 2)), ("gsm8k", 0, (0, -1, None)),
    ("math", -1, (-1, -1, -1)), ("math", 3, (3, 3, 0)), ("math", 0, (0, 0, 0)), ("math", -1, (2, 2, 2)),
]


def scripted_reply(body: dict, k: int) -> str:
    text = body["messages"][-1]["content"]
    if m := re.search(r"Problem id (\w+)-(\d+)", text):
        answer = STEP_CASES[int(m.group(2))][2][k]
        return f"Paragraph by paragraph (sample {k})... " + ("no idea" if answer is None else f"\\boxed{{{answer}}}")
    i = int(re.search(r"Case (\d+):", text).group(1))
    return reply_text(PATTERNS[pattern(i)][1][k], k)


def perfect_reply(body: dict, k: int) -> str:
    """A critic after training: every outcome verdict is the label."""
    text = body["messages"][-1]["content"]
    i = int(re.search(r"Case (\d+):", text).group(1))
    return reply_text("R" if i % 2 == 0 else "W", k)


# --- the files ---------------------------------------------------------------------------------------------

def write_rows(folder) -> tuple:
    """Step 5's held-out file of the N_CASES cases, and step 3's filtered file of their 10 problems."""
    rows = []
    for i in range(N_CASES):
        q = i // 4
        answer = q + 3 + i % 2
        question, solution = f"What is {q} + 3?", f"Case {i}: {q} + 3 = {answer}. The answer is \\boxed{{{answer}}}."
        rows.append({"index": q, "question": question, "solution": solution, "ground_truth": str(q + 3),
                     "target": PATTERNS[pattern(i)][0], "prompt": critique_prompt(question, solution),
                     "source_model": MODELS[PATTERNS[pattern(i)][4]], "solution_index": i % 4})
    folder.mkdir(parents=True, exist_ok=True)
    val = folder / "formatted_val.json"
    write_verl(format_rows(rows, "val"), val, val.with_suffix(".parquet"))
    filtered = [{"index": q, "problem": f"What is {q} + 3?", "answer": str(q + 3), "level": f"Level {q % 3}",
                 "qwen25_solutions": [{"text": "x", "correct": n < min(PASSED[q], 4)} for n in range(4)],
                 "qwen3_solutions": [{"text": "x", "correct": n < PASSED[q] - 4} for n in range(4)]}
                for q in range(10)]
    write_json_list(folder / "filtered.json", filtered)
    return val, folder / "filtered.json"


def write_processbench(root) -> None:
    """``root/Qwen/ProcessBench`` in the Hub's layout: a card whose configs name one JSON file per split."""
    folder = root / "Qwen" / "ProcessBench"
    folder.mkdir(parents=True)
    subsets = list(dict.fromkeys(s for s, _, _ in STEP_CASES))
    (folder / "README.md").write_text("---\nlicense: apache-2.0\nconfigs:\n- config_name: default\n  data_files:\n"
                                      + "".join(f"  - split: {s}\n    path: \"{s}.json\"\n" for s in subsets)
                                      + "---\n# ProcessBench (a test's own rows in its layout)\n")
    for subset in subsets:
        rows = [{"id": f"{subset}-{n}", "generator": "test", "problem": f"Problem id {subset}-{n}: what is {n} + 1?",
                 "steps": [f"Step one of case {n}.", "Step two.", "Step three.", f"So it is {n + 1}."],
                 "final_answer_correct": label == -1, "label": label}
                for n, (s, label, _) in enumerate(STEP_CASES) if s == subset]
        (folder / f"{subset}.json").write_bytes(orjson.dumps(rows))


def eval_cmd(*extra) -> list[str]:
    return [sys.executable, str(SCRIPT), *map(str, extra)]


def env(tmp_path) -> dict:
    return {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache"), "HF_HUB_OFFLINE": "1",
            "CFT_DATA_DIR": str(tmp_path / "data_root")}


def ok(r):
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    return r


# --- the figures, by hand -----------------------------------------------------------------------------------

def test_agreement_counts_as_step_6_and_the_report_card_read_them():
    a = Agreement()
    for label, verdict, n in (("right", "right", 6), ("right", "wrong", 2), ("right", "conflict", 1),
                              ("wrong", "wrong", 3), ("wrong", "right", 4), ("wrong", None, 2)):
        a.add(label, verdict, n)
    assert (a.n, a.agrees, a.contradicts, a.no_verdict) == (18, 9, 6, 3)
    assert a.agreement() == Fraction(9, 15) and a.accuracy() == Fraction(9, 18)
    assert a.accuracy_on("right") == Fraction(6, 9) and a.accuracy_on("wrong") == Fraction(3, 9)
    assert a.f1("wrong") == Fraction(2 * 3, 2 * 3 + 2 + 6)  # tp 3, fp 2 (right called wrong), fn 6
    assert Agreement().metrics()["accuracy"] is None
    assert majority(["right", "wrong", "none"]) is None and majority(["none", "none", "wrong"]) == "wrong"
    assert majority([0, -1, None]) is None and majority([0, 0, -1]) == 0
    table = reliability([(Fraction(1), True), (Fraction(1), False), (Fraction(1, 3), False), (Fraction(0), False)], 10)
    assert [(b["bin"], b["n"]) for b in table["bins"]] == [([0.0, 0.1], 1), ([0.3, 0.4], 1), ([0.9, 1.0], 2)]
    assert table["ece"] == float(Fraction(0 + Fraction(1, 3) + 2 * Fraction(1, 2), 4))


def test_step_prompt_and_its_reader():
    prompt = step_prompt("What is 1 + 1?", ["One and one.", "Two."])
    assert "<paragraph_0>\nOne and one.\n</paragraph_0>" in prompt and "<paragraph_1>\nTwo.\n</paragraph_1>" in prompt
    assert "-1" in prompt and "\\boxed{}" in prompt
    assert parse_step_verdict("so \\boxed{3} ... finally \\boxed{-1}") == -1
    assert parse_step_verdict("\\boxed{ 2 }") == 2 and parse_step_verdict("\\boxed{$1$}") == 1
    assert parse_step_verdict("\\boxed{paragraph 2}") is None and parse_step_verdict("it is 2") is None


# --- cheap checks, before any model ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_inputs")
    val, filtered = write_rows(root / "step5")
    write_processbench(root / "hub")
    return {"val": val, "filtered": filtered, "hub": root / "hub"}


def test_flags_and_rows_checked_first(inputs, tmp_path):
    url = "http://127.0.0.1:9"  # nothing listens: a check that reached the server would fail otherwise

    def fails(*flags, cwd=None, server=True) -> str:
        base = ["--server_url", url] if server else []
        return error_line(run_cmd(eval_cmd(*base, "--output_dir", tmp_path / "out", *flags), env=env(tmp_path),
                                  cwd=cwd))

    cases = [
        (["--num_samples", "0"], "--num_samples must be at least 1"),
        (["--band_edges", "0.5", "0.3"], "--band_edges must rise strictly"),
        (["--step_subsets", "gsm8k"], "--step_subsets needs --step_data"),
        (["--input_file", tmp_path / "none.json"], "none.json: file not found"),
        (["--compare", "a.json", "b.json", "c.json"], "--compare takes one report"),
        (["--input_file", inputs["val"], "--filtered_file", tmp_path / "nope.json"], "nope.json: file not found"),
    ]
    for flags, message in cases:
        assert message in fails(*flags)
    assert "no critic: give --model" in fails("--input_file", inputs["val"], server=False)
    # a ProcessBench row given as the outcome input, and a bad step-level row
    pb = inputs["hub"] / "Qwen" / "ProcessBench" / "gsm8k.json"
    assert "pass the file as --step_data" in fails("--input_file", pb)
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps([{"problem": "p", "steps": ["a", "b"], "label": 2}]))
    assert f"{bad} [bad] row 0: label must be the index of the earliest wrong step (0-1) or -1, got 2" in \
        fails("--step_data", bad)
    # filtered rows of another input
    other = tmp_path / "other_filtered.json"
    write_json_list(other, [{"index": 0, "problem": "What is 0 + 3?", "answer": "4", "qwen25_solutions": []}])
    line = fails("--input_file", inputs["val"], "--filtered_file", other)
    assert "problem 0's answer is '4'" in line and "not the filtered file those rows were drawn from" in line
    # a Hub id with no Hub: one line, at once
    line = fails("--step_data", "Qwen/ProcessBench", cwd=tmp_path)
    assert "--step_data Qwen/ProcessBench: not a file or folder here, and the Hub cannot be asked" in line
    # the earlier report of --compare is read before any model
    not_report = tmp_path / "x.json"
    not_report.write_text("{}")
    assert "not a report of evaluate_critic.py" in fails("--input_file", inputs["val"], "--compare", not_report)


# --- the scripted critic: every figure exact ---------------------------------------------------------------

@pytest.fixture(scope="module")
def scripted_run(inputs, tmp_path_factory):
    """The scripted critic on the 40 outcome cases and the ProcessBench folder (by its Hub id), K = 3, in chunks
    of 8 cases; then a rerun after one chunk file is removed; then the perfect critic, compared with the first."""
    tmp = tmp_path_factory.mktemp("scripted")
    os.environ[SERVER_KEY_ENV] = SERVER_KEY
    out = tmp / "report"
    common = ("--input_file", inputs["val"], "--filtered_file", inputs["filtered"], "--step_data",
              "Qwen/ProcessBench", "--num_samples", K, "--chunk_size", 8, "--api_key_env", SERVER_KEY_ENV)
    with ScriptedServer(scripted_reply, api_key=SERVER_KEY) as server:
        first = ok(run_cmd(eval_cmd("--server_url", server.url, "--output_dir", out, "--summary_json",
                                    tmp / "summary.json", *common), env=env(tmp), cwd=inputs["hub"]))
        bodies = list(server.bodies)
        report = json.loads((out / "report.json").read_text())
        (out / "work_outcome" / "chunk_001.json").unlink()
        server.bodies.clear()
        rerun = ok(run_cmd(eval_cmd("--server_url", server.url, "--output_dir", out, *common), env=env(tmp),
                           cwd=inputs["hub"]))
        rerun_bodies = list(server.bodies)
        refused = run_cmd(eval_cmd("--server_url", server.url, "--output_dir", out, *common, "--top_p", 0.9),
                          env=env(tmp), cwd=inputs["hub"])
    with ScriptedServer(perfect_reply, model="trained-critic") as server:
        after = ok(run_cmd(eval_cmd("--server_url", server.url, "--output_dir", tmp / "after", "--input_file",
                                    inputs["val"], "--filtered_file", inputs["filtered"], "--num_samples", K,
                                    "--compare", out / "report.json"), env=env(tmp)))
    compared = ok(run_cmd(eval_cmd("--compare", out / "report.json", tmp / "after" / "report.json"), env=env(tmp)))
    return {"out": out, "tmp": tmp, "first": first, "report": report, "bodies": bodies, "rerun": rerun,
            "rerun_bodies": rerun_bodies, "refused": refused, "after": after, "compared": compared,
            "summary": json.loads((tmp / "summary.json").read_text())}


def f(x) -> float:
    return float(Fraction(x))


def test_outcome_figures_exact(scripted_run):
    r = scripted_run["report"]
    # majority verdicts: right cases 16 of 20 (4 right_missed), wrong 10 of 20 (5 missed, 5 torn: no verdict)
    assert (r["n"], r["accuracy"], r["accuracy_right"], r["accuracy_wrong"]) == (40, f("26/40"), f("16/20"), f("10/20"))
    assert r["f1_wrong"] == f(Fraction(2 * 10, 2 * 10 + 4 + 10))  # tp 10, fp 4, fn 10
    assert r["no_verdict_rate"] == f("5/40")
    assert r["counts"] == {"right": {"right": 16, "wrong": 4, "none": 0}, "wrong": {"right": 5, "wrong": 10, "none": 5}}
    # each of the 120 replies: right cases 44 R, 12 W, 4 N; wrong cases 25 R, 30 W, 5 C (no verdict)
    s = r["per_sample"]
    assert (s["n"], s["accuracy"], s["accuracy_right"], s["accuracy_wrong"]) == (120, f("74/120"), f("44/60"),
                                                                                f("30/60"))
    assert (s["f1_wrong"], s["no_verdict_rate"]) == (f(Fraction(60, 60 + 12 + 30)), f("9/120"))
    # by source model: the first model's cases are all right_sure / wrong_sure, the second's the rest
    a, b = r["by_source_model"][MODELS[0]], r["by_source_model"][MODELS[1]]
    assert (a["n"], a["accuracy"], a["f1_wrong"], a["no_verdict_rate"]) == (17, 1.0, 1.0, 0.0)
    assert (b["n"], b["accuracy"], b["accuracy_right"], b["accuracy_wrong"]) == (23, f("9/23"), f("4/8"), f("5/15"))
    assert (b["f1_wrong"], b["no_verdict_rate"]) == (f(Fraction(10, 10 + 4 + 10)), f("5/23"))
    # by pass band and by level: each group's share of cases whose pattern's majority is right (by hand, above)
    for group, of in (("by_band", lambda q: BAND[q]), ("by_level", lambda q: f"Level {q % 3}")):
        expected = {}
        for i in range(N_CASES):
            expected.setdefault(of(i // 4), []).append(PATTERNS[pattern(i)][2])
        assert {name: (m["n"], m["accuracy"]) for name, m in r[group].items()} == \
            {name: (len(v), f(Fraction(sum(v), len(v)))) for name, v in expected.items()}


def test_calibration_exact(scripted_run):
    cal = scripted_run["report"]["calibration"]
    # P(right) per pattern: RRR 1, RWR 2/3, WWN 0 / WWW 0, WRW 1/3, RRR 1, RWC 1/3; cases: 12, 4, 4 / 5, 5, 5, 5
    assert [(b["bin"], b["n"]) for b in cal["bins"]] == [([0.0, 0.1], 9), ([0.3, 0.4], 10), ([0.6, 0.7], 4),
                                                          ([0.9, 1.0], 17)]
    observed = [Fraction(4, 9), Fraction(0), Fraction(1), Fraction(12, 17)]
    confidence = [Fraction(0), Fraction(1, 3), Fraction(2, 3), Fraction(1)]
    assert [b["observed"] for b in cal["bins"]] == [float(x) for x in observed]
    assert [b["confidence"] for b in cal["bins"]] == [float(x) for x in confidence]
    ece = sum(n * abs(c - o) for n, c, o in zip((9, 10, 4, 17), confidence, observed)) / 40
    assert cal["ece"] == float(ece)


def test_processbench_figures_exact(scripted_run):
    r = scripted_run["report"]
    g, m = r["subsets"]["gsm8k"], r["subsets"]["math"]
    # gsm8k: correct cases answered -1 by majority: 2 of 3; erroneous cases exactly: 1 of 3 (one wrong step, one tie)
    assert (g["n"], g["errors"], g["corrects"], g["error_acc"], g["correct_acc"]) == (6, 3, 3, f("1/3"), f("2/3"))
    assert g["f1"] == f(Fraction(2 * Fraction(1, 3) * Fraction(2, 3), 1)) and g["no_verdict_rate"] == f("1/6")
    assert (g["per_sample"]["error_acc"], g["per_sample"]["correct_acc"], g["per_sample"]["no_verdict_rate"]) == \
        (f("5/9"), f("5/9"), f("2/18"))
    assert (m["error_acc"], m["correct_acc"], m["f1"]) == (1.0, 0.5, f(Fraction(2, 3)))
    assert r["average_f1"] == f((Fraction(4, 9) + Fraction(2, 3)) / 2)
    assert r["step_data"]["source"] == "Qwen/ProcessBench" and r["step_data"]["subsets"] == ["gsm8k", "math"]


def test_what_the_critic_was_sent(scripted_run, inputs):
    from cft.critic.verl_items import read_items

    bodies = scripted_run["bodies"]
    assert len(bodies) == N_CASES + len(STEP_CASES) and all(b["n"] == K for b in bodies)
    rows = {item.prompt: item for item in read_items(inputs["val"], "val")}
    outcome = [b for b in bodies if "Case " in b["messages"][0]["content"]]
    assert len(outcome) == N_CASES
    for b in outcome:  # exactly the RL row's prompt: one user message, its text as step 5 wrote it
        assert b["messages"] == [dict(m) for m in rows[b["messages"][0]["content"]].messages]
    steps = [b for b in bodies if "Problem id" in b["messages"][0]["content"]]
    assert steps[0]["messages"][0]["content"] == step_prompt(
        "Problem id gsm8k-0: what is 0 + 1?", ["Step one of case 0.", "Step two.", "Step three.", "So it is 1."])


def test_report_files_and_summary(scripted_run):
    out, r, s = scripted_run["out"], scripted_run["report"], scripted_run["summary"]
    assert {k: s[k] for k in ("accuracy", "f1_wrong", "subsets")} == {k: r[k] for k in ("accuracy", "f1_wrong",
                                                                                         "subsets")}
    assert r["model"] == "scripted-critic" and r["sampling"]["n"] == K and r["prompt_version"] == 1
    assert r["input_sha256"] and len(r["step_data"]["sha256"]) == 64
    md = (out / "report.md").read_text()
    assert "| all cases |" not in md and "| majority verdict | 40 | 65.0% | 80.0% | 50.0% | 58.8% | 12.5% |" in md
    assert "| gsm8k | 6 | 3 | 3 | 33.3% | 66.7% | 44.4% | 16.7% |" in md and "scripted-critic" in md
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md", "report.png", "work_outcome",
                                                     "work_steps"]
    headline = dict(r["headline"])
    assert headline["critic accuracy"].startswith("65.0% of 40") and headline["critic step level"].startswith(
        f"average F1 {100 * r['average_f1']:.1f}% over 2 subsets")
    printed = scripted_run["first"].stdout
    assert "65.0% of 40 (right 80.0%, wrong 50.0%; F1 finding wrong 58.8%; no verdict 12.5%)" in printed
    no_key_anywhere(scripted_run["first"], scripted_run["tmp"])


def test_resume_redoes_only_the_missing_chunk_and_refuses_another_runs(scripted_run):
    rerun = scripted_run["rerun"]
    assert len(scripted_run["rerun_bodies"]) == 8  # chunk 1's eight cases, nothing else
    assert "outcome cases: 5 chunks of 8; to do: [1], already done (skipped): [0, 2, 3, 4]" in rerun.stdout
    assert "steps cases: 2 chunks of 8; to do: [], already done (skipped): [0, 1]" in rerun.stdout
    again = json.loads((scripted_run["out"] / "report.json").read_text())
    assert {k: again[k] for k in ("accuracy", "per_sample", "calibration", "subsets")} == \
        {k: scripted_run["report"][k] for k in ("accuracy", "per_sample", "calibration", "subsets")}
    line = error_line(scripted_run["refused"])
    assert "chunk_000.json: exists but is not this run's chunk (sampling is" in line and "--overwrite" in line


def test_compare_side_by_side(scripted_run):
    after = json.loads((scripted_run["tmp"] / "after" / "report.json").read_text())
    assert (after["accuracy"], after["f1_wrong"], after["no_verdict_rate"]) == (1.0, 1.0, 0.0)
    for printed in (scripted_run["after"].stdout, scripted_run["compared"].stdout):
        lines = {line.split("  ")[0]: line for line in printed.splitlines()}
        assert re.search(r"^accuracy +65\.0% +100\.0% +\+35\.0 pts$", lines["accuracy"])
        assert re.search(r"^f1_wrong +58\.8% +100\.0% +\+41\.2 pts$", lines["f1_wrong"])
        assert re.search(r"source_model qwen3-4b-base: accuracy +39\.1% +100\.0% +\+60\.9 pts", printed)
        assert re.search(r"outcome data \(sha256\) +\w{12} +\w{12} +same", printed)
        assert re.search(r"critic +scripted-critic +trained-critic", printed)
    # a figure only one report has is shown, with - for the other
    assert re.search(r"^gsm8k: f1 +44\.4% +-$", scripted_run["compared"].stdout, re.M)


def test_step_data_from_a_local_file(inputs, tmp_path):
    pb = inputs["hub"] / "Qwen" / "ProcessBench" / "math.json"
    with ScriptedServer(scripted_reply) as server:
        ok(run_cmd(eval_cmd("--server_url", server.url, "--step_data", pb, "--num_samples", K, "--output_dir",
                            tmp_path / "out"), env=env(tmp_path)))
    r = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "accuracy" not in r and list(r["subsets"]) == ["math"]
    assert (r["subsets"]["math"]["f1"], r["average_f1"]) == (f(Fraction(2, 3)), f(Fraction(2, 3)))


# --- the real engine and server on the tiny model: the plumbing --------------------------------------------

def test_real_engine_then_real_server(tiny_model, tiny_server, inputs, tmp_path):
    """The local engine on outcome and step-level cases, its rerun (nothing to do: no engine), and the real
    server with its key on the outcome cases (the tiny server's 512-token context holds no step prompt); the
    noise of the tiny model is read like any reply; the two reports compared."""
    local = tmp_path / "local"
    cmd = eval_cmd("--model", tiny_model, "--max_model_len", 2048, "--enforce_eager", "--dtype", "float32",
                   "--max_tokens", 16, "--num_samples", 2, "--max_cases", 4, "--input_file", inputs["val"],
                   "--step_data", inputs["hub"] / "Qwen" / "ProcessBench" / "gsm8k.json", "--output_dir", local,
                   "--engine_log", tmp_path / "engine.log")
    first = ok(run_cmd(cmd, env=env(tmp_path)))
    r = json.loads((local / "report.json").read_text())
    assert r["backend"]["backend"] == "local" and r["model"] == str(tiny_model)
    assert (r["n"], r["per_sample"]["n"], r["subsets"]["gsm8k"]["n"]) == (4, 8, 4)
    assert sum(sum(c.values()) for c in r["counts"].values()) == 4
    assert r["calibration"]["bins"] and r["chunks"]["outcome"]["written"] == [0]
    assert "vLLM's own output" in first.stdout
    again = ok(run_cmd(cmd, env=env(tmp_path)))
    assert "to do: [], already done (skipped): [0]" in again.stdout and "vLLM's own output" not in again.stdout
    assert json.loads((local / "report.json").read_text())["accuracy"] == r["accuracy"]

    served = tmp_path / "served"
    via_server = ok(run_cmd(eval_cmd("--server_url", tiny_server, "--api_key_env", SERVER_KEY_ENV, "--max_tokens", 16,
                                     "--num_samples", 2, "--max_cases", 4, "--input_file", inputs["val"],
                                     "--output_dir", served, "--compare", local / "report.json"),
                            env={**env(tmp_path), SERVER_KEY_ENV: SERVER_KEY}))
    s = json.loads((served / "report.json").read_text())
    assert s["backend"]["backend"] == "server" and s["model"] == str(tiny_model) and s["n"] == 4
    assert re.search(r"outcome data \(sha256\) +\w{12} +\w{12} +same", via_server.stdout)
    no_key_anywhere(via_server, served)


def test_the_dataset_card_cites_the_report(tmp_path):
    """Steps 5 and the report card run by hand, no --summary_json: the report's summary lands beside step 5's
    files, and build_dataset.py's card cites the critic's figures on the validation rows."""
    from helpers import write_formatted

    d = tmp_path / "run"
    write_formatted(d, 12)  # its critique rows, then step 5 again as the script, for its summary
    ok(run_cmd([sys.executable, str(ROOT / "format_critique_data.py"), "--critique_file", d / "critique.json",
                "--output_file", d / "formatted.json", "--val_size", "0.25", "--overwrite"]))

    def by_the_sum(body: dict, k: int) -> str:  # right where the student's sum is i + 3
        i, answer = map(int, re.search(r"What is (\d+) \+ 3\?.*= (\d+)\.", body["messages"][-1]["content"],
                                       re.S).groups())
        return reply_text("R" if answer == i + 3 else "W", k)

    with ScriptedServer(by_the_sum) as server:
        ok(run_cmd(eval_cmd("--server_url", server.url, "--input_file", d / "formatted_val.parquet"),
                   env={**env(tmp_path), "CFT_DATA_DIR": str(d)}))
    report = json.loads((d / "logs" / "summary_evaluate.json").read_text())
    assert report["accuracy"] == 1.0 and (d / "critic_eval" / "scripted-critic" / "report.json").is_file()
    ok(run_cmd([sys.executable, str(ROOT / "build_dataset.py"), "--rl_file", d / "formatted.parquet"]))
    text = (d / "dataset" / "README.md").read_text()
    assert "## A critic judged on these rows" in text
    assert (f"judged `scripted-critic`, 1 verdict(s) per case, on {report['n']} of the {report['n']} `rl` validation "
            "rows") in text and "accuracy 100.0% (on right solutions 100.0%, on wrong ones 100.0%)" in text
