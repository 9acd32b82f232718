from __future__ import annotations

import copy

import pytest
import torch

from modules.selection.lm import lm_loss
from modules.selection.probing import Prober, ProbeState, make_prober, run_probes
from modules.selection.reference import reference_loss
from tests.modules.selection.tiny import one_thread, tiny_data, tiny_lm, trained_optimizer

pytestmark = pytest.mark.usefixtures("one_thread")
__all__ = ["one_thread"]


def snapshot(model, optimizer):
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return params, copy.deepcopy(optimizer.state_dict())


def assert_bitwise_equal(a, b):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_bitwise_equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_bitwise_equal(x, y)
    else:
        assert a == b


def setup():
    data = tiny_data()
    model = tiny_lm()
    optimizer = trained_optimizer(model, data)
    return data, model, optimizer


def test_probing_never_changes_the_training_model_or_its_optimizer():
    data, model, optimizer = setup()
    before = snapshot(model, optimizer)
    state = ProbeState.capture(model, optimizer, 1.0, data.reference.ids)
    losses = run_probes(state, data.pool_ids[:6], workers=1, progress=None)
    assert losses.shape == (6,) and torch.isfinite(losses).all()
    assert_bitwise_equal(before, snapshot(model, optimizer))


def test_a_probe_is_exactly_one_optimizer_step_from_the_restored_state():
    data, model, optimizer = setup()
    prober = Prober(ProbeState.capture(model, optimizer, 1.0, data.reference.ids))
    prober.step(data.pool_ids[10])  # a first probe, to be undone by the restore
    prober.step(data.pool_ids[20])

    reference = copy.deepcopy(model)
    ref_opt = torch.optim.AdamW(reference.parameters())
    ref_opt.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    lm_loss(reference, data.pool_ids[20].view(1, -1)).backward()
    torch.nn.utils.clip_grad_norm_(list(reference.parameters()), 1.0)
    ref_opt.step()

    for ours, theirs in zip(prober.model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    start = optimizer.state_dict()["state"]
    for key, value in prober.optimizer.state_dict()["state"].items():
        assert float(value["step"]) == float(start[key]["step"]) + 1
    assert prober.probe(data.pool_ids[20]) == reference_loss(reference, data.reference.ids)


def test_probes_are_independent_of_their_order_and_of_the_worker_count():
    data, model, optimizer = setup()
    state = ProbeState.capture(model, optimizer, 1.0, data.reference.ids)
    forward = run_probes(state, data.pool_ids[:4], workers=1, progress=None)
    backward = run_probes(state, data.pool_ids[:4].flip(0), workers=1, progress=None)
    assert torch.equal(forward, backward.flip(0))
    assert len(set(forward.tolist())) > 1, "different candidates move the model differently"
    seen = []
    parallel = run_probes(state, data.pool_ids[:4], workers=2, progress=lambda d, n, t: seen.append(d))
    assert torch.allclose(parallel, forward, atol=1e-6)
    assert seen[-1] == 4


def test_the_first_order_oracle_ranks_candidates_like_the_exact_one():
    from scipy.stats import spearmanr

    data, model, optimizer = setup()
    state = ProbeState.capture(model, optimizer, 1.0, data.reference.ids)
    exact = run_probes(state, data.pool_ids[:16], progress=None)
    first = run_probes(state, data.pool_ids[:16], progress=None, oracle="first_order")
    assert spearmanr(exact.numpy(), first.numpy()).statistic > 0.9
    assert float((first - exact).abs().max()) < 0.5 * float(exact.std())  # second order: small
    linear = make_prober(state, "first_order")
    assert abs(float(linear.ref_loss) - reference_loss(model, data.reference.ids)) < 1e-5


def test_the_first_order_oracle_refuses_an_optimizer_it_does_not_model():
    data, model, _ = setup()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="AdamW"):
        make_prober(ProbeState.capture(model, sgd, 1.0, data.reference.ids), "first_order")
