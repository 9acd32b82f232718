"""Every tensor a selection step feeds a model must be on that model's device (and in its dtype
where it is a float). No GPU here: a model on the ``meta`` device, guarded by a hook that asserts
each input's device, stands in for one, since a CPU input to a meta model otherwise goes through."""

from __future__ import annotations

import pytest
import torch

from modules.selection.evaluation import decayed_copy
from modules.selection.first_order import LinearProber
from modules.selection.influence import InfluenceModel, fit_influence
from modules.selection.probing import Prober, ProbeState
from modules.selection.reference import model_device, sequence_losses
from tests.modules.selection.test_selection_influence import synthetic, tiny_bert
from tests.modules.selection.tiny import one_thread, tiny_data, tiny_lm, trained_optimizer

pytestmark = pytest.mark.usefixtures("one_thread")
__all__ = ["one_thread"]


class Checked(Exception):
    """Raised by a stopping guard once the inputs passed (for models that cannot run on meta)."""


def guard(model: torch.nn.Module, stop: bool = False) -> torch.nn.Module:
    """``model`` with a pre-hook asserting that every tensor input is on its device (then, with
    ``stop``, raising :class:`Checked` instead of running the model)."""
    device = model_device(model)

    def check(module, args, kwargs):
        for value in [*args, *kwargs.values()]:
            if isinstance(value, torch.Tensor):
                assert value.device == device, f"input on {value.device}, model on {device}"
        if stop:
            raise Checked

    model.register_forward_pre_hook(check, with_kwargs=True)
    return model


def on_meta(model: torch.nn.Module) -> torch.nn.Module:
    model.to("meta")
    model.tie_weights()  # the move unties the input and output embeddings
    return guard(model)


def test_the_guard_catches_a_missing_move():
    model = on_meta(tiny_lm())
    with pytest.raises(AssertionError, match="input on cpu"):
        model(input_ids=torch.ones(1, 4, dtype=torch.long))


def test_evaluation_and_the_decay_branch_move_their_inputs():
    data = tiny_data()
    model = on_meta(tiny_lm())
    assert sequence_losses(model, data.evaluation.ids).device.type == "meta"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    branch = decayed_copy(model, optimizer, data.pool_ids[:8], steps=2, batch_size=4, accumulate=2)
    assert model_device(branch).type == "meta"


def test_probes_move_candidates_and_reference():
    data = tiny_data()
    cpu_model = tiny_lm()
    optimizer = trained_optimizer(cpu_model, data)  # AdamW with moments (on the CPU)
    model = on_meta(cpu_model)
    state = ProbeState.capture(model, optimizer, 1.0, data.reference.ids)
    exact = Prober(state)
    exact.step(data.pool_ids[0])
    assert model_device(exact.model).type == "meta"
    linear = LinearProber(state)
    assert linear.probe_tensor(data.pool_ids[1]).device.type == "meta"


def test_the_influence_model_moves_texts_and_features():
    encoder, tokenizer = tiny_bert()
    model = InfluenceModel(encoder, tokenizer, trainable_layers=-1, max_length=16, head_hidden=0)
    model.to("meta")
    guard(model.encoder, stop=True)  # BERT's mask code reads values: cannot run on meta
    with pytest.raises(Checked):
        model.embed(["a river", "a stone table"])
    frozen = InfluenceModel(*tiny_bert(), trainable_layers=0, head_hidden=0)
    guard(frozen.head.to("meta"))
    assert frozen(torch.zeros(3, 32)).device.type == "meta"  # cached features, on the CPU


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_the_influence_model_casts_features_to_its_dtype(dtype):
    encoder, tokenizer = tiny_bert()
    texts, target = synthetic(n=40)
    model = InfluenceModel(encoder, tokenizer, trainable_layers=0, max_length=16, head_hidden=16)
    features = model.features(texts)  # float32, on the CPU (as cached)
    model.to(dtype)
    fit = fit_influence(model, features, target, folds=2, epochs=2, lr=1e-3)
    assert fit.val_size == 40
    predicted = model.predict(features)
    assert predicted.dtype == torch.float32 and predicted.shape == (40,)
