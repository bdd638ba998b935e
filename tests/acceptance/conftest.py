"""Fixtures of the browser acceptance tests (headless Chromium, see browser.py)."""

from tests.acceptance.browser import browser  # noqa: F401 - fixture
