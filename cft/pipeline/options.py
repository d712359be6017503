"""The pipeline's flags (``run_full_pipeline.sh``'s), each declared once, and what ``--demo`` sets.

Values that hold flags of another script (``--qwen3_args "--seed 1"``, ``--teacher_args --overwrite``)
are taken whole, whatever they start with; everything after ``--`` goes to every generation.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cft.common import paths

DEFAULT_MODELS = "qwen-2.5-math-7b qwen3-4b-base"

DESCRIPTION = """\
The whole pipeline: step 0 (decontamination against the shipped evaluation sets), launch commands,
solution generation (here, or printed for the GPUs), merge, filter, critique rows, verl rows, with a
teacher the SFT critiques (step 6), the dataset folder (card and manifest), and a summary.
Interactive at a terminal; --yes (or no terminal) runs unattended with the defaults. Each step's
output is kept in <data_dir>/logs/ (vLLM's own output in a log of its own); a failing step stops
the run and names itself and its log."""

EPILOG = """\
Without --yes at a terminal, the pipeline asks before generating missing chunks: run them here
(one after another), or print the per-GPU commands (and the Slurm command) and stop. Chunk files
already there are checked against this run's flags; generation that is not run (every chunk there)
still leaves its summary, made from the chunk files' metadata."""


@dataclass
class Options:
    data_dir: Path
    input_file: Path | None = None
    models: list[str] = field(default_factory=lambda: DEFAULT_MODELS.split())
    register_model: list[str] = field(default_factory=list)
    model_path: list[str] = field(default_factory=list)  # MODEL=PATH, in the order given
    model_args: list[str] = field(default_factory=list)  # MODEL=FLAGS, in the order given
    chunk_size: int = 1000
    num_samples: int = 8
    gpus: int = 8
    decontaminate: bool = True
    decontaminate_args: list[str] = field(default_factory=list)
    max_samples_per_question: int = 4
    tokenizer: str | None = None
    max_prompt_tokens: int | None = None
    val_size: str | None = None
    license: str | None = None
    teacher_model: str | None = None
    teacher_server_url: str | None = None
    teacher_api_key_env: str | None = None
    teacher_args: list[str] = field(default_factory=list)
    step_labels: bool = False
    completer_model: str | None = None
    completer_server_url: str | None = None
    completer_api_key_env: str | None = None
    step_labels_args: list[str] = field(default_factory=list)
    eval_model: str | None = None
    eval_server_url: str | None = None
    eval_api_key_env: str | None = None
    eval_args: list[str] = field(default_factory=list)
    overwrite: bool = False
    verbose: bool = False
    python: str = sys.executable
    yes: bool = False
    demo: bool = False
    slurm: bool = False
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str = "24:00:00"
    gpus_per_task: int = 1
    cpus_per_task: int = 8
    mem: str = "64G"
    max_concurrent: int = 8
    generate_args: list[str] = field(default_factory=list)  # after --: every generation's flags

    @property
    def root(self) -> paths.DataRoot:
        return paths.DataRoot(self.data_dir)


def _split(text: str) -> list[str]:
    return shlex.split(text)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Wide enough that a flag quoted in a help text stays on one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=118)


def parser(prog: str = "run_full_pipeline.sh") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, usage=f"{prog} [options] [-- flags for generate_solutions.py]",
                                description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=_Formatter)
    a = p.add_argument
    a("--data_dir", type=Path, default=paths.DATA_DIR, metavar="DIR",
      help="data root for every file (default: $CFT_DATA_DIR, else cft_data/ beside the scripts)")
    a("--input_file", type=Path, default=None, metavar="FILE",
      help="problem set (default: <data_dir>/deepscaler_train.json)")
    a("--models", type=str.split, default=DEFAULT_MODELS.split(), metavar='"A B ..."',
      help=f'models to generate with, any number (default: "{DEFAULT_MODELS}")')
    a("--register_model", action="append", default=[], metavar="SPEC",
      help="add a model: name=N,alias=A,weights=HF_ID_OR_PATH,template=T (repeatable; see generate_solutions.py "
           "--help)")
    a("--model_path", action="append", default=[], metavar="M=PATH",
      help="local weights for model M (name or alias; repeatable; default: its registered weights)")
    a("--model_args", action="append", default=[], metavar='M="..."',
      help='more generate_solutions.py flags for model M only (repeatable), e.g. qwen3="--seed 1"; they reach '
           "the generation run here, the per-GPU scripts and the Slurm command")
    a("--qwen25_path", metavar="PATH", help="the same as --model_path qwen25=PATH (qwen-2.5-math-7b)")
    a("--qwen3_path", metavar="PATH", help="the same as --model_path qwen3=PATH (qwen3-4b-base)")
    a("--qwen25_args", metavar='"..."', help='the same as --model_args qwen25="..."')
    a("--qwen3_args", metavar='"..."', help='the same as --model_args qwen3="..."')
    a("--chunk_size", type=int, default=1000, metavar="N", help="problems per chunk file (default: 1000)")
    a("--num_samples", type=int, default=8, metavar="N", help="solutions per problem per model (default: 8)")
    a("--gpus", type=int, default=8, metavar="N", help="GPUs per node in the printed commands (default: 8)")
    a("--no_decontaminate", dest="decontaminate", action="store_false",
      help="skip step 0 (generate from the input as it is)")
    a("--decontaminate_args", type=_split, default=[], metavar='"..."',
      help='more decontaminate.py flags, e.g. "--dedup --against aime24.jsonl"')
    a("--max_samples_per_question", type=int, default=4, metavar="N", help="critique rows per problem (default: 4)")
    a("--tokenizer", metavar="PATH", help="tokenizer of the model verl will train: critique prompt lengths in its "
                                          "tokens (--demo: the demo model's)")
    a("--max_prompt_tokens", type=int, metavar="N",
      help="draw only solutions whose critique prompt fits N tokens, as verl counts them (verl's "
           "data.max_prompt_length; needs --tokenizer; --demo: 1024)")
    a("--val_size", metavar="X", help="problems held out for validation: a fraction below 1 or a count (default: "
                                      "format_critique_data.py's, 0.05; 0: none)")
    a("--license", metavar="ID", help="the dataset's licence on its card, a Hub licence identifier (default: unknown; "
                                      "see build_dataset.py --help)")
    a("--teacher_model", metavar="PATH", help="run step 6 (create_critique_data.py) after step 5 with this teacher in "
                                              "a local vLLM engine; with --teacher_server_url, the name the server "
                                              "serves (--demo: the demo model)")
    a("--teacher_server_url", metavar="URL", help="run step 6 with the teacher behind this OpenAI-compatible server")
    a("--teacher_api_key_env", metavar="NAME", help="environment variable holding that server's API key")
    a("--teacher_args", type=_split, default=[], metavar='"..."',
      help='more create_critique_data.py flags, e.g. "--num_critiques 8 --tensor_parallel_size 8"')
    a("--step_labels", action="store_true",
      help="label each solution's steps after step 3 (label_steps.py): the teacher of --teacher_model or "
           "--teacher_server_url (none: the completions alone) and the completer find the earliest wrong step; "
           "steps 4 and 5 keep lucky right answers out and write the process rows (--demo: on a sample)")
    a("--completer_model", metavar="PATH", help="with --step_labels, one model to continue every solution in a local "
                                                "vLLM engine (default: each solution's generator, its --model_path); "
                                                "with --completer_server_url, the name the server serves")
    a("--completer_server_url", metavar="URL", help="with --step_labels, the completer behind this OpenAI-compatible "
                                                    "server")
    a("--completer_api_key_env", metavar="NAME", help="environment variable holding that server's API key")
    a("--step_labels_args", type=_split, default=[], metavar='"..."',
      help='more label_steps.py flags, e.g. "--rollouts 16 --num_verdicts 8 --completer_tensor_parallel_size 4"')
    a("--eval_model", metavar="PATH", help="at the end, judge the validation rows with this critic "
                                           "(evaluate_critic.py) in a local vLLM engine; with --eval_server_url, the "
                                           "name the server serves (--demo: the demo model); the card cites its report")
    a("--eval_server_url", metavar="URL", help="evaluate the critic behind this OpenAI-compatible server")
    a("--eval_api_key_env", metavar="NAME", help="environment variable holding that server's API key")
    a("--eval_args", type=_split, default=[], metavar='"..."',
      help='more evaluate_critic.py flags, e.g. "--num_samples 4 --tensor_parallel_size 8"')
    a("--overwrite", action="store_true",
      help="replace the files of another run that a rerun with other settings finds: chunk files (generation, "
           "here and in the printed commands) and step 6's work; steps 0 and 2-5 and the dataset folder are "
           "re-derived on every run anyway, and step 6 gets --overwrite by itself when step 5's rows changed")
    a("--verbose", action="store_true", help="show vLLM's own output here (default: only in <data_dir>/logs/)")
    a("--python", default=sys.executable, metavar="PY",
      help="interpreter (default: $PYTHON, else .venv/bin/python, else python3)")
    a("-y", "--yes", action="store_true", help="unattended: run missing chunks here, overwrite derived files")
    a("--demo", action="store_true",
      help="the embedded default: shipped sample + SmolLM2-135M for both models (CPU); step 0 offline, against an "
           "evaluation set of its own (a few of its problems respelled: cft.fixtures.demo_eval)")
    s = p.add_argument_group("Slurm (--slurm: every step a job, chained with --dependency=afterok)")
    s.add_argument("--slurm", action="store_true",
                   help="submit the pipeline to Slurm instead of running it here: step 0, one job array per model "
                        "(its missing chunks), steps 2-5, step 6 with a teacher, the dataset folder; prints the job "
                        "ids, and `python -m cft.pipeline slurm-status <data_dir>` follows them")
    s.add_argument("--partition", metavar="P", help="Slurm partition of every job")
    s.add_argument("--account", metavar="A", help="Slurm account to charge")
    s.add_argument("--qos", metavar="Q", help="Slurm quality of service")
    s.add_argument("--time", default="24:00:00", metavar="T", help="time limit of every job (default: 24:00:00)")
    s.add_argument("--gpus_per_task", type=int, default=1, metavar="N",
                   help="GPUs of each generation task (one chunk) and of step 6's job with a local teacher "
                        "(default: 1)")
    s.add_argument("--cpus_per_task", type=int, default=8, metavar="N", help="CPUs of every job (default: 8)")
    s.add_argument("--mem", default="64G", metavar="M", help="memory of every job (default: 64G)")
    s.add_argument("--max_concurrent", type=int, default=8, metavar="N",
                   help="array tasks of one model running at once (default: 8)")
    return p


def _value_flags(p: argparse.ArgumentParser) -> set[str]:
    """The flags that take one value (switches and --help take none: their nargs is 0)."""
    return {s for action in p._actions if action.nargs is None for s in action.option_strings}


def parse(argv: list[str], prog: str = "run_full_pipeline.sh") -> Options:
    """``run_full_pipeline.sh``'s command line (without the script) as Options."""
    argv = list(argv)
    generate_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, generate_args = argv[:cut], argv[cut + 1:]
    p = parser(prog)
    takes_value = _value_flags(p)
    joined: list[str] = []
    i = 0
    while i < len(argv):  # FLAG VALUE -> FLAG=VALUE: a value may start with '-' (flags for another script)
        if argv[i] in takes_value and i + 1 < len(argv):
            joined.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            joined.append(argv[i])
            i += 1
    ns = p.parse_args(joined)
    o = Options(**{k: v for k, v in vars(ns).items() if k not in
                   ("qwen25_path", "qwen3_path", "qwen25_args", "qwen3_args")}, generate_args=generate_args)
    for alias in ("qwen25", "qwen3"):  # the seed's spellings, in the order the flags came
        if getattr(ns, f"{alias}_path"):
            o.model_path.append(f"{alias}={getattr(ns, f'{alias}_path')}")
        if getattr(ns, f"{alias}_args"):
            o.model_args.append(f"{alias}={getattr(ns, f'{alias}_args')}")
    return o


def apply_demo(o: Options, demo_model: Path) -> None:
    """What ``--demo`` sets, beneath the flags given: the demo model for both models (and as the teacher,
    and the tokenizer of the prompt budget), small chunks, the demo's sampling."""
    model = str(demo_model)
    o.model_path[:0] = [f"qwen25={model}", f"qwen3={model}"]
    # the budget of the README's verl command (data.max_prompt_length=1024), in the demo model's tokens
    o.tokenizer = o.tokenizer or model
    o.max_prompt_tokens = o.max_prompt_tokens or 1024
    o.chunk_size = 16
    o.gpus = 2
    # a raw 3-shot prompt with boxed answers; the two models differ in temperature and seed.
    # float32 and eager mode: this CPU has no bf16 units (bf16 decodes 2.5x slower) and
    # torch.compile adds ~2 min to each engine start for no decode speed-up (measured).
    o.generate_args[:0] = ["--prompt_template", "fewshot-boxed", "--max_tokens", "40", "--max_model_len", "1024",
                           "--dtype", "float32", "--enforce_eager"]
    o.model_args[:0] = ["qwen25=--temperature 0.7 --seed 0", "qwen3=--temperature 1.0 --seed 1"]
    # step 6 with the same model as the teacher, on the first 12 rows of each split: two worked examples show
    # it the verdict format (without them SmolLM2-135M writes none), short critiques, the same engine settings
    # the report card of the demo model as a critic, on the first 12 validation rows, short replies
    if not o.eval_server_url:
        o.eval_model = o.eval_model or model
        o.eval_args[:0] = ["--max_cases", "12", "--max_tokens", "96", "--max_model_len", "2048", "--dtype",
                           "float32", "--enforce_eager"]
    # the step labels on a sample of 6 problems, by the completions alone: SmolLM2-135M writes no step verdict
    # (measured: none of 48 parsed); its one-paragraph few-shot solutions cut into sentences; short continuations
    o.step_labels = True
    o.step_labels_args[:0] = ["--max_problems", "6", "--no_teacher", "--splitter", "sentences", "--min_step_chars", "4",
                              "--rollouts", "4", "--completer_max_tokens", "40", "--completer_max_model_len", "1024",
                              "--completer_dtype", "float32", "--completer_enforce_eager"]
    if not o.teacher_server_url:
        o.teacher_model = o.teacher_model or model
        o.teacher_args[:0] = ["--max_rows", "12", "--chunk_size", "8", "--format_examples", "--max_tokens", "96",
                              "--temperature", "0.8", "--max_model_len", "2048", "--dtype", "float32",
                              "--enforce_eager"]
