"""Verification and security: forged, replayed, unsafe, oversize requests get a 4xx,
create no patient and log no message."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.errors import ConfigError
from bot.settings import Settings
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
        WeChatConfig.from_sources({}, Settings.from_env({"MEDBOT_WECHAT_TOKEN": "abc123",
                                                         "MEDBOT_WECHAT_APP_ID": "wx1"}))
    env = {"MEDBOT_WECHAT_TOKEN": "abc123", "MEDBOT_WECHAT_APP_ID": "wx1",
           "MEDBOT_WECHAT_APP_SECRET": "s", "MEDBOT_WECHAT_AES_KEY": "short"}
    with pytest.raises(ConfigError, match="AES_KEY"):
        WeChatConfig.from_sources({"mode": "safe"}, Settings.from_env(env))
    with pytest.raises(ConfigError, match="MODE"):
        WeChatConfig.from_sources({}, Settings.from_env({**env, "MEDBOT_WECHAT_AES_KEY": AES_KEY,
                                                         "MEDBOT_WECHAT_MODE": "open"}))


def test_environment_overrides_credentials() -> None:
    config = WeChatConfig.from_sources(
        {"mode": "plaintext", "token": "fromfile1"}, Settings.from_env(
            {"MEDBOT_WECHAT_TOKEN": "fromenv1", "MEDBOT_WECHAT_APP_ID": "wx1",
             "MEDBOT_WECHAT_APP_SECRET": "s",
             "MEDBOT_WECHAT_API_BASE": "http://127.0.0.1:1/cgi-bin"}))
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


# -- review findings (wechat-security) ----------------------------------------------------

def _garbled(served: Served, frame: bytes) -> tuple[dict[str, str], str]:
    """A safe-mode push, correctly signed, whose ciphertext opens to ``frame``."""
    import base64

    from wechatpy.crypto import WeChatCipher

    from bot.wechat.protocol import cdata

    key = base64.b64decode(AES_KEY + "=")
    encrypted = base64.b64encode(WeChatCipher(key).encrypt(frame)).decode()
    ts, nonce = str(int(time.time())), "garbled01"
    params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
              "encrypt_type": "aes", "msg_signature": sign(TOKEN, ts, nonce, encrypted)}
    return params, f"<xml><ToUserName>gh</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"


def _frame(xml: bytes, app_id: str, length: int | None = None) -> bytes:
    import struct

    from wechatpy.crypto.pkcs7 import PKCS7Encoder

    inner = b"0123456789abcdef" + struct.pack(">I", len(xml) if length is None else length)
    return PKCS7Encoder.encode(inner + xml + app_id.encode())


@pytest.mark.parametrize("case", ["only_padding", "length_past_the_end", "bad_padding"])
async def test_a_short_or_garbled_decrypted_payload_is_a_400(served: Served, case: str) -> None:
    app_id = served.api.app_id
    frame = {"only_padding": bytes([32]) * 32,
             "length_past_the_end": _frame(b"<xml/>", app_id, length=4096),
             "bad_padding": b"\x00" * 47 + b"\x07"}[case]
    params, body = _garbled(served, frame)
    await _refused(served, params, body, 400)


async def test_a_non_ascii_signature_is_a_403(served: Served) -> None:
    import aiohttp

    params, body = served.sim.sign_request(served.sim.to_xml(served.sim.text("oUnicode01", "hi")))
    await _refused(served, {**params, "signature": "签名" * 20}, body, 403)
    await _refused(served, {**params, "msg_signature": "é" * 40}, body, 403)
    verify, _ = served.sim.verify_params({"signature": "ß" * 40})
    async with aiohttp.ClientSession() as http:
        async with http.get(served.url, params=verify) as resp:
            assert resp.status == 403


async def _raw_post(url: str, params: dict[str, str], headers: str, body: bytes = b"",
                    timeout: float = 5.0) -> int:
    """POST over a plain socket; returns the status as soon as the server answers."""
    import asyncio
    from urllib.parse import urlencode, urlparse

    target = urlparse(url)
    reader, writer = await asyncio.open_connection(target.hostname, target.port)
    try:
        writer.write(f"POST {target.path}?{urlencode(params)} HTTP/1.1\r\n"
                     f"Host: {target.hostname}\r\nContent-Type: text/xml\r\n{headers}\r\n"
                     .encode() + body)
        await writer.drain()
        try:
            status_line = await asyncio.wait_for(reader.readline(), timeout)
        except asyncio.TimeoutError:
            pytest.fail("the server waited for the rest of the body instead of refusing it")
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_an_oversize_chunked_body_is_refused_before_it_is_read(served: Served) -> None:
    """No Content-Length, 1 KB chunks past the cap, and the body never ends: 413 at once."""
    params, _ = served.sim.sign_request(served.sim.to_xml(served.sim.text("oChunked01", "hi")))
    chunk = b"x" * 1024
    count = served.channel.config.max_body_bytes // len(chunk) + 2
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(count))
    assert await _raw_post(served.url, params, "Transfer-Encoding: chunked\r\n", body) == 413
    assert served.bot.calls == [] and _counts(served) == (0, 0)


async def test_an_oversize_content_length_is_refused_before_the_body_arrives(
        served: Served) -> None:
    params, _ = served.sim.sign_request(served.sim.to_xml(served.sim.text("oLength001", "hi")))
    assert await _raw_post(served.url, params, "Content-Length: 50000000\r\n") == 413
    assert served.bot.calls == []


@pytest.mark.parametrize("value, problem", [
    ("abc", "must be an integer"), ("0", "must be between 512 and 2048"),
    ("100", "must be between 512 and 2048"), ("4096", "must be between 512 and 2048")])
def test_a_bad_reply_limit_fails_at_start_naming_the_variable(value: str, problem: str) -> None:
    env = {"MEDBOT_WECHAT_TOKEN": "abc123", "MEDBOT_WECHAT_APP_ID": "wx1",
           "MEDBOT_WECHAT_APP_SECRET": "s", "MEDBOT_WECHAT_MODE": "plaintext",
           "MEDBOT_WECHAT_REPLY_LIMIT_BYTES": value}
    with pytest.raises(ConfigError, match=f"MEDBOT_WECHAT_REPLY_LIMIT_BYTES {problem}"):
        WeChatConfig.from_sources({}, Settings.from_env(env))
    ok = WeChatConfig.from_sources({}, Settings.from_env(
        {**env, "MEDBOT_WECHAT_REPLY_LIMIT_BYTES": "2048"}))
    assert ok.reply_limit_bytes == 2048
