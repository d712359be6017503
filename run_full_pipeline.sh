#!/usr/bin/env bash
# The whole pipeline, from the problem set to the dataset folder: step 0, the launch commands, the
# solutions (here, or the per-GPU commands printed), merge, filter, critique rows, verl rows, step 6
# with a teacher, the dataset folder and a summary. --help lists the flags. The steps, their order,
# their arguments and every file name are in cft/pipeline/ (python -m cft.pipeline run); this script
# only finds the interpreter: --python PY, else $PYTHON, else .venv/bin/python beside it, else python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
PYTHON=${PYTHON:-}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --) break ;;
    --python) PYTHON=${args[$((i + 1))]:-} ;;
    --python=*) PYTHON=${args[$i]#--python=} ;;
  esac
done
if [ -z "$PYTHON" ]; then
  if [ -x "$here/.venv/bin/python" ]; then PYTHON="$here/.venv/bin/python"; else PYTHON=python3; fi
fi
"$PYTHON" -c "import cft.pipeline" 2>/dev/null ||
  { echo "error: cannot import cft with $PYTHON (make venv, or pass --python)" >&2; exit 1; }
exec "$PYTHON" -m cft.pipeline run "$@"
