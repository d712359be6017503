import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache for the CPU engine in tests
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random-weight Qwen2 (real vLLM serves it on CPU), built once per session."""
    from cft.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


def arithmetic_rows(n: int) -> list[dict]:
    return [{"problem": f"What is {i} + {i % 7}?", "answer": str(i + i % 7), "id": f"p{i}"} for i in range(n)]


@pytest.fixture(scope="session")
def gen_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen_input") / "deepscaler_train.json"
    path.write_bytes(orjson.dumps(arithmetic_rows(12)))
    return path


def gen_cmd(model_path, input_file, output_dir, *extra, model="qwen25"):
    """generate_solutions.py on the tiny model: 12 problems in 6 chunks of 2, 4 samples each."""
    return [sys.executable, str(ROOT / "generate_solutions.py"), "--model", model, "--model_path", str(model_path),
            "--input_file", str(input_file), "--output_dir", str(output_dir), "--chunk_size", "2",
            "--num_samples", "4", "--max_tokens", "48", "--max_model_len", "512", "--enforce_eager",
            "--grading_workers", "1", *extra]


def run_cmd(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
