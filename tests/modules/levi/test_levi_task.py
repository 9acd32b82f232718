"""The LEVI task on a tiny BERT and a few documents per newsgroup: frozen (cached) and LoRA (live)
LEVI both return ID/OOD accuracy and the gap and write per-example OOD correctness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from modules.evaluation.per_example import read_per_example
from modules.levi.task import LeviTask
from modules.task import RunContext

CONF = Path(__file__).resolve().parents[3] / "conf"


def _cfg(method: str, tiny_bert: str, out: Path):
    overrides = [
        "+experiment=levi_ood", f"levi={method}", f"paths.output_dir={out}",
        f"backbone.source={tiny_bert}", "backbone.max_length=16", "levi.max_epochs=1",
        "data.train_per_group=3", "data.val_per_group=1", "data.test_per_group=2",
        "data.max_words=12", "levi.layers=[1,3]",
    ]  # fmt: skip
    with initialize_config_dir(str(CONF), version_base=None):
        return compose("sweep", overrides=overrides)


@pytest.mark.parametrize("method", ["levi", "levi_lora"])
def test_levi_task_reports_id_ood_and_gap(method, tiny_bert, tmp_path):
    art = tmp_path / "artifacts"
    metrics = LeviTask().run(_cfg(method, tiny_bert, tmp_path), RunContext(artifact_dir=art))
    assert {"id/acc", "ood/acc", "gap", "ood/acc_sci"} <= set(metrics)
    assert metrics["gap"] == pytest.approx(metrics["id/acc"] - metrics["ood/acc"])
    scores = read_per_example(art)
    frame, statistic = scores["ood/acc"]
    assert statistic == "mean" and len(frame) == 8 * 2
    assert frame["score"].mean() == pytest.approx(metrics["ood/acc"])
    assert set(frame["group"]).isdisjoint(set(scores["id/acc"][0]["group"]))
    assert any((tmp_path / "cache" / "features").glob("*.pt")) == (method == "levi")
