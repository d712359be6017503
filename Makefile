# make demo : create .venv if needed, then run the whole pipeline on the shipped sample
# make test : create .venv and the test tools (pytest, ruff, verl for its tests) if needed, then lint and test
#             (as root with apt-get, it first installs Slurm and munge for tests/test_slurm.py: make slurm-deps)
# make bench PROBLEMS=FILE GRADING_BENCH=DIR: the benchmarks under bench/ (figures in bench/RESULTS.md); some need
#   text the project does not ship: competition problems (a copy of MATH-500) and a grading bench
# make venv REQS=requirements.txt : the GPU install instead of the CPU one
VENV ?= .venv
REQS ?= requirements-cpu.txt
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv test-venv slurm-deps test demo lint bench

venv: $(VENV)/.installed

$(VENV)/.installed: $(REQS) requirements-common.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -r $(REQS)
	$(PY) -m pip install -q --no-deps -e .
	@# PyPI's torchvision/torchaudio/torchcodec do not load beside the CPU torch
	@# ("operator torchvision::nms does not exist"); transformers and vLLM work without them.
	if [ "$(REQS)" = requirements-cpu.txt ]; then $(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec; fi
	touch $@

test-venv: $(VENV)/.test-installed

# pytest, ruff, and verl 0.9.1 for tests/test_verl.py and tests/test_reward.py, once
# (not in `make venv`: the demo stays fast).
$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install -q --no-deps verl==0.9.1
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

# Debian's slurmctld, slurmd, slurm-client and munge for the real-Slurm tests (tests/test_slurm.py starts a
# single-node cluster of its own): installed where missing, as root with apt-get; elsewhere a one-line note
# and nothing else (the Slurm tests are then skipped, and fail where CI=true).
slurm-deps:
	python3 tests/slurm_cluster.py install

test: test-venv slurm-deps
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS) tests

demo: venv
	PATH="$(abspath $(VENV))/bin:$$PATH" ./run_full_pipeline.sh --demo --yes

lint: test-venv
	$(PY) -m ruff check .

bench: venv
	@test -n "$(PROBLEMS)" -a -n "$(GRADING_BENCH)" || { echo "make bench needs PROBLEMS=FILE (e.g. a copy of MATH-500) and GRADING_BENCH=DIR" >&2; exit 2; }
	$(PY) bench/grading_accuracy.py --bench_dir "$(GRADING_BENCH)"
	$(PY) bench/grading_throughput.py --problems_file "$(PROBLEMS)"
	$(PY) bench/postprocess_scale.py
	$(PY) bench/generation_overhead.py --enforce_eager --problems_file "$(PROBLEMS)"
	$(PY) bench/decontamination.py --problems_file "$(PROBLEMS)"
	$(PY) bench/fault_overhead.py
	$(PY) bench/teacher_throughput.py
