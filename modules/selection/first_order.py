"""A first-order oracle: the reference loss after one AdamW step on a candidate, to first order in
the step, ``L_ref(theta) + <grad L_ref(theta), delta_c>``, where ``delta_c`` is exactly the
update AdamW would make from the snapshot's state on the candidate's (clipped) gradient.

The exact oracle (``modules/selection/probing.py``, as the official code) runs one forward pass
over the whole reference set per candidate; here the reference gradient is computed once per
stage and each candidate costs one backward pass on its own sequence. A single step moves the
reference loss by about a hundredth of a nat at laptop scale, where the second-order term is
negligible; ``tests/modules/selection/test_selection_probing.py`` checks both oracles rank the
same candidates alike.
"""

from __future__ import annotations

import copy

import torch

from modules.selection.lm import lm_loss
from modules.selection.reference import working_copy


class LinearProber:
    """First-order probes from a :class:`~modules.selection.probing.ProbeState` (AdamW only).
    Everything is kept as flat vectors over all parameters: per candidate, one backward pass and
    a few vector operations."""

    def __init__(self, state, device: torch.device | str | None = None, batch_size: int = 16) -> None:
        if not issubclass(state.optimizer_class, torch.optim.AdamW):
            raise ValueError(f"the first-order oracle models AdamW, got {state.optimizer_class.__name__}")
        self.state = state
        self.model, self.device = working_copy(state.model, device)
        self.params = list(self.model.parameters())
        optimizer = state.optimizer_class(self.params)
        optimizer.load_state_dict(copy.deepcopy(state.optimizer_state))
        self._adamw_constants(optimizer)
        self.ref_loss, ref_grad = self._reference_gradient(batch_size)
        self.ref_lr = ref_grad * self.lr
        # the weight-decay part of the step does not depend on the candidate
        self.base = self.ref_loss - (self.ref_lr * self.wd * self._flat(self.params)).sum()

    @staticmethod
    def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([t.detach().reshape(-1).float() for t in tensors])

    @torch.no_grad()
    def _adamw_constants(self, optimizer: torch.optim.Optimizer) -> None:
        """Per-element vectors of AdamW's state and settings (``torch.optim.AdamW``'s update)."""
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("lr", "wd", "m", "v", "c1", "c2", "b1", "b2", "eps")}
        for group in optimizer.param_groups:
            if group.get("amsgrad") or group.get("maximize"):
                raise ValueError("the first-order oracle does not model amsgrad or maximize")
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                state = optimizer.state.get(p, {})
                step = float(state.get("step", 0.0)) + 1
                zeros = torch.zeros(p.numel(), device=p.device)
                full = lambda value, z=zeros: torch.full_like(z, float(value))  # noqa: E731
                parts["lr"].append(full(group["lr"]))
                parts["wd"].append(full(group["weight_decay"]))
                parts["m"].append(beta1 * state["exp_avg"].reshape(-1).float() if state else zeros)
                parts["v"].append(beta2 * state["exp_avg_sq"].reshape(-1).float() if state else zeros)
                parts["c1"].append(full(1 / (1 - beta1**step)))
                parts["c2"].append(full(1 / (1 - beta2**step)))
                parts["b1"].append(full(1 - beta1))
                parts["b2"].append(full(1 - beta2))
                parts["eps"].append(full(group["eps"]))
        flat = {key: torch.cat(values) for key, values in parts.items()}
        self.lr, self.wd, self.eps = flat["lr"], flat["wd"], flat["eps"]
        # bias-corrected moments after the step: m_hat = m c1 + (b1 c1) g, v_hat = v c2 + (b2 c2) g^2
        self.m_part, self.g_coef = flat["m"] * flat["c1"], flat["b1"] * flat["c1"]
        self.v_part, self.g2_coef = flat["v"] * flat["c2"], flat["b2"] * flat["c2"]

    def _reference_gradient(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = self.state.reference
        self.model.zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device)
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size].to(self.device)
            loss = lm_loss(self.model, batch) * (len(batch) / len(ids))
            loss.backward()
            total = total + loss.detach().float()
        grad = self._flat([p.grad for p in self.params])
        self.model.zero_grad(set_to_none=True)
        return total, grad

    def probe(self, candidate: torch.Tensor) -> float:
        """The first-order reference loss after one step on ``candidate``."""
        return float(self.probe_tensor(candidate))

    def probe_tensor(self, candidate: torch.Tensor) -> torch.Tensor:
        """:meth:`probe` as a 0-d tensor on the model's device."""
        loss = lm_loss(self.model, candidate.view(1, -1).to(self.device))
        grad = self._flat(torch.autograd.grad(loss, self.params))
        if self.state.clip:
            norm = torch.linalg.vector_norm(grad)
            grad = grad * (self.state.clip / (norm + 1e-6)).clamp(max=1.0)  # clip_grad_norm_'s rule
        m_hat = torch.addcmul(self.m_part, self.g_coef, grad)
        v_hat = torch.addcmul(self.v_part, self.g2_coef, grad.square())
        step = m_hat.div_(v_hat.sqrt_().add_(self.eps))
        return self.base - torch.dot(self.ref_lr, step)
