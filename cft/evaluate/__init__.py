"""The critic's report card (``evaluate_critic.py``): any model judged as a critic, on step 5's rows and on
ProcessBench-format rows, through the backend spec (``cft.inference.spec``).

- ``options``: the flags and their checks;
- ``cases``: the outcome cases (step 5's rows, with pass bands from step 3's file) and the step-level cases
  (a file, a dataset folder or a Hub id);
- ``prompts``: the step-level prompt and its answer's reader (outcome cases use the rows' own prompts and
  the reward's parser);
- ``work``: the work folders of replies (``cft.common.work``), and each case's request;
- ``metrics``: the figures (agreement by ``cft.critic.agreement``, calibration, ProcessBench's metrics);
- ``report``: the summary (``report.json``) and the Markdown; ``plots``: the picture; ``compare``: two reports
  side by side;
- ``run``: the step from flags to files.
"""
