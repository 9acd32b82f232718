"""The verdict table as terminal text, and the Markdown and HTML reports."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from sweeps.analysis.analyze import Analysis
from sweeps.analysis.sanity import violations
from sweeps.analysis.verdict import Verdict

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
    if not analysis.verdicts:
        lines.append("no metric to analyse (check analysis.metrics / sweep.metric)")
    for verdict in analysis.verdicts:
        lines += ["", *_block(verdict, markdown=False)]
    return "\n".join(lines)


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


def _block(v: Verdict, markdown: bool) -> list[str]:
    title = f"{v.scope} {v.name}" + (f" (task type {v.task_type})" if v.scope == "metric" else "")
    bullet = "- " if markdown else ""
    info = [f"test: {v.test}", *(f"note: {n}" for n in v.notes)]
    if v.best is None:
        info.append("best: n/a")
    else:
        info.append(f"best: {v.best}  {v.shown.get(v.best, '')}")
        info.append("not significantly worse than best: " + (", ".join(v.not_worse) or "none"))
        if v.untestable:
            info.append("n/a vs best (not testable): " + ", ".join(v.untestable))
    lines = [f"### {title}" if markdown else f"== {title} ==", *(bullet + line for line in info)]
    if v.best is None:
        return lines
    if v.vs_baseline:
        rows = [
            [d, v.shown.get(d, ""), _num(gain, "+.4f"), _num(p, ".4g"), outcome]
            for d, (outcome, gain, p) in v.vs_baseline.items()
        ]
        value = "eps_min" if "stochastic order" in v.test else "p"
        table = tabulate(
            rows,
            headers=["design", "score", "gain vs baseline", value, "verdict"],
            tablefmt="github" if markdown else "simple",
            disable_numparse=True,
        )
        lines += [
            f"{bullet}vs baseline {v.baseline}  {v.shown.get(v.baseline or '', '')}:",
            "",
            table,
        ]
    elif v.baseline is not None:
        lines.append(f"{bullet}vs baseline {v.baseline}: n/a (no other design)")
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
    for verdict in analysis.verdicts:
        parts += [*_block(verdict, markdown=True), ""]
    parts += [
        "## Aggregates (mean, std, 95% t-interval across seeds)",
        "",
        _md(analysis.aggregates),
        "",
        "## Pairwise comparisons",
        "",
        _md(_pair_view(analysis.pairs)),
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


def html_report(analysis: Analysis, markdown: str, plots: list[Path]) -> str:
    """A self-contained HTML page (plots embedded), readable in MLflow's artifact viewer."""
    verdicts = html.escape(verdict_text(analysis))
    tables = [
        ("Aggregates", analysis.aggregates),
        ("Pairwise comparisons", _pair_view(analysis.pairs)),
        ("Resolution: the smallest Holm-adjusted p each family can reach", analysis.resolution),
        ("Per-example tests per seed", analysis.per_seed),
        ("Wilcoxon over tasks", analysis.tasks),
    ]
    body = [
        f"<h1>Significance report: {html.escape(analysis.experiment)}</h1>",
        f"<p>Parent run <code>{analysis.parent_run_id}</code></p>",
        f"<pre class='note'>{html.escape(HOW_TO_READ)}</pre>",
        "<h2>Verdicts</h2>",
        f"<pre>{verdicts}</pre>",
    ]
    for title, frame in tables:
        if not frame.empty:
            body += [
                f"<h2>{title}</h2><div class='wide'>",
                frame.to_html(
                    index=False, float_format=lambda x: f"{x:.4g}", na_rep="n/a", border=0
                ),
                "</div>",
            ]
    body.append("<h2>Plots</h2>")
    for path in plots:
        data = base64.b64encode(path.read_bytes()).decode()
        body.append(
            f"<figure><img alt='{path.stem}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(path.stem)}</figcaption></figure>"
        )
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
        "font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #ddd}pre{background:#f6f6f6;"
        "padding:1em;overflow-x:auto}img{max-width:100%}.wide{overflow-x:auto}"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(analysis.experiment)}"
        f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _pair_view(pairs: pd.DataFrame) -> pd.DataFrame:
    return pairs.drop(columns=[c for c in ("gain_a",) if c in pairs])


def _md(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_"
    return tabulate(
        frame, headers="keys", tablefmt="github", showindex=False, floatfmt=".4g", missingval="n/a"
    )
