#!/usr/bin/env bash
# Times the MATES selection study (on 2 CPU cores): 3 selectors x 3 seeds, from an
# empty output folder (the pool, the MiniLM pool embeddings and the perplexity scores are built
# once inside the run), significance report included: <= 20 min.
# Usage: bench/mates_selection.sh [OUTPUT_DIR] [extra Hydra overrides...]
# Run from the checkout root; PYTHON defaults to python (e.g. PYTHON=/work/main/.venv/bin/python).
set -uo pipefail
OUT=${1:-/tmp/matesbench}
shift || true
PY=${PYTHON:-python}
export HF_HUB_OFFLINE=1 PYTHONPATH=${PYTHONPATH:-$PWD}
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
"$PY" sweep.py +experiment=mates_selection paths.output_dir="$OUT" "$@" > "$OUT/bench.log" 2>&1
rc=$?
end=$(date +%s)
echo "mates_selection: $((end - start)) s (target <= 1200 s), exit $rc, load $(cut -d' ' -f1-3 /proc/loadavg) (log: $OUT/bench.log)" \
  | tee -a "$OUT/bench.txt"
