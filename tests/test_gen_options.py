"""Step 1's options are defined once (cft/generate/options.py): flags, RunConfig, metadata and SamplingParams
follow from the table; and the plan fits the run to the model's own context before any engine starts."""

import argparse
import dataclasses
from pathlib import Path

import orjson
import pytest
from conftest import gen_cmd, run_cmd

from cft.generate.options import SamplingOptions, add_arguments, opt
from cft.generate.plan import RunConfig

OLD_DEFAULTS = {"input_file": None, "output_dir": None, "model_path": None, "chunk_size": 1000, "chunk_id": None,
                "num_workers": 1, "worker_id": None, "num_samples": 8, "temperature": 0.7, "top_p": 0.95,
                "max_tokens": None, "seed": 0, "max_model_len": None, "tensor_parallel_size": 1,
                "gpu_memory_utilization": 0.9, "dtype": "auto", "prompt_template": None, "enforce_eager": False,
                "overwrite": False, "dry_run": False}


def parse(argv, **kw):
    p = argparse.ArgumentParser()
    add_arguments(p, **kw)
    return p.parse_args(["--model", "qwen25", *argv])


def test_every_flag_keeps_its_name_and_default():
    args = vars(parse([]))
    for name, default in OLD_DEFAULTS.items():
        assert name in args
        if name != "input_file":
            assert args[name] == default, name


def test_one_definition_feeds_config_metadata_and_sampling():
    from cft.inference import Sampling

    config = RunConfig.from_args(parse(["--temperature", "0.3", "--num_samples", "5", "--seed", "7"]))
    assert (config.temperature, config.num_samples, config.max_tokens) == (0.3, 5, 3072)  # the model's default
    assert config.sampling() == {"n": 5, "temperature": 0.3, "top_p": 0.95, "max_tokens": 3072, "seed": 7,
                                 "stop": ["<|im_end|>", "<|endoftext|>"]}
    assert config.request_sampling(config.stops(), seed=11) == Sampling(
        n=5, temperature=0.3, top_p=0.95, max_tokens=3072, stop=("<|im_end|>", "<|endoftext|>"), seed=11)
    assert config.backend.engine_kwargs() == {"tensor_parallel_size": 1, "gpu_memory_utilization": 0.9,
                                              "dtype": "auto", "enforce_eager": False}
    assert config.backend.max_in_flight is None and config.backend.kind == "local"  # in flight: from the engine
    assert config.backend.seed == 7 and config.backend.server_seeds  # each problem's request seeded on a server


def test_a_new_sampling_setting_is_one_field():
    """One field, and both backends get it: vLLM's SamplingParams by name (local), the request body (server)."""
    from vllm import SamplingParams

    @dataclasses.dataclass(kw_only=True)
    class WithTopK(SamplingOptions):
        top_k: int = opt(-1, "sample from the k likeliest tokens", key="top_k", request=True)

    args = parse(["--top_k", "20"], sampling_cls=WithTopK)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(WithTopK)}
    options = WithTopK(**values)
    assert options.sampling_record([])["top_k"] == 20
    sampling = options.request_sampling(["x"])
    assert sampling.extra == {"top_k": 20}
    assert SamplingParams(n=sampling.n, **sampling.extra).top_k == 20  # as cft.inference.local passes it


@pytest.mark.parametrize("flags, message", [
    (["--max_in_flight", "0"], "--max_in_flight must be at least 1, got 0"),
    (["--server_url", "127.0.0.1:8000"], "not an http(s) server URL"),
    (["--api_key_env", "CFT_TEST_NO_SUCH_KEY"], "--api_key_env is for a server"),
    (["--server_url", "http://127.0.0.1:9", "--api_key_env", "CFT_TEST_NO_SUCH_KEY"],
     "$CFT_TEST_NO_SUCH_KEY is not set"),
    (["--server_url", "http://127.0.0.1:9", "--server_timeout_s", "0"], "--server_timeout_s must be positive"),
])
def test_backend_flags_are_checked_with_the_rows(gen_input, tmp_path, flags, message):
    """Before the model's config (a missing model here) and before any server is contacted."""
    r = run_cmd(gen_cmd(tmp_path / "no_such_model", gen_input, tmp_path / "out", *flags))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="session")
def short_model(tmp_path_factory):
    """The tiny model with a 256-token context in its config."""
    from cft.fixtures.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_256"), max_position_embeddings=256)


def dry(short_model, gen_input, tmp_path, *flags):
    cmd = [c for c in gen_cmd(short_model, gen_input, tmp_path / "out", *flags, "--dry_run")]
    i = cmd.index("--max_model_len")  # gen_cmd passes 512; these tests choose their own
    del cmd[i:i + 2]
    return run_cmd(cmd)


def test_max_model_len_defaults_to_the_models_own_limit(short_model, gen_input, tmp_path):
    r = dry(short_model, gen_input, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "max_model_len 256, max_tokens 48" in r.stdout  # not the registry's 4096


@pytest.mark.parametrize("flags, message", [
    (["--max_model_len", "512"], "--max_model_len 512 exceeds {model}'s context (max_position_embeddings 256"),
    (["--max_tokens", "300"], "--max_tokens 300 leaves no room for the prompt in max_model_len 256"),
])
def test_what_cannot_fit_is_refused_in_one_line(short_model, gen_input, tmp_path, flags, message):
    r = dry(short_model, gen_input, tmp_path, *flags)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message.format(model=short_model) in lines[0], r.stderr


def test_models_default_max_tokens_that_cannot_fit_is_refused(short_model, gen_input, tmp_path):
    cmd = gen_cmd(short_model, gen_input, tmp_path / "out", "--dry_run", "--max_model_len", "256")
    i = cmd.index("--max_tokens")
    del cmd[i:i + 2]
    r = run_cmd(cmd)
    assert r.returncode == 1 and "the model's default max_tokens 3072 leaves no room" in r.stderr


def test_a_prompt_that_fills_the_context_is_named(short_model, tmp_path):
    src = tmp_path / "in.json"
    src.write_bytes(orjson.dumps([{"problem": "What is 1 + 1?", "answer": "2"},
                                  {"problem": "What is 1 + 1? " * 80, "answer": "2"}]))
    r = dry(short_model, src, tmp_path)
    assert r.returncode == 1 and f"{src}: row 1: the prompt has" in r.stderr, r.stderr
    assert not Path(tmp_path / "out").exists()


def test_without_the_hub_a_dry_run_makes_no_lookup_and_a_run_fails_in_one_line(gen_input, tmp_path):
    """A hub id on a machine without the Hub (a login node): the dry run checks what it can and says what it did
    not; the run stops in one line, with none of huggingface_hub's retry lines."""
    import os

    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}  # nothing cached
    cmd = [c for c in gen_cmd("Qwen/Qwen2.5-Math-7B", gen_input, tmp_path / "out")]
    dry = run_cmd(cmd + ["--dry_run"], env=env)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: Qwen/Qwen2.5-Math-7B is neither a local folder nor in the Hub cache" in dry.stdout
    run = run_cmd(cmd, env=env)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert "cannot load the config of 'Qwen/Qwen2.5-Math-7B': not a local folder, not in the Hub cache" in lines[0]
    assert "Retry" not in dry.stdout + dry.stderr + run.stdout + run.stderr
    typo = run_cmd(gen_cmd(tmp_path / "no_such_model", gen_input, tmp_path / "out", "--dry_run"), env=env)
    assert typo.returncode == 1 and "no such folder" in typo.stderr
