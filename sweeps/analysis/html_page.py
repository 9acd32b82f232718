"""The self-contained HTML report (plots embedded), readable in MLflow's artifact viewer.

It fits the page at any width: prose and verdict lines wrap (long design names break after their
commas), and every table sits whole in its own horizontally scrolling box, so nothing is cut off and
the page itself never scrolls sideways.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from sweeps.analysis.analyze import Analysis
from sweeps.analysis.intervals import METHOD
from sweeps.analysis.render import HOW_TO_READ, block_parts, pair_view, sanity_lines, top_warnings
from sweeps.analysis.verdict import Verdict

STYLE = (
    "*{box-sizing:border-box}"
    "body{font-family:sans-serif;margin:0 auto;padding:1em 2em;max-width:1200px}"
    "h1,h2,h3,p,li,figcaption,code{overflow-wrap:anywhere}"
    ".note,pre{background:#f6f6f6;padding:1em}pre{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".wide{overflow-x:auto;max-width:100%;margin:0.5em 0}"
    "table{border-collapse:collapse;font-size:12px}"
    "td,th{padding:2px 6px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    ".warn{color:#a00;font-weight:bold}"
    "img{max-width:100%;height:auto}"
)


def html_report(analysis: Analysis, plots: list[Path]) -> str:
    body = [
        f"<h1>Significance report: {_esc(analysis.experiment)}</h1>",
        f"<p>Parent run <code>{analysis.parent_run_id}</code></p>",
        *(f"<p class='warn'>{_esc(w)}</p>" for w in top_warnings(analysis)),
        f"<p class='note'>{html.escape(' '.join(HOW_TO_READ.split()))}</p>",
        "<h2>Verdicts</h2>",
        _list(
            [
                f"sweep '{analysis.experiment}', alpha={analysis.settings.alpha}, "
                f"baseline: {analysis.baseline or 'n/a'}",
                *(f"note: {n}" for n in analysis.notes),
                *(line.strip() for line in sanity_lines(analysis)),
                f"intervals: {METHOD}",
            ]
        ),
        *_sampled(analysis),
        *(part for verdict in analysis.verdicts for part in _verdict(verdict)),
    ]
    tables = [
        (f"Aggregates (mean, std; {METHOD})", analysis.aggregates),
        ("Pairwise comparisons", pair_view(analysis.pairs)),
        ("Resolution: the smallest Holm-adjusted p each family can reach", analysis.resolution),
        ("Per-example tests per seed", analysis.per_seed),
        ("Wilcoxon over tasks", analysis.tasks),
    ]
    for title, frame in tables:
        if not frame.empty:
            body += [f"<h2>{_esc(title)}</h2>", table_html(frame)]
    body.append("<h2>Plots</h2>")
    for path in plots:
        data = base64.b64encode(path.read_bytes()).decode()
        body.append(
            f"<figure><img alt='{path.stem}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(path.stem)}</figcaption></figure>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(analysis.experiment)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def table_html(frame: pd.DataFrame) -> str:
    """A whole table in its own scrolling box; cells may break after a comma."""
    table = frame.to_html(
        index=False, float_format=lambda x: f"{x:.4g}", na_rep="n/a", border=0
    )
    return f"<div class='wide'>{table.replace(',', ',<wbr>')}</div>"


def _verdict(verdict: Verdict) -> list[str]:
    parts = block_parts(verdict)
    out = [f"<h3>{_esc(parts.title)}</h3>", _list(parts.info)]
    if parts.baseline_line:
        out.append(f"<p>{_esc(parts.baseline_line)}</p>")
    if parts.table is not None:
        out.append(table_html(parts.table))
    return out


def _sampled(analysis: Analysis) -> list[str]:
    sampled = analysis.sampled
    if sampled is None:
        return []
    return [
        f"<h3>Sampled search on {_esc(sampled.metric)}</h3>",
        f"<p>{_esc(sampled.line)}</p>",
        f"<p>Top {len(sampled.top)} configurations by {_esc(sampled.metric)}:</p>",
        table_html(sampled.top),
        "<p>Importance of the swept keys (over design means; p_holm across keys):</p>",
        table_html(sampled.importance),
    ]


def _list(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{_esc(line)}</li>" for line in lines) + "</ul>"


def _esc(text: str) -> str:
    """Escaped text that may break after a comma (design strings have no spaces)."""
    return html.escape(text).replace(",", ",<wbr>")
