"""Step labels (``label_steps.py``): which step of each solution went wrong, from a teacher's verdicts and Monte
Carlo completions; lucky right answers found and kept out of steps 4-6; process rows for PRM trainers and
ProcessBench-style evaluation.

- ``options``: the flags (two models by ``cft.inference.spec``: ``--teacher_*`` and ``--completer_*``) and
  their checks;
- ``inputs``: the solutions of step 3's kept problems that step 4 could draw, split into steps, bad input
  counted;
- ``split``: a solution cut into steps (paragraphs, lines, sentences) and its prefixes as written;
- ``verdicts``: the teacher's prompt, how a verdict is read, the vote;
- ``search``: the Monte Carlo search over prefixes (binary, or the linear pass);
- ``completer``: which model continues which solutions, from which prompt;
- ``work``: the work folders of each signal's chunks; ``run``: the signals over their chunks to do;
- ``consensus``: the rule joining the signals, and which right solutions are lucky;
- ``labels``: the step-label rows assembled from the chunks, and what step 4 reads of them;
- ``rows``: the ``process`` rows (TRL's stepwise supervision, ProcessBench's format) step 5 writes;
- ``report`` and ``facts``: the summary, the Markdown report, and the summary's keys the card reads;
- ``step``: the step from its flags to its files.
"""
