"""generate_commands.py: the grep recipe yields a runnable per-GPU script; Slurm scripts parse."""

import os
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


def test_slurm_scripts_for_an_input_not_written_yet(tmp_path):
    """--num_chunks sizes the arrays for an input step 0 has yet to write (the tasks past its end do nothing:
    --skip_past_end); --account, --qos and --gpus_per_task reach the #SBATCH lines."""
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(tmp_path / "later.json"),
                 "--format", "slurm", "--slurm_dir", str(tmp_path / "slurm"), "--log_dir", str(tmp_path / "logs"),
                 "--models", "qwen25", "--num_chunks", "5", "--account", "math", "--qos", "high",
                 "--gpus_per_task", "2"])
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "slurm" / "generate_qwen25.sbatch").read_text()
    for line in ("--array=0-4%8", "--account=math", "--qos=high", "--gres=gpu:2"):
        assert f"#SBATCH {line}\n" in text
    assert "--skip_past_end" in text and "--partition" not in text
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(tmp_path / "later.json"),
                 "--num_chunks", "5"])
    assert r.returncode == 1 and r.stderr.strip() == "error: --num_chunks sizes the Slurm arrays (--format slurm)"


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


def test_scripts_dir_writes_what_the_grep_recipe_cuts(tmp_path):
    """--scripts_dir writes each model's block as run_<alias>.sh, byte for byte the grep recipe's; --extra reaches
    every model's lines, --model_args one model's, after --extra (so they win)."""
    inp = make_input(tmp_path, 20)
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--chunk_size", "5",
                 "--num_gpus", "2", "--output_dir", str(tmp_path), "--scripts_dir", str(tmp_path / "scripts"),
                 "--extra", "--max_tokens 40 --temperature 0.5",
                 "--model_args", "qwen3=--temperature 1.0 --seed 1", "--model_args", "qwen25=--top_p 0.9"])
    assert r.returncode == 0, r.stderr
    (tmp_path / "commands.txt").write_text(r.stdout)
    for name, alias, own in (("qwen-2.5-math-7b", "qwen25", "--top_p 0.9"),
                             ("qwen3-4b-base", "qwen3", "--temperature 1.0 --seed 1")):
        cut = subprocess.run(f'grep -A 2 "{name}" commands.txt', shell=True, cwd=tmp_path, check=True,
                             capture_output=True, text=True).stdout
        script = tmp_path / "scripts" / f"run_{alias}.sh"
        assert script.read_text() == cut and run_cmd(["bash", "-n", str(script)]).returncode == 0
        for line in cut.splitlines()[1:]:
            assert f"--max_tokens 40 --temperature 0.5 {own} --chunk_id" in line
    assert "--seed 1" not in (tmp_path / "scripts" / "run_qwen25.sh").read_text()
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--models", "qwen3",
                 "--model_args", "qwen25=--seed 1"])
    assert r.returncode == 1 and "--model_args qwen25: not among --models qwen3" in r.stderr
    r = run_cmd([sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--format", "slurm",
                 "--scripts_dir", str(tmp_path)])
    assert r.returncode == 1 and "--scripts_dir" in r.stderr


def test_slurm_and_serve_commands_carry_each_models_flags(tmp_path):
    inp = make_input(tmp_path, 2500)
    base = [sys.executable, str(ROOT / "generate_commands.py"), "--input_file", str(inp), "--extra", "--max_tokens 64",
            "--model_args", "qwen3=--temperature 1.0 --seed 1"]
    r = run_cmd([*base, "--format", "slurm", "--slurm_dir", str(tmp_path / "slurm"), "--log_dir", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    qwen3 = (tmp_path / "slurm" / "generate_qwen3.sbatch").read_text()
    qwen25 = (tmp_path / "slurm" / "generate_qwen25.sbatch").read_text()
    assert "--max_tokens 64 --temperature 1.0 --seed 1 --term_grace_s" in qwen3
    assert "--max_tokens 64 --term_grace_s" in qwen25 and "--seed" not in qwen25
    r = run_cmd([*base, "--serve"])
    assert r.returncode == 0, r.stderr
    serve = [line for line in r.stdout.splitlines() if "serve_and_generate.sh" in line]
    assert len(serve) == 2 and "--temperature 1.0 --seed 1" in serve[1] and "--seed" not in serve[0]


def test_default_input_follows_step_0(tmp_path):
    """Once step 0 has written its output, the commands read it, not the raw problem set (the README's GPU recipe
    runs decontaminate.py, then generate_commands.py)."""
    (tmp_path / "deepscaler_train.json").write_bytes(orjson.dumps(arithmetic_rows(4)))
    env = {**os.environ, "CFT_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, str(ROOT / "generate_commands.py"), "--models", "qwen3", "--num_gpus", "1"]
    r = run_cmd(cmd, env=env)
    assert r.returncode == 0, r.stderr
    assert f"--input_file {tmp_path / 'deepscaler_train.json'} " in r.stdout
    (tmp_path / "deepscaler_train_clean.json").write_bytes(orjson.dumps(arithmetic_rows(3)))  # step 0's output
    r = run_cmd(cmd, env=env)
    assert r.returncode == 0 and f"--input_file {tmp_path / 'deepscaler_train_clean.json'} " in r.stdout
