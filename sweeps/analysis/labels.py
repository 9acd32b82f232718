"""Short, wrapped plot labels for design strings, so 20 designs stay legible on one axis."""

from __future__ import annotations

import textwrap

from sweeps.analysis.importance import as_number, design_values

WIDTH = 38  # characters per label line


def short_labels(designs: list[str], width: int = WIDTH) -> list[str]:
    """``model.encoder.hidden=64,optim.lr=0.000123`` → ``hidden=64, lr=0.000123``, wrapped at
    ``width``. A key is cut to its last dotted segment unless that would make two keys look the
    same; numbers are shown with 4 significant digits; a design that is no ``k=v`` list is kept."""
    parsed = [design_values(d) for d in designs]
    keys = sorted({k for values in parsed for k in values})
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    short = {k: t if tails.count(t) == 1 else k for k, t in zip(keys, tails, strict=True)}
    labels = []
    for design, values in zip(designs, parsed, strict=True):
        text = ", ".join(f"{short[k]}={short_value(v)}" for k, v in sorted(values.items())) or design
        labels.append(textwrap.fill(text, width, break_on_hyphens=False))
    return labels


def short_value(value: str) -> str:
    """A sampled float with 4 significant digits; other values as they are."""
    number = as_number(value)
    if number is None or float(number).is_integer() or len(value) <= 8:
        return value
    return f"{number:.4g}"
