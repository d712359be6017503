# make test : create .venv (CPU vLLM) if needed, add verl for its tests once, then run the tests
# make demo : create .venv if needed, then run the whole pipeline on the shipped sample
# make venv REQS=requirements.txt : the GPU install instead of the CPU one
VENV ?= .venv
REQS ?= requirements-cpu.txt
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv test demo lint bench

venv: $(VENV)/.installed

$(VENV)/.installed: $(REQS) requirements-common.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -r $(REQS)
	@# PyPI's torchvision/torchaudio/torchcodec do not load beside the CPU torch
	@# ("operator torchvision::nms does not exist"); transformers and vLLM work without them.
	if [ "$(REQS)" = requirements-cpu.txt ]; then $(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec; fi
	touch $@

# verl 0.9.1 for tests/test_verl.py and tests/test_reward.py, once (not in `make venv`: the demo stays fast).
$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install -q --no-deps verl==0.9.1
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

test: venv $(VENV)/.test-installed
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS) tests

demo: venv
	PATH="$(abspath $(VENV))/bin:$$PATH" ./run_full_pipeline.sh --demo --yes

lint: venv
	$(PY) -m ruff check .

bench: venv
	$(PY) bench/grading_accuracy.py
	$(PY) bench/grading_throughput.py
	$(PY) bench/postprocess_scale.py
	$(PY) bench/generation_overhead.py --enforce_eager
