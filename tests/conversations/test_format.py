"""The conversation files themselves (no server): they load, and they cover what
issue 15 item 8 asks for."""

from __future__ import annotations

import collections

from tests.conversations import runner


def test_files_load_and_names_are_unique() -> None:
    conversations = runner.load()
    assert conversations
    for conv in conversations:
        assert conv.turns, conv.name
        assert conv.persona and conv.why, f"{conv.name}: say who is typing and why"


def test_at_least_80_conversations_in_every_language() -> None:
    conversations = runner.load()
    assert len(conversations) >= 80
    langs = collections.Counter(c.lang for c in conversations)
    assert all(langs[lang] >= 10 for lang in ("zh", "en", "mixed")), langs


def test_check_catches_what_it_should() -> None:
    turn = runner.Turn("hi", expect=["Booked"], any=["A", "B"], not_=["5 mg"], regex=[r"\d+"])
    assert runner.check(turn, "Booked B 7") == []
    assert "no reply at all" in runner.check(turn, "")
    problems = runner.check(turn, "Sorry, I didn't quite get that. 5 mg")
    assert "generic fallback reply" in problems and "must not say '5 mg'" in problems
    assert runner.check(runner.Turn("x", fallback_ok=True), "抱歉，我没太明白。") == []
