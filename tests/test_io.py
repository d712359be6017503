"""JSON I/O and input rows: atomic writes survive kill -9, errors name the file and row."""

import os
import signal
import subprocess
import sys
import time

import orjson
import pytest

from cft.common.errors import CftError
from cft.common.jsonio import (
    iter_json_list,
    open_results_file,
    read_json,
    read_json_list,
    remove_leftovers,
    write_json_list,
    write_results_file,
)
from cft.records.problems import load_problems

WRITER = """
import time
from cft.common.jsonio import write_json_list

def rows():
    for i in range(200_000):
        if i == 1000:
            print("writing", flush=True)
        if i % 1000 == 0:
            time.sleep(0.01)
        yield {{"i": i, "text": "x" * 200}}

write_json_list({path!r}, rows())
print("done", flush=True)
"""


def test_kill_9_mid_write_leaves_no_torn_file(tmp_path):
    target = tmp_path / "out.json"
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(path=str(target))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not target.exists()  # killed mid-write: the final name never appeared
    # ... and a leftover temp file, if any, is hidden and never read as output; the next writer removes it
    left = sorted(p.name for p in tmp_path.iterdir())
    assert all(n.startswith(".out.json.") and n.endswith(".tmp") for n in left)
    (tmp_path / ".other.json.x.tmp").write_bytes(b"")  # another file's leftover stays
    assert remove_leftovers(tmp_path, "out.json") == left
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.json.x.tmp"]
    assert remove_leftovers(tmp_path, "*.json") == [".other.json.x.tmp"]

    # a completed write is whole and parses
    write_json_list(target, ({"i": i} for i in range(10)))
    assert read_json(target) == [{"i": i} for i in range(10)]


def test_kill_9_during_overwrite_keeps_old_file(tmp_path):
    from conftest import ROOT

    target = tmp_path / "out.json"
    write_json_list(target, [{"old": True}])
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(target))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_json(target) == [{"old": True}]


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"

    def rows():
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_json_list(target, rows())
    assert list(tmp_path.iterdir()) == []


def test_rows_are_one_per_line_and_valid_json(tmp_path):
    target = tmp_path / "rows.json"
    write_json_list(target, [{"a": 1}, {"b": "é"}])
    text = target.read_text(encoding="utf-8")
    assert text.splitlines() == ["[", '{"a":1},', '{"b":"é"}', "]"]
    assert write_json_list(tmp_path / "empty.json", []) == 0
    assert read_json(tmp_path / "empty.json") == []


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b'[{"a": 1}, {"b"', "not valid JSON"),
    (b"{}", "expected a JSON list"),
    (b"[]", "is empty"),
])
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CftError, match=message) as e:
        read_json_list(path)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(CftError, match="file not found"):
        read_json(tmp_path / "nope.json")


def test_three_input_shapes(tmp_path):
    chatml = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?\n"
              "Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
              "<|im_start|>assistant\n")
    rows = [
        {"problem": "What is 1+1?", "answer": "2", "solution": "1+1=2"},
        {"data_source": "x", "prompt": [{"role": "user", "content": "What is 1+2?"}], "ability": "math",
         "reward_model": {"style": "rule", "ground_truth": "3"}, "extra_info": {"index": 7}},
        {"data_source": "x", "prompt": [{"role": "user", "content": chatml}], "ability": "math",
         "reward_model": {"style": "rule", "ground_truth": "4"}, "extra_info": {},
         "question": "What is 2+2?", "answer": "4", "gt_answer": "4", "target": "4", "subject": "a",
         "level": 1},
        {"data_source": "x", "prompt": [{"role": "user", "content": "ignored"}],
         "extra_info": {"question": "What is 3+3?"}, "gt_answer": 6},
    ]
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps(rows))
    problems = load_problems(path)
    assert [(p.index, p.question, p.answer) for p in problems] == [
        (0, "What is 1+1?", "2"), (1, "What is 1+2?", "3"), (2, "What is 2+2?", "4"), (3, "What is 3+3?", "6")]
    assert problems[2].prompt == chatml
    assert problems[0].prompt is None


@pytest.mark.parametrize("row, message", [
    ({"answer": "2"}, "row 1: no question"),
    ({"problem": "Q?"}, "row 1: no answer"),
    ({"problem": "", "answer": "2"}, "row 1: no question"),
    ("just a string", "row 1: expected an object"),
])
def test_bad_row_is_named(tmp_path, row, message):
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps([{"problem": "ok", "answer": "1"}, row]))
    with pytest.raises(CftError, match=message):
        load_problems(path)


def test_streaming_readers_match_whole_parses(tmp_path):
    rows = [{"i": i, "text": "a,\nb ]" * i} for i in range(50)]
    write_json_list(tmp_path / "rows.json", rows)
    assert list(iter_json_list(tmp_path / "rows.json")) == rows == read_json_list(tmp_path / "rows.json")
    (tmp_path / "other.json").write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))  # another layout
    assert list(iter_json_list(tmp_path / "other.json")) == rows
    write_results_file(tmp_path / "res.json", {"m": 1}, rows)
    meta, it = open_results_file(tmp_path / "res.json")
    assert meta == {"m": 1} and list(it) == rows
    (tmp_path / "res2.json").write_bytes(orjson.dumps({"metadata": {"m": 2}, "results": rows}))
    meta, it = open_results_file(tmp_path / "res2.json")
    assert meta == {"m": 2} and list(it) == rows


def test_streaming_reader_catches_truncation(tmp_path):
    write_json_list(tmp_path / "rows.json", [{"i": i} for i in range(10)])
    data = (tmp_path / "rows.json").read_bytes()
    (tmp_path / "cut.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(CftError, match="truncated"):
        list(iter_json_list(tmp_path / "cut.json"))
    (tmp_path / "cut2.json").write_bytes(data[:-4])  # cut mid-row
    with pytest.raises(CftError, match="cut2.json"):
        list(iter_json_list(tmp_path / "cut2.json"))


def test_other_layouts_are_read_whole_with_a_note(tmp_path, capsys):
    rows = [{"i": i} for i in range(3)]
    write_json_list(tmp_path / "ours.json", rows)
    write_results_file(tmp_path / "ours_res.json", {"m": 1}, rows)
    assert list(iter_json_list(tmp_path / "ours.json")) == rows
    assert list(open_results_file(tmp_path / "ours_res.json")[1]) == rows
    assert capsys.readouterr().err == ""  # our layout streams, silently
    (tmp_path / "pretty.json").write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    (tmp_path / "pretty_res.json").write_bytes(orjson.dumps({"metadata": {}, "results": rows},
                                                           option=orjson.OPT_INDENT_2))
    assert list(iter_json_list(tmp_path / "pretty.json")) == rows
    assert list(open_results_file(tmp_path / "pretty_res.json")[1]) == rows
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 2 and all(n.startswith("note: ") and "one-row-per-line" in n for n in notes)
    assert "pretty.json" in notes[0] and "pretty_res.json" in notes[1]


def test_raw_rows_are_the_bytes_written(tmp_path):
    rows = [{"i": i, "s": "é"} for i in range(4)]
    write_results_file(tmp_path / "r.json", {}, rows)
    _, pairs = open_results_file(tmp_path / "r.json", raw=True)
    pairs = list(pairs)
    assert [p[0] for p in pairs] == rows and [bytes(p[1]) for p in pairs] == [orjson.dumps(r) for r in rows]
    write_results_file(tmp_path / "copy.json", {}, (p[1] for p in pairs), encoded=True)
    assert (tmp_path / "copy.json").read_bytes() == (tmp_path / "r.json").read_bytes()


def test_several_outputs_commit_as_one(tmp_path):
    """atomic_files: all files whole before any is renamed; a failure leaves the old set, never a mix."""
    import errno

    from cft.common.jsonio import atomic_files
    from cft.common.oserrors import NamedWriter

    a, b, stale = tmp_path / "a.json", tmp_path / "b.parquet", tmp_path / "a_val.json"
    for path in (a, b, stale):
        path.write_bytes(b"old " + path.name.encode())
    with pytest.raises(RuntimeError), atomic_files() as files:
        files.open(a).write(b"new a")
        raise RuntimeError("the second file failed")
    assert [p.read_bytes() for p in (a, b)] == [b"old a.json", b"old b.parquet"]

    class Full(NamedWriter):  # the disk fills while the second file is flushed at the commit
        def flush(self):
            if self.final_path == b:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(b))
            super().flush()

    import cft.common.jsonio as jsonio

    real = jsonio.NamedWriter
    jsonio.NamedWriter = Full
    try:
        with pytest.raises(OSError) as e, atomic_files() as files:
            files.open(a).write(b"new a")
            files.open(b).write(b"new b")
    finally:
        jsonio.NamedWriter = real
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(b)
    assert [p.read_bytes() for p in (a, b)] == [b"old a.json", b"old b.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a_val.json", "b.parquet"]  # no temp left

    with atomic_files() as files:
        files.open(a).write(b"new a")
        files.open(b).write(b"new b")
        files.remove(stale)  # an earlier run's file that this one does not write
        assert a.read_bytes() == b"old a.json"  # nothing renamed before the block ends
    assert [p.read_bytes() for p in (a, b)] == [b"new a", b"new b"] and not stale.exists()

    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError) as e, atomic_files() as files:
        files.open(tmp_path / "d")  # refused before anything is written
    assert e.value.filename == str(tmp_path / "d")


def test_a_summary_records_its_command_line_without_secrets():
    from cft.common.summary import Summary, command_line

    assert Summary("x").data()["command"] == command_line()
    line = command_line(["python", "s.py", "--api_key", "abc", "--hf_token=xyz", "--api_key_env", "OPENAI_API_KEY",
                         "--max_prompt_tokens", "1024", "--tokenizer", "/m", "sk-" + "a" * 24, "two words"])
    assert line == ("python s.py --api_key '***' '--hf_token=***' --api_key_env OPENAI_API_KEY "
                    "--max_prompt_tokens 1024 --tokenizer /m '***' 'two words'")
