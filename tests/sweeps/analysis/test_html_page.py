"""The HTML report fits the page: 20 designs with long names, every table whole in its own
scrolling box, verdict lines wrapping; in Chromium the page never scrolls sideways.
A screenshot goes to tests/artifacts/report_html/."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from sweeps.analysis.analyze import analyze
from sweeps.analysis.report import write_report
from sweeps.analysis.settings import AnalysisSettings
from tests.browser import launch, sync_playwright
from tests.sweeps.analysis.analysis_helpers import many_designs, sweep_data

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "report_html"


@cache
def _report(kind: str = "grid") -> Path:
    """A grid of 20 designs × 3 seeds, or a random search of 20 one-seed samples."""
    settings = AnalysisSettings.from_config({"target": "val_acc", "aso": {"enabled": False}})
    data = sweep_data(many_designs(20, seeds=3 if kind == "grid" else 1))
    if kind == "random":
        data.config = {"sweep": {"search": "random"}}
    analysis = analyze(data, settings)
    assert (analysis.sampled is not None) == (kind == "random")
    write_report(analysis, ARTIFACTS / kind)
    return ARTIFACTS / kind / "report.html"


def test_every_table_sits_whole_in_a_scroll_box_and_text_wraps():
    page = _report().read_text()
    assert ".wide{overflow-x:auto" in page and "white-space:pre-wrap" in page
    assert "overflow-wrap:anywhere" in page and "img{max-width:100%" in page
    tables = page.count("<table")
    assert tables >= 3 and page.count("<div class='wide'><table") == tables
    # full tables: all 20 designs in the aggregates, all 190 pairs in the pairwise table
    assert page.count("random_resized_crop_19<") >= 3
    assert page.count("<tr>") >= 20 + 190
    # long design names may break after their commas
    assert "hidden_size=16,<wbr>optim.learning_rate=" in page


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "width"), [("grid", 800), ("grid", 1280), ("random", 800)])
def test_the_page_never_scrolls_sideways_in_chromium(kind, width):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(_report(kind).resolve().as_uri())
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"the page is {scroll}px wide in a {inner}px window"
        # no verdict line is cut off: every list item shows all of its text
        cut = page.evaluate(
            "[...document.querySelectorAll('li, p, h3')].filter(e => e.scrollWidth > e.clientWidth)"
            ".map(e => e.textContent.slice(0, 80))"
        )
        assert not cut, cut
        # a wide table scrolls inside its own box, which stays inside the page
        boxes = page.evaluate(
            "[...document.querySelectorAll('.wide')].map(e => [e.getBoundingClientRect().right,"
            " e.scrollWidth > e.clientWidth])"
        )
        assert all(right <= inner for right, _ in boxes)
        if width == 800:
            assert any(scrolls for _, scrolls in boxes), "no table is wider than 800 px?"
        if kind == "random":  # the sampled-search section, right under the verdict lines
            page.get_by_text("Sampled search on val_acc").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{kind}_{width}px.png"), full_page=False)
        browser.close()
