"""Exactly once across a crash (bot/action_replay.py, actions/base.py): an action that ran in
a turn whose process died answers the retry with its earlier result, not by acting twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.base import MedbotAction
from bot import app as composition
from bot.app import App
from bot.action_replay import ActionReplays, TurnKey, turn_key
from bot.settings import Settings
from bot.store.action_replay_models import ActionReplay


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


USER = {"event": "user", "text": "确认"}


def test_a_turn_is_named_by_the_channels_message_id_and_the_run_of_the_action() -> None:
    latest = {"text": "确认", "metadata": {"message_id": "m1"}}
    events = [{"event": "action", "name": "action_save"}, USER,
              {"event": "action", "name": "action_save"}, {"event": "action", "name": "other"}]
    assert turn_key("action_save", "wechat:o1", latest, events) == TurnKey(
        "wechat:o1", "m1", "action_save", 1)  # one run already in this turn
    assert turn_key("action_new", "wechat:o1", latest, events).nth == 0
    # no message id of the channel's own (REST): nothing to replay
    assert turn_key("action_save", "rest:u", {"text": "确认", "metadata": {}}, events) is None
    assert turn_key("action_save", "rest:u", None, events) is None


def test_a_kept_result_is_recalled_and_old_ones_are_dropped(sqlite_db) -> None:
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    replays = ActionReplays(sqlite_db, clock)
    key = TurnKey("wechat:o1", "m1", "action_save", 0)
    assert replays.recall(key) is None
    replays.keep(key, [{"event": "slot", "name": "x", "value": "预约"}], [{"text": "已预约"}])
    replays.keep(key, [{"event": "slot", "name": "x", "value": "again"}], [])  # first one wins
    earlier = replays.recall(key)
    assert earlier.events == [{"event": "slot", "name": "x", "value": "预约"}]
    assert earlier.messages == [{"text": "已预约"}]
    clock.at += timedelta(days=2)
    replays.keep(TurnKey("wechat:o1", "m2", "action_save", 0), [], [])
    assert replays.recall(key) is None  # a day later the conversation's old ones are gone


class CountingAction(MedbotAction):
    runs = 0

    def name(self) -> str:
        return "action_counting"

    async def run(self, dispatcher, tracker, domain):
        CountingAction.runs += 1
        dispatcher.utter_message(text=f"booked #{CountingAction.runs}")
        return [SlotSet("booked", CountingAction.runs)]


class CallsSuper(CountingAction):
    async def run(self, dispatcher, tracker, domain):
        events = await super().run(dispatcher, tracker, domain)
        dispatcher.utter_message(text="and more")
        return events


@pytest.fixture
def app_on(sqlite_db, tmp_path):
    previous = composition._current
    medbot = composition.install(App(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)}),
                                     db=sqlite_db))
    yield medbot
    composition._current = previous


def _tracker(message_id: str | None) -> Tracker:
    metadata = {"message_id": message_id} if message_id else {}
    return Tracker("wechat:o1", {}, {"text": "确认", "metadata": metadata}, [USER], False,
                   None, None, "action_listen")


async def test_the_same_turn_run_again_replays_instead_of_acting(app_on, sqlite_db) -> None:
    CountingAction.runs = 0
    first, second = CollectingDispatcher(), CollectingDispatcher()
    events = await CountingAction().run(first, _tracker("m1"), {})
    again = await CountingAction().run(second, _tracker("m1"), {})
    assert CountingAction.runs == 1  # the booking was not made twice
    assert again == events == [{"event": "slot", "timestamp": None, "name": "booked", "value": 1}]
    assert second.messages == first.messages and first.messages[0]["text"] == "booked #1"
    await CountingAction().run(CollectingDispatcher(), _tracker("m2"), {})  # a new message
    assert CountingAction.runs == 2


async def test_a_channel_without_retries_is_not_replayed(app_on, sqlite_db) -> None:
    CountingAction.runs = 0
    for _ in range(2):
        await CountingAction().run(CollectingDispatcher(), _tracker(None), {})
    assert CountingAction.runs == 2
    with sqlite_db.begin() as session:
        assert session.execute(select(func.count()).select_from(ActionReplay)).scalar_one() == 0


async def test_a_subclass_calling_super_is_kept_once_with_everything_it_said(app_on) -> None:
    CountingAction.runs = 0
    first, second = CollectingDispatcher(), CollectingDispatcher()
    await CallsSuper().run(first, _tracker("m1"), {})
    await CallsSuper().run(second, _tracker("m1"), {})
    assert CountingAction.runs == 1
    assert [m["text"] for m in second.messages] == ["booked #1", "and more"]


async def test_a_database_that_cannot_answer_never_stops_the_action(tmp_path) -> None:
    """Replays are a safety net: with the database gone (no tables), the action still
    runs and answers; nothing is kept and nothing raises."""
    from bot.store.db import Database

    broken = Database(f"sqlite:///{(tmp_path / 'empty.db').as_posix()}")  # never migrated
    previous = composition._current
    composition.install(App(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)}), db=broken))
    try:
        CountingAction.runs = 0
        dispatcher = CollectingDispatcher()
        events = await CountingAction().run(dispatcher, _tracker("m1"), {})
        assert CountingAction.runs == 1 and dispatcher.messages[0]["text"] == "booked #1"
        assert events == [{"event": "slot", "timestamp": None, "name": "booked", "value": 1}]
        assert ActionReplays(broken).recall(TurnKey("wechat:o1", "m1", "x", 0)) is None
    finally:
        composition._current = previous
        broken.dispose()
