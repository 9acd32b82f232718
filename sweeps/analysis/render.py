"""The verdict table as terminal text, the parent run's description and the Markdown report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from sweeps.analysis.analyze import Analysis
from sweeps.analysis.intervals import METHOD
from sweeps.analysis.sanity import violations
from sweeps.analysis.verdict import Verdict

NOTE_LIMIT = 7800  # MLflow keeps 8,000 characters of a tag; the last line must stay
HOW_TO_READ = """\
How to read this: trials are grouped into designs (every swept key except the seed); seeds are
repeats. "best" has the best mean (for a task type: the best mean rank over its tasks). "not
significantly worse" lists designs whose comparison with the best is not significant; "n/a" means
the comparison could not be tested (one seed, no per-example scores, missing values, or a test that
cannot reject at its family size). Two Holm families per metric and test: all design pairs (for the
comparisons with the best, which is picked after seeing the data) and the baseline's pairs alone
(for the comparisons with the baseline, declared before the sweep). The resolution table gives each
family's smallest attainable Holm p; a test that cannot go below alpha is not used for verdicts.
The per-example test is a paired permutation test over examples; across seeds it is stratified by
seed (examples are swapped only within a seed-matched run pair; statistic = mean of per-seed
differences). ASO eps_min < max_eps means "almost stochastically better" (deepsig, Bonferroni by the
number of pairs)."""


def verdict_text(analysis: Analysis) -> str:
    """The verdict table for the terminal: one block per metric and per multi-task task type."""
    s = analysis.settings
    lines = [*top_warnings(analysis)]
    lines.append(
        f"Verdicts for sweep '{analysis.experiment}' (parent run {analysis.parent_run_id}), "
        f"alpha={s.alpha}, baseline: {analysis.baseline or 'n/a'}"
    )
    lines += [f"note: {n}" for n in analysis.notes]
    lines += sanity_lines(analysis)
    lines.append(f"intervals: {METHOD}")
    if not analysis.verdicts:
        lines.append("no metric to analyse (check analysis.metrics / sweep.metric)")
    lines += sampled_lines(analysis, markdown=False)
    for verdict in analysis.verdicts:
        lines += ["", *_block(verdict, markdown=False)]
    return "\n".join(lines)


def sampled_lines(analysis: Analysis, markdown: bool, top: int | None = None) -> list[str]:
    """A sampled search's section: what it did, its best configurations, each key's importance."""
    sampled = analysis.sampled
    if sampled is None:
        return []
    head = "### " if markdown else "== "
    rows = sampled.top if top is None else sampled.top.head(top)
    return [
        "",
        f"{head}sampled search on {sampled.metric}" + ("" if markdown else " =="),
        sampled.line,
        "",
        f"top {len(rows)} configurations by {sampled.metric} (95% interval clipped to its range):",
        "",
        _md(rows) if markdown else _text(rows),
        "",
        "importance of the swept keys (over design means; p_holm across keys):",
        "",
        _md(sampled.importance) if markdown else _text(sampled.importance),
    ]


def top_warnings(analysis: Analysis) -> list[str]:
    """What limits the verdicts, printed above them: violated sanity checks, untestable families."""
    lines = [
        f"WARNING: sanity contract violated: {r.line()}" for r in violations(analysis.sanity)
    ]
    lines += [f"WARNING: {w}" for w in analysis.warnings]
    return lines


def sanity_lines(analysis: Analysis) -> list[str]:
    if not analysis.sanity:
        return ["sanity contract: none declared (analysis.sanity)"]
    bad = len(violations(analysis.sanity))
    head = f"sanity contract: {len(analysis.sanity)} checks, {bad} violated"
    return [head, *(f"  {r.line()}" for r in analysis.sanity)]


def run_description(analysis: Analysis) -> str:
    """The parent run's description (MLflow renders it as Markdown on the run page): warnings, the
    verdict on the sweep's metric, and where the full report is."""
    lines = [f"**{w}**\n" for w in top_warnings(analysis)]
    target = analysis.settings.target
    main = [v for v in analysis.verdicts if v.scope == "metric" and v.name == target]
    others = [v for v in analysis.verdicts if v not in main and v.scope == "metric"]
    lines += sampled_lines(analysis, markdown=True, top=5)  # first: a sampled search's answer
    for verdict in main or others[:1]:
        lines += ["", f"## Which design is best on `{verdict.name}`?", "", *_block(verdict, markdown=True)[1:]]
    body = "\n".join(lines)
    if len(body) > NOTE_LIMIT:  # MLflow would cut it anywhere, with a warning in the terminal
        body = body[: body.rfind("\n", 0, NOTE_LIMIT)] + "\n\n_(cut to fit MLflow's description limit)_"
    return body + "\n\nFull report (every metric, p-values, resolution, plots): artifacts `report/report.html`."


@dataclass
class BlockParts:
    """One verdict block, before formatting: title, info lines, the vs-baseline table."""

    title: str
    info: list[str]
    baseline_line: str | None = None
    table: pd.DataFrame | None = None


def block_parts(v: Verdict) -> BlockParts:
    title = f"{v.scope} {v.name}" + (f" (task type {v.task_type})" if v.scope == "metric" else "")
    info = [f"test: {v.test}", *(f"note: {n}" for n in v.notes)]
    if v.best is None:
        info.append("best: n/a")
        return BlockParts(title, info)
    info.append(f"best: {v.best}  {v.shown.get(v.best, '')}")
    info.append("not significantly worse than best: " + (", ".join(v.not_worse) or "none"))
    if v.untestable:
        info.append("n/a vs best (not testable): " + ", ".join(v.untestable))
    parts = BlockParts(title, info)
    if v.vs_baseline:
        value = "eps_min" if "stochastic order" in v.test else "p"
        parts.table = pd.DataFrame(
            [
                [d, v.shown.get(d, ""), _num(gain, "+.4f"), _num(p, ".4g"), outcome]
                for d, (outcome, gain, p) in v.vs_baseline.items()
            ],
            columns=["design", "score", "gain vs baseline", value, "verdict"],
        )
        parts.baseline_line = f"vs baseline {v.baseline}  {v.shown.get(v.baseline or '', '')}:"
    elif v.baseline is not None:
        parts.baseline_line = f"vs baseline {v.baseline}: n/a (no other design)"
    return parts


def _block(v: Verdict, markdown: bool) -> list[str]:
    parts = block_parts(v)
    bullet = "- " if markdown else ""
    title = f"### {parts.title}" if markdown else f"== {parts.title} =="
    lines = [title, *(bullet + line for line in parts.info)]
    if parts.baseline_line:
        lines.append(bullet + parts.baseline_line)
    if parts.table is not None:
        lines += ["", _table(parts.table, markdown, numparse=False)]
    return lines


def _num(value: float, fmt: str) -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)


def markdown_report(analysis: Analysis, plots: list[Path]) -> str:
    s = analysis.settings
    parts = [
        f"# Significance report: {analysis.experiment}",
        "",
        f"Parent run `{analysis.parent_run_id}`; {len(analysis.runs)} child runs, "
        f"{len(analysis.designs)} designs, metrics: {', '.join(analysis.metrics) or 'none'}; "
        f"alpha = {s.alpha}; baseline: `{analysis.baseline}`.",
        "",
        HOW_TO_READ,
        "",
    ]
    parts += [f"> **{w}**" + "\n" for w in top_warnings(analysis)]
    parts += [f"- note: {n}" for n in analysis.notes]
    parts += ["", "## Sanity contract", "", *(f"- {line.strip()}" for line in sanity_lines(analysis))]
    parts += ["", "## Verdicts", ""]
    parts += [*sampled_lines(analysis, markdown=True), ""]
    for verdict in analysis.verdicts:
        parts += [*_block(verdict, markdown=True), ""]
    parts += [
        f"## Aggregates (mean, std; {METHOD})",
        "",
        _md(analysis.aggregates),
        "",
        "## Pairwise comparisons",
        "",
        _md(pair_view(analysis.pairs)),
        "",
        "## Resolution: the smallest Holm-adjusted p each family can reach",
        "",
        _md(analysis.resolution),
        "",
    ]
    if not analysis.per_seed.empty:
        parts += ["## Per-example tests per seed", "", _md(analysis.per_seed), ""]
    if not analysis.tasks.empty:
        parts += ["## Wilcoxon over tasks", "", _md(analysis.tasks), ""]
    parts += ["## Plots", ""] + [f"![{p.stem}](plots/{p.name})" for p in plots]
    return "\n".join(parts) + "\n"


def pair_view(pairs: pd.DataFrame) -> pd.DataFrame:
    return pairs.drop(columns=[c for c in ("gain_a",) if c in pairs])


def _md(frame: pd.DataFrame) -> str:
    return _table(frame, markdown=True)


def _text(frame: pd.DataFrame) -> str:
    return _table(frame, markdown=False)


def _table(frame: pd.DataFrame, markdown: bool, numparse: bool = True) -> str:
    """A frame as a GitHub (Markdown) or plain-text table; NaN shows as n/a."""
    if frame.empty:
        return "_none_" if markdown else "(none)"
    return tabulate(
        frame.astype(object).where(frame.notna(), None),
        headers="keys",
        tablefmt="github" if markdown else "simple",
        showindex=False,
        floatfmt=".4g",
        missingval="n/a",
        disable_numparse=not numparse,
    )
