"""Step 1, sampling solutions: options, pre-flight checks (context, output folder), the plan and the
run, chunk locks, graceful stop on SIGTERM, and the per-GPU and Slurm launch commands."""
