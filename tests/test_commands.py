"""generate_commands.py: the grep recipe yields a runnable per-GPU script; Slurm scripts parse."""

import subprocess
import sys

import orjson
from conftest import ROOT, arithmetic_rows, run_cmd


def make_input(tmp_path, n):
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps(arithmetic_rows(n)))
    return path


def test_grep_recipe_gives_one_line_per_gpu(tmp_path):
    inp = make_input(tmp_path, 40_000)
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp),
                 "--chunk_size", "1000", "--output_dir", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    (tmp_path / "commands.txt").write_text(r.stdout)
    for name, alias in (("qwen-2.5-math-7b", "qwen25"), ("qwen3-4b-base", "qwen3")):
        script = tmp_path / f"run_{alias}.sh"
        subprocess.run(f'grep -A 8 "{name}" commands.txt > {script.name}', shell=True, cwd=tmp_path, check=True)
        lines = script.read_text().splitlines()
        assert len(lines) == 9 and lines[0].startswith(f"# {name}: 40 chunks of 1000 on 8 GPUs")
        assert run_cmd(["bash", "-n", str(script)]).returncode == 0
        for g, line in enumerate(lines[1:]):
            assert f"CUDA_VISIBLE_DEVICES={g} " in line and line.endswith("&")
            assert f"--model {alias} " in line
            chunks = line.split("--chunk_id ")[1].split(" >")[0].split()
            assert chunks == [str(c) for c in range(g, 40, 8)]  # 5 chunks per GPU: g, g+8, ...
            assert f"{alias}_gpu{g}.log" in line


def test_fewer_chunks_than_gpus(tmp_path):
    inp = make_input(tmp_path, 3)
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp),
                 "--chunk_size", "1", "--num_gpus", "4", "--models", "qwen3"])
    lines = r.stdout.splitlines()
    assert len(lines) == 5 and "no chunk" in lines[4]


def test_slurm_scripts(tmp_path):
    inp = make_input(tmp_path, 2500)
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--format", "slurm",
                 "--slurm_dir", str(tmp_path / "slurm"), "--max_concurrent", "16", "--partition", "gpu",
                 "--log_dir", str(tmp_path / "logs")])
    assert r.returncode == 0, r.stderr
    for alias in ("qwen25", "qwen3"):
        text = (tmp_path / "slurm" / f"generate_{alias}.sbatch").read_text()
        assert "#SBATCH --array=0-2%16" in text and "#SBATCH --partition=gpu" in text
        assert '--chunk_id "${SLURM_ARRAY_TASK_ID}"' in text and f"--model {alias}" in text
        assert run_cmd(["bash", "-n", str(tmp_path / "slurm" / f"generate_{alias}.sbatch")]).returncode == 0
    assert (tmp_path / "logs" / "slurm").is_dir()


def test_serve_commands_for_one_node(tmp_path):
    inp = make_input(tmp_path, 40_000)
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--serve",
                 "--servers", "8", "--model_path", "qwen25=/models/Qwen2.5-Math-7B", "--server_args",
                 "--max-model-len 4096", "--output_dir", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    (tmp_path / "commands.txt").write_text(r.stdout)
    subprocess.run('grep -A 1 "qwen-2.5-math-7b" commands.txt > serve_qwen25.sh', shell=True, cwd=tmp_path, check=True)
    header, line = (tmp_path / "serve_qwen25.sh").read_text().splitlines()
    assert header.startswith("# qwen-2.5-math-7b: 40 chunks of 1000 on one node: 8 vLLM server(s) on its 8 GPUs")
    assert "serve_and_generate.sh" in line and "--model_path /models/Qwen2.5-Math-7B --gpus 8 --servers 8" in line
    assert "--server_args '--max-model-len 4096' -- --model qwen25 " in line and line.endswith("&")
    assert "--chunk_id" not in line and line.count("--model_path") == 1  # every chunk, one process
    assert "--max_in_flight 2048" in line  # 256 requests a GPU
    assert run_cmd(["bash", "-n", str(tmp_path / "serve_qwen25.sh")]).returncode == 0
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--serve",
                 "--servers", "3"])
    assert r.returncode == 1 and "--num_gpus 8 cannot be split evenly over --servers 3" in r.stderr
