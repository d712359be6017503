"""Builders of real, schema-shaped files for the tests (no model needed)."""

from __future__ import annotations

from pathlib import Path

import orjson

from cft.common.jsonio import sha256_file, write_results_file
from cft.grading import grade_problem
from cft.records.chunks import chunk_filename, chunk_range, num_chunks
from cft.records.models import get_model
from cft.records.solutions import chunk_metadata, result_row, solution_record

SAMPLING = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 64, "seed": 0, "n": 4}


def write_input(path: Path, n: int) -> list[dict]:
    """Raw DeepScaleR rows: 'What is i + 3?' with answer i + 3, plus an extra field to carry."""
    rows = [{"problem": f"What is {i} + 3?", "answer": str(i + 3), "solution": f"{i} + 3 = {i + 3}",
             "level": i % 5} for i in range(n)]
    path.write_bytes(orjson.dumps(rows))
    return rows


def texts_for(answer: str, n_correct: int, n: int, truncated: int = 0) -> list[str]:
    """n solution texts, the first n_correct boxed right, the rest boxed wrong; the last
    ``truncated`` of the wrong ones cut off with no box."""
    out = []
    for k in range(n):
        if k < n_correct:
            out.append(f"Adding gives {answer}. Sample {k}. The answer is \\boxed{{{answer}}}.")
        elif k >= n - truncated:
            out.append(f"Let me think step {k} about this and")
        else:
            out.append(f"I think it is {int(answer) + k + 1}. Sample {k}. \\boxed{{{int(answer) + k + 1}}}")
    return out


def write_chunks(folder: Path, model: str, input_path: Path, correct_counts: list[int], *,
                 chunk_size: int = 4, num_samples: int = 4, truncated: int = 0,
                 sampling: dict | None = None, only: list[int] | None = None) -> list[Path]:
    """Chunk files for ``model`` where problem i has ``correct_counts[i]`` right samples."""
    rows = orjson.loads(input_path.read_bytes())
    n_rows = len(rows)
    sha = sha256_file(input_path)
    spec = get_model(model)
    written = []
    for cid in range(num_chunks(n_rows, chunk_size)):
        if only is not None and cid not in only:
            continue
        start, end = chunk_range(cid, chunk_size, n_rows)
        results = []
        for i in range(start, end):
            answer = rows[i]["answer"]
            texts = texts_for(answer, correct_counts[i], num_samples, truncated)
            grades = grade_problem(texts, answer)
            sols = [solution_record(t, g, "length" if "\\boxed" not in t else "stop", len(t.split()))
                    for t, g in zip(texts, grades)]
            results.append(result_row(i, i - start, rows[i]["problem"], answer, sols))
        meta = chunk_metadata(model=spec.name, model_path=spec.weights, chunk_id=cid, chunk_size=chunk_size,
                              start=start, end=end, num_samples=num_samples,
                              sampling=sampling or SAMPLING, prompt_template=spec.prompt_template,
                              input_file=input_path, input_sha256=sha, input_rows=n_rows)
        path = folder / chunk_filename(spec.name, cid)
        write_results_file(path, meta, results)
        written.append(path)
    return written


def write_formatted(folder: Path, n: int, val_size: float | int = 0.25) -> Path:
    """Step 5's files (training and _val, JSON and parquet) for ``n`` critique rows: row i asks about
    'What is i + 3?' with a solution that is right for even i (label right) and one too high for odd i; two rows
    per problem, from two models. Returns the training JSON file."""
    from cft.common.jsonio import write_json_list
    from cft.critic.critique_rows import critique_prompt
    from cft.critic.split import format_split

    rows = []
    for i in range(n):
        answer = i + 3 + i % 2
        question, solution = f"What is {i} + 3?", f"{i} + 3 = {answer}. The answer is \\boxed{{{answer}}}."
        rows.append({"index": i // 2, "question": question, "solution": solution, "ground_truth": str(i + 3),
                     "target": "wrong" if i % 2 else "right", "prompt": critique_prompt(question, solution),
                     "source_model": ("qwen-2.5-math-7b", "qwen3-4b-base")[i % 2], "solution_index": i % 3,
                     "extracted_answer": str(answer)})
    folder.mkdir(parents=True, exist_ok=True)
    write_json_list(folder / "critique.json", rows)
    out = folder / "formatted.json"
    format_split(folder / "critique.json", out, out.with_suffix(".parquet"), val_size)
    return out


def canned_critique(body: dict, k: int) -> str:
    """What a teacher behind ``FaultProxy(replies=canned_critique)`` writes for choice ``k`` of a row of
    ``write_formatted``: choice 0 the label in the exact format, choice 1 the label with a slipped ending (markdown
    bold, no [END]), choice 2 and up the other verdict; for row 5 (labelled wrong) every choice says right, so the
    row is doubted."""
    import re

    i = int(re.search(r"What is (\d+) \+ 3\?", body["messages"][-1]["content"]).group(1))
    label, other = ("wrong", "right") if i % 2 else ("right", "wrong")
    if i == 5:
        return f"5 + 3 is 8, so the student is right (sample {k}).\n\nConclusion: right [END]"
    if k == 0:
        return f"{i} + 3 = {i + 3}; the student's answer is {label}.\n\nConclusion: {label} [END]"
    if k == 1:
        return f"Checking {i} + 3 again (sample {k}): the final answer is {label}.\n\n**Conclusion:** {label}"
    return f"I think the answer is {other}.\n\nConclusion: {other} [END]"


def write_hub_dataset(folder: Path, splits: dict[str, list[dict]], config: str = "default") -> Path:
    """A dataset folder in the Hub's layout: one parquet file per split under ``<config>/`` (``data/`` for
    the default config) and a README.md card whose ``configs`` maps each split to its files, as
    ``hf download --repo-type dataset`` leaves it; ``datasets.load_dataset(folder, config, split=...)`` reads it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sub = "data" if config == "default" else config
    (folder / sub).mkdir(parents=True, exist_ok=True)
    card = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split, rows in splits.items():
        pq.write_table(pa.Table.from_pylist(rows), folder / sub / f"{split}-00000-of-00001.parquet")
        card += [f"  - split: {split}", f"    path: {sub}/{split}-*"]
    (folder / "README.md").write_text("\n".join(card + ["---", "", "A dataset the tests wrote.", ""]))
    return folder


def cache_as_hub(hf_home: Path, hub_id: str, splits: dict[str, list[dict]], config: str = "default") -> None:
    """Leave ``splits`` in the Hugging Face cache under ``hf_home`` as ``datasets.load_dataset(hub_id, config)``
    leaves a downloaded dataset, so that an offline load by that id (``HF_HOME=hf_home``,
    ``HF_DATASETS_OFFLINE=1``) reads it: the folder is prepared under a temporary cache and moved to
    ``datasets/{owner}___{name in snake case}/{config}/{version}/{hash}`` (datasets' layout, files
    ``{name}-{split}.arrow``)."""
    import shutil
    import tempfile

    import datasets
    from datasets.naming import camelcase_to_snakecase

    owner, name = hub_id.split("/")
    snake = camelcase_to_snakecase(name)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_hub_dataset(Path(tmp) / snake, splits, config)  # the builder is named after the folder
        datasets.load_dataset(str(folder), config, cache_dir=str(Path(tmp) / "cache"))
        [prepared] = [p for p in (Path(tmp) / "cache" / snake / config).glob("*/*") if p.is_dir()]
        target = hf_home / "datasets" / f"{owner}___{snake}" / config / prepared.parent.name / prepared.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(prepared), str(target))


# Problems written for these tests (no benchmark's text): each with its answer.
EVAL_PROBLEMS = [
    ("Consider the arithmetic sequence $\\frac{7}{2}, 5, \\frac{13}{2}, \\ldots$. What is its twelfth term? "
     "Express your answer in simplest form.", "20"),
    ("A jar holds $14$ green beads and $6$ yellow beads. Three beads are drawn at random without replacement. "
     "What is the probability that all three are green?", "\\frac{91}{285}"),
    ("How many ordered pairs of positive integers $(a, b)$ satisfy $a + 2b = 31$?", "15"),
    ("The lengths of the legs of a right triangle are $9$ and $40$. What is the length of its hypotenuse?", "41"),
    ("Find the smallest positive integer $n$ such that $n^2$ leaves a remainder of $4$ when divided by $11$ "
     "and $n > 20$.", "24"),
    ("A cyclist rides $18$ kilometers at $12$ kilometers per hour and then $18$ kilometers at $24$ kilometers per "
     "hour. What is her average speed, in kilometers per hour, for the whole ride?", "16"),
]
