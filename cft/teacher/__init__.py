"""Step 6, critique fine-tuning data: a teacher model critiques step 5's rows, and only the critiques
whose verdict matches the row's label are kept, as SFT rows (``create_critique_data.py``).

- ``options``: the flags and their checks;
- ``inputs``: step 5's training and held-out rows, read and checked;
- ``prompts``: what the teacher is asked (blind, or with the reference), and "mentions the reference";
- ``work``: the work folder of chunk files, what each was made from, resume and refusal;
- ``run``: the teacher over the chunks to do, through one ``cft.inference`` backend;
- ``verdicts``: one critique checked against its label, slipped endings rewritten;
- ``audit``: agreement with the labels, by label and source model, and the doubted rows;
- ``sft_rows``: the SFT rows and the doubted report, assembled from the chunks and committed as one.
"""
