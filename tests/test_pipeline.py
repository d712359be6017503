"""run_full_pipeline.sh --yes end to end on the tiny model: every output file checked against docs/file-formats.md."""

import fcntl
import os
import pty
import re
import shlex
import subprocess
import sys
import termios
import threading

import orjson
import pyarrow.parquet as pq
from conftest import ROOT, SERVER_KEY, SERVER_KEY_ENV
from helpers import EVAL_PROBLEMS

from cft.common.jsonio import open_results_file, sha256_file, write_results_file
from cft.critic.critique_rows import critique_prompt
from cft.curate.filter import decide
from cft.grading import grade_problem
from cft.records.prompts import get_template
from cft.records.solutions import chunk_metadata, result_row, solution_record

PROBLEMS = [{"problem": f"What is {a} + {b}?", "answer": str(a + b), "source": "test"}
            for a, b in [(0, 1), (1, 1), (2, 1), (1, 3), (0, 0), (2, 2)]]
SOL_KEYS = {"text", "extracted_answer", "correct", "grade", "finish_reason", "num_tokens"}


def test_full_pipeline_unattended(tiny_model, tiny_server, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(orjson.dumps(PROBLEMS))
    evals = tmp_path / "eval.jsonl"  # step 0 offline: an evaluation set of the test's own, none of the named ones
    evals.write_bytes(b"".join(orjson.dumps({"problem": p, "answer": a}) + b"\n" for p, a in EVAL_PROBLEMS))
    cmd = [str(ROOT / "run_full_pipeline.sh"), "--yes", "--data_dir", str(data), "--chunk_size", "3",
           "--decontaminate_args", f"--eval_sets none --against {evals}",
           "--num_samples", "6", "--gpus", "2", "--qwen25_path", str(tiny_model), "--qwen3_path", str(tiny_model),
           "--qwen3_args", "--seed 1 --temperature 1.0", "--tokenizer", str(tiny_model), "--max_prompt_tokens", "4096",
           "--teacher_server_url", tiny_server, "--teacher_api_key_env", SERVER_KEY_ENV,
           "--teacher_args", "--num_critiques 2 --max_tokens 16",
           "--eval_server_url", tiny_server, "--eval_api_key_env", SERVER_KEY_ENV, "--eval_args", "--max_tokens 16",
           "--",
           "--prompt_template", "fewshot-boxed", "--max_tokens", "64", "--max_model_len", "512",
           "--enforce_eager", "--grading_workers", "1", "--dtype", "float32"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]

    # step 0: nothing here is an evaluation problem; generation reads its output, as every later step; the
    # closing summary says which named sets were not checked
    assert orjson.loads((data / "deepscaler_train_clean.json").read_bytes()) == PROBLEMS
    assert orjson.loads((data / "deepscaler_train_clean_removed.json").read_bytes()) == []
    assert "0 of 6 (0 match eval)" in r.stdout
    assert "step 0 not checked against" in r.stdout and "math500, aime24" in r.stdout

    # step 1: commands and chunk files
    assert (data / "commands.txt").exists()
    assert len((data / "run_qwen25.sh").read_text().splitlines()) == 3  # header + one line per GPU
    for alias, model in (("qwen25", "qwen-2.5-math-7b"), ("qwen3", "qwen3-4b-base")):
        chunks = sorted((data / f"solutions_{alias}").glob("*.json"))
        assert [c.name for c in chunks] == [f"{model}_chunk_000.json", f"{model}_chunk_001.json"]
        merged = orjson.loads((data / f"deepscaler_{alias}_solutions.json").read_bytes())
        assert merged["metadata"]["model"] == model and merged["metadata"]["missing_chunks"] == []
        assert merged["metadata"]["input_file"] == str(data / "deepscaler_train_clean.json")
        assert [row["index"] for row in merged["results"]] == list(range(6))
        for row in merged["results"]:
            assert row["ground_truth"] == PROBLEMS[row["index"]]["answer"] and len(row["solutions"]) == 6
            assert all(set(s) == SOL_KEYS for s in row["solutions"])
    q25 = orjson.loads((data / "deepscaler_qwen25_solutions.json").read_bytes())["results"]
    q3 = orjson.loads((data / "deepscaler_qwen3_solutions.json").read_bytes())["results"]
    grades = [s["grade"] for row in q25 + q3 for s in row["solutions"]]
    assert "correct" in grades and ("incorrect" in grades or "no_answer" in grades)

    # step 3: exactly the problems the rule keeps, with every original field
    filtered = orjson.loads((data / "deepscaler_train_filter.json").read_bytes())
    expected = [i for i in range(6) if decide([q25[i]["num_correct"], q3[i]["num_correct"]], [6, 6]) == "kept"]
    assert [row["index"] for row in filtered] == expected and expected
    for row in filtered:
        assert {k: row[k] for k in PROBLEMS[0]} == PROBLEMS[row["index"]]
        assert row["qwen25_solutions"] == q25[row["index"]]["solutions"]
        assert row["qwen3_num_correct"] == q3[row["index"]]["num_correct"]
        assert {"qwen25_all_correct", "qwen25_all_wrong", "qwen3_all_correct", "qwen3_all_wrong"} <= set(row)
    assert (data / "deepscaler_train_filter_analysis.png").read_bytes()[:4] == b"\x89PNG"

    # step 4: critique rows
    critique = orjson.loads((data / "deepscaler_critique.json").read_bytes())
    assert critique and {r["target"] for r in critique} <= {"right", "wrong"}
    for c in critique:
        src = filtered[expected.index(c["index"])]
        sol = src[("qwen25" if c["source_model"] == "qwen-2.5-math-7b" else "qwen3") + "_solutions"][
            c["solution_index"]]
        assert c["solution"] == sol["text"] and (c["target"] == "right") == sol["correct"]
        assert sol["finish_reason"] == "stop"  # truncated solutions are skipped by default
        assert c["prompt"] == critique_prompt(c["question"], c["solution"])
    assert max(sum(1 for c in critique if c["index"] == i) for i in expected) <= 4

    # step 5: verl rows, JSON and parquet; with two or more problems, one is held out for validation
    formatted = orjson.loads((data / "deepscaler_critique_formatted.json").read_bytes())
    assert pq.read_table(data / "deepscaler_critique_formatted.parquet").to_pylist() == formatted
    val = []
    if len({c["index"] for c in critique}) >= 2:
        val = orjson.loads((data / "deepscaler_critique_formatted_val.json").read_bytes())
        assert pq.read_table(data / "deepscaler_critique_formatted_val.parquet").to_pylist() == val
    held = {v["extra_info"]["question_index"] for v in val}
    assert len(held) == (1 if val else 0) and {v["extra_info"]["split"] for v in val} <= {"val"}
    assert [f["reward_model"]["ground_truth"] for f in formatted] == [c["target"] for c in critique
                                                                      if c["index"] not in held]
    assert [v["reward_model"]["ground_truth"] for v in val] == [c["target"] for c in critique if c["index"] in held]

    # step 6: the tiny model's critiques are noise, so none is kept; every row was critiqued and audited
    sft = orjson.loads((data / "logs" / "summary_sft.json").read_bytes())
    assert sft["critiques_sampled"] == 2 * (len(formatted) + len(val)) and sft["rows"] == sft["kept"] == 0
    assert sft["backend"]["backend"] == "server" and (data / "deepscaler_critique_sft.parquet").exists()
    assert orjson.loads((data / "deepscaler_critique_sft_doubted.json").read_bytes()) == []
    assert SERVER_KEY not in r.stdout + r.stderr
    assert not [p for p in data.rglob("*") if p.is_file() and SERVER_KEY.encode() in p.read_bytes()]

    # the dataset folder: datasets reads it as it is; its card and manifest describe this run
    import datasets

    folder = data / "dataset"
    ds = datasets.load_dataset(str(folder), "rl", cache_dir=str(tmp_path / "hf_cache"))
    assert ds["train"].to_list() == formatted and list(ds) == (["train", "validation"] if val else ["train"])
    if val:
        assert ds["validation"].to_list() == val
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlicense: unknown\n")
    assert f"| `qwen3-4b-base` | `{tiny_model.name} (a local folder)` |" in card  # no local path in the card
    assert "Graded as generated, grader version 2." in card and "0 of 6 problems were removed" in card
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert list(manifest["steps"]) == ["decontaminate", "generate_qwen25", "generate_qwen3", "merge", "filter",
                                       "critique", "format", "sft", "evaluate"]
    assert all(step["command"] for step in manifest["steps"].values())
    assert subprocess.run([sys.executable, str(ROOT / "build_dataset.py"), "--verify", str(folder)]).returncode == 0

    # the summary: each step's JSON, joined; and the lines a person reads at the end
    summary = orjson.loads((data / "pipeline_summary.json").read_bytes())
    steps = summary["steps"]
    assert steps["filter"]["problems_in"] == 6 and steps["filter"]["kept"] == len(expected)
    assert steps["critique"]["rows"] == len(critique) == steps["format"]["rows"] + steps["format"]["val_rows"]
    assert steps["format"]["rows"] == len(formatted) and steps["format"]["val_rows"] == len(val)
    assert steps["critique"]["targets"] == {t: sum(c["target"] == t for c in critique) for t in ("right", "wrong")
                                            if any(c["target"] == t for c in critique)}
    assert steps["merge"]["models"]["qwen3-4b-base"]["problems"] == 6
    # (in the order they were finished: every request of a small run is in flight at once)
    assert sorted(steps["generate_qwen25"]["chunks_written"]) == sorted(steps["generate_qwen3"]["chunks_written"]) \
        == [0, 1]
    assert str(data / "deepscaler_critique_formatted.parquet") in summary["outputs"]
    printed = r.stdout.split("=== summary ===")[1]
    assert re.search(rf"critique rows +: {len(critique)}\n", printed)
    assert re.search(r"generated qwen3 +: 2 chunks written, 0 already done; 36 samples", printed)
    assert "deepscaler_critique_formatted.parquet" in printed
    assert re.search(r"prompt budget +: 4096 tokens: 0 solutions over it", printed)
    assert re.search(rf"training rows +: {len(formatted)}\n", printed) and "docs/training.md" in r.stdout
    assert re.search(rf"dataset +: {folder}: rl train {len(formatted)}, validation {len(val)} rows \(hard links\)",
                     printed) and f"build_dataset.py --verify {folder}" in printed
    assert steps["dataset"]["placement"] == "hard links"
    # the critic's report card (--eval_server_url): every validation row judged, the card cites the report
    assert steps["evaluate"]["n"] == len(val) and "critic accuracy" in printed
    assert "## A critic judged on these rows" in card
    assert re.search(r"teacher agreement +: - with the labels", printed)  # no verdict at all: no rate
    assert re.search(r"SFT rows +: 0 training, 0 held out; kept 0 of", printed)
    # the label report (filter --analyze): verdicts per model, and where the report is
    assert "labels qwen25" in printed and "labels qwen3" in printed and "verdicts:" in printed
    assert "deepscaler_train_filter_label_report.md" in printed
    assert (data / "deepscaler_train_filter_label_report.md").read_text().startswith("# Label report")
    assert steps["filter"]["labels"]["grades"].keys() == {"qwen25", "qwen3"}

    # a rerun finds every chunk done and re-derives steps 2-5; the card is as complete as the first run's
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    assert r2.returncode == 0 and "2 of 2 chunk files" in r2.stdout and "=== generate_" not in r2.stdout
    assert orjson.loads((data / "deepscaler_critique.json").read_bytes()) == critique
    steps2 = orjson.loads((data / "pipeline_summary.json").read_bytes())["steps"]
    assert steps2["generate_qwen3"]["resumed"] and steps2["generate_qwen3"]["chunks_skipped"] == [0, 1]
    assert steps2["generate_qwen3"]["samples"] == steps["generate_qwen3"]["samples"] == 36
    card2 = (folder / "README.md").read_text()
    assert "Graded as generated, grader version 2." in card2
    assert [line for line in card2.splitlines() if "`qwen3-4b-base`" in line] == \
        [line for line in card.splitlines() if "`qwen3-4b-base`" in line]


def test_failing_step_is_named(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(b"[{\"problem\": \"q\"}]")  # no answer
    r = subprocess.run([str(ROOT / "run_full_pipeline.sh"), "--yes", "--data_dir", str(data)],
                       capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "pipeline stopped" in r.stderr


def test_step_0_flags_reach_it_or_skip_it(tmp_path):
    """--decontaminate_args passes flags to step 0; --no_decontaminate skips it (generation then reads the
    input itself, and names its bad row before any model loads)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(b'[{"problem": "q", "answer": "1"}, {"problem": "r"}]')
    base = [str(ROOT / "run_full_pipeline.sh"), "--yes", "--data_dir", str(data)]
    r = subprocess.run(base + ["--decontaminate_args", "--dedup --threshold 101"], capture_output=True, text=True,
                       timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "between 0 and 100" in r.stdout + r.stderr
    assert "pipeline stopped: step 'decontaminate' failed" in r.stderr
    r = subprocess.run(base + ["--no_decontaminate"], capture_output=True, text=True, timeout=300, check=False,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "=== decontaminate ===" not in r.stdout
    assert "row 1: no answer" in r.stdout and "pipeline stopped: step 'generate_qwen25' failed" in r.stderr
    skipped = orjson.loads((data / "logs" / "summary_decontaminate.json").read_bytes())
    assert skipped["skipped"] and skipped["headline"] == [["step 0", "skipped (--no_decontaminate)"]]


def at_terminal(cmd, answer: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess, str]:
    """Run ``cmd`` with a terminal of its own (a pty as its stdin and controlling terminal, which ``/dev/tty``
    opens), ``answer`` typed ahead; its stdout and stderr are pipes. Returns the run and what the terminal showed."""
    master, slave = pty.openpty()

    def own_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=own_terminal)
    os.close(slave)
    os.write(master, answer.encode() + b"\n")
    shown = []

    def read_terminal():
        while True:
            try:
                chunk = os.read(master, 1024)
            except OSError:  # every process of the terminal is gone
                return
            if not chunk:
                return
            shown.append(chunk)

    thread = threading.Thread(target=read_terminal, daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        thread.join(5)
        os.close(master)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), b"".join(shown).decode(errors="replace")


def offline_step_0(tmp_path) -> list[str]:
    """Step 0's flags for a test: an evaluation set of the test's own, none of the named ones (no Hub)."""
    evals = tmp_path / "eval.jsonl"
    evals.write_bytes(b"".join(orjson.dumps({"problem": p, "answer": a}) + b"\n" for p, a in EVAL_PROBLEMS))
    return ["--decontaminate_args", f"--eval_sets none --against {evals}"]


def test_printed_commands_carry_every_flag(tmp_path):
    """Answering 'p' at the prompt prints the per-GPU scripts and a complete Slurm command, and stops; every
    model's own flags and the run's generation flags are in both (they were in neither)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(orjson.dumps(PROBLEMS))
    r, terminal = at_terminal([str(ROOT / "run_full_pipeline.sh"), "--data_dir", str(data), "--chunk_size", "3",
                               "--gpus", "2", *offline_step_0(tmp_path), "--qwen3_args", "--temperature 1.0 --seed 1",
                               "--", "--max_tokens", "40"], "p", timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "=== generate_" not in r.stdout
    assert "Run on the GPU node(s)" in r.stdout and f"bash {data / 'run_qwen3.sh'}" in r.stdout
    for alias, own in (("qwen25", ""), ("qwen3", " --temperature 1.0 --seed 1")):
        lines = (data / f"run_{alias}.sh").read_text().splitlines()
        assert len(lines) == 3  # header + one line per GPU
        assert all(f"--max_tokens 40{own} --chunk_id" in line for line in lines[1:])
        assert all(f"--input_file {data / 'deepscaler_train_clean.json'} " in line for line in lines[1:])  # step 0's
    assert "--temperature" not in (data / "run_qwen25.sh").read_text()
    # the Slurm command printed is complete: run as it is, it writes job arrays with the same flags
    slurm = next(line.strip() for line in r.stdout.splitlines() if "--format slurm" in line)
    s = subprocess.run(shlex.split(slurm), capture_output=True, text=True, timeout=120, check=False)
    assert s.returncode == 0, s.stderr
    sbatch = (data / "slurm" / "generate_qwen3.sbatch").read_text()
    assert "--max_tokens 40 --temperature 1.0 --seed 1" in sbatch and f"--input_file {data}" in sbatch
    assert "--temperature" not in (data / "slurm" / "generate_qwen25.sbatch").read_text()
    rerun = r.stdout.split("then rerun this pipeline:\n")[1].splitlines()[0]
    assert "run_full_pipeline.sh" in rerun and "--qwen3_args '--temperature 1.0 --seed 1'" in rerun
    assert "4 chunks missing: run them [h]ere one after another, or [p]rint" in terminal  # asked there


def write_chunks(data, alias, model, model_path, sampling, chunk_size=3, grader_version="2", problems=PROBLEMS,
                 solutions=None):
    """The chunk files a generation run with these settings writes, made here: solutions whose verdicts are known
    (one right, one wrong per problem; or ``solutions(i)``'s, graded here), so that every problem is kept and
    nothing needs a model."""
    inp = data / "deepscaler_train.json"
    folder = data / f"solutions_{alias}"
    folder.mkdir(parents=True, exist_ok=True)
    n = sampling["n"]
    for cid in range((len(problems) + chunk_size - 1) // chunk_size):
        start, end = cid * chunk_size, min((cid + 1) * chunk_size, len(problems))
        rows = []
        for k, i in enumerate(range(start, end)):
            answer = problems[i]["answer"]
            if solutions is None:
                sols = [{"text": f"{alias} says \\boxed{{{value}}}", "extracted_answer": value,
                         "correct": value == answer, "grade": "correct" if value == answer else "incorrect",
                         "finish_reason": "stop", "num_tokens": 7} for value in (answer, f"{answer}9")]
            else:
                texts = solutions(i)
                sols = [solution_record(t, g, "stop", len(t.split()))
                        for t, g in zip(texts, grade_problem(texts, answer))]
            rows.append(result_row(i, k, problems[i]["problem"], answer, sols))
        meta = chunk_metadata(model=model, model_path=model_path, chunk_id=cid, chunk_size=chunk_size, start=start,
                              end=end, num_samples=n, sampling=sampling, prompt_template="fewshot-boxed",
                              input_file=inp, input_sha256=sha256_file(inp), input_rows=len(problems),
                              grader_version=grader_version)
        write_results_file(folder / f"{model}_chunk_{cid:03d}.json", meta, rows)


def test_resumed_run_keeps_its_record_and_redoes_what_changed(tiny_server, tmp_path):
    """Every chunk there (the GPU flow): generation is not run, and its summary is made from the chunk files'
    metadata, so the card still knows the grader; a rerun with another split gives step 6 --overwrite (its
    critiques of the old rows go); a rerun asking for other sampling than the chunks were made with stops
    before the merge, naming the chunk, unless --overwrite (then it generates them again)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepscaler_train.json").write_bytes(orjson.dumps(PROBLEMS))
    sampling = {"n": 2, "temperature": 0.7, "top_p": 0.95, "max_tokens": 64, "seed": 0,
                "stop": list(get_template("fewshot-boxed").stop)}
    weights = str(tmp_path / "never-loaded")
    for alias, model in (("qwen25", "qwen-2.5-math-7b"), ("qwen3", "qwen3-4b-base")):
        write_chunks(data, alias, model, weights, sampling)
    (data / "logs").mkdir()
    (data / "logs" / "summary_grade.json").write_text('{"step": "grade"}')  # a step run by hand, before
    gpu = {"step": "generate_qwen3_chunk000+1", "chunks_written": [0, 1], "command": "generate_solutions.py ..."}
    (data / "logs" / "summary_generate_qwen3_chunk000+1.json").write_bytes(orjson.dumps(gpu))  # a GPU's process
    cmd = [str(ROOT / "run_full_pipeline.sh"), "--yes", "--data_dir", str(data), "--chunk_size", "3",
           *offline_step_0(tmp_path),
           "--num_samples", "2", "--model_path", f"qwen25={weights}", "--model_path", f"qwen3={weights}",
           "--teacher_server_url", tiny_server, "--teacher_api_key_env", SERVER_KEY_ENV,
           "--teacher_args", "--num_critiques 2 --max_tokens 8",
           "--", "--prompt_template", "fewshot-boxed", "--max_tokens", "64"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "2 of 2 chunk files" in r.stdout and "=== generate_" not in r.stdout
    assert f"step 0 removed nothing: generating from {data / 'deepscaler_train.json'} as it is, as the chunk " \
           "files there were" in r.stdout  # made from the problem set before step 0 ran: they still match
    assert "summary_grade.json" in r.stdout and not (data / "logs" / "summary_grade.json").exists()
    assert orjson.loads((data / "logs" / "summary_generate_qwen3_chunk000+1.json").read_bytes()) == gpu  # kept
    summary = orjson.loads((data / "pipeline_summary.json").read_bytes())
    for alias, model in (("qwen25", "qwen-2.5-math-7b"), ("qwen3", "qwen3-4b-base")):
        gen = summary["steps"][f"generate_{alias}"]
        assert gen["resumed"] and gen["chunks_written"] == [] and gen["chunks_skipped"] == [0, 1]
        assert gen["samples"] == 12 and gen["grader_version"] == "2" and "generate_solutions.py" in gen["command"]
        assert gen["outputs"] == [str(data / f"solutions_{alias}" / f"{model}_chunk_00{c}.json") for c in (0, 1)]
    assert re.search(r"generated qwen3 +: 0 chunks written, 2 already done \(resumed\); 12 samples", r.stdout)
    card = (data / "dataset" / "README.md").read_text()
    assert "Graded as generated, grader version 2." in card
    manifest = orjson.loads((data / "dataset" / "manifest.json").read_bytes())
    assert list(manifest["steps"]) == ["decontaminate", "generate_qwen25", "generate_qwen3",
                                       "generate_qwen3_chunk000+1", "merge", "filter", "critique", "format", "sft"]
    steps = summary["steps"]
    assert steps["filter"]["kept"] == 6 and steps["format"]["val_rows"] > 0
    assert steps["sft"]["input_rows"] == {"train": steps["format"]["rows"], "val": steps["format"]["val_rows"]}

    # another split: step 5's rows change, and step 6 redoes its critiques of them (it refused before)
    r = subprocess.run([*cmd[:2], "--val_size", "3", *cmd[2:]], capture_output=True, text=True, timeout=900,
                       check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "step 5's rows changed since the last run" in r.stdout
    steps = orjson.loads((data / "pipeline_summary.json").read_bytes())["steps"]
    train, val = steps["format"]["rows"], steps["format"]["val_rows"]
    held = {v["extra_info"]["question_index"]
            for v in orjson.loads((data / "deepscaler_critique_formatted_val.json").read_bytes())}
    assert len(held) == 3 and steps["sft"]["input_rows"] == {"train": train, "val": val}
    assert steps["sft"]["critiques_sampled"] == 2 * (train + val)
    work = sorted((data / "deepscaler_critique_sft_work").glob("chunk_*.json"))
    assert work and {work_metadata(p)["val_sha256"] for p in work} == {
        sha256_file(data / "deepscaler_critique_formatted_val.json")}

    # other sampling than the chunks were made with: refused before the merge, naming the chunk and the setting
    merged = (data / "deepscaler_qwen3_solutions.json").read_bytes()
    r = subprocess.run([*cmd, "--temperature", "1.0"], capture_output=True, text=True, timeout=300, check=False,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "=== merge ===" not in r.stdout
    assert "pipeline stopped:" in r.stderr and "qwen-2.5-math-7b_chunk_000.json" in r.stderr
    assert "sampling" in r.stderr and "--overwrite" in r.stderr
    assert (data / "deepscaler_qwen3_solutions.json").read_bytes() == merged
    # with --overwrite, they are generated again (here: with weights that do not exist, so step 1 stops)
    r = subprocess.run([*cmd[:2], "--overwrite", *cmd[2:], "--temperature", "1.0"], capture_output=True, text=True,
                       timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "pipeline stopped: step 'generate_qwen25' failed" in r.stderr


def work_metadata(path):
    metadata, rows = open_results_file(path)
    list(rows)
    return metadata


def test_step_labels_in_the_pipeline(tiny_model, tmp_path, monkeypatch):
    """--step_labels with chunk files there (nothing generated): label_steps.py runs after step 3 on the scripted
    step server (teacher and completer, cft.fixtures.step_world; the completer's prompts rendered with the
    generators' weights, the tiny model's tokenizer), steps 4 and 5 read its labels: no lucky solution is a critique
    row, the process rows are the dataset's process config, and the closing summary gives the lucky share. A rerun
    labels from the work chunks, asking the server nothing."""
    from cft.fixtures.step_world import StepServer, answer, plant, question

    monkeypatch.setenv(SERVER_KEY_ENV, SERVER_KEY)
    data = tmp_path / "data"
    data.mkdir()
    problems = [{"problem": question(i), "answer": str(answer(i))} for i in range(6)]
    (data / "deepscaler_train.json").write_bytes(orjson.dumps(problems))
    sampling = {"n": 4, "temperature": 0.7, "top_p": 0.95, "max_tokens": 64, "seed": 0,
                "stop": list(get_template("fewshot-boxed").stop)}
    truth = {}
    for m, (alias, model) in enumerate((("qwen25", "qwen-2.5-math-7b"), ("qwen3", "qwen3-4b-base"))):
        planted = {i: [plant(i, 4 * m + j) for j in range(4)] for i in range(6)}
        truth.update({(i, model, j): p for i, ps in planted.items() for j, p in enumerate(ps)})
        write_chunks(data, alias, model, str(tiny_model), sampling, problems=problems,
                     solutions=lambda i, planted=planted: [p.text for p in planted[i]])
    with StepServer(noise=0.0, api_key=SERVER_KEY) as server:
        cmd = [str(ROOT / "run_full_pipeline.sh"), "--yes", "--data_dir", str(data), "--chunk_size", "3",
               *offline_step_0(tmp_path), "--num_samples", "4", "--model_path", f"qwen25={tiny_model}",
               "--model_path", f"qwen3={tiny_model}", "--step_labels",
               "--teacher_server_url", server.url, "--teacher_api_key_env", SERVER_KEY_ENV,
               "--teacher_args", "--num_critiques 2", "--completer_server_url", server.url,
               "--completer_api_key_env", SERVER_KEY_ENV, "--step_labels_args", "--rollouts 2 --num_verdicts 2",
               "--", "--prompt_template", "fewshot-boxed", "--max_tokens", "64"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
        posts = dict(server.posts)
        r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
        assert r2.returncode == 0, r2.stdout[-4000:] + r2.stderr[-4000:]
        assert server.posts["completions"] == posts["completions"]  # the rerun labelled from its chunks
    assert "=== generate_" not in r.stdout and "=== step_labels ===" in r.stdout
    assert r.stdout.index("=== filter ===") < r.stdout.index("=== step_labels ===") < r.stdout.index("=== critique")
    labels = orjson.loads((data / "deepscaler_step_labels.json").read_bytes())
    lucky = {(x["index"], x["source_model"], x["solution_index"]) for x in labels if x["lucky"]}
    assert lucky and all(truth[key].lucky for key in lucky)
    assert all(x["label"] == truth[(x["index"], x["source_model"], x["solution_index"])].first_error for x in labels)
    critique = orjson.loads((data / "deepscaler_critique.json").read_bytes())
    assert critique and not {(c["index"], c["source_model"], c["solution_index"]) for c in critique} & lucky
    summary = orjson.loads((data / "pipeline_summary.json").read_bytes())
    steps = summary["steps"]
    assert list(steps)[:6] == ["decontaminate", "generate_qwen25", "generate_qwen3", "merge", "filter", "step_labels"]
    assert steps["critique"]["held_back_lucky"] and steps["format"]["process_rows"] > 0
    assert re.search(rf"lucky right answers +: {len(lucky)} \(", r.stdout.split("=== summary ===")[1])
    import datasets

    ds = datasets.load_dataset(str(data / "dataset"), "process", cache_dir=str(tmp_path / "hf_cache"))
    assert ds["train"].num_rows == steps["format"]["process_rows"]
    assert "### Step labels: which step went wrong" in (data / "dataset" / "README.md").read_text()
    assert SERVER_KEY not in r.stdout + r.stderr
