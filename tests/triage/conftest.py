"""Shared fixtures: the triage pipeline over the checkout's knowledge base."""

from __future__ import annotations

import pytest

from bot.triage import Triage, default_triage


@pytest.fixture(scope="session")
def triage() -> Triage:
    return default_triage()


@pytest.fixture(scope="session")
def rules_triage() -> Triage:
    """The pipeline without the learned layer: for unit tests of the rules
    themselves (the learned layer is measured in aggregate, see
    test_triage_red_flags.py and docs/benchmarks.md)."""
    from bot.triage import default_knowledge

    return Triage(default_knowledge())
