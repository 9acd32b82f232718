#!/usr/bin/env bash
# Times the default pooling x attention study (on 2 CPU cores):
#   first run  (converts SmolLM2 from GGUF once, builds the frozen feature cache): <= 15 min
#   cached run (same output folder, caches reused):                                          <= 5 min
# Usage: bench/pooling_grid.sh [OUTPUT_DIR] [extra Hydra overrides...]
# Run from the checkout root; PYTHON defaults to python (e.g. PYTHON=/work/main/.venv/bin/python).
set -uo pipefail
OUT=${1:-/tmp/embout}
shift || true
PY=${PYTHON:-python}
export HF_HUB_OFFLINE=1 PYTHONPATH=${PYTHONPATH:-$PWD}
rm -rf "$OUT"
mkdir -p "$OUT"
for run in first cached; do
  start=$(date +%s)
  "$PY" sweep.py +experiment=pooling_grid paths.output_dir="$OUT" "$@" > "$OUT/bench-$run.log" 2>&1
  rc=$?
  end=$(date +%s)
  echo "$run run: $((end - start)) s, exit $rc, load $(cut -d' ' -f1-3 /proc/loadavg) (log: $OUT/bench-$run.log)" \
    | tee -a "$OUT/bench.txt"
done
