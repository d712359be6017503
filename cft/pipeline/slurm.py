"""``run_full_pipeline.sh --slurm``: the pipeline submitted as Slurm jobs chained with ``--dependency=afterok``,
and ``python -m cft.pipeline slurm-status <data_dir>``, which follows them.

Every job runs the command line the pipeline runs here (``cft.pipeline.steps``): step 0; one job array per
model (``generate_commands.py --format slurm``'s script), with a task for each chunk missing; merge, filter,
the step labels (``--step_labels``), critique, format; step 6 with a teacher; the critic's report card with an
evaluated model; the dataset folder, whose job then writes the closing summary. The scripts, their logs and
the record of the submission (``jobs.json``) are in ``<data_dir>/logs/slurm/``.

A job that fails (an array task: exit non-zero, cancelled, timed out) cancels every job after it (``sbatch
--kill-on-invalid-dep=yes``); the status names the failed task and its log. Resubmitting skips what is done:
the arrays get only the chunks whose files are missing, the derived steps are cheap and run again.

With step 0 the arrays are submitted before its output exists: they have a task for every chunk of the input
(step 0 only removes rows), and a task past the last chunk of step 0's output does nothing
(``generate_solutions.py --skip_past_end``).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import orjson

from cft.common import paths
from cft.common.errors import CftError
from cft.common.jsonio import atomic_open
from cft.common.summary import command_line
from cft.critic.split import val_path
from cft.pipeline import summaries
from cft.pipeline.runner import banner, capture
from cft.pipeline.steps import Run
from cft.records.chunks import format_ranges, list_chunk_files, num_chunks
from cft.records.problems import load_rows
from cft.slurm import submit
from cft.slurm.scripts import sbatch_lines

JOBS = "jobs.json"


def slurm_dir(root: paths.DataRoot) -> Path:
    """Where the submitted scripts, their logs and ``jobs.json`` go."""
    return root.log_dir / "slurm"


def submit_pipeline(run: Run, input_file: Path) -> int:
    """Submit every step of ``run`` (its input: ``input_file``); print the job ids and how to follow them."""
    o, root = run.o, run.root
    folder = slurm_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / JOBS).is_file():  # two submissions at once would write the same files
        earlier = [j["job"] for j in orjson.loads((folder / JOBS).read_bytes())["jobs"]]
        live = [j for j in earlier if not all(t.ended for t in submit.tasks(j))]
        if live:
            raise CftError(f"jobs {', '.join(live)} of the last submission in {root.root} are still queued or "
                           f"running: wait for them (slurm-status --wait) or cancel them (scancel {' '.join(live)})")
    submitted = time.time()
    jobs: list[dict] = []

    def add(step: str, script: Path, after: list[str], options: list[str] = (), note: str = "") -> str:
        try:
            job = submit.sbatch(script, after_ok=after, options=list(options))
        except CftError as e:  # (a partition or account refused): none of the run's jobs is left behind
            submit.cancel([j["job"] for j in jobs])
            cancelled = f"; cancelled the jobs submitted before it ({', '.join(j['job'] for j in jobs)})" \
                if jobs else ""
            raise CftError(f"{e}{cancelled}") from None
        jobs.append({"step": step, "job": job, "script": str(script)})
        print(f"  {step:<20} job {job}{note}" + (f" (after {', '.join(after)})" if after else ""))
        return job

    if o.decontaminate:
        run.gen_input = root.clean_file  # (written by step 0's job)
    else:
        summaries.skipped(root.summary_file("decontaminate"), "decontaminate", "step 0", "skipped (--no_decontaminate)")

    # step 1: each model's array, its tasks the chunks whose files are missing
    banner("solutions")
    upper = num_chunks(len(load_rows(input_file)), o.chunk_size)  # step 0 only removes rows
    missing = {}
    for m in run.models:
        have = {cid for cid in list_chunk_files(root.solutions_dir(m.alias), m.name) if cid < upper}
        missing[m.alias] = list(range(upper)) if o.overwrite else [c for c in range(upper) if c not in have]
        print(f"{m.name}: {upper - len(missing[m.alias])} of {upper} chunk files in {root.solutions_dir(m.alias)}")
        if missing[m.alias]:
            root.summary_file(f"generate_{m.alias}").unlink(missing_ok=True)  # the array's processes write theirs
        elif run.gen_input.is_file():  # (the run's chunks, checked against its flags, as a run here does)
            from cft.pipeline.run import check_chunks

            try:
                check_chunks(run.generate(m)[2:])
            except CftError as e:
                raise CftError(f"{e}. These chunks were made with other flags than this run's: resubmit with the "
                               "flags they were made with, or with --overwrite to generate them again") from None
            summaries.resumed_generation(root.summary_file(f"generate_{m.alias}"), m.alias, m.name,
                                         list_chunk_files(root.solutions_dir(m.alias), m.name), run.generate(m))
    if any(missing.values()):
        capture("commands", run.commands("slurm", slurm_flags(run, folder, upper)))

    banner("slurm jobs")
    step0 = [add("decontaminate", step_script(run, "decontaminate", run.decontaminate(input_file)), [])] \
        if o.decontaminate else []
    arrays = []
    for m in run.models:
        ids = missing[m.alias]
        if ids:
            array = format_ranges(ids).replace(" ", "")
            arrays.append(add(f"generate_{m.alias}", paths.slurm_script(m.alias, folder), step0,
                              [f"--array={array}%{o.max_concurrent}"], f" (array: chunks {array})"))
        else:
            print(f"  generate_{m.alias:<11} every chunk is there: no array")

    # steps 2-6 and the dataset folder, each after the one before
    after = [add("merge", step_script(run, "merge", run.merge()), step0 + arrays)]
    if o.step_labels:  # as a run here does, the step labels get --overwrite when step 3's problems changed
        filtered = folder / "filter_changed"
        fmark = shlex.quote(str(filtered))
        fsums = f"sha256sum {shlex.quote(str(root.filtered_file))} 2>/dev/null || true"
        fsaid = shlex.quote("step 3's problems changed: the step labels replace the work of the old ones (--overwrite)")
        after = [add("filter", step_script(run, "filter", run.filter(), before=[f"rm -f {fmark}", f"before=$({fsums})"],
                                           then=[f'[ -z "$before" ] || [ "$before" = "$({fsums})" ] || '
                                                 f"echo {fsaid} > {fmark}"]), after)]
        local = (run.teacher and o.teacher_model and not o.teacher_server_url) or not o.completer_server_url
        relabel = [] if o.overwrite else [
            f"overwrite=(); if [ -e {fmark} ]; then overwrite=(--overwrite); cat {fmark}; fi"]
        after = [add("step_labels", step_script(run, "step_labels", run.step_labels(overwrite=o.overwrite),
                                                o.gpus_per_task if local else 0, before=relabel,
                                                more='${overwrite[@]+"${overwrite[@]}"}' if relabel else ""), after)]
    else:
        after = [add("filter", step_script(run, "filter", run.filter()), after)]
    after = [add("critique", step_script(run, "critique", run.critique()), after)]
    # step 5; as a run here does, step 6 gets --overwrite when step 5's rows changed (its old rows' work replaced)
    changed = folder / "step5_changed"
    mark = shlex.quote(str(changed))
    sums = f"sha256sum {shlex.join(map(str, run.step5_files()))} 2>/dev/null || true"
    said = shlex.quote("step 5's rows changed: step 6 replaces the work of the old ones (--overwrite)")
    after = [add("format", step_script(run, "format", run.format(), before=[f"rm -f {mark}", f"before=$({sums})"],
                                       then=[f'[ "$before" = "$({sums})" ] || echo {said} > {mark}']), after)]
    # step 6 and the report card: --overwrite where step 5's rows changed; a GPU job each with a local model
    overwrite = [] if o.overwrite else [
        f"overwrite=(); if [ -e {mark} ]; then overwrite=(--overwrite); cat {mark}; fi"]
    more = '${overwrite[@]+"${overwrite[@]}"}' if overwrite else ""
    if run.teacher:
        gpus = o.gpus_per_task if o.teacher_model and not o.teacher_server_url else 0
        after = [add("sft", step_script(run, "sft", run.sft(overwrite=o.overwrite), gpus, before=overwrite,
                                        more=more), after)]
    if run.evaluates:
        val = shlex.quote(str(val_path(root.formatted_file)))
        gpus = o.gpus_per_task if o.eval_model and not o.eval_server_url else 0
        none = shlex.quote("no validation rows (--val_size 0): the critic is not evaluated")
        after = [add("evaluate", step_script(run, "evaluate", run.evaluate(overwrite=o.overwrite), gpus,
                                             before=[f"if [ ! -f {val} ]; then echo {none}; exit 0; fi", *overwrite],
                                             more=more), after)]
    names = [root.summary_file(s) for s in run.step_names() if not s.startswith("generate_")]
    generation = [f"{shlex.quote(str(root.log_dir))}/summary_generate_{m.alias}*.json" for m in run.models]
    closing = [f"shopt -s nullglob; generation=({' '.join(generation)})",
               f"{shlex.join([o.python, '-m', 'cft.pipeline', 'summary', str(root.pipeline_summary)])} "
               f"$(( $(date +%s) - {int(submitted)} )) {shlex.join(map(str, names[:1]))} \"${{generation[@]}}\" "
               f"{shlex.join(map(str, names[1:]))}"]
    add("dataset", step_script(run, "dataset", run.dataset(), then=closing), after)

    with atomic_open(folder / JOBS) as f:
        f.write(orjson.dumps({"submitted": submitted, "data_dir": str(root.root), "jobs": jobs},
                             option=orjson.OPT_INDENT_2))
    ids = [j["job"] for j in jobs]
    print(f"\n{len(jobs)} jobs submitted; their scripts and logs are in {folder}, the record in {folder / JOBS}")
    print("follow them with:")
    print(f"  {command_line([o.python, '-m', 'cft.pipeline', 'slurm-status', str(root.root)])}   "
          "# add --wait to wait until they end")
    print(f"  squeue --jobs {','.join(ids)}")
    print(f"the dataset folder: {root.dataset_dir}; the closing summary: {root.pipeline_summary}")
    return 0


def slurm_flags(run: Run, folder: Path, upper: int) -> list[str]:
    """``generate_commands.py``'s Slurm flags of this run: its scripts in ``folder``, sized for ``upper`` chunks
    where step 0 has yet to write the input."""
    o = run.o
    flags = ["--slurm_dir", str(folder), "--time", o.time, "--cpus_per_task", str(o.cpus_per_task), "--mem", o.mem,
             "--max_concurrent", str(o.max_concurrent), "--gpus_per_task", str(o.gpus_per_task)]
    for flag, value in (("--partition", o.partition), ("--account", o.account), ("--qos", o.qos)):
        if value:
            flags += [flag, value]
    return flags + (["--num_chunks", str(upper)] if o.decontaminate else [])


def step_script(run: Run, step: str, cmd: list[str], gpus: int = 0, before: list[str] = (), then: list[str] = (),
                more: str = "") -> Path:
    """``<step>.sbatch``: one job running ``cmd`` (the step's command line here) with its summary where the run
    here writes it; ``before``, ``then``: lines before and after it; ``more``: shell words after ``cmd``. Its log:
    ``<step>_<job>.log`` beside it."""
    o, root = run.o, run.root
    folder = slurm_dir(root)
    summary = root.summary_file(step)
    script = folder / f"{step}.sbatch"
    script.write_text("\n".join([
        "#!/usr/bin/env bash",
        f"# Step '{step}' of the pipeline of {root.root} (run_full_pipeline.sh --slurm), as it runs there.",
        *sbatch_lines(f"cft-{step}", folder / f"{step}_%j.log", cpus=o.cpus_per_task, mem=o.mem,
                      time_limit=o.time, gpus=gpus, partition=o.partition, account=o.account, qos=o.qos),
        "set -euo pipefail",
        f"cd {shlex.quote(str(paths.scripts_dir()))}",
        "export PYTHONUNBUFFERED=1",
        f'echo "=== $(date \'+%F %T\') {step}, job ${{SLURM_JOB_ID:-?}}, attempt ${{SLURM_RESTART_COUNT:-0}}, '
        'on $(hostname)"',
        f"rm -f {shlex.quote(str(summary))}",
        *before,
        " ".join([shlex.join(cmd), *([more] if more else []), shlex.join(["--summary_json", str(summary)])]),
        *then,
        "",
    ]))
    return script


def status(data_dir: Path, wait: bool = False, poll_s: float = 10.0) -> int:
    """Each submitted step's state, the failed tasks with their logs, the jobs not run because of them; with
    ``wait``, once every job has ended. 0: every job completed; 1: one failed; 2: still running."""
    root = paths.DataRoot(data_dir)
    record = slurm_dir(root) / JOBS
    if not record.is_file():
        raise CftError(f"{record} not found: no pipeline submitted to Slurm in {data_dir} (run_full_pipeline.sh "
                       "--slurm)")
    data = orjson.loads(record.read_bytes())
    jobs = data["jobs"]
    step_of = {j["job"]: j["step"] for j in jobs}
    ids = list(step_of)
    if wait:
        def changed(job: str, tasks: list[submit.Task]) -> None:
            print(f"{time.strftime('%H:%M:%S')} {step_of[job]:<20} job {job}: {states(tasks)}", flush=True)

        found = submit.wait(ids, poll_s=poll_s, on_change=changed)
    else:
        found = {j: submit.tasks(j) for j in ids}
    print(f"pipeline of {root.root}, submitted {time.strftime('%F %T', time.localtime(data['submitted']))}:")
    for job, tasks in found.items():
        print(f"  {step_of[job]:<20} job {job}: {states(tasks)}")
    failed = submit.failures(found)
    broke = [t for t in failed if t.reason != "DependencyNeverSatisfied"]
    for t in broke:
        print(f"failed: {submit.describe(t)}")
    skipped = [step_of[t.array_job_id or t.job_id] for t in failed if t.reason == "DependencyNeverSatisfied"]
    if skipped:
        print(f"not run (a job before them failed): {', '.join(skipped)}")
    if failed:
        print("fix what the log says and resubmit the same run_full_pipeline.sh --slurm command: it skips the chunks "
              "that are done")
        return 1
    if all(t.ended for ts in found.values() for t in ts):
        print(f"done: the dataset folder {root.dataset_dir}, the closing summary {root.pipeline_summary}")
        return 0
    return 2


def states(tasks: list[submit.Task]) -> str:
    """``COMPLETED`` or, for an array, ``3 COMPLETED, 1 RUNNING`` (tasks pending together count as one entry)."""
    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.state] = counts.get(t.state, 0) + 1
    if len(tasks) == 1:
        return tasks[0].state + ("" if tasks[0].reason in ("None", "") else f" ({tasks[0].reason})")
    return ", ".join(f"{n} {s}" for s, n in counts.items())
