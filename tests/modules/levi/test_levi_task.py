"""The LEVI task on a tiny BERT and a few documents per newsgroup: frozen (cached) and LoRA (live)
LEVI both return ID/OOD accuracy and the gap and write per-example OOD correctness; the presets'
sanity contract finds the metrics it needs and orders linear probing against full fine-tuning."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from modules.contract.per_example import read_per_example
from modules.contract.run import RunContext
from modules.levi.task import LeviTask
from sweeps.analysis import AnalysisSettings
from sweeps.analysis.sanity import OK, VIOLATED, check_contract
from sweeps.config import compose_config

CONF = Path(__file__).resolve().parents[3] / "conf"


def _cfg(method: str, tiny_bert: str, out: Path, preset: str = "levi_ood"):
    overrides = [
        f"+experiment={preset}", f"levi={method}", f"paths.output_dir={out}",
        f"backbone.source={tiny_bert}", "backbone.max_length=16", "levi.max_epochs=1",
        "data.train_per_group=3", "data.val_per_group=1", "data.test_per_group=2",
        "data.max_words=12",
    ]  # fmt: skip
    # the tiny BERT has 3 layers; the single-layer methods take its last
    overrides.append(
        "++levi.layers=" + ("[3]" if method in ("linear_probe", "full_ft") else "[1,3]")
    )
    return compose_config(overrides)


@pytest.mark.parametrize("method", ["levi", "levi_lora"])
def test_levi_task_reports_id_ood_and_gap(method, tiny_bert, tmp_path):
    art = tmp_path / "artifacts"
    metrics = LeviTask().run(_cfg(method, tiny_bert, tmp_path), RunContext(artifact_dir=art))
    assert {"id/acc", "ood/acc", "gap", "ood/acc_sci"} <= set(metrics)
    assert metrics["gap"] == pytest.approx(metrics["id/acc"] - metrics["ood/acc"])
    scores = read_per_example(art)
    frame, statistic = scores["ood/acc"].frame, scores["ood/acc"].statistic
    assert statistic == "mean" and len(frame) == 8 * 2
    assert frame["score"].mean() == pytest.approx(metrics["ood/acc"])
    assert set(frame["group"]).isdisjoint(set(scores["id/acc"].frame["group"]))
    assert any((tmp_path / "cache" / "features").glob("*.pt")) == (method == "levi")


def test_sanity_contract_orders_probe_and_fine_tuning(tiny_bert, tmp_path):
    """On the shrunk levi_shift preset the contract's metric is reported by both designs, and the
    check says ok exactly when linear probing is above full fine-tuning out of distribution."""
    rows = []
    for method in ("linear_probe", "full_ft"):
        cfg = _cfg(method, tiny_bert, tmp_path, preset="levi_shift")
        metrics = LeviTask().run(cfg, RunContext(artifact_dir=tmp_path / method))
        rows.append({"design": f"levi={method}", "seed": 0, "status": "FINISHED", **metrics})
    runs = pd.DataFrame(rows)
    contract = OmegaConf.to_container(cfg.analysis.sanity)
    settings = AnalysisSettings.from_config(OmegaConf.to_container(cfg.analysis, resolve=True))
    [result] = check_contract(contract, runs, settings)
    probe, tuned = (
        runs.set_index("design")["ood/acc"][f"levi={m}"] for m in ("linear_probe", "full_ft")
    )
    assert result.status == (OK if probe > tuned else VIOLATED)
    flipped = [{**contract[0], "better": "levi=full_ft", "worse": "levi=linear_probe"}]
    [reverse] = check_contract(flipped, runs, settings)
    assert reverse.status == (OK if tuned > probe else VIOLATED)
