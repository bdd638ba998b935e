"""Verification and security: forged, replayed, unsafe, oversize requests get a 4xx,
create no patient and log no message."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.errors import ConfigError
from bot.store.models import Message, Patient
from bot.wechat.config import WeChatConfig
from bot.wechat.protocol import sign
from channels.wechat import WeChatInput
from tests.channels.wechat.conftest import AES_KEY, TOKEN, Served

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oAttacker01</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><FromUserName>oAttacker01</FromUserName><MsgType>text</MsgType><Content>&lol3;</Content></xml>"""


def _counts(served: Served) -> tuple[int, int]:
    with served.db.begin() as s:
        return (s.execute(select(func.count()).select_from(Patient)).scalar_one(),
                s.execute(select(func.count()).select_from(Message)).scalar_one())


def _plain_params(body_ts: int | None = None, token: str = TOKEN) -> dict[str, str]:
    ts = str(body_ts if body_ts is not None else int(time.time()))
    return {"signature": sign(token, ts, "nonce1"), "timestamp": ts, "nonce": "nonce1"}


async def _refused(served: Served, params: dict[str, str], body: bytes | str,
                   status: int) -> None:
    reply = await served.sim.post_raw(params, body)
    assert reply.status == status, reply.body
    assert served.bot.calls == []
    assert _counts(served) == (0, 0)


async def test_server_check_echoes_echostr(served: Served) -> None:
    import aiohttp

    params, echostr = served.sim.verify_params({})
    async with aiohttp.ClientSession() as http:
        async with http.get(served.url, params=params) as resp:
            assert resp.status == 200 and await resp.text() == echostr
        async with http.get(served.url, params={**params, "signature": "0" * 40}) as resp:
            assert resp.status == 403


async def test_forged_signature_is_refused(served: Served) -> None:
    params, body = served.sim.sign_request(served.sim.to_xml(served.sim.text("oForged001", "hi")))
    await _refused(served, {**params, "signature": sign("wrongtoken", params["timestamp"],
                                                        params["nonce"])}, body, 403)


async def test_forged_msg_signature_is_refused(served: Served) -> None:
    params, body = served.sim.sign_request(served.sim.to_xml(served.sim.text("oForged001", "hi")))
    await _refused(served, {**params, "msg_signature": "0" * 40}, body, 403)


async def test_message_encrypted_for_another_app_is_refused(served: Served) -> None:
    from channels.wechat.testing import WeChatSimulator

    other = WeChatSimulator(served.url, TOKEN, "wxotherapp", AES_KEY, mode="safe")
    params, body = other.sign_request(other.to_xml(other.text("oForged001", "hi")))
    await _refused(served, params, body, 403)


async def test_replayed_timestamp_is_refused(served: Served) -> None:
    old = int(time.time()) - 3600
    params, body = served.sim.sign_request(
        served.sim.to_xml(served.sim.text("oReplay001", "hi")), timestamp=old)
    await _refused(served, params, body, 403)


async def test_safe_mode_refuses_plaintext(served: Served) -> None:
    body = served.sim.to_xml(served.sim.text("oPlain0001", "hi"))
    await _refused(served, _plain_params(), body, 403)


@pytest.mark.parametrize("mode", ["plaintext"])
async def test_xxe_is_refused(served: Served) -> None:
    await _refused(served, _plain_params(), XXE, 400)


@pytest.mark.parametrize("mode", ["plaintext"])
async def test_billion_laughs_is_refused(served: Served) -> None:
    await _refused(served, _plain_params(), LAUGHS, 400)


async def test_xxe_inside_the_encrypted_envelope_is_refused(served: Served) -> None:
    params, body = served.sim.sign_request(XXE.decode())
    await _refused(served, params, body, 400)


async def test_oversize_body_is_refused(served: Served) -> None:
    text = "x" * (served.channel.config.max_body_bytes + 1)
    params, body = served.sim.sign_request(served.sim.to_xml(served.sim.text("oBig000001", text)))
    await _refused(served, params, body, 413)


@pytest.mark.parametrize("mode", ["plaintext"])
async def test_malformed_xml_is_refused(served: Served) -> None:
    await _refused(served, _plain_params(), b"<xml><MsgType>text</MsgType", 400)
    await _refused(served, _plain_params(), b"<xml><MsgType>text</MsgType></xml>", 400)


def test_bad_config_fails_at_start() -> None:
    with pytest.raises(ConfigError, match="MEDBOT_WECHAT_APP_SECRET"):
        WeChatConfig.from_sources({}, {"MEDBOT_WECHAT_TOKEN": "abc123",
                                       "MEDBOT_WECHAT_APP_ID": "wx1"})
    env = {"MEDBOT_WECHAT_TOKEN": "abc123", "MEDBOT_WECHAT_APP_ID": "wx1",
           "MEDBOT_WECHAT_APP_SECRET": "s", "MEDBOT_WECHAT_AES_KEY": "short"}
    with pytest.raises(ConfigError, match="AES_KEY"):
        WeChatConfig.from_sources({"mode": "safe"}, env)
    with pytest.raises(ConfigError, match="MODE"):
        WeChatConfig.from_sources({}, {**env, "MEDBOT_WECHAT_AES_KEY": AES_KEY,
                                       "MEDBOT_WECHAT_MODE": "open"})


def test_environment_overrides_credentials() -> None:
    config = WeChatConfig.from_sources(
        {"mode": "plaintext", "token": "fromfile1"},
        {"MEDBOT_WECHAT_TOKEN": "fromenv1", "MEDBOT_WECHAT_APP_ID": "wx1",
         "MEDBOT_WECHAT_APP_SECRET": "s", "MEDBOT_WECHAT_API_BASE": "http://127.0.0.1:1/cgi-bin"})
    assert config.token == "fromenv1" and config.mode == "plaintext"
    assert config.api_base == "http://127.0.0.1:1/cgi-bin/"


async def test_unconfigured_channel_is_disabled_and_answers_503() -> None:
    from channels.wechat.testing.harness import serve_channel
    import aiohttp

    channel = WeChatInput.from_credentials({"mode": "safe"}, environ={})
    assert not channel.config.enabled

    async def bot(_message) -> None:  # never called
        raise AssertionError

    async with serve_channel(channel, bot) as url:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=b"<xml/>") as resp:
                assert resp.status == 503
