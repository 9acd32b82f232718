"""The Hydra peer of the orchestration benchmark: a Hydra app calling the platform's task, swept by
Hydra's ``--multirun`` with its basic launcher (one job after another, in this process).

    python bench/hydra_peer.py -m +experiment=smoke optim.lr=0.01,0.001 model.hidden=16,64 seed=0 \\
        hydra.sweep.dir=/tmp/h bench.out=/tmp/h/trials.jsonl

Each job appends its compute seconds to ``bench.out``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from sweeps.analysis.settings import register_schema
from sweeps.config import CONFIG_DIR, CONFIG_NAME
from sweeps.execute import execute


@hydra.main(config_path=str(CONFIG_DIR), config_name=CONFIG_NAME, version_base="1.3")
def main(cfg: DictConfig) -> None:
    start = time.perf_counter()
    out = Path(cfg.bench.out)
    OmegaConf.resolve(cfg)
    sampled = {"optim.lr": cfg.optim.lr, "model.hidden": cfg.model.hidden, "seed": cfg.seed}
    with tempfile.TemporaryDirectory(prefix="hydra-peer-") as artifacts:
        execute(cfg, sampled, [], Path(artifacts), None, "checkpoint")
    with out.open("a") as log:
        log.write(json.dumps({"trial_s": time.perf_counter() - start}) + "\n")


if __name__ == "__main__":
    register_schema()  # conf/analysis/default.yaml extends this structured schema, as in the platform
    main()
