"""The dataset folder (``build_dataset.py``): one run's data as ``datasets.load_dataset`` reads it.

- ``configs``: the table of configs (``rl`` from step 5; one more entry per step that makes rows);
- ``folder``: the folder's layout, placing data files (hard links, else copies), building aside;
- ``provenance``: what the run recorded (step summaries, the solutions' metadata), tied to the files;
- ``card``: the dataset card, ``README.md``, with the Hub's YAML head;
- ``manifest``: ``manifest.json``, written last, and ``verify``, the check of a folder against it;
- ``build``: the whole build, in that order.
"""
