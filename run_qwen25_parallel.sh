#!/usr/bin/env bash
# Run step 1 for one model on one node: one generate_solutions.py worker per GPU.
# Worker g gets CUDA_VISIBLE_DEVICES=g and runs chunks g, g+N, g+2N, ... with one engine.
# Logs go to <log_dir>/<alias>_gpu<g>.log; the run ends with a table of chunks done and
# failed per GPU, and exits 1 if any worker failed. Ctrl-C or SIGTERM stops every process of every
# worker it started (SIGTERM, then SIGKILL after $STOP_GRACE s, default 30).
# Finished chunks are skipped, so rerunning after a failure only does what is left.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GPUS=8
MODEL=qwen-2.5-math-7b
LOG_DIR="$here/logs"
STOP_GRACE=${STOP_GRACE:-30}
PYTHON=${PYTHON:-}
EXTRA=()

usage() {
  cat <<USAGE
usage: $0 [--gpus N] [--model NAME] [--log_dir DIR] [--python PY] [-- generate_solutions.py flags...]

  --gpus N       workers, one per GPU (default $GPUS)
  --model NAME   qwen-2.5-math-7b / qwen3-4b-base or alias qwen25 / qwen3, or a model added with
                 --register_model among the workers' flags (default $MODEL)
  --log_dir DIR  per-GPU logs, and the workers' vLLM logs engine_<alias>_worker<g>.log (default $LOG_DIR)
  --python PY    interpreter (default: \$PYTHON, else $here/.venv/bin/python if present, else python3)
  after --        flags passed to every worker, e.g. -- --model_path /models/Qwen2.5-Math-7B --chunk_size 1000

example: $0 --gpus 8 -- --input_file cft_data/deepscaler_train.json --num_samples 8
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --gpus) GPUS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --log_dir) LOG_DIR=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "error: unknown option $1 (flags for the workers go after --)" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$PYTHON" ]; then
  if [ -x "$here/.venv/bin/python" ]; then PYTHON="$here/.venv/bin/python"; else PYTHON=python3; fi
fi
case "$GPUS" in ''|*[!0-9]*|0) echo "error: --gpus must be a positive integer, got '$GPUS'" >&2; exit 2 ;; esac

# Check the whole plan once before any GPU is touched (bad input, bad flags, foreign chunk files).
if ! "$PYTHON" "$here/generate_solutions.py" --model "$MODEL" "${EXTRA[@]}" --dry_run > /dev/null; then
  echo "error: the plan check failed (see above); no worker started" >&2
  exit 1
fi

mkdir -p "$LOG_DIR"
register=()  # a model added with --register_model (among the workers' flags) is known here too
for ((i = 0; i < ${#EXTRA[@]}; i++)); do
  [ "${EXTRA[$i]}" = --register_model ] && register+=(--register_model "${EXTRA[$((i + 1))]:-}")
done
alias_name=$(PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m cft.pipeline model "$MODEL" "${register[@]}" | cut -d' ' -f2)
pids=()
# Ctrl-C / SIGTERM: SIGTERM to each worker's process group (the worker and its vLLM processes),
# SIGKILL to whatever is left of them after $STOP_GRACE s; a worker's own watchdog
# (cft/common/reaper.py) also ends its engine's processes once the worker is gone.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]; }
stop_all() {
  trap '' INT TERM
  echo "stopping ${#pids[@]} workers (SIGTERM, then SIGKILL after ${STOP_GRACE} s)..." >&2
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  local end=$((SECONDS + STOP_GRACE)) left
  while :; do
    left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=$((left + 1)); done
    [ "$left" -eq 0 ] || [ "$SECONDS" -ge "$end" ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait
  echo "stopped; rerun this command to do the missing chunks" >&2
  exit "$1"
}
trap 'stop_all 130' INT
trap 'stop_all 143' TERM

for ((g = 0; g < GPUS; g++)); do
  log="$LOG_DIR/${alias_name}_gpu$g.log"
  CUDA_VISIBLE_DEVICES=$g setsid "$PYTHON" "$here/generate_solutions.py" --model "$MODEL" \
    --worker_id "$g" --num_workers "$GPUS" --log_dir "$LOG_DIR" "${EXTRA[@]}" > "$log" 2>&1 &
  pids+=($!)
  echo "GPU $g: worker pid $! -> $log"
done

codes=()
for pid in "${pids[@]}"; do
  wait "$pid"
  codes+=($?)
done
trap - INT TERM

failed_workers=0
printf '\n%-5s %-8s %-8s %-6s %s\n' GPU done failed exit log
for ((g = 0; g < GPUS; g++)); do
  log="$LOG_DIR/${alias_name}_gpu$g.log"
  planned=$(grep -m1 -o 'to run: \[[0-9, ]*\]' "$log" | grep -o '[0-9]\+' | wc -l)
  # (-o, not ^: a progress bar's carriage returns can share the line with a chunk's log line)
  written=$(grep -o 'chunk [0-9]*: [0-9]* problems' "$log" | wc -l)
  skipped=$(grep -o 'chunk [0-9]*: skipped' "$log" | wc -l)
  failed=$((planned - written))
  [ "${codes[$g]}" -eq 0 ] || failed_workers=$((failed_workers + 1))
  printf '%-5s %-8s %-8s %-6s %s\n' "$g" "$((written + skipped))" "$failed" "${codes[$g]}" "$log"
done
if [ "$failed_workers" -gt 0 ]; then
  echo "$failed_workers of $GPUS workers failed; rerun this command to redo their missing chunks" >&2
  exit 1
fi
echo "all $GPUS workers finished"
