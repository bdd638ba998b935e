"""Headless Chromium renders a local page and runs its JavaScript."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>冒烟测试</title></head>
<body>
<p id="status">等待</p>
<button id="go" onclick="document.getElementById('status').textContent = '已点击 ' + (6 * 7)">
点我</button>
</body></html>""".encode()


@pytest.fixture
def page_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_chromium_renders_a_page_and_runs_its_script(browser, page_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page_url)
    assert browser.title == "冒烟测试"
    status = browser.find_element(By.ID, "status")
    assert status.text == "等待"
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 5).until(ec.text_to_be_present_in_element((By.ID, "status"), "已点击"))
    assert status.text == "已点击 42"
