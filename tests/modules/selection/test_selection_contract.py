"""The MATES study's sanity contract (conf/experiment/mates_selection.yaml, ``analysis.sanity``):
a small real run reports every metric it needs and passes it; an evaluation set that overlaps the
probing set is flagged and violates it."""

from __future__ import annotations

import pandas as pd
import pytest
from omegaconf import OmegaConf

from modules.contract.run import RunContext
from modules.selection.selectors import RandomSelector
from modules.selection.task import SelectionTask
from sweeps.analysis.sanity import OK, VIOLATED, check_contract
from sweeps.analysis.settings import AnalysisSettings
from sweeps.config import compose_config, resolve
from tests.modules.selection.test_selection_stages import run_stages
from tests.modules.selection.tiny import one_thread, tiny_data

pytestmark = pytest.mark.usefixtures("one_thread")
__all__ = ["one_thread"]

SMALL = [
    "+experiment=mates_selection", "selection=random", "optim.lr=0.01",
    "task.stages=2", "task.stage_steps=50", "task.batch_size=8", "task.warmup_steps=2", "task.select_fraction=0",
    "model.hidden_size=64", "model.num_layers=1", "model.num_heads=2", "model.intermediate_size=128",
    "data.pool_per_source=300", "data.val_per_source=4", "data.heldout_sequences=8",
    "data.reference_sequences=8", "data.eval_sequences=16", "data.seq_len=32", "data.vocab_size=512",
    "data.wiki_reference_articles=2", "data.wiki_eval_articles=2", "data.wiki_heldout_articles=2",
]


def contract(cfg) -> tuple[list, AnalysisSettings]:
    analysis = OmegaConf.to_container(cfg.analysis, resolve=True)
    return analysis["sanity"], AnalysisSettings.from_config(analysis)


def runs(metrics: dict[str, float], design: str = "selection=random") -> pd.DataFrame:
    return pd.DataFrame([{"design": design, "status": "FINISHED", **metrics}])


def test_a_small_real_run_passes_the_contract(tmp_path):
    cfg = resolve(compose_config([*SMALL, f"paths.output_dir={tmp_path}"]))
    cfg.seed = 0
    metrics = SelectionTask(**{k: v for k, v in cfg.task.items() if k != "_target_"}).run(
        cfg, RunContext(artifact_dir=tmp_path / "artifacts"))
    entries, settings = contract(cfg)
    results = check_contract(entries, runs(metrics), settings)
    assert [r.status for r in results] == [OK] * 3, [r.line() for r in results]
    assert metrics["eval/loss"] < metrics["eval/unigram_loss"] < metrics["eval/loss_init"]


def test_an_overlapping_evaluation_set_violates_the_contract():
    cfg = resolve(compose_config(["+experiment=mates_selection"]))
    entries, settings = contract(cfg)
    flagged = run_stages(tiny_data(overlap=True), RandomSelector(), stages=1).history[-1]
    assert flagged["sanity/eval_disjoint_from_probe"] == 0.0
    holds = [r for r in check_contract(entries, runs(flagged), settings) if r.kind == "holds"]
    assert [r.status for r in holds] == [VIOLATED]
    clean = run_stages(tiny_data(), RandomSelector(), stages=1).history[-1]
    assert clean["sanity/eval_disjoint_from_probe"] == 1.0
