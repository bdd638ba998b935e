"""Shared fixtures: the triage pipeline over the checkout's knowledge base."""

from __future__ import annotations

import pytest

from bot.triage import Triage, default_triage


@pytest.fixture(scope="session")
def triage() -> Triage:
    return default_triage()
