"""The paper-scale preset (conf/experiment/mates_pythia.yaml): it refuses a pool too small for
its schedule before anything starts, and at a shrunk size it builds its pool from a corpus file
and runs its stages on the CPU (accumulation, fresh slices, exact probes, the BERT-style influence
model over two windows, the decay branch) with every model input on the model's device."""

from __future__ import annotations

import json

import lightning as L
import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from modules.contract.run import RunContext
from modules.selection.task import SelectionTask
from sweeps.cli import main, plan_sweep
from sweeps.config import compose_config, resolve
from sweeps.errors import SweepConfigError
from tests.modules.selection.test_selection_device import guard


def test_the_paper_preset_refuses_a_pool_too_small_in_one_line(capsys):
    with pytest.raises(SweepConfigError, match=r"the pool needs 128,512,000 sequences .* gives at most 1,098,632"):
        plan_sweep(["+experiment=mates_pythia", "data.documents=3000000"])
    # a run (not --dry-run, which skips the tasks' own checks to stay torch-free) refuses it first
    assert main(["+experiment=mates_pythia", "data.documents=3000000"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: task: the pool needs") and "\n" not in err


def test_the_paper_preset_model_has_pythia_410m_size():
    from modules.selection.lm import build_llama

    model = resolve(compose_config(["+experiment=mates_pythia"])).model
    with torch.device("meta"):
        llama = build_llama(49152, model.hidden_size, model.num_layers, model.num_heads,
                            model.intermediate_size, 1024, model.tie_embeddings)
    assert 400e6 < sum(p.numel() for p in llama.parameters()) < 410e6  # Pythia-410M: 405M


class GuardInputs(L.Callback):
    """Guards the trained model once the Trainer has placed it (probe copies inherit the hook)."""

    def on_train_start(self, trainer, pl_module):
        guard(pl_module.model)


@pytest.mark.slow
def test_the_paper_preset_runs_shrunk_on_cpu(tmp_path):
    from modules.selection.sources import newsgroups_posts

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in newsgroups_posts()[:300]))
    cfg = resolve(compose_config([
        "+experiment=mates_pythia", "selection=mates_pythia", f"paths.output_dir={tmp_path}",
        f"data.dataset_id={corpus}", "data.documents=300", "data.pool_size=200", "data.seq_len=64",
        "data.vocab_size=512", "data.val_sequences=4", "data.heldout_sequences=8",
        "data.reference_sequences=4", "data.eval_sequences=4",
        "model.hidden_size=32", "model.num_layers=1", "model.num_heads=2", "model.intermediate_size=64",
        "task.stages=2", "task.stage_steps=1", "task.batch_size=8", "task.micro_batch_size=4",
        "task.warmup_steps=1", "task.eval_decay_steps=1",
        "selection.probes=10", "selection.encoder=minilm_l6", "selection.max_length=16",
        "selection.batch_size=4", "selection.epochs=1",
    ]))
    cfg.seed = 0
    SelectionTask.check_config(cfg)
    task = instantiate(cfg.task)
    assert task.accumulate == 2 and task.slice_size == 40 and task.pool_needed == 2 * 40 + 40
    metrics = task.run(cfg, RunContext(callbacks=[GuardInputs()], artifact_dir=tmp_path / "artifacts"))
    assert metrics["sanity/eval_disjoint_from_probe"] == 1.0
    assert metrics["tokens_seen"] == 2 * 8 * 64 and np.isfinite(metrics["eval/loss"])
    assert metrics["influence/probes_mean"] == 10.0
