"""The continual study's sanity contract (conf/experiment/cl_baselines.yaml, analysis.sanity) on
tiny Split-MNIST runs of the real task: it holds with the default configs; the old setting
(BatchNorm in train mode, SGD at 0.01 on backbone and head, one epoch) loses task 0."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from modules.contract.run import RunContext

MNIST = "scenarios.split_mnist"


def _run(method: str, tmp_path: Path, *extra: str) -> dict[str, float]:
    """One run of the real task, seeded as a trial is (``sweeps.execute``): at 20 images per class
    the current task's accuracy spans 0.65-0.95 across seeds, so an unseeded run scores what the
    tests before it left in the global generators."""
    pytest.importorskip("mlxtend")
    pytest.importorskip("efficientnet_lite_pytorch")
    from lightning import seed_everything

    from modules.continual.task import ContinualTask
    from sweeps.config import compose_config, resolve

    cfg = resolve(
        compose_config(
            [
                "+experiment=cl_baselines",
                f"paths.output_dir={tmp_path}",
                "~scenarios.split_20ng",
                f"method={method}",
                f"{MNIST}.data.train_per_class=20",
                f"{MNIST}.data.test_per_class=10",
                *extra,
            ]
        )
    )
    seed_everything(0, workers=True, verbose=False)
    return ContinualTask().run(cfg, RunContext(artifact_dir=tmp_path / method))


def _rows(tmp_path: Path, methods: tuple[str, ...], *extra: str) -> list[dict]:
    return [
        {"design": f"method={m}", "status": "FINISHED", **_run(m, tmp_path / m, *extra)}
        for m in methods
    ]


def _contract() -> list[dict]:
    from omegaconf import OmegaConf

    from sweeps.config import compose_config

    cfg = compose_config(["+experiment=cl_baselines"])
    return OmegaConf.to_container(cfg.analysis.sanity, resolve=True)


@pytest.mark.slow
def test_contract_holds_with_the_defaults_on_a_tiny_split_mnist(tmp_path: Path) -> None:
    from sweeps.analysis.sanity import check_contract

    # 200 training images in all: joint gets the epochs that make it converge on so few
    joint = _rows(tmp_path, ("joint",), "method.epochs=10")
    fixed = check_contract(_contract(), pd.DataFrame(joint + _rows(tmp_path, ("finetune",))))
    status = {r.metric: r.status for r in fixed}
    assert status["cl/split_mnist/acc"] == "ok", [r.line() for r in fixed]  # joint bounds finetune
    assert status["cl/split_mnist/current_acc"] == "ok", [r.line() for r in fixed]
    assert status["cl/split_20ng/acc"] == "skipped"  # a scenario the sweep did not run


@pytest.mark.parametrize(
    ("setting", "above"),
    [
        ({"head_lr": 0.01}, True),  # the defaults, head_lr from conf/scenario/split_mnist.yaml
        ({"train_bn": True, "backbone_lr": 0.01, "head_lr": 0.01, "epochs": 1}, False),
    ],
)
def test_finetune_beats_chance_on_task_0_unless_batchnorm_trains(
    setting: dict, above: bool
) -> None:
    pytest.importorskip("mlxtend")
    pytest.importorskip("efficientnet_lite_pytorch")
    import torch

    from modules.continual.datasets import split_mnist
    from modules.continual.features import EfficientNetLite0Features
    from modules.continual.sequence import SequenceRun
    from modules.continual.trainable import FinetuneMethod

    torch.manual_seed(0)
    data = split_mnist(seed=0, train_per_class=40, test_per_class=20)
    method = FinetuneMethod(EfficientNetLite0Features(32), 1280, **setting)
    x_tr, x_te = torch.as_tensor(data.x_train), torch.as_tensor(data.x_test)
    run = SequenceRun(method, data.scenario, x_tr, data.y_train, x_te, data.y_test)
    current = run.step(0)["current_acc"]  # two classes: chance is 0.5
    assert (current > 0.8) if above else (current < 0.65)
