"""Every subcommand's report.html in a real browser: headless Chromium (Debian's), driven by Playwright.

Skipped, with the reason, only where Debian's ``chromium`` is not installed (scripts/test
installs it where it can; .ci/run sets REQUIRE_CHROMIUM, under which a missing chromium is an
error). Full-page screenshots go to ``test-artefacts/`` (or $REPORT_ARTEFACTS).
"""

import os
from pathlib import Path

import pandas as pd
import pytest

from report.screenshot import FLAGS, find_chromium

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("REQUIRE_CHROMIUM"):  # CI: the browser test must run
    raise RuntimeError("REQUIRE_CHROMIUM is set but Debian's chromium is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium, as scripts/test)"
)
ARTEFACTS = Path(os.environ.get("REPORT_ARTEFACTS", Path(__file__).resolve().parents[1] / "test-artefacts"))
RUNS = ["report_run", "failing_run", "sbc_run", "gradients_run"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def open_report(browser, path: Path, *, javascript: bool = True):
    """Open a report with every request that is not the file itself recorded and refused."""
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url == path.as_uri():
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_load_state("networkidle")
    return context, page, errors, requests


def cost_points(page, family: str) -> list[tuple[str, float, float]]:
    """Every point of a family's interactive cost-accuracy plot: its engine, its place on the canvas (px)."""
    return page.evaluate(
        """family => Object.values(Bokeh.index).flatMap(view => {
             if (String(view.model.title?.text) !== `${family}: cost against accuracy`) return [];
             const data = view.model.renderers[0].data_source.data;
             return Array.from(data.engine, (engine, i) =>
               [engine, view.frame.x_scale.compute(data.wall[i]), view.frame.y_scale.compute(data.rms[i])]);
           })""",
        family,
    )


def loaded_images(page) -> list[int]:
    """Every image's natural width, once each has finished loading (0: it failed)."""
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    return page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")


@pytest.mark.parametrize("run_name", RUNS)
def test_report_renders_in_chromium(browser, run_name, request):
    code, out, _ = request.getfixturevalue(run_name)
    context, page, errors, requests = open_report(browser, out / "report.html")
    try:
        assert not requests, f"the report asked the network for {requests}"
        figures = page.locator("figure").count()
        assert figures == len(list(out.glob("*.png")))
        widths = loaded_images(page)
        interactive = page.locator("figure .interactive")
        assert len(widths) == figures - interactive.count() and min(widths) > 0
        for i in range(interactive.count()):  # Bokeh draws into canvases inside shadow roots
            canvas = interactive.nth(i).locator("canvas").first
            canvas.wait_for(state="visible", timeout=15_000)
            box = canvas.bounding_box()
            assert box["width"] > 100 and box["height"] > 100
        assert not errors, errors
        hrefs = page.eval_on_selector_all("nav a", "links => links.map(a => a.getAttribute('href'))")
        missing = page.evaluate("hrefs => hrefs.filter(h => !document.getElementById(h.slice(1)))", hrefs)
        assert hrefs and not missing
        page.locator("nav a").last.click()  # the link scrolls its section into view
        y = page.locator(hrefs[-1]).bounding_box()["y"]
        assert page.evaluate("() => location.hash") == hrefs[-1] and 0 <= y < 900
        outcome = page.locator("#outcome").bounding_box()
        assert outcome["y"] < 900 - outcome["height"] or page.evaluate("() => scrollY") > 0
        if run_name in ("report_run", "failing_run"):
            rows = pd.read_csv(out / "summary.csv")
            cells = rows[["model", "sampler", "n"]].drop_duplicates()
            assert page.locator("tr.verdict-row").count() == len(cells)
            traces = rows.loc[rows["sampler"] != "find_map", ["model", "sampler"]].drop_duplicates()
            assert interactive.count() == len(traces) + rows["model"].nunique()  # + cost-accuracy per family
            family = rows["model"].iloc[-1]
            engine, x, y = cost_points(page, family)[-1]  # hover a point: its engine's numbers show
            canvas = page.locator(f'figure[data-file="cost_accuracy_{family}.png"] .interactive canvas').first
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + x, box["y"] + y)
            label = page.get_by_text("wall time:").last
            label.wait_for(state="visible", timeout=5_000)
            tip = label.evaluate("el => el.parentElement.parentElement.textContent")
            wall = rows.loc[(rows["model"] == family) & (rows["sampler"] == engine), "wall_time"].iloc[0]
            assert f"engine: {engine} wall time: {wall:.2f} s" in tip, tip
        if run_name == "failing_run":
            page.evaluate("() => scrollTo(0, 0)")
            failed = page.locator("#outcome.failed")
            assert failed.is_visible() and failed.bounding_box()["y"] < 300
            assert page.locator("tr.verdict-row.bad").count() == 2
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => scrollTo(0, 0)")
        page.screenshot(path=ARTEFACTS / f"{run_name}.png", full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("run_name", ["report_run", "failing_run"])
def test_report_reads_without_javascript(browser, run_name, request):
    """Without JavaScript each plot is a static image (interactive ones fall back); the tables are there."""
    _, out, _ = request.getfixturevalue(run_name)
    context, page, errors, requests = open_report(browser, out / "report.html", javascript=False)
    try:
        assert not requests and not errors
        widths = loaded_images(page)
        assert len(widths) == len(list(out.glob("*.png"))) and min(widths) > 0
        assert page.locator("tr.verdict-row").count() > 0 and page.locator("table.data").count() > 0
        page.screenshot(path=ARTEFACTS / f"{run_name}_no_javascript.png", full_page=True)
    finally:
        context.close()
