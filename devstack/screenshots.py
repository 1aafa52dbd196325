"""Take the README's screenshots of the portal: `python -m devstack.screenshots [OUT_DIR]`.

Starts a throw-away stack (free ports, a temporary folder), logs Ada in with Chromium, opens a
case with a comment, and saves support.png, case.png, inspector.png and support-phone.png into
OUT_DIR (default: docs/screenshots). Needs the dev extras (Playwright) and a Chromium:
CHROMIUM_PATH, Debian's /usr/bin/chromium, or Playwright's own.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from devstack.browser import CHROMIUM_ARGS
from devstack.browser import chromium_path
from devstack.stack import FREE_PORTS
from devstack.stack import Stack

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def take(out_dir: Path) -> list[Path]:
    """Start a stack, walk Ada through the portal, and save the screenshots; their paths."""
    from playwright.sync_api import expect
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="screenshots-") as root:
        with Stack(Path(root), ports=FREE_PORTS) as stack, sync_playwright() as playwright:
            path = chromium_path()
            browser = playwright.chromium.launch(
                args=CHROMIUM_ARGS, **({"executable_path": path} if path else {})
            )
            context = browser.new_context(base_url=stack.urls["portal"], viewport=DESKTOP)
            page = context.new_page()

            page.goto("/")
            page.get_by_role("link", name="Log in").click()
            page.get_by_label("Email").fill("ada@speakers.example")
            page.get_by_label("Password").fill("ada-demo")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()

            page.goto("/support/cases/new")
            page.get_by_label("Subject").fill("Lapel microphone for the keynote")
            page.get_by_label("Description").fill(
                "Room A, 10:00 on Friday. A headset would do too, if lapel ones are all taken."
            )
            page.get_by_label("Priority").select_option("High")
            page.get_by_role("button", name="Create case").click()
            expect(page.get_by_role("status")).to_contain_text("created")
            page.get_by_label("Your comment").fill("I will be there at 9:30 for a sound check.")
            page.get_by_role("button", name="Add comment").click()
            expect(page.get_by_role("status")).to_have_text("Comment added.")
            case_url = page.url.split("#")[0]  # from the top, not at #comments

            def shoot(name: str, full_page: bool = False) -> None:
                target = out_dir / name
                page.screenshot(path=str(target), full_page=full_page, animations="disabled")
                saved.append(target)

            page.goto("/support")
            expect(page.locator("#case-rows tr").first).to_be_visible()
            shoot("support.png")

            page.goto(case_url)
            expect(page.locator(".comments li")).to_have_count(1)
            shoot("case.png")

            page.goto("/inspector")
            expect(page.get_by_role("heading", name="Flow inspector")).to_be_visible()
            shoot("inspector.png", full_page=True)

            page.set_viewport_size(PHONE)
            page.goto("/support")
            expect(page.locator("#case-rows tr").first).to_be_visible()
            shoot("support-phone.png")

            context.close()
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    out_dir = Path(args[0]) if args else DEFAULT_OUT
    for path in take(out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
