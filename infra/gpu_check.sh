#!/usr/bin/env bash
# GPU check, one H100/H200-class machine, a few minutes:
#   1. a pooling_grid trial with finetune=lora under DeepSpeed ZeRO-2 on the GPU (Ray Train, 1 worker);
#   2. two fractional-GPU trials (resources.gpu=0.5) side by side on the same GPU;
#   3. tokens/s and model FLOPs utilisation of LoRA embedding training (bench/gpu_throughput.py):
#      SmolLM2-135M and SmolLM2-1.7B's architecture, DDP and ZeRO-2, padded and prepacked;
# then prints what ran (strategy, device, status) and the measured throughput (training examples/s).
# Needs the project's environment (`make setup` on a networked GPU machine: PyPI's torch is a CUDA
# build there; keep constraints-cpu.txt's pin or relax it to the CUDA torch you have).
#   bash infra/gpu_check.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${1:-/tmp/gpu-check}
rm -rf "$OUT"; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

COMMON=(+experiment=pooling_grid "paths.output_dir=$OUT" trainer=gpu sweep.seeds=[0] sweep.verbose=0
        data.train_limit=2000 trainer.max_epochs=1 backbone.max_length=64)

start=$(date +%s)
"$PY" sweep.py "${COMMON[@]}" sweep.name=gpu_lora_zero2 finetune=lora strategy=deepspeed_zero2 \
  resources.workers=1 resources.gpu=1 resources.cpu=4 trainer.precision=bf16-mixed \
  "sweep.space.design='choice(multilayer_bidirectional)'" 2>&1 | tail -25
echo "lora + deepspeed_zero2: $(( $(date +%s) - start )) s wall"

start=$(date +%s)
"$PY" sweep.py "${COMMON[@]}" sweep.name=gpu_fractional resources.gpu=0.5 resources.cpu=4 \
  sweep.max_concurrent=2 "sweep.space.design='choice(mean_causal,latent_causal)'" 2>&1 | tail -25
echo "two trials at resources.gpu=0.5: $(( $(date +%s) - start )) s wall"

"$PY" - "$OUT" <<'PY'
import sys
from mlflow import MlflowClient
out = sys.argv[1]
client = MlflowClient(f"sqlite:///{out}/mlflow.db")
for name in ("gpu_lora_zero2", "gpu_fractional"):
    exp = client.get_experiment_by_name(name)
    runs = client.search_runs([exp.experiment_id]) if exp else []
    for run in (r for r in runs if "mlflow.parentRunId" in r.data.tags):
        seconds = (run.info.end_time - run.info.start_time) / 1000
        params = run.data.params
        examples = 2000  # data.train_limit x 1 epoch
        print(f"{name}: {run.data.tags.get('design')} status={run.info.status} "
              f"strategy={params.get('strategy', 'from preset')} wall={seconds:.0f}s "
              f"end-to-end throughput≈{examples / seconds:.1f} training examples/s "
              f"sts={run.data.metrics.get('sts/stsb/spearman', float('nan')):.3f}")
PY

start=$(date +%s)
PYTHONPATH=. "$PY" bench/gpu_throughput.py --gpu --model smollm2 smollm2-1.7b \
  --strategy ddp deepspeed_zero2 --packing none prepack --steps 30 --warmup 5 \
  --cache-dir "$OUT/cache/backbones" --out "$OUT/throughput.json" 2>&1 | grep -E "tokens/s|Error|error" || true
echo "LoRA throughput and MFU: $(( $(date +%s) - start )) s wall (rows: $OUT/throughput.json)"
