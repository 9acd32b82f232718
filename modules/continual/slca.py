"""SLCA: Slow Learner with Classifier Alignment (Zhang, Wang, Kang, Chen & Wei, ICCV 2023,
"SLCA: Slow Learner with Classifier Alignment for Continual Learning on a Pre-trained Model";
official code GengDavid/SLCA).

- Slow learner: the backbone trains at a rate well below the ordinary fine-tuning one, the head at a
  large one (SGD, momentum 0.9) — :func:`make_optimizer`. The official code (``models/slca.py``
  lines 154-165) puts the ViT at ``lrate * bcb_lrscale`` = 0.01 × 0.01 and the head at 0.01; here
  the head starts on small-norm features (unit-norm MiniLM embeddings, pooled EfficientNet
  features), where 0.01 barely moves it in a few epochs, so the rates are set per group instead
  (``conf/method/slca.yaml``: head 0.1, backbone 1e-4, ten times below fine-tuning's 1e-3).
- A new head block per task (:class:`TaskHead`), trained on the current task's logits only
  (:func:`current_task_loss`: cross-entropy over the current block, targets shifted by the number
  of known classes).
- After each task, each new class's feature mean and covariance (+ a small ridge, 1e-4 as in the
  official code) from its training data (:class:`ClassGaussians`).
- Classifier alignment from the second task on: features for every seen class are sampled from its
  Gaussian and all head blocks are trained on them for a few epochs with logit normalization
  (:func:`normalized_logits`: logits divided by the mean of the per-task-block L2 norms, then by a
  temperature of 0.1) — :func:`align_classifier`; the class means are shrunk before sampling, the
  older the class the more, as in the official code (:meth:`ClassGaussians.mean_scales`).

Ablations (:class:`SLCALearner`): ``backbone_lr`` at the fine-tuning rate (no slow learner,
``conf/method/slca_no_slow.yaml``), ``alignment=False`` skips classifier alignment.

Labels here are positions in the scenario's class order (``ClassIncrementalScenario.remap``), so
the block of task ``t`` owns outputs ``[known_t, known_t + size_t)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from modules.continual.training import sgd, train_mode


class TaskHead(nn.Module):
    """A linear block per task over shared features; the logits of all blocks, concatenated."""

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.blocks = nn.ModuleList()

    @property
    def task_sizes(self) -> list[int]:
        return [block.out_features for block in self.blocks]

    @property
    def num_classes(self) -> int:
        return sum(self.task_sizes)

    def add_task(self, num_classes: int, seed: int | None = None) -> nn.Linear:
        """Append (and return) a new block of ``num_classes`` outputs, initialized from ``seed``
        when given (so a resumed sequence builds the same block), else from the global RNG."""
        device = self.blocks[0].weight.device if len(self.blocks) else None
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            block = nn.Linear(self.feature_dim, num_classes, device=device)
        self.blocks.append(block)
        return block

    def head_state(self) -> dict:
        """Block sizes and weights (for a checkpoint); :meth:`load_head_state` rebuilds them."""
        return {"sizes": self.task_sizes, "weights": self.state_dict()}

    def load_head_state(self, state: dict) -> None:
        self.blocks = nn.ModuleList()
        for n in state["sizes"]:
            self.add_task(int(n))
        self.load_state_dict(state["weights"])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([block(features) for block in self.blocks], dim=-1)


def make_optimizer(
    backbone: nn.Module | None,
    head: nn.Module,
    head_lr: float = 0.1,
    backbone_lr: float = 1e-4,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
) -> torch.optim.SGD:
    """SGD with momentum (weight decay 5e-4 as in the official code): the head at ``head_lr``,
    the backbone at ``backbone_lr`` (the slow learner: a rate well below the ordinary fine-tuning
    one); a frozen backbone (no trainable parameters, or a rate of 0) gets no group."""
    return sgd([(backbone, backbone_lr), (head, head_lr)], momentum, weight_decay)


def current_task_loss(logits: torch.Tensor, targets: torch.Tensor, known: int) -> torch.Tensor:
    """Cross-entropy over the current task's block only: ``logits[:, known:]`` vs ``targets -
    known`` (targets are positions in the class order, all ``>= known``)."""
    return F.cross_entropy(logits[:, known:], targets - known)


class ClassGaussians:
    """Per-class feature mean and covariance (+ ridge · I), the task each class came with, and
    sampling from them."""

    def __init__(self, ridge: float = 1e-4) -> None:
        self.ridge = ridge
        self.means: dict[int, torch.Tensor] = {}
        self.covs: dict[int, torch.Tensor] = {}
        self.tasks: dict[int, int] = {}
        self._chols: dict[int, torch.Tensor] = {}  # Cholesky factors, computed once per class

    @property
    def classes(self) -> list[int]:
        return sorted(self.means)

    def chol(self, c: int) -> torch.Tensor:
        """The Cholesky factor of class ``c``'s covariance (cached)."""
        if c not in self._chols:
            self._chols[c] = torch.linalg.cholesky(self.covs[c])
        return self._chols[c]

    def state_dict(self) -> dict:
        return {"means": dict(self.means), "covs": dict(self.covs), "tasks": dict(self.tasks)}

    def load_state_dict(self, state: dict) -> None:
        self.means = {int(c): m for c, m in state["means"].items()}
        self.covs = {int(c): v for c, v in state["covs"].items()}
        self.tasks = {int(c): int(t) for c, t in state.get("tasks", {}).items()}
        self._chols = {}

    def add(self, features: torch.Tensor, labels: torch.Tensor, task: int = 0) -> None:
        """Store (or overwrite) the statistics of every class in ``labels``, learned at ``task``."""
        x = features.detach().to(torch.float64)
        labels = torch.as_tensor(labels)
        for c in torch.unique(labels).tolist():
            rows = x[labels == c]
            eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
            cov = torch.cov(rows.T) if len(rows) > 1 else torch.zeros_like(eye)
            self.means[c] = rows.mean(0)
            self.covs[c] = cov + self.ridge * eye
            self.tasks[c] = int(task)
            self._chols.pop(c, None)

    def mean_scales(self, current_task: int) -> dict[int, float]:
        """SLCA's shrinkage of the class means before sampling: a class of task ``t`` is sampled
        around ``(0.9 + 0.1 (t + 1) / (current_task + 1)) · mean`` — the current task's classes at
        their mean, older ones shrunk towards 0.9 of it (the older, the more). Follows
        GengDavid/SLCA ``models/slca.py`` lines 199-202 (``decay = (t_id+1)/(cur_task+1)*0.1``,
        ``cls_mean * (0.9+decay)``)."""
        return {
            c: 0.9 + 0.1 * (self.tasks.get(c, 0) + 1) / (current_task + 1) for c in self.classes
        }

    def sample(
        self,
        per_class: int,
        classes: Sequence[int] | None = None,
        generator: torch.Generator | None = None,
        scales: dict[int, float] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``per_class`` draws from each class's Gaussian, its mean times ``scales[c]`` when
        given: (float32 features, int64 labels)."""
        xs, ys = [], []
        for c in self.classes if classes is None else classes:
            mean, chol = self.means[c], self.chol(c)
            if scales is not None:
                mean = mean * scales[c]
            noise = torch.randn(
                per_class, mean.shape[0], generator=generator, dtype=mean.dtype, device=mean.device
            )
            xs.append(mean + noise @ chol.T)
            ys.append(torch.full((per_class,), c, dtype=torch.long, device=mean.device))
        return torch.cat(xs).float(), torch.cat(ys)


def normalized_logits(
    logits: torch.Tensor, task_sizes: Sequence[int], temperature: float = 0.1
) -> torch.Tensor:
    """Logit normalization of SLCA's alignment: logits divided by the mean over task blocks of
    each block's L2 norm (per example), then by ``temperature``."""
    norms = torch.stack(
        [block.norm(p=2, dim=-1) + 1e-7 for block in logits.split(list(task_sizes), dim=-1)],
        dim=-1,
    )
    return logits / norms.mean(dim=-1, keepdim=True) / temperature


def alignment_loss(
    head: TaskHead, features: torch.Tensor, labels: torch.Tensor, temperature: float | None = 0.1
) -> torch.Tensor:
    """Cross-entropy of the head on (sampled) features, logit-normalized unless ``temperature``
    is None."""
    logits = head(features)
    if temperature is not None:
        logits = normalized_logits(logits, head.task_sizes, temperature)
    return F.cross_entropy(logits, labels)


def align_classifier(
    head: TaskHead,
    gaussians: ClassGaussians,
    samples_per_class: int = 256,
    epochs: int = 5,
    lr: float = 0.01,
    batch_size: int = 128,
    temperature: float | None = 0.1,
    seed: int = 0,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    current_task: int | None = None,
) -> list[float]:
    """Classifier alignment: each epoch draws ``samples_per_class`` features for every seen class
    (means scaled by :meth:`ClassGaussians.mean_scales` when ``current_task`` is given) and trains
    all head blocks on them (SGD, cosine schedule). Returns the mean loss per epoch."""
    scales = None if current_task is None else gaussians.mean_scales(current_task)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(
        head.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    device = next(head.parameters()).device
    history: list[float] = []
    head.train()
    for _ in range(epochs):
        x, y = gaussians.sample(samples_per_class, generator=generator, scales=scales)
        order = torch.randperm(len(y), generator=generator)
        x, y = x[order].to(device), y[order].to(device)
        total = 0.0
        for start in range(0, len(y), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            loss = alignment_loss(head, xb, yb, temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(yb)
        schedule.step()
        history.append(total / len(y))
    return history


class SLCALearner:
    """SLCA over a task sequence: ``encoder`` maps inputs to features (a trainable backbone, or
    the identity on cached features of a frozen one).

    Per task: :meth:`begin_task` adds a head block; :meth:`train_step` is one slow-learner step
    (BatchNorm statistics frozen unless ``train_bn``, see :mod:`modules.continual.training`);
    :meth:`end_task` stores the new classes' Gaussians and, from the second task on, aligns the
    classifier (unless ``alignment`` is off).
    """

    def __init__(
        self,
        encoder: nn.Module,
        feature_dim: int,
        head_lr: float = 0.1,
        backbone_lr: float = 1e-4,
        alignment: bool = True,
        ca_epochs: int = 5,
        ca_samples_per_class: int = 256,
        ca_lr: float = 0.01,
        ca_temperature: float | None = 0.1,
        ridge: float = 1e-4,
        train_bn: bool = False,
        seed: int = 0,
    ) -> None:
        self.encoder = encoder
        self.head = TaskHead(feature_dim)
        self.head_lr, self.backbone_lr = head_lr, backbone_lr
        self.alignment, self.train_bn = alignment, train_bn
        self.ca = {
            "epochs": ca_epochs,
            "samples_per_class": ca_samples_per_class,
            "lr": ca_lr,
            "temperature": ca_temperature,
        }
        self.gaussians = ClassGaussians(ridge)
        self.seed = seed
        self.known = 0
        self.optimizer: torch.optim.Optimizer | None = None

    def begin_task(self, num_classes: int) -> torch.optim.Optimizer:
        """Add a head block for the new task's classes and a fresh optimizer."""
        self.known = self.head.num_classes
        self.head.add_task(num_classes, seed=self.seed * 1000 + len(self.head.blocks))
        self.optimizer = make_optimizer(self.encoder, self.head, self.head_lr, self.backbone_lr)
        return self.optimizer

    def train_step(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """One SGD step on the current task's logits; returns the loss."""
        assert self.optimizer is not None, "call begin_task() first"
        train_mode(self.encoder, self.train_bn)
        self.head.train()
        loss = current_task_loss(self.head(self.encoder(inputs)), targets, self.known)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def features(self, batches: Sequence[torch.Tensor]) -> torch.Tensor:
        """Encoder features (eval mode) of a sequence of input batches, concatenated."""
        self.encoder.eval()
        return torch.cat([self.encoder(b) for b in batches])

    def end_task(self, features: torch.Tensor, targets: torch.Tensor, task: int) -> list[float]:
        """Store the Gaussians of the task's classes (from their training ``features``), then
        align the classifier from the second task on. Returns the alignment losses per epoch."""
        self.gaussians.add(features, targets, task)
        if not self.alignment or task == 0:
            return []
        seed = self.seed + task
        return align_classifier(self.head, self.gaussians, seed=seed, current_task=task, **self.ca)

    def state_dict(self) -> dict:
        """What a resumed sequence needs: encoder and head weights, the class Gaussians."""
        return {
            "encoder": self.encoder.state_dict(),
            "head": self.head.head_state(),
            "gaussians": self.gaussians.state_dict(),
            "known": self.known,
        }

    def load_state_dict(self, state: dict) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.head.load_head_state(state["head"])
        self.gaussians.load_state_dict(state["gaussians"])
        self.known = int(state["known"])

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class positions (argmax over all seen classes' logits)."""
        self.encoder.eval()
        self.head.eval()
        return self.head(self.encoder(inputs)).argmax(dim=1)
