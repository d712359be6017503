"""One pipeline run, in order: the demo model (``--demo``), the models resolved once, step 0, the launch
commands and per-GPU scripts, the solutions (generated here, or the commands printed and the run stopped,
or resumed from the chunk files there), steps 2-3, the step labels (``--step_labels``), steps 4-5, step 6 with
a teacher, the dataset folder, the summary.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import orjson

from cft.common import paths
from cft.common.errors import CftError
from cft.common.jsonio import atomic_open, sha256_file
from cft.common.summary import command_line
from cft.critic.split import val_path
from cft.pipeline import summaries
from cft.pipeline.options import Options, apply_demo
from cft.pipeline.runner import ask, banner, capture, run_step, unattended
from cft.pipeline.steps import Model, Run, resolve_models
from cft.records.chunks import list_chunk_files, num_chunks
from cft.records.problems import load_rows

SOURCE_INDEX_FLAG = "--source_index_field"  # step 0 adds a field to every row: generate from its output


def run_pipeline(o: Options, argv: list[str]) -> int:
    """The whole run; ``argv``: the pipeline's own command line (for the rerun hint). 0, or raises
    ``StepFailed`` / ``CftError``."""
    start = time.monotonic()
    root = o.root
    root.log_dir.mkdir(parents=True, exist_ok=True)
    if o.demo:
        banner("demo model")
        from cft.fixtures.demo_model import ensure_demo_model

        try:
            model = ensure_demo_model(log=print)
        except Exception as e:  # noqa: BLE001  (a download or a conversion: said in one line)
            raise CftError(f"could not build the demo model ({e})") from None
        print(f"SmolLM2-135M-Instruct at {model} stands in for both Qwen models (which need GPUs)")
        apply_demo(o, model)
    input_file = o.input_file or root.input_file
    if not input_file.is_file():
        raise CftError(f"input file {input_file} not found")
    if o.demo and o.decontaminate:  # offline: step 0 against a set of the demo's own (some of its problems, respelled)
        from cft.fixtures.demo_eval import write

        write(root.demo_eval_file, input_file)
        o.decontaminate_args[:0] = ["--eval_sets", "none", "--against", str(root.demo_eval_file)]
    run = Run(o, resolve_models(o), input_file)
    forget_other_summaries(root, run.step_names(), run.models)
    if o.slurm:  # every step a job, submitted now, run by Slurm
        from cft.pipeline.slurm import submit_pipeline

        return submit_pipeline(run, input_file)
    done: list[Path] = []  # this run's step summaries, in order

    # step 0: derived, re-derived on every run (byte for byte the same for the same input and flags)
    if o.decontaminate:
        done.append(run_step(root, "decontaminate", run.decontaminate(input_file)))
        removed = orjson.loads(done[-1].read_bytes()).get("removed")
        run.gen_input = root.clean_file
        if removed == 0 and SOURCE_INDEX_FLAG not in o.decontaminate_args and made_from(run, input_file):
            # nothing removed, no field added: chunk files made from the input before step 0 ran still match
            run.gen_input = input_file
            print(f"step 0 removed nothing: generating from {input_file} as it is, as the chunk files there were")
    else:
        done.append(root.summary_file("decontaminate"))
        summaries.skipped(done[-1], "decontaminate", "step 0", "skipped (--no_decontaminate)")

    # step 1: the launch commands and each model's per-GPU script, then the solutions
    printed = capture("commands", run.commands())
    with atomic_open(root.commands_file) as f:
        f.write(printed.encode())
    print(printed, end="")
    print("per-GPU scripts: " + " ".join(str(paths.run_script(m.alias, root.root)) for m in run.models))
    banner("solutions")
    todo, missing = solutions(run)
    if todo:
        choice = ask(f"{missing} chunks missing: run them [h]ere one after another, or [p]rint the per-GPU commands "
                     "and stop?", "h", unattended(o.yes))
        if choice.lower().startswith("p"):
            print_commands(run, todo, argv)
            return 0
        for m in todo:
            run_step(root, f"generate_{m.alias}", run.generate_here(m))
    done += [root.summary_file(f"generate_{m.alias}") for m in run.models]

    # steps 2-5: derived, re-derived on every run
    done.append(run_step(root, "merge", run.merge()))
    filtered_before = fingerprint([root.filtered_file])
    done.append(run_step(root, "filter", run.filter()))
    # the step labels: their work chunks resume; where step 3's problems changed, those of the old ones are redone
    if o.step_labels:
        redo = fingerprint([root.filtered_file]) != filtered_before and any(filtered_before)
        if redo and not o.overwrite:
            print("step 3's problems changed since the last run: the step labels replace the work of the old ones "
                  "(--overwrite)")
        done.append(run_step(root, "step_labels", run.step_labels(overwrite=o.overwrite or redo)))
    done.append(run_step(root, "critique", run.critique()))
    before = fingerprint(run.step5_files())
    done.append(run_step(root, "format", run.format()))
    changed = fingerprint(run.step5_files()) != before

    # step 6, with a teacher: its work chunks resume; step 5's rows changed, those of the old rows are redone
    if run.teacher:
        if changed and not o.overwrite and any(before):
            print("step 5's rows changed since the last run: step 6 replaces the critiques of the old ones "
                  "(--overwrite)")
        done.append(run_step(root, "sft", run.sft(overwrite=o.overwrite or changed)))

    # the critic's report card on the validation rows (the card cites it); none without a held-out split
    if run.evaluates:
        if val_path(root.formatted_file).is_file():
            done.append(run_step(root, "evaluate", run.evaluate(overwrite=o.overwrite or changed)))
        else:
            print("no validation rows (--val_size 0): the critic is not evaluated")
    # the dataset folder: step 5's (and 6's) files, the card written from this run's summaries, the manifest
    done.append(run_step(root, "dataset", run.dataset()))
    banner("summary")
    summaries.pipeline_summary(done, root.pipeline_summary, time.monotonic() - start)
    print(f"logs: {root.log_dir}")
    print(f"train a critic on these files with verl: docs/training.md; publish {root.dataset_dir}: docs/publishing.md")
    return 0


def forget_other_summaries(root: paths.DataRoot, steps: list[str], models: list[Model]) -> None:
    """Remove the summaries in the log folder of steps this run does not make (an earlier run's teacher, a
    model no longer generated with, a step run by hand), but for those of the generation processes of this
    run's models (``generate_<alias>_worker<k>``, ``generate_<alias>_chunk<first>``: the printed commands, run
    on the GPUs): the card is written from what is there. Each step this run makes replaces its own."""
    parts = re.compile("generate_(?:" + "|".join(re.escape(m.alias) for m in models) + r")_(?:worker|chunk)\d")
    stale = [p for p in sorted(root.log_dir.glob("summary_*.json")) if paths.summary_step(p) not in steps
             and not parts.match(paths.summary_step(p))]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        print(f"removed the summaries of steps this run does not make: {', '.join(p.name for p in stale)}")


def made_from(run: Run, input_file: Path) -> bool:
    """Whether chunk files of this run's models there were generated from ``input_file`` itself."""
    sha = sha256_file(input_file)
    for m in run.models:
        for path in list_chunk_files(run.root.solutions_dir(m.alias), m.name).values():
            try:
                if summaries.chunk_metadata(path).get("input_sha256") == sha:
                    return True
            except CftError:
                continue  # (an unreadable chunk: step 1's check names it)
    return False


def solutions(run: Run) -> tuple[list[Model], int]:
    """The models left to generate with, and how many chunks they miss. A model whose chunk files are all
    there is checked against this run's flags (a chunk made with other sampling, weights, prompt or input is
    refused, or with --overwrite generated again) and gets its summary from the chunk files' metadata."""
    root = run.root
    total = num_chunks(len(load_rows(run.gen_input)), run.o.chunk_size)
    todo, missing = [], 0
    for m in run.models:
        folder = root.solutions_dir(m.alias)
        have = {cid: p for cid, p in list_chunk_files(folder, m.name).items() if cid < total}
        print(f"{m.name}: {len(have)} of {total} chunk files in {folder}")
        if len(have) < total:
            todo.append(m)
            missing += total - len(have)
            continue
        try:
            check_chunks(run.generate(m)[2:])
        except CftError as e:
            if not run.o.overwrite:
                raise CftError(f"{e}. These chunks were made with other flags than this run's: rerun with the "
                               "flags they were made with, or with --overwrite to generate them again") from None
            print(f"{m.name}: {e}; generated again (--overwrite)")
            todo.append(m)
            missing += total
            continue
        summaries.resumed_generation(root.summary_file(f"generate_{m.alias}"), m.alias, m.name, have,
                                     run.generate(m))
    return todo, missing


def check_chunks(generate_argv: list[str]) -> None:
    """Step 1's own check of the chunk files there against a run of ``generate_argv`` (generate_solutions.py's
    flags), where every chunk is there (so no model is read): CftError naming the first that differs."""
    import argparse

    from cft.generate.options import add_arguments
    from cft.generate.plan import RunConfig, plan

    p = argparse.ArgumentParser(add_help=False)
    add_arguments(p)
    args, _ = p.parse_known_args(generate_argv)
    args.overwrite = False
    work = plan(RunConfig.from_args(args), log=lambda _: None)
    if work.todo:  # (not reached: every chunk file is there, so each is this run's or an error)
        raise CftError(f"chunks {[j.chunk_id for j in work.todo]} are left to generate")


def print_commands(run: Run, todo: list[Model], argv: list[str]) -> None:
    """The per-GPU scripts of the models left to generate with, the Slurm command, and the rerun."""
    print("Run on the GPU node(s):")
    for m in todo:
        print(f"  bash {paths.run_script(m.alias, run.root.root)}   # {m.name}, {run.o.gpus} GPUs")
    print("or, with Slurm, write one job array per model (see docs/generation.md) with:")
    print(f"  {command_line(run.commands('slurm'))}")
    print("then rerun this pipeline:")
    print(f"  {command_line([str(paths.scripts_dir() / 'run_full_pipeline.sh'), *argv])}")


def fingerprint(files: list[Path]) -> list[str | None]:
    """Each file's sha256, None where it does not exist."""
    return [sha256_file(p) if p.is_file() else None for p in files]
