"""The pipeline (``run_full_pipeline.sh``, a thin shell over ``python -m cft.pipeline run``), in Python:

- ``options``: its flags, declared once, and what ``--demo`` sets;
- ``steps``: the models resolved once, and each step's command line (every file named by
  ``cft.common.paths.DataRoot``);
- ``runner``: a step run as its script, teed to its log, stopping the run when it fails; the prompt;
- ``run``: the order of the steps, resuming, checking the chunk files there, printing the GPU commands;
- ``summaries``: the closing summary, and the summaries of steps not run (skipped, or resumed);
- ``slurm``: ``--slurm``, every step submitted as a job chained with ``afterok``, and ``slurm-status``.

    python -m cft.pipeline run [run_full_pipeline.sh's flags] [-- generate_solutions.py flags]
    python -m cft.pipeline model NAME [--register_model SPEC ...]   -> "<name> <alias>"
    python -m cft.pipeline summary OUTPUT_JSON WALL_S SUMMARY_JSON ...
    python -m cft.pipeline slurm-status DATA_DIR [--wait]             -> the --slurm jobs' states, failures, logs
"""
