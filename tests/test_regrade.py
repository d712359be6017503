"""grade_solutions.py end to end on real files and real math-verify: re-grade in place, resume, disputes,
the label report, critique holding back disputed solutions, and the judge's mechanics on the tiny model."""

from __future__ import annotations

import json
import sys

import orjson
import pytest
from conftest import ROOT, run_cmd
from helpers import write_chunks, write_input

from cft.common.jsonio import open_results_file, sha256_file, write_results_file
from cft.grading import GRADER_VERSION
from cft.grading.label_report import LabelReport
from cft.records.solutions import chunk_metadata, result_row

GRADE = [sys.executable, str(ROOT / "grade_solutions.py")]

# (text, stale grade as an older grader wrote it, grade the current grader gives)
CASES = [
    (r"The roots are $\boxed{2}$ and $\boxed{3}$.", "incorrect", "correct"),     # several boxes
    (r"Area: $\boxed{48\,\text{m}^2}$.", "incorrect", "correct"),                 # a unit with an exponent
    (r"So it is $\boxed{0.142857}$.", "correct", "incorrect"),                    # approximate decimal
    (r"Hence $\boxed{7}$.", "incorrect", "incorrect"),                            # unchanged
]
TRUTHS = ["2, 3", "48", r"\frac{1}{7}", "8"]


def _stale_chunk(path, input_path, model="qwen-2.5-math-7b"):
    rows = orjson.loads(input_path.read_bytes())
    results = []
    for i, ((text, stale, _), truth) in enumerate(zip(CASES, TRUTHS)):
        sol = {"text": text, "extracted_answer": "stale", "correct": stale == "correct", "grade": stale,
               "finish_reason": "stop", "num_tokens": 10}
        results.append(result_row(i, i, rows[i]["problem"], truth, [sol, dict(sol)]))
    meta = chunk_metadata(model=model, model_path="m", chunk_id=0, chunk_size=4, start=0, end=4, num_samples=2,
                          sampling={"n": 2}, prompt_template="t", input_file=input_path,
                          input_sha256=sha256_file(input_path), input_rows=4)
    write_results_file(path, meta, results)


@pytest.fixture
def stale(tmp_path):
    input_path = tmp_path / "input.json"
    input_path.write_bytes(orjson.dumps([{"problem": f"p{i}", "answer": t} for i, t in enumerate(TRUTHS)]))
    folder = tmp_path / "solutions_qwen25"
    _stale_chunk(folder / "qwen-2.5-math-7b_chunk_000.json", input_path)
    return folder


def test_regrades_in_place_reports_changes_and_resumes(stale, tmp_path):
    summary = tmp_path / "summary.json"
    r = run_cmd(GRADE + ["--input_dir", str(stale), "--workers", "2", "--report", str(tmp_path / "report.md"),
                         "--summary_json", str(summary)])
    assert r.returncode == 0, r.stderr
    meta, rows = open_results_file(stale / "qwen-2.5-math-7b_chunk_000.json")
    rows = list(rows)
    assert meta["grading"]["version"] == GRADER_VERSION
    assert [[s["grade"] for s in row["solutions"]] for row in rows] == [[new, new] for _, _, new in CASES]
    assert rows[0]["solutions"][0]["extracted_answer"] == "2, 3"
    assert [row["num_correct"] for row in rows] == [2, 2, 0, 0]
    data = json.loads(summary.read_text())
    assert data["changed"] == 6
    assert data["changes"] == {"incorrect->correct": 4, "correct->incorrect": 2}
    assert {(e["old"], e["new"]) for e in data["examples"]} == {("incorrect", "correct"), ("correct", "incorrect")}
    assert "incorrect -> correct" in r.stdout and "verdicts changed" in r.stdout
    assert (tmp_path / "report.md").read_text().startswith("# Label report")

    again = run_cmd(GRADE + ["--input_dir", str(stale), "--workers", "1", "--report", str(tmp_path / "r2.md"),
                             "--summary_json", str(summary)])
    assert again.returncode == 0, again.stderr
    data = json.loads(summary.read_text())
    assert data["files"] == [] and len(data["skipped"]) == 1 and data["changed"] == 0


def test_merged_file_input_and_disputes(tmp_path):
    input_path = tmp_path / "input.json"
    write_input(input_path, 4)
    write_chunks(tmp_path / "c", "qwen25", input_path, [4, 0, 2, 1])
    merged = tmp_path / "merged.json"
    run = run_cmd([sys.executable, str(ROOT / "merge_solutions.py"), "--qwen25_dir", str(tmp_path / "c"),
                   "--models", "qwen25", "--output_dir", str(tmp_path)])
    assert run.returncode == 0, run.stderr
    (tmp_path / "deepscaler_qwen25_solutions.json").rename(merged)
    # a right answer the grader cannot read: the truth stands alone in it, so it is disputed
    meta, rows = open_results_file(merged)
    rows = list(rows)
    rows[1]["solutions"][0]["text"] = r"The answer is $\boxed{4 \text{ or maybe } 5}$."
    write_results_file(merged, meta, rows)
    r = run_cmd(GRADE + ["--input_file", str(merged), "--workers", "1", "--report", str(tmp_path / "r.md"),
                         "--signals", "contains_truth", "second_path",
                         "--summary_json", str(tmp_path / "s.json")])
    assert r.returncode == 0, r.stderr
    sol = list(open_results_file(merged)[1])[1]["solutions"][0]
    assert sol["grade"] == "incorrect" and sol["disputed"] is True
    assert "contains_truth" in sol["dispute_reason"]
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["disputed_by_reason"]["contains_truth"] >= 1
    assert data["labels"]["grades"]["qwen-2.5-math-7b"]["correct"] == 7


def test_bad_file_is_an_error_and_left_untouched(tmp_path, stale):
    path = stale / "qwen-2.5-math-7b_chunk_000.json"
    before = path.read_bytes()
    bad = before.replace(b'"solutions":', b'"sols":', 1)
    path.write_bytes(bad)
    r = run_cmd(GRADE + ["--input_dir", str(stale), "--workers", "1", "--report", str(tmp_path / "r.md")])
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and last.startswith("error: ") and "result row 0" in last
    assert path.read_bytes() == bad
    assert sorted(p.name for p in stale.iterdir()) == [path.name]  # no temporary file left behind
    missing = run_cmd(GRADE + ["--input_dir", str(tmp_path / "nope")])
    assert missing.returncode == 1 and "not a folder" in missing.stderr


def test_label_report_counts_pairs_and_samples(tmp_path, stale):
    report = LabelReport(seed=1, sample=2)
    report.add_file(stale / "qwen-2.5-math-7b_chunk_000.json")
    assert report.grades["qwen-2.5-math-7b"] == {"correct": 2, "incorrect": 6}  # stale grades as stored
    assert report.top_incorrect()[0] == (("stale", "2, 3"), 2)
    out = report.write(tmp_path / "r.md")
    text = out.read_text()
    assert "A random sample of right verdicts (2 of 2)" in text and "A random sample of wrong verdicts (2 of 6)" in text
    rows = dict(report.summary_rows())
    assert rows["labels qwen-2.5-math-7b"].startswith("8 verdicts: incorrect 6, correct 2")


def _filtered_with_disputes(tmp_path):
    sols = [{"text": f"s{k} \\boxed{{{k}}}", "correct": k < 2, "grade": "correct" if k < 2 else "incorrect",
             "finish_reason": "stop", "extracted_answer": str(k)} for k in range(4)]
    sols[0].update(disputed=True, dispute_reason="second_path")
    sols[3].update(disputed=True, dispute_reason="units,contains_truth")
    row = {"problem": "q", "answer": "0", "index": 0, "qwen25_solutions": sols, "qwen3_solutions": []}
    path = tmp_path / "filter.json"
    path.write_bytes(orjson.dumps([row]))
    return path


@pytest.mark.parametrize("include", [False, True])
def test_critique_holds_back_disputed(tmp_path, include):
    filtered = _filtered_with_disputes(tmp_path)
    out, summary = tmp_path / "critique.json", tmp_path / "s.json"
    cmd = [sys.executable, str(ROOT / "generate_critique_data.py"), "--filtered_file", str(filtered), "--output_file",
           str(out), "--summary_json", str(summary)] + (["--include_disputed"] if include else [])
    r = run_cmd(cmd)
    assert r.returncode == 0, r.stderr
    used = sorted(row["solution_index"] for row in json.loads(out.read_text()))
    data = json.loads(summary.read_text())
    if include:
        assert used == [0, 1, 2, 3] and data["held_back_disputed"] == {}
    else:
        assert used == [1, 2]
        assert data["held_back_disputed"] == {"second_path": 1, "units": 1, "contains_truth": 1}
        assert "held back disputed" in r.stdout and "disputed: units" in r.stdout


def test_filter_analyze_writes_the_label_report(tmp_path):
    input_path = tmp_path / "input.json"
    write_input(input_path, 4)
    for model in ("qwen25", "qwen3"):
        write_chunks(tmp_path / model, model, input_path, [4, 1, 0, 2] if model == "qwen25" else [0, 4, 0, 1])
    merge = run_cmd([sys.executable, str(ROOT / "merge_solutions.py"), "--qwen25_dir", str(tmp_path / "qwen25"),
                     "--qwen3_dir", str(tmp_path / "qwen3"), "--output_dir", str(tmp_path)])
    assert merge.returncode == 0, merge.stderr
    out = tmp_path / "filter.json"
    r = run_cmd([sys.executable, str(ROOT / "filter_solutions.py"), "--qwen25_file",
                 str(tmp_path / "deepscaler_qwen25_solutions.json"), "--qwen3_file",
                 str(tmp_path / "deepscaler_qwen3_solutions.json"), "--original_file", str(input_path),
                 "--output_file", str(out), "--analyze", "--summary_json", str(tmp_path / "s.json")])
    assert r.returncode == 0, r.stderr
    report = tmp_path / "filter_label_report.md"
    assert report.exists() and "most frequent" in report.read_text()
    assert "labels qwen25" in r.stdout and "labels qwen3" in r.stdout and "label report" in r.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["labels"]["grades"]["qwen25"]["correct"] == 7


def test_judge_mechanics_on_tiny_model(tiny_model, stale, tmp_path):
    """The tiny model's words are random: only the mechanics are checked (asked once per flagged
    verdict, its verdict recorded, the file marked with the judge)."""
    r = run_cmd(GRADE + ["--input_dir", str(stale), "--workers", "1", "--report", str(tmp_path / "r.md"),
                         "--judge_model", str(tiny_model), "--judge_max_model_len", "512", "--judge_enforce_eager",
                         "--judge_dtype", "float32", "--summary_json", str(tmp_path / "s.json")], timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads((tmp_path / "s.json").read_text())
    meta, rows = open_results_file(stale / "qwen-2.5-math-7b_chunk_000.json")
    sols = [s for row in rows for s in row["solutions"]]
    judged = [s for s in sols if "judge_verdict" in s]
    assert meta["grading"]["judge_model"] == str(tiny_model)
    assert (tmp_path / "logs" / "engine_judge.log").stat().st_size > 0  # vLLM's output beside the report
    assert data["judged"] == len(judged) > 0
    assert sum(data["judge_verdicts"].values()) == len(judged)
    for s in judged:
        agrees = s["judge_verdict"] != "unclear" and (s["judge_verdict"] == "correct") == s["correct"]
        assert s.get("disputed", False) is not agrees
        if not agrees:
            assert f"judge:{s['judge_verdict']}" in s["dispute_reason"]


@pytest.mark.parametrize("reply, verdict", [(" Yes.", "correct"), ("no, they differ", "incorrect"),
                                            ("Correct", "correct"), ("I think so", "unclear"), ("", "unclear")])
def test_judge_reply_parsing(reply, verdict):
    from cft.grading.judge import parse_verdict

    assert parse_verdict(reply) == verdict


def test_judge_through_a_server(tiny_server, tiny_model, stale, tmp_path):
    """The judge's backend is the spec's like every step's: --judge_server_url asks a server, with the key from
    the variable --judge_api_key_env names, and the key reaches no file."""
    from conftest import SERVER_KEY, SERVER_KEY_ENV

    r = run_cmd(GRADE + ["--input_dir", str(stale), "--workers", "1", "--judge_server_url", tiny_server,
                         "--judge_api_key_env", SERVER_KEY_ENV, "--summary_json", str(tmp_path / "s.json")],
                timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads((tmp_path / "s.json").read_text())
    meta, rows = open_results_file(stale / "qwen-2.5-math-7b_chunk_000.json")
    judged = [s for row in rows for s in row["solutions"] if "judge_verdict" in s]
    assert data["judged"] == len(judged) > 0 and sum(data["judge_verdicts"].values()) == len(judged)
    report = stale.parent / "label_report.md"  # the default: beside the input, not the checkout's cft_data/
    assert report.is_file() and str(report) in data["outputs"]
    for path in [*stale.parent.rglob("*.json"), *stale.parent.rglob("*.md")]:
        assert SERVER_KEY not in path.read_text(errors="replace")
    assert SERVER_KEY not in r.stdout + r.stderr


def test_a_report_that_cannot_be_written_stops_before_any_file_is_regraded(stale, tmp_path):
    before = {p: p.read_bytes() for p in stale.iterdir()}
    (tmp_path / "taken").mkdir()
    r = run_cmd(GRADE + ["--input_dir", str(stale), "--workers", "1", "--report", str(tmp_path / "taken")])
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{tmp_path / 'taken'}: is a folder (--report names a file)" in r.stderr
    assert {p: p.read_bytes() for p in stale.iterdir()} == before  # nothing re-graded
