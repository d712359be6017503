#!/usr/bin/env bash
# The whole pipeline: step 0 (decontamination against the shipped evaluation sets), launch commands, solution generation (here, or printed for the GPUs),
# merge, filter, critique data, verl format, and a summary. Interactive at a terminal;
# --yes (or no terminal) runs unattended with the defaults. Each step's output is kept in
# <data_dir>/logs/; a failing step stops the run and names itself.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
DATA_DIR="$here/cft_data"
INPUT_FILE=""
MODELS="qwen-2.5-math-7b qwen3-4b-base"
CHUNK_SIZE=1000
NUM_SAMPLES=8
GPUS=8
MAX_PER_QUESTION=4
TOKENIZER=""
MAX_PROMPT_TOKENS=""
VAL_SIZE=""
QWEN25_PATH=""
QWEN3_PATH=""
YES=0
DEMO=0
PYTHON=${PYTHON:-}
GEN_EXTRA=()
QWEN25_EXTRA=()
QWEN3_EXTRA=()
DECONTAMINATE=1
DECONTAM_EXTRA=()

usage() {
  cat <<USAGE
usage: $0 [options] [-- flags for generate_solutions.py]

  --data_dir DIR        data root for every file (default: $DATA_DIR)
  --input_file FILE     problem set (default: <data_dir>/deepscaler_train.json)
  --models "A B"        models to generate with (default: "$MODELS")
  --chunk_size N        problems per chunk file (default: $CHUNK_SIZE)
  --num_samples N       solutions per problem per model (default: $NUM_SAMPLES)
  --gpus N              GPUs per node in the printed commands (default: $GPUS)
  --qwen25_path PATH    local weights for qwen-2.5-math-7b (default: its HF id)
  --qwen3_path PATH     local weights for qwen3-4b-base (default: its HF id)
  --qwen25_args "..."   more generate_solutions.py flags for qwen-2.5-math-7b only (e.g. "--seed 1")
  --qwen3_args "..."    the same for qwen3-4b-base
  --max_samples_per_question N   critique rows per problem (default: $MAX_PER_QUESTION)
  --tokenizer PATH      tokenizer of the model verl will train: critique prompt lengths in its tokens
                        (--demo: the demo model's)
  --max_prompt_tokens N draw only solutions whose critique prompt fits N tokens, as verl counts them
                        (verl's data.max_prompt_length; needs --tokenizer; --demo: 1024)
  --val_size X          problems held out for validation: a fraction below 1 or a count (default:
                        format_critique_data.py's, 0.05; 0: none)
  --python PY           interpreter (default: \$PYTHON, else .venv/bin/python, else python3)
  --yes, -y             unattended: run missing chunks here, overwrite derived files
  --demo                the embedded default: shipped sample + SmolLM2-135M in both model slots (CPU)
  -h, --help            this help

Without --yes at a terminal, the script asks before generating missing chunks: run them here
(one after another), or print the per-GPU commands and stop.
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --data_dir) DATA_DIR=$2; shift 2 ;;
    --input_file) INPUT_FILE=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --chunk_size) CHUNK_SIZE=$2; shift 2 ;;
    --num_samples) NUM_SAMPLES=$2; shift 2 ;;
    --gpus) GPUS=$2; shift 2 ;;
    --qwen25_path) QWEN25_PATH=$2; shift 2 ;;
    --qwen3_path) QWEN3_PATH=$2; shift 2 ;;
    --qwen25_args) read -r -a QWEN25_EXTRA <<< "$2"; shift 2 ;;
    --qwen3_args) read -r -a QWEN3_EXTRA <<< "$2"; shift 2 ;;
    --max_samples_per_question) MAX_PER_QUESTION=$2; shift 2 ;;
    --tokenizer) TOKENIZER=$2; shift 2 ;;
    --max_prompt_tokens) MAX_PROMPT_TOKENS=$2; shift 2 ;;
    --val_size) VAL_SIZE=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    -y|--yes) YES=1; shift ;;
    --demo) DEMO=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; GEN_EXTRA=("$@"); break ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$PYTHON" ]; then
  if [ -x "$here/.venv/bin/python" ]; then PYTHON="$here/.venv/bin/python"; else PYTHON=python3; fi
fi
[ -t 0 ] || YES=1  # no terminal: nobody to ask
INPUT_FILE=${INPUT_FILE:-$DATA_DIR/deepscaler_train.json}
LOG_DIR="$DATA_DIR/logs"
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/summary_*.json  # each step of this run writes its own
START=$(date +%s)

banner() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }

# run_step NAME CMD...: run one step, its output to the screen and to logs/pipeline_NAME.log
run_step() {
  local name=$1; shift
  local log="$LOG_DIR/pipeline_$name.log"
  banner "$name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "" >&2
    echo "pipeline stopped: step '$name' failed (exit $rc); its log is $log" >&2
    exit "$rc"
  fi
}

ask() {  # ask QUESTION DEFAULT -> answer on stdout
  local answer
  if [ "$YES" -eq 1 ]; then echo "$2"; return; fi
  read -r -p "$1 [$2] " answer < /dev/tty
  echo "${answer:-$2}"
}

if [ "$DEMO" -eq 1 ]; then
  banner "demo model"
  DEMO_MODEL=$("$PYTHON" -m cft.demo_model | tail -n 1) || { echo "pipeline stopped: could not build the demo model" >&2; exit 1; }
  echo "SmolLM2-135M-Instruct at $DEMO_MODEL stands in for both Qwen models (which need GPUs)"
  QWEN25_PATH=$DEMO_MODEL
  QWEN3_PATH=$DEMO_MODEL
  # the budget of the README's verl command (data.max_prompt_length=1024), in the demo model's tokens
  TOKENIZER=${TOKENIZER:-$DEMO_MODEL}
  MAX_PROMPT_TOKENS=${MAX_PROMPT_TOKENS:-1024}
  CHUNK_SIZE=16
  GPUS=2
  # a raw 3-shot prompt with boxed answers; the two slots differ in temperature and seed.
  # float32 and eager mode: this CPU has no bf16 units (bf16 decodes 2.5x slower) and
  # torch.compile adds ~2 min to each engine start for no decode speed-up (measured).
  GEN_EXTRA=(--prompt_template fewshot-boxed --max_tokens 40 --max_model_len 1024 --dtype float32
             --enforce_eager "${GEN_EXTRA[@]}")
  QWEN25_EXTRA=(--temperature 0.7 --seed 0 "${QWEN25_EXTRA[@]}")
  QWEN3_EXTRA=(--temperature 1.0 --seed 1 "${QWEN3_EXTRA[@]}")
  export VLLM_LOGGING_LEVEL=${VLLM_LOGGING_LEVEL:-WARNING}
fi

[ -f "$INPUT_FILE" ] || { echo "error: input file $INPUT_FILE not found" >&2; exit 1; }

# --- step 0: decontamination (derived: re-derived on every run, byte for byte the same for the
# same input and flags, so the chunk files of an earlier run still match) ------------------
DECONTAM_SUMMARY="$LOG_DIR/summary_decontaminate.json"
if [ "$DECONTAMINATE" -eq 1 ]; then
  run_step decontaminate "$PYTHON" "$here/decontaminate.py" --input_file "$INPUT_FILE" \
    --output_file "$DATA_DIR/deepscaler_train_clean.json" --overwrite --summary_json "$DECONTAM_SUMMARY" \
    "${DECONTAM_EXTRA[@]}"
  removed=$("$PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))['removed'])" "$DECONTAM_SUMMARY")
  # nothing removed (and no field added): generate from the input itself, so chunk files made from
  # it before step 0 existed still match it
  if [ "$removed" != "0" ] || [[ " ${DECONTAM_EXTRA[*]} " == *" --source_index_field "* ]]; then
    INPUT_FILE="$DATA_DIR/deepscaler_train_clean.json"
  else
    echo "step 0 removed nothing: generating from $INPUT_FILE as it is"
  fi
fi

alias_of() { "$PYTHON" -c "from cft.models import get_model; print(get_model('$1').alias)"; }
path_flags() {  # --model_path for a model, if one was given
  case "$(alias_of "$1")" in
    qwen25) [ -n "$QWEN25_PATH" ] && echo "--model_path $QWEN25_PATH" ;;
    qwen3) [ -n "$QWEN3_PATH" ] && echo "--model_path $QWEN3_PATH" ;;
  esac
}
slot_flags() {
  case "$(alias_of "$1")" in
    qwen25) echo "${QWEN25_EXTRA[@]}" ;;
    qwen3) echo "${QWEN3_EXTRA[@]}" ;;
  esac
}

# --- step 1a: launch commands -----------------------------------------------------------
model_path_args=()
[ -n "$QWEN25_PATH" ] && model_path_args+=(--model_path "qwen25=$QWEN25_PATH")
[ -n "$QWEN3_PATH" ] && model_path_args+=(--model_path "qwen3=$QWEN3_PATH")
run_step commands "$PYTHON" "$here/generate_commands.py" --input_file "$INPUT_FILE" --chunk_size "$CHUNK_SIZE" \
  --num_samples "$NUM_SAMPLES" --num_gpus "$GPUS" --models $MODELS --output_dir "$DATA_DIR" \
  --log_dir "$LOG_DIR" "${model_path_args[@]}" --extra "${GEN_EXTRA[*]}"
cp "$LOG_DIR/pipeline_commands.log" "$DATA_DIR/commands.txt"
for m in $MODELS; do
  grep -A "$GPUS" "^# $m:" "$DATA_DIR/commands.txt" > "$DATA_DIR/run_$(alias_of "$m").sh"
done
echo "per-GPU scripts: $(ls "$DATA_DIR"/run_*.sh | tr '\n' ' ')"

# --- step 1b: solutions -----------------------------------------------------------------
banner "solutions"
missing_total=0
for m in $MODELS; do
  a=$(alias_of "$m")
  counts=$("$PYTHON" - "$INPUT_FILE" "$CHUNK_SIZE" "$DATA_DIR/solutions_$a" "$m" <<'PY'
import sys
from cft.chunks import list_chunk_files, num_chunks
from cft.inputs import load_rows
total = num_chunks(len(load_rows(sys.argv[1])), int(sys.argv[2]))
print(len([c for c in list_chunk_files(sys.argv[3], sys.argv[4]) if c < total]), total)
PY
) || { echo "pipeline stopped: cannot read $INPUT_FILE" >&2; exit 1; }
  read -r have want <<< "$counts"
  echo "$m: $have of $want chunk files in $DATA_DIR/solutions_$a"
  missing_total=$((missing_total + want - have))
done

if [ "$missing_total" -gt 0 ]; then
  choice=$(ask "$missing_total chunks missing: run them [h]ere one after another, or [p]rint the per-GPU commands and stop?" h)
  case "$choice" in
    p*|P*)
      echo "Run on the GPU node(s), then rerun this script:"
      for m in $MODELS; do echo "  bash $DATA_DIR/run_$(alias_of "$m").sh   # $m, $GPUS GPUs"; done
      echo "or, with Slurm: $PYTHON $here/generate_commands.py --format slurm (see README)"
      exit 0 ;;
  esac
  for m in $MODELS; do
    a=$(alias_of "$m")
    # shellcheck disable=SC2046
    run_step "generate_$a" "$PYTHON" "$here/generate_solutions.py" --model "$m" $(path_flags "$m") \
      --input_file "$INPUT_FILE" --output_dir "$DATA_DIR/solutions_$a" --chunk_size "$CHUNK_SIZE" \
      --num_samples "$NUM_SAMPLES" --summary_json "$LOG_DIR/summary_generate_$a.json" "${GEN_EXTRA[@]}" \
      $(slot_flags "$m")
  done
fi

# --- steps 2-5 (derived files: re-derived on every run, so --overwrite) ----------------
run_step merge "$PYTHON" "$here/merge_solutions.py" --qwen25_dir "$DATA_DIR/solutions_qwen25" \
  --qwen3_dir "$DATA_DIR/solutions_qwen3" --output_dir "$DATA_DIR" --input_file "$INPUT_FILE" --overwrite \
  --summary_json "$LOG_DIR/summary_merge.json"
run_step filter "$PYTHON" "$here/filter_solutions.py" --qwen25_file "$DATA_DIR/deepscaler_qwen25_solutions.json" \
  --qwen3_file "$DATA_DIR/deepscaler_qwen3_solutions.json" --original_file "$INPUT_FILE" \
  --output_file "$DATA_DIR/deepscaler_train_filter.json" --analyze --overwrite \
  --summary_json "$LOG_DIR/summary_filter.json"
budget_args=()
[ -n "$TOKENIZER" ] && budget_args+=(--tokenizer "$TOKENIZER")
[ -n "$MAX_PROMPT_TOKENS" ] && budget_args+=(--max_prompt_tokens "$MAX_PROMPT_TOKENS")
val_args=()
[ -n "$VAL_SIZE" ] && val_args+=(--val_size "$VAL_SIZE")
run_step critique "$PYTHON" "$here/generate_critique_data.py" --filtered_file "$DATA_DIR/deepscaler_train_filter.json" \
  --output_file "$DATA_DIR/deepscaler_critique.json" --max_samples_per_question "$MAX_PER_QUESTION" --analyze --overwrite \
  --summary_json "$LOG_DIR/summary_critique.json" "${budget_args[@]}"
run_step format "$PYTHON" "$here/format_critique_data.py" --critique_file "$DATA_DIR/deepscaler_critique.json" \
  --output_file "$DATA_DIR/deepscaler_critique_formatted.json" --overwrite \
  --summary_json "$LOG_DIR/summary_format.json" "${val_args[@]}"

# --- summary ----------------------------------------------------------------------------
# each step wrote its summary as JSON; they are joined into <data_dir>/pipeline_summary.json
banner "summary"
"$PYTHON" -m cft.report "$LOG_DIR" "$DATA_DIR/pipeline_summary.json" "$(( $(date +%s) - START ))" ||
  { echo "pipeline stopped: could not write the summary" >&2; exit 1; }
echo "logs: $LOG_DIR"
echo "train a critic on these files with verl: README.md, section \"Train a critic with verl\""
