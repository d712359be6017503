"""What every step shares: errors, one-line OS errors, the CLI wrapper, atomic JSON I/O, default
paths, step summaries, package versions, worker counts, engine output routing, the orphan reaper."""
