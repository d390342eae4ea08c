"""Screenshots of every dashboard page for the README (docs/screenshots/), in real Chromium.

Not a test: run it against a served dashboard over a built warehouse, e.g.

    LENDFLOW_PG_DB=lendflow lendflow dashboard &       # after `lendflow run`
    .venv/bin/python -m tests.browser.take_screenshots --url http://127.0.0.1:8050
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

PAGES = {"portfolio": "/", "answers": "/answers", "quality": "/quality"}
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DRAWN_JS = """() => {
  const graphs = Array.from(document.querySelectorAll('main .js-plotly-plot'));
  return document.querySelector('main .panel') !== null && graphs.every(gd => gd.calcdata);
}"""


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8050", help="the served dashboard")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, path in PAGES.items():
            page.goto(args.url.rstrip("/") + path)
            page.wait_for_function(DRAWN_JS, timeout=30_000)
            page.wait_for_timeout(500)  # let plotly finish its transitions
            target = args.out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            print(target)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
