"""Bench-only ``OutboundSender`` for channel "wechat": the custom-send API over real HTTP.

Loaded by scheduler workers through ``MEDBOT_OUTBOUND_SENDERS=
bench.reminders_wechat_sender:sender_factory`` with ``MEDBOT_BENCH_WECHAT_URL``
(the fake API's ``.../cgi-bin/``) and ``MEDBOT_BENCH_WECHAT_TOKEN`` (one token
shared by every worker, as the real token store does). The production WeChat
sender is issue 5's; this one only speaks the same wire protocol.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request

from bot.outbound import OutboundError, OutboundMessage, SendResult
from bot.settings import Settings
from bot.store.db import Database


class BenchWeChatSender:
    channel = "wechat"

    def __init__(self, base_url: str, token: str) -> None:
        self.url = f"{base_url}message/custom/send?access_token={token}"
        self._local = threading.local()

    def send(self, message: OutboundMessage) -> SendResult:
        body = json.dumps({"touser": message.external_id, "msgtype": "text",
                           "text": {"content": message.text}}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - 127.0.0.1
                result = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OutboundError(f"wechat api unreachable: {exc}", retryable=True) from exc
        if result.get("errcode", 0) != 0:
            raise OutboundError(f"wechat errcode {result.get('errcode')}",
                                retryable=result.get("errcode") in (-1, 40001, 42001, 45009))
        return SendResult(channel_message_id=str(result.get("msgid")), via="custom")


def sender_factory(settings: Settings, db: Database) -> BenchWeChatSender:
    # the bench's own variables, not medbot settings: the worker inherits the environment
    return BenchWeChatSender(os.environ["MEDBOT_BENCH_WECHAT_URL"],
                             os.environ["MEDBOT_BENCH_WECHAT_TOKEN"])
