#!/usr/bin/env bash
# Run step 1 for one model on one node through vLLM servers started here: K OpenAI-compatible
# servers share the node's N GPUs (N/K each, as --data-parallel-size N/K), on 127.0.0.1 ports
# P, P+1, ...; once every one answers /v1/models, one generate_solutions.py process sends them
# its requests (--server_url ...), and the servers are stopped when it ends, whatever the end.
# The plan is checked first (--dry_run, no server started); a plan with nothing left to run starts
# no server. SIGTERM or Ctrl-C goes to the generation (which, with --term_grace_s, finishes the
# chunks in flight that end in time), then the servers stop. Slurm: generate_commands.py --format
# slurm --serve writes a job array whose tasks exec this script, one node each.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GPUS=8
SERVERS=1
PORT=8000
LOG_DIR="$here/logs"
MODEL_PATH=
SERVER_ARGS=
READY_TIMEOUT_S=1800
STOP_GRACE=${STOP_GRACE:-30}
PYTHON=${PYTHON:-}
GEN=()

usage() {
  cat <<USAGE
usage: $0 --model_path PATH [--gpus N] [--servers K] [--port P] [--server_args "..."] [--log_dir DIR]
          [--python PY] [--ready_timeout_s S] -- generate_solutions.py flags...

  --model_path PATH    the weights the servers load, and the tokenizer generation renders prompts with
  --gpus N             GPUs of this node (default $GPUS): \$CUDA_VISIBLE_DEVICES if set, else 0..N-1
  --servers K          servers, N/K GPUs each as --data-parallel-size N/K (default $SERVERS: one server
                       on every GPU; --servers N: one per GPU)
  --port P             the first server's port on 127.0.0.1 (default $PORT); server k listens on P+k
  --server_args "..."  more flags for every server (vllm.entrypoints.openai.api_server), e.g.
                       "--max-model-len 4096 --gpu-memory-utilization 0.9"
  --log_dir DIR        the servers' logs, server_<host>_<port>.log (default $LOG_DIR); in a Slurm job
                       server_<host>_<port>_job<id>_attempt<n>.log
  --python PY          interpreter (default: \$PYTHON, else $here/.venv/bin/python if present, else python3)
  --ready_timeout_s S  how long the servers may take to start (default $READY_TIMEOUT_S)
  after --              generate_solutions.py's flags (--model and the rest; not --model_path or --server_url)

example: $0 --model_path /models/Qwen2.5-Math-7B --gpus 8 -- --model qwen25 --chunk_size 1000
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --model_path) MODEL_PATH=$2; shift 2 ;;
    --gpus) GPUS=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --server_args) SERVER_ARGS=$2; shift 2 ;;
    --log_dir) LOG_DIR=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    --ready_timeout_s) READY_TIMEOUT_S=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; GEN=("$@"); break ;;
    *) echo "error: unknown option $1 (flags for generate_solutions.py go after --)" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$PYTHON" ]; then
  if [ -x "$here/.venv/bin/python" ]; then PYTHON="$here/.venv/bin/python"; else PYTHON=python3; fi
fi
[ -n "$MODEL_PATH" ] || { echo "error: --model_path is required (the weights the servers load)" >&2; exit 2; }
for v in GPUS SERVERS PORT READY_TIMEOUT_S; do
  case "${!v}" in ''|*[!0-9]*|0) echo "error: --${v,,} must be a positive integer, got '${!v}'" >&2; exit 2 ;; esac
done
if [ $((GPUS % SERVERS)) -ne 0 ]; then
  echo "error: --gpus $GPUS cannot be split evenly over --servers $SERVERS" >&2; exit 2
fi
GEN=("${GEN[@]}" --model_path "$MODEL_PATH")

# The plan first, before any server: bad flags, bad rows, foreign chunk files; nothing left to do.
plan=$("$PYTHON" "$here/generate_solutions.py" "${GEN[@]}" --dry_run) || {
  echo "error: the plan check failed (see above); no server started" >&2; exit 1; }
if grep -q 'to run: \[\]' <<< "$plan"; then
  echo "nothing left to run; no server started"
  exec "$PYTHON" "$here/generate_solutions.py" "${GEN[@]}"  # prints the summary (and --summary_json)
fi

IFS=, read -r -a devices <<< "${CUDA_VISIBLE_DEVICES:-$(seq -s, 0 $((GPUS - 1)))}"
if [ "${#devices[@]}" -lt "$GPUS" ]; then
  echo "error: --gpus $GPUS but CUDA_VISIBLE_DEVICES lists ${#devices[@]} GPUs" >&2; exit 2
fi
per=$((GPUS / SERVERS))
read -r -a server_args <<< "$SERVER_ARGS"
mkdir -p "$LOG_DIR"
server_pids=() urls=() logs=()
gen_pid=

stop_servers() {
  trap '' INT TERM
  [ "${#server_pids[@]}" -eq 0 ] && return
  for pid in "${server_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  local end=$((SECONDS + STOP_GRACE)) pid left
  while :; do
    left=0
    for pid in "${server_pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=$((left + 1)); done
    [ "$left" -eq 0 ] || [ "$SECONDS" -ge "$end" ] && break
    sleep 0.5
  done
  for pid in "${server_pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait "${server_pids[@]}" 2>/dev/null
  echo "servers stopped"
  server_pids=()
}
on_signal() {  # to the generation if it runs (it finishes what it can in its grace), else stop here
  if [ -n "$gen_pid" ]; then kill -TERM "$gen_pid" 2>/dev/null; else stop_servers; exit "$1"; fi
}
trap stop_servers EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

tag=  # in a Slurm job, one log per job (array task) and attempt, as cft.common.engine_log.slurm_tag names them
if [ -n "${SLURM_JOB_ID:-}" ]; then
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then tag="_job${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; else tag="_job$SLURM_JOB_ID"; fi
  tag="${tag}_attempt${SLURM_RESTART_COUNT:-0}"
fi
for ((k = 0; k < SERVERS; k++)); do
  port=$((PORT + k))
  gpus=$(IFS=,; echo "${devices[*]:$((k * per)):$per}")
  logs+=("$LOG_DIR/server_$(hostname)_$port$tag.log")
  CUDA_VISIBLE_DEVICES=$gpus setsid "$PYTHON" -m vllm.entrypoints.openai.api_server --model "$MODEL_PATH" \
    --host 127.0.0.1 --port "$port" --data-parallel-size "$per" "${server_args[@]}" > "${logs[$k]}" 2>&1 &
  server_pids+=($!)
  urls+=("http://127.0.0.1:$port")
  echo "server $k: GPUs $gpus, ${urls[$k]}, pid $!, log ${logs[$k]}"
done

answers() {  # any HTTP reply to /v1/models (even 401: a server that wants a key) means it is up
  "$PYTHON" -c 'import sys, httpx; sys.exit(httpx.get(sys.argv[1] + "/v1/models", timeout=5).status_code >= 500)' \
    "$1" 2>/dev/null
}
deadline=$((SECONDS + READY_TIMEOUT_S))
for ((k = 0; k < SERVERS; k++)); do
  until answers "${urls[$k]}"; do
    if ! kill -0 "${server_pids[$k]}" 2>/dev/null; then
      echo "error: server $k (${urls[$k]}) exited while starting; the end of ${logs[$k]}:" >&2
      tail -n 15 "${logs[$k]}" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: server $k (${urls[$k]}) did not answer within ${READY_TIMEOUT_S} s; see ${logs[$k]}" >&2
      exit 1
    fi
    sleep 2
  done
done
echo "all $SERVERS servers answer; generating"

"$PYTHON" "$here/generate_solutions.py" "${GEN[@]}" --server_url "${urls[@]}" &
gen_pid=$!
while :; do
  wait "$gen_pid"
  code=$?
  kill -0 "$gen_pid" 2>/dev/null || break  # (a signal interrupted the wait: wait again)
done
exit "$code"
