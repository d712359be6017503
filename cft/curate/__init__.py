"""Choosing the problems: step 0 (decontamination, duplicates, text normalisation), step 2 (merging
chunk files), step 3 (the keep rule, pass-rate bands, the pass-rate plot). ``eval_sets/`` holds
the evaluation sets step 0 compares against by default."""
