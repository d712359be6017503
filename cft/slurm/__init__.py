"""Slurm: submitting jobs chained by dependencies and reading their tasks' states (``submit``)."""
