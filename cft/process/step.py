"""``label_steps.py`` from its flags to its files: read, plan, run each signal's chunks to do, assemble, report.

Everything cheap comes first: the flags, the filtered file (every solution to label, split into steps, bad
input counted), each signal's work plan (chunks done, another run's refused). Then the models, one backend
open at a time (``Engines``): the teacher's verdicts, then each model's solutions' searches. Where two of
these run on the same engine (the demo's one small model is its teacher and its completer), the engine is
opened once. A signal with no chunk left opens nothing, so a rerun over finished chunks only assembles.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import fields
from pathlib import Path

from cft.common import paths
from cft.common.cli import say
from cft.common.jsonio import atomic_files, write_rows
from cft.common.summary import Summary
from cft.common.work import locked
from cft.inference import Backend, BackendSpec, open_backend
from cft.process import options
from cft.process.completer import completers
from cft.process.inputs import read_inputs
from cft.process.labels import assemble
from cft.process.report import report_path, report_text, summary
from cft.process.run import RunReport, run_rollouts, run_verdicts
from cft.process.verdicts import PROMPT_VERSION
from cft.process.work import rollout_plan, verdict_plan, work_dir
from cft.records.models import register_from_args

_NOT_THE_ENGINE = {"role", "max_in_flight", "engine_log", "verbose"}  # fields two phases may differ in and share one


def engine_key(spec: BackendSpec) -> tuple:
    return tuple((f.name, repr(getattr(spec, f.name))) for f in fields(spec) if f.name not in _NOT_THE_ENGINE)


class Engines:
    """One backend open at a time: ``get`` reuses the open one for a spec of the same engine, else closes it and
    opens the spec's."""

    def __init__(self, stack: contextlib.ExitStack, log_dir: Path):
        self.stack, self.log_dir = stack, log_dir
        self.key, self.backend, self.closer = None, None, None

    def get(self, spec: BackendSpec, log_name: str) -> Backend:
        key = engine_key(spec)
        if self.backend is not None and key == self.key:
            return self.backend
        if self.closer is not None:
            self.closer.close()
        self.closer = contextlib.ExitStack()
        self.stack.callback(self.closer.close)
        self.backend = self.closer.enter_context(open_backend(spec, engine_log=self.log_dir / log_name))
        self.key = key
        return self.backend


def _seed_rule(spec: BackendSpec, backend: Backend) -> str | None:
    return "sha256" if spec.sends_seeds(backend) else None


def label_steps(args) -> Summary:
    t0 = time.perf_counter()
    options.check_flags(args)
    register_from_args(args)
    selection = options.selection_of(args)
    inputs = read_inputs(args.filtered_file, selection)
    right = sum(1 for i in inputs.items if i.correct)
    say(f"{inputs.file}: {len(inputs.items)} solutions of {inputs.problems} problems to label ({right} right, "
        f"{len(inputs.items) - right} wrong); not labelled: "
        + (", ".join(f"{k} {v}" for k, v in sorted(inputs.skipped.items())) or "none"))
    teacher = options.teacher_spec(args)
    verdict_sampling = options.verdict_sampling(args)
    comps = {} if args.no_rollouts else completers(args, inputs.aliases, options.weights_of(args),
                                                 options.rollout_sampling(args), options.ENGINE_ARGS)
    labels_file, report_file = args.labels_file, report_path(args.labels_file)
    report, works, backends = RunReport(), {}, {}
    with locked(work_dir(labels_file), [Path(labels_file), report_file]), contextlib.ExitStack() as stack:
        engines = Engines(stack, paths.logs_beside(labels_file))

        def named(spec: BackendSpec, log_name: str) -> str:
            """The model's name the chunks record: the spec's, else the one model its server lists."""
            if spec.kind == "local" or spec.served_model_name:
                return spec.served_model_name or spec.model
            return engines.get(spec, log_name).model

        if teacher is not None:
            teacher_model = named(teacher, "engine_step_labels_teacher.log")
            works["verdicts"] = verdict_plan(inputs, selection, args.chunk_size, labels_file, teacher_model,
                                             _sampling_record(verdict_sampling), PROMPT_VERSION, args.overwrite)
        for alias, c in comps.items():
            c.model = named(c.spec, f"engine_step_labels_{alias}.log") if c.spec.kind == "server" else c.model
            works[f"rollouts/{alias}"] = rollout_plan(inputs, selection, args.chunk_size, labels_file, alias, c.model,
                                                      c.template, c.record(), args.search, args.overwrite)
        for name, work in works.items():
            say(f"{name}: {len(work.chunks)} chunks of {args.chunk_size}; to do: {[c.chunk_id for c in work.todo]}, "
                f"already done (skipped): {work.skipped}")
        # the teacher first, then the completers that share its engine, then the others
        order = sorted(comps, key=lambda a: teacher is None or engine_key(comps[a].spec) != engine_key(teacher))
        if teacher is not None and works["verdicts"].todo:
            backend = engines.get(teacher, "engine_step_labels_teacher.log")
            backends["teacher"] = backend.describe()
            run_verdicts(works["verdicts"], backend, verdict_sampling, teacher.in_flight(backend, args.num_verdicts),
                         report, _seed_rule(teacher, backend))
        for alias in order:
            work, c = works[f"rollouts/{alias}"], comps[alias]
            if not work.todo:
                continue
            backend = engines.get(c.spec, f"engine_step_labels_{alias}.log")
            backends[alias] = backend.describe()
            run_rollouts(work, c, backend, args.search, c.spec.in_flight(backend, args.rollouts), report,
                         _seed_rule(c.spec, backend))
        stack.close()  # every engine closed before the files are assembled
        assembled = assemble(inputs, works.get("verdicts"),
                             None if args.no_rollouts else {a: works[f"rollouts/{a}"] for a in comps},
                             args.lucky_rule)
        signals = [s for s, on in (("teacher", teacher is not None), ("rollouts", bool(comps))) if on]
        with atomic_files() as files:
            f = files.open(labels_file)
            write_rows(f, assembled.rows)
            f.write(b"\n")
            files.open(report_file).write(report_text(assembled, signals, args.lucky_rule).encode())
    settings = {"lucky_rule": args.lucky_rule, "search": args.search, "rollouts": args.rollouts,
                "num_verdicts": args.num_verdicts, **selection.record()}
    teacher_model = works["verdicts"].run["teacher_model"] if "verdicts" in works else None
    return summary(inputs=inputs, a=assembled, report=report, works=works, settings=settings,
                   teacher_model=teacher_model, completers={a: c.model for a, c in comps.items()}, backends=backends,
                   written=[Path(labels_file), report_file], elapsed_s=time.perf_counter() - t0)


def _sampling_record(sampling) -> dict:
    return {"n": sampling.n, "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens, "seed": sampling.seed}
