"""The generated report as a person sees it: headless Chromium loads the page from disk, renders a
screenshot and the DOM, and logs every console message (script errors, blocked loads and
Content-Security-Policy violations all land there). Needs Debian's ``chromium`` package
(``make browser-deps``); skipped without it."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediamon import pipeline, report_db, store

CHROMIUM = Path("/usr/bin/chromium")
XSS_TITLE = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium: run `make browser-deps` "
                                                      "(apt-get install chromium fonts-noto-cjk)"),
]


@dataclass
class Rendered:
    dom: str
    console: list[str]
    screenshot: Path


def render(page: Path, out_dir: Path) -> Rendered:
    """Load ``page`` in headless Chromium: its DOM after load, its console messages, a screenshot."""
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=8000",
            "--window-size=1400,900", "--enable-logging=stderr", "--v=0"]
    url = page.resolve().as_uri()
    screenshot = out_dir / "report.png"
    dumped = subprocess.run([*base, f"--user-data-dir={out_dir / 'profile-dom'}", "--dump-dom", url],
                            capture_output=True, text=True, timeout=120, check=True)
    shot = subprocess.run([*base, f"--user-data-dir={out_dir / 'profile-shot'}", f"--screenshot={screenshot}", url],
                          capture_output=True, text=True, timeout=120, check=True)
    console = [line for line in (dumped.stderr + shot.stderr).splitlines() if ":CONSOLE" in line]
    return Rendered(dumped.stdout, console, screenshot)


@pytest.fixture
def report_page(demo_settings) -> Path:
    """A report over the demo site, with hostile titles and recent dates so every section has content."""
    pipeline.ingest(demo_settings)
    with store.transaction(demo_settings) as conn:
        # One relevant article per story, so each hostile title lands on its own story.
        ids = [r[0] for r in conn.execute(sa.text(
            "SELECT min(article_id) FROM article_topics JOIN analyst.articles USING (article_id)"
            " WHERE relevant AND NOT is_spam GROUP BY story_id ORDER BY 1"))]
        for title, article_id in ((XSS_TITLE, ids[0]), (XSS_ATTR, ids[1])):
            conn.execute(sa.text("UPDATE articles SET title = :t WHERE article_id = :id"), {"t": title, "id": article_id})
            conn.execute(sa.text("UPDATE stories SET title = :t WHERE story_id = "
                                 "(SELECT story_id FROM article_stories WHERE article_id = :id)"), {"t": title, "id": article_id})
        conn.execute(sa.text("UPDATE articles SET published_at = :t WHERE article_id = ANY(:ids)"),
                     {"t": datetime.now(UTC) - timedelta(days=2), "ids": ids[2:5]})
    return Path(report_db.build_report(demo_settings)["paths"]["html"])


def test_console_capture_sees_errors(tmp_path):
    """The check below can fail: a page with a script error and a blocked load is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
                    "<img src=\"http://127.0.0.1:9/x.png\"><p>坏</p>", encoding="utf-8")
    assert render(page, tmp_path).console


def test_report_renders_its_sections_and_chinese_without_console_errors(report_page, tmp_path):
    rendered = render(report_page, tmp_path)

    assert rendered.console == []
    for section in ("headline", "stories", "spam", "regions", "trend", "sources"):
        assert f'<section id="{section}">' in rendered.dom
    for text in ("区域合作报道简报", "重点报道", "合作网络", "北京市", "对口支援"):
        assert text in rendered.dom
    assert re.search(r'<svg id="trend-chart"[^>]*>.*<rect[^>]* height="[1-9]', rendered.dom, re.S)
    assert '<svg id="network-chart"' in rendered.dom
    # The hostile titles are text on the page, not elements.
    assert "<img" not in rendered.dom and "<script" not in rendered.dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.dom
    assert "\"&gt;&lt;img src=x onerror=alert(1)&gt;" in rendered.dom
    assert rendered.screenshot.stat().st_size > 50_000


def test_a_cjk_font_is_installed_for_the_charts():
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fontconfig is not installed")
    fonts = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, check=True).stdout
    assert fonts.strip(), "no font covers Chinese: install fonts-noto-cjk (`make browser-deps`)"
