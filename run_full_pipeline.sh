#!/usr/bin/env bash
# The whole pipeline: step 0 (decontamination against the shipped evaluation sets), launch commands,
# solution generation (here, or printed for the GPUs), merge, filter, critique rows, verl rows, with a
# teacher the SFT critiques (step 6), the dataset folder (card and manifest), and a summary. Interactive at a terminal; --yes (or no
# terminal) runs unattended with the defaults. Each step's output is kept in <data_dir>/logs/ (vLLM's
# own output in a log of its own); a failing step stops the run and names itself.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
DATA_DIR=""
INPUT_FILE=""
MODELS="qwen-2.5-math-7b qwen3-4b-base"
CHUNK_SIZE=1000
NUM_SAMPLES=8
GPUS=8
MAX_PER_QUESTION=4
TOKENIZER=""
MAX_PROMPT_TOKENS=""
VAL_SIZE=""
LICENSE=""
YES=0
DEMO=0
VERBOSE=0
PYTHON=${PYTHON:-}
GEN_EXTRA=()
REGISTER=()        # --register_model SPEC pairs, passed to every step that names models
PATH_ITEMS=()      # MODEL=PATH, from --model_path (and --qwen25_path / --qwen3_path)
ARGS_ITEMS=()      # MODEL=FLAGS, from --model_args (and --qwen25_args / --qwen3_args)
DECONTAMINATE=1
DECONTAM_EXTRA=()
TEACHER_MODEL=""
TEACHER_URL=""
TEACHER_KEY_ENV=""
TEACHER_EXTRA=()

usage() {
  cat <<USAGE
usage: $0 [options] [-- flags for generate_solutions.py]

  --data_dir DIR        data root for every file (default: cft_data/ beside the scripts)
  --input_file FILE     problem set (default: <data_dir>/deepscaler_train.json)
  --models "A B ..."    models to generate with, any number (default: "$MODELS")
  --register_model SPEC add a model: name=N,alias=A,weights=HF_ID_OR_PATH,template=T (repeatable;
                        see generate_solutions.py --help)
  --model_path M=PATH   local weights for model M (name or alias; repeatable; default: its registered weights)
  --model_args M="..."  more generate_solutions.py flags for model M only (repeatable), e.g. qwen3="--seed 1"
  --qwen25_path PATH    the same as --model_path qwen25=PATH (qwen-2.5-math-7b)
  --qwen3_path PATH     the same as --model_path qwen3=PATH (qwen3-4b-base)
  --qwen25_args "..."   the same as --model_args qwen25="..."
  --qwen3_args "..."    the same as --model_args qwen3="..."
  --chunk_size N        problems per chunk file (default: $CHUNK_SIZE)
  --num_samples N       solutions per problem per model (default: $NUM_SAMPLES)
  --gpus N              GPUs per node in the printed commands (default: $GPUS)
  --no_decontaminate    skip step 0 (generate from the input as it is)
  --decontaminate_args "..."  more decontaminate.py flags, e.g. "--dedup --against aime24.jsonl"
  --max_samples_per_question N   critique rows per problem (default: $MAX_PER_QUESTION)
  --tokenizer PATH      tokenizer of the model verl will train: critique prompt lengths in its tokens
                        (--demo: the demo model's)
  --max_prompt_tokens N draw only solutions whose critique prompt fits N tokens, as verl counts them
                        (verl's data.max_prompt_length; needs --tokenizer; --demo: 1024)
  --val_size X          problems held out for validation: a fraction below 1 or a count (default:
                        format_critique_data.py's, 0.05; 0: none)
  --license ID          the dataset's licence on its card, a Hub licence identifier (default: unknown;
                        see build_dataset.py --help)
  --teacher_model PATH  run step 6 (create_critique_data.py) after step 5 with this teacher in a local vLLM
                        engine; with --teacher_server_url, the name the server serves (--demo: the demo model)
  --teacher_server_url URL  run step 6 with the teacher behind this OpenAI-compatible server
  --teacher_api_key_env NAME  environment variable holding that server's API key
  --teacher_args "..."  more create_critique_data.py flags, e.g. "--num_critiques 8 --tensor_parallel_size 8"
  --verbose             show vLLM's own output here (default: only in <data_dir>/logs/)
  --python PY           interpreter (default: \$PYTHON, else .venv/bin/python, else python3)
  --yes, -y             unattended: run missing chunks here, overwrite derived files
  --demo                the embedded default: shipped sample + SmolLM2-135M for both models (CPU)
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
    --register_model) REGISTER+=(--register_model "$2"); shift 2 ;;
    --model_path) PATH_ITEMS+=("$2"); shift 2 ;;
    --model_args) ARGS_ITEMS+=("$2"); shift 2 ;;
    --qwen25_path) PATH_ITEMS+=("qwen25=$2"); shift 2 ;;
    --qwen3_path) PATH_ITEMS+=("qwen3=$2"); shift 2 ;;
    --qwen25_args) ARGS_ITEMS+=("qwen25=$2"); shift 2 ;;
    --qwen3_args) ARGS_ITEMS+=("qwen3=$2"); shift 2 ;;
    --chunk_size) CHUNK_SIZE=$2; shift 2 ;;
    --num_samples) NUM_SAMPLES=$2; shift 2 ;;
    --gpus) GPUS=$2; shift 2 ;;
    --no_decontaminate) DECONTAMINATE=0; shift ;;
    --decontaminate_args) read -r -a DECONTAM_EXTRA <<< "$2"; shift 2 ;;
    --max_samples_per_question) MAX_PER_QUESTION=$2; shift 2 ;;
    --tokenizer) TOKENIZER=$2; shift 2 ;;
    --max_prompt_tokens) MAX_PROMPT_TOKENS=$2; shift 2 ;;
    --val_size) VAL_SIZE=$2; shift 2 ;;
    --license) LICENSE=$2; shift 2 ;;
    --teacher_model) TEACHER_MODEL=$2; shift 2 ;;
    --teacher_server_url) TEACHER_URL=$2; shift 2 ;;
    --teacher_api_key_env) TEACHER_KEY_ENV=$2; shift 2 ;;
    --teacher_args) read -r -a TEACHER_EXTRA <<< "$2"; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
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
if [ -z "$DATA_DIR" ]; then
  DATA_DIR=$("$PYTHON" -c "from cft.common import paths; print(paths.DATA_DIR)") ||
    { echo "error: cannot import cft with $PYTHON (make venv, or pass --python)" >&2; exit 1; }
fi
INPUT_FILE=${INPUT_FILE:-$DATA_DIR/deepscaler_train.json}
LOG_DIR="$DATA_DIR/logs"
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/summary_*.json  # each step of this run writes its own
SUMMARIES=()
START=$(date +%s)

banner() { printf '\n\033[1m=== %s ===\033[0m\n' "$*"; }

# run_step NAME CMD...: run one step, its output to the screen and to logs/pipeline_NAME.log; its
# summary JSON (logs/summary_NAME.json) joins the closing summary
run_step() {
  local name=$1; shift
  local log="$LOG_DIR/pipeline_$name.log"
  banner "$name"
  "$@" --summary_json "$LOG_DIR/summary_$name.json" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "" >&2
    echo "pipeline stopped: step '$name' failed (exit $rc); its log is $log" >&2
    exit "$rc"
  fi
  SUMMARIES+=("$LOG_DIR/summary_$name.json")
}

ask() {  # ask QUESTION DEFAULT -> answer on stdout
  local answer
  if [ "$YES" -eq 1 ]; then echo "$2"; return; fi
  read -r -p "$1 [$2] " answer < /dev/tty
  echo "${answer:-$2}"
}

if [ "$DEMO" -eq 1 ]; then
  banner "demo model"
  DEMO_MODEL=$("$PYTHON" -m cft.fixtures.demo_model | tail -n 1) || { echo "pipeline stopped: could not build the demo model" >&2; exit 1; }
  echo "SmolLM2-135M-Instruct at $DEMO_MODEL stands in for both Qwen models (which need GPUs)"
  PATH_ITEMS=("qwen25=$DEMO_MODEL" "qwen3=$DEMO_MODEL" "${PATH_ITEMS[@]}")
  # the budget of the README's verl command (data.max_prompt_length=1024), in the demo model's tokens
  TOKENIZER=${TOKENIZER:-$DEMO_MODEL}
  MAX_PROMPT_TOKENS=${MAX_PROMPT_TOKENS:-1024}
  CHUNK_SIZE=16
  GPUS=2
  # a raw 3-shot prompt with boxed answers; the two models differ in temperature and seed.
  # float32 and eager mode: this CPU has no bf16 units (bf16 decodes 2.5x slower) and
  # torch.compile adds ~2 min to each engine start for no decode speed-up (measured).
  GEN_EXTRA=(--prompt_template fewshot-boxed --max_tokens 40 --max_model_len 1024 --dtype float32
             --enforce_eager "${GEN_EXTRA[@]}")
  ARGS_ITEMS=("qwen25=--temperature 0.7 --seed 0" "qwen3=--temperature 1.0 --seed 1" "${ARGS_ITEMS[@]}")
  # step 6 with the same model as the teacher, on the first 12 rows of each split: two worked examples show
  # it the verdict format (without them SmolLM2-135M writes none), short critiques, the same engine settings
  if [ -z "$TEACHER_URL" ]; then
    TEACHER_MODEL=${TEACHER_MODEL:-$DEMO_MODEL}
    TEACHER_EXTRA=(--max_rows 12 --chunk_size 8 --format_examples --max_tokens 96 --temperature 0.8
                   --max_model_len 2048 --dtype float32 --enforce_eager "${TEACHER_EXTRA[@]}")
  fi
fi

[ -f "$INPUT_FILE" ] || { echo "error: input file $INPUT_FILE not found" >&2; exit 1; }

# --- the models: name and alias of each, and its per-model weights and flags --------------------
declare -A NAME_OF MODEL_PATH MODEL_ARGS
resolve() {  # resolve NAME_OR_ALIAS: sets name and a; a model nobody registered stops the run here
  local out
  out=$("$PYTHON" -m cft.pipeline model "$1" "${REGISTER[@]}") || { echo "pipeline stopped: unknown model $1" >&2; exit 1; }
  read -r name a <<< "$out"
}
ALIASES=()
for m in $MODELS; do
  resolve "$m"
  NAME_OF[$a]=$name
  ALIASES+=("$a")
done
for item in "${PATH_ITEMS[@]}"; do
  resolve "${item%%=*}"
  MODEL_PATH[$a]=${item#*=}
done
for item in "${ARGS_ITEMS[@]}"; do
  resolve "${item%%=*}"
  MODEL_ARGS[$a]="${MODEL_ARGS[$a]:-} ${item#*=}"
done

# --- step 0: decontamination (derived: re-derived on every run, byte for byte the same for the
# same input and flags, so the chunk files of an earlier run still match) ------------------------
if [ "$DECONTAMINATE" -eq 1 ]; then
  run_step decontaminate "$PYTHON" "$here/decontaminate.py" --input_file "$INPUT_FILE" \
    --output_file "$DATA_DIR/deepscaler_train_clean.json" --overwrite "${DECONTAM_EXTRA[@]}"
  removed=$("$PYTHON" -m cft.pipeline field "$LOG_DIR/summary_decontaminate.json" removed)
  # nothing removed (and no field added): generate from the input itself, so chunk files made from
  # it before step 0 existed still match it
  if [ "$removed" != "0" ] || [[ " ${DECONTAM_EXTRA[*]} " == *" --source_index_field "* ]]; then
    INPUT_FILE="$DATA_DIR/deepscaler_train_clean.json"
  else
    echo "step 0 removed nothing: generating from $INPUT_FILE as it is"
  fi
else
  "$PYTHON" -m cft.pipeline skipped "$LOG_DIR/summary_decontaminate.json" decontaminate "step 0" \
    "skipped (--no_decontaminate)"
  SUMMARIES+=("$LOG_DIR/summary_decontaminate.json")
fi

# --- step 1a: launch commands -------------------------------------------------------------------
model_path_args=()
for a in "${ALIASES[@]}"; do
  [ -n "${MODEL_PATH[$a]:-}" ] && model_path_args+=(--model_path "$a=${MODEL_PATH[$a]}")
done
banner commands
"$PYTHON" "$here/generate_commands.py" --input_file "$INPUT_FILE" --chunk_size "$CHUNK_SIZE" \
  --num_samples "$NUM_SAMPLES" --num_gpus "$GPUS" --models "${ALIASES[@]}" --output_dir "$DATA_DIR" \
  --log_dir "$LOG_DIR" "${model_path_args[@]}" "${REGISTER[@]}" --extra "${GEN_EXTRA[*]}" \
  > "$DATA_DIR/commands.txt" || { echo "pipeline stopped: step 'commands' failed" >&2; exit 1; }
cat "$DATA_DIR/commands.txt"
for a in "${ALIASES[@]}"; do
  grep -A "$GPUS" "^# ${NAME_OF[$a]}:" "$DATA_DIR/commands.txt" > "$DATA_DIR/run_$a.sh"
done
echo "per-GPU scripts: $(for a in "${ALIASES[@]}"; do printf '%s ' "$DATA_DIR/run_$a.sh"; done)"

# --- step 1b: solutions -------------------------------------------------------------------------
banner "solutions"
missing_total=0
for a in "${ALIASES[@]}"; do
  counts=$("$PYTHON" -m cft.pipeline chunks "$INPUT_FILE" "$CHUNK_SIZE" "$DATA_DIR/solutions_$a" "${NAME_OF[$a]}") ||
    { echo "pipeline stopped: cannot read $INPUT_FILE" >&2; exit 1; }
  read -r have want <<< "$counts"
  echo "${NAME_OF[$a]}: $have of $want chunk files in $DATA_DIR/solutions_$a"
  missing_total=$((missing_total + want - have))
done

if [ "$missing_total" -gt 0 ]; then
  choice=$(ask "$missing_total chunks missing: run them [h]ere one after another, or [p]rint the per-GPU commands and stop?" h)
  case "$choice" in
    p*|P*)
      echo "Run on the GPU node(s), then rerun this script:"
      for a in "${ALIASES[@]}"; do echo "  bash $DATA_DIR/run_$a.sh   # ${NAME_OF[$a]}, $GPUS GPUs"; done
      echo "or, with Slurm: $PYTHON $here/generate_commands.py --format slurm (see docs/generation.md)"
      exit 0 ;;
  esac
  verbose_args=()
  [ "$VERBOSE" -eq 1 ] && verbose_args=(--verbose)
  for a in "${ALIASES[@]}"; do
    path_args=()
    [ -n "${MODEL_PATH[$a]:-}" ] && path_args=(--model_path "${MODEL_PATH[$a]}")
    read -r -a own_args <<< "${MODEL_ARGS[$a]:-}"
    run_step "generate_$a" "$PYTHON" "$here/generate_solutions.py" --model "$a" "${path_args[@]}" "${REGISTER[@]}" \
      --input_file "$INPUT_FILE" --output_dir "$DATA_DIR/solutions_$a" --chunk_size "$CHUNK_SIZE" \
      --num_samples "$NUM_SAMPLES" --engine_log "$LOG_DIR/pipeline_generate_$a.engine.log" "${verbose_args[@]}" \
      "${GEN_EXTRA[@]}" "${own_args[@]}"
  done
fi

# --- steps 2-5 (derived files: re-derived on every run, so --overwrite) -------------------------
chunk_dirs=() solution_files=()
for a in "${ALIASES[@]}"; do
  chunk_dirs+=("$a=$DATA_DIR/solutions_$a")
  solution_files+=("$a=$DATA_DIR/deepscaler_${a}_solutions.json")
done
run_step merge "$PYTHON" "$here/merge_solutions.py" --chunk_dir "${chunk_dirs[@]}" "${REGISTER[@]}" \
  --output_dir "$DATA_DIR" --input_file "$INPUT_FILE" --overwrite
run_step filter "$PYTHON" "$here/filter_solutions.py" --solutions "${solution_files[@]}" \
  --original_file "$INPUT_FILE" --output_file "$DATA_DIR/deepscaler_train_filter.json" --analyze --overwrite
budget_args=()
[ -n "$TOKENIZER" ] && budget_args+=(--tokenizer "$TOKENIZER")
[ -n "$MAX_PROMPT_TOKENS" ] && budget_args+=(--max_prompt_tokens "$MAX_PROMPT_TOKENS")
val_args=()
[ -n "$VAL_SIZE" ] && val_args+=(--val_size "$VAL_SIZE")
run_step critique "$PYTHON" "$here/generate_critique_data.py" --filtered_file "$DATA_DIR/deepscaler_train_filter.json" \
  --output_file "$DATA_DIR/deepscaler_critique.json" --max_samples_per_question "$MAX_PER_QUESTION" --analyze \
  --overwrite "${REGISTER[@]}" "${budget_args[@]}"
run_step format "$PYTHON" "$here/format_critique_data.py" --critique_file "$DATA_DIR/deepscaler_critique.json" \
  --output_file "$DATA_DIR/deepscaler_critique_formatted.json" --overwrite "${val_args[@]}"

# --- step 6, with a teacher: critiques checked against the labels, as SFT rows (its work chunks resume) ---
dataset_args=(--rl_file "$DATA_DIR/deepscaler_critique_formatted.parquet")
if [ -n "$TEACHER_MODEL" ] || [ -n "$TEACHER_URL" ]; then
  teacher_args=()
  [ -n "$TEACHER_MODEL" ] && teacher_args+=(--teacher_model "$TEACHER_MODEL")
  [ -n "$TEACHER_URL" ] && teacher_args+=(--server_url "$TEACHER_URL")
  [ -n "$TEACHER_KEY_ENV" ] && teacher_args+=(--api_key_env "$TEACHER_KEY_ENV")
  [ "$VERBOSE" -eq 1 ] && teacher_args+=(--verbose)
  run_step sft "$PYTHON" "$here/create_critique_data.py" \
    --formatted_file "$DATA_DIR/deepscaler_critique_formatted.json" --output_file "$DATA_DIR/deepscaler_critique_sft.jsonl" \
    --engine_log "$LOG_DIR/pipeline_sft.engine.log" "${teacher_args[@]}" "${TEACHER_EXTRA[@]}"
  dataset_args+=(--sft_file "$DATA_DIR/deepscaler_critique_sft.parquet")
fi

# --- the dataset folder: step 5's files as datasets.load_dataset reads them, the card written from
# this run's summaries (logs/summary_*.json), the manifest last ------------------------------------
license_args=()
[ -n "$LICENSE" ] && license_args+=(--license "$LICENSE")
run_step dataset "$PYTHON" "$here/build_dataset.py" "${dataset_args[@]}" \
  --summaries "$LOG_DIR" --output_dir "$DATA_DIR/dataset" --overwrite "${license_args[@]}"

# --- summary ------------------------------------------------------------------------------------
# each step wrote its summary as JSON; they are joined into <data_dir>/pipeline_summary.json
banner "summary"
"$PYTHON" -m cft.pipeline summary "$DATA_DIR/pipeline_summary.json" "$(( $(date +%s) - START ))" "${SUMMARIES[@]}" ||
  { echo "pipeline stopped: could not write the summary" >&2; exit 1; }
echo "logs: $LOG_DIR"
echo "train a critic on these files with verl: docs/training.md; publish $DATA_DIR/dataset: docs/publishing.md"
