"""Screenshot a report.html in headless Chromium (Debian's package, driven by Playwright).

    python -m report.screenshot results/report.html docs/report_study.png [--height 1800]

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` package
(the test extra); Playwright's own browser download is not used. The browser tests use the
same launch settings.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

# As root on a closed network: no sandbox, and none of Chromium's own background connections.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def find_chromium() -> str | None:
    """Return the path of Debian's chromium, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(report: Path, png: Path, *, width: int = 1400, height: int | None = None) -> Path:
    """Open ``report`` offline (every other request refused) and save a screenshot of it to ``png``.

    ``height`` crops the page to its top that many pixels; None takes the whole page.
    """
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height or 900})
        url = report.resolve().as_uri()
        page.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=png, full_page=height is None)
        browser.close()
    return png


def main(argv: list[str] | None = None) -> int:
    """Screenshot the report named on the command line; exit 2 with one line if it cannot."""
    p = argparse.ArgumentParser(prog="python -m report.screenshot", description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path, help="the report.html to open")
    p.add_argument("png", type=Path, help="where to write the screenshot")
    p.add_argument("--height", type=int, default=None, help="keep the top this many pixels (default: all)")
    args = p.parse_args(argv)
    if not args.report.is_file():
        print(f"screenshot: error: no file {str(args.report)!r}", file=sys.stderr)
        return 2
    try:
        screenshot(args.report, args.png, height=args.height)
    except (FileNotFoundError, ImportError) as err:
        print(f"screenshot: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
