"""The frozen regime's feature cache: a frozen backbone's outputs, computed once per
(backbone, attention, max length, texts) and stored on disk.

Only what the poolers read is stored (see ``features.TokenFeatures``): the last layer's token
states, packed without padding (``tokens`` ``[total tokens, H]``, text ``i`` at rows
``offsets[i]:offsets[i + 1]``, so one long document does not pad every short sentence), and the
per-layer last-token and mean vectors ``[N, L + 1, H]``, all in float16. Texts are encoded as
``backbone.packing`` says (``encode.py``; the stored values do not depend on it, so it is not part
of the key), with a progress bar and an ETA on stderr (``modules.backbones.cache``, which also
gives the content key, the file locks and the atomic writes). File locks make trials that start
together compute it once: the texts are split into shards, each computed by the first trial to
take it (so two trials starting together build one cache on two cores), merged by one trial while
the others wait, then loaded by all (memory-mapped). A new cache copies the rows of the texts that
an older cache of the same backbone, attention and max length in the folder already holds, and
encodes only the others (a text's features do not depend on the texts batched with it, up to
float rounding), so adding texts to a study costs only the new texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from modules.backbones.cache import (
    atomic_write,
    content_key,
    file_lock,
    preserved_random_state,
    progress,
    safe_name,
)
from modules.backbones.encode import encode_features, token_ids
from modules.backbones.features import TokenFeatures
from modules.backbones.hf import Backbone

STORE_DTYPE = torch.float16
FORMAT = "packed-v2"  # part of the cache key: caches of an older layout are never loaded


def cache_key(backbone: str, attention: str, max_length: int, texts: list[str]) -> str:
    """A short stable id of what the cache holds."""
    digest = content_key([FORMAT, backbone, attention, max_length, sorted(set(texts))])
    return f"{safe_name(backbone, 40)}-{attention}-len{max_length}-{digest}"


class FeatureCache:
    """Cached features of a fixed list of texts; ``lookup(texts)`` returns ``TokenFeatures``."""

    def __init__(self, texts: list[str], tensors: dict[str, torch.Tensor]) -> None:
        self.texts = list(texts)
        self.row = {t: i for i, t in enumerate(self.texts)}
        self.tokens = tensors["tokens"]
        self.offsets = tensors["offsets"]
        self.layer_last = tensors["layer_last"]
        self.layer_mean = tensors["layer_mean"]

    def __contains__(self, text: str) -> bool:
        return text in self.row

    def __len__(self) -> int:
        return len(self.texts)

    def covers(self, texts: list[str]) -> bool:
        return all(t in self.row for t in texts)

    def lookup(self, texts: list[str]) -> TokenFeatures:
        rows = torch.tensor([self.row[t] for t in texts], dtype=torch.long)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        width = max(int(lengths.max()), 1)
        tokens = torch.zeros(len(texts), width, self.tokens.shape[-1])
        for i, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
            tokens[i, :length] = self.tokens[start : start + length].float()
        mask = (torch.arange(width)[None, :] < lengths[:, None]).long()
        return TokenFeatures(
            tokens=tokens,
            mask=mask,
            layer_last=self.layer_last[rows].float(),
            layer_mean=self.layer_mean[rows].float(),
        )

    @property
    def hidden_size(self) -> int:
        return int(self.tokens.shape[-1])

    @property
    def num_layers(self) -> int:
        """Transformer layers (the per-layer tensors also hold the embedding output)."""
        return int(self.layer_last.shape[1]) - 1

    @classmethod
    def load(cls, path: Path) -> FeatureCache:
        data = torch.load(path, mmap=True, weights_only=True)
        texts = json.loads(Path(str(path) + ".texts.json").read_text(encoding="utf-8"))
        return cls(texts, data)


@torch.inference_mode()
def compute_features(
    backbone: Backbone, texts: list[str], batch_size: int = 32, label: str = "features"
) -> dict[str, torch.Tensor]:
    """Run ``backbone`` over ``texts`` (batched as ``backbone.packing`` says) and keep what the
    poolers need."""
    lengths = [len(ids) for ids in token_ids(backbone, texts)]
    n, h, layers = len(texts), backbone.hidden_size, backbone.num_layers
    offsets = torch.zeros(n + 1, dtype=torch.long)
    offsets[1:] = torch.tensor(lengths, dtype=torch.long).cumsum(0)
    out = {
        "tokens": torch.zeros(int(offsets[-1]), h, dtype=STORE_DTYPE),
        "offsets": offsets,
        "layer_last": torch.zeros(n, layers + 1, h, dtype=STORE_DTYPE),
        "layer_mean": torch.zeros(n, layers + 1, h, dtype=STORE_DTYPE),
    }
    if backbone.tokenizer.padding_side == "left":  # token states are stored right-padded
        raise ValueError("the feature cache expects a right-padding tokenizer")
    # the bar (and its ETA) counts tokens, not texts: texts differ in length
    bar = progress(sum(lengths), f"[cache] {label}", unit="tok")
    for rows, feats in encode_features(backbone, texts, batch_size):
        index = torch.tensor(rows)
        for j, i in enumerate(rows):
            out["tokens"][offsets[i] : offsets[i + 1]] = feats.tokens[j, : lengths[i]].to(
                STORE_DTYPE
            )
        out["layer_last"][index] = feats.layer_last.to(STORE_DTYPE)
        out["layer_mean"][index] = feats.layer_mean.to(STORE_DTYPE)
        bar.update(sum(lengths[i] for i in rows))
    bar.close()
    return out


def donor_caches(path: Path) -> list[FeatureCache]:
    """The complete caches next to ``path`` with the same backbone, attention and max length
    (``cache_key`` names them ``<prefix>-<digest>.pt``)."""
    prefix, _, digest = path.stem.rpartition("-")
    found = sorted(path.parent.glob(f"{prefix}-*.pt")) if prefix else []
    return [
        FeatureCache.load(p)
        for p in found
        if p != path
        and len(p.stem) == len(path.stem)  # not a shard or partial file
        and Path(str(p) + ".texts.json").exists()
    ]


def gather(texts: list[str], caches: list[FeatureCache]) -> dict[str, torch.Tensor]:
    """The rows of ``texts``, each from the first of ``caches`` that holds it, as one cache."""
    picks = [next((c, c.row[t]) for c in caches if t in c) for t in texts]
    starts = [int(c.offsets[r]) for c, r in picks]
    ends = [int(c.offsets[r + 1]) for c, r in picks]
    offsets = torch.zeros(len(texts) + 1, dtype=torch.long)
    offsets[1:] = torch.tensor([e - s for s, e in zip(starts, ends, strict=True)]).cumsum(0)
    return {
        "tokens": torch.cat([c.tokens[s:e] for (c, _), s, e in zip(picks, starts, ends, strict=True)]),
        "offsets": offsets,
        "layer_last": torch.stack([c.layer_last[r] for c, r in picks]),
        "layer_mean": torch.stack([c.layer_mean[r] for c, r in picks]),
    }


def _save(path: Path, texts: list[str], data: dict[str, torch.Tensor]) -> None:
    """Write ``path`` and its text list; the rename makes the cache appear only when complete."""

    def write(partial: Path) -> None:
        torch.save(data, partial)
        Path(str(path) + ".texts.json").write_text(json.dumps(texts), encoding="utf-8")

    atomic_write(path, write)


def _merge(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Shards concatenated in order (packed token rows and their offsets shifted)."""
    shift, offsets = 0, [torch.zeros(1, dtype=torch.long)]
    for part in parts:
        offsets.append(part["offsets"][1:] + shift)
        shift += int(part["offsets"][-1])
    merged = {k: torch.cat([p[k] for p in parts]) for k in ("tokens", "layer_last", "layer_mean")}
    return {**merged, "offsets": torch.cat(offsets)}


def load_or_build(
    folder: str | Path,
    key: str,
    texts: list[str],
    backbone_factory: Callable[[], Backbone],
    batch_size: int = 32,
    shards: int = 1,
) -> FeatureCache:
    """The cache ``folder/key.pt``: loaded if present, else computed once.

    The texts are split into ``shards``, each computed by whichever trial takes its file lock
    first, so trials that start together build one cache on several cores; the last shard done
    is merged into the cache file under the cache's own lock, which every other trial waits on.
    Building leaves the caller's random streams as they were (``preserved_random_state``).
    """
    from filelock import Timeout

    texts = list(dict.fromkeys(texts))
    path = Path(folder).expanduser() / f"{key}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = [texts[i::shards] for i in range(shards)]
    parts = [path.with_name(f"{key}.shard{i}of{shards}.pt") for i in range(shards)]
    backbone: list[Backbone] = []  # loaded once, only by a trial that computes a shard

    def build(i: int) -> None:
        if not parts[i].exists() and not path.exists():
            donors = donor_caches(path)
            missing = [t for t in chunks[i] if not any(t in d for d in donors)]
            caches = list(donors)
            if missing:
                backbone[:] = backbone or [backbone_factory()]
                label = f"{key} shard {i + 1}/{shards}"
                new = compute_features(backbone[0], missing, batch_size, label)
                if len(missing) == len(chunks[i]):
                    _save(parts[i], chunks[i], new)
                    return
                caches.insert(0, FeatureCache(missing, new))
            _save(parts[i], chunks[i], gather(chunks[i], caches))

    with preserved_random_state():
        for i in range(shards):  # shards no other trial is computing
            try:
                with file_lock(parts[i], timeout=0):
                    build(i)
            except Timeout:
                continue
        with file_lock(path):
            if not path.exists():
                for i in range(shards):  # waits for shards still being computed elsewhere
                    with file_lock(parts[i]):
                        build(i)  # only if the trial computing it died
                _assemble(path, parts, [t for chunk in chunks for t in chunk])
    return FeatureCache.load(path)


def _assemble(path: Path, parts: list[Path], texts: list[str]) -> None:
    """The finished shards become the cache file ``path`` (renamed, or merged in order)."""
    if len(parts) == 1:
        Path(str(parts[0]) + ".texts.json").rename(str(path) + ".texts.json")
        parts[0].rename(path)
        return
    _save(path, texts, _merge([torch.load(p, weights_only=True) for p in parts]))
    for p in parts:
        p.unlink()
        Path(str(p) + ".texts.json").unlink()
