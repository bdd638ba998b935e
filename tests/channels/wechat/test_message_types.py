"""Each message type, in each mode, through the simulator over real HTTP."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.hospital import HospitalInfo
from bot.i18n import t
from bot.store.models import Message
from tests.channels.wechat.conftest import Served


def _both(key: str) -> list[str]:
    params = HospitalInfo.load().params
    return [t(key, lang, **params(lang)) for lang in ("zh", "en")]


async def _answer(served: Served, openid: str, reply) -> str:
    """The passive reply, or, when the turn missed the (1 s test) budget on a loaded
    machine, the one customer-service message the channel sent instead."""
    if reply.text:
        return reply.text
    for _ in range(100):
        sent = [m for m in served.api.sent if m.touser == openid]
        if sent:
            assert len(sent) == 1
            return sent[0].text
        await asyncio.sleep(0.1)
    raise AssertionError(f"no answer for {openid}: {reply.body!r}")


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
async def test_text_in_every_mode(served: Served, mode: str) -> None:
    reply = await served.sim.send(served.sim.text("oText00001", "我想挂号"))
    assert reply.text == "echo: 我想挂号"
    assert ("<Encrypt>" in reply.body) == (mode != "plaintext")


async def test_voice_with_recognition_goes_to_the_bot(served: Served) -> None:
    msg = served.sim.fields("oVoice0001", "voice", MediaId="m1", Format="amr",
                            Recognition="我头疼")
    assert (await served.sim.send(msg)).text == "echo: 我头疼"


async def test_voice_without_recognition_asks_to_type_in_both_languages(served: Served) -> None:
    msg = served.sim.fields("oVoice0002", "voice", MediaId="m1", Format="amr")
    reply = await served.sim.send(msg)
    answer = await _answer(served, msg["FromUserName"], reply)
    assert all(text in answer for text in _both("utter_wechat_voice_unrecognized"))
    assert served.bot.calls == []


@pytest.mark.parametrize("msg_type,extra", [
    ("image", {"PicUrl": "http://x/p.jpg", "MediaId": "m"}),
    ("video", {"MediaId": "m", "ThumbMediaId": "t"}),
    ("shortvideo", {"MediaId": "m", "ThumbMediaId": "t"}),
    ("location", {"Location_X": "39.9", "Location_Y": "116.3", "Scale": "15", "Label": "x"}),
    ("link", {"Title": "t", "Description": "d", "Url": "http://x"}),
])
async def test_media_gets_a_polite_bilingual_answer(served: Served, msg_type: str,
                                                    extra: dict) -> None:
    msg = served.sim.fields("oMedia0001", msg_type, **extra)
    reply = await served.sim.send(msg)
    answer = await _answer(served, "oMedia0001", reply)
    assert all(text in answer for text in _both("utter_wechat_media_unsupported"))
    assert served.bot.calls == []
    with served.db.begin() as s:
        rows = list(s.execute(select(Message).order_by(Message.id)).scalars())
    assert [(r.role, r.text) for r in rows][0] == ("patient", f"[{msg_type}]")
    assert rows[0].channel_message_id == str(msg["MsgId"]) and rows[1].role == "bot"


async def test_handoff_router_takes_media_during_a_handoff(served: Served) -> None:
    class Forward:
        async def route(self, openid, fields) -> bool:
            return True

    served.channel.dispatcher.handoff = Forward()
    reply = await served.sim.send(served.sim.fields("oMedia0002", "image", PicUrl="u",
                                                    MediaId="m"))
    assert reply.body == "success"


async def test_subscribe_welcomes_with_the_privacy_notice(served: Served) -> None:
    reply = await served.sim.send(served.sim.event("oSub000001", "subscribe"))
    assert all(text in reply.text for text in _both("utter_wechat_welcome"))
    assert HospitalInfo.load().privacy_notice_url in reply.text


async def test_unsubscribe_stops_proactive_messages(served: Served) -> None:
    await served.sim.send(served.sim.text("oUnsub0001", "hi"))
    reply = await served.sim.send(served.sim.event("oUnsub0001", "unsubscribe"))
    assert reply.body == "success"
    sender = served.channel.sender
    result = await asyncio.to_thread(sender.send, "oUnsub0001", "take your pill", "reminder")
    assert result.status == "suppressed" and served.api.sent == []
    # a patient who follows again (any message) gets proactive messages again
    await served.sim.send(served.sim.event("oUnsub0001", "subscribe"))
    result = await asyncio.to_thread(sender.send, "oUnsub0001", "take your pill", "reminder")
    assert result.status == "sent"


async def test_menu_click_sends_the_intent_to_rasa(served: Served) -> None:
    reply = await served.sim.send(served.sim.event("oMenu00001", "CLICK", key="MENU_BOOK"))
    assert served.bot.calls == ["/book_appointment"]
    assert reply.text == "echo: /book_appointment"


async def test_the_language_button_switches_through_rasa(served: Served) -> None:
    reply = await served.sim.send(served.sim.event("oMenu00003", "CLICK", key="MENU_LANG_EN"))
    assert served.bot.calls == ['/switch_language{"language": "en"}']
    assert reply.text == 'echo: /switch_language{"language": "en"}'


async def test_view_and_unknown_click_answer_success(served: Served) -> None:
    for event in (served.sim.event("oMenu00002", "VIEW", key="https://x"),
                  served.sim.event("oMenu00002", "CLICK", key="NOPE")):
        assert (await served.sim.send(event)).body == "success"
    assert served.bot.calls == []
