"""The pipeline's steps as command lines: each step is its script (the public CLI), run with the
arguments this module gives it, every file named by ``cft.common.paths.DataRoot``.

``Run`` is one run's resolved state: the options, its models (each resolved once, here: the registry's
name and alias, its weights and its own flags), and the file generation reads (the problem set, or
step 0's output once step 0 removed anything).
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from cft.common import paths
from cft.common.errors import CftError
from cft.critic.split import val_path
from cft.pipeline.options import Options
from cft.records.models import ModelSpec, get_model, register_from_args


@dataclass
class Model:
    spec: ModelSpec
    path: str | None = None  # --model_path: weights other than the registry's
    args: list[str] = field(default_factory=list)  # its own generate_solutions.py flags, after the run's

    @property
    def alias(self) -> str:
        return self.spec.alias

    @property
    def name(self) -> str:
        return self.spec.name


def resolve_models(o: Options) -> list[Model]:
    """The run's models, in --models' order, each with its --model_path and --model_args (given by name or
    alias); an unknown model is an error naming it."""
    register_from_args(argparse.Namespace(register_model=o.register_model))
    models = {}
    for name in o.models:
        spec = get_model(name)
        models.setdefault(spec.alias, Model(spec))
    for flag, items in (("--model_path", o.model_path), ("--model_args", o.model_args)):
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise CftError(f"{flag} {item!r}: expected MODEL=VALUE")
            spec = get_model(name)
            model = models.get(spec.alias)
            if model is None:
                continue  # a model of the seed's flags (--qwen25_path) that this run does not generate with
            if flag == "--model_path":
                model.path = value
            else:
                model.args += shlex.split(value)
    return list(models.values())


@dataclass
class Run:
    o: Options
    models: list[Model]
    gen_input: Path  # what generation (and step 3's --original_file) reads

    @property
    def root(self) -> paths.DataRoot:
        return self.o.root

    def script(self, name: str) -> list[str]:
        return [self.o.python, str(paths.scripts_dir() / name)]

    @property
    def register(self) -> list[str]:
        return [flag for spec in self.o.register_model for flag in ("--register_model", spec)]

    @property
    def generate_args(self) -> list[str]:
        """Every generation's flags: those after ``--`` (and --overwrite)."""
        return self.o.generate_args + (["--overwrite"] if self.o.overwrite else [])

    # --- step 0 -----------------------------------------------------------------------------------------
    def decontaminate(self, input_file: Path) -> list[str]:
        return [*self.script("decontaminate.py"), "--input_file", str(input_file),
                "--output_file", str(self.root.clean_file), "--overwrite", *self.o.decontaminate_args]

    # --- step 1 -----------------------------------------------------------------------------------------
    def commands(self, fmt: str = "shell", slurm: list[str] = ()) -> list[str]:
        """``generate_commands.py`` with every flag of this run's generation: the per-GPU scripts written to the
        data root (shell), or the Slurm scripts (``fmt="slurm"``: the command the pipeline prints; ``slurm``:
        more of its flags, which replace ``--slurm_dir``)."""
        cmd = [*self.script("generate_commands.py"), "--input_file", str(self.gen_input),
               "--chunk_size", str(self.o.chunk_size), "--num_samples", str(self.o.num_samples),
               "--num_gpus", str(self.o.gpus), "--models", *[m.alias for m in self.models],
               "--output_dir", str(self.root.root), "--log_dir", str(self.root.log_dir), "--python", self.o.python,
               *[f for m in self.models if m.path for f in ("--model_path", f"{m.alias}={m.path}")],
               *self.register, f"--extra={shlex.join(self.generate_args)}",
               *[f"--model_args={m.alias}={shlex.join(m.args)}" for m in self.models if m.args]]
        if fmt == "shell":
            return [*cmd, "--scripts_dir", str(self.root.root)]
        return [*cmd, "--format", fmt, *(slurm or ["--slurm_dir", str(self.root.slurm_dir)])]

    def generate(self, m: Model) -> list[str]:
        """``generate_solutions.py`` for one model, as the per-GPU scripts run it but for the chunk ids."""
        return [*self.script("generate_solutions.py"), "--model", m.alias,
                *(["--model_path", m.path] if m.path else []), *self.register,
                "--input_file", str(self.gen_input), "--output_dir", str(self.root.solutions_dir(m.alias)),
                "--chunk_size", str(self.o.chunk_size), "--num_samples", str(self.o.num_samples),
                *self.generate_args, *m.args]

    def generate_here(self, m: Model) -> list[str]:
        return [*self.generate(m), "--engine_log", str(self.root.engine_log(f"generate_{m.alias}")),
                *(["--verbose"] if self.o.verbose else [])]

    # --- steps 2-5 --------------------------------------------------------------------------------------
    def merge(self) -> list[str]:
        return [*self.script("merge_solutions.py"),
                "--chunk_dir", *[f"{m.alias}={self.root.solutions_dir(m.alias)}" for m in self.models],
                *self.register, "--output_dir", str(self.root.root), "--input_file", str(self.gen_input),
                "--overwrite"]

    def filter(self) -> list[str]:
        return [*self.script("filter_solutions.py"),
                "--solutions", *[f"{m.alias}={self.root.merged_file(m.alias)}" for m in self.models],
                "--original_file", str(self.gen_input), "--output_file", str(self.root.filtered_file),
                "--analyze", "--overwrite"]

    def step_labels(self, overwrite: bool) -> list[str]:
        """``label_steps.py`` on step 3's file: the teacher of step 6 (none: ``--no_teacher``), each solution's
        generator as its completer (its ``--model_path``, the generation's ``--prompt_template``) unless a
        completer is named; its work chunks resume."""
        o = self.o
        teacher = [] if "--no_teacher" in o.step_labels_args else [
            *(["--teacher_model", o.teacher_model] if o.teacher_model else []),
            *(["--teacher_server_url", o.teacher_server_url] if o.teacher_server_url else []),
            *(["--teacher_api_key_env", o.teacher_api_key_env] if o.teacher_api_key_env else []),
            "--teacher_engine_log", str(self.root.engine_log("step_labels_teacher"))] if self.teacher else \
            ["--no_teacher"]
        template = flag_value(self.generate_args, "--prompt_template")
        return [*self.script("label_steps.py"), "--filtered_file", str(self.root.filtered_file),
                "--labels_file", str(self.root.step_labels_file), *self.register, *teacher,
                *[f for m in self.models if m.path for f in ("--model_path", f"{m.alias}={m.path}")],
                *(["--completer_template", template] if template else []),
                *(["--completer_model", o.completer_model] if o.completer_model else []),
                *(["--completer_server_url", o.completer_server_url] if o.completer_server_url else []),
                *(["--completer_api_key_env", o.completer_api_key_env] if o.completer_api_key_env else []),
                "--completer_engine_log", str(self.root.engine_log("step_labels")),
                *(["--verbose"] if o.verbose else []), *(["--overwrite"] if overwrite else []), *o.step_labels_args]

    def critique(self) -> list[str]:
        o = self.o
        return [*self.script("generate_critique_data.py"), "--filtered_file", str(self.root.filtered_file),
                "--output_file", str(self.root.critique_file),
                "--max_samples_per_question", str(o.max_samples_per_question), "--analyze", "--overwrite",
                *self.register, *(["--tokenizer", o.tokenizer] if o.tokenizer else []),
                *(["--max_prompt_tokens", str(o.max_prompt_tokens)] if o.max_prompt_tokens else []),
                *(["--step_labels", str(self.root.step_labels_file)] if o.step_labels else [])]

    def format(self) -> list[str]:
        return [*self.script("format_critique_data.py"), "--critique_file", str(self.root.critique_file),
                "--output_file", str(self.root.formatted_file), "--overwrite",
                *(["--val_size", self.o.val_size] if self.o.val_size else []),
                *(["--step_labels", str(self.root.step_labels_file), "--process_file", str(self.root.process_file)]
                  if self.o.step_labels else [])]

    def step5_files(self) -> list[Path]:
        """What step 6 reads of step 5's outputs: the training rows and their held-out twin."""
        return [self.root.formatted_file, val_path(self.root.formatted_file)]

    # --- step 6 and the dataset folder ------------------------------------------------------------------
    @property
    def teacher(self) -> bool:
        return bool(self.o.teacher_model or self.o.teacher_server_url)

    def sft(self, overwrite: bool) -> list[str]:
        o = self.o
        return [*self.script("create_critique_data.py"), "--formatted_file", str(self.root.formatted_file),
                "--output_file", str(self.root.sft_file), "--engine_log", str(self.root.engine_log("sft")),
                *(["--teacher_model", o.teacher_model] if o.teacher_model else []),
                *(["--server_url", o.teacher_server_url] if o.teacher_server_url else []),
                *(["--api_key_env", o.teacher_api_key_env] if o.teacher_api_key_env else []),
                *(["--verbose"] if o.verbose else []), *(["--overwrite"] if overwrite else []), *o.teacher_args]

    # --- the critic's report card, on the validation rows --------------------------------------------
    @property
    def evaluates(self) -> bool:
        return bool(self.o.eval_model or self.o.eval_server_url)

    def evaluate(self, overwrite: bool) -> list[str]:
        o = self.o
        return [*self.script("evaluate_critic.py"), "--input_file", str(val_path(self.root.formatted_file)),
                "--output_dir", str(self.root.root / "critic_eval"),
                "--engine_log", str(self.root.engine_log("evaluate")),
                *(["--model", o.eval_model] if o.eval_model else []),
                *(["--server_url", o.eval_server_url] if o.eval_server_url else []),
                *(["--api_key_env", o.eval_api_key_env] if o.eval_api_key_env else []),
                *(["--verbose"] if o.verbose else []), *(["--overwrite"] if overwrite else []), *o.eval_args]

    def dataset(self) -> list[str]:
        return [*self.script("build_dataset.py"), "--rl_file", str(self.root.formatted_file.with_suffix(".parquet")),
                *(["--sft_file", str(self.root.sft_file.with_suffix(".parquet"))] if self.teacher else []),
                *(["--process_file", str(self.root.process_file.with_suffix(".parquet"))] if self.o.step_labels
                  else []),
                "--summaries", str(self.root.log_dir), "--output_dir", str(self.root.dataset_dir), "--overwrite",
                *(["--license", self.o.license] if self.o.license else [])]

    def step_names(self) -> list[str]:
        """The steps whose summaries this run writes, in order."""
        return ["decontaminate", *[f"generate_{m.alias}" for m in self.models], "merge", "filter",
                *(["step_labels"] if self.o.step_labels else []), "critique", "format",
                *(["sft"] if self.teacher else []), *(["evaluate"] if self.evaluates else []), "dataset"]


def flag_value(args: list[str], flag: str) -> str | None:
    """The last value of ``flag`` in a command line's ``args`` (``--flag V`` or ``--flag=V``), None if absent."""
    value = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value
