"""Oracle probing (MATES, Yu et al., NeurIPS 2024, Sec. 3): the oracle influence of a candidate is
the reference loss after exactly one optimizer step on that candidate alone, taken from the
current model and optimizer state, which is restored before the next probe.

Probes run on a *copy* of the model and the optimizer state (:class:`ProbeState`): the model that
continues training is never touched. Every candidate and reference batch goes to the copy's
device. With ``workers > 1`` they run in a pool of ``spawn``ed processes, each holding one restored
copy on the training model's device (the snapshot travels on the CPU); progress and an ETA go to
stderr. The official code probes the same way: one sequence, one step from the restored
checkpoint, then the reference loss (cxcscmu/MATES ``src/select_data/probe_oracle_data_influence.py``
lines 159, 181-184, 201-220).
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import torch
from torch import nn

from modules.selection.lm import lm_loss
from modules.selection.reference import model_device, reference_loss, working_copy

Progress = Callable[[int, int, float], None]


@dataclass
class ProbeState:
    """A detached snapshot to probe from: the model, the optimizer's class and state (which holds
    the current learning rate in its parameter groups), the gradient clip and the reference
    sequences."""

    model: nn.Module
    optimizer_class: type
    optimizer_state: dict[str, Any]
    clip: float
    reference: torch.Tensor

    @classmethod
    def capture(
        cls, model: nn.Module, optimizer: torch.optim.Optimizer, clip: float, reference: torch.Tensor
    ) -> ProbeState:
        """Deep copies of ``model`` and of ``optimizer``'s state (its ``state_dict`` shares the
        live tensors)."""
        return cls(
            model=copy.deepcopy(model),
            optimizer_class=type(optimizer),
            optimizer_state=copy.deepcopy(optimizer.state_dict()),
            clip=clip,
            reference=reference,
        )


class Prober:
    """One working copy of a :class:`ProbeState`: restore, one step on a candidate, measure."""

    def __init__(self, state: ProbeState, device: torch.device | str | None = None) -> None:
        self.state = state
        self.model, self.device = working_copy(state.model, device)
        self.params = list(self.model.parameters())
        self.initial = [p.detach().clone() for p in self.params]
        self.optimizer = state.optimizer_class(self.params)

    def restore(self) -> None:
        """Back to the snapshot: weights and optimizer state (a fresh copy: the step updates the
        state tensors in place, and ``load_state_dict`` may keep the given tensors; it casts them to
        each parameter's device)."""
        with torch.no_grad():
            for param, value in zip(self.params, self.initial, strict=True):
                param.copy_(value)
        self.optimizer.load_state_dict(copy.deepcopy(self.state.optimizer_state))
        self.optimizer.zero_grad(set_to_none=True)

    def step(self, candidate: torch.Tensor) -> None:
        """Restore, then exactly one optimizer step on ``candidate`` (one sequence)."""
        self.restore()
        loss = lm_loss(self.model, candidate.view(1, -1).to(self.device))
        loss.backward()
        if self.state.clip:
            nn.utils.clip_grad_norm_(self.params, self.state.clip)
        self.optimizer.step()

    def probe(self, candidate: torch.Tensor) -> float:
        """The reference loss after one step on ``candidate``."""
        self.step(candidate)
        return reference_loss(self.model, self.state.reference)


ORACLES = ("exact", "first_order")


def make_prober(state: ProbeState, oracle: str = "exact", device: torch.device | str | None = None) -> Any:
    """A :class:`Prober` (``exact``) or a first-order one (``first_order``,
    ``modules/selection/first_order.py``)."""
    if oracle == "exact":
        return Prober(state, device)
    if oracle == "first_order":
        from modules.selection.first_order import LinearProber

        return LinearProber(state, device)
    raise ValueError(f"oracle must be one of {ORACLES}, got {oracle!r}")


_WORKER: Any = None


def _init_worker(state: ProbeState, device: str, oracle: str) -> None:
    global _WORKER
    torch.set_num_threads(1)
    _WORKER = make_prober(state, oracle, device)


def _probe_chunk(start: int, candidates: torch.Tensor) -> tuple[int, list[float]]:
    assert _WORKER is not None
    return start, [_WORKER.probe(c) for c in candidates]


def _on_cpu(value: Any) -> Any:
    """``value`` (nested dicts and lists of tensors) with every tensor on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def print_progress(done: int, total: int, elapsed: float) -> None:
    """``[probing] done/total probes in N s, ETA M s`` on stderr."""
    eta = elapsed / max(done, 1) * (total - done)
    print(f"[probing] {done}/{total} probes in {elapsed:.0f} s, ETA {eta:.0f} s", file=sys.stderr, flush=True)


def run_probes(
    state: ProbeState,
    candidates: torch.Tensor,
    workers: int = 1,
    progress: Progress | None = print_progress,
    reports: int = 4,
    oracle: str = "exact",
) -> torch.Tensor:
    """Oracle reference loss after one step on each row of ``candidates``, ``(n,)``: in this
    process (``workers <= 1``) or in ``workers`` spawned processes; ``reports`` progress lines;
    ``oracle`` as :func:`make_prober`."""
    n = len(candidates)
    losses = torch.zeros(n)
    started = time.monotonic()
    every = max(1, n // max(reports, 1))
    if workers <= 1:
        prober = make_prober(state, oracle)
        for i, candidate in enumerate(candidates):
            losses[i] = prober.probe(candidate)
            if progress and ((i + 1) % every == 0 or i + 1 == n):
                progress(i + 1, n, time.monotonic() - started)
        return losses
    size = max(1, -(-n // (workers * reports)))
    done = 0
    device = str(model_device(state.model))
    portable = ProbeState(copy.deepcopy(state.model).cpu(), state.optimizer_class,
                          _on_cpu(state.optimizer_state), state.clip, state.reference.cpu())
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_init_worker,
        initargs=(portable, device, oracle),
    ) as pool:
        futures = [pool.submit(_probe_chunk, s, candidates[s : s + size]) for s in range(0, n, size)]
        for future in as_completed(futures):
            start, values = future.result()
            losses[start : start + len(values)] = torch.tensor(values)
            done += len(values)
            if progress:
                progress(done, n, time.monotonic() - started)
    return losses
