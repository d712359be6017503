"""Slurm: submitting jobs chained by dependencies and reading their tasks' states (``submit``), the
``#SBATCH`` lines our scripts share (``scripts``)."""
