#!/usr/bin/env python3
"""Step 6: critiques written by a teacher model, kept only where their verdict matches the label (SFT rows).

Reads step 5's verl rows (--formatted_file and its _val twin, so SFT and RL share one split), asks
a teacher for --num_critiques critiques of each row, and keeps at most --keep_per_row distinct ones
whose verdict (read by cft/reward.py's parser) is the row's label, each ending exactly in
'Conclusion: right [END]' or 'Conclusion: wrong [END]'. Writes SFT rows with a `messages` list
(user: the critic's prompt, assistant: the critique) as JSON Lines and parquet, training and
held-out, and a report of the rows where every critique contradicts the label (_doubted.json).

The teacher is a local vLLM engine (--teacher_model PATH_OR_ID) or an OpenAI-compatible server
(--teacher_server_url URL, --teacher_api_key_env NAME; the plain --server_url and --api_key_env too).
Work is done in chunks of rows, each written atomically to
<output>_work/ as it finishes; a rerun skips the finished chunks, and a killed run (even kill -9)
leaves no process behind.

    python create_critique_data.py --teacher_model /models/Qwen2.5-72B-Instruct --tensor_parallel_size 8
    python create_critique_data.py --teacher_server_url http://127.0.0.1:8000 --teacher_api_key_env TEACHER_KEY
"""

if __name__ == "__main__":
    from cft.common.reaper import mark_run

    mark_run()  # re-executes this script once with a run marker its processes inherit (cft/common/reaper.py)

import contextlib  # noqa: E402
import time  # noqa: E402

from cft.common import cli, paths  # noqa: E402
from cft.common.errors import CftError  # noqa: E402
from cft.common.work import locked  # noqa: E402
from cft.inference import open_backend  # noqa: E402
from cft.teacher import options  # noqa: E402
from cft.teacher.inputs import read_inputs  # noqa: E402
from cft.teacher.prompts import PROMPT_VERSION  # noqa: E402
from cft.teacher.report import summary  # noqa: E402
from cft.teacher.run import RunReport, run  # noqa: E402
from cft.teacher.sft_rows import assemble, output_paths, write_outputs  # noqa: E402
from cft.teacher.work import plan, run_record, work_dir  # noqa: E402


def main():
    p = cli.parser(__doc__)
    options.add_arguments(p)
    args = p.parse_args()
    t0 = time.perf_counter()
    options.check_flags(args)
    inputs = read_inputs(args.formatted_file, args.max_rows, need_reference=args.show_reference)
    spec = options.backend_spec(args)
    sampling = options.sampling_of(args)

    def work_plan(teacher_model: str):
        return plan_with_seed_rule(inputs, args, teacher_model, sampling, spec.server_seeds)

    # the chunks already there, before any server or engine (a server's model name may need asking first)
    work, seed_rule = work_plan(spec.model) if spec.model else (None, None)
    backend_info, report = None, RunReport()
    with locked(work_dir(args.output_file), list(output_paths(args.output_file).values())):
        # this process is the one writer of the folder and of the outputs now
        with contextlib.ExitStack() as stack:
            backend = None
            if spec.kind == "server" and (work is None or work.todo):
                backend = stack.enter_context(open_backend(spec))
                if work is None:
                    work, seed_rule = work_plan(backend.model)
            print(f"{len(inputs.items)} rows ({inputs.count('train')} training, {inputs.count('val')} held out), "
                  f"{len(work.chunks)} chunks of {args.chunk_size}; to do: {[c.chunk_id for c in work.todo]}, "
                  f"already done (skipped): {work.skipped}", flush=True)
            if work.todo and backend is None:
                backend = stack.enter_context(open_backend(spec, engine_log=paths.logs_beside(args.output_file)
                                                                 / "engine_teacher.log"))
            if backend is not None:
                backend_info = backend.describe()
                report = run(work, backend, sampling, show_reference=args.show_reference,
                             format_examples=args.format_examples,
                             max_in_flight=spec.in_flight(backend, args.num_critiques),
                             seed_rule=seed_rule if spec.sends_seeds(backend) else None)
        teacher_model = work.run["teacher_model"]
        assembled = assemble(work, inputs, teacher_model, args.keep_per_row, args.keep_thinking, args.show_reference)
        written = write_outputs(assembled, args.output_file)
    s = summary(inputs=inputs, work=work, report=report, assembled=assembled, teacher_model=teacher_model,
                backend=backend_info, written=written, doubted_file=output_paths(args.output_file)["doubted"],
                keep_per_row=args.keep_per_row, keep_thinking=args.keep_thinking,
                elapsed_s=time.perf_counter() - t0)
    s.emit(args.summary_json, beside=args.output_file)


def plan_with_seed_rule(inputs, args, teacher_model: str, sampling, server_seeds: bool):
    """The work plan, and the rule of the requests' own seeds (None: none sent): ``sha256``, or ``stride`` where
    the folder holds chunks of before the rule was recorded (they resume with theirs)."""
    def record(rule):
        return run_record(inputs, args.chunk_size, args.max_rows, teacher_model,
                          options.sampling_record(sampling, rule), options.mode_of(args), PROMPT_VERSION)

    if not server_seeds:
        return plan(inputs, args.output_file, record(None), args.overwrite), None
    try:
        return plan(inputs, args.output_file, record("sha256"), False), "sha256"
    except CftError:
        if not args.overwrite:
            with contextlib.suppress(CftError):  # chunks of before: no rule recorded, each seed by its stride
                return plan(inputs, args.output_file, record(None), False), "stride"
        return plan(inputs, args.output_file, record("sha256"), args.overwrite), "sha256"

if __name__ == "__main__":
    cli.run(main)
