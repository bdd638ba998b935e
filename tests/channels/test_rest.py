"""The REST channel: identity from the channel, a namespace per channel, bearer token, bad input."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from rasa.core.channels.channel import UserMessage
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.base import MedbotAction
from bot.store.db import Database
from bot.store.models import Message, Patient
from bot.store.repositories import LoggedMessage, TranscriptService
from channels.boundary import ChannelBoundary
from channels.emergency import EmergencyInterrupt
from channels.rest import RestChannel
from channels.wechat.testing.harness import serve_channel

TOKEN = "s3cret-token-for-tests-0123456789"
VICTIM = "oVictimOpenId0001"


async def post(url: str, body: object, headers: dict[str, str] | None = None
               ) -> tuple[int, object]:
    """POST from a thread: the server runs on this test's event loop."""
    return await asyncio.to_thread(_post, url, body, headers)


def _post(url: str, body: object, headers: dict[str, str] | None) -> tuple[int, object]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Bot:
    """Stands in for Rasa: records what reached it and answers once."""

    def __init__(self) -> None:
        self.seen: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.seen.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "您好"})


def channel(db: Database, token: str | None = None) -> RestChannel:
    no_red_flags = EmergencyInterrupt(screen=lambda _text: None)
    return RestChannel(ChannelBoundary("rest", TranscriptService(db), no_red_flags), token)


def patients(db: Database) -> set[tuple[str, str]]:
    with db.begin() as session:
        return {(p.channel, p.external_id) for p in session.execute(select(Patient)).scalars()}


async def test_a_rest_caller_naming_a_wechat_patient_gets_its_own_conversation(sqlite_db) -> None:
    TranscriptService(sqlite_db).log("wechat", VICTIM, [LoggedMessage("patient", "我的提醒")])
    bot = Bot()
    async with serve_channel(channel(sqlite_db), bot) as url:
        status, answer = await post(url, {"sender": VICTIM, "input_channel": "wechat",
                                    "message": "取消我所有的预约"})
    assert status == 200 and answer == [{"recipient_id": VICTIM, "text": "您好"}]
    [message] = bot.seen
    # the tracker Rasa would load, and who every action takes the patient to be
    assert (message.sender_id, message.input_channel) == (f"rest:{VICTIM}", "rest")
    tracker = Tracker(message.sender_id, {}, {"text": message.text}, [], False, None, {},
                      "action_listen")
    assert MedbotAction.identity(tracker) == ("rest", VICTIM)
    assert patients(sqlite_db) == {("wechat", VICTIM), ("rest", VICTIM)}
    with sqlite_db.begin() as session:
        wechat_side = session.execute(select(Message.text).where(
            Message.conversation_id == f"wechat:{VICTIM}")).scalars().all()
    assert wechat_side == ["我的提醒"]  # nothing of the REST caller reached the patient's chat


async def test_with_a_token_every_request_must_carry_it(sqlite_db) -> None:
    bot = Bot()
    async with serve_channel(channel(sqlite_db, TOKEN), bot) as url:
        missing = await post(url, {"sender": "me", "message": "你好"})
        wrong = await post(url, {"sender": "me", "message": "你好"},
                     {"Authorization": "Bearer not-the-token-at-all-000"})
        basic = await post(url, {"sender": "me", "message": "你好"}, {"Authorization": TOKEN})
        right = await post(url, {"sender": "me", "message": "你好"},
                     {"Authorization": f"Bearer {TOKEN}"})
    for status, body in (missing, wrong, basic):
        assert status == 401
        assert "未授权" in body["error"] and "Unauthorized" in body["error"]
    assert right == (200, [{"recipient_id": "me", "text": "您好"}])
    assert len(bot.seen) == 1  # refused requests never reach the bot
    assert patients(sqlite_db) == {("rest", "me")}


async def test_without_a_token_the_local_curl_example_works(sqlite_db) -> None:
    async with serve_channel(channel(sqlite_db), Bot()) as url:
        assert (await post(url, {"sender": "me", "message": "你好"}))[0] == 200


@pytest.mark.parametrize("body, says", [
    (b"not json", "JSON"),
    ([1, 2], "JSON"),
    ({"message": "hi"}, "sender"),
    ({"sender": "", "message": "hi"}, "sender"),
    ({"sender": "x" * 129, "message": "hi"}, "sender"),
    ({"sender": "a\nb", "message": "hi"}, "sender"),
    ({"sender": 42, "message": "hi"}, "sender"),
    ({"sender": "me", "message": {"text": "hi"}}, "message"),
    ({"sender": "me", "message": "长" * 4001}, "message"),
    ({"sender": "me", "message": "hi", "metadata": "x"}, "metadata"),
])
async def test_bad_input_is_refused_in_both_languages_and_nothing_is_stored(
        sqlite_db, body, says) -> None:
    bot = Bot()
    async with serve_channel(channel(sqlite_db), bot) as url:
        status, answer = await post(url, body)
    assert status == 400 and says in answer["error"]
    zh, en = answer["error"].split("\n\n")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()
    assert bot.seen == [] and patients(sqlite_db) == set()
