#!/usr/bin/env python3
"""Step 1 launch: print the per-GPU commands for each model, or write Slurm array scripts.

Shell (default): for each model, a header line naming it, then one line per GPU:

    python generate_commands.py > commands.txt
    grep -A 8 "qwen-2.5-math-7b" commands.txt > run_qwen25.sh && bash run_qwen25.sh

or, the same blocks written as one script per model (run_<alias>.sh):

    python generate_commands.py --scripts_dir cft_data && bash cft_data/run_qwen25.sh

Flags for generate_solutions.py go in --extra (every model) and --model_args ALIAS="..." (one model,
after --extra); they reach every printed line and every script written.

Slurm (--format slurm): writes one sbatch job-array script per model, one
chunk per array task; resubmitting the array skips the finished chunks.

--serve: the node's GPUs serve the model through vLLM servers started by the
command (serve_and_generate.sh: one server with --data-parallel-size, or
--servers of them), and one generation process per node sends them its
requests. Shell: one line per model for the node; Slurm: one array task per
node (--nodes), each node through its own servers.
"""

import shlex
import sys
from pathlib import Path

from cft.common import cli, paths
from cft.common.errors import CftError
from cft.common.jsonio import atomic_files
from cft.generate.commands import base_command, serve_block, serve_command, shell_block, slurm_script
from cft.generate.options import default_of
from cft.records.chunks import num_chunks
from cft.records.models import DEFAULT_MODELS, add_register_flag, alias_map, get_model, register_from_args
from cft.records.problems import load_rows

SCRIPTS = Path(__file__).resolve().parent  # generate_solutions.py sits beside this script
# --serve: requests kept in flight per GPU behind the servers: 256 x 8 samples is twice the 1,024 sequence slots of
# vLLM's default on an H100, so a server always has work queued while its requests' longest samples finish
REQUESTS_PER_GPU = 256


def main():
    p = cli.parser(__doc__)
    p.add_argument("--input_file", default=str(paths.DEFAULT.problem_set()),
                   help="problem set (JSON list); default: step 0's output where step 0 has run, else the problem set")
    p.add_argument("--chunk_size", type=int, default=default_of("chunk_size"), help="problems per chunk")
    p.add_argument("--num_samples", type=int, default=default_of("num_samples"), help="solutions per problem")
    p.add_argument("--num_gpus", type=int, default=8, help="GPUs per node (shell format, and --serve)")
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                   help="models to write commands for (built in, or added with --register_model)")
    p.add_argument("--output_dir", default=str(paths.DATA_DIR),
                   help="data root: chunk files go to <output_dir>/solutions_<alias>")
    p.add_argument("--model_path", action="append", default=[], metavar="ALIAS=PATH",
                   help="local weights for a model, e.g. qwen25=/models/Qwen2.5-Math-7B (repeatable)")
    p.add_argument("--extra", default="", help="more flags for generate_solutions.py, as one string")
    p.add_argument("--model_args", action="append", default=[], metavar='ALIAS="FLAGS"',
                   help="more generate_solutions.py flags for one model, after --extra, e.g. "
                        "qwen3=\"--temperature 1.0 --seed 1\" (repeatable)")
    p.add_argument("--python", default=sys.executable, help="interpreter on the GPU machines")
    p.add_argument("--log_dir", default=str(paths.LOG_DIR), help="per-GPU / per-task logs")
    p.add_argument("--format", choices=["shell", "slurm"], default="shell",
                   help="shell: print the per-GPU (or, with --serve, per-node) command lines; slurm: write one "
                        "sbatch job-array script per model to --slurm_dir")
    p.add_argument("--scripts_dir", default=None, metavar="DIR",
                   help="shell format: also write each model's block to DIR/run_<alias>.sh (what the grep recipe "
                        "cuts out)")
    p.add_argument("--slurm_dir", default=str(paths.DEFAULT.slurm_dir), help="where sbatch scripts go")
    p.add_argument("--max_concurrent", type=int, default=8, help="Slurm: array tasks running at once")
    p.add_argument("--partition", default=None, help="Slurm partition")
    p.add_argument("--account", default=None, help="Slurm account to charge")
    p.add_argument("--qos", default=None, help="Slurm quality of service")
    p.add_argument("--gpus_per_task", type=int, default=1,
                   help="Slurm: GPUs per chunk task (--gres=gpu:N; a --serve task has the node's --num_gpus)")
    p.add_argument("--num_chunks", type=int, default=None, metavar="N",
                   help="Slurm: array tasks 0 to N-1 instead of the chunks --input_file makes, for an input not "
                        "written yet (the pipeline's step 0 job writes it): the most chunks it can have; the tasks "
                        "past its last chunk do nothing (generate_solutions.py --skip_past_end)")
    p.add_argument("--time", default="24:00:00", help="Slurm time limit per chunk")
    p.add_argument("--cpus_per_task", type=int, default=8, help="Slurm CPUs per task (grading workers)")
    p.add_argument("--mem", default="64G", help="Slurm memory per task")
    p.add_argument("--serve", action="store_true",
                   help="start vLLM servers on each node's GPUs and point one generation process at them, instead "
                        "of one engine per GPU (serve_and_generate.sh)")
    p.add_argument("--servers", type=int, default=1,
                   help="with --serve: servers per node, sharing its GPUs as --data-parallel-size (1: one server on "
                        "every GPU; --num_gpus: one per GPU)")
    p.add_argument("--nodes", type=int, default=1, help="with --serve and --format slurm: nodes (array tasks)")
    p.add_argument("--server_port", type=int, default=8000, help="with --serve: the first server's port")
    p.add_argument("--server_args", default="", help="with --serve: more flags for every vLLM server, as one string")
    p.add_argument("--grace_s", type=int, default=120,
                   help="Slurm: seconds between SIGTERM and SIGKILL (set it to the partition's GraceTime); "
                        "SIGTERM comes this long before the time limit too, and the chunk in flight is finished "
                        "if it can end in time")
    add_register_flag(p)
    args = p.parse_args()

    registered = register_from_args(args)
    for flag, value in (("--num_gpus", args.num_gpus), ("--servers", args.servers), ("--nodes", args.nodes)):
        if value < 1:
            raise CftError(f"{flag} must be at least 1, got {value}")
    if args.serve and args.num_gpus % args.servers:
        raise CftError(f"--num_gpus {args.num_gpus} cannot be split evenly over --servers {args.servers}")
    if args.scripts_dir and args.format != "shell":
        raise CftError("--scripts_dir writes the shell format's blocks; Slurm scripts go to --slurm_dir")
    if args.num_chunks is not None and args.format != "slurm":
        raise CftError("--num_chunks sizes the Slurm arrays (--format slurm)")
    total = args.num_chunks or num_chunks(len(load_rows(args.input_file)), args.chunk_size)
    model_paths = alias_map(args.model_path, "--model_path")
    model_args = alias_map(args.model_args, "--model_args")
    unknown = [alias for alias in model_args if alias not in {get_model(m).alias for m in args.models}]
    if unknown:
        raise CftError(f"--model_args {unknown[0]}: not among --models {' '.join(args.models)}")
    register = [item for spec, item in zip(registered, args.register_model) if spec.name in args.models
                or spec.alias in args.models]  # the workers must know the models they run
    out, scripts = [], []
    for name in args.models:
        spec = get_model(name)
        flags = {"input_file": Path(args.input_file).resolve(),
                 "output_dir": paths.solutions_dir(spec.alias, Path(args.output_dir).resolve()),
                 "chunk_size": args.chunk_size, "num_samples": args.num_samples,
                 "model_path": None if args.serve else model_paths.get(spec.alias),
                 "max_in_flight": max(args.chunk_size, REQUESTS_PER_GPU * args.num_gpus) if args.serve else None,
                 "log_dir": Path(args.log_dir).resolve()}  # engine logs: one per process there
        extra = [flag for item in register for flag in ("--register_model", item)] + \
            shlex.split(args.extra) + shlex.split(model_args.get(spec.alias, "")) + \
            (["--skip_past_end"] if args.num_chunks is not None else [])
        cmd = base_command(args.python, SCRIPTS, spec, flags, extra)
        log_dir = Path(args.log_dir).resolve()
        if args.serve:
            cmd = serve_command(SCRIPTS, args.python, model_paths.get(spec.alias) or spec.weights, args.num_gpus,
                                args.servers, args.server_port, args.server_args, log_dir / "servers", cmd[2:])
        if args.format == "shell":
            if args.serve:
                block = serve_block(spec, cmd, total, args.chunk_size, args.num_gpus, args.servers, log_dir)
            else:
                block = shell_block(spec, cmd, total, args.chunk_size, args.num_gpus, log_dir)
            if any(spec.name in line for line in block[1:]):
                print(f"warning: a {spec.alias} command line contains {spec.name!r} (in a path?): "
                      f"'grep -A {len(block) - 1} {spec.name}' will cut more than its block", file=sys.stderr)
            out += block
            scripts.append((spec.alias, block))
        else:
            script = paths.slurm_script(spec.alias, args.slurm_dir)
            script.parent.mkdir(parents=True, exist_ok=True)
            (log_dir / "slurm").mkdir(parents=True, exist_ok=True)  # Slurm does not create --output folders
            nodes = args.nodes if args.serve else None
            script.write_text(slurm_script(spec, cmd, total, SCRIPTS, log_dir / "slurm", args.max_concurrent,
                                           args.partition, args.time, args.cpus_per_task, args.mem, args.grace_s,
                                           nodes, args.num_gpus if args.serve else args.gpus_per_task,
                                           args.account, args.qos))
            script.chmod(0o755)
            out.append(f"# {spec.name}: {nodes or total} array tasks -> sbatch {script}")
    if args.scripts_dir:  # each model's block, exactly the lines the grep recipe cuts out; all or none
        with atomic_files() as files:
            for alias, block in scripts:
                files.open(paths.run_script(alias, args.scripts_dir)).write(("\n".join(block) + "\n").encode())
    print("\n".join(out))


if __name__ == "__main__":
    cli.run(main)
