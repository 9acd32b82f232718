#!/usr/bin/env bash
# Benchmarks (speed targets live here, never as timed assertions in tests).
#   make bench          the ratio suite (all): each figure against its peer, into bench/results/ and
#                       the table of bench/README.md
#   bash bench/run.sh permutation|cli|callback|packing|feature_cache|orchestration|orchestration_quick|report
#   bash bench/run.sh presets   whole-preset wall times (long; or one: smoke|pooling_grid|soup_finetune|
#                       cl_baselines|cl_fewshot|mates_selection|levi_ood|levi_shift)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
which=${1:-all}
out=$(mktemp -d /tmp/bench-XXXX)
export BENCH_RECORD="$out/figures.jsonl" BENCH_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
began=$(date +%s)

part() {  # part NAME: says where the suite's time goes
  echo "[bench] $1 at +$(( $(date +%s) - began )) s"
}

timed() {  # timed NAME CMD...: wall time of one command, printed as "NAME: N s"
  local name=$1; shift
  local start end ms
  start=$(date +%s%N)
  "$@" > "$out/$name.log" 2>&1
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  printf '%s: %d.%01d s\n' "$name" $((ms / 1000)) $(((ms % 1000) / 100))
}

if [[ $which == all || $which == permutation ]]; then
  part permutation
  # The per-example permutation test: ours vs scipy's, as a ratio measured in one run.
  PYTHONPATH=. "$PY" bench/permutation_test.py
fi
if [[ $which == all || $which == cli ]]; then
  part cli
  # CLI latency as a ratio to `python -c "import hydra"`.
  "$PY" bench/cli_latency.py
fi
if [[ $which == all || $which == callback ]]; then
  part callback
  # The driver's MLflow callback, milliseconds per reported result (goal <= 5 ms), SQLite and server.
  PYTHONPATH=. "$PY" bench/callback_latency.py
fi
if [[ $which == all || $which == packing ]]; then
  part packing
  # Encoding tokens/s of backbone.packing none|sort|prepack on STS-B + 20NG (goal: prepack >= 2x none).
  PYTHONPATH=. "$PY" bench/packing_throughput.py --model smollm2
  PYTHONPATH=. "$PY" bench/packing_throughput.py --model minilm
fi
if [[ $which == all || $which == feature_cache ]]; then
  part feature_cache
  # A frozen trial with a warm vs a cold cache (goal >= 10x); the cache builder's tokens/s vs a
  # bare transformers forward at its best batch size (goal >= 0.9).
  PYTHONPATH=. "$PY" bench/feature_cache.py
fi
if [[ $which == all || $which == orchestration ]]; then
  part orchestration
  # This platform vs a plain loop, Hydra --multirun and plain Ray Tune (goals: efficiency >= 0.85 with
  # 2 slots, <= 5% slower than Ray Tune, per-trial overhead flat from 8 to 128 trials).
  PYTHONPATH=. "$PY" bench/orchestration.py
fi
if [[ $which == orchestration_quick ]]; then
  # 4 tiny trials, one repetition, no figures recorded: does it all run
  BENCH_RECORD= PYTHONPATH=. "$PY" bench/orchestration.py --quick
fi
if [[ $which == presets || $which == smoke ]]; then
  # Target: about a minute on 2 CPU cores.
  timed smoke_sweep "$PY" sweep.py +experiment=smoke "paths.output_dir=$out/smoke"
fi
if [[ $which == presets || $which == pooling_grid ]]; then
  # Targets: <= 15 min on a first run (GGUF conversion + feature caches), <= 5 min cached.
  PYTHON=$PY bash bench/pooling_grid.sh "$out/pooling_grid"
fi
if [[ $which == presets || $which == report ]]; then
  # The significance report rebuilt from a finished pooling_grid store (REPORT_STORE, default: the
  # one the pooling_grid benchmark just wrote) with the preset's analysis settings. Target: <= 15 s.
  store=${REPORT_STORE:-$out/pooling_grid/mlflow.db}
  if [[ -f $store ]]; then
    PYTHONPATH=. "$PY" bench/report_time.py --tracking-uri "sqlite:///$store" --experiment pooling_grid \
      --set aso.enabled=false --set n_permutations=auto
  else
    echo "report: no store at $store (run the pooling_grid benchmark first, or set REPORT_STORE)"
  fi
fi
if [[ $which == presets || $which == soup_finetune ]]; then
  # Target: <= 20 min on 2 CPU cores (5 MiniLM fine-tunings + uniform and greedy soups).
  timed soup_finetune "$PY" sweep.py +experiment=soup_finetune "paths.output_dir=$out/soup_finetune"
fi
if [[ $which == presets || $which == cl_baselines ]]; then
  # Target: <= 20 min on 2 CPU cores, first run (MiniLM and EfficientNet-Lite0 feature caches
  # included): 6 methods x 3 seeds, each trial Split-20NG then Split-MNIST, + the report.
  timed cl_baselines "$PY" sweep.py +experiment=cl_baselines "paths.output_dir=$out/cl"
fi
if [[ $which == presets || $which == cl_fewshot ]]; then
  # Target: a few minutes (TEEN is training-free; one MiniLM feature cache).
  timed cl_fewshot "$PY" sweep.py +experiment=cl_fewshot "paths.output_dir=$out/cl"
fi
if [[ $which == presets || $which == mates_selection ]]; then
  # Target: <= 20 min on 2 CPU cores (3 selectors x 3 seeds, caches built inside the run).
  PYTHON=$PY bash bench/mates_selection.sh "$out/mates_selection"
fi
if [[ $which == presets || $which == levi_ood ]]; then
  # Target: <= 20 min on 2 CPU cores, 6 methods x 3 seeds, first run (feature cache included).
  timed levi_ood_sweep "$PY" sweep.py +experiment=levi_ood "paths.output_dir=$out/levi_ood"
fi
if [[ $which == presets || $which == levi_shift ]]; then
  # Target: <= 15 min on 2 CPU cores, 5 methods x 3 seeds, first run (feature cache included).
  timed levi_shift_sweep "$PY" sweep.py +experiment=levi_shift "paths.output_dir=$out/levi_shift"
fi
if [[ -s $BENCH_RECORD ]]; then
  PYTHONPATH=. "$PY" bench/results.py "$BENCH_RECORD"
fi
echo "[bench] done at +$(( $(date +%s) - began )) s; logs: $out"
