"""The REST channel: ``POST /webhooks/rest/webhook`` with ``{"sender", "message", "metadata"}``.

Rasa's ``RestInput`` takes the sender *and the input channel* from the body.
Here the body only names a REST user: the channel is always ``rest`` (an
``input_channel`` in the body is ignored) and the channel boundary puts the
sender in the REST namespace (``rest:<sender>``, see ``bot.identity``), so a
REST caller can never reach a WeChat patient's conversation or records.

When ``MEDBOT_REST_TOKEN`` is set, every request must carry
``Authorization: Bearer <token>`` (else 401). ``medbot run`` refuses to listen
beyond loopback without a token (``bot.service.exposure``). Bad input gets a
400 with a bilingual message; nothing of it reaches the bot.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.i18n import bilingual
from bot.identity import MAX_EXTERNAL_ID
from bot.app import current_app
from channels.boundary import ChannelBoundary, OnNewMessage

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000


class RequestRefused(Exception):
    def __init__(self, status: int, key: str, **params: object) -> None:
        super().__init__(key)
        self.status, self.key, self.params = status, key, params


class RestChannel(InputChannel):
    """Rasa input channel for the REST webhook, with medbot's channel boundary."""

    def __init__(self, boundary: ChannelBoundary, token: str | None = None) -> None:
        self.boundary = boundary
        self.token = token or None

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestChannel:
        app = current_app()  # the Rasa server's (components.rasa_server)
        return cls(ChannelBoundary.from_app(cls.name(), app), app.settings.rest_token)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("rest_webhook", __name__)
        handle = self.boundary.wrap(on_new_message)
        self.boundary.attach(bp)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                self.authorize(request)
                sender, text, metadata = parse_body(request.body)
            except RequestRefused as refused:
                log.warning("rest.request.refused status=%d reason=%s", refused.status,
                            refused.key)
                return response.json({"error": bilingual(refused.key, **refused.params)},
                                     status=refused.status)
            collector = CollectingOutputChannel()
            await handle(UserMessage(text, collector, sender, input_channel=self.name(),
                                     metadata=metadata))
            return response.json(collector.messages)

        return bp

    def authorize(self, request: Request) -> None:
        """Refuse a request without the configured bearer token (constant-time compare)."""
        if self.token is None:
            return
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.token.encode()):
            raise RequestRefused(401, "utter_rest_unauthorized")


def parse_body(body: bytes | None) -> tuple[str, str, dict[str, Any] | None]:
    """``(sender, text, metadata)`` of a request body; ``input_channel`` is ignored.

    Raises:
        RequestRefused: 400 with the text that says what is wrong.
    """
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise RequestRefused(400, "utter_rest_need_json") from None
    if not isinstance(data, dict):
        raise RequestRefused(400, "utter_rest_need_json")
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_EXTERNAL_ID \
            or not sender.isprintable():
        raise RequestRefused(400, "utter_rest_bad_sender")
    text = data.get("message", "")
    if text is None:
        text = ""
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
        raise RequestRefused(400, "utter_rest_bad_message", limit=MAX_MESSAGE_CHARS)
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestRefused(400, "utter_rest_bad_metadata")
    return sender, text, metadata
