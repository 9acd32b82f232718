"""The soups' comparison: best single trial, uniform soup, greedy soup, as text, Markdown and CSV."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sweeps.soup.ingredients import Ingredient
from sweeps.soup.recipes import StateDict

REPORT_DIR = "soup"


@dataclass
class Soup:
    """A cooked soup: its recipe, weights, kept ingredients, metrics and the greedy trace."""

    recipe: str
    state_dict: StateDict = field(repr=False)
    ingredients: list[Ingredient]
    metrics: dict[str, float]
    trace: dict[str, float] = field(default_factory=dict)  # run id → held-out score of the candidate


def comparison(best: Ingredient, soups: list[Soup]) -> pd.DataFrame:
    """One row per model (best single trial, then each soup), one column per soup metric."""
    keys = sorted({k for soup in soups for k in soup.metrics})
    rows = [{"model": "best single trial", "ingredients": 1, "members": best.name,
             **{k: best.metrics.get(k, float("nan")) for k in keys}}]
    for soup in soups:
        rows.append({"model": f"{soup.recipe} soup", "ingredients": len(soup.ingredients),
                     "members": "; ".join(i.name for i in soup.ingredients), **soup.metrics})
    return pd.DataFrame(rows)


def ingredients_frame(ingredients: list[Ingredient], soups: list[Soup]) -> pd.DataFrame:
    """One row per trial: its held-out score, and per soup whether it is in it."""
    rows = []
    for rank, ing in enumerate(ingredients, start=1):
        row = {"rank": rank, "trial": ing.name, "run_id": ing.run_id, "heldout_score": ing.score}
        for soup in soups:
            row[f"in_{soup.recipe}"] = any(i.run_id == ing.run_id for i in soup.ingredients)
            if soup.trace:
                row[f"{soup.recipe}_candidate_score"] = soup.trace.get(ing.run_id, float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(best: Ingredient, soups: list[Soup], metric: str, mode: str) -> list[str]:
    """One line per soup: its held-out score against the best single trial's."""
    lines = []
    for soup in soups:
        value = soup.metrics.get(metric, float("nan"))
        ok = value >= best.score if mode == "max" else value <= best.score
        lines.append(f"{soup.recipe} soup vs best single trial on {metric}: {value:.4f} vs "
                     f"{best.score:.4f} ({value - best.score:+.4f}); at least as good: "
                     f"{'yes' if ok else 'no'}")
    return lines


def render_text(title: str, table: pd.DataFrame, lines: list[str]) -> str:
    return "\n".join([title, table.to_string(index=False, float_format=lambda x: f"{x:.4f}"), *lines])


def markdown(title: str, table: pd.DataFrame, ingredients: pd.DataFrame, lines: list[str]) -> str:
    return "\n\n".join([f"# {title}", _md_table(table), "\n".join(f"- {line}" for line in lines),
                        "## Ingredients (best first by held-out score)", _md_table(ingredients)]) + "\n"


def _md_table(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_report(out_dir: Path, title: str, table: pd.DataFrame, ingredients: pd.DataFrame,
                 lines: list[str]) -> Path:
    """``soup_report.md``, ``soup_comparison.csv`` and ``soup_ingredients.csv`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "soup_report.md").write_text(markdown(title, table, ingredients, lines))
    table.to_csv(out_dir / "soup_comparison.csv", index=False)
    ingredients.to_csv(out_dir / "soup_ingredients.csv", index=False)
    return out_dir
