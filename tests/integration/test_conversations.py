"""Every multi-turn conversation in tests/conversations/*.yml, against the real server
(`medbot run` with the trained model; issue 15 item 8)."""

from __future__ import annotations

import pytest

from tests.conversations import runner
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

CONVERSATIONS = runner.load()


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.name for c in CONVERSATIONS])
def test_conversation(service: RunningService, conversation: runner.Conversation) -> None:
    failures, transcript = runner.run(conversation, service.rest_url)
    assert not failures, ("\n".join(failures) + "\n" + runner.format_transcript(transcript))
