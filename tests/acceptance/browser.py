"""Headless Chromium for the acceptance tests: Debian's ``chromium`` + ``chromedriver``.

``scripts/install_browser.sh`` (run by ``scripts/test.sh``) installs both. Selenium
is pointed at the two files, so Selenium Manager never downloads anything; the
background-networking flags keep Chromium from dialling out (on a closed network
those connections are refused and slow the browser down).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1024",
)


def browser_missing() -> str | None:
    """None when Chromium and chromedriver are installed, else the reason."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} not installed: run scripts/install_browser.sh"
    return None


def require_browser() -> None:
    """Skip locally when the browser is missing; in CI (``CI`` set) fail instead."""
    reason = browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {reason}")
        pytest.skip(reason)


def start_chromium(user_data_dir: Path, log_path: Path | None = None):  # -> WebDriver
    """A headless Chromium session on a fresh profile in ``user_data_dir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    service = Service(executable_path=str(CHROMEDRIVER),
                      log_output=str(log_path) if log_path else None)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    """A WebDriver for headless Chromium, quit (and its profile removed) afterwards."""
    require_browser()
    profile = Path(tempfile.mkdtemp(prefix="medbot-chromium-"))
    driver = start_chromium(profile, tmp_path / "chromedriver.log")
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
